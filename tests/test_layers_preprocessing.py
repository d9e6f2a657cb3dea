"""Tests for fnnet.layers.preprocessing (Rescaling, Normalization and its pure adapt): the
conformance harness, Keras 3 parity, a Sequential model that trains, saves and loads, and every
error message."""

from __future__ import annotations

import contextlib
import os
import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _layer_harness import Case, harness_tests

from fnnet import Masked, layers, models
from fnnet.layers import Normalization, Rescaling

KEY = jax.random.key(0)
B = 4
DATA = np.random.default_rng(0).normal(2.0, 3.0, size=(16, 2, 3)).astype(np.float32)

CASES = [
    Case("rescaling", lambda: Rescaling([0.5, 2.0, -1.0], offset=-0.5), (B, 2, 3)),
    Case("normalization_adapted", lambda: Normalization().adapt(DATA), (B, 2, 3)),
    Case("normalization_explicit_invert",
         lambda: Normalization(mean=[1.0, 2.0, 3.0], variance=[4.0, 0.25, 1.0], invert=True),
         (B, 2, 3)),
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


def _run(layer, x, input_shape=None):
    shape = (None, *x.shape[1:]) if input_shape is None else input_shape
    out_shape, params, state = layer.init(KEY, shape)
    y, new_state = layer.apply(params, state, jnp.asarray(x))
    assert out_shape == shape and jax.tree.structure(new_state) == jax.tree.structure(state)
    return np.asarray(y), state


# ----------------------------------------------------------------------------------- Rescaling
@pytest.mark.parametrize("kwargs, x", [
    ({"scale": 1 / 255}, np.arange(24, dtype=np.uint8).reshape(2, 3, 4, 1) * 10),
    ({"scale": 1 / 127.5, "offset": -1}, DATA),
    ({"scale": [0.5, 2.0, 3.0], "offset": [1.0, -1.0, 0.0]}, DATA),
    ({"scale": np.array([[2.0], [3.0]]), "offset": 0.25}, DATA),
])
def test_rescaling_matches_keras(keras, kwargs, x):
    with _lenient():
        expected = np.asarray(keras.layers.Rescaling(**kwargs)(x))
    y, _ = _run(Rescaling(**kwargs), x)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, expected, rtol=1e-6, atol=1e-7)


def test_rescaling_keeps_float64_and_masks():
    with jax.enable_x64(True):
        y, _ = Rescaling(2.0).apply((), (), jnp.ones(3, jnp.float64))
        assert y.dtype == jnp.float64
    y, _ = Rescaling(2.0).apply((), (), Masked(jnp.ones((1, 2, 3)), jnp.array([[True, False]])))
    assert isinstance(y, Masked) and y.mask.tolist() == [[True, False]]


# ------------------------------------------------------------------------------- Normalization
ADAPT = [(-1, False), ((1,), True), ((1, 2), False), (None, False), (None, True), ((-1, -2), False),
         (2, False), ((0, 2), False)]


@pytest.mark.parametrize("axis, invert", ADAPT, ids=[f"{a}-{i}" for a, i in ADAPT])
def test_adapt_and_call_match_keras(keras, axis, invert):
    new = np.random.default_rng(1).normal(size=DATA.shape).astype(np.float32)
    theirs = keras.layers.Normalization(axis=axis, invert=invert)
    with _lenient():
        theirs.adapt(DATA)
        expected = np.asarray(theirs(new))
    norm = Normalization(axis=axis, invert=invert)
    adapted = norm.adapt(DATA)
    # Statistics of the whole batch axis need its size; axis=0 keeps the batch axis.
    y, state = _run(adapted, new, input_shape=new.shape if axis == (0, 2) else None)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)
    keras_weights = {w.path.split("/")[-1]: np.asarray(w.value) for w in theirs.weights}
    assert sorted(keras_weights) == sorted(state)
    for name, value in keras_weights.items():
        assert state[name].dtype == value.dtype and state[name].shape == value.shape
        np.testing.assert_allclose(state[name], value, rtol=1e-6, atol=1e-7)
    # adapt is pure: the original layer still starts from zeros and ones.
    _, _, fresh = norm.init(KEY, new.shape)
    assert float(jnp.abs(fresh["mean"]).max()) == 0.0 and float(fresh["variance"].min()) == 1.0


@pytest.mark.parametrize("make_data", [
    lambda: [DATA[:5], DATA[5:12], DATA[12:]],
    lambda: (b for b in [DATA[:8], DATA[8:]]),
    lambda: [(DATA[:6], np.zeros(6)), (DATA[6:], np.zeros(10))],
    lambda: jnp.asarray(DATA),
], ids=["list", "generator", "xy_tuples", "jax_array"])
def test_adapt_to_batches_matches_keras(keras, make_data, monkeypatch):
    # Keras's adapt asks whether the data is a tf.data.Dataset, which needs TensorFlow; without
    # it, a stand-in class answers no, and Keras takes its path for iterables of batches.
    from keras.src.layers.preprocessing import normalization as keras_normalization
    monkeypatch.setattr(keras_normalization, "tf", types.SimpleNamespace(
        data=types.SimpleNamespace(Dataset=type("NotADataset", (), {}))))
    theirs = keras.layers.Normalization(axis=(1, 2))
    with _lenient():
        theirs.adapt(make_data())
        expected = [np.asarray(w.value) for w in theirs.weights[:2]]
    _, _, state = Normalization(axis=(1, 2)).adapt(make_data()).init(KEY, (None, 2, 3))
    for ours, value in zip((state["mean"], state["variance"]), expected, strict=True):
        np.testing.assert_allclose(ours, value, rtol=1e-5, atol=1e-6)
    # The streaming statistics equal numpy's over all the data.
    np.testing.assert_allclose(state["mean"], DATA.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(state["variance"], DATA.var(0), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("axis, mean, variance", [
    (-1, 3.0, 2.0),
    (-1, [1.0, 2.0, 3.0], [1.0, 4.0, 9.0]),
    ((1, 2), [1.0, 2.0, 3.0], [1.0, 4.0, 0.5]),   # aligned with the last kept axis
    ((1, 2), [[1.0], [2.0]], [[2.0], [3.0]]),
    (None, 0.5, 0.0),                               # zero variance: Keras's 1e-7 floor
])
@pytest.mark.parametrize("invert", [False, True])
def test_given_statistics_match_keras(keras, axis, mean, variance, invert):
    kwargs = {"axis": axis, "mean": mean, "variance": variance, "invert": invert}
    theirs = keras.layers.Normalization(**kwargs)
    with _lenient():
        expected = np.asarray(theirs(DATA))
    layer = Normalization(**kwargs)
    y, state = _run(layer, DATA)
    assert state == () and theirs.weights == []  # constants, not weights, as in Keras
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)
    keras_config = theirs.get_config()
    for key in ("mean", "variance", "invert"):
        assert layer.config[key] == keras_config[key]


def test_adapted_layer_keeps_adapt_through_replace_and_readapts_from_scratch():
    norm = Normalization().adapt(DATA)
    renamed = norm.replace(name="norm")
    assert renamed.name == "norm" and renamed.adapt(DATA * 2).name == "norm"
    _, _, state = renamed.adapt(DATA * 2).init(KEY, (None, 2, 3))
    np.testing.assert_allclose(state["mean"], (DATA * 2).mean((0, 1)), rtol=1e-5)
    assert renamed == norm and renamed.config == Normalization().config
    assert int(state["count"]) == 0  # Keras 3 keeps count for old files and leaves it 0


def test_normalization_passes_masks_and_keeps_float64():
    layer = Normalization(mean=1.0, variance=4.0)
    y, _ = layer.apply((), (), Masked(jnp.ones((1, 2, 3)), jnp.array([[True, False]])))
    assert isinstance(y, Masked) and float(jnp.abs(y.value).max()) == 0.0
    with jax.enable_x64(True):
        assert layer.apply((), (), jnp.ones(3, jnp.float64))[0].dtype == jnp.float64


def test_normalization_weights_are_listed_in_keras_order(keras):
    model = models.Sequential([Normalization(input_shape=(2, 3)).adapt(DATA)])
    theirs = keras.Sequential([keras.Input((2, 3)), keras.layers.Normalization()])
    with _lenient():
        theirs.layers[0].adapt(DATA)
    ours, expected = model.get_weights(), theirs.get_weights()
    assert [(w.shape, w.dtype) for w in ours] == [(w.shape, w.dtype) for w in expected]
    for a, b in zip(ours, expected, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)


# --------------------------------------------------------------------------- a Sequential model
def test_sequential_with_preprocessing_trains_saves_and_loads(tmp_path):
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, size=(64, 4, 4, 1)).astype(np.float32)
    labels = (images.reshape(64, -1).mean(1) > 127.5).astype(np.int32)
    rescale = layers.Rescaling(1 / 255, input_shape=(4, 4, 1))
    norm = layers.Normalization().adapt(np.asarray(rescale.apply((), (), images)[0]))
    model = models.Sequential([rescale, layers.RandomFlip(), norm, layers.Flatten(),
                               layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    history = model.fit(images, labels, epochs=2, batch_size=16, verbose=0)
    assert len(history.history["loss"]) == 2 and np.isfinite(history.history["loss"]).all()
    before = model.predict(images, verbose=0)
    path = str(tmp_path / "model.safetensors")
    model.save(path)
    loaded = models.load_model(path)
    np.testing.assert_array_equal(loaded.predict(images, verbose=0), before)
    # The adapted statistics travel with the weights (state), not the architecture.
    assert loaded.layers[2].config["mean"] is None
    _, _, adapted = norm.init(KEY, (None, 4, 4, 1))
    for key in ("mean", "variance", "count"):
        np.testing.assert_array_equal(loaded.state[2][key], adapted[key])
    assert float(adapted["variance"][0]) > 0.01 and float(adapted["mean"][0]) > 0.1


# -------------------------------------------------------------------------------------- errors
ERRORS = [
    ("rescaling_scale", lambda: Rescaling("big"), ValueError,
     r"Rescaling: scale must be a finite number or a \(nested\) list of numbers; got 'big'\. For "
     r"example Rescaling\(1 / 255\)"),
    ("rescaling_offset_nan", lambda: Rescaling(1.0, offset=float("nan")), ValueError,
     r"Rescaling: offset must be a finite number .* got nan"),
    ("rescaling_ragged", lambda: Rescaling([[1.0], [1.0, 2.0]]), ValueError,
     r"Rescaling: scale must be a finite number"),
    ("rescaling_broadcast", lambda: Rescaling([1.0, 2.0]).init(KEY, (None, 4, 3)), ValueError,
     r"Rescaling: scale of shape \(2,\) does not broadcast against examples of shape \(4, 3\) "
     r"\(input shape \(None, 4, 3\)\); its dims must equal the example's last dims, or be 1"),
    ("rescaling_declared", lambda: Rescaling(2.0, input_shape=(3,)).init(KEY, (None, 4)),
     ValueError, r"Rescaling was declared with input_shape=\(3,\)"),
    ("norm_axis", lambda: Normalization(axis="last"), ValueError,
     r"Normalization: axis must be an int, a tuple of ints or None \(one mean and variance for "
     r"all values\); got 'last'\. For per-feature statistics use axis=-1"),
    ("norm_only_mean", lambda: Normalization(mean=1.0), ValueError,
     r"Normalization: give both mean and variance, or neither \(then adapt the layer to data\); "
     r"got mean=1\.0 and variance=None"),
    ("norm_shapes", lambda: Normalization(mean=[1.0, 2.0], variance=1.0), ValueError,
     r"Normalization: mean and variance must have the same shape; got \(2,\) and \(\)"),
    ("norm_rank", lambda: Normalization(axis=-1, mean=[[1.0]], variance=[[1.0]]), ValueError,
     r"Normalization: the rank of mean \(2\) must be at most the number of axes \(1, axis=-1\); "
     r"got mean of shape \(1, 1\)"),
    ("norm_negative_variance", lambda: Normalization(mean=0.0, variance=-1.0), ValueError,
     r"Normalization: variance must be >= 0; got -1\.0"),
    ("norm_mean_text", lambda: Normalization(mean="a", variance="b"), ValueError,
     r"Normalization: mean must be a finite number"),
    ("norm_invert", lambda: Normalization(invert="yes"), TypeError,
     r"Normalization: invert must be True or False; got 'yes'"),
    ("norm_axis_range", lambda: Normalization(axis=3).init(KEY, (None, 4)), ValueError,
     r"Normalization\(axis=\(3,\)\): every axis must be in \[-2, 2\) for inputs of rank 2; got "
     r"input shape \(None, 4\)"),
    ("norm_unknown_size", lambda: Normalization().init(KEY, (None, None)), ValueError,
     r"Normalization\(axis=\(-1,\)\): the axes with their own statistics need a known size, but "
     r"axis 1 of input shape \(None, None\) is None\. For a batch of scalars \(batch,\), use "
     r"axis=None"),
    ("norm_given_broadcast", lambda: Normalization(mean=[1.0, 2.0], variance=[1.0, 1.0]).init(
        KEY, (None, 3)), ValueError,
     r"Normalization: mean and variance of shape \(2,\) do not broadcast to the statistics' shape "
     r"\(3,\) for inputs of shape \(None, 3\)"),
    ("adapt_given", lambda: Normalization(mean=1.0, variance=1.0).adapt(DATA), ValueError,
     r"Normalization: this layer was given mean and variance, so it has nothing to adapt\. Build "
     r"Normalization\(axis=\.\.\.\) without them"),
    ("adapt_type", lambda: Normalization().adapt(3.0), TypeError,
     r"Normalization\.adapt: data must be an array or an iterable of batches \(a list of arrays, "
     r"a generator\); got float"),
    ("adapt_empty", lambda: Normalization().adapt([]), ValueError,
     r"Normalization\.adapt: data is an empty iterable \(no batches\)"),
    ("adapt_batch_type", lambda: Normalization().adapt([[1.0, 2.0]]), TypeError,
     r"Normalization\.adapt: each batch must be an array \(or an \(x, y\) tuple\); got list"),
    ("adapt_batch_shapes", lambda: Normalization().adapt([np.ones((2, 3)), np.ones((2, 4))]),
     ValueError, r"Normalization\.adapt: the batches must agree on the axes with their own "
                 r"statistics \(1,\); the first had shape \(2, 3\), a later one \(2, 4\)"),
    ("adapt_declared", lambda: Normalization(input_shape=(4,)).adapt(np.ones((2, 3))), ValueError,
     r"Normalization was declared with input_shape=\(4,\) \(per example\) but init received "
     r"\(None, 3\)"),
    ("adapted_other_shape", lambda: Normalization().adapt(np.ones((2, 3))).init(KEY, (None, 4)),
     ValueError, r"Normalization was adapted to data of shape \(2, 3\), with statistics of shape "
                 r"\(3,\), but init received input shape \(None, 4\), which needs \(4,\)"),
]


@pytest.mark.parametrize("make, error, match", [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_errors(make, error, match):
    with pytest.raises(error, match=match):
        make()
