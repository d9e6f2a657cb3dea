"""Keras's weight order: ``get_weights``/``set_weights`` lists, and parameter counts.

Keras orders a layer's weights as it creates them (kernel before bias; gamma, beta, then the
moving statistics), layer by layer: trainable params first, then non-trainable state.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["ordered_leaves", "replace_ordered", "get_weights", "set_weights", "count"]

# JAX rebuilds dicts with sorted keys, so insertion order does not survive a jit; this fixed
# priority restores Keras's order, other names follow alphabetically.
_WEIGHT_ORDER = {name: i for i, name in enumerate(
    ["kernel", "depthwise_kernel", "pointwise_kernel", "recurrent_kernel", "embeddings", "bias",
     "gamma", "beta", "moving_mean", "moving_variance", "mean", "variance", "count",
     "query", "key", "value", "attention_output", "scale", "concat_score_weight"])}


def _keras_keys(tree: dict) -> list:
    return sorted(tree, key=lambda k: (_WEIGHT_ORDER.get(k, len(_WEIGHT_ORDER)), str(k)))


def ordered_leaves(tree: Any) -> list:
    """Leaves in Keras's weight order (see ``_WEIGHT_ORDER``), tuples in order."""
    if isinstance(tree, dict):
        return [leaf for k in _keras_keys(tree) for leaf in ordered_leaves(tree[k])]
    if isinstance(tree, (tuple, list)):
        return [leaf for v in tree for leaf in ordered_leaves(v)]
    if tree is None:
        return []
    return [tree]


def replace_ordered(tree: Any, leaves: list) -> Any:
    """Inverse of :func:`ordered_leaves`: puts ``leaves`` (consumed in order) into ``tree``."""
    if isinstance(tree, dict):
        return {k: replace_ordered(tree[k], leaves) for k in _keras_keys(tree)}
    if isinstance(tree, tuple):
        return tuple(replace_ordered(v, leaves) for v in tree)
    if isinstance(tree, list):
        return [replace_ordered(v, leaves) for v in tree]
    if tree is None:
        return None
    return leaves.pop(0)


def get_weights(params: Sequence, state: Sequence) -> list[np.ndarray]:
    """All weights as numpy copies, layer by layer: params, then state (Keras's order)."""
    out = []
    for p, s in zip(params, state, strict=True):
        out.extend(np.array(a, copy=True) for a in ordered_leaves(p) + ordered_leaves(s))
    return out


def set_weights(params: Sequence, state: Sequence, weights: Any) -> tuple[tuple, tuple]:
    """New ``(params, state)`` from a list in :func:`get_weights`'s order; shapes must match."""
    current = [a for p, s in zip(params, state, strict=True)
               for a in ordered_leaves(p) + ordered_leaves(s)]
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
    pairs = [(replace_ordered(p, new), replace_ordered(s, new))
             for p, s in zip(params, state, strict=True)]
    return tuple(p for p, _ in pairs), tuple(s for _, s in pairs)


def count(tree: Any) -> int:
    """The number of scalars in a pytree of arrays."""
    return int(sum(np.size(a) for a in jax.tree.leaves(tree)))
