"""Callbacks that write files: ``CSVLogger``, ``ModelCheckpoint`` and ``BackupAndRestore``.

Every file is written atomically; see :mod:`fnnet.checkpoint`.
"""

from __future__ import annotations

import csv
import math
import os
import warnings
from typing import Any

import jax
import numpy as np

from fnnet import checkpoint, saving
from fnnet.callbacks.base import Callback
from fnnet.callbacks.monitors import resolve_mode

__all__ = ["CSVLogger", "ModelCheckpoint", "BackupAndRestore"]


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
        # newline="" because the csv module writes its own line endings. With several
        # processes only process 0 writes the file.
        target = self.filename if jax.process_index() == 0 else os.devnull
        self.csv_file = open(target, "a" if self.append else "w", newline="")  # noqa: SIM115
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


class ModelCheckpoint(Callback):
    """Saves the model (or its weights) during training, as ``keras.callbacks.ModelCheckpoint``.

    ``filepath`` may hold ``{epoch}`` (1-based) and any log key, e.g.
    ``"ckpt-{epoch:02d}-{val_loss:.3f}.safetensors"``. Each write is atomic (see
    :mod:`fnnet.checkpoint`), so a crash never leaves a torn file.

    Args:
        filepath: the ``.safetensors`` path, optionally with format fields.
        monitor: the log key compared when ``save_best_only``.
        verbose: 1 prints a line per save.
        save_best_only: save only when ``monitor`` improves (the file is overwritten unless
            ``filepath`` has format fields).
        save_weights_only: ``model.save_weights`` instead of ``model.save``.
        mode: ``"auto"``, ``"min"`` or ``"max"``; ``"auto"`` maximizes accuracy-like keys.
        save_freq: ``"epoch"``, or an int: save every that many batches (checked when a chunk of
            batches ends, see ``compile(steps_per_execution=...)``).
        initial_value_threshold: with ``save_best_only``, the value to beat at first.

    Example:
        >>> import os, tempfile, numpy as np
        >>> from fnnet import models, layers, callbacks
        >>> model = models.Sequential([layers.Dense(1, input_shape=(2,))])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> folder = tempfile.mkdtemp()
        >>> cb = callbacks.ModelCheckpoint(os.path.join(folder, "w-{epoch}.safetensors"),
        ...                                save_weights_only=True)
        >>> _ = model.fit(np.ones((8, 2)), np.ones(8), epochs=2, verbose=0, callbacks=[cb])
        >>> sorted(os.listdir(folder))
        ['w-1.safetensors', 'w-2.safetensors']
    """

    def __init__(self, filepath, monitor: str = "val_loss", verbose: int = 0,
                 save_best_only: bool = False, save_weights_only: bool = False,
                 mode: str = "auto", save_freq: str | int = "epoch",
                 initial_value_threshold: float | None = None):
        super().__init__()
        self.filepath = saving.check_path("ModelCheckpoint", filepath, "filepath",
                                          "'model.{epoch:02d}.safetensors'")
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.mode = resolve_mode("ModelCheckpoint", mode, monitor)
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(save_freq, int)
                                     or save_freq < 1):
            raise ValueError(f"ModelCheckpoint(save_freq): expected 'epoch' or a positive int; "
                             f"got {save_freq!r}.")
        self.save_freq = save_freq
        self.best = initial_value_threshold
        self._epoch = 0
        self._last_saved_batch = -1

    def _improved(self, value: float) -> bool:
        if self.best is None or math.isnan(self.best):
            return not math.isnan(value)
        return value < self.best if self.mode == "min" else value > self.best

    def _save(self, epoch: int, logs: dict, batch: int | None = None) -> None:
        logs = dict(logs or {})
        try:
            path = self.filepath.format(epoch=epoch + 1, batch=batch, **logs)
        except (KeyError, IndexError) as err:
            raise ValueError(
                f"ModelCheckpoint: filepath {self.filepath!r} names {err}, which is not in the "
                f"logs; available keys: epoch, {', '.join(sorted(logs))}."
            ) from None
        if self.save_best_only:
            value = logs.get(self.monitor)
            if value is None:
                warnings.warn(
                    f"ModelCheckpoint: can save best model only with {self.monitor!r} "
                    f"available; the logs have {sorted(logs)}. Skipping.", stacklevel=3)
                return
            if not self._improved(float(value)):
                return
            if self.verbose:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {self.best} to "
                      f"{value:.5f}, saving model to {path}")
            self.best = float(value)
        elif self.verbose:
            print(f"\nEpoch {epoch + 1}: saving model to {path}")
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._last_saved_batch = -1

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq != "epoch" and batch - self._last_saved_batch >= self.save_freq:
            self._last_saved_batch = batch
            self._save(self._epoch, logs, batch=batch)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, logs)


class BackupAndRestore(Callback):
    """Backs up the whole training state every epoch so an interrupted ``fit`` resumes exactly.

    At the end of each epoch it writes the training state (weights, optimizer state, rng and
    step; see :func:`fnnet.saving.save_train_state`) to ``backup_dir``, atomically. It stores no
    architecture, so it works for custom layers, losses and optax transforms too. When ``fit``
    starts and a backup exists, it restores that state and ``fit`` continues from the epoch
    after the backed-up one: the result is bit-identical to an uninterrupted run (same
    machine). The backup is deleted when training completes,
    unless ``delete_checkpoint=False``.

    Args:
        backup_dir: a folder for the backup file (created if missing).
        save_freq: ``"epoch"`` (only epoch-level backups are supported).
        delete_checkpoint: remove the backup once ``fit`` finishes normally.

    Example:
        >>> import tempfile
        >>> from fnnet import callbacks
        >>> cb = callbacks.BackupAndRestore(tempfile.mkdtemp())
    """

    def __init__(self, backup_dir, save_freq: str = "epoch", delete_checkpoint: bool = True):
        super().__init__()
        if not isinstance(backup_dir, (str, os.PathLike)):
            raise TypeError(f"BackupAndRestore: backup_dir must be a folder path; got "
                            f"{type(backup_dir).__name__}.")
        if save_freq != "epoch":
            raise ValueError(
                f"BackupAndRestore(save_freq): only 'epoch' is supported; got {save_freq!r}.")
        self.backup_dir = os.fspath(backup_dir)
        self.delete_checkpoint = delete_checkpoint
        self.path = os.path.join(self.backup_dir, "backup" + checkpoint.SUFFIX)

    def on_train_begin(self, logs=None):
        if os.path.exists(self.path):
            meta = saving.load_train_state(self.model, self.path)
            if logs is not None:  # fit resumes from logs["initial_epoch"]
                logs["initial_epoch"] = int(meta["epoch"]) + 1

    def on_epoch_end(self, epoch, logs=None):
        os.makedirs(self.backup_dir, exist_ok=True)
        # The training state alone: a backup must work for any model that fit can train,
        # custom layers, losses and optax transforms included, and always keep the optimizer
        # state (a whole-model file drops it when the compile config cannot be named).
        saving.save_train_state(self.model, self.path, extra={"epoch": epoch})

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and os.path.exists(self.path) and jax.process_index() == 0:
            os.remove(self.path)
