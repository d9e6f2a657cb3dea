"""Model files: weights, whole models and training states, pickle-free, atomic and verified.

Two file kinds, both single ``.safetensors`` files (see :mod:`fnnet.checkpoint`):

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


def _weights_tree(model, params=None, state=None) -> dict:
    ts = model.train_state
    params = ts.params if params is None else params
    state = ts.state if state is None else state
    return {layer.name: _entry(p, s)
            for layer, p, s in zip(model.layers, params, state, strict=True)}


def _unweights(model, tree: dict) -> tuple[tuple, tuple]:
    ts = model.train_state
    pairs = [_split(tree[layer.name], p, s)
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


def save_weights(model, path: str | os.PathLike) -> None:
    """Writes ``model``'s weights and state to ``path`` (a ``.safetensors`` file), atomically."""
    path = check_path("save_weights", path)
    _require_built(model, "save_weights")
    arrays = checkpoint.flatten(_weights_tree(model))
    checkpoint.save(path, arrays, {"kind": "weights", "model": model.name,
                                   "layers": [layer.name for layer in model.layers]})


def load_weights(model, path: str | os.PathLike) -> None:
    """Reads weights saved by :func:`save_weights` (or :func:`save_model`) into ``model``.

    Every key, shape and dtype must match the model's; otherwise a ``ValueError`` names the
    key path, and the model is left as it was.
    """
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
    """The JSON-able architecture of a ``Sequential``: its name, input shape and layers."""
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
