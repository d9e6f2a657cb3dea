"""Reliability at the model level: every entry point refuses bad input on the host, before
anything is traced, with a message that names the argument, what it got and how to fix it;
runs are reproducible across processes; TerminateOnNaN stops and restores; and shape
inference agrees with what a stack computes (hypothesis).

tests/test_models.py already covers fit's own argument and data errors; this file covers the
other entry points (evaluate, predict, train_on_batch, test_on_batch, predict_on_batch), the
rank mismatch, the (N,) vs (N, 1) loss, and names that do not exist.
"""

import json
import math
import os
import re
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fnnet import callbacks, layers, models
from fnnet.utils import set_random_seed, to_categorical

D, C, N = 6, 3, 12


def make_data(n=N, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, D), dtype=np.float32)
    return x, x[:, :C].argmax(1).astype(np.int32)


def classifier(loss="sparse_categorical_crossentropy", metrics=("accuracy",), seed=0):
    set_random_seed(seed)
    model = models.Sequential([layers.Dense(8, activation="relu", input_shape=(D,)),
                               layers.Dense(C, activation="softmax")])
    model.compile(optimizer="rmsprop", loss=loss, metrics=list(metrics))
    return model


# Every entry point that takes labelled data, called as a user would.
LABELLED = {
    "fit": lambda m, x, y, **kw: m.fit(x, y, verbose=0, **kw),
    "evaluate": lambda m, x, y, **kw: m.evaluate(x, y, verbose=0, **kw),
    "train_on_batch": lambda m, x, y, **kw: m.train_on_batch(x, y, **kw),
    "test_on_batch": lambda m, x, y, **kw: m.test_on_batch(x, y, **kw),
}
PREDICT = {
    "predict": lambda m, x: m.predict(x, verbose=0),
    "predict_on_batch": lambda m, x: m.predict_on_batch(x),
}


def refused(model, call, error, match):
    """``call()`` raises ``error`` matching ``match``, and nothing was traced or trained."""
    step = int(model.train_state.step)
    weights = model.get_weights()
    with pytest.raises(error, match=match) as info:
        call()
    # Ours, not a raw JAX/XLA error: a ValueError/TypeError raised from fnnet's own checks.
    assert type(info.value) in (ValueError, TypeError)
    assert os.sep + "fnnet" + os.sep in str(info.traceback[-1].path)
    built = len(model._predict_programs) + (len(model._compiled.programs) if model.compiled else 0)
    assert built == 0, "a program was built (traced) before the input was checked"
    assert int(model.train_state.step) == step
    for a, b in zip(weights, model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    return info.value


def _bad(arr, index, value):
    arr = np.array(arr, copy=True)
    arr[index] = value
    return arr


X, Y = make_data()
DATA_ERRORS = [
    ("lengths", lambda: (X, Y[:11], {}), ValueError,
     r"{w}: x and y have different lengths: x has 12 examples, y has 11\. Pass one target"),
    ("sample_weight_length", lambda: (X, Y, {"sample_weight": np.ones(11)}), ValueError,
     r"{w}: sample_weight has shape \(11,\), expected \(12,\): one weight per example"),
    ("sample_weight_negative", lambda: (X, Y, {"sample_weight": -np.ones(12)}), ValueError,
     r"{w}: sample_weight has negative entries"),
    ("empty", lambda: (X[:0], Y[:0], {}), ValueError,
     r"{w}: x is empty \(shape \(0, 6\)\); pass at least one example"),
    ("rank", lambda: (X.reshape(12, 2, 3), Y, {}), ValueError,
     r"{w}: input x has shape \(12, 2, 3\), but layer 'dense' \(Dense\) of model 'sequential' "
     r"expects inputs of shape \(batch, 6\)\. Reshape x to \(n, 6\)"),
    ("width", lambda: (X[:, :4], Y, {}), ValueError,
     r"{w}: input x has shape \(12, 4\), but layer 'dense'.*\(batch, 6\)"),
    ("label_negative", lambda: (X, _bad(Y, 0, -1), {}), ValueError,
     r"{w}: sparse labels must be in \[0, 3\) for a model with 3 output units, but y has values "
     r"in \[-1, 2\]"),
    ("label_equal_to_classes", lambda: (X, _bad(Y, 0, 3), {}), ValueError,
     r"{w}: sparse labels must be in \[0, 3\).*values in \[0, 3\]\. Check the labels, or give "
     r"the last layer 4 units"),
    ("label_fractional", lambda: (X, _bad(Y.astype(np.float32), 2, 1.5), {}), ValueError,
     r"{w}: sparse labels must be whole numbers, but y contains 1\.5"),
    ("one_hot_for_sparse", lambda: (X, to_categorical(Y, 3), {}), ValueError,
     r"{w}: sparse_categorical_crossentropy takes integer class ids of shape \(n,\), but y has "
     r"shape \(12, 3\) \(one-hot\?\)"),
    ("x_strings", lambda: (X.astype(str), Y, {}), TypeError,
     r"{w}: x has dtype <U\d+, which is not numeric\. Convert it, e\.g\. x\.astype\('float32'\)"),
    ("y_strings", lambda: (X, Y.astype(str), {}), TypeError, r"{w}: y has dtype <U\d+, which is not numeric"),
    ("x_objects", lambda: (X.astype(object), Y, {}), TypeError, r"{w}: x has dtype object"),
    ("x_ragged", lambda: ([[1.0] * 6, [1.0] * 5], Y[:2], {}), TypeError,
     r"{w}: x could not be read as one numeric array .* same length in every row"),
    ("x_nan", lambda: (_bad(X, (4, 2), np.nan), Y, {}), ValueError,
     r"{w}: x contains NaN or Inf \(first at index \(4, 2\)\)\. Clean or impute"),
    ("x_inf", lambda: (_bad(X, (0, 5), -np.inf), Y, {}), ValueError,
     r"{w}: x contains NaN or Inf \(first at index \(0, 5\)\)"),
    ("y_nan", lambda: (X, _bad(Y.astype(np.float32), 7, np.nan), {}), ValueError,
     r"{w}: y contains NaN or Inf \(first at index \(7,\)\)"),
    ("sample_weight_inf", lambda: (X, Y, {"sample_weight": _bad(np.ones(12), 3, np.inf)}),
     ValueError, r"{w}: sample_weight contains NaN or Inf \(first at index \(3,\)\)"),
    ("y_none", lambda: (X, None, {}), ValueError, r"{w}: y is None; pass an array of shape"),
    ("x_not_an_array", lambda: ("data.csv", Y, {}), TypeError,
     r"{w}: x must be an array \(numpy, JAX or a nested list\); got str"),
]


@pytest.mark.parametrize("where", list(LABELLED))
@pytest.mark.parametrize("make, error, match", [c[1:] for c in DATA_ERRORS],
                         ids=[c[0] for c in DATA_ERRORS])
def test_labelled_entry_points_refuse_bad_data(where, make, error, match):
    model = classifier()
    x, y, kw = make()
    refused(model, lambda: LABELLED[where](model, x, y, **kw), error, match.format(w=where))


PREDICT_ERRORS = [
    ("empty", X[:0], ValueError, r"predict: x is empty \(shape \(0, 6\)\)"),
    ("rank", X.reshape(12, 2, 3), ValueError,
     r"predict: input x has shape \(12, 2, 3\), but layer 'dense' \(Dense\).*\(batch, 6\)"),
    ("one_example_without_batch_dim", X[0], ValueError,
     r"predict: input x has shape \(6,\), but layer 'dense'.*Reshape x to \(n, 6\)"),
    ("width", X[:, :5], ValueError, r"predict: input x has shape \(12, 5\)"),
    ("strings", X.astype(str), TypeError, r"predict: x has dtype <U\d+, which is not numeric"),
    ("complex", X.astype(np.complex64), TypeError, r"predict: x has dtype complex64"),
    ("nan", _bad(X, (1, 1), np.nan), ValueError, r"predict: x contains NaN or Inf"),
    ("none", None, ValueError, r"predict: x is None"),
    ("scalar", np.float32(3), ValueError, r"predict: x is a scalar; expected an array with one "
                                          r"row per example"),
]


@pytest.mark.parametrize("where", list(PREDICT))
@pytest.mark.parametrize("x, error, match", [c[1:] for c in PREDICT_ERRORS],
                         ids=[c[0] for c in PREDICT_ERRORS])
def test_predict_entry_points_refuse_bad_inputs(where, x, error, match):
    model = classifier()
    refused(model, lambda: PREDICT[where](model, x), error, match.replace("predict", where, 1))


def test_rank_mismatch_names_the_layer_and_both_shapes():
    """Images of (n, 28, 28) given to a model built for flattened (784,) inputs, and back."""
    flat = models.Sequential([layers.Dense(4, input_shape=(784,), name="hidden"), layers.Dense(2)])
    flat.compile(optimizer="sgd", loss="mse")
    images = np.zeros((5, 28, 28), np.float32)
    for where, call in [("fit", lambda: flat.fit(images, np.zeros((5, 2)), verbose=0)),
                        ("evaluate", lambda: flat.evaluate(images, np.zeros((5, 2)), verbose=0)),
                        ("predict", lambda: flat.predict(images, verbose=0))]:
        refused(flat, call, ValueError,
                rf"{where}: input x has shape \(5, 28, 28\), but layer 'hidden' \(Dense\) of model "
                rf"'sequential' expects inputs of shape \(batch, 784\)\. Reshape x to \(n, 784\)")
    square = models.Sequential([layers.Flatten(input_shape=(28, 28)), layers.Dense(2)])
    refused(square, lambda: square.predict(np.zeros((5, 784), np.float32), verbose=0), ValueError,
            r"predict: input x has shape \(5, 784\), but layer 'flatten' \(Flatten\).*"
            r"\(batch, 28, 28\)")


def test_layer_init_errors_name_the_layer_in_a_model():
    with pytest.raises(ValueError, match=r"Layer 'reshape' \(#1, Reshape\): Reshape\(\(5,\)\): "
                                         r"cannot reshape examples of shape \(4,\) \(4 values\) "
                                         r"to \(5,\)"):
        models.Sequential([layers.Dense(4, input_shape=(6,)), layers.Reshape((5,))])
    model = models.Sequential([layers.Dense(4), layers.Reshape((5,))])
    with pytest.raises(ValueError, match=r"Layer 'reshape' \(#1, Reshape\)"):
        model.build((None, 6))
    with pytest.raises(ValueError, match=r"Sequential\.build: input_shape must include the batch "
                                         r"dim, e\.g\. \(None, 784\); got \(0, 6\)"):
        models.Sequential([layers.Dense(2)]).build((0, 6))


@pytest.mark.parametrize("where", ["evaluate", "predict"])
@pytest.mark.parametrize("batch_size", [0, -4, 2.5, "32", True])
def test_batch_size_must_be_a_positive_int(where, batch_size):
    model = classifier()
    x, y = make_data()
    call = {"evaluate": lambda: model.evaluate(x, y, batch_size=batch_size, verbose=0),
            "predict": lambda: model.predict(x, batch_size=batch_size, verbose=0)}[where]
    refused(model, call, ValueError,
            rf"{where}\(batch_size\): expected a positive int; got {re.escape(repr(batch_size))}\. "
            rf"For example batch_size=128 \(a batch larger than the data is fine")


def test_a_batch_larger_than_the_data_is_one_partial_batch():
    x, y = make_data(5)
    model = classifier()
    probs = model.predict(x, verbose=0)
    ref = -np.mean(np.log(probs[np.arange(5), y]))
    assert model.evaluate(x, y, batch_size=512, verbose=0)[0] == pytest.approx(ref, rel=1e-5)
    np.testing.assert_allclose(model.predict(x, batch_size=512, verbose=0), probs, rtol=1e-6)
    h = model.fit(x, y, batch_size=512, epochs=1, verbose=0)
    assert int(model.train_state.step) == 1  # one (partial) step per epoch
    assert h.history["loss"][0] == pytest.approx(ref, rel=1e-5)  # the loss before the update


def test_validation_split_that_leaves_no_validation_data():
    model = classifier()
    x, y = make_data()
    refused(model, lambda: model.fit(x, y, validation_split=1e-20, verbose=0), ValueError,
            r"fit\(validation_split=1e-20\): with 12 examples this leaves 12 to train on and 0 "
            r"to validate on; both need at least one\. Use a split between 0\.0833 and 0\.917")
    refused(model, lambda: model.fit(x[:1], y[:1], validation_split=0.5, verbose=0), ValueError,
            r"with 1 examples this leaves 0 to train on and 1 to validate on")
    refused(model, lambda: model.fit(x, y, validation_data=(x[:3], y[:2]), verbose=0), ValueError,
            r"fit\(validation_data\): x and y have different lengths: x has 3 examples, y has 2")


def test_one_hot_width_must_equal_the_output_units():
    model = classifier(loss="categorical_crossentropy")
    x, y = make_data()
    for where, call in LABELLED.items():
        refused(model, lambda call=call: call(model, x, to_categorical(y, 5)), ValueError,
                rf"{where}: y has shape \(12, 5\) but the model outputs \(batch, 3\); they must "
                rf"match\. Use fnnet\.utils\.to_categorical\(y\)")
        refused(model, lambda call=call: call(model, x, y), ValueError,
                rf"{where}: y has shape \(12,\) but the model outputs \(batch, 3\)")


def test_regression_targets_of_another_width_are_refused_before_tracing():
    set_random_seed(0)
    model = models.Sequential([layers.Dense(2, input_shape=(D,))])
    model.compile(optimizer="sgd", loss="mse")
    x, _ = make_data()
    for where, call in LABELLED.items():
        refused(model, lambda call=call: call(model, x, np.zeros(12, np.float32)), ValueError,
                rf"{where}: y has shape \(12,\) but the model outputs \(batch, 2\), and loss "
                rf"'mean_squared_error' compares them element by element\. Pass y of shape "
                rf"\(n, 2\)")


@pytest.mark.parametrize("loss, activation", [("mse", None), ("binary_crossentropy", "sigmoid")])
def test_y_of_shape_n_against_output_n_1_is_the_true_loss(loss, activation):
    """A (N,) target against an (N, 1) output never broadcasts to (N, N), at any entry point."""
    set_random_seed(1)
    model = models.Sequential([layers.Dense(1, activation=activation, input_shape=(D,))])
    model.compile(optimizer=optax.sgd(0.0), loss=loss)
    x, _ = make_data()
    y = (np.arange(N) % 2).astype(np.float32)
    p = model.predict(x, verbose=0)[:, 0].astype(np.float64)
    if loss == "mse":
        ref = np.mean((y - p) ** 2)
        wrong = np.mean((y[None, :] - p[:, None]) ** 2)
    else:
        q = np.clip(p, 1e-7, 1 - 1e-7)
        ref = -np.mean(y * np.log(q) + (1 - y) * np.log(1 - q))
        wrong = -np.mean(y[None, :] * np.log(q[:, None]) + (1 - y[None, :]) * np.log(1 - q[:, None]))
    assert abs(ref - wrong) > 1e-3  # the broadcast would be detectably wrong
    assert model.evaluate(x, y, verbose=0) == pytest.approx(ref, rel=1e-5)
    assert model.evaluate(x, y, batch_size=5, verbose=0) == pytest.approx(ref, rel=1e-5)  # padded
    assert model.test_on_batch(x, y) == pytest.approx(ref, rel=1e-5)
    assert model.train_on_batch(x, y) == pytest.approx(ref, rel=1e-5)  # learning rate 0
    h = model.fit(x, y, batch_size=N, epochs=1, verbose=0)
    assert h.history["loss"][0] == pytest.approx(ref, rel=1e-5)
    assert model.evaluate(x, y[:, None], verbose=0) == pytest.approx(ref, rel=1e-5)


@pytest.mark.parametrize("where", ["evaluate", "train_on_batch", "test_on_batch"])
def test_entry_points_before_compile(where):
    set_random_seed(0)
    model = models.Sequential([layers.Dense(C, input_shape=(D,))])
    x, y = make_data()
    refused(model, lambda: LABELLED[where](model, x, y), ValueError,
            rf"{where}: the model must be compiled first\. Call model\.compile\(optimizer="
            rf"'rmsprop', loss='categorical_crossentropy'")


@pytest.mark.parametrize("make, match", [
    (lambda: models.Sequential([layers.Dense(2, input_shape=(3,))]).compile(
        optimizer="rmsprp", loss="mse"),
     r"Unknown optimizer 'rmsprp' for optimizer; did you mean 'rmsprop'\? Valid optimizer names: "
     r"'adadelta', .*'sgd'"),
    (lambda: models.Sequential([layers.Dense(2, input_shape=(3,))]).compile(
        optimizer="adam", loss="categorical_crossentropi"),
     r"Unknown loss 'categorical_crossentropi' for loss; did you mean 'categorical_crossentropy'"
     r"\? Valid loss names: .*'mse'"),
    (lambda: models.Sequential([layers.Dense(2, input_shape=(3,))]).compile(
        optimizer="adam", loss="mse", metrics=["accuracy", "mean_absolut_error"]),
     r"Unknown metric 'mean_absolut_error' for metrics; did you mean 'mean_absolute_error'\? "
     r"Valid metric names: .*'accuracy'"),
    (lambda: layers.Dense(2, activation="rleu"),
     r"Unknown activation 'rleu' for activation; did you mean 'relu'\? Valid activation names: "
     r"'elu', .*'tanh'"),
    (lambda: layers.Activation("softmaxx"),
     r"Unknown activation 'softmaxx'.*did you mean 'softmax'\?"),
    (lambda: layers.Dense(2, kernel_initializer="he_normall"),
     r"Unknown initializer 'he_normall'.*did you mean 'he_normal'\? Valid initializer names: "
     r"'constant', .*'zeros'"),
    (lambda: layers.BatchNormalization(gamma_initializer="one"),
     r"Unknown initializer 'one'.*did you mean 'ones'\?"),
], ids=["optimizer", "loss", "metric", "activation", "activation_layer", "initializer",
        "batchnorm_initializer"])
def test_unknown_names_list_the_valid_ones_and_suggest_the_closest(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_compile_checks_metric_types():
    model = models.Sequential([layers.Dense(C, activation="softmax", input_shape=(D,))])
    with pytest.raises(TypeError, match=r"metrics entries must be a metric name such as "
                                        r"'accuracy'.*got 3 of type int"):
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=[3])
    with pytest.raises(TypeError, match=r"compile\(metrics\): expected a list such as "
                                        r"\['accuracy'\]; got 'accuracy'"):
        model.compile(optimizer="sgd", loss="mse", metrics="accuracy")
    assert not model.compiled


# --------------------------------------------------------------------------- determinism
_RUN = textwrap.dedent("""
    import hashlib, json, sys
    import numpy as np
    from fnnet import layers, models
    from fnnet.utils import set_random_seed
    set_random_seed(1234)
    rng = np.random.default_rng(0)
    x = rng.random((64, 6), dtype=np.float32)
    y = x[:, :3].argmax(1).astype(np.int32)
    model = models.Sequential([layers.Dense(16, activation="relu", input_shape=(6,)),
                               layers.Dropout(0.3), layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    h = model.fit(x, y, epochs=3, batch_size=16, shuffle=True, validation_split=0.25, verbose=0)
    digest = hashlib.sha256(b"".join(w.tobytes() for w in model.get_weights())).hexdigest()
    print(json.dumps({"weights": digest, "history": h.history}))
""")


@pytest.mark.slow
def test_same_seed_same_bits_in_fresh_processes(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(_RUN)
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    procs = [subprocess.Popen([sys.executable, str(script)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        outs.append(json.loads(out.strip().splitlines()[-1]))
    assert outs[0]["weights"] == outs[1]["weights"]
    assert json.dumps(outs[0]["history"]) == json.dumps(outs[1]["history"])
    assert len(outs[0]["history"]["val_loss"]) == 3


# --------------------------------------------------------------------------- TerminateOnNaN
class Record(callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.batch_losses, self.epochs = [], []

    def on_train_batch_end(self, batch, logs=None):
        self.batch_losses.append(logs["loss"])

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append((logs["loss"], [np.array(w, copy=True)
                                           for w in self.model.get_weights()]))


def _diverging(restore):
    """Linear regression with SGD far above the stable rate: the error grows ~1000x per step,
    so the loss overflows after a few epochs while the weights are still finite."""
    set_random_seed(0)
    model = models.Sequential([layers.Dense(1, input_shape=(1,))])
    model.compile(optimizer=optax.sgd(300.0), loss="mse", steps_per_execution=1)
    x = np.ones((4, 1), np.float32)
    y = np.full(4, 3.0, np.float32)
    record, stop = Record(), callbacks.TerminateOnNaN(restore_last_finite=restore)
    h = model.fit(x, y, batch_size=2, epochs=50, shuffle=False, verbose=0,
                  callbacks=[record, stop])
    return model, h, record, stop


def test_terminate_on_nan_stops_at_the_first_non_finite_loss(capsys):
    model, h, record, _ = _diverging(restore=False)
    losses = record.batch_losses
    assert all(math.isfinite(v) for v in losses[:-1]) and not math.isfinite(losses[-1])
    assert int(model.train_state.step) == len(losses)  # not one step more
    assert len(h.history["loss"]) == (len(losses) + 1) // 2 < 50
    assert not math.isfinite(h.history["loss"][-1])
    assert "Invalid loss, terminating training" in capsys.readouterr().out


def test_terminate_on_nan_restores_the_last_finite_epoch(capsys):
    model, h, record, stop = _diverging(restore=True)
    finite = [i for i, (loss, _) in enumerate(record.epochs) if math.isfinite(loss)]
    assert finite and finite[-1] == len(record.epochs) - 2 == stop.last_finite_epoch
    restored = model.get_weights()
    assert all(np.isfinite(w).all() for w in restored)
    for a, b in zip(restored, record.epochs[finite[-1]][1], strict=True):
        np.testing.assert_array_equal(a, b)
    assert f"from the end of epoch {finite[-1] + 1}" in capsys.readouterr().out
    assert model.predict(np.ones((2, 1), np.float32), verbose=0).shape == (2, 1)


# --------------------------------------------------------------------------- properties
@st.composite
def _stacks(draw):
    """Random Dense/Dropout/Flatten/Reshape stacks with an input shape they accept."""
    dims = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    shape, stack = dims, []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["dense", "dropout", "flatten", "reshape"]))
        if kind == "dense":
            stack.append(layers.Dense(draw(st.integers(1, 5)),
                                      activation=draw(st.sampled_from([None, "relu", "tanh"]))))
            shape = (*shape[:-1], stack[-1].config["units"])
        elif kind == "dropout":
            stack.append(layers.Dropout(draw(st.sampled_from([0.0, 0.25, 0.5]))))
        elif kind == "flatten":
            stack.append(layers.Flatten())
            shape = (math.prod(shape),)
        else:
            size = math.prod(shape)
            divisors = [k for k in range(1, size + 1) if size % k == 0]
            k = draw(st.sampled_from(divisors))
            target = draw(st.sampled_from([(size,), (-1, k), (k, -1), (size // k, k, 1)]))
            stack.append(layers.Reshape(target))
            shape = tuple(size // k if t == -1 else t for t in target) if -1 in target else target
    return dims, stack, shape


@settings(max_examples=15, deadline=None)
@given(_stacks(), st.integers(1, 3))
def test_property_build_output_shape_agrees_with_apply(case, batch):
    dims, stack, expected = case
    model = models.Sequential([models.Input(dims), *stack])
    assert model.output_shape == (None, *expected)
    x = jax.ShapeDtypeStruct((batch, *dims), jnp.float32)
    # eval_shape traces the very function predict compiles, without a compile per example.
    for training in (False, True):
        y = jax.eval_shape(lambda p, s, v, training=training: model.apply(
            p, s, v, rng=jax.random.key(0), training=training)[0], model.params, model.state, x)
        assert y.shape == (batch, *expected)
    shape, _, _ = model.init(jax.random.key(1), (batch, *dims))
    assert shape == (batch, *expected)


def test_build_output_shape_agrees_with_predict():
    """The compiled path, once, for a stack that changes rank twice."""
    model = models.Sequential([layers.Reshape((4, 3), input_shape=(12,)), layers.Dense(5),
                               layers.Dropout(0.5), layers.Flatten(), layers.Dense(2)])
    assert model.output_shape == (None, 2)
    out = model.predict(np.ones((7, 12), np.float32), batch_size=4, verbose=0)
    assert out.shape == (7, 2) and np.isfinite(out).all()
