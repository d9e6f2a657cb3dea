"""Tests for fnnet.training: TrainState and the pure train, eval and predict steps.

Reference values come from numpy formulas (forward passes, hand-derived gradients, Keras's
RMSprop and loss-reduction rules). Compilations are shared through module-scoped fixtures.
"""

from __future__ import annotations

from types import SimpleNamespace

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from fnnet import TrainState, make_eval_step, make_predict_step, make_train_step, optimizers, serial
from fnnet.layers import BatchNormalization, Dense, Dropout

KEY = jax.random.key(0)
SCCE = "sparse_categorical_crossentropy"


def _np(tree):
    return jax.tree.map(np.asarray, tree)


def _blobs(seed, n=32):
    """Two linearly separable Gaussian blobs in 2-D, labels 0/1."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    x = rng.normal(scale=0.5, size=(n, 2)) + np.where(y[:, None] == 1, 2.0, -2.0)
    return x.astype(np.float32), y.astype(np.int32)


@pytest.fixture(scope="module")
def clf():
    """A small classifier, its optimizer, and jitted train steps (one counts its traces)."""
    model = serial(Dense(8, activation="relu"), Dense(2, activation="softmax"))
    tx = optimizers.get("adam", learning_rate=0.05)
    step = make_train_step(model, SCCE, metrics=["accuracy"])
    traces = []

    def counted(ts, x, y):
        traces.append(1)  # a Python side effect: runs once per trace, not per call
        return step(ts, x, y)

    ts = TrainState.create(model, tx, rng=0, input_shape=(None, 2))
    return SimpleNamespace(model=model, tx=tx, step=step, counted=jax.jit(counted),
                           traces=traces, jstep=jax.jit(step), ts=ts)


# ---------------------------------------------------------------------------------------------
# TrainState.create.


def test_create_builds_params_opt_state_and_step_zero():
    model = serial(Dense(4), Dense(2))
    ts = TrainState.create(model, optax.adam(1e-3), rng=jax.random.key(1), input_shape=(None, 3))
    assert [p["kernel"].shape for p in ts.params] == [(3, 4), (4, 2)]
    assert ts.state == ((), ())
    assert ts.step.shape == () and ts.step.dtype == jnp.int32 and int(ts.step) == 0
    adam_state = ts.opt_state[0]
    # The optimizer state mirrors params only (never the layer state).
    for moments in (adam_state.mu, adam_state.nu):
        assert jax.tree.structure(moments) == jax.tree.structure(ts.params)
        assert jax.tree.map(jnp.shape, moments) == jax.tree.map(jnp.shape, ts.params)
    # The rng is split into an init key and a training key.
    init_key, train_key = jax.random.split(jax.random.key(1))
    _, expected, _ = model.init(init_key, (None, 3))
    jax.tree.map(np.testing.assert_array_equal, ts.params, expected)
    np.testing.assert_array_equal(jax.random.key_data(ts.rng), jax.random.key_data(train_key))


def test_create_accepts_an_int_seed_a_typed_key_or_a_raw_key():
    model = Dense(3)
    by_seed = TrainState.create(model, "sgd", rng=7, input_shape=(None, 2))
    by_key = TrainState.create(model, "sgd", rng=jax.random.key(7), input_shape=(None, 2))
    by_raw = TrainState.create(model, "sgd", rng=jax.random.PRNGKey(7), input_shape=(None, 2))
    for other in (by_key, by_raw):
        jax.tree.map(np.testing.assert_array_equal, by_seed.params, other.params)
    other_seed = TrainState.create(model, "sgd", rng=8, input_shape=(None, 2))
    assert not np.array_equal(by_seed.params["kernel"], other_seed.params["kernel"])


@pytest.mark.parametrize("bad", ["0", 1.5, True, None, np.zeros(3, np.uint32),
                                 jnp.zeros(2, jnp.float32)])
def test_create_rejects_a_bad_rng(bad):
    with pytest.raises(TypeError, match=r"rng must be a JAX random key or an int seed; got .*\. "
                                        r"Pass rng=jax\.random\.key\(0\)\."):
        TrainState.create(Dense(1), "sgd", rng=bad, input_shape=(None, 2))


# ---------------------------------------------------------------------------------------------
# make_train_step: convergence, compilation, scan, vmap.


def test_loss_decreases_on_a_separable_problem(clf):
    x, y = _blobs(0)
    ts = clf.ts
    losses = []
    for _ in range(50):
        ts, logs = clf.counted(ts, x, y)
        losses.append(float(logs["loss"]))
    assert sorted(logs) == ["accuracy", "loss"]
    assert losses[-1] < 0.1 * losses[0]
    assert float(logs["accuracy"]) == 1.0
    assert int(ts.step) == 50
    assert len(clf.traces) == 1


def test_train_step_compiles_once_over_many_steps(clf):
    ts = clf.ts
    for seed in range(20):  # new values every step, same shapes and dtypes
        x, y = _blobs(seed)
        ts, _ = clf.counted(ts, x, y)
    assert len(clf.traces) == 1
    assert clf.counted._cache_size() == 1


def test_train_step_inside_lax_scan_equals_a_python_loop(clf):
    batches = [_blobs(s, n=8) for s in range(4)]
    xs = np.stack([b[0] for b in batches])
    ys = np.stack([b[1] for b in batches])
    final, logs = jax.jit(lambda ts, xs, ys: jax.lax.scan(
        lambda t, b: clf.step(t, *b), ts, (xs, ys)))(clf.ts, xs, ys)
    ts = clf.ts
    step = jax.jit(clf.step)
    for i, (x, y) in enumerate(batches):
        ts, step_logs = step(ts, x, y)
        np.testing.assert_allclose(logs["loss"][i], step_logs["loss"], rtol=1e-5)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6),
                 _np(final.params), _np(ts.params))
    assert int(final.step) == 4


def test_vmap_over_an_ensemble_of_train_states(clf):
    x, y = _blobs(1)
    members = [TrainState.create(clf.model, clf.tx, rng=s, input_shape=(None, 2))
               for s in (0, 1, 2)]
    ensemble = jax.tree.map(lambda *a: jnp.stack(a), *members)
    new, logs = jax.jit(jax.vmap(clf.step, in_axes=(0, None, None)))(ensemble, x, y)
    assert logs["loss"].shape == (3,)
    assert len(set(np.asarray(logs["loss"]).tolist())) == 3  # different seeds, different models
    for i, member in enumerate(members):
        one, one_logs = clf.jstep(member, x, y)
        np.testing.assert_allclose(logs["loss"][i], one_logs["loss"], rtol=1e-5)
        jax.tree.map(lambda a, b, i=i: np.testing.assert_allclose(a[i], b, rtol=1e-5, atol=1e-6),
                     _np(new.params), _np(one.params))


# ---------------------------------------------------------------------------------------------
# State, rng and reductions.


def test_batchnorm_state_comes_through_the_step_and_matches_numpy():
    model = serial(BatchNormalization(), Dense(1))
    ts = TrainState.create(model, optax.sgd(0.1), rng=0, input_shape=(None, 3))
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(8, 3)) * 2 + 1).astype(np.float32)
    y = rng.normal(size=(8, 1)).astype(np.float32)
    new, _ = jax.jit(make_train_step(model, "mse"))(ts, x, y)
    bn = new.state[0]
    np.testing.assert_allclose(bn["moving_mean"], 0.01 * x.mean(0), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(bn["moving_variance"], 0.99 + 0.01 * x.var(0), rtol=1e-5)
    assert new.state[1] == ()
    # gamma and beta are params: the gradient reaches them.
    assert not np.allclose(new.params[0]["gamma"], 1.0)
    assert not np.allclose(new.params[0]["beta"], 0.0)


def test_every_step_gets_a_fresh_key_so_dropout_masks_differ():
    model = serial(Dropout(0.5), Dense(1, use_bias=False, kernel_initializer="ones"))
    tx = optax.sgd(1e-4)
    ts0 = TrainState.create(model, tx, rng=0, input_shape=(None, 64))
    step = jax.jit(make_train_step(model, "mse"))
    x, y = np.ones((1, 64), np.float32), np.zeros((1, 1), np.float32)
    ts1, _ = step(ts0, x, y)
    ts2, _ = step(ts1, x, y)
    # Step i's key is fold_in(rng, i): the base key stays, the step count moves on.
    np.testing.assert_array_equal(jax.random.key_data(ts0.rng), jax.random.key_data(ts2.rng))
    assert (int(ts1.step), int(ts2.step)) == (1, 2)
    # Under sgd, a kernel entry changes exactly when its input was kept by the step's mask.
    kept1 = np.asarray(ts1.params[1]["kernel"] != ts0.params[1]["kernel"])[:, 0]
    kept2 = np.asarray(ts2.params[1]["kernel"] != ts1.params[1]["kernel"])[:, 0]
    assert 10 < kept1.sum() < 54 and 10 < kept2.sum() < 54
    assert not np.array_equal(kept1, kept2)
    # The same TrainState gives the same step: all randomness comes from ts.rng.
    again, _ = step(ts0, x, y)
    np.testing.assert_array_equal(again.params[1]["kernel"], ts1.params[1]["kernel"])


def test_mask_makes_a_padded_batch_equal_the_unpadded_one():
    model = serial(Dense(4, activation="tanh"), Dense(3, activation="softmax"))
    tx = optax.sgd(0.5)
    ts = TrainState.create(model, tx, rng=3, input_shape=(None, 2))
    step = jax.jit(make_train_step(model, SCCE, metrics=["accuracy"]))
    rng = np.random.default_rng(1)
    x = rng.normal(size=(5, 2)).astype(np.float32)
    y = np.array([0, 1, 2, 1, 0], np.int32)
    pad_x = np.concatenate([x, 50 * rng.normal(size=(3, 2)).astype(np.float32)])
    pad_y = np.concatenate([y, np.array([2, 2, 2], np.int32)])
    mask = np.array([1, 1, 1, 1, 1, 0, 0, 0], np.float32)
    small, small_logs = step(ts, x, y)
    padded, padded_logs = step(ts, pad_x, pad_y, None, mask)
    for k in ("loss", "accuracy"):
        np.testing.assert_allclose(padded_logs[k], small_logs[k], rtol=1e-6, atol=1e-7)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7),
                 _np(padded.params), _np(small.params))
    # Without the mask the padding does change the result (so the check above can fail).
    unmasked, _ = step(ts, pad_x, pad_y)
    assert not np.allclose(unmasked.params[1]["kernel"], small.params[1]["kernel"])


def test_sample_weight_is_keras_sum_over_batch_size():
    model = Dense(1)
    tx = optax.sgd(0.1)
    ts = TrainState.create(model, tx, rng=0, input_shape=(None, 3))
    rng = np.random.default_rng(2)
    x = rng.normal(size=(6, 3)).astype(np.float32)
    y = rng.normal(size=(6, 1)).astype(np.float32)
    w = np.array([0.0, 1.0, 2.0, 0.5, 3.0, 1.0], np.float32)  # sum(w) != n
    new, logs = jax.jit(make_train_step(model, "mse"))(ts, x, y, w)
    kernel, bias = np.asarray(ts.params["kernel"]), np.asarray(ts.params["bias"])
    r = x @ kernel + bias - y  # (6, 1)
    np.testing.assert_allclose(logs["loss"], np.sum(r[:, 0] ** 2 * w) / 6, rtol=1e-5)
    assert not np.isclose(np.sum(r[:, 0] ** 2 * w) / 6, np.sum(r[:, 0] ** 2 * w) / w.sum())
    d = 2 * r * w[:, None] / 6
    np.testing.assert_allclose(new.params["kernel"], kernel - 0.1 * x.T @ d, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(new.params["bias"], bias - 0.1 * d.sum(0), rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------------------------
# The softmax/sigmoid + cross-entropy fusion.


def _np_log_softmax(z):
    z = z.astype(np.float64)
    m = z.max(-1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(-1, keepdims=True))


EXTREME = [
    ("softmax_sparse", "softmax", SCCE, np.array([1, 2], np.int32)),
    ("softmax_onehot", "softmax", "categorical_crossentropy",
     np.array([[0, 1, 0], [0, 0, 1]], np.float32)),
    ("sigmoid_binary", "sigmoid", "binary_crossentropy", np.array([[0.0], [1.0]], np.float32)),
]


@pytest.mark.parametrize("activation, loss, y", [e[1:] for e in EXTREME], ids=[e[0] for e in EXTREME])
def test_fused_cross_entropy_is_exact_where_probabilities_saturate(activation, loss, y):
    units = 1 if activation == "sigmoid" else 3
    model = Dense(units, activation=activation)
    tx = optax.sgd(1e-3)
    ts = TrainState.create(model, tx, rng=0, input_shape=(None, 2))
    kernel = np.array([[100.0, -100.0, 0.0], [50.0, 0.0, -50.0]], np.float32)[:, :units]
    ts = ts._replace(params={"kernel": jnp.asarray(kernel), "bias": jnp.zeros(units)},
                     opt_state=tx.init({"kernel": jnp.asarray(kernel), "bias": jnp.zeros(units)}))
    x = np.array([[8.0, 0.0], [-4.0, -8.0]], np.float32)
    z = x @ kernel  # logits of +-800: float32 probabilities are exactly 0 and 1
    probs = make_predict_step(model)(ts.params, ts.state, x)
    assert np.any(np.asarray(probs) == 0.0) and np.any(np.asarray(probs) == 1.0)
    if activation == "softmax":
        onehot = y if y.ndim == 2 else np.eye(3)[y]
        expected = -(onehot * _np_log_softmax(z)).sum(-1).mean()
    else:
        expected = np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))))
    assert expected > 100  # far beyond the clipped form's -log(1e-7) = 16.1
    logs = jax.jit(make_eval_step(model, loss))(ts.params, ts.state, x, y)
    np.testing.assert_allclose(logs["loss"], expected, rtol=1e-6)
    new, train_logs = jax.jit(make_train_step(model, loss))(ts, x, y)
    np.testing.assert_allclose(train_logs["loss"], expected, rtol=1e-6)
    assert all(np.all(np.isfinite(a)) for a in jax.tree.leaves(new.params))
    # The gradient survives saturation (clipped probabilities would give exactly zero).
    assert not np.array_equal(new.params["kernel"], ts.params["kernel"])


# ---------------------------------------------------------------------------------------------
# The optimizer update, eval and predict against numpy.


def test_rmsprop_step_matches_keras_formula():
    model = Dense(2)
    ts = TrainState.create(model, "rmsprop", rng=0, input_shape=(None, 3))
    rng = np.random.default_rng(3)
    x = rng.normal(size=(4, 3)).astype(np.float32)
    y = rng.normal(size=(4, 2)).astype(np.float32)
    new, _ = jax.jit(make_train_step(model, "mse"))(ts, x, y)
    kernel, bias = np.asarray(ts.params["kernel"], np.float64), np.asarray(ts.params["bias"])
    r = x @ kernel + bias - y  # loss = sum(r**2) / (4 * 2)
    grads = {"kernel": x.T @ (2 * r) / 8, "bias": (2 * r).sum(0) / 8}
    for name, g in grads.items():
        v = 0.1 * g**2  # rho = 0.9, velocity starts at 0
        expected_update = -1e-3 * g / np.sqrt(v + 1e-7)
        np.testing.assert_allclose(np.asarray(new.params[name], np.float64)
                                   - np.asarray(ts.params[name], np.float64),
                                   expected_update, rtol=1e-3, atol=1e-7)


@pytest.fixture(scope="module")
def regression():
    """serial(Dense relu, Dropout, BatchNorm, Dense) with non-trivial BatchNorm statistics."""
    model = serial(Dense(3, activation="relu"), Dropout(0.5), BatchNormalization(), Dense(2))
    ts = TrainState.create(model, "sgd", rng=4, input_shape=(None, 4))
    state = (ts.state[0], ts.state[1],
             {"moving_mean": jnp.array([0.5, -0.2, 0.1]),
              "moving_variance": jnp.array([2.0, 0.5, 1.5])}, ts.state[3])
    rng = np.random.default_rng(5)
    x = rng.normal(size=(6, 4)).astype(np.float32)
    p = _np(ts.params)
    h = np.maximum(x @ p[0]["kernel"] + p[0]["bias"], 0)  # Dropout: identity at inference
    bn = _np(state[2])
    h = (h - bn["moving_mean"]) / np.sqrt(bn["moving_variance"] + 1e-3) * p[2]["gamma"] + p[2]["beta"]
    pred = h @ p[3]["kernel"] + p[3]["bias"]
    return SimpleNamespace(model=model, params=ts.params, state=state, x=x, pred=pred,
                           y=rng.normal(size=(6, 2)).astype(np.float32))


def test_predict_step_matches_numpy(regression):
    r = regression
    out = jax.jit(make_predict_step(r.model))(r.params, r.state, r.x)
    np.testing.assert_allclose(out, r.pred, rtol=1e-5, atol=1e-6)


def test_eval_step_matches_numpy(regression):
    r = regression
    w = np.array([1.0, 0.0, 2.0, 1.0, 0.5, 1.0], np.float32)
    eval_step = jax.jit(make_eval_step(r.model, "mse", metrics=["mae"]))
    logs = eval_step(r.params, r.state, r.x, r.y)
    assert sorted(logs) == ["loss", "mae"]
    np.testing.assert_allclose(logs["loss"], np.mean((r.pred - r.y) ** 2), rtol=1e-5)
    np.testing.assert_allclose(logs["mae"], np.mean(np.abs(r.pred - r.y)), rtol=1e-5)
    logs = eval_step(r.params, r.state, r.x, r.y, w)
    # The loss divides by the batch size (Keras's sum_over_batch_size); metrics= ignore the
    # weights and weighted_metrics= divide by sum(w), as in Keras 3.
    per_example_mse = np.mean((r.pred - r.y) ** 2, -1)
    np.testing.assert_allclose(logs["loss"], np.sum(per_example_mse * w) / 6, rtol=1e-5)
    per_example_mae = np.mean(np.abs(r.pred - r.y), -1)
    np.testing.assert_allclose(logs["mae"], per_example_mae.mean(), rtol=1e-5)
    weighted = jax.jit(make_eval_step(r.model, "mse", weighted_metrics=["mae"]))(
        r.params, r.state, r.x, r.y, w)
    np.testing.assert_allclose(weighted["mae"], np.sum(per_example_mae * w) / w.sum(), rtol=1e-5)


@pytest.mark.parametrize("loss", ["mse", lambda y_true, y_pred: jnp.mean(
    jnp.square(y_true - y_pred), axis=-1)], ids=["mse", "custom_callable"])
def test_targets_of_shape_n_against_outputs_of_shape_n_1(loss):
    model = Dense(1)
    ts = TrainState.create(model, optax.sgd(0.01), rng=0, input_shape=(None, 3))
    rng = np.random.default_rng(6)
    x = rng.normal(size=(5, 3)).astype(np.float32)
    y = rng.normal(size=(5,)).astype(np.float32)
    pred = x @ np.asarray(ts.params["kernel"]) + np.asarray(ts.params["bias"])  # (5, 1)
    true_loss = np.mean((y - pred[:, 0]) ** 2)
    assert not np.isclose(true_loss, np.mean((y[None, :] - pred) ** 2))  # the (N, N) broadcast
    logs = jax.jit(make_eval_step(model, loss, metrics=["mae"]))(ts.params, ts.state, x, y)
    np.testing.assert_allclose(logs["loss"], true_loss, rtol=1e-5)
    np.testing.assert_allclose(logs["mae"], np.mean(np.abs(y - pred[:, 0])), rtol=1e-5)
    _, train_logs = jax.jit(make_train_step(model, loss))(ts, x, y)
    np.testing.assert_allclose(train_logs["loss"], true_loss, rtol=1e-5)


# ---------------------------------------------------------------------------------------------
# The optimizer lives in one place: the TrainState.


def test_the_step_uses_the_train_states_optimizer_and_refuses_another():
    model = Dense(1, kernel_initializer="zeros")
    ts = TrainState.create(model, optax.sgd(0.01), rng=0, input_shape=(None, 2))
    x, y = jnp.ones((4, 2)), jnp.ones((4, 1))
    new, _ = jax.jit(make_train_step(model, "mse", optimizer=ts.tx))(ts, x, y)
    # mse gradient at zero weights: d/dk mean((1 - x@k)^2) = -2 per kernel entry; lr 0.01.
    np.testing.assert_allclose(new.params["kernel"], np.full((2, 1), 0.02), rtol=1e-6)
    with pytest.raises(ValueError, match=r"the optimizer lives in the TrainState .* is a different "
                                         r"object\. Create the state with the optimizer you mean"):
        jax.jit(make_train_step(model, "mse", optimizer=optax.sgd(100.0)))(ts, x, y)
    with pytest.raises(TypeError, match=r"got the optimizer 'rmsprop' where the metrics go\. The "
                                        r"optimizer now lives in the TrainState"):
        make_train_step(model, "mse", "rmsprop")
    with pytest.raises(TypeError, match=r"got the optimizer GradientTransformation"):
        make_train_step(model, "mse", optax.adam(1e-3))


def test_train_state_is_a_pytree_that_jit_donates_and_checkpoints_save(tmp_path):
    from fnnet import checkpoint

    model = serial(Dense(3, activation="relu"), Dense(1))
    ts = TrainState.create(model, "adam", rng=0, input_shape=(None, 2))
    assert isinstance(jax.tree.leaves(ts)[0], jax.Array)
    assert not any(isinstance(leaf, optax.GradientTransformation) for leaf in jax.tree.leaves(ts))
    step = jax.jit(make_train_step(model, "mse"), donate_argnums=0)
    x, y = jnp.ones((4, 2)), jnp.zeros((4, 1))
    ts, _ = step(ts, x, y)
    ts, _ = step(ts, x, y)  # donating twice: no shared buffers in the state
    checkpoint.save_tree(tmp_path / "ts.safetensors", ts)
    again, _ = checkpoint.load_tree(tmp_path / "ts.safetensors", ts)
    assert again.tx is ts.tx and int(again.step) == 2
    jax.tree.map(np.testing.assert_array_equal, again.params, ts.params)


def test_a_named_optimizer_with_an_optax_schedule_donates_cleanly():
    tx = optimizers.get("adam", learning_rate=optax.linear_schedule(1e-3, 1e-4, 100))
    model = Dense(1)
    ts = TrainState.create(model, tx, rng=0, input_shape=(None, 2))
    ids = [id(a) for a in jax.tree.leaves(ts)]
    assert len(ids) == len(set(ids))
    step = jax.jit(make_train_step(model, "mse"), donate_argnums=0)
    for _ in range(3):
        ts, logs = step(ts, jnp.ones((4, 2)), jnp.zeros((4, 1)))
    assert int(ts.step) == 3 and np.isfinite(float(logs["loss"]))


def test_a_loss_that_returns_a_scalar_is_refused_with_the_fix():
    model = Dense(1)
    ts = TrainState.create(model, "sgd", rng=0, input_shape=(None, 2))
    step = make_train_step(model, lambda y, p: jnp.mean(jnp.square(y - p)))
    with pytest.raises(ValueError, match=r"returned shape \(\) for predictions of shape \(4, 1\); "
                                         r"fnnet losses return one value per example.*Reduce over "
                                         r"the last axis only"):
        jax.jit(step)(ts, jnp.ones((4, 2)), jnp.zeros((4, 1)))


# ---------------------------------------------------------------------------------------------
# Your own objective: value_and_grad over ts.params, then ts.apply_gradients.


def _tiny_classifier():
    model = serial(Dense(8, activation="relu"), Dense(3))
    ts = TrainState.create(model, optax.sgd(0.1), rng=0, input_shape=(None, 4))
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(12, 4)), jnp.float32)
    y = jnp.asarray(rng.integers(0, 3, size=12), jnp.int32)
    return model, ts, x, y


def test_custom_objective_l2_on_some_layers_and_an_auxiliary_loss():
    model, ts, x, y = _tiny_classifier()

    def objective(params):
        logits, new_state = model.apply(params, ts.state, x, training=True)
        ce = jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, y))
        l2 = 1e-2 * jnp.sum(jnp.square(params[0]["kernel"]))  # the first layer only
        aux = 0.1 * jnp.mean(jnp.square(logits))  # keep logits small
        return ce + l2 + aux, new_state

    (loss, new_state), grads = jax.value_and_grad(objective, has_aux=True)(ts.params)
    new = ts.apply_gradients(grads, state=new_state)
    # By hand: sgd(0.1) moves every param by -0.1 * grad; the L2 term adds 0.02 * k to layer 0's.
    grads_without = jax.grad(lambda p: objective(p)[0] - 1e-2 * jnp.sum(
        jnp.square(p[0]["kernel"])))(ts.params)
    np.testing.assert_allclose(grads[0]["kernel"] - grads_without[0]["kernel"],
                               2e-2 * ts.params[0]["kernel"], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(grads[1]["kernel"], grads_without[1]["kernel"], rtol=1e-6)
    np.testing.assert_allclose(new.params[1]["bias"], ts.params[1]["bias"] - 0.1 * grads[1]["bias"],
                               rtol=1e-6, atol=1e-7)
    assert int(new.step) == 1 and np.isfinite(float(loss))


def test_custom_objective_dp_sgd_per_example_clipped_gradients():
    model, ts, x, y = _tiny_classifier()
    clip, noise = 1.0, 0.5

    def one_loss(params, xi, yi):
        logits, _ = model.apply(params, ts.state, xi[None], training=True)
        return optax.softmax_cross_entropy_with_integer_labels(logits, yi[None])[0]

    def clipped(g):
        norm = jnp.sqrt(sum(jnp.sum(jnp.square(a)) for a in jax.tree.leaves(g)))
        return jax.tree.map(lambda a: a * jnp.minimum(1.0, clip / norm), g)

    @jax.jit
    def dp_step(ts, x, y, key):
        per_example = jax.vmap(jax.grad(one_loss), in_axes=(None, 0, 0))(ts.params, x, y)
        summed = jax.tree.map(lambda g: jnp.sum(g, 0), jax.vmap(clipped)(per_example))
        leaves, treedef = jax.tree.flatten(summed)
        keys = jax.random.split(key, len(leaves))
        noisy = [g + noise * clip * jax.random.normal(k, g.shape) for g, k in
                 zip(leaves, keys, strict=True)]
        return ts.apply_gradients(jax.tree.map(lambda g: g / x.shape[0],
                                               jax.tree.unflatten(treedef, noisy)))

    key = jax.random.key(1)
    new = dp_step(ts, x, y, key)
    # The same computation example by example, in a Python loop.
    total = jax.tree.map(jnp.zeros_like, ts.params)
    for i in range(x.shape[0]):
        total = jax.tree.map(jnp.add, total, clipped(jax.grad(one_loss)(ts.params, x[i], y[i])))
    leaves, treedef = jax.tree.flatten(total)
    keys = jax.random.split(key, len(leaves))
    noisy = [g + noise * clip * jax.random.normal(k, g.shape) for g, k in
             zip(leaves, keys, strict=True)]
    expected = ts.apply_gradients(jax.tree.map(lambda g: g / x.shape[0],
                                               jax.tree.unflatten(treedef, noisy)))
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6),
                 new.params, expected.params)


def test_per_example_grads_equal_a_loop_over_single_examples():
    from fnnet import per_example_grads
    from fnnet.layers import BatchNormalization

    model = serial(Dense(5, activation="relu"), BatchNormalization(), Dense(3, activation="softmax"))
    _, params, state = model.init(jax.random.key(0), (None, 4))
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(6, 4)), jnp.float32)
    y = jnp.asarray(rng.integers(0, 3, 6), jnp.int32)
    grads = jax.jit(per_example_grads(model, SCCE))(params, state, x, y)
    eval_step = make_eval_step(model, SCCE)
    for i in range(6):
        one = jax.grad(lambda p, i=i: eval_step(p, state, x[i:i + 1], y[i:i + 1])["loss"])(params)
        jax.tree.map(lambda g, o, i=i: np.testing.assert_allclose(g[i], o, rtol=1e-5, atol=1e-6),
                     grads, one)
