"""Tests for fnnet.layers.noise: the conformance harness, statistics of the noise, Keras 3's
deterministic parts, and every error message."""

from __future__ import annotations

import math
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _layer_harness import Case, harness_tests

from fnnet import Masked, layers
from fnnet.layers import (
    GaussianDropout,
    GaussianNoise,
    SpatialDropout1D,
    SpatialDropout2D,
    SpatialDropout3D,
)

KEY = jax.random.key(0)
B = 4

CASES = [
    Case("spatial_dropout_1d", lambda: SpatialDropout1D(0.5, seed=3), (B, 3, 4), stochastic=True),
    Case("spatial_dropout_2d_first", lambda: SpatialDropout2D(0.5, data_format="channels_first"),
         (B, 4, 2, 1), stochastic=True),
    Case("spatial_dropout_3d", lambda: SpatialDropout3D(0.5), (B, 1, 2, 1, 4), stochastic=True),
    Case("gaussian_noise", lambda: GaussianNoise(0.5), (B, 5), stochastic=True),
    Case("gaussian_dropout", lambda: GaussianDropout(0.4), (B, 2, 3), stochastic=True),
]

globals().update(harness_tests(CASES))


def _train(layer, x, seed=11):
    return layer.apply((), (), x, rng=jax.random.key(seed), training=True)


# --------------------------------------------------------------------------------- statistics
@pytest.mark.parametrize("make, shape, channel_axis", [
    (lambda r: SpatialDropout1D(r), (400, 5, 50), 2),
    (lambda r: SpatialDropout2D(r, data_format="channels_first"), (400, 50, 3, 2), 1),
    (lambda r: SpatialDropout3D(r), (400, 2, 2, 2, 50), 4),
])
@pytest.mark.parametrize("rate", [0.3])
def test_spatial_dropout_drops_whole_channels_at_rate(make, shape, channel_axis, rate):
    x = jnp.ones(shape, jnp.float32)
    y, state = _train(make(rate), x)
    y = np.asarray(y)
    assert state == ()
    # Constant over every spatial axis: one draw per (example, channel).
    per_channel = np.moveaxis(y, channel_axis, 1).reshape(shape[0], shape[channel_axis], -1)
    assert np.all(per_channel == per_channel[..., :1])
    dropped = per_channel[..., 0] == 0
    assert abs(dropped.mean() - rate) < 0.02  # 20,000 channels: 4 standard errors or more
    np.testing.assert_allclose(per_channel[~dropped], 1 / (1 - rate), rtol=1e-6)


def test_gaussian_noise_statistics():
    x = jnp.full((400, 250), 3.0, jnp.float32)
    y, _ = _train(GaussianNoise(0.3), x)
    noise = np.asarray(y) - 3.0
    assert abs(noise.mean()) < 0.003 and abs(noise.std() - 0.3) < 0.003
    assert abs(np.mean(noise > 0) - 0.5) < 0.01


@pytest.mark.parametrize("rate", [0.2, 0.5])
def test_gaussian_dropout_statistics(rate):
    x = jnp.full((400, 250), 2.0, jnp.float32)
    y, _ = _train(GaussianDropout(rate), x)
    multiplier = np.asarray(y) / 2.0
    stddev = math.sqrt(rate / (1 - rate))  # Keras's: Dropout(rate)'s multiplier's spread
    assert abs(multiplier.mean() - 1.0) < 0.01 and abs(multiplier.std() - stddev) < 0.01


@pytest.mark.parametrize("make", [lambda: SpatialDropout1D(0.5), lambda: GaussianNoise(0.5),
                                  lambda: GaussianDropout(0.5)])
def test_identity_at_inference_and_masks_pass_through(make):
    layer = make()
    x = jax.random.normal(KEY, (2, 3, 4))
    assert layer.init(KEY, (None, 3, 4)) == ((None, 3, 4), (), ())
    np.testing.assert_array_equal(layer.apply((), (), x)[0], x)
    np.testing.assert_array_equal(layer.apply((), (), x, rng=KEY, training=False)[0], x)
    mask = jnp.array([[True, True, False], [True, False, False]])
    y, _ = layer.apply((), (), Masked(x, mask), rng=KEY, training=True)
    assert isinstance(y, Masked) and y.mask is mask and y.value.shape == x.shape


def test_seed_is_folded_into_the_rng():
    x = jnp.ones((8, 16))
    a, _ = _train(GaussianNoise(0.5), x)
    b, _ = _train(GaussianNoise(0.5, seed=1), x)
    c, _ = _train(GaussianNoise(0.5, seed=1), x)
    assert not np.array_equal(a, b)
    np.testing.assert_array_equal(b, c)
    expected = x + 0.5 * jax.random.normal(jax.random.fold_in(jax.random.key(11), 1), x.shape)
    np.testing.assert_allclose(b, expected, rtol=1e-6)


def test_rate_zero_needs_no_rng_and_integer_inputs_become_float():
    x = jnp.arange(6).reshape(1, 2, 3)
    assert SpatialDropout1D(0.0).apply((), (), x, training=True)[0] is x
    y, _ = _train(GaussianDropout(0.5), x)
    assert y.dtype == jnp.float32


def test_float64_inputs_keep_their_dtype_and_zero_noise_is_the_identity():
    with jax.enable_x64(True):
        x = jax.ShapeDtypeStruct((2, 3, 4), jnp.float64)
        for layer in (SpatialDropout1D(0.5), GaussianNoise(0.1), GaussianDropout(0.1)):
            assert jax.eval_shape(lambda v, layer=layer: _train(layer, v)[0], x).dtype == x.dtype
    x = jnp.ones((2, 3))
    for layer in (GaussianNoise(0.0), GaussianDropout(0.0), SpatialDropout2D(0.0)):
        assert layer.apply((), (), x, training=True)[0] is x  # nothing drawn: no rng needed


# ------------------------------------------------------------------------------- Keras parity
@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "jax":
        pytest.skip("Keras parity runs on Keras's JAX backend")
    return keras


KERAS_CASES = [
    ("SpatialDropout1D", {"rate": 0.3, "seed": 5}, (100, 3, 20)),
    ("SpatialDropout2D", {"rate": 0.3, "seed": 4}, (100, 2, 2, 20)),
    ("SpatialDropout3D", {"rate": 0.3, "data_format": "channels_first", "seed": 6}, (100, 20, 2, 1, 2)),
    ("GaussianNoise", {"stddev": 0.2, "seed": 2}, (100, 40)),
    ("GaussianDropout", {"rate": 0.2, "seed": 1}, (100, 40)),
]


@pytest.mark.parametrize("kind, kwargs, shape", KERAS_CASES, ids=[c[0] for c in KERAS_CASES])
def test_config_inference_and_noise_law_match_keras(keras, kind, kwargs, shape):
    ours, theirs = getattr(layers, kind)(**kwargs), getattr(keras.layers, kind)(**kwargs)
    keras_config = theirs.get_config()
    assert dict(ours.config) == {k: keras_config[k] for k in ours.config}
    x = np.random.default_rng(0).uniform(1.0, 2.0, size=shape).astype(np.float32)
    with jax.numpy_dtype_promotion("standard"), jax.numpy_rank_promotion("allow"):
        k_infer, k_train = (np.asarray(theirs(x, training=t)) for t in (False, True))
    np.testing.assert_array_equal(ours.apply((), (), jnp.asarray(x))[0], k_infer)
    np.testing.assert_array_equal(k_infer, x)
    y = np.asarray(_train(ours, jnp.asarray(x))[0])
    # The same law of the output given x: Keras's draws and ours differ, their statistics agree.
    for out in (k_train, y):
        ratio = out / x
        if kind.startswith("Spatial"):
            rate = kwargs["rate"]
            kept = ratio != 0
            np.testing.assert_allclose(ratio[kept], 1 / (1 - rate), rtol=1e-6)
            assert abs(np.mean(ratio == 0) - rate) < 0.05  # 2,000 channels: 5 standard errors
        elif kind == "GaussianNoise":
            assert abs((out - x).std() - kwargs["stddev"]) < 0.01
        else:
            assert abs(ratio.std() - math.sqrt(0.2 / 0.8)) < 0.03
            assert abs(ratio.mean() - 1.0) < 0.03


# -------------------------------------------------------------------------------------- errors
ERRORS = [
    ("rate_one", lambda: SpatialDropout1D(1.0), ValueError,
     r"SpatialDropout1D: rate is the probability of dropping a channel and must be a number in "
     r"\[0, 1\); got 1\.0\. For example SpatialDropout1D\(0\.2\)"),
    ("rate_string", lambda: SpatialDropout2D("0.5"), ValueError,
     r"SpatialDropout2D: rate .* got '0\.5'"),
    ("rate_bool", lambda: SpatialDropout3D(True), ValueError, r"SpatialDropout3D: rate .* got True"),
    ("data_format", lambda: SpatialDropout2D(0.5, data_format="NHWC"), ValueError,
     r"SpatialDropout2D: data_format must be 'channels_last', 'channels_first' or None \(channels "
     r"last\); got 'NHWC'"),
    ("seed_float", lambda: GaussianNoise(0.1, seed=1.5), TypeError,
     r"GaussianNoise: seed must be an int or None; got 1\.5\. For example seed=42"),
    ("stddev_range", lambda: GaussianNoise(1.5), ValueError,
     r"GaussianNoise: stddev is the noise's standard deviation and must be a number in \[0, 1\]; "
     r"got 1\.5\. For example GaussianNoise\(0\.1\)"),
    ("stddev_negative", lambda: GaussianNoise(-0.1), ValueError, r"got -0\.1"),
    ("gaussian_dropout_rate", lambda: GaussianDropout(1), ValueError,
     r"GaussianDropout: rate is the drop probability and must be a number in \[0, 1\); got 1\."),
    ("rank_1d", lambda: SpatialDropout1D(0.5).init(KEY, (None, 4)), ValueError,
     r"SpatialDropout1D takes 3-D inputs \(batch, steps, channels\); got input shape "
     r"\(None, 4\)"),
    ("rank_2d_first", lambda: SpatialDropout2D(0.5, data_format="channels_first").init(
        KEY, (None, 4, 4)), ValueError,
     r"SpatialDropout2D takes 4-D inputs \(batch, channels, dim1, dim2\); got input shape"),
    ("rank_3d", lambda: SpatialDropout3D(0.5).init(KEY, (None, 4, 4, 4)), ValueError,
     r"SpatialDropout3D takes 5-D inputs \(batch, dim1, dim2, dim3, channels\)"),
    ("declared", lambda: GaussianNoise(0.1, input_shape=(3,)).init(KEY, (None, 4)), ValueError,
     r"GaussianNoise was declared with input_shape=\(3,\) \(per example\) but init received "
     r"\(None, 4\)"),
    ("bad_input_shape", lambda: GaussianDropout(0.1, input_shape="x"), ValueError,
     r"GaussianDropout: input_shape must be a tuple of positive ints"),
    ("no_rng_spatial", lambda: SpatialDropout1D(0.5).apply((), (), jnp.ones((1, 2, 3)),
                                                           training=True), ValueError,
     r"SpatialDropout1D needs an rng when training=True\. Call apply\(params, state, x, "
     r"rng=jax\.random\.key\(0\), training=True\), or pass training=False for inference\."),
    ("no_rng_noise", lambda: GaussianNoise(0.5).apply((), (), jnp.ones(2), training=True),
     ValueError, r"GaussianNoise needs an rng when training=True"),
    ("no_rng_dropout", lambda: GaussianDropout(0.5).apply((), (), jnp.ones(2), training=True),
     ValueError, r"GaussianDropout needs an rng when training=True"),
]


@pytest.mark.parametrize("make, error, match", [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_errors(make, error, match):
    with pytest.raises(error, match=match):
        make()
