"""The coefficient of determination (Keras's ``R2Score``) from streaming sums.

``y_true`` and ``y_pred`` have shape ``(batch, outputs)``; the state keeps, per output, the
weighted sums of ``y``, ``y**2`` and the squared residuals, and the total weight, so
``R2 = 1 - SS_res / SS_tot`` over everything seen is exact however the data is batched. The
number of outputs comes from the data: the metric is shape-dependent until
:func:`fnnet.metrics.get` (or ``fit``) resolves it.

Example:
    >>> import jax.numpy as jnp
    >>> from fnnet.metrics import get
    >>> m = get(R2Score(), y_true_shape=(None, 1), y_pred_shape=(None, 1))
    >>> s = m.update(m.init(), jnp.array([[1.0], [2.0], [3.0]]), jnp.array([[1.0], [2.0], [2.0]]))
    >>> float(m.result(s))  # 1 - 1 / 2
    0.5
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from fnnet.losses.shapes import squeeze_or_expand
from fnnet.metrics.base import Metric, check_dtype, shape_dependent, spread, weights_for

__all__ = ["R2Score"]

_AGGREGATIONS = (None, "uniform_average", "variance_weighted_average")
_KEYS = ("squared_sum", "sum", "total_mse", "count")


def R2Score(class_aggregation: str | None = "uniform_average",  # noqa: N802 (Keras's name)
            num_regressors: int = 0, name: str = "r2_score", dtype: Any = None) -> Metric:
    """R², as Keras's ``R2Score``: ``1 - sum((y - p)**2) / sum((y - mean(y))**2)`` per output.

    Args:
        class_aggregation: how the per-output scores combine: ``"uniform_average"`` (their
            mean), ``"variance_weighted_average"`` (weighted by each output's variance), or
            None (one score per output).
        num_regressors: >= 0; with ``p > 0`` regressors, the adjusted R²
            ``1 - (1 - R2) * (n - 1) / (n - p - 1)``, ``n`` the number of entries seen (the
            plain R² when ``p >= n - 1``, where Keras warns).
        name: reported name.
        dtype: None or float32.

    State: ``squared_sum``, ``sum``, ``total_mse`` and ``count`` of shape ``(outputs,)``, and
    ``num_samples`` (scalar).

    Example:
        >>> import jax.numpy as jnp
        >>> from fnnet.metrics import get
        >>> m = get(R2Score(class_aggregation=None), y_true_shape=(None, 2), y_pred_shape=(None, 2))
        >>> s = m.update(m.init(), jnp.array([[1.0, 0.0], [3.0, 2.0]]), jnp.array([[1.0, 1.0], [3.0, 1.0]]))
        >>> m.result(s)
        Array([1., 0.], dtype=float32)
    """
    owner = "R2Score"
    check_dtype(owner, dtype)
    if not isinstance(name, str):
        raise TypeError(f"{owner}: name must be a string; got {name!r}.")
    if class_aggregation not in _AGGREGATIONS:
        raise ValueError(
            f"{owner}: class_aggregation must be None, 'uniform_average' or "
            f"'variance_weighted_average'; got class_aggregation={class_aggregation!r}."
        )
    if isinstance(num_regressors, bool) or not isinstance(num_regressors, int) or num_regressors < 0:
        raise ValueError(f"{owner}: num_regressors must be an int >= 0; got {num_regressors!r}.")

    def build(y_true_shape: tuple, y_pred_shape: tuple) -> Metric:
        if len(y_pred_shape) == 1:  # (batch,) is one output, as (batch, 1)
            y_pred_shape = (*y_pred_shape, 1)
        if len(y_pred_shape) != 2 or y_pred_shape[-1] is None:
            raise ValueError(
                f"{owner}: expects y_pred of shape (batch, outputs) with a known number of "
                f"outputs; got y_pred shape {y_pred_shape}."
            )
        outputs = int(y_pred_shape[-1])

        def init():
            state = {k: jnp.zeros((outputs,), jnp.float32) for k in _KEYS}
            state["num_samples"] = jnp.zeros((), jnp.float32)
            return state

        def update(state, y_true, y_pred, sample_weight=None, mask=None):
            y_pred = jnp.asarray(y_pred).astype(jnp.float32)
            y_true, y_pred = squeeze_or_expand(jnp.asarray(y_true).astype(jnp.float32), y_pred)
            if y_true.ndim == 1:
                y_true, y_pred = y_true[:, None], y_pred[:, None]
            if y_true.shape != y_pred.shape or y_pred.shape[1:] != (outputs,):
                raise ValueError(
                    f"{name}: y_true and y_pred must have shape (batch, {outputs}); got "
                    f"y_true.shape={y_true.shape} and y_pred.shape={y_pred.shape}."
                )
            w, keep = weights_for(name, y_true.shape, sample_weight, mask)
            w = spread(w, y_true.shape)
            seen = jnp.asarray(y_true.size, jnp.float32)
            if keep is not None:  # padded rows may hold NaN, and are not samples
                keep = spread(keep, y_true.shape)
                y_true = jnp.where(keep, y_true, 0.0)
                y_pred = jnp.where(keep, y_pred, 0.0)
                seen = jnp.sum(keep.astype(jnp.float32))
            weighted = y_true * w
            sums = {"sum": jnp.sum(weighted, axis=0),
                    "squared_sum": jnp.sum(y_true * weighted, axis=0),
                    "total_mse": jnp.sum(jnp.square(y_true - y_pred) * w, axis=0),
                    "count": jnp.sum(w, axis=0), "num_samples": seen}
            return {k: state[k] + v for k, v in sums.items()}

        def result(state):
            mean = state["sum"] / state["count"]
            total = state["squared_sum"] - state["sum"] * mean
            raw = 1.0 - state["total_mse"] / total
            raw = jnp.where(jnp.isinf(raw), 0.0, raw)
            if class_aggregation == "uniform_average":
                score = jnp.mean(raw)
            elif class_aggregation == "variance_weighted_average":
                score = jnp.sum(total * raw) / jnp.sum(total)
            else:
                score = raw
            if num_regressors:
                n = state["num_samples"]
                p = jnp.float32(num_regressors)
                adjusted = 1.0 - (1.0 - score) * (n - 1.0) / (n - p - 1.0)
                score = jnp.where(p < n - 1.0, adjusted, score)
            return score

        return Metric(init, update, result, name)

    return shape_dependent(owner, name, build)
