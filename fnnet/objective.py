"""Keras's compiled loss: one loss per model output, weighted, reduced as each loss says.

:class:`Objective` resolves ``compile``'s ``loss``/``loss_weights``/``metrics`` for a model with
one or several outputs, and computes a batch's loss exactly as Keras 3 does:

* each output's per-example losses are reduced by that loss's ``reduction``
  (``"sum_over_batch_size"``: the weighted sum over the real entries, divided by their number;
  ``"sum"``: not divided; ``"mean_with_sample_weight"``: divided by the sum of the weights), with
  sample weights, the padding rows of a partial batch, masked timesteps (a ``Masked`` output)
  and a sparse loss's ``ignore_class`` left out;
* the total is the ``loss_weights``-weighted sum over outputs; each output's own loss is
  reported as ``"<output>_loss"`` (several outputs only), its metrics as ``"<output>_<metric>"``.

With one output that ends in softmax (or sigmoid) and the matching cross-entropy, the loss is
computed from the logits (``layer.logits``), exact where the probability form saturates;
metrics still see the probabilities.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp

from fnnet import activations as activations_lib
from fnnet import losses as losses_lib
from fnnet import metrics as metrics_lib
from fnnet.core import Layer, Masked

__all__ = ["Objective", "per_output", "weighted_loss"]

PyTree = Any


def per_output(names: Sequence[str], value: Any, what: str, single: Callable = lambda v: True
               ) -> list:
    """``value`` for each output: one value for all, a list in output order, or a dict by name.

    ``single(value)`` tells a value meant for every output from a list of per-output values.
    """
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(names))
        if unknown:
            raise ValueError(
                f"compile({what}): {unknown} are not outputs of the model; its outputs are "
                f"{list(names)}. Key the dict by output layer names."
            )
        return [value.get(name) for name in names]
    if isinstance(value, (list, tuple)) and not single(value):
        if len(value) != len(names):
            raise ValueError(
                f"compile({what}): the model has {len(names)} outputs ({list(names)}), so a "
                f"list of {what} needs {len(names)} entries, one per output; got {len(value)}. "
                f"Or pass a dict keyed by output names."
            )
        return list(value)
    return [value] * len(names)


def weighted_loss(values: jax.Array, sample_weight: Any = None, mask: Any = None,
                  data_mask: Any = None, reduction: str | None = "sum_over_batch_size"
                  ) -> jax.Array:
    """Keras's reduction of per-example (or per-timestep) losses.

    ``sample_weight`` and ``mask`` (real rows) have shape ``(batch,)``; ``data_mask`` covers the
    leading axes of ``values``. Entries masked out never enter the sum, even if they hold NaN.
    """
    dtype = values.dtype

    def spread(w):  # (batch,) or a leading-axes mask -> values' shape
        w = jnp.asarray(w, dtype)
        return jnp.broadcast_to(w.reshape(w.shape + (1,) * (values.ndim - w.ndim)), values.shape)

    real = jnp.ones(values.shape, dtype)
    if mask is not None:
        real = real * spread(mask)
    if data_mask is not None:
        real = real * spread(data_mask)
    w = real if sample_weight is None else real * spread(sample_weight)
    # where(): padded rows may hold NaN (e.g. 0/0 from a repeated row), and 0 * NaN is NaN.
    total = jnp.sum(jnp.where(w != 0, values * w, jnp.zeros((), dtype)))
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight":
        return total / jnp.where(jnp.sum(w) > 0, jnp.sum(w), jnp.ones((), dtype))
    return total / jnp.maximum(jnp.sum(real), jnp.ones((), dtype))


def _values(out: Any) -> tuple[jax.Array, jax.Array | None]:
    value, mask = (out.value, out.mask) if isinstance(out, Masked) else (out, None)
    # Losses and metrics in float32, whatever a mixed-precision model computes in.
    if jnp.issubdtype(value.dtype, jnp.floating) and jnp.finfo(value.dtype).bits < 32:
        value = value.astype(jnp.float32)
    return value, mask


def _check_per_example(values: jax.Array, y_pred: jax.Array, loss_fn: Callable) -> None:
    if values.ndim == 0 or values.shape != y_pred.shape[:values.ndim]:
        name = getattr(loss_fn, "__name__", repr(loss_fn))
        raise ValueError(
            f"loss {name}: returned shape {tuple(values.shape)} for predictions of shape "
            f"{tuple(y_pred.shape)}; fnnet losses return one value per example (shape "
            f"({y_pred.shape[0]},), or (batch, timesteps) for sequences) and fit reduces them "
            f"with the sample weights and the mask of padded rows. Reduce over the last axis "
            f"only, e.g. jnp.mean(jnp.square(y_pred - y_true), axis=-1)."
        )


def _reduction(loss_fn: Callable) -> str:
    reduction = getattr(loss_fn, "reduction", "sum_over_batch_size")
    if reduction in (None, "none"):
        name = getattr(loss_fn, "__name__", repr(loss_fn))
        raise ValueError(
            f"compile(loss): the loss {name} has reduction={reduction!r}, which leaves one value "
            f"per example; training needs a scalar. Use reduction='sum_over_batch_size' (the "
            f"default), 'sum' or 'mean_with_sample_weight'."
        )
    return reduction


def _for_output(metric: metrics_lib.Metric, index: int, prefix: str) -> metrics_lib.Metric:
    """``metric`` on output ``index`` of a multi-output model, named ``prefix_name``."""
    inner = metric.update

    def update(state, y_true, y_pred, sample_weight=None, mask=None):
        return inner(state, y_true[index], y_pred[index], sample_weight=sample_weight, mask=mask)

    return metric._replace(update=update, name=f"{prefix}_{metric.name}")


class Objective:
    """The losses of a model's outputs, resolved once (at compile).

    Args:
        layer: the model as one pure layer.
        loss: one loss for every output, a list in output order, or a dict by output name (an
            output without a loss is not trained on, as in Keras).
        loss_weights: one number, a list or a dict, as ``loss``.
        output_names: the names of the outputs; None or one name for a single-output model.
    """

    def __init__(self, layer: Layer, loss: Any, loss_weights: Any = 1.0,
                 output_names: Sequence[str] | None = None):
        names = list(output_names or [None])
        self.names = names
        self.multi = len(names) > 1
        losses = per_output(names, loss, "loss", single=lambda v: False) if self.multi else [loss]
        self.losses = [None if fn is None else losses_lib.get(fn) for fn in losses]
        if all(fn is None for fn in self.losses):
            raise ValueError("compile(loss): no output has a loss; pass loss=... for at least "
                             "one output.")
        self.reductions = [None if fn is None else _reduction(fn) for fn in self.losses]
        # A list is one weight per output, as for ``loss`` (never one weight for all).
        weights = per_output(names, 1.0 if loss_weights is None else loss_weights,
                             "loss_weights", single=lambda v: False) if self.multi \
            else [loss_weights]
        self.weights = [1.0 if w is None else float(w) for w in weights]
        self.forward, self.objective_losses, self.to_pred = layer, list(self.losses), None
        if not self.multi and self.losses[0] is not None:
            self._stable_logits(layer)

    def _stable_logits(self, layer: Layer) -> None:
        loss_fn = self.losses[0]
        logits_loss = losses_lib.from_logits_variant(loss_fn)
        act = layer.output_activation
        if layer.logits is not None and logits_loss is not None and \
                losses_lib.matching_activation(loss_fn) == act:
            self.forward, self.objective_losses = layer.logits, [logits_loss]
            self.to_pred = activations_lib.get(act)

    @property
    def loss_names(self) -> tuple[str, ...]:
        """The per-output loss trackers: ``("<output>_loss", ...)`` for several outputs."""
        if not self.multi:
            return ()
        return tuple(f"{name}_loss" for name, fn in zip(self.names, self.losses, strict=True)
                     if fn is not None)

    def outputs(self, out: Any) -> list:
        """The model's outputs in output order (a single output as a one-entry list)."""
        if not self.multi:
            return [out]
        if isinstance(out, dict):
            return [out[name] for name in self.names]
        return list(out)

    def targets(self, y: Any) -> list:
        return list(y) if self.multi else [y]

    def batch_loss(self, out: Any, y: Any, sample_weight: Any, mask: Any
                   ) -> tuple[jax.Array, list, Any, Any]:
        """``(total loss, per-output losses, aligned targets, predictions for metrics)``.

        Targets and predictions come back as a single array for a single-output model, else as
        tuples in output order.
        """
        outs, ys = self.outputs(out), self.targets(y)
        total, per_output_losses, aligned, preds = None, [], [], []
        for i, (o, t) in enumerate(zip(outs, ys, strict=True)):
            value, data_mask = _values(o)
            fn, objective = self.losses[i], self.objective_losses[i]
            if fn is None:
                aligned.append(t)
                preds.append(value)
                continue
            t = losses_lib.align_targets(t, value, fn)
            values = objective(t, value)
            _check_per_example(values, value, fn)
            ignore = losses_lib.bound_arguments(fn).get("ignore_class")
            if ignore is not None:  # Keras averages over the labels that are not ignore_class
                keep = jnp.asarray(t).reshape(values.shape) != ignore
                data_mask = keep if data_mask is None else jnp.logical_and(data_mask, keep)
            loss_i = weighted_loss(values, sample_weight, mask, data_mask, self.reductions[i])
            per_output_losses.append(loss_i)
            weighted = loss_i * jnp.asarray(self.weights[i], loss_i.dtype)
            total = weighted if total is None else total + weighted.astype(total.dtype)
            aligned.append(t)
            preds.append(value if self.to_pred is None else self.to_pred(value))
        if not self.multi:
            return total, per_output_losses, aligned[0], preds[0]
        return total, per_output_losses, tuple(aligned), tuple(preds)

    def metric_set(self, metrics: Sequence[Any], weighted: Sequence[Any], y_shapes: list,
                   pred_shapes: list) -> metrics_lib.MetricSet:
        """A fresh :class:`~fnnet.metrics.MetricSet` for these outputs' shapes."""
        if not self.multi:
            return metrics_lib.MetricSet.create(metrics, weighted, y_true_shape=y_shapes[0],
                                                y_pred_shape=pred_shapes[0], loss=self.losses[0])
        resolved = {}
        for group, key in ((metrics, "metrics"), (weighted, "weighted_metrics")):
            chosen = []
            lists = per_output(self.names, group or {}, key, single=lambda v: False)
            for i, (name, entries) in enumerate(zip(self.names, lists, strict=True)):
                if entries is not None and not isinstance(entries, (list, tuple)):
                    entries = [entries]  # one metric for this output
                for m in entries or ():
                    metric = metrics_lib.get(m, y_true_shape=y_shapes[i],
                                             y_pred_shape=pred_shapes[i], loss=self.losses[i])
                    chosen.append(_for_output(metric, i, name))
            resolved[key] = chosen
        ms = metrics_lib.MetricSet.create(resolved["metrics"], resolved["weighted_metrics"],
                                          losses=self.loss_names)
        return dataclasses.replace(ms, states={}).reset()
