"""Functional graphs: ``Input``, layers called on symbolic tensors, and the pure layer they make.

Keras's functional API on fnnet's pure layers::

    inputs = fnnet.Input((784,))
    h = layers.Dense(64, activation="relu")(inputs)      # a SymbolicTensor, no arrays yet
    outputs = layers.Dense(10, activation="softmax")(h)
    net = graph_layer(inputs, outputs)                    # a pure fnnet.Layer

Calling a layer on :class:`SymbolicTensor`\\ s records a node (the layer and its inputs) and
returns symbolic outputs whose shapes come from the layer's shape-only ``init``. Nothing is
computed and no params exist until ``init``. :func:`graph_layer` turns the recorded nodes into
one :class:`fnnet.Layer`: its params and state are tuples with one entry per distinct layer
(a layer called twice, a shared layer, has one entry and one set of params), its ``apply``
runs the nodes in order through :func:`fnnet.core.call` (so masks reach the layers that use
them). ``fnnet.models.Model(inputs, outputs)`` adds Keras's ``compile``/``fit`` on top.

Example:
    >>> import jax, jax.numpy as jnp
    >>> from fnnet import fan_in_concat, layers
    >>> a, b = Input((3,), name="a"), Input((2,), name="b")
    >>> shared = layers.Dense(4)
    >>> out = fan_in_concat()((shared(a), layers.Dense(4)(b)))
    >>> net = graph_layer([a, b], out)
    >>> shape, params, state = net.init(jax.random.key(0), [(5, 3), (5, 2)])
    >>> shape, len(params)
    ((5, 8), 5)
    >>> net.apply(params, state, [jnp.ones((5, 3)), jnp.ones((5, 2))])[0].shape
    (5, 8)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp

from fnnet.core import Layer, call, init_layer, snake_case, split_rng

__all__ = ["SymbolicTensor", "Node", "Input", "InputLayer", "graph_layer", "is_shape",
           "GraphSpec"]


def is_shape(s: Any) -> bool:
    """Whether ``s`` is one shape (a tuple of ints and Nones), not a structure of shapes."""
    return isinstance(s, tuple) and all(d is None or isinstance(d, int) for d in s)


def _is_symbolic(x: Any) -> bool:
    return isinstance(x, SymbolicTensor)


class Node:
    """One call of a layer in a graph: the layer, its symbolic inputs and outputs."""

    __slots__ = ("layer", "inputs", "outputs")

    def __init__(self, layer: Layer, inputs: Any, outputs: Any):
        self.layer, self.inputs, self.outputs = layer, inputs, outputs


class SymbolicTensor:
    """A placeholder for an array in a functional graph (Keras's ``KerasTensor``).

    Attributes:
        shape: the shape, batch dim first (None where unknown).
        dtype: the dtype of an ``Input`` (None for computed tensors: layers choose theirs).
        node: the :class:`Node` that produced it.
        name: a readable name (the producing layer's).
    """

    __slots__ = ("shape", "dtype", "node", "name")

    def __init__(self, shape: tuple, node: Node | None, name: str, dtype: Any = None):
        self.shape, self.node, self.name, self.dtype = tuple(shape), node, name, dtype

    def __repr__(self) -> str:
        return f"<SymbolicTensor shape={self.shape} name={self.name!r}>"

    def __fnnet_symbolic__(self, layer: Layer, inputs: Any) -> Any:
        return _call_symbolic(layer, inputs)

    # A symbolic tensor has no values: catch the mistakes that would need them.
    def __array__(self, *args, **kwargs):
        raise TypeError(
            f"{self!r} is a symbolic tensor of a functional model: it has no values. Build the "
            f"model with fnnet.models.Model(inputs, outputs) and call model.predict(x)."
        )

    def __bool__(self):
        raise TypeError(f"{self!r} is symbolic: its truth value is unknown until the model runs.")


def InputLayer(shape: Sequence[int | None], name: str | None = None, dtype: Any = None,  # noqa: N802
               batch_size: int | None = None) -> Layer:
    """The layer behind :func:`Input`: the identity, with the declared per-example shape."""
    shape = tuple(shape)

    def init(rng, input_shape):
        return tuple(input_shape), (), ()

    def apply(params, state, x, *, rng=None, training=False):
        return x, state

    config = {"shape": shape}
    if dtype is not None:
        config["dtype"] = str(jax.numpy.dtype(dtype))
    if batch_size is not None:
        config["batch_size"] = batch_size
    return Layer(init, apply, name=name, kind="InputLayer", config=config, input_shape=shape,
                 supports_masking=True)


def Input(shape: Sequence[int | None] | None = None, batch_size: int | None = None,  # noqa: N802
          dtype: Any = None, name: str | None = None,
          batch_shape: Sequence[int | None] | None = None) -> SymbolicTensor:
    """Declares a model input, as ``keras.Input``: a symbolic tensor of ``(batch, *shape)``.

    Args:
        shape: the per-example shape (no batch dim); a None entry is a dim of any size (a
            variable-length sequence).
        batch_size: an optional fixed batch size.
        dtype: the inputs' dtype (``"int32"`` for token ids); default float32.
        name: the input's name (the key for dict inputs).
        batch_shape: the full shape, batch included (instead of ``shape`` and ``batch_size``).

    Also starts a ``Sequential``: ``Sequential([Input((784,)), Dense(10)])``.

    Example:
        >>> x = Input((28, 28, 1), name="image")
        >>> x.shape, x.name
        ((None, 28, 28, 1), 'image')
    """
    if batch_shape is not None:
        if shape is not None:
            raise ValueError("Input: pass shape= or batch_shape=, not both.")
        batch_shape = tuple(batch_shape)
        batch_size, shape = batch_shape[0], batch_shape[1:]
    if not isinstance(shape, (tuple, list)) or not all(
        d is None or (isinstance(d, int) and not isinstance(d, bool) and d > 0) for d in shape
    ):
        raise ValueError(
            f"Input(shape): shape must be a tuple of positive ints (None for a dim of any "
            f"size) without the batch dim; got {shape!r}. For flattened 28x28 images use "
            f"Input((784,))."
        )
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int)
                                   or batch_size < 1):
        raise ValueError(f"Input(batch_size): expected a positive int or None; got "
                         f"{batch_size!r}.")
    layer = InputLayer(tuple(shape), name=name, dtype=dtype, batch_size=batch_size)
    tensor = SymbolicTensor((batch_size, *shape), None, name or "input", dtype)
    tensor.node = Node(layer, (), tensor)
    return tensor


def _shape_only_init(layer: Layer, input_shape: Any, with_params: bool = False) -> Any:
    """``layer``'s output shape for ``input_shape``, without creating any params (and, with
    ``with_params``, the shapes its params and state would have)."""
    box = {}

    def run(key):
        out, params, state = init_layer(layer, key, input_shape, f"{layer.kind} layer")
        box["out"] = out
        return params, state

    shapes = jax.eval_shape(run, jax.random.key(0))
    return (box["out"], shapes) if with_params else box["out"]


def _call_symbolic(layer: Layer, inputs: Any) -> Any:
    leaves = jax.tree.leaves(inputs, is_leaf=_is_symbolic)
    if not all(_is_symbolic(leaf) for leaf in leaves):
        bad = next(leaf for leaf in leaves if not _is_symbolic(leaf))
        raise TypeError(
            f"{layer.kind} layer {layer.name or ''}: called on a mix of symbolic tensors and "
            f"{type(bad).__name__}; in a functional model every input of a layer call must come "
            f"from fnnet.Input(...) or another layer."
        )
    in_shape = jax.tree.map(lambda t: t.shape, inputs, is_leaf=_is_symbolic)
    try:
        out_shape = _shape_only_init(layer, in_shape)
    except (ValueError, TypeError) as err:
        raise type(err)(f"calling {layer.kind} layer {layer.name or ''!s} on inputs of shape "
                        f"{in_shape}: {err}") from None
    node = Node(layer, inputs, None)
    name = layer.name or snake_case(layer.kind)
    node.outputs = jax.tree.map(lambda s: SymbolicTensor(s, node, name), out_shape,
                                is_leaf=is_shape)
    return node.outputs


class GraphSpec:
    """The nodes of a graph between ``inputs`` and ``outputs``, in an order that runs.

    Attributes:
        inputs: the input tensors, flattened, in order; ``input_structure`` their structure.
        outputs: the output tensors, flattened; ``output_structure`` their structure.
        nodes: every node that contributes to the outputs, inputs before uses.
        layers: the distinct layers, named uniquely, in Keras's order (``keras.Model.layers``):
            deepest first (the longest path to an output), ties in order of first reach from the
            outputs; so ``get_weights`` lists and Keras weight files line up with Keras's.
    """

    def __init__(self, inputs: Any, outputs: Any):
        self.input_structure = inputs
        self.output_structure = outputs
        self.inputs = _flat_tensors("inputs", inputs)
        self.outputs = _flat_tensors("outputs", outputs)
        for t in self.inputs:
            if t.node is None or t.node.layer.kind != "InputLayer":
                raise ValueError(f"Model(inputs=...): {t!r} is not a model input; pass the "
                                 f"tensors fnnet.Input(...) returned.")
        self.nodes = self._order()
        self.layers = self._keras_order(self._name_layers())

    def _order(self) -> list[Node]:
        order: list[Node] = []
        done: set[int] = set()
        visiting: set[int] = set()
        allowed = {id(t.node) for t in self.inputs}

        def visit(node):
            if id(node) in done:
                return
            if id(node) in visiting:  # pragma: no cover - graphs built by calls are acyclic
                raise ValueError("Model: the graph has a cycle.")
            visiting.add(id(node))
            if node.layer.kind == "InputLayer":
                if id(node) not in allowed:
                    raise ValueError(
                        f"Model: output depends on the input {node.outputs.name!r}, which is "
                        f"not in inputs=. Add it to the model's inputs."
                    )
            for t in jax.tree.leaves(node.inputs, is_leaf=_is_symbolic):
                visit(t.node)
            visiting.discard(id(node))
            done.add(id(node))
            order.append(node)

        for t in self.outputs:
            visit(t.node)
        used_inputs = {id(n) for n in order if n.layer.kind == "InputLayer"}
        for t in self.inputs:
            if id(t.node) not in used_inputs:
                order.insert(0, t.node)  # an unused input still belongs to the model
        # Inputs first, in the order given; then the rest in order of first need.
        inputs_first = [t.node for t in self.inputs]
        return inputs_first + [n for n in order if n not in inputs_first]

    def _name_layers(self) -> list[Layer]:
        seen: dict[int, Layer] = {}
        names: set[str] = set()
        ordered: list[Layer] = []
        for node in self.nodes:
            key = id(node.layer)
            if key in seen:
                node.layer = seen[key]
                continue
            layer = node.layer
            name = layer.name
            if name is None:
                base = snake_case(layer.kind)
                name, i = (base if base not in names else f"{base}_1"), 1
                while name in names:
                    i += 1
                    name = f"{base}_{i}"
            elif name in names:
                raise ValueError(
                    f"Model: two different layers are named {name!r}; layer names must be unique "
                    f"in a model. Give one of them another name=."
                )
            names.add(name)
            renamed = layer if layer.name == name else layer.replace(name=name)
            seen[key] = renamed
            node.layer = renamed
            ordered.append(renamed)
        return ordered

    def _keras_order(self, named: list[Layer]) -> list[Layer]:
        # Keras's map_graph, step for step: a depth-first walk from the outputs numbers the
        # layers as first reached; a node's depth is the longest path to an output (a shared
        # layer takes its deepest node's); layers sort by depth, deepest first, then number.
        finished: set[int] = set()
        post: list[Node] = []
        first_seen: dict[int, int] = {}

        def visit(tensor):
            node = tensor.node
            if id(node) in finished:
                return
            first_seen.setdefault(id(node.layer), len(first_seen))
            if node.layer.kind != "InputLayer":
                for t in jax.tree.leaves(node.inputs, is_leaf=_is_symbolic):
                    visit(t)
            finished.add(id(node))
            post.append(node)

        for t in self.outputs:
            visit(t)
        node_depth: dict[int, int] = {}
        layer_depth: dict[int, int] = {}
        for node in reversed(post):
            depth = max(node_depth.setdefault(id(node), 0), layer_depth.get(id(node.layer), 0))
            layer_depth[id(node.layer)] = node_depth[id(node)] = depth
            if node.layer.kind != "InputLayer":
                for t in jax.tree.leaves(node.inputs, is_leaf=_is_symbolic):
                    node_depth[id(t.node)] = max(depth + 1, node_depth.get(id(t.node), 0))
        for t in self.inputs:  # an unused input: depth 0, before the other layers there
            if id(t.node.layer) not in layer_depth:
                layer_depth[id(t.node.layer)], first_seen[id(t.node.layer)] = 0, -1
        return sorted(named, key=lambda layer: (-layer_depth[id(layer)], first_seen[id(layer)]))

    def layer_index(self, layer: Layer) -> int:
        for i, candidate in enumerate(self.layers):
            if candidate is layer:
                return i
        raise KeyError(layer.name)  # pragma: no cover


def _flat_tensors(what: str, structure: Any) -> list[SymbolicTensor]:
    leaves = jax.tree.leaves(structure, is_leaf=_is_symbolic)
    if not leaves or not all(_is_symbolic(t) for t in leaves):
        raise TypeError(
            f"Model({what}=...): expected a symbolic tensor, or a list or dict of them, from "
            f"fnnet.Input(...) and layer calls; got {structure!r:.120}."
        )
    return leaves


def graph_layer(inputs: Any, outputs: Any, name: str | None = None,
                transform: Any = None) -> Layer:
    """The pure :class:`fnnet.Layer` that computes ``outputs`` from ``inputs``.

    Input: one array for one input, else a list in ``inputs``' order or a dict keyed by input
    names. Output: ``outputs``' structure. Params and state: tuples, one entry per layer in
    :attr:`GraphSpec.layers` order (input layers have ``()``). ``transform(layer) -> layer``
    (same params structure) replaces every layer, e.g. to run frozen layers in inference mode.
    """
    spec = GraphSpec(inputs, outputs)
    index = {id(layer): i for i, layer in enumerate(spec.layers)}
    node_layer = [index[id(node.layer)] for node in spec.nodes]
    layers = [transform(layer) if transform else layer for layer in spec.layers]
    n_layers, n_nodes = len(spec.layers), len(spec.nodes)
    input_names = [t.node.layer.name for t in spec.inputs]

    def flat_inputs(x):
        if len(spec.inputs) == 1 and not isinstance(x, (list, tuple, dict)):
            return [x]
        if isinstance(x, dict):
            missing = [n for n in input_names if n not in x]
            if missing:
                raise ValueError(f"Model: the input dict has no entry for input(s) {missing}; "
                                 f"the model's inputs are {input_names}.")
            return [x[n] for n in input_names]
        if not isinstance(x, (list, tuple)) or len(x) != len(spec.inputs):
            raise ValueError(
                f"Model: expected {len(spec.inputs)} inputs ({input_names}) as a list or a dict "
                f"keyed by name; got {type(x).__name__}"
                f"{f' of length {len(x)}' if isinstance(x, (list, tuple)) else ''}."
            )
        return list(x)

    def init(rng, input_shape):
        if input_shape is None:
            shapes = [t.shape for t in spec.inputs]
        elif len(spec.inputs) == 1 and is_shape(input_shape):
            shapes = [tuple(input_shape)]
        else:
            shapes = flat_inputs(input_shape)
        env = {id(t): tuple(s) for t, s in zip(spec.inputs, shapes, strict=True)}
        params: list = [()] * n_layers
        states: list = [()] * n_layers
        built = [False] * n_layers
        keys = split_rng(rng, n_layers)
        for node, li in zip(spec.nodes, node_layer, strict=True):
            if node.layer.kind == "InputLayer":
                continue
            in_shape = jax.tree.map(lambda t: env[id(t)], node.inputs, is_leaf=_is_symbolic)
            if not built[li]:
                out, params[li], states[li] = init_layer(layers[li], keys[li], in_shape,
                                                         f"layer {node.layer.name!r}")
                built[li] = True
            else:  # a shared layer: its weights must fit this call's inputs too
                out, shapes = _shape_only_init(layers[li], in_shape, with_params=True)
                if jax.tree.map(jnp.shape, shapes) != jax.tree.map(jnp.shape, (
                        params[li], states[li])):
                    raise ValueError(
                        f"Model: the shared layer {node.layer.name!r} is called on inputs of "
                        f"shape {in_shape}, which need weights of other shapes than its first "
                        f"call's; a layer called twice uses one set of weights, so every call "
                        f"needs inputs of the same feature sizes. Use two layers instead.")
            for t, s in zip(jax.tree.leaves(node.outputs, is_leaf=_is_symbolic),
                            jax.tree.leaves(out, is_leaf=is_shape), strict=True):
                env[id(t)] = s
        out_shape = jax.tree.map(lambda t: env[id(t)], spec.output_structure,
                                 is_leaf=_is_symbolic)
        return out_shape, tuple(params), tuple(states)

    def apply(params, state, x, *, rng=None, training=False, batch_mask=None):
        if len(params) != n_layers or len(state) != n_layers:
            raise ValueError(
                f"Model {name!r} holds {n_layers} layers, so its params and state are tuples of "
                f"{n_layers} entries, one per layer (as init returns); got {len(params)} and "
                f"{len(state)}."
            )
        env = {id(t): v for t, v in zip(spec.inputs, flat_inputs(x), strict=True)}
        states = list(state)
        keys = split_rng(rng, n_nodes)
        for node, li, key in zip(spec.nodes, node_layer, keys, strict=True):
            if node.layer.kind == "InputLayer":
                continue
            xin = jax.tree.map(lambda t: env[id(t)], node.inputs, is_leaf=_is_symbolic)
            y, states[li] = call(layers[li], params[li], states[li], xin, rng=key,
                                 training=training, batch_mask=batch_mask)
            outs = jax.tree.leaves(node.outputs, is_leaf=_is_symbolic)
            values = [y] if len(outs) == 1 else _flatten_like(y, node.outputs)
            for t, v in zip(outs, values, strict=True):
                env[id(t)] = v
        out = jax.tree.map(lambda t: env[id(t)], spec.output_structure, is_leaf=_is_symbolic)
        return out, tuple(states)

    return Layer(
        init, apply, name=name, kind="Functional",
        config={"name": name, "layers": layers, "graph": spec},
        supports_masking=True,
        uses_batch_mask=any(layer.uses_batch_mask for layer in layers),
    )


def _flatten_like(value: Any, structure: Any) -> list:
    """The values of a layer's structured output, in the order of its symbolic outputs."""
    from_structure = jax.tree.structure(structure, is_leaf=_is_symbolic)
    return from_structure.flatten_up_to(value)

