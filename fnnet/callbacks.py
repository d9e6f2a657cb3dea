"""Keras-style callbacks: hooks that ``Sequential.fit``/``evaluate``/``predict`` call on the host.

Callbacks never run inside compiled code. ``fit`` calls them between compiled chunks of steps with
plain Python floats, so a callback may read and change the model freely (stop training, swap
weights, set the learning rate) without causing a recompile.

The contract a model must meet to drive these callbacks (``fnnet.models.Sequential`` meets it):

* ``model.stop_training``: a bool that ``fit`` checks after every chunk of steps and every epoch.
* ``model.get_weights() -> list[np.ndarray]`` and ``model.set_weights(list)``.
* ``model.optimizer.learning_rate``: a float property whose setter changes the rate used by the
  next step (needed only by ``ReduceLROnPlateau`` and ``LearningRateScheduler``).
* ``model.history``: set by ``History`` at train begin.

``fit`` drives them through a ``CallbackList``::

    cbs = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0, model=model,
                       verbose=verbose, epochs=epochs, steps=steps_per_epoch)
    cbs.on_train_begin()
    for epoch in range(initial_epoch, epochs):
        cbs.on_epoch_begin(epoch)
        ...  # per chunk: cbs.on_train_batch_begin(first), cbs.on_train_batch_end(last, logs)
        cbs.on_epoch_end(epoch, epoch_logs)
        if model.stop_training:
            break
    cbs.on_train_end(epoch_logs)

``ModelCheckpoint`` and ``BackupAndRestore`` live elsewhere.
"""

from __future__ import annotations

import csv
import difflib
import inspect
import math
import os
import sys
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from fnnet.progbar import Progbar, resolve_verbose

Logs = Mapping[str, Any] | None

__all__ = [
    "Callback",
    "BackupAndRestore",  # noqa: F822 (loaded lazily, see __getattr__)
    "CallbackList",
    "CSVLogger",
    "EarlyStopping",
    "History",
    "LambdaCallback",
    "LearningRateScheduler",
    "ModelCheckpoint",  # noqa: F822
    "Progbar",
    "ProgbarLogger",
    "ReduceLROnPlateau",
    "TerminateOnNaN",
    "resolve_verbose",
]


class Callback:
    """Base class for callbacks: every hook is a no-op that subclasses override.

    Attributes:
        model: the model being trained, set by ``set_model`` (``None`` until then).
        params: the run's parameters, set by ``set_params``: ``{"verbose", "epochs", "steps"}``.

    ``batch`` arguments are 0-based batch indices within the epoch; ``epoch`` is 0-based.
    ``logs`` is a dict of Python floats (running epoch averages for batch hooks) or ``None``.

    Example:
        >>> class Count(Callback):
        ...     def on_epoch_end(self, epoch, logs=None):
        ...         print(f"epoch {epoch}: loss={logs['loss']}")
        >>> Count().on_epoch_end(0, {"loss": 0.5})
        epoch 0: loss=0.5
    """

    def __init__(self) -> None:
        self.model: Any = None
        self.params: dict[str, Any] = {}

    def set_model(self, model: Any) -> None:
        """Attaches the model this callback acts on."""
        self.model = model

    def set_params(self, params: dict[str, Any]) -> None:
        """Stores the run's parameters (``verbose``, ``epochs``, ``steps``)."""
        self.params = params

    def on_train_begin(self, logs: Logs = None) -> None:
        """Called once at the start of ``fit``."""

    def on_train_end(self, logs: Logs = None) -> None:
        """Called once at the end of ``fit``, also after an early stop."""

    def on_epoch_begin(self, epoch: int, logs: Logs = None) -> None:
        """Called at the start of every epoch."""

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        """Called at the end of every epoch with the epoch's (and validation) metrics."""

    def on_batch_begin(self, batch: int, logs: Logs = None) -> None:
        """Keras's backwards-compatible alias, called by ``on_train_batch_begin``."""

    def on_batch_end(self, batch: int, logs: Logs = None) -> None:
        """Keras's backwards-compatible alias, called by ``on_train_batch_end``."""

    def on_train_batch_begin(self, batch: int, logs: Logs = None) -> None:
        """Called before a chunk of training steps; ``batch`` is the chunk's first batch."""
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch: int, logs: Logs = None) -> None:
        """Called after a chunk of training steps; ``batch`` is the chunk's last batch."""
        self.on_batch_end(batch, logs=logs)

    def on_test_begin(self, logs: Logs = None) -> None:
        """Called at the start of ``evaluate``."""

    def on_test_end(self, logs: Logs = None) -> None:
        """Called at the end of ``evaluate`` with the final metrics."""

    def on_test_batch_begin(self, batch: int, logs: Logs = None) -> None:
        """Called before a chunk of evaluation steps."""

    def on_test_batch_end(self, batch: int, logs: Logs = None) -> None:
        """Called after a chunk of evaluation steps."""

    def on_predict_begin(self, logs: Logs = None) -> None:
        """Called at the start of ``predict``."""

    def on_predict_end(self, logs: Logs = None) -> None:
        """Called at the end of ``predict``."""

    def on_predict_batch_begin(self, batch: int, logs: Logs = None) -> None:
        """Called before a chunk of prediction steps."""

    def on_predict_batch_end(self, batch: int, logs: Logs = None) -> None:
        """Called after a chunk of prediction steps."""


_HOOKS = tuple(sorted(name for name in vars(Callback) if name.startswith("on_")))


def _check_callbacks(callbacks: Any) -> list[Callback]:
    if callbacks is None:
        return []
    if isinstance(callbacks, Callback):
        return [callbacks]
    if isinstance(callbacks, str | bytes) or not isinstance(callbacks, Iterable):
        raise TypeError(
            f"CallbackList: callbacks must be a list of Callback instances, got "
            f"{type(callbacks).__name__} {callbacks!r}; pass e.g. callbacks=[EarlyStopping()]."
        )
    out = list(callbacks)
    for i, cb in enumerate(out):
        if isinstance(cb, type) and issubclass(cb, Callback):
            raise TypeError(
                f"CallbackList: callbacks[{i}] is the class {cb.__name__}, not an instance; "
                f"write {cb.__name__}() instead."
            )
        if not isinstance(cb, Callback):
            raise TypeError(
                f"CallbackList: callbacks[{i}] is {type(cb).__name__} {cb!r}, not a Callback; "
                f"subclass fnnet.callbacks.Callback or wrap a function in LambdaCallback(...)."
            )
    return out


class CallbackList(Callback):
    """Dispatches every hook to a list of callbacks, in order.

    ``History`` and ``ProgbarLogger`` are appended after the user's callbacks (unless the user
    passed their own), so they see any keys other callbacks add to the logs, such as
    ``learning_rate``.

    Args:
        callbacks: a list of ``Callback`` instances (a single instance is also accepted).
        add_history: append a ``History`` if none is in ``callbacks``.
        add_progbar: append a ``ProgbarLogger`` if none is in ``callbacks``.
        model: the model, passed to every callback's ``set_model``.
        **params: the run's parameters (``verbose``, ``epochs``, ``steps``), passed to every
            callback's ``set_params``.

    Example:
        >>> cbs = CallbackList([], add_history=True, verbose=0, epochs=2, steps=1)
        >>> cbs.on_train_begin()
        >>> cbs.on_epoch_end(0, {"loss": 1.0})
        >>> cbs.history.history
        {'loss': [1.0]}
    """

    def __init__(
        self,
        callbacks: Iterable[Callback] | Callback | None = None,
        add_history: bool = False,
        add_progbar: bool = False,
        model: Any = None,
        **params: Any,
    ) -> None:
        super().__init__()
        self.callbacks = _check_callbacks(callbacks)
        self.history: History | None = next((cb for cb in self.callbacks if isinstance(cb, History)), None)
        if self.history is None and add_history:
            self.history = History()
            self.callbacks.append(self.history)
        if add_progbar and not any(isinstance(cb, ProgbarLogger) for cb in self.callbacks):
            self.callbacks.append(ProgbarLogger())
        if model is not None:
            self.set_model(model)
        self.set_params(params)

    def append(self, callback: Callback) -> None:
        """Adds one more callback at the end."""
        (callback,) = _check_callbacks([callback])
        callback.set_model(self.model)
        callback.set_params(self.params)
        self.callbacks.append(callback)

    def set_model(self, model: Any) -> None:
        super().set_model(model)
        for cb in self.callbacks:
            cb.set_model(model)

    def set_params(self, params: dict[str, Any]) -> None:
        super().set_params(params)
        for cb in self.callbacks:
            cb.set_params(params)

    def on_train_begin(self, logs=None):
        for cb in self.callbacks:
            cb.on_train_begin(logs)

    def on_train_end(self, logs=None):
        for cb in self.callbacks:
            cb.on_train_end(logs)

    def on_epoch_begin(self, epoch, logs=None):
        for cb in self.callbacks:
            cb.on_epoch_begin(epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        for cb in self.callbacks:
            cb.on_epoch_end(epoch, logs)

    def on_train_batch_begin(self, batch, logs=None):
        for cb in self.callbacks:
            cb.on_train_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        for cb in self.callbacks:
            cb.on_train_batch_end(batch, logs)

    def on_test_begin(self, logs=None):
        for cb in self.callbacks:
            cb.on_test_begin(logs)

    def on_test_end(self, logs=None):
        for cb in self.callbacks:
            cb.on_test_end(logs)

    def on_test_batch_begin(self, batch, logs=None):
        for cb in self.callbacks:
            cb.on_test_batch_begin(batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        for cb in self.callbacks:
            cb.on_test_batch_end(batch, logs)

    def on_predict_begin(self, logs=None):
        for cb in self.callbacks:
            cb.on_predict_begin(logs)

    def on_predict_end(self, logs=None):
        for cb in self.callbacks:
            cb.on_predict_end(logs)

    def on_predict_batch_begin(self, batch, logs=None):
        for cb in self.callbacks:
            cb.on_predict_batch_begin(batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        for cb in self.callbacks:
            cb.on_predict_batch_end(batch, logs)


class History(Callback):
    """Records the epoch logs; ``fit`` returns it.

    Attributes:
        history: dict from metric name to the list of its per-epoch values, keys in the order
            they first arrive.
        epoch: list of the epoch indices recorded.

    Example:
        >>> h = History()
        >>> h.on_train_begin()
        >>> for e, loss in enumerate([0.9, 0.5]):
        ...     h.on_epoch_end(e, {"loss": loss, "val_loss": loss + 0.1})
        >>> h.epoch, h.history["val_loss"]
        ([0, 1], [1.0, 0.6])
    """

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list[Any]] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs=None):
        self.epoch = []
        if self.model is not None:
            self.model.history = self

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)


class ProgbarLogger(Callback):
    """Prints Keras's per-epoch progress (``fit`` adds it when ``verbose != 0``).

    Prints ``Epoch i/N`` before each epoch when ``N > 1`` and ``verbose`` is 1 or 2, then a
    ``Progbar`` (see there for the three display forms). Inside ``fit`` the validation pass stays
    silent; its ``val_*`` metrics show on the epoch's final line. ``evaluate`` and ``predict``
    get a bar of their own.

    Reads ``params["verbose"]`` (``"auto"``, 0, 1 or 2), ``params["epochs"]`` and
    ``params["steps"]`` (steps per epoch, or ``None`` if unknown).

    Example:
        >>> logger = ProgbarLogger()
        >>> logger.set_params({"verbose": 2, "epochs": 2, "steps": 10})
        >>> logger.on_train_begin()
        >>> logger.on_epoch_begin(0)
        Epoch 1/2
        >>> logger.on_train_batch_end(9, {"loss": 0.25})
        >>> logger.on_epoch_end(0, {"loss": 0.25, "val_loss": 0.5})
        10/10 - 0s - ...s/step - loss: 0.2500 - val_loss: 0.5000
    """

    def __init__(self) -> None:
        super().__init__()
        self.verbose = 1
        self.epochs = 1
        self.target: int | None = None
        self.seen = 0
        self.progbar: Progbar | None = None
        self._in_fit = False

    def set_params(self, params):
        super().set_params(params)
        self.verbose = resolve_verbose(params.get("verbose", 1))
        self.epochs = params.get("epochs", 1)
        self.target = params.get("steps")

    def _reset(self) -> None:
        self.seen = 0
        self.progbar = Progbar(self.target, verbose=self.verbose, unit_name="step")

    def _update(self, batch: int, logs: Logs) -> None:
        if self.progbar is None:
            self._reset()
        self.seen = batch + 1
        if self.verbose == 1:
            self.progbar.update(self.seen, list((logs or {}).items()), finalize=False)
        elif self.verbose:
            # At verbose=2 this prints nothing but lets the time per step leave out compilation.
            # The values are not read: batch logs are computed lazily, and reading them would
            # make fit wait for the device after every chunk.
            self.progbar.update(self.seen, [], finalize=False)

    def _finalize(self, logs: Logs) -> None:
        if self.progbar is None:
            self._reset()
        target = self.progbar.target if self.progbar.target is not None else self.seen
        self.progbar.target = target
        self.progbar.update(target, list((logs or {}).items()), finalize=True)

    def on_train_begin(self, logs=None):
        self._in_fit = True

    def on_train_end(self, logs=None):
        self._in_fit = False

    def on_epoch_begin(self, epoch, logs=None):
        self._reset()
        if self.verbose and self.epochs > 1:
            print(f"Epoch {epoch + 1}/{self.epochs}", file=sys.stdout, flush=True)

    def on_train_batch_end(self, batch, logs=None):
        self._update(batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._finalize(logs)

    def on_test_begin(self, logs=None):
        if not self._in_fit:
            self._reset()

    def on_test_batch_end(self, batch, logs=None):
        if not self._in_fit:
            self._update(batch, logs)

    def on_test_end(self, logs=None):
        if not self._in_fit:
            self._finalize(logs)

    def on_predict_begin(self, logs=None):
        self._reset()

    def on_predict_batch_end(self, batch, logs=None):
        self._update(batch, None)  # Predictions are arrays, not metrics to show.

    def on_predict_end(self, logs=None):
        self._finalize(None)


# Names whose larger values are better when mode="auto" (Keras 2's substring rule, extended to the
# other "up" metrics Keras 3 knows). Everything else, including every loss, is minimized.
_MAXIMIZED = ("acc", "auc", "precision", "recall")


def _resolve_mode(owner: str, mode: str, monitor: str) -> str:
    # Keras only warns on an unknown mode and falls back to "auto"; a typo such as "mx" would then
    # silently minimize an accuracy, so we raise instead.
    if mode not in ("auto", "min", "max"):
        raise ValueError(
            f"{owner}: mode must be 'auto', 'min' or 'max', got {mode!r}; use mode='max' for "
            f"metrics that grow when the model improves and mode='min' for losses."
        )
    if mode != "auto":
        return mode
    name = monitor.removeprefix("val_")
    return "max" if any(word in name for word in _MAXIMIZED) else "min"


def _monitor_value(owner: str, monitor: str, logs: Logs) -> Any:
    logs = logs or {}
    value = logs.get(monitor)
    if value is None:
        warnings.warn(
            f"{owner} is conditioned on metric {monitor!r}, which is not in the logs. "
            f"Available metrics are: {', '.join(logs)}.",
            stacklevel=3,
        )
    return value


def _snapshot(model: Any) -> list[np.ndarray]:
    # A copy, because get_weights may return zero-copy views of device buffers that the next
    # (donating) train step reuses.
    return [np.array(w, copy=True) for w in model.get_weights()]


class EarlyStopping(Callback):
    """Stops training when a monitored metric has stopped improving (Keras 3 semantics).

    At each epoch end, from epoch ``start_from_epoch`` on, the value of ``monitor`` counts as an
    improvement when it beats the best so far by more than ``min_delta``. ``wait`` counts the
    epochs since the last improvement (one that also beats ``baseline``, when given); once
    ``wait >= patience`` (and the epoch is not the first), ``model.stop_training`` is set and
    ``stopped_epoch`` records the epoch.

    With ``restore_best_weights=True`` the weights of the best epoch are kept (``get_weights``)
    and set back (``set_weights``) in ``on_train_end``, as Keras 3 does, whether training stopped
    early or ran to the end; an epoch is restored even if it never beat ``baseline``.

    A missing ``monitor`` key warns and skips the epoch, as in Keras.

    Args:
        monitor: the logs key to watch, e.g. ``"val_loss"``.
        min_delta: smallest change that counts as an improvement (its sign is ignored).
        patience: epochs without improvement before stopping.
        verbose: 1 prints a message when stopping and restoring, 0 is silent.
        mode: ``"min"``, ``"max"`` or ``"auto"``: ``"max"`` when the name (without ``val_``)
            contains ``acc``, ``auc``, ``precision`` or ``recall``, otherwise ``"min"``.
        baseline: a value the metric must beat; until it does, ``wait`` keeps growing.
        restore_best_weights: restore the best epoch's weights at the end of training.
        start_from_epoch: number of warm-up epochs that are not monitored.

    Example:
        >>> class Model:
        ...     stop_training = False
        >>> es = EarlyStopping(patience=1)
        >>> es.set_model(Model())
        >>> es.on_train_begin()
        >>> for epoch, val_loss in enumerate([1.0, 0.8, 0.9, 0.95]):
        ...     es.on_epoch_end(epoch, {"val_loss": val_loss})
        ...     if es.model.stop_training:
        ...         break
        >>> es.stopped_epoch, es.best
        (2, 0.8)
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        min_delta: float = 0,
        patience: int = 0,
        verbose: int = 0,
        mode: str = "auto",
        baseline: float | None = None,
        restore_best_weights: bool = False,
        start_from_epoch: int = 0,
    ) -> None:
        super().__init__()
        self.monitor = monitor
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self.mode = _resolve_mode("EarlyStopping", mode, monitor)
        # Stored signed, as Keras does: improvement means `current - min_delta` beats the best.
        self.min_delta = abs(min_delta) if self.mode == "max" else -abs(min_delta)
        self._reset()

    def _reset(self) -> None:
        # Keras 3 does not reset `best` here, so a reused instance compares against the previous
        # run; we reset it so an instance can be passed to several `fit` calls.
        self.wait = 0
        self.stopped_epoch = 0
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_weights: list[np.ndarray] | None = None
        self.best_epoch = 0

    def _is_improvement(self, value: float, reference: float) -> bool:
        shifted = value - self.min_delta
        return shifted < reference if self.mode == "min" else shifted > reference

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        current = _monitor_value("EarlyStopping", self.monitor, logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            # If no epoch improved yet, the current weights are the best seen.
            self.best_weights = _snapshot(self.model)
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = _snapshot(self.model)
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                best = self.best_epoch + 1
                print(f"Restoring model weights from the end of the best epoch: {best}.")
            self.model.set_weights(self.best_weights)


class ReduceLROnPlateau(Callback):
    """Multiplies the learning rate by ``factor`` when a metric stops improving (Keras semantics).

    At each epoch end the value of ``monitor`` improves when it beats the best by more than
    ``min_delta``. After ``patience`` epochs without improvement the rate becomes
    ``max(lr * factor, min_lr)`` (unless it is already at ``min_lr``), and the next ``cooldown``
    epochs do not count towards ``patience``. Also adds ``logs["learning_rate"]`` (the rate
    during the epoch) so ``History`` records it.

    Needs ``model.optimizer.learning_rate`` to be settable, i.e. a model compiled with an
    optimizer built with an injectable learning rate.

    Args:
        monitor: the logs key to watch.
        factor: the multiplier, below 1.
        patience: epochs without improvement before reducing.
        verbose: 1 prints a message on every reduction.
        mode: ``"min"``, ``"max"`` or ``"auto"`` (as in ``EarlyStopping``).
        min_delta: smallest change that counts as an improvement.
        cooldown: epochs to wait after a reduction before counting again.
        min_lr: lower bound on the learning rate.

    Example:
        >>> class Opt:
        ...     learning_rate = 0.1
        >>> class Model:
        ...     optimizer = Opt()
        >>> cb = ReduceLROnPlateau(factor=0.5, patience=1)
        >>> cb.set_model(Model())
        >>> cb.on_train_begin()
        >>> for epoch, val_loss in enumerate([1.0, 1.0, 1.0]):
        ...     cb.on_epoch_end(epoch, {"val_loss": val_loss})
        >>> Model.optimizer.learning_rate
        0.025
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        factor: float = 0.1,
        patience: int = 10,
        verbose: int = 0,
        mode: str = "auto",
        min_delta: float = 1e-4,
        cooldown: int = 0,
        min_lr: float = 0.0,
    ) -> None:
        super().__init__()
        if not factor < 1.0:
            raise ValueError(
                f"ReduceLROnPlateau: factor must be below 1.0 (new_lr = lr * factor), got "
                f"factor={factor!r}; to divide the rate by 10 pass factor=0.1."
            )
        self.monitor = monitor
        self.factor = factor
        self.patience = patience
        self.verbose = verbose
        self.mode = _resolve_mode("ReduceLROnPlateau", mode, monitor)
        self.min_delta = min_delta
        self.cooldown = cooldown
        self.min_lr = min_lr
        self._reset()

    def _reset(self) -> None:
        self.wait = 0
        self.cooldown_counter = 0
        self.best = math.inf if self.mode == "min" else -math.inf

    def _is_improvement(self, value: float) -> bool:
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def in_cooldown(self) -> bool:
        """Whether the callback is still waiting out ``cooldown`` after a reduction."""
        return self.cooldown_counter > 0

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        old_lr = float(self.model.optimizer.learning_rate)
        if logs is not None:
            logs["learning_rate"] = old_lr
        current = _monitor_value("ReduceLROnPlateau", self.monitor, logs)
        if current is None:
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            # Compare in float32 as Keras does: a rate stored in float32 and clamped to min_lr
            # may read back just above min_lr and would otherwise be "reduced" forever.
            if self.wait >= self.patience and np.float32(old_lr) > np.float32(self.min_lr):
                new_lr = max(old_lr * self.factor, self.min_lr)
                self.model.optimizer.learning_rate = new_lr
                if self.verbose > 0:
                    epoch_no = epoch + 1
                    print(f"\nEpoch {epoch_no}: ReduceLROnPlateau reducing learning rate to {new_lr}.")
                self.cooldown_counter = self.cooldown
                self.wait = 0


def _call_schedule(schedule: Callable[..., Any], epoch: int, lr: float) -> Any:
    # Keras tries schedule(epoch, lr) and retries schedule(epoch) on any TypeError, which also
    # hides TypeErrors raised inside the schedule; we pick the arity from the signature instead.
    try:
        signature = inspect.signature(schedule)
    except (TypeError, ValueError):
        return schedule(epoch, lr)
    try:
        signature.bind(epoch, lr)
    except TypeError:
        return schedule(epoch)
    return schedule(epoch, lr)


class LearningRateScheduler(Callback):
    """Sets the learning rate at the start of every epoch from ``schedule``.

    Also adds ``logs["learning_rate"]`` at epoch end so ``History`` records it.

    Args:
        schedule: ``schedule(epoch, lr) -> float`` (epoch 0-based, ``lr`` the current rate), or
            ``schedule(epoch) -> float``. It must return a float (a Python, numpy or 0-d
            floating array value).
        verbose: 1 prints the rate set at every epoch.

    Example:
        >>> class Opt:
        ...     learning_rate = 0.1
        >>> class Model:
        ...     optimizer = Opt()
        >>> cb = LearningRateScheduler(lambda epoch, lr: lr if epoch < 2 else lr / 2)
        >>> cb.set_model(Model())
        >>> for epoch in range(4):
        ...     cb.on_epoch_begin(epoch)
        >>> Model.optimizer.learning_rate
        0.025
    """

    def __init__(self, schedule: Callable[..., Any], verbose: int = 0) -> None:
        super().__init__()
        if not callable(schedule):
            raise TypeError(
                f"LearningRateScheduler: schedule must be a function (epoch, lr) -> float, got "
                f"{type(schedule).__name__} {schedule!r}; pass e.g. lambda epoch, lr: lr * 0.9."
            )
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        lr = float(self.model.optimizer.learning_rate)
        new_lr = _call_schedule(self.schedule, epoch, lr)
        is_float = isinstance(new_lr, float | np.floating) or (
            np.ndim(new_lr) == 0
            and hasattr(new_lr, "dtype")
            and np.issubdtype(np.dtype(new_lr.dtype), np.floating)
        )
        if not is_float:
            raise ValueError(
                f"LearningRateScheduler: schedule({epoch}, {lr}) must return a float, got "
                f"{type(new_lr).__name__} {new_lr!r}; return float(value) from the schedule."
            )
        new_lr = float(new_lr)
        self.model.optimizer.learning_rate = new_lr
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {new_lr}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)


class TerminateOnNaN(Callback):
    """Stops training as soon as the loss becomes NaN or infinite.

    Checks ``logs["loss"]`` after every chunk of training steps; on a non-finite loss it prints
    ``Batch N: Invalid loss, terminating training`` and sets ``model.stop_training``.

    Args:
        restore_last_finite: also set back the weights from the end of the last epoch whose
            loss was finite (or from the start of training, if none was). This costs one
            ``get_weights`` copy per epoch, so it is off by default, as in Keras, which has no
            such option.

    Example:
        >>> class Model:
        ...     stop_training = False
        >>> cb = TerminateOnNaN()
        >>> cb.set_model(Model())
        >>> cb.on_train_batch_end(7, {"loss": float("nan")})
        Batch 7: Invalid loss, terminating training
        >>> cb.model.stop_training
        True
    """

    def __init__(self, restore_last_finite: bool = False) -> None:
        super().__init__()
        self.restore_last_finite = restore_last_finite
        self.last_finite_weights: list[np.ndarray] | None = None
        self.last_finite_epoch: int | None = None

    def on_train_begin(self, logs=None):
        self.last_finite_epoch = None
        if self.restore_last_finite:
            self.last_finite_weights = _snapshot(self.model)

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None or math.isfinite(float(loss)):
            return
        print(f"Batch {batch}: Invalid loss, terminating training")
        self.model.stop_training = True
        if self.restore_last_finite and self.last_finite_weights is not None:
            where = (
                "the start of training"
                if self.last_finite_epoch is None
                else f"the end of epoch {self.last_finite_epoch + 1}"
            )
            print(f"Restoring model weights from {where}, the last with a finite loss.")
            self.model.set_weights(self.last_finite_weights)

    def on_epoch_end(self, epoch, logs=None):
        loss = (logs or {}).get("loss")
        finite = loss is not None and math.isfinite(float(loss))
        if self.restore_last_finite and finite and not self.model.stop_training:
            self.last_finite_weights = _snapshot(self.model)
            self.last_finite_epoch = epoch


class CSVLogger(Callback):
    """Streams the epoch logs to a CSV file (Keras semantics).

    The header is ``epoch`` followed by the first epoch's log keys, sorted (as Keras sorts them);
    later epochs write ``NA`` for a missing key. The file is flushed after every epoch and closed
    at the end of training.

    Args:
        filename: path of the CSV file.
        separator: the field separator.
        append: append to an existing file (useful to resume training) instead of overwriting
            it; the header is written only if the file is empty or new.

    Example:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "log.csv")
        >>> logger = CSVLogger(path)
        >>> logger.on_train_begin()
        >>> logger.on_epoch_end(0, {"loss": 0.5, "accuracy": 0.75})
        >>> logger.on_train_end()
        >>> with open(path) as f:
        ...     print(f.read().strip())
        epoch,accuracy,loss
        0,0.75,0.5
    """

    def __init__(self, filename: str | os.PathLike, separator: str = ",", append: bool = False):
        super().__init__()
        self.filename = os.fspath(filename)
        self.sep = separator
        self.append = append
        self.keys: list[str] | None = None
        self.writer: Any = None
        self.csv_file: Any = None
        self._write_header = True

    def on_train_begin(self, logs=None):
        self._write_header = True
        if self.append and os.path.exists(self.filename):
            with open(self.filename) as f:
                self._write_header = not f.readline()
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        # newline="" because the csv module writes its own line endings.
        self.csv_file = open(self.filename, "a" if self.append else "w", newline="")  # noqa: SIM115
        self.keys = None
        self.writer = None

    @staticmethod
    def _cell(value: Any) -> Any:
        if isinstance(value, str) or np.ndim(value) == 0:
            return value
        return f"[{', '.join(map(str, np.ravel(value)))}]"

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            # As Keras: keep a column for validation metrics absent from the first epoch.
            for name in getattr(self.model, "metrics_names", None) or ():
                if name.startswith("val_") and name not in self.keys:
                    self.keys.append(name)
        if self.writer is None:
            self.writer = csv.writer(self.csv_file, delimiter=self.sep)
            if self._write_header:
                self.writer.writerow(["epoch", *self.keys])
        self.writer.writerow([epoch, *(self._cell(logs.get(k, "NA")) for k in self.keys)])
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.writer = None


class LambdaCallback(Callback):
    """A callback built from plain functions, one per hook (Keras semantics).

    Each function takes the hook's arguments: ``on_epoch_begin(epoch, logs)``,
    ``on_train_begin(logs)``, ``on_train_batch_end(batch, logs)``, and so on.

    Args:
        on_epoch_begin, on_epoch_end, on_train_begin, on_train_end, on_train_batch_begin,
            on_train_batch_end: functions for these hooks.
        **kwargs: functions for any other hook of ``Callback``, e.g. ``on_test_end=fn``.

    Example:
        >>> cb = LambdaCallback(on_epoch_end=lambda epoch, logs: print(epoch, logs["loss"]))
        >>> cb.on_epoch_end(3, {"loss": 0.5})
        3 0.5
    """

    def __init__(
        self,
        on_epoch_begin: Callable | None = None,
        on_epoch_end: Callable | None = None,
        on_train_begin: Callable | None = None,
        on_train_end: Callable | None = None,
        on_train_batch_begin: Callable | None = None,
        on_train_batch_end: Callable | None = None,
        **kwargs: Callable,
    ) -> None:
        super().__init__()
        hooks = {
            "on_epoch_begin": on_epoch_begin,
            "on_epoch_end": on_epoch_end,
            "on_train_begin": on_train_begin,
            "on_train_end": on_train_end,
            "on_train_batch_begin": on_train_batch_begin,
            "on_train_batch_end": on_train_batch_end,
        }
        for name, fn in kwargs.items():
            if name not in _HOOKS:
                close = difflib.get_close_matches(name, _HOOKS, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                raise TypeError(
                    f"LambdaCallback got an unknown hook {name!r}; {hint}"
                    f"valid hooks are: {', '.join(_HOOKS)}."
                )
            hooks[name] = fn
        for name, fn in hooks.items():
            if fn is None:
                continue
            if not callable(fn):
                raise TypeError(
                    f"LambdaCallback: {name} must be a function, got {type(fn).__name__} "
                    f"{fn!r}; pass e.g. {name}=lambda *args: ..."
                )
            setattr(self, name, fn)


def __getattr__(name: str):
    # ModelCheckpoint and BackupAndRestore import this module's Callback and fnnet.saving, so
    # they load on first use rather than at import (which would be circular).
    if name in ("ModelCheckpoint", "BackupAndRestore"):
        from fnnet import _saving_callbacks

        return getattr(_saving_callbacks, name)
    raise AttributeError(f"module 'fnnet.callbacks' has no attribute {name!r}")
