"""Keras 3 weights files (``.weights.h5``): written so Keras loads them, read as Keras wrote them.

Keras 3's ``model.save_weights("m.weights.h5")`` writes an HDF5 file with one group per layer,
at the path Keras's ``saving_lib`` walks: a model's layers are ``layers/<class>``, numbered per
class in ``model.layers`` order (``layers/dense``, ``layers/dense_1``; by class name, never by
layer name), and each group holds its layer's own variables as ``vars/0``, ``vars/1``... in the
order the layer created them (trainable, then non-trainable). Sub-layers sit below their
owner under the attribute that holds them:

* recurrent layers: ``<layer>/cell/vars`` (a stack: ``<layer>/cell/cells/lstm_cell/vars``...);
* ``Bidirectional``: ``forward_layer/...`` and ``backward_layer/...``;
* ``TimeDistributed``: ``layer/...``;
* ``MultiHeadAttention``: ``query_dense``, ``key_dense``, ``value_dense``, ``output_dense``;
* a nested model: ``layers/...`` again.

fnnet's params follow Keras's names, shapes and order (see :mod:`fnnet.models.weights`), and a
functional model's ``layers`` are in Keras's order, so the same architecture built in fnnet and
in Keras reads and writes the same file. :func:`weight_paths` shows the layout of a model.

h5py is an optional dependency (``pip install h5py``). A load checks every group, count, shape
and dtype before it assigns anything (all or nothing) and reads no array it has not checked; a
save is atomic (a temporary file renamed, as :mod:`fnnet.checkpoint` writes). Groups Keras keeps
outside the layers (``optimizer/``, metrics) are ignored: the optimizer state is not read.

Example:
    >>> from fnnet import layers, models
    >>> model = models.Sequential([layers.Dense(4, input_shape=(3,)),
    ...                            layers.BatchNormalization(), layers.Dense(2)])
    >>> for path, shapes in weight_paths(model).items():
    ...     print(path, shapes)
    vars []
    layers/dense/vars [(3, 4), (4,)]
    layers/batch_normalization/vars [(4,), (4,), (4,), (4,)]
    layers/dense_1/vars [(4, 2), (2,)]
"""

from __future__ import annotations

import io
import os
from typing import Any

import jax
import ml_dtypes
import numpy as np

from fnnet import checkpoint
from fnnet.core import snake_case
from fnnet.saving import weight_order

__all__ = ["SUFFIX", "save_weights", "load_weights", "load_weights_bytes", "weight_paths"]

SUFFIX = ".weights.h5"
_BFLOAT16 = np.dtype(ml_dtypes.bfloat16)

# fnnet kinds with no Keras class: their weights have no place in a Keras file.
_NOT_KERAS = frozenset({"serial", "parallel", "fan_out", "fan_in_sum", "fan_in_concat",
                        "residual", "shape_dependent", "stax", "Layer"})
_KERAS_CLASS = {"Model": "Functional"}
_RECURRENT = frozenset({"SimpleRNN", "LSTM", "GRU"})
# MultiHeadAttention's sub-layers, in the order Keras visits them (attributes sorted by name).
_MHA = (("key_dense", "key"), ("output_dense", "attention_output"), ("query_dense", "query"),
        ("value_dense", "value"))


def _h5py():
    try:
        import h5py
    except ImportError as e:
        raise ImportError(
            f"Keras weights files (.h5) need h5py, an optional dependency that is not installed "
            f"({e}). Install it with: pip install h5py (or pip install 'fnnet[h5]'); or use "
            f"fnnet's own format, a path ending in '.safetensors'."
        ) from e
    return h5py


# --------------------------------------------------------------------------- the layout
def _children(layer: Any, params: Any) -> list | None:
    """A nested model's layers, aligned with its params tuple; None for other layers."""
    children = getattr(layer, "layers", None)
    if isinstance(children, list) and isinstance(params, tuple) and len(children) == len(params):
        return children
    return None


def _join(path: str, name: str) -> str:
    return f"{path}/{name}" if path else name


def _unique(name: str, used: dict) -> str:
    # Keras's saving_lib._get_unique_name: dense, dense_1, dense_2...
    if name in used:
        used[name] += 1
        return f"{name}_{used[name]}"
    used[name] = 0
    return name


def _walk(layer: Any, params: Any, state: Any, path: str, out: list) -> None:
    """Appends ``(group path, [leaves in Keras's order])`` for ``layer`` and its sub-layers."""
    kind = layer.kind
    config = layer.config or {}
    if kind in _NOT_KERAS:
        raise ValueError(
            f"Keras weights file: layer {layer.name!r} is a fnnet {kind} combinator, which "
            f"has no Keras class, so Keras could not place its weights. Build the model from "
            f"Keras layers (a functional Model instead of {kind}), or save to '.safetensors'.")
    out.append((path, []))
    children = _children(layer, params)
    if children is not None:  # a nested model
        used: dict = {}
        for child, p, s in zip(children, params, state, strict=True):
            name = _unique(snake_case(_KERAS_CLASS.get(child.kind, child.kind)), used)
            _walk(child, p, s, _join(_join(path, "layers"), name), out)
    elif kind in _RECURRENT:
        out.append((_join(path, "cell"), weight_order.layer_leaves(params, state)))
    elif kind == "RNN" and isinstance(config.get("cell"), (list, tuple)):
        cell_path = _join(path, "cell")
        out.append((cell_path, []))
        used = {}
        for cell, p, s in zip(config["cell"], params, state, strict=True):
            name = _unique(snake_case(cell.kind), used)
            out.append((_join(_join(cell_path, "cells"), name), weight_order.layer_leaves(p, s)))
    elif kind == "RNN":
        out.append((_join(path, "cell"), weight_order.layer_leaves(params, state)))
    elif kind == "Bidirectional":
        backward = config.get("backward_layer") or config["layer"]
        _walk(config["layer"], params[0], state[0], _join(path, "forward_layer"), out)
        _walk(backward, params[1], state[1], _join(path, "backward_layer"), out)
    elif kind == "TimeDistributed":
        _walk(config["layer"], params, state, _join(path, "layer"), out)
    elif kind == "MultiHeadAttention":
        for attr, key in _MHA:
            out.append((_join(path, attr), weight_order.ordered_leaves(params[key])))
    else:
        out[-1] = (path, weight_order.layer_leaves(params, state))


def _layout(model: Any, params: Any, state: Any) -> list[tuple[str, list]]:
    """``[(group path, [leaves])]`` for the whole model (the root group is ``""``)."""
    out: list = []
    _walk(model, tuple(params), tuple(state), "", out)
    return out


def _vars(path: str) -> str:
    return _join(path, "vars")


def weight_paths(model: Any) -> dict[str, list[tuple]]:
    """The groups a Keras weights file holds for ``model``: ``{"layers/dense/vars": [shapes]}``.

    Every layer (and sub-layer) has a group, with its variables' shapes in the order of
    ``vars/0``, ``vars/1``...; a layer without weights has an empty list. Needs no h5py.
    """
    ts = _require_built(model, "weight_paths")
    return {_vars(path): [tuple(np.shape(a)) for a in leaves]
            for path, leaves in _layout(model, ts.params, ts.state)}


def _require_built(model: Any, where: str):
    if not model.built:
        raise ValueError(
            f"{where}: the model is not built yet. Give the first layer input_shape=..., call "
            f"model.build((None, features)), or fit it on data first.")
    return model.train_state


# --------------------------------------------------------------------------- writing
def save_weights(model: Any, path: str | os.PathLike) -> None:
    """Writes ``model``'s weights to ``path`` (``.weights.h5``) as Keras 3 writes them.

    ``keras_model.load_weights(path)`` then loads them into the same architecture built in
    Keras. The file is built in memory and written atomically.

    Raises:
        ImportError: without h5py.
        ValueError: for an unbuilt model, or a layer that has no Keras class (a fnnet
            combinator such as ``serial``).

    Example:
        >>> import os, tempfile, numpy as np
        >>> from fnnet import layers, models
        >>> model = models.Sequential([layers.Dense(2, input_shape=(3,))])
        >>> path = os.path.join(tempfile.mkdtemp(), "m.weights.h5")
        >>> save_weights(model, path)  # what model.save_weights(path) does for this suffix
        >>> twin = models.Sequential([layers.Dense(2, input_shape=(3,))])
        >>> load_weights(twin, path)
        >>> all(np.array_equal(a, b) for a, b in zip(twin.get_weights(), model.get_weights()))
        True
    """
    h5py = _h5py()
    path = os.fspath(path)
    ts = _require_built(model, "save_weights")
    layout = _layout(model, ts.params, ts.state)
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        for group_path, leaves in layout:
            group = f.require_group(_vars(group_path))
            for i, leaf in enumerate(leaves):
                array = np.asarray(jax.device_get(leaf))
                dataset = group.create_dataset(str(i), data=array)
                if array.dtype == _BFLOAT16:  # HDF5 has no bfloat16: Keras tags the raw bits
                    dataset.attrs["dtype"] = "bfloat16"
    checkpoint.write_atomic(path, buffer.getvalue())


# --------------------------------------------------------------------------- reading
def load_weights(model: Any, path: str | os.PathLike) -> None:
    """Reads a Keras 3 weights file (``.weights.h5``) into ``model``, which must have the
    architecture the file was written from (a ``.keras`` archive's weights: read them with
    :func:`fnnet.saving.keras_archive.read` and :func:`load_weights_bytes`).

    Every layer's group must be there with as many variables as the layer has, each of the
    layer's shape; float weights are cast to the model's dtypes. Nothing is assigned unless
    everything matches.

    Raises:
        ImportError: without h5py.
        FileNotFoundError: when ``path`` does not exist.
        fnnet.checkpoint.CheckpointError: when the file is not a readable HDF5 file.
        ValueError: for a missing group, a wrong number of variables, a shape or dtype
            mismatch, or weights of layers the model does not have; the message names the
            group.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"load_weights: no file at {path!r}. Check the path (Keras "
                                f"weights files end in {SUFFIX!r}).")
    with open(path, "rb") as f:
        data = f.read()
    load_weights_bytes(model, data, repr(path))


def load_weights_bytes(model: Any, data: bytes, what: str) -> None:
    """:func:`load_weights` from the bytes of a ``.weights.h5`` file; ``what`` names it."""
    h5py = _h5py()
    ts = _require_built(model, "load_weights")
    flat, treedef = jax.tree.flatten((ts.params, ts.state))
    index = jax.tree.unflatten(treedef, list(range(len(flat))))
    layout = _layout(model, *index)
    new = list(flat)
    try:
        f = h5py.File(io.BytesIO(data), "r")
    except OSError as e:
        raise checkpoint.CheckpointError(
            f"load_weights: {what} is not a readable Keras weights file: HDF5 could not open it "
            f"({e}). The file is truncated, corrupted or of another format.") from e
    with f:
        expected = set()
        for group_path, slots in layout:
            where = _vars(group_path)
            expected.add(where)
            group = f.get(where) if slots else None
            if slots and not isinstance(group, h5py.Group):
                raise ValueError(
                    f"load_weights: {what} has no weights for layer group {group_path!r} (no "
                    f"{where!r}); it was written from another architecture. The file's layers: "
                    f"{sorted(f['layers']) if 'layers' in f else []}.")
            keys = sorted(group.keys(), key=lambda k: (len(k), k)) if slots else []
            if slots and keys != [str(i) for i in range(len(slots))]:
                raise ValueError(
                    f"load_weights: {what} holds {len(keys)} variables at {where!r}, but the "
                    f"model's layer there has {len(slots)}; it was written from another "
                    f"architecture.")
            for i, slot in enumerate(slots):
                new[slot] = _read(group[str(i)], flat[slot], f"{where}/{i}", what, h5py)
        extra = sorted(_stored_vars(f, "layers", h5py) - expected)
        if extra:
            raise ValueError(
                f"load_weights: {what} holds weights at {extra[:4]} that no layer of the model "
                f"has; it was written from another architecture.")
    params, state = jax.tree.unflatten(treedef, new)
    model.train_state = ts.replace(params=params, state=state)


def _read(dataset: Any, current: Any, where: str, what: str, h5py: Any) -> np.ndarray:
    """The dataset as an array of ``current``'s dtype, checked before it is read."""
    shape, dtype = tuple(np.shape(current)), np.dtype(current.dtype)
    if not isinstance(dataset, h5py.Dataset) or tuple(dataset.shape) != shape:
        got = tuple(dataset.shape) if isinstance(dataset, h5py.Dataset) else "a group"
        raise ValueError(f"load_weights: {what} has {got} at {where!r}, but the model expects "
                         f"shape {shape}; it was written from another architecture.")
    stored = dataset.dtype
    bfloat16 = dataset.attrs.get("dtype") in ("bfloat16", b"bfloat16") and stored.itemsize == 2
    floating = bfloat16 or stored.kind == "f"
    if not (bfloat16 or stored.kind in "fiub") or floating != (dtype.kind == "f" or dtype == _BFLOAT16):
        raise ValueError(f"load_weights: {what} has dtype {stored} at {where!r}, but the model "
                         f"holds {dtype} there.")
    array = np.asarray(dataset[()])
    return (array.view(_BFLOAT16) if bfloat16 else array).astype(dtype)


def _stored_vars(f: Any, root: str, h5py: Any) -> set:
    """The ``.../vars`` groups under ``root`` that hold at least one array."""
    found: set = set()
    if root not in f:
        return found

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset) and name.rsplit("/", 2)[-2:-1] == ["vars"]:
            found.add(f"{root}/{name.rsplit('/', 1)[0]}")

    f[root].visititems(visit)
    return found
