"""Keras 3 ``.keras`` archives, read without Keras and without running anything from them.

A ``.keras`` file (``keras_model.save("m.keras")``) is a zip with ``config.json`` (the
architecture and compile configuration), ``metadata.json`` and ``model.weights.h5`` (see
:mod:`fnnet.saving.keras_weights`). :func:`read` parses ``config.json`` as JSON, translates the
architecture into fnnet's (:func:`fnnet.saving.keras_config.translate_model`) and the
``compile_config`` into fnnet's compile configuration (:func:`translate_compile_config`: the
optimizer by class name and config, losses and metrics by name or ``{"class_name", "config"}``),
and returns the weights file's bytes; ``fnnet.models.load_model("m.keras")`` builds the model
from that. Keras's optimizer state is not read.

Nothing is imported, evaluated or unpickled. A file that is not an intact zip with these members
(or one whose members claim implausible sizes) raises :class:`fnnet.checkpoint.CheckpointError`.

Example:
    >>> config = translate_compile_config({
    ...     "optimizer": {"module": "keras.optimizers", "class_name": "Adam", "config": {
    ...         "name": "adam", "learning_rate": 0.002, "use_ema": False}},
    ...     "loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"]})
    >>> config["optimizer"], config["loss"], config["metrics"]
    ({'name': 'adam', 'config': {'learning_rate': 0.002}}, 'sparse_categorical_crossentropy', ['accuracy'])
"""

from __future__ import annotations

import json
import os
import zipfile
import zlib
from typing import Any, NamedTuple

from fnnet.checkpoint import CheckpointError
from fnnet.saving.keras_config import translate_model

__all__ = ["SUFFIX", "KerasArchive", "read", "read_weights", "translate_compile_config"]

SUFFIX = ".keras"
_CONFIG, _METADATA, _WEIGHTS = "config.json", "metadata.json", "model.weights.h5"
_MAX_CONFIG_BYTES = 64 << 20
_MAX_RATIO = 1000  # a larger compression ratio is a zip bomb, not a model
# Keras optimizer arguments that change nothing: EMA's settings when EMA is off, no loss scale.
_OPTIMIZER_NEUTRAL = {"use_ema": False, "loss_scale_factor": None}
_OPTIMIZER_IGNORED = frozenset({"name", "ema_momentum", "ema_overwrite_frequency"})


class KerasArchive(NamedTuple):
    """What a ``.keras`` file holds, in fnnet's terms.

    Attributes:
        architecture: fnnet's architecture dict (``fnnet.models.load_model`` builds it).
        compile_config: fnnet's compile configuration, or None if the model was not compiled.
        weights: the bytes of ``model.weights.h5``.
        keras_version: the Keras version that wrote the file (from ``metadata.json``).
    """

    architecture: dict
    compile_config: dict | None
    weights: bytes
    keras_version: str | None


def _member(archive: zipfile.ZipFile, name: str, path: str, limit: int | None) -> bytes:
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise CheckpointError(
            f"cannot load {path!r}: the archive has no {name!r} (it holds "
            f"{sorted(archive.namelist())[:8]}), so it is not a Keras 3 .keras file.") from None
    if (limit is not None and info.file_size > limit) or (
            info.file_size > (1 << 20) and info.file_size > _MAX_RATIO * max(info.compress_size, 1)):
        raise CheckpointError(
            f"cannot load {path!r}: its member {name!r} claims {info.file_size} bytes "
            f"({info.compress_size} compressed), more than a model file holds; refused.")
    try:
        return archive.read(name)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as e:
        raise CheckpointError(f"cannot load {path!r}: its member {name!r} is corrupted ({e})."
                              ) from e


def _members(path: str, names: tuple) -> list[bytes]:
    """The bytes of ``names`` in the archive at ``path`` (``metadata.json`` may be missing)."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no file at {path!r}. Check the path (Keras 3 archives end in "
                                f"{SUFFIX!r}).")
    try:
        with zipfile.ZipFile(path) as archive:
            present = set(archive.namelist())
            return [b"{}" if name == _METADATA and name not in present else _member(
                archive, name, path, None if name == _WEIGHTS else _MAX_CONFIG_BYTES)
                for name in names]
    except zipfile.BadZipFile as e:
        raise CheckpointError(f"cannot load {path!r}: it is not a zip archive ({e}), so not a "
                              f"Keras .keras file; it is truncated or of another format.") from e


def read_weights(path: str | os.PathLike) -> bytes:
    """The bytes of a ``.keras`` archive's ``model.weights.h5``, without reading its config
    (for ``model.load_weights("m.keras")``; see :func:`fnnet.saving.keras_weights.load_weights_bytes`).

    Raises:
        FileNotFoundError: when ``path`` does not exist.
        fnnet.checkpoint.CheckpointError: for a file that is not an intact zip holding
            ``model.weights.h5``.
    """
    (weights,) = _members(os.fspath(path), (_WEIGHTS,))
    return weights


def read(path: str | os.PathLike) -> KerasArchive:
    """Reads a ``.keras`` archive: its architecture and compile configuration translated to
    fnnet's, and its weights file's bytes.

    Raises:
        FileNotFoundError: when ``path`` does not exist.
        fnnet.checkpoint.CheckpointError: for a file that is not an intact zip holding
            ``config.json`` (valid JSON) and ``model.weights.h5``.
        ValueError: for an architecture fnnet cannot build (a Lambda layer, an unknown layer
            class, a subclassed model, an unsupported argument), naming the layer.

    Example (an archive put together by hand; Keras's ``model.save`` writes the same members):
        >>> import json, os, tempfile, zipfile
        >>> from fnnet import layers, models
        >>> folder = tempfile.mkdtemp()
        >>> weights = os.path.join(folder, "w.weights.h5")
        >>> models.Sequential([layers.Dense(2, input_shape=(3,))]).save_weights(weights)
        >>> config = {"class_name": "Sequential", "config": {"name": "s", "layers": [
        ...     {"class_name": "InputLayer", "config": {"batch_shape": [None, 3]}},
        ...     {"class_name": "Dense", "config": {"name": "dense", "units": 2}}]}}
        >>> path = os.path.join(folder, "m.keras")
        >>> with zipfile.ZipFile(path, "w") as z:
        ...     z.writestr("config.json", json.dumps(config))
        ...     z.write(weights, "model.weights.h5")
        >>> archive = read(path)
        >>> archive.architecture["input_shape"], archive.compile_config
        ([3], None)
        >>> models.load_model(path).output_shape  # what load_model builds from it
        (None, 2)
    """
    path = os.fspath(path)
    config_bytes, weights, meta_bytes = _members(path, (_CONFIG, _WEIGHTS, _METADATA))
    try:
        config = json.loads(config_bytes.decode("utf-8"))
        metadata = json.loads(meta_bytes.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"cannot load {path!r}: its config.json or metadata.json is not "
                              f"valid JSON ({e}).") from e
    if not isinstance(config, dict):
        raise CheckpointError(f"cannot load {path!r}: its config.json is not a JSON object.")
    compile_config = config.get("compile_config")
    return KerasArchive(
        architecture=translate_model(config),
        compile_config=translate_compile_config(compile_config) if compile_config else None,
        weights=weights,
        keras_version=metadata.get("keras_version") if isinstance(metadata, dict) else None)


# --------------------------------------------------------------------------- compile

def _plain(obj: dict) -> dict:
    return {"class_name": obj["class_name"], "config": obj.get("config") or {}}


def _compile_value(value: Any) -> Any:
    if isinstance(value, dict) and "class_name" in value:
        return _plain(value)
    if isinstance(value, dict):
        return {k: _compile_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_compile_value(v) for v in value]
    return value


def _optimizer(value: Any) -> dict:
    if isinstance(value, str):
        return {"name": value, "config": {}}
    if not isinstance(value, dict) or not isinstance(value.get("class_name"), str):
        raise ValueError(f"Keras file: the compile_config's optimizer {value!r:.120} is not a "
                         f"name or a serialized optimizer.")
    config = {}
    for key, v in (value.get("config") or {}).items():
        if key in _OPTIMIZER_IGNORED or (key in _OPTIMIZER_NEUTRAL and v == _OPTIMIZER_NEUTRAL[key]):
            continue
        config[key] = _plain(v) if isinstance(v, dict) and "class_name" in v else v
    return {"name": value["class_name"].lower(), "config": config}


def translate_compile_config(config: dict) -> dict:
    """A Keras ``compile_config`` as fnnet's (what ``model.get_compile_config()`` returns).

    The optimizer keeps its class and arguments (``use_ema`` and the loss scale, unused, are
    dropped); losses and metrics stay names, or ``{"class_name", "config"}`` of Keras's
    classes, which fnnet's losses and metrics take.
    """
    if not isinstance(config, dict):
        raise ValueError(f"Keras file: the compile_config is not a JSON object: {config!r:.120}.")
    jit = config.get("jit_compile", True)
    return {
        "optimizer": _optimizer(config.get("optimizer", "rmsprop")),
        "loss": _compile_value(config.get("loss")),
        "metrics": _compile_value(config.get("metrics") or []),
        "weighted_metrics": _compile_value(config.get("weighted_metrics") or []),
        "loss_weights": config.get("loss_weights"),
        "steps_per_execution": config.get("steps_per_execution") or 1,
        "jit_compile": jit if isinstance(jit, bool) else True,
    }
