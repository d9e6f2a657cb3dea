"""Optimizers by name: :func:`get`, :func:`serialize` and :func:`names`.

Example:
    >>> tx = get("Adam", learning_rate=0.01)
    >>> type(tx).__name__, tx.learning_rate, "adam" in names()
    ('Adam', 0.01, True)
    >>> get(serialize(tx)).config == tx.config
    True
"""

from __future__ import annotations

from typing import Any

import optax

from fnnet._errors import unknown_name
from fnnet.optimizers import schedules
from fnnet.optimizers.base import Optimizer
from fnnet.optimizers.classes import SGD, Adadelta, Adagrad, Adam, Adamax, AdamW, Lion, Nadam, RMSprop
from fnnet.optimizers.learning_rate import get_learning_rate

__all__ = ["get", "serialize", "names"]

_CLASSES: dict[str, type[Optimizer]] = {
    cls.__name__.lower(): cls
    for cls in (SGD, RMSprop, Adam, AdamW, Adagrad, Adadelta, Adamax, Nadam, Lion)
}


def names() -> list[str]:
    """The optimizer names :func:`get` accepts, lower case (any case works in :func:`get`).

    Example:
        >>> names()
        ['adadelta', 'adagrad', 'adam', 'adamax', 'adamw', 'lion', 'nadam', 'rmsprop', 'sgd']
    """
    return sorted(_CLASSES)


def get(identifier: Any = "rmsprop", **overrides) -> optax.GradientTransformation:
    """Returns an optax optimizer for a Keras name, a serialized dict, or a transformation.

    A name (case-insensitive: ``"rmsprop"``, ``"RMSprop"``) builds that class with Keras's
    defaults, which ``overrides`` change by Keras argument name: ``get("adam", beta_1=0.8)``
    is ``Adam(beta_1=0.8)``. See each class (:class:`~fnnet.optimizers.Adam`, ...) for its
    arguments, and :func:`names` for the names.

    Args:
        identifier: an optimizer name; a dict ``{"name": ..., "config": {...}}`` from
            :func:`serialize`; any ``optax.GradientTransformation`` (fnnet optimizers and
            ``GradientTransformationExtraArgs`` included), returned unchanged; or an
            ``optax.MultiSteps``, returned as ``multi_steps.gradient_transformation()``.
        **overrides: Keras arguments of the named optimizer.

    Returns:
        An :class:`~fnnet.optimizers.Optimizer` for a name or dict; else the transformation.

    Raises:
        ValueError: for an unknown name, or an out-of-range value.
        TypeError: for an argument the optimizer lacks, a value of the wrong type, overrides
            given with a transformation, or an identifier of another type.

    Example:
        >>> get("Adam", learning_rate=0.01)
        Adam(learning_rate=0.01, beta_1=0.9, beta_2=0.999, epsilon=1e-07, amsgrad=False,
             weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
             gradient_accumulation_steps=None)
        >>> sgd = optax.sgd(0.1)
        >>> get(sgd) is sgd
        True
    """
    if isinstance(identifier, (optax.GradientTransformation, optax.MultiSteps)):
        if overrides:
            raise TypeError(
                f"get() received an optax transform together with overrides "
                f"{sorted(overrides)}; overrides apply only to optimizer names. Configure the "
                f"transform itself, e.g. optax.adam(learning_rate=...)."
            )
        if isinstance(identifier, optax.MultiSteps):
            return identifier.gradient_transformation()
        return identifier
    if isinstance(identifier, dict):
        if set(identifier) != {"name", "config"} or not isinstance(identifier["config"], dict):
            raise TypeError(
                f"A serialized optimizer is a dict {{'name': str, 'config': dict}}; got "
                f"{identifier!r}. Use the output of fnnet.optimizers.serialize."
            )
        config = {**identifier["config"], **overrides}
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"])
        return get(identifier["name"], **config)
    if isinstance(identifier, type) and issubclass(identifier, Optimizer):
        raise TypeError(
            f"optimizer must be an optimizer, not the class {identifier.__name__}: call it, "
            f"e.g. {identifier.__name__}(learning_rate=...), or pass the name "
            f"{identifier.__name__.lower()!r}."
        )
    if not isinstance(identifier, str):
        raise TypeError(
            f"optimizer must be a name such as 'rmsprop', a serialized dict or an "
            f"optax.GradientTransformation; got {identifier!r} of type "
            f"{type(identifier).__name__}."
        )
    name = identifier.lower()
    if name not in _CLASSES:
        raise unknown_name("optimizer", identifier, _CLASSES, argument="optimizer")
    return _CLASSES[name](**overrides)


def serialize(tx: optax.GradientTransformation, opt_state: Any = None) -> dict | None:
    """A JSON-able ``{"name": ..., "config": {...}}`` for a fnnet optimizer, for :func:`get`.

    A learning rate that is one of :mod:`~fnnet.optimizers.schedules` is stored as its
    ``{"class_name": ..., "config": ...}``.

    Args:
        tx: the optimizer.
        opt_state: optionally, its current state (or that of a transformation wrapping it,
            e.g. :func:`~fnnet.optimizers.freeze`'s); a float learning rate is then saved as
            the current one (e.g. after a ReduceLROnPlateau callback lowered it).

    Returns:
        The dict; or None for a transformation that is not a fnnet optimizer, or whose
        learning rate is a plain function (which JSON cannot hold).

    Example:
        >>> serialize(get("sgd", learning_rate=0.1))
        {'name': 'sgd', 'config': {'learning_rate': 0.1, 'momentum': 0.0, 'nesterov': False,
         'weight_decay': None, 'clipnorm': None, 'clipvalue': None, 'global_clipnorm': None,
         'gradient_accumulation_steps': None}}
        >>> serialize(optax.sgd(0.1)) is None
        True
    """
    if not isinstance(tx, Optimizer):
        return None
    config = dict(tx.config)
    rate = config["learning_rate"]
    if callable(rate):
        try:
            config["learning_rate"] = schedules.serialize(rate)
        except TypeError:  # a plain function, or a schedule class fnnet does not know
            return None
    elif opt_state is not None:
        current = get_learning_rate(opt_state)
        config["learning_rate"] = rate if current is None else current
    return {"name": tx.name, "config": config}
