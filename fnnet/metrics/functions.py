"""Keras's function-style accuracy metrics: ``fn(y_true, y_pred) -> per-example values``.

These are what ``metrics=[fnnet.metrics.binary_accuracy]`` passes (as in the book); the metric
is then the weighted mean of the values, reported under the function's name. Each returns
Keras's shape: one value per example (per entry for :func:`binary_accuracy`, whose values a
metric averages per example), as float32 0/1.

Example:
    >>> import jax.numpy as jnp
    >>> binary_accuracy(jnp.array([[1.0], [0.0]]), jnp.array([[0.7], [0.7]]))
    Array([[1.],
           [0.]], dtype=float32)
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from fnnet.losses.shapes import squeeze_or_expand

__all__ = [
    "accuracy",
    "binary_accuracy",
    "categorical_accuracy",
    "sparse_categorical_accuracy",
    "top_k_categorical_accuracy",
    "sparse_top_k_categorical_accuracy",
    "check_k",
]


def check_k(where: str, k: int) -> int:
    """``k`` if it is a positive int, else a ValueError.

    Example:
        >>> check_k("top_k_categorical_accuracy", 3)
        3
    """
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(
            f"{where}: k must be a positive int (how many top predictions count as a hit); "
            f"got k={k!r}. Pass e.g. k=5."
        )
    return k


def _as_pred(y_pred: ArrayLike) -> jax.Array:
    y_pred = jnp.asarray(y_pred)
    return y_pred if jnp.issubdtype(y_pred.dtype, jnp.floating) else y_pred.astype(jnp.float32)


def accuracy(y_true: ArrayLike, y_pred: ArrayLike) -> jax.Array:
    """How often ``y_pred`` equals ``y_true`` exactly, per entry (Keras's ``Accuracy``).

    Example:
        >>> import jax.numpy as jnp
        >>> accuracy(jnp.array([1, 2, 3]), jnp.array([1.0, 2.0, 0.0]))
        Array([1., 1., 0.], dtype=float32)
    """
    y_pred = _as_pred(y_pred)
    y_true, y_pred = squeeze_or_expand(jnp.asarray(y_true).astype(y_pred.dtype), y_pred)
    return (y_true == y_pred).astype(jnp.float32)


def binary_accuracy(y_true: ArrayLike, y_pred: ArrayLike, threshold: float = 0.5) -> jax.Array:
    """Whether ``y_pred > threshold`` equals the 0/1 target, per entry.

    Args:
        y_true: 0/1 targets, shape ``(batch,)`` or ``(batch, d)``.
        y_pred: probabilities (or scores), the same shape (up to a trailing axis of size 1).
        threshold: the decision threshold.

    Returns:
        float32 0/1 of the common shape, e.g. ``(batch, d)``.

    Example:
        >>> import jax.numpy as jnp
        >>> binary_accuracy(jnp.array([1, 0, 1]), jnp.array([0.9, 0.6, 0.4]))
        Array([1., 0., 0.], dtype=float32)
    """
    y_true, y_pred = squeeze_or_expand(jnp.asarray(y_true), _as_pred(y_pred))
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"binary_accuracy: y_true and y_pred must have the same shape, got y_true.shape="
            f"{y_true.shape} and y_pred.shape={y_pred.shape}. For class probabilities use "
            f"categorical_accuracy or sparse_categorical_accuracy."
        )
    predicted = (y_pred > threshold).astype(y_true.dtype)
    return (y_true == predicted).astype(jnp.float32)


def categorical_accuracy(y_true: ArrayLike, y_pred: ArrayLike) -> jax.Array:
    """Whether ``argmax(y_pred)`` equals ``argmax(y_true)``, per example.

    Args:
        y_true: one-hot targets, shape ``(batch, classes)`` (or ``(batch, steps, classes)``).
        y_pred: probabilities or scores, the same shape.

    Returns:
        float32 0/1, shape ``(batch,)`` (the shape without the class axis).

    Example:
        >>> import jax.numpy as jnp
        >>> categorical_accuracy(jnp.array([[0, 1], [1, 0]]), jnp.array([[0.2, 0.8], [0.3, 0.7]]))
        Array([1., 0.], dtype=float32)
    """
    y_true, y_pred = jnp.asarray(y_true), _as_pred(y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"categorical_accuracy: y_true and y_pred must have the same shape (batch, "
            f"classes), got y_true.shape={y_true.shape} and y_pred.shape={y_pred.shape}. For "
            f"integer labels use sparse_categorical_accuracy."
        )
    return (jnp.argmax(y_true, axis=-1) == jnp.argmax(y_pred, axis=-1)).astype(jnp.float32)


def _sparse_labels(where: str, y_true: ArrayLike, y_pred: jax.Array) -> jax.Array:
    """Labels of shape ``y_pred.shape[:-1]`` from that shape or one with a trailing 1."""
    labels = jnp.asarray(y_true)
    if labels.ndim == y_pred.ndim and labels.shape[-1:] == (1,):
        labels = labels[..., 0]
    if labels.shape != y_pred.shape[:-1]:
        raise ValueError(
            f"{where}: y_true must hold one integer label per example, of shape "
            f"{y_pred.shape[:-1]} (or with a trailing 1) for y_pred.shape={y_pred.shape}; got "
            f"y_true.shape={labels.shape}. For one-hot targets use the non-sparse metric."
        )
    return labels


def sparse_categorical_accuracy(y_true: ArrayLike, y_pred: ArrayLike) -> jax.Array:
    """Whether ``argmax(y_pred)`` equals the label, per example.

    Args:
        y_true: class ids, shape ``(batch,)`` or ``(batch, 1)``, any dtype holding whole
            numbers (as Keras, a label is compared as a number: 1.0 matches class 1).
        y_pred: probabilities or scores, shape ``(batch, classes)``.

    Returns:
        float32 0/1, shape ``(batch,)``.

    Example:
        >>> import jax.numpy as jnp
        >>> sparse_categorical_accuracy(jnp.array([1.0, 1.0]), jnp.array([[0.2, 0.8], [0.6, 0.4]]))
        Array([1., 0.], dtype=float32)
    """
    y_pred = _as_pred(y_pred)
    labels = _sparse_labels("sparse_categorical_accuracy", y_true, y_pred).astype(y_pred.dtype)
    return (jnp.argmax(y_pred, axis=-1).astype(y_pred.dtype) == labels).astype(jnp.float32)


def _in_top_k(labels: jax.Array, y_pred: jax.Array, k: int) -> jax.Array:
    # Keras's in_top_k: the label's rank counts the strictly larger scores, so ties with the
    # k-th score are hits; a NaN score at the label is never one.
    at_label = jnp.take_along_axis(y_pred, labels[..., None], axis=-1)
    at_label = jnp.where(jnp.isnan(at_label), -jnp.inf, at_label)
    rank = 1 + jnp.sum(y_pred > at_label, axis=-1)
    return (rank <= k).astype(jnp.float32)


def top_k_categorical_accuracy(y_true: ArrayLike, y_pred: ArrayLike, k: int = 5) -> jax.Array:
    """Whether ``argmax(y_true)`` is among the ``k`` largest entries of ``y_pred``.

    Args:
        y_true: one-hot targets, shape ``(batch, classes)``.
        y_pred: scores, the same shape.
        k: how many top predictions count as a hit (all of them if ``k >= classes``).

    Returns:
        float32 0/1, shape ``(batch,)``.

    Example:
        >>> import jax.numpy as jnp
        >>> y_true = jnp.array([[0, 0, 1], [0, 1, 0]])
        >>> top_k_categorical_accuracy(y_true, jnp.array([[0.1, 0.5, 0.4], [0.7, 0.1, 0.2]]), k=2)
        Array([1., 0.], dtype=float32)
    """
    check_k("top_k_categorical_accuracy", k)
    y_pred = _as_pred(y_pred)
    labels = jnp.argmax(jnp.asarray(y_true), axis=-1).astype(jnp.int32)
    return _in_top_k(labels, y_pred, k)


def sparse_top_k_categorical_accuracy(y_true: ArrayLike, y_pred: ArrayLike, k: int = 5,
                                      from_sorted_ids: bool = False) -> jax.Array:
    """Whether the label is among the ``k`` largest entries of ``y_pred``.

    Args:
        y_true: class ids, shape ``(batch,)`` or ``(batch, 1)``.
        y_pred: scores, shape ``(batch, classes)``; with ``from_sorted_ids``, class ids sorted
            by decreasing score, shape ``(batch, n)`` with ``n >= k``.
        k: how many top predictions count as a hit.
        from_sorted_ids: whether ``y_pred`` holds sorted class ids rather than scores.

    Returns:
        float32 0/1, shape ``(batch,)``.

    Example:
        >>> import jax.numpy as jnp
        >>> y_pred = jnp.array([[0.1, 0.5, 0.4], [0.7, 0.1, 0.2]])
        >>> sparse_top_k_categorical_accuracy(jnp.array([2, 1]), y_pred, k=2)
        Array([1., 0.], dtype=float32)
    """
    where = "sparse_top_k_categorical_accuracy"
    check_k(where, k)
    y_pred = jnp.asarray(y_pred)
    if from_sorted_ids:
        labels = jnp.asarray(y_true)
        if labels.ndim == y_pred.ndim:
            labels = labels[..., 0]
        return jnp.any(labels[..., None] == y_pred[..., :k].astype(labels.dtype),
                       axis=-1).astype(jnp.float32)
    y_pred = _as_pred(y_pred)
    labels = _sparse_labels(where, y_true, y_pred).astype(jnp.int32)
    return _in_top_k(labels, y_pred, k)
