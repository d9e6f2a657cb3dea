"""Streaming metrics as pure ``(init, update, result)`` triples.

A :class:`Metric` keeps *sums* in its state, so updating batch by batch gives exactly the
result of one update over the whole dataset, and two states combine with :func:`merge`::

    state = metric.init()                                         # {"total": f32, "count": f32}
    state = metric.update(state, y_true, y_pred, sample_weight=None, mask=None)
    value = metric.result(state)                                  # a float32 scalar

All three functions are pure and work under ``jax.jit`` and ``lax.scan``. Weighting follows
Keras: ``result = sum(w * v) / sum(w)`` with ``w = sample_weight * mask`` per example, and a
result of 0 (not NaN) when nothing has been counted. ``mask`` (0/1 or bool, shape ``(batch,)``)
removes padded rows, such as those of a padded last batch, even where their values are NaN.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from fnnet import losses
from fnnet._errors import unknown_name

PyTree = Any

__all__ = [
    "Metric",
    "MetricSet",
    "merge",
    "Mean",
    "MeanMetricWrapper",
    "binary_accuracy",
    "categorical_accuracy",
    "sparse_categorical_accuracy",
    "top_k_categorical_accuracy",
    "sparse_top_k_categorical_accuracy",
    "mean_absolute_error",
    "mae",
    "mean_squared_error",
    "mse",
    "root_mean_squared_error",
    "rmse",
    "get",
]


class Metric(NamedTuple):
    """A streaming metric: three pure functions and a name.

    * ``init() -> state``: a pytree of float32 sums (e.g. ``{"total": 0., "count": 0.}``);
    * ``update(state, y_true, y_pred, sample_weight=None, mask=None) -> state``
      (:func:`Mean` takes ``update(state, values, sample_weight=None, mask=None)``);
    * ``result(state) -> jax.Array``: a float32 scalar;
    * ``name``: the key under which the value is reported, e.g. ``"accuracy"``.

    Example:
        >>> import jax.numpy as jnp
        >>> m = mean_absolute_error()
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


def _sum_init() -> dict:
    return {"total": jnp.zeros((), jnp.float32), "count": jnp.zeros((), jnp.float32)}


def _weighted_mean(state: dict) -> jax.Array:
    count = state["count"]
    return jnp.where(count > 0, state["total"] / jnp.where(count > 0, count, 1.0), 0.0)


def _per_example_weight(where: str, arg: str, value: ArrayLike, batch: int) -> jax.Array:
    value = jnp.asarray(value)
    if value.ndim == 0:  # one weight for the whole batch
        value = jnp.broadcast_to(value, (batch,))
    if value.shape == (batch, 1):
        value = value[:, 0]
    if value.shape != (batch,):
        raise ValueError(
            f"{where}: {arg} must have one entry per example, shape ({batch},), to match the "
            f"batch of {batch} values; got shape {value.shape}. Pass a 1-D array of length "
            f"{batch} (or None)."
        )
    return value


def _accumulate(
    where: str,
    state: dict,
    values: ArrayLike,
    sample_weight: ArrayLike | None,
    mask: ArrayLike | None,
) -> dict:
    values = jnp.asarray(values).astype(jnp.float32)
    if values.ndim == 0:
        values = values[None]
    if values.ndim > 1:  # e.g. per-timestep losses (batch, steps): one value per example
        values = jnp.mean(values, axis=tuple(range(1, values.ndim)))
    batch = values.shape[0]
    weight = jnp.ones((batch,), jnp.float32)
    if sample_weight is not None:
        weight = weight * _per_example_weight(where, "sample_weight", sample_weight, batch).astype(
            jnp.float32
        )
    if mask is not None:
        keep = _per_example_weight(where, "mask", mask, batch).astype(jnp.bool_)
        weight = jnp.where(keep, weight, 0.0)
        # Padded rows may hold garbage (NaN from 0/0); where() keeps it out of the sum.
        values = jnp.where(keep, values, 0.0)
    return {
        "total": state["total"] + jnp.sum(weight * values),
        "count": state["count"] + jnp.sum(weight),
    }


def Mean(name: str = "mean") -> Metric:  # noqa: N802 (Keras's name)
    """The weighted mean of per-example values, e.g. the loss tracker.

    ``update(state, values, sample_weight=None, mask=None)``: ``values`` of shape ``(batch,)``
    (a scalar counts as one example; trailing axes are averaged per example). ``sample_weight``
    and ``mask`` have shape ``(batch,)``. State: ``{"total": f32[], "count": f32[]}``.

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

    def update(state, values, sample_weight=None, mask=None):
        return _accumulate(name, state, values, sample_weight, mask)

    return Metric(_sum_init, update, _weighted_mean, name)


def MeanMetricWrapper(fn: Callable[[Any, Any], jax.Array], name: str) -> Metric:  # noqa: N802
    """The weighted mean over examples of ``fn(y_true, y_pred)``, which returns ``(batch,)``.

    Example:
        >>> import jax.numpy as jnp
        >>> from fnnet import losses
        >>> m = MeanMetricWrapper(losses.huber, "huber")
        >>> s = m.update(m.init(), jnp.array([0.0, 0.0]), jnp.array([0.5, 3.0]))
        >>> round(float(m.result(s)), 4)
        1.3125
    """

    def update(state, y_true, y_pred, sample_weight=None, mask=None):
        return _accumulate(name, state, fn(y_true, y_pred), sample_weight, mask)

    return Metric(_sum_init, update, _weighted_mean, name)


def _labels(y_true: ArrayLike, y_pred: jax.Array, where: str) -> jax.Array:
    """Integer labels of shape y_pred.shape[:-1] from (batch,) or (batch, 1), any dtype."""
    labels = jnp.asarray(y_true)
    if labels.ndim == y_pred.ndim and labels.shape[-1:] == (1,):
        labels = labels[..., 0]
    if labels.shape != y_pred.shape[:-1]:
        raise ValueError(
            f"{where}: y_true must hold one integer label per example, of shape "
            f"{y_pred.shape[:-1]} (or with a trailing 1) for y_pred.shape={y_pred.shape}; got "
            f"y_true.shape={labels.shape}. For one-hot targets use the non-sparse metric."
        )
    return labels.astype(jnp.int32)


def _in_top_k(labels: jax.Array, y_pred: jax.Array, k: int) -> jax.Array:
    k = min(k, y_pred.shape[-1])  # k >= classes: every label is in the top k, as in Keras
    _, top = jax.lax.top_k(y_pred, k)
    return jnp.any(top == labels[..., None], axis=-1).astype(jnp.float32)


def _check_k(where: str, k: int) -> None:
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(
            f"{where}: k must be a positive int (how many top predictions count as a hit); "
            f"got k={k!r}. Pass e.g. k=5."
        )


def binary_accuracy(threshold: float = 0.5, name: str = "binary_accuracy") -> Metric:
    """How often ``y_pred > threshold`` equals the 0/1 target, averaged over the last axis.

    Shapes: ``y_true`` and ``y_pred`` of ``(batch,)`` or ``(batch, d)`` (a missing or extra
    trailing axis of size 1 is tolerated).

    Example:
        >>> import jax.numpy as jnp
        >>> m = binary_accuracy()
        >>> s = m.update(m.init(), jnp.array([1, 0, 1, 0]), jnp.array([0.9, 0.6, 0.4, 0.1]))
        >>> float(m.result(s))
        0.5
    """

    def fn(y_true, y_pred):
        y_true, y_pred = losses._elementwise(name, y_true, y_pred)
        hit = (y_pred > threshold).astype(y_pred.dtype) == y_true
        return jnp.mean(hit.astype(jnp.float32), axis=-1)

    return MeanMetricWrapper(fn, name)


def categorical_accuracy(name: str = "categorical_accuracy") -> Metric:
    """How often ``argmax(y_pred)`` equals ``argmax(y_true)``, for one-hot ``(batch, classes)``.

    Example:
        >>> import jax.numpy as jnp
        >>> m = categorical_accuracy()
        >>> y_true = jnp.array([[0, 1], [1, 0]])
        >>> s = m.update(m.init(), y_true, jnp.array([[0.2, 0.8], [0.3, 0.7]]))
        >>> float(m.result(s))
        0.5
    """

    def fn(y_true, y_pred):
        y_true, y_pred = jnp.asarray(y_true), jnp.asarray(y_pred)
        if y_true.shape != y_pred.shape:
            raise ValueError(
                f"{name}: y_true and y_pred must have the same shape (batch, classes), got "
                f"y_true.shape={y_true.shape} and y_pred.shape={y_pred.shape}. For integer "
                f"labels use sparse_categorical_accuracy."
            )
        hit = jnp.argmax(y_true, axis=-1) == jnp.argmax(y_pred, axis=-1)
        return hit.astype(jnp.float32)

    return MeanMetricWrapper(fn, name)


def sparse_categorical_accuracy(name: str = "sparse_categorical_accuracy") -> Metric:
    """How often ``argmax(y_pred)`` equals the integer label.

    Shapes: labels ``(batch,)`` or ``(batch, 1)``, any dtype holding whole numbers;
    ``y_pred`` ``(batch, classes)``.

    Example:
        >>> import jax.numpy as jnp
        >>> m = sparse_categorical_accuracy()
        >>> s = m.update(m.init(), jnp.array([1.0, 1.0]), jnp.array([[0.2, 0.8], [0.6, 0.4]]))
        >>> float(m.result(s))
        0.5
    """

    def fn(y_true, y_pred):
        y_pred = jnp.asarray(y_pred)
        labels = _labels(y_true, y_pred, name)
        return (jnp.argmax(y_pred, axis=-1).astype(jnp.int32) == labels).astype(jnp.float32)

    return MeanMetricWrapper(fn, name)


def top_k_categorical_accuracy(k: int = 5, name: str = "top_k_categorical_accuracy") -> Metric:
    """How often ``argmax(y_true)`` is among the ``k`` largest entries of ``y_pred``.

    Shapes: ``y_true`` and ``y_pred`` of ``(batch, classes)``.

    Example:
        >>> import jax.numpy as jnp
        >>> m = top_k_categorical_accuracy(k=2)
        >>> y_true = jnp.array([[0, 0, 1], [0, 1, 0]])
        >>> s = m.update(m.init(), y_true, jnp.array([[0.1, 0.5, 0.4], [0.7, 0.1, 0.2]]))
        >>> float(m.result(s))
        0.5
    """
    _check_k(name, k)

    def fn(y_true, y_pred):
        y_pred = jnp.asarray(y_pred)
        labels = jnp.argmax(jnp.asarray(y_true), axis=-1).astype(jnp.int32)
        return _in_top_k(labels, y_pred, k)

    return MeanMetricWrapper(fn, name)


def sparse_top_k_categorical_accuracy(
    k: int = 5, name: str = "sparse_top_k_categorical_accuracy"
) -> Metric:
    """How often the integer label is among the ``k`` largest entries of ``y_pred``.

    Shapes: labels ``(batch,)`` or ``(batch, 1)``; ``y_pred`` ``(batch, classes)``.

    Example:
        >>> import jax.numpy as jnp
        >>> m = sparse_top_k_categorical_accuracy(k=2)
        >>> s = m.update(m.init(), jnp.array([2, 1]), jnp.array([[0.1, 0.5, 0.4], [0.7, 0.1, 0.2]]))
        >>> float(m.result(s))
        0.5
    """
    _check_k(name, k)

    def fn(y_true, y_pred):
        y_pred = jnp.asarray(y_pred)
        return _in_top_k(_labels(y_true, y_pred, name), y_pred, k)

    return MeanMetricWrapper(fn, name)


def mean_absolute_error(name: str = "mean_absolute_error") -> Metric:
    """The weighted mean of :func:`fnnet.losses.mean_absolute_error` over examples.

    Example:
        >>> import jax.numpy as jnp
        >>> m = mean_absolute_error()
        >>> float(m.result(m.update(m.init(), jnp.array([1.0, 2.0]), jnp.array([2.0, 4.0]))))
        1.5
    """
    return MeanMetricWrapper(losses.mean_absolute_error, name)


def mean_squared_error(name: str = "mean_squared_error") -> Metric:
    """The weighted mean of :func:`fnnet.losses.mean_squared_error` over examples.

    Example:
        >>> import jax.numpy as jnp
        >>> m = mean_squared_error()
        >>> float(m.result(m.update(m.init(), jnp.array([1.0, 2.0]), jnp.array([2.0, 4.0]))))
        2.5
    """
    return MeanMetricWrapper(losses.mean_squared_error, name)


def root_mean_squared_error(name: str = "root_mean_squared_error") -> Metric:
    """``sqrt`` of the weighted mean squared error over everything seen so far.

    The root is taken once, in ``result``, so the value over a dataset is not a mean of
    per-batch roots.

    Example:
        >>> import jax.numpy as jnp
        >>> m = root_mean_squared_error()
        >>> s = m.update(m.init(), jnp.array([0.0, 0.0]), jnp.array([3.0, 0.0]))
        >>> s = m.update(s, jnp.array([0.0, 0.0]), jnp.array([4.0, 0.0]))
        >>> float(m.result(s))   # sqrt((9 + 16) / 4)
        2.5
    """
    inner = MeanMetricWrapper(losses.mean_squared_error, name)
    return inner._replace(result=lambda state: jnp.sqrt(_weighted_mean(state)))


mae = mean_absolute_error
mse = mean_squared_error
rmse = root_mean_squared_error

_FACTORIES: dict[str, Callable[[str], Metric]] = {
    "binary_accuracy": binary_accuracy,
    "categorical_accuracy": categorical_accuracy,
    "sparse_categorical_accuracy": sparse_categorical_accuracy,
    "top_k_categorical_accuracy": top_k_categorical_accuracy,
    "sparse_top_k_categorical_accuracy": sparse_top_k_categorical_accuracy,
    "mean_absolute_error": mean_absolute_error,
    "mae": mean_absolute_error,
    "mean_squared_error": mean_squared_error,
    "mse": mean_squared_error,
    "root_mean_squared_error": root_mean_squared_error,
    "rmse": root_mean_squared_error,
}
_ACCURACY = ("accuracy", "acc")
_CROSSENTROPY = ("crossentropy", "ce")
# Names whose variant depends on the targets' and outputs' shapes: resolved at the first fit.
SHAPE_RESOLVED = _ACCURACY + _CROSSENTROPY


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


def get(
    identifier: str | Metric | Callable[[Any, Any], jax.Array],
    *,
    y_true_shape: Sequence[int | None] | None = None,
    y_pred_shape: Sequence[int | None] | None = None,
    loss: Any = None,
) -> Metric:
    """Resolves a metric from a Keras name, a :class:`Metric`, or a plain function.

    * A string (case-insensitive): ``"accuracy"``/``"acc"``, ``"binary_accuracy"``,
      ``"categorical_accuracy"``, ``"sparse_categorical_accuracy"``,
      ``"top_k_categorical_accuracy"``, ``"sparse_top_k_categorical_accuracy"``,
      ``"mae"``/``"mean_absolute_error"``, ``"mse"``/``"mean_squared_error"``,
      ``"rmse"``/``"root_mean_squared_error"``, ``"crossentropy"``/``"ce"``, or any name
      :func:`fnnet.losses.get` knows (its mean over examples). The metric is named as written.
    * ``"accuracy"`` (and ``"crossentropy"``) pick their variant as Keras does: binary when
      ``y_pred``'s last dim is 1 (or ``loss`` is binary cross-entropy); sparse categorical when
      ``y_true`` has one fewer dim than ``y_pred``, or a last dim of 1 where ``y_pred``'s is
      larger (or ``loss`` is sparse categorical cross-entropy); otherwise categorical. With
      neither shapes nor a deciding loss it raises rather than guess.
    * A :class:`Metric` is returned as is; a callable ``fn(y_true, y_pred) -> (batch,)`` is
      wrapped with :func:`MeanMetricWrapper` under ``fn.__name__``.

    Args:
        identifier: the name, Metric, or function.
        y_true_shape: the targets' shape, batch dim included (``None`` entries allowed).
        y_pred_shape: the model output's shape, batch dim included.
        loss: the loss (name or function), used to resolve ``"accuracy"``.

    Returns:
        A :class:`Metric`.

    Example:
        >>> m = get("accuracy", y_true_shape=(32,), y_pred_shape=(32, 10))
        >>> m.name
        'accuracy'
        >>> import jax.numpy as jnp
        >>> s = m.update(m.init(), jnp.array([1, 0]), jnp.array([[0.1, 0.9], [0.2, 0.8]]))
        >>> float(m.result(s))
        0.5
        >>> get("acc", loss="binary_crossentropy").name
        'acc'
    """
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        key = identifier.strip().lower()
        if key in _ACCURACY or key in _CROSSENTROPY:
            task = _task(identifier, y_true_shape, y_pred_shape, loss)
            if key in _ACCURACY:
                factory = {
                    "binary": binary_accuracy,
                    "sparse": sparse_categorical_accuracy,
                    "categorical": categorical_accuracy,
                }[task]
                return factory(name=identifier)
            fn = {
                "binary": losses.binary_crossentropy,
                "sparse": losses.sparse_categorical_crossentropy,
                "categorical": losses.categorical_crossentropy,
            }[task]
            return MeanMetricWrapper(fn, identifier)
        if key in _FACTORIES:
            return _FACTORIES[key](name=identifier)
        try:
            fn = losses.get(key)
        except ValueError:
            valid = [*_ACCURACY, *_CROSSENTROPY, *_FACTORIES, *losses._BY_NAME]
            raise unknown_name("metric", identifier, valid, argument="metrics") from None
        return MeanMetricWrapper(fn, identifier)
    if callable(identifier):
        base = identifier.func if isinstance(identifier, functools.partial) else identifier
        name = getattr(base, "__name__", None) or type(base).__name__
        return MeanMetricWrapper(identifier, name)
    raise TypeError(
        f"metrics entries must be a metric name such as 'accuracy' or 'mae', a "
        f"fnnet.metrics.Metric, or a callable fn(y_true, y_pred) returning per-example "
        f"values; got {identifier!r} of type {type(identifier).__name__}. Pass e.g. "
        f"metrics=['accuracy']."
    )


@functools.partial(jax.tree_util.register_dataclass, data_fields=["states"],
                   meta_fields=["metrics", "weighted"])
@dataclasses.dataclass(frozen=True)
class MetricSet:
    """A loss tracker and a list of metrics, accumulated batch by batch: what ``fit`` reports.

    A pytree: the metric states are its leaves; which metrics (and which of them take sample
    weights) is static, so a ``MetricSet`` flows through ``jit``, ``lax.fori_loop`` and
    ``vmap`` and two runs over the same batches give the same result however they are chunked.

    * ``states``: ``{"loss": ..., name: state, ...}``, one streaming state per metric;
    * ``metrics``: the resolved :class:`Metric`\\ s, in report order (static);
    * ``weighted``: per metric, whether it takes ``sample_weight`` (static). Keras's rule:
      ``compile(metrics=...)`` are unweighted, ``compile(weighted_metrics=...)`` weighted;
      the loss always is.

    The loss is tracked as Keras tracks it: each batch contributes its mean loss times its
    number of real rows, so the epoch loss is the mean over examples.

    Example:
        >>> import jax.numpy as jnp
        >>> ms = MetricSet.create(["accuracy"], y_true_shape=(4,), y_pred_shape=(4, 3))
        >>> ms = ms.update(jnp.float32(0.5), 4, jnp.array([0, 1, 2, 1]), jnp.eye(4, 3))
        >>> {k: round(float(v), 3) for k, v in ms.result().items()}
        {'loss': 0.5, 'accuracy': 0.75}
    """

    states: dict
    metrics: tuple = ()
    weighted: tuple = ()

    @classmethod
    def create(
        cls,
        metrics: Sequence[Any] = (),
        weighted_metrics: Sequence[Any] = (),
        *,
        y_true_shape: Sequence[int | None] | None = None,
        y_pred_shape: Sequence[int | None] | None = None,
        loss: Any = None,
    ) -> MetricSet:
        """Resolves metric names for the given shapes and loss (see :func:`get`); fresh states.

        A name in both lists is reported twice, the weighted one as ``"weighted_" + name``.
        """
        resolved, weighted, names = [], [], {"loss"}
        for group, is_weighted in ((metrics, False), (weighted_metrics, True)):
            for m in group or ():
                metric = get(m, y_true_shape=y_true_shape, y_pred_shape=y_pred_shape, loss=loss)
                if metric.name in names:
                    if not is_weighted:
                        raise ValueError(
                            f"metrics: the name {metric.name!r} appears twice; metric names "
                            f"must be unique (the loss is reported as 'loss'). Give one of them "
                            f"another name.")
                    metric = metric._replace(name=f"weighted_{metric.name}")
                names.add(metric.name)
                resolved.append(metric)
                weighted.append(is_weighted)
        return cls({}, tuple(resolved), tuple(weighted)).reset()

    @property
    def names(self) -> tuple[str, ...]:
        """``("loss", *metric names)``: the keys of :meth:`result`, in order."""
        return ("loss", *(m.name for m in self.metrics))

    def reset(self) -> MetricSet:
        """The same metrics with every state zeroed."""
        states = {"loss": _sum_init(), **{m.name: m.init() for m in self.metrics}}
        return dataclasses.replace(self, states=states)

    def update(self, loss: ArrayLike, rows: ArrayLike, y_true: Any, y_pred: Any, *,
               sample_weight: ArrayLike | None = None, mask: ArrayLike | None = None) -> MetricSet:
        """Adds one batch: its mean ``loss`` over ``rows`` real rows, and the metrics.

        Args:
            loss: the batch's scalar loss (as the train step minimizes it).
            rows: how many rows of the batch are real.
            y_true, y_pred: the batch's targets and predictions.
            sample_weight: per-example weights, given to the weighted metrics only.
            mask: bool ``(batch,)``, False for padding rows.
        """
        rows = jnp.asarray(rows, jnp.float32)
        loss_state = self.states["loss"]
        states = {"loss": {"total": loss_state["total"] + jnp.asarray(loss, jnp.float32) * rows,
                           "count": loss_state["count"] + rows}}
        for metric, is_weighted in zip(self.metrics, self.weighted, strict=True):
            states[metric.name] = metric.update(
                self.states[metric.name], y_true, y_pred,
                sample_weight=sample_weight if is_weighted else None, mask=mask)
        return dataclasses.replace(self, states=states)

    def result(self) -> dict[str, jax.Array]:
        """``{"loss": ..., name: value, ...}`` as float32 scalars, in :attr:`names` order."""
        out = {"loss": _weighted_mean(self.states["loss"])}
        for metric in self.metrics:
            out[metric.name] = metric.result(self.states[metric.name])
        return out

    def merge(self, other: MetricSet) -> MetricSet:
        """The states of both, as if one set had seen every batch of the other."""
        return dataclasses.replace(self, states=merge(self.states, other.states))
