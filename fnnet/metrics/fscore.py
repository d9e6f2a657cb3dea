"""F-scores (Keras's ``FBetaScore`` and ``F1Score``) from streaming per-class counts.

``y_true`` and ``y_pred`` have shape ``(batch, classes)``: one-hot (or multi-hot) targets and
scores. With ``threshold=None`` the top-scoring class of each example is the prediction;
else every score above ``threshold``. The state holds the weighted true-positive,
false-positive and false-negative counts and the label weights per class (one sum each with
``average="micro"``), so the number of classes comes from the data: the metric is
shape-dependent until :func:`fnnet.metrics.get` (or ``fit``) resolves it.

Example:
    >>> import jax.numpy as jnp
    >>> from fnnet.metrics import get
    >>> m = get(F1Score(average="macro"), y_true_shape=(None, 2), y_pred_shape=(None, 2))
    >>> y_true = jnp.array([[1, 0], [0, 1], [0, 1]])
    >>> s = m.update(m.init(), y_true, jnp.array([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8]]))
    >>> round(float(m.result(s)), 4)  # class 0: P = 1/2, R = 1; class 1: P = 1, R = 1/2
    0.6667
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from fnnet.losses.shapes import EPSILON
from fnnet.metrics.base import Metric, check_dtype, shape_dependent, spread, weights_for

__all__ = ["FBetaScore", "F1Score"]

_AVERAGES = (None, "micro", "macro", "weighted")
_KEYS = ("true_positives", "false_positives", "false_negatives", "intermediate_weights")


def _fbeta(owner: str, average: Any, beta: Any, threshold: Any, name: Any, dtype: Any) -> Metric:
    check_dtype(owner, dtype)
    if not isinstance(name, str):
        raise TypeError(f"{owner}: name must be a string; got {name!r}.")
    if average not in _AVERAGES:
        raise ValueError(
            f"{owner}: average must be None, 'micro', 'macro' or 'weighted'; got "
            f"average={average!r}."
        )
    if not isinstance(beta, float) or beta <= 0.0:
        raise ValueError(f"{owner}: beta must be a Python float > 0; got beta={beta!r}.")
    if threshold is not None and (not isinstance(threshold, float) or not 0.0 < threshold <= 1.0):
        raise ValueError(
            f"{owner}: threshold must be None or a Python float in (0, 1]; got "
            f"threshold={threshold!r}."
        )
    axis = None if average == "micro" else 0

    def build(y_true_shape: tuple, y_pred_shape: tuple) -> Metric:
        if average != "micro" and (len(y_pred_shape) != 2 or len(y_true_shape) != 2
                                   or y_pred_shape[-1] is None):
            raise ValueError(
                f"{owner}: expects 2-D y_true and y_pred of shape (batch, classes) with a known "
                f"number of classes; got y_true shape {y_true_shape} and y_pred shape "
                f"{y_pred_shape}."
            )
        shape = () if average == "micro" else (int(y_pred_shape[-1]),)

        def init():
            return {k: jnp.zeros(shape, jnp.float32) for k in _KEYS}

        def update(state, y_true, y_pred, sample_weight=None, mask=None):
            y_true = jnp.asarray(y_true).astype(jnp.float32)
            y_pred = jnp.asarray(y_pred).astype(jnp.float32)
            if y_true.shape != y_pred.shape or y_pred.ndim != 2:
                raise ValueError(
                    f"{name}: y_true and y_pred must both have shape (batch, classes); got "
                    f"y_true.shape={y_true.shape} and y_pred.shape={y_pred.shape}."
                )
            w, keep = weights_for(name, y_pred.shape[:1], sample_weight, mask)
            if keep is not None:  # padded rows may hold NaN
                y_true = jnp.where(keep[:, None], y_true, 0.0)
                y_pred = jnp.where(keep[:, None], y_pred, 0.0)
            if threshold is None:
                top = jnp.max(y_pred, axis=-1, keepdims=True)
                # abs > 1e-9, not != 0: an all-zero row predicts nothing, as in Keras
                predicted = (y_pred >= top) & (jnp.abs(y_pred) > 1e-9)
            else:
                predicted = y_pred > threshold
            predicted = predicted.astype(jnp.float32)
            w = spread(w, y_pred.shape)

            def weighted_sum(values):
                return jnp.sum(values * w, axis=axis)

            counts = (weighted_sum(predicted * y_true), weighted_sum(predicted * (1.0 - y_true)),
                      weighted_sum((1.0 - predicted) * y_true), weighted_sum(y_true))
            return {k: state[k] + c for k, c in zip(_KEYS, counts, strict=True)}

        def result(state):
            tp = state["true_positives"]
            precision = tp / (tp + state["false_positives"] + EPSILON)
            recall = tp / (tp + state["false_negatives"] + EPSILON)
            mean = precision * recall / (beta ** 2 * precision + recall + EPSILON)
            score = mean * (1.0 + beta ** 2)
            if average == "weighted":
                iw = state["intermediate_weights"]
                return jnp.sum(score * iw / (jnp.sum(iw) + EPSILON))
            if average is not None:
                return jnp.mean(score)
            return score

        return Metric(init, update, result, name)

    if average == "micro":  # one sum each: no class axis to learn from the data
        return build((None, None), (None, None))
    return shape_dependent(owner, name, build)


def FBetaScore(average: str | None = None, beta: float = 1.0,  # noqa: N802 (Keras's name)
               threshold: float | None = None, name: str = "fbeta_score",
               dtype: Any = None) -> Metric:
    """``(1 + beta**2) * P * R / (beta**2 * P + R)`` per class, as Keras's ``FBetaScore``.

    Args:
        average: None (one score per class), ``"micro"`` (pooled counts), ``"macro"`` (mean
            of the class scores) or ``"weighted"`` (weighted by each class's label weight).
        beta: a Python float > 0: the weight of recall relative to precision.
        threshold: None (the top class of each example is predicted) or a Python float in
            (0, 1] (every score above it is).
        name: reported name.
        dtype: None or float32.

    Example:
        >>> import jax.numpy as jnp
        >>> from fnnet.metrics import get
        >>> m = get(FBetaScore(beta=2.0, threshold=0.5), y_true_shape=(None, 2), y_pred_shape=(None, 2))
        >>> s = m.update(m.init(), jnp.array([[1, 1], [0, 1]]), jnp.array([[0.9, 0.2], [0.7, 0.8]]))
        >>> m.result(s)  # class 0: P = 1/2, R = 1; class 1: P = 1, R = 1/2
        Array([0.8333, 0.5556], dtype=float32)
    """
    return _fbeta("FBetaScore", average, beta, threshold, name, dtype)


def F1Score(average: str | None = None, threshold: float | None = None,  # noqa: N802
            name: str = "f1_score", dtype: Any = None) -> Metric:
    """The harmonic mean of precision and recall: :func:`FBetaScore` with ``beta=1.0``.

    Example:
        >>> import jax.numpy as jnp
        >>> m = F1Score(average="micro", threshold=0.5)
        >>> s = m.update(m.init(), jnp.array([[1, 0], [0, 1]]), jnp.array([[0.9, 0.8], [0.1, 0.7]]))
        >>> round(float(m.result(s)), 4)  # TP 2, FP 1, FN 0
        0.8
    """
    return _fbeta("F1Score", average, 1.0, threshold, name, dtype)

