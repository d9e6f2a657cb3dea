"""Overlap losses for segmentation: Dice and Tversky, one value per example.

Deliberate deviation from Keras: with ``axis=None`` Keras reduces over *every* axis, batch
included, and returns one number for the whole batch, which cannot be weighted per example or
masked for padded rows. Here ``axis=None`` means every axis but the batch axis, so the loss of
a batch is the mean over its examples; pass the same explicit ``axis`` (e.g. ``(1, 2)``) to
Keras to get identical values.

Example:
    >>> import jax.numpy as jnp
    >>> y_true = jnp.array([[1.0, 1.0, 0.0, 0.0]])
    >>> dice(y_true, jnp.array([[1.0, 0.0, 0.0, 0.0]]))  # 1 - 2 * 1 / (2 + 1)
    Array([0.3333], dtype=float32)
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from fnnet.losses.shapes import EPSILON, elementwise

__all__ = ["dice", "tversky"]


def _axes(where: str, axis: int | Sequence[int] | None, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(1, ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    normalized = tuple(a % ndim for a in axes)
    if 0 in normalized:
        raise ValueError(
            f"{where}: axis={axis!r} includes the batch axis 0; fnnet losses return one value "
            f"per example. Pass the non-batch axes, e.g. axis={tuple(range(1, ndim))} (or None)."
        )
    return normalized


def dice(y_true: ArrayLike, y_pred: ArrayLike,
         axis: int | Sequence[int] | None = None) -> jax.Array:
    """Dice loss ``1 - 2 * sum(t * p) / (sum(t) + sum(p) + 1e-7)``, per example.

    Args:
        y_true: targets in ``[0, 1]``, shape ``(batch, ...)``.
        y_pred: predicted probabilities, the same shape.
        axis: the axes summed over; None (the default) is every axis but the batch axis.

    Returns:
        Per-example losses: the shape without ``axis``, ``(batch,)`` by default.

    Raises:
        ValueError: if ``axis`` includes the batch axis.

    Example:
        >>> import jax.numpy as jnp
        >>> dice(jnp.ones((2, 2, 2)), jnp.full((2, 2, 2), 0.5))
        Array([0.3333, 0.3333], dtype=float32)
    """
    y_true, y_pred = elementwise("dice", y_true, y_pred)
    axes = _axes("dice", axis, y_pred.ndim)
    intersection = jnp.sum(y_true * y_pred, axis=axes)
    total = jnp.sum(y_true, axis=axes) + jnp.sum(y_pred, axis=axes) + EPSILON
    return 1.0 - 2.0 * intersection / total


def tversky(y_true: ArrayLike, y_pred: ArrayLike, alpha: float = 0.5, beta: float = 0.5,
            axis: int | Sequence[int] | None = None) -> jax.Array:
    """Tversky loss ``1 - TP / (TP + alpha * FP + beta * FN + 1e-7)``, per example.

    With soft counts ``TP = sum(t * p)``, ``FP = sum((1 - p) * t)`` and ``FN = sum(p * (1 - t))``
    (Keras's naming). ``alpha = beta = 0.5`` gives the Dice loss.

    Args:
        y_true: targets in ``[0, 1]``, shape ``(batch, ...)``.
        y_pred: predicted probabilities, the same shape.
        alpha: the weight of the ``FP`` term.
        beta: the weight of the ``FN`` term.
        axis: the axes summed over; None (the default) is every axis but the batch axis.

    Returns:
        Per-example losses: the shape without ``axis``, ``(batch,)`` by default.

    Raises:
        ValueError: if ``axis`` includes the batch axis.

    Example:
        >>> import jax.numpy as jnp
        >>> tversky(jnp.array([[1.0, 1.0, 0.0]]), jnp.array([[1.0, 0.0, 1.0]]), alpha=0.7, beta=0.3)
        Array([0.5], dtype=float32)
    """
    y_true, y_pred = elementwise("tversky", y_true, y_pred)
    axes = _axes("tversky", axis, y_pred.ndim)
    intersection = jnp.sum(y_true * y_pred, axis=axes)
    fp = jnp.sum((1.0 - y_pred) * y_true, axis=axes)
    fn = jnp.sum(y_pred * (1.0 - y_true), axis=axes)
    return 1.0 - intersection / (intersection + fp * alpha + fn * beta + EPSILON)
