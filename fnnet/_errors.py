"""Shared helpers for clear, actionable error messages."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def unknown_name(kind: str, name: object, valid: Iterable[str], argument: str | None = None) -> ValueError:
    """A ValueError for an unknown registry name that lists the valid ones and suggests the closest.

    Example:
        >>> print(unknown_name("optimizer", "rmsprp", ["sgd", "rmsprop", "adam"]))
        Unknown optimizer 'rmsprp'; did you mean 'rmsprop'? Valid optimizer names: 'adam', 'rmsprop', 'sgd'.
    """
    valid = sorted(set(valid))
    close = difflib.get_close_matches(str(name).lower(), valid, n=1, cutoff=0.5)
    hint = f"; did you mean {close[0]!r}?" if close else "."
    where = f" for {argument}" if argument else ""
    listed = ", ".join(repr(v) for v in valid)
    return ValueError(f"Unknown {kind} {name!r}{where}{hint} Valid {kind} names: {listed}.")
