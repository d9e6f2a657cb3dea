"""Tests for fnnet.optimizers: Keras 3 numerics, defaults, overrides, schedules, lr injection."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from fnnet import optimizers

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
