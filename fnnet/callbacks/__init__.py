"""Keras-style callbacks: hooks that ``fit``, ``evaluate`` and ``predict`` call on the host.

* :mod:`~fnnet.callbacks.base`: ``Callback`` (the protocol), ``History``, ``LambdaCallback``;
* :mod:`~fnnet.callbacks.callback_list`: ``CallbackList``, which ``fit`` drives;
* :mod:`~fnnet.callbacks.progress`: ``ProgbarLogger`` (and :mod:`~fnnet.callbacks.progbar`,
  Keras's progress display);
* :mod:`~fnnet.callbacks.monitors`: ``EarlyStopping``, ``ReduceLROnPlateau``,
  ``LearningRateScheduler``, ``TerminateOnNaN``;
* :mod:`~fnnet.callbacks.files`: ``CSVLogger``, ``ModelCheckpoint``, ``BackupAndRestore``.
"""

from fnnet.callbacks.base import Callback, History, LambdaCallback
from fnnet.callbacks.callback_list import CallbackList
from fnnet.callbacks.files import BackupAndRestore, CSVLogger, ModelCheckpoint
from fnnet.callbacks.monitors import (
    EarlyStopping,
    LearningRateScheduler,
    ReduceLROnPlateau,
    TerminateOnNaN,
)
from fnnet.callbacks.progbar import Progbar, resolve_verbose
from fnnet.callbacks.progress import ProgbarLogger

__all__ = [
    "BackupAndRestore",
    "Callback",
    "CallbackList",
    "CSVLogger",
    "EarlyStopping",
    "History",
    "LambdaCallback",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "Progbar",
    "ProgbarLogger",
    "ReduceLROnPlateau",
    "TerminateOnNaN",
    "resolve_verbose",
]
