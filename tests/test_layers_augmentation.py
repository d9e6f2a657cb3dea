"""Tests for fnnet.layers.augmentation: the conformance harness, the deterministic transforms
against Keras 3 (same parameters, same output), the random parameters' ranges read back from
the layers' outputs (and compared with the ranges Keras draws from), and every error message.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _layer_harness import Case, harness_tests

from fnnet.layers import RandomContrast, RandomFlip, RandomRotation, RandomTranslation, RandomZoom
from fnnet.layers import augmentation as aug

KEY = jax.random.key(0)

CASES = [
    Case("flip", lambda: RandomFlip(), (8, 3, 4, 2), stochastic=True),
    Case("translation", lambda: RandomTranslation(0.3, (-0.2, 0.4)), (4, 5, 4, 2),
         stochastic=True),
    Case("rotation_constant_nearest",
         lambda: RandomRotation(0.2, fill_mode="constant", interpolation="nearest",
                                fill_value=0.5), (4, 4, 5, 2), stochastic=True),
    Case("zoom_aspect", lambda: RandomZoom((-0.3, 0.2), (0.1, 0.4), fill_mode="nearest"),
         (4, 4, 6, 1),
         stochastic=True),
    Case("contrast", lambda: RandomContrast(0.5, value_range=(-100, 100)), (4, 3, 3, 2),
         stochastic=True),
]

globals().update(harness_tests(CASES))


@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "jax":
        pytest.skip("Keras parity runs on Keras's JAX backend")
    return keras


def _lenient():
    stack = contextlib.ExitStack()
    stack.enter_context(jax.numpy_dtype_promotion("standard"))
    stack.enter_context(jax.numpy_rank_promotion("allow"))
    return stack


IMAGES = np.random.default_rng(0).normal(size=(3, 5, 7, 2)).astype(np.float32)
MODES = [(f, i) for f in ("reflect", "wrap", "constant", "nearest") for i in ("bilinear", "nearest")]


# ------------------------------------------------------------- deterministic parts vs Keras
@pytest.mark.parametrize("fill_mode, interpolation", MODES, ids=[f"{f}-{i}" for f, i in MODES])
def test_rotation_matrix_and_affine_transform_match_keras(keras, fill_mode, interpolation):
    angles = jnp.array([17.0, -130.0, 63.3], jnp.float32)
    ones, zeros = jnp.ones(3), jnp.zeros(3)
    theirs = keras.layers.RandomRotation(0.5, fill_mode=fill_mode, interpolation=interpolation,
                                         fill_value=0.5)
    with _lenient():
        k_matrix = theirs._compute_affine_matrix(
            center_x=0.5, center_y=0.5, angle=angles, translate_x=zeros, translate_y=zeros,
            scale=ones, shear_x=zeros, shear_y=zeros, height=5, width=7)
        k_ops = keras.ops.image.affine_transform(IMAGES, k_matrix, interpolation=interpolation,
                                                 fill_mode=fill_mode, fill_value=0.5)
        k_layer = theirs.transform_images(IMAGES, {"rotation_matrix": k_matrix})
    matrix = aug._rotation_matrix(angles, 5, 7)
    np.testing.assert_allclose(matrix, k_matrix, rtol=1e-6, atol=1e-6)
    ours = aug._affine_transform(jnp.asarray(IMAGES), matrix, interpolation, fill_mode, 0.5)
    np.testing.assert_allclose(ours, k_ops, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ours, k_layer, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("fill_mode, interpolation", MODES[::3] + [("constant", "nearest")],
                         ids=lambda v: str(v))
def test_translation_matches_keras_transform(keras, fill_mode, interpolation):
    dx, dy = jnp.array([1.3, -2.6, 0.4]), jnp.array([-0.7, 2.2, 4.1])
    theirs = keras.layers.RandomTranslation(0.5, 0.5, fill_mode=fill_mode,
                                            interpolation=interpolation, fill_value=-1.0)
    with _lenient():
        expected = theirs.transform_images(IMAGES, {"translations": jnp.stack([dx, dy], 1)})
    ours = aug._affine_transform(jnp.asarray(IMAGES), aug._translation_matrix(dx, dy),
                                 interpolation, fill_mode, -1.0)
    np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("fill_mode, interpolation", MODES[1::3] + [("constant", "bilinear")],
                         ids=lambda v: str(v))
def test_zoom_matches_keras_transform(keras, fill_mode, interpolation):
    zx, zy = jnp.array([0.7, 1.3, 1.05]), jnp.array([1.2, 0.6, 1.05])
    theirs = keras.layers.RandomZoom(0.5, fill_mode=fill_mode, interpolation=interpolation,
                                     fill_value=2.0)
    with _lenient():
        expected = theirs.transform_images(
            IMAGES, {"width_zoom": zx[:, None], "height_zoom": zy[:, None]})
    ours = aug._affine_transform(jnp.asarray(IMAGES), aug._zoom_matrix(zx, zy, 5, 7),
                                 interpolation, fill_mode, 2.0)
    np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("mode", ["horizontal", "vertical", "horizontal_and_vertical"])
def test_flip_matches_keras_transform(keras, mode):
    flips = jnp.array([True, False, True])
    with _lenient():
        expected = keras.layers.RandomFlip(mode).transform_images(
            IMAGES, {"flips": flips.reshape(3, 1, 1, 1)})
    np.testing.assert_array_equal(aug._flip(jnp.asarray(IMAGES), flips, mode), expected)


def test_contrast_matches_keras_transform(keras):
    factors = jnp.array([0.5, 1.0, 1.7])
    x = IMAGES * 50 + 100
    with _lenient():
        expected = keras.layers.RandomContrast(0.5).transform_images(
            x, {"contrast_factor": factors.reshape(3, 1, 1, 1)})
    ours = aug._adjust_contrast(jnp.asarray(x), factors, (0, 255))
    np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-4)
    assert float(ours.min()) == 0.0 and float(ours.max()) == 255.0  # clipped, as Keras


def test_transforms_with_nothing_to_do_are_exact():
    x = jnp.asarray(IMAGES)
    for matrix in (aug._rotation_matrix(jnp.zeros(3), 5, 7),
                   aug._translation_matrix(jnp.zeros(3), jnp.zeros(3)),
                   aug._zoom_matrix(jnp.ones(3), jnp.ones(3), 5, 7)):
        np.testing.assert_allclose(aug._affine_transform(x, matrix), x, rtol=1e-6, atol=1e-6)
    quarter = aug._affine_transform(x[:, :5, :5], aug._rotation_matrix(jnp.full(3, 90.0), 5, 5))
    np.testing.assert_allclose(quarter, np.rot90(IMAGES[:, :5, :5], k=1, axes=(1, 2)), atol=1e-5)


# ------------------------------------------------- random parameters, read back from outputs
N, SIZE = 300, 17  # 300 images of 17 x 17 pixels
C = (SIZE - 1) / 2  # the centre, 8


def _ramps(n=N):
    """Channel 0: each pixel's column; channel 1: its row. Bilinear sampling of a linear ramp
    returns the sampled point's coordinates exactly, so the outputs reveal the transform."""
    cols, rows = np.meshgrid(np.arange(SIZE), np.arange(SIZE))
    return jnp.asarray(np.broadcast_to(np.stack([cols, rows], -1), (n, SIZE, SIZE, 2)),
                       jnp.float32)


@functools.cache
def _train(layer):
    """``layer``'s training output, jitted: one compilation instead of one per eager op."""
    return jax.jit(lambda x, rng: layer.apply((), (), x, rng=rng, training=True)[0])


def _sampled_point(layer, x, at, seed=5):
    """The input point (x_in - C, y_in - C) that output pixel ``at`` = (col, row) sampled."""
    y = np.asarray(_train(layer)(x, rng=jax.random.key(seed)))
    col, row = at
    return y[:, row, col, 0] - C, y[:, row, col, 1] - C


def _check_uniform(values, low, high, keras_values=None):
    span = high - low
    assert values.min() >= low - 1e-4 * span and values.max() <= high + 1e-4 * span
    assert values.min() < low + 0.05 * span and values.max() > high - 0.05 * span
    assert abs(values.mean() - (low + high) / 2) < 0.07 * span  # 4 standard errors for N=300
    assert abs(values.std() - span / math.sqrt(12)) < 0.05 * span
    if keras_values is not None:  # Keras draws from the same range
        _check_uniform(np.asarray(keras_values, np.float64).ravel(), low, high)


def _keras_draw(keras, layer, shape=(N, SIZE, SIZE, 2)):
    """Keras's own draws for a batch, from a fixed seed (so the test is deterministic)."""
    with _lenient():
        return layer.get_random_transformation(np.zeros(shape, np.float32), training=True,
                                               seed=keras.random.SeedGenerator(1))


@pytest.mark.parametrize("factor, low, high", [(0.1, -36.0, 36.0), ((-0.05, 0.2), -18.0, 72.0)])
def test_rotation_angles_are_drawn_as_keras_draws_them(keras, factor, low, high):
    dx, dy = _sampled_point(RandomRotation(factor), _ramps(), (int(C) + 3, int(C)))
    np.testing.assert_allclose(np.hypot(dx, dy), 3.0, rtol=1e-4)  # a rotation about the centre
    angles = np.degrees(np.arctan2(dy, dx))
    keras_angles = _keras_draw(keras, keras.layers.RandomRotation(factor))["angle"]
    _check_uniform(angles, low, high, keras_angles)


def test_translations_are_drawn_as_keras_draws_them(keras):
    layer = RandomTranslation((-0.2, 0.1), 0.15)
    dx, dy = _sampled_point(layer, _ramps(), (int(C), int(C)))
    keras_shifts = np.asarray(_keras_draw(keras, keras.layers.RandomTranslation((-0.2, 0.1), 0.15))[
        "translations"]) / SIZE
    # The output pixel samples the input at (x - dx, y - dy): the image moves by (dx, dy).
    _check_uniform(-dx / SIZE, -0.15, 0.15, keras_shifts[:, 0])
    _check_uniform(-dy / SIZE, -0.2, 0.1, keras_shifts[:, 1])
    assert abs(np.corrcoef(dx, dy)[0, 1]) < 0.2  # independent draws


@pytest.mark.parametrize("width_factor", [None, (0.1, 0.4)])
def test_zoom_factors_are_drawn_as_keras_draws_them(keras, width_factor):
    layer = RandomZoom((-0.3, 0.2), width_factor)
    dx, dy = _sampled_point(layer, _ramps(), (int(C) + 4, int(C) + 4))
    zx, zy = dx / 4, dy / 4
    drawn = _keras_draw(keras, keras.layers.RandomZoom((-0.3, 0.2), width_factor))
    _check_uniform(zy, 0.7, 1.2, drawn["height_zoom"])
    if width_factor is None:
        np.testing.assert_allclose(zx, zy, rtol=1e-5)  # one factor keeps the aspect ratio
    else:
        _check_uniform(zx, 1.1, 1.4, drawn["width_zoom"])


@pytest.mark.parametrize("factor, low, high", [(0.3, 1.0, 1.3), ((0.2, 0.5), 0.8, 1.5)])
def test_contrast_factors_are_drawn_as_keras_draws_them(keras, factor, low, high):
    x = _ramps()[..., :1]  # mean SIZE // 2 = C per image
    y = np.asarray(_train(RandomContrast(factor, value_range=(-1000, 1000)))(
        x, rng=jax.random.key(3)))
    factors = (y[:, 0, 0, 0] - C) / (0.0 - C)
    assert np.allclose(y[:, 0, :, 0], y[:, 1, :, 0])  # one factor per image
    drawn = _keras_draw(keras, keras.layers.RandomContrast(factor), (N, SIZE, SIZE, 1))
    _check_uniform(factors, low, high, drawn["contrast_factor"])


@pytest.mark.parametrize("mode", ["horizontal", "vertical", "horizontal_and_vertical"])
def test_flips_happen_with_probability_one_half_per_image(keras, mode):
    y = np.asarray(_train(RandomFlip(mode))(_ramps(400), rng=jax.random.key(9)))
    flipped_h, flipped_v = y[:, 0, 0, 0] == SIZE - 1, y[:, 0, 0, 1] == SIZE - 1
    for flipped, axis in ((flipped_h, "horizontal"), (flipped_v, "vertical")):
        if axis in mode:
            assert abs(flipped.mean() - 0.5) < 0.1  # 400 draws: 4 standard errors
        else:
            assert not flipped.any()
    if mode == "horizontal_and_vertical":  # Keras 3: one draw per image flips both axes
        np.testing.assert_array_equal(flipped_h, flipped_v)
    drawn = np.asarray(_keras_draw(keras, keras.layers.RandomFlip(mode), (400, 2, 2, 1))["flips"])
    assert drawn.shape == (400, 1, 1, 1) and abs(drawn.mean() - 0.5) < 0.1


# -------------------------------------------------------------------- inference, seeds, dtypes
@pytest.mark.parametrize("make", [RandomFlip, lambda: RandomTranslation(0.2, 0.2),
                                  lambda: RandomRotation(0.2), lambda: RandomZoom(0.2),
                                  lambda: RandomContrast(0.2)])
def test_identity_at_inference(make):
    layer = make()
    x = jnp.asarray(IMAGES)
    assert layer.init(KEY, (None, 5, 7, 2)) == ((None, 5, 7, 2), (), ())
    np.testing.assert_array_equal(layer.apply((), (), x, rng=KEY)[0], x)


def _dtype(layer, dtype, training):
    x = jax.ShapeDtypeStruct((2, 3, 3, 1), dtype)
    return jax.eval_shape(lambda v: layer.apply((), (), v, rng=KEY, training=training)[0], x).dtype


def test_integer_images_become_float32_and_float64_stays():
    assert _dtype(RandomFlip(), jnp.uint8, False) == jnp.float32
    assert _dtype(RandomRotation(0.1), jnp.uint8, True) == jnp.float32
    assert _dtype(RandomContrast(0.1), jnp.uint8, True) == jnp.float32
    assert _dtype(RandomContrast(0.1), jnp.uint8, False) == jnp.uint8  # Keras returns it as is
    with jax.enable_x64(True):
        for layer in (RandomZoom(0.1), RandomFlip(), RandomContrast(0.1)):
            assert _dtype(layer, jnp.float64, True) == jnp.float64


def test_seed_changes_the_draw_and_channels_first_matches_channels_last():
    x = jnp.asarray(IMAGES)
    a = RandomRotation(0.3).apply((), (), x, rng=KEY, training=True)[0]
    b = RandomRotation(0.3, seed=7).apply((), (), x, rng=KEY, training=True)[0]
    assert not np.allclose(a, b)
    first = RandomRotation(0.3, data_format="channels_first").apply(
        (), (), jnp.transpose(x, (0, 3, 1, 2)), rng=KEY, training=True)[0]
    np.testing.assert_allclose(jnp.transpose(first, (0, 2, 3, 1)), a, rtol=1e-6, atol=1e-6)


def test_configs_match_keras(keras):
    for ours, theirs in [
        (RandomFlip("vertical", seed=3), keras.layers.RandomFlip("vertical", seed=3)),
        (RandomTranslation(0.1, (-0.2, 0.3), "wrap", "nearest", 1, 0.5),
         keras.layers.RandomTranslation(0.1, (-0.2, 0.3), "wrap", "nearest", 1, 0.5)),
        (RandomZoom(0.2, fill_mode="constant"), keras.layers.RandomZoom(0.2, fill_mode="constant")),
        (RandomRotation(0.25, seed=4), keras.layers.RandomRotation(0.25, seed=4)),
        (RandomContrast(0.3, value_range=(0, 1)), keras.layers.RandomContrast(0.3, (0, 1))),
    ]:
        keras_config = theirs.get_config()
        for key, value in ours.config.items():
            if key in ("factor",):  # Keras stores the (lower, upper) it derived
                continue
            expected = keras_config[key]
            assert value == (list(expected) if isinstance(expected, tuple) else expected), key


# -------------------------------------------------------------------------------------- errors
ERRORS = [
    ("flip_mode", lambda: RandomFlip("diagonal"), ValueError,
     r"RandomFlip: mode must be one of 'horizontal', 'vertical', 'horizontal_and_vertical'; got "
     r"'diagonal'"),
    ("flip_seed", lambda: RandomFlip(seed="1"), TypeError, r"RandomFlip: seed must be an int"),
    ("flip_data_format", lambda: RandomFlip(data_format="NCHW"), ValueError,
     r"RandomFlip: data_format must be 'channels_last', 'channels_first' or None"),
    ("flip_rank", lambda: RandomFlip().init(KEY, (None, 4, 4)), ValueError,
     r"RandomFlip takes a batch of images \(batch, height, width, channels\); got input shape "
     r"\(None, 4, 4\)\. Add a batch axis to a single image, and a channels axis to grey images"),
    ("flip_apply_rank", lambda: RandomFlip().apply((), (), jnp.ones((4, 4, 3))), ValueError,
     r"RandomFlip takes a batch of images .* got input shape \(4, 4, 3\)"),
    ("rotation_rank_first", lambda: RandomRotation(0.1, data_format="channels_first").init(
        KEY, (None, 4, 4)), ValueError,
     r"RandomRotation takes a batch of images \(batch, channels, height, width\)"),
    ("rotation_factor", lambda: RandomRotation(1.5), ValueError,
     r"RandomRotation: factor must be a number in \[-1\.0, 1\.0\] or a pair \(lower, upper\) of "
     r"them, fractions of a full turn; got 1\.5"),
    ("rotation_factor_triple", lambda: RandomRotation((0.1, 0.2, 0.3)), ValueError,
     r"RandomRotation: factor must be .* got \(0\.1, 0\.2, 0\.3\)"),
    ("rotation_factor_pair", lambda: RandomRotation((-2, 0.2)), ValueError,
     r"got \(-2, 0\.2\)"),
    ("rotation_fill_mode", lambda: RandomRotation(0.1, fill_mode="mirror"), ValueError,
     r"RandomRotation: fill_mode must be one of 'reflect', 'wrap', 'constant', 'nearest'; got "
     r"'mirror'"),
    ("rotation_interpolation", lambda: RandomRotation(0.1, interpolation="bicubic"), ValueError,
     r"RandomRotation: interpolation must be one of 'nearest', 'bilinear'; got 'bicubic'"),
    ("rotation_fill_value", lambda: RandomRotation(0.1, fill_value=None), ValueError,
     r"RandomRotation: fill_value must be a finite number; got None"),
    ("translation_factor", lambda: RandomTranslation(0.1, "0.2"), ValueError,
     r"RandomTranslation: width_factor must be a number in \[-1\.0, 1\.0\] or a pair \(lower, "
     r"upper\) of them, the fraction of the image's size to shift by; got '0\.2'"),
    ("zoom_factor", lambda: RandomZoom(-1.0), ValueError,
     r"RandomZoom: height_factor must be a number in \(-1\.0, 1\.0\] or a pair \(lower, upper\) "
     r"of them, the fraction to zoom out by \(negative: in\); got -1\.0"),
    ("zoom_width_factor", lambda: RandomZoom(0.1, (0.1, 1.5)), ValueError,
     r"RandomZoom: width_factor must be .* got \(0\.1, 1\.5\)"),
    ("contrast_factor", lambda: RandomContrast(-0.2), ValueError,
     r"RandomContrast: factor must be a number in \[0\.0, 1\.0\] or a pair \(lower, upper\) of "
     r"them, the contrast factor's distance from 1; got -0\.2"),
    ("contrast_value_range", lambda: RandomContrast(0.2, value_range=(1, 0)), ValueError,
     r"RandomContrast: value_range must be a pair \(low, high\) of numbers with low <= high; got "
     r"\(1, 0\)\. For example value_range=\(0, 255\) or \(0, 1\)"),
    ("declared", lambda: RandomZoom(0.1, input_shape=(4, 4, 1)).init(KEY, (None, 5, 5, 1)),
     ValueError, r"RandomZoom was declared with input_shape=\(4, 4, 1\)"),
    ("no_rng", lambda: RandomTranslation(0.1, 0.1).apply((), (), jnp.ones((1, 2, 2, 1)),
                                                         training=True), ValueError,
     r"RandomTranslation needs an rng when training=True\. Call apply\(params, state, x, "
     r"rng=jax\.random\.key\(0\), training=True\)"),
]


@pytest.mark.parametrize("make, error, match", [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_errors(make, error, match):
    with pytest.raises(error, match=match):
        make()
