"""Connectionist temporal classification (CTC): Keras's ``ctc(y_true, y_pred)``.

Keras's JAX backend computes it with optax's algorithm (``optax.ctc_loss``), which is what
this calls, with Keras's conventions: class 0 is the blank *and* the padding of the labels, a
label sequence's length is its number of non-zero entries, and every example uses all the
frames of ``y_pred``.

Example:
    >>> import jax.numpy as jnp
    >>> logits = jnp.zeros((1, 3, 2))  # 3 frames, blank + one class, uniform
    >>> ctc(jnp.array([[1, 0]]), logits)  # -log(6 / 8): 6 of the 8 paths read "1"
    Array([0.2877], dtype=float32)
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
from jax.typing import ArrayLike

__all__ = ["ctc"]


def ctc(y_true: ArrayLike, y_pred: ArrayLike) -> jax.Array:
    """CTC loss of integer label sequences against per-frame class logits.

    Args:
        y_true: integer labels, shape ``(batch, max_label_length)``, in ``[1, classes)``,
            padded with 0 (the blank). An example's label length is its number of non-zero
            entries, as in Keras, so a 0 inside a sequence shortens it.
        y_pred: unnormalised logits, shape ``(batch, frames, classes)`` (a log-softmax is
            applied over ``classes``; class 0 is the blank).

    Returns:
        Per-example negative log-likelihoods, shape ``(batch,)``.

    Raises:
        ValueError: if ``y_true`` is not rank 2 or ``y_pred`` is not rank 3.

    Example:
        >>> import jax.numpy as jnp
        >>> logits = jnp.log(jnp.array([[[0.1, 0.9], [0.9, 0.1]]]))  # "1" then blank
        >>> ctc(jnp.array([[1]]), logits)  # -log(.81 + .09 + .01): paths "1-", "11", "-1"
        Array([0.0943], dtype=float32)
    """
    labels = jnp.asarray(y_true)
    logits = jnp.asarray(y_pred)
    if labels.ndim != 2:
        raise ValueError(
            f"ctc: y_true must hold integer label sequences of shape (batch, max_length), "
            f"padded with 0; got y_true.shape={labels.shape}."
        )
    if logits.ndim != 3:
        raise ValueError(
            f"ctc: y_pred must hold logits of shape (batch, frames, classes); got "
            f"y_pred.shape={logits.shape}."
        )
    if not jnp.issubdtype(logits.dtype, jnp.floating) or jnp.finfo(logits.dtype).bits < 32:
        logits = logits.astype(jnp.float32)  # Keras computes in at least float32
    return _ctc(labels.astype(jnp.int32), logits)


@jax.jit  # one compiled scan per shape, also when called eagerly (inlined under an outer jit)
def _ctc(labels: jax.Array, logits: jax.Array) -> jax.Array:
    max_length = labels.shape[1]
    label_length = jnp.sum(labels != 0, axis=-1)
    label_paddings = (jnp.arange(max_length)[None, :] >= label_length[:, None]).astype(logits.dtype)
    logit_paddings = jnp.zeros(logits.shape[:2], logits.dtype)
    return optax.ctc_loss(logits, logit_paddings, labels, label_paddings, blank_id=0)
