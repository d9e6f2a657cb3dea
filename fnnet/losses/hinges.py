"""Hinge losses for classifiers that output raw scores: hinge, squared and categorical.

Example:
    >>> import jax.numpy as jnp
    >>> hinge(jnp.array([1.0, -1.0]), jnp.array([2.0, 0.5]))  # max(1 - y * s, 0)
    Array([0. , 1.5], dtype=float32)
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from fnnet.losses.shapes import as_floats, check_same_shape, elementwise

__all__ = ["hinge", "squared_hinge", "categorical_hinge"]


def _hinge_labels(y_true: jax.Array) -> jax.Array:
    # Keras: labels given as {0, 1} are mapped to {-1, 1}; labels already in {-1, 1} are kept.
    is_binary = jnp.all((y_true == 0.0) | (y_true == 1.0))
    return jnp.where(is_binary, 2.0 * y_true - 1.0, y_true)


def hinge(y_true: ArrayLike, y_pred: ArrayLike) -> jax.Array:
    """Hinge loss ``mean(max(1 - y_true * y_pred, 0), axis=-1)``.

    Args:
        y_true: labels in ``{-1, 1}`` (labels in ``{0, 1}`` are mapped to ``{-1, 1}``),
            shape ``(batch,)`` or ``(batch, d)``.
        y_pred: raw scores, the same shape.

    Returns:
        Per-example losses, shape ``(batch,)``.

    Example:
        >>> import jax.numpy as jnp
        >>> hinge(jnp.array([1.0, 0.0]), jnp.array([0.5, 0.5]))
        Array([0.5, 1.5], dtype=float32)
    """
    y_true, y_pred = elementwise("hinge", y_true, y_pred)
    y_true = _hinge_labels(y_true)
    return jnp.mean(jnp.maximum(1.0 - y_true * y_pred, 0.0), axis=-1)


def squared_hinge(y_true: ArrayLike, y_pred: ArrayLike) -> jax.Array:
    """Squared hinge loss ``mean(max(1 - y_true * y_pred, 0) ** 2, axis=-1)``.

    Args:
        y_true: labels in ``{-1, 1}`` (labels in ``{0, 1}`` are mapped to ``{-1, 1}``),
            shape ``(batch,)`` or ``(batch, d)``.
        y_pred: raw scores, the same shape.

    Returns:
        Per-example losses, shape ``(batch,)``.

    Example:
        >>> import jax.numpy as jnp
        >>> squared_hinge(jnp.array([1.0, 0.0]), jnp.array([0.5, 0.5]))
        Array([0.25, 2.25], dtype=float32)
    """
    y_true, y_pred = elementwise("squared_hinge", y_true, y_pred)
    y_true = _hinge_labels(y_true)
    return jnp.mean(jnp.square(jnp.maximum(1.0 - y_true * y_pred, 0.0)), axis=-1)


def categorical_hinge(y_true: ArrayLike, y_pred: ArrayLike) -> jax.Array:
    """Multi-class hinge ``max(max((1 - y) * s) - sum(y * s) + 1, 0)`` over the last axis.

    The margin between the score of the true class and the best score of any other class.

    Args:
        y_true: one-hot targets, shape ``(batch, classes)``.
        y_pred: raw scores, the same shape.

    Returns:
        Per-example losses, shape ``(batch,)``.

    Example:
        >>> import jax.numpy as jnp
        >>> categorical_hinge(jnp.array([[0.0, 1.0], [1.0, 0.0]]), jnp.array([[0.2, 0.9], [0.3, 0.6]]))
        Array([0.3, 1.3], dtype=float32)
    """
    y_true, y_pred = as_floats(y_true, y_pred)
    check_same_shape("categorical_hinge", y_true, y_pred,
                     "Pass one-hot targets with one column per class.")
    pos = jnp.sum(y_true * y_pred, axis=-1)
    neg = jnp.max((1.0 - y_true) * y_pred, axis=-1)
    return jnp.maximum(neg - pos + 1.0, 0.0)
