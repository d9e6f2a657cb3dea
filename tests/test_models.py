"""Tests for the Keras-style Sequential: fit/evaluate/predict, compile counts, callbacks, data."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from _helpers import assert_history_close

import fnnet
from fnnet import callbacks, layers, models
from fnnet.utils import set_random_seed, to_categorical


def make_data(n=200, d=8, classes=3, seed=0):
    """A learnable problem: the class is the argmax of the first ``classes`` features."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, d), dtype=np.float32)
    y = x[:, :classes].argmax(1).astype(np.int32)
    return x, y


def small_model(d=8, classes=3, hidden=16, dropout=None, seed=0, **compile_kw):
    set_random_seed(seed)
    stack = [layers.Dense(hidden, activation="relu", input_shape=(d,))]
    if dropout:
        stack.append(layers.Dropout(dropout))
    stack.append(layers.Dense(classes, activation="softmax"))
    model = models.Sequential(stack)
    compile_kw.setdefault("loss", "sparse_categorical_crossentropy")
    compile_kw.setdefault("metrics", ["accuracy"])
    model.compile(optimizer=compile_kw.pop("optimizer", "rmsprop"), **compile_kw)
    return model


def cache_size(model, kind, batch_size):
    """Compiled executables of ``kind``; "train" counts the fused whole-epoch program too."""
    programs = model._predict_programs if kind == "predict" else model._compiled.programs
    return programs.count_executables(kind, batch_size)


# --------------------------------------------------------------------------- the model is a Layer
def test_sequential_is_a_layer_equal_to_serial():
    model = small_model()
    assert isinstance(model, fnnet.Layer)
    init, apply = model  # unpacks like any stax pair
    x, _ = make_data(5)
    ref = fnnet.serial(*model.layers)
    y_model, _ = apply(model.params, model.state, jnp.asarray(x))
    y_serial, _ = ref.apply(model.params, model.state, jnp.asarray(x))
    np.testing.assert_array_equal(np.asarray(y_model), np.asarray(y_serial))
    shape, params, state = model.init(jax.random.key(0), (None, 8))
    assert shape == (None, 3)
    assert jax.tree.map(jnp.shape, params) == jax.tree.map(jnp.shape, model.params)
    # It composes as a layer inside other combinators.
    outer = fnnet.serial(model, layers.Activation("linear"))
    y_outer, _ = outer.apply((model.params, ()), (model.state, ()), jnp.asarray(x))
    np.testing.assert_allclose(np.asarray(y_outer), np.asarray(y_model))


def test_layer_names_input_and_summary(capsys):
    model = models.Sequential([models.Input((4,)), layers.Dense(3), layers.Dense(2)])
    assert [lay.name for lay in model.layers] == ["dense", "dense_1"]
    assert model.input_shape == (None, 4)
    assert model.output_shape == (None, 2)
    model.summary()
    out = capsys.readouterr().out
    assert "dense_1 (Dense)" in out
    assert "Total params: 23" in out  # 4*3+3 + 3*2+2
    assert "Trainable params: 23" in out and "Non-trainable params: 0" in out
    assert model.count_params() == 23


def test_get_set_weights_keras_order_and_roundtrip():
    model = models.Sequential([layers.Dense(3, input_shape=(4,)), layers.BatchNormalization(),
                               layers.Dense(2)])
    shapes = [w.shape for w in model.get_weights()]
    # Keras order: kernel, bias; gamma, beta, moving_mean, moving_variance; kernel, bias.
    assert shapes == [(4, 3), (3,), (3,), (3,), (3,), (3,), (3, 2), (2,)]
    new = [np.full(s, i, np.float32) for i, s in enumerate(shapes)]
    model.set_weights(new)
    got = model.get_weights()
    for a, b in zip(new, got, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(np.asarray(model.state[1]["moving_mean"]), new[4])
    with pytest.raises(ValueError, match=r"expected a list of 8 arrays"):
        model.set_weights(new[:-1])
    with pytest.raises(ValueError, match=r"weight #0 has shape \(2, 2\), expected \(4, 3\)"):
        model.set_weights([np.zeros((2, 2))] + new[1:])


# --------------------------------------------------------------------------- fit / evaluate / predict
def test_fit_learns_and_history_has_keras_keys():
    model = small_model()
    x, y = make_data(300)
    history = model.fit(x, y, epochs=6, batch_size=32, validation_split=0.2, verbose=0)
    assert list(history.history) == ["loss", "accuracy", "val_loss", "val_accuracy"]
    assert all(len(v) == 6 for v in history.history.values())
    assert history.epoch == list(range(6))
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert model.history is history


def test_validation_split_takes_the_last_fraction_before_shuffling():
    model = small_model()
    x, y = make_data(200)
    history = model.fit(x, y, epochs=1, batch_size=32, validation_split=0.25, verbose=0)
    loss, acc = model.evaluate(x[150:], y[150:], batch_size=32, verbose=0)
    assert history.history["val_loss"][-1] == pytest.approx(loss, rel=1e-6)
    assert history.history["val_accuracy"][-1] == pytest.approx(acc, rel=1e-6)


def test_class_weight_never_weights_the_validation_split():
    # As Keras: class_weight weights the training rows only; val_loss is the plain loss.
    model = small_model()
    x, y = make_data(200)
    history = model.fit(x, y, epochs=1, batch_size=32, validation_split=0.25, verbose=0,
                        class_weight={0: 50.0, 1: 1.0, 2: 1.0})
    assert history.history["val_loss"][-1] == pytest.approx(
        model.evaluate(x[150:], y[150:], verbose=0)[0], rel=1e-6)


def test_loss_weights_as_a_list_weight_each_output():
    set_random_seed(0)
    inputs = fnnet.Input((8,))
    hidden = layers.Dense(4, activation="relu")(inputs)
    model = models.Model(inputs, [layers.Dense(3, name="a")(hidden),
                                  layers.Dense(3, name="b")(hidden)])
    model.compile(optimizer="sgd", loss=["mse", "mae"], loss_weights=[0.3, 2.0])
    x, y = make_data(32)
    targets = [np.eye(3, dtype=np.float32)[y], np.ones((32, 3), np.float32)]
    logs = model.evaluate(x, targets, verbose=0, return_dict=True)
    assert logs["loss"] == pytest.approx(0.3 * logs["a_loss"] + 2.0 * logs["b_loss"], rel=1e-5)


def test_last_partial_batch_is_trained_on_exactly():
    """fit without shuffling equals the pure step on slices [0:32], [32:64], [64:70]."""
    x, y = make_data(70)
    model = small_model()
    start = model.train_state
    step = jax.jit(fnnet.make_train_step(model, "sparse_categorical_crossentropy"))
    ts = start
    for lo in range(0, 70, 32):
        ts, _ = step(ts, jnp.asarray(x[lo:lo + 32]), jnp.asarray(y[lo:lo + 32]))
    model.fit(x, y, epochs=1, batch_size=32, shuffle=False, verbose=0)
    assert int(model.train_state.step) == 3
    for a, b in zip(jax.tree.leaves(model.params), jax.tree.leaves(ts.params), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=2e-5, atol=1e-6)


def test_epoch_metrics_are_exact_dataset_averages():
    model = small_model()
    x, y = make_data(70)
    # evaluate in batches of 32 (with a padded last batch) equals evaluating all at once.
    a = model.evaluate(x, y, batch_size=32, verbose=0, return_dict=True)
    b = model.evaluate(x, y, batch_size=70, verbose=0, return_dict=True)
    assert a == pytest.approx(b, rel=1e-5)
    probs = model.predict(x, verbose=0)
    ref_loss = -np.mean(np.log(np.clip(probs[np.arange(70), y], 1e-7, 1)))
    assert a["loss"] == pytest.approx(ref_loss, rel=1e-4)
    assert a["accuracy"] == pytest.approx(np.mean(probs.argmax(1) == y))


def test_predict_returns_numpy_in_input_order():
    model = small_model()
    x, _ = make_data(45)
    out = model.predict(x, batch_size=16, verbose=0)
    assert isinstance(out, np.ndarray) and out.shape == (45, 3)
    ref, _ = model.apply(model.params, model.state, jnp.asarray(x))
    np.testing.assert_allclose(out, np.asarray(ref), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.predict_on_batch(x[:5]), out[:5], rtol=1e-5, atol=1e-6)


def test_predict_works_before_compile():
    model = models.Sequential([layers.Dense(2, input_shape=(3,))])
    assert model.predict(np.ones((4, 3), np.float32), verbose=0).shape == (4, 2)


def test_evaluate_return_forms():
    model = small_model(metrics=[])
    x, y = make_data(40)
    loss = model.evaluate(x, y, verbose=0)
    assert isinstance(loss, float)
    model = small_model(metrics=["accuracy", "sparse_top_k_categorical_accuracy"])
    values = model.evaluate(x, y, verbose=0)
    assert isinstance(values, list) and len(values) == 3
    d = model.evaluate(x, y, verbose=0, return_dict=True)
    assert list(d) == ["loss", "accuracy", "sparse_top_k_categorical_accuracy"]


def test_on_batch_methods():
    model = small_model()
    x, y = make_data(16)
    before = int(model.train_state.step)
    loss, acc = model.train_on_batch(x, y)
    assert int(model.train_state.step) == before + 1 and np.isfinite(loss) and 0 <= acc <= 1
    assert model.test_on_batch(x, y, return_dict=True).keys() == {"loss", "accuracy"}
    assert int(model.train_state.step) == before + 1


def test_sample_and_class_weights():
    x, y = make_data(64)
    m1 = small_model()
    w = np.where(y == 0, 2.0, 1.0).astype(np.float32)
    r1 = m1.evaluate(x, y, sample_weight=w, verbose=0, return_dict=True)
    probs = m1.predict(x, verbose=0)
    per = -np.log(np.clip(probs[np.arange(64), y], 1e-7, 1))
    # Keras's sum_over_batch_size: sum(loss * w) / n.
    assert r1["loss"] == pytest.approx(np.sum(per * w) / 64, rel=1e-4)
    a = small_model(seed=3)
    b = small_model(seed=3)
    a.fit(x, y, epochs=2, batch_size=16, sample_weight=w, shuffle=False, verbose=0)
    b.fit(x, y, epochs=2, batch_size=16, class_weight={0: 2.0, 1: 1.0, 2: 1.0}, shuffle=False,
          verbose=0)
    for p, q in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_allclose(p, q, rtol=1e-6)


def test_y_of_shape_n_against_output_n_1_gives_the_true_loss():
    set_random_seed(0)
    model = models.Sequential([layers.Dense(1, input_shape=(2,))])
    model.compile(optimizer="sgd", loss="mse")
    x = np.random.default_rng(0).random((10, 2), dtype=np.float32)
    y = np.arange(10, dtype=np.float32)
    pred = model.predict(x, verbose=0)[:, 0]
    assert model.evaluate(x, y, verbose=0) == pytest.approx(np.mean((y - pred) ** 2), rel=1e-5)


# --------------------------------------------------------------------------- compiles once
def test_fit_evaluate_predict_compile_once():
    model = small_model()
    x, y = make_data(70)  # 70 = 2 full batches of 32 and a partial one
    model.fit(x, y, epochs=3, batch_size=32, validation_data=(x[:50], y[:50]), verbose=0)
    model.fit(x, y, epochs=2, batch_size=32, validation_data=(x[:50], y[:50]), verbose=0)
    assert cache_size(model, "train", 32) == 1
    # Validation passes as many rows as fnnet's memory budget allows: one program in all.
    assert cache_size(model, "eval", None) == 1
    model.evaluate(x, y, batch_size=32, verbose=0)
    model.evaluate(x[:50], y[:50], batch_size=32, verbose=0)
    assert cache_size(model, "eval", 32) == 2  # one program per dataset shape, not per batch
    model.predict(x, batch_size=32, verbose=0)
    model.predict(x, batch_size=32, verbose=0)
    assert cache_size(model, "predict", 32) == 1


def test_steps_per_execution_chunks_give_identical_results():
    x, y = make_data(100)
    results = []
    for spe in (None, 1, 3):
        model = small_model(seed=5, steps_per_execution=spe)
        h = model.fit(x, y, epochs=2, batch_size=16, verbose=0)
        results.append((h.history, model.get_weights()))
        assert cache_size(model, "train", 16) == 1
    for hist, weights in results[1:]:
        assert_history_close(hist, results[0][0])
        for a, b in zip(weights, results[0][1], strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_history_comparison_catches_a_real_difference():
    a = {"loss": [1.0, 0.5], "accuracy": [0.25, 0.5]}
    assert_history_close(a, {"loss": [1.0, 0.5000001], "accuracy": [0.25, 0.5]}, rtol=1e-6)
    with pytest.raises(AssertionError, match="history\\['loss'\\]"):
        assert_history_close(a, {"loss": [1.0, 0.51], "accuracy": [0.25, 0.5]}, rtol=1e-6)
    with pytest.raises(AssertionError, match="keys differ"):
        assert_history_close(a, {"loss": [1.0, 0.5]})
    with pytest.raises(AssertionError, match="epochs"):
        assert_history_close(a, {"loss": [1.0], "accuracy": [0.25]})


# --------------------------------------------------------------------------- reproducibility
def test_one_seed_makes_a_run_reproducible():
    x, y = make_data(100)
    runs = []
    for _ in range(2):
        model = small_model(dropout=0.3, seed=11)
        h = model.fit(x, y, epochs=2, batch_size=16, verbose=0)
        runs.append((h.history, model.get_weights()))
    assert runs[0][0] == runs[1][0]
    for a, b in zip(runs[0][1], runs[1][1], strict=True):
        np.testing.assert_array_equal(a, b)
    other = small_model(dropout=0.3, seed=12)
    assert not np.array_equal(other.get_weights()[0], runs[0][1][0])


# --------------------------------------------------------------------------- verbose formats
def test_verbose_modes(capsys):
    model = small_model()
    x, y = make_data(64)
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    assert capsys.readouterr().out == ""
    model.fit(x, y, epochs=2, batch_size=16, verbose=2, validation_split=0.25)
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.strip()]
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2"
    assert re.fullmatch(
        r"3/3 - \d+s - \d+(ms|us|s)/step - loss: [\d.e-]+ - accuracy: [\d.]+ - val_loss: "
        r"[\d.e-]+ - val_accuracy: [\d.]+", lines[1]), lines[1]
    model.fit(x, y, epochs=2, batch_size=16, verbose=1)
    out = capsys.readouterr().out
    assert "Epoch 2/2" in out and "4/4" in out and "loss:" in out


# --------------------------------------------------------------------------- callbacks
def test_early_stopping_restores_best_weights():
    model = small_model()
    x, y = make_data(64)
    seen = []

    class Record(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(self.model.get_weights())

    # A monitor that gets worse after epoch 1: the best weights are those of epoch 1.
    script = iter([0.5, 0.3, 0.4, 0.6, 0.7, 0.8])

    class FakeMetric(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["score"] = next(script)

    stop = callbacks.EarlyStopping(monitor="score", patience=2, restore_best_weights=True)
    h = model.fit(x, y, epochs=10, batch_size=16, verbose=0,
                  callbacks=[FakeMetric(), Record(), stop])
    assert len(h.history["loss"]) == 4
    for a, b in zip(model.get_weights(), seen[1], strict=True):
        np.testing.assert_array_equal(a, b)


def test_reduce_lr_on_plateau_changes_rate_without_recompiling():
    model = small_model()
    x, y = make_data(64)
    rates = []

    class Flat(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["flat"] = 1.0
            rates.append(self.model.optimizer.learning_rate)

    cb = callbacks.ReduceLROnPlateau(monitor="flat", factor=0.5, patience=1, min_delta=0.0)
    model.fit(x, y, epochs=4, batch_size=16, verbose=0, callbacks=[Flat(), cb])
    assert model.optimizer.learning_rate == pytest.approx(1e-3 * 0.5 ** 3, rel=1e-5)
    assert rates[0] == pytest.approx(1e-3)
    assert cache_size(model, "train", 16) == 1


def test_callback_weight_changes_between_epochs_take_effect():
    model = small_model()
    x, y = make_data(32)

    class Zero(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.set_weights([np.zeros_like(w) for w in self.model.get_weights()])

    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, batch_size=32, verbose=0, callbacks=[Zero()])
    assert all(not w.any() for w in model.get_weights())


def test_stop_training_from_a_batch_hook():
    model = small_model()
    x, y = make_data(64)

    class StopNow(callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            self.model.stop_training = True

    h = model.fit(x, y, epochs=5, batch_size=16, verbose=0, callbacks=[StopNow()])
    assert len(h.history["loss"]) == 1


# --------------------------------------------------------------------------- errors
@pytest.fixture(scope="module")
def compiled():
    return small_model()


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(batch_size=0), ValueError, r"batch_size.*positive int; got 0"),
        (dict(batch_size=-3), ValueError, r"batch_size.*got -3"),
        (dict(batch_size=2.5), ValueError, r"batch_size.*got 2.5"),
        (dict(validation_split=0.999), ValueError, r"leaves 0 to train on"),
        (dict(validation_split=1.5), ValueError, r"validation_split.*\[0, 1\)"),
        (dict(epochs=-1), ValueError, r"epochs.*non-negative int"),
        (dict(verbose=7), ValueError, r"verbose"),
    ],
)
def test_fit_argument_errors(compiled, kwargs, error, match):
    x, y = make_data(20)
    with pytest.raises(error, match=match):
        compiled.fit(x, y, **{"verbose": 0, **kwargs})


def test_data_errors(compiled):
    x, y = make_data(20)
    with pytest.raises(ValueError, match=r"x has 20 examples, y has 19"):
        compiled.fit(x, y[:19], verbose=0)
    with pytest.raises(ValueError, match=r"x is empty"):
        compiled.fit(x[:0], y[:0], verbose=0)
    with pytest.raises(ValueError, match=r"input x has shape \(20, 5\).*'dense'.*\(batch, 8\)"):
        compiled.fit(x[:, :5], y, verbose=0)
    with pytest.raises(ValueError, match=r"input x has shape \(20, 5\)"):
        compiled.predict(x[:, :5], verbose=0)
    with pytest.raises(ValueError, match=r"sparse labels must be in \[0, 3\).*\[1, 3\]"):
        compiled.fit(x, np.where(y == 0, 3, y), verbose=0)
    with pytest.raises(ValueError, match=r"\[-1, 2\]"):
        compiled.evaluate(x, np.where(y == 0, -1, y), verbose=0)
    with pytest.raises(ValueError, match=r"whole numbers, but y contains 0.5"):
        compiled.fit(x, np.full(20, 0.5, np.float32), verbose=0)
    with pytest.raises(TypeError, match=r"dtype <U1, which is not numeric"):
        compiled.fit(x, np.array(["a"] * 20), verbose=0)
    bad = x.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"NaN or Inf \(first at index \(3, 1\)\)"):
        compiled.fit(bad, y, verbose=0)
    with pytest.raises(ValueError, match=r"sample_weight has shape \(3,\), expected \(20,\)"):
        compiled.fit(x, y, sample_weight=np.ones(3), verbose=0)


def test_one_hot_width_mismatch():
    model = small_model(loss="categorical_crossentropy")
    x, y = make_data(20)
    with pytest.raises(ValueError, match=r"y has shape \(20, 4\).*\(batch, 3\).*to_categorical"):
        model.fit(x, to_categorical(y, 4), verbose=0)


def test_fit_before_compile_and_unknown_names():
    model = models.Sequential([layers.Dense(2, input_shape=(3,))])
    with pytest.raises(ValueError, match=r"must be compiled first.*model.compile"):
        model.fit(np.ones((4, 3)), np.ones((4, 2)), verbose=0)
    with pytest.raises(ValueError, match=r"did you mean 'rmsprop'"):
        model.compile(optimizer="rmsprp", loss="mse")
    with pytest.raises(ValueError, match=r"Unknown loss"):
        model.compile(optimizer="sgd", loss="mean_squared_eror")
    with pytest.raises(ValueError, match=r"did you mean"):
        model.compile(optimizer="sgd", loss="mse", metrics=["acuracy"])
    model.compile(optimizer="sgd")
    with pytest.raises(ValueError, match=r"compiled without a loss"):
        model.fit(np.ones((4, 3)), np.ones((4, 2)), verbose=0)


def test_add_errors():
    model = models.Sequential()
    with pytest.raises(TypeError, match=r"Sequential.add: 'dense' \(of type str\) is not a layer"):
        model.add("dense")
    model.add(layers.Dense(2, name="a", input_shape=(3,)))
    with pytest.raises(ValueError, match=r"named 'a' already exists"):
        model.add(layers.Dense(2, name="a"))
    with pytest.raises(ValueError, match=r"Input must come first"):
        model.add(models.Input((3,)))



def test_adding_layers_one_by_one_initializes_each_layer_once_and_keeps_earlier_weights():
    real_inits = []

    def counting(units):
        dense = layers.Dense(units)

        def init(rng, input_shape):
            if not isinstance(rng, jax.core.Tracer):  # a real init, not a shape-only trace
                real_inits.append(units)
            return dense.init(rng, input_shape)

        return fnnet.Layer(init, dense.apply, kind="Counting")

    model = models.Sequential([counting(4), counting(5)])  # no input shape: nothing built yet
    assert real_inits == []
    model.build((None, 3))
    assert real_inits == [4, 5]
    first = jax.tree.map(np.asarray, model.train_state.params)
    for units in (6, 7, 8):
        model.add(counting(units))
    assert real_inits == [4, 5, 6, 7, 8]  # was one init of every layer at every addition
    kept = jax.tree.map(np.asarray, model.train_state.params[:2])
    jax.tree.map(np.testing.assert_array_equal, kept, tuple(first))
    assert model.output_shape == (None, 8)
    model.pop()
    model.add(counting(2))  # a new last layer of another shape: initialized, the rest kept
    assert real_inits[-1] == 2 and model.output_shape == (None, 2)

# --------------------------------------------------------------------------- the book's program
BOOK_PROGRAM = """
from fnnet.datasets import mnist
from fnnet import models, layers
from fnnet.utils import to_categorical

(train_images, train_labels), (test_images, test_labels) = mnist.load_data()
network = models.Sequential()
network.add(layers.Dense(512, activation='relu', input_shape=(28 * 28,)))
network.add(layers.Dense(10, activation='softmax'))
network.compile(optimizer='rmsprop', loss='categorical_crossentropy', metrics=['accuracy'])
train_images = train_images.reshape((60000, 28 * 28)).astype('float32') / 255
test_images = test_images.reshape((10000, 28 * 28)).astype('float32') / 255
train_labels = to_categorical(train_labels)
test_labels = to_categorical(test_labels)
network.fit(train_images, train_labels, epochs=5, batch_size=128)
test_loss, test_acc = network.evaluate(test_images, test_labels)
"""


def _synthetic_mnist(n, rng):
    """Digits-shaped data a network can learn: each class lights up its own block of pixels."""
    labels = rng.integers(0, 10, n).astype(np.uint8)
    images = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
    for c in range(10):
        rows = labels == c
        images[rows, 2 * c:2 * c + 4, 4:24] = 200
    return images, labels


@pytest.mark.slow
def test_book_program_runs_verbatim(tmp_path, monkeypatch, capsys):
    rng = np.random.default_rng(0)
    (xtr, ytr), (xte, yte) = _synthetic_mnist(60000, rng), _synthetic_mnist(10000, rng)
    home = tmp_path / "fnnet_home"
    (home / "datasets").mkdir(parents=True)
    np.savez(home / "datasets" / "mnist.npz", x_train=xtr, y_train=ytr, x_test=xte, y_test=yte)
    monkeypatch.setenv("FNNET_HOME", str(home))
    monkeypatch.setenv("HOME", str(tmp_path))
    scope: dict = {}
    exec(compile(BOOK_PROGRAM, "book_chapter2.py", "exec"), scope)
    assert scope["test_acc"] > 0.95
    out = capsys.readouterr().out
    assert "Epoch 5/5" in out and "469/469" in out


@pytest.mark.slow
def test_real_mnist_digits_reach_94_percent(mnist_dir):
    from fnnet.datasets import mnist

    (xtr, ytr), (xte, yte) = mnist.load_idx_split(mnist_dir, n_train=8000)
    xtr = xtr.reshape(-1, 784).astype("float32") / 255
    xte = xte.reshape(-1, 784).astype("float32") / 255
    set_random_seed(0)
    network = models.Sequential()
    network.add(layers.Dense(512, activation="relu", input_shape=(784,)))
    network.add(layers.Dense(10, activation="softmax"))
    network.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
    network.fit(xtr, to_categorical(ytr), epochs=5, batch_size=128, verbose=0)
    _, test_acc = network.evaluate(xte, to_categorical(yte), verbose=0)
    assert test_acc >= 0.94


# --------------------------------------------------------------------------- streaming
def test_streamed_batches_equal_the_in_memory_path():
    x, y = make_data(100)
    a = small_model(seed=2)
    ha = a.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    batches = [(x[i:i + 16], y[i:i + 16]) for i in range(0, 100, 16)]
    b = small_model(seed=2)
    hb = b.fit(batches, epochs=2, verbose=0)
    assert_history_close(hb.history, ha.history, rtol=1e-6)
    for p, q in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(p, q)
    assert cache_size(b, "train", 16) == 1  # the padded last batch reuses the program
    assert b.evaluate(batches, verbose=0) == pytest.approx(b.evaluate(x, y, verbose=0), rel=1e-6)


def test_generator_with_steps_per_epoch_and_running_out(recwarn):
    x, y = make_data(64)

    def forever():
        while True:
            for i in range(0, 64, 16):
                yield x[i:i + 16], y[i:i + 16]

    model = small_model()
    h = model.fit(forever(), steps_per_epoch=4, epochs=3, verbose=0)
    assert len(h.history["loss"]) == 3 and int(model.train_state.step) == 12
    once = ((x[i:i + 16], y[i:i + 16]) for i in range(0, 64, 16))
    with pytest.warns(UserWarning, match=r"ran out of data at epoch 2"):
        h = model.fit(once, epochs=3, verbose=0)
    assert len(h.history["loss"]) == 1


def test_memmap_is_streamed(tmp_path):
    x, y = make_data(80)
    mm = np.memmap(tmp_path / "x.dat", dtype=np.float32, mode="w+", shape=x.shape)
    mm[:] = x
    mm.flush()
    mm = np.memmap(tmp_path / "x.dat", dtype=np.float32, mode="r", shape=x.shape)
    model = small_model()
    h = model.fit(mm, y, batch_size=16, epochs=2, verbose=0)
    assert len(h.history["loss"]) == 2 and int(model.train_state.step) == 10


def test_stream_errors():
    x, y = make_data(32)
    model = small_model()
    with pytest.raises(ValueError, match=r"x yields batches, so y and sample_weight must be None"):
        model.fit([(x, y)], y, verbose=0)
    with pytest.raises(ValueError, match=r"more than the first batch's 8"):
        model.fit([(x[:8], y[:8]), (x, y)], verbose=0)
    with pytest.raises(ValueError, match=r"each batch must be a tuple \(x, y\)"):
        model.fit(iter([(x,)]), verbose=0)
    with pytest.raises(ValueError, match=r"validation_split\) needs arrays"):
        model.fit([(x, y)], validation_split=0.5, verbose=0)


def test_loss_weights_scale_the_loss_and_its_gradient():
    x, y = make_data(40)
    plain = small_model(seed=4, optimizer="sgd")
    half = small_model(seed=4, optimizer="sgd", loss_weights=[0.5])
    assert half.evaluate(x, y, verbose=0)[0] == pytest.approx(
        0.5 * plain.evaluate(x, y, verbose=0)[0], rel=1e-6)
    # With SGD, halving the loss halves every update.
    before = plain.get_weights()
    plain.train_on_batch(x, y)
    half.train_on_batch(x, y)
    for b, p, h in zip(before, plain.get_weights(), half.get_weights(), strict=True):
        np.testing.assert_allclose(h - b, 0.5 * (p - b), rtol=1e-4, atol=1e-7)
    with pytest.raises(ValueError, match=r"loss_weights is one non-negative number"):
        small_model(loss_weights={"out": 1.0, "aux": 0.5})


def test_jax_arrays_are_accepted_as_they_are():
    x, y = make_data(70)
    a = small_model(seed=6)
    b = small_model(seed=6)
    ha = a.fit(x, y, epochs=2, batch_size=16, verbose=0, class_weight={0: 2.0, 1: 1.0, 2: 1.0})
    hb = b.fit(jnp.asarray(x), jnp.asarray(y), epochs=2, batch_size=16, verbose=0,
               class_weight={0: 2.0, 1: 1.0, 2: 1.0})
    assert ha.history == hb.history
    np.testing.assert_array_equal(a.predict(x, verbose=0), b.predict(jnp.asarray(x), verbose=0))
    bad = jnp.asarray(x).at[2, 3].set(jnp.inf)
    with pytest.raises(ValueError, match=r"x contains NaN or Inf \(first at index \(2, 3\)\)"):
        b.evaluate(bad, jnp.asarray(y), verbose=0)


# --------------------------------------------------------------------------- the open core
def test_a_users_epoch_loop_on_the_public_pieces_matches_fits_history_exactly():
    x, y = make_data(70)
    reference = small_model(seed=3, dropout=0.2)
    ts0 = reference.train_state
    history = reference.fit(x, y, epochs=3, batch_size=16, verbose=0).history

    model = small_model(seed=3, dropout=0.2)  # the same model, built and compiled the same way
    steps = fnnet.make_steps(model, "sparse_categorical_crossentropy", ["accuracy"])
    run_epoch = jax.jit(fnnet.loop.epoch(steps.train_update, batch_size=16, shuffle=True))
    data = jax.device_put((x, y))
    ts, logs, mine = ts0, steps.init_logs(x, y), {}
    for _ in range(3):
        ts, logs = run_epoch(ts, logs, data)
        for key, value in logs.result().items():
            mine.setdefault(key, []).append(float(value))
    assert_history_close(mine, history, rtol=0, atol=0)
    jax.tree.map(np.testing.assert_array_equal, ts.params, reference.params)


def test_arrays_a_user_holds_survive_fit():
    x, y = make_data(64)
    model = small_model()
    snapshot = model.params
    weights_before = [np.asarray(a) for a in jax.tree.leaves(snapshot)]
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    for a, b in zip(jax.tree.leaves(snapshot), weights_before, strict=True):
        np.testing.assert_array_equal(np.asarray(a), b)  # not deleted, not changed
    model.params = snapshot  # and they can be put back
    np.testing.assert_array_equal(jax.tree.leaves(model.params)[0], weights_before[0])


def test_a_named_optimizer_with_an_optax_schedule_trains_in_fit():
    x, y = make_data(64)
    tx = fnnet.optimizers.get("adam", learning_rate=optax.linear_schedule(1e-3, 1e-4, 100))
    model = small_model(optimizer=tx)
    history = model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert model.optimizer.learning_rate == pytest.approx(1e-3 - 9e-4 * 8 / 100, rel=1e-5)


def _chain():
    return optax.chain(optax.clip_by_global_norm(1.0),
                       optax.inject_hyperparams(optax.adam)(learning_rate=1e-2))


def test_any_optax_chain_trains_saves_and_resumes_exactly(tmp_path):
    x, y = make_data(64)
    straight = small_model(optimizer=_chain())
    straight.fit(x, y, epochs=4, batch_size=16, verbose=0)

    first = small_model(optimizer=_chain())
    first.fit(x, y, epochs=2, batch_size=16, verbose=0)
    path = tmp_path / "chain.safetensors"
    first.save(path)
    assert first.get_compile_config()["custom_objects"] == ["optimizer"]
    with pytest.raises(ValueError, match=r"compiled with the custom optimizer \(an optax "
                                         r"transformation\) 'optimizer'.*custom_objects="
                                         r"\{'optimizer': optimizer\}"):
        models.load_model(path)
    again = models.load_model(path, custom_objects={"optimizer": _chain()})
    again.fit(x, y, epochs=4, initial_epoch=2, batch_size=16, verbose=0)
    for a, b in zip(again.get_weights(), straight.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_learning_rate_access_and_callbacks_work_through_a_chain():
    x, y = make_data(64)
    model = small_model(optimizer=_chain())
    assert model.optimizer.learning_rate == pytest.approx(1e-2)
    model.optimizer.learning_rate = 5e-3
    assert model.optimizer.learning_rate == pytest.approx(5e-3)
    reduce = callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0, min_delta=10.0)
    model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[reduce])
    assert model.optimizer.learning_rate == pytest.approx(5e-3 * 0.5)  # epoch 2 did not improve
    plain = small_model(optimizer=optax.adam(1e-3))
    with pytest.raises(ValueError, match=r"has no injectable learning rate.*optax."
                                         r"inject_hyperparams\(optax.adam\)"):
        plain.optimizer.learning_rate  # noqa: B018


def test_optax_multisteps_is_accepted():
    x, y = make_data(64)
    model = small_model(optimizer=optax.MultiSteps(optax.sgd(0.1), every_k_schedule=2))
    before = model.get_weights()
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    assert int(model.train_state.step) == 4
    assert not np.array_equal(before[0], model.get_weights()[0])
