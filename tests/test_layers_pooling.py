"""Tests for fnnet.layers.pooling: the conformance harness of test_layers, Keras 3 parity (masked
global pooling included), shape properties, and every raise by its message."""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import test_layers as harness
from _keras_ref import assert_matches_keras, keras_call
from _keras_ref import keras as keras_module
from hypothesis import given, settings
from hypothesis import strategies as st
from test_layers import BATCH, Case

from fnnet import Masked, layers, serial

KEY = jax.random.key(0)

# The conformance harness of tests/test_layers.py on one chain of layers per rank, so that each
# compilation covers several layers (output shapes over many configurations: the property test).

CASES = [
    Case("avgpool1d_maxpool1d_globalavg1d",
         lambda: serial(layers.AveragePooling1D(3, strides=1, padding="same"),
                        layers.MaxPooling1D(), layers.GlobalAveragePooling1D(keepdims=True)),
         (BATCH, 5, 2)),
    Case("maxpool2d_avgpool2d_globalmax2d",
         lambda: serial(layers.MaxPooling2D(3, strides=2, padding="same"),
                        layers.AveragePooling2D((2, 3), padding="same"),
                        layers.GlobalMaxPooling2D()), (BATCH, 5, 4, 2)),
    Case("maxpool3d_avgpool3d_globalavg3d",
         lambda: serial(layers.MaxPooling3D(padding="same"),
                        layers.AveragePooling3D((2, 2, 1), strides=1),
                        layers.GlobalAveragePooling3D()), (BATCH, 3, 3, 2, 1)),
]
IDS = [c.id for c in CASES]


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("training", [False, True])
def test_harness_init_shape_equals_apply_shape(case, training):
    harness.test_init_shape_equals_apply_shape(case, training)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_harness_eval_shape_jit_state_and_determinism(case):
    harness.test_init_runs_under_eval_shape(case)
    harness.test_jit_equals_eager(case, False)
    harness.test_state_keeps_its_structure(case)
    harness.test_randomness_is_deterministic_per_key(case)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_harness_gradients_match_finite_differences_in_float64(case):
    harness.test_gradients_match_finite_differences_in_float64(case)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_harness_vmap_and_scan(case):
    harness.test_vmap_per_example_gradients(case)
    harness.test_works_inside_lax_scan(case)


# ---------------------------------------------------------------------------------------------
# Keras 3 parity.

KERAS_CASES = [
    ("MaxPooling1D", {}, (2, 5, 2)),
    ("MaxPooling1D", {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 6, 2)),
    ("MaxPooling2D", {"pool_size": (2, 3), "strides": (1, 2), "padding": "same"}, (2, 5, 5, 2)),
    ("MaxPooling2D", {}, (2, 5, 5, 1)),
    ("MaxPooling3D", {"pool_size": 2, "padding": "same"}, (1, 3, 3, 3, 2)),
    ("AveragePooling1D", {"pool_size": 2, "padding": "same"}, (2, 5, 2)),
    ("AveragePooling1D", {"pool_size": 3, "strides": 1}, (2, 5, 2)),
    ("AveragePooling2D", {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 5, 4, 2)),
    ("AveragePooling2D", {"pool_size": 2, "padding": "Same"}, (2, 5, 5, 1)),
    ("AveragePooling2D", {"pool_size": (2, 1)}, (2, 5, 3, 2)),
    ("AveragePooling3D", {"pool_size": 2, "padding": "same"}, (1, 3, 3, 3, 2)),
    ("AveragePooling3D", {"pool_size": (1, 2, 2), "strides": 1}, (1, 2, 3, 3, 1)),
    ("GlobalMaxPooling1D", {}, (2, 5, 3)),
    ("GlobalMaxPooling2D", {"keepdims": True}, (2, 3, 4, 2)),
    ("GlobalMaxPooling3D", {}, (2, 2, 3, 2, 2)),
    ("GlobalAveragePooling1D", {"keepdims": True}, (2, 5, 3)),
    ("GlobalAveragePooling2D", {}, (2, 3, 4, 2)),
    ("GlobalAveragePooling3D", {"keepdims": True}, (2, 2, 3, 2, 2)),
]


@pytest.mark.parametrize("name, kwargs, shape", KERAS_CASES,
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(KERAS_CASES)])
def test_matches_keras(name, kwargs, shape):
    assert_matches_keras(name, kwargs, shape)


def test_average_pooling_same_divides_by_the_real_entries():
    x = np.arange(1.0, 6.0, dtype=np.float32).reshape(1, 5, 1)
    y, _ = layers.AveragePooling1D(2, padding="same").apply((), (), jnp.asarray(x))
    np.testing.assert_allclose(y.ravel(), [1.5, 3.5, 5.0])  # the last window holds one value
    y, _ = layers.AveragePooling1D(3, strides=1, padding="same").apply((), (), jnp.asarray(x))
    np.testing.assert_allclose(y.ravel(), [1.5, 2.0, 3.0, 4.0, 4.5])


MASK = np.array([[True, True, False, False, True], [True, True, True, True, True],
                 [False, True, False, False, False]])


@pytest.mark.parametrize("keepdims", [False, True])
def test_masked_global_average_pooling_1d_matches_keras_with_a_mask(keepdims):
    assert_matches_keras("GlobalAveragePooling1D", {"keepdims": keepdims}, (3, 5, 2), mask=MASK)


@pytest.mark.parametrize("keepdims", [False, True])
def test_masked_global_max_pooling_1d_ignores_masked_steps(keepdims):
    """Keras's GlobalMaxPooling1D drops masks (max over padding too), so the reference is
    Keras's unmasked layer on each row's real steps alone."""
    x = np.random.default_rng(3).normal(size=(3, 5, 2)).astype(np.float32) + 5  # padding is 0
    x[0, 2:4] = 100.0  # masked steps with the largest values: they must not win
    layer = layers.GlobalMaxPooling1D(keepdims=keepdims)
    y, _ = layer.apply((), (), Masked(jnp.asarray(x), jnp.asarray(MASK)))
    assert not isinstance(y, Masked) and y.shape == ((3, 1, 2) if keepdims else (3, 2))
    expected = np.where(MASK[..., None], x, -np.inf).max(axis=1, keepdims=keepdims)
    np.testing.assert_array_equal(np.asarray(y), expected)
    keras = keras_module()
    ref = keras.layers.GlobalMaxPooling1D(keepdims=keepdims)
    for i in range(3):
        expected = keras_call(ref, x[i:i + 1, MASK[i]])
        np.testing.assert_array_equal(np.asarray(y[i:i + 1]), np.asarray(expected))


def test_keras_global_max_pooling_1d_drops_the_mask():
    """The documented deviation: Keras 3 takes the max over masked steps too."""
    keras = keras_module()
    assert not keras.layers.GlobalMaxPooling1D().supports_masking
    assert keras.layers.GlobalAveragePooling1D().supports_masking


def test_masked_pooling_jits_differentiates_and_handles_empty_rows():
    x = jnp.asarray(np.random.default_rng(4).normal(size=(3, 5, 2)), jnp.float32)
    empty = MASK.copy()
    empty[2] = False
    for layer, empty_value in ((layers.GlobalAveragePooling1D(), np.nan),
                               (layers.GlobalMaxPooling1D(), -np.inf)):
        fn = jax.jit(lambda v, m, layer=layer: layer.apply((), (), Masked(v, m))[0])
        eager = layer.apply((), (), Masked(x, jnp.asarray(MASK)))[0]
        np.testing.assert_allclose(fn(x, jnp.asarray(MASK)), eager, rtol=1e-6)
        grads = jax.grad(lambda v, layer=layer: jnp.sum(
            layer.apply((), (), Masked(v, jnp.asarray(MASK)))[0]))(x)
        assert np.all(np.asarray(grads)[~MASK] == 0) and np.all(np.isfinite(grads))
        y = np.asarray(fn(x, jnp.asarray(empty)))
        np.testing.assert_array_equal(y[2], [empty_value] * 2)  # Keras: 0 / 0 for the average
        assert np.all(np.isfinite(y[:2]))


def test_a_data_mask_ends_at_masked_global_pooling_in_a_model():
    x = jnp.asarray(np.random.default_rng(5).normal(size=(3, 5, 4)), jnp.float32)
    model = serial(layers.Dense(3), layers.GlobalAveragePooling1D(), layers.Dense(2))
    _, params, state = model.init(KEY, (None, 5, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every layer here takes or ends the mask: no warning
        y, _ = model.apply(params, state, Masked(x, jnp.asarray(MASK)))
    assert not isinstance(y, Masked) and y.shape == (3, 2)
    dense0, _, dense1 = model.config["layers"]
    h, _ = dense0.apply(params[0], (), x)
    pooled = (np.asarray(h) * MASK[..., None]).sum(1) / MASK.sum(1, keepdims=True)
    expected, _ = dense1.apply(params[2], (), jnp.asarray(pooled, jnp.float32))
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-6)
    assert layers.GlobalAveragePooling1D().supports_masking
    assert layers.GlobalMaxPooling1D().supports_masking
    assert not layers.GlobalAveragePooling2D().supports_masking
    assert not layers.MaxPooling1D().supports_masking


def test_integer_inputs_pool_as_float32():
    x = jnp.arange(8, dtype=jnp.int32).reshape(1, 8, 1)
    for layer in (layers.MaxPooling1D(), layers.AveragePooling1D(2), layers.GlobalAveragePooling1D()):
        y, _ = layer.apply((), (), x)
        assert y.dtype == jnp.float32


# ---------------------------------------------------------------------------------------------
# Property: init's output shape is what apply gives (traced, not compiled), and Keras's.


@st.composite
def _pool_configs(draw):
    rank = draw(st.integers(1, 3))
    name = draw(st.sampled_from(["MaxPooling", "AveragePooling"])) + f"{rank}D"
    ints = lambda lo, hi: tuple(draw(st.lists(st.integers(lo, hi), min_size=rank,  # noqa: E731
                                              max_size=rank)))
    kwargs = {"pool_size": ints(1, 3), "padding": draw(st.sampled_from(["valid", "same"]))}
    if draw(st.booleans()):
        kwargs["strides"] = ints(1, 3)
    shape = (draw(st.integers(1, 3)), *ints(1, 6), draw(st.integers(1, 3)))
    return name, kwargs, shape


@settings(max_examples=60, deadline=None)
@given(_pool_configs())
def test_property_pool_output_shapes_agree_with_apply_and_keras(config):
    name, kwargs, shape = config
    layer = getattr(layers, name)(**kwargs)
    try:
        keras = keras_module()
    except pytest.skip.Exception:
        keras = None
    try:
        out_shape = layer.init(KEY, shape)[0]
    except ValueError as err:
        assert "too small" in str(err) and kwargs["padding"] == "valid"
        if keras is not None:
            with pytest.raises(ValueError):
                keras_call(getattr(keras.layers, name)(**kwargs).compute_output_shape, shape)
        return
    y = jax.eval_shape(lambda v: layer.apply((), (), v)[0], jax.ShapeDtypeStruct(shape, jnp.float32))
    assert tuple(y.shape) == out_shape
    assert layer.init(KEY, (None, *shape[1:]))[0] == (None, *out_shape[1:])
    if keras is not None:
        expected = keras_call(getattr(keras.layers, name)(**kwargs).compute_output_shape, shape)
        assert tuple(expected) == out_shape


# ---------------------------------------------------------------------------------------------
# Every raise in fnnet/layers/pooling.py, by its message.

POOL_ERRORS = [
    ("pool_size_zero", lambda: layers.MaxPooling2D(0), ValueError,
     r"MaxPooling2D: pool_size must be a positive int or a tuple of 2 positive ints; got 0\. "
     r"For example MaxPooling2D\(\(2, 2\)\)"),
    ("pool_size_wrong_length", lambda: layers.AveragePooling1D((2, 2)), ValueError,
     r"AveragePooling1D: pool_size must be .* got \(2, 2\)\. For example AveragePooling1D\(2\)"),
    ("strides_zero", lambda: layers.MaxPooling3D(strides=0), ValueError,
     r"MaxPooling3D: strides must be a positive int or a tuple of 3 positive ints; got 0"),
    ("padding_unknown", lambda: layers.AveragePooling2D(2, padding="causal"), ValueError,
     r"AveragePooling2D: padding must be 'valid' or 'same' \(case-insensitive\); got 'causal'"),
    ("channels_first", lambda: layers.MaxPooling2D(data_format="channels_first"), ValueError,
     r"MaxPooling2D: data_format='channels_first' is not supported; fnnet layers are "
     r"channels-last only"),
    ("global_channels_first", lambda: layers.GlobalAveragePooling1D(data_format="channels_first"),
     ValueError, r"GlobalAveragePooling1D: data_format='channels_first' is not supported"),
    ("keepdims_not_bool", lambda: layers.GlobalMaxPooling2D(keepdims=1), TypeError,
     r"GlobalMaxPooling2D: keepdims must be True or False; got 1\."),
    ("bad_input_shape", lambda: layers.MaxPooling1D(input_shape=[4, -1]), ValueError,
     r"MaxPooling1D: input_shape must be a tuple of positive ints"),
    ("declared_mismatch", lambda: layers.MaxPooling1D(input_shape=(4, 2)).init(KEY, (None, 5, 2)),
     ValueError,
     r"MaxPooling1D\(pool_size=\(2,\)\) was declared with input_shape=\(4, 2\) \(per example\)"),
    ("global_declared_mismatch",
     lambda: layers.GlobalMaxPooling1D(input_shape=(4, 2)).init(KEY, (None, 5, 2)), ValueError,
     r"GlobalMaxPooling1D was declared with input_shape=\(4, 2\)"),
    ("rank", lambda: layers.MaxPooling2D().init(KEY, (None, 28, 28)), ValueError,
     r"MaxPooling2D\(pool_size=\(2, 2\)\): expects inputs of rank 4, \(batch, height, width, "
     r"channels\), with the batch dim; got shape \(None, 28, 28\)\. For grayscale images add a "
     r"channels axis"),
    ("global_rank", lambda: layers.GlobalAveragePooling3D().init(KEY, (None, 4, 4)), ValueError,
     r"GlobalAveragePooling3D: expects inputs of rank 5, \(batch, depth, height, width, "
     r"channels\), with the batch dim; got shape \(None, 4, 4\)"),
    ("too_small", lambda: layers.AveragePooling2D(3).init(KEY, (None, 2, 5, 1)), ValueError,
     r"AveragePooling2D\(pool_size=\(3, 3\)\): the input's spatial shape \(2, 5\) is too small "
     r"for pool_size=\(3, 3\), strides=\(3, 3\) with padding='valid'"),
    ("apply_too_small", lambda: layers.MaxPooling1D(3).apply((), (), jnp.ones((1, 2, 1))),
     ValueError, r"MaxPooling1D\(pool_size=\(3,\)\): the input's spatial shape \(2,\) is too small"),
    ("mask_shape", lambda: layers.GlobalAveragePooling1D().apply(
        (), (), Masked(jnp.ones((2, 3, 1)), jnp.ones((2, 4), bool))), ValueError,
     r"GlobalAveragePooling1D: the data mask must have shape \(batch, steps\) = \(2, 3\); got "
     r"\(2, 4\)\."),
]


@pytest.mark.parametrize("make, error, match", [e[1:] for e in POOL_ERRORS],
                         ids=[e[0] for e in POOL_ERRORS])
def test_pooling_errors(make, error, match):
    with pytest.raises(error, match=match):
        make()
