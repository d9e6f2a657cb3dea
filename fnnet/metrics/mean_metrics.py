"""Keras's metric classes that average a per-example function: accuracies, errors, losses.

Each is called with Keras's arguments, in Keras's order (``name`` first for most), and returns
a :class:`~fnnet.metrics.Metric` whose state is ``{"total", "count"}`` (the weighted mean of
the function over examples). :func:`RootMeanSquaredError` takes the root of the mean once, in
``result``.

Example:
    >>> import jax.numpy as jnp
    >>> m = BinaryAccuracy(threshold=0.7)
    >>> s = m.update(m.init(), jnp.array([[1], [0]]), jnp.array([[0.6], [0.2]]))
    >>> m.name, float(m.result(s))
    ('binary_accuracy', 0.5)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from fnnet import losses
from fnnet.losses.shapes import squeeze_or_expand
from fnnet.metrics import functions
from fnnet.metrics.base import (
    MeanMetricWrapper,
    Metric,
    accumulate,
    check_dtype,
    sum_init,
    weighted_mean,
)

__all__ = [
    "Accuracy", "BinaryAccuracy", "CategoricalAccuracy", "SparseCategoricalAccuracy",
    "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy", "MeanSquaredError",
    "MeanAbsoluteError", "MeanAbsolutePercentageError", "MeanSquaredLogarithmicError",
    "RootMeanSquaredError", "LogCoshError", "CosineSimilarity", "BinaryCrossentropy",
    "CategoricalCrossentropy", "SparseCategoricalCrossentropy", "KLDivergence", "Poisson",
    "Hinge", "SquaredHinge", "CategoricalHinge",
]


def _check_name(owner: str, name: Any) -> str:
    if not isinstance(name, str):
        raise TypeError(f"{owner}: name must be a string, the key the value is reported under; "
                        f"got {name!r}.")
    return name


def _check_bool(owner: str, key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{owner}: {key} must be True or False; got {value!r}.")
    return value


def _check_real(owner: str, key: str, value: Any, low: float = -math.inf, high: float = math.inf
                ) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        where = "" if (low, high) == (-math.inf, math.inf) else f" in [{low:g}, {high:g}]"
        raise ValueError(f"{owner}: {key} must be a float{where}; got {key}={value!r}.")
    return float(value)


def _wrap(owner: str, fn: Callable, name: Any, dtype: Any, **kwargs: Any) -> Metric:
    return MeanMetricWrapper(fn, _check_name(owner, name), dtype, **kwargs)


# --- accuracies -------------------------------------------------------------------------------


def Accuracy(name: str = "accuracy", dtype: Any = None) -> Metric:  # noqa: N802
    """How often ``y_pred`` equals ``y_true`` exactly (Keras's ``Accuracy``).

    Example:
        >>> import jax.numpy as jnp
        >>> m = Accuracy()
        >>> float(m.result(m.update(m.init(), jnp.array([1, 2, 3, 4]), jnp.array([0, 2, 3, 4]))))
        0.75
    """
    return _wrap("Accuracy", functions.accuracy, name, dtype)


def BinaryAccuracy(name: str = "binary_accuracy", dtype: Any = None,  # noqa: N802
                   threshold: float = 0.5) -> Metric:
    """How often ``y_pred > threshold`` equals the 0/1 target (:func:`binary_accuracy`).

    Example:
        >>> import jax.numpy as jnp
        >>> m = BinaryAccuracy()
        >>> s = m.update(m.init(), jnp.array([1, 0, 1, 0]), jnp.array([0.9, 0.6, 0.4, 0.1]))
        >>> float(m.result(s))
        0.5
    """
    threshold = _check_real("BinaryAccuracy", "threshold", threshold)
    return _wrap("BinaryAccuracy", functions.binary_accuracy, name, dtype, threshold=threshold)


def CategoricalAccuracy(name: str = "categorical_accuracy", dtype: Any = None) -> Metric:  # noqa: N802
    """How often ``argmax(y_pred)`` equals ``argmax(y_true)`` (:func:`categorical_accuracy`).

    Example:
        >>> import jax.numpy as jnp
        >>> m = CategoricalAccuracy()
        >>> s = m.update(m.init(), jnp.array([[0, 1], [1, 0]]), jnp.array([[0.2, 0.8], [0.3, 0.7]]))
        >>> float(m.result(s))
        0.5
    """
    return _wrap("CategoricalAccuracy", functions.categorical_accuracy, name, dtype)


def SparseCategoricalAccuracy(name: str = "sparse_categorical_accuracy",  # noqa: N802
                              dtype: Any = None) -> Metric:
    """How often ``argmax(y_pred)`` equals the integer label (:func:`sparse_categorical_accuracy`).

    Example:
        >>> import jax.numpy as jnp
        >>> m = SparseCategoricalAccuracy()
        >>> s = m.update(m.init(), jnp.array([1, 1]), jnp.array([[0.2, 0.8], [0.6, 0.4]]))
        >>> float(m.result(s))
        0.5
    """
    return _wrap("SparseCategoricalAccuracy", functions.sparse_categorical_accuracy, name, dtype)


def TopKCategoricalAccuracy(k: int = 5, name: str = "top_k_categorical_accuracy",  # noqa: N802
                            dtype: Any = None) -> Metric:
    """How often ``argmax(y_true)`` is among the top ``k`` predictions.

    Example:
        >>> import jax.numpy as jnp
        >>> m = TopKCategoricalAccuracy(k=2)
        >>> y_true = jnp.array([[0, 0, 1], [0, 1, 0]])
        >>> s = m.update(m.init(), y_true, jnp.array([[0.1, 0.5, 0.4], [0.7, 0.1, 0.2]]))
        >>> float(m.result(s))
        0.5
    """
    k = functions.check_k("TopKCategoricalAccuracy", k)
    return _wrap("TopKCategoricalAccuracy", functions.top_k_categorical_accuracy, name, dtype, k=k)


def SparseTopKCategoricalAccuracy(k: int = 5,  # noqa: N802
                                  name: str = "sparse_top_k_categorical_accuracy",
                                  dtype: Any = None, from_sorted_ids: bool = False) -> Metric:
    """How often the integer label is among the top ``k`` predictions.

    Example:
        >>> import jax.numpy as jnp
        >>> m = SparseTopKCategoricalAccuracy(k=2)
        >>> s = m.update(m.init(), jnp.array([2, 1]), jnp.array([[0.1, 0.5, 0.4], [0.7, 0.1, 0.2]]))
        >>> float(m.result(s))
        0.5
    """
    owner = "SparseTopKCategoricalAccuracy"
    k = functions.check_k(owner, k)
    from_sorted_ids = _check_bool(owner, "from_sorted_ids", from_sorted_ids)
    return _wrap(owner, functions.sparse_top_k_categorical_accuracy, name, dtype, k=k,
                 from_sorted_ids=from_sorted_ids)


# --- regression -------------------------------------------------------------------------------


def MeanSquaredError(name: str = "mean_squared_error", dtype: Any = None) -> Metric:  # noqa: N802
    """The weighted mean of :func:`fnnet.losses.mean_squared_error`.

    Example:
        >>> import jax.numpy as jnp
        >>> m = MeanSquaredError()
        >>> float(m.result(m.update(m.init(), jnp.array([1.0, 2.0]), jnp.array([2.0, 4.0]))))
        2.5
    """
    return _wrap("MeanSquaredError", losses.mean_squared_error, name, dtype)


def MeanAbsoluteError(name: str = "mean_absolute_error", dtype: Any = None) -> Metric:  # noqa: N802
    """The weighted mean of :func:`fnnet.losses.mean_absolute_error`.

    Example:
        >>> import jax.numpy as jnp
        >>> m = MeanAbsoluteError()
        >>> float(m.result(m.update(m.init(), jnp.array([1.0, 2.0]), jnp.array([2.0, 4.0]))))
        1.5
    """
    return _wrap("MeanAbsoluteError", losses.mean_absolute_error, name, dtype)


def MeanAbsolutePercentageError(name: str = "mean_absolute_percentage_error",  # noqa: N802
                                dtype: Any = None) -> Metric:
    """The weighted mean of :func:`fnnet.losses.mean_absolute_percentage_error`.

    Example:
        >>> import jax.numpy as jnp
        >>> m = MeanAbsolutePercentageError()
        >>> float(m.result(m.update(m.init(), jnp.array([2.0, 4.0]), jnp.array([1.0, 5.0]))))
        37.5
    """
    return _wrap("MeanAbsolutePercentageError", losses.mean_absolute_percentage_error, name, dtype)


def MeanSquaredLogarithmicError(name: str = "mean_squared_logarithmic_error",  # noqa: N802
                                dtype: Any = None) -> Metric:
    """The weighted mean of :func:`fnnet.losses.mean_squared_logarithmic_error`.

    Example:
        >>> import jax.numpy as jnp
        >>> m = MeanSquaredLogarithmicError()
        >>> round(float(m.result(m.update(m.init(), jnp.array([0.0, 1.0]), jnp.array([0.0, 3.0])))), 4)
        0.2402
    """
    return _wrap("MeanSquaredLogarithmicError", losses.mean_squared_logarithmic_error, name, dtype)


def RootMeanSquaredError(name: str = "root_mean_squared_error", dtype: Any = None) -> Metric:  # noqa: N802
    """``sqrt`` of the weighted mean squared error over everything seen so far.

    The root is taken once, in ``result``, so the value over a dataset is not a mean of
    per-batch roots. As Keras's, the mean is over every entry of ``(y_pred - y_true) ** 2``.

    Example:
        >>> import jax.numpy as jnp
        >>> m = RootMeanSquaredError()
        >>> s = m.update(m.init(), jnp.array([0.0, 0.0]), jnp.array([3.0, 0.0]))
        >>> s = m.update(s, jnp.array([0.0, 0.0]), jnp.array([4.0, 0.0]))
        >>> float(m.result(s))   # sqrt((9 + 16) / 4)
        2.5
    """
    _check_name("RootMeanSquaredError", name)
    check_dtype("RootMeanSquaredError", dtype)

    def update(state, y_true, y_pred, sample_weight=None, mask=None):
        y_pred = jnp.asarray(y_pred).astype(jnp.float32)
        y_true, y_pred = squeeze_or_expand(jnp.asarray(y_true).astype(jnp.float32), y_pred)
        return accumulate(name, state, jnp.square(y_pred - y_true), sample_weight, mask)

    return Metric(sum_init, update, lambda state: jnp.sqrt(weighted_mean(state)), name)


def LogCoshError(name: str = "logcosh", dtype: Any = None) -> Metric:  # noqa: N802
    """The weighted mean of :func:`fnnet.losses.log_cosh` (Keras's name: ``"logcosh"``).

    Example:
        >>> import jax.numpy as jnp
        >>> m = LogCoshError()
        >>> round(float(m.result(m.update(m.init(), jnp.array([0.0, 0.0]), jnp.array([1.0, 2.0])))), 4)
        0.8794
    """
    return _wrap("LogCoshError", losses.log_cosh, name, dtype)


def _cosine(y_true: jax.Array, y_pred: jax.Array, axis: int = -1) -> jax.Array:
    return -losses.cosine_similarity(y_true, y_pred, axis=axis)


def CosineSimilarity(name: str = "cosine_similarity", dtype: Any = None,  # noqa: N802
                     axis: int = -1) -> Metric:
    """The weighted mean cosine similarity (positive: 1 for the same direction).

    The opposite of the loss :func:`fnnet.losses.cosine_similarity`.

    Example:
        >>> import jax.numpy as jnp
        >>> m = CosineSimilarity()
        >>> s = m.update(m.init(), jnp.array([[0.0, 1.0], [1.0, 0.0]]), jnp.array([[0.0, 3.0], [0.0, 1.0]]))
        >>> float(m.result(s))
        0.5
    """
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise TypeError(f"CosineSimilarity: axis must be an int; got {axis!r}.")
    return _wrap("CosineSimilarity", _cosine, name, dtype, axis=axis)


# --- probabilistic and hinge --------------------------------------------------------------------


def BinaryCrossentropy(name: str = "binary_crossentropy", dtype: Any = None,  # noqa: N802
                       from_logits: bool = False, label_smoothing: float = 0.0) -> Metric:
    """The weighted mean of :func:`fnnet.losses.binary_crossentropy`.

    Example:
        >>> import jax.numpy as jnp
        >>> m = BinaryCrossentropy()
        >>> round(float(m.result(m.update(m.init(), jnp.array([[1.0]]), jnp.array([[0.9]])))), 4)
        0.1054
    """
    owner = "BinaryCrossentropy"
    return _wrap(owner, losses.binary_crossentropy, name, dtype,
                 from_logits=_check_bool(owner, "from_logits", from_logits),
                 label_smoothing=_check_real(owner, "label_smoothing", label_smoothing, 0.0, 1.0))


def CategoricalCrossentropy(name: str = "categorical_crossentropy", dtype: Any = None,  # noqa: N802
                            from_logits: bool = False, label_smoothing: float = 0.0,
                            axis: int = -1) -> Metric:
    """The weighted mean of :func:`fnnet.losses.categorical_crossentropy`.

    Example:
        >>> import jax.numpy as jnp
        >>> m = CategoricalCrossentropy()
        >>> round(float(m.result(m.update(m.init(), jnp.array([[0.0, 1.0]]), jnp.array([[0.1, 0.9]])))), 4)
        0.1054
    """
    owner = "CategoricalCrossentropy"
    return _wrap(owner, losses.categorical_crossentropy, name, dtype,
                 from_logits=_check_bool(owner, "from_logits", from_logits),
                 label_smoothing=_check_real(owner, "label_smoothing", label_smoothing, 0.0, 1.0),
                 axis=axis)


def SparseCategoricalCrossentropy(name: str = "sparse_categorical_crossentropy",  # noqa: N802
                                  dtype: Any = None, from_logits: bool = False,
                                  ignore_class: int | None = None, axis: int = -1) -> Metric:
    """The weighted mean of :func:`fnnet.losses.sparse_categorical_crossentropy`.

    With ``ignore_class``, entries with that label are left out of the mean, as in Keras.

    Example:
        >>> import jax.numpy as jnp
        >>> m = SparseCategoricalCrossentropy(ignore_class=-1)
        >>> s = m.update(m.init(), jnp.array([1, -1]), jnp.array([[0.1, 0.9], [0.5, 0.5]]))
        >>> round(float(m.result(s)), 4)
        0.1054
    """
    owner = "SparseCategoricalCrossentropy"
    _check_name(owner, name)
    from_logits = _check_bool(owner, "from_logits", from_logits)
    if ignore_class is not None and (isinstance(ignore_class, bool) or not isinstance(ignore_class, int)):
        raise TypeError(f"{owner}: ignore_class must be an int class id or None; got {ignore_class!r}.")
    inner = MeanMetricWrapper(losses.sparse_categorical_crossentropy, name, dtype,
                              from_logits=from_logits, ignore_class=ignore_class, axis=axis)
    if ignore_class is None:
        return inner

    def update(state, y_true, y_pred, sample_weight=None, mask=None):
        values = losses.sparse_categorical_crossentropy(
            y_true, y_pred, from_logits=from_logits, ignore_class=ignore_class, axis=axis)
        labels = jnp.reshape(jnp.asarray(y_true), values.shape)
        valid = labels != jnp.asarray(ignore_class, labels.dtype)
        if mask is not None:
            valid = valid & jnp.reshape(jnp.asarray(mask).astype(jnp.bool_),
                                        jnp.shape(mask) + (1,) * (valid.ndim - jnp.ndim(mask)))
        return accumulate(name, state, values, sample_weight, valid)

    return inner._replace(update=update)


def KLDivergence(name: str = "kl_divergence", dtype: Any = None) -> Metric:  # noqa: N802
    """The weighted mean of :func:`fnnet.losses.kl_divergence`.

    Example:
        >>> import jax.numpy as jnp
        >>> m = KLDivergence()
        >>> round(float(m.result(m.update(m.init(), jnp.array([[0.5, 0.5]]), jnp.array([[0.25, 0.75]])))), 4)
        0.1438
    """
    return _wrap("KLDivergence", losses.kl_divergence, name, dtype)


def Poisson(name: str = "poisson", dtype: Any = None) -> Metric:  # noqa: N802
    """The weighted mean of :func:`fnnet.losses.poisson`.

    Example:
        >>> import jax.numpy as jnp
        >>> m = Poisson()
        >>> round(float(m.result(m.update(m.init(), jnp.array([1.0, 2.0]), jnp.array([2.0, 3.0])))), 4)
        1.0549
    """
    return _wrap("Poisson", losses.poisson, name, dtype)


def Hinge(name: str = "hinge", dtype: Any = None) -> Metric:  # noqa: N802
    """The weighted mean of :func:`fnnet.losses.hinge`.

    Example:
        >>> import jax.numpy as jnp
        >>> m = Hinge()
        >>> float(m.result(m.update(m.init(), jnp.array([1.0, 0.0]), jnp.array([0.5, 0.5]))))
        1.0
    """
    return _wrap("Hinge", losses.hinge, name, dtype)


def SquaredHinge(name: str = "squared_hinge", dtype: Any = None) -> Metric:  # noqa: N802
    """The weighted mean of :func:`fnnet.losses.squared_hinge`.

    Example:
        >>> import jax.numpy as jnp
        >>> m = SquaredHinge()
        >>> float(m.result(m.update(m.init(), jnp.array([1.0, 0.0]), jnp.array([0.5, 0.5]))))
        1.25
    """
    return _wrap("SquaredHinge", losses.squared_hinge, name, dtype)


def CategoricalHinge(name: str = "categorical_hinge", dtype: Any = None) -> Metric:  # noqa: N802
    """The weighted mean of :func:`fnnet.losses.categorical_hinge`.

    Example:
        >>> import jax.numpy as jnp
        >>> m = CategoricalHinge()
        >>> round(float(m.result(m.update(m.init(), jnp.array([[0.0, 1.0]]), jnp.array([[0.2, 0.9]])))), 4)
        0.3
    """
    return _wrap("CategoricalHinge", losses.categorical_hinge, name, dtype)
