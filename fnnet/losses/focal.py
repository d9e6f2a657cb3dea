"""Focal cross-entropies (Lin et al., 2018): cross-entropy down-weighted on easy examples.

Both follow Keras's numerics exactly, including with ``from_logits=True``, where Keras applies
``sigmoid``/``softmax`` first and then clips the probabilities as in the probability form. So
their values are finite for any logit, but, as in Keras, the gradient vanishes where the
clipped probability saturates (``|logit|`` beyond about 16 in float32).

Example:
    >>> import jax.numpy as jnp
    >>> y_true = jnp.array([[1.0], [0.0]])
    >>> y_pred = jnp.array([[0.9], [0.9]])
    >>> binary_focal_crossentropy(y_true, y_pred, gamma=2.0)  # (0.1**2, 0.9**2) * bce
    Array([0.0011, 1.8651], dtype=float32)
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from fnnet.losses.shapes import (
    EPSILON,
    as_floats,
    check_same_shape,
    clipped_binary_crossentropy,
    elementwise,
    smooth_labels,
)

__all__ = ["binary_focal_crossentropy", "categorical_focal_crossentropy"]


def binary_focal_crossentropy(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    apply_class_balancing: bool = False,
    alpha: float = 0.25,
    gamma: float = 2.0,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> jax.Array:
    """Binary focal cross-entropy, averaged over ``axis`` (the last by default).

    Per element, with ``p`` the predicted probability of class 1 and
    ``p_t = y * p + (1 - y) * (1 - p)``: ``(1 - p_t) ** gamma * bce(y, p)``, times
    ``y * alpha + (1 - y) * (1 - alpha)`` with ``apply_class_balancing``. ``gamma = 0`` gives
    :func:`~fnnet.losses.binary_crossentropy`.

    Args:
        y_true: targets in ``[0, 1]``, shape ``(batch,)`` or ``(batch, d)``.
        y_pred: probabilities (or logits if ``from_logits``), the same shape.
        apply_class_balancing: weight class 1 by ``alpha`` and class 0 by ``1 - alpha``.
        alpha: the class-1 weight when balancing.
        gamma: the focusing parameter, >= 0.
        from_logits: whether ``y_pred`` holds logits.
        label_smoothing: in ``[0, 1]``; targets become ``y * (1 - s) + s / 2``.
        axis: the axis averaged over.

    Returns:
        Per-example losses, shape ``(batch,)``.

    Example:
        >>> import jax.numpy as jnp
        >>> binary_focal_crossentropy(jnp.array([1.0, 0.0]), jnp.array([0.5, 0.5]))
        Array([0.1733, 0.1733], dtype=float32)
    """
    y_true, y_pred = elementwise("binary_focal_crossentropy", y_true, y_pred)
    y_true = smooth_labels(y_true, label_smoothing, 2)
    if from_logits:
        y_pred = jax.nn.sigmoid(y_pred)
    bce = clipped_binary_crossentropy(y_true, y_pred)
    p_t = y_true * y_pred + (1.0 - y_true) * (1.0 - y_pred)
    if isinstance(gamma, (int, float)) and gamma == 0:
        # x ** 0 is 1, but its gradient 0 * x ** -1 is NaN at p_t = 1 (Keras gives NaN there).
        focal = bce
    else:
        focal = jnp.power(1.0 - p_t, gamma) * bce
    if apply_class_balancing:
        focal = (y_true * alpha + (1.0 - y_true) * (1.0 - alpha)) * focal
    return jnp.mean(focal, axis=axis)


def categorical_focal_crossentropy(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    alpha: float = 0.25,
    gamma: float = 2.0,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> jax.Array:
    """Categorical focal cross-entropy, summed over the class axis.

    With ``p`` renormalised to sum to 1 along ``axis`` and clipped to ``[1e-7, 1 - 1e-7]``:
    ``sum(alpha * (1 - p) ** gamma * -y_true * log(p), axis)``.

    Args:
        y_true: one-hot (or soft) targets, shape ``(batch, classes)``.
        y_pred: probabilities (or logits if ``from_logits``), the same shape.
        alpha: a weight on every class.
        gamma: the focusing parameter, >= 0.
        from_logits: whether ``y_pred`` holds logits (a softmax is applied first).
        label_smoothing: in ``[0, 1]``; targets become ``y * (1 - s) + s / classes``.
        axis: the class axis.

    Returns:
        Per-example losses, shape ``(batch,)``.

    Example:
        >>> import jax.numpy as jnp
        >>> categorical_focal_crossentropy(jnp.array([[0.0, 1.0]]), jnp.array([[0.5, 0.5]]))
        Array([0.0433], dtype=float32)
    """
    y_true, y_pred = as_floats(y_true, y_pred)
    check_same_shape(
        "categorical_focal_crossentropy", y_true, y_pred,
        "Pass one-hot targets with one column per class, e.g. fnnet.utils.to_categorical(y).")
    y_true = smooth_labels(y_true, label_smoothing, y_pred.shape[axis])
    if from_logits:
        y_pred = jax.nn.softmax(y_pred, axis=axis)
    p = y_pred / jnp.sum(y_pred, axis=axis, keepdims=True)
    p = jnp.clip(p, EPSILON, 1.0 - EPSILON)
    cce = -y_true * jnp.log(p)
    return jnp.sum(alpha * jnp.power(1.0 - p, gamma) * cce, axis=axis)
