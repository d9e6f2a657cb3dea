"""The :class:`Metric` protocol, weights and masks, and the mean-type metrics built on it.

A :class:`Metric` keeps *sums* in its state, so updating batch by batch gives exactly the
result of one update over the whole dataset, and two states combine with :func:`merge`::

    state = metric.init()                                         # a pytree of float32 sums
    state = metric.update(state, y_true, y_pred, sample_weight=None, mask=None)
    value = metric.result(state)                                  # float32

Weights and masks (:func:`weights_for`): ``sample_weight`` has shape ``()``, ``(batch,)``,
``(batch, 1)`` or a leading part of the per-example values' shape (``(batch, steps)`` for
sequence outputs); ``mask`` (bool or 0/1) has the same shapes and marks the real entries:
a padded row or step counts for nothing, even where its values are NaN.

Some metrics' states depend on the data's shapes (:func:`~fnnet.metrics.F1Score` has one sum
per class): they are *shape-dependent* (:func:`shape_dependent`) until
:func:`fnnet.metrics.get` resolves them for ``y_true_shape`` and ``y_pred_shape``, as ``fit``
does.

Example:
    >>> import jax.numpy as jnp
    >>> m = Mean("loss")
    >>> a = m.update(m.init(), jnp.array([1.0, 2.0]))
    >>> b = m.update(m.init(), jnp.array([6.0, jnp.nan]), mask=jnp.array([True, False]))
    >>> float(m.result(merge(a, b)))
    3.0
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

PyTree = Any
Shape = Sequence[int | None]

__all__ = [
    "Metric",
    "merge",
    "weights_for",
    "spread",
    "accumulate",
    "sum_init",
    "weighted_mean",
    "shape_dependent",
    "is_shape_dependent",
    "resolve",
    "Mean",
    "Sum",
    "MeanMetricWrapper",
    "default_name",
    "check_dtype",
]


class Metric(NamedTuple):
    """A streaming metric: three pure functions and a name.

    * ``init() -> state``: a pytree of float32 sums (e.g. ``{"total": 0., "count": 0.}``);
    * ``update(state, y_true, y_pred, sample_weight=None, mask=None) -> state``
      (:func:`Mean` and :func:`Sum` take ``update(state, values, sample_weight=None, mask=None)``);
    * ``result(state) -> jax.Array``: float32; a scalar for most metrics, a vector for some
      (per-class F1 scores, one value per threshold);
    * ``name``: the key under which the value is reported, e.g. ``"accuracy"``.

    Example:
        >>> import jax.numpy as jnp
        >>> from fnnet import metrics
        >>> m = metrics.MeanAbsoluteError()
        >>> state = m.update(m.init(), jnp.array([1.0, 2.0]), jnp.array([1.5, 2.0]))
        >>> m.name, float(m.result(state))
        ('mean_absolute_error', 0.25)
    """

    init: Callable[[], PyTree]
    update: Callable[..., PyTree]
    result: Callable[[PyTree], jax.Array]
    name: str


def merge(state_a: PyTree, state_b: PyTree) -> PyTree:
    """Combines two states of the same metric, as if one had seen both sets of batches.

    Example:
        >>> import jax.numpy as jnp
        >>> m = Mean("loss")
        >>> a = m.update(m.init(), jnp.array([1.0, 2.0]))
        >>> b = m.update(m.init(), jnp.array([6.0]))
        >>> float(m.result(merge(a, b)))
        3.0
    """
    return jax.tree.map(jnp.add, state_a, state_b)


def default_name(class_name: str) -> str:
    """Keras's default metric name: the class name in snake case (``"MeanIoU"`` ->
    ``"mean_io_u"``), without Keras's global counter.

    Example:
        >>> default_name("TruePositives"), default_name("AUC")
        ('true_positives', 'auc')
    """
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", class_name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def check_dtype(owner: str, dtype: Any) -> None:
    """Metrics accumulate in float32: ``dtype`` may be None or float32 only.

    Example:
        >>> check_dtype("Mean", "float32")
    """
    if dtype is not None and str(jnp.dtype(dtype)) != "float32":
        raise ValueError(
            f"{owner}: fnnet metrics accumulate in float32; got dtype={dtype!r}. Pass "
            f"dtype=None (or 'float32')."
        )


# --- weights and masks ------------------------------------------------------------------------


def _leading(where: str, arg: str, value: ArrayLike, shape: tuple[int, ...]) -> jax.Array:
    value = jnp.asarray(value)
    if value.ndim == 0:  # one weight for the whole batch
        return jnp.broadcast_to(value, shape[:1])
    if value.ndim == 2 and value.shape[1] == 1:
        value = value[:, 0]  # (batch, 1): one weight per example
    if value.ndim > len(shape) or value.shape != shape[:value.ndim]:
        raise ValueError(
            f"{where}: {arg} must have one entry per example, shape ({shape[0]},) (or the "
            f"leading axes {shape} of the values, e.g. (batch, steps)), to match a batch of "
            f"{shape[0]}; got shape {value.shape}. Pass a 1-D array of length {shape[0]} (or "
            f"None)."
        )
    return value


def weights_for(
    where: str,
    shape: Sequence[int],
    sample_weight: ArrayLike | None = None,
    mask: ArrayLike | None = None,
) -> tuple[jax.Array, jax.Array | None]:
    """The weight and the keep-mask of the entries of an array of ``shape``.

    Both have the leading shape of the longer of ``sample_weight`` and ``mask`` (at least
    ``(batch,)``); broadcast them over the rest with :func:`spread`. The weight is
    ``sample_weight`` (or 1) times the mask; ``keep`` is None without a mask.

    Args:
        where: the metric's name, for error messages.
        shape: the values' (or predictions') shape, batch first.
        sample_weight: ``()``, ``(batch,)``, ``(batch, 1)`` or a leading part of ``shape``.
        mask: bool or 0/1, the same shapes.

    Raises:
        ValueError: if a shape does not fit.

    Example:
        >>> import jax.numpy as jnp
        >>> w, keep = weights_for("m", (2, 3), jnp.array([2.0, 1.0]), jnp.array([[1, 1, 0], [1, 0, 0]]))
        >>> w
        Array([[2., 2., 0.],
               [1., 0., 0.]], dtype=float32)
    """
    shape = tuple(shape)
    sw = None if sample_weight is None else \
        _leading(where, "sample_weight", sample_weight, shape).astype(jnp.float32)
    keep = None if mask is None else _leading(where, "mask", mask, shape).astype(jnp.bool_)
    parts = [a for a in (sw, keep) if a is not None]
    ndim = max([1] + [a.ndim for a in parts])
    lead = shape[:ndim]
    w = jnp.ones(lead, jnp.float32)
    if sw is not None:
        w = w * spread(sw, lead)
    if keep is not None:
        keep = spread(keep, lead)
        w = jnp.where(keep, w, 0.0)
    return w, keep


def spread(w: jax.Array, shape: Sequence[int]) -> jax.Array:
    """``w`` (shaped like the leading axes of ``shape``) broadcast to ``shape``.

    Example:
        >>> import jax.numpy as jnp
        >>> spread(jnp.array([1.0, 2.0]), (2, 3)).shape
        (2, 3)
    """
    shape = tuple(shape)
    return jnp.broadcast_to(w.reshape(w.shape + (1,) * (len(shape) - w.ndim)), shape)


# --- shape-dependent metrics ------------------------------------------------------------------


class _NeedsShapes:
    """Stands in for ``init``, ``update`` and ``result`` until the data's shapes are known."""

    def __init__(self, owner: str, build: Callable[[tuple, tuple], Metric]):
        self.owner = owner
        self.build = build

    def __call__(self, *args: Any, **kwargs: Any):
        raise ValueError(
            f"{self.owner}: this metric's state has one entry per class (or output), which "
            f"depends on the data's shapes. Resolve it for your data first: metric = "
            f"fnnet.metrics.get(metric, y_true_shape=(None, 3), y_pred_shape=(None, 3)) (fit "
            f"and make_steps do this themselves)."
        )


def shape_dependent(owner: str, name: str, build: Callable[[tuple, tuple], Metric]) -> Metric:
    """A :class:`Metric` whose functions are built by ``build(y_true_shape, y_pred_shape)``.

    Until :func:`resolve` is called, its ``init``, ``update`` and ``result`` raise an error
    that shows how to resolve it.

    Example:
        >>> m = shape_dependent("Demo", "demo", lambda t, p: Mean("demo"))
        >>> is_shape_dependent(m), resolve(m, (None, 3), (None, 3)).name
        (True, 'demo')
    """
    stand_in = _NeedsShapes(owner, build)
    return Metric(stand_in, stand_in, stand_in, name)


def is_shape_dependent(metric: Metric) -> bool:
    """Whether ``metric`` still needs :func:`resolve` (see :func:`shape_dependent`).

    Example:
        >>> is_shape_dependent(Mean())
        False
    """
    return isinstance(metric.init, _NeedsShapes)


def resolve(metric: Metric, y_true_shape: Shape, y_pred_shape: Shape) -> Metric:
    """``metric`` built for data of these shapes (batch dim included); others unchanged.

    The name is kept (also one given with ``metric._replace(name=...)``).

    Example:
        >>> from fnnet import metrics
        >>> m = resolve(metrics.F1Score(), (None, 3), (None, 3))
        >>> m.init()["true_positives"].shape
        (3,)
    """
    if not is_shape_dependent(metric):
        return metric
    built = metric.init.build(tuple(y_true_shape), tuple(y_pred_shape))
    return built._replace(name=metric.name)


# --- Mean, Sum, MeanMetricWrapper -------------------------------------------------------------


def sum_init() -> dict:
    """``{"total": 0., "count": 0.}`` in float32: the state of :func:`Mean`.

    Example:
        >>> sorted(sum_init())
        ['count', 'total']
    """
    return {"total": jnp.zeros((), jnp.float32), "count": jnp.zeros((), jnp.float32)}


def weighted_mean(state: dict) -> jax.Array:
    """``total / count``, 0 (not NaN) while nothing has been counted.

    Example:
        >>> float(weighted_mean(sum_init()))
        0.0
    """
    count = state["count"]
    return jnp.where(count > 0, state["total"] / jnp.where(count > 0, count, 1.0), 0.0)


def accumulate(where: str, state: dict, values: ArrayLike, sample_weight: ArrayLike | None,
               mask: ArrayLike | None) -> dict:
    """Keras's ``Mean.update_state``: per-example means of ``values``, weighted.

    Trailing axes beyond the weight's are averaged per entry, then each example contributes
    the mean over its (weighted) entries, and ``count`` grows by its mean weight, as Keras's
    ``reduce_to_samplewise_values``: an unweighted example counts 1.

    Example:
        >>> import jax.numpy as jnp
        >>> s = accumulate("m", sum_init(), jnp.array([[1.0, 3.0], [5.0, 9.0]]), None,
        ...                jnp.array([[True, True], [True, False]]))
        >>> s["total"], s["count"]  # (1 + 3) / 2 + 5 / 2, and 1 + 1/2
        (Array(4.5, dtype=float32), Array(1.5, dtype=float32))
    """
    values = jnp.asarray(values).astype(jnp.float32)
    if values.ndim == 0:
        values = values[None]
    w, keep = weights_for(where, values.shape, sample_weight, mask)
    if values.ndim > w.ndim:
        values = jnp.mean(values, axis=tuple(range(w.ndim, values.ndim)))
    if keep is not None:  # padded entries may hold garbage (NaN from 0/0)
        values = jnp.where(keep, values, 0.0)
    inner = tuple(range(1, w.ndim))
    return {
        "total": state["total"] + jnp.sum(jnp.mean(values * w, axis=inner)),
        "count": state["count"] + jnp.sum(jnp.mean(w, axis=inner)),
    }


def Mean(name: str = "mean", dtype: Any = None) -> Metric:  # noqa: N802 (Keras's name)
    """The weighted mean of values, e.g. the loss tracker (Keras's ``Mean``).

    ``update(state, values, sample_weight=None, mask=None)``: ``values`` of shape ``(batch,
    ...)`` (a scalar counts as one example; trailing axes are averaged per example).
    State: ``{"total": f32[], "count": f32[]}``.

    Example:
        Batch-by-batch updates equal one update over the whole dataset:

        >>> import jax.numpy as jnp
        >>> m = Mean("loss")
        >>> values = jnp.array([1.0, 2.0, 3.0, 4.0, 5.0])
        >>> weights = jnp.array([1.0, 1.0, 2.0, 0.0, 1.0])
        >>> whole = m.update(m.init(), values, sample_weight=weights)
        >>> s = m.init()
        >>> for i in range(0, 5, 2):
        ...     s = m.update(s, values[i:i + 2], sample_weight=weights[i:i + 2])
        >>> float(m.result(whole)), float(m.result(s))
        (2.8, 2.8)
    """
    check_dtype("Mean", dtype)

    def update(state, values, sample_weight=None, mask=None):
        return accumulate(name, state, values, sample_weight, mask)

    return Metric(sum_init, update, weighted_mean, name)


def Sum(name: str = "sum", dtype: Any = None) -> Metric:  # noqa: N802 (Keras's name)
    """The weighted sum of values (Keras's ``Sum``).

    ``update(state, values, sample_weight=None, mask=None)``; state ``{"total": f32[]}``.

    Example:
        >>> import jax.numpy as jnp
        >>> m = Sum()
        >>> s = m.update(m.init(), jnp.array([[1.0, 2.0], [3.0, 4.0]]), sample_weight=jnp.array([1.0, 0.5]))
        >>> float(m.result(s))  # 1 + 2 + 0.5 * (3 + 4)
        6.5
    """
    check_dtype("Sum", dtype)

    def init():
        return {"total": jnp.zeros((), jnp.float32)}

    def update(state, values, sample_weight=None, mask=None):
        values = jnp.asarray(values).astype(jnp.float32)
        if values.ndim == 0:
            values = values[None]
        w, keep = weights_for(name, values.shape, sample_weight, mask)
        w = spread(w, values.shape)
        if keep is not None:
            values = jnp.where(spread(keep, values.shape), values, 0.0)
        return {"total": state["total"] + jnp.sum(values * w)}

    return Metric(init, update, lambda state: state["total"], name)


def MeanMetricWrapper(fn: Callable[..., jax.Array], name: str | None = None,  # noqa: N802
                      dtype: Any = None, **kwargs: Any) -> Metric:
    """The weighted mean over examples of ``fn(y_true, y_pred, **kwargs)`` (Keras's wrapper).

    ``fn`` returns per-example values, shape ``(batch,)`` (or ``(batch, steps)``, ...: trailing
    axes are averaged per example). ``name`` defaults to ``fn.__name__``.

    Example:
        >>> import jax.numpy as jnp
        >>> from fnnet import losses
        >>> m = MeanMetricWrapper(losses.huber, "huber", delta=2.0)
        >>> s = m.update(m.init(), jnp.array([0.0, 0.0]), jnp.array([0.5, 3.0]))
        >>> float(m.result(s))  # (0.125 + 4) / 2
        2.0625
    """
    check_dtype("MeanMetricWrapper", dtype)
    if name is None:
        name = getattr(fn, "__name__", None) or type(fn).__name__

    def update(state, y_true, y_pred, sample_weight=None, mask=None):
        return accumulate(name, state, fn(y_true, y_pred, **kwargs), sample_weight, mask)

    return Metric(sum_init, update, weighted_mean, name)
