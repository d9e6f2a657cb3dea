"""Tests for fnnet.optimizers: Keras 3 numerics, defaults, overrides, schedules, lr injection.

The numpy references below check the update formulas independently of Keras; the tests marked
"Keras side by side" run Keras 3's own optimizers and schedules (JAX backend) on the same
float32 inputs and skip when keras is not installed.
"""

import ast
import copy
import inspect
import json
import math
import os
import pathlib
import pickle

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from fnnet import optimizers
from fnnet.optimizers import schedules

F32 = np.float32

# --- numpy re-implementations of Keras 3's update_step, one array at a time -------------


def _keras_step(name, c, p, g, s, t, lr):
    """One Keras update of variable ``p`` (numpy float32); ``s`` holds the slots; t is 1-based."""
    lr = F32(lr)
    if c.get("clipvalue") is not None:
        g = np.clip(g, -c["clipvalue"], c["clipvalue"])
    if c.get("clipnorm") is not None:
        norm = np.sqrt(np.sum(g * g))
        g = g * F32(c["clipnorm"]) / np.maximum(norm, F32(c["clipnorm"]))
    if c.get("weight_decay"):
        p = p - p * F32(c["weight_decay"]) * lr
    if name == "sgd":
        if c["momentum"] == 0:
            return p - lr * g
        s["m"] = s.get("m", np.zeros_like(p)) * F32(c["momentum"]) - g * lr
        if c["nesterov"]:
            return p + s["m"] * F32(c["momentum"]) - g * lr
        return p + s["m"]
    if name == "rmsprop":
        rho = F32(c["rho"])
        s["v"] = rho * s.get("v", np.zeros_like(p)) + (1 - rho) * g * g
        if c["centered"]:
            s["a"] = rho * s.get("a", np.zeros_like(p)) + (1 - rho) * g
            denominator = s["v"] - s["a"] ** 2 + F32(c["epsilon"])
        else:
            denominator = s["v"] + F32(c["epsilon"])
        increment = lr * g / np.sqrt(denominator)
        if c["momentum"] > 0:
            s["m"] = F32(c["momentum"]) * s.get("m", np.zeros_like(p)) + increment
            return p - s["m"]
        return p - increment
    if name in ("adam", "adamw"):
        b1, b2 = F32(c["beta_1"]), F32(c["beta_2"])
        alpha = lr * np.sqrt(1 - b2**t) / (1 - b1**t)
        s["m"] = s.get("m", np.zeros_like(p)) + (g - s.get("m", 0)) * (1 - b1)
        s["v"] = s.get("v", np.zeros_like(p)) + (g * g - s.get("v", 0)) * (1 - b2)
        v = s["v"]
        if c["amsgrad"]:
            s["vhat"] = np.maximum(s.get("vhat", np.zeros_like(p)), s["v"])
            v = s["vhat"]
        return p - (s["m"] * alpha) / (np.sqrt(v) + F32(c["epsilon"]))
    if name == "adagrad":
        s["acc"] = s.get("acc", np.full_like(p, c["initial_accumulator_value"])) + g * g
        return p - lr * g / np.sqrt(s["acc"] + F32(c["epsilon"]))
    if name == "adadelta":
        rho, eps = F32(c["rho"]), F32(c["epsilon"])
        s["ag"] = rho * s.get("ag", np.zeros_like(p)) + (1 - rho) * g * g
        ad = s.get("ad", np.zeros_like(p))
        delta = -np.sqrt(ad + eps) * g / np.sqrt(s["ag"] + eps)
        s["ad"] = rho * ad + (1 - rho) * delta * delta
        return p + lr * delta
    if name == "adamax":
        b1, b2 = F32(c["beta_1"]), F32(c["beta_2"])
        s["m"] = s.get("m", np.zeros_like(p)) + (g - s.get("m", 0)) * (1 - b1)
        s["u"] = np.maximum(b2 * s.get("u", np.zeros_like(p)), np.abs(g))
        return p - (lr * s["m"]) / ((1 - b1**t) * (s["u"] + F32(c["epsilon"])))
    if name == "nadam":
        b1, b2, decay = F32(c["beta_1"]), F32(c["beta_2"]), F32(0.96)
        u_t = b1 * (1 - 0.5 * decay**t)
        u_t_1 = b1 * (1 - 0.5 * decay ** (t + 1))
        s["u_product"] = s.get("u_product", F32(1.0)) * u_t  # shared; one leaf per test
        u_product_1 = s["u_product"] * u_t_1
        s["m"] = s.get("m", np.zeros_like(p)) + (g - s.get("m", 0)) * (1 - b1)
        s["v"] = s.get("v", np.zeros_like(p)) + (g * g - s.get("v", 0)) * (1 - b2)
        m_hat = u_t_1 * s["m"] / (1 - u_product_1) + (1 - u_t) * g / (1 - s["u_product"])
        v_hat = s["v"] / (1 - b2**t)
        return p - (m_hat * lr) / (np.sqrt(v_hat) + F32(c["epsilon"]))
    if name == "lion":
        b1, b2 = F32(c["beta_1"]), F32(c["beta_2"])
        m = s.get("m", np.zeros_like(p))
        out = p - lr * np.sign(m * b1 + g * (1 - b1))
        s["m"] = m * b2 + g * (1 - b2)
        return out
    raise AssertionError(name)


def _run_both(name, steps=6, **overrides):
    """Runs fnnet's optimizer and the numpy reference over ``steps`` steps; returns both."""
    tx = optimizers.get(name, **overrides)
    c = tx.config
    rng = np.random.default_rng(0)
    # A single leaf keeps Nadam's shared u_product trivially right in the reference; the
    # pytree handling is checked separately below.
    p_np = rng.normal(size=(3, 4)).astype(F32)
    grads = [(rng.normal(size=(3, 4)) * (i + 1)).astype(F32) for i in range(steps)]
    params, state, slots = jnp.asarray(p_np), tx.init(jnp.asarray(p_np)), {}
    for t, g in enumerate(grads, start=1):
        updates, state = tx.update(jnp.asarray(g), state, params)
        params = optax.apply_updates(params, updates)
        p_np = _keras_step(name, c, p_np, g, slots, F32(t), c["learning_rate"])
    return np.asarray(params), p_np


CASES = [
    ("sgd", {}),
    ("sgd", {"momentum": 0.9}),
    ("sgd", {"momentum": 0.9, "nesterov": True}),
    ("rmsprop", {}),
    ("rmsprop", {"learning_rate": 0.01, "rho": 0.8, "epsilon": 1e-3}),
    ("rmsprop", {"momentum": 0.5}),
    ("rmsprop", {"centered": True}),
    ("rmsprop", {"centered": True, "momentum": 0.9}),
    ("adam", {}),
    ("adam", {"epsilon": 0.1}),  # a large epsilon exposes where it is added
    ("adam", {"amsgrad": True, "epsilon": 1e-2}),
    ("adamw", {}),
    ("adamw", {"weight_decay": 0.1, "learning_rate": 0.01}),
    ("adagrad", {}),
    ("adadelta", {"learning_rate": 1.0}),
    ("adamax", {}),
    ("nadam", {}),
    ("nadam", {"beta_1": 0.5, "beta_2": 0.67, "epsilon": 1e-5}),
    ("lion", {}),
    ("adam", {"weight_decay": 0.01}),
    ("rmsprop", {"clipnorm": 1.0}),
    ("sgd", {"clipvalue": 0.5}),
]


@pytest.mark.parametrize("name,overrides", CASES)
def test_matches_keras_update_formula(name, overrides):
    got, want = _run_both(name, **overrides)
    # float32: 1e-6 relative to the parameters' scale (entries near 0 come from cancellation).
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6 * np.abs(want).max())


def test_rmsprop_is_optax_rmsprop_with_eps_in_sqrt():
    params, grads = jnp.arange(4.0), jnp.array([0.1, -2.0, 3.0, 0.0])
    ours, theirs = optimizers.get("rmsprop"), optax.rmsprop(1e-3, 0.9, 1e-7, eps_in_sqrt=True)
    s1, s2 = ours.init(params), theirs.init(params)
    for _ in range(3):
        u1, s1 = ours.update(grads, s1, params)
        u2, s2 = theirs.update(grads, s2, params)
        np.testing.assert_allclose(u1, u2, rtol=1e-6)


def _one_step_keras_test(name, **kwargs):
    # Keras's own test_single_step: grads [1, 6, 7, 2] applied to vars [1, 2, 3, 4].
    tx = optimizers.get(name, **kwargs)
    params = jnp.array([1.0, 2.0, 3.0, 4.0])
    updates, _ = tx.update(jnp.array([1.0, 6.0, 7.0, 2.0]), tx.init(params), params)
    return np.asarray(params + updates)


def test_keras_golden_values_single_step():
    # Values from keras/src/optimizers/*_test.py (test_single_step), rtol 1e-4 there.
    np.testing.assert_allclose(
        _one_step_keras_test("rmsprop", learning_rate=0.5),
        [-0.5811, 0.4189, 1.4189, 2.4189], atol=1e-4)
    np.testing.assert_allclose(
        _one_step_keras_test("adam", learning_rate=0.5), [0.5, 1.5, 2.5, 3.5], atol=1e-4)
    np.testing.assert_allclose(
        _one_step_keras_test("nadam", learning_rate=0.5),
        [0.4686, 1.4686, 2.4686, 3.4686], atol=1e-4)


def _golden_run(tx):
    x = jnp.ones(10)
    state = tx.init(x)
    updates, state = tx.update(jnp.full((10,), 0.01), state, x)
    x = x + updates
    out = []
    for _ in range(5):
        out.append(np.asarray(x))
        updates, state = tx.update(jnp.arange(1, 11, dtype=jnp.float32) / 10, state, x)
        x = x + updates
    return np.stack(out)


def test_keras_golden_trajectories():
    # keras/src/optimizers/{rmsprop,adam,nadam}_test.py test_correctness_with_golden.
    rms = np.tile([[0.9967], [0.9933], [0.9908], [0.9885], [0.9864]], (1, 10))
    np.testing.assert_allclose(_golden_run(optimizers.get("rmsprop", centered=True)), rms,
                               atol=5e-4)
    adam = np.tile([[0.999], [0.9982], [0.9974], [0.9965], [0.9955]], (1, 10))
    np.testing.assert_allclose(_golden_run(optimizers.get("adam", amsgrad=True)), adam,
                               atol=5e-4)
    nadam = optimizers.get("nadam", learning_rate=0.5, beta_1=0.5, beta_2=0.67, epsilon=1e-5)
    np.testing.assert_allclose(_golden_run(nadam)[:, [0, -1]], [
        [0.4281, 0.4281], [-0.1738, -0.1717], [-0.7115, -0.7084], [-1.2335, -1.2299],
        [-1.7492, -1.7454]], atol=5e-4)


def test_keras_weight_decay_golden():
    # Keras test_weight_decay: zero grads, lr 1, wd 0.004, three decays of 2.0 -> 1.9760959.
    tx = optimizers.get("rmsprop", learning_rate=1.0, weight_decay=0.004)
    x, state = jnp.asarray(2.0), tx.init(jnp.asarray(2.0))
    for _ in range(3):
        updates, state = tx.update(jnp.asarray(0.0), state, x)
        x = x + updates
    assert float(x) == pytest.approx(1.9760959, abs=1e-6)


def test_clipnorm_and_global_clipnorm():
    g = {"a": jnp.array([100.0, 100.0]), "b": jnp.array([0.0, 3.0])}
    params = jax.tree.map(jnp.zeros_like, g)
    tx = optimizers.get("sgd", learning_rate=1.0, clipnorm=1.0)
    updates, _ = tx.update(g, tx.init(params), params)
    np.testing.assert_allclose(updates["a"], [-(2**0.5) / 2] * 2, rtol=1e-6)  # Keras's value
    np.testing.assert_allclose(updates["b"], [0.0, -1.0], rtol=1e-6)
    tx = optimizers.get("sgd", learning_rate=1.0, global_clipnorm=1.0)
    updates, _ = tx.update(g, tx.init(params), params)
    norm = np.sqrt(sum(float(jnp.sum(u * u)) for u in jax.tree.leaves(updates)))
    assert norm == pytest.approx(1.0, rel=1e-6)


def test_pytree_params_each_leaf_updated_independently():
    tx = optimizers.get("nadam")
    params = {"w": jnp.ones((3, 4)), "b": (jnp.zeros((3, 4)), jnp.full((3, 4), 2.0))}
    grads = jax.tree.map(lambda p: p + 0.5, params)
    state = tx.init(params)
    updates, state = tx.update(grads, state, params)
    assert jax.tree.structure(updates) == jax.tree.structure(params)
    single_tx = optimizers.get("nadam")
    u_w, _ = single_tx.update(grads["w"], single_tx.init(params["w"]), params["w"])
    np.testing.assert_allclose(updates["w"], u_w, rtol=1e-7)


# --- defaults, names, overrides ---------------------------------------------------------

KERAS_DEFAULTS = {
    "sgd": {"learning_rate": 0.01, "momentum": 0.0, "nesterov": False},
    "rmsprop": {"learning_rate": 0.001, "rho": 0.9, "momentum": 0.0, "epsilon": 1e-7,
                "centered": False},
    "adam": {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7,
             "amsgrad": False},
    "adamw": {"learning_rate": 0.001, "weight_decay": 0.004, "beta_1": 0.9, "beta_2": 0.999,
              "epsilon": 1e-7, "amsgrad": False},
    "adagrad": {"learning_rate": 0.001, "initial_accumulator_value": 0.1, "epsilon": 1e-7},
    "adadelta": {"learning_rate": 0.001, "rho": 0.95, "epsilon": 1e-7},
    "adamax": {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7},
    "nadam": {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7},
    "lion": {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.99},
}


@pytest.mark.parametrize("name", sorted(KERAS_DEFAULTS))
def test_defaults_equal_keras(name):
    config = optimizers.get(name).config
    for key, value in KERAS_DEFAULTS[name].items():
        assert config[key] == value, key
    common = {"clipnorm": None, "clipvalue": None, "global_clipnorm": None}
    assert {k: config[k] for k in common} == common
    if name != "adamw":
        assert config["weight_decay"] is None


def test_default_identifier_is_rmsprop_and_names_are_case_insensitive():
    assert optimizers.get().name == "rmsprop"
    for alias, name in [("RMSprop", "rmsprop"), ("Adam", "adam"), ("AdamW", "adamw"),
                        ("SGD", "sgd"), ("NADAM", "nadam")]:
        assert optimizers.get(alias).name == name


def test_learning_rate_is_float32_hyperparam():
    state = optimizers.get("adam", learning_rate=0.25).init({"w": jnp.zeros(2)})
    lr = state.hyperparams["learning_rate"]
    assert lr.dtype == jnp.float32 and lr.shape == () and float(lr) == 0.25


def test_optax_transform_passes_through_unchanged():
    tx = optax.adam(1e-3)
    assert optimizers.get(tx) is tx
    ours = optimizers.get("sgd")
    assert optimizers.get(ours) is ours


@pytest.mark.parametrize("name", sorted(KERAS_DEFAULTS))
def test_converges_on_a_quadratic(name):
    # Adadelta's first steps are about sqrt(epsilon), so it needs a larger epsilon here.
    kwargs = {"sgd": {"learning_rate": 0.1}, "adagrad": {"learning_rate": 0.5},
              "adadelta": {"learning_rate": 1.0, "epsilon": 1e-3}}
    tx = optimizers.get(name, **kwargs.get(name, {"learning_rate": 0.05}))
    target = jnp.array([1.0, -2.0, 3.0])
    loss = lambda p: jnp.sum((p["x"] - target) ** 2)
    params = {"x": jnp.zeros(3)}

    def step(carry, _):
        params, state = carry
        updates, state = tx.update(jax.grad(loss)(params), state, params)
        return (optax.apply_updates(params, updates), state), None

    (params, _), _ = jax.lax.scan(step, (params, tx.init(params)), None, length=400)
    # AdamW's decoupled decay pulls slightly toward 0; Lion moves in steps of lr.
    assert float(loss(params)) < 0.05 * float(loss({"x": jnp.zeros(3)}))


# --- errors --------------------------------------------------------------------------


def test_unknown_name_suggests_closest():
    with pytest.raises(ValueError, match=r"Unknown optimizer 'rmsprp'.*did you mean 'rmsprop'"):
        optimizers.get("rmsprp")


def test_unknown_override_lists_accepted():
    with pytest.raises(TypeError, match=r"RMSprop got unexpected argument\(s\) \['beta_1'\]\. "
                                        r"It accepts learning_rate, rho"):
        optimizers.get("rmsprop", beta_1=0.9)


def test_overrides_with_a_transform_raise():
    with pytest.raises(TypeError, match=r"optax transform together with overrides "
                                        r"\['learning_rate'\]"):
        optimizers.get(optax.sgd(0.1), learning_rate=0.2)


def test_bad_identifier_type_and_bad_dict():
    with pytest.raises(TypeError, match=r"optimizer must be a name such as 'rmsprop'.*got 3"):
        optimizers.get(3)
    with pytest.raises(TypeError, match=r"A serialized optimizer is a dict"):
        optimizers.get({"name": "adam"})


def test_bad_values():
    with pytest.raises(TypeError, match=r"SGD: learning_rate must be a float or a schedule"):
        optimizers.get("sgd", learning_rate="fast")
    with pytest.raises(TypeError, match=r"Adam: amsgrad must be True or False; got 1"):
        optimizers.get("adam", amsgrad=1)
    with pytest.raises(TypeError, match=r"Adam: beta_1 must be a float; got None"):
        optimizers.get("adam", beta_1=None)
    with pytest.raises(ValueError, match=r"RMSprop: rho must be in \[0, 1\]; got rho=1.5"):
        optimizers.get("rmsprop", rho=1.5)
    with pytest.raises(ValueError, match=r"Adam: learning_rate must be non-negative"):
        optimizers.get("adam", learning_rate=-1.0)
    with pytest.raises(ValueError, match=r"at most one of clipnorm, clipvalue and "
                                         r"global_clipnorm; got clipnorm=1.0, clipvalue=1.0"):
        optimizers.get("adam", clipnorm=1.0, clipvalue=1.0)


def test_weight_decay_without_params_raises():
    tx = optimizers.get("adamw")
    with pytest.raises(ValueError, match=r"weight_decay=0.004 needs the parameters"):
        tx.update(jnp.ones(2), tx.init(jnp.ones(2)))


# --- serialization -------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(KERAS_DEFAULTS))
def test_serialize_round_trip_through_json(name):
    tx = optimizers.get(name, learning_rate=0.02)
    data = json.loads(json.dumps(optimizers.serialize(tx)))
    assert data["name"] == name and data["config"]["learning_rate"] == 0.02
    rebuilt = optimizers.get(data)
    assert rebuilt.config == tx.config
    params = jnp.array([1.0, -1.0])
    u1, _ = tx.update(jnp.array([0.3, 0.2]), tx.init(params), params)
    u2, _ = rebuilt.update(jnp.array([0.3, 0.2]), rebuilt.init(params), params)
    np.testing.assert_array_equal(u1, u2)


def test_serialize_current_rate_and_none_cases():
    tx = optimizers.get("adam")
    state = optimizers.set_learning_rate(tx.init(jnp.zeros(2)), 0.5)
    assert optimizers.serialize(tx, state)["config"]["learning_rate"] == 0.5
    assert optimizers.serialize(optax.adam(1e-3)) is None
    assert optimizers.serialize(optimizers.get("adam", learning_rate=lambda step: 0.1)) is None


# --- learning-rate injection -----------------------------------------------------------


def test_set_learning_rate_does_not_retrace_jitted_step():
    tx = optimizers.get("rmsprop")
    traces = []

    @jax.jit
    def train_step(params, state):
        traces.append(1)
        grads = jax.grad(lambda p: jnp.sum(p**2))(params)
        updates, state = tx.update(grads, state, params)
        return optax.apply_updates(params, updates), state

    params = jnp.ones(3)
    state = tx.init(params)
    params, state = train_step(params, state)
    before = params
    state = optimizers.set_learning_rate(state, 0.0)
    params, state = train_step(params, state)
    np.testing.assert_array_equal(params, before)  # lr 0 really takes effect
    for lr in (0.1, 0.01, 1e-4):
        state = optimizers.set_learning_rate(state, lr)
        params, state = train_step(params, state)
        assert optimizers.get_learning_rate(state) == pytest.approx(lr)
    assert len(traces) == 1


def test_set_and_get_learning_rate_inside_jit():
    tx = optimizers.get("sgd", learning_rate=1.0)
    params = jnp.ones(2)

    @jax.jit
    def halve_then_step(state):
        state = optimizers.set_learning_rate(
            state, optimizers.get_learning_rate(state) / 2)
        return tx.update(jnp.ones(2), state, params)

    updates, state = halve_then_step(tx.init(params))
    np.testing.assert_allclose(updates, [-0.5, -0.5])
    assert optimizers.get_learning_rate(state) == 0.5


def test_set_learning_rate_is_pure_and_keeps_structure():
    state = optimizers.get("adam").init({"w": jnp.zeros((2, 2))})
    new = optimizers.set_learning_rate(state, 3)
    assert jax.tree.structure(new) == jax.tree.structure(state)
    assert new.hyperparams["learning_rate"].dtype == jnp.float32
    assert float(state.hyperparams["learning_rate"]) == pytest.approx(1e-3)
    assert optimizers.get_learning_rate(new) == 3.0


def test_learning_rate_nested_in_a_chain():
    tx = optax.chain(optax.clip(1.0), optimizers.get("sgd"))
    state = optimizers.set_learning_rate(tx.init(jnp.zeros(2)), 0.5)
    assert optimizers.get_learning_rate(state) == 0.5
    updates, _ = tx.update(jnp.ones(2), state, jnp.zeros(2))
    np.testing.assert_allclose(updates, [-0.5, -0.5])


def test_schedule_learning_rate():
    schedule = optax.linear_schedule(1.0, 0.0, transition_steps=10)
    tx = optimizers.get("sgd", learning_rate=schedule)
    params = jnp.zeros(1)
    state = tx.init(params)
    assert optimizers.get_learning_rate(state) == pytest.approx(1.0)
    update = jax.jit(tx.update)
    for step in range(3):
        updates, state = update(jnp.ones(1), state, params)
        np.testing.assert_allclose(updates, [-(1.0 - step / 10)], rtol=1e-6)
    # Like Keras's optimizer.learning_rate: the rate the NEXT step uses.
    assert optimizers.get_learning_rate(state) == pytest.approx(0.7)
    with pytest.raises(ValueError, match=r"controlled by a schedule"):
        optimizers.set_learning_rate(state, 0.1)


def test_learning_rate_errors():
    assert optimizers.get_learning_rate(optax.sgd(0.1).init(jnp.zeros(2))) is None
    with pytest.raises(ValueError, match=r"has no injectable learning rate.*"
                                         r"optax.inject_hyperparams"):
        optimizers.set_learning_rate(optax.sgd(0.1).init(jnp.zeros(2)), 0.1)
    state = optimizers.get("sgd").init(jnp.zeros(2))
    with pytest.raises(ValueError, match=r"value must be a finite non-negative scalar; got -1"):
        optimizers.set_learning_rate(state, -1)
    with pytest.raises(ValueError, match=r"value must be a finite non-negative scalar"):
        optimizers.set_learning_rate(state, np.ones(2))
    two = (state, state)
    with pytest.raises(ValueError, match=r"holds 2 injected learning rates"):
        optimizers.get_learning_rate(two)


@pytest.mark.parametrize("name", ["adam", "nadam"])
def test_low_precision_params_keep_their_dtype_under_strict_promotion(name):
    # The float32 learning rate is cast to each leaf's dtype, as Keras casts it to the var's.
    tx = optimizers.get(name, weight_decay=0.01, clipnorm=1.0)
    params = {"w": jnp.ones((3, 4), jnp.bfloat16)}
    updates, state = tx.update(params, tx.init(params), params)
    assert updates["w"].dtype == jnp.bfloat16
    assert state.hyperparams["learning_rate"].dtype == jnp.float32


# === Keras side by side ===================================================================
# Keras's own optimizer (stateless_apply, jitted, as Keras's fit runs it) and ours run 20
# steps on the same float32 params and gradients; the results must be the same bits, or
# (weight decay, accumulation: see the test) within 2 ulps of the largest |param|.


CLASS_NAMES = ["SGD", "RMSprop", "Adam", "AdamW", "Adagrad", "Adadelta", "Adamax", "Nadam", "Lion"]


@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "jax":
        pytest.skip(f"keras runs on {keras.backend.backend()}, not jax")
    return keras


def _data(steps=20):
    rng = np.random.default_rng(0)
    shapes = [(3, 4), ()]  # a matrix and a scalar; few leaves keep compiling fast
    params = [rng.normal(size=s).astype(F32) for s in shapes]
    grads = []
    for s in shapes:
        g = np.stack([rng.normal(size=s) * (1 + i % 5) for i in range(steps)]).astype(F32)
        g[::4] *= rng.random(g[::4].shape) < 0.7  # some exactly-zero gradient entries
        grads.append(jnp.asarray(g))
    return params, grads


def _scan(step, carry, grads):
    return jax.jit(lambda c, gs: jax.lax.scan(lambda c, g: (step(c, g), None), c, gs)[0])(
        carry, grads)


def _run_ours(tx, params, grads):
    def step(carry, g):
        p, s = carry
        u, s = tx.update(g, s, p)
        return optax.apply_updates(p, u), s

    params = [jnp.asarray(p) for p in params]
    return [np.asarray(p) for p in _scan(step, (params, tx.init(params)), grads)[0]]


def _run_keras(opt, params, grads, keras):
    variables = [keras.Variable(p) for p in params]
    opt.build(variables)

    def step(carry, g):
        values, opt_values = carry
        return opt.stateless_apply(opt_values, g, values)

    with jax.numpy_dtype_promotion("standard"):  # Keras's code is not strict-promotion clean
        carry = ([v.value for v in variables], [v.value for v in opt.variables])
        return [np.asarray(p) for p in _scan(step, carry, grads)[0]]


# (name, kwargs, ulps): ulps > 0 allows that many ulps of the largest |param|; see the test.
# Schedules are fnnet's; the Keras side gets Keras's schedule of the same name and config.
KERAS_CASES = [
    ("SGD", {"learning_rate": schedules.ExponentialDecay(0.1, 3, 0.5), "momentum": 0.9,
             "nesterov": True, "clipvalue": 0.5}, 0),
    ("RMSprop", {}, 0),
    ("RMSprop", {"centered": True, "momentum": 0.5, "rho": 0.8, "epsilon": 1e-3, "clipnorm": 1.0}, 0),
    ("Adam", {"amsgrad": True, "epsilon": 1e-2, "global_clipnorm": 1.0}, 0),
    ("Adam", {"learning_rate": schedules.CosineDecay(0.01, 10, warmup_target=0.1, warmup_steps=5),
              "gradient_accumulation_steps": 3}, 2),
    ("AdamW", {"weight_decay": 0.1, "learning_rate": 0.01}, 2),
    ("Adagrad", {"initial_accumulator_value": 0.5}, 0),
    ("Adadelta", {"learning_rate": 1.0}, 0),
    ("Adamax", {"beta_1": 0.8}, 0),
    ("Nadam", {}, 0),
    ("Lion", {"beta_1": 0.8, "weight_decay": 0.5}, 2),
    ("RMSprop", {"gradient_accumulation_steps": 2, "clipnorm": 0.5}, 2),
]


def _keras_kwargs(kwargs, keras):
    rate = kwargs.get("learning_rate")
    if isinstance(rate, schedules.LearningRateSchedule):
        rate = getattr(keras.optimizers.schedules, type(rate).__name__)(**rate.get_config())
        return {**kwargs, "learning_rate": rate}
    return kwargs


@pytest.mark.parametrize("name,kwargs,ulps", KERAS_CASES)
def test_matches_keras_bit_for_bit(keras, name, kwargs, ulps):
    params, grads = _data()
    got = _run_ours(getattr(optimizers, name)(**kwargs), params, grads)
    want = _run_keras(getattr(keras.optimizers, name)(**_keras_kwargs(kwargs, keras)), params,
                      grads, keras)
    for g, w in zip(got, want, strict=True):
        if ulps == 0:
            np.testing.assert_array_equal(g, w)
        else:
            # Weight decay: Keras decays p, then steps; optax adds one update to p. Where the
            # new value crosses 0 (more than 2x away from p) that single addition can land an
            # ulp of max|p| off, and later steps carry it on. Gradient accumulation: XLA
            # rewrites the division by the step count and the norm clipping (into reciprocal
            # products) in one program and not the other, as their structure differs, so some
            # steps end an ulp apart (ours then equals a plain float32 numpy evaluation).
            np.testing.assert_allclose(g, w, rtol=0, atol=ulps * np.spacing(np.abs(w).max()))


def test_matches_keras_eager_apply_gradients(keras):
    # Keras's eager apply_gradients on keras.Variables: Nadam was 6e-6 relative off here when
    # 1 - beta_2 was taken in float64 (Keras casts the betas to float32 first).
    params, grads = _data(steps=3)
    opt, variables = keras.optimizers.Nadam(), [keras.Variable(p) for p in params]
    tx = optimizers.Nadam()
    ours = [jnp.asarray(p) for p in params]
    state = tx.init(ours)
    for i in range(3):
        g = [x[i] for x in grads]
        with jax.numpy_dtype_promotion("standard"):
            opt.apply_gradients(zip(g, variables, strict=True))
        updates, state = tx.update(g, state, ours)
        ours = optax.apply_updates(ours, updates)
    for got, v in zip(ours, variables, strict=True):
        np.testing.assert_array_equal(got, np.asarray(v.value))


@pytest.mark.parametrize("name", CLASS_NAMES)
def test_signature_and_defaults_are_keras(keras, name):
    theirs = inspect.signature(getattr(keras.optimizers, name).__init__).parameters
    ours = inspect.signature(getattr(optimizers, name)).parameters
    own = [k for k, p in ours.items() if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
    assert own == list(theirs)[1:len(own) + 1]  # same positional order as Keras
    for key, param in ours.items():
        assert theirs[key].default == param.default, key


KERAS_SCHEDULES = [
    ("ExponentialDecay", {"initial_learning_rate": 0.1, "decay_steps": 7, "decay_rate": 0.96}),
    ("ExponentialDecay", {"initial_learning_rate": 0.1, "decay_steps": 7, "decay_rate": 0.5,
                          "staircase": True}),
    ("ExponentialDecay", {"initial_learning_rate": 0.3, "decay_steps": 2.5, "decay_rate": 0.0}),
    ("PiecewiseConstantDecay", {"boundaries": [10, 50, 100], "values": [0.1, 0.05, 0.01, 0.001]}),
    ("PolynomialDecay", {"initial_learning_rate": 0.1, "decay_steps": 100,
                         "end_learning_rate": 0.001, "power": 0.5}),
    ("PolynomialDecay", {"initial_learning_rate": 0.1, "decay_steps": 100, "power": 2.0,
                         "cycle": True}),
    ("InverseTimeDecay", {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.5}),
    ("InverseTimeDecay", {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.5,
                          "staircase": True}),
    ("CosineDecay", {"initial_learning_rate": 0.1, "decay_steps": 100, "alpha": 0.1}),
    ("CosineDecay", {"initial_learning_rate": 0.01, "decay_steps": 77, "alpha": 0.2,
                     "warmup_target": 0.1, "warmup_steps": 13}),
    ("CosineDecayRestarts", {"initial_learning_rate": 0.1, "first_decay_steps": 13,
                             "t_mul": 1.5, "m_mul": 0.9}),
    ("CosineDecayRestarts", {"initial_learning_rate": 0.1, "first_decay_steps": 20,
                             "t_mul": 1.0, "m_mul": 0.5, "alpha": 0.1}),
]


def test_schedules_match_keras_step_by_step(keras):
    ours = [getattr(schedules, name)(**kwargs) for name, kwargs in KERAS_SCHEDULES]
    theirs = [getattr(keras.optimizers.schedules, name)(**kwargs)
              for name, kwargs in KERAS_SCHEDULES]
    steps = jnp.arange(400, dtype=jnp.int32)  # int32, as an optimizer's step count
    # One jitted program per side keeps this fast; each schedule is still its own function.
    got = jax.jit(jax.vmap(lambda s: [f(s) for f in ours]))(steps)
    with jax.numpy_dtype_promotion("standard"):
        want = jax.jit(jax.vmap(lambda s: [f(s) for f in theirs]))(steps)
    for (name, kwargs), g, w in zip(KERAS_SCHEDULES, got, want, strict=True):
        assert g.dtype == jnp.float32
        np.testing.assert_array_equal(g, w, err_msg=f"{name}{kwargs}")
    # Outside jit too (op by op), for those with a lax.cond or cycles, at a restart boundary.
    for (name, kwargs), f, theirs_f in zip(KERAS_SCHEDULES, ours, theirs, strict=True):
        if kwargs.get("cycle") or kwargs.get("warmup_target") or kwargs.get("t_mul", 1.0) != 1.0:
            with jax.numpy_dtype_promotion("standard"):
                want = theirs_f(jnp.int32(13))
            np.testing.assert_array_equal(f(jnp.int32(13)), want, err_msg=name)


@pytest.mark.parametrize("name", sorted({name for name, _ in KERAS_SCHEDULES}))
def test_schedule_signature_and_defaults_are_keras(keras, name):
    theirs = inspect.signature(getattr(keras.optimizers.schedules, name).__init__).parameters
    ours = inspect.signature(getattr(schedules, name)).parameters
    assert list(ours) == list(theirs)[1:]
    for key, param in ours.items():
        assert theirs[key].default == param.default, key


# === the classes and get ===================================================================


@pytest.mark.parametrize("name", CLASS_NAMES)
def test_class_and_get_build_the_same_optimizer(name):
    kwargs = {"learning_rate": 0.05, "clipnorm": 2.0}
    by_class, by_name = getattr(optimizers, name)(**kwargs), optimizers.get(name.lower(), **kwargs)
    assert type(by_class) is type(by_name) and by_class.config == by_name.config
    assert isinstance(by_class, optimizers.Optimizer)
    assert isinstance(by_class, optax.GradientTransformationExtraArgs)
    assert by_class.learning_rate == 0.05 and by_class.name == name.lower()
    params = {"w": jnp.array([1.0, -2.0, 3.0])}
    grads = {"w": jnp.array([0.5, 4.0, -1.0])}
    u1, _ = by_class.update(grads, by_class.init(params), params)
    u2, _ = by_name.update(grads, by_name.init(params), params)
    np.testing.assert_array_equal(u1["w"], u2["w"])


def test_positional_arguments_in_keras_order():
    tx = optimizers.AdamW(0.01, 0.1, 0.8)
    assert (tx.learning_rate, tx.config["weight_decay"], tx.config["beta_1"]) == (0.01, 0.1, 0.8)
    with pytest.raises(TypeError, match=r"SGD: too many positional arguments\. It accepts "
                                        r"learning_rate, momentum, nesterov, weight_decay"):
        optimizers.SGD(0.1, 0.9, False, 0.1)


def test_lr_of_the_first_edition_warns_and_works():
    with pytest.warns(DeprecationWarning, match=r"RMSprop: the argument lr is deprecated.*"
                                                r"use learning_rate=0\.001 instead"):
        tx = optimizers.RMSprop(lr=0.001)  # the book's optimizer=optimizers.RMSprop(lr=0.001)
    assert tx.learning_rate == 0.001 and tx.config == optimizers.RMSprop(0.001).config
    with pytest.warns(DeprecationWarning, match=r"use learning_rate=0\.1 instead") as caught:
        assert optimizers.get("sgd", lr=0.1).learning_rate == 0.1
    assert caught[0].filename == __file__  # points at the caller, not at fnnet's internals


def test_lr_and_learning_rate_together_raise():
    with pytest.raises(TypeError, match=r"Adam got both lr=0\.1 and learning_rate=0\.01; lr is "
                                        r"the old \(Keras 2\) name of learning_rate"):
        optimizers.Adam(learning_rate=0.01, lr=0.1)
    with pytest.raises(TypeError, match=r"SGD got both lr=0\.1 and learning_rate=0\.5"):
        optimizers.SGD(0.5, lr=0.1)


def test_unknown_argument_lists_the_valid_ones():
    with pytest.raises(TypeError, match=r"Lion got unexpected argument\(s\) \['epsilon'\]\. It "
                                        r"accepts learning_rate, beta_1, beta_2, weight_decay, "
                                        r"clipnorm, clipvalue, global_clipnorm, "
                                        r"gradient_accumulation_steps\."):
        optimizers.Lion(epsilon=1e-7)


def test_base_class_and_class_identifier_raise():
    with pytest.raises(TypeError, match=r"Optimizer is the base class; build a concrete"):
        optimizers.Optimizer()
    with pytest.raises(TypeError, match=r"not the class Adam: call it, e\.g\. Adam\("):
        optimizers.get(optimizers.Adam)

    class NoRule(optimizers.Optimizer):
        arguments = {"learning_rate": (0.1, None)}

    with pytest.raises(NotImplementedError, match=r"An Optimizer subclass must define "
                                                  r"rule\(learning_rate, config\)"):
        NoRule().init(jnp.zeros(2))


def test_names_and_repr_and_copies():
    assert optimizers.names() == sorted(KERAS_DEFAULTS)
    tx = optimizers.Nadam(learning_rate=schedules.InverseTimeDecay(0.1, 10, 0.5))
    assert repr(tx).startswith("Nadam(learning_rate=InverseTimeDecay(initial_learning_rate=0.1")
    for clone in (copy.deepcopy(tx), pickle.loads(pickle.dumps(tx))):
        assert type(clone) is optimizers.Nadam and clone.config == tx.config


# --- range checks ---------------------------------------------------------------------------

NUMERIC = {"learning_rate", "momentum", "rho", "epsilon", "beta_1", "beta_2",
           "initial_accumulator_value", "weight_decay", "clipnorm", "clipvalue", "global_clipnorm"}


@pytest.mark.parametrize("name", CLASS_NAMES)
def test_every_numeric_argument_refuses_inf_and_nan(name):
    cls = getattr(optimizers, name)
    keys = [k for k in inspect.signature(cls).parameters if k in NUMERIC]
    assert "learning_rate" in keys and "clipnorm" in keys
    for key in keys:
        for bad in (math.inf, -math.inf, math.nan, np.float32("nan")):
            with pytest.raises(ValueError, match=rf"{name}: {key} must be finite; got {key}="):
                cls(**{key: bad})
            with pytest.raises(ValueError, match=rf"{name}: {key} must be finite"):
                optimizers.get(name, **{key: bad})


def test_inf_learning_rate_is_refused_by_get():
    # It used to be accepted, and one epoch made every weight non-finite.
    with pytest.raises(ValueError, match=r"Adam: learning_rate must be finite; got "
                                         r"learning_rate=inf\. A non-finite value"):
        optimizers.get("adam", learning_rate=float("inf"))


RANGE_ERRORS = [
    ("SGD", {"learning_rate": -0.1}, r"SGD: learning_rate must be non-negative \(>= 0\); got "
                                     r"learning_rate=-0\.1\."),
    ("SGD", {"momentum": 1.5}, r"SGD: momentum must be in \[0, 1\]; got momentum=1\.5"),
    ("SGD", {"momentum": -0.1}, r"momentum must be in \[0, 1\]"),
    ("RMSprop", {"rho": -0.5}, r"RMSprop: rho must be in \[0, 1\]; got rho=-0\.5"),
    ("RMSprop", {"momentum": 2.0}, r"RMSprop: momentum must be in \[0, 1\]"),
    ("RMSprop", {"epsilon": -1e-7}, r"RMSprop: epsilon must be non-negative"),
    ("Adam", {"beta_1": 1.0}, r"Adam: beta_1 must be in \[0, 1\); got beta_1=1\.0 \(at 1 the "
                              r"bias correction 1 - beta_1\*\*t is 0 and every update NaN\)"),
    ("Adam", {"beta_2": 1.01}, r"Adam: beta_2 must be in \[0, 1\]; got beta_2=1\.01"),
    ("AdamW", {"weight_decay": -0.1}, r"AdamW: weight_decay must be non-negative"),
    ("Adagrad", {"initial_accumulator_value": -1.0},
     r"Adagrad: initial_accumulator_value must be non-negative"),
    ("Adadelta", {"rho": 1.2}, r"Adadelta: rho must be in \[0, 1\]"),
    ("Adamax", {"beta_1": 1.0}, r"Adamax: beta_1 must be in \[0, 1\)"),
    ("Adamax", {"beta_2": -0.1}, r"Adamax: beta_2 must be in \[0, 1\]"),
    ("Nadam", {"beta_1": 1.1}, r"Nadam: beta_1 must be in \[0, 1\]"),
    ("Nadam", {"beta_2": 1.0}, r"Nadam: beta_2 must be in \[0, 1\); got beta_2=1\.0 \(at 1 the "
                               r"bias correction 1 - beta_2\*\*t is 0"),
    ("Lion", {"beta_1": 0.0}, r"Lion: beta_1 must be in \(0, 1\]; got beta_1=0\.0 \(as in "
                              r"Keras: at 0 Lion degenerates to SignSGD\)"),
    ("Lion", {"beta_2": 2.0}, r"Lion: beta_2 must be in \[0, 1\]"),
    ("Adam", {"weight_decay": -1.0}, r"Adam: weight_decay must be non-negative"),
    ("Adam", {"clipnorm": 0.0}, r"Adam: clipnorm must be positive \(> 0\); got clipnorm=0\.0 "
                                r"\(pass None to turn clipping off\)"),
    ("Adam", {"clipvalue": -1.0}, r"Adam: clipvalue must be positive"),
    ("Adam", {"global_clipnorm": 0.0}, r"Adam: global_clipnorm must be positive"),
    ("Adam", {"gradient_accumulation_steps": 1},
     r"Adam: gradient_accumulation_steps must be an int >= 2; got "
     r"gradient_accumulation_steps=1\."),
]


@pytest.mark.parametrize("name,kwargs,match", RANGE_ERRORS)
def test_out_of_range_values_raise(name, kwargs, match):
    with pytest.raises(ValueError, match=match):
        getattr(optimizers, name)(**kwargs)
    with pytest.raises(ValueError, match=match):
        optimizers.get(name.lower(), **kwargs)


def test_type_errors_name_the_argument():
    with pytest.raises(TypeError, match=r"AdamW: weight_decay must be a float; got None"):
        optimizers.AdamW(weight_decay=None)
    with pytest.raises(TypeError, match=r"Adam: clipnorm must be a float or None; got '1'"):
        optimizers.Adam(clipnorm="1")
    with pytest.raises(TypeError, match=r"SGD: nesterov must be True or False; got 'yes'"):
        optimizers.SGD(nesterov="yes")
    with pytest.raises(TypeError, match=r"Adam: gradient_accumulation_steps must be an int or "
                                        r"None; got 2\.0 of type float"):
        optimizers.Adam(gradient_accumulation_steps=2.0)
    with pytest.raises(TypeError, match=r"Adam: learning_rate must be a float or a schedule"):
        optimizers.Adam(learning_rate=jnp.ones(2))


def test_numpy_and_jax_scalars_are_accepted_as_floats():
    tx = optimizers.Adam(learning_rate=np.float32(0.5), beta_1=jnp.asarray(0.8))
    assert tx.config["learning_rate"] == 0.5 and isinstance(tx.config["beta_1"], float)
    assert tx.config["beta_1"] == pytest.approx(0.8)


# --- gradient accumulation --------------------------------------------------------------------


def test_gradient_accumulation_applies_the_mean_every_n_steps():
    grads = [jnp.array([1.0, -2.0]), jnp.array([0.5, 4.0]), jnp.array([3.0, 1.0])]
    params = jnp.array([1.0, 2.0])
    tx = optimizers.Adam(learning_rate=0.1, gradient_accumulation_steps=3)
    state = tx.init(params)
    for g in grads[:2]:
        updates, state = tx.update(g, state, params)
        np.testing.assert_array_equal(updates, [0.0, 0.0])
    updates, state = tx.update(grads[2], state, params)
    plain = optimizers.Adam(learning_rate=0.1)
    mean = (grads[2] + (grads[1] + grads[0])) / 3  # Keras sums, then divides once
    want, _ = plain.update(mean, plain.init(params), params)
    np.testing.assert_array_equal(updates, want)
    assert optimizers.get_learning_rate(state) == pytest.approx(0.1)


def test_schedule_with_accumulation_sees_keras_iterations():
    # Keras evaluates the schedule at the mini-step count: update k uses schedule((k+1)*3 - 1).
    rate = schedules.PolynomialDecay(1.0, 30, end_learning_rate=0.0)
    tx = optimizers.SGD(learning_rate=rate, gradient_accumulation_steps=3)
    params = jnp.zeros(1)
    state = tx.init(params)
    assert optimizers.get_learning_rate(state) == pytest.approx(float(rate(2)))
    for _ in range(3):
        updates, state = tx.update(jnp.ones(1), state, params)
    np.testing.assert_allclose(updates, [-float(rate(2))], rtol=1e-7)
    assert optimizers.get_learning_rate(state) == pytest.approx(float(rate(5)))


# === donation: no two state leaves share a buffer =========================================


@pytest.mark.parametrize("name", sorted(KERAS_DEFAULTS))
def test_init_state_has_no_shared_buffers(name):
    params = {"w": jnp.ones((2, 3)), "b": jnp.zeros(3)}
    for rate in (1e-3, optax.linear_schedule(1e-3, 1e-4, 100), schedules.CosineDecay(0.1, 10)):
        for steps in (None, 2):
            tx = optimizers.get(name, learning_rate=rate, gradient_accumulation_steps=steps)
            leaves = jax.tree.leaves(tx.init(params))
            assert len({id(x) for x in leaves}) == len(leaves), (rate, steps)


@pytest.mark.parametrize("name,kwargs", [
    ("adam", {"learning_rate": optax.linear_schedule(1e-3, 1e-4, 100)}),  # the reported case
    ("sgd", {"momentum": 0.9}),
    ("nadam", {"learning_rate": schedules.ExponentialDecay(0.1, 2, 0.5),
               "gradient_accumulation_steps": 2}),
])
def test_jitted_step_can_donate_the_state(name, kwargs):
    tx = optimizers.get(name, **kwargs)
    params = {"w": jnp.ones((2, 3)), "b": jnp.zeros(3)}

    @jax.jit
    def loss_grad(p):
        return jax.grad(lambda p: jnp.sum(p["w"] ** 2) + jnp.sum(p["b"]))(p)

    def step(params, opt_state):
        updates, opt_state = tx.update(loss_grad(params), opt_state, params)
        return optax.apply_updates(params, updates), opt_state

    step = jax.jit(step, donate_argnums=(0, 1))
    opt_state = tx.init(params)
    for _ in range(2):
        params, opt_state = step(params, opt_state)
    assert all(bool(jnp.all(jnp.isfinite(x))) for x in jax.tree.leaves(params))


# === any optax transformation, and the learning rate anywhere in it ========================


def test_get_passes_any_transformation_and_unwraps_multisteps():
    extra = optax.GradientTransformationExtraArgs(*optax.sgd(0.1))
    assert optimizers.get(extra) is extra
    multi = optax.MultiSteps(optax.sgd(0.1), every_k_schedule=2)
    tx = optimizers.get(multi)
    assert isinstance(tx, optax.GradientTransformation)
    assert isinstance(tx.init(jnp.zeros(2)), optax.MultiStepsState)
    with pytest.raises(TypeError, match=r"optax transform together with overrides"):
        optimizers.get(multi, learning_rate=0.1)


def _lr_holders():
    injected = optax.inject_hyperparams(optax.sgd)(learning_rate=0.5)
    return {
        "chain": optax.chain(optax.clip(1.0), injected),
        "multi_transform": optax.multi_transform(
            {"a": injected, "b": optax.set_to_zero()}, {"w": "a", "b": "b"}),
        "optax MultiSteps": optax.MultiSteps(injected, every_k_schedule=2).gradient_transformation(),
        "fnnet accumulation": optimizers.SGD(0.5, gradient_accumulation_steps=2),
        "freeze": optimizers.freeze(optimizers.SGD(0.5), {"w": True, "b": False}),
        "nested chains": optax.chain(optax.identity(), optax.chain(optax.clip(2.0), injected)),
    }


@pytest.mark.parametrize("kind", list(_lr_holders()))
def test_learning_rate_found_anywhere_in_the_state(kind):
    tx = _lr_holders()[kind]
    params = {"w": jnp.ones(2), "b": jnp.ones(2)}
    state = tx.init(params)
    assert optimizers.get_learning_rate(state) == 0.5
    new = optimizers.set_learning_rate(state, 0.25)
    assert jax.tree.structure(new) == jax.tree.structure(state)
    assert optimizers.get_learning_rate(new) == 0.25 and optimizers.get_learning_rate(state) == 0.5


def test_several_learning_rates_name_their_paths():
    tx = optax.chain(optimizers.SGD(), optax.identity(), optimizers.Adam())
    state = tx.init(jnp.zeros(2))
    with pytest.raises(ValueError, match=r"holds 2 injected learning rates, at opt_state\[0\], "
                                         r"opt_state\[2\], so which one is meant is ambiguous"):
        optimizers.get_learning_rate(state)
    with pytest.raises(ValueError, match=r"set_learning_rate: the optimizer state holds 2"):
        optimizers.set_learning_rate(state, 0.1)
    assert optimizers.get_learning_rate(state[2]) == pytest.approx(1e-3)  # the way out
    nested = optax.inject_hyperparams(
        lambda learning_rate: optax.chain(optax.scale(-learning_rate), optimizers.SGD()))(
        learning_rate=0.1)
    with pytest.raises(ValueError, match=r"at opt_state, opt_state\.inner_state\[1\]"):
        optimizers.get_learning_rate(nested.init(jnp.zeros(2)))


def test_no_learning_rate_says_how_to_inject_one():
    state = optax.adam(1e-3).init(jnp.zeros(2))
    assert optimizers.get_learning_rate(state) is None  # fnnet.models relies on None here
    with pytest.raises(ValueError, match=r"has no injectable learning rate\. Build the "
                                         r"optimizer as a fnnet optimizer .*"
                                         r"optax\.inject_hyperparams\(optax\.adam\)"
                                         r"\(learning_rate=1e-3\)"):
        optimizers.set_learning_rate(state, 0.1)


def test_set_learning_rate_refuses_a_scheduled_rate_and_bad_values():
    state = optimizers.Adam(schedules.CosineDecay(0.1, 10)).init(jnp.zeros(2))
    with pytest.raises(ValueError, match=r"controlled by a schedule, so it cannot be set"):
        optimizers.set_learning_rate(state, 0.1)
    state = optimizers.Adam().init(jnp.zeros(2))
    for bad in (math.inf, math.nan, -0.5, "0.1", [0.1]):
        with pytest.raises(ValueError, match=r"value must be a finite non-negative scalar"):
            optimizers.set_learning_rate(state, bad)


def test_get_learning_rate_is_the_next_updates_rate():
    rate = schedules.PiecewiseConstantDecay([0, 1], [1.0, 0.5, 0.25])
    tx = optimizers.SGD(learning_rate=rate)
    params, state = jnp.zeros(1), tx.init(jnp.zeros(1))
    for step in range(3):
        assert optimizers.get_learning_rate(state) == float(rate(step))
        updates, state = tx.update(jnp.ones(1), state, params)
        np.testing.assert_array_equal(updates, [-float(rate(step))])


# === freeze ===============================================================================


def _frozen_setup():
    params = {"base": jnp.arange(7.0), "head": {"w": jnp.ones((2, 3)), "b": jnp.zeros(3)}}
    trainable = {"base": False, "head": True}  # one bool for the whole "head" subtree
    tx = optimizers.AdamW(learning_rate=0.1, weight_decay=0.1, global_clipnorm=1.0)
    return params, trainable, tx


@pytest.mark.parametrize("as_function", [False, True])
def test_freeze_keeps_frozen_params_and_trains_the_others_exactly(as_function):
    params, trainable, tx = _frozen_setup()
    full = {"base": False, "head": {"w": True, "b": True}}
    mask = (lambda p: full) if as_function else trainable
    frozen_tx = optimizers.freeze(tx, mask)
    state = frozen_tx.init(params)
    assert (7,) not in [x.shape for x in jax.tree.leaves(state)]  # no buffers for "base"
    head, head_state = params["head"], tx.init(params["head"])
    rng = np.random.default_rng(0)
    for _ in range(3):
        grads = jax.tree.map(lambda p: jnp.asarray(rng.normal(size=p.shape), jnp.float32), params)
        updates, state = frozen_tx.update(grads, state, params)
        params = optax.apply_updates(params, updates)
        head_updates, head_state = tx.update(grads["head"], head_state, head)
        head = optax.apply_updates(head, head_updates)
    np.testing.assert_array_equal(params["base"], jnp.arange(7.0))
    for got, want in zip(jax.tree.leaves(params["head"]), jax.tree.leaves(head), strict=True):
        np.testing.assert_array_equal(got, want)
    assert optimizers.get_learning_rate(state) == pytest.approx(0.1)
    state = optimizers.set_learning_rate(state, 0.0)
    updates, _ = frozen_tx.update(grads, state, params)
    assert not any(bool(jnp.any(u != 0)) for u in jax.tree.leaves(updates))


def test_freeze_errors():
    params = {"a": jnp.zeros(2), "b": jnp.zeros(2)}
    with pytest.raises(ValueError, match=r"freeze: trainable must be a tree of bools shaped like "
                                         r"the params \(or a prefix of it"):
        optimizers.freeze(optimizers.SGD(), {"a": True}).init(params)
    with pytest.raises(TypeError, match=r"freeze: trainable must hold True or False for each "
                                        r"param; got 1 at trainable\['b'\]"):
        optimizers.freeze(optimizers.SGD(), {"a": True, "b": 1}).init(params)
    with pytest.raises(TypeError, match=r"freeze: tx must be an optax transformation"):
        optimizers.freeze("adam", {"a": True, "b": True})


# === schedules ============================================================================


def test_schedules_are_float32_and_jittable():
    rate = schedules.CosineDecayRestarts(0.1, 10)
    assert rate(3).dtype == jnp.float32 and rate(3).shape == ()
    np.testing.assert_array_equal(jax.jit(rate)(jnp.int32(3)), rate(3))
    assert float(schedules.ExponentialDecay(1.0, 2, 0.0)(0)) == 1.0  # Keras's 0**0
    assert float(schedules.ExponentialDecay(1.0, 2, 0.0)(1)) == 0.0


@pytest.mark.parametrize("rate", [
    schedules.ExponentialDecay(0.1, 100, 0.96, staircase=True),
    schedules.PiecewiseConstantDecay([10, 20], [0.1, 0.01, 0.001]),
    schedules.PolynomialDecay(0.1, 100, cycle=True),
    schedules.InverseTimeDecay(0.1, 10, 0.5),
    schedules.CosineDecay(0.0, 100, warmup_target=0.1, warmup_steps=10),
    schedules.CosineDecayRestarts(0.1, 20, m_mul=0.9),
])
def test_optimizer_with_a_schedule_round_trips_through_json(rate):
    tx = optimizers.Adam(learning_rate=rate, beta_1=0.8)
    data = json.loads(json.dumps(optimizers.serialize(tx)))
    assert data["config"]["learning_rate"]["class_name"] == type(rate).__name__
    rebuilt = optimizers.get(data)
    assert rebuilt.config == tx.config and rebuilt.learning_rate == rate
    assert schedules.deserialize(schedules.serialize(rate)) == rate
    params = jnp.array([1.0, -1.0])
    s1, s2 = tx.init(params), rebuilt.init(params)
    for _ in range(3):
        u1, s1 = tx.update(jnp.array([0.3, 0.2]), s1, params)
        u2, s2 = rebuilt.update(jnp.array([0.3, 0.2]), s2, params)
    np.testing.assert_array_equal(u1, u2)


def test_plain_schedule_functions_are_not_serializable():
    assert optimizers.serialize(optimizers.Adam(optax.linear_schedule(0.1, 0.0, 10))) is None
    with pytest.raises(TypeError, match=r"serialize: expected one of the schedules "
                                        r"\['CosineDecay'.*A plain function cannot be stored"):
        schedules.serialize(optax.linear_schedule(0.1, 0.0, 10))


def test_keras_style_serialized_schedule_is_accepted():
    keras_style = {"module": "keras.optimizers.schedules", "class_name": "InverseTimeDecay",
                   "config": {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.5,
                              "staircase": False, "name": "InverseTimeDecay"},
                   "registered_name": None}
    tx = optimizers.get({"name": "sgd", "config": {"learning_rate": keras_style}})
    assert tx.learning_rate == schedules.InverseTimeDecay(0.1, 10, 0.5)


SCHEDULE_ERRORS = [
    (lambda: schedules.ExponentialDecay(0.1, 0, 0.5), ValueError,
     r"ExponentialDecay: decay_steps must be positive \(> 0\); got decay_steps=0\.0"),
    (lambda: schedules.ExponentialDecay(-0.1, 10, 0.5), ValueError,
     r"ExponentialDecay: initial_learning_rate must be non-negative"),
    (lambda: schedules.ExponentialDecay(0.1, 10, math.nan), ValueError,
     r"ExponentialDecay: decay_rate must be finite"),
    (lambda: schedules.ExponentialDecay(0.1, 10, 0.5, staircase=1), TypeError,
     r"ExponentialDecay: staircase must be True or False; got 1"),
    (lambda: schedules.ExponentialDecay(0.1, 10, 0.5, name=3), TypeError,
     r"ExponentialDecay: name must be a str; got 3"),
    (lambda: schedules.PiecewiseConstantDecay(10, [0.1]), TypeError,
     r"PiecewiseConstantDecay: boundaries must be a list of numbers; got 10"),
    (lambda: schedules.PiecewiseConstantDecay([10], [0.1]), ValueError,
     r"values must have one more element than boundaries; got 1 boundaries \[10\] and 1"),
    (lambda: schedules.PiecewiseConstantDecay([10, 10], [0.1, 0.2, 0.3]), ValueError,
     r"PiecewiseConstantDecay: boundaries must be strictly increasing; got \[10, 10\]"),
    (lambda: schedules.PiecewiseConstantDecay([10], [0.1, math.inf]), ValueError,
     r"PiecewiseConstantDecay: each value must be finite"),
    (lambda: schedules.PiecewiseConstantDecay(["a"], [0.1, 0.2]), TypeError,
     r"PiecewiseConstantDecay: each boundary must be a float; got 'a'"),
    (lambda: schedules.PolynomialDecay(0.1, 10, power=-1.0), ValueError,
     r"PolynomialDecay: power must be non-negative"),
    (lambda: schedules.PolynomialDecay(0.1, 10, end_learning_rate=math.inf), ValueError,
     r"PolynomialDecay: end_learning_rate must be finite"),
    (lambda: schedules.InverseTimeDecay(0.1, -5, 0.5), ValueError,
     r"InverseTimeDecay: decay_steps must be positive"),
    (lambda: schedules.CosineDecay(0.1, 10, alpha=1.5), ValueError,
     r"CosineDecay: alpha must be in \[0, 1\]; got alpha=1\.5"),
    (lambda: schedules.CosineDecay(0.1, 10, warmup_target=-1.0), ValueError,
     r"CosineDecay: warmup_target must be non-negative"),
    (lambda: schedules.CosineDecay(0.1, 10, warmup_steps=-1), ValueError,
     r"CosineDecay: warmup_steps must be non-negative"),
    (lambda: schedules.CosineDecayRestarts(0.1, 10, t_mul=0.0), ValueError,
     r"CosineDecayRestarts: t_mul must be positive"),
    (lambda: schedules.CosineDecayRestarts(0.1, 10, m_mul=-1.0), ValueError,
     r"CosineDecayRestarts: m_mul must be non-negative"),
    (lambda: schedules.deserialize({"class_name": "CosineDecay"}), TypeError,
     r"deserialize: a serialized schedule is a dict"),
    (lambda: schedules.deserialize({"class_name": "CosineDcay", "config": {}}), ValueError,
     r"Unknown learning-rate schedule 'CosineDcay' for class_name; did you mean 'CosineDecay'"),
    (lambda: schedules.LearningRateSchedule()(0), NotImplementedError,
     r"LearningRateSchedule must define __call__\(self, step\)"),
]


@pytest.mark.parametrize("make,error,match", SCHEDULE_ERRORS)
def test_schedule_argument_errors(make, error, match):
    with pytest.raises(error, match=match):
        make()


# === the package is a leaf ================================================================


def test_package_imports_only_errors_from_fnnet_and_no_optax_internals():
    package = pathlib.Path(optimizers.__file__).parent
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                assert not name.startswith("optax._src"), (path.name, name)
                if name == "fnnet" or name.startswith("fnnet."):
                    assert name in ("fnnet._errors",) or name.startswith("fnnet.optimizers"), (
                        path.name, name)
