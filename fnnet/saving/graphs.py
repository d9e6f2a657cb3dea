"""A functional graph's connectivity as JSON, and the graph rebuilt from it.

A functional model is its layers (each serialized on its own, see
:mod:`fnnet.saving.architecture`) plus how they are connected. :func:`graph_config` records the
connections as Keras does: every call of a layer (a *node*) with its inputs as references
``{"tensor": [layer name, node index, output index]}`` (node index: which call of that layer,
counted from 0; output index: the position among the call's outputs, flattened), and the model's
inputs and outputs the same way. Lists stay JSON lists; tuples are ``{"tuple": [...]}`` and dicts
``{"dict": {...}}``, so the rebuilt calls get the structures the original ones got.

:func:`rebuild_graph` calls rebuilt layers on rebuilt ``fnnet.Input``\\ s in that order; the
result has the same graph, so the same params fit it. Nothing in the JSON is executed.

Example:
    >>> import json
    >>> from fnnet import Input, layers
    >>> from fnnet.graph import GraphSpec
    >>> x = Input((3,), name="x")
    >>> shared = layers.Dense(3, name="shared")
    >>> y = layers.Add(name="add")([shared(x), shared(shared(x))])
    >>> config = graph_config(GraphSpec(x, y))
    >>> [(node["layer"], node["inputs"]) for node in config["nodes"]][:2]
    [('shared', {'tensor': ['x', 0, 0]}), ('shared', {'tensor': ['x', 0, 0]})]
    >>> config["outputs"]
    {'tensor': ['add', 0, 0]}
    >>> inputs, outputs = rebuild_graph([x.node.layer, shared, y.node.layer],
    ...                                 **json.loads(json.dumps(config)))
    >>> [layer.name for layer in GraphSpec(inputs, outputs).layers]
    ['x', 'shared', 'add']
    >>> GraphSpec(inputs, outputs).layers[1] is shared  # the same layer, called again
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax

from fnnet.core import Layer
from fnnet.graph import GraphSpec, Input, SymbolicTensor

__all__ = ["graph_config", "rebuild_graph"]


def _is_tensor(x: Any) -> bool:
    return isinstance(x, SymbolicTensor)


def graph_config(spec: GraphSpec) -> dict:
    """The connections of ``spec`` as JSON: ``{"nodes": [...], "inputs": ..., "outputs": ...}``.

    ``nodes`` lists every layer call but the inputs', in an order that runs, as ``{"layer":
    name, "inputs": structure}``; see the module docs for the references.
    """
    calls: dict[int, int] = {}
    where: dict[int, list] = {}

    def encode(x):
        if _is_tensor(x):
            return {"tensor": where[id(x)]}
        if isinstance(x, tuple):
            return {"tuple": [encode(v) for v in x]}
        if isinstance(x, list):
            return [encode(v) for v in x]
        if isinstance(x, dict):
            return {"dict": {k: encode(v) for k, v in x.items()}}
        return None  # None (e.g. MultiHeadAttention's missing key) is the only other leaf

    nodes = []
    for node in spec.nodes:
        k = calls.get(id(node.layer), 0)
        calls[id(node.layer)] = k + 1
        for i, t in enumerate(jax.tree.leaves(node.outputs, is_leaf=_is_tensor)):
            where[id(t)] = [node.layer.name, k, i]
        if node.layer.kind != "InputLayer":
            nodes.append({"layer": node.layer.name, "inputs": encode(node.inputs)})
    return {"nodes": nodes, "inputs": encode(spec.input_structure),
            "outputs": encode(spec.output_structure)}


class _NotYet(Exception):
    """A node's input comes from a call that has not been rebuilt yet."""


def rebuild_graph(layers: Sequence[Layer], nodes: Sequence[dict], inputs: Any, outputs: Any
                  ) -> tuple[Any, Any]:
    """Calls ``layers`` as ``nodes`` say, on new ``fnnet.Input``\\ s; returns (inputs, outputs).

    Args:
        layers: the model's layers, each named; ``InputLayer``\\ s become ``fnnet.Input``\\ s.
        nodes, inputs, outputs: as :func:`graph_config` returns them. Nodes may come in any
            order: one whose inputs do not exist yet waits for them (a layer shared at
            several depths), as in Keras.

    Raises:
        ValueError: for two layers of one name, a node or reference naming no layer (or a
            call that does not exist), a malformed structure, or nodes that can never run.
    """
    by_name: dict[str, Layer] = {}
    produced: dict[tuple[str, int], list] = {}
    for layer in layers:
        if layer.name in by_name:
            raise ValueError(f"rebuild_graph: two layers are named {layer.name!r}; a saved "
                             f"graph names each layer once.")
        by_name[layer.name] = layer
        if layer.kind == "InputLayer":
            cfg = layer.config
            produced[(layer.name, 0)] = [Input(tuple(cfg["shape"]), cfg.get("batch_size"),
                                               cfg.get("dtype"), name=layer.name)]

    def decode(x, strict: bool):
        if isinstance(x, dict) and set(x) == {"tensor"}:
            ref = x["tensor"]
            if not (isinstance(ref, list) and len(ref) == 3 and isinstance(ref[0], str)
                    and all(isinstance(i, int) and i >= 0 for i in ref[1:])):
                raise ValueError(f"rebuild_graph: a tensor reference must be [layer name, node "
                                 f"index, output index]; got {ref!r:.100}.")
            name, k, i = ref
            if name not in by_name:
                raise ValueError(f"rebuild_graph: a reference names the layer {name!r}, which "
                                 f"the model does not have; its layers are {sorted(by_name)}.")
            if (name, k) not in produced:
                if strict:
                    raise ValueError(f"rebuild_graph: a reference names call #{k} of layer "
                                     f"{name!r}, which the graph never makes.")
                raise _NotYet
            outs = produced[(name, k)]
            if i >= len(outs):
                raise ValueError(f"rebuild_graph: a reference names output #{i} of layer "
                                 f"{name!r}, which has {len(outs)} output(s).")
            return outs[i]
        if isinstance(x, dict) and set(x) == {"tuple"} and isinstance(x["tuple"], list):
            return tuple(decode(v, strict) for v in x["tuple"])
        if isinstance(x, dict) and set(x) == {"dict"} and isinstance(x["dict"], dict):
            return {k: decode(v, strict) for k, v in x["dict"].items()}
        if isinstance(x, list):
            return [decode(v, strict) for v in x]
        if x is None:
            return None
        raise ValueError(f"rebuild_graph: {x!r:.100} is not a tensor reference or a list, "
                         f"{{'tuple': [...]}} or {{'dict': {{...}}}} of them.")

    calls: dict[str, int] = {}
    pending = []
    for node in nodes:
        name = node.get("layer") if isinstance(node, dict) else None
        if name not in by_name or by_name[name].kind == "InputLayer" or set(node) != {
                "layer", "inputs"}:
            raise ValueError(f"rebuild_graph: each node must be {{'layer': name, 'inputs': "
                             f"...}} naming one of the layers {sorted(by_name)} (not an input); "
                             f"got {node!r:.100}.")
        pending.append((name, calls.get(name, 0), node["inputs"]))
        calls[name] = calls.get(name, 0) + 1
    while pending:
        waiting = []
        for name, k, refs in pending:
            try:
                x = decode(refs, strict=False)
            except _NotYet:
                waiting.append((name, k, refs))
                continue
            produced[(name, k)] = jax.tree.leaves(by_name[name](x), is_leaf=_is_tensor)
        if len(waiting) == len(pending):
            raise ValueError(f"rebuild_graph: the calls of {sorted({n for n, _, _ in waiting})} "
                             f"wait for inputs that no call produces (a cycle, or a reference "
                             f"to a missing call).")
        pending = waiting
    return decode(inputs, strict=True), decode(outputs, strict=True)
