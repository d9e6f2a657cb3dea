"""``load_model``: a whole-model file (fnnet's, or a Keras 3 ``.keras`` archive) back to a ready
model, ``Sequential`` or functional, without running code from the file."""

from __future__ import annotations

import os
from typing import Any

from fnnet import checkpoint
from fnnet import optimizers as optimizers_lib
from fnnet.graph import InputLayer
from fnnet.models.model import Model
from fnnet.models.sequential import Sequential
from fnnet.saving import architecture as arch_lib
from fnnet.saving import graphs, keras_archive, keras_weights, model_files

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


def _functional(name: str | None = None, layers: list | None = None, nodes: list | None = None,
                inputs: Any = None, outputs: Any = None) -> Model:
    """A functional ``Model`` from its config (``model.config``): the layers called as the
    recorded nodes say."""
    ins, outs = graphs.rebuild_graph(layers or [], nodes or [], inputs, outputs)
    return Model(ins, outs, name=name)


# The models and the input layer, by the class names their serialized dicts carry.
_MODELS = {"Sequential": Sequential, "Model": _functional, "InputLayer": InputLayer}


def _check_kinds(spec: Any, known: set, path: str, label: str, builtins: list) -> None:
    """Refuses, before anything is built, a layer kind that is neither built in nor given."""
    if not isinstance(spec, dict):
        return
    kind = spec.get("class_name")
    # A layer's dict has exactly these keys (architecture.py's rule): an initializer's
    # {"class_name", "config"} is not a layer.
    is_layer = {"class_name", "name", "config"} <= set(spec) <= {
        "class_name", "name", "config", "trainable"} and isinstance(spec["config"], dict)
    if is_layer and kind not in known:
        raise ValueError(
            f"load_model: {label} of {path!r} is of the custom kind {kind!r}, which is not built "
            f"in. Loading never runs code from the file, so pass its constructor explicitly: "
            f"models.load_model(path, custom_objects={{{kind!r}: {kind}}}). Built-in kinds: "
            f"{', '.join(builtins)}.")
    for key, value in (spec["config"] if is_layer else spec).items():
        if isinstance(value, list):
            for i, item in enumerate(value):
                name = item.get("name") if isinstance(item, dict) else None
                _check_kinds(item, known, path, f"{label} > layer #{i} ({name!r})", builtins)
        elif isinstance(value, dict):
            _check_kinds(value, known, path, f"{label} > {key}", builtins)


def _build_model(arch: dict, custom_objects: dict | None, path: str) -> Model:
    """The model an architecture describes (what ``model_architecture`` writes), built.

    ``custom_objects``: ``{class_name: constructor}`` for layer kinds that are not built in.
    """
    layer_objects = {k: v for k, v in (custom_objects or {}).items() if k != "optimizer"}
    objects = {**_MODELS, **layer_objects}
    builtins = arch_lib.builtin_names()
    known = set(builtins) | set(objects)
    if arch.get("class_name") == "Sequential" and "input_shape" in arch:
        specs = arch["layers"]
        for i, spec in enumerate(specs):
            name = spec.get("name") if isinstance(spec, dict) else None
            _check_kinds(spec, known, path, f"layer #{i} ({name!r})", builtins)
        rebuilt = []
        for i, spec in enumerate(specs):
            try:
                rebuilt.append(arch_lib.deserialize_layer(spec, objects))
            except ValueError as e:
                raise ValueError(f"load_model: cannot rebuild layer #{i} of {path!r}: {e}"
                                 ) from None
        model = Sequential(rebuilt, name=arch.get("name"))
        model.build((None, *arch["input_shape"]))
        return model
    _check_kinds(arch, known, path, f"model {arch.get('name')!r}", builtins)
    try:
        model = arch_lib.deserialize_layer(arch, objects)
    except ValueError as e:
        raise ValueError(f"load_model: cannot rebuild the model in {path!r}: {e}") from None
    if not isinstance(model, Model):
        raise checkpoint.CheckpointError(
            f"load_model: the architecture in {path!r} describes a {model.kind} layer, not a "
            f"model (it was not written by model.save).")
    return model


def _valid_architecture(arch: Any) -> bool:
    if not isinstance(arch, dict):
        return False
    if arch.get("class_name") == "Sequential" and "input_shape" in arch:
        return isinstance(arch.get("layers"), list) and isinstance(arch["input_shape"], list)
    return isinstance(arch.get("class_name"), str) and isinstance(arch.get("config"), dict)


def load_model(filepath: str | os.PathLike, custom_objects: dict | None = None,
               compile: bool = True) -> Model:
    """Loads a model written by ``model.save(path)``, or a Keras 3 ``.keras`` file.

    A fnnet file (``.safetensors``) gives back the model as it was saved: a ``Sequential`` or a
    functional ``Model`` (nested models, shared layers and all), its weights, and, compiled,
    its optimizer state, so ``fit(..., initial_epoch=k)`` continues exactly.

    A Keras 3 ``.keras`` archive (``keras_model.save("m.keras")``) is read without Keras and
    without running anything from it (see :mod:`fnnet.saving.keras_archive`): its
    ``config.json`` is parsed as JSON and each Keras layer built with the fnnet layer of that
    name, its weights are read from ``model.weights.h5`` (h5py needed), and it is compiled
    from the archive's ``compile_config`` (optimizer by class and config, loss and metrics by
    name). Keras's optimizer state is *not* restored: the optimizer starts fresh, so
    fine-tuning with a stateful optimizer (Adam's moments) does not continue Keras's run
    exactly.

    Args:
        filepath: the ``.safetensors`` or ``.keras`` file.
        custom_objects: ``{name: object}`` for what a file cannot hold: custom layer kinds
            (constructors), custom loss and metric functions (by ``__name__``), and a custom
            optax optimizer under the key ``"optimizer"``. An explicit opt-in: nothing in the
            file is executed or imported.
        compile: compile the model as it was saved (and restore a fnnet file's optimizer
            state).

    Example:
        >>> import os, tempfile, numpy as np
        >>> import fnnet
        >>> from fnnet import models, layers
        >>> inputs = fnnet.Input((3,))
        >>> hidden = layers.Dense(4, activation="relu")(inputs)
        >>> model = models.Model(inputs, layers.Add()([hidden, layers.Dense(4)(hidden)]))
        >>> model.compile(optimizer="adam", loss="mse")
        >>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
        >>> model.save(path)
        >>> again = models.load_model(path)
        >>> x = np.ones((1, 3), np.float32)
        >>> bool(np.array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0)))
        True
        >>> [layer.name for layer in again.layers]
        ['input_layer', 'dense', 'dense_1', 'add']
    """
    if isinstance(filepath, (str, os.PathLike)) and os.fspath(filepath).endswith(
            keras_archive.SUFFIX):
        return _load_keras(os.fspath(filepath), custom_objects, compile)
    path = model_files.check_path("load_model", filepath)
    custom = dict(custom_objects or {})
    arrays, meta = model_files.read_model_file("load_model", path)
    arch = meta.get("architecture")
    cfg = meta.get("compile")
    if not _valid_architecture(arch) or not (
            cfg is None or isinstance(cfg, dict) and _COMPILE_KEYS <= set(cfg)):
        raise checkpoint.CheckpointError(
            f"load_model: {path!r} has no valid model architecture and compile configuration "
            f"in its header (it was not written by model.save).")
    model = _build_model(arch, custom, path)
    if compile and cfg is not None:
        model.compile(**_compile_args(cfg, custom, path))
        model_files.restore_train_state(model, arrays, path)
    else:
        model_files.restore_train_state(model, arrays, path, with_optimizer=False)
    return model


def _load_keras(path: str, custom_objects: dict | None, compile: bool) -> Model:
    archive = keras_archive.read(path)
    model = _build_model(archive.architecture, custom_objects, path)
    keras_weights.load_weights_bytes(model, archive.weights, f"{path!r} (model.weights.h5)")
    if compile and archive.compile_config is not None:
        try:
            model.compile(**_compile_args(archive.compile_config, dict(custom_objects or {}),
                                          path))
        except (ValueError, TypeError) as e:
            raise type(e)(
                f"load_model: {path!r} loaded, but its Keras compile_config does not compile in "
                f"fnnet: {e} Load it with models.load_model(path, compile=False) and call "
                f"model.compile(...) with fnnet's optimizer, loss and metrics.") from None
    return model
