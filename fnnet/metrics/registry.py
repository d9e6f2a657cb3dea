"""Metrics by name: :func:`get` resolves everything Keras accepts in ``compile(metrics=...)``.

Example:
    >>> m = get("AUC")
    >>> m.name
    'AUC'
    >>> get("acc", y_true_shape=(None,), y_pred_shape=(None, 10)).name
    'acc'
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from fnnet import losses
from fnnet._errors import unknown_name
from fnnet.metrics import auc, confusion, fscore, functions, iou, mean_metrics, regression
from fnnet.metrics.base import Mean, MeanMetricWrapper, Metric, Sum, default_name, resolve

__all__ = ["get", "names", "serialize", "SHAPE_RESOLVED", "CLASSES"]

# Keras's metric classes by class name; each is a function returning a Metric.
CLASSES: dict[str, Callable[..., Metric]] = {
    n: getattr(module, n)
    for module in (mean_metrics, confusion, auc, fscore, iou, regression)
    for n in module.__all__
    if n[:1].isupper()
}
CLASSES.update({"Mean": Mean, "Sum": Sum, "MeanMetricWrapper": MeanMetricWrapper})

_ALIASES: dict[str, Callable[..., Metric]] = {
    "mse": mean_metrics.MeanSquaredError,
    "mae": mean_metrics.MeanAbsoluteError,
    "mape": mean_metrics.MeanAbsolutePercentageError,
    "msle": mean_metrics.MeanSquaredLogarithmicError,
    "bce": mean_metrics.BinaryCrossentropy,
    "rmse": mean_metrics.RootMeanSquaredError,
}
# Keras accepts a class's name and its snake case ("AUC", "auc", "MeanIoU", "mean_io_u"):
# compare lower case without underscores.
_BY_COMPACT: dict[str, Callable[..., Metric]] = {
    **{k.lower(): f for k, f in CLASSES.items() if f not in (Mean, Sum, MeanMetricWrapper)},
    **_ALIASES,
}

_ACCURACY = ("accuracy", "acc")
_CROSSENTROPY = ("crossentropy", "ce")
# Names whose variant depends on the targets' and outputs' shapes: resolved at the first fit.
SHAPE_RESOLVED = _ACCURACY + _CROSSENTROPY


def names() -> list[str]:
    """The metric names :func:`get` knows (in snake case; class names work too), losses aside.

    Example:
        >>> [n for n in names() if "accuracy" in n][:3]
        ['accuracy', 'binary_accuracy', 'categorical_accuracy']
    """
    snake = [default_name(k) for k, f in CLASSES.items() if f not in (Mean, Sum, MeanMetricWrapper)]
    return sorted({*SHAPE_RESOLVED, *snake, *_ALIASES})


def serialize(metric: Any) -> str | None:
    """How a saved model names a metric: a name as given, a built-in function's name, or None.

    Keras's metric functions (``fnnet.metrics.binary_accuracy``...) and the built-in losses
    are saved by name (:func:`get` maps the name back to the same metric); a
    :class:`~fnnet.metrics.Metric` object or a custom function gives None (a saved model can
    only name it).

    Example:
        >>> from fnnet import metrics
        >>> serialize("auc"), serialize(metrics.binary_accuracy), serialize(metrics.AUC()) is None
        ('auc', 'binary_accuracy', True)
    """
    if isinstance(metric, str):
        return metric
    builtin = (functions.binary_accuracy, functions.categorical_accuracy,
               functions.sparse_categorical_accuracy, functions.top_k_categorical_accuracy,
               functions.sparse_top_k_categorical_accuracy)
    if any(metric is fn for fn in builtin):
        return metric.__name__
    name = losses.serialize(metric)
    return name if isinstance(name, str) else None


def _task(
    written: str,
    y_true_shape: Sequence[int | None] | None,
    y_pred_shape: Sequence[int | None] | None,
    loss: Any,
) -> str:
    """'binary', 'sparse' or 'categorical', as Keras decides it for 'accuracy'."""
    base = None if loss is None else losses.base_loss(loss)
    if base is losses.binary_crossentropy:
        return "binary"
    if y_pred_shape is not None and (len(y_pred_shape) <= 1 or y_pred_shape[-1] == 1):
        return "binary"
    if base is losses.sparse_categorical_crossentropy:
        return "sparse"
    if y_true_shape is not None and y_pred_shape is not None:
        if len(y_true_shape) < len(y_pred_shape) or (
            len(y_true_shape) >= 1 and y_true_shape[-1] == 1 and y_pred_shape[-1] != 1
        ):
            return "sparse"
        return "categorical"
    if base is losses.categorical_crossentropy:
        return "categorical"
    raise ValueError(
        f"metrics.get({written!r}): cannot tell binary, categorical or sparse categorical "
        f"{written} apart without the data's shapes or the loss; got y_true_shape="
        f"{y_true_shape}, y_pred_shape={y_pred_shape}, loss={loss!r}. Pass y_true_shape= and "
        f"y_pred_shape= (or loss=), or name the metric, e.g. 'sparse_categorical_accuracy'."
    )


def _by_name(identifier: str, y_true_shape, y_pred_shape, loss) -> Metric:
    key = identifier.strip().lower()
    if key in SHAPE_RESOLVED:
        task = _task(identifier, y_true_shape, y_pred_shape, loss)
        if key in _ACCURACY:
            factory = {"binary": mean_metrics.BinaryAccuracy,
                       "sparse": mean_metrics.SparseCategoricalAccuracy,
                       "categorical": mean_metrics.CategoricalAccuracy}[task]
            return factory(name=identifier)
        fn = {"binary": losses.binary_crossentropy,
              "sparse": losses.sparse_categorical_crossentropy,
              "categorical": losses.categorical_crossentropy}[task]
        return MeanMetricWrapper(fn, identifier)
    factory = _BY_COMPACT.get(key.replace("_", ""))
    if factory is not None:
        try:
            return factory(name=identifier)
        except TypeError as e:
            raise TypeError(
                f"metrics.get({identifier!r}): {factory.__name__} has required arguments ({e}); "
                f"build it yourself, e.g. metrics=[fnnet.metrics.{factory.__name__}(...)]."
            ) from None
    try:
        fn = losses.get(key)
    except ValueError:
        valid = [*names(), *losses.names()]
        raise unknown_name("metric", identifier, valid, argument="metrics") from None
    return MeanMetricWrapper(fn, identifier)


def _from_config(config: Mapping[str, Any]) -> Metric:
    name = config.get("class_name")
    factory = CLASSES.get(name) if isinstance(name, str) else None
    if factory is None or factory is MeanMetricWrapper:
        raise ValueError(
            f"metrics.get: a dict must be {{'class_name': ..., 'config': {{...}}}} naming one of "
            f"Keras's metric classes ({', '.join(sorted(k for k in CLASSES if k != 'MeanMetricWrapper'))}); "
            f"got {dict(config)!r:.200}."
        )
    return factory(**dict(config.get("config") or {}))


def get(
    identifier: str | Metric | Mapping | Callable[..., Any],
    *,
    y_true_shape: Sequence[int | None] | None = None,
    y_pred_shape: Sequence[int | None] | None = None,
    loss: Any = None,
) -> Metric:
    """Resolves a metric from a Keras name, a :class:`Metric`, a config dict or a function.

    * A string (case-insensitive): ``"accuracy"``/``"acc"``, ``"crossentropy"``/``"ce"``;
      any Keras metric class by its name or snake case (``"AUC"``, ``"auc"``,
      ``"precision"``, ``"binary_accuracy"``, ``"top_k_categorical_accuracy"``,
      ``"MeanIoU"``...) with its default arguments; the aliases ``"mse"``, ``"mae"``,
      ``"mape"``, ``"msle"``, ``"bce"``, ``"rmse"``; or any name :func:`fnnet.losses.get` knows
      (its mean over examples). The metric is named as written.
    * ``"accuracy"`` (and ``"crossentropy"``) pick their variant as Keras does: binary when
      ``y_pred``'s last dim is 1 (or ``loss`` is binary cross-entropy); sparse categorical when
      ``y_true`` has one fewer dim than ``y_pred``, or a last dim of 1 where ``y_pred``'s is
      larger (or ``loss`` is sparse categorical cross-entropy); otherwise categorical. With
      neither shapes nor a deciding loss it raises rather than guess.
    * A :class:`Metric` is returned as is (resolved for the shapes, if it is shape-dependent
      and they are given: see :func:`~fnnet.metrics.resolve`); a metric class (``AUC``) is
      built with its defaults; ``{"class_name": "AUC", "config": {...}}`` with that config.
    * A callable ``fn(y_true, y_pred) -> per-example values`` is wrapped with
      :func:`MeanMetricWrapper` under ``fn.__name__``, as Keras names it.

    Args:
        identifier: the name, Metric, dict, class or function.
        y_true_shape: the targets' shape, batch dim included (``None`` entries allowed).
        y_pred_shape: the model output's shape, batch dim included.
        loss: the loss (name or function), used to resolve ``"accuracy"``.

    Returns:
        A :class:`Metric`.

    Raises:
        ValueError: for an unknown name (with the closest valid one), or an unresolvable
            ``"accuracy"``.
        TypeError: for anything that is not a metric.

    Example:
        >>> m = get("accuracy", y_true_shape=(32,), y_pred_shape=(32, 10))
        >>> m.name
        'accuracy'
        >>> import jax.numpy as jnp
        >>> s = m.update(m.init(), jnp.array([1, 0]), jnp.array([[0.1, 0.9], [0.2, 0.8]]))
        >>> float(m.result(s))
        0.5
        >>> from fnnet import metrics
        >>> get(metrics.binary_accuracy).name, get("precision").name
        ('binary_accuracy', 'precision')
    """
    shapes = y_true_shape is not None and y_pred_shape is not None
    if isinstance(identifier, Metric):
        return resolve(identifier, y_true_shape, y_pred_shape) if shapes else identifier
    if isinstance(identifier, str):
        metric = _by_name(identifier, y_true_shape, y_pred_shape, loss)
    elif isinstance(identifier, Mapping):
        metric = _from_config(identifier)
    elif callable(identifier) and any(identifier is f for f in CLASSES.values()):
        metric = identifier()
    elif callable(identifier):
        base = identifier.func if isinstance(identifier, functools.partial) else identifier
        name = getattr(identifier, "__name__", None) or getattr(base, "__name__", None) \
            or type(base).__name__
        metric = MeanMetricWrapper(identifier, name)
    else:
        raise TypeError(
            f"metrics entries must be a metric name such as 'accuracy' or 'mae', a "
            f"fnnet.metrics.Metric, or a callable fn(y_true, y_pred) returning per-example "
            f"values; got {identifier!r} of type {type(identifier).__name__}. Pass e.g. "
            f"metrics=['accuracy']."
        )
    return resolve(metric, y_true_shape, y_pred_shape) if shapes else metric

