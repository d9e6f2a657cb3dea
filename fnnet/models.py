"""Keras-style models: ``Sequential`` with ``compile``, ``fit``, ``evaluate`` and ``predict``.

A ``Sequential`` is itself a :class:`fnnet.Layer`: ``model.init`` and ``model.apply`` are the
pure pair of ``fnnet.serial(*model.layers)``, and ``model.params`` / ``model.state`` are plain
pytrees. ``fit`` is a thin loop over :mod:`fnnet.training`'s pure step: an epoch runs on the
device as one compiled loop over batches (or chunks of ``steps_per_execution`` batches), with
on-device shuffling, donated buffers, and metrics accumulated in the loop's carry.
"""

from __future__ import annotations

import functools
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from fnnet import _engine, _streaming, utils
from fnnet import callbacks as callbacks_lib
from fnnet import optimizers as optimizers_lib
from fnnet._validation import (
    check_batch_size,
    check_labels,
    prepare_inputs,
    prepare_sample_weight,
    prepare_targets,
)
from fnnet.core import Layer, _LayerFields, serial
from fnnet.training import TrainState, build_step_functions

__all__ = ["Sequential", "Input", "load_model"]


def Input(shape: Sequence[int], name: str | None = None) -> Layer:
    """Declares a model's per-example input shape, as ``keras.Input`` does in a ``Sequential``.

    Example:
        >>> from fnnet import models, layers
        >>> model = models.Sequential([models.Input((784,)), layers.Dense(10)])
        >>> model.input_shape
        (None, 784)
    """
    if not isinstance(shape, (tuple, list)) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in shape
    ):
        raise ValueError(
            f"Input(shape): shape must be a tuple of positive ints without the batch dim; got "
            f"{shape!r}. For flattened 28x28 images use Input((784,))."
        )

    def init(rng, input_shape):
        return tuple(input_shape), (), ()

    def apply(params, state, x, *, rng=None, training=False):
        return x, state

    return Layer(init, apply, name=name, kind="InputLayer", config={"shape": tuple(shape)},
                 input_shape=tuple(shape))


def _snake(kind: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", kind).lower()


# Keras orders a layer's weights as it creates them (kernel before bias; gamma, beta, then the
# moving statistics). JAX rebuilds dicts with sorted keys, so insertion order does not survive
# a jit; this fixed priority restores Keras's order, other names follow alphabetically.
_WEIGHT_ORDER = {name: i for i, name in enumerate(
    ["kernel", "depthwise_kernel", "pointwise_kernel", "recurrent_kernel", "embeddings", "bias",
     "gamma", "beta", "moving_mean", "moving_variance"])}


def _keras_keys(tree: dict) -> list:
    return sorted(tree, key=lambda k: (_WEIGHT_ORDER.get(k, len(_WEIGHT_ORDER)), str(k)))


def _ordered_leaves(tree: Any) -> list:
    """Leaves in Keras's weight order (see ``_WEIGHT_ORDER``), tuples in order."""
    if isinstance(tree, dict):
        return [leaf for k in _keras_keys(tree) for leaf in _ordered_leaves(tree[k])]
    if isinstance(tree, (tuple, list)):
        return [leaf for v in tree for leaf in _ordered_leaves(v)]
    if tree is None:
        return []
    return [tree]


def _replace_ordered(tree: Any, leaves: list) -> Any:
    """Inverse of ``_ordered_leaves``: puts ``leaves`` (consumed in order) into ``tree``'s slots."""
    if isinstance(tree, dict):
        return {k: _replace_ordered(tree[k], leaves) for k in _keras_keys(tree)}
    if isinstance(tree, tuple):
        return tuple(_replace_ordered(v, leaves) for v in tree)
    if isinstance(tree, list):
        return [_replace_ordered(v, leaves) for v in tree]
    if tree is None:
        return None
    return leaves.pop(0)


class _Optimizer:
    """``model.optimizer``: the optax transform plus Keras's ``learning_rate`` property."""

    def __init__(self, model: Sequential, tx: optax.GradientTransformation, identifier: Any):
        self._model = model
        self.tx = tx
        self.identifier = identifier

    @property
    def learning_rate(self) -> float:
        """The current learning rate; setting it takes effect at the next step, no recompile."""
        ts = self._model._require_train_state("optimizer.learning_rate")
        value = optimizers_lib.get_learning_rate(ts.opt_state)
        if value is None:
            raise ValueError(
                f"The optimizer {self.identifier!r} has no injectable learning rate. Compile with "
                f"a name such as optimizer='rmsprop' (or fnnet.optimizers.get('rmsprop', "
                f"learning_rate=...)) to change it during training."
            )
        return float(value)

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        ts = self._model._require_train_state("optimizer.learning_rate")
        opt_state = optimizers_lib.set_learning_rate(ts.opt_state, value)
        self._model._ts = ts._replace(opt_state=opt_state)

    def __repr__(self) -> str:
        return f"<fnnet optimizer {self.identifier!r}>"


class Sequential(Layer):
    """A linear stack of layers with Keras's ``compile``/``fit``/``evaluate``/``predict``.

    The model is itself a :class:`fnnet.Layer`: ``model.init``/``model.apply`` are the pure
    pair of ``fnnet.serial(*model.layers)``, so it composes with every combinator and with
    ``jax.jit``/``grad``/``vmap``. Its params are a tuple with one dict per layer.

    Shapes: input ``(batch, *input_shape)``; output that of the last layer.

    Example:
        >>> import numpy as np
        >>> from fnnet import models, layers
        >>> model = models.Sequential()
        >>> model.add(layers.Dense(16, activation="relu", input_shape=(4,)))
        >>> model.add(layers.Dense(3, activation="softmax"))
        >>> model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy",
        ...               metrics=["accuracy"])
        >>> x = np.random.default_rng(0).random((50, 4), dtype=np.float32)
        >>> y = (x[:, 0] * 3).astype("int32")
        >>> history = model.fit(x, y, epochs=2, batch_size=16, verbose=0)
        >>> sorted(history.history), len(history.history["loss"])
        (['accuracy', 'loss'], 2)
        >>> model.predict(x[:5], verbose=0).shape
        (5, 3)
    """

    def __new__(cls, layers: Sequence[Layer] | None = None, name: str | None = None):
        box: list[Sequential] = []

        def init(rng, input_shape):
            return box[0]._serial().init(rng, input_shape)

        def apply(params, state, x, *, rng=None, training=False):
            return box[0]._serial().apply(params, state, x, rng=rng, training=training)

        self = _LayerFields.__new__(cls, init, apply)
        box.append(self)
        return self

    def __init__(self, layers: Sequence[Layer] | None = None, name: str | None = None):
        self.name = name or "sequential"
        self.kind = "Sequential"
        self.layers: list[Layer] = []
        self._declared_input: tuple | None = None
        self._serial_cache: Layer | None = None
        self._ts: TrainState | None = None
        self._output_shapes: list = []
        self._compiled: dict | None = None
        self._fns = None
        self._programs: dict = {}
        self.optimizer: _Optimizer | None = None
        self.stop_training = False
        self.history = None
        if layers is not None:
            if not isinstance(layers, (list, tuple)):
                raise TypeError(
                    f"Sequential(layers): layers must be a list of layers; got {layers!r}. For "
                    f"example Sequential([layers.Dense(10)])."
                )
            for layer in layers:
                self.add(layer)

    # Identity semantics: the tuple fields are bound closures, and comparing or hashing them
    # would recurse into the model.
    __hash__ = object.__hash__

    def __eq__(self, other):
        return self is other

    def __ne__(self, other):
        return self is not other

    def __repr__(self) -> str:
        return f"<Sequential name={self.name!r}, {len(self.layers)} layers>"

    # ----------------------------------------------------------------- Layer metadata
    @property
    def config(self) -> dict:
        return {"name": self.name, "layers": list(self.layers)}

    @property
    def input_shape(self) -> tuple | None:
        """The input shape with the batch dim as None, once known: ``(None, 784)``."""
        return None if self._declared_input is None else (None, *self._declared_input)

    @property
    def output_shape(self) -> tuple | None:
        return self._output_shapes[-1] if self._output_shapes else None

    @property
    def logits(self) -> Layer | None:
        return self._serial().logits

    @property
    def output_activation(self) -> str | None:
        return self._serial().output_activation

    @property
    def built(self) -> bool:
        return self._ts is not None

    def _serial(self) -> Layer:
        if self._serial_cache is None:
            self._serial_cache = serial(*self.layers)
        return self._serial_cache

    # ----------------------------------------------------------------- building
    def add(self, layer: Layer) -> None:
        """Appends a layer (a first layer's ``input_shape=`` or an ``Input`` builds the model)."""
        if not (callable(getattr(layer, "init", None)) and callable(getattr(layer, "apply", None))):
            raise TypeError(
                f"Sequential.add: expected a layer (an fnnet.Layer such as layers.Dense(10)); got "
                f"{layer!r} of type {type(layer).__name__}."
            )
        if getattr(layer, "kind", None) == "InputLayer":
            if self.layers:
                raise ValueError(
                    "Sequential.add: an Input must come first, before any layer; this model "
                    f"already has {len(self.layers)} layers."
                )
            self._declared_input = tuple(layer.input_shape)
            self._maybe_build()
            return
        if not isinstance(layer, Layer):
            layer = Layer(layer.init, layer.apply, kind=type(layer).__name__)
        taken = {lay.name for lay in self.layers}
        name = layer.name
        if name is None:
            base = _snake(layer.kind) if layer.kind != "Layer" else "layer"
            name, i = base, 0
            while name in taken:
                i += 1
                name = f"{base}_{i}"
        elif name in taken:
            raise ValueError(
                f"Sequential.add: a layer named {name!r} already exists in {self.name!r}; layer "
                f"names must be unique. Pass another name=."
            )
        if not self.layers and self._declared_input is None and layer.input_shape is not None:
            self._declared_input = tuple(layer.input_shape)
        if layer is not layer.named(name) and layer.name != name:
            layer = layer.named(name)
        self.layers.append(layer)
        self._invalidate()
        self._maybe_build()

    def pop(self) -> Layer:
        """Removes and returns the last layer."""
        if not self.layers:
            raise ValueError("Sequential.pop: the model has no layers to remove.")
        layer = self.layers.pop()
        self._invalidate()
        self._maybe_build()
        return layer

    def _invalidate(self) -> None:
        self._serial_cache = None
        self._programs = {}
        self._fns = None

    def _maybe_build(self) -> None:
        if self._declared_input is not None and self.layers:
            self.build((None, *self._declared_input))

    def build(self, input_shape: Sequence[int | None]) -> None:
        """Creates the params and state for inputs of ``input_shape`` (batch dim included).

        Layers that were already built keep their weights, as in Keras.
        """
        shape = tuple(input_shape)
        if not shape or not all(d is None or (isinstance(d, int) and d > 0) for d in shape):
            raise ValueError(
                f"Sequential.build: input_shape must include the batch dim, e.g. (None, 784); "
                f"got {input_shape!r}."
            )
        if not self.layers:
            raise ValueError("Sequential.build: the model has no layers; add some first.")
        shape = (None, *shape[1:])
        key = utils.next_key() if self._ts is None else self._ts.rng
        init_key, train_key = jax.random.split(key)
        old = self._ts
        keys = jax.random.split(init_key, len(self.layers))
        params, states, shapes = [], [], []
        cur = shape
        for i, (layer, k) in enumerate(zip(self.layers, keys)):
            try:
                cur, p, s = layer.init(k, cur)
            except ValueError as err:
                raise ValueError(f"Layer {layer.name!r} (#{i}, {layer.kind}): {err}") from None
            params.append(p)
            states.append(s)
            shapes.append(cur)
        if old is not None:  # keep weights of layers that were built before
            n = min(len(old.params), len(params))
            for i in range(n):
                if jax.tree.map(jnp.shape, old.params[i]) == jax.tree.map(jnp.shape, params[i]):
                    params[i], states[i] = old.params[i], old.state[i]
        self._declared_input = shape[1:]
        self._output_shapes = shapes
        params, states = tuple(params), tuple(states)
        opt_state = None if self.optimizer is None else self.optimizer.tx.init(params)
        step = jnp.zeros((), jnp.int32) if old is None else old.step
        self._ts = TrainState(params, states, opt_state, train_key, step)
        self._programs = {}

    # ----------------------------------------------------------------- weights
    def _require_train_state(self, where: str) -> TrainState:
        if self._ts is None:
            raise ValueError(
                f"{where}: the model is not built yet. Give the first layer input_shape=..., "
                f"call model.build((None, features)), or fit it on data first."
            )
        return self._ts

    @property
    def params(self) -> tuple:
        """The trainable params: a tuple with one pytree per layer."""
        return self._require_train_state("model.params").params

    @params.setter
    def params(self, value: Any) -> None:
        ts = self._require_train_state("model.params")
        self._check_same_tree("model.params", ts.params, value)
        self._ts = ts._replace(params=jax.tree.map(jnp.asarray, value))

    @property
    def state(self) -> tuple:
        """The non-trainable state (e.g. BatchNorm statistics): one pytree per layer."""
        return self._require_train_state("model.state").state

    @state.setter
    def state(self, value: Any) -> None:
        ts = self._require_train_state("model.state")
        self._check_same_tree("model.state", ts.state, value)
        self._ts = ts._replace(state=jax.tree.map(jnp.asarray, value))

    @property
    def train_state(self) -> TrainState:
        """The whole :class:`fnnet.TrainState` (params, state, optimizer state, rng, step)."""
        return self._require_train_state("model.train_state")

    @train_state.setter
    def train_state(self, value: TrainState) -> None:
        ts = self._require_train_state("model.train_state")
        if not isinstance(value, TrainState):
            raise TypeError(f"model.train_state must be a fnnet.TrainState; got {type(value)}.")
        self._check_same_tree("model.train_state", ts, value)
        self._ts = value

    @staticmethod
    def _check_same_tree(where: str, old: Any, new: Any) -> None:
        old_s = jax.tree.structure(old)
        new_s = jax.tree.structure(new)
        if old_s != new_s:
            raise ValueError(
                f"{where}: the new value's tree structure differs from the model's. Expected "
                f"{old_s}, got {new_s}."
            )
        for path, a, b in zip(jax.tree_util.tree_flatten_with_path(old)[0],
                              jax.tree.leaves(old), jax.tree.leaves(new)):
            if jnp.shape(a) != jnp.shape(b):
                raise ValueError(
                    f"{where}: the array at {jax.tree_util.keystr(path[0])} has shape "
                    f"{jnp.shape(b)}, expected {jnp.shape(a)}."
                )

    def get_weights(self) -> list[np.ndarray]:
        """All weights as numpy arrays in Keras's order (per layer: params, then state)."""
        ts = self._require_train_state("get_weights")
        out = []
        for p, s in zip(ts.params, ts.state):
            out.extend(np.asarray(a) for a in _ordered_leaves(p) + _ordered_leaves(s))
        return out

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Sets all weights from a list in :meth:`get_weights`'s order; shapes must match."""
        ts = self._require_train_state("set_weights")
        current = self.get_weights()
        if not isinstance(weights, (list, tuple)) or len(weights) != len(current):
            got = len(weights) if isinstance(weights, (list, tuple)) else type(weights).__name__
            raise ValueError(
                f"set_weights: expected a list of {len(current)} arrays (as get_weights returns); "
                f"got {got}."
            )
        new = []
        for i, (w, c) in enumerate(zip(weights, current)):
            w = np.asarray(w)
            if w.shape != c.shape:
                raise ValueError(
                    f"set_weights: weight #{i} has shape {w.shape}, expected {c.shape}."
                )
            new.append(jnp.asarray(w, c.dtype))
        params, states = [], []
        for p, s in zip(ts.params, ts.state):
            params.append(_replace_ordered(p, new))
            states.append(_replace_ordered(s, new))
        self._ts = ts._replace(params=tuple(params), state=tuple(states))

    def count_params(self) -> int:
        """The number of weights (trainable and not)."""
        ts = self._require_train_state("count_params")
        return int(sum(np.size(a) for a in jax.tree.leaves((ts.params, ts.state))))

    def summary(self, print_fn: Callable[[str], Any] | None = None) -> None:
        """Prints a Keras-like table: layer (type), output shape, param count; then totals."""
        ts = self._require_train_state("summary")
        print_fn = print_fn or print
        rows = []
        for layer, shape, p, s in zip(self.layers, self._output_shapes, ts.params, ts.state):
            n = sum(np.size(a) for a in jax.tree.leaves((p, s)))
            rows.append((f"{layer.name} ({layer.kind})", str(tuple(shape)), f"{n:,}"))
        w = (max(28, *(len(r[0]) + 2 for r in rows)), max(25, *(len(r[1]) + 2 for r in rows)), 15)
        line = "─" * sum(w)
        print_fn(f'Model: "{self.name}"')
        print_fn("┏" + "━" * (sum(w)) + "┓")
        print_fn(f"{'Layer (type)':<{w[0]}}{'Output Shape':<{w[1]}}{'Param #':>{w[2]}}")
        print_fn("┡" + "━" * (sum(w)) + "┩")
        for r in rows:
            print_fn(f"{r[0]:<{w[0]}}{r[1]:<{w[1]}}{r[2]:>{w[2]}}")
        print_fn(line)
        trainable = sum(np.size(a) for a in jax.tree.leaves(ts.params))
        frozen = sum(np.size(a) for a in jax.tree.leaves(ts.state))
        nbytes = sum(np.asarray(a).nbytes for a in jax.tree.leaves((ts.params, ts.state)))
        print_fn(f" Total params: {trainable + frozen:,} ({_human_bytes(nbytes)})")
        print_fn(f" Trainable params: {trainable:,}")
        print_fn(f" Non-trainable params: {frozen:,}")

    # ----------------------------------------------------------------- saving
    def save_weights(self, filepath: str) -> None:
        """Saves weights and state to a ``.safetensors`` file, atomically; see :mod:`fnnet.saving`."""
        from fnnet import saving

        saving.save_weights(self, filepath)

    def load_weights(self, filepath: str) -> None:
        """Loads weights saved by :meth:`save_weights` or :meth:`save`; verified, all or nothing."""
        from fnnet import saving

        saving.load_weights(self, filepath)

    def save(self, filepath: str) -> None:
        """Saves the whole model (architecture, weights, optimizer state, rng, step)."""
        from fnnet import saving

        saving.save_model(self, filepath)

    # ----------------------------------------------------------------- compile
    def compile(
        self,
        optimizer: str | optax.GradientTransformation = "rmsprop",
        loss: str | Callable | None = None,
        metrics: Sequence[Any] | None = None,
        loss_weights: Any = None,
        steps_per_execution: int | None = None,
        jit_compile: bool = True,
    ) -> None:
        """Configures training: the optimizer, the loss and the metrics.

        Args:
            optimizer: a name (``"rmsprop"``, ``"adam"``...) with Keras's defaults, or any
                ``optax.GradientTransformation``.
            loss: a loss name or ``fn(y_true, y_pred) -> per-example loss``.
            metrics: a list of metric names, :class:`fnnet.metrics.Metric` or callables.
            loss_weights: a multiplier for the loss (a number, or a list holding one number,
                as Keras takes for a single-output model).
            steps_per_execution: how many batches run per compiled call (and so how often
                callbacks' batch hooks and the progress bar update). None: the whole epoch in
                one call, about 20 updates per epoch with a progress bar, and 8 batches per
                call for data streamed from an iterable.
            jit_compile: False runs the steps eagerly, for debugging.
        """
        tx = optimizers_lib.get(optimizer)
        if loss is not None:
            from fnnet import losses as losses_lib

            losses_lib.get(loss)
        if metrics is not None and not isinstance(metrics, (list, tuple)):
            raise TypeError(
                f"compile(metrics): expected a list such as ['accuracy']; got {metrics!r}."
            )
        from fnnet import metrics as metrics_lib

        for m in metrics or []:  # names and wrong types fail here, not at the first fit
            if not (isinstance(m, str) and m.strip().lower() in metrics_lib.SHAPE_RESOLVED):
                metrics_lib.get(m)
        loss_weight = _single_loss_weight(loss_weights)
        if steps_per_execution is not None and (
            isinstance(steps_per_execution, bool) or not isinstance(steps_per_execution, int)
            or steps_per_execution < 1
        ):
            raise ValueError(
                f"compile(steps_per_execution): expected a positive int or None; got "
                f"{steps_per_execution!r}."
            )
        self.optimizer = _Optimizer(self, tx, optimizer)
        self._compiled = {
            "optimizer": optimizer,
            "loss": loss,
            "metrics": list(metrics or []),
            "steps_per_execution": steps_per_execution,
            "jit_compile": bool(jit_compile),
            "loss_weights": None if loss_weights is None else loss_weight,
        }
        self._fns = None
        self._programs = {}
        if self._ts is not None:
            self._ts = self._ts._replace(opt_state=tx.init(self._ts.params))

    @property
    def compiled(self) -> bool:
        return self._compiled is not None

    def _functions(self, where: str):
        if self._compiled is None:
            raise ValueError(
                f"{where}: the model must be compiled first. Call model.compile(optimizer="
                f"'rmsprop', loss='categorical_crossentropy', metrics=['accuracy'])."
            )
        if self._compiled["loss"] is None:
            raise ValueError(
                f"{where}: the model was compiled without a loss. Call model.compile(..., "
                f"loss='categorical_crossentropy') (or another loss name)."
            )
        if self._fns is None:
            weight = self._compiled.get("loss_weights")
            self._fns = build_step_functions(
                self, self._compiled["loss"], self.optimizer.tx, self._compiled["metrics"],
                loss_weight=1.0 if weight is None else weight)
        return self._fns

    def _program(self, kind: str | tuple, batch_size: int = 0):
        """The compiled program of ``kind``, built once per compile and batch size."""
        key = (kind, batch_size)
        if key not in self._programs:
            jit = self._compiled is None or self._compiled["jit_compile"]
            if isinstance(kind, tuple):  # ("fused", shuffle, metric_objs)
                prog = _engine.fused_epoch_program(self._functions("fit"), batch_size, kind[2],
                                                   kind[1], jit)
            elif kind == "train":
                prog = _engine.train_program(self._functions(kind), batch_size, jit)
            elif kind == "eval":
                prog = _engine.eval_program(self._functions(kind), batch_size, jit)
            elif kind == "predict":  # needs only the layers: works before compile, as in Keras
                prog = _engine.predict_program(self._serial().apply, batch_size, jit)
            else:
                prog = _engine.epoch_program(jit)
            self._programs[key] = prog
        return self._programs[key]

    def _results(self, metric_objs, logs) -> dict:
        """The metric values as Python floats, in logs order: one dispatch and one host sync."""
        key = ("results", metric_objs)
        if key not in self._programs:
            fns = self._functions("results")
            self._programs[key] = jax.jit(functools.partial(fns.results, metric_objs))
        return self._fetch(metric_objs, self._programs[key](logs))

    @staticmethod
    def _fetch(metric_objs, results) -> dict:
        values = jax.device_get(results)  # one host sync; a dict with sorted keys
        return {k: float(values[k]) for k in ("loss", *(m.name for m in metric_objs))}

    def _lazy_results(self, metric_objs, logs) -> _LazyLogs:
        """Batch-level logs that wait for the device only if a callback reads them."""
        return _LazyLogs(lambda: self._results(metric_objs, logs))

    def _metric_objs(self, y_shape, batch_size):
        fns = self._functions("metrics")
        pred = (batch_size, *self.output_shape[1:])
        return fns.metrics_for((batch_size, *y_shape[1:]), pred)

    # ----------------------------------------------------------------- data checks
    def _prepare(self, where, x, y=None, sample_weight=None, class_weight=None):
        x = prepare_inputs(where, x)
        if not self.built:
            self.build((None, *x.shape[1:]))
        self._check_input_shape(where, x)
        y = prepare_targets(where, y, len(x))
        check_labels(where, self._compiled["loss"], y, self.output_shape)
        sw = prepare_sample_weight(where, sample_weight, class_weight, y, len(x))
        return x, y, sw

    def _check_input_shape(self, where: str, x: np.ndarray) -> None:
        expected = self._declared_input
        if tuple(x.shape[1:]) != tuple(expected):
            first = self.layers[0]
            raise ValueError(
                f"{where}: input x has shape {tuple(x.shape)}, but layer {first.name!r} "
                f"({first.kind}) of model {self.name!r} expects inputs of shape "
                f"(batch, {', '.join(map(str, expected))}). Reshape x to (n, "
                f"{', '.join(map(str, expected))})."
            )

    # ----------------------------------------------------------------- fit
    def fit(
        self,
        x: Any = None,
        y: Any = None,
        batch_size: int | None = None,
        epochs: int = 1,
        verbose: str | int = "auto",
        callbacks: Sequence[callbacks_lib.Callback] | None = None,
        validation_split: float = 0.0,
        validation_data: tuple | None = None,
        shuffle: bool = True,
        class_weight: dict | None = None,
        sample_weight: Any = None,
        initial_epoch: int = 0,
        steps_per_epoch: int | None = None,
        validation_freq: int = 1,
    ) -> callbacks_lib.History:
        """Trains the model for ``epochs`` epochs; returns a ``History``.

        Keras semantics: ``validation_split`` takes the last fraction of ``x``/``y`` before
        shuffling; the last partial batch is trained on (padded and masked, so the loss and
        metrics are exact and nothing recompiles); ``batch_size`` defaults to 32. Reported
        ``loss`` and metrics are averages over the epoch's examples.

        Each epoch runs on the device as one compiled loop over batches (chunks of
        ``steps_per_execution`` batches when set, or when a progress bar is shown), so there
        is no per-step host round trip; batch-level callback hooks run once per chunk.

        Args:
            x: inputs, an array of shape ``(n, *input_shape)``.
            y: targets with ``n`` rows (one-hot, integer labels or values, as the loss needs).
            batch_size: examples per step (default 32).
            epochs: the epoch to stop at (with ``initial_epoch``, as in Keras).
            verbose: ``"auto"``, 0 (silent), 1 (progress bar) or 2 (one line per epoch).
            callbacks: a list of :class:`fnnet.callbacks.Callback`.
            validation_split: fraction in ``[0, 1)`` of the data (taken from the end) to
                evaluate on after each epoch.
            validation_data: ``(x_val, y_val)`` or ``(x_val, y_val, sample_weight_val)``;
                overrides ``validation_split``.
            shuffle: reshuffle the training data every epoch (on the device, from the model's
                rng, so runs are reproducible under ``fnnet.utils.set_random_seed``).
            class_weight: ``{class_index: weight}`` multiplying each example's loss.
            sample_weight: per-example loss weights, shape ``(n,)``.
            initial_epoch: the epoch to start from (for resuming).
            steps_per_epoch: train on this many batches per epoch (default: all of them).
            validation_freq: validate every this many epochs.

        Note:
            BatchNormalization in the padded last batch sees a few repeated examples in place
            of the missing ones (they are left out of the loss and metrics).
        """
        where = "fit"
        fns = self._functions(where)
        batch_size = check_batch_size(where, 32 if batch_size is None else batch_size)
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
            raise ValueError(f"fit(epochs): expected a non-negative int; got {epochs!r}.")
        if isinstance(initial_epoch, bool) or not isinstance(initial_epoch, int) or \
                initial_epoch < 0:
            raise ValueError(
                f"fit(initial_epoch): expected a non-negative int; got {initial_epoch!r}.")
        if isinstance(validation_freq, bool) or not isinstance(validation_freq, int) or \
                validation_freq < 1:
            raise ValueError(
                f"fit(validation_freq): expected a positive int; got {validation_freq!r}.")
        verbose = callbacks_lib.resolve_verbose(verbose)
        if steps_per_epoch is not None and (isinstance(steps_per_epoch, bool) or not isinstance(
                steps_per_epoch, int) or steps_per_epoch < 1):
            raise ValueError(
                f"fit(steps_per_epoch): expected a positive int or None; got {steps_per_epoch!r}.")
        streaming = _streaming.is_batch_stream(x) or isinstance(x, np.memmap)
        if streaming:
            source, first, one_shot = _streaming.stream_source(self, where, x, y, sample_weight,
                                                               batch_size, shuffle)
            if validation_split:
                raise ValueError(
                    "fit(validation_split) needs arrays to split; with batches from an iterable "
                    "pass validation_data=(x_val, y_val) instead."
                )
            batch_size = len(first[0])
            x_d = y_d = sw_d = None
            n, y_shape = None, first[1].shape
            steps = steps_per_epoch if steps_per_epoch is not None else getattr(
                source, "steps", None)
        else:
            x, y, sw = self._prepare(where, x, y, sample_weight, class_weight)
        val = None
        if validation_data is not None:
            if _streaming.is_batch_stream(validation_data):
                val = validation_data
            elif not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
                raise ValueError(
                    f"fit(validation_data): expected (x_val, y_val) or (x_val, y_val, "
                    f"sample_weight_val); got {_describe(validation_data)}."
                )
            else:
                val = self._prepare("fit(validation_data)", *validation_data)
        elif validation_split:
            if isinstance(validation_split, bool) or not isinstance(validation_split, (int, float)) \
                    or not 0 <= validation_split < 1:
                raise ValueError(
                    f"fit(validation_split): expected a fraction in [0, 1); got "
                    f"{validation_split!r}. For example validation_split=0.2."
                )
            split = int(len(x) * (1 - validation_split))
            if split == 0 or split == len(x):
                raise ValueError(
                    f"fit(validation_split={validation_split}): with {len(x)} examples this leaves "
                    f"{split} to train on and {len(x) - split} to validate on; both need at least "
                    f"one. Use a split between {1 / len(x):.3g} and {1 - 1 / len(x):.3g}, or more "
                    f"data."
                )
            val = (x[split:], y[split:], None if sw is None else sw[split:])
            x, y, sw = x[:split], y[:split], None if sw is None else sw[:split]

        if not streaming:
            n, y_shape = len(x), y.shape
            steps = -(-n // batch_size)
            if steps_per_epoch is not None:
                steps = min(steps, steps_per_epoch)
            # Data that fits stays on the device for the whole fit: no per-epoch transfers.
            x_d, y_d, sw_d = _to_device(x, y, sw)
        chunk = self._chunk_size(steps, verbose)
        if val is not None and not _streaming.is_batch_stream(val):
            val = _to_device(*val)

        train = self._program("train", batch_size)
        new_epoch = self._program("epoch")
        metric_objs = self._metric_objs(y_shape, batch_size)
        # Zeroed metric states kept on the host; each epoch copies them in (one transfer, no
        # computation dispatched), since the train program donates them.
        fresh_logs = jax.device_get(fns.init_logs(metric_objs))
        cbs = callbacks_lib.CallbackList(
            callbacks, add_history=True, add_progbar=verbose != 0, model=self,
            verbose=verbose, epochs=epochs, steps=steps)
        self.stop_training = False
        self._resume_epoch = None
        cbs.on_train_begin()
        if self._resume_epoch is not None:  # set by BackupAndRestore after restoring a backup
            initial_epoch, self._resume_epoch = self._resume_epoch, None
        epoch_logs: dict = {}
        for epoch in range(initial_epoch, epochs):
            cbs.on_epoch_begin(epoch)
            fused_epoch = not streaming and chunk >= steps
            logs = None if fused_epoch else jax.device_put(fresh_logs)
            if streaming:
                pending = first if one_shot and epoch == initial_epoch else None
                logs, seen = _streaming.train_stream(self, source, pending, logs, train,
                                                     batch_size, chunk, steps_per_epoch,
                                                     metric_objs, cbs)
                if seen == 0:
                    warnings.warn(
                        f"fit: the input ran out of data at epoch {epoch + 1}; training stops. "
                        f"Pass a re-iterable (a list, or an object whose __iter__ restarts) or "
                        f"set steps_per_epoch so that it yields enough batches.", stacklevel=2)
                    break
            elif fused_epoch:  # the whole epoch in one call (the default without a bar)
                fused = self._program(("fused", shuffle, metric_objs), batch_size)
                cbs.on_train_batch_begin(0)
                self._ts, logs, results = fused(self._ts, x_d, y_d, sw_d, np.int32(n),
                                                np.int32(steps))
                cbs.on_train_batch_end(steps - 1, _LazyLogs(
                    functools.partial(self._fetch, metric_objs, results)))
            else:
                perm = None
                if shuffle:
                    self._ts, perm = new_epoch(self._ts, x_d)
                ts = self._ts
                for start in range(0, steps, chunk):
                    count = min(chunk, steps - start)
                    cbs.on_train_batch_begin(start)
                    ts, logs = train(ts, logs, x_d, y_d, sw_d, perm, np.int32(n),
                                     np.int32(start), np.int32(count))
                    self._ts = ts
                    cbs.on_train_batch_end(start + count - 1, self._lazy_results(metric_objs, logs))
                    if self.stop_training:
                        break
            if fused_epoch:
                epoch_logs = self._fetch(metric_objs, results)
            else:
                epoch_logs = self._results(metric_objs, logs)
            if val is not None and (epoch + 1) % validation_freq == 0:
                val_logs = self._evaluate_any(val, batch_size)
                epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
            cbs.on_epoch_end(epoch, epoch_logs)
            if self.stop_training:
                break
        cbs.on_train_end(epoch_logs)
        return cbs.history

    def _prepare_batch(self, where, batch):
        if not isinstance(batch, tuple) or len(batch) not in (2, 3):
            raise ValueError(
                f"{where}: each batch must be a tuple (x, y) or (x, y, sample_weight); got "
                f"{_describe(batch)}.")
        return self._prepare(where, *batch)

    def _chunk_size(self, steps: int | None, verbose: int) -> int:
        spe = self._compiled["steps_per_execution"]
        if spe is not None:
            return spe
        if steps is None:  # a stream: a few batches per call amortize the dispatch
            return 8
        if verbose == 1:
            return max(1, -(-steps // 20))
        return max(steps, 1)

    def _evaluate_arrays(self, x_d, y_d, sw_d, batch_size, cbs=None, verbose=0) -> dict:
        fns = self._functions("evaluate")
        program = self._program("eval", batch_size)
        metric_objs = self._metric_objs(y_d.shape, batch_size)
        logs = fns.init_logs(metric_objs)
        steps = -(-len(x_d) // batch_size)
        chunk = steps if cbs is None else self._chunk_size(steps, verbose)
        ts = self._ts
        for start in range(0, steps, chunk):
            count = min(chunk, steps - start)
            if cbs is not None:
                cbs.on_test_batch_begin(start)
            logs = program(ts.params, ts.state, logs, x_d, y_d, sw_d, np.int32(len(x_d)),
                           np.int32(start), np.int32(count))
            if cbs is not None:
                cbs.on_test_batch_end(start + count - 1, self._lazy_results(metric_objs, logs))
        return self._results(metric_objs, logs)

    def _evaluate_any(self, data, batch_size, cbs=None, verbose=0) -> dict:
        if not _streaming.is_batch_stream(data):
            return self._evaluate_arrays(*data, batch_size, cbs, verbose)
        return _streaming.evaluate_stream(self, data, cbs, self._chunk_size(None, verbose))

    # ----------------------------------------------------------------- evaluate / predict
    def evaluate(
        self,
        x: Any = None,
        y: Any = None,
        batch_size: int | None = None,
        verbose: str | int = "auto",
        sample_weight: Any = None,
        callbacks: Sequence[callbacks_lib.Callback] | None = None,
        return_dict: bool = False,
    ) -> float | list[float] | dict[str, float]:
        """Returns the loss (and metrics) on ``x``/``y``, in batches of ``batch_size`` (32).

        Returns the scalar loss when there are no metrics, else ``[loss, *metrics]``, or a
        dict with ``return_dict=True``. One compiled call covers the whole dataset.
        """
        where = "evaluate"
        self._functions(where)
        batch_size = check_batch_size(where, 32 if batch_size is None else batch_size)
        verbose = callbacks_lib.resolve_verbose(verbose)
        if _streaming.is_batch_stream(x):
            if y is not None or sample_weight is not None:
                raise ValueError(
                    f"{where}: x yields batches, so y and sample_weight must be None (put them "
                    f"in each batch: (x, y) or (x, y, sample_weight)).")
            data, steps = x, None
        else:
            x, y, sw = self._prepare(where, x, y, sample_weight)
            data = _to_device(x, y, sw)
            steps = -(-len(x) // batch_size)
        cbs = callbacks_lib.CallbackList(callbacks, add_progbar=verbose != 0, model=self,
                                         verbose=verbose, epochs=1, steps=steps)
        cbs.on_test_begin()
        logs = self._evaluate_any(data, batch_size, cbs, verbose)
        cbs.on_test_end(logs)
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def predict(
        self,
        x: Any,
        batch_size: int | None = None,
        verbose: str | int = "auto",
        callbacks: Sequence[callbacks_lib.Callback] | None = None,
    ) -> np.ndarray:
        """Returns the model's outputs for ``x`` as numpy, in input order (``training=False``)."""
        where = "predict"
        batch_size = check_batch_size(where, 32 if batch_size is None else batch_size)
        verbose = callbacks_lib.resolve_verbose(verbose)
        x = prepare_inputs(where, x)
        if not self.built:
            self.build((None, *x.shape[1:]))
        self._check_input_shape(where, x)
        program = self._program("predict", batch_size)
        steps = -(-len(x) // batch_size)
        cbs = callbacks_lib.CallbackList(callbacks, add_progbar=verbose != 0, model=self,
                                         verbose=verbose, epochs=1, steps=steps)
        cbs.on_predict_begin()
        out = np.asarray(program(self._ts.params, self._ts.state, jax.device_put(x)))
        cbs.on_predict_batch_end(steps - 1, {"outputs": out})
        cbs.on_predict_end()
        return out

    # ----------------------------------------------------------------- *_on_batch
    def train_on_batch(self, x, y, sample_weight=None, class_weight=None, return_dict=False):
        """Runs one optimizer step on one batch; returns its loss (and metrics)."""
        where = "train_on_batch"
        fns = self._functions(where)
        x, y, sw = self._prepare(where, x, y, sample_weight, class_weight)
        program = self._program("train", len(x))
        metric_objs = self._metric_objs(y.shape, len(x))
        ts, logs = program(self._ts, fns.init_logs(metric_objs), *_to_device(x, y, sw), None,
                           np.int32(len(x)),
                           np.int32(0), np.int32(1))
        self._ts = ts
        return self._format(self._results(metric_objs, logs), return_dict)

    def test_on_batch(self, x, y, sample_weight=None, return_dict=False):
        """Returns the loss (and metrics) on one batch without updating the model."""
        where = "test_on_batch"
        self._functions(where)
        x, y, sw = self._prepare(where, x, y, sample_weight)
        logs = self._evaluate_arrays(*_to_device(x, y, sw), len(x))
        return self._format(logs, return_dict)

    def predict_on_batch(self, x) -> np.ndarray:
        """Returns the outputs for one batch as numpy."""
        where = "predict_on_batch"
        x = prepare_inputs(where, x)  # before len(x): None, a scalar or a ragged list fail clearly
        if not self.built:
            self.build((None, *x.shape[1:]))
        self._check_input_shape(where, x)
        return self.predict(x, batch_size=len(x), verbose=0)

    @staticmethod
    def _format(logs: dict, return_dict: bool):
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values


class _LazyLogs(Mapping):
    """A read-only dict of running metrics, fetched from the device on first access."""

    def __init__(self, compute: Callable[[], dict]):
        self._compute = compute
        self._values: dict | None = None

    def _get(self) -> dict:
        if self._values is None:
            self._values = self._compute()
        return self._values

    def __getitem__(self, key):
        return self._get()[key]

    def __iter__(self):
        return iter(self._get())

    def __len__(self):
        return len(self._get())

    def __repr__(self):
        return repr(self._get())


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


def _to_device(*arrays):
    # device_put, not jnp.asarray: it skips a host-side copy (twice as fast for big arrays).
    return tuple(None if a is None else jax.device_put(a) for a in arrays)


def _describe(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of length {len(value)}"
    return type(value).__name__


def _human_bytes(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.2f} {unit}" if unit != "B" else f"{n} B"
        n /= 1024
    return f"{n:.2f} GB"  # pragma: no cover


def load_model(filepath: str, custom_objects: dict | None = None, compile: bool = True):
    """Loads a model saved with ``model.save``; see :func:`fnnet.saving.load_model`."""
    from fnnet import saving

    return saving.load_model(filepath, custom_objects=custom_objects, compile=compile)

