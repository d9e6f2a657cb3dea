"""Keras 3's loss classes, with Keras's arguments, defaults and argument order.

Each wraps one per-example function of :mod:`fnnet.losses` (its docstring gives the formula)
in a :class:`~fnnet.losses.Loss`: ``loss(y_true, y_pred, sample_weight=None)`` returns the
value reduced by ``reduction``, ``loss.call(y_true, y_pred)`` the per-example values, and
``fnnet.losses.get(loss)`` the per-example function a train step uses. Every class also takes
``reduction`` (default ``"sum_over_batch_size"``), ``name`` (default: the function's name) and
``dtype`` (None: float32); arguments are checked when the loss is built.

Example:
    >>> import jax.numpy as jnp
    >>> loss = BinaryCrossentropy(from_logits=True, reduction="sum")
    >>> float(loss(jnp.array([[1.0], [0.0]]), jnp.array([[0.0], [0.0]])))  # 2 * log(2)
    1.3863
    >>> loss.get_config()["label_smoothing"], loss.name
    (0.0, 'binary_crossentropy')
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from fnnet.losses import focal, hinges, probabilistic, regression, segmentation, sequence
from fnnet.losses.loss import DTYPE, REDUCTION, Loss, name_default

__all__ = [
    "BinaryCrossentropy", "BinaryFocalCrossentropy", "CategoricalCrossentropy",
    "CategoricalFocalCrossentropy", "SparseCategoricalCrossentropy", "KLDivergence", "Poisson",
    "MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError", "CosineSimilarity", "Huber", "LogCosh", "Hinge",
    "SquaredHinge", "CategoricalHinge", "Dice", "Tversky", "CTC",
]


# --- argument checks (owner, key, value) -> value ------------------------------------------


def _boolean(owner: str, key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{owner}: {key} must be True or False; got {value!r}.")
    return value


def _real(owner: str, key: str, value: Any, low: float = -math.inf, high: float = math.inf,
          low_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise TypeError(f"{owner}: {key} must be a finite float; got {value!r}.")
    if value < low or value > high or (low_open and value == low):
        bound = f"> {low:g}" if low_open else (f">= {low:g}" if high == math.inf else
                                                f"in [{low:g}, {high:g}]")
        raise ValueError(f"{owner}: {key} must be {bound}; got {key}={value}.")
    return float(value)


def _unit(owner, key, value):
    return _real(owner, key, value, 0.0, 1.0)


def _non_negative(owner, key, value):
    return _real(owner, key, value, 0.0)


def _positive(owner, key, value):
    return _real(owner, key, value, 0.0, low_open=True)


def _any_real(owner, key, value):
    return _real(owner, key, value)


def _axis(owner: str, key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{owner}: {key} must be an int (e.g. -1, the last axis); got {value!r}.")
    return value


def _axes(owner: str, key: str, value: Any) -> int | tuple[int, ...] | None:
    if value is None:
        return None
    if isinstance(value, Sequence) and not isinstance(value, str):
        return tuple(_axis(owner, key, a) for a in value)
    return _axis(owner, key, value)


def _optional_int(owner: str, key: str, value: Any) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise TypeError(f"{owner}: {key} must be an int class id or None; got {value!r}.")
    return value


_FROM_LOGITS = (False, _boolean)
_SMOOTHING = (0.0, _unit)
_AXIS = (-1, _axis)


def _common(name: str) -> dict:
    return {"reduction": REDUCTION, "name": name_default(name), "dtype": DTYPE}


# --- probabilistic ----------------------------------------------------------------------------


class BinaryCrossentropy(Loss):
    """Keras's ``BinaryCrossentropy``: :func:`~fnnet.losses.binary_crossentropy`.

    Args: ``from_logits=False``, ``label_smoothing=0.0`` (in [0, 1]), ``axis=-1``,
    ``reduction``, ``name="binary_crossentropy"``, ``dtype``.

    Example:
        >>> import jax.numpy as jnp
        >>> BinaryCrossentropy(label_smoothing=0.1)(jnp.array([[1.0]]), jnp.array([[0.9]]))
        Array(0.2152, dtype=float32)
    """

    fn = staticmethod(probabilistic.binary_crossentropy)
    arguments = {"from_logits": _FROM_LOGITS, "label_smoothing": _SMOOTHING, "axis": _AXIS,
                 **_common("binary_crossentropy")}


class BinaryFocalCrossentropy(Loss):
    """Keras's ``BinaryFocalCrossentropy``: :func:`~fnnet.losses.binary_focal_crossentropy`.

    Args: ``apply_class_balancing=False``, ``alpha=0.25``, ``gamma=2.0`` (>= 0),
    ``from_logits=False``, ``label_smoothing=0.0``, ``axis=-1``, ``reduction``,
    ``name="binary_focal_crossentropy"``, ``dtype``.

    Example:
        >>> import jax.numpy as jnp
        >>> BinaryFocalCrossentropy(gamma=0.0)(jnp.array([[1.0]]), jnp.array([[0.5]]))
        Array(0.6931, dtype=float32)
    """

    fn = staticmethod(focal.binary_focal_crossentropy)
    arguments = {"apply_class_balancing": (False, _boolean), "alpha": (0.25, _unit),
                 "gamma": (2.0, _non_negative), "from_logits": _FROM_LOGITS,
                 "label_smoothing": _SMOOTHING, "axis": _AXIS,
                 **_common("binary_focal_crossentropy")}


class CategoricalCrossentropy(Loss):
    """Keras's ``CategoricalCrossentropy``: :func:`~fnnet.losses.categorical_crossentropy`.

    Args: ``from_logits=False``, ``label_smoothing=0.0``, ``axis=-1``, ``reduction``,
    ``name="categorical_crossentropy"``, ``dtype``.

    Example:
        >>> import jax.numpy as jnp
        >>> CategoricalCrossentropy()(jnp.array([[0.0, 1.0]]), jnp.array([[0.1, 0.9]]))
        Array(0.1054, dtype=float32)
    """

    fn = staticmethod(probabilistic.categorical_crossentropy)
    arguments = {"from_logits": _FROM_LOGITS, "label_smoothing": _SMOOTHING, "axis": _AXIS,
                 **_common("categorical_crossentropy")}


class CategoricalFocalCrossentropy(Loss):
    """Keras's ``CategoricalFocalCrossentropy``: :func:`~fnnet.losses.categorical_focal_crossentropy`.

    Args: ``alpha=0.25``, ``gamma=2.0`` (>= 0), ``from_logits=False``,
    ``label_smoothing=0.0``, ``axis=-1``, ``reduction``,
    ``name="categorical_focal_crossentropy"``, ``dtype``.

    Example:
        >>> import jax.numpy as jnp
        >>> CategoricalFocalCrossentropy(alpha=1.0, gamma=0.0)(jnp.array([[0.0, 1.0]]),
        ...                                                     jnp.array([[0.1, 0.9]]))
        Array(0.1054, dtype=float32)
    """

    fn = staticmethod(focal.categorical_focal_crossentropy)
    arguments = {"alpha": (0.25, _any_real), "gamma": (2.0, _non_negative),
                 "from_logits": _FROM_LOGITS, "label_smoothing": _SMOOTHING, "axis": _AXIS,
                 **_common("categorical_focal_crossentropy")}


class SparseCategoricalCrossentropy(Loss):
    """Keras's ``SparseCategoricalCrossentropy``: :func:`~fnnet.losses.sparse_categorical_crossentropy`.

    Args: ``from_logits=False``, ``ignore_class=None``, ``reduction``, ``axis=-1``,
    ``name="sparse_categorical_crossentropy"``, ``dtype``. With ``ignore_class``, entries with
    that label are masked out: the mean is over the other entries, as in Keras.

    Example:
        >>> import jax.numpy as jnp
        >>> loss = SparseCategoricalCrossentropy(ignore_class=-1)
        >>> loss(jnp.array([1, -1]), jnp.array([[0.1, 0.9], [0.5, 0.5]]))  # -log(0.9) / 1
        Array(0.1054, dtype=float32)
    """

    fn = staticmethod(probabilistic.sparse_categorical_crossentropy)
    arguments = {"from_logits": _FROM_LOGITS, "ignore_class": (None, _optional_int),
                 "reduction": REDUCTION, "axis": _AXIS,
                 "name": name_default("sparse_categorical_crossentropy"), "dtype": DTYPE}

    def entry_mask(self, y_true: ArrayLike, y_pred: ArrayLike) -> jax.Array | None:
        """``y_true != ignore_class`` (labels squeezed to the values' shape), or None."""
        if self.ignore_class is None:
            return None
        labels = jnp.asarray(y_true)
        axis = self.axis % jnp.ndim(y_pred)
        if labels.ndim == jnp.ndim(y_pred) and labels.shape[axis] == 1:
            labels = jnp.squeeze(labels, axis)
        return labels != jnp.asarray(self.ignore_class, labels.dtype)


class KLDivergence(Loss):
    """Keras's ``KLDivergence``: :func:`~fnnet.losses.kl_divergence`.

    Args: ``reduction``, ``name="kl_divergence"``, ``dtype``.

    Example:
        >>> import jax.numpy as jnp
        >>> KLDivergence()(jnp.array([[0.5, 0.5]]), jnp.array([[0.25, 0.75]]))
        Array(0.1438, dtype=float32)
    """

    fn = staticmethod(probabilistic.kl_divergence)
    arguments = _common("kl_divergence")


class Poisson(Loss):
    """Keras's ``Poisson``: :func:`~fnnet.losses.poisson`.

    Args: ``reduction``, ``name="poisson"``, ``dtype``.

    Example:
        >>> import jax.numpy as jnp
        >>> Poisson()(jnp.array([1.0, 2.0]), jnp.array([2.0, 3.0]))
        Array(1.0549, dtype=float32)
    """

    fn = staticmethod(probabilistic.poisson)
    arguments = _common("poisson")


# --- regression -------------------------------------------------------------------------------


class MeanSquaredError(Loss):
    """Keras's ``MeanSquaredError``: :func:`~fnnet.losses.mean_squared_error`.

    Args: ``reduction``, ``name="mean_squared_error"``, ``dtype``.

    Example:
        >>> import jax.numpy as jnp
        >>> y_true, y_pred = jnp.array([0.0, 0.0]), jnp.array([1.0, 3.0])
        >>> MeanSquaredError()(y_true, y_pred, sample_weight=jnp.array([1.0, 0.0]))
        Array(0.5, dtype=float32)
    """

    fn = staticmethod(regression.mean_squared_error)
    arguments = _common("mean_squared_error")


class MeanAbsoluteError(Loss):
    """Keras's ``MeanAbsoluteError``: :func:`~fnnet.losses.mean_absolute_error`.

    Args: ``reduction``, ``name="mean_absolute_error"``, ``dtype``.

    Example:
        >>> import jax.numpy as jnp
        >>> MeanAbsoluteError(reduction="sum")(jnp.array([0.0, 0.0]), jnp.array([1.0, -3.0]))
        Array(4., dtype=float32)
    """

    fn = staticmethod(regression.mean_absolute_error)
    arguments = _common("mean_absolute_error")


class MeanAbsolutePercentageError(Loss):
    """Keras's ``MeanAbsolutePercentageError``: :func:`~fnnet.losses.mean_absolute_percentage_error`.

    Args: ``reduction``, ``name="mean_absolute_percentage_error"``, ``dtype``.

    Example:
        >>> import jax.numpy as jnp
        >>> MeanAbsolutePercentageError()(jnp.array([2.0, 4.0]), jnp.array([1.0, 5.0]))
        Array(37.5, dtype=float32)
    """

    fn = staticmethod(regression.mean_absolute_percentage_error)
    arguments = _common("mean_absolute_percentage_error")


class MeanSquaredLogarithmicError(Loss):
    """Keras's ``MeanSquaredLogarithmicError``: :func:`~fnnet.losses.mean_squared_logarithmic_error`.

    Args: ``reduction``, ``name="mean_squared_logarithmic_error"``, ``dtype``.

    Example:
        >>> import jax.numpy as jnp
        >>> MeanSquaredLogarithmicError()(jnp.array([0.0, 1.0]), jnp.array([0.0, 3.0]))
        Array(0.2402, dtype=float32)
    """

    fn = staticmethod(regression.mean_squared_logarithmic_error)
    arguments = _common("mean_squared_logarithmic_error")


class CosineSimilarity(Loss):
    """Keras's ``CosineSimilarity`` loss: :func:`~fnnet.losses.cosine_similarity` (negative).

    Args: ``axis=-1``, ``reduction``, ``name="cosine_similarity"``, ``dtype``.

    Example:
        >>> import jax.numpy as jnp
        >>> CosineSimilarity()(jnp.array([[0.0, 1.0]]), jnp.array([[0.0, 2.0]]))
        Array(-1., dtype=float32)
    """

    fn = staticmethod(regression.cosine_similarity)
    arguments = {"axis": _AXIS, **_common("cosine_similarity")}


class Huber(Loss):
    """Keras's ``Huber``: :func:`~fnnet.losses.huber`.

    Args: ``delta=1.0`` (> 0), ``reduction``, ``name="huber_loss"``, ``dtype``.

    Example:
        >>> import jax.numpy as jnp
        >>> Huber(delta=2.0)(jnp.array([0.0, 0.0]), jnp.array([1.0, 3.0]))  # (0.5 + 4) / 2
        Array(2.25, dtype=float32)
    """

    fn = staticmethod(regression.huber)
    arguments = {"delta": (1.0, _positive), **_common("huber_loss")}


class LogCosh(Loss):
    """Keras's ``LogCosh``: :func:`~fnnet.losses.log_cosh`.

    Args: ``reduction``, ``name="log_cosh"``, ``dtype``.

    Example:
        >>> import jax.numpy as jnp
        >>> LogCosh()(jnp.array([0.0, 0.0]), jnp.array([1.0, 2.0]))
        Array(0.8794, dtype=float32)
    """

    fn = staticmethod(regression.log_cosh)
    arguments = _common("log_cosh")


# --- hinge ------------------------------------------------------------------------------------


class Hinge(Loss):
    """Keras's ``Hinge``: :func:`~fnnet.losses.hinge`.

    Args: ``reduction``, ``name="hinge"``, ``dtype``.

    Example:
        >>> import jax.numpy as jnp
        >>> Hinge()(jnp.array([1.0, 0.0]), jnp.array([0.5, 0.5]))
        Array(1., dtype=float32)
    """

    fn = staticmethod(hinges.hinge)
    arguments = _common("hinge")


class SquaredHinge(Loss):
    """Keras's ``SquaredHinge``: :func:`~fnnet.losses.squared_hinge`.

    Args: ``reduction``, ``name="squared_hinge"``, ``dtype``.

    Example:
        >>> import jax.numpy as jnp
        >>> SquaredHinge()(jnp.array([1.0, 0.0]), jnp.array([0.5, 0.5]))
        Array(1.25, dtype=float32)
    """

    fn = staticmethod(hinges.squared_hinge)
    arguments = _common("squared_hinge")


class CategoricalHinge(Loss):
    """Keras's ``CategoricalHinge``: :func:`~fnnet.losses.categorical_hinge`.

    Args: ``reduction``, ``name="categorical_hinge"``, ``dtype``.

    Example:
        >>> import jax.numpy as jnp
        >>> CategoricalHinge()(jnp.array([[0.0, 1.0]]), jnp.array([[0.2, 0.9]]))
        Array(0.3, dtype=float32)
    """

    fn = staticmethod(hinges.categorical_hinge)
    arguments = _common("categorical_hinge")


# --- segmentation and sequences ---------------------------------------------------------------


class Dice(Loss):
    """Keras's ``Dice``: :func:`~fnnet.losses.dice`, one value per example.

    Args: ``reduction``, ``name="dice"``, ``axis=None`` (every axis but the batch axis: a
    deliberate deviation from Keras, whose ``None`` also reduces over the batch), ``dtype``.

    Example:
        >>> import jax.numpy as jnp
        >>> Dice()(jnp.array([[1.0, 1.0, 0.0]]), jnp.array([[1.0, 0.0, 0.0]]))
        Array(0.3333, dtype=float32)
    """

    fn = staticmethod(segmentation.dice)
    arguments = {"reduction": REDUCTION, "name": name_default("dice"), "axis": (None, _axes),
                 "dtype": DTYPE}


class Tversky(Loss):
    """Keras's ``Tversky``: :func:`~fnnet.losses.tversky`, one value per example.

    Args: ``alpha=0.5``, ``beta=0.5``, ``reduction``, ``name="tversky"``, ``axis=None`` (as
    :class:`Dice`), ``dtype``.

    Example:
        >>> import jax.numpy as jnp
        >>> Tversky(alpha=0.7, beta=0.3)(jnp.array([[1.0, 1.0, 0.0]]), jnp.array([[1.0, 0.0, 1.0]]))
        Array(0.5, dtype=float32)
    """

    fn = staticmethod(segmentation.tversky)
    arguments = {"alpha": (0.5, _any_real), "beta": (0.5, _any_real), "reduction": REDUCTION,
                 "name": name_default("tversky"), "axis": (None, _axes), "dtype": DTYPE}


class CTC(Loss):
    """Keras's ``CTC``: :func:`~fnnet.losses.ctc`.

    Args: ``reduction``, ``name="ctc"``, ``dtype``.

    Example:
        >>> import jax.numpy as jnp
        >>> CTC()(jnp.array([[1, 0]]), jnp.zeros((1, 3, 2)))
        Array(0.2877, dtype=float32)
    """

    fn = staticmethod(sequence.ctc)
    arguments = _common("ctc")
