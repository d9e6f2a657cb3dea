"""Weight penalties, as Keras's ``kernel_regularizer``/``bias_regularizer``/``activity_regularizer``.

A regularizer is a callable ``penalty(x) -> scalar``. Layers take them by Keras name
(``"l2"``), as an instance (``regularizers.l2(1e-4)``) or as any callable. ``fit`` adds the
penalties of every layer to the training loss (and so to the reported ``loss``, as Keras does);
in your own step, add :func:`fnnet.core.regularization` of the params.

Example:
    >>> import jax.numpy as jnp
    >>> float(l2(0.5)(jnp.array([1.0, 2.0])))
    2.5
    >>> float(l1_l2(l1=0.1, l2=0.1)(jnp.array([-1.0, 1.0])))
    0.4
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from fnnet._errors import unknown_name

__all__ = ["Regularizer", "L1", "L2", "L1L2", "l1", "l2", "l1_l2", "get", "serialize"]


def _factor(owner: str, name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value < 0:
        raise ValueError(f"{owner}: {name} must be a finite number >= 0; got {value!r}. For "
                         f"example {owner}({name}=0.01).")
    return float(value)


class Regularizer:
    """Base class: ``penalty = regularizer(x)``, a scalar of ``x``'s dtype."""

    def __call__(self, x: jax.Array) -> jax.Array:  # pragma: no cover - abstract
        raise NotImplementedError

    def get_config(self) -> dict:
        """The constructor's arguments (Keras's ``get_config``)."""
        return dict(self._config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._config.items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: Any) -> bool:
        return type(other) is type(self) and other._config == self._config

    def __hash__(self) -> int:
        return hash((type(self).__name__, tuple(sorted(self._config.items()))))


class L1L2(Regularizer):
    """``l1 * sum(|x|) + l2 * sum(x**2)`` (Keras's defaults: both 0.0)."""

    def __init__(self, l1: float = 0.0, l2: float = 0.0):
        self.l1 = _factor("L1L2", "l1", l1)
        self.l2 = _factor("L1L2", "l2", l2)
        self._config = {"l1": self.l1, "l2": self.l2}

    def __call__(self, x: jax.Array) -> jax.Array:
        x = jnp.asarray(x)
        out = jnp.zeros((), x.dtype)
        if self.l1:
            out = out + jnp.asarray(self.l1, x.dtype) * jnp.sum(jnp.abs(x))
        if self.l2:
            out = out + jnp.asarray(self.l2, x.dtype) * jnp.sum(jnp.square(x))
        return out


class L1(L1L2):
    """``l1 * sum(|x|)``; Keras's default ``l1=0.01``."""

    def __init__(self, l1: float = 0.01):
        super().__init__(l1=_factor("L1", "l1", l1))
        self._config = {"l1": self.l1}


class L2(L1L2):
    """``l2 * sum(x**2)``; Keras's default ``l2=0.01``."""

    def __init__(self, l2: float = 0.01):
        super().__init__(l2=_factor("L2", "l2", l2))
        self._config = {"l2": self.l2}


l1, l2, l1_l2 = L1, L2, L1L2  # Keras's function-style names

_BY_NAME: dict[str, type] = {"l1": L1, "l2": L2, "l1_l2": L1L2, "l1l2": L1L2}


def get(identifier: Any) -> Callable | None:
    """A regularizer from None, a Keras name, a ``{"class_name", "config"}`` dict or a callable.

    Example:
        >>> get("l2")
        L2(l2=0.01)
        >>> get({"class_name": "L1L2", "config": {"l1": 0.1, "l2": 0.0}})
        L1L2(l1=0.1, l2=0.0)
    """
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier.lower())
        if cls is None:
            raise unknown_name("regularizer", identifier, ["l1", "l2", "l1_l2"])
        return cls()
    if isinstance(identifier, dict) and set(identifier) == {"class_name", "config"}:
        cls = _BY_NAME.get(str(identifier["class_name"]).lower())
        if cls is None:
            raise unknown_name("regularizer", identifier["class_name"], ["L1", "L2", "L1L2"])
        return cls(**identifier["config"])
    if callable(identifier):
        return identifier
    raise TypeError(
        f"A regularizer must be None, a name such as 'l2', regularizers.l2(0.01) or a callable "
        f"x -> scalar; got {identifier!r}."
    )


def serialize(regularizer: Callable | None) -> Any:
    """``{"class_name", "config"}`` for a built-in, None for None, else the callable itself."""
    if regularizer is None:
        return None
    if isinstance(regularizer, Regularizer):
        return {"class_name": type(regularizer).__name__, "config": regularizer.get_config()}
    return regularizer
