"""``Sequential``: a linear stack of layers, a :class:`fnnet.models.Model` built by ``add``.

The model is itself a :class:`fnnet.Layer`: ``model.init``/``model.apply`` are the pure pair of
``fnnet.serial(*model.layers)``; params and state are tuples with one entry per layer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax

from fnnet import utils
from fnnet.core import Layer, as_layer, init_layer, snake_case
from fnnet.graph import SymbolicTensor, is_shape
from fnnet.models import summary
from fnnet.models.compiling import training_forward
from fnnet.models.model import Model, keeps_weights
from fnnet.models.programs import Programs
from fnnet.training import make_predict_step

__all__ = ["Sequential"]


def _declared_input(layer: Layer) -> tuple | None:
    """The per-example input shape ``layer`` declares; a model's ``input_shape`` has the
    batch dim (as Keras's), a layer's does not."""
    if isinstance(layer, Model):
        shape = layer.input_shape
        return tuple(shape[1:]) if shape is not None and is_shape(shape) else None
    return None if layer.input_shape is None else tuple(layer.input_shape)


class Sequential(Model):
    """A linear stack of layers with Keras's ``compile``/``fit``/``evaluate``/``predict``.

    Shapes: input ``(batch, *input_shape)``; output that of the last layer. Params and state
    are tuples with one pytree per layer.

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

    def __init__(self, layers: Sequence[Any] | None = None, name: str | None = None,
                 trainable: bool = True):
        self._layers: list[Layer] = []
        self._declared_input: tuple | None = None
        self._output_shapes: list = []
        super().__init__(name=name or "sequential")
        if layers is not None:
            if not isinstance(layers, (list, tuple)):
                raise TypeError(
                    f"Sequential(layers): layers must be a list of layers; got {layers!r}. For "
                    f"example Sequential([layers.Dense(10)])."
                )
            for layer in layers:
                self.add(layer)
        if not trainable:
            self.trainable = False

    # ----------------------------------------------------------------- structure
    @property
    def layers(self) -> list[Layer]:
        """The layers, in order (the ``Input`` is not a layer of a Sequential, as in Keras)."""
        return self._layers

    def _param_layers(self) -> list[Layer]:
        return self._layers

    @property
    def inputs(self) -> list:
        return []

    @property
    def outputs(self) -> list:
        return []

    @property
    def output_names(self) -> list[str]:
        return [self._layers[-1].name] if self._layers else []

    @property
    def config(self) -> dict:
        return {"name": self.name, "layers": list(self._layers)}

    def _input_specs(self) -> list[tuple[str, tuple | None, str]]:
        who = (f"layer {self._layers[0].name!r} ({self._layers[0].kind}) of model {self.name!r}"
               if self._layers else f"model {self.name!r}")
        return [("input", self._declared_input, who)]

    def _output_shape_list(self) -> list:
        return [self._output_shapes[-1]] if self._output_shapes else []

    def _summary_rows(self) -> list:
        return summary.sequential_rows(self._layers, self._output_shapes)

    @property
    def input_shape(self) -> tuple | None:
        """The input shape with the batch dim as None, once known: ``(None, 784)``."""
        return None if self._declared_input is None else (None, *self._declared_input)

    @property
    def output_shape(self) -> tuple | None:
        return self._output_shapes[-1] if self._output_shapes else None

    def _forward_layer(self) -> Layer:
        return training_forward(self._layers)

    # ----------------------------------------------------------------- building
    def add(self, layer: Any) -> None:
        """Appends a layer (a first layer's ``input_shape=`` or an ``Input`` builds the model)."""
        if isinstance(layer, SymbolicTensor) and layer.node.layer.kind == "InputLayer":
            layer = layer.node.layer  # Sequential([fnnet.Input((784,)), ...]), as in Keras 3
        if not isinstance(layer, Layer):
            layer = as_layer(layer, "Sequential.add")
        if layer.kind == "InputLayer":
            if self.layers:
                raise ValueError(
                    "Sequential.add: an Input must come first, before any layer; this model "
                    f"already has {len(self.layers)} layers."
                )
            self._declared_input = tuple(layer.input_shape)
            self._maybe_build()
            return
        taken = {lay.name for lay in self.layers}
        name = layer.name
        if name is None:
            base = snake_case(layer.kind) if layer.kind != "Layer" else "layer"
            name, i = base, 0
            while name in taken:
                i += 1
                name = f"{base}_{i}"
            layer = layer.replace(name=name)
        elif name in taken:
            raise ValueError(
                f"Sequential.add: a layer named {name!r} already exists in {self.name!r}; layer "
                f"names must be unique. Pass another name=."
            )
        declared = _declared_input(layer)
        if not self.layers and self._declared_input is None and declared is not None:
            self._declared_input = declared
        self._layers.append(layer)
        self._invalidate()
        self._maybe_build()

    def pop(self) -> Layer:
        """Removes and returns the last layer."""
        if not self.layers:
            raise ValueError("Sequential.pop: the model has no layers to remove.")
        layer = self._layers.pop()
        self._invalidate()
        self._maybe_build()
        return layer

    def _invalidate(self) -> None:
        self._predict_programs = Programs(None, make_predict_step(self))
        if self._compiled is not None:  # the layers changed: compile again before training
            self._compiled = None
            self.optimizer = None

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
        old = self._ts
        key = utils.next_key() if old is None else old.rng
        init_key, train_key = jax.random.split(key)
        # fold_in rather than split(init_key, n): split compiles once per n, and a Sequential
        # built layer by layer would compile it for every n up to its length.
        keys = [jax.random.fold_in(init_key, i) for i in range(len(self.layers))]
        params, states, shapes = [], [], []
        cur = shape
        built = () if old is None else old.params
        where = f"Sequential {self.name!r}"
        for i, (layer, k) in enumerate(zip(self.layers, keys, strict=True)):
            try:
                if i < len(built) and (kept := _kept(layer, k, cur, where, old, i)) is not None:
                    cur, p, s = kept
                else:
                    cur, p, s = init_layer(layer, k, cur, where)
            except ValueError as err:
                raise ValueError(f"Layer {layer.name!r} (#{i}, {layer.kind}): {err}") from None
            params.append(p)
            states.append(s)
            shapes.append(cur)
        self._declared_input = shape[1:]
        self._output_shapes = shapes
        self._set_built(params, states, train_key, old)


def _kept(layer: Layer, key: jax.Array, input_shape: Any, where: str, old: Any, i: int
          ) -> tuple | None:
    """``(output_shape, params, state)`` of a layer built before, if its weights are kept.

    A layer keeps its weights when a rebuild gives it params of the same shapes
    (:func:`fnnet.models.model.keeps_weights`, the rule ``Model._set_built`` applies).
    Checking that needs only shapes, so the init is traced abstractly rather than run:
    adding layers one by one (``Sequential([...])`` does) stays one real init per layer
    instead of one per layer per addition. None: initialize for real.
    """
    out = {}

    def abstract(k):
        out["shape"], p, s = init_layer(layer, k, input_shape, where)
        return p, s

    try:
        p, s = jax.eval_shape(abstract, key)
    except (jax.errors.ConcretizationTypeError, jax.errors.TracerArrayConversionError,
            jax.errors.TracerIntegerConversionError, jax.errors.TracerBoolConversionError):
        return None  # an init that needs concrete values: run it for real
    if not keeps_weights(old.params[i], p):
        return None
    return out["shape"], old.params[i], old.state[i]
