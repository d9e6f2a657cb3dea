"""``model.summary()``: Keras's table of layers, output shapes and parameter counts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import numpy as np

from fnnet.core import trainable_mask

__all__ = ["summary"]


def _human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.2f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.2f} GB"  # pragma: no cover


def counts(layers: Sequence, params: Sequence, state: Sequence) -> tuple[int, int, int]:
    """(trainable, non-trainable, bytes): frozen params and all state are non-trainable."""
    trainable = frozen = nbytes = 0
    for layer, p, s in zip(layers, params, state, strict=True):
        mask = trainable_mask(layer, p)
        for leaf, train in zip(jax.tree.leaves(p), jax.tree.leaves(mask), strict=True):
            if train:
                trainable += int(np.size(leaf))
            else:
                frozen += int(np.size(leaf))
        frozen += sum(int(np.size(a)) for a in jax.tree.leaves(s))
        nbytes += sum(int(np.size(a)) * np.dtype(a.dtype).itemsize
                      for a in jax.tree.leaves((p, s)))
    return trainable, frozen, nbytes


def summary(name: str, layers: Sequence, shapes: Sequence, params: Sequence, state: Sequence,
            print_fn: Callable[[str], Any] | None = None) -> None:
    """Prints the table: layer (type), output shape, param count; then the totals."""
    print_fn = print_fn or print
    rows = []
    for layer, shape, p, s in zip(layers, shapes, params, state, strict=True):
        n = sum(np.size(a) for a in jax.tree.leaves((p, s)))
        rows.append((f"{layer.name} ({layer.kind})", str(tuple(shape)), f"{n:,}"))
    w = (max(28, *(len(r[0]) + 2 for r in rows)), max(25, *(len(r[1]) + 2 for r in rows)), 15)
    print_fn(f'Model: "{name}"')
    print_fn("┏" + "━" * sum(w) + "┓")
    print_fn(f"{'Layer (type)':<{w[0]}}{'Output Shape':<{w[1]}}{'Param #':>{w[2]}}")
    print_fn("┡" + "━" * sum(w) + "┩")
    for r in rows:
        print_fn(f"{r[0]:<{w[0]}}{r[1]:<{w[1]}}{r[2]:>{w[2]}}")
    print_fn("─" * sum(w))
    trainable, frozen, nbytes = counts(layers, params, state)
    print_fn(f" Total params: {trainable + frozen:,} ({_human_bytes(nbytes)})")
    print_fn(f" Trainable params: {trainable:,}")
    print_fn(f" Non-trainable params: {frozen:,}")
