"""``CallbackList``: one object that dispatches every hook to a list of callbacks."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fnnet.callbacks.base import Callback, History
from fnnet.callbacks.progress import ProgbarLogger

__all__ = ["CallbackList"]


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
