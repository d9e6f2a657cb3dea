"""Saving and loading models: pickle-free, atomic and verified (see :mod:`fnnet.checkpoint`).

Two file kinds, both single ``.safetensors`` files:

* ``model.save_weights(path)`` / ``model.load_weights(path)``: the weights and non-trainable
  state, keyed by layer path (``"dense/kernel"``, ``"batch_normalization/moving_mean"``).
* ``model.save(path)`` / :func:`load_model`: also the architecture (JSON: each layer's type and
  constructor arguments), the compile configuration, the optimizer state, the rng and the step
  count, so training continues exactly where it stopped: ``fit(..., initial_epoch=k)`` after a
  load gives the same weights, bit for bit, as an uninterrupted run.

Loading never executes code from the file. Built-in layers need no registration; a custom
layer kind loads only when named in ``custom_objects`` (an explicit opt-in). A load that fails
(a truncated or corrupted file, a missing key, a shape mismatch) raises before anything is
assigned, so the in-memory model is unchanged.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

from fnnet import checkpoint
from fnnet import losses as losses_lib
from fnnet import optimizers as optimizers_lib
from fnnet.serialization import builtin_names, deserialize_layer, serialize_layer

__all__ = ["save_weights", "load_weights", "save_model", "load_model", "save_train_state",
           "load_train_state"]


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


def _weights_tree(model, params=None, state=None) -> dict:
    ts = model._require_train_state("save_weights")
    params = ts.params if params is None else params
    state = ts.state if state is None else state
    return {layer.name: _entry(p, s) for layer, p, s in zip(model.layers, params, state)}


def _unweights(model, tree: dict) -> tuple[tuple, tuple]:
    ts = model.train_state
    pairs = [_split(tree[layer.name], p, s)
             for layer, p, s in zip(model.layers, ts.params, ts.state)]
    return tuple(p for p, _ in pairs), tuple(s for _, s in pairs)


def _check_path(where: str, path: Any, argument: str = "path", example: str | None = None) -> str:
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
    path = _check_path("save_weights", path)
    arrays = checkpoint.flatten(_weights_tree(model))
    checkpoint.save(path, arrays, {"kind": "weights", "model": model.name,
                                   "layers": [layer.name for layer in model.layers]})


def load_weights(model, path: str | os.PathLike) -> None:
    """Reads weights saved by :func:`save_weights` (or :func:`save_model`) into ``model``.

    Every key, shape and dtype must match the model's; otherwise a ``ValueError`` names the
    key path, and the model is left as it was.
    """
    path = _check_path("load_weights", path)
    model._require_train_state("load_weights")
    arrays, meta = checkpoint.load(path)
    if meta.get("kind") == "model":  # a full model file holds the weights under "weights/"
        arrays = {k[len("weights/"):]: v for k, v in arrays.items() if k.startswith("weights/")}
    tree = checkpoint.unflatten(_weights_tree(model), arrays, what=f"weights file {path!r}")
    params, state = _unweights(model, tree)
    model._ts = model._ts._replace(params=params, state=state)


# --------------------------------------------------------------------------- whole models
_COMPILE_KEYS = frozenset({"optimizer", "loss", "metrics", "steps_per_execution", "jit_compile"})


def _compile_config(model) -> dict | None:
    cfg = model._compiled
    if cfg is None:
        return None
    loss = None if cfg["loss"] is None else losses_lib.serialize(losses_lib.get(cfg["loss"]))
    optimizer = optimizers_lib.serialize(model.optimizer.tx, model.train_state.opt_state)
    metrics = [m for m in cfg["metrics"] if isinstance(m, str)]
    if (cfg["loss"] is not None and loss is None) or optimizer is None or \
            len(metrics) != len(cfg["metrics"]):
        warnings.warn(
            "save: the model was compiled with a custom loss, metric or optax transform, which "
            "cannot be stored as a name; the file holds the weights and architecture, and "
            "load_model returns an uncompiled model (compile it again to keep training).",
            stacklevel=3)
        return None
    return {"optimizer": optimizer, "loss": loss, "metrics": metrics,
            "steps_per_execution": cfg["steps_per_execution"], "jit_compile": cfg["jit_compile"],
            "loss_weights": cfg.get("loss_weights")}


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
    path = _check_path("save", path)
    model._require_train_state("save")
    architecture = {
        "class_name": "Sequential",
        "name": model.name,
        "input_shape": list(model.input_shape[1:]),
        "layers": [serialize_layer(layer) for layer in model.layers],
    }
    compile_config = _compile_config(model)
    tree = _state_tree(model, with_optimizer=compile_config is not None)
    checkpoint.save(path, checkpoint.flatten(tree), {
        **(extra or {}), "kind": "model", "architecture": architecture,
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
    path = _check_path("save_train_state", path)
    ts = model._require_train_state("save_train_state")
    tree = _state_tree(model, with_optimizer=ts.opt_state is not None)
    checkpoint.save(path, checkpoint.flatten(tree), {**(extra or {}), "kind": "train_state"})


def _read_model_file(where: str, path: str, kinds: tuple = ("model",)) -> tuple[dict, dict]:
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
    path = _check_path("load_train_state", path)
    arrays, meta = _read_model_file("load_train_state", path, ("model", "train_state"))
    _restore_train_state(model, arrays, path)
    return meta


def _restore_train_state(model, arrays: dict, path: str) -> None:
    """Verifies ``arrays`` against ``model`` completely, then assigns them all at once."""
    with_opt = any(k.startswith("opt_state/") for k in arrays)
    template = _state_tree(model, with_optimizer=with_opt)
    tree = checkpoint.unflatten(template, arrays, what=f"model file {path!r}")
    params, state = _unweights(model, tree["weights"])
    ts = model.train_state._replace(params=params, state=state, rng=tree["rng"], step=tree["step"])
    if with_opt:
        ts = ts._replace(opt_state=tree["opt_state"])
    model._ts = ts


def load_model(path: str | os.PathLike, custom_objects: dict | None = None,
               compile: bool = True):
    """Loads a model written by ``model.save(path)``, ready to predict or to keep training.

    Args:
        path: the ``.safetensors`` file.
        custom_objects: ``{kind: constructor}`` for layers that are not built in (an explicit
            opt-in: nothing in the file is executed or imported).
        compile: compile the model as it was saved and restore the optimizer state.

    Example:
        >>> import os, tempfile, numpy as np
        >>> from fnnet import models, layers
        >>> model = models.Sequential([layers.Dense(2, input_shape=(3,))])
        >>> model.compile(optimizer="adam", loss="mse")
        >>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
        >>> model.save(path)
        >>> again = models.load_model(path)
        >>> x = np.ones((1, 3), np.float32)
        >>> bool(np.array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0)))
        True
    """
    from fnnet.models import Sequential

    path = _check_path("load_model", path)
    arrays, meta = _read_model_file("load_model", path)
    arch = meta.get("architecture")
    cfg = meta.get("compile")
    if not isinstance(arch, dict) or arch.get("class_name") != "Sequential" or not isinstance(
            arch.get("layers"), list) or not isinstance(arch.get("input_shape"), list) or not (
            cfg is None or isinstance(cfg, dict) and _COMPILE_KEYS <= set(cfg)):
        raise checkpoint.CheckpointError(
            f"load_model: {path!r} has no valid Sequential architecture and compile "
            f"configuration in its header (it was not written by model.save).")
    builtins = builtin_names()
    layers = []
    for i, spec in enumerate(arch["layers"]):
        kind = spec.get("class_name") if isinstance(spec, dict) else None
        if isinstance(kind, str) and kind not in builtins and kind not in (custom_objects or {}):
            raise ValueError(
                f"load_model: layer #{i} ({spec.get('name')!r}) of {path!r} is of the custom "
                f"kind {kind!r}, which is not built in. Loading never runs code from the file, so "
                f"pass its constructor explicitly: models.load_model(path, custom_objects="
                f"{{{kind!r}: {kind}}}). Built-in kinds: {', '.join(builtins)}.")
        try:
            layers.append(deserialize_layer(spec, custom_objects))
        except ValueError as e:
            raise ValueError(f"load_model: cannot rebuild layer #{i} of {path!r}: {e}") from None
    model = Sequential(layers, name=arch.get("name"))
    model.build((None, *arch["input_shape"]))
    if compile and cfg is not None:
        model.compile(optimizer=optimizers_lib.get(cfg["optimizer"]), loss=cfg["loss"],
                      metrics=cfg["metrics"], steps_per_execution=cfg["steps_per_execution"],
                      jit_compile=cfg["jit_compile"], loss_weights=cfg.get("loss_weights"))
        _restore_train_state(model, arrays, path)
    else:
        arrays = {k: v for k, v in arrays.items() if not k.startswith("opt_state/")}
        tree = checkpoint.unflatten(_state_tree(model, with_optimizer=False), arrays,
                                    what=f"model file {path!r}")
        params, state = _unweights(model, tree["weights"])
        model._ts = model._ts._replace(params=params, state=state, rng=tree["rng"],
                                       step=tree["step"])
    return model

