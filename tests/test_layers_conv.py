"""Tests for fnnet.layers.convolutional and convolutional_depthwise: the conformance harness of
test_layers over many configurations, Keras 3 parity with the same weights, shape properties,
every raise by its message, and the book's MNIST convnet end to end."""

from __future__ import annotations

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

from fnnet import layers, models, serial
from fnnet.core import apply_constraints, regularization

KEY = jax.random.key(0)

# ---------------------------------------------------------------------------------------------
# The conformance harness (tests/test_layers.py) on one chain of layers per rank, so that each
# compiled forward and backward pass covers several layers (each case compiles them several
# times): batch BATCH (its vmap test reads that many examples), at most 5x5 images with 1-3
# channels. Output shapes over many configurations: the property test and the Keras cases below.

CASES = [
    Case("conv1d_causal_groups_separable1d_conv1dtranspose",
         lambda: serial(layers.Conv1D(4, 2, padding="causal", dilation_rate=2, groups=2),
                        layers.SeparableConv1D(3, 2, dilation_rate=2, depth_multiplier=2,
                                               activation="tanh"),
                        layers.DepthwiseConv1D(2, padding="same"),
                        layers.Conv1DTranspose(2, 3, strides=2, output_padding=1)),
         (BATCH, 6, 2)),
    Case("conv2d_depthwise2d_separable2d_conv2dtranspose",
         lambda: serial(layers.Conv2D(3, 3, strides=2, padding="same", activation="relu"),
                        layers.DepthwiseConv2D(2, depth_multiplier=2),
                        layers.SeparableConv2D(2, 1, use_bias=False, activation="softmax"),
                        layers.Conv2DTranspose(3, 3, strides=2, padding="same")),
         (BATCH, 5, 5, 2)),
    Case("conv3d_conv3dtranspose",
         lambda: serial(layers.Conv3D(2, 2, padding="same", use_bias=False),
                        layers.Conv3DTranspose(1, 2, dilation_rate=(1, 2, 1))),
         (BATCH, 3, 3, 2, 2)),
]
IDS = [c.id for c in CASES]


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("training", [False, True])
def test_harness_init_shape_equals_apply_shape(case, training):
    harness.test_init_shape_equals_apply_shape(case, training)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_harness_init_runs_under_eval_shape(case):
    harness.test_init_runs_under_eval_shape(case)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_harness_jit_equals_eager(case):
    harness.test_jit_equals_eager(case, False)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_harness_gradients_match_finite_differences_in_float64(case):
    harness.test_gradients_match_finite_differences_in_float64(case)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_harness_state_and_determinism(case):
    harness.test_state_keeps_its_structure(case)
    harness.test_randomness_is_deterministic_per_key(case)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_harness_vmap_and_scan(case):
    harness.test_vmap_per_example_gradients(case)
    harness.test_works_inside_lax_scan(case)


def _shapes(layer, shape):
    """``(output shape, abstract params)`` of ``layer.init``, traced: no random draws compiled."""
    out = []

    def init(key):
        out_shape, params, _ = layer.init(key, shape)
        out.append(out_shape)
        return params

    params = jax.eval_shape(init, KEY)
    return out[0], params


def _random_params(layer, shape, seed=0):
    """Params of ``layer`` for inputs ``shape``, drawn in numpy (cheaper than compiling init)."""
    rng = np.random.default_rng(seed)
    return jax.tree.map(lambda a: jnp.asarray(rng.normal(size=a.shape), a.dtype),
                        _shapes(layer, shape)[1])


def test_softmax_and_sigmoid_convolutions_expose_logits_with_the_same_params():
    for make in (lambda a: layers.Conv2D(3, 2, activation=a),
                 lambda a: layers.DepthwiseConv1D(2, activation=a)):
        assert make("relu").logits is None
        for act in ("softmax", "sigmoid"):
            layer = make(act)
            assert layer.output_activation == act and layer.logits is not None
            shape = (2, 4, 4, 2) if layer.kind == "Conv2D" else (2, 4, 2)
            params, state = _random_params(layer, shape), ()
            assert jax.tree.structure(_shapes(layer.logits, shape)[1]) == jax.tree.structure(params)
            x = jnp.asarray(np.random.default_rng(0).normal(size=shape), jnp.float32)
            z, _ = layer.logits.apply(params, state, x)
            y, _ = layer.apply(params, state, x)
            expected = jax.nn.softmax(z, axis=-1) if act == "softmax" else jax.nn.sigmoid(z)
            np.testing.assert_allclose(y, expected, rtol=1e-6, atol=1e-7)


def test_integer_inputs_are_cast_and_mixed_precision_computes_in_bfloat16():
    layer = layers.Conv1D(2, 2)
    params = _random_params(layer, (None, 4, 1))
    x = np.arange(8).reshape(2, 4, 1)
    y, _ = layer.apply(params, (), jnp.asarray(x, jnp.int32))
    assert y.dtype == jnp.float32
    np.testing.assert_allclose(y, layer.apply(params, (), jnp.asarray(x, jnp.float32))[0])
    mixed = layers.Conv2D(2, 2, dtype="mixed_bfloat16")
    params = _random_params(mixed, (None, 3, 3, 1))
    assert params["kernel"].dtype == jnp.float32
    y, _ = mixed.apply(params, (), jnp.ones((1, 3, 3, 1)))
    assert y.dtype == jnp.bfloat16 and mixed.config["dtype"] == "mixed_bfloat16"
    stored = layers.SeparableConv1D(2, 2, param_dtype="bfloat16")
    assert {p.dtype for p in _shapes(stored, (None, 3, 2))[1].values()} == {jnp.dtype(jnp.bfloat16)}
    assert stored.config["param_dtype"] == "bfloat16"


def test_regularizers_and_constraints_reach_the_params_keras_names():
    layer = layers.DepthwiseConv1D(2, depthwise_regularizer="l2", bias_constraint="non_neg")
    assert "depthwise_regularizer" in layer.config and "bias_constraint" in layer.config
    assert "kernel_regularizer" not in layer.config
    params = _random_params(layer, (None, 4, 2))
    expected = 0.01 * float(jnp.sum(jnp.square(params["kernel"])))
    np.testing.assert_allclose(float(regularization(layer, params)), expected, rtol=1e-6)
    projected = apply_constraints(layer, params)
    np.testing.assert_array_equal(projected["bias"], np.maximum(params["bias"], 0))
    np.testing.assert_array_equal(projected["kernel"], params["kernel"])
    sep = layers.SeparableConv2D(2, 2, pointwise_regularizer="l1", depthwise_constraint="non_neg")
    assert sep.config["pointwise_regularizer"] and sep.config["depthwise_constraint"]
    params = _random_params(sep, (None, 3, 3, 2))
    np.testing.assert_allclose(float(regularization(sep, params)),
                               0.01 * float(jnp.sum(jnp.abs(params["pointwise_kernel"]))),
                               rtol=1e-6)
    conv = layers.Conv3DTranspose(2, 2, kernel_constraint="non_neg")
    params = _random_params(conv, (None, 2, 2, 2, 1))
    np.testing.assert_array_equal(apply_constraints(conv, params)["kernel"],
                                  np.maximum(params["kernel"], 0))


# ---------------------------------------------------------------------------------------------
# Keras 3 parity: the same keyword arguments, weights and float32 inputs.

KERAS_CASES = [
    ("Conv1D", {"filters": 3, "kernel_size": 3}, (2, 6, 2)),
    ("Conv1D", {"filters": 3, "kernel_size": 2, "strides": 2, "padding": "same"}, (2, 5, 2)),
    ("Conv1D", {"filters": 2, "kernel_size": 3, "padding": "causal", "dilation_rate": 2},
     (2, 6, 2)),
    ("Conv1D", {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "causal"}, (2, 7, 2)),
    ("Conv1D", {"filters": 4, "kernel_size": 2, "groups": 2, "activation": "softmax"}, (2, 5, 2)),
    ("Conv2D", {"filters": 3, "kernel_size": (2, 3), "strides": (2, 1), "padding": "same"},
     (2, 5, 5, 2)),
    ("Conv2D", {"filters": 2, "kernel_size": 2, "dilation_rate": (2, 1), "padding": "SAME"},
     (2, 5, 4, 2)),
    ("Conv2D", {"filters": 6, "kernel_size": 2, "groups": 3, "use_bias": False,
                "activation": "sigmoid"}, (2, 4, 4, 3)),
    ("Conv2D", {"filters": 2, "kernel_size": 3, "strides": 2, "activation": "relu"}, (2, 5, 5, 1)),
    ("Conv3D", {"filters": 2, "kernel_size": 2, "strides": 2, "padding": "same"}, (1, 3, 4, 3, 2)),
    ("Conv3D", {"filters": 2, "kernel_size": (1, 2, 2), "groups": 2}, (1, 2, 3, 3, 2)),
    ("DepthwiseConv1D", {"kernel_size": 3, "depth_multiplier": 2, "padding": "same"}, (2, 5, 3)),
    ("DepthwiseConv1D", {"kernel_size": 2, "strides": 2, "activation": "tanh"}, (2, 6, 2)),
    ("DepthwiseConv2D", {"kernel_size": (2, 3), "depth_multiplier": 2}, (2, 4, 5, 3)),
    ("DepthwiseConv2D", {"kernel_size": 3, "strides": 2, "padding": "same"}, (2, 5, 5, 2)),
    ("DepthwiseConv2D", {"kernel_size": 2, "dilation_rate": 2, "use_bias": False}, (2, 5, 5, 2)),
    ("SeparableConv1D", {"filters": 4, "kernel_size": 3, "depth_multiplier": 2,
                         "padding": "same"}, (2, 5, 2)),
    ("SeparableConv1D", {"filters": 2, "kernel_size": 2, "dilation_rate": 2}, (2, 6, 3)),
    ("SeparableConv2D", {"filters": 4, "kernel_size": 2, "strides": 2}, (2, 5, 5, 2)),
    ("SeparableConv2D", {"filters": 3, "kernel_size": 3, "dilation_rate": 2, "depth_multiplier": 2,
                         "padding": "same", "activation": "relu"}, (2, 5, 5, 2)),
    ("Conv1DTranspose", {"filters": 3, "kernel_size": 3, "strides": 2}, (2, 4, 2)),
    ("Conv1DTranspose", {"filters": 2, "kernel_size": 2, "strides": 3, "output_padding": 1,
                         "padding": "same"}, (2, 3, 2)),
    ("Conv1DTranspose", {"filters": 2, "kernel_size": 3, "dilation_rate": 2, "padding": "same"},
     (2, 4, 2)),
    ("Conv2DTranspose", {"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same"},
     (2, 3, 3, 2)),
    ("Conv2DTranspose", {"filters": 2, "kernel_size": (3, 2), "strides": (2, 3),
                         "output_padding": (1, 2)}, (2, 3, 2, 2)),
    ("Conv2DTranspose", {"filters": 2, "kernel_size": 4, "strides": 2, "output_padding": 0,
                         "padding": "same"}, (2, 3, 3, 1)),
    ("Conv2DTranspose", {"filters": 2, "kernel_size": 1, "strides": 3}, (2, 2, 3, 2)),
    ("Conv3DTranspose", {"filters": 2, "kernel_size": 2, "strides": 2, "padding": "same"},
     (1, 2, 2, 2, 2)),
    ("Conv3DTranspose", {"filters": 1, "kernel_size": 3, "strides": 2, "output_padding": 1},
     (1, 2, 2, 1, 2)),
]


@pytest.mark.parametrize("name, kwargs, shape", KERAS_CASES,
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(KERAS_CASES)])
def test_matches_keras_with_the_same_weights(name, kwargs, shape):
    assert_matches_keras(name, kwargs, shape)


def test_depthwise_kernel_layout_is_keras_3s():
    keras = keras_module()
    layer = keras.layers.DepthwiseConv2D(3, depth_multiplier=2, depthwise_initializer="zeros")
    keras_call(layer.build, (None, 5, 5, 4))
    assert [w.path.split("/")[-1] for w in layer.weights] == ["kernel", "bias"]
    _, params = _shapes(layers.DepthwiseConv2D(3, depth_multiplier=2), (None, 5, 5, 4))
    assert {k: v.shape for k, v in params.items()} == {"kernel": (3, 3, 4, 2), "bias": (8,)}
    assert tuple(layer.weights[0].shape) == (3, 3, 4, 2)


# ---------------------------------------------------------------------------------------------
# Property: init's output shape is what apply gives (traced, not compiled), and Keras's.

_CONV_KINDS = ["Conv", "ConvTranspose", "DepthwiseConv", "SeparableConv"]


@st.composite
def _conv_configs(draw):
    kind = draw(st.sampled_from(_CONV_KINDS))
    rank = draw(st.integers(1, 2 if kind in ("DepthwiseConv", "SeparableConv") else 3))
    name = f"{kind}{rank}D" if kind != "ConvTranspose" else f"Conv{rank}DTranspose"
    ints = lambda lo, hi: draw(st.lists(st.integers(lo, hi), min_size=rank, max_size=rank))  # noqa: E731
    kwargs = {"kernel_size": tuple(ints(1, 3))}
    if draw(st.booleans()):
        kwargs["strides"] = tuple(ints(1, 3))
    elif draw(st.booleans()):
        kwargs["dilation_rate"] = tuple(ints(1, 2))
    paddings = ["valid", "same", "causal"] if name == "Conv1D" else ["valid", "same"]
    kwargs["padding"] = draw(st.sampled_from(paddings))
    channels = draw(st.integers(1, 3))
    if kind != "DepthwiseConv":
        kwargs["filters"] = 2
    if kind == "Conv":
        groups = draw(st.sampled_from([g for g in (1, 2, 3) if channels % g == 0]))
        kwargs.update(groups=groups, filters=2 * groups)
    if kind in ("DepthwiseConv", "SeparableConv"):
        kwargs["depth_multiplier"] = draw(st.integers(1, 2))
    if kind == "ConvTranspose" and draw(st.booleans()):
        strides = kwargs.get("strides", (1,) * rank)
        kwargs["output_padding"] = tuple(draw(st.integers(0, s - 1)) for s in strides)
    shape = (draw(st.integers(1, 3)), *ints(1, 6), channels)
    return name, kwargs, shape


@settings(max_examples=60, deadline=None)
@given(_conv_configs())
def test_property_conv_output_shapes_agree_with_apply_and_keras(config):
    name, kwargs, shape = config
    layer = getattr(layers, name)(**kwargs)
    try:
        keras = keras_module()
    except pytest.skip.Exception:
        keras = None
    try:
        out_shape, params = _shapes(layer, shape)
    except ValueError as err:  # "valid" windows larger than the input: Keras refuses them too
        assert "too small" in str(err) and kwargs["padding"] == "valid"
        if keras is not None:
            with pytest.raises(ValueError):
                keras_call(getattr(keras.layers, name)(**kwargs).compute_output_shape, shape)
        return
    y = jax.eval_shape(lambda p, v: layer.apply(p, (), v)[0], params,
                       jax.ShapeDtypeStruct(shape, jnp.float32))
    assert tuple(y.shape) == out_shape
    assert _shapes(layer, (None, *shape[1:]))[0] == (None, *out_shape[1:])
    if keras is not None:
        expected = keras_call(getattr(keras.layers, name)(**kwargs).compute_output_shape, shape)
        assert tuple(expected) == out_shape


# ---------------------------------------------------------------------------------------------
# Every raise in fnnet/layers/convolutional*.py and _spatial.py's checks, by its message.

CONV_ERRORS = [
    ("filters_zero", lambda: layers.Conv2D(0, 3),
     r"Conv2D: filters must be a positive int; got 0\. For example Conv2D\(32, \(3, 3\)\)"),
    ("kernel_size_wrong_length", lambda: layers.Conv2D(8, (3, 3, 3)),
     r"Conv2D: kernel_size must be a positive int or a tuple of 2 positive ints; got "
     r"\(3, 3, 3\)\. For example Conv2D\(32, \(3, 3\)\)"),
    ("kernel_size_zero", lambda: layers.Conv1D(8, 0),
     r"Conv1D: kernel_size must be a positive int .* got 0\. For example Conv1D\(32, 3\)"),
    ("strides_bool", lambda: layers.Conv3D(2, 2, strides=True),
     r"Conv3D: strides must be a positive int or a tuple of 3 positive ints; got True"),
    ("dilation_string", lambda: layers.Conv1D(2, 2, dilation_rate="2"),
     r"Conv1D: dilation_rate must be .* got '2'\. For example dilation_rate=\(2,\)"),
    ("padding_unknown", lambda: layers.Conv2D(2, 2, padding="full"),
     r"Conv2D: padding must be 'valid' or 'same' \(case-insensitive\); got 'full'"),
    ("causal_only_1d", lambda: layers.Conv2D(2, 2, padding="causal"),
     r"Conv2D: padding must be 'valid' or 'same'"),
    ("conv1d_padding_lists_causal", lambda: layers.Conv1D(2, 2, padding=None),
     r"Conv1D: padding must be 'valid' or 'same' or 'causal' \(case-insensitive\); got None"),
    ("channels_first", lambda: layers.Conv2D(2, 2, data_format="channels_first"),
     r"Conv2D: data_format='channels_first' is not supported; fnnet layers are channels-last "
     r"only\. Move the channels axis last, e\.g\. jnp\.moveaxis\(x, 1, -1\)"),
    ("data_format_unknown", lambda: layers.DepthwiseConv2D(2, data_format="NHWC"),
     r"DepthwiseConv2D: data_format must be None or 'channels_last'; got 'NHWC'"),
    ("groups_zero", lambda: layers.Conv2D(4, 2, groups=0),
     r"Conv2D: groups must be a positive int; got 0\. For example groups=2"),
    ("filters_not_divisible_by_groups", lambda: layers.Conv1D(5, 2, groups=2),
     r"Conv1D: filters must be divisible by groups; got filters=5, groups=2\."),
    ("strides_and_dilation", lambda: layers.Conv2D(2, 2, strides=2, dilation_rate=2),
     r"Conv2D: strides > 1 cannot be combined with dilation_rate > 1 \(as in Keras\); got "
     r"strides=\(2, 2\) and dilation_rate=\(2, 2\)"),
    ("transpose_strides_and_dilation",
     lambda: layers.Conv1DTranspose(2, 2, strides=2, dilation_rate=2),
     r"Conv1DTranspose: strides > 1 cannot be combined with dilation_rate > 1"),
    ("output_padding_too_large", lambda: layers.Conv2DTranspose(2, 3, strides=2, output_padding=2),
     r"Conv2DTranspose: output_padding must be smaller than strides on every axis; got "
     r"output_padding=\(2, 2\) and strides=\(2, 2\)"),
    ("output_padding_negative", lambda: layers.Conv1DTranspose(2, 3, output_padding=-1),
     r"Conv1DTranspose: output_padding must be a non-negative int or a tuple of 1 non-negative "
     r"ints; got -1"),
    ("transpose_filters", lambda: layers.Conv3DTranspose(-1, 2),
     r"Conv3DTranspose: filters must be a positive int; got -1\. For example "
     r"Conv3DTranspose\(16, \(3, 3, 3\)\)"),
    ("depth_multiplier_zero", lambda: layers.DepthwiseConv1D(2, depth_multiplier=0),
     r"DepthwiseConv1D: depth_multiplier must be a positive int; got 0\. For example "
     r"depth_multiplier=2"),
    ("separable_filters", lambda: layers.SeparableConv2D(0, 3),
     r"SeparableConv2D: filters must be a positive int; got 0"),
    ("bad_input_shape", lambda: layers.Conv2D(2, 2, input_shape=(5, 0, 1)),
     r"Conv2D: input_shape must be a tuple of positive ints without the batch dim; got "
     r"\(5, 0, 1\)"),
    ("declared_mismatch", lambda: layers.Conv2D(2, 2, input_shape=(5, 5, 1)).init(
        KEY, (None, 5, 5, 3)),
     r"Conv2D\(2, \(2, 2\)\) was declared with input_shape=\(5, 5, 1\) \(per example\) but init "
     r"received \(None, 5, 5, 3\)"),
    ("rank_missing_channels", lambda: layers.Conv2D(2, 2).init(KEY, (None, 28, 28)),
     r"Conv2D\(2, \(2, 2\)\): expects inputs of rank 4, \(batch, height, width, channels\), with "
     r"the batch dim; got shape \(None, 28, 28\)\. For grayscale images add a channels axis"),
    ("rank_too_high", lambda: layers.Conv1D(2, 2).init(KEY, (None, 4, 4, 1)),
     r"Conv1D\(2, \(2,\)\): expects inputs of rank 3, \(batch, steps, channels\), with the batch "
     r"dim; got shape \(None, 4, 4, 1\)\.$"),
    ("unknown_channels", lambda: layers.DepthwiseConv2D(2).init(KEY, (None, 4, 4, None)),
     r"DepthwiseConv2D\(\(2, 2\)\): the channels axis \(last\) must have a known size >= 1; got "
     r"input shape \(None, 4, 4, None\)"),
    ("channels_not_divisible_by_groups", lambda: layers.Conv2D(4, 2, groups=2).init(
        KEY, (None, 4, 4, 3)),
     r"Conv2D\(4, \(2, 2\)\): the input's channels must be divisible by groups=2; got input "
     r"shape \(None, 4, 4, 3\)\. Use a groups value that divides 3"),
    ("input_too_small", lambda: layers.Conv2D(2, 3, dilation_rate=2).init(KEY, (None, 4, 9, 1)),
     r"Conv2D\(2, \(3, 3\)\): the input's spatial shape \(4, 9\) is too small for "
     r"kernel_size=\(3, 3\), strides=\(1, 1\), dilation_rate=\(2, 2\) with padding='valid': the "
     r"output would be empty\. Use padding='same'"),
]


@pytest.mark.parametrize("make, match", [e[1:] for e in CONV_ERRORS],
                         ids=[e[0] for e in CONV_ERRORS])
def test_conv_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("make, shape, x_shape", [
    (lambda: layers.Conv2D(2, 2), (None, 3, 3, 2), (1, 3, 3, 3)),
    (lambda: layers.Conv1D(4, 2, groups=2), (None, 3, 4), (1, 3, 2)),
    (lambda: layers.Conv1DTranspose(2, 2), (None, 3, 1), (1, 3, 2)),
    (lambda: layers.SeparableConv1D(2, 2), (None, 3, 2), (1, 3, 1)),
])
def test_apply_with_other_channels_names_both_counts(make, shape, x_shape):
    layer = make()
    params, state = _random_params(layer, shape), ()
    with pytest.raises(ValueError, match=rf"{layer.kind}\(.*\): built for inputs with "
                                         rf"{shape[-1]} channels, got an input of shape "
                                         rf"{re_tuple(x_shape)}\. Pass inputs with {shape[-1]} "
                                         rf"channels \(last axis\), or rebuild the layer for "
                                         rf"{x_shape[-1]}\."):
        layer.apply(params, state, jnp.ones(x_shape))


def re_tuple(t):
    return str(tuple(t)).replace("(", r"\(").replace(")", r"\)")


def test_apply_refuses_an_input_too_small_and_of_the_wrong_rank():
    layer = layers.Conv1D(2, 3)
    params, state = _random_params(layer, (None, None, 1)), ()
    with pytest.raises(ValueError, match=r"spatial shape \(2,\) is too small"):
        layer.apply(params, state, jnp.ones((1, 2, 1)))
    with pytest.raises(ValueError, match=r"expects inputs of rank 3"):
        layer.apply(params, state, jnp.ones((1, 2)))


# ---------------------------------------------------------------------------------------------
# The book's MNIST convnet, end to end.


def _mnist_convnet():
    return models.Sequential([
        layers.Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.Flatten(),
        layers.Dense(64, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])


def test_mnist_convnet_trains_saves_loads_and_counts_params_like_keras(tmp_path):
    model = _mnist_convnet()
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    rng = np.random.default_rng(0)
    x = rng.random((256, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, 256)
    before = model.get_weights()
    history = model.fit(x, y, epochs=1, batch_size=64, verbose=0)
    assert np.isfinite(history.history["loss"][0]) and 0 <= history.history["accuracy"][0] <= 1
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=True))
    lines = []
    model.summary(print_fn=lines.append)
    assert " Total params: 93,322 (364.54 KB)" in lines and model.count_params() == 93_322
    path = str(tmp_path / "convnet.safetensors")
    model.save(path)
    again = models.load_model(path)
    assert [layer.kind for layer in again.layers] == [layer.kind for layer in model.layers]
    np.testing.assert_array_equal(again.predict(x[:32], verbose=0), model.predict(x[:32], verbose=0))


def test_mnist_convnet_param_count_and_weight_shapes_equal_keras():
    keras = keras_module()
    zeros = {"kernel_initializer": "zeros"}  # shapes only: skip compiling random draws
    ref = keras_call(keras.Sequential, [
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(32, (3, 3), activation="relu", **zeros),
        keras.layers.MaxPooling2D((2, 2)),
        keras.layers.Conv2D(64, (3, 3), activation="relu", **zeros),
        keras.layers.MaxPooling2D((2, 2)),
        keras.layers.Conv2D(64, (3, 3), activation="relu", **zeros),
        keras.layers.Flatten(),
        keras.layers.Dense(64, activation="relu", **zeros),
        keras.layers.Dense(10, activation="softmax", **zeros),
    ])
    model = _mnist_convnet()
    shapes = jax.eval_shape(lambda k: model.init(k, (None, 28, 28, 1))[1], KEY)
    counts = [int(np.prod(a.shape)) for a in jax.tree.leaves(shapes)]
    assert sum(counts) == ref.count_params() == 93_322
    assert sorted(tuple(a.shape) for a in jax.tree.leaves(shapes)) == sorted(
        tuple(w.shape) for w in ref.weights)
