"""``Model``: Keras's model front end (``compile``, ``fit``, ``evaluate``, ``predict``, weights,
saving) on one pure layer, and the functional ``Model(inputs, outputs)``.

A model is itself a :class:`fnnet.Layer`: ``model.init``/``model.apply`` are its pure pair, so it
composes with every combinator and with ``jax.jit``/``grad``/``vmap``, and it is callable on
symbolic tensors, as a layer of a bigger model. Its state lives in one :class:`fnnet.TrainState`,
read and replaced through ``model.train_state`` (what saving, callbacks and ``fit`` itself use).
Params and state are tuples with one entry per layer of ``model.layers``.

Example:
    >>> import numpy as np
    >>> import fnnet
    >>> from fnnet import layers, models
    >>> inputs = fnnet.Input((4,))
    >>> hidden = layers.Dense(8, activation="relu")(inputs)
    >>> model = models.Model(inputs, layers.Dense(3, activation="softmax")(hidden))
    >>> model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy",
    ...               metrics=["accuracy"])
    >>> x = np.random.default_rng(0).random((20, 4), dtype=np.float32)
    >>> history = model.fit(x, (x[:, 0] * 3).astype("int32"), epochs=2, verbose=0)
    >>> [layer.name for layer in model.layers], model.output_shape
    (['input_layer', 'dense', 'dense_1'], (None, 3))
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from fnnet import utils
from fnnet._validation import prepare_inputs, prepare_sample_weight
from fnnet.callbacks import Callback, History
from fnnet.core import Layer, call, init_layer
from fnnet.graph import GraphSpec, SymbolicTensor, graph_layer
from fnnet.models import data_checks, fitting, summary, weights
from fnnet.models.compiling import (
    Compiled,
    OptimizerHandle,
    compile_config,
    compile_model,
    frozen_for_training,
)
from fnnet.models.programs import Programs
from fnnet.saving import graphs, model_files
from fnnet.training import TrainState, carried_key, init_optimizer, make_predict_step

__all__ = ["Model"]


def _path(path) -> str:
    return jax.tree_util.keystr(path)


def keeps_weights(old_weights: Any, new_weights: Any) -> bool:
    """The rebuild rule: a layer keeps its weights when its new ones have the same shapes
    (pytrees of arrays or of ``jax.ShapeDtypeStruct`` values)."""
    shapes = functools.partial(jax.tree.map, jnp.shape)
    return shapes(old_weights) == shapes(new_weights)


class Model(Layer):
    """A model: Keras's training front end on one pure layer; functional when given
    ``inputs`` and ``outputs``.

    Args:
        inputs: a symbolic tensor from ``fnnet.Input``, or a list or dict of them.
        outputs: the tensors computed from them by calling layers, one or a list or dict.
        name: the model's name.
        trainable: False freezes every layer (read at compile).

    ``Model(inputs, outputs)`` makes a functional model (Keras's ``keras.Model(inputs,
    outputs)``): multi-input, multi-output, branching and residual graphs; a layer called twice
    shares its params; a model called on tensors nests. ``Sequential`` is a ``Model`` too.
    """

    def __init__(self, inputs: Any = None, outputs: Any = None, name: str | None = None,
                 trainable: bool = True):
        def init(rng, input_shape):
            return self._stack().init(rng, input_shape)

        def apply(params, state, x, *, rng=None, training=False, batch_mask=None):
            return call(self._stack(), params, state, x, rng=rng, training=training,
                        batch_mask=batch_mask)

        super().__init__(init, apply, name=name or self._default_name(), kind=type(self).__name__,
                         supports_masking=True)
        self._stack_cache: tuple = ((), None)
        self._ts: TrainState | None = None
        self._compiled: Compiled | None = None
        self._predict_programs = Programs(None, make_predict_step(self))
        self._busy: str | None = None
        self._graph: GraphSpec | None = None
        self.optimizer: OptimizerHandle | None = None
        self.stop_training = False
        self.history: History | None = None
        if inputs is not None or outputs is not None:
            if inputs is None or outputs is None:
                raise TypeError("Model(inputs, outputs): pass both, the tensors from "
                                "fnnet.Input(...) and those computed from them.")
            self._graph = GraphSpec(inputs, outputs)
            self._inputs, self._outputs = inputs, outputs
            self.build()
        if not trainable:  # as Keras: the model's flag, and (when False) every layer's
            self.trainable = False

    @staticmethod
    def _default_name() -> str:
        return "functional"

    # Identity semantics: every model is its own computation.
    __hash__ = object.__hash__

    def __eq__(self, other):
        return self is other

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r}, {len(self.layers)} layers>"

    # ----------------------------------------------------------------- structure
    @property
    def layers(self) -> list[Layer]:
        """The layers, input layers included, in Keras's order (deepest first; see
        :class:`fnnet.graph.GraphSpec`): the order of ``params``, ``get_weights`` and Keras's
        weight files."""
        return list(self._graph.layers) if self._graph is not None else []

    @property
    def inputs(self) -> list[SymbolicTensor]:
        """The input tensors (``fnnet.Input(...)``), in order."""
        return list(self._graph.inputs)

    @property
    def outputs(self) -> list[SymbolicTensor]:
        """The output tensors, in order."""
        return list(self._graph.outputs)

    @property
    def output_names(self) -> list[str]:
        """The names of the layers producing the outputs (the keys of per-output losses)."""
        if self._graph is None:
            return []
        return [t.node.layer.name for t in self._graph.outputs]

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """The layer called ``name`` (or at ``index`` in ``model.layers``), as Keras's."""
        if (name is None) == (index is None):
            raise ValueError("get_layer: pass name= or index=, one of them.")
        if index is not None:
            if not isinstance(index, int) or not -len(self.layers) <= index < len(self.layers):
                raise ValueError(f"get_layer(index={index!r}): the model has "
                                 f"{len(self.layers)} layers.")
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"get_layer: no layer named {name!r}; the layers are "
                         f"{[layer.name for layer in self.layers]}.")

    @property
    def config(self) -> dict:
        """The model's architecture: its name, its layers and (functional) their connections,
        as :func:`fnnet.saving.graphs.graph_config` records them; JSON with the layers
        serialized, see :func:`fnnet.saving.serialize_layer`."""
        config = {"name": self.name, "layers": self._param_layers()}
        if self._graph is not None:
            config.update(graphs.graph_config(self._graph))
        return config

    def _param_layers(self) -> list[Layer]:
        """The layers aligned with ``params``/``state`` (one entry each)."""
        return self.layers

    def _input_specs(self) -> list[tuple[str, tuple | None, str]]:
        """``[(name, per-example shape, who reads it)]`` of every input."""
        return [(t.node.layer.name, t.shape[1:], f"input {t.node.layer.name!r} of model "
                 f"{self.name!r}") for t in self._graph.inputs]

    def _output_shape_list(self) -> list:
        return [t.shape for t in self._graph.outputs]

    def _summary_rows(self) -> list[tuple[str, str, str]]:
        return summary.graph_rows(self._graph)

    @property
    def input_shape(self) -> Any:
        """The input shape with the batch dim as None (a list for several inputs)."""
        shapes = [t.shape for t in self._graph.inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self) -> Any:
        shapes = self._output_shape_list()
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def logits(self) -> Layer | None:
        return self._stack().logits

    @property
    def output_activation(self) -> str | None:
        return self._stack().output_activation

    @property
    def uses_batch_mask(self) -> bool:
        return any(layer.uses_batch_mask for layer in self._param_layers())

    @property
    def trainable(self) -> bool:
        """Whether the model trains; setting it sets every layer's flag, as in Keras."""
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        Layer.trainable.fset(self, value)
        for layer in self._param_layers():
            layer.trainable = value

    @property
    def built(self) -> bool:
        return self._ts is not None

    @property
    def compiled(self) -> bool:
        return self._compiled is not None

    def _stack(self) -> Layer:
        # The model as one pure layer; frozen BatchNormalization runs in inference mode, as
        # in Keras. Rebuilt when a layer or a trainable flag changes.
        key = tuple((id(layer), layer.trainable) for layer in self._param_layers())
        if self._stack_cache[0] != key or self._stack_cache[1] is None:
            self._stack_cache = (key, self._forward_layer())
        return self._stack_cache[1]

    def _forward_layer(self) -> Layer:
        """The model as one pure layer, each layer's ``trainable`` flag read now."""
        return graph_layer(self._inputs, self._outputs, name=self.name,
                           transform=frozen_for_training)

    def build(self, input_shape: Any = None) -> None:
        """Creates the params and state (for a functional model, from its inputs' shapes).

        Layers that were already built keep their weights, as in Keras.
        """
        layer = self._stack()
        old = self._ts
        key = utils.next_key() if old is None else old.rng
        init_key, train_key = jax.random.split(key)
        _, params, states = init_layer(layer, init_key, input_shape, f"Model {self.name!r}")
        self._set_built(params, states, train_key, old)

    def _set_built(self, params, states, train_key, old) -> None:
        params, states = list(params), list(states)
        kept = set()
        if old is not None:  # keep weights of layers that were built before
            for i in range(min(len(old.params), len(params))):
                if keeps_weights(old.params[i], params[i]):
                    params[i], states[i] = old.params[i], old.state[i]
                    kept.add(i)
        # A built model used as a layer brings its weights, as in Keras (a pretrained base);
        # from here on the two hold separate copies.
        for i, layer in enumerate(self._param_layers()):
            if i not in kept and isinstance(layer, Model) and layer.built and (
                    keeps_weights((layer.params, layer.state), (params[i], states[i]))):
                # Copies: fit donates the outer model's buffers.
                params[i], states[i] = jax.tree.map(jnp.copy, (layer.params, layer.state))
        params, states = tuple(params), tuple(states)
        tx = None if self._compiled is None else self._compiled.tx
        step = jnp.zeros((), jnp.int32) if old is None else old.step
        opt_state = None if tx is None else init_optimizer(tx, params)
        self._ts = self._placed(TrainState(params, states, opt_state, carried_key(train_key),
                                           step, tx))

    # ----------------------------------------------------------------- the training state
    def _require_built(self, where: str) -> TrainState:
        if self._ts is None:
            raise ValueError(
                f"{where}: the model is not built yet. Give the first layer input_shape=..., "
                f"call model.build((None, features)), or fit it on data first."
            )
        return self._ts

    @property
    def train_state(self) -> TrainState:
        """The whole :class:`fnnet.TrainState` (params, state, optimizer state, rng, step).

        The one way to read and replace the model's training state: ``fit`` itself, saving
        and callbacks go through it. Assigning checks the value against the model (tree
        structure, optimizer, shapes, dtypes, arrays that still exist) before anything changes.
        """
        return self._require_built("model.train_state")

    @train_state.setter
    def train_state(self, value: TrainState) -> None:
        old = self._require_built("model.train_state")
        if not isinstance(value, TrainState):
            raise TypeError(f"model.train_state must be a fnnet.TrainState; got "
                            f"{type(value).__name__}.")
        if value.tx is not old.tx and value.tx != old.tx:
            raise ValueError(
                "model.train_state: the new state holds another optimizer than the model was "
                "compiled with. Compile the model with that optimizer, or build the state from "
                "model.train_state.replace(...).")
        self._check_tree("model.train_state", old, value)
        if self._compiled is not None and self._compiled.distribution is not None and any(
                not isinstance(leaf, jax.Array) for leaf in jax.tree.leaves(value)):
            value = self._placed(value)  # host values (a loaded checkpoint) laid out again
        self._ts = value

    @staticmethod
    def _check_tree(where: str, old: Any, new: Any) -> None:
        old_s, new_s = jax.tree.structure(old), jax.tree.structure(new)
        if old_s != new_s:
            raise ValueError(
                f"{where}: the new value's tree structure differs from the model's. Expected "
                f"{old_s}, got {new_s}."
            )
        for (path, a), b in zip(jax.tree_util.tree_flatten_with_path(old)[0],
                                jax.tree.leaves(new), strict=True):
            if isinstance(b, jax.Array) and b.is_deleted():
                raise ValueError(
                    f"{where}: the array at {_path(path)} has been deleted (it was donated to a "
                    f"jitted function, or explicitly deleted), so the model could not use it. "
                    f"Assign arrays that are still alive, e.g. copies: jax.tree.map(jnp.copy, "
                    f"value)."
                )
            if isinstance(a, jax.Array) and isinstance(b, jax.Array):  # the common case, fast
                same = a.shape == b.shape and a.dtype == b.dtype
            else:
                same = jnp.shape(a) == jnp.shape(b) and jnp.result_type(a) == jnp.result_type(b)
            if not same:
                raise ValueError(
                    f"{where}: the array at {_path(path)} has shape {jnp.shape(b)} and dtype "
                    f"{jnp.result_type(b)}; expected {jnp.shape(a)} and {jnp.result_type(a)}."
                )

    @property
    def params(self) -> tuple:
        """The trainable params: a tuple with one pytree per layer."""
        return self.train_state.params

    @params.setter
    def params(self, value: Any) -> None:
        ts = self.train_state
        value = jax.tree.map(lambda a: a if isinstance(a, jax.Array) else jnp.asarray(a), value)
        self._check_tree("model.params", ts.params, value)
        self._ts = ts.replace(params=value)

    @property
    def state(self) -> tuple:
        """The non-trainable state (e.g. BatchNorm statistics): one pytree per layer."""
        return self.train_state.state

    @state.setter
    def state(self, value: Any) -> None:
        ts = self.train_state
        value = jax.tree.map(lambda a: a if isinstance(a, jax.Array) else jnp.asarray(a), value)
        self._check_tree("model.state", ts.state, value)
        self._ts = ts.replace(state=value)

    # ----------------------------------------------------------------- weights
    def get_weights(self) -> list[np.ndarray]:
        """All weights as numpy arrays in Keras's order (per layer: params, then state)."""
        ts = self._require_built("get_weights")
        return weights.get_weights(ts.params, ts.state)

    def set_weights(self, new_weights: Sequence[Any]) -> None:
        """Sets all weights from a list in :meth:`get_weights`'s order; shapes must match."""
        ts = self._require_built("set_weights")
        params, state = weights.set_weights(ts.params, ts.state, new_weights)
        self.train_state = ts.replace(params=params, state=state)

    def count_params(self) -> int:
        """The number of weights (trainable and not)."""
        ts = self._require_built("count_params")
        return weights.count((ts.params, ts.state))

    def summary(self, print_fn: Callable[[str], Any] | None = None) -> None:
        """Prints a Keras-like table: layer (type), output shape, param count; then totals.

        Frozen params (``trainable=False``) and state count as non-trainable; a functional
        model adds Keras's "Connected to" column.
        """
        ts = self._require_built("summary")
        summary.summary(self.name, self._param_layers(), self._summary_rows(), ts.params,
                        ts.state, print_fn)

    # ----------------------------------------------------------------- saving
    def save_weights(self, filepath: str) -> None:
        """Saves weights and state atomically: to a ``.safetensors`` file, or to a Keras 3
        ``.weights.h5`` file that Keras loads; see :mod:`fnnet.saving`."""
        model_files.save_weights(self, filepath)

    def load_weights(self, filepath: str) -> None:
        """Loads weights saved by :meth:`save_weights` or :meth:`save`, or a Keras 3
        ``.weights.h5`` (or ``.keras``) file; verified, all or nothing."""
        model_files.load_weights(self, filepath)

    def save(self, filepath: str) -> None:
        """Saves the whole model (architecture, weights, optimizer state, rng, step)."""
        model_files.save_model(self, filepath)

    # ----------------------------------------------------------------- compile
    def compile(
        self,
        optimizer: str | optax.GradientTransformation = "rmsprop",
        loss: str | Callable | None = None,
        metrics: Sequence[Any] | None = None,
        loss_weights: Any = None,
        weighted_metrics: Sequence[Any] | None = None,
        steps_per_execution: int | None = None,
        jit_compile: bool = True,
        distribution: Any = None,
    ) -> None:
        """Configures training: the optimizer, the loss and the metrics.

        The layers' ``trainable`` flags are read here: frozen params get no optimizer state
        and no updates (and a frozen BatchNormalization runs in inference mode), as in Keras.
        Compiling again resets the optimizer state and keeps the weights.

        Args:
            optimizer: a name (``"rmsprop"``, ``"adam"``...) with Keras's defaults, a
                :mod:`fnnet.optimizers` class instance, or any optax ``GradientTransformation``
                (``optax.MultiSteps`` too).
            loss: a loss name or ``fn(y_true, y_pred) -> per-example loss``.
            metrics: a list of metric names, :class:`fnnet.metrics.Metric` or callables; they
                ignore sample and class weights, as in Keras.
            loss_weights: a multiplier for the loss (a number, or a list holding one number,
                as Keras takes for a single-output model).
            weighted_metrics: metrics weighted by ``sample_weight``/``class_weight``.
            steps_per_execution: how many batches run per compiled call (and so how often
                callbacks' batch hooks and the progress bar update). None: the whole epoch in
                one call, about 20 updates per epoch with a progress bar, and 8 batches per
                call for data streamed from an iterable.
            jit_compile: False runs the steps eagerly, for debugging.
            distribution: a :mod:`fnnet.distribution` ``DataParallel`` or ``ModelParallel``
                (default: the one set by ``fnnet.distribution.set_distribution``, or one
                device). ``fit`` then splits every batch over the data axis and lays out the
                params as the distribution says; XLA inserts the collectives.
        """
        compiled = compile_model(self._forward_layer(), optimizer, loss, metrics,
                                 weighted_metrics, loss_weights, steps_per_execution,
                                 jit_compile, make_predict_step(self), self.output_names,
                                 distribution)
        self._compiled = compiled
        self.optimizer = OptimizerHandle(self, compiled.tx, optimizer)
        if self._ts is not None:
            ts = self._ts
            self._ts = self._placed(TrainState(ts.params, ts.state,
                                               init_optimizer(compiled.tx, ts.params),
                                               ts.rng, ts.step, compiled.tx))

    def _placed(self, ts: TrainState) -> TrainState:
        """``ts`` laid out as the compiled distribution says (unchanged without one)."""
        dist = None if self._compiled is None else self._compiled.distribution
        if dist is None:
            return ts
        return dist.place_train_state(ts, [layer.name for layer in self._param_layers()])

    def get_compile_config(self) -> dict | None:
        """The compile arguments as JSON (what ``save`` stores), or None if not compiled.

        Custom losses and metrics are named by their ``__name__``, a custom optimizer as
        ``{"custom": ...}``; ``load_model(custom_objects=...)`` takes them back.
        """
        if self._compiled is None:
            return None
        config, custom = compile_config(self._compiled, self.train_state.opt_state)
        if custom:
            config["custom_objects"] = custom
        return config

    @property
    def metrics_names(self) -> list[str]:
        """``["loss", *metric names]`` once the model has been compiled and fit or evaluated."""
        if self._compiled is None or self._compiled.steps is None:
            return []
        cfg = self._compiled.config
        names = ["loss"] + [m if isinstance(m, str) else getattr(m, "name", None) or getattr(
            m, "__name__", type(m).__name__) for m in cfg["metrics"] + cfg["weighted_metrics"]]
        return names + [f"val_{n}" for n in names]

    # ----------------------------------------------------------------- data checks
    def _prepare_inputs(self, where: str, x: Any, check_values: bool = True) -> Any:
        specs = self._input_specs()
        if not self.built and len(specs) == 1 and specs[0][1] is None:
            arr = prepare_inputs(where, x, check_values=check_values)
            self.build((None, *arr.shape[1:]))
            specs = self._input_specs()
        return data_checks.prepare_inputs(where, x, specs, check_values)

    def _prepare(self, where, x, y=None, sample_weight=None, class_weight=None,
                 check_values: bool = True):
        x = self._prepare_inputs(where, x, check_values=check_values)
        n = data_checks.rows(x)
        y = data_checks.prepare_targets(where, y, n, self.output_names, self._compiled.losses,
                                        self._output_shape_list())
        first_y = y if not isinstance(y, tuple) else y[0]
        sw = prepare_sample_weight(where, sample_weight, class_weight, first_y, n)
        return x, y, sw

    def prepare(self, where: str, x: Any, y: Any = None, sample_weight: Any = None,
                class_weight: Any = None) -> tuple:
        """The host-side checks ``fit`` runs on data: ``(x, y, sample_weight)`` as arrays.

        Builds the model from ``x``'s shape if needed. Raises a ``ValueError``/``TypeError``
        naming the argument for bad data; used by ``fit`` itself and by
        :class:`fnnet.models.Ensemble`.
        """
        self._session(where)
        return self._prepare(where, x, y, sample_weight, class_weight)

    def prepare_inputs(self, where: str, x: Any) -> Any:
        """The host-side checks ``predict`` runs on inputs: ``x`` as an array (or a tuple)."""
        return self._prepare_inputs(where, x)

    @property
    def steps(self):
        """The pure :class:`fnnet.Steps` this model's ``fit``/``evaluate`` run (after compile).

        ``model.steps.train_update`` with ``fnnet.loop.epoch`` reproduces ``fit``'s epoch.
        """
        return self._session("model.steps").programs.steps

    def _session(self, where: str) -> fitting.Session:
        if self._compiled is None:
            raise ValueError(
                f"{where}: the model must be compiled first. Call model.compile(optimizer="
                f"'rmsprop', loss='categorical_crossentropy', metrics=['accuracy'])."
            )
        if self._compiled.steps is None:
            raise ValueError(
                f"{where}: the model was compiled without a loss. Call model.compile(..., "
                f"loss='categorical_crossentropy') (or another loss name)."
            )
        return fitting.Session(self._compiled.programs, self._prepare, self._prepare_inputs,
                               self._compiled.config["steps_per_execution"],
                               lambda: self.output_shape, self._compiled.distribution)

    def _enter(self, where: str) -> None:
        if self._busy == "fit":
            raise RuntimeError(
                f"{where} was called while model.fit is running (from a callback?). A model "
                f"trains one fit at a time: set model.stop_training = True in the callback and "
                f"call {where} after fit returns."
            )

    # ----------------------------------------------------------------- fit / evaluate / predict
    def fit(
        self,
        x: Any = None,
        y: Any = None,
        batch_size: int | None = None,
        epochs: int = 1,
        verbose: str | int = "auto",
        callbacks: Sequence[Callback] | None = None,
        validation_split: float = 0.0,
        validation_data: tuple | None = None,
        shuffle: bool = True,
        class_weight: dict | None = None,
        sample_weight: Any = None,
        initial_epoch: int = 0,
        steps_per_epoch: int | None = None,
        validation_steps: int | None = None,
        validation_freq: int = 1,
    ) -> History:
        """Trains the model for ``epochs`` epochs; returns a ``History``.

        Keras semantics: ``validation_split`` takes the last fraction of ``x``/``y`` before
        shuffling; the last partial batch is trained on (padded and masked, so the loss, the
        metrics and BatchNormalization's statistics are exactly those of the partial batch, and
        nothing recompiles); ``batch_size`` defaults to 32 and is at most the number of
        examples. Reported ``loss`` and metrics are averages over the epoch's examples.

        Each epoch runs on the device as one compiled loop over batches (chunks of
        ``steps_per_execution`` batches when set, or when a progress bar is shown), so there
        is no per-step host round trip; batch-level callback hooks run once per chunk.

        If anything raises during an epoch (bad streamed data, a callback, out of memory,
        Ctrl-C), the model goes back to its state at the start of that epoch (for the first
        epoch: as before the call) and the exception propagates; completed epochs are kept.

        Args:
            x: inputs, an array of shape ``(n, *input_shape)``; or an iterable of ``(x, y)``
                / ``(x, y, sample_weight)`` batches; or a numpy memmap (with ``y``).
            y: targets with ``n`` rows (one-hot, integer labels or values, as the loss needs).
            batch_size: examples per step (default 32).
            epochs: the epoch to stop at (with ``initial_epoch``, as in Keras).
            verbose: ``"auto"``, 0 (silent), 1 (progress bar) or 2 (one line per epoch).
            callbacks: a list of :class:`fnnet.callbacks.Callback`.
            validation_split: fraction in ``[0, 1)`` of the data (taken from the end) to
                evaluate on after each epoch.
            validation_data: ``(x_val, y_val)``, ``(x_val, y_val, sample_weight_val)`` or an
                iterable of batches; overrides ``validation_split``. A generator is used up
                after one pass: give ``validation_steps`` to draw that many batches per epoch.
            shuffle: reshuffle the training data every epoch (on the device, from the model's
                rng, so runs are reproducible under ``fnnet.utils.set_random_seed``).
            class_weight: ``{class_index: weight}`` multiplying each example's loss.
            sample_weight: per-example loss weights, shape ``(n,)``.
            initial_epoch: the epoch to start from (for resuming).
            steps_per_epoch: train on this many batches per epoch (default: all of them).
            validation_steps: validate on this many batches of a streamed ``validation_data``.
            validation_freq: validate every this many epochs.
        """
        session = self._session("fit")
        self._enter("fit")
        self._busy = "fit"
        try:
            return fitting.fit(
                self, session, x=x, y=y, batch_size=batch_size, epochs=epochs,
                verbose=verbose, callbacks=callbacks, validation_split=validation_split,
                validation_data=validation_data, shuffle=shuffle, class_weight=class_weight,
                sample_weight=sample_weight, initial_epoch=initial_epoch,
                steps_per_epoch=steps_per_epoch, validation_steps=validation_steps,
                validation_freq=validation_freq)
        finally:
            self._busy = None

    def evaluate(
        self,
        x: Any = None,
        y: Any = None,
        batch_size: int | None = None,
        verbose: str | int = "auto",
        sample_weight: Any = None,
        steps: int | None = None,
        callbacks: Sequence[Callback] | None = None,
        return_dict: bool = False,
    ) -> float | list[float] | dict[str, float]:
        """Returns the loss (and metrics) on ``x``/``y`` (``training=False``).

        Returns the scalar loss when there are no metrics, else ``[loss, *metrics]``, or a
        dict with ``return_dict=True``. Arrays already on the device go through one compiled
        call; host (numpy) arrays go to the device in chunks of about 16 MiB (or
        ``steps_per_execution`` passes), each copied while the device computes the previous
        one (:func:`fnnet.data.staged_calls`), with the same passes and so the same results;
        a stream of batches takes one call per chunk of batches.

        ``batch_size`` means something different from Keras's: at inference the results do
        not depend on how rows are grouped (BatchNormalization uses its moving statistics,
        Dropout is off), so fnnet chooses the rows per pass itself, as many as its working
        memory budget for the backend allows (:func:`fnnet.loop.rows_per_pass`: a few hundred
        rows on a CPU, where that is fastest, many thousands on an accelerator), and
        ``batch_size`` only bounds it (to bound memory). None: fnnet's choice. The loss and
        metrics equal Keras's batch-by-batch results up to float32 rounding (a matrix
        product's kernel depends on the number of rows, which changes the last bits).

        Example:
            >>> import numpy as np
            >>> from fnnet import layers, models
            >>> model = models.Sequential([layers.Dense(1, input_shape=(3,))])
            >>> model.compile(optimizer="sgd", loss="mse")
            >>> x, y = np.zeros((10, 3), np.float32), np.ones((10, 1), np.float32)
            >>> model.evaluate(x, y, verbose=0)  # the bias starts at 0
            1.0
        """
        logs = fitting.evaluate(self, self._session("evaluate"), x=x, y=y,
                                batch_size=batch_size, verbose=verbose,
                                sample_weight=sample_weight, callbacks=callbacks, steps=steps)
        return self._format(logs, return_dict)

    def predict(
        self,
        x: Any,
        batch_size: int | None = None,
        verbose: str | int = "auto",
        callbacks: Sequence[Callback] | None = None,
    ) -> np.ndarray:
        """Returns the model's outputs for ``x`` as numpy, in input order (``training=False``).

        Works before ``compile``, as in Keras. ``x``: an array ``(samples, *input_shape)`` (a
        list or dict of them for several inputs), on the host or already on the device, or a
        stream of batches; the result has shape ``(samples, *output_shape)``.

        ``batch_size`` bounds the rows per compiled pass rather than setting them: fnnet
        passes as many rows as its working-memory budget allows (see :meth:`evaluate`), and
        None leaves the choice to fnnet. Outputs do not depend on it beyond the last float32
        bits. Host arrays go to the device in chunks, copied while the device computes (as in
        :meth:`evaluate`).

        Example:
            >>> import numpy as np
            >>> from fnnet import layers, models
            >>> model = models.Sequential([layers.Dense(2, input_shape=(3,))])
            >>> model.predict(np.zeros((5, 3), np.float32), verbose=0).shape
            (5, 2)
        """
        session = fitting.Session(self._predict_programs, self._prepare,
                                  self._prepare_inputs, None, lambda: self.output_shape)
        return fitting.predict(self, session, x=x, batch_size=batch_size, verbose=verbose,
                               callbacks=callbacks)

    def train_on_batch(self, x, y, sample_weight=None, class_weight=None, return_dict=False):
        """Runs one optimizer step on one batch; returns its loss (and metrics)."""
        session = self._session("train_on_batch")
        self._enter("train_on_batch")
        logs = fitting.train_on_batch(self, session, x, y, sample_weight, class_weight)
        return self._format(logs, return_dict)

    def test_on_batch(self, x, y, sample_weight=None, return_dict=False):
        """Returns the loss (and metrics) on one batch without updating the model."""
        logs = fitting.test_on_batch(self, self._session("test_on_batch"), x, y, sample_weight)
        return self._format(logs, return_dict)

    def predict_on_batch(self, x) -> np.ndarray:
        """Returns the outputs for one batch as numpy."""
        x = self._prepare_inputs("predict_on_batch", x)
        return self.predict(x, batch_size=len(x), verbose=0)

    @staticmethod
    def _format(logs: dict, return_dict: bool):
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values


