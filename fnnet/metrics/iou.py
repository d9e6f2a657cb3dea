"""Intersection-over-union metrics from a streaming confusion matrix (Keras's IoU family).

The state is the weighted confusion matrix ``{"total_confusion_matrix": f32[n, n]}``, rows the
true class and columns the predicted one, accumulated over every entry (all pixels): an IoU
is ``TP / (TP + FP + FN)`` per class from its row and column. Class ids outside
``[0, num_classes)`` and ``ignore_class`` are left out, as in Keras.

Deviation from Keras: Keras keeps this matrix in int32 by default, so it truncates fractional
sample weights; here they count as given (whole weights agree exactly).

Example:
    >>> import jax.numpy as jnp
    >>> m = MeanIoU(num_classes=2)
    >>> s = m.update(m.init(), jnp.array([0, 0, 1, 1]), jnp.array([0, 1, 0, 1]))
    >>> m.result(s)  # 1 / (2 + 2 - 1) for each class
    Array(0.3333, dtype=float32)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax.numpy as jnp
import numpy as np

from fnnet.losses.shapes import EPSILON
from fnnet.metrics.base import Metric, check_dtype, default_name, spread, weights_for

__all__ = ["IoU", "BinaryIoU", "MeanIoU", "OneHotIoU", "OneHotMeanIoU"]


def _check_int(owner: str, key: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{owner}: {key} must be an int >= {minimum}; got {key}={value!r}.")
    return value


def _iou(owner: str, num_classes: Any, target_class_ids: Sequence[int], name: Any, dtype: Any,
         ignore_class: Any, sparse_y_true: bool, sparse_y_pred: bool, axis: int,
         threshold: float | None = None) -> Metric:
    check_dtype(owner, dtype)
    num_classes = _check_int(owner, "num_classes", num_classes, 1)
    ids = [_check_int(owner, "target_class_ids", int(i) if isinstance(i, np.integer) else i, 0)
           for i in target_class_ids]
    if not ids or max(ids) >= num_classes:
        raise ValueError(
            f"{owner}: target_class_ids must be a non-empty list of class ids in [0, "
            f"{num_classes}); got {list(target_class_ids)!r}."
        )
    if ignore_class is not None and (isinstance(ignore_class, bool) or not isinstance(ignore_class, int)):
        raise TypeError(f"{owner}: ignore_class must be an int class id or None; got {ignore_class!r}.")
    if name is not None and not isinstance(name, str):
        raise TypeError(f"{owner}: name must be a string or None; got {name!r}.")
    name = name or default_name(owner)
    target = jnp.asarray(ids, jnp.int32)

    def init():
        return {"total_confusion_matrix": jnp.zeros((num_classes, num_classes), jnp.float32)}

    def update(state, y_true, y_pred, sample_weight=None, mask=None):
        y_true, y_pred = jnp.asarray(y_true), jnp.asarray(y_pred)
        if not sparse_y_true:
            y_true = jnp.argmax(y_true, axis=axis)
        if not sparse_y_pred:
            y_pred = jnp.argmax(y_pred, axis=axis)
        if threshold is not None:  # BinaryIoU: a score at or above the threshold is class 1
            y_pred = y_pred.astype(jnp.float32) >= threshold
        # Keras converts ids to int: a float id is truncated toward 0.
        y_true, y_pred = y_true.astype(jnp.int32), y_pred.astype(jnp.int32)
        if y_true.ndim == y_pred.ndim + 1 and y_true.shape[-1] == 1:
            y_true = y_true[..., 0]
        elif y_pred.ndim == y_true.ndim + 1 and y_pred.shape[-1] == 1:
            y_pred = y_pred[..., 0]
        if y_true.shape != y_pred.shape:
            raise ValueError(
                f"{name}: y_true and y_pred must hold one class id per entry, of the same shape "
                f"(after the argmax of one-hot inputs); got y_true.shape={y_true.shape} and "
                f"y_pred.shape={y_pred.shape}."
            )
        w, keep = weights_for(name, y_true.shape, sample_weight, mask)
        w = spread(w, y_true.shape)
        valid = (y_true >= 0) & (y_true < num_classes) & (y_pred >= 0) & (y_pred < num_classes)
        if ignore_class is not None:
            valid = valid & (y_true != ignore_class)
        if keep is not None:
            valid = valid & spread(keep, y_true.shape)
        w = jnp.where(valid, w, 0.0).reshape(-1)
        rows = jnp.where(valid, y_true, 0).reshape(-1)
        cols = jnp.where(valid, y_pred, 0).reshape(-1)
        matrix = jnp.zeros((num_classes, num_classes), jnp.float32).at[rows, cols].add(w)
        return {"total_confusion_matrix": state["total_confusion_matrix"] + matrix}

    def result(state):
        cm = state["total_confusion_matrix"]
        tp = jnp.diag(cm)
        denominator = jnp.sum(cm, axis=0) + jnp.sum(cm, axis=1) - tp
        tp, denominator = tp[target], denominator[target]
        valid = denominator > 1e-9  # a class never seen nor predicted is left out of the mean
        iou = jnp.where(valid, tp / (denominator + EPSILON), 0.0)
        return jnp.sum(iou) / (jnp.sum(valid.astype(jnp.float32)) + EPSILON)

    return Metric(init, update, result, name)


def _bool(owner: str, key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{owner}: {key} must be True or False; got {value!r}.")
    return value


def IoU(num_classes: int, target_class_ids: Sequence[int], name: str | None = None,  # noqa: N802
        dtype: Any = None, ignore_class: int | None = None, sparse_y_true: bool = True,
        sparse_y_pred: bool = True, axis: int = -1) -> Metric:
    """The mean IoU over ``target_class_ids`` (classes never seen nor predicted left out).

    Args:
        num_classes: the number of classes.
        target_class_ids: the classes whose IoU is averaged.
        name: reported name; default ``"io_u"`` (Keras's).
        dtype: None or float32.
        ignore_class: a label whose entries are left out (e.g. 255 for unlabelled pixels).
        sparse_y_true: whether ``y_true`` holds class ids (else one-hot along ``axis``).
        sparse_y_pred: whether ``y_pred`` holds class ids (else scores along ``axis``).
        axis: the class axis of one-hot inputs.

    Example:
        >>> import jax.numpy as jnp
        >>> m = IoU(num_classes=2, target_class_ids=[0])
        >>> s = m.update(m.init(), jnp.array([0, 0, 1, 1]), jnp.array([0, 1, 0, 1]))
        >>> round(float(m.result(s)), 4)
        0.3333
    """
    owner = "IoU"
    return _iou(owner, num_classes, target_class_ids, name, dtype, ignore_class,
                _bool(owner, "sparse_y_true", sparse_y_true),
                _bool(owner, "sparse_y_pred", sparse_y_pred), axis)


def BinaryIoU(target_class_ids: Sequence[int] = (0, 1), threshold: float = 0.5,  # noqa: N802
              name: str | None = None, dtype: Any = None) -> Metric:
    """IoU of 0/1 targets against scores thresholded at ``threshold`` (``>=`` is class 1).

    Example:
        >>> import jax.numpy as jnp
        >>> m = BinaryIoU(target_class_ids=[1])
        >>> s = m.update(m.init(), jnp.array([0, 1, 1, 1]), jnp.array([0.2, 0.9, 0.5, 0.1]))
        >>> round(float(m.result(s)), 4)  # 2 / (3 + 2 - 2)
        0.6667
    """
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
        raise TypeError(f"BinaryIoU: threshold must be a float; got {threshold!r}.")
    return _iou("BinaryIoU", 2, target_class_ids, name, dtype, None, True, True, -1,
                threshold=float(threshold))


def MeanIoU(num_classes: int, name: str | None = None, dtype: Any = None,  # noqa: N802
            ignore_class: int | None = None, sparse_y_true: bool = True,
            sparse_y_pred: bool = True, axis: int = -1) -> Metric:
    """The mean IoU over all ``num_classes`` classes (Keras's ``MeanIoU``).

    ``y_pred`` holds class ids by default (pass ``sparse_y_pred=False`` for scores).

    Example:
        >>> import jax.numpy as jnp
        >>> m = MeanIoU(num_classes=3, sparse_y_pred=False)
        >>> s = m.update(m.init(), jnp.array([0, 2]), jnp.array([[0.7, 0.2, 0.1], [0.1, 0.2, 0.7]]))
        >>> float(m.result(s))  # class 1 is never seen: the mean is over classes 0 and 2
        1.0
    """
    owner = "MeanIoU"
    classes = list(range(num_classes)) if isinstance(num_classes, int) else []
    return _iou(owner, num_classes, classes, name, dtype, ignore_class,
                _bool(owner, "sparse_y_true", sparse_y_true),
                _bool(owner, "sparse_y_pred", sparse_y_pred), axis)


def OneHotIoU(num_classes: int, target_class_ids: Sequence[int], name: str | None = None,  # noqa: N802
              dtype: Any = None, ignore_class: int | None = None, sparse_y_pred: bool = False,
              axis: int = -1) -> Metric:
    """:func:`IoU` for one-hot ``y_true`` (and scores ``y_pred``), as Keras's ``OneHotIoU``.

    Example:
        >>> import jax.numpy as jnp
        >>> m = OneHotIoU(num_classes=2, target_class_ids=[1])
        >>> s = m.update(m.init(), jnp.array([[0, 1], [0, 1]]), jnp.array([[0.2, 0.8], [0.6, 0.4]]))
        >>> float(m.result(s))
        0.5
    """
    return _iou("OneHotIoU", num_classes, target_class_ids, name, dtype, ignore_class, False,
                _bool("OneHotIoU", "sparse_y_pred", sparse_y_pred), axis)


def OneHotMeanIoU(num_classes: int, name: str | None = None, dtype: Any = None,  # noqa: N802
                  ignore_class: int | None = None, sparse_y_pred: bool = False,
                  axis: int = -1) -> Metric:
    """:func:`MeanIoU` for one-hot ``y_true`` (and scores ``y_pred``).

    Example:
        >>> import jax.numpy as jnp
        >>> m = OneHotMeanIoU(num_classes=2)
        >>> s = m.update(m.init(), jnp.array([[0, 1], [0, 1]]), jnp.array([[0.2, 0.8], [0.6, 0.4]]))
        >>> float(m.result(s))  # class 0: 0 / 1, class 1: 1 / 2
        0.25
    """
    classes = list(range(num_classes)) if isinstance(num_classes, int) else []
    return _iou("OneHotMeanIoU", num_classes, classes, name, dtype, ignore_class, False,
                _bool("OneHotMeanIoU", "sparse_y_pred", sparse_y_pred), axis)

