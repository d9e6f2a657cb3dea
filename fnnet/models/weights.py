"""Keras's weight order: ``get_weights``/``set_weights`` lists, and parameter counts.

Keras orders a layer's weights as it creates them (kernel before bias; gamma, beta, then the
moving statistics), layer by layer: trainable params first, then non-trainable state (the
order within a layer is :mod:`fnnet.saving.weight_order`'s).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from fnnet.saving.weight_order import layer_leaves, ordered_leaves, replace_layer, replace_ordered

__all__ = ["ordered_leaves", "replace_ordered", "layer_leaves", "get_weights", "set_weights",
           "count"]

def get_weights(params: Sequence, state: Sequence) -> list[np.ndarray]:
    """All weights as numpy copies, layer by layer: params, then state (Keras's order)."""
    return [np.array(a, copy=True)
            for p, s in zip(params, state, strict=True) for a in layer_leaves(p, s)]


def set_weights(params: Sequence, state: Sequence, weights: Any) -> tuple[tuple, tuple]:
    """New ``(params, state)`` from a list in :func:`get_weights`'s order; shapes must match."""
    current = [a for p, s in zip(params, state, strict=True) for a in layer_leaves(p, s)]
    if not isinstance(weights, (list, tuple)) or len(weights) != len(current):
        got = len(weights) if isinstance(weights, (list, tuple)) else type(weights).__name__
        raise ValueError(
            f"set_weights: expected a list of {len(current)} arrays (as get_weights returns); "
            f"got {got}."
        )
    new = []
    for i, (w, c) in enumerate(zip(weights, current, strict=True)):
        w = np.asarray(w)
        if w.shape != tuple(c.shape):
            raise ValueError(f"set_weights: weight #{i} has shape {w.shape}, expected "
                             f"{tuple(c.shape)}.")
        if w.dtype.kind not in "biuf" or not np.isfinite(w).all():
            raise ValueError(f"set_weights: weight #{i} must be finite numbers; got dtype "
                             f"{w.dtype}{' with NaN or Inf' if w.dtype.kind == 'f' else ''}.")
        new.append(jnp.asarray(w, c.dtype))
    # Layer by layer, params then state: the order get_weights lists them in.
    pairs = [replace_layer(p, s, new) for p, s in zip(params, state, strict=True)]
    return tuple(p for p, _ in pairs), tuple(s for _, s in pairs)


def count(tree: Any) -> int:
    """The number of scalars in a pytree of arrays."""
    return int(sum(np.size(a) for a in jax.tree.leaves(tree)))
