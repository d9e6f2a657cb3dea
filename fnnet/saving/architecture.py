"""Layer architectures to and from JSON-able dicts, without pickle, eval or imports.

:func:`serialize_layer` turns a layer into ``{"class_name": ..., "name": ..., "config": {...}}``
built from the ``config`` its constructor records; :func:`deserialize_layer` calls the
constructor that ``class_name`` names, with the config as keyword arguments. Only built-in
constructors (those in ``fnnet.layers.__all__`` and the combinators ``serial``, ``parallel``,
``fan_out``, ``fan_in_sum``, ``fan_in_concat``, ``residual``) are known; any other
``class_name`` must be passed explicitly through ``custom_objects``, so a file never chooses
which code runs.

Child layers of combinators are nested dicts of the same form (a dict with exactly the keys
``class_name``, ``name`` and ``config`` is read as a layer). Tuples are stored as JSON lists;
the shape arguments ``input_shape``, ``target_shape`` and ``noise_shape`` become tuples again.

Example:
    >>> import json
    >>> from fnnet import layers, serial
    >>> model = serial(layers.Dense(4, activation="relu", input_shape=(3,)), layers.Dropout(0.5))
    >>> spec = serialize_layer(model)
    >>> [child["class_name"] for child in spec["config"]["layers"]]
    ['Dense', 'Dropout']
    >>> rebuilt = deserialize_layer(json.loads(json.dumps(spec)))
    >>> rebuilt.kind, rebuilt.config["layers"][0].input_shape
    ('serial', (3,))
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from fnnet import combinators
from fnnet import layers as layers_lib
from fnnet.core import Layer

__all__ = ["serialize_layer", "deserialize_layer", "builtin_names"]

# Combinators that take their child layers positionally: serial(*layers), residual(layer).
_COMBINATORS: dict[str, Callable[..., Layer]] = {
    "serial": combinators.serial,
    "parallel": combinators.parallel,
    "fan_out": combinators.fan_out,
    "fan_in_sum": combinators.fan_in_sum,
    "fan_in_concat": combinators.fan_in_concat,
    "residual": combinators.residual,
}
_LAYER_KEYS = frozenset({"class_name", "name", "config"})
_OPTIONAL_KEYS = frozenset({"trainable"})
_TUPLE_KEYS = frozenset({"input_shape", "target_shape", "noise_shape"})


def _builtins() -> dict[str, Callable[..., Layer]]:
    table = {name: getattr(layers_lib, name) for name in layers_lib.__all__}
    table.update(_COMBINATORS)
    return table


def builtin_names() -> list[str]:
    """The ``class_name`` values :func:`deserialize_layer` builds without ``custom_objects``.

    Example:
        >>> "Dense" in builtin_names() and "serial" in builtin_names()
        True
    """
    return sorted(_builtins())


def _label(layer: Layer) -> str:
    name = getattr(layer, "name", None)
    return f"{layer.kind} layer {name!r}" if name else f"{layer.kind} layer"


def _encode(value: Any, where: str, owner: str) -> Any:
    if isinstance(value, Layer):
        return _serialize(value, where)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_encode(v, f"{where}[{i}]", owner) for i, v in enumerate(value)]
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(
                    f"serialize_layer: {where} of the {owner} is a dict with the non-str key "
                    f"{k!r}; JSON keys must be str. Use str keys in the layer's config."
                )
            out[k] = _encode(v, f"{where}[{k!r}]", owner)
        return out
    if callable(value):
        raise ValueError(
            f"serialize_layer: {where} of the {owner} is the custom function {value!r}, which "
            f"cannot be written to a file. Use a built-in name instead (e.g. activation='relu', "
            f"kernel_initializer='he_normal'), or save the weights only and rebuild the "
            f"architecture in code."
        )
    raise TypeError(
        f"serialize_layer: {where} of the {owner} is {value!r} of type {type(value).__name__}, "
        f"which JSON cannot store. Layer configs hold str, numbers, bool, None, lists, dicts "
        f"and layers."
    )


def _serialize(layer: Any, where: str) -> dict:
    if not isinstance(layer, Layer):
        raise TypeError(
            f"serialize_layer: {where} is {layer!r} of type {type(layer).__name__}, not a "
            f"fnnet.Layer. Pass a layer, e.g. fnnet.layers.Dense(10)."
        )
    if layer.kind == "shape_dependent":
        raise ValueError(
            f"serialize_layer: {where} is a shape_dependent layer, which holds a Python "
            f"function (make_layer) and cannot be written to a file. Build the layer for a fixed "
            f"shape instead, or save the weights only and rebuild the architecture in code."
        )
    if layer.config is None:
        named = f" named {layer.name!r}" if layer.name else ""
        raise ValueError(
            f"serialize_layer: {where} is a custom Layer(init, apply){named} (kind "
            f"{layer.kind!r}) without a config, so it cannot be rebuilt from a file. Give it "
            f"one: return Layer(init, apply, kind='MyLayer', config={{...constructor args...}}) "
            f"from a constructor MyLayer(**config), then load with custom_objects="
            f"{{'MyLayer': MyLayer}}; or save the weights only."
        )
    config = {
        key: _encode(value, f"{where}.config[{key!r}]", _label(layer))
        for key, value in layer.config.items()
    }
    out = {"class_name": layer.kind, "name": layer.name, "config": config}
    if not layer.trainable:
        out["trainable"] = False
    return out


def serialize_layer(layer: Layer) -> dict:
    """A JSON-able description of ``layer``'s architecture (no weights).

    Returns:
        ``{"class_name": layer.kind, "name": layer.name, "config": {...}}``, where the config
        is the constructor's arguments with child layers serialized the same way, tuples as
        lists and activations and initializers by name.

    Raises:
        ValueError: for a custom ``Layer(init, apply)`` without a config, a
            ``shape_dependent`` layer, or a config holding a custom function (e.g. a lambda
            activation); the message names the layer and the config key.
        TypeError: for a value that is not a layer, or a config value JSON cannot store.

    A layer whose ``kind`` is not built in serializes fine, but loading it needs
    ``custom_objects={kind: constructor}``.

    Example:
        >>> from fnnet import layers
        >>> spec = serialize_layer(layers.Dense(2, activation="softmax", name="out"))
        >>> spec["class_name"], spec["name"]
        ('Dense', 'out')
        >>> spec["config"]
        {'units': 2, 'activation': 'softmax', 'use_bias': True,
         'kernel_initializer': 'glorot_uniform', 'bias_initializer': 'zeros'}
    """
    return _serialize(layer, "layer")


def _is_layer_spec(value: Any) -> bool:
    return isinstance(value, dict) and _LAYER_KEYS <= set(value) <= _LAYER_KEYS | _OPTIONAL_KEYS


def _decode(value: Any, key: str | None, where: str, custom: Mapping) -> Any:
    if _is_layer_spec(value):
        return _deserialize(value, where, custom)
    if isinstance(value, dict):
        return {k: _decode(v, None, f"{where}[{k!r}]", custom) for k, v in value.items()}
    if isinstance(value, list):
        items = [_decode(v, None, f"{where}[{i}]", custom) for i, v in enumerate(value)]
        return tuple(items) if key in _TUPLE_KEYS else items
    return value


def _deserialize(d: Any, where: str, custom: Mapping) -> Layer:
    if not isinstance(d, dict) or not {"class_name", "config"} <= set(d) or not set(
        d
    ) <= _LAYER_KEYS | _OPTIONAL_KEYS:
        raise ValueError(
            f"deserialize_layer: {where} must be a dict with the keys 'class_name', 'name' and "
            f"'config', as written by serialize_layer; got {d!r:.200}."
        )
    class_name, name, config = d["class_name"], d.get("name"), d["config"]
    if not isinstance(class_name, str) or not isinstance(config, dict) or not (
        name is None or isinstance(name, str)
    ):
        raise ValueError(
            f"deserialize_layer: {where} must have a str 'class_name', a dict 'config' and a "
            f"str or null 'name'; got class_name={class_name!r}, name={name!r}, config of type "
            f"{type(config).__name__}."
        )
    builtins = _builtins()
    constructor = custom.get(class_name) or builtins.get(class_name)
    if constructor is None:
        hint = (
            " shape_dependent layers hold a Python function and are never stored."
            if class_name == "shape_dependent" else ""
        )
        raise ValueError(
            f"deserialize_layer: {where} has the unknown class_name {class_name!r}.{hint} Valid "
            f"built-in names: {', '.join(sorted(builtins))}. For a custom layer pass its "
            f"constructor explicitly: deserialize_layer(d, custom_objects={{{class_name!r}: "
            f"constructor}})."
        )
    kwargs = {
        k: _decode(v, k, f"{where}.config[{k!r}]", custom) for k, v in config.items()
    }
    try:
        if class_name in _COMBINATORS and class_name not in custom and (
            "layers" in kwargs or "layer" in kwargs
        ):
            children = kwargs.pop("layers", None)
            children = [kwargs.pop("layer")] if children is None else children
            layer = constructor(*children, **kwargs)
        else:
            layer = constructor(**kwargs)
    except (TypeError, ValueError) as e:
        raise ValueError(
            f"deserialize_layer: {where}: could not build {class_name} from the config "
            f"{config!r:.300}: {e}"
        ) from e
    if not isinstance(layer, Layer):
        raise TypeError(
            f"deserialize_layer: {where}: the constructor for {class_name!r} returned "
            f"{type(layer).__name__}, not a fnnet.Layer. custom_objects must map names to "
            f"functions that return a Layer."
        )
    trainable = d.get("trainable", True)
    if not isinstance(trainable, bool):
        raise ValueError(f"deserialize_layer: {where} has trainable={trainable!r}; expected a bool.")
    if name is not None and layer.name != name:
        layer = layer.named(name)
    if layer.trainable != trainable:  # a model's flag sets its layers' flags: only on change
        layer.trainable = trainable
    return layer


def deserialize_layer(d: dict, custom_objects: Mapping[str, Callable] | None = None) -> Layer:
    """Builds the layer described by a :func:`serialize_layer` dict.

    Built-in layers and combinators are built by their constructors, with the config as
    keyword arguments (combinators get their child layers positionally). Nothing named in
    ``d`` is imported, evaluated or unpickled.

    Args:
        d: the dict, e.g. ``json.load(f)``.
        custom_objects: ``{class_name: constructor}`` for layers that are not built in; each
            constructor is called as ``constructor(**config)`` and must return a Layer. An
            entry here takes precedence over a built-in of the same name.

    Returns:
        The layer, with ``name`` applied. With the same params it computes what the
        serialized layer computed.

    Raises:
        ValueError: for a malformed dict, an unknown ``class_name`` (the message lists the
            valid names and shows ``custom_objects``), or a config the constructor rejects.
        TypeError: for malformed ``custom_objects`` or a constructor that returns no Layer.

    Example:
        >>> import jax
        >>> spec = {"class_name": "Dense", "name": "hidden", "config": {"units": 3}}
        >>> dense = deserialize_layer(spec)
        >>> dense.name, dense.init(jax.random.key(0), (1, 2))[1]["kernel"].shape
        ('hidden', (2, 3))
        >>> deserialize_layer({"class_name": "MyBlock", "name": None, "config": {}})
        Traceback (most recent call last):
        ...
        ValueError: deserialize_layer: layer has the unknown class_name 'MyBlock'. Valid ...
    """
    custom = {} if custom_objects is None else custom_objects
    if not isinstance(custom, Mapping) or not all(
        isinstance(k, str) and callable(v) for k, v in custom.items()
    ):
        raise TypeError(
            f"deserialize_layer: custom_objects must be a dict {{class_name: constructor}} of "
            f"str to callables; got {custom_objects!r}. For example custom_objects="
            f"{{'MyLayer': MyLayer}}."
        )
    return _deserialize(d, "layer", custom)
