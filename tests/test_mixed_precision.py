"""Dtype policies and dynamic loss scaling (fnnet.mixed_precision)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from fnnet import layers, mixed_precision, models, utils
from fnnet.datasets import mnist


@pytest.fixture
def policy():
    yield mixed_precision.set_global_policy
    mixed_precision.set_global_policy("float32")


def test_policies_parse_as_keras():
    p = mixed_precision.Policy("mixed_bfloat16")
    assert (p.compute_dtype, p.variable_dtype, p.is_mixed) == ("bfloat16", "float32", True)
    assert mixed_precision.Policy("float32").is_mixed is False
    with pytest.raises(ValueError, match=r"Policy\('mixed_int8'\): valid policies are "
                                         r"'mixed_float16', 'mixed_bfloat16'"):
        mixed_precision.Policy("mixed_int8")
    with pytest.raises(TypeError, match=r"Policy\(name\): expected a str"):
        mixed_precision.Policy(16)


def test_a_mixed_layer_stores_float32_and_computes_low(policy):
    policy("mixed_bfloat16")
    dense = layers.Dense(4)
    policy("float32")
    _, params, state = dense.init(jax.random.key(0), (None, 3))
    y, _ = dense.apply(params, state, jnp.ones((2, 3)))
    assert params["kernel"].dtype == jnp.float32 and y.dtype == jnp.bfloat16
    assert dense.config["dtype"] == "mixed_bfloat16"
    explicit = layers.Dense(4, dtype="float32", param_dtype="bfloat16")
    _, params, _ = explicit.init(jax.random.key(0), (None, 3))
    assert params["kernel"].dtype == jnp.bfloat16


def test_loss_scaling_skips_an_overflow_and_adapts_the_scale():
    tx = mixed_precision.LossScaleOptimizer(optax.sgd(1.0), initial_scale=8.0,
                                            dynamic_growth_steps=2)
    params = jnp.ones(2)
    state = tx.init(params)
    updates, state = tx.update(jnp.array([jnp.inf, 8.0]), state, params)
    np.testing.assert_array_equal(updates, [0.0, 0.0])  # the step is skipped
    assert float(state.scale) == 4.0
    for _ in range(2):
        updates, state = tx.update(jnp.array([4.0, 8.0]), state, params)
    np.testing.assert_allclose(updates, [-1.0, -2.0])  # gradients unscaled by 4
    assert float(state.scale) == 8.0  # doubled after 2 finite steps
    with pytest.raises(ValueError, match=r"initial_scale\): expected a finite number > 0"):
        mixed_precision.LossScaleOptimizer(optax.sgd(1.0), initial_scale=0)


def test_mixed_float16_fit_recovers_from_an_injected_overflow(policy):
    policy("mixed_float16")
    utils.set_random_seed(0)
    model = models.Sequential([layers.Dense(16, activation="relu", input_shape=(8,)),
                               layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    policy("float32")
    x = np.random.default_rng(0).random((64, 8), dtype=np.float32)
    y = x[:, :3].argmax(1).astype(np.int32)
    model.fit(x, y, epochs=1, verbose=0)
    scale = float(mixed_precision.loss_scale(model.train_state.opt_state))
    before = model.get_weights()
    spike = x[:32].copy()
    spike[0] = 6e4  # overflows float16 activations: inf gradients
    model.fit(spike, y[:32], epochs=1, batch_size=32, verbose=0)
    assert float(mixed_precision.loss_scale(model.train_state.opt_state)) == scale / 2
    for a, b in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)  # the overflowing step was skipped
    history = model.fit(x, y, epochs=3, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert history.history["loss"][-1] < history.history["loss"][0]


@pytest.mark.slow
def test_mixed_bfloat16_reaches_float32_accuracy_on_real_digits(policy, mnist_dir):
    (x, y), (xt, yt) = mnist.load_idx_split(mnist_dir, n_train=8000)
    x = x.reshape(len(x), -1).astype("float32") / 255
    xt = xt.reshape(len(xt), -1).astype("float32") / 255

    def run(name):
        policy(name)
        utils.set_random_seed(0)
        model = models.Sequential([layers.Dense(512, activation="relu", input_shape=(784,)),
                                   layers.Dense(10, activation="softmax")])
        model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        policy("float32")
        model.fit(x, y, epochs=3, batch_size=128, verbose=0)
        return model.evaluate(xt, yt, verbose=0)[1]

    full, mixed = run("float32"), run("mixed_bfloat16")
    assert mixed >= full - 0.005, (full, mixed)
