"""Tests for fnnet.saving.architecture: JSON round trips of architectures, and refusing what
cannot be stored."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from fnnet import layers
from fnnet.combinators import (
    fan_in_concat,
    fan_in_sum,
    fan_out,
    parallel,
    residual,
    serial,
    shape_dependent,
)
from fnnet.core import Layer
from fnnet.initializers import RandomNormal
from fnnet.saving import architecture as serialization
from fnnet.saving.architecture import deserialize_layer, serialize_layer


def _json_round_trip(layer, custom_objects=None):
    text = json.dumps(serialize_layer(layer))
    return deserialize_layer(json.loads(text), custom_objects)


def _assert_same_layer(original, rebuilt, input_shape, x, *, training=False):
    """Same init (params, state, shapes) for the same key, and the same outputs for the same params."""
    key = jax.random.key(3)
    shape_a, params, state = original.init(key, input_shape)
    shape_b, params_b, state_b = rebuilt.init(key, input_shape)
    assert shape_a == shape_b
    assert jax.tree_util.tree_structure(params) == jax.tree_util.tree_structure(params_b)
    for a, b in zip(jax.tree_util.tree_leaves((params, state)),
                    jax.tree_util.tree_leaves((params_b, state_b)), strict=True):
        assert a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    rng = jax.random.key(5)
    y_a, s_a = original.apply(params, state, x, rng=rng, training=training)
    y_b, s_b = rebuilt.apply(params, state, x, rng=rng, training=training)
    for a, b in zip(jax.tree_util.tree_leaves((y_a, s_a)), jax.tree_util.tree_leaves((y_b, s_b)),
                    strict=True):
        np.testing.assert_array_equal(a, b)


X = jnp.arange(24.0).reshape(4, 6) / 10.0
# Tiny sequences, images and volumes (batch 4) for the convolution, pooling and reshaping layers.
SEQ = jnp.asarray(np.linspace(-1, 1, 4 * 5 * 2, dtype=np.float32).reshape(4, 5, 2))
IMG = jnp.asarray(np.linspace(-1, 1, 4 * 4 * 4 * 2, dtype=np.float32).reshape(4, 4, 4, 2))
VOL = jnp.asarray(np.linspace(-1, 1, 4 * 3 * 3 * 3, dtype=np.float32).reshape(4, 3, 3, 3, 1))

BUILTIN_CASES = {
    "Dense": (layers.Dense(3, activation="relu", input_shape=(6,), name="hidden"), (None, 6), X),
    "Dense (softmax, initializer dict, no bias)": (
        layers.Dense(5, activation="softmax", use_bias=False,
                     kernel_initializer=RandomNormal(stddev=0.1)), (None, 6), X),
    "Activation": (layers.Activation("tanh", input_shape=(6,)), (None, 6), X),
    "Flatten": (layers.Flatten(input_shape=(2, 3)), (None, 2, 3), X.reshape(4, 2, 3)),
    "Reshape": (layers.Reshape((3, -1)), (None, 6), X),
    "Dropout": (layers.Dropout(0.5, noise_shape=(None, 1)), (None, 6), X),
    "BatchNormalization": (layers.BatchNormalization(momentum=0.9, epsilon=1e-5, center=False,
                                                     gamma_initializer="random_uniform"),
                           (None, 6), X),
    "LayerNormalization": (layers.LayerNormalization(epsilon=1e-4, scale=False), (None, 6), X),
    "Identity": (layers.Identity(name="skip"), (None, 6), X),
    "Conv1D": (layers.Conv1D(3, 2, padding="causal", dilation_rate=2, kernel_regularizer="l2",
                             input_shape=(5, 2)), (None, 5, 2), SEQ),
    "Conv2D": (layers.Conv2D(4, (2, 3), strides=(1, 2), padding="same", groups=2,
                             activation="softmax", bias_constraint="non_neg", name="c2"),
               (None, 4, 4, 2), IMG),
    "Conv3D": (layers.Conv3D(2, 2, use_bias=False, kernel_initializer="he_normal"),
               (None, 3, 3, 3, 1), VOL),
    "DepthwiseConv1D": (layers.DepthwiseConv1D(2, depth_multiplier=2, depthwise_regularizer="l1",
                                               depthwise_constraint="max_norm"), (None, 5, 2), SEQ),
    "DepthwiseConv2D": (layers.DepthwiseConv2D((2, 2), strides=2, padding="same",
                                               activation="relu"), (None, 4, 4, 2), IMG),
    "SeparableConv1D": (layers.SeparableConv1D(3, 2, pointwise_regularizer="l2",
                                               depthwise_initializer="ones"), (None, 5, 2), SEQ),
    "SeparableConv2D": (layers.SeparableConv2D(3, 2, dilation_rate=2, depth_multiplier=2,
                                               dtype="mixed_bfloat16"), (None, 4, 4, 2), IMG),
    "Conv1DTranspose": (layers.Conv1DTranspose(2, 3, strides=2, output_padding=1), (None, 5, 2),
                        SEQ),
    "Conv2DTranspose": (layers.Conv2DTranspose(2, 3, strides=2, padding="same",
                                               activation="sigmoid"), (None, 4, 4, 2), IMG),
    "Conv3DTranspose": (layers.Conv3DTranspose(1, 2, strides=(1, 2, 1)), (None, 3, 3, 3, 1), VOL),
    "MaxPooling1D": (layers.MaxPooling1D(3, strides=1, padding="same"), (None, 5, 2), SEQ),
    "MaxPooling2D": (layers.MaxPooling2D((2, 2), input_shape=(4, 4, 2)), (None, 4, 4, 2), IMG),
    "MaxPooling3D": (layers.MaxPooling3D(padding="same"), (None, 3, 3, 3, 1), VOL),
    "AveragePooling1D": (layers.AveragePooling1D(2, padding="same"), (None, 5, 2), SEQ),
    "AveragePooling2D": (layers.AveragePooling2D(3, strides=1, padding="same"), (None, 4, 4, 2),
                         IMG),
    "AveragePooling3D": (layers.AveragePooling3D((1, 2, 2)), (None, 3, 3, 3, 1), VOL),
    "GlobalMaxPooling1D": (layers.GlobalMaxPooling1D(keepdims=True), (None, 5, 2), SEQ),
    "GlobalMaxPooling2D": (layers.GlobalMaxPooling2D(), (None, 4, 4, 2), IMG),
    "GlobalMaxPooling3D": (layers.GlobalMaxPooling3D(keepdims=True), (None, 3, 3, 3, 1), VOL),
    "GlobalAveragePooling1D": (layers.GlobalAveragePooling1D(name="gap"), (None, 5, 2), SEQ),
    "GlobalAveragePooling2D": (layers.GlobalAveragePooling2D(keepdims=True), (None, 4, 4, 2), IMG),
    "GlobalAveragePooling3D": (layers.GlobalAveragePooling3D(), (None, 3, 3, 3, 1), VOL),
    "ZeroPadding1D": (layers.ZeroPadding1D((1, 2)), (None, 5, 2), SEQ),
    "ZeroPadding2D": (layers.ZeroPadding2D(((1, 0), 2)), (None, 4, 4, 2), IMG),
    "ZeroPadding3D": (layers.ZeroPadding3D((0, 1, 2)), (None, 3, 3, 3, 1), VOL),
    "Cropping1D": (layers.Cropping1D((0, 2)), (None, 5, 2), SEQ),
    "Cropping2D": (layers.Cropping2D(((1, 0), (0, 1))), (None, 4, 4, 2), IMG),
    "Cropping3D": (layers.Cropping3D(((0, 1), 1, 0)), (None, 3, 3, 3, 1), VOL),
    "UpSampling1D": (layers.UpSampling1D(3), (None, 5, 2), SEQ),
    "UpSampling2D": (layers.UpSampling2D((1, 2), interpolation="bilinear"), (None, 4, 4, 2), IMG),
    "UpSampling3D": (layers.UpSampling3D((2, 1, 1)), (None, 3, 3, 3, 1), VOL),
    "Permute": (layers.Permute((2, 1), input_shape=(5, 2)), (None, 5, 2), SEQ),
    "RepeatVector": (layers.RepeatVector(3), (None, 6), X),
    # merging
    "Add": (layers.Add(name="add"), ((None, 6), (None, 6)), (X, X)),
    "Subtract": (layers.Subtract(), ((None, 6), (None, 6)), (X, X)),
    "Multiply": (layers.Multiply(), ((None, 6), (None, 1)), (X, X[:, :1])),
    "Average": (layers.Average(), ((None, 6),) * 3, (X, X, X)),
    "Maximum": (layers.Maximum(), ((None, 6), (None, 6)), (X, X)),
    "Minimum": (layers.Minimum(), ((None, 6), (None, 6)), (X, X)),
    "Concatenate": (layers.Concatenate(axis=1), ((None, 6), (None, 6)), (X, X)),
    "Dot": (layers.Dot(axes=(1, 1), normalize=True), ((None, 6), (None, 6)), (X, X)),
    # noise
    "SpatialDropout1D": (layers.SpatialDropout1D(0.3, seed=1), (None, 2, 3), X.reshape(4, 2, 3)),
    "SpatialDropout2D": (layers.SpatialDropout2D(0.3, data_format="channels_first"),
                         (None, 1, 2, 3), X.reshape(4, 1, 2, 3)),
    "SpatialDropout3D": (layers.SpatialDropout3D(0.3), (None, 1, 2, 3, 1), X.reshape(4, 1, 2, 3, 1)),
    "GaussianNoise": (layers.GaussianNoise(0.2, seed=3, input_shape=(6,)), (None, 6), X),
    "GaussianDropout": (layers.GaussianDropout(0.2), (None, 6), X),
    # preprocessing and augmentation
    "Rescaling": (layers.Rescaling([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], offset=0.5), (None, 6), X),
    "Normalization": (layers.Normalization(axis=None), (None, 6), X),
    "Normalization (given statistics)": (
        layers.Normalization(axis=(1, 2), mean=[[1.0, 2.0, 3.0]], variance=[[1.0, 4.0, 9.0]],
                             invert=True), (None, 2, 3), X.reshape(4, 2, 3)),
    "RandomFlip": (layers.RandomFlip("vertical", seed=1), (None, 2, 3, 1), X.reshape(4, 2, 3, 1)),
    "RandomTranslation": (layers.RandomTranslation((-0.2, 0.3), 0.1, fill_mode="constant",
                                                   fill_value=1.0), (None, 2, 3, 1),
                          X.reshape(4, 2, 3, 1)),
    "RandomRotation": (layers.RandomRotation(0.2, interpolation="nearest",
                                             data_format="channels_first"), (None, 1, 2, 3),
                       X.reshape(4, 1, 2, 3)),
    "RandomZoom": (layers.RandomZoom(0.2, (-0.1, 0.1), fill_mode="wrap"), (None, 2, 3, 1),
                   X.reshape(4, 2, 3, 1)),
    "RandomContrast": (layers.RandomContrast((0.1, 0.3), value_range=(0, 1)), (None, 2, 3, 1),
                       X.reshape(4, 2, 3, 1)),
    "Embedding": (layers.Embedding(10, 3, mask_zero=True, input_shape=(6,)), (None, 6), X * 10),
    "Masking": (layers.Masking(mask_value=0.5), (None, 2, 3), X.reshape(4, 2, 3)),
    "SimpleRNNCell": (layers.SimpleRNNCell(3, dropout=0.5), (None, 6),
                      (X, (jnp.ones((4, 3)),))),
    "LSTMCell": (layers.LSTMCell(2, recurrent_dropout=0.2, kernel_regularizer="l2"), (None, 6),
                 (X, (jnp.ones((4, 2)), jnp.zeros((4, 2))))),
    "GRUCell": (layers.GRUCell(2, reset_after=False, activation="relu"), (None, 6),
                (X, (jnp.ones((4, 2)),))),
    "RNN": (layers.RNN([layers.LSTMCell(2), layers.GRUCell(3)], return_state=True,
                       go_backwards=True), (None, 2, 3), X.reshape(4, 2, 3)),
    "SimpleRNN": (layers.SimpleRNN(2, return_sequences=True, input_shape=(2, 3)), (None, 2, 3),
                  X.reshape(4, 2, 3)),
    "LSTM": (layers.LSTM(2, dropout=0.3, unit_forget_bias=False,
                         recurrent_initializer="glorot_uniform"), (None, 2, 3),
             X.reshape(4, 2, 3)),
    "GRU": (layers.GRU(2, reset_after=False, return_state=True, use_cudnn=False), (None, 2, 3),
            X.reshape(4, 2, 3)),
    "Bidirectional": (layers.Bidirectional(
        layers.LSTM(2, return_sequences=True, kernel_regularizer="l1"), merge_mode="sum",
        backward_layer=layers.GRU(2, return_sequences=True, go_backwards=True)), (None, 2, 3),
        X.reshape(4, 2, 3)),
    "TimeDistributed": (layers.TimeDistributed(layers.Dense(2, activation="relu")), (None, 2, 3),
                        X.reshape(4, 2, 3)),
    "MultiHeadAttention": (layers.MultiHeadAttention(2, 3, value_dim=2, output_shape=4,
                                                     attention_axes=(1,), use_causal_mask=True),
                           (None, 2, 3), X.reshape(4, 2, 3)),
    "Attention": (layers.Attention(use_scale=True, score_mode="concat",
                                   return_attention_scores=True),
                  ((None, 2, 3), (None, 2, 3)), (X.reshape(4, 2, 3), X.reshape(4, 2, 3))),
    "AdditiveAttention": (layers.AdditiveAttention(use_causal_mask=True, dropout=0.5),
                          ((None, 2, 3), (None, 2, 3)), (X.reshape(4, 2, 3), X.reshape(4, 2, 3))),
}


def _config_view(value):
    """A config with child layers replaced by their serialized form: layers compare equal by
    their functions, and a rebuilt child has new ones."""
    if isinstance(value, Layer):
        return serialize_layer(value)
    if isinstance(value, (list, tuple)):
        return type(value)(_config_view(v) for v in value)
    if isinstance(value, dict):
        return {k: _config_view(v) for k, v in value.items()}
    return value


@pytest.mark.parametrize("case", sorted(BUILTIN_CASES))
def test_builtin_layers_round_trip_through_json(case):
    layer, input_shape, x = BUILTIN_CASES[case]
    rebuilt = _json_round_trip(layer)
    assert rebuilt.kind == layer.kind and rebuilt.name == layer.name
    # shape arguments come back as tuples
    assert _config_view(dict(rebuilt.config)) == _config_view(dict(layer.config))
    assert rebuilt.input_shape == layer.input_shape
    assert rebuilt.output_activation == layer.output_activation
    assert (rebuilt.logits is None) == (layer.logits is None)
    for training in (False, True):
        _assert_same_layer(layer, rebuilt, input_shape, x, training=training)


def test_every_exported_layer_has_a_round_trip_case():
    covered = {layer.kind for layer, _, _ in BUILTIN_CASES.values()}
    missing = sorted(set(layers.__all__) - covered)
    assert not missing, (
        f"fnnet.layers exports {missing} without a serialization round-trip case; add one to "
        f"BUILTIN_CASES in tests/test_serialization.py."
    )


def test_serialized_form_is_plain_json():
    spec = serialize_layer(layers.Dropout(0.25, noise_shape=(None, 1), input_shape=(6,)))
    assert spec == {"class_name": "Dropout", "name": None,
                    "config": {"rate": 0.25, "noise_shape": [None, 1], "input_shape": [6]}}
    assert json.loads(json.dumps(spec)) == spec


def test_nested_combinators_round_trip():
    model = serial(
        layers.Dense(8, activation="relu", input_shape=(6,)),
        layers.Dropout(0.3).named("drop"),
        layers.BatchNormalization(),
        fan_out(2),
        parallel(layers.Dense(4), serial(layers.Dense(4), layers.LayerNormalization())),
        fan_in_concat(axis=-1),
        residual(serial(layers.Dense(8), layers.Activation("gelu"))),
        fan_out(3),
        fan_in_sum(),
        layers.Dense(3, activation="softmax", name="out"),
    ).named("net")
    spec = serialize_layer(model)
    json.dumps(spec)
    rebuilt = deserialize_layer(json.loads(json.dumps(spec)))
    assert rebuilt.name == "net" and rebuilt.kind == "serial"
    children = rebuilt.config["layers"]
    assert [c.kind for c in children] == [c.kind for c in model.config["layers"]]
    assert children[1].name == "drop" and children[-1].name == "out"
    assert children[0].input_shape == (6,) and rebuilt.input_shape == (6,)
    # The stable-loss path survives: the rebuilt model still exposes its logits.
    assert rebuilt.output_activation == "softmax" and rebuilt.logits is not None
    for training in (False, True):
        _assert_same_layer(model, rebuilt, (None, 6), X, training=training)
    _assert_same_layer(model.logits, rebuilt.logits, (None, 6), X)


def test_an_empty_serial_round_trips():
    rebuilt = _json_round_trip(serial())
    assert rebuilt.kind == "serial" and rebuilt.config == {"layers": []}


# --- refusing what cannot be stored ---------------------------------------------------------------


def _custom_pair():
    def init(rng, input_shape):
        return input_shape, {"scale": jnp.ones(input_shape[-1])}, ()

    def apply(params, state, x, *, rng=None, training=False):
        return x * params["scale"], state

    return init, apply


def test_a_custom_layer_without_config_is_refused():
    with pytest.raises(ValueError, match=r"layer is a custom Layer\(init, apply\) named 'mine' "
                                         r"\(kind 'Layer'\) without a config.*custom_objects"):
        serialize_layer(Layer(*_custom_pair(), name="mine"))


def test_a_nested_custom_layer_is_named_by_its_path():
    with pytest.raises(ValueError, match=r"layer\.config\['layers'\]\[1\] is a custom "
                                         r"Layer\(init, apply\) \(kind 'Layer'\)"):
        serialize_layer(serial(layers.Dense(2), Layer(*_custom_pair())))


@pytest.mark.parametrize("kwargs, key", [
    ({"activation": lambda x: 2 * x}, "activation"),
    ({"kernel_initializer": jax.nn.initializers.zeros}, "kernel_initializer"),
])
def test_a_custom_function_in_a_config_is_refused(kwargs, key):
    dense = layers.Dense(2, name="d", **kwargs)
    with pytest.raises(ValueError, match=rf"config\['{key}'\] of the Dense layer 'd' is the custom "
                                         rf"function .* Use a built-in name instead"):
        serialize_layer(dense)


def test_shape_dependent_is_refused():
    with pytest.raises(ValueError, match=r"layer is a shape_dependent layer, which holds a Python "
                                         r"function"):
        serialize_layer(shape_dependent(lambda shape: layers.Dense(shape[-1])))


def test_a_non_layer_is_refused():
    with pytest.raises(TypeError, match=r"layer is \(1, 2\) of type tuple, not a fnnet\.Layer"):
        serialize_layer((1, 2))


def test_config_values_json_cannot_store_are_refused():
    odd = Layer(*_custom_pair(), kind="Odd", config={"table": {1: "a"}})
    with pytest.raises(TypeError, match=r"config\['table'\] of the Odd layer is a dict with the "
                                        r"non-str key 1"):
        serialize_layer(odd)
    odd = Layer(*_custom_pair(), kind="Odd", config={"weights": np.ones(2)})
    with pytest.raises(TypeError, match=r"config\['weights'\] of the Odd layer is array.* of type "
                                        r"ndarray, which JSON cannot store"):
        serialize_layer(odd)


def test_numpy_scalars_in_a_config_become_python_numbers():
    spec = serialize_layer(Layer(*_custom_pair(), kind="Odd", config={"rate": np.float32(0.5)}))
    assert spec["config"] == {"rate": 0.5} and type(spec["config"]["rate"]) is float


# --- deserialize: refusing garbage, explicit opt-in for custom layers ---------------------------


@pytest.mark.parametrize("garbage", [
    ["Dense", 3],
    "Dense",
    {"class_name": "Dense"},
    {"class_name": "Dense", "name": None, "config": {}, "module": "os"},
])
def test_garbage_is_refused(garbage):
    with pytest.raises(ValueError, match=r"layer must be a dict with the keys 'class_name', "
                                         r"'name' and 'config'"):
        deserialize_layer(garbage)


@pytest.mark.parametrize("bad", [
    {"class_name": 3, "name": None, "config": {}},
    {"class_name": "Dense", "name": None, "config": [3]},
    {"class_name": "Dense", "name": 7, "config": {"units": 3}},
])
def test_mistyped_fields_are_refused(bad):
    with pytest.raises(ValueError, match=r"layer must have a str 'class_name', a dict 'config' and "
                                         r"a str or null 'name'"):
        deserialize_layer(bad)


def test_an_unknown_class_is_refused_and_nothing_is_imported():
    spec = {"class_name": "os.system", "name": None, "config": {"command": "echo hi"}}
    with pytest.raises(ValueError, match=r"unknown class_name 'os\.system'\. Valid built-in names: "
                                         r"Activation, .*BatchNormalization, .*Dense, .*residual, "
                                         r"serial.*custom_objects=\{'os\.system': constructor\}"):
        deserialize_layer(spec)


def test_shape_dependent_cannot_be_loaded():
    with pytest.raises(ValueError, match=r"unknown class_name 'shape_dependent'\. shape_dependent "
                                         r"layers hold a Python function and are never stored"):
        deserialize_layer({"class_name": "shape_dependent", "name": None, "config": {}})


def test_a_nested_error_names_its_path():
    spec = serialize_layer(serial(layers.Dense(2), layers.Dense(3)))
    spec["config"]["layers"][1]["class_name"] = "Dense2"
    with pytest.raises(ValueError, match=r"layer\.config\['layers'\]\[1\] has the unknown "
                                         r"class_name 'Dense2'"):
        deserialize_layer(spec)


@pytest.mark.parametrize("config, reason", [
    ({"units": 0}, r"units must be a positive int"),
    ({"unit": 3}, r"unexpected keyword argument 'unit'"),
])
def test_a_config_the_constructor_rejects_is_refused(config, reason):
    with pytest.raises(ValueError, match=rf"layer: could not build Dense from the config .*{reason}"):
        deserialize_layer({"class_name": "Dense", "name": None, "config": config})


def MyScale(factor, input_shape=None):
    """A custom layer constructor, as a user would write one for custom_objects."""

    def init(rng, shape):
        return tuple(shape), {}, ()

    def apply(params, state, x, *, rng=None, training=False):
        return x * factor, state

    return Layer(init, apply, kind="MyScale", config={"factor": factor}, input_shape=input_shape)


def MyWrap(layer, times=2):
    """A custom combinator: applies ``layer`` ``times`` times (children come as keywords)."""
    inner = serial(*[layer] * times)
    return Layer(inner.init, inner.apply, kind="MyWrap", config={"layer": layer, "times": times})


def test_custom_layers_load_only_through_custom_objects():
    model = serial(layers.Dense(6), MyScale(3.0).named("scale"),
                   MyWrap(layers.Dense(6, activation="relu"), times=3))
    spec = json.loads(json.dumps(serialize_layer(model)))
    with pytest.raises(ValueError, match=r"unknown class_name 'MyScale'"):
        deserialize_layer(spec)
    rebuilt = deserialize_layer(spec, custom_objects={"MyScale": MyScale, "MyWrap": MyWrap})
    assert rebuilt.config["layers"][1].name == "scale"
    assert rebuilt.config["layers"][2].config["times"] == 3
    _assert_same_layer(model, rebuilt, (None, 6), X)


def test_custom_objects_take_precedence_over_builtins():
    calls = []

    def my_dense(**config):
        calls.append(config)
        return layers.Dense(**config)

    deserialize_layer(serialize_layer(layers.Dense(2)), custom_objects={"Dense": my_dense})
    assert calls and calls[0]["units"] == 2


@pytest.mark.parametrize("custom", [["MyScale"], {"MyScale": "not callable"}, {3: MyScale}])
def test_malformed_custom_objects_are_refused(custom):
    with pytest.raises(TypeError, match=r"custom_objects must be a dict \{class_name: constructor\}"):
        deserialize_layer(serialize_layer(layers.Dense(2)), custom_objects=custom)


def test_a_constructor_that_returns_no_layer_is_refused():
    spec = {"class_name": "Thing", "name": None, "config": {}}
    with pytest.raises(TypeError, match=r"the constructor for 'Thing' returned dict, not a "
                                        r"fnnet\.Layer"):
        deserialize_layer(spec, custom_objects={"Thing": dict})


def test_builtin_names_lists_layers_and_combinators():
    names = serialization.builtin_names()
    assert set(layers.__all__) <= set(names)
    assert {"serial", "parallel", "fan_out", "fan_in_sum", "fan_in_concat", "residual"} <= set(names)
    assert "shape_dependent" not in names
