"""Host-side checks of a model's data, for one or several inputs and outputs.

Arrays are checked one by one by :mod:`fnnet._validation` (numeric, finite, non-empty, native
byte order) and then against the model: each input's per-example shape, one row count for
all, and each target against its output's loss and shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from fnnet._validation import check_labels
from fnnet._validation import prepare_inputs as _prepare_array
from fnnet._validation import prepare_targets as _prepare_target_array

__all__ = ["prepare_inputs", "prepare_targets", "rows", "slice_rows"]


def rows(data: Any) -> int:
    """The number of examples in an array or a tuple of arrays."""
    return len(data[0]) if isinstance(data, tuple) else len(data)


def slice_rows(data: Any, sl: slice) -> Any:
    """``data[sl]`` for an array, or for every array of a tuple (None stays None)."""
    if data is None:
        return None
    if isinstance(data, tuple):
        return tuple(slice_rows(d, sl) for d in data)
    return data[sl]


def _shape_matches(got: tuple, expected: tuple) -> bool:
    return len(got) == len(expected) and all(e is None or g == e for g, e in
                                             zip(got, expected, strict=True))


def _by_name(where: str, argument: str, data: Any, names: Sequence[str]) -> list:
    """A list in ``names``' order from a list/tuple or a dict keyed by those names."""
    if isinstance(data, dict):
        missing = [n for n in names if n not in data]
        extra = [k for k in data if k not in names]
        if missing or extra:
            raise ValueError(
                f"{where}: {argument} is a dict with keys {sorted(data)}; the model's "
                f"{'inputs' if argument == 'x' else 'outputs'} are {list(names)}. "
                f"{'Missing: ' + str(missing) + '. ' if missing else ''}"
                f"{'Unknown: ' + str(extra) + '.' if extra else ''}"
            )
        return [data[n] for n in names]
    if isinstance(data, (list, tuple)) and len(data) == len(names) and not (
            len(names) == 1 and np.ndim(data) > 1):
        return list(data)
    raise ValueError(
        f"{where}: the model has {len(names)} {'inputs' if argument == 'x' else 'outputs'} "
        f"({list(names)}), so {argument} must be a list of {len(names)} arrays or a dict keyed "
        f"by those names; got {type(data).__name__}"
        f"{f' of length {len(data)}' if isinstance(data, (list, tuple)) else ''}."
    )


def prepare_inputs(where: str, x: Any, specs: Sequence[tuple[str, tuple | None, str]],
                   check_values: bool = True) -> Any:
    """The model's inputs as one array (one input) or a tuple in input order, all checked.

    ``specs``: per input, ``(name, per-example shape or None, who reads it)``, e.g. ``("input",
    (784,), "layer 'dense' (Dense) of model 'sequential'")``.
    """
    names = [name for name, _, _ in specs]
    arrays = [x] if len(specs) == 1 else _by_name(where, "x", x, names)
    out = []
    for (name, shape, who), value in zip(specs, arrays, strict=True):
        argument = "x" if len(specs) == 1 else f"x[{name!r}]"
        arr = _prepare_array(where, value, check_values=check_values)
        if shape is not None and not _shape_matches(tuple(arr.shape[1:]), tuple(shape)):
            dims = ", ".join("?" if d is None else str(d) for d in shape)
            raise ValueError(
                f"{where}: input {argument} has shape {tuple(arr.shape)}, but {who} expects "
                f"inputs of shape (batch, {dims}). Reshape {argument} to (n, {dims})."
            )
        out.append(arr)
    n = len(out[0])
    for (name, _, _), arr in zip(specs, out, strict=True):
        if len(arr) != n:
            raise ValueError(
                f"{where}: the inputs have different lengths: {names[0]!r} has {n} examples, "
                f"{name!r} has {len(arr)}. Pass one row per example in every input."
            )
    return out[0] if len(out) == 1 else tuple(out)


def prepare_targets(where: str, y: Any, n: int, output_names: Sequence[str], losses: Sequence,
                    output_shapes: Sequence) -> Any:
    """The targets as one array (one output) or a tuple in output order, each checked against
    its output's loss and shape."""
    if len(output_names) <= 1:
        arr = _prepare_target_array(where, y, n)
        check_labels(where, losses[0] if losses else None, arr,
                     output_shapes[0] if output_shapes else None)
        return arr
    arrays = _by_name(where, "y", y, output_names)
    out = []
    for name, value, loss, shape in zip(output_names, arrays, losses, output_shapes, strict=True):
        arr = _prepare_target_array(f"{where} (output {name!r})", value, n)
        check_labels(f"{where} (output {name!r})", loss, arr, shape)
        out.append(arr)
    return tuple(out)
