"""Streaming metrics as pure ``(init, update, result)`` triples, with Keras 3's names.

A :class:`Metric` keeps *sums* in its state, so updating batch by batch gives exactly the
result of one update over the whole dataset, and two states combine with :func:`merge`::

    state = metric.init()                                         # a pytree of float32 sums
    state = metric.update(state, y_true, y_pred, sample_weight=None, mask=None)
    value = metric.result(state)                                  # float32

All three functions are pure and work under ``jax.jit``, ``lax.scan`` and ``vmap``. Weighting
follows Keras: ``result = sum(w * v) / sum(w)`` with ``w = sample_weight * mask``, and a mean
of 0 (not NaN) when nothing has been counted. ``mask`` (bool or 0/1, shape ``(batch,)``, or
the leading axes of the values such as ``(batch, steps)``) removes padded rows and steps,
even where their values are NaN.

* Keras's metric *classes* (:func:`AUC`, :func:`Precision`, :func:`BinaryAccuracy`,
  :func:`MeanSquaredError`, :func:`F1Score`, :func:`MeanIoU`, :func:`R2Score`...) are
  functions with Keras's arguments that return a :class:`Metric`.
* Keras's metric *functions* (:func:`binary_accuracy`, :func:`categorical_accuracy`, ...,
  and the loss functions: :func:`mean_squared_error`, :func:`mae`...) return per-example
  values; ``metrics=[fnnet.metrics.binary_accuracy]`` reports their mean under their name.
* :func:`get` resolves names (``"accuracy"``, ``"auc"``, ``"precision"``...), and
  :class:`MetricSet` is what ``fit`` accumulates.

Modules: ``base`` (:class:`Metric`, weights, :func:`Mean`, :func:`Sum`,
:func:`MeanMetricWrapper`), ``functions``, ``mean_metrics``, ``confusion``, ``auc``,
``fscore``, ``iou``, ``regression`` (:func:`R2Score`), ``registry`` (:func:`get`) and
``metric_set``.

Example:
    >>> import jax.numpy as jnp
    >>> from fnnet import metrics
    >>> m = metrics.AUC()
    >>> s = m.update(m.init(), jnp.array([0, 0, 1, 1]), jnp.array([0.1, 0.4, 0.35, 0.8]))
    >>> round(float(m.result(s)), 4)
    0.75
    >>> metrics.binary_accuracy(jnp.array([1, 0]), jnp.array([0.8, 0.3]))
    Array([1., 1.], dtype=float32)
"""

from fnnet.losses import (
    binary_crossentropy,
    binary_focal_crossentropy,
    categorical_crossentropy,
    categorical_focal_crossentropy,
    categorical_hinge,
    hinge,
    huber,
    kl_divergence,
    log_cosh,
    mae,
    mape,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
    mse,
    msle,
    poisson,
    sparse_categorical_crossentropy,
    squared_hinge,
)
from fnnet.metrics.auc import AUC
from fnnet.metrics.base import (
    Mean,
    MeanMetricWrapper,
    Metric,
    Sum,
    is_shape_dependent,
    merge,
    resolve,
    shape_dependent,
    weights_for,
)
from fnnet.metrics.confusion import (
    FalseNegatives,
    FalsePositives,
    Precision,
    PrecisionAtRecall,
    Recall,
    RecallAtPrecision,
    SensitivityAtSpecificity,
    SpecificityAtSensitivity,
    TrueNegatives,
    TruePositives,
)
from fnnet.metrics.fscore import F1Score, FBetaScore
from fnnet.metrics.functions import (
    binary_accuracy,
    categorical_accuracy,
    sparse_categorical_accuracy,
    sparse_top_k_categorical_accuracy,
    top_k_categorical_accuracy,
)
from fnnet.metrics.iou import BinaryIoU, IoU, MeanIoU, OneHotIoU, OneHotMeanIoU
from fnnet.metrics.mean_metrics import (
    Accuracy,
    BinaryAccuracy,
    BinaryCrossentropy,
    CategoricalAccuracy,
    CategoricalCrossentropy,
    CategoricalHinge,
    CosineSimilarity,
    Hinge,
    KLDivergence,
    LogCoshError,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    Poisson,
    RootMeanSquaredError,
    SparseCategoricalAccuracy,
    SparseCategoricalCrossentropy,
    SparseTopKCategoricalAccuracy,
    SquaredHinge,
    TopKCategoricalAccuracy,
)
from fnnet.metrics.metric_set import MetricSet
from fnnet.metrics.registry import SHAPE_RESOLVED, get, names, serialize
from fnnet.metrics.regression import R2Score

__all__ = [
    # protocol
    "Metric", "MetricSet", "merge", "get", "names", "serialize", "SHAPE_RESOLVED", "weights_for",
    "shape_dependent", "is_shape_dependent", "resolve",
    # Keras's metric classes
    "Mean", "Sum", "MeanMetricWrapper", "Accuracy", "BinaryAccuracy", "CategoricalAccuracy",
    "SparseCategoricalAccuracy", "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy",
    "MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError", "RootMeanSquaredError", "LogCoshError", "CosineSimilarity",
    "BinaryCrossentropy", "CategoricalCrossentropy", "SparseCategoricalCrossentropy",
    "KLDivergence", "Poisson", "Hinge", "SquaredHinge", "CategoricalHinge", "AUC", "Precision",
    "Recall", "TruePositives", "TrueNegatives", "FalsePositives", "FalseNegatives",
    "PrecisionAtRecall", "RecallAtPrecision", "SensitivityAtSpecificity",
    "SpecificityAtSensitivity", "F1Score", "FBetaScore", "IoU", "BinaryIoU", "MeanIoU",
    "OneHotIoU", "OneHotMeanIoU", "R2Score",
    # Keras's metric functions (per-example values)
    "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
    "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy", "binary_crossentropy",
    "categorical_crossentropy", "sparse_categorical_crossentropy", "binary_focal_crossentropy",
    "categorical_focal_crossentropy", "kl_divergence", "poisson", "hinge", "squared_hinge",
    "categorical_hinge", "huber", "log_cosh", "mean_squared_error", "mean_absolute_error",
    "mean_absolute_percentage_error", "mean_squared_logarithmic_error", "mse", "mae", "mape",
    "msle",
]
