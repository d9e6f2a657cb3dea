"""Data off the device: batches streamed from the host with double-buffered prefetch.

The pieces ``fit``/``evaluate`` use for an iterable of ``(x, y[, sample_weight])`` batches or
numpy memmaps, public so a custom loop can stream the same way. They take arrays and functions,
not a model:

* :func:`is_batch_stream`: is this data an iterable of batches (not an array)?
* :class:`ArrayBatches`: batches of host arrays (memmaps), reshuffled per epoch;
* :func:`chunks`: host batches grouped into padded chunks of one fixed shape, so one compiled
  program (:func:`fnnet.loop.scan_batches`) serves every chunk, the last partial one included;
* :func:`prefetch_to_device`: chunks moved to the device on a background thread while the
  previous one computes.

Example:
    >>> import numpy as np
    >>> batches = [(np.ones((4, 2)), np.zeros(4)), (np.ones((3, 2)), np.zeros(3))]
    >>> [(n, x.shape) for n, (x, y, sw) in chunks(
    ...     iter(batches), 4, 2, lambda b: (b[0], b[1], None))]
    [(7, (8, 2))]
"""

from __future__ import annotations

import itertools
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import jax
import numpy as np

__all__ = ["is_batch_stream", "ArrayBatches", "chunks", "prefetch_to_device"]


def is_batch_stream(x: Any) -> bool:
    """True for data given as an iterable of batches (a generator, a list of tuples...)."""
    if x is None or isinstance(x, (np.ndarray, jax.Array, str, bytes, dict)):
        return False
    if hasattr(x, "__array__"):
        return False
    if isinstance(x, (list, tuple)):
        return bool(x) and all(isinstance(b, tuple) for b in x)
    return isinstance(x, (Iterator, Iterable))


class ArrayBatches:
    """Batches of host arrays (e.g. numpy memmaps larger than the device), reshuffled per epoch."""

    def __init__(self, x, y, sw, batch_size: int, shuffle: bool, seed: int):
        self.x, self.y, self.sw = x, y, sw
        self.batch_size, self.shuffle = batch_size, shuffle
        self._rng = np.random.default_rng(seed)

    def __iter__(self):
        n = len(self.x)
        order = self._rng.permutation(n) if self.shuffle else np.arange(n)
        for lo in range(0, n, self.batch_size):
            # Sorted reads are sequential on disk; the order inside a batch does not matter.
            idx = np.sort(order[lo:lo + self.batch_size])
            yield (self.x[idx], self.y[idx], None if self.sw is None else self.sw[idx])


def chunks(batches: Iterator[tuple], batch_size: int, per_chunk: int, prepare: Callable,
           limit: int | None = None) -> Iterator[tuple[int, tuple]]:
    """Groups host batches into padded chunks of ``per_chunk * batch_size`` rows.

    Yields ``(n_real_rows, (x, y, sw))`` with numpy arrays of fixed shape, so one compiled
    program serves every chunk. ``prepare(batch)`` validates and converts one batch to
    ``(x, y, sample_weight or None)``; ``limit`` stops after that many batches without drawing
    another.
    """
    rows = per_chunk * batch_size
    pending: list[tuple] = []
    # islice stops before drawing batch limit + 1: a one-shot iterator keeps it for next time.
    for batch in (batches if limit is None else itertools.islice(batches, limit)):
        xb, yb, swb = prepare(batch)
        if len(xb) > batch_size:
            raise ValueError(
                f"a streamed batch has {len(xb)} rows, more than the first batch's "
                f"{batch_size}. Yield batches of at most {batch_size} rows (the last may be "
                f"smaller)."
            )
        pending.append((xb, yb, swb))
        if len(pending) == per_chunk or len(xb) < batch_size:
            yield _pad_chunk(pending, rows)
            pending = []
    if pending:
        yield _pad_chunk(pending, rows)


def _pad_chunk(batches: list[tuple], rows: int) -> tuple[int, tuple]:
    # Real rows first, then padding that the program masks out (n counts the real rows).
    n_real = sum(len(b[0]) for b in batches)
    if len(batches) == 1 and n_real == rows:  # the common case: one full batch, no copy
        return n_real, batches[0]
    parts = list(zip(*batches, strict=True))
    out = []
    for arrays in parts:
        if arrays[0] is None:
            out.append(None)
            continue
        a = np.concatenate(arrays)
        n = len(a)
        if n < rows:
            a = np.concatenate([a, np.repeat(a[:1], rows - n, axis=0)])
        out.append(a)
    return n_real, tuple(out)


def prefetch_to_device(items: Iterator[tuple[int, tuple]], depth: int = 2):
    """Moves chunks to the device on a background thread, ``depth`` ahead (double buffering)."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def worker():
        try:
            for n, arrays in items:
                if stop.is_set():
                    return
                q.put((n, tuple(None if a is None else jax.device_put(a) for a in arrays)))
        except BaseException as err:  # surfaced in the consumer's thread
            q.put(err)
        q.put(done)

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():
            try:
                q.get_nowait()
            except queue.Empty:
                thread.join(timeout=0.01)
