"""Helpers shared by the sequence layers (cells, recurrent, wrappers, embedding, attention)."""

from __future__ import annotations

from typing import Any


def check_rate(layer: str, arg: str, value: Any) -> float:
    """A dropout rate in ``[0, 1)``, or a ValueError naming the layer and argument."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ValueError(
            f"{layer}: {arg} is the probability of dropping and must be a number in [0, 1); got "
            f"{value!r}. For example {arg}=0.2, or 0.0 for none."
        )
    return float(value)


def check_bool(layer: str, arg: str, value: Any) -> bool:
    """``value`` if it is a bool, else a TypeError naming the layer and argument."""
    if not isinstance(value, bool):
        raise TypeError(f"{layer}: {arg} must be True or False; got {value!r}.")
    return value
