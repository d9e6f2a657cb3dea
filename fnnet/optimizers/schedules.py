"""Keras 3's learning-rate schedules: callables ``step -> rate`` with Keras's arguments.

Each schedule is a plain function of the step for optax and fnnet alike (float32 out,
traceable under ``jax.jit``), equal to Keras's ``keras.optimizers.schedules`` class of the same
name step by step, to the float32 bit (both jitted or both eager). Keras computes in float32 in
a set order of operations; only :class:`ExponentialDecay` is optax's own schedule, because
optax's others differ by an ulp at some steps (cosine and polynomial decay round in another
order; piecewise-constant decay takes multiplicative scales and switches one step later) or are
missing (inverse-time decay, cosine decay with Keras's restarts).

Each has ``get_config()`` and ``from_config()``; :func:`serialize` and :func:`deserialize`
turn one into JSON and back, which is how an optimizer whose learning rate is a schedule is
saved (a plain function cannot be).

Example:
    >>> from fnnet import optimizers
    >>> schedule = ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5, staircase=True)
    >>> schedule(0), schedule(25)
    (Array(0.1, dtype=float32), Array(0.025, dtype=float32))
    >>> tx = optimizers.SGD(learning_rate=schedule)
    >>> serialize(schedule)["class_name"]
    'ExponentialDecay'
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from fnnet._errors import unknown_name
from fnnet.optimizers import _checks
from fnnet.optimizers._checks import NON_NEGATIVE, POSITIVE, UNIT

__all__ = [
    "LearningRateSchedule", "ExponentialDecay", "PiecewiseConstantDecay", "PolynomialDecay",
    "InverseTimeDecay", "CosineDecay", "CosineDecayRestarts", "serialize", "deserialize",
]


def _f32(x) -> jax.Array:
    """Keras's ``ops.cast(x, "float32")``."""
    return jnp.asarray(x, jnp.float32)


def _plain(x):
    """A JSON-able copy of a number: int stays int, any other real becomes float."""
    if isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_)):
        return int(x)
    return float(x)


class LearningRateSchedule:
    """Base class: a callable ``step -> learning rate`` (a float32 scalar) with a config.

    Subclasses set ``self._config`` (their arguments, JSON-able) and define ``__call__``.
    """

    _config: dict

    def __call__(self, step: jax.typing.ArrayLike) -> jax.Array:
        raise NotImplementedError(
            f"{type(self).__name__} must define __call__(self, step) returning the rate.")

    def get_config(self) -> dict:
        """The schedule's arguments; ``type(self).from_config(config)`` rebuilds it."""
        return dict(self._config)

    @classmethod
    def from_config(cls, config: dict) -> LearningRateSchedule:
        """Rebuilds a schedule from :meth:`get_config`'s output."""
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._config.items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.get_config() == other.get_config()

    def __hash__(self) -> int:
        return hash(repr(self))

    def __reduce__(self):
        return type(self).from_config, (self.get_config(),)


def _name(owner: str, name: Any) -> str:
    if not isinstance(name, str):
        raise TypeError(f"{owner}: name must be a str; got {name!r}.")
    return name


def _rate(owner: str, key: str, value: Any) -> float:
    return _checks.number(owner, key, value, NON_NEGATIVE)


def _steps(owner: str, key: str, value: Any, interval=POSITIVE):
    _checks.number(owner, key, value, interval)
    return _plain(value)


class ExponentialDecay(LearningRateSchedule):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)``, as Keras's.

    With ``staircase=True`` the exponent is ``floor(step / decay_steps)``.

    Args:
        initial_learning_rate: the rate at step 0, >= 0.
        decay_steps: > 0.
        decay_rate: >= 0.
        staircase: decay at discrete intervals.
        name: kept in the config, as Keras's.

    Example:
        >>> ExponentialDecay(1.0, decay_steps=2, decay_rate=0.25)(1)
        Array(0.5, dtype=float32)
    """

    def __init__(self, initial_learning_rate: float, decay_steps: float, decay_rate: float,
                 staircase: bool = False, name: str = "ExponentialDecay"):
        owner = "ExponentialDecay"
        self._config = {
            "initial_learning_rate": _rate(owner, "initial_learning_rate", initial_learning_rate),
            "decay_steps": _steps(owner, "decay_steps", decay_steps),
            "decay_rate": _checks.number(owner, "decay_rate", decay_rate, NON_NEGATIVE),
            "staircase": _checks.boolean(owner, "staircase", staircase),
            "name": _name(owner, name),
        }
        c = self._config
        # optax makes decay_rate=0 a constant schedule; Keras's 0**p drops to 0 after step 0.
        self._optax = None if c["decay_rate"] == 0 else optax.exponential_decay(
            c["initial_learning_rate"], c["decay_steps"], c["decay_rate"],
            staircase=c["staircase"])

    def __call__(self, step):
        step, c = _f32(step), self._config
        if self._optax is not None:
            return _f32(self._optax(step))
        p = step / c["decay_steps"]
        p = jnp.floor(p) if c["staircase"] else p
        return jnp.where(p == 0, _f32(c["initial_learning_rate"]), _f32(0.0))


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[i]`` for ``boundaries[i-1] < step <= boundaries[i]``, as Keras's.

    That is ``values[0]`` up to and including step ``boundaries[0]``, ``values[-1]`` after
    ``boundaries[-1]``.

    Args:
        boundaries: strictly increasing step numbers.
        values: the rates, each >= 0; one more than ``boundaries``.
        name: kept in the config.

    Example:
        >>> schedule = PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1])
        >>> [float(schedule(s)) for s in (10, 11, 21)]
        [1.0, 0.5, 0.1]
    """

    def __init__(self, boundaries, values, name: str = "PiecewiseConstant"):
        owner = "PiecewiseConstantDecay"
        for key, seq in (("boundaries", boundaries), ("values", values)):
            if not isinstance(seq, (list, tuple)):
                raise TypeError(f"{owner}: {key} must be a list of numbers; got {seq!r}.")
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                f"{owner}: values must have one more element than boundaries; got "
                f"{len(boundaries)} boundaries {list(boundaries)} and {len(values)} values "
                f"{list(values)}."
            )
        for b in boundaries:
            _checks.number(owner, "each boundary", b)
        bounds = [_plain(b) for b in boundaries]
        if any(lo >= hi for lo, hi in itertools.pairwise(bounds)):
            raise ValueError(f"{owner}: boundaries must be strictly increasing; got {bounds}.")
        self._config = {
            "boundaries": bounds,
            "values": [_rate(owner, "each value", v) for v in values],
            "name": _name(owner, name),
        }

    def __call__(self, step):
        step = jnp.asarray(step)  # Keras compares in the step's dtype
        bounds = jnp.asarray(self._config["boundaries"], step.dtype)
        index = jnp.searchsorted(bounds, step, side="left")
        return _f32(self._config["values"])[index]


class PolynomialDecay(LearningRateSchedule):
    """``(initial - end) * (1 - step / decay_steps) ** power + end``, as Keras's.

    The step stops at ``decay_steps``; with ``cycle=True`` ``decay_steps`` is instead
    multiplied by ``ceil(step / decay_steps)`` (at least 1), restarting the decay.

    Args:
        initial_learning_rate: >= 0.
        decay_steps: > 0.
        end_learning_rate: >= 0. Defaults to 0.0001.
        power: >= 0. Defaults to 1.0 (linear).
        cycle: restart after ``decay_steps``. Defaults to False.
        name: kept in the config.

    Example:
        >>> PolynomialDecay(1.0, decay_steps=4, end_learning_rate=0.0)(1)
        Array(0.75, dtype=float32)
    """

    def __init__(self, initial_learning_rate: float, decay_steps: float,
                 end_learning_rate: float = 0.0001, power: float = 1.0, cycle: bool = False,
                 name: str = "PolynomialDecay"):
        owner = "PolynomialDecay"
        self._config = {
            "initial_learning_rate": _rate(owner, "initial_learning_rate", initial_learning_rate),
            "decay_steps": _steps(owner, "decay_steps", decay_steps),
            "end_learning_rate": _rate(owner, "end_learning_rate", end_learning_rate),
            "power": _checks.number(owner, "power", power, NON_NEGATIVE),
            "cycle": _checks.boolean(owner, "cycle", cycle),
            "name": _name(owner, name),
        }

    def __call__(self, step):
        c = self._config
        initial, end = _f32(c["initial_learning_rate"]), _f32(c["end_learning_rate"])
        step, decay_steps = _f32(step), _f32(c["decay_steps"])
        if c["cycle"]:
            multiplier = jnp.where(step == 0, 1.0, jnp.ceil(step / c["decay_steps"]))
            decay_steps = decay_steps * multiplier
        else:
            step = jnp.minimum(step, decay_steps)
        p = step / decay_steps
        return (initial - end) * jnp.power(1 - p, _f32(c["power"])) + end


class InverseTimeDecay(LearningRateSchedule):
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)``, as Keras's.

    With ``staircase=True``, ``step / decay_steps`` is floored.

    Args:
        initial_learning_rate: >= 0.
        decay_steps: > 0.
        decay_rate: >= 0.
        staircase: decay at discrete intervals.
        name: kept in the config.

    Example:
        >>> InverseTimeDecay(1.0, decay_steps=1, decay_rate=0.5)(2)
        Array(0.5, dtype=float32)
    """

    def __init__(self, initial_learning_rate: float, decay_steps: float, decay_rate: float,
                 staircase: bool = False, name: str = "InverseTimeDecay"):
        owner = "InverseTimeDecay"
        self._config = {
            "initial_learning_rate": _rate(owner, "initial_learning_rate", initial_learning_rate),
            "decay_steps": _steps(owner, "decay_steps", decay_steps),
            "decay_rate": _checks.number(owner, "decay_rate", decay_rate, NON_NEGATIVE),
            "staircase": _checks.boolean(owner, "staircase", staircase),
            "name": _name(owner, name),
        }

    def __call__(self, step):
        c = self._config
        p = _f32(step) / _f32(c["decay_steps"])
        p = jnp.floor(p) if c["staircase"] else p
        return _f32(c["initial_learning_rate"]) / (_f32(1) + _f32(c["decay_rate"]) * p)


def _cosine(step, decay_steps, decay_from, alpha):
    """Keras's ``CosineDecay._decay_function``."""
    cosine_decayed = 0.5 * (1.0 + jnp.cos(_f32(math.pi) * (step / decay_steps)))
    return decay_from * ((1 - alpha) * cosine_decayed + alpha)


class CosineDecay(LearningRateSchedule):
    """A cosine decay from ``initial_learning_rate`` to ``alpha`` times it, as Keras's.

    ``rate * ((1 - alpha) * 0.5 * (1 + cos(pi * min(step, decay_steps) / decay_steps)) +
    alpha)``. With ``warmup_target`` set, the rate first rises linearly from
    ``initial_learning_rate`` to ``warmup_target`` over ``warmup_steps``, then decays from
    ``warmup_target``.

    Args:
        initial_learning_rate: >= 0.
        decay_steps: > 0.
        alpha: the final rate as a fraction, in [0, 1]. Defaults to 0.0.
        name: kept in the config.
        warmup_target: None (no warmup) or the rate at the end of warmup, >= 0.
        warmup_steps: >= 0. Defaults to 0.

    Example:
        >>> schedule = CosineDecay(0.0, decay_steps=10, warmup_target=1.0, warmup_steps=4)
        >>> [round(float(schedule(s)), 4) for s in (2, 4, 9, 20)]
        [0.5, 1.0, 0.5, 0.0]
    """

    def __init__(self, initial_learning_rate: float, decay_steps: float, alpha: float = 0.0,
                 name: str = "CosineDecay", warmup_target: float | None = None,
                 warmup_steps: float = 0):
        owner = "CosineDecay"
        self._config = {
            "initial_learning_rate": _rate(owner, "initial_learning_rate", initial_learning_rate),
            "decay_steps": _steps(owner, "decay_steps", decay_steps),
            "alpha": _checks.number(owner, "alpha", alpha, UNIT),
            "name": _name(owner, name),
            "warmup_target": _checks.optional_number(
                owner, "warmup_target", warmup_target, NON_NEGATIVE),
            "warmup_steps": _steps(owner, "warmup_steps", warmup_steps, NON_NEGATIVE),
        }

    def __call__(self, step):
        c = self._config
        initial, decay_steps, step = (
            _f32(c["initial_learning_rate"]), _f32(c["decay_steps"]), _f32(step))
        if c["warmup_target"] is None:
            return _cosine(jnp.minimum(step, decay_steps), decay_steps, initial, c["alpha"])
        target, warmup_steps = _f32(c["warmup_target"]), _f32(c["warmup_steps"])
        step = jnp.minimum(step, decay_steps + warmup_steps)
        # lax.cond as in Keras: each branch compiled as one computation rounds as Keras's does
        # even outside jit.
        return jax.lax.cond(
            step < warmup_steps,
            lambda: (target - initial) * (step / warmup_steps) + initial,
            lambda: _cosine(step - warmup_steps, decay_steps, target, c["alpha"]))


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR), as Keras's.

    The multiplier decays from 1 to ``alpha`` over ``first_decay_steps``, then restarts;
    each period is ``t_mul`` times longer and starts ``m_mul`` times lower than the last.

    Args:
        initial_learning_rate: >= 0.
        first_decay_steps: > 0.
        t_mul: > 0, the growth of the period. Defaults to 2.0.
        m_mul: >= 0, the factor on each restart's rate. Defaults to 1.0.
        alpha: the final fraction of each period, in [0, 1]. Defaults to 0.0.
        name: kept in the config.

    Example:
        >>> schedule = CosineDecayRestarts(1.0, first_decay_steps=10, t_mul=1.0, m_mul=0.5)
        >>> [round(float(schedule(s)), 4) for s in (0, 5, 10, 15)]
        [1.0, 0.5, 0.5, 0.25]
    """

    def __init__(self, initial_learning_rate: float, first_decay_steps: float,
                 t_mul: float = 2.0, m_mul: float = 1.0, alpha: float = 0.0,
                 name: str = "SGDRDecay"):
        owner = "CosineDecayRestarts"
        self._config = {
            "initial_learning_rate": _rate(owner, "initial_learning_rate", initial_learning_rate),
            "first_decay_steps": _steps(owner, "first_decay_steps", first_decay_steps),
            "t_mul": _checks.number(owner, "t_mul", t_mul, POSITIVE),
            "m_mul": _checks.number(owner, "m_mul", m_mul, NON_NEGATIVE),
            "alpha": _checks.number(owner, "alpha", alpha, UNIT),
            "name": _name(owner, name),
        }

    def __call__(self, step):
        c = self._config
        alpha, t_mul, m_mul = _f32(c["alpha"]), _f32(c["t_mul"]), _f32(c["m_mul"])
        fraction = _f32(step) / _f32(c["first_decay_steps"])

        def periodic():
            restart = jnp.floor(fraction)
            return restart, fraction - restart

        def geometric():
            restart = jnp.floor(jnp.log(1.0 - fraction * (1.0 - t_mul)) / jnp.log(t_mul))
            sum_r = (1.0 - jnp.power(t_mul, restart)) / (1.0 - t_mul)
            return restart, (fraction - sum_r) / jnp.power(t_mul, restart)

        restart, fraction = jax.lax.cond(t_mul == 1.0, periodic, geometric)  # as Keras
        m_fac = jnp.power(m_mul, restart)
        cosine_decayed = 0.5 * m_fac * (1.0 + jnp.cos(_f32(math.pi) * fraction))
        return _f32(c["initial_learning_rate"]) * ((1 - alpha) * cosine_decayed + alpha)


_SCHEDULES = {cls.__name__: cls for cls in (
    ExponentialDecay, PiecewiseConstantDecay, PolynomialDecay, InverseTimeDecay, CosineDecay,
    CosineDecayRestarts)}


def serialize(schedule: LearningRateSchedule) -> dict:
    """``{"class_name": ..., "config": {...}}``, JSON-able, for :func:`deserialize`.

    Example:
        >>> serialize(InverseTimeDecay(0.1, 100, 0.5))
        {'class_name': 'InverseTimeDecay', 'config': {'initial_learning_rate': 0.1,
         'decay_steps': 100, 'decay_rate': 0.5, 'staircase': False, 'name': 'InverseTimeDecay'}}
    """
    if type(schedule) not in _SCHEDULES.values():
        raise TypeError(
            f"serialize: expected one of the schedules {sorted(_SCHEDULES)}; got {schedule!r} "
            f"of type {type(schedule).__name__}. A plain function cannot be stored as JSON."
        )
    return {"class_name": type(schedule).__name__, "config": schedule.get_config()}


def deserialize(config: dict) -> LearningRateSchedule:
    """The schedule :func:`serialize` (or Keras's ``schedules.serialize``) described.

    Keras's extra keys (``module``, ``registered_name``) are ignored.

    Example:
        >>> deserialize({"class_name": "CosineDecay", "config": {"initial_learning_rate": 0.1,
        ...                                                      "decay_steps": 100}})
        CosineDecay(initial_learning_rate=0.1, decay_steps=100, alpha=0.0, name='CosineDecay',
                    warmup_target=None, warmup_steps=0)
    """
    if not isinstance(config, dict) or not isinstance(config.get("config"), dict):
        raise TypeError(
            f"deserialize: a serialized schedule is a dict {{'class_name': str, 'config': "
            f"dict}}; got {config!r}. Use the output of fnnet.optimizers.schedules.serialize."
        )
    name = config.get("class_name")
    if name not in _SCHEDULES:
        raise unknown_name("learning-rate schedule", name, _SCHEDULES, argument="class_name")
    return _SCHEDULES[name].from_config(config["config"])
