"""Keras 3 model configs (``config.json``) translated into fnnet's architecture, as JSON only.

:func:`translate_model` turns the dict Keras serializes a model into (what a ``.keras``
archive's ``config.json`` holds, see :mod:`fnnet.saving.keras_archive`) into fnnet's
architecture (what :func:`fnnet.saving.model_architecture` writes), which
``fnnet.models.load_model`` builds:

* each Keras layer becomes the fnnet layer of the same class name, with the same arguments
  (fnnet's constructors take Keras's names); Keras's serialized initializers, regularizers,
  constraints and dtype policies become fnnet's; arguments that change nothing (``seed``,
  ``quantization_config=None``, ``activity_regularizer=None``...) are dropped, and one fnnet
  does not support with a value that matters is refused, by name;
* a Sequential keeps its layers; a functional model's ``inbound_nodes`` become fnnet's graph
  (:mod:`fnnet.saving.graphs`), nested models included; call arguments Keras records per call
  (``use_causal_mask``, ``return_attention_scores``, ``initial_state``, ``key``) go where fnnet
  takes them (constructor arguments, tuple inputs).

Nothing is imported, evaluated or unpickled: a ``Lambda`` layer (Python code), a subclassed
model, a Keras operation or a layer class fnnet does not have is refused with a ``ValueError``
naming it.

Example:
    >>> config = {"class_name": "Sequential", "config": {"name": "mlp", "layers": [
    ...     {"class_name": "InputLayer", "config": {"batch_shape": [None, 4], "name": "x"}},
    ...     {"class_name": "Dense", "config": {"name": "out", "units": 2, "seed": None,
    ...      "activation": "softmax", "quantization_config": None, "kernel_initializer":
    ...      {"module": "keras.initializers", "class_name": "GlorotUniform",
    ...       "config": {"seed": None}}}}]}}
    >>> arch = translate_model(config)
    >>> arch["input_shape"], arch["layers"][0]["config"]
    ([4], {'units': 2, 'activation': 'softmax', 'kernel_initializer': 'GlorotUniform'})
    >>> translate_model({"class_name": "Sequential", "config": {"name": "s", "layers": [
    ...     {"class_name": "InputLayer", "config": {"batch_shape": [None, 4], "name": "x"}},
    ...     {"class_name": "Lambda", "config": {"name": "f"}}]}})
    Traceback (most recent call last):
    ...
    ValueError: Keras file: model 's' layer #0 (Lambda 'f'): a Lambda layer holds Python code, ...
"""

from __future__ import annotations

import inspect
from typing import Any

from fnnet import layers as layers_lib

__all__ = ["translate_model"]

# Keras arguments fnnet has no use for, at the value that makes them do nothing.
_NEUTRAL = {"quantization_config": None, "activity_regularizer": None, "lora_rank": None,
            "lora_alpha": None, "beta_regularizer": None, "gamma_regularizer": None,
            "beta_constraint": None, "gamma_constraint": None, "synchronized": False,
            "renorm": False, "rms_scaling": False, "data_format": "channels_last",
            "use_gate": False, "sliding_window": None, "sparse": False, "ragged": False,
            "optional": False, "use_cudnn": "auto", "input_length": None,
            "mask": None, "query_mask": None, "value_mask": None, "key_mask": None}
# Always dropped: seeds (fnnet takes its rngs explicitly; loaded weights need no initializer
# seed); renorm's settings when renorm is off (_NEUTRAL checks renorm itself).
_IGNORED = frozenset({"seed", "renorm_clipping", "renorm_momentum"})
# A call's recorded ``training`` flag: Keras replaces it by the model call's own flag.
_CALL_IGNORED = frozenset({"training"})
_MASK_LAYERS = frozenset({"Embedding", "Masking"})
_NESTED = frozenset({"layer", "backward_layer", "cell"})
_MODELS = frozenset({"Sequential", "Functional"})
_CALL_FLAGS = ("use_causal_mask", "return_attention_scores")
_RECURRENT = frozenset({"RNN", "SimpleRNN", "LSTM", "GRU", "Bidirectional"})


# --------------------------------------------------------------------------- values
def _unsupported(where: str, what: str) -> ValueError:
    return ValueError(f"Keras file: {where}: {what}")


def _plain(obj: dict) -> dict:
    return {"class_name": obj["class_name"], "config": obj.get("config") or {}}


def _value(value: Any, where: str) -> Any:
    """A Keras config value as fnnet's constructors take it."""
    if isinstance(value, list):
        return [_value(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, dict) or "class_name" not in value:
        return value
    cls, cfg, module = value["class_name"], value.get("config"), str(value.get("module") or "")
    if cls in ("__tuple__", "__numpy__", "__tensor__") and isinstance(cfg, dict):
        return _value(cfg.get("value"), where)
    if module.startswith("keras.initializers"):
        cfg = {k: v for k, v in (cfg or {}).items()
               if k != "seed" and not (k in ("input_axes", "output_axes") and v is None)}
        return {"class_name": cls, "config": cfg} if cfg else cls
    if module.startswith(("keras.regularizers", "keras.constraints")):
        return _plain(value)
    if module.startswith("keras.activations") and isinstance(cfg, str):
        return cfg
    raise _unsupported(where, f"the serialized object {cls!r} (module {module or None!r}) is "
                              f"not supported by fnnet (it may be custom code, which fnnet never "
                              f"runs from a file).")


def _dtype(value: Any) -> str | None:
    """A Keras dtype policy's name (``"float32"``, ``"mixed_float16"``), or a plain dtype."""
    if isinstance(value, dict):
        value = (value.get("config") or {}).get("name")
    return value if isinstance(value, str) else None


# --------------------------------------------------------------------------- layers
def _layer_class(spec: Any, where: str) -> tuple[str, dict, str]:
    if not isinstance(spec, dict) or not isinstance(spec.get("class_name"), str) or not \
            isinstance(spec.get("config"), dict):
        raise ValueError(f"Keras file: {where} is not a serialized layer (a dict with "
                         f"'class_name' and 'config'); got {spec!r:.120}.")
    config = spec["config"]
    name = spec.get("name") or config.get("name") or spec["class_name"]
    return spec["class_name"], config, name


def _layer(spec: dict, where: str) -> dict:
    """One Keras layer (or nested model) as fnnet's serialized layer."""
    cls, config, name = _layer_class(spec, where)
    where = f"{where} ({cls} {name!r})"
    registered = spec.get("registered_name")
    if cls in _MODELS or (cls == "Model" and "layers" in config):
        out = _sequential(config, where, nested=True) if cls == "Sequential" else \
            _functional(config, where)
    elif cls == "InputLayer":
        shape = config.get("batch_shape") or [None, *(config.get("shape") or [])]
        cfg = {"shape": list(shape[1:])}
        if shape[0] is not None:
            cfg["batch_size"] = shape[0]
        if _dtype(config.get("dtype")) not in (None, "float32"):
            cfg["dtype"] = _dtype(config["dtype"])
        out = {"class_name": "InputLayer", "name": name, "config": cfg}
    elif cls == "Lambda":
        raise _unsupported(where, "a Lambda layer holds Python code, which fnnet does not "
                                  "support: it never runs code from a file. Rebuild the model "
                                  "in fnnet with a layer for that step and load the weights "
                                  "with model.load_weights(path).")
    elif cls not in layers_lib.__all__ or (registered not in (None, cls) and registered != ""):
        raise _unsupported(where, f"the Keras layer class {cls!r} is not supported by fnnet "
                                  f"(fnnet builds only its own layers: "
                                  f"{', '.join(sorted(layers_lib.__all__))}).")
    else:
        out = {"class_name": cls, "name": name, "config": _arguments(cls, config, where)}
    if config.get("trainable") is False:
        out["trainable"] = False
    return out


def _arguments(cls: str, config: dict, where: str) -> dict:
    accepted = inspect.signature(getattr(layers_lib, cls)).parameters
    out = {}
    for key, value in config.items():
        if key in ("name", "trainable") or key in _IGNORED:
            continue
        if key == "dtype":
            policy = _dtype(value)
            if "dtype" in accepted and policy not in (None, "float32"):
                out["dtype"] = policy
            continue
        if key in _NESTED and isinstance(value, dict):
            out[key] = _nested(key, value, where)
        elif key in accepted:
            value = _value(value, f"{where} argument {key!r}")
            if accepted[key].annotation == "int" and isinstance(value, list) and len(value) == 1:
                value = value[0]  # Keras stores LayerNormalization(axis=-1) as [-1]
            out[key] = value
        elif key in _NEUTRAL and value == _NEUTRAL[key]:
            continue
        else:
            raise _unsupported(where, f"the Keras argument {key}={value!r:.80} is not supported "
                                      f"by fnnet's {cls} (its arguments: "
                                      f"{', '.join(a for a in accepted if a != 'input_shape')}).")
    return out


def _nested(key: str, value: dict, where: str) -> Any:
    if key == "cell" and value.get("class_name") == "StackedRNNCells":
        cells = (value.get("config") or {}).get("cells") or []
        return [_layer(c, f"{where} cell #{i}") for i, c in enumerate(cells)]
    return _layer(value, f"{where} {key}")


# --------------------------------------------------------------------------- models
def _sequential(config: dict, where: str, nested: bool) -> dict:
    specs = config.get("layers")
    if not isinstance(specs, list):
        raise ValueError(f"Keras file: {where} has no 'layers' list.")
    shape = None
    layers = []
    for i, spec in enumerate(specs):
        cls, cfg, _ = _layer_class(spec, f"{where} layer #{i}")
        if cls == "InputLayer":
            shape = cfg.get("batch_shape") or [None, *(cfg.get("shape") or [])]
        else:
            layers.append(_layer(spec, f"{where} layer #{len(layers)}"))  # model.layers' index
    shape = shape or config.get("build_input_shape")
    name = config.get("name")
    if nested:
        return {"class_name": "Sequential", "name": name, "config": {"name": name,
                                                                      "layers": layers}}
    if not isinstance(shape, list) or not shape:
        raise ValueError(f"Keras file: {where} was never built, so the file has no input shape "
                         f"for it; build it in Keras (keras.Input(shape) first) and save again.")
    return {"class_name": "Sequential", "name": name, "input_shape": list(shape[1:]),
            "layers": layers}


def _ref_structure(value: Any, classes: dict, where: str, outer: bool) -> Any:
    """Keras's tensor references (``[name, node, index]``) as fnnet's ``{"tensor": ...}``."""
    if isinstance(value, list) and len(value) == 3 and isinstance(value[0], str):
        name, node, index = value
        if classes.get(name) == _MASK_OP:
            raise _unsupported(where, f"it uses the mask computed by the Keras operation "
                                      f"{name!r} as data; fnnet carries masks with the data "
                                      f"only, and does not support that.")
        if outer and classes.get(name) == "Functional":
            node -= 1  # Keras counts a nested functional model's own construction call
        return {"tensor": [name, node, index]}
    if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
        history = (value.get("config") or {}).get("keras_history")
        return _ref_structure(list(history or []), classes, where, outer=False)
    if isinstance(value, dict) and value.get("class_name") == "__tuple__":
        return {"tuple": [_ref_structure(v, classes, where, outer)
                          for v in (value.get("config") or {}).get("value", [])]}
    if isinstance(value, dict) and "class_name" not in value:
        return {"dict": {k: _ref_structure(v, classes, where, outer) for k, v in value.items()}}
    if isinstance(value, list):
        return [_ref_structure(v, classes, where, outer) for v in value]
    if value is None:
        return None
    raise _unsupported(where, f"the call input {value!r:.80} is not a tensor; fnnet calls "
                              f"layers on tensors only.")


def _history(value: Any) -> tuple | None:
    """``(layer name, node, index)`` of a serialized Keras tensor, else None."""
    if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
        history = (value.get("config") or {}).get("keras_history")
        if isinstance(history, list) and len(history) == 3:
            return tuple(history)
    return None


def _call(cls: str, node: Any, classes: dict, where: str, flags: dict) -> Any:
    """One Keras call (``{"args", "kwargs"}``) as fnnet's layer input structure."""
    if not isinstance(node, dict) or not isinstance(node.get("args"), list):
        raise ValueError(f"Keras file: {where} has a call that is not {{'args': [...], "
                         f"'kwargs': {{...}}}}: {node!r:.120}.")
    args = [_ref_structure(a, classes, where, outer=False) for a in node["args"]]
    kwargs = {k: v for k, v in (node.get("kwargs") or {}).items() if k not in _CALL_IGNORED}
    mask = _history(kwargs.get("mask"))
    if mask is not None and classes.get(mask[0]) == _MASK_OP:
        del kwargs["mask"]  # the mask Keras derived from an Embedding or Masking: see _mask_ops
    for flag in _CALL_FLAGS:  # a call that does not pass the flag uses its default, False
        flags.setdefault(flag, set()).add(bool(kwargs.pop(flag, False)))
    if cls == "MultiHeadAttention":  # call(query, value, key=None, attention_mask=None)
        given = args + [None] * (4 - len(args))
        for i, arg in enumerate(("query", "value", "key", "attention_mask")):
            if kwargs.get(arg) is not None:
                given[i] = _ref_structure(kwargs.pop(arg), classes, where, outer=False)
        while given and given[-1] is None:
            given.pop()
        args = [{"tuple": given}]
    elif cls in ("Attention", "AdditiveAttention") and len(args) == 1 and isinstance(
            args[0], list):
        args = [{"tuple": args[0]}]
    elif cls in _RECURRENT and kwargs.get("initial_state") is not None:
        states = _ref_structure(kwargs.pop("initial_state"), classes, where, outer=False)
        states = states if isinstance(states, list) else [states]
        args = [{"tuple": [args[0], *states]}]
    bad = {k: v for k, v in kwargs.items() if not (k in _NEUTRAL and v == _NEUTRAL[k])}
    if len(args) != 1 or bad:
        raise _unsupported(where, f"a call with {len(args)} positional inputs and the keyword "
                                  f"arguments {bad} is not supported by fnnet, which calls a "
                                  f"layer on one input (a tensor or a list of them).")
    return args[0]


_MASK_OP = "<mask op>"


def _mask_ops(specs: list, where: str) -> set:
    """The Keras operations (not layers) in a functional config that compute masks.

    Keras 3 records the mask an ``Embedding(mask_zero=True)`` or ``Masking`` layer derives
    from its input (``not_equal``, ``any``) as operations, passed on as ``mask=``. fnnet's
    layers carry that same mask with the data (:class:`fnnet.Masked`), so these operations
    and ``mask=`` arguments are dropped; any other operation is refused.
    """
    ops = {spec.get("name"): spec for spec in specs if isinstance(spec, dict)
           and str(spec.get("module") or "").startswith("keras.src.ops")}
    sources = set()
    for spec in specs:
        cls, config, _ = _layer_class(spec, where)
        if cls in _MASK_LAYERS and (cls == "Masking" or config.get("mask_zero")):
            for node in spec.get("inbound_nodes") or []:
                args = node.get("args") if isinstance(node, dict) else None
                if args and _history(args[0]) is not None:
                    sources.add(_history(args[0]))
    for name, spec in ops.items():
        for node in spec.get("inbound_nodes") or []:
            tensors = [_history(a) for a in (node.get("args") or []) if _history(a)]
            if not tensors or any(t not in sources and t[0] not in ops for t in tensors):
                raise _unsupported(
                    f"{where} operation {name!r} ({spec.get('class_name')})",
                    "fnnet does not support Keras operations in a functional model (only "
                    "the masks Keras derives from Embedding(mask_zero=True) or Masking). "
                    "Rebuild the model in fnnet and load the weights with model.load_weights.")
    return set(ops)


def _functional(config: dict, where: str) -> dict:
    specs = config.get("layers")
    if not isinstance(specs, list):
        raise ValueError(f"Keras file: {where} has no 'layers' list.")
    mask_ops = _mask_ops(specs, where)
    classes = {}
    for i, spec in enumerate(specs):
        cls, _, name = _layer_class(spec, f"{where} layer #{i}")
        classes[name] = _MASK_OP if name in mask_ops else cls
    layers, nodes = [], []
    for i, spec in enumerate(specs):
        cls, _, name = _layer_class(spec, f"{where} layer #{i}")
        if name in mask_ops:
            continue
        label = f"{where} layer #{i} ({cls} {name!r})"
        flags: dict = {}
        calls = [_call(cls, node, classes, label, flags) for node in spec.get("inbound_nodes")
                 or [] if cls != "InputLayer"]
        layer = _layer(spec, f"{where} layer #{i}")
        for flag, values in flags.items():
            if len(values) > 1:
                raise _unsupported(label, f"the layer is called with {flag}=True and False; "
                                          f"fnnet takes {flag} once, as a constructor argument.")
            if values == {True}:
                layer["config"][flag] = True
        layer["name"] = name
        layers.append(layer)
        nodes.extend({"layer": name, "inputs": x} for x in calls)
    name = config.get("name")
    return {"class_name": "Model", "name": name, "config": {
        "name": name, "layers": layers, "nodes": nodes,
        "inputs": _ref_structure(config.get("input_layers"), classes, where, outer=True),
        "outputs": _ref_structure(config.get("output_layers"), classes, where, outer=True)}}


def translate_model(config: dict) -> dict:
    """A Keras 3 ``config.json`` (the model's serialized dict) as fnnet's architecture.

    Raises:
        ValueError: for what fnnet cannot build; the message names the layer.
    """
    cls, cfg, name = _layer_class(config, "the model")
    where = f"model {name!r}"
    if cls == "Sequential":
        return _sequential(cfg, where, nested=False)
    if cls == "Functional" or (cls == "Model" and "layers" in cfg):
        return _functional(cfg, where)
    raise _unsupported(where, f"the model class {cls!r} is a subclassed Keras model, whose "
                              f"code is not in the file; fnnet does not support it (only "
                              f"Sequential and functional models).")
