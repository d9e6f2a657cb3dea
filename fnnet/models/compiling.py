"""``compile``: Keras's arguments checked on the host and turned into the pure pieces.

:func:`compile_model` resolves the optimizer (freezing the params of layers with
``trainable=False``), the loss and the metrics into a :class:`Compiled`: the optimizer, the
:class:`fnnet.Steps` ``fit`` runs, the programs cache, and the configuration ``save`` stores.
:class:`OptimizerHandle` is ``model.optimizer``: Keras's ``learning_rate`` property over the
optimizer state in the model's train state.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import optax

from fnnet import distribution as distribution_lib
from fnnet import losses as losses_lib
from fnnet import metrics as metrics_lib
from fnnet import mixed_precision
from fnnet import optimizers as optimizers_lib
from fnnet.combinators import serial
from fnnet.core import Layer, trainable_mask
from fnnet.models.programs import Programs
from fnnet.objective import Objective
from fnnet.training import Steps, make_steps

__all__ = ["Compiled", "OptimizerHandle", "compile_model", "training_forward"]


@dataclasses.dataclass
class Compiled:
    """What ``compile`` produced for one model.

    Attributes:
        optimizer: the optimizer as given, resolved (what ``save`` names).
        tx: the optimizer the train state holds: ``optimizer`` with frozen params masked out
            (see :func:`fnnet.optimizers.freeze`).
        steps: the pure steps ``fit``/``evaluate`` run (None when compiled without a loss).
        programs: their jitted programs.
        config: the arguments as given (names, functions, objects), for ``get_compile_config``.
        losses: the resolved loss of each output (None where an output has none).
    """

    optimizer: optax.GradientTransformation
    tx: optax.GradientTransformation
    steps: Steps | None
    programs: Programs
    config: dict
    losses: list
    distribution: Any = None


def _check_list(argument: str, value: Any, multi: bool = False) -> Any:
    if value is None:
        return []
    if multi and isinstance(value, dict):  # per output, by name
        return {k: _check_list(argument, v if isinstance(v, (list, tuple)) else [v])
                for k, v in value.items()}
    if not isinstance(value, (list, tuple)):
        raise TypeError(
            f"compile({argument}): expected a list such as ['accuracy']"
            f"{' (or a dict by output name)' if multi else ''}; got {value!r:.80}."
        )
    for m in value:  # names and wrong types fail here, not at the first fit
        if multi and isinstance(m, (list, tuple)):
            _check_list(argument, m)
        elif not (isinstance(m, str) and m.strip().lower() in metrics_lib.SHAPE_RESOLVED):
            metrics_lib.get(m)
    return list(value)


def _single_loss_weight(loss_weights: Any) -> float:
    value = loss_weights
    if isinstance(value, (list, tuple)) and len(value) == 1:
        value = value[0]
    if value is None:
        return 1.0
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or \
            not np.isfinite(value) or value < 0:
        raise ValueError(
            f"compile(loss_weights={loss_weights!r}): a Sequential has one output, so "
            f"loss_weights is one non-negative number (or a list holding one), e.g. "
            f"loss_weights=0.5; dicts and longer lists are for multi-output models.")
    return float(value)


def frozen_for_training(layer: Layer) -> Layer:
    """``layer`` with its ``trainable`` flag read now (a snapshot); a frozen layer that declares
    ``inference_when_frozen`` (BatchNormalization) runs with ``training=False``, as in Keras.

    Models build their compiled forward pass from these snapshots, so flags changed after
    compile take effect at the next compile, as in Keras.
    """
    if not layer.trainable and layer.inference_when_frozen:
        layer = _in_inference(layer)
    return layer.replace(trainable=layer.trainable)


def training_forward(layers: Sequence[Layer]) -> Layer:
    """A ``Sequential``'s layers as one ``serial``, each frozen as :func:`frozen_for_training`."""
    return serial(*(frozen_for_training(layer) for layer in layers))


def _in_inference(layer: Layer) -> Layer:
    inner = layer.apply

    def apply(params, state, x, *, rng=None, training=False, batch_mask=None):
        return inner(params, state, x, rng=rng, training=False)

    return layer.replace(apply=apply, uses_batch_mask=False)


def compile_model(
    forward: Layer,
    optimizer: Any,
    loss: Any,
    metrics: Any,
    weighted_metrics: Any,
    loss_weights: Any,
    steps_per_execution: Any,
    jit_compile: Any,
    predict_fn: Callable,
    output_names: Sequence[str] = (),
    distribution: Any = None,
) -> Compiled:
    """Checks ``compile``'s arguments and builds the :class:`Compiled` model.

    ``forward`` is the model as one pure layer (see :func:`frozen_for_training`);
    ``output_names`` name its outputs (for per-output losses and metrics).
    """
    base_tx = optimizers_lib.get(optimizer)
    if mixed_precision.global_policy().name == "mixed_float16" and not isinstance(
            base_tx.init(()), mixed_precision.LossScaleState):
        base_tx = mixed_precision.LossScaleOptimizer(base_tx)  # as Keras's compile does
    multi = len(output_names) > 1
    metrics = _check_list("metrics", metrics, multi)
    weighted_metrics = _check_list("weighted_metrics", weighted_metrics, multi)
    loss_weight = loss_weights if multi else _single_loss_weight(loss_weights)
    objective = None if loss is None else Objective(
        forward, loss, loss_weight, output_names if multi else None)
    if steps_per_execution is not None and (
        isinstance(steps_per_execution, bool) or not isinstance(steps_per_execution, int)
        or steps_per_execution < 1
    ):
        raise ValueError(
            f"compile(steps_per_execution): expected a positive int or None; got "
            f"{steps_per_execution!r}."
        )
    if not isinstance(jit_compile, bool):
        raise TypeError(f"compile(jit_compile): expected True or False; got {jit_compile!r}.")
    tx = base_tx
    if not all(layer.trainable for layer in forward.config["layers"]):
        tx = optimizers_lib.freeze(base_tx, lambda params: trainable_mask(forward, params))
    steps = None if objective is None else make_steps(
        forward, loss, metrics, weighted_metrics=weighted_metrics, loss_weight=loss_weight,
        output_names=output_names if multi else None)
    config = {
        "optimizer": optimizer,
        "loss": loss,
        "metrics": metrics,
        "weighted_metrics": weighted_metrics,
        "loss_weights": None if loss_weights is None else loss_weight,
        "output_names": list(output_names),
        "steps_per_execution": steps_per_execution,
        "jit_compile": jit_compile,
    }
    dist = distribution if distribution is not None else distribution_lib.distribution()
    if dist is not None and not isinstance(dist, distribution_lib.Distribution):
        raise TypeError(f"compile(distribution): expected a fnnet.distribution.DataParallel or "
                        f"ModelParallel; got {dist!r}.")
    constrain = None if dist is None else dist.constrain_batch
    losses = objective.losses if objective is not None else [None] * max(len(output_names), 1)
    return Compiled(base_tx, tx, steps, Programs(steps, predict_fn, jit_compile, constrain),
                    config, losses, dist)


def _name_of(value: Any) -> str | dict | None:
    """A loss or metric by name: a str as given, a built-in loss by its canonical name (a
    built-in loss class by its ``{"class_name", "config"}``), a built-in metric function by
    its name."""
    if isinstance(value, str):
        return value
    return losses_lib.serialize(value) or metrics_lib.serialize(value)


def compile_config(compiled: Compiled, opt_state: Any) -> tuple[dict, list[str]]:
    """The JSON-able configuration ``save`` stores, and what had to be stored by name only.

    A custom loss or metric function is stored by its ``__name__`` and an optimizer that is not
    built from a name as ``{"custom": repr}``: ``load_model`` takes them back through
    ``custom_objects``.
    """
    cfg = compiled.config
    custom: list[str] = []

    def named(value):
        name = _name_of(value)
        if name is None:
            name = getattr(value, "__name__", None) or type(value).__name__
            custom.append(name)
        return name

    def encode(value):  # per-output structures: dicts by output name, lists by position
        if isinstance(value, dict) and set(value) == {"class_name", "config"}:
            return value  # a serialized loss or metric class, as load_model passes it back
        if isinstance(value, dict):
            return {k: encode(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [encode(v) for v in value]
        return None if value is None else named(value)

    optimizer = optimizers_lib.serialize(compiled.optimizer, opt_state)
    if optimizer is None:
        custom.append("optimizer")
        optimizer = {"custom": repr(cfg["optimizer"])[:200]}
    out = {
        "optimizer": optimizer,
        "loss": encode(cfg["loss"]),
        "metrics": encode(cfg["metrics"]),
        "weighted_metrics": encode(cfg["weighted_metrics"]),
        "loss_weights": cfg["loss_weights"],
        "steps_per_execution": cfg["steps_per_execution"],
        "jit_compile": cfg["jit_compile"],
    }
    return out, custom


class OptimizerHandle:
    """``model.optimizer``: the optax transformation plus Keras's ``learning_rate`` property.

    ``learning_rate`` reads the rate the next step will use from the model's train state, and
    setting it replaces it there (no recompile; a callback's change takes effect at the next
    step). It works wherever the rate is an injected hyper-parameter of the optimizer (every
    fnnet optimizer; ``optax.inject_hyperparams`` anywhere in a chain) and says clearly when
    it is not.
    """

    def __init__(self, model: Any, tx: optax.GradientTransformation, identifier: Any):
        self._model = model
        self.tx = tx
        self.identifier = identifier

    @property
    def learning_rate(self) -> float:
        """The current learning rate; setting it takes effect at the next step."""
        value = optimizers_lib.get_learning_rate(self._model.train_state.opt_state)
        if value is None:
            raise ValueError(
                f"model.optimizer.learning_rate: the optimizer {self.identifier!r:.100} has no "
                f"injectable learning rate. Compile with a fnnet optimizer (optimizer='rmsprop' "
                f"or fnnet.optimizers.RMSprop(learning_rate=...)), or wrap an optax one: "
                f"optax.inject_hyperparams(optax.adam)(learning_rate=1e-3)."
            )
        return float(value)

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        ts = self._model.train_state
        self._model.train_state = ts.replace(
            opt_state=optimizers_lib.set_learning_rate(ts.opt_state, value))

    def __repr__(self) -> str:
        return f"<fnnet optimizer {self.identifier!r:.100}>"
