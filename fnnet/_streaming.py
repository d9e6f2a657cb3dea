"""Data off the device: batches streamed from the host with double-buffered prefetch.

``fit``/``evaluate`` accept an iterable of ``(x, y[, sample_weight])`` batches or numpy memmaps.
Batches are validated on the host, grouped into padded chunks of a fixed shape (so one compiled
program serves them all, the last partial batch included), and moved to the device on a
background thread while the previous chunk trains.
"""

from __future__ import annotations

import itertools
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import jax
import numpy as np

from fnnet import utils
from fnnet._validation import check_batch_size


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
    program serves every chunk. ``prepare(batch)`` validates and converts one batch.
    """
    rows = per_chunk * batch_size
    pending: list[tuple] = []
    taken = 0
    for batch in batches:
        if limit is not None and taken >= limit:
            break
        xb, yb, swb = prepare(batch)
        if len(xb) > batch_size:
            raise ValueError(
                f"fit: a streamed batch has {len(xb)} rows, more than the first batch's "
                f"{batch_size}. Yield batches of at most {batch_size} rows (the last may be "
                f"smaller)."
            )
        pending.append((xb, yb, swb))
        taken += 1
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
    parts = list(zip(*batches))
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


# --------------------------------------------------------------------------- model-level loops
def stream_source(model, where, x, y, sample_weight, batch_size, shuffle):
    """An iterable of host batches, its first batch (prepared), and whether it is one-shot."""
    if isinstance(x, np.memmap):
        if y is None:
            raise ValueError(f"{where}: x is a memmap but y is None; pass y too.")
        bs = check_batch_size(where, 32 if batch_size is None else batch_size)
        y = np.asarray(y) if not isinstance(y, np.memmap) else y
        if len(y) != len(x):
            raise ValueError(
                f"{where}: x and y have different lengths: x has {len(x)} examples, y has "
                f"{len(y)}. Pass one target per input row.")
        sw = None if sample_weight is None else np.asarray(sample_weight, np.float32)
        source = ArrayBatches(x, y, sw, bs, shuffle, utils.next_seed())
        source.steps = -(-len(x) // bs)
    else:
        if y is not None or sample_weight is not None:
            raise ValueError(
                f"{where}: x yields batches, so y and sample_weight must be None (put them "
                f"in each batch: (x, y) or (x, y, sample_weight)); got y={type(y).__name__}.")
        source = x
    it = iter(source)
    try:
        first = next(it)
    except StopIteration:
        raise ValueError(f"{where}: the iterable x yielded no batches; pass data.") from None
    first = model._prepare_batch(where, first)
    # A one-shot iterator keeps being drawn from (its first batch is trained on first); a
    # re-iterable (a list, a memmap's batches) restarts every epoch.
    one_shot = iter(source) is it
    return (it if one_shot else source), first, one_shot


def train_stream(model, source, first, logs, train, batch_size, chunk, limit, metric_objs, cbs):
    """One epoch over streamed batches; returns the metric states and the batches seen."""
    batches = iter(source)
    if first is not None:
        batches = itertools.chain([first], batches)
    prepare = lambda b: b if b is first else model._prepare_batch("fit", b)  # noqa: E731
    seen = 0
    for n_real, (xb, yb, swb) in prefetch_to_device(
            chunks(batches, batch_size, chunk, prepare, limit=limit)):
        cbs.on_train_batch_begin(seen)
        count = -(-n_real // batch_size)
        model._ts, logs = train(model._ts, logs, xb, yb, swb, None, np.int32(n_real),
                                np.int32(0), np.int32(count))
        seen += count
        cbs.on_train_batch_end(seen - 1, model._lazy_results(metric_objs, logs))
        if model.stop_training:
            break
    return logs, seen


def evaluate_stream(model, data, cbs, chunk: int) -> dict:
    """``evaluate`` over streamed batches: the loss and metrics as Python floats."""
    fns = model._functions("evaluate")
    batches = iter(data)
    try:
        first = model._prepare_batch("evaluate", next(batches))
    except StopIteration:
        raise ValueError("evaluate: the iterable x yielded no batches; pass data.") from None
    batch_size = len(first[0])
    program = model._program("eval", batch_size)
    metric_objs = model._metric_objs(first[1].shape, batch_size)
    logs = fns.init_logs(metric_objs)
    prepare = lambda b: b if b is first else model._prepare_batch("evaluate", b)  # noqa: E731
    seen = 0
    ts = model._ts
    for n_real, (xb, yb, swb) in prefetch_to_device(
            chunks(itertools.chain([first], batches), batch_size, chunk, prepare)):
        count = -(-n_real // batch_size)
        logs = program(ts.params, ts.state, logs, xb, yb, swb, np.int32(n_real), np.int32(0),
                       np.int32(count))
        seen += count
        if cbs is not None:
            cbs.on_test_batch_end(seen - 1, model._lazy_results(metric_objs, logs))
    return model._results(metric_objs, logs)
