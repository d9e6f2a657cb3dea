"""Merge layers with Keras 3's names, arguments and numerics: Add, Subtract, Multiply, Average,
Maximum, Minimum, Concatenate and Dot.

A merge layer takes a tuple (or list) of arrays, as :func:`fnnet.fan_in_sum` does: its
``init`` takes the tuple of their shapes, each with the batch dim. No params, no state.

Shapes follow Keras: the element-wise merges need inputs of one batch size whose per-example
shapes broadcast (equal, or 1; an input of lower rank gets size-1 axes after its batch axis).

Data masks (:class:`fnnet.Masked` inputs) follow Keras 3, which changed Keras 2's rule: the
output of an element-wise merge is masked only when *every* input is, with the logical OR of
their masks. ``Multiply`` reads masked entries as 1 (and zeroes the output outside the merged
mask), ``Maximum``/``Minimum`` read a masked entry as the other inputs' value; ``Add``,
``Subtract`` and ``Average`` merge the values as they are. ``Concatenate`` has its own rule
(see there) and ``Dot`` drops the masks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp

from fnnet.core import Layer, Masked

__all__ = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot"]


# ------------------------------------------------------------------------------------- checks
def _is_shape(s: Any) -> bool:
    return isinstance(s, (tuple, list)) and all(
        d is None or (isinstance(d, int) and not isinstance(d, bool) and d >= 0) for d in s)


def _check_shapes(kind: str, shapes: Any, exactly: int | None = None, min_rank: int = 1) -> list:
    """The input shapes as a list of tuples, or a clear error."""
    if not isinstance(shapes, (tuple, list)) or not shapes or not all(_is_shape(s) for s in shapes):
        raise ValueError(
            f"{kind} merges a tuple of inputs, so init takes a tuple of their shapes, each with "
            f"the batch dim, e.g. ((None, 4), (None, 4)); got {shapes!r}. Put it after a layer "
            f"that outputs a tuple (fan_out, parallel)."
        )
    shapes = [tuple(s) for s in shapes]
    if exactly is not None and len(shapes) != exactly:
        raise ValueError(
            f"{kind} takes exactly {exactly} inputs; got {len(shapes)}, of shapes {shapes}."
        )
    if any(len(s) < min_rank for s in shapes):
        raise ValueError(
            f"{kind}: every input needs at least {min_rank} dims, the batch dim first; got input "
            f"shapes {shapes}."
        )
    batches = {s[0] for s in shapes} - {None}
    if len(batches) > 1:
        raise ValueError(
            f"{kind}: all inputs must have the same batch size; got input shapes {shapes}."
        )
    return shapes


def _broadcast(kind: str, shapes: list) -> tuple:
    """The output shape of an element-wise merge, by Keras's rule (size-1 and None dims)."""
    out: tuple | None = None
    for shape in (s[1:] for s in shapes):
        if out is None:
            out = shape
            continue
        long, short = (out, shape) if len(out) >= len(shape) else (shape, out)
        dims = list(long[:len(long) - len(short)])
        for i, j in zip(long[len(long) - len(short):], short, strict=True):
            if i is None or j is None:
                dims.append(None)
            elif i == 1 or j == 1:
                dims.append(j if i == 1 else i)
            elif i != j:
                raise ValueError(
                    f"{kind}: the inputs' shapes must be equal or broadcast (a dim of 1 "
                    f"stretches); got input shapes {shapes}. Project the branches to one shape "
                    f"first, e.g. with Dense."
                )
            else:
                dims.append(i)
        out = tuple(dims)
    batch = next((s[0] for s in shapes if s[0] is not None), None)
    return (batch, *out)


def _check_inputs(kind: str, xs: Any, exactly: int | None = None) -> None:
    if not isinstance(xs, (tuple, list)) or not xs:
        raise ValueError(
            f"{kind} merges a tuple (or list) of inputs; got {type(xs).__name__}. Call it on "
            f"(x1, x2, ...), e.g. after fan_out or parallel."
        )
    if exactly is not None and len(xs) != exactly:
        raise ValueError(f"{kind} takes exactly {exactly} inputs; got {len(xs)}.")


def _split(xs: Sequence) -> tuple[list, list]:
    values = [x.value if isinstance(x, Masked) else x for x in xs]
    masks = [x.mask if isinstance(x, Masked) else None for x in xs]
    return values, masks


def _common_dtype(values: list) -> list:
    dtypes = {v.dtype for v in values}
    if len(dtypes) == 1:
        return values
    with jax.numpy_dtype_promotion("standard"):  # explicit: inputs of mixed dtypes promote
        dtype = jnp.result_type(*dtypes)
    return [v.astype(dtype) for v in values]


def _full_mask(mask, shape: tuple):
    """A mask over leading axes, repeated along the trailing axes to ``shape``."""
    return jnp.broadcast_to(mask.reshape(mask.shape + (1,) * (len(shape) - mask.ndim)), shape)


def _align(values: list, masks: list) -> tuple[list, list, tuple]:
    """Inputs broadcast to one shape (Keras's reshape: size-1 axes after the batch axis), and
    their masks as full-shape bool arrays (None where unmasked)."""
    rank = max(v.ndim for v in values)

    def lift(a):
        return a.reshape(a.shape[:1] + (1,) * (rank - a.ndim) + a.shape[1:])

    full = [None if m is None else lift(_full_mask(m, v.shape)) for v, m in zip(values, masks, strict=True)]
    values = [lift(v) for v in values]
    shape = jnp.broadcast_shapes(*(v.shape for v in values))
    values = [jnp.broadcast_to(v, shape) for v in values]
    full = [None if m is None else jnp.broadcast_to(m, shape) for m in full]
    return values, full, shape


def _reduce_mask(full, rank: int):
    """A full-shape mask reduced with ``any`` over the axes after the first ``rank``."""
    return jnp.any(full, axis=tuple(range(rank, full.ndim))) if full.ndim > rank else full


# ----------------------------------------------------------------------------- element-wise
def _elementwise(kind: str, combine: Callable, name: str | None, trainable: bool,
                 exactly: int | None = None) -> Layer:
    """A merge layer; ``combine(values, full_masks) -> (y, full_output_mask or None)``."""

    def init(rng, input_shape):
        shapes = _check_shapes(kind, input_shape, exactly)
        return _broadcast(kind, shapes), (), ()

    def apply(params, state, xs, *, rng=None, training=False):
        _check_inputs(kind, xs, exactly)
        values, masks = _split(xs)
        init(None, [tuple(v.shape) for v in values])
        values, full, _ = _align(_common_dtype(values), masks)
        y, out_mask = combine(values, full)
        if out_mask is None:
            return y, state
        rank = max(m.ndim for m in masks)
        return Masked(y, _reduce_mask(out_mask, rank)), state

    return Layer(init, apply, name=name, kind=kind, config={}, supports_masking=True,
                 trainable=trainable)


def _or_all(full: list):
    """Keras 3's merged mask: the OR of the masks when every input has one, else None."""
    if any(m is None for m in full):
        return None
    out = full[0]
    for m in full[1:]:
        out = jnp.logical_or(out, m)
    return out


def _sum(values: list):
    out = values[0]
    for v in values[1:]:
        out = out + v
    return out


def Add(name: str | None = None, trainable: bool = True) -> Layer:
    """Adds a tuple of inputs element-wise (Keras's ``Add``).

    Shapes: inputs of one batch size whose per-example shapes broadcast; output: their
    broadcast shape. No params, no state.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import layers
        >>> add = layers.Add()
        >>> add.init(jax.random.key(0), ((None, 3), (None, 3)))[0]
        (None, 3)
        >>> add.apply((), (), (jnp.ones((2, 3)), jnp.ones((2, 3))))[0].tolist()
        [[2.0, 2.0, 2.0], [2.0, 2.0, 2.0]]
    """
    return _elementwise("Add", lambda vs, ms: (_sum(vs), _or_all(ms)), name, trainable)


def Subtract(name: str | None = None, trainable: bool = True) -> Layer:
    """Subtracts the second of exactly two inputs from the first (Keras's ``Subtract``).

    Shapes as :func:`Add`. No params, no state.

    Example:
        >>> import jax.numpy as jnp
        >>> from fnnet import layers
        >>> layers.Subtract().apply((), (), (jnp.full((1, 2), 5.0), jnp.ones((1, 2))))[0].tolist()
        [[4.0, 4.0]]
    """
    return _elementwise("Subtract", lambda vs, ms: (vs[0] - vs[1], _or_all(ms)), name, trainable,
                        exactly=2)


def Average(name: str | None = None, trainable: bool = True) -> Layer:
    """The element-wise mean of a tuple of inputs (Keras's ``Average``: their sum over ``n``).

    Shapes as :func:`Add`. No params, no state.

    Example:
        >>> import jax.numpy as jnp
        >>> from fnnet import layers
        >>> layers.Average().apply((), (), (jnp.zeros((1, 2)), jnp.ones((1, 2))))[0].tolist()
        [[0.5, 0.5]]
    """
    return _elementwise("Average", lambda vs, ms: (_sum(vs) / len(vs), _or_all(ms)), name,
                        trainable)


def _multiply(values: list, full: list):
    # Keras 3: masked entries count as 1; with every input masked, the output is 0 outside
    # the merged mask.
    values = [v if m is None else jnp.where(m, v, jnp.ones_like(v))
              for v, m in zip(values, full, strict=True)]
    out = values[0]
    for v in values[1:]:
        out = out * v
    mask = _or_all(full)
    if mask is not None:
        out = jnp.where(mask, out, jnp.zeros_like(out))
    return out, mask


def Multiply(name: str | None = None, trainable: bool = True) -> Layer:
    """Multiplies a tuple of inputs element-wise (Keras's ``Multiply``).

    Shapes as :func:`Add`. No params, no state.

    Example:
        >>> import jax.numpy as jnp
        >>> from fnnet import layers
        >>> layers.Multiply().apply((), (), (jnp.full((1, 2), 3.0), jnp.full((1, 2), 2.0)))[0].tolist()
        [[6.0, 6.0]]
    """
    return _elementwise("Multiply", _multiply, name, trainable)


def _masked_reduce(op: Callable) -> Callable:
    """Keras 3's ``_apply_merge_op_and_or_mask``: a masked entry takes the running value."""

    def combine(values, full):
        output, output_mask = values[0], full[0]
        for v, m in zip(values[1:], full[1:], strict=True):
            if m is not None:
                v = jnp.where(m, v, output)
            if output_mask is not None:
                output = jnp.where(output_mask, output, v)
            output_mask = None if m is None or output_mask is None else jnp.logical_or(output_mask, m)
            output = op(output, v)
        return output, output_mask

    return combine


def Maximum(name: str | None = None, trainable: bool = True) -> Layer:
    """The element-wise maximum of a tuple of inputs (Keras's ``Maximum``).

    Shapes as :func:`Add`. No params, no state.

    Example:
        >>> import jax.numpy as jnp
        >>> from fnnet import layers
        >>> xs = (jnp.array([[1.0, 5.0]]), jnp.array([[3.0, 2.0]]))
        >>> layers.Maximum().apply((), (), xs)[0].tolist()
        [[3.0, 5.0]]
    """
    return _elementwise("Maximum", _masked_reduce(jnp.maximum), name, trainable)


def Minimum(name: str | None = None, trainable: bool = True) -> Layer:
    """The element-wise minimum of a tuple of inputs (Keras's ``Minimum``).

    Shapes as :func:`Add`. No params, no state.

    Example:
        >>> import jax.numpy as jnp
        >>> from fnnet import layers
        >>> xs = (jnp.array([[1.0, 5.0]]), jnp.array([[3.0, 2.0]]))
        >>> layers.Minimum().apply((), (), xs)[0].tolist()
        [[1.0, 2.0]]
    """
    return _elementwise("Minimum", _masked_reduce(jnp.minimum), name, trainable)


# ------------------------------------------------------------------------------- Concatenate
def _check_int(kind: str, arg: str, value: Any, example: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{kind}: {arg} must be an int; got {value!r}. For example {example}.")
    return value


def Concatenate(axis: int = -1, name: str | None = None, trainable: bool = True) -> Layer:
    """Concatenates a tuple of inputs along ``axis`` (Keras's ``Concatenate``).

    Shapes: inputs of one rank that match on every axis but ``axis`` (not the batch axis);
    output: the same, with the sizes along ``axis`` summed. No params, no state.

    Masks, as Keras 3's ``Concatenate.compute_mask``: when any input is masked, each input's
    mask is repeated to the input's full shape (all True for an unmasked input), the masks are
    concatenated along ``axis`` and reduced with ``any`` over the last axis. Along the time
    axis of ``(batch, time, features)`` inputs this concatenates their ``(batch, time)`` masks.

    Args:
        axis: the axis to concatenate along (negative counts from the end).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import layers
        >>> cat = layers.Concatenate(axis=1)
        >>> cat.init(jax.random.key(0), ((None, 2, 5), (None, 3, 5)))[0]
        (None, 5, 5)
        >>> cat.apply((), (), (jnp.ones((4, 2)), jnp.zeros((4, 1))))[0].shape
        (4, 3)
    """
    _check_int("Concatenate", "axis", axis, "Concatenate(axis=-1)")

    def resolve(rank, shapes):
        if not -rank <= axis < rank or axis % rank == 0:
            raise ValueError(
                f"Concatenate(axis={axis}): the axis must be an axis of the inputs other than the "
                f"batch axis; got input shapes {shapes}. Use axis=-1 for the last axis."
            )
        return axis % rank

    def init(rng, input_shape):
        shapes = _check_shapes("Concatenate", input_shape)
        rank = len(shapes[0])
        ax = resolve(rank, shapes)
        if any(len(s) != rank for s in shapes):
            raise ValueError(
                f"Concatenate(axis={axis}): all inputs must have the same rank; got input shapes "
                f"{shapes}."
            )
        out = []
        for i in range(rank):
            dims = [s[i] for s in shapes]
            if i == ax:
                out.append(None if None in dims else sum(dims))
                continue
            known = set(dims) - {None}
            if len(known) > 1:
                raise ValueError(
                    f"Concatenate(axis={axis}): inputs must match on every axis but the "
                    f"concatenation axis; got input shapes {shapes} (they differ on axis {i})."
                )
            out.append(known.pop() if known else None)
        return tuple(out), (), ()

    def apply(params, state, xs, *, rng=None, training=False):
        _check_inputs("Concatenate", xs)
        values, masks = _split(xs)
        init(None, [tuple(v.shape) for v in values])
        values = _common_dtype(values)
        y = jnp.concatenate(values, axis=axis)
        if all(m is None for m in masks):
            return y, state
        full = [jnp.ones(v.shape, bool) if m is None else _full_mask(m, v.shape)
                for v, m in zip(values, masks, strict=True)]
        return Masked(y, jnp.any(jnp.concatenate(full, axis=axis), axis=-1)), state

    return Layer(init, apply, name=name, kind="Concatenate", config={"axis": axis},
                 supports_masking=True, trainable=trainable)


# ---------------------------------------------------------------------------------------- Dot
def _l2_normalize(x: jax.Array, axis: int) -> jax.Array:
    # Keras's ops.normalize(order=2): x * min(rsqrt(sum(x**2)), 1 / epsilon), epsilon = 1e-7.
    inv = jax.lax.rsqrt(jnp.sum(jnp.square(x), axis=axis, keepdims=True))
    return x * jnp.minimum(inv, jnp.asarray(1.0 / 1e-7, x.dtype))


def Dot(axes: int | Sequence[int], normalize: bool = False, name: str | None = None,
        trainable: bool = True) -> Layer:
    """The per-example dot product of two inputs along ``axes`` (Keras's ``Dot``).

    For inputs ``x1 (batch, ...)`` and ``x2 (batch, ...)`` it sums ``x1 * x2`` over
    ``x1``'s axis ``axes[0]`` and ``x2``'s axis ``axes[1]`` (Keras's ``batch_dot``). Output
    shape: ``x1``'s other axes, then ``x2``'s other axes but its batch axis; ``(batch, 1)``
    when nothing else is left. No params, no state; a data mask ends here (as in Keras).

    Args:
        axes: one axis for both inputs, or a pair ``(axis_of_x1, axis_of_x2)``; not the batch
            axis 0 (negative axes count from the end).
        normalize: L2-normalize both inputs along the dot axes first, so the output is the
            cosine similarity (Keras's formula: ``x * min(rsqrt(sum(x**2)), 1e7)``).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import layers
        >>> dot = layers.Dot(axes=(1, 2))
        >>> dot.init(jax.random.key(0), ((None, 5, 2), (None, 2, 5)))[0]
        (None, 2, 2)
        >>> x = jnp.array([[3.0, 4.0]])
        >>> layers.Dot(axes=1, normalize=True).apply((), (), (x, x))[0].tolist()
        [[1.0]]
    """
    if isinstance(axes, bool) or not isinstance(axes, (int, tuple, list)):
        raise TypeError(
            f"Dot: axes must be an int or a pair of ints; got {axes!r}. For example Dot(axes=1) "
            f"or Dot(axes=(1, 2))."
        )
    if not isinstance(axes, int) and (len(axes) != 2 or any(
            isinstance(a, bool) or not isinstance(a, int) for a in axes)):
        raise ValueError(
            f"Dot: axes must be an int or a pair of ints, one axis per input; got {axes!r}. For "
            f"example Dot(axes=(1, 2))."
        )
    if not isinstance(normalize, bool):
        raise TypeError(f"Dot: normalize must be True or False; got {normalize!r}.")
    pair = (axes, axes) if isinstance(axes, int) else tuple(axes)

    def resolve(shapes):
        out = []
        for a, s in zip(pair, shapes, strict=True):
            if not -len(s) <= a < len(s) or a % len(s) == 0:
                raise ValueError(
                    f"Dot(axes={axes}): each axis must be an axis of its input other than the "
                    f"batch axis 0; got input shapes {shapes}."
                )
            out.append(a % len(s))
        return out

    def init(rng, input_shape):
        shapes = _check_shapes("Dot", input_shape, exactly=2, min_rank=2)
        a0, a1 = resolve(shapes)
        d0, d1 = shapes[0][a0], shapes[1][a1]
        if d0 is not None and d1 is not None and d0 != d1:
            raise ValueError(
                f"Dot(axes={axes}): the dot axes must have the same size; got {d0} (axis {a0} of "
                f"the first input) and {d1} (axis {a1} of the second); input shapes {shapes}."
            )
        rest0 = [d for i, d in enumerate(shapes[0]) if i != a0]
        rest1 = [d for i, d in enumerate(shapes[1]) if i not in (0, a1)]
        batch = rest0[0] if rest0[0] is not None else shapes[1][0]
        out = [batch, *rest0[1:], *rest1]
        return tuple(out) if len(out) > 1 else (batch, 1), (), ()

    def apply(params, state, xs, *, rng=None, training=False):
        _check_inputs("Dot", xs, exactly=2)
        x1, x2 = _common_dtype(_split(xs)[0])
        init(None, (tuple(x1.shape), tuple(x2.shape)))
        a0, a1 = resolve((x1.shape, x2.shape))
        if normalize:
            x1, x2 = _l2_normalize(x1, a0), _l2_normalize(x2, a1)
        y = jax.lax.dot_general(x1, x2, (((a0,), (a1,)), ((0,), (0,))))
        return (y.reshape((y.shape[0], 1)) if y.ndim == 1 else y), state

    config = {"axes": axes if isinstance(axes, int) else list(axes), "normalize": normalize}
    return Layer(init, apply, name=name, kind="Dot", config=config, supports_masking=True,
                 trainable=trainable)

