"""Weight constraints, as Keras's ``kernel_constraint``/``bias_constraint``.

A constraint is a callable ``w -> projected w``, applied to a layer's param after every
optimizer update (Keras's rule). ``fit`` applies them; in your own step, call
:func:`fnnet.core.apply_constraints` after ``apply_gradients``.

Example:
    >>> import jax.numpy as jnp
    >>> w = jnp.array([[3.0, 0.0], [4.0, 1.0]])
    >>> max_norm(1.0)(w).round(3).tolist()   # each column's norm capped at 1 (axis=0)
    [[0.6, 0.0], [0.8, 1.0]]
    >>> non_neg()(jnp.array([-1.0, 2.0])).tolist()
    [0.0, 2.0]
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from fnnet._errors import unknown_name

__all__ = ["Constraint", "MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm", "max_norm",
           "min_max_norm", "non_neg", "unit_norm", "get", "serialize"]

_EPSILON = 1e-7  # Keras's backend.epsilon() in the norm constraints


def _number(owner: str, name: str, value: Any, low: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value < low:
        raise ValueError(f"{owner}: {name} must be a finite number >= {low}; got {value!r}.")
    return float(value)


class Constraint:
    """Base class: ``new_w = constraint(w)``."""

    _config: dict = {}

    def __call__(self, w: jax.Array) -> jax.Array:  # pragma: no cover - abstract
        raise NotImplementedError

    def get_config(self) -> dict:
        return dict(self._config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._config.items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: Any) -> bool:
        return type(other) is type(self) and other._config == self._config

    def __hash__(self) -> int:
        return hash((type(self).__name__, repr(sorted(self._config.items()))))


def _norms(w, axis):
    return jnp.sqrt(jnp.sum(jnp.square(w), axis=axis, keepdims=True))


class MaxNorm(Constraint):
    """Caps the norm of each slice along ``axis`` at ``max_value`` (Keras's defaults: 2, 0)."""

    def __init__(self, max_value: float = 2, axis: int | tuple = 0):
        self.max_value = _number("MaxNorm", "max_value", max_value)
        self.axis = axis
        self._config = {"max_value": self.max_value, "axis": axis}

    def __call__(self, w):
        norms = _norms(w, self.axis)
        desired = jnp.clip(norms, 0, self.max_value)
        return w * (desired / (jnp.asarray(_EPSILON, w.dtype) + norms))


class MinMaxNorm(Constraint):
    """Keeps each slice's norm in ``[min_value, max_value]`` (``rate`` blends, as in Keras)."""

    def __init__(self, min_value: float = 0.0, max_value: float = 1.0, rate: float = 1.0,
                 axis: int | tuple = 0):
        self.min_value = _number("MinMaxNorm", "min_value", min_value)
        self.max_value = _number("MinMaxNorm", "max_value", max_value, self.min_value)
        self.rate = _number("MinMaxNorm", "rate", rate)
        self.axis = axis
        self._config = {"min_value": self.min_value, "max_value": self.max_value,
                        "rate": self.rate, "axis": axis}

    def __call__(self, w):
        norms = _norms(w, self.axis)
        desired = self.rate * jnp.clip(norms, self.min_value, self.max_value) + \
            (1 - self.rate) * norms
        return w * (desired / (jnp.asarray(_EPSILON, w.dtype) + norms))


class NonNeg(Constraint):
    """Sets negative weights to zero."""

    def __call__(self, w):
        return w * (w >= 0).astype(w.dtype)


class UnitNorm(Constraint):
    """Scales each slice along ``axis`` to unit norm (Keras's default axis 0)."""

    def __init__(self, axis: int | tuple = 0):
        self.axis = axis
        self._config = {"axis": axis}

    def __call__(self, w):
        return w / (jnp.asarray(_EPSILON, w.dtype) + _norms(w, self.axis))


max_norm, min_max_norm, non_neg, unit_norm = MaxNorm, MinMaxNorm, NonNeg, UnitNorm

_BY_NAME = {"max_norm": MaxNorm, "maxnorm": MaxNorm, "min_max_norm": MinMaxNorm,
            "minmaxnorm": MinMaxNorm, "non_neg": NonNeg, "nonneg": NonNeg,
            "unit_norm": UnitNorm, "unitnorm": UnitNorm}


def get(identifier: Any) -> Callable | None:
    """A constraint from None, a Keras name, a ``{"class_name", "config"}`` dict or a callable.

    Example:
        >>> get("non_neg")
        NonNeg()
    """
    if identifier is None or isinstance(identifier, Constraint):
        return identifier
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier.lower())
        if cls is None:
            raise unknown_name("constraint", identifier, ["max_norm", "min_max_norm", "non_neg",
                                                          "unit_norm"])
        return cls()
    if isinstance(identifier, dict) and set(identifier) == {"class_name", "config"}:
        cls = _BY_NAME.get(str(identifier["class_name"]).lower())
        if cls is None:
            raise unknown_name("constraint", identifier["class_name"],
                               ["MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm"])
        config = dict(identifier["config"])
        if isinstance(config.get("axis"), list):
            config["axis"] = tuple(config["axis"])
        return cls(**config)
    if callable(identifier):
        return identifier
    raise TypeError(
        f"A constraint must be None, a name such as 'max_norm', constraints.max_norm(2) or a "
        f"callable w -> w; got {identifier!r}."
    )


def serialize(constraint: Callable | None) -> Any:
    """``{"class_name", "config"}`` for a built-in, None for None, else the callable itself."""
    if constraint is None:
        return None
    if isinstance(constraint, Constraint):
        return {"class_name": type(constraint).__name__, "config": constraint.get_config()}
    return constraint
