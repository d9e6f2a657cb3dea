"""``model.summary()``: Keras's table of layers, output shapes and parameter counts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import numpy as np

from fnnet.core import trainable_mask

__all__ = ["summary", "counts", "graph_rows", "sequential_rows"]


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


def _shape_text(shape: Any) -> str:
    if isinstance(shape, tuple) and all(d is None or isinstance(d, int) for d in shape):
        return str(tuple(shape))
    return str(jax.tree.map(tuple, shape, is_leaf=lambda s: isinstance(s, tuple) and all(
        d is None or isinstance(d, int) for d in s)))


def sequential_rows(layers: Sequence, shapes: Sequence) -> list[tuple[str, str, str | None]]:
    """(layer (type), output shape, None) per layer of a Sequential."""
    return [(f"{layer.name} ({layer.kind})", _shape_text(shape), None)
            for layer, shape in zip(layers, shapes, strict=True)]


def graph_rows(graph) -> list[tuple[str, str, str]]:
    """(layer (type), output shape, connected to) per layer of a functional graph, with
    Keras's ``name[node][tensor]`` references (a shared layer lists each call)."""
    calls: dict[int, int] = {}
    produced: dict[int, tuple[str, int, int]] = {}
    rows, seen = [], {}
    for node in graph.nodes:
        layer = node.layer
        index = calls.get(id(layer), 0)
        calls[id(layer)] = index + 1
        outs = jax.tree.leaves(node.outputs, is_leaf=lambda t: hasattr(t, "node"))
        for k, t in enumerate(outs):
            produced[id(t)] = (layer.name, index, k)
        inbound = jax.tree.leaves(node.inputs, is_leaf=lambda t: hasattr(t, "node"))
        links = ", ".join(f"{produced[id(t)][0]}[{produced[id(t)][1]}][{produced[id(t)][2]}]"
                          for t in inbound) or "-"
        shape = _shape_text(outs[0].shape if len(outs) == 1 else tuple(t.shape for t in outs))
        if id(layer) in seen:  # a shared layer: one row, every call's inputs
            i = seen[id(layer)]
            rows[i] = (rows[i][0], rows[i][1], f"{rows[i][2]}, {links}")
            continue
        seen[id(layer)] = len(rows)
        rows.append((f"{layer.name} ({layer.kind})", shape, links))
    return [rows[seen[id(layer)]] for layer in graph.layers]  # the order of the params


def summary(name: str, layers: Sequence, rows: Sequence, params: Sequence, state: Sequence,
            print_fn: Callable[[str], Any] | None = None) -> None:
    """Prints the table: layer (type), output shape, param count (and connected to, for a
    graph); then the totals."""
    print_fn = print_fn or print
    graph = any(r[2] is not None for r in rows)
    table = []
    for (label, shape, links), p, s in zip(rows, params, state, strict=True):
        n = sum(np.size(a) for a in jax.tree.leaves((p, s)))
        table.append((label, shape, f"{n:,}", links or ""))
    w = [max(28, *(len(r[0]) + 2 for r in table)), max(25, *(len(r[1]) + 2 for r in table)), 15,
         max(20, *(len(r[3]) + 2 for r in table)) if graph else 0]
    width = sum(w)
    print_fn(f'Model: "{name}"')
    print_fn("┏" + "━" * width + "┓")
    head = f"{'Layer (type)':<{w[0]}}{'Output Shape':<{w[1]}}{'Param #':>{w[2]}}"
    print_fn(head + (f"  {'Connected to':<{w[3] - 2}}" if graph else ""))
    print_fn("┡" + "━" * width + "┩")
    for r in table:
        line = f"{r[0]:<{w[0]}}{r[1]:<{w[1]}}{r[2]:>{w[2]}}"
        print_fn(line + (f"  {r[3]:<{w[3] - 2}}" if graph else ""))
    print_fn("─" * width)
    trainable, frozen, nbytes = counts(layers, params, state)
    print_fn(f" Total params: {trainable + frozen:,} ({_human_bytes(nbytes)})")
    print_fn(f" Trainable params: {trainable:,}")
    print_fn(f" Non-trainable params: {frozen:,}")
