"""The fused loop: many batches in one compiled program, over arrays already on the device.

``fit``'s core idea, public: a whole epoch (an on-device shuffle, every batch gathered from the
on-device arrays, the last partial batch padded and masked, metric states carried through the
loop) is one ``jax.lax.fori_loop``, so one dispatch and one host sync per epoch. The number of
real rows ``n`` is an argument, not a shape, so one compiled program serves every epoch, every
chunk of one, and every dataset padded to the same shape.

The pieces are pure functions; ``jax.jit`` them yourself (``fit`` does exactly that):

* :func:`scan_batches`: any ``step(carry, batch, mask) -> carry`` over batches;
* :func:`epoch`: a train update ``(ts, logs, batch, mask) -> (ts, logs)`` over a shuffled epoch,
  from fresh metric states: ``fit``'s epoch, your custom update included;
* :func:`evaluate`, :func:`predict`: the same for inference;
* :func:`rows_per_pass`: how many rows one inference pass can take within a memory budget
  (``predict``/``evaluate`` use it when no ``batch_size`` is given).

A padded batch repeats real rows in place of the missing ones (so it holds no garbage) and
``mask`` marks them False: the loss, the metrics and BatchNormalization's statistics leave them
out, so a partial batch computes exactly what a batch of its own size would.

Example: a user's epoch loop that reproduces ``fit``'s History::

    steps = fnnet.make_steps(model, "sparse_categorical_crossentropy", ["accuracy"])
    run_epoch = jax.jit(fnnet.loop.epoch(steps.train_update, batch_size=128, shuffle=True))
    data = jax.device_put((x, y))
    logs = steps.init_logs(x, y)
    for _ in range(5):
        ts, logs = run_epoch(ts, logs, data)
        print({k: float(v) for k, v in logs.result().items()})
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import jax
import jax.extend.core as jex
import jax.numpy as jnp
import numpy as np

__all__ = ["batch_rows", "take", "shuffle", "scan_batches", "epoch", "evaluate", "predict",
           "bytes_per_row", "rows_per_pass", "split_rows"]

PyTree = Any


def _num_rows(data: PyTree) -> int:
    return jax.tree.leaves(data)[0].shape[0]


def batch_rows(n: Any, b: Any, batch_size: int, perm: jax.Array | None = None):
    """Row indices and the real-row mask of batch ``b`` of the first ``n`` rows.

    Padding rows (past ``n``) wrap around to real rows, so they hold valid data; the mask is
    False for them. With ``perm``, batch ``b`` is ``perm[b*B:(b+1)*B]``.
    """
    pos = b * batch_size + jnp.arange(batch_size, dtype=jnp.int32)
    idx = jnp.remainder(pos, n)
    if perm is not None:
        idx = perm[idx]
    return idx, pos < n


def take(data: PyTree, idx: jax.Array) -> PyTree:
    """The rows ``idx`` of every array in ``data`` (None entries stay None)."""
    return jax.tree.map(lambda a: a.at[idx].get(mode="promise_in_bounds"), data)


def shuffle(ts: Any, num_rows: int) -> tuple[Any, jax.Array]:
    """``(ts with its rng advanced, a permutation of num_rows)``: ``fit``'s per-epoch shuffle."""
    rng, key = jax.random.split(ts.rng)
    return ts.replace(rng=rng), jax.random.permutation(key, num_rows).astype(jnp.int32)


_shuffle = shuffle  # epoch() takes an argument named shuffle


def scan_batches(step: Callable, carry: PyTree, data: PyTree, *, batch_size: int,
                 n: Any = None, perm: jax.Array | None = None, start: Any = 0,
                 count: Any = None) -> PyTree:
    """``carry = step(carry, batch, mask)`` for batches ``start`` to ``start + count - 1``.

    Args:
        step: a pure ``step(carry, batch, mask) -> carry``; ``batch`` has ``data``'s structure
            with ``batch_size`` rows, ``mask`` is bool ``(batch_size,)``.
        carry: the loop state (a train state and metric states, say).
        data: a pytree of arrays with the same number of rows (e.g. ``(x, y)``).
        batch_size: rows per batch.
        n: how many leading rows are real (default: all); may be traced.
        perm: an optional permutation of the rows (see :func:`shuffle`).
        start: the first batch; may be traced.
        count: how many batches (default: all ``ceil(n / batch_size)``); may be traced.
    """
    n = _num_rows(data) if n is None else n
    count = -(-n // batch_size) if count is None else count

    def body(i, carry):
        idx, mask = batch_rows(n, start + i, batch_size, perm)
        return step(carry, take(data, idx), mask)

    return jax.lax.fori_loop(0, count, body, carry)


def epoch(train_update: Callable, *, batch_size: int, shuffle: bool = True) -> Callable:
    """``run(ts, logs, data, n=None) -> (ts, logs)``: one epoch of ``train_update``.

    ``train_update(ts, logs, batch, mask) -> (ts, logs)`` is :attr:`fnnet.Steps.train_update`
    or your own with that signature. The epoch starts from ``logs.reset()`` (fresh metric
    states), shuffles with a split of ``ts.rng`` when ``shuffle`` (as ``fit`` does), and runs
    ``ceil(n / batch_size)`` steps, the last one padded and masked. Pure: ``jax.jit`` it.
    """
    def run(ts, logs, data, n=None):
        perm = None
        if shuffle:
            ts, perm = _shuffle(ts, _num_rows(data))
        return scan_batches(lambda c, b, m: train_update(c[0], c[1], b, m), (ts, logs.reset()),
                            data, batch_size=batch_size, n=n, perm=perm)

    return run


def evaluate(eval_update: Callable, *, batch_size: int) -> Callable:
    """``run(params, state, logs, data, n=None) -> logs``: ``eval_update`` over every batch.

    Accumulates into ``logs`` (reset it first for a fresh evaluation). Pure: ``jax.jit`` it.
    """

    def run(params, state, logs, data, n=None):
        return scan_batches(lambda c, b, m: eval_update(params, state, c, b, m), logs, data,
                            batch_size=batch_size, n=n)

    return run


def predict(predict_fn: Callable, *, batch_size: int) -> Callable:
    """``run(params, state, x) -> y``: ``predict_fn(params, state, batch)`` over all of ``x``.

    One compiled loop over batches of ``batch_size`` (which bounds the memory of one forward
    pass); outputs are written into one buffer and returned in input order.
    """
    B = batch_size

    def run(params, state, x):
        n = _num_rows(x)
        nb = -(-n // B)
        out = jax.eval_shape(predict_fn, params, state, take(x, jnp.zeros(B, jnp.int32)))
        buf = jax.tree.map(lambda o: jnp.zeros((nb * B, *o.shape[1:]), o.dtype), out)

        def body(b, buf):
            idx, _ = batch_rows(n, b, B)
            y = predict_fn(params, state, take(x, idx))
            return jax.tree.map(
                lambda bb, yy: jax.lax.dynamic_update_slice_in_dim(bb, yy, b * B, axis=0), buf, y)

        return jax.tree.map(lambda bb: bb[:n], jax.lax.fori_loop(0, nb, body, buf))

    return run


# ------------------------------------------------------------------------- inference unit
def _jaxpr_bytes(jaxpr: Any) -> int:
    """Bytes of every intermediate a jaxpr computes, nested jaxprs (scan bodies...) included.

    An upper bound on the working memory: XLA reuses buffers, this counts each one anew.
    """
    total = 0
    for eqn in jaxpr.eqns:
        for var in eqn.outvars:
            shape, dtype = getattr(var.aval, "shape", None), getattr(var.aval, "dtype", None)
            if shape is not None and dtype is not None:
                try:
                    itemsize = np.dtype(dtype).itemsize
                except TypeError:  # an extended dtype (a PRNG key)
                    itemsize = 8
                total += math.prod(shape) * itemsize
        for value in eqn.params.values():
            for sub in value if isinstance(value, (tuple, list)) else (value,):
                if isinstance(sub, jex.ClosedJaxpr):
                    total += _jaxpr_bytes(sub.jaxpr)
                elif isinstance(sub, jex.Jaxpr):
                    total += _jaxpr_bytes(sub)
    return total


def bytes_per_row(fn: Callable, x: Any) -> int:
    """The working memory one more row of ``x`` costs ``fn(x)``, in bytes (an upper bound).

    ``fn`` is traced (not run, not compiled) at one row and at two rows of ``x``'s arrays;
    the difference is what grows with the batch, whatever the network.
    """
    def at(rows):
        spec = jax.tree.map(
            lambda a: jax.ShapeDtypeStruct((rows, *np.shape(a)[1:]), jnp.result_type(a)), x)
        return _jaxpr_bytes(jax.make_jaxpr(fn)(spec).jaxpr)

    return max(at(2) - at(1), 1)


def default_budget(platform: str | None = None) -> int:
    """The working-memory budget of one inference pass, in bytes, for a JAX platform.

    On a CPU a pass is fastest when its intermediates stay in cache (2 MiB: measured on
    workload C, 128-256 rows of a 784-512-10 network beat one call over all rows by 2-3x); on
    an accelerator, the more rows per call the better (1 GiB).
    """
    platform = platform or jax.default_backend()
    return 2 << 20 if platform == "cpu" else 1 << 30


def rows_per_pass(fn: Callable, params: Any, state: Any, x: Any, *,
                  budget_bytes: int | None = None, at_least: int = 32) -> int:
    """How many rows of ``x`` one call of ``fn(params, state, x_rows)`` should take.

    As few passes as keep the working memory of one (:func:`bytes_per_row`, an upper bound)
    within ``budget_bytes`` (default :func:`default_budget`), the rows split evenly between
    them, and at least ``at_least`` rows (or all of them) per pass. At inference the results
    do not depend on how rows are grouped (up to the last bits of a float32 matrix product,
    whose kernel depends on the number of rows), so ``predict`` and ``evaluate`` choose it.

    Example:
        >>> import jax.numpy as jnp
        >>> rows_per_pass(lambda p, s, x: x @ p, jnp.ones((4, 8)), (), jnp.ones((1000, 4)),
        ...               budget_bytes=1 << 30)
        1000
    """
    n = _num_rows(x)
    return split_rows(n, bytes_per_row(lambda xb: fn(params, state, xb), x),
                      budget_bytes or default_budget(), at_least)


def split_rows(n: int, bytes_per_row: int, budget_bytes: int, at_least: int = 32) -> int:
    """Rows per pass for ``n`` rows: as few passes as keep each within the budget, even."""
    passes = -(-n * bytes_per_row // budget_bytes)
    return min(n, max(-(-n // max(passes, 1)), at_least))
