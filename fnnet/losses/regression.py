"""Regression losses: squared, absolute, percentage, logarithmic, Huber, log-cosh, cosine.

Each reduces over the last axis only, so ``(batch, d)`` inputs give ``(batch,)``; rank-1
inputs of shape ``(batch,)`` are one value per example (read as ``(batch, 1)``).

Example:
    >>> import jax.numpy as jnp
    >>> mean_squared_error(jnp.array([1.0, 2.0]), jnp.array([1.5, 4.0]))
    Array([0.25, 4.  ], dtype=float32)
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from fnnet.losses.shapes import EPSILON, elementwise

__all__ = [
    "mean_squared_error",
    "mean_absolute_error",
    "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error",
    "huber",
    "log_cosh",
    "cosine_similarity",
    "l2_normalize",
]


def mean_squared_error(y_true: ArrayLike, y_pred: ArrayLike) -> jax.Array:
    """``mean((y_true - y_pred) ** 2, axis=-1)``.

    Args:
        y_true: targets, shape ``(batch,)`` or ``(batch, d)``.
        y_pred: predictions, the same shape.

    Returns:
        Per-example losses, shape ``(batch,)``.

    Example:
        >>> import jax.numpy as jnp
        >>> y_true = jnp.array([[0.0, 1.0], [2.0, 2.0]])
        >>> mean_squared_error(y_true, jnp.array([[1.0, 1.0], [0.0, 0.0]]))
        Array([0.5, 4. ], dtype=float32)
    """
    y_true, y_pred = elementwise("mean_squared_error", y_true, y_pred)
    return jnp.mean(jnp.square(y_true - y_pred), axis=-1)


def mean_absolute_error(y_true: ArrayLike, y_pred: ArrayLike) -> jax.Array:
    """``mean(|y_true - y_pred|, axis=-1)``.

    Args:
        y_true: targets, shape ``(batch,)`` or ``(batch, d)``.
        y_pred: predictions, the same shape.

    Returns:
        Per-example losses, shape ``(batch,)``.

    Example:
        >>> import jax.numpy as jnp
        >>> mean_absolute_error(jnp.array([1.0, 2.0, 3.0]), jnp.array([1.5, 2.0, 1.0]))
        Array([0.5, 0. , 2. ], dtype=float32)
    """
    y_true, y_pred = elementwise("mean_absolute_error", y_true, y_pred)
    return jnp.mean(jnp.abs(y_true - y_pred), axis=-1)


def mean_absolute_percentage_error(y_true: ArrayLike, y_pred: ArrayLike) -> jax.Array:
    """``100 * mean(|y_true - y_pred| / max(|y_true|, 1e-7), axis=-1)``.

    Args:
        y_true: targets, shape ``(batch,)`` or ``(batch, d)``.
        y_pred: predictions, the same shape.

    Returns:
        Per-example losses in percent, shape ``(batch,)``.

    Example:
        >>> import jax.numpy as jnp
        >>> mean_absolute_percentage_error(jnp.array([2.0, 4.0]), jnp.array([1.0, 5.0]))
        Array([50., 25.], dtype=float32)
    """
    y_true, y_pred = elementwise("mean_absolute_percentage_error", y_true, y_pred)
    diff = jnp.abs(y_true - y_pred) / jnp.maximum(jnp.abs(y_true), EPSILON)
    return 100.0 * jnp.mean(diff, axis=-1)


def mean_squared_logarithmic_error(y_true: ArrayLike, y_pred: ArrayLike) -> jax.Array:
    """``mean((log(max(y_pred, 1e-7) + 1) - log(max(y_true, 1e-7) + 1)) ** 2, axis=-1)``.

    Args:
        y_true: non-negative targets, shape ``(batch,)`` or ``(batch, d)``.
        y_pred: predictions, the same shape.

    Returns:
        Per-example losses, shape ``(batch,)``.

    Example:
        >>> import jax.numpy as jnp
        >>> mean_squared_logarithmic_error(jnp.array([0.0, 1.0]), jnp.array([0.0, 3.0]))
        Array([0.    , 0.4805], dtype=float32)
    """
    y_true, y_pred = elementwise("mean_squared_logarithmic_error", y_true, y_pred)
    first = jnp.log(jnp.maximum(y_pred, EPSILON) + 1.0)
    second = jnp.log(jnp.maximum(y_true, EPSILON) + 1.0)
    return jnp.mean(jnp.square(first - second), axis=-1)


def huber(y_true: ArrayLike, y_pred: ArrayLike, delta: float = 1.0) -> jax.Array:
    """Huber loss: quadratic for ``|e| <= delta``, linear beyond, averaged over the last axis.

    Per element: ``0.5 * e**2`` if ``|e| <= delta`` else ``delta * |e| - 0.5 * delta**2``,
    with ``e = y_pred - y_true``.

    Args:
        y_true: targets, shape ``(batch,)`` or ``(batch, d)``.
        y_pred: predictions, the same shape.
        delta: where the loss turns from quadratic to linear.

    Returns:
        Per-example losses, shape ``(batch,)``.

    Example:
        >>> import jax.numpy as jnp
        >>> huber(jnp.array([0.0, 0.0]), jnp.array([0.5, 3.0]))
        Array([0.125, 2.5  ], dtype=float32)
    """
    y_true, y_pred = elementwise("huber", y_true, y_pred)
    error = y_pred - y_true
    abs_error = jnp.abs(error)
    loss = jnp.where(
        abs_error <= delta, 0.5 * jnp.square(error), delta * abs_error - 0.5 * delta * delta
    )
    return jnp.mean(loss, axis=-1)


def log_cosh(y_true: ArrayLike, y_pred: ArrayLike) -> jax.Array:
    """``mean(log(cosh(y_pred - y_true)), axis=-1)``, computed without overflow.

    Keras's form ``x + softplus(-2x) - log(2)`` cancels for small ``x`` (float32 values off by
    up to 6e-8, negative ones included), so below ``|x| = 10`` the same value is computed as
    ``log1p(expm1(|x|) ** 2 / (2 exp(|x|)))`` (``cosh(x) - 1`` written without cancellation):
    within a few float32 ulps everywhere and never negative.

    Args:
        y_true: targets, shape ``(batch,)`` or ``(batch, d)``.
        y_pred: predictions, the same shape.

    Returns:
        Per-example losses, shape ``(batch,)``.

    Example:
        >>> import jax.numpy as jnp
        >>> log_cosh(jnp.array([0.0, 0.0]), jnp.array([1.0, 2.0]))
        Array([0.4338, 1.325], dtype=float32)
    """
    y_true, y_pred = elementwise("log_cosh", y_true, y_pred)
    x = y_pred - y_true
    # log(cosh(x)) = x + softplus(-2x) - log(2); cosh itself overflows for |x| > ~89.
    small = jnp.abs(x) < 10.0
    x_big = jnp.where(small, 10.0, x)  # both branches stay finite, so gradients do too
    a = jnp.abs(jnp.where(small, x, 0.0))
    near_zero = jnp.log1p(jnp.square(jnp.expm1(a)) / (2.0 * jnp.exp(a)))
    far = x_big + jax.nn.softplus(-2.0 * x_big) - math.log(2.0)
    return jnp.mean(jnp.where(small, near_zero, far), axis=-1)


def l2_normalize(x: jax.Array, axis: int | tuple[int, ...] = -1) -> jax.Array:
    """``x / max(||x||, 1e-7)`` along ``axis``: Keras's ``ops.normalize`` (order 2).

    Keras computes ``x * min(rsqrt(sum(x**2)), 1e7)``, whose gradient is NaN at a zero vector
    (``0 * inf``); here the tiny-norm branch is selected before the ``rsqrt``, so the value is
    Keras's and the gradient stays finite.

    Example:
        >>> import jax.numpy as jnp
        >>> l2_normalize(jnp.array([[3.0, 4.0], [0.0, 0.0]]))
        Array([[0.6, 0.8],
               [0. , 0. ]], dtype=float32)
    """
    square_sum = jnp.sum(jnp.square(x), axis=axis, keepdims=True)
    tiny = square_sum < EPSILON * EPSILON  # where rsqrt(square_sum) > 1 / EPSILON
    inv_norm = jnp.where(tiny, 1.0 / EPSILON, jax.lax.rsqrt(jnp.where(tiny, 1.0, square_sum)))
    return x * inv_norm.astype(x.dtype)


def cosine_similarity(y_true: ArrayLike, y_pred: ArrayLike, axis: int = -1) -> jax.Array:
    """Keras's cosine-similarity *loss*: ``-sum(l2_normalize(y_true) * l2_normalize(y_pred))``.

    Between -1 (same direction: the minimum) and 1 (opposite); 0 when either vector is zero.
    (The metric :class:`fnnet.metrics.CosineSimilarity` reports the similarity itself, with
    the opposite sign.)

    Args:
        y_true: targets, shape ``(batch, d)`` (``(batch,)`` is read as ``(batch, 1)``).
        y_pred: predictions, the same shape.
        axis: the feature axis.

    Returns:
        Per-example losses, shape ``(batch,)``.

    Example:
        >>> import jax.numpy as jnp
        >>> cosine_similarity(jnp.array([[0.0, 1.0], [1.0, 1.0]]), jnp.array([[1.0, 1.0], [1.0, 1.0]]))
        Array([-0.7071, -1.0000], dtype=float32)
    """
    y_true, y_pred = elementwise("cosine_similarity", y_true, y_pred)
    return -jnp.sum(l2_normalize(y_true, axis) * l2_normalize(y_pred, axis), axis=axis)
