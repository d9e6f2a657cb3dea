"""Area under the ROC or precision-recall curve (Keras's ``AUC``), from streaming counts.

The state holds the weighted confusion counts at ``num_thresholds`` thresholds (see
:mod:`~fnnet.metrics.confusion`); the area is a Riemann sum over them, computed in ``result``
exactly as Keras's (``"interpolation"``, or the careful interpolation of Davis & Goadrich
for the PR curve, ``"minoring"``, ``"majoring"``).

Example:
    >>> import jax.numpy as jnp
    >>> m = AUC(num_thresholds=3)
    >>> s = m.update(m.init(), jnp.array([0, 0, 1, 1]), jnp.array([0.0, 0.5, 0.3, 0.9]))
    >>> float(m.result(s))
    0.75
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp

from fnnet.losses.shapes import EPSILON
from fnnet.metrics.base import Metric, check_dtype, shape_dependent
from fnnet.metrics.confusion import KEYS, confusion_update, divide_no_nan, evenly_spaced

__all__ = ["AUC"]

_CURVES = {"roc": "ROC", "pr": "PR", "prgain": "PRGAIN"}
_SUMMATIONS = {"interpolation": "interpolation", "majoring": "majoring", "minoring": "minoring"}


def _label_average(by_label: jax.Array, label_weights: jax.Array | None) -> jax.Array:
    if label_weights is None:
        return jnp.mean(by_label)
    return divide_no_nan(jnp.sum(by_label * label_weights), jnp.sum(label_weights))


def _interpolate_pr_auc(s: dict, n: int, multi_label: bool, label_weights) -> jax.Array:
    """Keras's ``interpolate_pr_auc`` (Davis & Goadrich, 2006)."""
    tp, fp, fn = s["true_positives"], s["false_positives"], s["false_negatives"]
    dtp = tp[: n - 1] - tp[1:]
    p = tp + fp
    dp = p[: n - 1] - p[1:]
    prec_slope = divide_no_nan(dtp, jnp.maximum(dp, 0.0))
    intercept = tp[1:] - prec_slope * p[1:]
    safe_p_ratio = jnp.where((p[: n - 1] > 0) & (p[1:] > 0),
                             divide_no_nan(p[: n - 1], jnp.maximum(p[1:], 0.0)), 1.0)
    increment = divide_no_nan(prec_slope * (dtp + intercept * jnp.log(safe_p_ratio)),
                              jnp.maximum(tp[1:] + fn[1:], 0.0))
    if multi_label:
        return _label_average(jnp.sum(increment, axis=0), label_weights)
    return jnp.sum(increment)


def _area(s: dict, n: int, curve: str, summation: str, multi_label: bool, label_weights):
    if curve == "PR" and summation == "interpolation":
        return _interpolate_pr_auc(s, n, multi_label, label_weights)
    tp, fp, tn, fn = (s[k] for k in KEYS)
    recall = divide_no_nan(tp, tp + fn)
    if curve == "ROC":
        x, y = divide_no_nan(fp, fp + tn), recall
    elif curve == "PR":
        x, y = recall, divide_no_nan(tp, tp + fp)
    else:  # PRGAIN; Keras's fixes for no true positives and recall below the label average
        scale = divide_no_nan(tp + fn, tn + fp)
        recall_gain = 1.0 - scale * divide_no_nan(fn, tp)
        precision_gain = 1.0 - scale * divide_no_nan(fp, tp)
        x = jnp.maximum(jnp.where(tp == 0.0, 0.0, recall_gain), 0.0)
        y = jnp.where(tp == 0.0, 1.0, precision_gain)
    if summation == "interpolation":
        heights = (y[: n - 1] + y[1:]) / 2.0
    elif summation == "minoring":
        heights = jnp.minimum(y[: n - 1], y[1:])
    else:
        heights = jnp.maximum(y[: n - 1], y[1:])
    terms = (x[: n - 1] - x[1:]) * heights
    if multi_label:
        return _label_average(jnp.sum(terms, axis=0), label_weights)
    return jnp.sum(terms)


def AUC(  # noqa: N802 (Keras's name)
    num_thresholds: int = 200,
    curve: str = "ROC",
    summation_method: str = "interpolation",
    name: str | None = None,
    dtype: Any = None,
    thresholds: Sequence[float] | None = None,
    multi_label: bool = False,
    num_labels: int | None = None,
    label_weights: Sequence[float] | None = None,
    from_logits: bool = False,
) -> Metric:
    """The area under the ROC (or PR) curve, approximated over thresholds, as Keras's ``AUC``.

    Args:
        num_thresholds: > 1; thresholds ``i / (num_thresholds - 1)``, the first and last moved
            by 1e-7 outside [0, 1]. Ignored when ``thresholds`` is given.
        curve: ``"ROC"``, ``"PR"`` or ``"PRGAIN"`` (any case).
        summation_method: ``"interpolation"``, ``"minoring"`` or ``"majoring"``.
        name: reported name; default ``"auc"``.
        dtype: None or float32.
        thresholds: explicit thresholds in [0, 1] (0 - 1e-7 and 1 + 1e-7 are added).
        multi_label: one curve per label (``y_pred`` of shape ``(batch, labels)``), averaged;
            else every entry is one prediction of a single curve.
        num_labels: the number of labels with ``multi_label``; None takes it from the data
            (see :func:`~fnnet.metrics.resolve`).
        label_weights: per-label weights: of the averaged areas with ``multi_label``, else of
            the counts.
        from_logits: whether ``y_pred`` holds logits (a sigmoid is applied first).

    State: ``true_positives``, ``false_positives``, ``true_negatives``, ``false_negatives``,
    each of shape ``(num_thresholds,)`` (``(num_thresholds, labels)`` with ``multi_label``).

    Example:
        >>> import jax.numpy as jnp
        >>> m = AUC()
        >>> s = m.update(m.init(), jnp.array([0, 0, 1, 1]), jnp.array([0.1, 0.4, 0.35, 0.8]))
        >>> round(float(m.result(s)), 4)
        0.75
    """
    owner = "AUC"
    check_dtype(owner, dtype)
    if name is not None and not isinstance(name, str):
        raise TypeError(f"AUC: name must be a string or None; got {name!r}.")
    name = name or "auc"
    curve_key = _CURVES.get(str(curve).lower())
    if curve_key is None:
        raise ValueError(f"AUC: curve must be 'ROC', 'PR' or 'PRGAIN'; got curve={curve!r}.")
    summation = _SUMMATIONS.get(str(summation_method).lower())
    if summation is None:
        raise ValueError(
            f"AUC: summation_method must be 'interpolation', 'majoring' or 'minoring'; got "
            f"summation_method={summation_method!r}."
        )
    if thresholds is not None:
        values = sorted(float(t) for t in thresholds)
        if any(not 0.0 <= t <= 1.0 for t in values):
            raise ValueError(f"AUC: thresholds must lie in [0, 1]; got thresholds={thresholds!r}.")
        evenly = evenly_spaced([0.0] + values + [1.0])
    else:
        if isinstance(num_thresholds, bool) or not isinstance(num_thresholds, int) or \
                num_thresholds <= 1:
            raise ValueError(
                f"AUC: num_thresholds must be an int > 1; got num_thresholds={num_thresholds!r}.")
        values = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
        evenly = True
    # Endpoints just outside [0, 1] for floating-point imprecision, as Keras's.
    values = [0.0 - EPSILON] + values + [1.0 + EPSILON]
    n = len(values)
    if not isinstance(multi_label, bool):
        raise TypeError(f"AUC: multi_label must be True or False; got {multi_label!r}.")
    if num_labels is not None and not multi_label:
        raise ValueError(
            f"AUC: num_labels={num_labels!r} is only used with multi_label=True; drop it or "
            f"pass multi_label=True."
        )
    weights = None if label_weights is None else jnp.asarray(label_weights, jnp.float32)

    def build(labels: int | None) -> Metric:
        shape = (n, labels) if multi_label else (n,)

        def init():
            return {k: jnp.zeros(shape, jnp.float32) for k in KEYS}

        def update(state, y_true, y_pred, sample_weight=None, mask=None):
            y_pred = jnp.asarray(y_pred)
            if from_logits:
                y_pred = jax.nn.sigmoid(y_pred.astype(jnp.float32))
            return confusion_update(name, state, y_true, y_pred, values, evenly=evenly,
                                    sample_weight=sample_weight, mask=mask,
                                    multi_label=multi_label,
                                    label_weights=None if multi_label else weights)

        def result(state):
            return _area(state, n, curve_key, summation, multi_label, weights)

        return Metric(init, update, result, name)

    if not multi_label:
        return build(None)
    if num_labels is not None:
        return build(num_labels)

    def from_shapes(y_true_shape: tuple, y_pred_shape: tuple) -> Metric:
        if len(y_pred_shape) != 2 or y_pred_shape[-1] is None:
            raise ValueError(
                f"AUC(multi_label=True): y_pred must have shape (batch, labels) with a known "
                f"number of labels; got y_pred shape {y_pred_shape}."
            )
        return build(int(y_pred_shape[-1]))

    return shape_dependent("AUC(multi_label=True)", name, from_shapes)
