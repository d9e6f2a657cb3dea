"""``load_model``: a whole-model file back to a ready ``Sequential``, without running its code."""

from __future__ import annotations

import os
from typing import Any

from fnnet import checkpoint
from fnnet import optimizers as optimizers_lib
from fnnet.models.sequential import Sequential
from fnnet.saving import architecture as arch_lib
from fnnet.saving import model_files

__all__ = ["load_model"]

_COMPILE_KEYS = frozenset({"optimizer", "loss", "metrics", "steps_per_execution", "jit_compile"})


def _lookup(name: str, custom: dict, what: str, path: str) -> Any:
    if name in custom:
        return custom[name]
    raise ValueError(
        f"load_model: {path!r} was compiled with the custom {what} {name!r}, which a file "
        f"cannot hold. Pass it back: models.load_model(path, custom_objects={{{name!r}: "
        f"{name}}}), or load_model(path, compile=False) and compile the model yourself."
    )


def _compile_args(cfg: dict, custom: dict, path: str) -> dict:
    names = set(cfg.get("custom_objects") or ())
    optimizer = cfg["optimizer"]
    if "custom" in optimizer:
        optimizer = _lookup("optimizer", custom, "optimizer (an optax transformation)", path)
    else:
        optimizer = optimizers_lib.get(optimizer)

    def resolve(value, what):
        # A {"class_name", "config"} dict is a built-in loss class's config, resolved by get;
        # other dicts and lists are per-output structures.
        if isinstance(value, dict) and set(value) != {"class_name", "config"}:
            return {k: resolve(v, what) for k, v in value.items()}
        if isinstance(value, list):
            return [resolve(v, what) for v in value]
        return _lookup(value, custom, what, path) if isinstance(value, str) and value in names \
            else value

    return {
        "optimizer": optimizer,
        "loss": resolve(cfg["loss"], "loss"),
        "metrics": resolve(cfg["metrics"], "metric"),
        "weighted_metrics": resolve(cfg.get("weighted_metrics", []), "metric"),
        "loss_weights": cfg.get("loss_weights"),
        "steps_per_execution": cfg["steps_per_execution"],
        "jit_compile": cfg["jit_compile"],
    }


def load_model(filepath: str | os.PathLike, custom_objects: dict | None = None,
               compile: bool = True) -> Sequential:
    """Loads a model written by ``model.save(path)``, ready to predict or to keep training.

    The optimizer state is restored too, so ``fit(..., initial_epoch=k)`` continues exactly.

    Args:
        filepath: the ``.safetensors`` file.
        custom_objects: ``{name: object}`` for what a file cannot hold: custom layer kinds
            (constructors), custom loss and metric functions (by ``__name__``), and a custom
            optax optimizer under the key ``"optimizer"``. An explicit opt-in: nothing in the
            file is executed or imported.
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
    path = model_files.check_path("load_model", filepath)
    custom = dict(custom_objects or {})
    arrays, meta = model_files.read_model_file("load_model", path)
    arch = meta.get("architecture")
    cfg = meta.get("compile")
    if not isinstance(arch, dict) or arch.get("class_name") != "Sequential" or not isinstance(
            arch.get("layers"), list) or not isinstance(arch.get("input_shape"), list) or not (
            cfg is None or isinstance(cfg, dict) and _COMPILE_KEYS <= set(cfg)):
        raise checkpoint.CheckpointError(
            f"load_model: {path!r} has no valid Sequential architecture and compile "
            f"configuration in its header (it was not written by model.save).")
    builtins = arch_lib.builtin_names()
    layer_objects = {k: v for k, v in custom.items() if k != "optimizer"}
    rebuilt = []
    for i, spec in enumerate(arch["layers"]):
        kind = spec.get("class_name") if isinstance(spec, dict) else None
        if isinstance(kind, str) and kind not in builtins and kind not in layer_objects:
            raise ValueError(
                f"load_model: layer #{i} ({spec.get('name')!r}) of {path!r} is of the custom "
                f"kind {kind!r}, which is not built in. Loading never runs code from the file, so "
                f"pass its constructor explicitly: models.load_model(path, custom_objects="
                f"{{{kind!r}: {kind}}}). Built-in kinds: {', '.join(builtins)}.")
        try:
            rebuilt.append(arch_lib.deserialize_layer(spec, layer_objects))
        except ValueError as e:
            raise ValueError(f"load_model: cannot rebuild layer #{i} of {path!r}: {e}") from None
    model = Sequential(rebuilt, name=arch.get("name"))
    model.build((None, *arch["input_shape"]))
    if compile and cfg is not None:
        model.compile(**_compile_args(cfg, custom, path))
        model_files.restore_train_state(model, arrays, path)
    else:
        model_files.restore_train_state(model, arrays, path, with_optimizer=False)
    return model
