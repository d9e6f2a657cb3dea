"""Freezing, as Keras has it (``trainable``, honoured at compile) and functionally
(``fnnet.trainable_mask`` + ``fnnet.optimizers.freeze``)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import fnnet
from fnnet import layers, models
from fnnet.utils import set_random_seed


def data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    return x, (x[:, 0] > 0).astype(np.int32)


def build(**first):
    set_random_seed(0)
    return models.Sequential([layers.Dense(6, activation="relu", input_shape=(4,), **first),
                              layers.BatchNormalization(),
                              layers.Dense(2, activation="softmax")])


def test_a_frozen_layer_does_not_move_and_gets_no_optimizer_state():
    model = build()
    model.layers[0].trainable = False
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    before = model.get_weights()
    x, y = data()
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    after = model.get_weights()
    np.testing.assert_array_equal(after[0], before[0])  # frozen kernel
    np.testing.assert_array_equal(after[1], before[1])  # frozen bias
    assert not np.array_equal(after[-2], before[-2])  # the head trained
    # Adam keeps two moments per trainable param and none for the frozen ones.
    moments = [a.size for a in jax.tree.leaves(model.train_state.opt_state) if np.ndim(a) > 0]
    frozen = 4 * 6 + 6
    trainable = sum(a.size for a in after) - frozen - 2 * 6  # minus BN's moving statistics
    assert sum(moments) == 2 * trainable


def test_trainable_is_read_at_compile_as_in_keras():
    model = build()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.layers[0].trainable = False  # after compile: takes effect at the next compile
    x, y = data()
    before = model.get_weights()[0]
    model.fit(x, y, epochs=1, verbose=0)
    assert not np.array_equal(model.get_weights()[0], before)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    before = model.get_weights()[0]
    model.fit(x, y, epochs=1, verbose=0)
    np.testing.assert_array_equal(model.get_weights()[0], before)


def test_constructor_argument_and_model_level_flag():
    model = build(trainable=False)
    assert model.layers[0].trainable is False
    model.trainable = False
    assert all(not layer.trainable for layer in model.layers)
    model.trainable = True
    assert all(layer.trainable for layer in model.layers)


def test_summary_counts_frozen_params_as_non_trainable():
    model = build()
    model.layers[2].trainable = False
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    # Dense(6): 30 trainable; BN: gamma+beta 12 trainable, 12 moving stats; head 14 frozen.
    assert "Total params: 68" in text
    assert "Trainable params: 42" in text
    assert "Non-trainable params: 26" in text


def test_a_frozen_batchnorm_runs_in_inference_mode_as_in_keras():
    model = build()
    model.layers[1].trainable = False
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    stats = [np.array(w) for w in model.get_weights()[4:6]]
    x, y = data()
    model.fit(x, y, epochs=1, verbose=0)
    for a, b in zip(stats, model.get_weights()[4:6], strict=True):
        np.testing.assert_array_equal(a, b)  # moving statistics untouched


def test_functional_freezing_with_a_mask():
    base, head = layers.Dense(4), layers.Dense(2)
    model = fnnet.serial(base, head)
    _, params, state = model.init(jax.random.key(0), (None, 3))
    base.trainable = False
    tx = fnnet.optimizers.freeze(optax.sgd(0.1), fnnet.trainable_mask(model, params))
    ts = fnnet.TrainState.from_params(params, state, tx, rng=0)
    step = jax.jit(fnnet.make_train_step(model, "mse"))
    x, y = jnp.ones((5, 3)), jnp.zeros((5, 2))
    new, _ = step(ts, x, y)
    jax.tree.map(np.testing.assert_array_equal, new.params[0], params[0])
    assert not np.array_equal(new.params[1]["kernel"], params[1]["kernel"])


def test_frozen_layers_keep_their_flag_through_save_and_load(tmp_path):
    model = build()
    model.layers[0].trainable = False
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.save(tmp_path / "m.safetensors")
    again = models.load_model(tmp_path / "m.safetensors")
    assert [layer.trainable for layer in again.layers] == [False, True, True]
    x, y = data()
    before = again.get_weights()[0]
    again.fit(x, y, epochs=1, verbose=0)
    np.testing.assert_array_equal(again.get_weights()[0], before)


def test_trainable_must_be_a_bool():
    with pytest.raises(TypeError, match="trainable must be True or False; got 'no'"):
        layers.Dense(2, trainable="no")
