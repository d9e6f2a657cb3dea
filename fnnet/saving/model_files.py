"""Model files: weights, whole models and training states, pickle-free, atomic and verified.

Two file kinds, both single ``.safetensors`` files (see :mod:`fnnet.checkpoint`); weights also
go to and come from Keras 3's ``.weights.h5`` files (:mod:`fnnet.saving.keras_weights`):

* ``model.save_weights(path)`` / ``model.load_weights(path)``: the weights and non-trainable
  state, keyed by layer path (``"dense/kernel"``, ``"batch_normalization/moving_mean"``).
* ``model.save(path)`` / ``fnnet.models.load_model``: also the architecture (JSON: each layer's
  type and constructor arguments), the compile configuration, the optimizer state, the rng and
  the step count, so training continues exactly where it stopped: ``fit(..., initial_epoch=k)``
  after a load gives the same weights, bit for bit, as an uninterrupted run. The optimizer state
  is always stored, also for a custom optax transformation (hand that back to ``load_model``).

The functions here work on any model through its public interface (``layers``, ``name``,
``input_shape``, ``train_state`` read and assigned, ``get_compile_config()``); they never
import the models. A load that fails (a truncated or corrupted file, a missing key, a shape
mismatch) raises before anything is assigned, so the in-memory model is unchanged.
"""

from __future__ import annotations

import os
from typing import Any

from fnnet import checkpoint
from fnnet.saving import keras_archive, keras_weights
from fnnet.saving.architecture import serialize_layer

__all__ = [
    "check_path",
    "save_weights",
    "load_weights",
    "save_model",
    "read_model_file",
    "restore_train_state",
    "save_train_state",
    "load_train_state",
    "model_architecture",
]


# --------------------------------------------------------------------------- weights by layer
def _entry(params: Any, state: Any) -> Any:
    """One layer's params and state as one tree: merged dicts when they do not collide."""
    if isinstance(params, dict) and isinstance(state, dict) and not set(params) & set(state):
        return {**params, **state}
    if state == ():
        return params
    if params == ():
        return state
    return {"params": params, "state": state}


def _split(entry: Any, params: Any, state: Any) -> tuple[Any, Any]:
    """Inverse of :func:`_entry`, given the layer's current params and state for the shape."""
    if isinstance(params, dict) and isinstance(state, dict) and not set(params) & set(state):
        return {k: entry[k] for k in params}, {k: entry[k] for k in state}
    if state == ():
        return entry, state
    if params == ():
        return params, entry
    return entry["params"], entry["state"]


def _require_built(model, where: str) -> None:
    if not model.built:
        raise ValueError(
            f"{where}: the model is not built yet. Give the first layer input_shape=..., call "
            f"model.build((None, features)), or fit it on data first."
        )


def _sublayers(layer: Any, params: Any) -> list | None:
    """A nested model's layers (aligned with its params tuple), or None for a plain layer."""
    children = getattr(layer, "layers", None)
    if isinstance(children, list) and isinstance(params, tuple) and len(children) == len(params):
        return children
    return None


def _layer_entry(layer: Any, params: Any, state: Any) -> Any:
    """One layer's arrays; a nested model's keyed by its layers' names, recursively."""
    children = _sublayers(layer, params)
    if children is None:
        return _entry(params, state)
    return {child.name: _layer_entry(child, p, s)
            for child, p, s in zip(children, params, state, strict=True)}


def _layer_split(layer: Any, entry: Any, params: Any, state: Any) -> tuple[Any, Any]:
    """Inverse of :func:`_layer_entry`."""
    children = _sublayers(layer, params)
    if children is None:
        return _split(entry, params, state)
    pairs = [_layer_split(child, entry[child.name], p, s)
             for child, p, s in zip(children, params, state, strict=True)]
    return tuple(p for p, _ in pairs), tuple(s for _, s in pairs)


def _weights_tree(model, params=None, state=None) -> dict:
    ts = model.train_state
    params = ts.params if params is None else params
    state = ts.state if state is None else state
    return {layer.name: _layer_entry(layer, p, s)
            for layer, p, s in zip(model.layers, params, state, strict=True)}


def _unweights(model, tree: dict) -> tuple[tuple, tuple]:
    ts = model.train_state
    pairs = [_layer_split(layer, tree[layer.name], p, s)
             for layer, p, s in zip(model.layers, ts.params, ts.state, strict=True)]
    return tuple(p for p, _ in pairs), tuple(s for _, s in pairs)


def check_path(where: str, path: Any, argument: str = "path", example: str | None = None) -> str:
    """``path`` as a str; fnnet files are safetensors files, and the suffix is never added."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            f"{where}: {argument} must be a str or os.PathLike; got {type(path).__name__}.")
    path = os.fspath(path)
    if not path.endswith(checkpoint.SUFFIX):
        example = example or repr(os.path.splitext(path)[0] + checkpoint.SUFFIX)
        raise ValueError(
            f"{where}: {argument} must end in {checkpoint.SUFFIX!r}; got {path!r}. Use e.g. "
            f"{example}: fnnet files are safetensors files, and the suffix is never added."
        )
    return path


def _keras_file(where: str, path: Any, suffixes: tuple) -> str | None:
    """``path`` when it names a Keras file (``.weights.h5``, or one of ``suffixes``), else None."""
    if not isinstance(path, (str, os.PathLike)):
        return None
    path = os.fspath(path)
    if path.endswith((keras_weights.SUFFIX, *suffixes)):
        return path
    if path.endswith(".h5"):
        raise ValueError(
            f"{where}: {path!r} ends in '.h5' but not in {keras_weights.SUFFIX!r}: fnnet reads "
            f"and writes Keras 3's weights files, which end in {keras_weights.SUFFIX!r}, not "
            f"Keras 2's legacy .h5 files. Use e.g. "
            f"{path[:-len('.h5')] + keras_weights.SUFFIX!r} (in Keras 3, load a legacy file and "
            f"save it again with model.save_weights('m.weights.h5')).")
    return None


def save_weights(model, path: str | os.PathLike) -> None:
    """Writes ``model``'s weights and state to ``path``, atomically.

    A ``.safetensors`` path gets fnnet's verified format; a ``.weights.h5`` path a Keras 3
    weights file that Keras itself loads (see :mod:`fnnet.saving.keras_weights`; needs h5py).
    """
    keras_path = _keras_file("save_weights", path, ())
    if keras_path is not None:
        keras_weights.save_weights(model, keras_path)
        return
    path = check_path("save_weights", path)
    _require_built(model, "save_weights")
    arrays = checkpoint.flatten(_weights_tree(model))
    checkpoint.save(path, arrays, {"kind": "weights", "model": model.name,
                                   "layers": [layer.name for layer in model.layers]})


def load_weights(model, path: str | os.PathLike) -> None:
    """Reads weights saved by :func:`save_weights` (or :func:`save_model`) into ``model``.

    Every key, shape and dtype must match the model's; otherwise a ``ValueError`` names the
    key path, and the model is left as it was. A ``.weights.h5`` file (or a ``.keras``
    archive) is read as Keras 3 writes it, see :mod:`fnnet.saving.keras_weights`.
    """
    keras_path = _keras_file("load_weights", path, (keras_archive.SUFFIX,))
    if keras_path is not None and keras_path.endswith(keras_archive.SUFFIX):
        keras_weights.load_weights_bytes(model, keras_archive.read_weights(keras_path),
                                         f"{keras_path!r} (model.weights.h5)")
        return
    if keras_path is not None:
        keras_weights.load_weights(model, keras_path)
        return
    path = check_path("load_weights", path)
    _require_built(model, "load_weights")
    ts = model.train_state
    arrays, meta = checkpoint.load(path)
    if meta.get("kind") == "model":  # a full model file holds the weights under "weights/"
        arrays = {k[len("weights/"):]: v for k, v in arrays.items() if k.startswith("weights/")}
    tree = checkpoint.unflatten(_weights_tree(model), arrays, what=f"weights file {path!r}")
    params, state = _unweights(model, tree)
    model.train_state = ts.replace(params=params, state=state)


# --------------------------------------------------------------------------- whole models
def model_architecture(model) -> dict:
    """The JSON-able architecture of a model.

    A ``Sequential``: ``{"class_name": "Sequential", "name", "input_shape", "layers"}``. A
    functional model: its :func:`serialize_layer` dict, whose config holds its layers (input
    layers and nested models included) and their connections (see :mod:`fnnet.saving.graphs`).
    """
    if model.inputs:  # functional (a Sequential has no symbolic inputs)
        return serialize_layer(model)
    return {
        "class_name": "Sequential",
        "name": model.name,
        "input_shape": list(model.input_shape[1:]),
        "layers": [serialize_layer(layer) for layer in model.layers],
    }


def _state_tree(model, with_optimizer: bool) -> dict:
    ts = model.train_state
    tree = {"weights": _weights_tree(model), "rng": ts.rng, "step": ts.step}
    if with_optimizer:
        tree["opt_state"] = ts.opt_state
    return tree


def save_model(model, path: str | os.PathLike, extra: dict | None = None) -> None:
    """Writes the whole model (architecture, weights, optimizer state, rng, step) to ``path``.

    ``extra``: JSON-able metadata stored alongside (``load_train_state`` returns it).
    """
    if isinstance(path, (str, os.PathLike)) and os.fspath(path).endswith(keras_archive.SUFFIX):
        raise ValueError(
            f"save: fnnet does not write Keras's {keras_archive.SUFFIX!r} archives (got "
            f"{os.fspath(path)!r}). Save the whole model as "
            f"{os.fspath(path)[:-len(keras_archive.SUFFIX)] + checkpoint.SUFFIX!r}, or its "
            f"weights for Keras with model.save_weights('...{keras_weights.SUFFIX}'), which "
            f"keras_model.load_weights reads.")
    path = check_path("save", path)
    _require_built(model, "save")
    compile_config = model.get_compile_config()
    tree = _state_tree(model, with_optimizer=compile_config is not None)
    checkpoint.save(path, checkpoint.flatten(tree), {
        **(extra or {}), "kind": "model", "architecture": model_architecture(model),
        "compile": compile_config})


def save_train_state(model, path: str | os.PathLike, extra: dict | None = None) -> None:
    """Writes the training state alone (weights, optimizer state, rng, step) to ``path``.

    Unlike :func:`save_model` it stores no architecture or compile configuration, so it works
    for any model, custom layers, losses and optax transforms included; restore it with
    :func:`load_train_state` into a model built and compiled the same way. ``BackupAndRestore``
    uses it.

    Example:
        >>> import os, tempfile
        >>> from fnnet import models, layers, saving
        >>> model = models.Sequential([layers.Dense(2, input_shape=(3,))])
        >>> model.compile(optimizer="adam", loss="mse")
        >>> path = os.path.join(tempfile.mkdtemp(), "state.safetensors")
        >>> saving.save_train_state(model, path, extra={"epoch": 4})
        >>> twin = models.Sequential([layers.Dense(2, input_shape=(3,))])
        >>> twin.compile(optimizer="adam", loss="mse")
        >>> saving.load_train_state(twin, path)["epoch"]
        4
        >>> all((a == b).all() for a, b in zip(twin.get_weights(), model.get_weights()))
        True
    """
    path = check_path("save_train_state", path)
    _require_built(model, "save_train_state")
    ts = model.train_state
    tree = _state_tree(model, with_optimizer=ts.opt_state is not None)
    checkpoint.save(path, checkpoint.flatten(tree), {**(extra or {}), "kind": "train_state"})


def read_model_file(where: str, path: str, kinds: tuple = ("model",)) -> tuple[dict, dict]:
    """The arrays and metadata of a model (or train-state) file, its kind checked."""
    arrays, meta = checkpoint.load(path)
    if meta.get("kind") not in kinds:
        raise checkpoint.CheckpointError(
            f"{where}: {path!r} is a {meta.get('kind', 'plain')} checkpoint, not a saved model. "
            f"Load weights files with model.load_weights(path).")
    return arrays, meta


def load_train_state(model, path: str | os.PathLike) -> dict:
    """Restores weights, optimizer state, rng and step from a model or train-state file.

    ``model`` must have the saved architecture and be compiled the same way. Returns the file's
    metadata. Used by ``BackupAndRestore`` to resume an interrupted ``fit`` exactly.
    """
    path = check_path("load_train_state", path)
    arrays, meta = read_model_file("load_train_state", path, ("model", "train_state"))
    restore_train_state(model, arrays, path)
    return meta


def restore_train_state(model, arrays: dict, path: str, with_optimizer: bool | None = None
                        ) -> None:
    """Verifies ``arrays`` against ``model`` completely, then assigns them all at once.

    ``with_optimizer=None`` restores the optimizer state when the file has one; False ignores
    it (an uncompiled model has none to restore into).
    """
    if with_optimizer is None:
        with_optimizer = any(k.startswith("opt_state/") for k in arrays)
    if not with_optimizer:
        arrays = {k: v for k, v in arrays.items() if not k.startswith("opt_state/")}
    template = _state_tree(model, with_optimizer=with_optimizer)
    tree = checkpoint.unflatten(template, arrays, what=f"model file {path!r}")
    params, state = _unweights(model, tree["weights"])
    ts = model.train_state.replace(params=params, state=state, rng=tree["rng"], step=tree["step"])
    if with_optimizer:
        ts = ts.replace(opt_state=tree["opt_state"])
    model.train_state = ts
