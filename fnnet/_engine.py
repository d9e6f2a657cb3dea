"""The compiled programs behind ``fit``/``evaluate``/``predict``, and host-to-device streaming.

Each program runs many batches in one compiled call (``lax.fori_loop`` with a dynamic trip
count), gathering every batch from arrays already on the device. The number of real rows ``n``
is an argument, not a shape: the last partial batch is padded and masked, and one program
serves every chunk of an epoch, every epoch, and every streamed chunk of the same shape.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from fnnet.training import StepFunctions


def _batch_rows(n, perm, b, batch_size):
    """Row indices and the real-row mask of batch ``b``; padding rows wrap to real rows."""
    pos = b * batch_size + jnp.arange(batch_size, dtype=jnp.int32)
    idx = jnp.remainder(pos, n)
    if perm is not None:
        idx = perm[idx]
    return idx, pos < n


def _take(a, idx):
    return None if a is None else a.at[idx].get(mode="promise_in_bounds")


def _maybe_jit(fn, jit: bool, **kwargs):
    return jax.jit(fn, **kwargs) if jit else fn


def train_program(fns: StepFunctions, batch_size: int, jit: bool = True) -> Callable:
    """``(ts, logs, x, y, sw, perm, n, start, count) -> (ts, logs)``: ``count`` steps.

    Batch ``b`` is rows ``perm[b*B:(b+1)*B]`` of the first ``n`` rows of ``x``/``y``/``sw``
    (``perm=None`` keeps the order). The train state and metric states are donated.
    """
    def program(ts, logs, x, y, sw, perm, n, start, count):
        def body(i, carry):
            ts, logs = carry
            idx, mask = _batch_rows(n, perm, start + i, batch_size)
            return fns.train_update(ts, logs, _take(x, idx), _take(y, idx), _take(sw, idx), mask)

        return jax.lax.fori_loop(0, count, body, (ts, logs))

    return _maybe_jit(program, jit, donate_argnums=(0, 1))


def fused_epoch_program(fns: StepFunctions, batch_size: int, metric_objs: tuple, shuffle: bool,
                        jit: bool = True) -> Callable:
    """``(ts, x, y, sw, n, count) -> (ts, logs, results)``: a whole epoch in one call.

    Shuffles (splitting ``ts.rng`` exactly as :func:`epoch_program` does, so chunked and fused
    epochs agree bit for bit), runs ``count`` steps from fresh metric states, and computes the
    results: one dispatch and, when the results are read, one host sync per epoch.
    """
    steps = train_program(fns, batch_size, jit=False)
    shuffle_of = epoch_program(jit=False)

    def program(ts, x, y, sw, n, count):
        perm = None
        if shuffle:
            ts, perm = shuffle_of(ts, x)
        ts, logs = steps(ts, fns.init_logs(metric_objs), x, y, sw, perm, n, 0, count)
        return ts, logs, fns.results(metric_objs, logs)

    return _maybe_jit(program, jit, donate_argnums=(0,))


def eval_program(fns: StepFunctions, batch_size: int, jit: bool = True) -> Callable:
    """``(params, state, logs, x, y, sw, n, start, count) -> logs`` (metric states donated)."""
    def program(params, state, logs, x, y, sw, n, start, count):
        def body(i, logs):
            idx, mask = _batch_rows(n, None, start + i, batch_size)
            return fns.eval_update(params, state, logs, _take(x, idx), _take(y, idx),
                                   _take(sw, idx), mask)

        return jax.lax.fori_loop(0, count, body, logs)

    return _maybe_jit(program, jit, donate_argnums=(2,))


def predict_program(apply: Callable, batch_size: int, jit: bool = True) -> Callable:
    """``(params, state, x) -> y`` for all of ``x``, batch by batch, in one call."""
    B = batch_size

    def predict(params, state, x):
        return apply(params, state, x, rng=None, training=False)[0]

    def program(params, state, x):
        n = x.shape[0]
        nb = -(-n // B)
        out = jax.eval_shape(predict, params, state, _take(x, jnp.zeros(B, jnp.int32)))
        buf = jnp.zeros((nb * B, *out.shape[1:]), out.dtype)

        def body(b, buf):
            idx, _ = _batch_rows(n, None, b, B)
            return jax.lax.dynamic_update_slice_in_dim(
                buf, predict(params, state, _take(x, idx)), b * B, axis=0)

        return jax.lax.fori_loop(0, nb, body, buf)[:n]

    return _maybe_jit(program, jit)


def epoch_program(jit: bool = True) -> Callable:
    """``(ts, x) -> (ts, perm)``: the epoch's shuffle, from a split of the train state's rng.

    One dispatch per epoch; the permutation stays on the device.
    """
    def program(ts, x):
        rng, key = jax.random.split(ts.rng)
        return ts._replace(rng=rng), jax.random.permutation(key, x.shape[0]).astype(jnp.int32)

    return _maybe_jit(program, jit, donate_argnums=(0,))


# --------------------------------------------------------------------------- streaming
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
