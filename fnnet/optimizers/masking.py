"""Freezing params, the functional way: :func:`freeze` routes them to a zero update.

Example:
    >>> import jax.numpy as jnp
    >>> import optax
    >>> from fnnet.optimizers import Adam, get_learning_rate
    >>> params = {"base": jnp.ones(2), "head": jnp.ones(2)}
    >>> tx = freeze(Adam(learning_rate=0.1), {"base": False, "head": True})
    >>> state = tx.init(params)
    >>> updates, state = tx.update({"base": jnp.ones(2), "head": jnp.ones(2)}, state, params)
    >>> optax.apply_updates(params, updates)
    {'base': Array([1., 1.], dtype=float32), 'head': Array([0.9, 0.9], dtype=float32)}
    >>> get_learning_rate(state)
    0.1
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import numpy as np
import optax

PyTree = Any

__all__ = ["freeze"]


def _labels(trainable: PyTree, like: PyTree) -> PyTree:
    """``"train"``/``"freeze"`` for each leaf of ``like``, after checking ``trainable``."""

    def label(path, flag):
        is_bool = isinstance(flag, (bool, np.bool_)) or (
            getattr(flag, "dtype", None) == np.bool_ and np.shape(flag) == ())
        if not is_bool:
            raise TypeError(
                f"freeze: trainable must hold True or False for each param; got {flag!r} at "
                f"trainable{jax.tree_util.keystr(path)}."
            )
        return "train" if bool(flag) else "freeze"

    labels = jax.tree_util.tree_map_with_path(label, trainable)
    try:  # a bool may stand for a whole subtree of params
        return jax.tree.map(lambda lab, sub: jax.tree.map(lambda _: lab, sub), labels, like)
    except ValueError:
        raise ValueError(
            f"freeze: trainable must be a tree of bools shaped like the params (or a prefix of "
            f"it, one bool per subtree); got the structure {jax.tree.structure(trainable)}, but "
            f"the params have {jax.tree.structure(like)}. Build it with e.g. "
            f"jax.tree.map(lambda p: True, params) and set False where params freeze."
        ) from None


def freeze(tx: optax.GradientTransformation,
           trainable: PyTree | Callable[[PyTree], PyTree]) -> optax.GradientTransformationExtraArgs:
    """``tx`` for the trainable params; zero updates and no optimizer state for the others.

    This is ``optax.multi_transform({"train": tx, "freeze": optax.set_to_zero()}, labels)``:
    the frozen params are masked out of ``tx``, so they get no moment buffers (and no weight
    decay, and do not count in a global clip norm, as in Keras, where frozen weights are not
    trainable variables). The learning rate stays reachable through
    :func:`~fnnet.optimizers.get_learning_rate` and :func:`~fnnet.optimizers.set_learning_rate`.

    Args:
        tx: the optimizer for the trainable params.
        trainable: a tree of bools with the params' structure, True where a param trains (a
            bool may also stand for a whole subtree, e.g. ``{"base": False, "head": True}``);
            or a function ``params -> such a tree``, called with the params at ``init`` and
            with the updates (same structure) at ``update``.

    Returns:
        The combined transformation.

    Raises:
        ValueError: if ``trainable`` is not shaped like the params or a prefix of them.
        TypeError: if ``tx`` is not an optax transformation, or a leaf of ``trainable`` is
            not a bool.

    Example:
        >>> import jax.numpy as jnp
        >>> from fnnet.optimizers import SGD
        >>> params = (jnp.ones(3), jnp.ones(2))
        >>> tx = freeze(SGD(learning_rate=0.1, momentum=0.9), lambda p: (True, False))
        >>> state = tx.init(params)
        >>> [x.shape for x in jax.tree.leaves(state)]  # count, lr, ONE velocity (3,)
        [(), (), (3,)]
    """
    if not isinstance(tx, optax.GradientTransformation):
        raise TypeError(
            f"freeze: tx must be an optax transformation such as fnnet.optimizers.Adam(); got "
            f"{tx!r} of type {type(tx).__name__}. For a name, use "
            f"freeze(fnnet.optimizers.get('adam'), trainable)."
        )
    if callable(trainable):
        def labels(params):
            return _labels(trainable(params), params)
    else:
        def labels(params):
            return _labels(trainable, params)

    return optax.multi_transform({"train": tx, "freeze": optax.set_to_zero()}, labels)
