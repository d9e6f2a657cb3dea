"""Keras 3 activation functions, looked up by name.

Every activation is a pure function of one array that returns an array of the same shape
(``softmax`` and ``log_softmax`` normalise over the last axis). Names and defaults follow
Keras 3: ``gelu`` is exact (``approximate=False``), ``leaky_relu`` has slope 0.2 and
``hard_sigmoid`` is ``relu6(x + 3) / 6``.

Example:
    >>> import jax.numpy as jnp
    >>> from fnnet import activations
    >>> relu = activations.get("relu")
    >>> relu(jnp.array([-1.0, 0.0, 2.0]))
    Array([0., 0., 2.], dtype=float32)
    >>> activations.serialize(relu)
    'relu'
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from fnnet._errors import unknown_name

__all__ = [
    "get",
    "serialize",
    "linear",
    "relu",
    "relu6",
    "sigmoid",
    "hard_sigmoid",
    "tanh",
    "softmax",
    "log_softmax",
    "gelu",
    "elu",
    "selu",
    "softplus",
    "softsign",
    "silu",
    "swish",
    "hard_silu",
    "hard_swish",
    "leaky_relu",
    "exponential",
    "mish",
]


def linear(x: ArrayLike) -> jax.Array:
    """Identity: returns ``x`` unchanged (as an array). Any shape.

    Example:
        >>> linear(jnp.array([-1.0, 2.0]))
        Array([-1.,  2.], dtype=float32)
    """
    return jnp.asarray(x)


def relu(x: ArrayLike) -> jax.Array:
    """Rectified linear unit, ``max(x, 0)``, elementwise. Any shape.

    Example:
        >>> relu(jnp.array([-1.0, 2.0]))
        Array([0., 2.], dtype=float32)
    """
    return jax.nn.relu(x)


def relu6(x: ArrayLike) -> jax.Array:
    """ReLU capped at 6, ``min(max(x, 0), 6)``, elementwise. Any shape.

    Example:
        >>> relu6(jnp.array([-1.0, 2.0, 9.0]))
        Array([0., 2., 6.], dtype=float32)
    """
    return jax.nn.relu6(x)


def sigmoid(x: ArrayLike) -> jax.Array:
    """Logistic sigmoid, ``1 / (1 + exp(-x))``, elementwise. Any shape.

    Example:
        >>> sigmoid(jnp.array([0.0]))
        Array([0.5], dtype=float32)
    """
    return jax.nn.sigmoid(x)


def hard_sigmoid(x: ArrayLike) -> jax.Array:
    """Piecewise-linear sigmoid, Keras 3's ``relu6(x + 3) / 6``, elementwise. Any shape.

    Example:
        >>> hard_sigmoid(jnp.array([-4.0, 0.0, 1.5, 4.0]))
        Array([0.  , 0.5 , 0.75, 1.  ], dtype=float32)
    """
    return jax.nn.hard_sigmoid(x)


def tanh(x: ArrayLike) -> jax.Array:
    """Hyperbolic tangent, elementwise. Any shape.

    Example:
        >>> tanh(jnp.array([0.0]))
        Array([0.], dtype=float32)
    """
    return jnp.tanh(x)


def softmax(x: ArrayLike) -> jax.Array:
    """Softmax over the last axis: ``exp(x) / sum(exp(x), axis=-1)``. Shape ``(..., n)``.

    Example:
        >>> softmax(jnp.array([[0.0, 0.0], [0.0, 100.0]]))
        Array([[0.5, 0.5],
               [0. , 1. ]], dtype=float32)
    """
    return jax.nn.softmax(x, axis=-1)


def log_softmax(x: ArrayLike) -> jax.Array:
    """Logarithm of :func:`softmax` over the last axis, computed stably. Shape ``(..., n)``.

    Example:
        >>> log_softmax(jnp.array([0.0, 0.0]))
        Array([-0.6931472, -0.6931472], dtype=float32)
    """
    return jax.nn.log_softmax(x, axis=-1)


def gelu(x: ArrayLike) -> jax.Array:
    """Exact Gaussian error linear unit, ``x * Phi(x)`` (Keras 3 default ``approximate=False``).

    Elementwise; any shape.

    Example:
        >>> gelu(jnp.array([0.0, 1.0]))
        Array([0.       , 0.8413447], dtype=float32)
    """
    return jax.nn.gelu(x, approximate=False)


def elu(x: ArrayLike) -> jax.Array:
    """Exponential linear unit with ``alpha=1``: ``x`` if ``x > 0`` else ``exp(x) - 1``.

    Elementwise; any shape.

    Example:
        >>> elu(jnp.array([-1.0, 2.0]))
        Array([-0.63212055,  2.        ], dtype=float32)
    """
    return jax.nn.elu(x, alpha=1.0)


def selu(x: ArrayLike) -> jax.Array:
    """Scaled ELU with Keras's constants (scale 1.0507..., alpha 1.6732...). Elementwise.

    Example:
        >>> selu(jnp.array([0.0, 1.0]))
        Array([0.      , 1.050701], dtype=float32)
    """
    return jax.nn.selu(x)


def softplus(x: ArrayLike) -> jax.Array:
    """Softplus, ``log(1 + exp(x))``, computed stably. Elementwise; any shape.

    Example:
        >>> softplus(jnp.array([0.0]))
        Array([0.6931472], dtype=float32)
    """
    return jax.nn.softplus(x)


def softsign(x: ArrayLike) -> jax.Array:
    """Softsign, ``x / (1 + |x|)``. Elementwise; any shape.

    Example:
        >>> softsign(jnp.array([-1.0, 3.0]))
        Array([-0.5 ,  0.75], dtype=float32)
    """
    return jax.nn.soft_sign(x)


def silu(x: ArrayLike) -> jax.Array:
    """SiLU (also called swish), ``x * sigmoid(x)``. Elementwise; any shape.

    Example:
        >>> silu(jnp.array([0.0, 1.0]))
        Array([0.       , 0.7310586], dtype=float32)
    """
    return jax.nn.silu(x)


swish = silu


def hard_silu(x: ArrayLike) -> jax.Array:
    """Hard SiLU (also called hard swish), ``x * hard_sigmoid(x)``. Elementwise; any shape.

    Example:
        >>> hard_silu(jnp.array([-4.0, 1.5, 4.0]))
        Array([-0.   ,  1.125,  4.   ], dtype=float32)
    """
    return jax.nn.hard_silu(x)


hard_swish = hard_silu


def leaky_relu(x: ArrayLike) -> jax.Array:
    """Leaky ReLU with Keras 3's default slope 0.2: ``x`` if ``x >= 0`` else ``0.2 * x``.

    Elementwise; any shape.

    Example:
        >>> leaky_relu(jnp.array([-1.0, 2.0]))
        Array([-0.2,  2. ], dtype=float32)
    """
    return jax.nn.leaky_relu(x, negative_slope=0.2)


def exponential(x: ArrayLike) -> jax.Array:
    """Exponential, ``exp(x)``. Elementwise; any shape.

    Example:
        >>> exponential(jnp.array([0.0]))
        Array([1.], dtype=float32)
    """
    return jnp.exp(x)


def mish(x: ArrayLike) -> jax.Array:
    """Mish, ``x * tanh(softplus(x))``. Elementwise; any shape.

    Example:
        >>> mish(jnp.array([0.0, 1.0]))
        Array([0.       , 0.8650984], dtype=float32)
    """
    return jax.nn.mish(x)


# Canonical name -> function; aliases map onto the canonical function.
_ACTIVATIONS: dict[str, Callable[[ArrayLike], jax.Array]] = {
    "linear": linear,
    "relu": relu,
    "relu6": relu6,
    "sigmoid": sigmoid,
    "hard_sigmoid": hard_sigmoid,
    "tanh": tanh,
    "softmax": softmax,
    "log_softmax": log_softmax,
    "gelu": gelu,
    "elu": elu,
    "selu": selu,
    "softplus": softplus,
    "softsign": softsign,
    "silu": silu,
    "hard_silu": hard_silu,
    "leaky_relu": leaky_relu,
    "exponential": exponential,
    "mish": mish,
}
_ALIASES = {"swish": "silu", "hard_swish": "hard_silu"}
_NAMES_BY_ID = {id(fn): name for name, fn in _ACTIVATIONS.items()}


def get(identifier: str | Callable | None) -> Callable[[ArrayLike], jax.Array]:
    """Returns the activation function for a name, a callable, or None.

    Args:
        identifier: ``None`` or ``"linear"`` for the identity; a Keras activation name such as
            ``"relu"`` (case-insensitive); or any callable of one array, returned unchanged.

    Returns:
        A function mapping an array to an array of the same shape.

    Raises:
        ValueError: for an unknown name (the message lists the valid names).
        TypeError: for anything that is neither a string, a callable nor None.

    Example:
        >>> get("ReLU")(jnp.array([-3.0, 3.0]))
        Array([0., 3.], dtype=float32)
        >>> get(None) is linear, get("swish") is silu
        (True, True)
    """
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        key = identifier.lower()
        key = _ALIASES.get(key, key)
        if key not in _ACTIVATIONS:
            valid = list(_ACTIVATIONS) + list(_ALIASES)
            raise unknown_name("activation", identifier, valid, argument="activation")
        return _ACTIVATIONS[key]
    if callable(identifier):
        return identifier
    raise TypeError(
        f"activation must be a name such as 'relu', a callable or None; got "
        f"{identifier!r} of type {type(identifier).__name__}. Pass e.g. activation='relu' "
        f"or activation=jax.nn.relu."
    )


def serialize(fn: Callable | None) -> str | None:
    """Returns the canonical Keras name of a built-in activation, or None for a custom one.

    Aliases serialize to their canonical name (``swish`` -> ``"silu"``, ``hard_swish`` ->
    ``"hard_silu"``), and ``None`` to ``"linear"``, so ``get(serialize(f))`` is ``f`` for
    every built-in ``f``.

    Args:
        fn: an activation function, or None.

    Returns:
        The name to store in a JSON config, or None when ``fn`` is not a built-in.

    Example:
        >>> serialize(get("swish")), serialize(None), serialize(lambda x: 2 * x)
        ('silu', 'linear', None)
    """
    if fn is None:
        return "linear"
    return _NAMES_BY_ID.get(id(fn))
