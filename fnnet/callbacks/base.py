"""The callback protocol: ``Callback``, ``CallbackList``, ``History`` and ``LambdaCallback``.

Callbacks never run inside compiled code. ``fit`` calls them between compiled chunks of steps
with plain Python floats, so a callback may read and change the model freely (stop training,
swap weights, set the learning rate); a change takes effect from the next step, without a
recompile.

The contract a model must meet to drive these callbacks (``fnnet.models.Sequential`` meets it):

* ``model.stop_training``: a bool that ``fit`` checks after every chunk of steps and every epoch.
* ``model.get_weights() -> list[np.ndarray]`` and ``model.set_weights(list)``.
* ``model.train_state``: the whole training state, readable and assignable (a backup restores
  it).
* ``model.optimizer.learning_rate``: a float property whose setter changes the rate used by the
  next step (needed only by ``ReduceLROnPlateau`` and ``LearningRateScheduler``).
* ``model.history``: set by ``History`` at train begin.

``fit`` drives them through a ``CallbackList``::

    cbs = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0, model=model,
                       verbose=verbose, epochs=epochs, steps=steps_per_epoch)
    logs = {"initial_epoch": initial_epoch}
    cbs.on_train_begin(logs)                 # a callback may move logs["initial_epoch"] (resume)
    for epoch in range(logs["initial_epoch"], epochs):
        cbs.on_epoch_begin(epoch)
        ...  # per chunk: cbs.on_train_batch_begin(first), cbs.on_train_batch_end(last, logs)
        cbs.on_epoch_end(epoch, epoch_logs)
        if model.stop_training:
            break
    cbs.on_train_end(epoch_logs)
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from typing import Any

Logs = Mapping[str, Any] | None

__all__ = ["Callback", "History", "LambdaCallback", "Logs", "HOOKS"]


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


HOOKS = tuple(sorted(name for name in vars(Callback) if name.startswith("on_")))
"""Every hook a callback may override."""


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
            if name not in HOOKS:
                close = difflib.get_close_matches(name, HOOKS, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                raise TypeError(
                    f"LambdaCallback got an unknown hook {name!r}; {hint}"
                    f"valid hooks are: {', '.join(HOOKS)}."
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
