"""The training core: :class:`TrainState` and the pure steps built on it.

Everything here is a pure function of pytrees, so users ``jax.jit`` it, run it in
``lax.scan``, ``vmap`` it over an ensemble, or shard it. The Keras-style ``fit`` is a loop over
exactly these functions (see :mod:`fnnet.loop`).

Two levels:

* **Your own objective.** ``jax.value_and_grad`` of any function of ``ts.params`` (add an L2
  penalty on some layers, an auxiliary loss, clip per-example gradients), then
  ``ts.apply_gradients(grads, state=new_state)``::

      def objective(params):
          y, new_state = model.apply(params, ts.state, x, rng=key, training=True)
          return loss_fn(y, labels) + 1e-4 * l2(params[0]), new_state
      (loss, new_state), grads = jax.value_and_grad(objective, has_aux=True)(ts.params)
      ts = ts.apply_gradients(grads, state=new_state)

* **Keras's objective, as fit computes it.** :func:`make_steps` gives the accumulating updates
  ``fit`` runs (a loss by name or function, metrics, sample weights, padded-row masks, the
  stable from-logits cross-entropy), and :func:`make_train_step` one step with its logs.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from fnnet import metrics as metrics_lib
from fnnet import mixed_precision
from fnnet import optimizers as optimizers_lib
from fnnet.core import (
    Layer,
    Masked,
    apply_constraints,
    as_layer,
    call,
    has_regularization,
    init_layer,
    regularization,
)
from fnnet.objective import Objective

PyTree = Any

__all__ = [
    "TrainState",
    "Steps",
    "make_steps",
    "make_train_step",
    "make_eval_step",
    "make_predict_step",
    "per_example_grads",
    "as_key",
    "unalias",
    "init_optimizer",
]


def as_key(rng: Any, argument: str = "rng") -> jax.Array:
    """Accepts a JAX key (typed or raw ``uint32[2]``) or an int seed, returns a key."""
    if isinstance(rng, int) and not isinstance(rng, bool):
        return jax.random.key(rng)
    if isinstance(rng, jax.Array) and (
        jnp.issubdtype(rng.dtype, jax.dtypes.prng_key) or (rng.dtype == jnp.uint32 and rng.shape == (2,))
    ):
        return rng
    raise TypeError(
        f"{argument} must be a JAX random key or an int seed; got {rng!r}. Pass "
        f"{argument}=jax.random.key(0)."
    )


def unalias(tree: PyTree) -> PyTree:
    """``tree`` with a leaf that appears twice (the same array object) copied.

    Some optimizer states hold one array in two places (an optax schedule's step counter), and
    donating such a state to a jitted step fails with "donate the same buffer twice".
    """
    seen: set[int] = set()

    def fresh(leaf):
        if isinstance(leaf, jax.Array) and id(leaf) in seen:
            return jnp.copy(leaf)
        seen.add(id(leaf))
        return leaf

    return jax.tree.map(fresh, tree)


def init_optimizer(tx: optax.GradientTransformation, params: PyTree) -> PyTree:
    """``tx.init(params)``, with no buffer shared between leaves (see :func:`unalias`)."""
    with jax.numpy_dtype_promotion("standard"):
        return unalias(tx.init(params))


@functools.partial(jax.tree_util.register_dataclass,
                   data_fields=["params", "state", "opt_state", "rng", "step"],
                   meta_fields=["tx"])
@dataclasses.dataclass(frozen=True)
class TrainState:
    """Everything that changes during training, and the optimizer that changes it.

    A pytree (as Flax's ``TrainState``): ``params``, ``state``, ``opt_state``, ``rng`` and
    ``step`` are its leaves, so ``jit`` donates them, ``vmap`` stacks them and checkpoints save
    them; the optimizer ``tx`` is static (part of the tree's structure), so the state and the
    optimizer that made it cannot drift apart.

    Attributes:
        params: the trainable parameters (the layer's params pytree).
        state: the non-trainable state, e.g. BatchNorm's running statistics.
        opt_state: ``tx``'s state.
        rng: the base key: step ``i`` draws its randomness (dropout) from
            ``jax.random.fold_in(rng, i)``, and ``fit`` splits it once per epoch (shuffling).
        step: the number of optimizer steps taken, an int32 scalar.
        tx: the optax ``GradientTransformation`` (static).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import TrainState, layers
        >>> ts = TrainState.create(layers.Dense(3), "sgd", rng=0, input_shape=(None, 4))
        >>> grads = jax.tree.map(jnp.ones_like, ts.params)
        >>> ts = ts.apply_gradients(grads)
        >>> ts.params["kernel"].shape, int(ts.step)
        ((4, 3), 1)
    """

    params: PyTree
    state: PyTree
    opt_state: PyTree
    rng: jax.Array
    step: jax.Array
    tx: optax.GradientTransformation

    @classmethod
    def create(
        cls,
        layer: Any,
        optimizer: str | optax.GradientTransformation | Any,
        *,
        rng: jax.Array | int,
        input_shape: Sequence[int | None],
    ) -> TrainState:
        """Initializes ``layer`` for ``input_shape`` (batch dim included) and the optimizer.

        Args:
            layer: any :class:`fnnet.Layer` (or model, or ``(init, apply)`` pair).
            optimizer: an optimizer name (``"rmsprop"``), an optax transformation, or
                ``optax.MultiSteps``.
            rng: a JAX key or an int seed; split into the init key and the training key.
            input_shape: the input shape including the batch dim (which may be None).
        """
        layer = as_layer(layer, "TrainState.create")
        init_key, train_key = jax.random.split(as_key(rng))
        _, params, state = init_layer(layer, init_key, tuple(input_shape), "TrainState.create")
        return cls.from_params(params, state, optimizer, rng=train_key)

    @classmethod
    def from_params(cls, params: PyTree, state: PyTree, optimizer: Any, *,
                    rng: jax.Array | int) -> TrainState:
        """A train state for existing ``params`` and ``state``, the optimizer freshly set up."""
        tx = optimizers_lib.get(optimizer)
        return cls(params, state, init_optimizer(tx, params), as_key(rng),
                   jnp.zeros((), jnp.int32), tx)

    def apply_gradients(self, grads: PyTree, *, state: PyTree = None, **extra_args: Any
                        ) -> TrainState:
        """The next train state: ``tx`` applied to ``grads``, ``step + 1``.

        Args:
            grads: gradients with the structure of ``params``.
            state: the new non-trainable state (from the forward pass); None keeps the old.
            **extra_args: passed to ``tx.update`` for a ``GradientTransformationExtraArgs``
                (e.g. ``value=loss`` for optax's line searches).
        """
        # optax is written for JAX's standard dtype promotion (int step counts meet float
        # rates); under a user's strict promotion its transformations still run as intended.
        with jax.numpy_dtype_promotion("standard"):
            if extra_args:
                updates, opt_state = self.tx.update(grads, self.opt_state, self.params,
                                                    **extra_args)
            else:
                updates, opt_state = self.tx.update(grads, self.opt_state, self.params)
            params = optax.apply_updates(self.params, updates)
        return dataclasses.replace(
            self, params=params, opt_state=opt_state, step=self.step + 1,
            state=self.state if state is None else state)

    def replace(self, **changes: Any) -> TrainState:
        """A copy with some fields changed, e.g. ``ts.replace(params=new_params)``."""
        return dataclasses.replace(self, **changes)

    _replace = replace  # the NamedTuple spelling of earlier fnnet versions


# ------------------------------------------------------------------------------------- steps
def _unpack(batch: Any, where: str) -> tuple:
    if not isinstance(batch, (tuple, list)) or len(batch) not in (2, 3):
        raise ValueError(
            f"{where}: a batch is a tuple (x, y) or (x, y, sample_weight); got "
            f"{type(batch).__name__}{'' if not isinstance(batch, (tuple, list)) else len(batch)}."
        )
    x, y = batch[0], batch[1]
    return x, y, (batch[2] if len(batch) == 3 else None)


def _values(out: Any) -> Any:
    return out.value if isinstance(out, Masked) else out


class Steps(NamedTuple):
    """The pure pieces ``fit``, ``evaluate`` and ``predict`` are built from.

    * ``init_logs(x, y) -> MetricSet``: fresh metric states for data like ``x``/``y`` (arrays
      or ``jax.ShapeDtypeStruct``\\ s; only shapes are read).
    * ``train_update(ts, logs, batch, mask=None) -> (ts, logs)``: one optimizer step on
      ``batch = (x, y)`` or ``(x, y, sample_weight)``; ``mask`` (bool ``(batch,)``) marks the
      real rows of a padded batch. Accumulates the batch into ``logs``.
    * ``eval_update(params, state, logs, batch, mask=None) -> logs``: the same without
      training (``training=False``).
    * ``predict(params, state, x) -> y``: inference.

    ``logs.result()`` gives ``{"loss": ..., metric: ...}``: batch-by-batch updates over an
    epoch give exactly ``fit``'s History entry.
    """

    init_logs: Callable
    train_update: Callable
    eval_update: Callable
    predict: Callable


def make_steps(
    layer: Any,
    loss: Any,
    metrics: Sequence[Any] = (),
    *,
    weighted_metrics: Sequence[Any] = (),
    loss_weight: Any = 1.0,
    output_names: Sequence[str] | None = None,
) -> Steps:
    """The accumulating train, eval and predict updates for ``layer``, ``loss`` and ``metrics``.

    The loss of a batch is Keras's (see :mod:`fnnet.objective`): ``sum(loss * sample_weight *
    mask) / sum(mask)`` for the default ``sum_over_batch_size``, times ``loss_weight``, plus
    the layers' weight penalties. Gradients are taken with respect to ``ts.params`` only; the
    new ``state`` comes back through ``has_aux``. Each step draws its key as
    ``jax.random.fold_in(ts.rng, ts.step)``.

    Args:
        layer: the model, any :class:`fnnet.Layer` (or model, or ``(init, apply)`` pair).
        loss: a loss name, a :mod:`fnnet.losses` class instance or ``fn(y_true, y_pred) ->
            per-example values``; for several outputs, a list or a dict by output name.
        metrics: metric names, :class:`fnnet.metrics.Metric`\\ s or callables; unweighted. For
            several outputs, a list (one entry per output) or a dict by output name.
        weighted_metrics: the same, weighted by ``sample_weight`` (Keras's rule).
        loss_weight: a multiplier for the loss (Keras's ``loss_weights``); per output for
            several outputs.
        output_names: the names of the outputs, when ``layer`` has several (a tuple, list or
            dict of arrays); the targets are then a tuple in this order.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import TrainState, make_steps, serial, layers
        >>> model = serial(layers.Dense(8, activation="relu"), layers.Dense(3, activation="softmax"))
        >>> ts = TrainState.create(model, "rmsprop", rng=0, input_shape=(None, 4))
        >>> steps = make_steps(model, "sparse_categorical_crossentropy", ["accuracy"])
        >>> x, y = jnp.ones((16, 4)), jnp.zeros((16,), jnp.int32)
        >>> logs = steps.init_logs(x, y)
        >>> for _ in range(3):
        ...     ts, logs = jax.jit(steps.train_update)(ts, logs, (x, y))
        >>> sorted(logs.result()), int(ts.step)
        (['accuracy', 'loss'], 3)
    """
    layer = as_layer(layer, "make_steps")
    objective = Objective(layer, loss, loss_weight, output_names)
    forward = objective.forward
    metric_ids = metrics if isinstance(metrics, dict) else tuple(metrics or ())
    weighted_ids = weighted_metrics if isinstance(weighted_metrics, dict) else tuple(
        weighted_metrics or ())
    if not objective.multi:  # resolve names early so a typo fails before tracing
        for m in metric_ids + weighted_ids:
            if not (isinstance(m, str) and m.strip().lower() in metrics_lib.SHAPE_RESOLVED):
                metrics_lib.get(m)
    # Weight penalties join the loss (and the reported loss, as in Keras); constraints project
    # the params after every update. Both only when some layer has one: no cost otherwise.
    hooks = has_regularization(forward)

    @functools.lru_cache(maxsize=64)
    def _metric_set(y_shapes, pred_shapes):
        # Cached, so every epoch's MetricSet holds the same metric objects: one jit cache entry.
        # The cached set holds no arrays (init_logs makes fresh states where it is called: an
        # array created inside one trace must never be reused by another).
        ms = objective.metric_set(metric_ids, weighted_ids, list(y_shapes), list(pred_shapes))
        return dataclasses.replace(ms, states={})

    @functools.lru_cache(maxsize=64)
    def _pred_shapes(x_spec):
        out = _pred_struct(layer, jax.tree.unflatten(*x_spec))
        return tuple(tuple(o.shape) for o in objective.outputs(out))

    def init_logs(x, y):
        leaves, treedef = jax.tree.flatten(x)
        spec = (treedef, tuple(jax.ShapeDtypeStruct(a.shape, a.dtype) for a in leaves))
        y_shapes = tuple(tuple(t.shape) for t in objective.targets(y))
        return _metric_set(y_shapes, _pred_shapes(spec)).reset()

    def rows_of(x, mask):
        if mask is not None:
            return jnp.sum(jnp.asarray(mask, jnp.float32))
        return jax.tree.leaves(x)[0].shape[0]

    def loss_and_logs(params, out, y, sw, mask):
        total, per_output, y_al, preds = objective.batch_loss(out, y, sw, mask)
        if hooks:
            total = total + regularization(forward, params).astype(total.dtype)
        return total, per_output, y_al, preds

    def train_update(ts, logs, batch, mask=None):
        x, y, sw = _unpack(batch, "train_update")
        # A fresh key per step, derived rather than carried: fold_in(rng, step) gives every step
        # its own key (as Flax's examples do), and XLA drops it entirely for models that use no
        # randomness, where a split carried through the state cost a threefry hash per step.
        step_rng = jax.random.fold_in(ts.rng, ts.step)
        # mixed_float16: the loss is scaled before the gradient (LossScaleOptimizer unscales).
        scale = mixed_precision.loss_scale(ts.opt_state)

        def loss_fn(params):
            out, new_state = call(forward, params, ts.state, x, rng=step_rng, training=True,
                                  batch_mask=mask)
            total, per_output, y_al, preds = loss_and_logs(params, out, y, sw, mask)
            scaled = total if scale is None else total * scale.astype(total.dtype)
            return scaled, (total, new_state, per_output, y_al, preds)

        (_, (total, new_state, per_output, y_al, preds)), grads = jax.value_and_grad(
            loss_fn, has_aux=True)(ts.params)
        ts = ts.apply_gradients(grads, state=new_state)
        if hooks:
            ts = ts.replace(params=apply_constraints(forward, ts.params))
        logs = logs.update(total, rows_of(x, mask), y_al, preds, sample_weight=sw, mask=mask,
                           output_losses=per_output if objective.multi else ())
        return ts, logs

    def eval_update(params, state, logs, batch, mask=None):
        x, y, sw = _unpack(batch, "eval_update")
        out, _ = call(forward, params, state, x, rng=None, training=False)
        total, per_output, y_al, preds = loss_and_logs(params, out, y, sw, mask)
        return logs.update(total, rows_of(x, mask), y_al, preds, sample_weight=sw, mask=mask,
                           output_losses=per_output if objective.multi else ())

    def predict(params, state, x):
        out = call(layer, params, state, x, rng=None, training=False)[0]
        return jax.tree.map(_values, out, is_leaf=lambda v: isinstance(v, Masked))

    return Steps(init_logs, train_update, eval_update, predict)


def _pred_struct(layer: Layer, x: Any) -> jax.ShapeDtypeStruct:
    """The shape and dtype of ``layer``'s output for inputs like ``x`` (shapes only)."""
    spec = jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype), x)

    def forward(v):
        _, params, state = init_layer(layer, jax.random.key(0), jax.tree.map(
            lambda a: a.shape, v), "init_logs")
        out = call(layer, params, state, v, rng=None, training=False)[0]
        return jax.tree.map(_values, out, is_leaf=lambda o: isinstance(o, Masked))

    return jax.eval_shape(forward, spec)


def _check_optimizer(optimizer: Any, ts: TrainState, where: str) -> None:
    if optimizer is not None and optimizer is not ts.tx:
        raise ValueError(
            f"{where}: the optimizer lives in the TrainState (ts.tx = {ts.tx!r:.80}), and the "
            f"optimizer={optimizer!r:.80} given here is a different object. Create the state "
            f"with the optimizer you mean, TrainState.create(layer, optimizer, ...), and build "
            f"the step without one: make_train_step(layer, loss, metrics=...)."
        )


def _check_metrics_argument(metrics: Any, where: str) -> None:
    looks_like_optimizer = isinstance(metrics, optax.GradientTransformation) or (
        isinstance(metrics, str) and metrics.lower() in optimizers_lib.names())
    if looks_like_optimizer:
        raise TypeError(
            f"{where}(layer, loss, metrics): got the optimizer {metrics!r:.60} where the metrics "
            f"go. The optimizer now lives in the TrainState: TrainState.create(layer, "
            f"{metrics!r:.30}, ...), then {where}(layer, loss, metrics=[...])."
        )
    if metrics is not None and not isinstance(metrics, (list, tuple)):
        raise TypeError(f"{where}(metrics): expected a list such as ['accuracy']; got "
                        f"{metrics!r:.80}.")


def make_train_step(
    layer: Any,
    loss: str | Callable,
    metrics: Sequence[Any] = (),
    *,
    optimizer: Any = None,
    weighted_metrics: Sequence[Any] = (),
    loss_weight: float = 1.0,
) -> Callable[..., tuple[TrainState, dict]]:
    """Returns a pure ``step(train_state, x, y, sample_weight=None, mask=None)``.

    The step takes the gradient of the batch loss (see :func:`make_steps`) with respect to
    ``train_state.params``, applies the train state's own optimizer, and returns
    ``(new_train_state, logs)`` with the batch's ``"loss"`` and each metric as scalars.
    ``mask`` (shape ``(batch,)``, bool) leaves padded rows out of the loss, the metrics and
    BatchNormalization's statistics.

    Wrap it in ``jax.jit`` (donating the state), ``lax.scan`` it over batches, or ``vmap`` it.

    Args:
        layer: the model, any :class:`fnnet.Layer`.
        loss: a loss name or ``fn(y_true, y_pred) -> per-example values``.
        metrics: metric names, :class:`fnnet.metrics.Metric` triples or callables.
        optimizer: optional; if given it must be the very object in the train state (the
            optimizer lives in :class:`TrainState`, so the two cannot disagree).
        weighted_metrics: metrics weighted by ``sample_weight``.
        loss_weight: a multiplier for the loss.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import TrainState, make_train_step, serial, layers
        >>> model = serial(layers.Dense(8, activation="relu"), layers.Dense(3, activation="softmax"))
        >>> ts = TrainState.create(model, "rmsprop", rng=0, input_shape=(None, 4))
        >>> step = jax.jit(make_train_step(model, "sparse_categorical_crossentropy",
        ...                                metrics=["accuracy"]), donate_argnums=0)
        >>> x, y = jnp.ones((16, 4)), jnp.zeros((16,), jnp.int32)
        >>> ts, logs = step(ts, x, y)
        >>> sorted(logs), int(ts.step)
        (['accuracy', 'loss'], 1)
    """
    _check_metrics_argument(metrics, "make_train_step")
    steps = make_steps(layer, loss, metrics, weighted_metrics=weighted_metrics,
                       loss_weight=loss_weight)

    def step(train_state, x, y, sample_weight=None, mask=None):
        _check_optimizer(optimizer, train_state, "make_train_step")
        logs = steps.init_logs(x, y)
        batch = (x, y) if sample_weight is None else (x, y, sample_weight)
        train_state, logs = steps.train_update(train_state, logs, batch, mask)
        return train_state, logs.result()

    return step


def make_eval_step(
    layer: Any,
    loss: str | Callable,
    metrics: Sequence[Any] = (),
    *,
    weighted_metrics: Sequence[Any] = (),
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
    _check_metrics_argument(metrics, "make_eval_step")
    steps = make_steps(layer, loss, metrics, weighted_metrics=weighted_metrics)

    def eval_step(params, state, x, y, sample_weight=None, mask=None):
        batch = (x, y) if sample_weight is None else (x, y, sample_weight)
        return steps.eval_update(params, state, steps.init_logs(x, y), batch, mask).result()

    return eval_step


def make_predict_step(layer: Any) -> Callable[[PyTree, PyTree, jax.Array], jax.Array]:
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
    layer = as_layer(layer, "make_predict_step")

    def predict(params, state, x):
        out = call(layer, params, state, x, rng=None, training=False)[0]
        return jax.tree.map(_values, out, is_leaf=lambda o: isinstance(o, Masked))

    return predict


def per_example_grads(layer: Any, loss: Any) -> Callable:
    """A pure ``grads(params, state, x, y) -> per-example gradients`` (a ``vmap`` of ``grad``).

    Each example's gradient is of ``loss(y_i, layer(x_i))`` alone, the layer applied to a batch
    of one with ``training=False`` (so BatchNormalization uses its moving statistics and no
    example sees another; Dropout is off). The result has the params' structure with a leading
    batch axis. With it, per-example clipping and noise (DP-SGD) take a few lines; see
    ``examples/custom_training.py``.

    Args:
        layer: the model, any :class:`fnnet.Layer`.
        loss: a loss name or function (per-example values).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import layers
        >>> model = layers.Dense(2)
        >>> _, params, state = model.init(jax.random.key(0), (None, 3))
        >>> g = jax.jit(per_example_grads(model, "mse"))(params, state, jnp.ones((5, 3)),
        ...                                                jnp.zeros((5, 2)))
        >>> g["kernel"].shape
        (5, 3, 2)
    """
    layer = as_layer(layer, "per_example_grads")
    objective = Objective(layer, loss)

    def one(params, state, xi, yi):
        add_batch = lambda a: jnp.expand_dims(a, 0)  # noqa: E731
        xb, yb = jax.tree.map(add_batch, xi), jax.tree.map(add_batch, yi)
        out, _ = call(objective.forward, params, state, xb, rng=None, training=False)
        return objective.batch_loss(out, yb, None, None)[0]

    def grads(params, state, x, y):
        return jax.vmap(jax.grad(one), in_axes=(None, None, 0, 0))(params, state, x, y)

    return grads
