"""Argument checks and output-size arithmetic shared by the convolution, pooling and reshaping
layers: Keras 3's rules (``keras.src.ops.operation_utils`` and ``backend_utils``), written once.

Everything here runs on the host with concrete Python ints, so a mistake is reported with its
values before anything is traced.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

# lax dimension numbers for channels-last inputs and Keras's kernels (..., in, out).
LAYOUTS = {
    1: ("NWC", "WIO", "NWC"),
    2: ("NHWC", "HWIO", "NHWC"),
    3: ("NDHWC", "DHWIO", "NDHWC"),
}
# How the input shape reads, for error messages.
SHAPE_NAMES = {
    1: "(batch, steps, channels)",
    2: "(batch, height, width, channels)",
    3: "(batch, depth, height, width, channels)",
}


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def check_ints(kind: str, arg: str, value: Any, n: int, example: str, *,
               allow_zero: bool = False) -> tuple[int, ...]:
    """``value`` (an int, or ``n`` ints) as a tuple of ``n`` ints, as Keras's
    ``standardize_tuple``; positive, or non-negative with ``allow_zero``."""
    if _is_int(value):
        values = (int(value),) * n
    elif isinstance(value, (tuple, list)) and len(value) == n and all(_is_int(v) for v in value):
        values = tuple(int(v) for v in value)
    else:
        values = None
    if values is None or min(values) < (0 if allow_zero else 1):
        what = "non-negative" if allow_zero else "positive"
        raise ValueError(
            f"{kind}: {arg} must be a {what} int or a tuple of {n} {what} ints; got {value!r}. "
            f"For example {example}."
        )
    return values


def check_pairs(kind: str, arg: str, value: Any, n: int, example: str) -> tuple:
    """Keras's ``padding``/``cropping`` of the 2D and 3D layers: an int (the same on both sides
    of every axis), ``n`` ints (symmetric per axis) or ``n`` pairs ``(before, after)``; as a
    tuple of ``n`` pairs of non-negative ints."""
    pairs = None
    if _is_int(value):
        pairs = ((int(value),) * 2,) * n
    elif isinstance(value, (tuple, list)) and len(value) == n:
        pairs = []
        for v in value:
            if _is_int(v):
                pairs.append((int(v),) * 2)
            elif isinstance(v, (tuple, list)) and len(v) == 2 and all(_is_int(u) for u in v):
                pairs.append((int(v[0]), int(v[1])))
            else:
                pairs = None
                break
    if pairs is None or min(min(p) for p in pairs) < 0:
        raise ValueError(
            f"{kind}: {arg} must be a non-negative int, a tuple of {n} non-negative ints "
            f"(symmetric per axis) or a tuple of {n} pairs (before, after); got {value!r}. For "
            f"example {example}."
        )
    return tuple(tuple(p) for p in pairs)


def check_padding(kind: str, padding: Any, allowed: Sequence[str] = ("valid", "same")) -> str:
    """The padding mode, lowercased as Keras does."""
    if not isinstance(padding, str) or padding.lower() not in allowed:
        options = " or ".join(repr(a) for a in allowed)
        raise ValueError(
            f"{kind}: padding must be {options} (case-insensitive); got {padding!r}. For "
            f"example padding='same' keeps the spatial size at strides=1."
        )
    return padding.lower()


def check_data_format(kind: str, data_format: Any) -> str:
    """``"channels_last"``: fnnet's only layout. None means it, as in Keras's default config."""
    if data_format is None or (isinstance(data_format, str)
                               and data_format.lower() == "channels_last"):
        return "channels_last"
    if isinstance(data_format, str) and data_format.lower() == "channels_first":
        raise ValueError(
            f"{kind}: data_format='channels_first' is not supported; fnnet layers are "
            f"channels-last only. Move the channels axis last, e.g. jnp.moveaxis(x, 1, -1), and "
            f"pass data_format=None or 'channels_last'."
        )
    raise ValueError(
        f"{kind}: data_format must be None or 'channels_last'; got {data_format!r}."
    )


def check_bool(kind: str, arg: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{kind}: {arg} must be True or False; got {value!r}.")
    return bool(value)


def check_rank(label: str, shape: Sequence, rank: int, *, channels: bool = True) -> None:
    """Raises unless ``shape`` is ``(batch, *spatial, channels)`` with ``rank`` spatial axes
    (and, with ``channels``, a known channel count)."""
    shape = tuple(shape)
    if len(shape) != rank + 2:
        hint = (" For grayscale images add a channels axis, e.g. input_shape=(28, 28, 1)."
                if len(shape) == rank + 1 else "")
        raise ValueError(
            f"{label}: expects inputs of rank {rank + 2}, {SHAPE_NAMES[rank]}, with the batch "
            f"dim; got shape {shape}.{hint}"
        )
    if channels and (shape[-1] is None or shape[-1] < 1):
        raise ValueError(
            f"{label}: the channels axis (last) must have a known size >= 1; got input shape "
            f"{shape}."
        )


def _too_small(label: str, spatial: Sequence, what: str, padding: str) -> ValueError:
    return ValueError(
        f"{label}: the input's spatial shape {tuple(spatial)} is too small for {what} with "
        f"padding={padding!r}: the output would be empty. Use padding='same', a smaller window, "
        f"or larger inputs."
    )


def conv_output(label: str, spatial: Sequence, kernel: Sequence[int], strides: Sequence[int],
                dilation: Sequence[int], padding: str) -> tuple:
    """Keras's ``compute_conv_output_shape`` (``causal`` sizes as ``same``); None stays None."""
    out = []
    for n, k, s, d in zip(spatial, kernel, strides, dilation, strict=True):
        if n is None:
            out.append(None)
        elif padding == "valid":
            out.append((n - d * (k - 1) - 1) // s + 1)
        else:
            out.append(-(-n // s))
    if any(o is not None and o <= 0 for o in out):
        raise _too_small(label, spatial, f"kernel_size={tuple(kernel)}, strides={tuple(strides)}, "
                                         f"dilation_rate={tuple(dilation)}", padding)
    return tuple(out)


def pool_output(label: str, spatial: Sequence, pool: Sequence[int], strides: Sequence[int],
                padding: str) -> tuple:
    """Keras's ``compute_pooling_output_shape``; None stays None."""
    out = []
    for n, p, s in zip(spatial, pool, strides, strict=True):
        if n is None:
            out.append(None)
        elif padding == "valid":
            out.append((n - p) // s + 1)
        else:
            out.append(-(-n // s))
    if any(o is not None and o <= 0 for o in out):
        raise _too_small(label, spatial, f"pool_size={tuple(pool)}, strides={tuple(strides)}",
                         padding)
    return tuple(out)


def transpose_output(spatial: Sequence, kernel: Sequence[int], strides: Sequence[int],
                     dilation: Sequence[int], padding: str, output_padding: Sequence | None) -> tuple:
    """Keras's ``compute_conv_transpose_output_shape`` (its TF-style padding rule)."""
    out = []
    for i, (n, k, s, d) in enumerate(zip(spatial, kernel, strides, dilation, strict=True)):
        op = None if output_padding is None else output_padding[i]
        k = (k - 1) * d + 1
        if n is None:
            out.append(None)
        elif padding == "valid":
            out.append((n - 1) * s + k + (max(k, s) - k if op is None else op))
        else:
            out.append(n * s if op is None else (n - 1) * s + k % 2 + op)
    return tuple(out)


def transpose_padding(kernel: Sequence[int], strides: Sequence[int], dilation: Sequence[int],
                      padding: str, output_padding: Sequence | None) -> list[tuple[int, int]]:
    """The explicit ``(low, high)`` padding of ``lax.conv_transpose`` that gives Keras's output
    (``_convert_conv_transpose_padding_args_from_keras_to_jax``)."""
    pads = []
    for i, (k, s, d) in enumerate(zip(kernel, strides, dilation, strict=True)):
        op = None if output_padding is None else output_padding[i]
        k = (k - 1) * d + 1
        if padding == "valid":
            op = max(k, s) - k if op is None else op
            pads.append((k - 1, k - 1 + op))
        else:
            total = s + k - 2 if op is None else k + k % 2 - 2 + op
            low = min(total // 2 + total % 2, k - 1)
            pads.append((low, total - low))
    return pads


def add_sections(fn: Callable, sections: str) -> None:
    """Puts the Shapes/Params/Args sections the 1D, 2D and 3D variants share into ``fn``'s
    docstring, before its Example (one text for three constructors, kept in one place)."""
    if fn.__doc__ is not None:  # python -OO strips docstrings
        head, sep, example = fn.__doc__.partition("\n    Example:")
        fn.__doc__ = head.rstrip() + "\n\n" + sections.strip("\n").rstrip() + "\n" + sep + example
