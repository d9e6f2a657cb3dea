"""The compiled programs behind ``fit``/``evaluate``/``predict``.

Each program runs many batches in one compiled call (``lax.fori_loop`` with a dynamic trip
count), gathering every batch from arrays already on the device. The number of real rows ``n``
is an argument, not a shape: the last partial batch is padded and masked, and one program
serves every chunk of an epoch, every epoch, and every streamed chunk of the same shape.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

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
