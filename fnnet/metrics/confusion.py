"""Confusion-matrix metrics: true/false positive/negative counts at thresholds, and what
Keras computes from them (precision, recall, and one at a fixed value of another).

The state holds weighted counts per threshold (float32 arrays of shape ``(thresholds,)``),
updated as Keras's ``update_confusion_matrix_variables`` does: a prediction is positive at
threshold ``t`` when ``y_pred > t``, a label is positive when non-zero; every entry of
``y_pred`` counts (all classes, all steps) with its example's weight. Evenly spaced thresholds
(at least 3, from 0 to 1, as the ``num_thresholds`` metrics use) take Keras's bucketed fast
path, with its rounding.

Example:
    >>> import jax.numpy as jnp
    >>> m = Precision(thresholds=[0.3, 0.7])
    >>> s = m.update(m.init(), jnp.array([1, 0, 1, 0]), jnp.array([0.9, 0.6, 0.4, 0.1]))
    >>> m.result(s)  # at 0.3: 2 of 3 positives are right; at 0.7: 1 of 1
    Array([0.6667, 1.    ], dtype=float32)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from fnnet.losses.shapes import EPSILON, squeeze_or_expand
from fnnet.metrics.base import Metric, check_dtype, default_name, spread, weights_for

__all__ = [
    "NEG_INF",
    "parse_thresholds",
    "evenly_spaced",
    "confusion_update",
    "divide_no_nan",
    "TruePositives",
    "TrueNegatives",
    "FalsePositives",
    "FalseNegatives",
    "Precision",
    "Recall",
    "SensitivityAtSpecificity",
    "SpecificityAtSensitivity",
    "PrecisionAtRecall",
    "RecallAtPrecision",
]

NEG_INF = -1e10  # Keras's stand-in score for predictions outside the top k
KEYS = ("true_positives", "false_positives", "true_negatives", "false_negatives")


def divide_no_nan(a: jax.Array, b: jax.Array) -> jax.Array:
    """``a / b``, and 0 where ``b == 0`` (Keras's ``divide_no_nan``).

    Example:
        >>> import jax.numpy as jnp
        >>> divide_no_nan(jnp.array([1.0, 1.0]), jnp.array([2.0, 0.0]))
        Array([0.5, 0. ], dtype=float32)
    """
    return jnp.where(b == 0, 0.0, a / jnp.where(b == 0, 1.0, b))


def parse_thresholds(owner: str, thresholds: Any, default: float = 0.5) -> list[float]:
    """``thresholds`` (None, a float, or a list of floats in [0, 1]) as a list of floats.

    Example:
        >>> parse_thresholds("Precision", None), parse_thresholds("Precision", [0.2, 0.8])
        ([0.5], [0.2, 0.8])
    """
    if thresholds is None:
        return [default]
    values = list(thresholds) if isinstance(thresholds, (list, tuple, np.ndarray)) else [thresholds]
    bad = [t for t in values if isinstance(t, bool) or not isinstance(t, (int, float, np.number))
           or not 0.0 <= t <= 1.0]
    if bad or not values:
        raise ValueError(
            f"{owner}: thresholds must be a float or a non-empty list of floats in [0, 1]; got "
            f"thresholds={thresholds!r}. Pass e.g. thresholds=[0.25, 0.5, 0.75]."
        )
    return [float(t) for t in values]


def evenly_spaced(thresholds: Sequence[float]) -> bool:
    """Whether ``thresholds`` are ``i / (n - 1)`` for ``n >= 3`` (Keras's fast-path test).

    Example:
        >>> evenly_spaced([0.0, 0.5, 1.0]), evenly_spaced([0.2, 0.5])
        (True, False)
    """
    n = len(thresholds)
    return n >= 3 and bool(np.allclose(thresholds, np.arange(n, dtype=np.float32) / (n - 1),
                                       atol=EPSILON))


def _bucketed(y_true, y_pred, weights, n, with_epsilon, multi_label):
    """Keras's ``_update_confusion_matrix_variables_optimized``: (tp, fp, fn, tn)."""
    y_pred = jnp.clip(y_pred, 0.0, 1.0)
    y_true = (y_true != 0).astype(jnp.float32)
    if not multi_label:
        y_true, y_pred, weights = y_true.reshape(-1), y_pred.reshape(-1), weights.reshape(-1)
    true_labels = y_true * weights
    false_labels = (1.0 - y_true) * weights
    bucket = jnp.ceil(y_pred * jnp.float32(n - 1)) - 1.0
    if with_epsilon:  # every prediction is above the first threshold, -epsilon
        bucket = jnp.maximum(bucket, 0.0)
    bucket = bucket.astype(jnp.int32)

    def above(labels, ids):  # weight of the predictions above each threshold
        counts = jax.ops.segment_sum(labels, ids, num_segments=n)
        return jnp.flip(jnp.cumsum(jnp.flip(counts)))

    if multi_label:  # one column per label
        tp = jax.vmap(above)(true_labels.T, bucket.T).T
        fp = jax.vmap(above)(false_labels.T, bucket.T).T
        return tp, fp, jnp.sum(true_labels, axis=0)[None] - tp, jnp.sum(false_labels, axis=0)[None] - fp
    tp, fp = above(true_labels, bucket), above(false_labels, bucket)
    return tp, fp, jnp.sum(true_labels) - tp, jnp.sum(false_labels) - fp


def _compared(y_true, y_pred, weights, thresholds, multi_label):
    """Keras's general path: compare every prediction with every threshold."""
    t = jnp.asarray(np.asarray(thresholds, np.float32))
    if multi_label:
        pred_pos = y_pred[None] > t[:, None, None]  # (thresholds, batch, labels)
        label_pos, w = (y_true != 0)[None], weights[None]
    else:
        pred_pos = y_pred.reshape(1, -1) > t[:, None]  # (thresholds, entries)
        label_pos, w = (y_true != 0).reshape(1, -1), weights.reshape(1, -1)

    def count(label, pred):
        return jnp.sum(jnp.where(label & pred, w, 0.0), axis=1)

    return (count(label_pos, pred_pos), count(~label_pos, pred_pos),
            count(label_pos, ~pred_pos), count(~label_pos, ~pred_pos))


def confusion_update(
    where: str,
    state: dict,
    y_true: ArrayLike,
    y_pred: ArrayLike,
    thresholds: Sequence[float],
    *,
    sample_weight: ArrayLike | None = None,
    mask: ArrayLike | None = None,
    evenly: bool = False,
    top_k: int | None = None,
    class_id: int | None = None,
    multi_label: bool = False,
    label_weights: ArrayLike | None = None,
) -> dict:
    """``state`` (a dict of some of ``true_positives``, ``false_positives``, ``true_negatives``,
    ``false_negatives``) plus this batch's weighted counts at each threshold.

    Args:
        where: the metric's name, for error messages.
        state: the counts so far, each of shape ``(thresholds,)`` (``(thresholds, labels)``
            with ``multi_label``).
        y_true: labels, positive where non-zero, shape ``(batch, ...)``.
        y_pred: scores in [0, 1], the same shape (up to a trailing axis of size 1).
        thresholds: sorted floats; with ``evenly``, ``i / (n - 1)`` (possibly with the first
            and last moved by an epsilon outside [0, 1], as AUC's).
        sample_weight, mask: per example (see :func:`~fnnet.metrics.weights_for`).
        evenly: use Keras's bucketed path (the thresholds must be evenly spaced).
        top_k: only each example's ``k`` largest scores can be positive.
        class_id: count only this class (the last axis).
        multi_label: keep one count per label (the last axis) instead of pooling them.
        label_weights: per-class weights (the last axis), when not ``multi_label``.

    Example:
        >>> import jax.numpy as jnp
        >>> state = {"true_positives": jnp.zeros(1), "false_positives": jnp.zeros(1)}
        >>> confusion_update("m", state, jnp.array([1, 0, 1]), jnp.array([0.9, 0.8, 0.2]), [0.5])
        {'true_positives': Array([1.], dtype=float32), 'false_positives': Array([1.], dtype=float32)}
    """
    y_pred = jnp.asarray(y_pred).astype(jnp.float32)
    y_pred, y_true = squeeze_or_expand(y_pred, jnp.asarray(y_true).astype(jnp.float32))
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"{where}: y_true and y_pred must have the same shape (one label per prediction), "
            f"got y_true.shape={y_true.shape} and y_pred.shape={y_pred.shape}. For integer "
            f"class ids, one-hot encode them first (fnnet.utils.to_categorical)."
        )
    w, keep = weights_for(where, y_pred.shape, sample_weight, mask)
    w = spread(w, y_pred.shape)
    if keep is not None:  # padded rows may hold NaN
        keep = spread(keep, y_pred.shape)
        y_pred = jnp.where(keep, y_pred, 0.0)
        y_true = jnp.where(keep, y_true, 0.0)
    if top_k is not None:
        _, top = jax.lax.top_k(y_pred, top_k)
        in_top = jnp.sum(jax.nn.one_hot(top, y_pred.shape[-1], dtype=jnp.float32), axis=-2)
        y_pred = y_pred * in_top + NEG_INF * (1.0 - in_top)
    if class_id is not None:
        if y_pred.ndim < 2:
            raise ValueError(
                f"{where}: class_id={class_id} needs y_pred of shape (batch, classes); got "
                f"y_pred.shape={y_pred.shape}."
            )
        y_true, y_pred, w = (a[..., class_id, None] for a in (y_true, y_pred, w))
    if label_weights is not None and not multi_label:
        w = w * jnp.broadcast_to(jnp.asarray(label_weights, jnp.float32), y_pred.shape)
    if evenly:
        with_epsilon = thresholds[0] < 0.0 or thresholds[-1] > 1.0
        tp, fp, fn, tn = _bucketed(y_true, y_pred, w, len(thresholds), with_epsilon, multi_label)
    else:
        tp, fp, fn, tn = _compared(y_true, y_pred, w, thresholds, multi_label)
    counts = dict(zip(KEYS, (tp, fp, tn, fn), strict=True))
    return {k: state[k] + counts[k] for k in state}


def _zeros(keys: Sequence[str], shape: tuple[int, ...]) -> Callable[[], dict]:
    return lambda: {k: jnp.zeros(shape, jnp.float32) for k in keys}


def _name(owner: str, name: str | None) -> str:
    if name is not None and not isinstance(name, str):
        raise TypeError(f"{owner}: name must be a string or None; got {name!r}.")
    return name or default_name(owner)


def _condition_count(owner: str, key: str, thresholds: Any, name: str | None,
                     dtype: Any) -> Metric:
    check_dtype(owner, dtype)
    name = _name(owner, name)
    values = parse_thresholds(owner, thresholds)
    evenly = evenly_spaced(values)

    def update(state, y_true, y_pred, sample_weight=None, mask=None):
        return confusion_update(name, state, y_true, y_pred, values, evenly=evenly,
                                sample_weight=sample_weight, mask=mask)

    def result(state):
        return state[key][0] if len(values) == 1 else state[key]

    return Metric(_zeros((key,), (len(values),)), update, result, name)


def TruePositives(thresholds: float | Sequence[float] | None = None,  # noqa: N802
                  name: str | None = None, dtype: Any = None) -> Metric:
    """The weighted number of true positives at each threshold (0.5 by default).

    The result is a scalar for one threshold, else one count per threshold.

    Example:
        >>> import jax.numpy as jnp
        >>> m = TruePositives()
        >>> float(m.result(m.update(m.init(), jnp.array([0, 1, 1, 1]), jnp.array([1, 0, 1, 1]))))
        2.0
    """
    return _condition_count("TruePositives", "true_positives", thresholds, name, dtype)


def TrueNegatives(thresholds: float | Sequence[float] | None = None,  # noqa: N802
                  name: str | None = None, dtype: Any = None) -> Metric:
    """The weighted number of true negatives at each threshold (0.5 by default).

    Example:
        >>> import jax.numpy as jnp
        >>> m = TrueNegatives()
        >>> float(m.result(m.update(m.init(), jnp.array([0, 1, 0, 0]), jnp.array([1, 1, 0, 0]))))
        2.0
    """
    return _condition_count("TrueNegatives", "true_negatives", thresholds, name, dtype)


def FalsePositives(thresholds: float | Sequence[float] | None = None,  # noqa: N802
                   name: str | None = None, dtype: Any = None) -> Metric:
    """The weighted number of false positives at each threshold (0.5 by default).

    Example:
        >>> import jax.numpy as jnp
        >>> m = FalsePositives()
        >>> float(m.result(m.update(m.init(), jnp.array([0, 1, 0, 0]), jnp.array([0, 0, 1, 1]))))
        2.0
    """
    return _condition_count("FalsePositives", "false_positives", thresholds, name, dtype)


def FalseNegatives(thresholds: float | Sequence[float] | None = None,  # noqa: N802
                   name: str | None = None, dtype: Any = None) -> Metric:
    """The weighted number of false negatives at each threshold (0.5 by default).

    Example:
        >>> import jax.numpy as jnp
        >>> m = FalseNegatives()
        >>> float(m.result(m.update(m.init(), jnp.array([0, 1, 1, 1]), jnp.array([0, 1, 0, 0]))))
        2.0
    """
    return _condition_count("FalseNegatives", "false_negatives", thresholds, name, dtype)


def _check_class_id(owner: str, class_id: Any) -> int | None:
    if class_id is not None and (isinstance(class_id, bool) or not isinstance(class_id, int)
                                 or class_id < 0):
        raise ValueError(f"{owner}: class_id must be an int >= 0 or None; got {class_id!r}.")
    return class_id


def _ratio(owner: str, numerator_keys: tuple[str, str], thresholds, top_k, class_id, name,
           dtype) -> Metric:
    check_dtype(owner, dtype)
    name = _name(owner, name)
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        raise ValueError(f"{owner}: top_k must be a positive int or None; got {top_k!r}.")
    class_id = _check_class_id(owner, class_id)
    values = parse_thresholds(owner, thresholds, 0.5 if top_k is None else NEG_INF)
    evenly = evenly_spaced(values)
    hit, miss = numerator_keys

    def update(state, y_true, y_pred, sample_weight=None, mask=None):
        return confusion_update(name, state, y_true, y_pred, values, evenly=evenly, top_k=top_k,
                                class_id=class_id, sample_weight=sample_weight, mask=mask)

    def result(state):
        value = divide_no_nan(state[hit], state[hit] + state[miss])
        return value[0] if len(values) == 1 else value

    return Metric(_zeros(numerator_keys, (len(values),)), update, result, name)


def Precision(thresholds: float | Sequence[float] | None = None, top_k: int | None = None,  # noqa: N802
              class_id: int | None = None, name: str | None = None, dtype: Any = None) -> Metric:
    """``TP / (TP + FP)`` at each threshold (0.5 by default), as Keras's ``Precision``.

    Args:
        thresholds: a float or a list of floats in [0, 1]; a list gives one value each.
        top_k: only each example's ``top_k`` largest scores count as positive (the default
            threshold is then -inf: every top-k prediction is positive).
        class_id: compute it for this class only (the last axis of ``y_pred``).
        name: reported name; default ``"precision"``.
        dtype: None or float32.

    Example:
        >>> import jax.numpy as jnp
        >>> m = Precision()
        >>> float(m.result(m.update(m.init(), jnp.array([0, 1, 1, 1]), jnp.array([1, 0, 1, 1]))))
        0.6667
    """
    return _ratio("Precision", ("true_positives", "false_positives"), thresholds, top_k,
                  class_id, name, dtype)


def Recall(thresholds: float | Sequence[float] | None = None, top_k: int | None = None,  # noqa: N802
           class_id: int | None = None, name: str | None = None, dtype: Any = None) -> Metric:
    """``TP / (TP + FN)`` at each threshold (0.5 by default), as Keras's ``Recall``.

    Arguments as :func:`Precision`; the default name is ``"recall"``.

    Example:
        >>> import jax.numpy as jnp
        >>> m = Recall()
        >>> float(m.result(m.update(m.init(), jnp.array([0, 1, 1, 1]), jnp.array([1, 0, 1, 1]))))
        0.6667
    """
    return _ratio("Recall", ("true_positives", "false_negatives"), thresholds, top_k, class_id,
                  name, dtype)


# --- one rate at a fixed value of another -------------------------------------------------------


def _at_value(owner: str, arg: str, value: Any, num_thresholds: Any, class_id: Any, name: Any,
              dtype: Any, rates: Callable[[dict], tuple[jax.Array, jax.Array]]) -> Metric:
    check_dtype(owner, dtype)
    name = _name(owner, name)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{owner}: {arg} must be a float in [0, 1]; got {arg}={value!r}.")
    if isinstance(num_thresholds, bool) or not isinstance(num_thresholds, int) or num_thresholds < 1:
        raise ValueError(f"{owner}: num_thresholds must be an int > 0; got {num_thresholds!r}.")
    class_id = _check_class_id(owner, class_id)
    if num_thresholds == 1:
        values, evenly = [0.5], False
    else:
        values = [0.0] + [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)] + [1.0]
        evenly = True

    def update(state, y_true, y_pred, sample_weight=None, mask=None):
        return confusion_update(name, state, y_true, y_pred, values, evenly=evenly,
                                class_id=class_id, sample_weight=sample_weight, mask=mask)

    def result(state):
        constrained, dependent = rates(state)
        return jnp.max(jnp.where(constrained >= value, dependent, 0.0), initial=0.0)

    return Metric(_zeros(KEYS, (len(values),)), update, result, name)


def _sensitivity(s):
    return divide_no_nan(s["true_positives"], s["true_positives"] + s["false_negatives"])


def _specificity(s):
    return divide_no_nan(s["true_negatives"], s["true_negatives"] + s["false_positives"])


def _precision(s):
    return divide_no_nan(s["true_positives"], s["true_positives"] + s["false_positives"])


def SensitivityAtSpecificity(specificity: float, num_thresholds: int = 200,  # noqa: N802
                             class_id: int | None = None, name: str | None = None,
                             dtype: Any = None) -> Metric:
    """The best sensitivity (recall) over thresholds where the specificity is >= ``specificity``.

    ``num_thresholds`` evenly spaced thresholds in [0, 1] (one, 0.5, if 1).

    Example:
        >>> import jax.numpy as jnp
        >>> m = SensitivityAtSpecificity(0.5)
        >>> s = m.update(m.init(), jnp.array([0, 0, 0, 1, 1]), jnp.array([0.0, 0.3, 0.8, 0.3, 0.8]))
        >>> float(m.result(s))
        0.5
    """
    return _at_value("SensitivityAtSpecificity", "specificity", specificity, num_thresholds,
                     class_id, name, dtype, lambda s: (_specificity(s), _sensitivity(s)))


def SpecificityAtSensitivity(sensitivity: float, num_thresholds: int = 200,  # noqa: N802
                             class_id: int | None = None, name: str | None = None,
                             dtype: Any = None) -> Metric:
    """The best specificity over thresholds where the sensitivity is >= ``sensitivity``.

    Example:
        >>> import jax.numpy as jnp
        >>> m = SpecificityAtSensitivity(0.5)
        >>> s = m.update(m.init(), jnp.array([0, 0, 0, 1, 1]), jnp.array([0.0, 0.3, 0.8, 0.3, 0.8]))
        >>> round(float(m.result(s)), 4)
        0.6667
    """
    return _at_value("SpecificityAtSensitivity", "sensitivity", sensitivity, num_thresholds,
                     class_id, name, dtype, lambda s: (_sensitivity(s), _specificity(s)))


def PrecisionAtRecall(recall: float, num_thresholds: int = 200,  # noqa: N802
                      class_id: int | None = None, name: str | None = None,
                      dtype: Any = None) -> Metric:
    """The best precision over thresholds where the recall is >= ``recall``.

    Example:
        >>> import jax.numpy as jnp
        >>> m = PrecisionAtRecall(0.5)
        >>> s = m.update(m.init(), jnp.array([0, 0, 1, 1]), jnp.array([0.0, 0.3, 0.8, 0.4]))
        >>> float(m.result(s))
        1.0
    """
    return _at_value("PrecisionAtRecall", "recall", recall, num_thresholds, class_id, name,
                     dtype, lambda s: (_sensitivity(s), _precision(s)))


def RecallAtPrecision(precision: float, num_thresholds: int = 200,  # noqa: N802
                      class_id: int | None = None, name: str | None = None,
                      dtype: Any = None) -> Metric:
    """The best recall over thresholds where the precision is >= ``precision``.

    Example:
        >>> import jax.numpy as jnp
        >>> m = RecallAtPrecision(0.8)
        >>> s = m.update(m.init(), jnp.array([0, 0, 1, 1]), jnp.array([0.0, 0.3, 0.8, 0.4]))
        >>> float(m.result(s))
        1.0
    """
    return _at_value("RecallAtPrecision", "precision", precision, num_thresholds, class_id, name,
                     dtype, lambda s: (_precision(s), _sensitivity(s)))
