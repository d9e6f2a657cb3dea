"""Argument checks shared by the optimizers and the schedules: types, finiteness and ranges.

Every check runs on the host when an optimizer or schedule is built, so a bad value fails at
the call that made it, with its name, the value received and the range expected, instead of
turning every weight into inf or NaN one epoch later.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np


def _as_real(value: Any) -> float | None:
    """``value`` as a Python float if it is a real number (not a bool), else None."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    shape, dtype = getattr(value, "shape", None), getattr(value, "dtype", None)
    if shape == () and dtype is not None and np.issubdtype(dtype, np.number):
        try:  # a concrete 0-d numpy or JAX array; a tracer refuses float().
            if not np.issubdtype(dtype, np.complexfloating):
                return float(value)
        except TypeError:
            return None
    return None


class Interval(NamedTuple):
    """A range of allowed values; ``why`` says what goes wrong outside it."""

    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False
    why: str = ""

    def __str__(self) -> str:
        if self.high == math.inf and self.low == 0:
            return "positive (> 0)" if self.low_open else "non-negative (>= 0)"
        left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
        return f"in {left}{self.low:g}, {self.high:g}{right}"

    def __contains__(self, x: float) -> bool:
        above = x > self.low if self.low_open else x >= self.low
        below = x < self.high if self.high_open else x <= self.high
        return above and below


ANY = Interval()
NON_NEGATIVE = Interval(0.0)
POSITIVE = Interval(0.0, low_open=True)
UNIT = Interval(0.0, 1.0)


def number(owner: str, key: str, value: Any, interval: Interval = ANY, *,
           expected: str = "a float") -> float:
    """``value`` as a float after checking that it is a finite real number in ``interval``.

    Raises:
        TypeError: if ``value`` is not a real number.
        ValueError: if it is inf or NaN, or outside ``interval``.
    """
    x = _as_real(value)
    if x is None:
        raise TypeError(
            f"{owner}: {key} must be {expected}; got {value!r} of type {type(value).__name__}."
        )
    if not math.isfinite(x):
        raise ValueError(
            f"{owner}: {key} must be finite; got {key}={x}. A non-finite value makes the first "
            f"update inf or NaN in every weight; pass a finite float."
        )
    if x not in interval:
        why = f" ({interval.why})" if interval.why else ""
        raise ValueError(f"{owner}: {key} must be {interval}; got {key}={x}{why}.")
    return x


def optional_number(owner: str, key: str, value: Any, interval: Interval) -> float | None:
    """None, or :func:`number`; the message says None is allowed."""
    if value is None:
        return None
    return number(owner, key, value, interval, expected="a float or None")


def boolean(owner: str, key: str, value: Any) -> bool:
    """``value`` as a bool; refuses 0, 1 and the strings that are easy to pass by mistake."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{owner}: {key} must be True or False; got {value!r}.")
    return bool(value)


def integer(owner: str, key: str, value: Any, minimum: int, *, optional: bool = False) -> int | None:
    """``value`` as an int >= ``minimum`` (None allowed if ``optional``)."""
    if value is None and optional:
        return None
    is_int = isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
    if not is_int:
        none = " or None" if optional else ""
        raise TypeError(
            f"{owner}: {key} must be an int{none}; got {value!r} of type {type(value).__name__}."
        )
    if value < minimum:
        raise ValueError(f"{owner}: {key} must be an int >= {minimum}; got {key}={value}.")
    return int(value)


def one_clip(owner: str, config: dict) -> None:
    """Keras allows at most one of the three clipping arguments."""
    given = [k for k in ("clipnorm", "clipvalue", "global_clipnorm") if config.get(k) is not None]
    if len(given) > 1:
        raise ValueError(
            f"{owner}: pass at most one of clipnorm, clipvalue and global_clipnorm; got "
            f"{', '.join(f'{k}={config[k]}' for k in given)}."
        )
