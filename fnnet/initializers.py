"""Keras initializers: pure functions ``init(key, shape, dtype=jnp.float32) -> jax.Array``.

The ready-made snake_case initializers (``glorot_uniform``, ``he_normal``, ``zeros``...) use
Keras's defaults; the CamelCase factories (``RandomNormal(mean=0.0, stddev=0.05)``,
``VarianceScaling(scale, mode, distribution)``...) take Keras's arguments. Fans follow Keras:
a kernel of shape ``(..., fan_in, fan_out)`` has its receptive field (the leading dims)
multiplied into both. The ``*_normal`` variance-scaling initializers draw from a normal
truncated at two standard deviations, with the stddev divided by 0.87962566103423978 so the
truncated distribution has the intended variance, exactly as Keras and
``jax.nn.initializers.variance_scaling(..., "truncated_normal")`` do.

Seeds are keys: an initializer is deterministic in its ``key`` and has no ``seed`` argument.

Example:
    >>> import jax
    >>> from fnnet import initializers
    >>> init = initializers.get("glorot_uniform")
    >>> w = init(jax.random.key(0), (4, 6))
    >>> w.shape, w.dtype, initializers.serialize(init)
    ((4, 6), dtype('float32'), 'glorot_uniform')
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import jax
import jax.numpy as jnp
import numpy as np

from fnnet._errors import unknown_name

__all__ = [
    "InitFn",
    "Initializer",
    "get",
    "serialize",
    "compute_fans",
    "Zeros",
    "Ones",
    "Constant",
    "RandomNormal",
    "RandomUniform",
    "TruncatedNormal",
    "VarianceScaling",
    "GlorotUniform",
    "GlorotNormal",
    "HeNormal",
    "HeUniform",
    "LecunNormal",
    "LecunUniform",
    "Orthogonal",
    "Identity",
    "zeros",
    "ones",
    "random_normal",
    "random_uniform",
    "truncated_normal",
    "glorot_uniform",
    "glorot_normal",
    "he_normal",
    "he_uniform",
    "lecun_normal",
    "lecun_uniform",
    "orthogonal",
    "identity",
]

# stddev of a unit normal truncated to [-2, 2]; Keras and jax divide by it.
_TRUNCATION_STDDEV = 0.87962566103423978


class InitFn(Protocol):
    """``init(key, shape, dtype=jnp.float32) -> jax.Array`` of that shape and dtype."""

    def __call__(self, key: jax.Array, shape: Sequence[int], dtype: Any = ...) -> jax.Array: ...


class Initializer:
    """A built-in initializer: a callable ``init(key, shape, dtype=jnp.float32)``.

    It also records the Keras class name and config that made it, which
    :func:`serialize` writes out and :func:`get` reads back.

    Attributes:
        class_name: the Keras class name, such as ``"RandomNormal"``.
        config: the factory's keyword arguments, such as ``{"mean": 0.0, "stddev": 0.05}``.

    Example:
        >>> init = RandomNormal(stddev=1.0)
        >>> init
        RandomNormal(mean=0.0, stddev=1.0)
        >>> init(jax.random.key(0), (4, 6)).shape
        (4, 6)
    """

    __slots__ = ("_fn", "class_name", "config")

    def __init__(self, fn: Callable, class_name: str, config: dict):
        self._fn = fn
        self.class_name = class_name
        self.config = config

    def __call__(self, key: jax.Array, shape: Sequence[int], dtype: Any = jnp.float32):
        shape = _check_shape(self.class_name, shape)
        dtype = jnp.dtype(dtype)
        if not jnp.issubdtype(dtype, jnp.floating):
            raise ValueError(
                f"{self.class_name}: dtype must be a floating dtype such as jnp.float32; got "
                f"{dtype}. Initialize in float and cast afterwards if you need another dtype."
            )
        return self._fn(key, shape, dtype)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config.items())
        return f"{self.class_name}({args})"


def _check_shape(where: str, shape: Any) -> tuple[int, ...]:
    try:
        dims = tuple(int(d) for d in shape)
        ok = all(int(d) == d and d >= 0 for d in shape)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise TypeError(
            f"{where}: shape must be a sequence of non-negative ints such as (784, 128); got "
            f"{shape!r}. Call the initializer as init(key, (fan_in, fan_out))."
        )
    return dims


def _check_number(where: str, name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(
            f"{where}: {name} must be a real number; got {value!r} of type "
            f"{type(value).__name__}. Pass a Python float, e.g. {name}=0.05."
        )
    return float(value)


def _flat(draw: Callable[[tuple], jax.Array], shape: tuple) -> jax.Array:
    # Draw a flat vector and reshape: the same values as drawing the shape directly, but XLA
    # on CPU compiles rank >= 3 random draws several times more slowly.
    return draw((math.prod(shape),)).reshape(shape)


def compute_fans(shape: Sequence[int]) -> tuple[int, int]:
    """Keras's ``(fan_in, fan_out)`` for a weight shape.

    Rank 0 gives ``(1, 1)``; rank 1 ``(n, n)``; rank 2 ``(in, out)``; a convolution kernel
    ``(*spatial, in, out)`` multiplies the receptive field ``prod(spatial)`` into both.

    Example:
        >>> compute_fans((3, 3, 16, 32))
        (144, 288)
    """
    shape = tuple(shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


def Zeros() -> Initializer:
    """All zeros.

    Example:
        >>> Zeros()(jax.random.key(0), (2,))
        Array([0., 0.], dtype=float32)
    """
    return Initializer(lambda key, shape, dtype: jnp.zeros(shape, dtype), "Zeros", {})


def Ones() -> Initializer:
    """All ones.

    Example:
        >>> Ones()(jax.random.key(0), (2,))
        Array([1., 1.], dtype=float32)
    """
    return Initializer(lambda key, shape, dtype: jnp.ones(shape, dtype), "Ones", {})


def Constant(value: float = 0.0) -> Initializer:
    """Every entry equal to the scalar ``value`` (Keras default 0.0).

    Example:
        >>> Constant(0.5)(jax.random.key(0), (2,))
        Array([0.5, 0.5], dtype=float32)
    """
    value = _check_number("Constant", "value", value)
    return Initializer(
        lambda key, shape, dtype: jnp.full(shape, value, dtype), "Constant", {"value": value}
    )


def RandomNormal(mean: float = 0.0, stddev: float = 0.05) -> Initializer:
    """Normal samples with Keras's defaults ``mean=0.0, stddev=0.05``.

    Example:
        >>> RandomNormal()(jax.random.key(0), (4, 6)).shape
        (4, 6)
    """
    mean = _check_number("RandomNormal", "mean", mean)
    stddev = _check_number("RandomNormal", "stddev", stddev)

    def init(key, shape, dtype):
        return _flat(lambda s: jax.random.normal(key, s, dtype), shape) * stddev + mean

    return Initializer(init, "RandomNormal", {"mean": mean, "stddev": stddev})


def RandomUniform(minval: float = -0.05, maxval: float = 0.05) -> Initializer:
    """Uniform samples in ``[minval, maxval)``, Keras defaults ``-0.05`` and ``0.05``.

    Example:
        >>> w = RandomUniform(0.0, 1.0)(jax.random.key(0), (4, 6))
        >>> bool(w.min() >= 0.0 and w.max() < 1.0)
        True
    """
    minval = _check_number("RandomUniform", "minval", minval)
    maxval = _check_number("RandomUniform", "maxval", maxval)
    if not minval <= maxval:
        raise ValueError(
            f"RandomUniform: minval must not exceed maxval; got minval={minval} and "
            f"maxval={maxval}. Swap them."
        )

    def init(key, shape, dtype):
        return _flat(lambda s: jax.random.uniform(key, s, dtype, minval, maxval), shape)

    return Initializer(init, "RandomUniform", {"minval": minval, "maxval": maxval})


def TruncatedNormal(mean: float = 0.0, stddev: float = 0.05) -> Initializer:
    """Normal samples truncated at two ``stddev`` from ``mean`` (Keras: no stddev correction).

    Example:
        >>> w = TruncatedNormal(stddev=1.0)(jax.random.key(0), (4, 6))
        >>> bool(abs(w).max() <= 2.0)
        True
    """
    mean = _check_number("TruncatedNormal", "mean", mean)
    stddev = _check_number("TruncatedNormal", "stddev", stddev)

    def init(key, shape, dtype):
        draw = lambda s: jax.random.truncated_normal(key, -2.0, 2.0, s, dtype)
        return _flat(draw, shape) * stddev + mean

    return Initializer(init, "TruncatedNormal", {"mean": mean, "stddev": stddev})


_MODES = ("fan_in", "fan_out", "fan_avg")
_DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")


def VarianceScaling(
    scale: float = 1.0, mode: str = "fan_in", distribution: str = "truncated_normal"
) -> Initializer:
    """Samples with variance ``scale / n``, ``n`` being fan_in, fan_out or their average.

    ``distribution="uniform"`` samples ``U(-limit, limit)`` with ``limit = sqrt(3 * scale / n)``;
    ``"truncated_normal"`` a normal truncated at two stddevs with
    ``stddev = sqrt(scale / n) / 0.8796...``; ``"untruncated_normal"`` a plain normal with
    ``stddev = sqrt(scale / n)``. Fans come from :func:`compute_fans`.

    Args:
        scale: positive scaling factor.
        mode: ``"fan_in"``, ``"fan_out"`` or ``"fan_avg"``.
        distribution: ``"truncated_normal"``, ``"untruncated_normal"`` or ``"uniform"``.

    Example:
        >>> init = VarianceScaling(2.0, "fan_in", "uniform")
        >>> w = init(jax.random.key(0), (4, 6))
        >>> bool(abs(w).max() <= (3 * 2.0 / 4) ** 0.5)
        True
    """
    scale = _check_number("VarianceScaling", "scale", scale)
    if not scale > 0:
        raise ValueError(
            f"VarianceScaling: scale must be positive; got scale={scale}. Use e.g. scale=1.0."
        )
    if mode not in _MODES:
        raise ValueError(
            f"VarianceScaling: mode must be one of {_MODES}; got mode={mode!r}."
        )
    if distribution not in _DISTRIBUTIONS:
        raise ValueError(
            f"VarianceScaling: distribution must be one of {_DISTRIBUTIONS}; got "
            f"distribution={distribution!r}."
        )

    def init(key, shape, dtype):
        fan_in, fan_out = compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
        variance = scale / max(1.0, n)
        # The same draws as jax.nn.initializers.variance_scaling, so the two agree bit for bit.
        if distribution == "truncated_normal":
            stddev = math.sqrt(variance) / _TRUNCATION_STDDEV
            draw = lambda s: jax.random.truncated_normal(key, -2.0, 2.0, s, dtype)
            return _flat(draw, shape) * stddev
        if distribution == "untruncated_normal":
            return _flat(lambda s: jax.random.normal(key, s, dtype), shape) * math.sqrt(variance)
        draw = lambda s: jax.random.uniform(key, s, dtype, -1.0)
        return _flat(draw, shape) * math.sqrt(3 * variance)

    config = {"scale": scale, "mode": mode, "distribution": distribution}
    return Initializer(init, "VarianceScaling", config)


def _named_variance_scaling(class_name, scale, mode, distribution, doc):
    def factory() -> Initializer:
        vs = VarianceScaling(scale, mode, distribution)
        return Initializer(vs._fn, class_name, {})

    factory.__name__ = factory.__qualname__ = class_name
    factory.__doc__ = doc
    return factory


GlorotUniform = _named_variance_scaling(
    "GlorotUniform", 1.0, "fan_avg", "uniform",
    """Glorot (Xavier) uniform: ``U(-limit, limit)``, ``limit = sqrt(6 / (fan_in + fan_out))``.

    Example:
        >>> GlorotUniform()(jax.random.key(0), (4, 6)).shape
        (4, 6)
    """,
)
GlorotNormal = _named_variance_scaling(
    "GlorotNormal", 1.0, "fan_avg", "truncated_normal",
    """Glorot (Xavier) normal: truncated normal with std ``sqrt(2 / (fan_in + fan_out))``.

    Example:
        >>> GlorotNormal()(jax.random.key(0), (4, 6)).shape
        (4, 6)
    """,
)
HeNormal = _named_variance_scaling(
    "HeNormal", 2.0, "fan_in", "truncated_normal",
    """He normal: truncated normal with std ``sqrt(2 / fan_in)``.

    Example:
        >>> HeNormal()(jax.random.key(0), (4, 6)).shape
        (4, 6)
    """,
)
HeUniform = _named_variance_scaling(
    "HeUniform", 2.0, "fan_in", "uniform",
    """He uniform: ``U(-limit, limit)`` with ``limit = sqrt(6 / fan_in)``.

    Example:
        >>> HeUniform()(jax.random.key(0), (4, 6)).shape
        (4, 6)
    """,
)
LecunNormal = _named_variance_scaling(
    "LecunNormal", 1.0, "fan_in", "truncated_normal",
    """LeCun normal: truncated normal with std ``sqrt(1 / fan_in)``.

    Example:
        >>> LecunNormal()(jax.random.key(0), (4, 6)).shape
        (4, 6)
    """,
)
LecunUniform = _named_variance_scaling(
    "LecunUniform", 1.0, "fan_in", "uniform",
    """LeCun uniform: ``U(-limit, limit)`` with ``limit = sqrt(3 / fan_in)``.

    Example:
        >>> LecunUniform()(jax.random.key(0), (4, 6)).shape
        (4, 6)
    """,
)


def Orthogonal(gain: float = 1.0) -> Initializer:
    """A (semi-)orthogonal matrix times ``gain``, as Keras draws it (QR of a normal matrix).

    The shape must have rank >= 2; it is treated as a matrix of
    ``(prod(shape[:-1]), shape[-1])``, whose rows or columns (whichever are fewer) are
    orthonormal.

    Example:
        >>> w = Orthogonal()(jax.random.key(0), (4, 6))
        >>> bool(jnp.allclose(w @ w.T, jnp.eye(4), atol=1e-5))
        True
    """
    gain = _check_number("Orthogonal", "gain", gain)
    inner = jax.nn.initializers.orthogonal(scale=gain, column_axis=-1)

    def init(key, shape, dtype):
        if len(shape) < 2:
            raise ValueError(
                f"Orthogonal: the shape must have rank >= 2; got shape={shape}. Use it for "
                f"kernels such as (fan_in, fan_out), and e.g. zeros for biases."
            )
        # QR has no low-precision kernels: draw in at least float32, then cast.
        compute = jnp.float32 if jnp.finfo(dtype).bits < 32 else dtype
        return inner(key, shape, compute).astype(dtype)

    return Initializer(init, "Orthogonal", {"gain": gain})


def Identity(gain: float = 1.0) -> Initializer:
    """``gain`` times the identity matrix (rectangular shapes get ``jnp.eye(rows, cols)``).

    Example:
        >>> Identity(2.0)(jax.random.key(0), (2, 3))
        Array([[2., 0., 0.],
               [0., 2., 0.]], dtype=float32)
    """
    gain = _check_number("Identity", "gain", gain)

    def init(key, shape, dtype):
        if len(shape) != 2:
            raise ValueError(
                f"Identity: the shape must be 2D; got shape={shape}. Use it for square or "
                f"rectangular dense kernels."
            )
        return jnp.eye(shape[0], shape[1], dtype=dtype) * jnp.asarray(gain, dtype)

    return Initializer(init, "Identity", {"gain": gain})


zeros = Zeros()
ones = Ones()
random_normal = RandomNormal()
random_uniform = RandomUniform()
truncated_normal = TruncatedNormal()
glorot_uniform = GlorotUniform()
glorot_normal = GlorotNormal()
he_normal = HeNormal()
he_uniform = HeUniform()
lecun_normal = LecunNormal()
lecun_uniform = LecunUniform()
orthogonal = Orthogonal()
identity = Identity()

# snake_case name -> factory; get() also accepts the CamelCase class names.
_FACTORIES: dict[str, Callable[..., Initializer]] = {
    "zeros": Zeros,
    "ones": Ones,
    "constant": Constant,
    "random_normal": RandomNormal,
    "random_uniform": RandomUniform,
    "truncated_normal": TruncatedNormal,
    "variance_scaling": VarianceScaling,
    "glorot_uniform": GlorotUniform,
    "glorot_normal": GlorotNormal,
    "he_normal": HeNormal,
    "he_uniform": HeUniform,
    "lecun_normal": LecunNormal,
    "lecun_uniform": LecunUniform,
    "orthogonal": Orthogonal,
    "identity": Identity,
}
_DEFAULTS = {
    "zeros": zeros,
    "ones": ones,
    "random_normal": random_normal,
    "random_uniform": random_uniform,
    "truncated_normal": truncated_normal,
    "glorot_uniform": glorot_uniform,
    "glorot_normal": glorot_normal,
    "he_normal": he_normal,
    "he_uniform": he_uniform,
    "lecun_normal": lecun_normal,
    "lecun_uniform": lecun_uniform,
    "orthogonal": orthogonal,
    "identity": identity,
}
_KEYS = {name.replace("_", ""): name for name in _FACTORIES}
_KEYS.update({"orthogonalinitializer": "orthogonal", "identityinitializer": "identity",
              # Keras's short aliases (Embedding's default is "uniform").
              "uniform": "random_uniform", "normal": "random_normal"})
_SNAKE_BY_CLASS = {f.__name__: name for name, f in _FACTORIES.items()}


def _lookup(name: str, argument: str) -> str:
    snake = _KEYS.get(name.lower().replace("_", ""))
    if snake is None:
        raise unknown_name("initializer", name, _FACTORIES, argument=argument)
    return snake


def get(identifier: str | dict | Callable) -> Callable:
    """Returns the initializer for a Keras name, a serialized dict, or a callable.

    Args:
        identifier: a Keras initializer name, snake_case or CamelCase and case-insensitive
            (``"glorot_uniform"``, ``"GlorotUniform"``, ``"he_normal"``...), which gives it
            with Keras's defaults; a dict ``{"class_name": ..., "config": {...}}`` as written
            by :func:`serialize`; or any callable ``init(key, shape, dtype)``, returned
            unchanged.

    Returns:
        An initializer ``init(key, shape, dtype=jnp.float32) -> jax.Array``.

    Raises:
        ValueError: for an unknown name (the message lists the valid names).
        TypeError: for another type, a malformed dict, or config keys the factory lacks.

    Example:
        >>> get("HeNormal") is he_normal
        True
        >>> get({"class_name": "RandomNormal", "config": {"mean": 1.0, "stddev": 0.5}})
        RandomNormal(mean=1.0, stddev=0.5)
    """
    if isinstance(identifier, str):
        snake = _lookup(identifier, "initializer")
        return _DEFAULTS.get(snake) or _FACTORIES[snake]()
    if isinstance(identifier, dict):
        if set(identifier) != {"class_name", "config"} or not isinstance(
            identifier["config"], dict
        ):
            raise TypeError(
                f"A serialized initializer is a dict {{'class_name': str, 'config': dict}}; "
                f"got {identifier!r}. Use the output of fnnet.initializers.serialize."
            )
        snake = _lookup(identifier["class_name"], "class_name")
        factory = _FACTORIES[snake]
        accepted = list(inspect.signature(factory).parameters)
        unknown = sorted(set(identifier["config"]) - set(accepted))
        if unknown:
            raise TypeError(
                f"{factory.__name__} got unknown config keys {unknown}; it accepts "
                f"{accepted}. Remove the others from the config dict."
            )
        return factory(**identifier["config"])
    if callable(identifier):
        return identifier
    raise TypeError(
        f"initializer must be a name such as 'glorot_uniform', a serialized dict or a "
        f"callable init(key, shape, dtype); got {identifier!r} of type "
        f"{type(identifier).__name__}."
    )


def serialize(init: Callable) -> str | dict | None:
    """A JSON-able description of a built-in initializer, or None for a custom callable.

    Initializers without arguments serialize to their snake_case name (``"he_normal"``);
    those with arguments to ``{"class_name": ..., "config": {...}}``. :func:`get` accepts
    either form back.

    Example:
        >>> serialize(glorot_uniform), serialize(RandomNormal(stddev=0.1))
        ('glorot_uniform', {'class_name': 'RandomNormal', 'config': {'mean': 0.0, 'stddev': 0.1}})
        >>> serialize(jax.nn.initializers.zeros) is None
        True
    """
    if not isinstance(init, Initializer):
        return None
    if not init.config:
        return _SNAKE_BY_CLASS[init.class_name]
    return {"class_name": init.class_name, "config": dict(init.config)}
