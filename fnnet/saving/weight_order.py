"""Keras's weight order within a layer: the order of ``get_weights`` and of Keras weight files.

Keras orders a layer's weights as it creates them (kernel before bias; gamma, beta, then the
moving statistics): trainable params first, then non-trainable state; a nested model's layer
by layer. Used by :mod:`fnnet.models.weights` (``get_weights``/``set_weights``) and
:mod:`fnnet.saving.keras_weights` (``vars/0``, ``vars/1``... of a layer's group).

Example:
    >>> ordered_leaves({"bias": "b", "kernel": "k"})
    ['k', 'b']
    >>> layer_leaves({"gamma": "g", "beta": "b"}, {"moving_mean": "m", "moving_variance": "v"})
    ['g', 'b', 'm', 'v']
"""

from __future__ import annotations

from typing import Any

__all__ = ["ordered_leaves", "replace_ordered", "layer_leaves", "replace_layer"]

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


def _nested(params: Any, state: Any) -> bool:
    return (isinstance(params, tuple) and isinstance(state, tuple) and len(params) == len(state)
            and len(params) > 0)


def layer_leaves(params: Any, state: Any) -> list:
    """One layer's weights in Keras's order: its params, then its state; a nested model (params
    and state tuples, one entry per layer) layer by layer, as Keras lists a nested model's."""
    if _nested(params, state):
        return [leaf for p, s in zip(params, state, strict=True) for leaf in layer_leaves(p, s)]
    return ordered_leaves(params) + ordered_leaves(state)


def replace_layer(params: Any, state: Any, leaves: list) -> tuple[Any, Any]:
    """Inverse of :func:`layer_leaves`: ``(params, state)`` with ``leaves`` consumed in order."""
    if _nested(params, state):
        pairs = [replace_layer(p, s, leaves) for p, s in zip(params, state, strict=True)]
        return tuple(p for p, _ in pairs), tuple(s for _, s in pairs)
    return replace_ordered(params, leaves), replace_ordered(state, leaves)
