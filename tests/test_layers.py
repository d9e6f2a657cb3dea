"""Tests for fnnet.layers: one conformance harness every layer goes through, numpy references.

The harness (``CASES``) checks the layer protocol on every core and normalization layer and on
the combinators built from them: init's shape equals apply's, init runs under ``eval_shape``,
jit equals eager, float64 gradients match finite differences, state keeps its structure,
randomness is deterministic per key, per-example gradients under ``vmap`` and ``lax.scan``.
"""

from __future__ import annotations

import functools
import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jax.test_util import check_grads

import fnnet
from fnnet import fan_in_concat, fan_in_sum, fan_out, parallel, residual, serial, shape_dependent
from fnnet.layers import (
    Activation,
    BatchNormalization,
    Dense,
    Dropout,
    Flatten,
    Identity,
    LayerNormalization,
    Reshape,
)

KEY = jax.random.key(0)
BATCH = 4


# ---------------------------------------------------------------------------------------------
# Helpers for layers whose inputs/outputs are pytrees (tuples of arrays from fan_out/parallel).


def _is_shape(s: Any) -> bool:
    return isinstance(s, tuple) and all(d is None or isinstance(d, int) for d in s)


def _map_shapes(fn, shapes):
    return jax.tree.map(fn, shapes, is_leaf=_is_shape)


def _shapes_of(tree):
    return jax.tree.map(lambda a: tuple(a.shape), tree)


def _random_input(shapes, seed=0):
    # numpy, not jax.random: eager jax ops compile once per new shape, which adds up.
    rng = np.random.default_rng(seed)
    return _map_shapes(lambda s: jnp.asarray(rng.normal(size=s), jnp.float32), shapes)


def _np_tree(tree):
    return jax.tree.map(np.asarray, tree)


def _to64(tree):
    return jax.tree.map(lambda a: jnp.asarray(a, jnp.float64), tree)


def _scalar_loss(y, target):
    """A smooth scalar of a pytree output, non-trivial in every element."""
    terms = [jnp.sum(jnp.sin(a) * t)
             for a, t in zip(jax.tree.leaves(y), jax.tree.leaves(target), strict=True)]
    return functools.reduce(jnp.add, terms)


def _assert_trees_close(a, b, rtol=1e-5, atol=1e-6):
    assert jax.tree.structure(a) == jax.tree.structure(b)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=rtol, atol=atol)


# ---------------------------------------------------------------------------------------------
# The conformance harness.


class Case(NamedTuple):
    id: str
    make: Any  # () -> Layer
    shape: Any  # input shape (tree) with the batch dim
    stochastic: bool = False


def _dense_drop_dense():
    return serial(Dense(5, activation="relu"), Dropout(0.5), Dense(2))


CASES = [
    Case("dense_relu", lambda: Dense(3, activation="relu"), (BATCH, 5)),
    Case("dense_tanh_nobias", lambda: Dense(3, activation="tanh", use_bias=False), (BATCH, 5)),
    Case("dense_softmax", lambda: Dense(4, activation="softmax"), (BATCH, 5)),
    Case("dense_3d_input", lambda: Dense(3, activation="gelu"), (BATCH, 2, 5)),
    Case("activation_relu", lambda: Activation("relu"), (BATCH, 5)),
    Case("activation_sigmoid", lambda: Activation("sigmoid"), (BATCH, 5)),
    Case("activation_softmax", lambda: Activation("softmax"), (BATCH, 5)),
    Case("flatten_3d", lambda: Flatten(), (BATCH, 2, 3)),
    Case("reshape", lambda: Reshape((3, -1)), (BATCH, 6)),
    Case("identity", lambda: Identity(), (BATCH, 5)),
    Case("dropout", lambda: Dropout(0.5), (BATCH, 6), stochastic=True),
    Case("batchnorm", lambda: BatchNormalization(), (BATCH, 3)),
    Case("batchnorm_axis1_3d", lambda: BatchNormalization(axis=1), (BATCH, 3, 2)),
    Case("layernorm", lambda: LayerNormalization(), (BATCH, 5)),
    Case("serial_dense_dropout_dense", _dense_drop_dense, (BATCH, 4), stochastic=True),
    Case(
        "fan_out_parallel",
        lambda: serial(fan_out(2), parallel(Dense(3), Dense(2, activation="tanh"))),
        (BATCH, 4),
    ),
    Case("parallel_tuple_input", lambda: parallel(Dense(3), LayerNormalization()),
         ((BATCH, 4), (BATCH, 2))),
    Case(
        "fan_in_sum",
        lambda: serial(fan_out(2), parallel(Dense(3), Dense(3, activation="relu")), fan_in_sum()),
        (BATCH, 4),
    ),
    Case(
        "fan_in_concat",
        lambda: serial(fan_out(2), parallel(Dense(3), Identity()), fan_in_concat()),
        (BATCH, 4),
    ),
    Case("residual_dense", lambda: residual(Dense(4, activation="tanh")), (BATCH, 4)),
    Case("shape_dependent", lambda: shape_dependent(lambda s: Dense(s[-1] * 2)), (BATCH, 3)),
    Case(
        "nested_serial",
        lambda: serial(
            serial(Dense(4), BatchNormalization(), Activation("relu")),
            serial(residual(serial(Dense(4), LayerNormalization())), Flatten()),
            Dense(2, activation="softmax"),
        ),
        (BATCH, 3),
    ),
]
IDS = [c.id for c in CASES]


# Eager op-by-op execution compiles every primitive for every new shape, and each jax.jit of a
# fresh function compiles again; so each case is built, run eagerly and jitted once, and shared.
RNG = jax.random.key(2)


@functools.cache
def _build(case: Case):
    layer = case.make()
    out_shape, params, state = layer.init(KEY, case.shape)
    x = _random_input(case.shape, seed=1)
    return layer, out_shape, params, state, x


def _rng_for(training):
    return RNG if training else None  # inference needs no rng


@functools.cache
def _eager(case: Case, training: bool):
    layer, _, params, state, x = _build(case)
    return layer.apply(params, state, x, rng=_rng_for(training), training=training)


@functools.cache
def _jitted(case: Case, training: bool):
    return jax.jit(functools.partial(_build(case)[0].apply, training=training))


def _target(case: Case):
    return jax.tree.map(jnp.cos, _eager(case, False)[0])


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("training", [False, True])
def test_init_shape_equals_apply_shape(case, training):
    layer, out_shape, params, state, _ = _build(case)
    y, _ = _eager(case, training)
    assert _shapes_of(y) == out_shape
    # With an unknown batch dim, init predicts None there and the rest is unchanged.
    none_shape = _map_shapes(lambda s: (None, *s[1:]), case.shape)
    out_none, params_none, state_none = layer.init(KEY, none_shape)
    assert out_none == _map_shapes(lambda s: (None, *s[1:]), out_shape)
    assert _shapes_of((params_none, state_none)) == _shapes_of((params, state))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_init_runs_under_eval_shape(case):
    layer, out_shape, params, state, _ = _build(case)
    traced_out = []

    def init_arrays(key):
        shape, p, s = layer.init(key, case.shape)
        traced_out.append(shape)
        return p, s

    abstract = jax.eval_shape(init_arrays, KEY)
    assert traced_out == [out_shape]
    assert jax.tree.structure(abstract) == jax.tree.structure((params, state))
    for a, c in zip(jax.tree.leaves(abstract), jax.tree.leaves((params, state)), strict=True):
        assert (a.shape, a.dtype) == (c.shape, c.dtype)


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("training", [False, True])
def test_jit_equals_eager(case, training):
    _, _, params, state, x = _build(case)
    jitted = _jitted(case, training)(params, state, x, rng=_rng_for(training))
    _assert_trees_close(jitted, _eager(case, training))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_gradients_match_finite_differences_in_float64(case):
    layer, _, params, state, x = _build(case)
    rng = jax.random.key(4)  # fixed: Dropout's mask is a constant of the function
    # Training and inference differ only for layers with state (BatchNorm's batch statistics)
    # or randomness; the fixed-rng training pass covers Dropout's.
    modes = (True, False) if jax.tree.leaves(state) else (True,)
    with jax.enable_x64(True):
        p64, s64, x64, t64 = _to64((params, state, x, _target(case)))

        def loss(p, inputs, training):
            y, _ = layer.apply(p, s64, inputs, rng=rng, training=training)
            assert all(a.dtype == jnp.float64 for a in jax.tree.leaves(y))
            return _scalar_loss(y, t64)

        for training in modes:
            # jit: one compilation instead of one per eager float64 op.
            check_grads(jax.jit(functools.partial(loss, training=training)), (p64, x64),
                        order=1, modes=("rev",))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_state_keeps_its_structure(case):
    state = _build(case)[3]
    for training in (False, True):
        new_state = _eager(case, training)[1]
        assert jax.tree.structure(new_state) == jax.tree.structure(state)
        for new, old in zip(jax.tree.leaves(new_state), jax.tree.leaves(state), strict=True):
            assert (new.shape, new.dtype) == (old.shape, old.dtype)
        if not training:  # inference never changes state
            _assert_trees_close(new_state, state, rtol=0, atol=0)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_randomness_is_deterministic_per_key(case):
    layer, _, params, state, x = _build(case)
    apply = _jitted(case, True)

    def run(seed):
        return apply(params, state, x, rng=jax.random.key(seed))[0]

    _assert_trees_close(run(7), run(7), rtol=0, atol=0)
    differs = any(
        not np.array_equal(a, b)
        for a, b in zip(jax.tree.leaves(run(7)), jax.tree.leaves(run(8)), strict=True)
    )
    # Stochastic layers differ across keys; deterministic ones ignore the key entirely.
    assert differs == case.stochastic
    # Inference ignores any rng it is given.
    _assert_trees_close(layer.apply(params, state, x, rng=jax.random.key(9))[0],
                        _eager(case, False)[0], rtol=0, atol=0)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_vmap_per_example_gradients(case):
    layer, _, params, state, x = _build(case)

    def loss(p, xi, ti):  # xi: one example as a batch of one
        y, _ = layer.apply(p, state, xi, training=False)
        return _scalar_loss(y, ti)

    grad_fn = jax.grad(loss, argnums=(0, 1))
    # Reshaping and slicing in numpy keeps eager jax ops (one compilation each) out of the test.
    x_np, target_np = _np_tree(x), _np_tree(_target(case))
    as_batches_of_one = functools.partial(
        jax.tree.map, lambda a: a.reshape((a.shape[0], 1, *a.shape[1:])))
    per_example = _np_tree(jax.jit(jax.vmap(grad_fn, in_axes=(None, 0, 0)))(
        params, as_batches_of_one(x_np), as_batches_of_one(target_np)))
    assert all(np.all(np.isfinite(g)) for g in jax.tree.leaves(per_example))
    grad_fn = jax.jit(grad_fn)
    for i in range(BATCH):
        one = functools.partial(jax.tree.map, lambda a, i=i: a[i:i + 1])
        expected = grad_fn(params, one(x_np), one(target_np))
        _assert_trees_close(jax.tree.map(lambda a, i=i: a[i], per_example), expected)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_works_inside_lax_scan(case):
    layer, _, params, state, _ = _build(case)
    steps = 3
    xs = _np_tree(_random_input(_map_shapes(lambda s: (steps, *s), case.shape), seed=6))
    keys = jax.random.split(jax.random.key(7), steps)

    def body(s, inputs):
        xi, key = inputs
        y, s = layer.apply(params, s, xi, rng=key, training=True)
        return s, y

    final_state, ys = jax.lax.scan(body, state, (xs, keys))
    ys = _np_tree(ys)
    apply = _jitted(case, True)
    key_list = list(keys)  # one unstack, rather than one compiled slice per index
    s = state
    for i in range(steps):
        y, s = apply(params, s, jax.tree.map(lambda a, i=i: a[i], xs), rng=key_list[i])
        _assert_trees_close(jax.tree.map(lambda a, i=i: a[i], ys), y)
    _assert_trees_close(final_state, s)


# ---------------------------------------------------------------------------------------------
# Reference values from numpy formulas.


def _np_softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


NP_ACTIVATIONS = {
    None: lambda z: z,
    "relu": lambda z: np.maximum(z, 0),
    "tanh": np.tanh,
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
    "softmax": _np_softmax,
}


@pytest.mark.parametrize("activation", list(NP_ACTIVATIONS))
@pytest.mark.parametrize("use_bias", [True, False])
@pytest.mark.parametrize("in_shape", [(6, 5), (2, 3, 5)])
def test_dense_matches_numpy(activation, use_bias, in_shape):
    layer = Dense(4, activation=activation, use_bias=use_bias, bias_initializer="ones")
    out_shape, params, state = layer.init(KEY, in_shape)
    assert out_shape == (*in_shape[:-1], 4)
    assert params["kernel"].shape == (5, 4) and params["kernel"].dtype == jnp.float32
    assert sorted(params) == (["bias", "kernel"] if use_bias else ["kernel"])
    assert state == ()
    x = np.random.default_rng(0).normal(size=in_shape).astype(np.float32)
    y, new_state = layer.apply(params, state, jnp.asarray(x))
    z = x @ np.asarray(params["kernel"])
    if use_bias:
        z = z + np.asarray(params["bias"])
        np.testing.assert_array_equal(params["bias"], np.ones(4, np.float32))
    np.testing.assert_allclose(y, NP_ACTIVATIONS[activation](z), rtol=1e-5, atol=1e-6)
    assert new_state == ()


def test_dense_casts_integer_inputs_to_the_kernel_dtype():
    layer = Dense(2)
    _, params, state = layer.init(KEY, (None, 3))
    y, _ = layer.apply(params, state, jnp.arange(6, dtype=jnp.int32).reshape(2, 3))
    assert y.dtype == jnp.float32
    np.testing.assert_allclose(
        y, np.arange(6.0).reshape(2, 3) @ np.asarray(params["kernel"]), rtol=1e-6)


@pytest.mark.parametrize("name", ["relu", "tanh", "sigmoid", "softmax"])
def test_activation_layer_matches_numpy(name):
    layer = Activation(name)
    shape, params, state = layer.init(KEY, (None, 5))
    assert (shape, params, state) == ((None, 5), (), ())
    x = np.random.default_rng(1).normal(size=(3, 5)).astype(np.float32)
    y, _ = layer.apply(params, state, jnp.asarray(x))
    np.testing.assert_allclose(y, NP_ACTIVATIONS[name](x), rtol=1e-5, atol=1e-7)


def _np_batchnorm(x, gamma, beta, mean, var, eps, axis):
    shape = [1] * x.ndim
    shape[axis] = -1
    r = lambda v: np.reshape(v, shape)  # noqa: E731
    return r(gamma) * (x - r(mean)) / np.sqrt(r(var) + eps) + r(beta)


@pytest.mark.parametrize("in_shape, axis", [((8, 3), -1), ((5, 3, 4), 1), ((5, 2, 3), -1)])
def test_batchnorm_training_inference_and_moving_statistics_match_numpy(in_shape, axis):
    momentum, eps = 0.9, 1e-3
    layer = BatchNormalization(axis=axis, momentum=momentum, epsilon=eps)
    _, params, state = layer.init(KEY, in_shape)
    features = in_shape[axis]
    rng = np.random.default_rng(2)
    params = {"gamma": jnp.asarray(rng.uniform(0.5, 2, features), jnp.float32),
              "beta": jnp.asarray(rng.normal(size=features), jnp.float32)}
    np.testing.assert_array_equal(state["moving_mean"], np.zeros(features))
    np.testing.assert_array_equal(state["moving_variance"], np.ones(features))
    x = (rng.normal(size=in_shape) * 3 + 1).astype(np.float32)
    reduce = tuple(i for i in range(len(in_shape)) if i != axis % len(in_shape))
    batch_mean, batch_var = x.mean(reduce), x.var(reduce)  # biased variance, as Keras

    y, new_state = layer.apply(params, state, jnp.asarray(x), training=True)
    g, b = np.asarray(params["gamma"]), np.asarray(params["beta"])
    np.testing.assert_allclose(y, _np_batchnorm(x, g, b, batch_mean, batch_var, eps, axis),
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(new_state["moving_mean"], (1 - momentum) * batch_mean,
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(new_state["moving_variance"],
                               momentum * 1.0 + (1 - momentum) * batch_var, rtol=1e-5)

    # Inference uses the moving statistics and leaves them unchanged.
    y_inf, same_state = layer.apply(params, new_state, jnp.asarray(x), training=False)
    mm, mv = np.asarray(new_state["moving_mean"]), np.asarray(new_state["moving_variance"])
    np.testing.assert_allclose(y_inf, _np_batchnorm(x, g, b, mm, mv, eps, axis), rtol=1e-4,
                               atol=1e-5)
    _assert_trees_close(same_state, new_state, rtol=0, atol=0)


def test_batchnorm_without_center_and_scale_has_no_params():
    layer = BatchNormalization(center=False, scale=False)
    _, params, state = layer.init(KEY, (None, 2))
    assert params == {} and sorted(state) == ["moving_mean", "moving_variance"]
    x = np.array([[1.0, 2.0], [3.0, 6.0]], np.float32)
    y, _ = layer.apply(params, state, jnp.asarray(x), training=True)
    np.testing.assert_allclose(y, (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-3), rtol=1e-5)


def test_batchnorm_keeps_low_precision_inputs_dtype_and_float32_state():
    layer = BatchNormalization()
    _, params, state = layer.init(KEY, (None, 3))
    x = jnp.arange(12, dtype=jnp.bfloat16).reshape(4, 3)
    y, new_state = layer.apply(params, state, x, training=True)
    assert y.dtype == jnp.bfloat16
    assert all(v.dtype == jnp.float32 for v in new_state.values())


@pytest.mark.parametrize("make", [BatchNormalization, LayerNormalization])
def test_normalization_of_float64_inputs_keeps_float32_params_and_state(make):
    layer = make()
    _, params, state = layer.init(KEY, (None, 3))
    x = np.random.default_rng(4).normal(size=(5, 3))
    with jax.enable_x64(True):
        for training in (True, False):
            y, new_state = layer.apply(params, state, jnp.asarray(x, jnp.float64),
                                       training=training)
            assert y.dtype == jnp.float64
            assert all(v.dtype == jnp.float32 for v in jax.tree.leaves(new_state))
            if make is LayerNormalization:
                mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
            elif training:
                mean, var = x.mean(0), x.var(0)
            else:  # the initial moving statistics
                mean, var = 0.0, 1.0
            np.testing.assert_allclose(y, (x - mean) / np.sqrt(var + 1e-3), rtol=1e-6)


@pytest.mark.parametrize("in_shape, axis", [((4, 6), -1), ((3, 4, 5), 1)])
def test_layernorm_matches_numpy(in_shape, axis):
    layer = LayerNormalization(axis=axis, epsilon=1e-3)
    _, params, state = layer.init(KEY, in_shape)
    rng = np.random.default_rng(3)
    features = in_shape[axis]
    params = {"gamma": jnp.asarray(rng.uniform(0.5, 2, features), jnp.float32),
              "beta": jnp.asarray(rng.normal(size=features), jnp.float32)}
    x = (rng.normal(size=in_shape) * 2 - 1).astype(np.float32)
    mean, var = x.mean(axis, keepdims=True), x.var(axis, keepdims=True)
    shape = [1] * x.ndim
    shape[axis] = -1
    expected = ((x - mean) / np.sqrt(var + 1e-3) * np.reshape(params["gamma"], shape)
                + np.reshape(params["beta"], shape))
    for training in (False, True):
        y, new_state = layer.apply(params, state, jnp.asarray(x), training=training)
        np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-5)
        assert new_state == ()


@pytest.mark.parametrize("rate", [0.5, 0.2])
def test_dropout_statistics(rate):
    x = jnp.ones((1000, 1000), jnp.float32)
    y, state = Dropout(rate).apply((), (), x, rng=jax.random.key(11), training=True)
    y = np.asarray(y)
    assert state == ()
    assert abs(np.mean(y == 0) - rate) < 0.01
    survivors = y[y != 0]
    np.testing.assert_allclose(survivors, 1 / (1 - rate), rtol=1e-6)
    # The inverted scaling keeps the expected value.
    assert abs(y.mean() - 1.0) < 0.01


def test_dropout_is_identity_at_inference_and_at_rate_zero():
    x = jax.random.normal(KEY, (3, 4))
    y, _ = Dropout(0.5).apply((), (), x, training=False)
    np.testing.assert_array_equal(y, x)
    y, _ = Dropout(0.5).apply((), (), x, rng=KEY)  # training defaults to False
    np.testing.assert_array_equal(y, x)
    y, _ = Dropout(0.0).apply((), (), x, training=True)  # nothing dropped: no rng needed
    np.testing.assert_array_equal(y, x)


def test_dropout_noise_shape_drops_whole_features():
    x = jnp.ones((200, 5, 8))
    y, _ = Dropout(0.5, noise_shape=(None, 1, None)).apply((), (), x, rng=KEY, training=True)
    y = np.asarray(y)
    assert np.all(y == y[:, :1, :])  # one mask per (example, feature), shared over axis 1
    assert 0.4 < np.mean(y == 0) < 0.6


def test_dropout_training_without_rng_shows_the_call_to_make():
    with pytest.raises(
        ValueError,
        match=r"Dropout\(rate=0\.5\) needs an rng when training=True\. Call "
              r"apply\(params, state, x, rng=jax\.random\.key\(0\), training=True\)",
    ):
        Dropout(0.5).apply((), (), jnp.ones(3), training=True)


def test_flatten_and_reshape_values():
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    y, _ = Flatten().apply((), (), jnp.asarray(x))
    np.testing.assert_array_equal(y, x.reshape(2, 12))
    assert Flatten().init(KEY, (None, 3, 4))[0] == (None, 12)
    assert Flatten().init(KEY, (2, None, 4))[0] == (2, None)
    # Keras: a rank-1 input (batch,) becomes (batch, 1).
    assert Flatten().init(KEY, (5,))[0] == (5, 1)
    np.testing.assert_array_equal(Flatten().apply((), (), jnp.arange(5.0))[0],
                                  np.arange(5.0).reshape(5, 1))

    y, _ = Reshape((4, 3)).apply((), (), jnp.asarray(x))
    np.testing.assert_array_equal(y, x.reshape(2, 4, 3))
    y, _ = Reshape((-1, 2)).apply((), (), jnp.asarray(x))
    np.testing.assert_array_equal(y, x.reshape(2, 6, 2))
    assert Reshape((-1, 2)).init(KEY, (None, 3, 4))[0] == (None, 6, 2)
    # An unknown input size leaves the inferred dim unknown (None, never -1).
    assert Reshape((-1, 2)).init(KEY, (None, None))[0] == (None, None, 2)
    assert serial(Reshape((-1, 2)), Flatten()).init(KEY, (None, None))[0] == (None, None)


def test_identity_returns_its_input():
    x = jnp.arange(6.0).reshape(2, 3)
    shape, params, state = Identity().init(KEY, (2, 3))
    assert (shape, params, state) == ((2, 3), (), ())
    y, _ = Identity().apply(params, state, x)
    np.testing.assert_array_equal(y, x)


# ---------------------------------------------------------------------------------------------
# Every raise in fnnet/layers/*.py, matched by its message.

LAYER_ERRORS = [
    ("dense_units_zero", lambda: Dense(0), ValueError,
     r"Dense: units must be a positive int; got 0\. For example Dense\(512\)"),
    ("dense_units_float", lambda: Dense(2.5), ValueError, r"units must be a positive int; got 2\.5"),
    ("dense_units_bool", lambda: Dense(True), ValueError, r"units must be a positive int; got True"),
    ("dense_bad_input_shape", lambda: Dense(3, input_shape=(0,)), ValueError,
     r"Dense: input_shape must be a tuple of positive ints without the batch dim; got \(0,\)"),
    ("dropout_bad_input_shape", lambda: Dropout(0.1, input_shape="abc"), ValueError,
     r"Dropout: input_shape must be a tuple of positive ints"),
    ("dense_declared_mismatch", lambda: Dense(3, input_shape=(4,)).init(KEY, (None, 5)),
     ValueError,
     r"Dense\(3\) was declared with input_shape=\(4,\) \(per example\) but init received "
     r"\(None, 5\) \(with the batch dim\)\. Pass inputs of shape \(batch, 4\)"),
    ("flatten_declared_mismatch", lambda: Flatten(input_shape=(2, 3)).init(KEY, (None, 6)),
     ValueError, r"Flatten was declared with input_shape=\(2, 3\)"),
    ("dropout_declared_mismatch", lambda: Dropout(0.1, input_shape=3).init(KEY, (None, 4)),
     ValueError, r"Dropout was declared with input_shape=\(3,\)"),
    ("batchnorm_declared_mismatch",
     lambda: BatchNormalization(input_shape=(3,)).init(KEY, (None, 4)), ValueError,
     r"BatchNormalization was declared with input_shape=\(3,\)"),
    ("layernorm_declared_mismatch",
     lambda: LayerNormalization(input_shape=(3,)).init(KEY, (None, 4)), ValueError,
     r"LayerNormalization was declared with input_shape=\(3,\)"),
    ("dense_unknown_last_dim", lambda: Dense(3).init(KEY, (None, None)), ValueError,
     r"Dense\(3\): init takes the input shape with the batch dim.*got \(None, None\)"),
    ("dense_scalar_input_shape", lambda: Dense(3).init(KEY, ()), ValueError,
     r"Dense\(3\): init takes the input shape with the batch dim.*got \(\)"),
    ("dense_no_batch_dim", lambda: Dense(3).init(KEY, (4,)), ValueError,
     r"Dense\(3\): init takes the input shape with the batch dim.*got \(4,\)"),
    ("dense_zero_width", lambda: Dense(3).init(KEY, (None, 0)), ValueError,
     r"features >= 1; got \(None, 0\)"),
    ("reshape_zero_dim", lambda: Reshape((0, 2)), ValueError,
     r"Reshape: target_shape must be a tuple of positive ints \(at most one -1\).*got \(0, 2\)"),
    ("reshape_two_unknowns", lambda: Reshape((-1, -1)), ValueError,
     r"at most one -1\), without the batch dim; got \(-1, -1\)"),
    ("reshape_not_a_tuple", lambda: Reshape(12), ValueError, r"target_shape .* got 12\."),
    ("reshape_size_mismatch", lambda: Reshape((3,)).init(KEY, (None, 4)), ValueError,
     r"Reshape\(\(3,\)\): cannot reshape examples of shape \(4,\) \(4 values\) to \(3,\) "
     r"\(3 values\)"),
    ("reshape_inferred_mismatch", lambda: Reshape((-1, 3)).init(KEY, (None, 2, 2)), ValueError,
     r"cannot reshape examples of shape \(2, 2\) \(4 values\) to \(-1, 3\)"),
    ("dropout_rate_one", lambda: Dropout(1.0), ValueError,
     r"Dropout: rate is the probability of dropping and must be in \[0, 1\); got 1\.0"),
    ("dropout_rate_negative", lambda: Dropout(-0.1), ValueError, r"must be in \[0, 1\); got -0\.1"),
    ("dropout_rate_string", lambda: Dropout("0.5"), ValueError, r"got '0\.5'"),
    ("dropout_rate_bool", lambda: Dropout(True), ValueError, r"got True"),
    ("batchnorm_momentum", lambda: BatchNormalization(momentum=1.5), ValueError,
     r"BatchNormalization: momentum must be a number in \[0\.0, 1\.0\]; got 1\.5"),
    ("batchnorm_epsilon", lambda: BatchNormalization(epsilon=-1e-3), ValueError,
     r"BatchNormalization: epsilon must be a number in \[0\.0, inf\]; got -0\.001"),
    ("layernorm_epsilon", lambda: LayerNormalization(epsilon="small"), ValueError,
     r"LayerNormalization: epsilon must be a number .* got 'small'"),
    ("batchnorm_batch_axis", lambda: BatchNormalization(axis=0).init(KEY, (None, 3)), ValueError,
     r"BatchNormalization\(axis=0\): the axis must be a feature axis of the input, not the batch "
     r"axis; the input shape is \(None, 3\)"),
    ("layernorm_axis_out_of_range", lambda: LayerNormalization(axis=2).init(KEY, (None, 3)),
     ValueError, r"LayerNormalization\(axis=2\): the axis must be a feature axis"),
    ("batchnorm_unknown_axis_size", lambda: BatchNormalization().init(KEY, (None, None)),
     ValueError, r"BatchNormalization\(axis=-1\): the size of that axis must be known; got input "
                 r"shape \(None, None\)"),
]


@pytest.mark.parametrize("make, error, match", [e[1:] for e in LAYER_ERRORS],
                         ids=[e[0] for e in LAYER_ERRORS])
def test_layer_errors(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_dense_apply_with_wrong_width_names_both_widths():
    layer = Dense(3)
    _, params, state = layer.init(KEY, (None, 4))
    with pytest.raises(
        ValueError,
        match=r"Dense\(3\): expected inputs whose last dim is 4, got an input of shape \(2, 5\)\. "
              r"Reshape the input, or rebuild the layer for 5 features\.",
    ):
        layer.apply(params, state, jnp.ones((2, 5)))


def test_batchnorm_apply_with_wrong_feature_count():
    layer = BatchNormalization()
    _, params, state = layer.init(KEY, (None, 3))
    with pytest.raises(ValueError, match=r"BatchNormalization: built for 3 features on axis -1, "
                                         r"got an input of shape \(2, 4\)"):
        layer.apply(params, state, jnp.ones((2, 4)))


# ---------------------------------------------------------------------------------------------
# Property test: init's shape agrees with apply's (eager only, so no compilations per example).


@st.composite
def _shape_cases(draw):
    batch = draw(st.integers(1, 5))
    kind = draw(st.sampled_from(["dense", "flatten", "reshape"]))
    dims = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    if kind == "dense":
        return batch, dims, Dense(draw(st.integers(1, 8)), use_bias=draw(st.booleans()))
    if kind == "flatten":
        return batch, dims, Flatten()
    size = math.prod(dims)
    target = draw(st.sampled_from([(size,), (-1,), tuple(reversed(dims)), (-1, dims[-1]),
                                   (dims[0], -1)]))
    return batch, dims, Reshape(target)


@settings(max_examples=25, deadline=None)
@given(_shape_cases())
def test_property_init_shape_agrees_with_apply(case):
    batch, dims, layer = case
    out_shape, params, state = layer.init(KEY, (batch, *dims))
    # eval_shape traces apply without compiling it: exact shapes, no per-example compilations.
    y = jax.eval_shape(lambda p, s, v: layer.apply(p, s, v)[0], params, state,
                       jax.ShapeDtypeStruct((batch, *dims), jnp.float32))
    assert tuple(y.shape) == out_shape
    assert layer.init(KEY, (None, *dims))[0] == (None, *out_shape[1:])


def test_dropout_noise_shape_rank_and_integer_inputs():
    drop = fnnet.layers.Dropout(0.5, noise_shape=(None, 1))
    with pytest.raises(ValueError, match=r"noise_shape needs one entry per input dim.*\(2, 3, 4\)"):
        drop.apply((), (), jnp.ones((2, 3, 4)), rng=jax.random.key(0), training=True)
    y, _ = fnnet.layers.Dropout(0.5).apply((), (), jnp.ones((4, 8), jnp.int32), rng=jax.random.key(0),
                                     training=True)
    assert y.dtype == jnp.float32 and set(np.unique(np.asarray(y))) <= {0.0, 2.0}
