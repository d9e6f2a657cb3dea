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
* :func:`evaluate`, :func:`predict`: the same for inference.

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

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

__all__ = ["batch_rows", "take", "shuffle", "scan_batches", "epoch", "evaluate", "predict"]

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
