"""The compiled training core: ``TrainState`` and pure train, eval and predict steps.

Everything here is a pure function of pytrees, so users ``jax.jit`` it, put it in
``lax.scan``, ``vmap`` it over an ensemble, or shard it. The Keras-style ``fit`` is a loop over
exactly these functions.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from fnnet import activations as activations_lib
from fnnet import losses as losses_lib
from fnnet import metrics as metrics_lib
from fnnet import optimizers as optimizers_lib
from fnnet.core import Layer

PyTree = Any

__all__ = [
    "TrainState",
    "make_train_step",
    "make_eval_step",
    "make_predict_step",
    "StepFunctions",
    "build_step_functions",
]


def as_key(rng: Any, argument: str = "rng") -> jax.Array:
    """Accepts a JAX key (typed or raw ``uint32[2]``) or an int seed, returns a key."""
    if isinstance(rng, (int,)) and not isinstance(rng, bool):
        return jax.random.key(rng)
    if isinstance(rng, jax.Array) and (
        jnp.issubdtype(rng.dtype, jax.dtypes.prng_key) or (rng.dtype == jnp.uint32 and rng.shape == (2,))
    ):
        return rng
    raise TypeError(
        f"{argument} must be a JAX random key or an int seed; got {rng!r}. Pass "
        f"{argument}=jax.random.key(0)."
    )


class TrainState(NamedTuple):
    """Everything that changes during training, as one pytree (see Flax's ``TrainState``).

    Attributes:
        params: the trainable parameters (the layer's params pytree).
        state: the non-trainable state, e.g. BatchNorm's running statistics.
        opt_state: the optax optimizer state.
        rng: the base key: step ``i`` draws its randomness (dropout) from
            ``jax.random.fold_in(rng, i)``, and ``fit`` splits it once per epoch (shuffling).
        step: the number of optimizer steps taken, an int32 scalar.

    The optimizer itself (a pair of functions) is not stored: pass it to
    :func:`make_train_step`. That keeps the state a plain pytree that ``jit`` can donate and
    checkpoints can save.

    Example:
        >>> import jax
        >>> from fnnet import TrainState, layers
        >>> ts = TrainState.create(layers.Dense(3), "rmsprop", rng=jax.random.key(0),
        ...                        input_shape=(None, 4))
        >>> ts.params["kernel"].shape, int(ts.step)
        ((4, 3), 0)
    """

    params: PyTree
    state: PyTree
    opt_state: PyTree
    rng: jax.Array
    step: jax.Array

    @classmethod
    def create(
        cls,
        layer: Layer,
        optimizer: str | optax.GradientTransformation,
        *,
        rng: jax.Array | int,
        input_shape: Sequence[int | None],
    ) -> TrainState:
        """Initializes ``layer`` for ``input_shape`` (batch dim included) and the optimizer.

        Args:
            layer: any :class:`fnnet.Layer`.
            optimizer: an optimizer name (``"rmsprop"``) or an ``optax.GradientTransformation``.
            rng: a JAX key or an int seed; split into the init key and the training key.
            input_shape: the input shape including the batch dim (which may be None).
        """
        key = as_key(rng)
        init_key, train_key = jax.random.split(key)
        _, params, state = layer.init(init_key, tuple(input_shape))
        tx = optimizers_lib.get(optimizer)
        return cls(params, state, tx.init(params), train_key, jnp.zeros((), jnp.int32))


def _align_targets(y: jax.Array, y_pred: jax.Array, loss_fn: Callable) -> jax.Array:
    """Gives ``y`` of shape (N,) a trailing axis against an output of shape (N, 1).

    Without this, ``y - y_pred`` would broadcast to (N, N): a silently wrong loss.
    """
    sparse = loss_fn in (losses_lib.sparse_categorical_crossentropy,) or getattr(
        loss_fn, "func", None) is losses_lib.sparse_categorical_crossentropy
    if not sparse and y.ndim == y_pred.ndim - 1 and y_pred.shape[-1] == 1:
        return y[..., None]
    return y


def _weights(per_example: jax.Array, sample_weight, mask) -> tuple[jax.Array, jax.Array]:
    """Per-example weights (sample_weight * mask) and the number of real examples."""
    dtype = per_example.dtype
    w = jnp.ones(per_example.shape, dtype)
    count = jnp.asarray(per_example.shape[0], dtype)
    if mask is not None:
        w = jnp.asarray(mask, dtype).reshape(per_example.shape)
        count = jnp.sum(w)
    if sample_weight is not None:
        w = w * jnp.asarray(sample_weight, dtype).reshape(per_example.shape)
    return w, count


def _weighted(per_example: jax.Array, sample_weight) -> jax.Array:
    if sample_weight is None:
        return per_example
    return per_example * jnp.asarray(sample_weight, per_example.dtype).reshape(per_example.shape)


class StepFunctions(NamedTuple):
    """The pure pieces ``make_train_step`` and ``fit`` are built from.

    ``logs`` below is a dict of streaming metric states keyed by name, with ``"loss"`` first;
    updating it batch by batch gives exact dataset-level results.
    """

    tx: optax.GradientTransformation
    loss_fn: Callable
    metrics_for: Callable  # (y_shape, y_pred_shape) -> tuple[Metric, ...]
    init_logs: Callable  # (metrics) -> logs state
    train_update: Callable  # (ts, logs, x, y, sample_weight, mask) -> (ts, logs)
    eval_update: Callable  # (params, state, logs, x, y, sample_weight, mask) -> logs
    results: Callable  # (metrics, logs) -> dict of scalars
    predict: Callable  # (params, state, x) -> y_pred


def build_step_functions(
    layer: Layer,
    loss: str | Callable,
    optimizer: str | optax.GradientTransformation = "rmsprop",
    metrics: Sequence[Any] = (),
    loss_weight: float = 1.0,
) -> StepFunctions:
    """Resolves names and returns the pure :class:`StepFunctions` for ``layer``.

    ``loss_weight`` scales the loss (and so its gradient and the reported loss), as Keras's
    ``compile(loss_weights=...)`` does for a single output.

    When ``layer`` ends in softmax (or sigmoid) and the loss is the matching cross-entropy,
    the loss is computed from the logits (``layer.logits``), which is exact where the clipped
    probability form saturates; metrics still see the probabilities.
    """
    loss_fn = losses_lib.get(loss)
    tx = optimizers_lib.get(optimizer)
    metric_ids = tuple(metrics or ())
    for m in metric_ids:  # resolve names early so a typo fails before any tracing
        if isinstance(m, str) and m.strip().lower() not in metrics_lib.SHAPE_RESOLVED:
            metrics_lib.get(m)
    loss_tracker = metrics_lib.Mean("loss")

    forward = layer.apply
    objective_loss = loss_fn
    to_pred = lambda out: out  # noqa: E731
    logits_loss = losses_lib.from_logits_variant(loss_fn)
    act = getattr(layer, "output_activation", None)
    if (getattr(layer, "logits", None) is not None and logits_loss is not None
            and losses_lib.matching_activation(loss_fn) == act):
        forward = layer.logits.apply
        objective_loss = logits_loss
        to_pred = activations_lib.get(act)

    def weighted_loss(y_true, y_pred):
        per_example = objective_loss(y_true, y_pred)
        if loss_weight != 1.0:
            per_example = per_example * jnp.asarray(loss_weight, per_example.dtype)
        return per_example

    @functools.cache
    def metrics_for(y_shape, y_pred_shape):
        return tuple(
            metrics_lib.get(m, y_true_shape=y_shape, y_pred_shape=y_pred_shape, loss=loss_fn)
            for m in metric_ids
        )

    def init_logs(metric_objs):
        logs = {"loss": loss_tracker.init()}
        for m in metric_objs:
            logs[m.name] = m.init()
        return logs

    def update_logs(logs, weighted_loss, y, y_pred, sample_weight, mask):
        # The loss tracker divides by the number of real rows, not the sum of weights (Keras's
        # sum_over_batch_size), so sample weights enter the values, and only the mask counts.
        logs = dict(logs)
        logs["loss"] = loss_tracker.update(logs["loss"], weighted_loss, mask=mask)
        for m in metrics_for(tuple(y.shape), tuple(y_pred.shape)):
            logs[m.name] = m.update(logs[m.name], y, y_pred, sample_weight=sample_weight, mask=mask)
        return logs

    def train_update(ts, logs, x, y, sample_weight=None, mask=None):
        # A fresh key per step, derived rather than carried: fold_in(rng, step) gives every step
        # its own key (as Flax's examples do), and XLA drops it entirely for models that use no
        # randomness, where a split carried through the state cost a threefry hash per step.
        step_rng = jax.random.fold_in(ts.rng, ts.step)

        def objective(params):
            out, new_state = forward(params, ts.state, x, rng=step_rng, training=True)
            y_al = _align_targets(y, out, loss_fn)
            per_example = weighted_loss(y_al, out)
            w, count = _weights(per_example, sample_weight, mask)
            total = jnp.sum(per_example * w) / jnp.maximum(count, 1)
            return total, (out, new_state, per_example, w)

        grad_fn = jax.value_and_grad(objective, has_aux=True)
        (_, (out, new_state, per_example, _)), grads = grad_fn(ts.params)
        updates, opt_state = tx.update(grads, ts.opt_state, ts.params)
        params = optax.apply_updates(ts.params, updates)
        y_pred = to_pred(out)
        y_al = _align_targets(y, y_pred, loss_fn)
        logs = update_logs(logs, _weighted(per_example, sample_weight), y_al, y_pred,
                           sample_weight, mask)
        new_ts = TrainState(params, new_state, opt_state, ts.rng, ts.step + 1)
        return new_ts, logs

    def eval_update(params, state, logs, x, y, sample_weight=None, mask=None):
        out, _ = forward(params, state, x, rng=None, training=False)
        y_al = _align_targets(y, out, loss_fn)
        per_example = weighted_loss(y_al, out)
        y_pred = to_pred(out)
        return update_logs(logs, _weighted(per_example, sample_weight), y_al, y_pred,
                           sample_weight, mask)

    def results(metric_objs, logs):
        out = {"loss": loss_tracker.result(logs["loss"])}
        for m in metric_objs:
            out[m.name] = m.result(logs[m.name])
        return out

    def predict(params, state, x):
        return layer.apply(params, state, x, rng=None, training=False)[0]

    return StepFunctions(tx, loss_fn, metrics_for, init_logs, train_update, eval_update, results,
                         predict)


def _pred_shape(layer: Layer, params, state, x) -> tuple:
    return tuple(jax.eval_shape(lambda p, s, v: layer.apply(p, s, v)[0], params, state, x).shape)


def make_train_step(
    layer: Layer,
    loss: str | Callable,
    optimizer: str | optax.GradientTransformation = "rmsprop",
    metrics: Sequence[Any] = (),
) -> Callable[..., tuple[TrainState, dict]]:
    """Returns a pure ``step(train_state, x, y, sample_weight=None, mask=None)``.

    The step draws its key from ``jax.random.fold_in(train_state.rng, train_state.step)``,
    takes the gradient of the mean loss with respect to
    ``params`` only (``state``, e.g. BatchNorm statistics, comes back through ``has_aux``),
    applies the optimizer, and returns ``(new_train_state, logs)`` where ``logs`` holds the
    batch's ``"loss"`` and each metric as scalars. ``mask`` (shape ``(batch,)``, 0 or 1) leaves
    padded rows out of the loss and metrics; the loss is ``sum(loss * sample_weight * mask) /
    sum(mask)``, Keras's ``sum_over_batch_size``.

    Wrap it in ``jax.jit`` (donating the state), ``lax.scan`` it over batches, or ``vmap`` it.

    Args:
        layer: the model, any :class:`fnnet.Layer`.
        loss: a loss name or ``fn(y_true, y_pred) -> per-example values``.
        optimizer: the same optimizer the ``TrainState`` was created with.
        metrics: metric names, :class:`fnnet.metrics.Metric` triples or callables.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import TrainState, make_train_step, serial, layers
        >>> model = serial(layers.Dense(8, activation="relu"), layers.Dense(3, activation="softmax"))
        >>> ts = TrainState.create(model, "rmsprop", rng=0, input_shape=(None, 4))
        >>> step = jax.jit(make_train_step(model, "sparse_categorical_crossentropy", "rmsprop",
        ...                                metrics=["accuracy"]), donate_argnums=0)
        >>> x, y = jnp.ones((16, 4)), jnp.zeros((16,), jnp.int32)
        >>> ts, logs = step(ts, x, y)
        >>> sorted(logs), int(ts.step)
        (['accuracy', 'loss'], 1)
    """
    fns = build_step_functions(layer, loss, optimizer, metrics)

    def step(train_state, x, y, sample_weight=None, mask=None):
        pred_shape = _pred_shape(layer, train_state.params, train_state.state, x)
        metric_objs = fns.metrics_for(tuple(y.shape), pred_shape)
        logs = fns.init_logs(metric_objs)
        train_state, logs = fns.train_update(train_state, logs, x, y, sample_weight, mask)
        return train_state, fns.results(metric_objs, logs)

    return step


def make_eval_step(
    layer: Layer,
    loss: str | Callable,
    metrics: Sequence[Any] = (),
) -> Callable[..., dict]:
    """Returns a pure ``eval_step(params, state, x, y, sample_weight=None, mask=None) -> logs``.

    Runs the layer with ``training=False`` and returns the batch's ``"loss"`` and metrics.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import TrainState, make_eval_step, layers
        >>> model = layers.Dense(1)
        >>> ts = TrainState.create(model, "sgd", rng=0, input_shape=(None, 2))
        >>> logs = jax.jit(make_eval_step(model, "mse", ["mae"]))(
        ...     ts.params, ts.state, jnp.zeros((4, 2)), jnp.ones((4, 1)))
        >>> [round(float(logs[k]), 4) for k in ("loss", "mae")]
        [1.0, 1.0]
    """
    fns = build_step_functions(layer, loss, optax.identity(), metrics)

    def eval_step(params, state, x, y, sample_weight=None, mask=None):
        metric_objs = fns.metrics_for(tuple(y.shape), _pred_shape(layer, params, state, x))
        logs = fns.eval_update(params, state, fns.init_logs(metric_objs), x, y, sample_weight,
                               mask)
        return fns.results(metric_objs, logs)

    return eval_step


def make_predict_step(layer: Layer) -> Callable[[PyTree, PyTree, jax.Array], jax.Array]:
    """Returns a pure ``predict(params, state, x) -> y`` (``training=False``, no rng).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import TrainState, make_predict_step, layers
        >>> model = layers.Dense(2, activation="softmax")
        >>> ts = TrainState.create(model, "rmsprop", rng=0, input_shape=(None, 3))
        >>> probs = jax.jit(make_predict_step(model))(ts.params, ts.state, jnp.ones((5, 3)))
        >>> probs.shape, bool(jnp.allclose(probs.sum(-1), 1.0))
        ((5, 2), True)
    """

    def predict(params, state, x):
        return layer.apply(params, state, x, rng=None, training=False)[0]

    return predict
