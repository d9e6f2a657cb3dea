"""Loss functions with Keras argument order and numerics: ``loss(y_true, y_pred)``.

Every loss returns one value per example: it reduces over the last axis only (as Keras's loss
functions do), so ``(batch, d)`` inputs give shape ``(batch,)``. For the element-wise losses
(everything except the categorical cross-entropies and KL divergence), rank-1 inputs of shape
``(batch,)`` are read as ``(batch, 1)``: one value per example. Reducing over the batch (and
weighting, masking padded rows) is left to the caller, e.g. :func:`fnnet.metrics.Mean`.

Probabilities are clipped to ``[1e-7, 1 - 1e-7]`` before any ``log``, exactly as Keras does,
so probabilities of exactly 0 and 1 give finite values *and* finite gradients.

:func:`get` resolves Keras names (``"mse"``, ``"categorical_crossentropy"``...);
:func:`from_logits_variant` and :func:`matching_activation` let a train step compute the
cross-entropies from logits when the model ends in the matching softmax or sigmoid.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from fnnet._errors import unknown_name

__all__ = [
    "EPSILON",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
    "binary_crossentropy",
    "mean_squared_error",
    "mse",
    "mean_absolute_error",
    "mae",
    "mean_absolute_percentage_error",
    "mape",
    "mean_squared_logarithmic_error",
    "msle",
    "huber",
    "log_cosh",
    "kl_divergence",
    "poisson",
    "hinge",
    "squared_hinge",
    "get",
    "serialize",
    "from_logits_variant",
    "matching_activation",
    "base_loss",
    "is_sparse",
    "align_targets",
]

EPSILON = 1e-7  # Keras's backend.epsilon(): the clip applied to probabilities before a log.

LossFn = Callable[..., jax.Array]


def _floats(y_true: ArrayLike, y_pred: ArrayLike) -> tuple[jax.Array, jax.Array]:
    """Both as arrays of y_pred's float dtype (labels often arrive as int or bool)."""
    y_pred = jnp.asarray(y_pred)
    if not jnp.issubdtype(y_pred.dtype, jnp.floating):
        y_pred = y_pred.astype(jnp.float32)
    return jnp.asarray(y_true).astype(y_pred.dtype), y_pred


def _same_shape(where: str, y_true: jax.Array, y_pred: jax.Array, hint: str) -> None:
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"{where}: y_true and y_pred must have the same shape, got y_true.shape="
            f"{y_true.shape} and y_pred.shape={y_pred.shape}. {hint}"
        )


def _elementwise(where: str, y_true: ArrayLike, y_pred: ArrayLike) -> tuple[jax.Array, jax.Array]:
    """Floats of equal shape, rank >= 2: a trailing axis of size 1 is added where missing."""
    y_true, y_pred = _floats(y_true, y_pred)
    if y_true.ndim == y_pred.ndim - 1 and y_pred.shape[-1:] == (1,):
        y_true = y_true[..., None]
    elif y_pred.ndim == y_true.ndim - 1 and y_true.shape[-1:] == (1,):
        y_pred = y_pred[..., None]
    _same_shape(
        where,
        y_true,
        y_pred,
        "They may differ only by a trailing axis of size 1, as (batch,) and (batch, 1); "
        "reshape one of them to match the other.",
    )
    if y_pred.ndim == 0:
        raise ValueError(
            f"{where}: got scalar y_true and y_pred; expected arrays with a batch axis, "
            f"of shape (batch,) or (batch, d). Wrap single values, e.g. jnp.array([y])."
        )
    if y_pred.ndim == 1:  # one value per example
        y_true, y_pred = y_true[:, None], y_pred[:, None]
    return y_true, y_pred


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
    y_true, y_pred = _floats(y_true, y_pred)
    _same_shape(
        "categorical_crossentropy",
        y_true,
        y_pred,
        "For integer class labels of shape (batch,) use sparse_categorical_crossentropy; "
        "for one-hot targets, pass y_true with one column per class.",
    )
    if label_smoothing:
        num_classes = y_pred.shape[axis]
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / num_classes
    if from_logits:
        log_p = jax.nn.log_softmax(y_pred, axis=axis)
    else:
        p = y_pred / jnp.sum(y_pred, axis=axis, keepdims=True)
        log_p = jnp.log(jnp.clip(p, EPSILON, 1.0 - EPSILON))
    return -jnp.sum(y_true * log_p, axis=axis)


def sparse_categorical_crossentropy(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    from_logits: bool = False,
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
        axis: the class axis of ``y_pred``.

    Returns:
        Per-example losses, shape ``(batch,)`` (``y_pred``'s shape without ``axis``).

    Example:
        >>> import jax.numpy as jnp
        >>> y_pred = jnp.array([[0.1, 0.9], [0.8, 0.2]])
        >>> sparse_categorical_crossentropy(jnp.array([1, 0]), y_pred)
        Array([0.1054, 0.2231], dtype=float32)
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
    labels = labels.astype(jnp.int32)
    if from_logits:
        log_p = jax.nn.log_softmax(y_pred, axis=axis)
    else:
        p = y_pred / jnp.sum(y_pred, axis=axis, keepdims=True)
        log_p = jnp.log(jnp.clip(p, EPSILON, 1.0 - EPSILON))
    picked = jnp.take_along_axis(log_p, jnp.expand_dims(labels, axis), axis=axis)
    return -jnp.squeeze(picked, axis)


def binary_crossentropy(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
) -> jax.Array:
    """Binary cross-entropy, averaged over the last axis.

    Keras numerics: without ``from_logits``, ``p`` is clipped to ``[1e-7, 1 - 1e-7]`` and the
    loss is ``-(y * log(p) + (1 - y) * log(1 - p))``. With ``from_logits`` it uses the stable
    ``max(x, 0) - x * y + log1p(exp(-|x|))``.

    Args:
        y_true: targets in ``[0, 1]``, shape ``(batch,)`` or ``(batch, d)``.
        y_pred: probabilities (or logits if ``from_logits``), the same shape (a missing or
            extra trailing axis of size 1 is tolerated).
        from_logits: whether ``y_pred`` holds logits.
        label_smoothing: in ``[0, 1]``; targets become ``y * (1 - s) + s / 2``.

    Returns:
        Per-example losses, shape ``(batch,)``.

    Example:
        >>> import jax.numpy as jnp
        >>> binary_crossentropy(jnp.array([1.0, 0.0]), jnp.array([0.9, 0.2]))
        Array([0.1054, 0.2231], dtype=float32)
    """
    y_true, y_pred = _elementwise("binary_crossentropy", y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        x = y_pred
        bce = jnp.maximum(x, 0.0) - x * y_true + jnp.log1p(jnp.exp(-jnp.abs(x)))
    else:
        p = jnp.clip(y_pred, EPSILON, 1.0 - EPSILON)
        bce = -(y_true * jnp.log(p) + (1.0 - y_true) * jnp.log(1.0 - p))
    return jnp.mean(bce, axis=-1)


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
    y_true, y_pred = _elementwise("mean_squared_error", y_true, y_pred)
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
    y_true, y_pred = _elementwise("mean_absolute_error", y_true, y_pred)
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
    y_true, y_pred = _elementwise("mean_absolute_percentage_error", y_true, y_pred)
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
    y_true, y_pred = _elementwise("mean_squared_logarithmic_error", y_true, y_pred)
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
    y_true, y_pred = _elementwise("huber", y_true, y_pred)
    error = y_pred - y_true
    abs_error = jnp.abs(error)
    loss = jnp.where(
        abs_error <= delta, 0.5 * jnp.square(error), delta * abs_error - 0.5 * delta * delta
    )
    return jnp.mean(loss, axis=-1)


def log_cosh(y_true: ArrayLike, y_pred: ArrayLike) -> jax.Array:
    """``mean(log(cosh(y_pred - y_true)), axis=-1)``, computed without overflow.

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
    y_true, y_pred = _elementwise("log_cosh", y_true, y_pred)
    x = y_pred - y_true
    # log(cosh(x)) = x + softplus(-2x) - log(2); cosh itself overflows for |x| > ~89.
    return jnp.mean(x + jax.nn.softplus(-2.0 * x) - math.log(2.0), axis=-1)


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
    y_true, y_pred = _floats(y_true, y_pred)
    _same_shape("kl_divergence", y_true, y_pred, "Both must be distributions over the same axis.")
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
    y_true, y_pred = _elementwise("poisson", y_true, y_pred)
    return jnp.mean(y_pred - y_true * jnp.log(y_pred + EPSILON), axis=-1)


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
    y_true, y_pred = _elementwise("hinge", y_true, y_pred)
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
    y_true, y_pred = _elementwise("squared_hinge", y_true, y_pred)
    y_true = _hinge_labels(y_true)
    return jnp.mean(jnp.square(jnp.maximum(1.0 - y_true * y_pred, 0.0)), axis=-1)


mse = mean_squared_error
mae = mean_absolute_error
mape = mean_absolute_percentage_error
msle = mean_squared_logarithmic_error

# Canonical name -> function; aliases below map onto the same function objects.
_CANONICAL: dict[str, LossFn] = {
    fn.__name__: fn
    for fn in (
        categorical_crossentropy,
        sparse_categorical_crossentropy,
        binary_crossentropy,
        mean_squared_error,
        mean_absolute_error,
        mean_absolute_percentage_error,
        mean_squared_logarithmic_error,
        huber,
        log_cosh,
        kl_divergence,
        poisson,
        hinge,
        squared_hinge,
    )
}
_ALIASES: dict[str, LossFn] = {
    "mse": mean_squared_error,
    "mae": mean_absolute_error,
    "mape": mean_absolute_percentage_error,
    "msle": mean_squared_logarithmic_error,
    "huber_loss": huber,
    "logcosh": log_cosh,
    "kld": kl_divergence,
    "kullback_leibler_divergence": kl_divergence,
}
_BY_NAME: dict[str, LossFn] = {**_CANONICAL, **_ALIASES}
# Keras class names ("MeanSquaredError", "BinaryCrossentropy") lower-cased without underscores.
_BY_COMPACT_NAME: dict[str, LossFn] = {k.replace("_", ""): v for k, v in _BY_NAME.items()}

_LOGITS: dict[LossFn, tuple[str, LossFn]] = {
    categorical_crossentropy: (
        "softmax",
        functools.partial(categorical_crossentropy, from_logits=True),
    ),
    sparse_categorical_crossentropy: (
        "softmax",
        functools.partial(sparse_categorical_crossentropy, from_logits=True),
    ),
    binary_crossentropy: ("sigmoid", functools.partial(binary_crossentropy, from_logits=True)),
}


def get(identifier: str | LossFn) -> LossFn:
    """Resolves a loss from a Keras name or returns a callable unchanged.

    Names are case-insensitive and include Keras's aliases (``"mse"``, ``"mae"``, ``"mape"``,
    ``"msle"``, ``"kld"``, ``"logcosh"``...) and class names (``"MeanSquaredError"``).

    Args:
        identifier: a loss name, or a callable ``loss(y_true, y_pred) -> (batch,)``.

    Returns:
        The loss function.

    Raises:
        ValueError: for an unknown name (the message suggests the closest valid one).
        TypeError: for anything that is neither a string nor a callable.

    Example:
        >>> get("MSE") is mean_squared_error
        True
        >>> get("CategoricalCrossentropy").__name__
        'categorical_crossentropy'
        >>> get(hinge) is hinge
        True
    """
    if isinstance(identifier, str):
        key = identifier.strip().lower()
        fn = _BY_NAME.get(key) or _BY_COMPACT_NAME.get(key.replace("_", ""))
        if fn is None:
            raise unknown_name("loss", identifier, _BY_NAME, argument="loss")
        return fn
    if callable(identifier):
        return identifier
    raise TypeError(
        f"loss must be a loss name such as 'mse' or 'categorical_crossentropy', or a callable "
        f"loss(y_true, y_pred) returning per-example values; got {identifier!r} of type "
        f"{type(identifier).__name__}. Pass e.g. loss='sparse_categorical_crossentropy'."
    )


def serialize(loss_fn: LossFn) -> str | None:
    """The canonical name of a built-in loss (what :func:`get` maps back to it), else None.

    Example:
        >>> serialize(mse)
        'mean_squared_error'
        >>> serialize(lambda y_true, y_pred: y_pred) is None
        True
    """
    for name, fn in _CANONICAL.items():
        if fn is loss_fn:
            return name
    return None


def from_logits_variant(loss_fn: LossFn) -> LossFn | None:
    """The ``from_logits=True`` form of a built-in cross-entropy, else None.

    A train step whose model ends in :func:`matching_activation` can feed the pre-activation
    logits to this variant, which is numerically stabler than ``log(softmax(x))``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> logits = jnp.array([[1.0, 2.0, 0.5]])
        >>> labels = jnp.array([1])
        >>> a = from_logits_variant(sparse_categorical_crossentropy)(labels, logits)
        >>> b = sparse_categorical_crossentropy(labels, jax.nn.softmax(logits))
        >>> bool(jnp.allclose(a, b))
        True
        >>> from_logits_variant(mse) is None
        True
    """
    entry = _LOGITS.get(loss_fn) if _hashable(loss_fn) else None
    return None if entry is None else entry[1]


def matching_activation(loss_fn: LossFn) -> str | None:
    """The output activation whose logits :func:`from_logits_variant` expects, else None.

    ``"softmax"`` for the categorical cross-entropies, ``"sigmoid"`` for binary cross-entropy.

    Example:
        >>> matching_activation(categorical_crossentropy), matching_activation(binary_crossentropy)
        ('softmax', 'sigmoid')
        >>> matching_activation(mae) is None
        True
    """
    entry = _LOGITS.get(loss_fn) if _hashable(loss_fn) else None
    return None if entry is None else entry[0]


def base_loss(loss: str | LossFn) -> LossFn:
    """The built-in function behind ``loss``: a name resolved, ``functools.partial`` unwrapped.

    The one answer to "which loss is this?" (sparse or not, which activation it matches).

    Example:
        >>> base_loss("SparseCategoricalCrossentropy") is sparse_categorical_crossentropy
        True
        >>> base_loss(functools.partial(binary_crossentropy, from_logits=True)).__name__
        'binary_crossentropy'
    """
    fn = get(loss) if isinstance(loss, str) else loss
    while isinstance(fn, functools.partial):
        fn = fn.func
    return getattr(fn, "base_loss", fn)


def is_sparse(loss: str | LossFn) -> bool:
    """Whether ``loss`` takes integer class ids (sparse categorical cross-entropy)."""
    return base_loss(loss) is sparse_categorical_crossentropy


def align_targets(y_true: ArrayLike, y_pred: jax.Array, loss: str | LossFn | None = None):
    """Gives targets of shape ``(N,)`` a trailing axis against outputs of shape ``(N, 1)``.

    The one place for this rule. Without it ``y - y_pred`` would broadcast to ``(N, N)``: a
    silently wrong loss. Sparse labels keep their shape (one id per example).

    Example:
        >>> import jax.numpy as jnp
        >>> align_targets(jnp.zeros(4), jnp.zeros((4, 1))).shape
        (4, 1)
        >>> align_targets(jnp.zeros(4), jnp.zeros((4, 3)), "sparse_categorical_crossentropy").shape
        (4,)
    """
    y_true = jnp.asarray(y_true)
    if (loss is None or not is_sparse(loss)) and y_true.ndim == y_pred.ndim - 1 and \
            y_pred.shape[-1] == 1:
        return y_true[..., None]
    return y_true


def _hashable(obj: object) -> bool:
    try:
        hash(obj)
    except TypeError:
        return False
    return True
