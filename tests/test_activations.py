"""Tests for fnnet.activations: values against independent numpy formulas, lookup, errors."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from fnnet import activations

X = np.linspace(-6.0, 6.0, 49, dtype=np.float32)
_erf = np.vectorize(math.erf)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _softplus(x):
    return np.log1p(np.exp(x))


def _hard_sigmoid(x):
    return np.clip(x + 3, 0, 6) / 6


SELU_ALPHA, SELU_SCALE = 1.6732632423543772, 1.0507009873554805  # Keras's constants

REFERENCE = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0),
    "relu6": lambda x: np.clip(x, 0, 6),
    "sigmoid": _sigmoid,
    "hard_sigmoid": _hard_sigmoid,
    "tanh": np.tanh,
    "gelu": lambda x: 0.5 * x * (1 + _erf(x / np.sqrt(2))),
    "elu": lambda x: np.where(x > 0, x, np.expm1(x)),
    "selu": lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(x)),
    "softplus": _softplus,
    "softsign": lambda x: x / (1 + np.abs(x)),
    "silu": lambda x: x * _sigmoid(x),
    "swish": lambda x: x * _sigmoid(x),
    "hard_silu": lambda x: x * _hard_sigmoid(x),
    "hard_swish": lambda x: x * _hard_sigmoid(x),
    "leaky_relu": lambda x: np.where(x >= 0, x, 0.2 * x),
    "exponential": np.exp,
    "mish": lambda x: x * np.tanh(_softplus(x)),
}


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_elementwise_values_match_keras_formula(name):
    fn = activations.get(name)
    x64 = X.astype(np.float64)
    np.testing.assert_allclose(fn(jnp.asarray(X)), REFERENCE[name](x64), rtol=2e-6, atol=2e-6)


def test_softmax_and_log_softmax_use_last_axis():
    x = np.random.default_rng(0).normal(size=(3, 5)).astype(np.float32)
    e = np.exp(x - x.max(-1, keepdims=True))
    want = e / e.sum(-1, keepdims=True)
    np.testing.assert_allclose(activations.softmax(jnp.asarray(x)), want, rtol=1e-6)
    np.testing.assert_allclose(activations.log_softmax(jnp.asarray(x)), np.log(want),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(activations.softmax(jnp.array([[0.0, 1000.0]])), [[0.0, 1.0]])


@pytest.mark.parametrize("name", sorted(REFERENCE) + ["softmax", "log_softmax"])
def test_shape_dtype_and_jit(name):
    fn = activations.get(name)
    x = jnp.asarray(X.reshape(7, 7))
    y = fn(x)
    assert y.shape == x.shape and y.dtype == jnp.float32
    np.testing.assert_allclose(jax.jit(fn)(x), y, rtol=1e-6, atol=1e-7)


def test_get_lookup_rules():
    assert activations.get(None) is activations.linear
    assert activations.get("linear") is activations.linear
    assert activations.get("RELU") is activations.relu
    assert activations.get("swish") is activations.silu
    assert activations.get("hard_swish") is activations.hard_silu
    custom = lambda x: 2 * x
    assert activations.get(custom) is custom
    assert activations.get(jax.nn.relu) is jax.nn.relu


@pytest.mark.parametrize("name", sorted(REFERENCE) + ["softmax", "log_softmax"])
def test_serialize_round_trip(name):
    fn = activations.get(name)
    serialized = activations.serialize(fn)
    assert isinstance(serialized, str)
    assert activations.get(serialized) is fn


def test_serialize_canonical_names_and_custom():
    assert activations.serialize(activations.swish) == "silu"
    assert activations.serialize(activations.hard_swish) == "hard_silu"
    assert activations.serialize(None) == "linear"
    assert activations.serialize(jax.nn.relu) is None
    assert activations.serialize(lambda x: x) is None


def test_unknown_name_suggests_closest():
    with pytest.raises(ValueError, match=r"Unknown activation 'rellu' for activation; did you "
                                         r"mean 'relu'\?.*'sigmoid'"):
        activations.get("rellu")


def test_bad_type():
    with pytest.raises(TypeError, match=r"activation must be a name such as 'relu'.*got 3 of "
                                        r"type int"):
        activations.get(3)
