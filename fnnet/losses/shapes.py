"""The shape and dtype conventions every loss (and the metrics built on them) share.

* :func:`as_floats`: labels often arrive as int or bool; both sides are computed in ``y_pred``'s
  float dtype (float32 for integer predictions).
* :func:`elementwise`: the element-wise losses read rank-1 inputs of shape ``(batch,)`` as
  ``(batch, 1)``, one value per example, and tolerate a trailing axis of size 1 on one side.
* :func:`squeeze_or_expand`: Keras's rule for two arrays whose ranks differ by one.

Example:
    >>> import jax.numpy as jnp
    >>> t, p = elementwise("mse", jnp.array([1, 0]), jnp.array([[0.5], [0.2]]))
    >>> t.shape, t.dtype, p.shape
    ((2, 1), dtype('float32'), (2, 1))
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

__all__ = ["EPSILON", "as_floats", "check_same_shape", "elementwise", "smooth_labels",
           "squeeze_or_expand", "clipped_binary_crossentropy"]

EPSILON = 1e-7  # Keras's backend.epsilon(): the clip applied to probabilities before a log.


def as_floats(y_true: ArrayLike, y_pred: ArrayLike) -> tuple[jax.Array, jax.Array]:
    """Both as arrays of ``y_pred``'s float dtype (float32 if ``y_pred`` is not floating).

    Example:
        >>> import jax.numpy as jnp
        >>> [a.dtype for a in as_floats(jnp.array([1, 0]), jnp.array([2, 3]))]
        [dtype('float32'), dtype('float32')]
    """
    y_pred = jnp.asarray(y_pred)
    if not jnp.issubdtype(y_pred.dtype, jnp.floating):
        y_pred = y_pred.astype(jnp.float32)
    return jnp.asarray(y_true).astype(y_pred.dtype), y_pred


def check_same_shape(where: str, y_true: jax.Array, y_pred: jax.Array, hint: str) -> None:
    """Raises a ValueError naming ``where`` and both shapes unless they are equal.

    Example:
        >>> import jax.numpy as jnp
        >>> check_same_shape("dice", jnp.zeros((2, 3)), jnp.zeros((2, 3)), "")
    """
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"{where}: y_true and y_pred must have the same shape, got y_true.shape="
            f"{y_true.shape} and y_pred.shape={y_pred.shape}. {hint}"
        )


def squeeze_or_expand(x1: jax.Array, x2: jax.Array, expand_rank_1: bool = True
                      ) -> tuple[jax.Array, jax.Array]:
    """Keras's ``squeeze_or_expand_to_same_rank``: ranks that differ by a trailing 1 agree.

    When one array has one more axis and that axis has size 1, it is squeezed; if the other
    array is rank 1 (and ``expand_rank_1``), the other is expanded instead.

    Example:
        >>> import jax.numpy as jnp
        >>> [a.shape for a in squeeze_or_expand(jnp.zeros((4, 3, 1)), jnp.zeros((4, 3)))]
        [(4, 3), (4, 3)]
        >>> [a.shape for a in squeeze_or_expand(jnp.zeros((4, 1)), jnp.zeros(4))]
        [(4, 1), (4, 1)]
    """
    r1, r2 = x1.ndim, x2.ndim
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = x2[..., None]
        else:
            x1 = jnp.squeeze(x1, -1)
    elif r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = x1[..., None]
        else:
            x2 = jnp.squeeze(x2, -1)
    return x1, x2


def elementwise(where: str, y_true: ArrayLike, y_pred: ArrayLike) -> tuple[jax.Array, jax.Array]:
    """Floats of equal shape and rank >= 2; a trailing axis of size 1 is added where missing.

    Args:
        where: the loss or metric name, for error messages.
        y_true: targets, shape ``(batch,)`` or ``(batch, ..., d)``.
        y_pred: predictions, the same shape up to a trailing axis of size 1.

    Returns:
        ``(y_true, y_pred)`` as floats, both of shape ``(batch, ..., d)`` (``(batch, 1)`` for
        rank-1 inputs, so that reducing over the last axis leaves one value per example).

    Raises:
        ValueError: for shapes that disagree, or scalars.

    Example:
        >>> import jax.numpy as jnp
        >>> [a.shape for a in elementwise("mae", jnp.zeros(3), jnp.zeros(3))]
        [(3, 1), (3, 1)]
    """
    y_true, y_pred = as_floats(y_true, y_pred)
    if y_true.ndim == y_pred.ndim - 1 and y_pred.shape[-1:] == (1,):
        y_true = y_true[..., None]
    elif y_pred.ndim == y_true.ndim - 1 and y_true.shape[-1:] == (1,):
        y_pred = y_pred[..., None]
    check_same_shape(
        where, y_true, y_pred,
        "They may differ only by a trailing axis of size 1, as (batch,) and (batch, 1); "
        "reshape one of them to match the other.")
    if y_pred.ndim == 0:
        raise ValueError(
            f"{where}: got scalar y_true and y_pred; expected arrays with a batch axis, "
            f"of shape (batch,) or (batch, d). Wrap single values, e.g. jnp.array([y])."
        )
    if y_pred.ndim == 1:  # one value per example
        y_true, y_pred = y_true[:, None], y_pred[:, None]
    return y_true, y_pred


def smooth_labels(y_true: jax.Array, label_smoothing: float, num_classes: int) -> jax.Array:
    """Keras's label smoothing: ``y * (1 - s) + s / num_classes`` (2 classes for binary losses).

    Example:
        >>> import jax.numpy as jnp
        >>> smooth_labels(jnp.array([1.0, 0.0]), 0.5, 2).tolist()
        [0.75, 0.25]
    """
    if not label_smoothing:
        return y_true
    return y_true * (1.0 - label_smoothing) + label_smoothing / num_classes


def clipped_binary_crossentropy(y_true: jax.Array, p: jax.Array) -> jax.Array:
    """Elementwise ``-(y log p + (1 - y) log(1 - p))`` with ``p`` clipped to ``[1e-7, 1 - 1e-7]``.

    Keras's probability form, shared by the binary cross-entropy and its focal variant.

    Example:
        >>> import jax.numpy as jnp
        >>> clipped_binary_crossentropy(jnp.array([1.0]), jnp.array([1.0]))
        Array([1.1920929e-07], dtype=float32)
    """
    p = jnp.clip(p, EPSILON, 1.0 - EPSILON)
    return -(y_true * jnp.log(p) + (1.0 - y_true) * jnp.log(1.0 - p))
