"""The host side of ``fit``, ``evaluate`` and ``predict``: loops over compiled programs.

Each function takes the model (through its public interface: ``train_state`` read and
assigned, ``stop_training``, callbacks' hooks) and a :class:`Session` the model builds for the
call (its compiled programs and its data checks). The loops hold no train state of their own:
they read ``model.train_state`` before every compiled call and assign it after, so anything a
callback changes between batches or epochs (weights, the learning rate) takes effect at the
next step.

Failures leave the model consistent: ``fit`` keeps the train state of the last epoch boundary
and puts it back if anything raises mid-epoch (bad streamed data, an exception in a callback,
out of memory, Ctrl-C), so the model is as it was at the start of the failed epoch (for a
failure in the first epoch: as before the call). Nothing is donated, so a failed compiled call
cannot invalidate the arrays the model holds.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

import jax
import numpy as np

from fnnet import data as data_lib
from fnnet import utils
from fnnet._validation import check_batch_size, check_int
from fnnet.callbacks import CallbackList, History, resolve_verbose
from fnnet.models.data_checks import rows, slice_rows
from fnnet.models.programs import Programs

__all__ = ["Session", "fit", "evaluate", "predict", "train_on_batch", "test_on_batch"]


@dataclasses.dataclass
class Session:
    """What one call needs from the model, handed over explicitly.

    Attributes:
        programs: the model's compiled programs.
        prepare: ``prepare(where, x, y, sample_weight=None, class_weight=None)`` checks data on
            the host (building the model on first use) and returns ``(x, y, sample_weight)``.
        prepare_inputs: ``prepare_inputs(where, x)``, the same for inputs alone.
        steps_per_execution: compile's setting (None: decide per call).
        output_shape: ``() -> the model's output shape``.
        distribution: the compiled :mod:`fnnet.distribution` layout, or None.
    """

    programs: Programs
    prepare: Callable
    prepare_inputs: Callable
    steps_per_execution: int | None
    output_shape: Callable
    distribution: Any = None

    def place(self, *arrays) -> tuple:
        """Host arrays on the device(s): split over the data axis under a distribution (rows
        padded to a multiple of the data-parallel size; the padding rows are never real).

        With several processes each passes its own rows, the same number everywhere, and the
        arrays become global ones (no padding then)."""
        if self.distribution is None:
            return _to_device(*arrays)
        if jax.process_count() > 1:
            return tuple(None if a is None else self.distribution.place_batch(a)
                         for a in arrays)
        k = self.distribution.data_parallel_size

        def pad(a):
            if a is None or len(a) % k == 0:
                return a
            return np.concatenate([a, np.repeat(a[:1], k - len(a) % k, axis=0)])

        return tuple(None if a is None else self.distribution.place_batch(
            jax.tree.map(pad, a)) for a in arrays)

    def check_batch_size(self, batch_size: int) -> None:
        if self.distribution is not None and batch_size % self.distribution.data_parallel_size:
            k = self.distribution.data_parallel_size
            raise ValueError(
                f"fit(batch_size={batch_size}): under {self.distribution!r} every batch is "
                f"split over {k} devices, so batch_size must be a multiple of {k}; for "
                f"example batch_size={max(k, batch_size // k * k)}."
            )


class LazyLogs(Mapping):
    """A read-only dict of running metrics, fetched from the device on first access."""

    def __init__(self, compute: Callable[[], dict]):
        self._compute = compute
        self._values: dict | None = None

    def _get(self) -> dict:
        if self._values is None:
            self._values = self._compute()
        return self._values

    def __getitem__(self, key):
        return self._get()[key]

    def __iter__(self):
        return iter(self._get())

    def __len__(self):
        return len(self._get())

    def __repr__(self):
        return repr(self._get())


def _fetch(names: tuple, results: dict) -> dict:
    values = jax.device_get(results)  # one host sync
    # Most metrics are scalars; some (per-class F1, one value per threshold) are vectors.
    return {k: float(values[k]) if np.ndim(values[k]) == 0 else np.asarray(values[k])
            for k in names}


def _results(session: Session, logs) -> dict:
    return _fetch(logs.names, session.programs.results()(logs))


def _lazy(session: Session, logs) -> LazyLogs:
    return LazyLogs(lambda: _results(session, logs))


def _to_device(*arrays):
    # Not jnp.asarray: it copies on the host first. An entry may be a tuple of arrays.
    return tuple(None if a is None else data_lib.device_put(a) for a in arrays)


def _describe(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of length {len(value)}"
    return type(value).__name__


def chunk_size(session: Session, steps: int | None, verbose: int, batch: Any = None,
               batch_size: int = 1) -> int:
    """Batches per compiled call: the whole epoch, or ~5% of it with a progress bar.

    For a stream (``batch`` is its first batch) also at most ~16 MiB of host data per call,
    a power of two (:func:`fnnet.data.batches_per_chunk`).
    """
    if session.steps_per_execution is not None:
        return session.steps_per_execution
    if verbose == 1 and steps is not None:
        steps = max(1, -(-steps // 20))
    if batch is not None:
        return data_lib.batches_per_chunk(_as_triple("fit", batch), batch_size, steps)
    return max(steps or 1, 1)


# ------------------------------------------------------------------------------ batch streams
def _as_triple(where: str, batch: Any) -> tuple:
    if not isinstance(batch, tuple) or len(batch) not in (2, 3):
        raise ValueError(
            f"{where}: each batch must be a tuple (x, y) or (x, y, sample_weight); got "
            f"{_describe(batch)}.")
    return batch if len(batch) == 3 else (*batch, None)


def _prepare_batch(session: Session, where: str, batch: Any) -> tuple:
    return session.prepare(where, *_as_triple(where, batch))


def _signature(batch: tuple) -> tuple | None:
    """Plain numpy arrays' (dtype, per-example shape), or None for anything else."""
    if not all(a is None or type(a) is np.ndarray for a in batch):
        return None
    return tuple(None if a is None else (a.dtype, a.shape[1:]) for a in batch)


def stream_source(session: Session, where: str, x, y, sample_weight, batch_size, shuffle):
    """An iterable of host batches, its first batch (as given, and prepared: it builds the
    model and sets the batch size), the iterator it came from, and whether it is one-shot."""
    if isinstance(x, np.memmap):
        if y is None:
            raise ValueError(f"{where}: x is a memmap but y is None; pass y too.")
        # The whole memmap is checked up front (one sequential pass over the file), so a bad
        # value or a wrong length fails before the first step, as for in-memory arrays.
        _, y, sw = session.prepare(where, x, y, sample_weight, None, check_values=False)
        source = data_lib.ArrayBatches(x, y, sw, batch_size, shuffle, utils.next_seed())
        source.steps = -(-len(x) // batch_size)
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
    prepared = _prepare_batch(session, where, first)
    # A one-shot iterator (a generator) keeps being drawn from; a re-iterable (a list, a
    # memmap's batches) restarts every epoch. Each epoch calls __iter__ once: the first epoch
    # goes on with the iterator the first batch came from.
    one_shot = it is source
    return source, (first, prepared, it), one_shot


def _stream_chunks(session, where, batches: Iterator, template, lead, batch_size, chunk,
                   limit, buffers: data_lib.ChunkBuffers):
    """Host batches as padded chunks on the device: checked once per chunk, not per batch.

    A batch of plain numpy arrays shaped like the first one passes through untouched (no
    Python per batch beyond grouping); anything else (lists, tuples of inputs, other dtypes)
    is converted on its own. Each chunk's rows are then checked as ``fit(x, y)`` checks
    arrays, and a failure names the batches it came from. ``template`` is the stream's first
    batch as given; ``lead``, if not None, a batch already drawn that goes first. The chunks
    are assembled in ``buffers``: the caller releases each one with its call's outputs.
    """
    fast = _signature(_as_triple(where, template))

    def prepare(batch):
        batch = _as_triple(where, batch)
        if fast is not None and _signature(batch) == fast:
            return batch
        return session.prepare(where, *batch, check_values=False)

    def check(arrays, first, last):
        try:
            return session.prepare(where, *arrays)
        except (ValueError, TypeError) as err:
            raise type(err)(f"{err} (in the streamed batches {first} to {last} of this epoch; "
                            f"row indices count from batch {first}'s first row)") from None

    if lead is not None:
        batches = itertools.chain([lead], batches)
    return data_lib.to_device(
        data_lib.chunks(batches, batch_size, chunk, prepare, limit=limit, check=check,
                        buffers=buffers))


def _train_stream(model, session, batches, template, lead, logs, batch_size, chunk, limit,
                  cbs, buffers: data_lib.ChunkBuffers):
    """One epoch over streamed batches, assembled in ``buffers`` (one pool for the whole fit,
    so that later epochs reuse the first ones' buffers); returns the metric states and the
    batches seen."""
    train = session.programs.train_chunk(batch_size)
    seen = 0
    for n_real, data in _stream_chunks(session, "fit", batches, template, lead, batch_size,
                                       chunk, limit, buffers):
        cbs.on_train_batch_begin(seen)
        count = -(-n_real // batch_size)
        ts, logs = train(model.train_state, logs, data, np.int32(n_real), np.int32(0),
                         np.int32(count), None)
        buffers.release(logs)
        model.train_state = ts
        seen += count
        cbs.on_train_batch_end(seen - 1, _lazy(session, logs))
        if model.stop_training:
            break
    return logs, seen


def _evaluate_stream(model, session, data, cbs, verbose: int, limit: int | None = None
                     ) -> dict:
    batches = iter(data)
    try:
        raw = next(batches)
        first = _prepare_batch(session, "evaluate", raw)
    except StopIteration:
        raise ValueError(
            "evaluate: the iterable of batches yielded no batches. A generator is used up "
            "after one pass: pass arrays, a re-iterable (a list, or an object whose __iter__ "
            "restarts), or validation_steps."
        ) from None
    batch_size = rows(first[0])
    chunk = chunk_size(session, limit, verbose, raw, batch_size)
    program = session.programs.eval_chunk(batch_size)
    logs = session.programs.steps.init_logs(first[0], first[1])
    ts = model.train_state
    buffers = data_lib.ChunkBuffers()
    seen = 0
    for n_real, chunk_data in _stream_chunks(session, "evaluate", batches, raw, raw,
                                             batch_size, chunk, limit, buffers):
        count = -(-n_real // batch_size)
        logs = program(ts.params, ts.state, logs, chunk_data, np.int32(n_real), np.int32(0),
                       np.int32(count))
        buffers.release(logs)
        seen += count
        if cbs is not None:
            cbs.on_test_batch_end(seen - 1, _lazy(session, logs))
    return _results(session, logs)


# ------------------------------------------------------------------------------ in memory
class Placed(NamedTuple):
    """Arrays on the device(s) and how many of their rows are real (the rest is padding)."""

    data: tuple
    n: int


def place(session: Session, x, y, sw) -> Placed:
    data = session.place(x, y, sw)
    # Several processes: the global rows; else the real rows (before any padding).
    return Placed(data, rows(data[0]) if jax.process_count() > 1 else rows(x))


def inference_rows(model, session: Session, batch_size: int | None, x_d, n: int) -> int:
    """Rows per pass of ``evaluate``/``predict``: as many as fnnet's working-memory budget
    for the backend allows (:func:`fnnet.loop.rows_per_pass`), and at most ``batch_size``
    when given (it bounds memory). Under a distribution, a multiple of the data-parallel
    size."""
    ts = model.train_state
    unit = session.programs.rows_per_pass(ts.params, ts.state, x_d)
    batch_size = min(unit if batch_size is None else batch_size, unit, n)
    if session.distribution is not None:
        k = session.distribution.data_parallel_size
        batch_size = -(-batch_size // k) * k
    return batch_size


def _evaluate_arrays(model, session, placed: Placed, batch_size, cbs=None, verbose=0) -> dict:
    (x_d, y_d, sw_d), n = placed
    batch_size = inference_rows(model, session, batch_size, x_d, n)
    program = session.programs.eval_chunk(batch_size)
    logs = session.programs.steps.init_logs(x_d, y_d)
    steps = -(-n // batch_size)
    chunk = steps if cbs is None else chunk_size(session, steps, verbose)
    ts = model.train_state
    for start in range(0, steps, chunk):
        count = min(chunk, steps - start)
        if cbs is not None:
            cbs.on_test_batch_begin(start)
        logs = program(ts.params, ts.state, logs, (x_d, y_d, sw_d), np.int32(n),
                       np.int32(start), np.int32(count))
        if cbs is not None:
            cbs.on_test_batch_end(start + count - 1, _lazy(session, logs))
    return _results(session, logs)


def evaluate_any(model, session, data, batch_size, cbs=None, verbose=0, steps=None) -> dict:
    """``evaluate`` on :class:`Placed` arrays or on an iterable of batches."""
    if isinstance(data, Placed):
        return _evaluate_arrays(model, session, data, batch_size, cbs, verbose)
    return _evaluate_stream(model, session, data, cbs, verbose if cbs is not None else 0, steps)


def _split_validation(x, y, sw, validation_split):
    if isinstance(validation_split, bool) or not isinstance(validation_split, (int, float)) \
            or not 0 <= validation_split < 1:
        raise ValueError(
            f"fit(validation_split): expected a fraction in [0, 1); got "
            f"{validation_split!r}. For example validation_split=0.2."
        )
    n = rows(x)
    split = int(n * (1 - validation_split))
    if split == 0 or split == n:
        raise ValueError(
            f"fit(validation_split={validation_split}): with {n} examples this leaves "
            f"{split} to train on and {n - split} to validate on; both need at least "
            f"one. Use a split between {1 / n:.3g} and {1 - 1 / n:.3g}, or more data."
        )
    val = tuple(slice_rows(a, slice(split, None)) for a in (x, y, sw))
    return tuple(slice_rows(a, slice(None, split)) for a in (x, y, sw)), val


def _validation(session, validation_data, validation_steps):
    if validation_data is None:
        return None
    if data_lib.is_batch_stream(validation_data):
        if iter(validation_data) is validation_data and validation_steps is None:
            raise ValueError(
                "fit(validation_data): a generator (or other one-shot iterator) is used up "
                "after one pass, so the second epoch would have nothing to validate on. Pass "
                "arrays (x_val, y_val), a re-iterable (a list of batches, or an object whose "
                "__iter__ restarts), or validation_steps to draw that many batches per epoch.")
        return validation_data
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
        raise ValueError(
            f"fit(validation_data): expected (x_val, y_val) or (x_val, y_val, "
            f"sample_weight_val); got {_describe(validation_data)}."
        )
    return place(session, *session.prepare("fit(validation_data)", *validation_data))


def fit(model, session: Session, *, x, y, batch_size, epochs, verbose, callbacks,
        validation_split, validation_data, shuffle, class_weight, sample_weight, initial_epoch,
        steps_per_epoch, validation_steps, validation_freq) -> History:
    """``model.fit``; see :meth:`fnnet.models.Sequential.fit` for the arguments."""
    where = "fit"
    batch_size = check_batch_size(where, batch_size)
    check_int(where, "epochs", epochs, 0)
    check_int(where, "initial_epoch", initial_epoch, 0)
    check_int(where, "validation_freq", validation_freq, 1)
    check_int(where, "steps_per_epoch", steps_per_epoch, 1, allow_none=True)
    check_int(where, "validation_steps", validation_steps, 1, allow_none=True)
    verbose = resolve_verbose(verbose)
    streaming = data_lib.is_batch_stream(x) or isinstance(x, np.memmap)
    if streaming:
        if validation_split:
            raise ValueError(
                "fit(validation_split) needs arrays to split; with batches from an iterable "
                "pass validation_data=(x_val, y_val) instead.")
        source, (raw, first, first_it), one_shot = stream_source(
            session, where, x, y, sample_weight, batch_size, shuffle)
        batch_size = rows(first[0]) if not isinstance(x, np.memmap) else min(batch_size, len(x))
        steps = steps_per_epoch if steps_per_epoch is not None else getattr(
            source, "steps", len(source) if isinstance(source, (list, tuple)) else None)
        y_like, x_like = first[1], first[0]
        data = n = None
        buffers = data_lib.ChunkBuffers()  # the chunks' host buffers, reused across epochs
    split_val = None
    if not streaming:
        split = bool(validation_split) and validation_data is None
        # As Keras: class_weight weights the training rows only, never the validation split.
        x, y, sw = session.prepare(where, x, y, sample_weight, None if split else class_weight)
        if split:
            (x, y, sw), split_val = _split_validation(x, y, sw, validation_split)
            split_val = place(session, *split_val)
            if class_weight is not None:
                x, y, sw = session.prepare(where, x, y, sw, class_weight, check_values=False)
        n = rows(x)
        batch_size = min(batch_size, n)  # as Keras: never a batch larger than the data
        steps = -(-n // batch_size)
        if steps_per_epoch is not None:
            steps = min(steps, steps_per_epoch)
        x_like, y_like = x, y
    val = split_val if split_val is not None else _validation(session, validation_data,
                                                              validation_steps)
    if not streaming:
        # Data that fits stays on the device for the whole fit: no per-epoch transfers.
        session.check_batch_size(batch_size)
        data, n = place(session, x, y, sw)
        steps = -(-n // batch_size)
        if steps_per_epoch is not None:
            steps = min(steps, steps_per_epoch)
    chunk = chunk_size(session, steps, verbose, raw, batch_size) if streaming else chunk_size(
        session, steps, verbose)
    programs = session.programs
    logs0 = programs.steps.init_logs(x_like, y_like)
    # Zeroed metric states kept on the host; each chunked epoch copies them in (one transfer,
    # no computation dispatched).
    fresh_logs = jax.device_get(logs0)

    cbs = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0, model=model,
                       verbose=verbose, epochs=epochs, steps=steps)
    model.stop_training = False
    begin_logs = {"initial_epoch": initial_epoch}
    committed = model.train_state
    try:
        cbs.on_train_begin(begin_logs)
        initial_epoch = begin_logs["initial_epoch"]
        committed = model.train_state
        epoch_logs: dict = {}
        for epoch in range(initial_epoch, epochs):
            cbs.on_epoch_begin(epoch)
            if streaming:
                first_epoch = epoch == initial_epoch
                batches = first_it if (first_epoch or one_shot) else iter(source)
                logs, seen = _train_stream(model, session, batches, raw,
                                           raw if first_epoch else None,
                                           jax.device_put(fresh_logs), batch_size, chunk,
                                           steps_per_epoch, cbs, buffers)
                if seen == 0:
                    warnings.warn(
                        f"fit: the input ran out of data at epoch {epoch + 1}; training stops. "
                        f"Pass a re-iterable (a list, or an object whose __iter__ restarts) or "
                        f"set steps_per_epoch so that it yields enough batches.", stacklevel=3)
                    break
                epoch_logs = _results(session, logs)
            elif chunk >= steps:  # the whole epoch in one call (the default without a bar)
                run = programs.train_epoch(batch_size, shuffle)
                cbs.on_train_batch_begin(0)
                ts, logs, results = run(model.train_state, logs0, data, np.int32(n))
                model.train_state = ts
                cbs.on_train_batch_end(steps - 1, LazyLogs(
                    functools.partial(_fetch, logs.names, results)))
                epoch_logs = _fetch(logs.names, results)
            else:
                logs = _train_chunks(model, session, data, n, steps, chunk, batch_size, shuffle,
                                     jax.device_put(fresh_logs), cbs)
                epoch_logs = _results(session, logs)
            if val is not None and (epoch + 1) % validation_freq == 0:
                val_logs = evaluate_any(model, session, val, None, steps=validation_steps)
                epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
            cbs.on_epoch_end(epoch, epoch_logs)
            committed = model.train_state
            if model.stop_training:
                break
        cbs.on_train_end(epoch_logs)
    except BaseException:
        # Back to the last epoch boundary (or the call's start): nothing half-trained stays.
        model.train_state = committed
        raise
    return cbs.history


def _train_chunks(model, session, data, n, steps, chunk, batch_size, shuffle, logs, cbs):
    """One epoch in chunks of ``chunk`` batches, with batch-level callbacks in between."""
    programs = session.programs
    train = programs.train_chunk(batch_size)
    perm = None
    if shuffle:
        ts, perm = programs.shuffle()(model.train_state, data[0])
        model.train_state = ts
    for start in range(0, steps, chunk):
        count = min(chunk, steps - start)
        cbs.on_train_batch_begin(start)
        ts, logs = train(model.train_state, logs, data, np.int32(n), np.int32(start),
                         np.int32(count), perm)
        model.train_state = ts
        cbs.on_train_batch_end(start + count - 1, _lazy(session, logs))
        if model.stop_training:
            break
    return logs


def evaluate(model, session: Session, *, x, y, batch_size, verbose, sample_weight, callbacks,
             steps) -> dict:
    """``model.evaluate``: the loss and metrics as Python floats, in logs order."""
    where = "evaluate"
    batch_size = None if batch_size is None else check_batch_size(where, batch_size)
    check_int(where, "steps", steps, 1, allow_none=True)
    verbose = resolve_verbose(verbose)
    if data_lib.is_batch_stream(x):
        if y is not None or sample_weight is not None:
            raise ValueError(
                f"{where}: x yields batches, so y and sample_weight must be None (put them "
                f"in each batch: (x, y) or (x, y, sample_weight)).")
        data, n_steps = x, steps
    else:
        x, y, sw = session.prepare(where, x, y, sample_weight)
        host = on_host(session, (x, y, sw))
        # Host arrays are placed only if they fit in one chunk (else staged); under a
        # distribution or several processes the rows per pass follow the placed arrays.
        data = None if host else place(session, x, y, sw)
        n = rows(x) if host else data.n
        batch_size = inference_rows(model, session, batch_size,
                                    x if host else data.data[0], n)
        n_steps = -(-n // batch_size)
        if host:
            data = stage(session, (x, y, sw), batch_size, n_steps) or place(session, x, y, sw)
    cbs = CallbackList(callbacks, add_progbar=verbose != 0, model=model, verbose=verbose,
                       epochs=1, steps=n_steps)
    cbs.on_test_begin()
    if isinstance(data, Staged):
        logs = _evaluate_staged(model, session, data, batch_size, cbs)
    else:
        logs = evaluate_any(model, session, data, batch_size, cbs, verbose, steps)
    cbs.on_test_end(logs)
    return logs


class Staged(NamedTuple):
    """Host arrays that ``evaluate``/``predict`` copy to the device ``per_call`` rows at a
    time (:func:`fnnet.data.staged_calls`)."""

    data: tuple
    per_call: int


def on_host(session: Session, arrays: tuple) -> bool:
    """True when inference may stage these arrays (:func:`stage`): numpy arrays, one process,
    no distribution."""
    return session.distribution is None and jax.process_count() == 1 and all(
        isinstance(a, np.ndarray) for a in jax.tree.leaves(arrays))


def stage(session: Session, arrays: tuple, batch_size: int, steps: int) -> Staged | None:
    """Host arrays to copy to the device in chunks of whole passes, or None to place them whole
    (they fit in one chunk).

    A chunk is ``steps_per_execution`` passes of ``batch_size`` rows when compile set it, else
    about 16 MiB of host data (:func:`fnnet.data.batches_per_chunk`); each is copied while the
    device works on the previous one (:func:`fnnet.data.staged_calls`). The passes are the ones
    a single call would make, so the results are the same.
    """
    per_call = session.steps_per_execution or data_lib.batches_per_chunk(
        arrays, batch_size, steps)
    return Staged(arrays, per_call * batch_size) if per_call < steps else None


def _evaluate_staged(model, session: Session, staged: Staged, batch_size: int, cbs) -> dict:
    program = session.programs.eval_chunk(batch_size)
    ts = model.train_state
    logs = session.programs.steps.init_logs(*staged.data[:2])

    def call(chunk, start, m):
        nonlocal logs
        first, count = start // batch_size, -(-m // batch_size)
        cbs.on_test_batch_begin(first)
        logs = program(ts.params, ts.state, logs, chunk, np.int32(m), np.int32(0),
                       np.int32(count))
        cbs.on_test_batch_end(first + count - 1, _lazy(session, logs))
        return logs

    data_lib.staged_calls(staged.data, staged.per_call, call,
                          lambda out, start, m: jax.block_until_ready(out))
    return _results(session, logs)


def predict(model, session: Session, *, x, batch_size, verbose, callbacks) -> np.ndarray:
    """``model.predict``: the outputs as numpy, in input order (``training=False``)."""
    where = "predict"
    batch_size = None if batch_size is None else check_batch_size(where, batch_size)
    verbose = resolve_verbose(verbose)
    x = session.prepare_inputs(where, x)
    n = rows(x)
    batch_size = inference_rows(model, session, batch_size, x, n)
    program = session.programs.predict(batch_size)
    steps = -(-n // batch_size)
    staged = stage(session, (x,), batch_size, steps) if on_host(session, x) else None
    cbs = CallbackList(callbacks, add_progbar=verbose != 0, model=model, verbose=verbose,
                       epochs=1, steps=steps)
    cbs.on_predict_begin()
    ts = model.train_state
    if staged is not None:
        out = None

        def finish(y, start, m):
            nonlocal out
            y = jax.tree.map(np.asarray, y)  # waits; copied into out before the buffer is reused
            if out is None:
                out = jax.tree.map(lambda a: np.empty((n, *a.shape[1:]), a.dtype), y)
            for o, a in zip(jax.tree.leaves(out), jax.tree.leaves(y), strict=True):
                o[start:start + m] = a[:m]

        data_lib.staged_calls(staged.data[0], staged.per_call,
                              lambda c, start, m: program(ts.params, ts.state, c), finish)
    else:
        out = jax.tree.map(np.asarray, program(ts.params, ts.state, data_lib.device_put(x)))
    cbs.on_predict_batch_end(steps - 1, {"outputs": out})
    cbs.on_predict_end()
    return out


def train_on_batch(model, session: Session, x, y, sample_weight, class_weight) -> dict:
    """One optimizer step on one batch; its loss and metrics."""
    x, y, sw = session.prepare("train_on_batch", x, y, sample_weight, class_weight)
    program = session.programs.train_chunk(rows(x))
    logs = session.programs.steps.init_logs(x, y)
    ts, logs = program(model.train_state, logs, _to_device(x, y, sw), np.int32(rows(x)),
                       np.int32(0), np.int32(1), None)
    model.train_state = ts
    return _results(session, logs)


def test_on_batch(model, session: Session, x, y, sample_weight) -> dict:
    """The loss and metrics on one batch, without updating the model."""
    x, y, sw = session.prepare("test_on_batch", x, y, sample_weight)
    return _evaluate_arrays(model, session, place(session, x, y, sw), rows(x))
