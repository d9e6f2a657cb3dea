"""Progress display for ``fit``, ``evaluate`` and ``predict``: the ``ProgbarLogger`` callback."""

from __future__ import annotations

import sys

import jax

from fnnet.callbacks.base import Callback, Logs
from fnnet.callbacks.progbar import Progbar, resolve_verbose

__all__ = ["ProgbarLogger"]


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
        # One display for the whole run: with several processes, only process 0 prints.
        self.verbose = resolve_verbose(params.get("verbose", 1)) if jax.process_index() == 0 \
            else 0
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
