"""Data off the device: host batches grouped into chunks that overlap the device's work.

The pieces ``fit``/``evaluate`` use for an iterable of ``(x, y[, sample_weight])`` batches or
numpy memmaps, public so a custom loop can stream the same way. They take arrays and functions,
not a model:

* :func:`is_batch_stream`: is this data an iterable of batches (not an array)?
* :class:`ArrayBatches`: batches of host arrays (memmaps), reshuffled per epoch;
* :func:`chunks`: host batches grouped into padded chunks of a few fixed shapes, checked once
  per chunk, so one compiled program (:func:`fnnet.loop.scan_batches`) serves every chunk;
* :class:`ChunkBuffers`: the host buffers ``chunks`` assembles into, reused once the device
  has finished reading them;
* :func:`batches_per_chunk`: how many batches one compiled call takes (~16 MiB of host data);
* :func:`device_put`: ``jax.device_put``, without JAX's slow path for unaligned host memory;
* :func:`to_device`: chunks moved to the device as they are drawn, overlapping the previous
  chunk's computation through JAX's asynchronous dispatch (what ``fit`` uses);
* :func:`staged_calls`: a compiled call per chunk of rows of host arrays, each chunk copied
  through one of two reused staging buffers while the device works on the previous one (what
  ``evaluate`` and ``predict`` use on host arrays);
* :func:`prefetch_to_device`: the same on a background thread, for sources that block.

Example:
    >>> import numpy as np
    >>> batches = [(np.ones((4, 2)), np.zeros(4)), (np.ones((3, 2)), np.zeros(3))]
    >>> [(n, x.shape) for n, (x, y, sw) in chunks(
    ...     iter(batches), 4, 2, lambda b: (b[0], b[1], None))]
    [(7, (8, 2))]
"""

from __future__ import annotations

import collections
import itertools
import math
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import jax
import numpy as np

__all__ = ["is_batch_stream", "ArrayBatches", "batches_per_chunk", "chunks", "ChunkBuffers",
           "device_put", "to_device", "staged_calls", "prefetch_to_device"]


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


def batches_per_chunk(batch: Any, batch_size: int, steps: int | None = None,
                      target_bytes: int = 16 << 20, most: int = 1024) -> int:
    """How many streamed batches to group into one compiled call: about ``target_bytes`` of
    host data (16 MiB: big enough that a chunk's transfer and dispatch are paid rarely, small
    enough to double-buffer on any device), at most ``most`` batches, and no more than the
    ``steps`` of an epoch need (when known).

    A power of two, so the padded chunk shapes of any stream are few (see :func:`chunks`).
    """
    row_bytes = sum(np.asarray(a).nbytes for a in jax.tree.leaves(batch)) / max(
        _rows(batch[0]), 1)
    fits = min(max(1, int(target_bytes // max(row_bytes * batch_size, 1))), most)
    per_chunk = 1 << (fits.bit_length() - 1)
    if steps:  # an epoch of 57 batches: one chunk of 64 (the last 7 padded), not 32 + 25
        per_chunk = min(per_chunk, 1 << (steps - 1).bit_length())
    return per_chunk


def chunks(batches: Iterator[tuple], batch_size: int, per_chunk: int, prepare: Callable,
           limit: int | None = None, check: Callable | None = None,
           buffers: ChunkBuffers | None = None) -> Iterator[tuple[int, tuple]]:
    """Groups host batches into padded chunks of up to ``per_chunk`` batches.

    Yields ``(n_real_rows, (x, y, sw))`` with numpy arrays; the real rows come first, then
    padding rows (repeats of the first row) that the compiled program masks out. A chunk holds
    ``per_chunk * batch_size`` rows, except one that ends early (the stream's end, or a short
    batch), which is padded to the next power of two batches: a stream of any length compiles
    at most a few programs, each once.

    Args:
        batches: an iterator of batches.
        batch_size: rows of a full batch; a batch may have fewer rows only where it ends a
            chunk (it does: a short batch closes its chunk).
        per_chunk: batches per chunk.
        prepare: ``prepare(batch) -> (x, y, sw or None)`` per batch: cheap conversion and
            structure checks (x and y may be tuples of arrays).
        limit: stop after that many batches, without drawing another.
        check: ``check((x, y, sw), first, last) -> (x, y, sw)``, run once per chunk on its real
            rows (batches ``first`` to ``last``): value checks that would cost Python per batch.
        buffers: where the chunks' arrays come from (see :class:`ChunkBuffers`: the caller
            releases each chunk after its call); None: a fresh buffer per chunk and array.
    """
    empty = _aligned_empty if buffers is None else buffers.empty
    pending: list[tuple] = []
    seen = 0
    # islice stops before drawing batch limit + 1: a one-shot iterator keeps it for next time.
    for batch in (batches if limit is None else itertools.islice(batches, limit)):
        xb, yb, swb = prepare(batch)
        n = _rows(xb)
        if n > batch_size:
            raise ValueError(
                f"a streamed batch has {n} rows, more than the first batch's "
                f"{batch_size}. Yield batches of at most {batch_size} rows (the last may be "
                f"smaller)."
            )
        pending.append((xb, yb, swb))
        seen += 1
        if len(pending) == per_chunk or n < batch_size:
            yield _assemble(pending, batch_size, per_chunk, check, seen, empty)
            pending = []
    if pending:
        yield _assemble(pending, batch_size, per_chunk, check, seen, empty)


class ChunkBuffers:
    """The 64-byte-aligned host buffers :func:`chunks` assembles chunks into, reused.

    A fresh buffer per chunk costs the operating system's page faults and zeroing (on a CPU,
    for 13 MB chunks, about as long again as the copy into it). With a ``ChunkBuffers``, the
    consumer calls :meth:`release` with each chunk's outputs after handing the chunk to its
    compiled call; the chunk's buffers are refilled only once those outputs are ready, so
    never while the device may still read them (on a CPU the device reads them in place).
    While ``depth`` chunks are in flight, the next one waits for the oldest call: with the
    default 2, the host assembles chunk ``k + 1`` while the device computes chunk ``k``, in
    two sets of buffers (``depth`` sets per chunk shape; a last, shorter chunk has its own).
    Release after every chunk: the buffers lent since the last release are kept for it.

    Args:
        depth: chunks in flight before assembling another waits for the oldest (default 2).

    Example:
        >>> import jax.numpy as jnp
        >>> batches = [(np.full((2, 3), i, np.float32), np.zeros(2)) for i in range(6)]
        >>> buffers = ChunkBuffers()  # two chunks in flight
        >>> sums = []
        >>> for n, (x, y, sw) in chunks(iter(batches), 2, 1, lambda b: (*b, None),
        ...                             buffers=buffers):
        ...     out = jnp.sum(x)  # a compiled call reading the chunk
        ...     buffers.release(out)
        ...     sums.append(out)
        >>> [float(s) for s in sums], buffers.allocated  # six chunks, two sets of (x, y)
        ([0.0, 6.0, 12.0, 18.0, 24.0, 30.0], 4)
    """

    def __init__(self, depth: int = 2):
        if isinstance(depth, bool) or not isinstance(depth, (int, np.integer)) or depth < 1:
            raise ValueError(f"ChunkBuffers(depth): expected a positive int, the chunks in "
                             f"flight; got {depth!r}. For example depth=2.")
        self.depth = int(depth)
        self.allocated = 0  # buffers made so far (not reused ones)
        self._lent: list[np.ndarray] = []
        self._free: dict[tuple, list[np.ndarray]] = {}
        self._in_flight: collections.deque = collections.deque()

    def empty(self, shape: tuple, dtype: Any) -> np.ndarray:
        """An aligned buffer of ``shape`` and ``dtype``: a released one if the device is done
        with it, else a fresh one; it belongs to the chunk the next :meth:`release` names."""
        key = (tuple(shape), np.dtype(dtype))
        while not self._free.get(key) and len(self._in_flight) >= self.depth:
            self._reclaim()
        free = self._free.get(key)
        if free:
            out = free.pop()
        else:
            out = _aligned_empty(shape, dtype)
            self.allocated += 1
        self._lent.append(out)
        return out

    def release(self, outputs: Any) -> None:
        """The buffers lent since the last release may be refilled once ``outputs`` (a pytree
        of the arrays the call that read them returned; not donated later) are ready."""
        self._in_flight.append((self._lent, outputs))
        self._lent = []

    def _reclaim(self) -> None:
        lent, outputs = self._in_flight.popleft()
        jax.block_until_ready(outputs)
        for buf in lent:
            self._free.setdefault((buf.shape, buf.dtype), []).append(buf)


def _rows(x: Any) -> int:
    return len(jax.tree.leaves(x)[0])


def _assemble(batches: list[tuple], batch_size: int, per_chunk: int, check, seen: int,
              empty: Callable) -> tuple[int, tuple]:
    """The batches as one padded chunk, each array in a buffer ``empty(shape, dtype)`` gives."""
    n_real = sum(_rows(b[0]) for b in batches)
    padded = min(per_chunk, 1 << (-(-n_real // batch_size) - 1).bit_length()) * batch_size
    first, last = seen - len(batches), seen - 1
    try:
        # One pass: the batches and the padding rows straight into one 64-byte-aligned buffer
        # per array, which a CPU device then uses in place (no second copy). Never the
        # caller's buffer: a generator may refill its batch buffer while the device still
        # reads the previous chunk (JAX dispatches asynchronously).
        arrays = jax.tree.map(lambda *a: _joined(a, padded, empty), *batches)
    except ValueError as err:
        raise ValueError(
            f"the streamed batches {first} to {last} do not fit together ({err}). Every batch "
            f"must hold the same arrays, with the same shapes but for the number of rows."
        ) from None
    if check is not None:
        real = jax.tree.map(lambda a: a[:n_real], arrays)
        checked = check(real, first, last)
        if any(a is not b for a, b in zip(jax.tree.leaves(checked), jax.tree.leaves(real),
                                          strict=True)):
            arrays = jax.tree.map(lambda a: _joined((a,), padded, empty),
                                  checked)  # converted
    return n_real, arrays


def _joined(parts: Sequence[np.ndarray], rows: int, empty: Callable) -> np.ndarray:
    """``parts`` concatenated along the rows, then padded to ``rows`` rows with repeats of the
    first row (masked out by the program), in the 64-byte-aligned buffer ``empty(shape,
    dtype)`` gives."""
    parts = [np.asarray(p) for p in parts]
    n = sum(len(p) for p in parts)
    out = empty((rows, *parts[0].shape[1:]), np.result_type(*parts))
    np.concatenate(parts, out=out[:n])
    if n < rows:
        out[n:] = parts[0][:1]
    return out


def _aligned_empty(shape: tuple, dtype: Any) -> np.ndarray:
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    buf = np.empty(nbytes + 64, np.uint8)
    start = -buf.ctypes.data % 64
    return buf[start:start + nbytes].view(dtype).reshape(shape)


def device_put(tree: Any) -> Any:
    """``jax.device_put`` of host arrays, faster on the CPU backend.

    On a CPU, JAX uses a numpy array in place when its memory is 64-byte aligned and copies it
    through a slower path otherwise (about 3x a plain copy). An unaligned array is therefore
    copied once into an aligned buffer that the device array then owns: the same values, in a
    third of the time for large arrays. Other backends transfer as ``jax.device_put`` does.
    Arrays already on a device are returned as they are.
    """
    if jax.default_backend() != "cpu":
        return jax.device_put(tree)
    return jax.device_put(jax.tree.map(_aligned, tree))


def _aligned(a: Any) -> Any:
    if not isinstance(a, np.ndarray) or a.nbytes < 1 << 16 or a.ctypes.data % 64 == 0:
        return a
    out = _aligned_empty(a.shape, a.dtype)
    np.copyto(out, a)
    return out


def to_device(items: Iterable[tuple[int, tuple]]) -> Iterator[tuple[int, tuple]]:
    """Chunks moved to the device as they are drawn, on the caller's thread.

    What ``fit`` uses: JAX dispatches a compiled call asynchronously, so while the device
    computes chunk ``k`` the host is already assembling and transferring chunk ``k + 1``; no
    thread hand-offs (which cost more than they save for small batches), and no read-ahead:
    a chunk is drawn only once the previous one's call has been made (what
    :class:`ChunkBuffers` relies on). On a CPU the chunks (64-byte-aligned buffers, see
    :func:`chunks`) go to the compiled call as they are:
    the device uses their memory in place, and skipping ``jax.device_put``'s Python path
    saves about half a millisecond per chunk. For a source that blocks the caller (a slow
    reader), :func:`prefetch_to_device` adds a background thread.
    """
    on_cpu = jax.default_backend() == "cpu"
    for n, arrays in items:
        yield n, arrays if on_cpu else device_put(arrays)


def staged_calls(arrays: Any, rows: int, call: Callable[[Any, int, int], Any],
                 finish: Callable[[Any, int, int], None]) -> None:
    """Calls ``call`` on successive chunks of ``rows`` rows of the host arrays, double-buffered.

    Each chunk of rows is copied into one of two staging buffers of ``rows`` rows (64-byte
    aligned, so that on a CPU the device reads them in place), moved to the device, and handed
    to ``call(chunk, start, m)`` (``m`` real rows from row ``start``; every chunk has the same
    shape, so one compiled program serves all of them; a last short chunk's other rows are
    zeros). ``call`` should dispatch asynchronously and return its outputs: while the device
    computes, the host copies the next chunk. ``finish(outputs, start, m)`` runs for each call
    in order, before the buffer that call read is refilled (and for the last calls at the
    end); it must wait for the outputs (``jax.block_until_ready``, or a copy to the host),
    and copy out anything it keeps that could share the input's memory.

    Compared with one ``device_put`` of everything and one call, the copy overlaps the
    computation, the staging memory is two chunks rather than a copy of the data, and the
    chunks are fresh in the cache when the device reads them.

    Example:
        >>> import jax.numpy as jnp
        >>> x = np.arange(10.0, dtype=np.float32).reshape(5, 2)
        >>> sums = []
        >>> staged_calls(x, 2, lambda c, start, m: jnp.sum(c[:m]),
        ...              lambda s, start, m: sums.append(float(s)))
        >>> sums
        [6.0, 22.0, 17.0]
    """
    if isinstance(rows, bool) or not isinstance(rows, (int, np.integer)) or rows < 1:
        raise ValueError(f"staged_calls(rows): expected a positive int, the rows per call; got "
                         f"{rows!r}. For example rows=4096.")
    leaves, treedef = jax.tree.flatten(arrays)
    if not leaves or not all(isinstance(a, np.ndarray) and a.ndim >= 1 for a in leaves):
        raise TypeError(
            f"staged_calls(arrays): expected host numpy arrays with one row per example (a "
            f"pytree of them); got {[type(a).__name__ for a in leaves] or 'no arrays'}. Arrays "
            f"already on the device need no staging: call the program on them directly.")
    n = _rows(leaves[0])
    if any(len(a) != n for a in leaves):
        raise ValueError(f"staged_calls(arrays): every array needs the same number of rows; got "
                         f"{[len(a) for a in leaves]}.")
    buffers: list[list[np.ndarray]] = []
    pending: list[tuple[Any, int, int]] = []
    for k, start in enumerate(range(0, n, rows)):
        if len(pending) == 2:
            finish(*pending.pop(0))
        if len(buffers) < 2:
            buffers.append([_aligned_empty((rows, *a.shape[1:]), a.dtype) for a in leaves])
        staging = buffers[k % 2]
        m = min(rows, n - start)
        for buf, a in zip(staging, leaves, strict=True):
            np.copyto(buf[:m], a[start:start + m])
            if m < rows:
                buf[m:] = 0
        chunk = device_put(jax.tree.unflatten(treedef, staging))
        pending.append((call(chunk, start, m), start, m))
    for item in pending:
        finish(*item)


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
                q.put((n, device_put(arrays)))
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
