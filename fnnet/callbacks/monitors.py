"""Callbacks that watch the logs and act on training: early stopping, learning-rate control,
and stopping on a non-finite loss."""

from __future__ import annotations

import inspect
import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from fnnet.callbacks.base import Callback, Logs

__all__ = ["EarlyStopping", "ReduceLROnPlateau", "LearningRateScheduler", "TerminateOnNaN"]



# Names whose larger values are better when mode="auto" (Keras 2's substring rule, extended to the
# other "up" metrics Keras 3 knows). Everything else, including every loss, is minimized.
_MAXIMIZED = ("acc", "auc", "precision", "recall")


def resolve_mode(owner: str, mode: str, monitor: str) -> str:
    """``mode`` checked, and ``"auto"`` resolved: ``"max"`` for accuracy-like keys, else ``"min"``."""
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
        self.mode = resolve_mode("EarlyStopping", mode, monitor)
        # Stored signed, as Keras does: improvement means `current - min_delta` beats the best.
        self.min_delta = abs(min_delta) if self.mode == "max" else -abs(min_delta)
        self._reset()

    def _reset(self) -> None:
        # As Keras 3's on_train_begin: an instance can be passed to several `fit` calls. (Keras
        # starts `best` at None, so a NaN first value becomes the best; see the README.)
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
        self.mode = resolve_mode("ReduceLROnPlateau", mode, monitor)
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
