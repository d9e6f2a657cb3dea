"""Cross-entropies, KL divergence and Poisson: Keras's probabilistic losses, per example.

Probabilities are clipped to ``[1e-7, 1 - 1e-7]`` before any ``log``, exactly as Keras does,
so probabilities of exactly 0 and 1 give finite values *and* finite gradients. The
``from_logits=True`` forms use ``log_softmax`` and ``log_sigmoid``, whose gradients are exact
for every finite logit (``softmax(x) - y`` and ``sigmoid(x) - y``).

Example:
    >>> import jax.numpy as jnp
    >>> binary_crossentropy(jnp.array([1.0, 0.0]), jnp.array([0.0, 0.0]), from_logits=True)
    Array([0.6931, 0.6931], dtype=float32)
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

__all__ = [
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
    "binary_crossentropy",
    "kl_divergence",
    "poisson",
]


def _log_probs(y_pred: jax.Array, from_logits: bool, axis: int) -> jax.Array:
    if from_logits:
        return jax.nn.log_softmax(y_pred, axis=axis)
    p = y_pred / jnp.sum(y_pred, axis=axis, keepdims=True)
    return jnp.log(jnp.clip(p, EPSILON, 1.0 - EPSILON))


def categorical_crossentropy(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> jax.Array:
    """Cross-entropy between one-hot (or soft) targets and predicted class probabilities.

    Keras numerics: without ``from_logits``, ``y_pred`` is renormalised to sum to 1 along
    ``axis`` and clipped to ``[1e-7, 1 - 1e-7]``; the loss is ``-sum(y_true * log(p), axis)``.
    With ``from_logits`` it uses a stable ``log_softmax``.

    Args:
        y_true: targets, shape ``(batch, classes)``: one-hot rows or probability rows.
        y_pred: probabilities (or logits if ``from_logits``), same shape as ``y_true``.
        from_logits: whether ``y_pred`` holds unnormalised logits.
        label_smoothing: in ``[0, 1]``; targets become ``y * (1 - s) + s / classes``.
        axis: the class axis.

    Returns:
        Per-example losses: the input shape without ``axis``, i.e. ``(batch,)``.

    Example:
        >>> import jax.numpy as jnp
        >>> y_true = jnp.array([[0.0, 1.0], [1.0, 0.0]])
        >>> y_pred = jnp.array([[0.1, 0.9], [0.8, 0.2]])
        >>> categorical_crossentropy(y_true, y_pred)
        Array([0.1054, 0.2231], dtype=float32)
    """
    y_true, y_pred = as_floats(y_true, y_pred)
    check_same_shape(
        "categorical_crossentropy", y_true, y_pred,
        "For integer class labels of shape (batch,) use sparse_categorical_crossentropy; "
        "for one-hot targets, pass y_true with one column per class.")
    y_true = smooth_labels(y_true, label_smoothing, y_pred.shape[axis])
    return -jnp.sum(y_true * _log_probs(y_pred, from_logits, axis), axis=axis)


def sparse_categorical_crossentropy(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    from_logits: bool = False,
    ignore_class: int | None = None,
    axis: int = -1,
) -> jax.Array:
    """Cross-entropy between integer class labels and predicted class probabilities.

    Same numerics as :func:`categorical_crossentropy` with a one-hot ``y_true``. Labels
    outside ``[0, classes)`` give NaN (they cannot be checked under ``jit``).

    Args:
        y_true: integer labels, shape ``(batch,)`` or ``(batch, 1)``; a float dtype holding
            whole numbers is accepted and cast to ``int32``.
        y_pred: probabilities (or logits if ``from_logits``), shape ``(batch, classes)``.
        from_logits: whether ``y_pred`` holds unnormalised logits.
        ignore_class: a label value (such as -1 or 255 for unlabelled pixels) whose entries
            get a loss of 0. As in Keras, the ``Loss`` class then averages over the other
            entries only; a plain call returns 0 for them.
        axis: the class axis of ``y_pred``.

    Returns:
        Per-example losses, shape ``(batch,)`` (``y_pred``'s shape without ``axis``).

    Example:
        >>> import jax.numpy as jnp
        >>> y_pred = jnp.array([[0.1, 0.9], [0.8, 0.2]])
        >>> sparse_categorical_crossentropy(jnp.array([1, 0]), y_pred)
        Array([0.1054, 0.2231], dtype=float32)
        >>> sparse_categorical_crossentropy(jnp.array([1, -1]), y_pred, ignore_class=-1)
        Array([0.1054, 0.    ], dtype=float32)
    """
    y_pred = jnp.asarray(y_pred)
    if not jnp.issubdtype(y_pred.dtype, jnp.floating):
        y_pred = y_pred.astype(jnp.float32)
    labels = jnp.asarray(y_true)
    if y_pred.ndim == 0:
        raise ValueError(
            f"sparse_categorical_crossentropy: y_pred must have a class axis, got shape "
            f"{y_pred.shape}. Expected y_pred of shape (batch, classes) and labels of shape "
            f"(batch,)."
        )
    axis = axis % y_pred.ndim
    if labels.ndim == y_pred.ndim and labels.shape[axis] == 1:
        labels = jnp.squeeze(labels, axis)
    expected = y_pred.shape[:axis] + y_pred.shape[axis + 1 :]
    if labels.shape != expected:
        raise ValueError(
            f"sparse_categorical_crossentropy: y_true must hold one integer label per example, "
            f"of shape {expected} (or with a trailing 1) for y_pred.shape={y_pred.shape}; got "
            f"y_true.shape={labels.shape}. For one-hot targets use categorical_crossentropy."
        )
    valid = None
    if ignore_class is not None:
        valid = labels != jnp.asarray(ignore_class, labels.dtype)
        labels = jnp.where(valid, labels, jnp.zeros((), labels.dtype))
    labels = labels.astype(jnp.int32)
    log_p = _log_probs(y_pred, from_logits, axis)
    picked = jnp.take_along_axis(log_p, jnp.expand_dims(labels, axis), axis=axis)
    loss = -jnp.squeeze(picked, axis)
    if valid is not None:
        loss = jnp.where(valid, loss, jnp.zeros((), loss.dtype))
    return loss


def binary_crossentropy(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> jax.Array:
    """Binary cross-entropy, averaged over ``axis`` (the last by default).

    Keras numerics: without ``from_logits``, ``p`` is clipped to ``[1e-7, 1 - 1e-7]`` and the
    loss is ``-(y * log(p) + (1 - y) * log(1 - p))``. With ``from_logits`` it is
    ``-(y * log_sigmoid(x) + (1 - y) * log_sigmoid(-x))``: finite for every finite logit, with
    the exact gradient ``sigmoid(x) - y`` everywhere (also at ``x = 0``, where the
    ``max(x, 0) - x * y + log1p(exp(-|x|))`` form's subgradients give ``-y``).

    Args:
        y_true: targets in ``[0, 1]``, shape ``(batch,)`` or ``(batch, d)``.
        y_pred: probabilities (or logits if ``from_logits``), the same shape (a missing or
            extra trailing axis of size 1 is tolerated).
        from_logits: whether ``y_pred`` holds logits.
        label_smoothing: in ``[0, 1]``; targets become ``y * (1 - s) + s / 2``.
        axis: the axis averaged over.

    Returns:
        Per-example losses, shape ``(batch,)``.

    Example:
        >>> import jax.numpy as jnp
        >>> binary_crossentropy(jnp.array([1.0, 0.0]), jnp.array([0.9, 0.2]))
        Array([0.1054, 0.2231], dtype=float32)
    """
    y_true, y_pred = elementwise("binary_crossentropy", y_true, y_pred)
    y_true = smooth_labels(y_true, label_smoothing, 2)
    if from_logits:
        bce = -y_true * jax.nn.log_sigmoid(y_pred) - (1.0 - y_true) * jax.nn.log_sigmoid(-y_pred)
    else:
        bce = clipped_binary_crossentropy(y_true, y_pred)
    return jnp.mean(bce, axis=axis)


def kl_divergence(y_true: ArrayLike, y_pred: ArrayLike) -> jax.Array:
    """Kullback-Leibler divergence ``sum(t * log(t / p), axis=-1)``, both clipped to ``[1e-7, 1]``.

    Args:
        y_true: target distributions, shape ``(batch, classes)``.
        y_pred: predicted distributions, the same shape.

    Returns:
        Per-example divergences, shape ``(batch,)``.

    Example:
        >>> import jax.numpy as jnp
        >>> kl_divergence(jnp.array([[0.5, 0.5]]), jnp.array([[0.25, 0.75]]))
        Array([0.1438], dtype=float32)
    """
    y_true, y_pred = as_floats(y_true, y_pred)
    check_same_shape("kl_divergence", y_true, y_pred, "Both must be distributions over the same axis.")
    t = jnp.clip(y_true, EPSILON, 1.0)
    p = jnp.clip(y_pred, EPSILON, 1.0)
    return jnp.sum(t * jnp.log(t / p), axis=-1)


def poisson(y_true: ArrayLike, y_pred: ArrayLike) -> jax.Array:
    """Poisson loss ``mean(y_pred - y_true * log(y_pred + 1e-7), axis=-1)``.

    Args:
        y_true: non-negative counts, shape ``(batch,)`` or ``(batch, d)``.
        y_pred: predicted (non-negative) rates, the same shape.

    Returns:
        Per-example losses, shape ``(batch,)``.

    Example:
        >>> import jax.numpy as jnp
        >>> poisson(jnp.array([1.0, 2.0]), jnp.array([2.0, 3.0]))
        Array([1.3069, 0.8028], dtype=float32)
    """
    y_true, y_pred = elementwise("poisson", y_true, y_pred)
    return jnp.mean(y_pred - y_true * jnp.log(y_pred + EPSILON), axis=-1)
