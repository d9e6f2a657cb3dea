"""The compiled programs behind a model's ``fit``, ``evaluate`` and ``predict``.

Glue between a model's :class:`fnnet.Steps` and :mod:`fnnet.loop`: each program is
``jax.jit`` of a ``fnnet.loop`` function, built once per batch size and reused for every epoch,
chunk and call. The number of real rows is an argument, not a shape, so a last partial batch
or a differently sized dataset never recompiles.

Nothing here donates the train state: the model keeps its last good state until a call has
succeeded (a call that fails, out of memory say, leaves the model as it was), and arrays a user
holds stay valid. One call runs a whole epoch or chunk, whose updates XLA performs in place
inside the loop, so only the final outputs are new buffers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax

from fnnet import loop
from fnnet.training import Steps

__all__ = ["Programs"]


class Programs:
    """Jitted programs for one :class:`fnnet.Steps`, cached by kind and batch size.

    Args:
        steps: the model's pure steps (from compile).
        jit: False runs everything eagerly (``compile(jit_compile=False)``), for debugging.
    """

    def __init__(self, steps: Steps | None, predict_fn: Callable, jit: bool = True,
                 constrain: Callable | None = None):
        self.steps = steps
        self.predict_fn = predict_fn
        self.jit = jit
        # Under a distribution: pins each batch to the data axis, so the steps run
        # data-parallel (fnnet.distribution.Distribution.constrain_batch).
        self.constrain = constrain or (lambda batch: batch)
        self._cache: dict = {}
        self._sizes: dict = {}

    def _get(self, key: Any, build: Callable) -> Callable:
        if key not in self._cache:
            fn = build()
            self._cache[key] = jax.jit(fn) if self.jit else fn
        return self._cache[key]

    def __len__(self) -> int:
        """How many programs have been built (traced on first call)."""
        return len(self._cache)

    def count_executables(self, kind: str, batch_size: int | None = None) -> int:
        """Compiled executables of ``kind`` for ``batch_size`` (None: any), to test that
        nothing recompiles. ``"train"`` counts the whole-epoch programs too.
        """
        kinds = ("train", "epoch") if kind == "train" else (kind,)
        return sum(fn._cache_size() for key, fn in self._cache.items()
                   if key[0] in kinds and batch_size in (None, key[1])
                   and hasattr(fn, "_cache_size"))

    def train_epoch(self, batch_size: int, shuffle: bool) -> Callable:
        """``(ts, logs, data, n) -> (ts, logs, results)``: a whole epoch in one call."""
        def build():
            run = loop.epoch(self._train_update, batch_size=batch_size, shuffle=shuffle)

            def program(ts, logs, data, n):
                ts, logs = run(ts, logs, data, n)
                return ts, logs, logs.result()

            return program

        return self._get(("epoch", batch_size, shuffle), build)

    def shuffle(self) -> Callable:
        """``(ts, x) -> (ts, perm)``: the epoch's shuffle of ``x``'s rows, one dispatch."""
        return self._get(("shuffle", 0), lambda: lambda ts, x: loop.shuffle(ts, x.shape[0]))

    def train_chunk(self, batch_size: int) -> Callable:
        """``(ts, logs, data, n, start, count, perm) -> (ts, logs)``: ``count`` steps."""
        def build():
            def program(ts, logs, data, n, start, count, perm):
                return loop.scan_batches(
                    lambda c, b, m: self._train_update(c[0], c[1], b, m), (ts, logs), data,
                    batch_size=batch_size, n=n, perm=perm, start=start, count=count)

            return program

        return self._get(("train", batch_size), build)

    def eval_chunk(self, batch_size: int) -> Callable:
        """``(params, state, logs, data, n, start, count) -> logs``."""
        def build():
            def program(params, state, logs, data, n, start, count):
                return loop.scan_batches(
                    lambda c, b, m: self.steps.eval_update(params, state, c, *self.constrain(
                        (b, m))), logs, data, batch_size=batch_size, n=n, start=start, count=count)

            return program

        return self._get(("eval", batch_size), build)

    def results(self) -> Callable:
        """``logs -> {"loss": ..., ...}``: one dispatch for every metric's result."""
        return self._get(("results", 0), lambda: lambda logs: logs.result())

    def predict(self, batch_size: int) -> Callable:
        """``(params, state, x) -> y`` over all of ``x``, batch by batch, in one call."""
        return self._get(("predict", batch_size), lambda: loop.predict(
            lambda p, s, x: self.predict_fn(p, s, self.constrain(x)), batch_size=batch_size))

    def rows_per_pass(self, params, state, x, budget_bytes: int | None = None) -> int:
        """Rows per inference pass when the user gives no batch size
        (:func:`fnnet.loop.rows_per_pass`; the per-row cost is traced once per input shape)."""
        key = ("bytes_per_row", jax.tree.structure(x),
               tuple((a.shape[1:], str(a.dtype)) for a in jax.tree.leaves(x)))
        if key not in self._sizes:
            self._sizes[key] = loop.bytes_per_row(
                lambda xb: self.predict_fn(params, state, xb), x)
        return loop.split_rows(jax.tree.leaves(x)[0].shape[0], self._sizes[key],
                               budget_bytes or loop.default_budget())

    def _train_update(self, ts, logs, batch, mask):
        batch, mask = self.constrain((batch, mask))
        return self.steps.train_update(ts, logs, batch, mask)


def fresh_logs_on_host(logs: Any) -> Any:
    """Zeroed metric states as host arrays: copied in each epoch without a dispatch."""
    return jax.device_get(logs.reset())

