"""Tests for fnnet.callbacks, driven by a fake model and a loop that mirrors Sequential.fit.

No JAX here: callbacks only see Python floats and numpy weights, so the suite runs in well under a
second.
"""

import io
import math
import re
import sys

import numpy as np
import pytest

from fnnet import callbacks
from fnnet.callbacks import (
    Callback,
    CallbackList,
    CSVLogger,
    EarlyStopping,
    History,
    LambdaCallback,
    LearningRateScheduler,
    Progbar,
    ProgbarLogger,
    ReduceLROnPlateau,
    TerminateOnNaN,
    progbar,
    resolve_verbose,
)

NAN = float("nan")


class FakeOptimizer:
    """An optimizer whose learning rate is a settable float; `sets` records every assignment."""

    def __init__(self, learning_rate=0.1):
        self._lr = learning_rate
        self.sets = []

    @property
    def learning_rate(self):
        return self._lr

    @learning_rate.setter
    def learning_rate(self, value):
        self._lr = value
        self.sets.append(value)


class FakeModel:
    """The duck type fit's callbacks rely on: stop_training, get/set_weights, optimizer, history."""

    def __init__(self, learning_rate=0.1, metrics_names=None):
        self.stop_training = False
        self.weights = [np.full(3, -1.0), np.full((2, 2), -1.0)]
        self.optimizer = FakeOptimizer(learning_rate)
        self.history = None
        if metrics_names is not None:
            self.metrics_names = metrics_names

    def get_weights(self):
        # Views, not copies, so the tests also check that callbacks copy what they keep.
        return list(self.weights)

    def set_weights(self, weights):
        self.weights = [np.asarray(w) for w in weights]

    def weight_tag(self):
        """The epoch whose training produced the current weights (-1: initial weights)."""
        return float(self.weights[0][0])


def fit(model, cbs, epoch_logs, steps=2, verbose=0, epochs=None):
    """Simulates Sequential.fit over `epoch_logs` (one dict per epoch).

    Training during epoch e sets every weight to e (in place, as donated buffers are reused), so
    restored weights name the epoch they come from. Batch logs carry the epoch's loss.
    """
    epochs = len(epoch_logs) if epochs is None else epochs
    cb_list = CallbackList(
        cbs,
        add_history=True,
        add_progbar=verbose != 0,
        model=model,
        verbose=verbose,
        epochs=epochs,
        steps=steps,
    )
    model.stop_training = False
    cb_list.on_train_begin()
    logs = None
    for epoch in range(epochs):
        cb_list.on_epoch_begin(epoch)
        for batch in range(steps):
            cb_list.on_train_batch_begin(batch)
            for w in model.weights:
                w[...] = epoch
            batch_logs = {k: v for k, v in epoch_logs[epoch].items() if not k.startswith("val_")}
            cb_list.on_train_batch_end(batch, batch_logs)
            if model.stop_training:
                break
        logs = dict(epoch_logs[epoch])
        cb_list.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    cb_list.on_train_end(logs)
    return cb_list.history


def val_losses(*values):
    return [{"loss": 1.0, "val_loss": v} for v in values]


# ----------------------------------------------------------------------------- Callback, List


def test_callback_base_hooks_are_noops_and_batch_aliases_forward():
    seen = []

    class Legacy(Callback):
        def on_batch_begin(self, batch, logs=None):
            seen.append(("begin", batch))

        def on_batch_end(self, batch, logs=None):
            seen.append(("end", batch, logs))

    cb = Legacy()
    assert cb.model is None and cb.params == {}
    cb.on_train_batch_begin(0)
    cb.on_train_batch_end(1, {"loss": 0.5})
    assert seen == [("begin", 0), ("end", 1, {"loss": 0.5})]
    base = Callback()
    for name in callbacks.base.HOOKS:
        args = () if name.endswith(("train_begin", "train_end", "test_begin", "test_end")) else (0,)
        args = () if name.endswith(("predict_begin", "predict_end")) else args
        assert getattr(base, name)(*args) is None


def test_callback_list_dispatches_in_order_and_sets_model_and_params():
    calls = []

    class Recorder(Callback):
        def __init__(self, tag):
            super().__init__()
            self.tag = tag

        def on_epoch_end(self, epoch, logs=None):
            calls.append((self.tag, epoch, self.model, self.params["epochs"]))

        def on_test_end(self, logs=None):
            calls.append((self.tag, "test", logs))

    model = FakeModel()
    user = [Recorder("a"), Recorder("b")]
    cbs = CallbackList(user, add_history=True, add_progbar=True, model=model, verbose=0, epochs=3)
    assert len(user) == 2, "the user's list must not be mutated"
    assert isinstance(cbs.callbacks[2], History) and isinstance(cbs.callbacks[3], ProgbarLogger)
    assert cbs.history is cbs.callbacks[2]
    assert cbs.params == {"verbose": 0, "epochs": 3}
    cbs.on_epoch_end(1, {"loss": 1.0})
    cbs.on_test_end({"loss": 2.0})
    assert calls == [
        ("a", 1, model, 3),
        ("b", 1, model, 3),
        ("a", "test", {"loss": 2.0}),
        ("b", "test", {"loss": 2.0}),
    ]


def test_callback_list_reuses_user_history_and_progbar_and_accepts_one_callback():
    history, logger = History(), ProgbarLogger()
    cbs = CallbackList([history, logger], add_history=True, add_progbar=True, verbose=0)
    assert cbs.history is history and len(cbs.callbacks) == 2
    single = EarlyStopping()
    assert CallbackList(single).callbacks == [single]
    assert CallbackList().callbacks == [] and CallbackList().history is None


def test_callback_list_append_sets_model_and_params():
    model = FakeModel()
    cbs = CallbackList([], model=model, verbose=0, epochs=2)
    cb = Callback()
    cbs.append(cb)
    assert cb.model is model and cb.params == {"verbose": 0, "epochs": 2}
    with pytest.raises(TypeError, match=r"callbacks\[0\] is int 3, not a Callback"):
        cbs.append(3)


def test_callback_list_rejects_non_callbacks():
    with pytest.raises(TypeError, match=r"callbacks\[1\] is function .*not a Callback.*LambdaCallback"):
        CallbackList([History(), lambda logs: None])
    with pytest.raises(TypeError, match=r"callbacks\[0\] is the class EarlyStopping.*EarlyStopping\(\)"):
        CallbackList([EarlyStopping])
    with pytest.raises(TypeError, match=r"callbacks must be a list of Callback instances, got str"):
        CallbackList("history")
    with pytest.raises(TypeError, match=r"callbacks must be a list of Callback instances, got int"):
        CallbackList(5)


# ----------------------------------------------------------------------------- History


def test_history_records_keys_in_arrival_order_and_sets_model_history():
    model = FakeModel()
    logs = [
        {"loss": 1.0, "accuracy": 0.5, "val_loss": 1.5, "val_accuracy": 0.4},
        {"loss": 0.5, "accuracy": 0.7, "val_loss": 1.0, "val_accuracy": 0.6},
        {"loss": 0.2, "accuracy": 0.9, "val_loss": 0.8, "val_accuracy": 0.7},
    ]
    history = fit(model, [], logs)
    assert model.history is history
    assert list(history.history) == ["loss", "accuracy", "val_loss", "val_accuracy"]
    assert history.epoch == [0, 1, 2]
    assert history.history["val_accuracy"] == [0.4, 0.6, 0.7]
    assert all(len(v) == 3 for v in history.history.values())


# ----------------------------------------------------------------------------- EarlyStopping


@pytest.mark.parametrize(
    ("kwargs", "values", "stopped"),
    [
        ({}, (1.0, 0.9, 0.95, 0.8), 2),  # patience 0: first worse epoch stops
        ({"patience": 2}, (1.0, 0.9, 0.95, 0.96, 0.5), 3),
        ({"patience": 2}, (1.0, 0.9, 0.95, 0.85, 0.9, 0.91), 5),  # improvement resets wait
        ({"patience": 1, "min_delta": 0.1}, (1.0, 0.95, 0.5), 1),  # 0.05 is below min_delta
        ({"patience": 1, "min_delta": -0.1}, (1.0, 0.95, 0.5), 1),  # the sign is ignored
        ({"patience": 1, "min_delta": 0.01}, (1.0, 0.95, 0.9), None),
        ({"start_from_epoch": 2}, (1.0, 2.0, 3.0, 4.0, 0.5), 3),  # warm-up epochs not watched
        ({}, (1.0, 2.0, 3.0, 4.0, 0.5), 1),
        ({"patience": 2, "baseline": 0.5}, (0.9, 0.8, 0.85), 2),  # never beat the baseline
        ({"patience": 2}, (0.9, 0.8, 0.85), None),
        ({"patience": 2, "baseline": 0.5}, (0.4, 0.45, 0.46, 0.47), 2),
    ],
)
def test_early_stopping_stops_at_the_keras_epoch(kwargs, values, stopped):
    model = FakeModel()
    es = EarlyStopping(**kwargs)
    history = fit(model, [es], val_losses(*values))
    expected_epochs = len(values) if stopped is None else stopped + 1
    assert history.epoch == list(range(expected_epochs))
    assert es.stopped_epoch == (0 if stopped is None else stopped)


def test_early_stopping_never_stops_at_epoch_zero():
    es = EarlyStopping(patience=0, baseline=0.1)
    history = fit(FakeModel(), [es], val_losses(1.0, 2.0))
    assert history.epoch == [0, 1] and es.stopped_epoch == 1


@pytest.mark.parametrize(
    ("monitor", "mode", "values", "stopped"),
    [
        ("val_accuracy", "auto", (0.5, 0.6, 0.55, 0.7), 2),  # auto -> max for accuracy
        ("val_accuracy", "min", (0.5, 0.6, 0.55, 0.7), 1),
        ("val_auc", "auto", (0.5, 0.6, 0.55, 0.7), 2),
        ("val_loss", "max", (0.5, 0.6, 0.55, 0.7), 2),
        ("loss", "auto", (0.5, 0.6, 0.55, 0.7), 1),
    ],
)
def test_early_stopping_mode(monitor, mode, values, stopped):
    logs = [{"loss": v, monitor: v} for v in values]
    es = EarlyStopping(monitor=monitor, mode=mode)
    fit(FakeModel(), [es], logs)
    assert es.stopped_epoch == stopped


def test_early_stopping_restores_best_weights_when_it_stops():
    model = FakeModel()
    es = EarlyStopping(patience=2, restore_best_weights=True)
    fit(model, [es], val_losses(1.0, 0.7, 0.9, 0.95, 0.1))
    assert es.stopped_epoch == 3 and es.best_epoch == 1
    assert model.weight_tag() == 1.0
    assert all(np.all(w == 1.0) for w in model.weights)


def test_early_stopping_restores_best_weights_at_train_end_without_stopping():
    # Keras 3 restores in on_train_end whenever best weights exist, not only after a stop.
    model = FakeModel()
    es = EarlyStopping(patience=5, restore_best_weights=True)
    fit(model, [es], val_losses(1.0, 0.5, 0.7))
    assert es.stopped_epoch == 0 and model.weight_tag() == 1.0


def test_early_stopping_without_restore_keeps_last_weights():
    model = FakeModel()
    fit(model, [EarlyStopping(patience=1)], val_losses(1.0, 0.5, 0.7, 0.8))
    assert model.weight_tag() == 2.0


def test_early_stopping_can_be_reused_across_fits():
    es = EarlyStopping(patience=1)
    first = fit(FakeModel(), [es], val_losses(1.0, 0.5, 0.7, 0.8))
    second = fit(FakeModel(), [es], val_losses(3.0, 2.0, 2.5, 2.6))
    assert first.epoch == second.epoch == [0, 1, 2]
    assert es.best == 2.0


def test_early_stopping_verbose_messages(capsys):
    es = EarlyStopping(patience=1, verbose=1, restore_best_weights=True)
    fit(FakeModel(), [es], val_losses(1.0, 0.5, 0.7, 0.8))
    out = capsys.readouterr().out
    assert out == ("Epoch 3: early stopping\nRestoring model weights from the end of the best epoch: 2.\n")


def test_early_stopping_missing_monitor_warns_and_skips():
    es = EarlyStopping(monitor="val_loss")
    with pytest.warns(UserWarning, match=r"'val_loss'.*Available metrics are: loss, accuracy"):
        history = fit(FakeModel(), [es], [{"loss": 1.0, "accuracy": 0.5}] * 3)
    assert history.epoch == [0, 1, 2] and es.stopped_epoch == 0


def test_early_stopping_rejects_unknown_mode():
    with pytest.raises(ValueError, match=r"EarlyStopping: mode must be 'auto', 'min' or 'max', got 'mx'"):
        EarlyStopping(mode="mx")


# ----------------------------------------------------------------------------- ReduceLROnPlateau


def test_reduce_lr_on_plateau_reduces_after_patience_and_logs_the_rate():
    model = FakeModel(learning_rate=0.1)
    cb = ReduceLROnPlateau(factor=0.5, patience=2)
    history = fit(model, [cb], val_losses(1.0, 1.0, 1.0, 1.0, 1.0, 1.0))
    assert model.optimizer.sets == [0.05, 0.025]
    # The rate in effect during each epoch; reductions happen at the ends of epochs 2 and 4.
    assert history.history["learning_rate"] == [0.1, 0.1, 0.1, 0.05, 0.05, 0.025]


def test_reduce_lr_on_plateau_improvement_resets_wait_and_min_delta_counts():
    model = FakeModel(learning_rate=1.0)
    cb = ReduceLROnPlateau(factor=0.5, patience=2)
    # 0.99995 improves by less than min_delta=1e-4, so it is no improvement.
    history = fit(model, [cb], val_losses(1.0, 0.99995, 0.5, 0.5, 0.5))
    assert model.optimizer.sets == [0.5]
    assert history.history["learning_rate"] == [1.0, 1.0, 1.0, 1.0, 1.0]


@pytest.mark.parametrize(("cooldown", "reduced_at"), [(0, [1, 2, 3, 4, 5]), (2, [1, 3, 5])])
def test_reduce_lr_on_plateau_cooldown(cooldown, reduced_at):
    model = FakeModel(learning_rate=1.0)
    cb = ReduceLROnPlateau(factor=0.5, patience=1, cooldown=cooldown)
    history = fit(model, [cb], val_losses(*[1.0] * 6))
    rates = history.history["learning_rate"] + [model.optimizer.learning_rate]
    assert [e for e in range(6) if rates[e + 1] < rates[e]] == reduced_at


def test_reduce_lr_on_plateau_respects_min_lr():
    model = FakeModel(learning_rate=0.1)
    cb = ReduceLROnPlateau(factor=0.1, patience=1, min_lr=0.005)
    fit(model, [cb], val_losses(*[1.0] * 5))
    assert model.optimizer.sets == pytest.approx([0.01, 0.005])


def test_reduce_lr_on_plateau_mode_max_and_verbose(capsys):
    model = FakeModel(learning_rate=1.0)
    cb = ReduceLROnPlateau(monitor="val_accuracy", factor=0.5, patience=1, verbose=1)
    logs = [{"loss": 1.0, "val_accuracy": a} for a in (0.5, 0.6, 0.55)]
    fit(model, [cb], logs)
    assert model.optimizer.sets == [0.5]
    assert capsys.readouterr().out == "\nEpoch 3: ReduceLROnPlateau reducing learning rate to 0.5.\n"


def test_reduce_lr_on_plateau_missing_monitor_warns():
    cb = ReduceLROnPlateau(patience=0)
    with pytest.warns(UserWarning, match=r"ReduceLROnPlateau .*'val_loss'.*Available metrics are: loss"):
        fit(FakeModel(), [cb], [{"loss": 1.0}] * 2)


def test_reduce_lr_on_plateau_rejects_bad_arguments():
    with pytest.raises(ValueError, match=r"factor must be below 1.0 .*got factor=1.0"):
        ReduceLROnPlateau(factor=1.0)
    with pytest.raises(ValueError, match=r"ReduceLROnPlateau: mode must be .*got 'up'"):
        ReduceLROnPlateau(mode="up")


# ----------------------------------------------------------------------------- LearningRateScheduler


def test_learning_rate_scheduler_two_argument_schedule():
    model = FakeModel(learning_rate=0.1)
    cb = LearningRateScheduler(lambda epoch, lr: lr if epoch < 2 else lr / 2)
    history = fit(model, [cb], val_losses(1.0, 1.0, 1.0, 1.0))
    assert history.history["learning_rate"] == [0.1, 0.1, 0.05, 0.025]


def test_learning_rate_scheduler_one_argument_schedule_and_numpy_floats(capsys):
    model = FakeModel(learning_rate=0.1)
    cb = LearningRateScheduler(lambda epoch: np.float32(0.5) ** epoch, verbose=1)
    fit(model, [cb], val_losses(1.0, 1.0, 1.0))
    assert model.optimizer.sets == [1.0, 0.5, 0.25]
    assert all(type(v) is float for v in model.optimizer.sets)
    assert "Epoch 3: LearningRateScheduler setting learning rate to 0.25." in capsys.readouterr().out
    cb = LearningRateScheduler(lambda epoch, lr: np.array(0.3))
    fit(model, [cb], val_losses(1.0))
    assert model.optimizer.learning_rate == 0.3


def test_learning_rate_scheduler_does_not_swallow_type_errors_in_the_schedule():
    def schedule(epoch, lr):
        raise TypeError("bug inside the schedule")

    with pytest.raises(TypeError, match="bug inside the schedule"):
        fit(FakeModel(), [LearningRateScheduler(schedule)], val_losses(1.0))


def test_learning_rate_scheduler_rejects_bad_schedules():
    with pytest.raises(ValueError, match=r"schedule\(0, 0.1\) must return a float, got int 1"):
        fit(FakeModel(), [LearningRateScheduler(lambda epoch, lr: 1)], val_losses(1.0))
    with pytest.raises(ValueError, match=r"must return a float, got NoneType None"):
        fit(FakeModel(), [LearningRateScheduler(lambda epoch, lr: None)], val_losses(1.0))
    with pytest.raises(TypeError, match=r"schedule must be a function .*got float 0.1"):
        LearningRateScheduler(0.1)


# ----------------------------------------------------------------------------- TerminateOnNaN


@pytest.mark.parametrize("bad", [NAN, math.inf, -math.inf])
def test_terminate_on_nan_stops_at_the_first_invalid_loss(capsys, bad):
    model = FakeModel()
    logs = [{"loss": v} for v in (1.0, 0.5, bad, 0.3)]
    history = fit(model, [TerminateOnNaN()], logs, steps=3)
    assert capsys.readouterr().out == "Batch 0: Invalid loss, terminating training\n"
    assert history.epoch == [0, 1, 2]
    assert model.weight_tag() == 2.0  # without restore_last_finite the weights are left as is


def test_terminate_on_nan_restores_last_finite_epoch(capsys):
    model = FakeModel()
    logs = [{"loss": v} for v in (1.0, 0.5, NAN, 0.3)]
    cb = TerminateOnNaN(restore_last_finite=True)
    fit(model, [cb], logs)
    assert model.weight_tag() == 1.0 and cb.last_finite_epoch == 1
    assert all(np.all(w == 1.0) for w in model.weights)
    assert capsys.readouterr().out.endswith(
        "Restoring model weights from the end of epoch 2, the last with a finite loss.\n"
    )


def test_terminate_on_nan_restores_initial_weights_when_no_epoch_was_finite(capsys):
    model = FakeModel()
    fit(model, [TerminateOnNaN(restore_last_finite=True)], [{"loss": NAN}, {"loss": 1.0}])
    assert model.weight_tag() == -1.0
    assert "from the start of training" in capsys.readouterr().out


def test_terminate_on_nan_ignores_logs_without_loss():
    model = FakeModel()
    history = fit(model, [TerminateOnNaN()], [{"accuracy": NAN}] * 2)
    assert history.epoch == [0, 1] and not model.stop_training


# ----------------------------------------------------------------------------- CSVLogger


def test_csv_logger_writes_sorted_header_and_rows(tmp_path):
    path = tmp_path / "log.csv"
    logs = [
        {"loss": 1.0, "accuracy": 0.5, "val_loss": 2.0},
        {"loss": 0.5, "val_loss": 1.5},  # a missing key is written as NA
    ]
    logger = CSVLogger(path)
    fit(FakeModel(), [logger], logs)
    assert path.read_text().splitlines() == [
        "epoch,accuracy,loss,val_loss",
        "0,0.5,1.0,2.0",
        "1,NA,0.5,1.5",
    ]
    assert logger.csv_file.closed


def test_csv_logger_flushes_each_epoch(tmp_path):
    path = tmp_path / "log.csv"
    lines_seen = []
    peek = LambdaCallback(on_epoch_end=lambda e, logs: lines_seen.append(len(path.read_text().splitlines())))
    fit(FakeModel(), [CSVLogger(path), peek], val_losses(1.0, 0.9))
    assert lines_seen == [2, 3]


def test_csv_logger_append_does_not_rewrite_header(tmp_path):
    path = tmp_path / "log.csv"
    fit(FakeModel(), [CSVLogger(path, separator=";", append=True)], val_losses(1.0))
    fit(FakeModel(), [CSVLogger(path, separator=";", append=True)], val_losses(0.5, 0.25))
    assert path.read_text().splitlines() == [
        "epoch;loss;val_loss",
        "0;1.0;1.0",
        "0;1.0;0.5",
        "1;1.0;0.25",
    ]
    fit(FakeModel(), [CSVLogger(path)], val_losses(7.0))  # append=False overwrites
    assert path.read_text().splitlines() == ["epoch,loss,val_loss", "0,1.0,7.0"]


def test_csv_logger_adds_expected_validation_columns_and_formats_arrays(tmp_path):
    path = tmp_path / "log.csv"
    model = FakeModel(metrics_names=["loss", "val_loss"])
    fit(model, [CSVLogger(path)], [{"loss": 1.0, "per_class": np.array([0.5, 0.25])}])
    assert path.read_text().splitlines() == [
        "epoch,loss,per_class,val_loss",
        '0,1.0,"[0.5, 0.25]",NA',
    ]


# ----------------------------------------------------------------------------- LambdaCallback


def test_lambda_callback_calls_given_hooks():
    calls = []
    cb = LambdaCallback(
        on_train_begin=lambda logs: calls.append("train_begin"),
        on_epoch_end=lambda epoch, logs: calls.append(("epoch_end", epoch, logs["val_loss"])),
        on_train_batch_end=lambda batch, logs: calls.append(("batch_end", batch)),
        on_train_end=lambda logs: calls.append("train_end"),
        on_test_end=lambda logs: calls.append(("test_end", logs)),
    )
    fit(FakeModel(), [cb], val_losses(0.5), steps=2)
    cb.on_test_end({"loss": 3.0})
    assert calls == [
        "train_begin",
        ("batch_end", 0),
        ("batch_end", 1),
        ("epoch_end", 0, 0.5),
        "train_end",
        ("test_end", {"loss": 3.0}),
    ]
    assert cb.on_epoch_begin(0) is None  # hooks not given keep the base no-op


def test_lambda_callback_rejects_unknown_hooks_and_non_functions():
    with pytest.raises(
        TypeError,
        match=r"unknown hook 'on_epoch_ends'; did you mean 'on_epoch_end'\? valid hooks are: .*on_train_end",
    ):
        LambdaCallback(on_epoch_ends=print)
    with pytest.raises(TypeError, match=r"unknown hook 'callback'; valid hooks are: on_batch_begin"):
        LambdaCallback(callback=print)
    with pytest.raises(TypeError, match=r"on_epoch_end must be a function, got str 'print'"):
        LambdaCallback(on_epoch_end="print")


# ----------------------------------------------------------------------------- Progbar


class Clock:
    """A fake time.time() returning the given instants in turn."""

    def __init__(self, *instants):
        self.instants = list(instants)

    def __call__(self):
        return self.instants.pop(0)


class Terminal(io.StringIO):
    encoding = "utf-8"

    def isatty(self):
        return True


def test_progbar_verbose_2_prints_one_exact_line(monkeypatch, capsys):
    # init at 100.0; step 1 (compile) at 100.5; step 3 at 100.512: 6 ms per later step.
    monkeypatch.setattr(progbar.time, "time", Clock(100.0, 100.5, 100.506, 100.512))
    bar = Progbar(3, verbose=2)
    bar.update(1, [("loss", 1.0)])
    bar.update(2, [("loss", 0.75)])
    assert capsys.readouterr().out == ""
    bar.update(3, [("loss", 0.5), ("val_loss", 1.2345e-5)])
    assert capsys.readouterr().out == "3/3 - 1s - 6ms/step - loss: 0.5000 - val_loss: 1.2345e-05\n"


def test_progbar_verbose_1_non_terminal_prints_ascii_lines(monkeypatch, capsys):
    monkeypatch.setattr(progbar.time, "time", Clock(0.0, 0.5, 2.5, 10.5))
    bar = Progbar(10, verbose=1, interval=0)
    bar.update(1, [("loss", 2.0), ("accuracy", 0.25)])
    bar.update(5, [("loss", 1.0), ("accuracy", 0.5)])
    bar.update(10, [("loss", 0.5), ("accuracy", 0.75)])
    assert capsys.readouterr().out.splitlines() == [
        " 1/10 [=>..................] 4s 500ms/step - loss: 2.0000 - accuracy: 0.2500",
        " 5/10 [=========>..........] 2s 500ms/step - loss: 1.0000 - accuracy: 0.5000",
        "10/10 [====================] 10s 1s/step - loss: 0.5000 - accuracy: 0.7500",
    ]


def test_progbar_verbose_1_terminal_redraws_in_place(monkeypatch):
    term = Terminal()
    monkeypatch.setattr(sys, "stdout", term)
    monkeypatch.setattr(progbar.time, "time", Clock(0.0, 0.004, 0.94))
    bar = Progbar(469, verbose=1, interval=0)
    bar.update(1, [("accuracy", 0.5), ("loss", 12.3456789)])
    bar.update(469, [("accuracy", 0.9237), ("loss", 0.2611)])
    first, final = term.getvalue().split("\r")[1:]
    assert first.startswith(f"  1/469 {'─' * 20} 1s 4ms/step - accuracy: 0.5000 - loss: 12.3457")
    assert (
        final == f"469/469 {'━' * 20} 1s 2ms/step - accuracy: 0.9237 - loss: 0.2611 \n"
    )  # padded over "12.3457"
    line = re.compile(r"^\d+/\d+ [━─]{20} \d+s \d+(s|ms|us)/step( - \w+: -?\d+\.\d{4}(e[-+]\d+)?)+$")
    assert line.match(final.rstrip())


def test_progbar_pads_a_shorter_redraw_and_honours_interval(monkeypatch):
    term = Terminal()
    monkeypatch.setattr(sys, "stdout", term)
    bar = Progbar(100, verbose=1, interval=3600)
    bar.update(1, [("loss", 123456.0)])
    bar.update(2, [("loss", 1.0)])  # within the interval: not drawn
    bar.update(100, [("loss", 1.0)])
    first, final = term.getvalue().split("\r")[1:]
    assert len(final.rstrip("\n")) >= len(first) and final.rstrip("\n").endswith(" ")


def test_progbar_unknown_target_and_add(capsys):
    bar = Progbar(None, verbose=1, interval=0)
    bar.add(3, [("loss", 0.5)])
    bar.add(2)
    out = capsys.readouterr().out.splitlines()
    assert re.match(r"^      3/Unknown \d+s \d+(ms|us|s)/step - loss: 0\.5000$", out[0])
    assert out[1].startswith("      5/Unknown")


def test_progbar_averages_metrics_not_declared_stateful(capsys):
    bar = Progbar(8, verbose=1, interval=0, stateful_metrics=["acc"])
    bar.update(2, [("loss", 1.0), ("acc", 0.1)])
    bar.update(6, [("loss", 4.0), ("acc", 0.2)])  # loss: (1*2 + 4*4) / 6 = 3
    assert capsys.readouterr().out.splitlines()[1].endswith("loss: 3.0000 - acc: 0.2000")


def test_progbar_verbose_0_is_silent(capsys):
    bar = Progbar(2, verbose=0)
    bar.update(1, [("loss", 1.0)])
    bar.update(2, [("loss", 1.0)])
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.26114, "0.2611"),
        (12.34567, "12.3457"),
        (-0.5, "-0.5000"),
        (1.2345e-5, "1.2345e-05"),
        (0.0, "0.0000e+00"),
        (NAN, "nan"),
        (np.array([1.0, 2.0]), "1.5000"),
    ],
)
def test_format_value_matches_keras(value, text):
    assert progbar._format_value(value) == text


@pytest.mark.parametrize(
    ("seconds", "text"), [(2.4, "2s/step"), (0.004, "4ms/step"), (4e-6, "4us/step"), (0, "0s/step")]
)
def test_format_time(seconds, text):
    assert progbar._format_time(seconds, "step") == text


@pytest.mark.parametrize(("eta", "text"), [(5.7, "5s"), (125, "2:05"), (3700, "1:01:40")])
def test_format_eta(eta, text):
    assert progbar._format_eta(eta) == text


def test_progbar_rejects_bad_verbose():
    with pytest.raises(ValueError, match=r"verbose must be 'auto', 0 .* got 3"):
        Progbar(10, verbose=3)


# ----------------------------------------------------------------------------- ProgbarLogger


def test_progbar_logger_verbose_2_in_fit(capsys):
    logs = [{"loss": 0.5, "accuracy": 0.75, "val_loss": 0.6, "val_accuracy": 0.7}] * 2
    fit(FakeModel(), [], logs, steps=469, verbose=2)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Epoch 1/2" and out[2] == "Epoch 2/2" and len(out) == 4
    pattern = (
        r"^469/469 - \d+s - \d+(s|ms|us)/step - loss: 0\.5000 - accuracy: 0\.7500"
        r" - val_loss: 0\.6000 - val_accuracy: 0\.7000$"
    )
    assert re.match(pattern, out[1]) and re.match(pattern, out[3])


def test_progbar_logger_verbose_1_in_fit_shows_val_metrics_on_final_line(capsys):
    fit(FakeModel(), [], [{"loss": 0.5, "val_loss": 0.6}], steps=3, verbose=1)
    out = capsys.readouterr().out.splitlines()
    assert "Epoch" not in out[0]  # a single epoch gets no "Epoch 1/1" header, as in Keras
    assert re.match(r"^3/3 \[=+\] \d+s \d+(s|ms|us)/step - loss: 0\.5000 - val_loss: 0\.6000$", out[-1])


def test_progbar_logger_silent_at_verbose_0_and_for_validation_inside_fit(capsys):
    fit(FakeModel(), [ProgbarLogger()], val_losses(1.0, 1.0), verbose=0)
    assert capsys.readouterr().out == ""
    logger = ProgbarLogger()
    logger.set_params({"verbose": 2, "epochs": 1, "steps": 4})
    logger.on_train_begin()
    logger.on_test_begin()
    logger.on_test_batch_end(3, {"loss": 1.0})
    logger.on_test_end({"loss": 1.0})
    assert capsys.readouterr().out == ""


def test_progbar_logger_evaluate_and_predict(capsys):
    logger = ProgbarLogger()
    logger.set_params({"verbose": 2, "epochs": 1, "steps": None})
    logger.on_test_begin()
    logger.on_test_batch_end(0, {"loss": 1.0})
    logger.on_test_batch_end(4, {"loss": 0.5})
    logger.on_test_end({"loss": 0.5, "accuracy": 0.9})
    assert re.match(
        r"^5/5 - \d+s - \d+(s|ms|us)/step - loss: 0\.5000 - accuracy: 0\.9000\n$", capsys.readouterr().out
    )
    logger.set_params({"verbose": 2, "epochs": 1, "steps": 2})
    logger.on_predict_begin()
    logger.on_predict_batch_end(1, {"outputs": np.zeros(3)})
    logger.on_predict_end()
    assert re.match(r"^2/2 - \d+s - \d+(s|ms|us)/step\n$", capsys.readouterr().out)


# ----------------------------------------------------------------------------- resolve_verbose


def test_resolve_verbose(monkeypatch):
    assert [resolve_verbose(v) for v in (0, 1, 2, np.int64(2))] == [0, 1, 2, 2]
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    assert resolve_verbose("auto") == 2
    monkeypatch.setattr(sys, "stdout", Terminal())
    assert resolve_verbose("auto") == 1


@pytest.mark.parametrize("bad", [3, -1, "loud", 1.0, None])
def test_resolve_verbose_rejects_other_values(bad):
    with pytest.raises(
        ValueError,
        match=rf"verbose must be 'auto', 0 \(silent\), 1 \(progress bar\) or 2 .*got {re.escape(repr(bad))}",
    ):
        resolve_verbose(bad)
