"""What ``fit`` reports: the loss tracker and the compiled metrics, as one pytree.

Example:
    >>> import jax.numpy as jnp
    >>> ms = MetricSet.create(["accuracy", "auc"], y_true_shape=(4,), y_pred_shape=(4, 1))
    >>> ms = ms.update(jnp.float32(0.5), 4, jnp.array([0, 1, 1, 0]), jnp.array([[0.2], [0.9], [0.4], [0.1]]))
    >>> {k: round(float(v), 3) for k, v in ms.result().items()}
    {'loss': 0.5, 'accuracy': 0.75, 'auc': 1.0}
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from fnnet.metrics.base import merge, sum_init, weighted_mean
from fnnet.metrics.registry import get

__all__ = ["MetricSet"]


@functools.partial(jax.tree_util.register_dataclass, data_fields=["states"],
                   meta_fields=["metrics", "weighted", "losses"])
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
      the loss always is;
    * ``losses``: the names of further loss trackers (a multi-output model's per-output
      losses, ``"cls_loss"``...), updated from :meth:`update`'s ``output_losses``.

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
    losses: tuple = ()

    @classmethod
    def create(
        cls,
        metrics: Sequence[Any] = (),
        weighted_metrics: Sequence[Any] = (),
        *,
        y_true_shape: Sequence[int | None] | None = None,
        y_pred_shape: Sequence[int | None] | None = None,
        loss: Any = None,
        losses: Sequence[str] = (),
    ) -> MetricSet:
        """Resolves metric names for the given shapes and loss (see :func:`get`); fresh states.

        A name in both lists is reported twice, the weighted one as ``"weighted_" + name``.
        ``losses`` names extra loss trackers (reported after ``"loss"``).
        """
        resolved, weighted, names = [], [], {"loss", *losses}
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
        return cls({}, tuple(resolved), tuple(weighted), tuple(losses)).reset()

    @property
    def names(self) -> tuple[str, ...]:
        """``("loss", *extra losses, *metric names)``: the keys of :meth:`result`, in order."""
        return ("loss", *self.losses, *(m.name for m in self.metrics))

    def reset(self) -> MetricSet:
        """The same metrics with every state zeroed."""
        states = {"loss": sum_init(), **{name: sum_init() for name in self.losses},
                  **{m.name: m.init() for m in self.metrics}}
        return dataclasses.replace(self, states=states)

    def update(self, loss: ArrayLike, rows: ArrayLike, y_true: Any, y_pred: Any, *,
               sample_weight: ArrayLike | None = None, mask: ArrayLike | None = None,
               output_losses: Sequence[ArrayLike] = ()) -> MetricSet:
        """Adds one batch: its mean ``loss`` over ``rows`` real rows, and the metrics.

        Args:
            loss: the batch's scalar loss (as the train step minimizes it).
            rows: how many rows of the batch are real.
            y_true, y_pred: the batch's targets and predictions.
            sample_weight: per-example weights, given to the weighted metrics only.
            mask: bool ``(batch,)``, False for padding rows.
            output_losses: one batch loss per name in :attr:`losses`, tracked as ``loss``.
        """
        rows = jnp.asarray(rows, jnp.float32)

        def track(state, value):
            return {"total": state["total"] + jnp.asarray(value, jnp.float32) * rows,
                    "count": state["count"] + rows}

        states = {"loss": track(self.states["loss"], loss)}
        for name, value in zip(self.losses, output_losses, strict=True):
            states[name] = track(self.states[name], value)
        for metric, is_weighted in zip(self.metrics, self.weighted, strict=True):
            states[metric.name] = metric.update(
                self.states[metric.name], y_true, y_pred,
                sample_weight=sample_weight if is_weighted else None, mask=mask)
        return dataclasses.replace(self, states=states)

    def result(self) -> dict[str, jax.Array]:
        """``{"loss": ..., name: value, ...}`` as float32 scalars, in :attr:`names` order."""
        out = {"loss": weighted_mean(self.states["loss"])}
        for name in self.losses:
            out[name] = weighted_mean(self.states[name])
        for metric in self.metrics:
            out[metric.name] = metric.result(self.states[metric.name])
        return out

    def merge(self, other: MetricSet) -> MetricSet:
        """The states of both, as if one set had seen every batch of the other."""
        return dataclasses.replace(self, states=merge(self.states, other.states))
