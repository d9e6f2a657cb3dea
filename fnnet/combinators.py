"""Combinators: layers built from layers (``serial``, ``parallel``, ``fan_out``, merges, ``residual``).

Every combinator is itself a :class:`fnnet.Layer`, so composition is closed. Each calls its
children through :func:`fnnet.core.call` (so data masks and the batch mask reach the children
that use them), splits the rng once per child, and checks the structure of the params and state
it receives: a combinator of ``n`` layers takes tuples of ``n`` entries and says so, rather than
running fewer layers than it holds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp

from fnnet.core import Layer, Masked, as_layer, call, init_layer, split_rng

__all__ = [
    "serial",
    "parallel",
    "fan_out",
    "fan_in_sum",
    "fan_in_concat",
    "residual",
    "shape_dependent",
]


def _layers(where: str, layers: Sequence[Any]) -> tuple[Layer, ...]:
    return tuple(as_layer(layer, f"{where}: argument {i}") for i, layer in enumerate(layers))


def _describe(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} entries"
    return f"{type(value).__name__} {value!r:.60}"


def check_children(where: str, n: int, params: Any, state: Any) -> None:
    """Raises unless ``params`` and ``state`` are tuples (or lists) of ``n`` entries."""
    for what, value in (("params", params), ("state", state)):
        if not isinstance(value, (tuple, list)) or len(value) != n:
            raise ValueError(
                f"{where} holds {n} layers, so its {what} must be a tuple of {n} entries, one "
                f"per layer, as its init returns; got {_describe(value)}. Pass the {what} that "
                f"init returned for this combinator (a stateless layer's state is ())."
            )


def serial(*layers: Any, name: str | None = None) -> Layer:
    """Composes layers in sequence: the output of each is the input of the next.

    Params and state are tuples with one entry per child. The rng is split once per child.

    Args:
        *layers: the layers, first to last (:class:`fnnet.Layer`\\ s, models or
            ``(init, apply)`` pairs).
        name: an optional name.

    Returns:
        A :class:`Layer`. Input shape: that of the first layer; output: that of the last.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import serial, layers
        >>> mlp = serial(layers.Dense(4, activation="relu"), layers.Dense(2))
        >>> out_shape, params, state = mlp.init(jax.random.key(0), (8, 3))
        >>> out_shape, [p["kernel"].shape for p in params]
        ((8, 2), [(3, 4), (4, 2)])
        >>> y, state = mlp.apply(params, state, jnp.ones((8, 3)))
        >>> y.shape
        (8, 2)
    """
    layers = _layers("serial", layers)
    n = len(layers)
    where = f"serial({', '.join(layer.kind for layer in layers)})"

    def init(rng, input_shape):
        params, states = [], []
        for i, (layer, key) in enumerate(zip(layers, split_rng(rng, n), strict=True)):
            input_shape, p, s = init_layer(layer, key, input_shape, f"{where}, layer #{i}")
            params.append(p)
            states.append(s)
        return input_shape, tuple(params), tuple(states)

    def apply(params, state, x, *, rng=None, training=False, batch_mask=None):
        check_children(where, n, params, state)
        new_states = []
        for layer, p, s, key in zip(layers, params, state, split_rng(rng, n), strict=True):
            x, s = call(layer, p, s, x, rng=key, training=training, batch_mask=batch_mask)
            new_states.append(s)
        return x, tuple(new_states)

    logits = output_activation = None
    if layers and layers[-1].logits is not None:
        logits = serial(*layers[:-1], layers[-1].logits)
        output_activation = layers[-1].output_activation
    return Layer(
        init,
        apply,
        name=name,
        kind="serial",
        config={"layers": list(layers)},
        input_shape=layers[0].input_shape if layers else None,
        logits=logits,
        output_activation=output_activation,
        supports_masking=True,
        uses_batch_mask=any(layer.uses_batch_mask for layer in layers),
    )


def parallel(*layers: Any, name: str | None = None) -> Layer:
    """Applies each layer to the matching element of a tuple of inputs.

    Input: a tuple of ``len(layers)`` arrays (input shape: a tuple of shapes). Output: the tuple
    of the layers' outputs. Params and state are tuples, one entry per child.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import parallel, layers
        >>> two = parallel(layers.Dense(4), layers.Dense(1))
        >>> shapes, params, state = two.init(jax.random.key(0), ((5, 3), (5, 2)))
        >>> shapes
        ((5, 4), (5, 1))
        >>> ys, _ = two.apply(params, state, (jnp.ones((5, 3)), jnp.ones((5, 2))))
        >>> [y.shape for y in ys]
        [(5, 4), (5, 1)]
    """
    layers = _layers("parallel", layers)
    n = len(layers)

    def _check_arity(what, value):
        if not isinstance(value, (tuple, list)) or len(value) != n:
            raise ValueError(
                f"parallel of {n} layers: {what} must be a tuple of {n} entries, one per layer; "
                f"got {_describe(value)}. Use fan_out({n}) before parallel to copy one input to "
                f"every branch."
            )

    def init(rng, input_shape):
        _check_arity("input_shape", input_shape)
        outs = [
            init_layer(layer, key, shape, f"parallel, layer #{i}")
            for i, (layer, key, shape) in enumerate(
                zip(layers, split_rng(rng, n), input_shape, strict=True))
        ]
        return tuple(o[0] for o in outs), tuple(o[1] for o in outs), tuple(o[2] for o in outs)

    def apply(params, state, x, *, rng=None, training=False, batch_mask=None):
        _check_arity("the input", x)
        check_children(f"parallel of {n} layers", n, params, state)
        outs = [
            call(layer, p, s, xi, rng=key, training=training, batch_mask=batch_mask)
            for layer, p, s, xi, key in zip(layers, params, state, x, split_rng(rng, n),
                                            strict=True)
        ]
        return tuple(o[0] for o in outs), tuple(o[1] for o in outs)

    return Layer(init, apply, name=name, kind="parallel", config={"layers": list(layers)},
                 supports_masking=True,
                 uses_batch_mask=any(layer.uses_batch_mask for layer in layers))


def _stateless(kind: str, init, fn, config: dict, name: str | None) -> Layer:
    def apply(params, state, x, *, rng=None, training=False):
        if jax.tree.leaves(params) or jax.tree.leaves(state):
            raise ValueError(
                f"{kind} has no params or state, so it takes params=() and state=(); got "
                f"params={_describe(params)}, state={_describe(state)}."
            )
        return fn(x), state

    return Layer(init, apply, name=name, kind=kind, config=config, supports_masking=True)


def fan_out(num: int, name: str | None = None) -> Layer:
    """Copies its input into a tuple of ``num`` identical outputs (no params).

    Example:
        >>> import jax.numpy as jnp
        >>> ys, _ = fan_out(2).apply((), (), jnp.ones(3))
        >>> len(ys)
        2
    """
    if not isinstance(num, int) or isinstance(num, bool) or num < 1:
        raise ValueError(f"fan_out(num): num must be a positive int; got {num!r}. Try fan_out(2).")

    def init(rng, input_shape):
        return (input_shape,) * num, (), ()

    return _stateless("fan_out", init, lambda x: (x,) * num, {"num": num}, name)


def _check_tuple_shapes(where, shapes):
    if not isinstance(shapes, (tuple, list)) or not shapes or not all(
        isinstance(s, (tuple, list)) for s in shapes
    ):
        raise ValueError(
            f"{where} takes a tuple of inputs (e.g. from fan_out or parallel); got input shape "
            f"{shapes!r}. Put it after a layer that outputs a tuple."
        )


def _check_tuple_input(where, x):
    if not isinstance(x, (tuple, list)) or not x:
        raise ValueError(
            f"{where} takes a tuple of inputs (e.g. from fan_out or parallel); got "
            f"{_describe(x)}. Put it after a layer that outputs a tuple."
        )


def merge_masks(xs: Sequence[Any]) -> Any:
    """The AND of the data masks of ``xs`` (Keras's rule for merge layers), or None."""
    masks = [x.mask for x in xs if isinstance(x, Masked)]
    if not masks:
        return None
    out = masks[0]
    for m in masks[1:]:
        out = jnp.logical_and(out, m)
    return out


def _merge(fn: Callable) -> Callable:
    """Applies ``fn`` to the plain values of a tuple of inputs; keeps the AND of their masks."""

    def merged(xs):
        mask = merge_masks(xs)
        values = [x.value if isinstance(x, Masked) else x for x in xs]
        y = fn(values)
        return y if mask is None else Masked(y, mask)

    return merged


def fan_in_sum(name: str | None = None) -> Layer:
    """Sums a tuple of same-shaped inputs into one array (no params).

    Example:
        >>> import jax.numpy as jnp
        >>> y, _ = fan_in_sum().apply((), (), (jnp.ones(3), jnp.ones(3)))
        >>> y.tolist()
        [2.0, 2.0, 2.0]
    """

    def init(rng, input_shape):
        _check_tuple_shapes("fan_in_sum", input_shape)
        first = tuple(input_shape[0])
        for s in input_shape[1:]:
            if tuple(s) != first:
                raise ValueError(
                    f"fan_in_sum: all inputs must have the same shape; got {list(input_shape)}. "
                    f"Project the branches to one shape (e.g. with Dense) before summing."
                )
        return first, (), ()

    def add(xs):
        _check_tuple_input("fan_in_sum", xs)
        return _merge(lambda vs: sum(vs[1:], vs[0]))(xs)

    return _stateless("fan_in_sum", init, add, {}, name)


def fan_in_concat(axis: int = -1, name: str | None = None) -> Layer:
    """Concatenates a tuple of inputs along ``axis`` (no params).

    Example:
        >>> import jax.numpy as jnp
        >>> y, _ = fan_in_concat().apply((), (), (jnp.ones((2, 3)), jnp.ones((2, 1))))
        >>> y.shape
        (2, 4)
    """
    if not isinstance(axis, int) or isinstance(axis, bool):
        raise TypeError(f"fan_in_concat(axis): axis must be an int; got {axis!r}.")

    def init(rng, input_shape):
        _check_tuple_shapes("fan_in_concat", input_shape)
        rank = len(input_shape[0])
        if not -rank <= axis < rank:
            raise ValueError(
                f"fan_in_concat(axis={axis}): the axis is out of range for inputs of rank {rank}; "
                f"got input shapes {list(input_shape)}. Use axis=-1 for the last axis."
            )
        ax = axis % rank
        # Check ranks before indexing with ax, so a rank mismatch gets this message.
        same_rank = all(len(s) == rank for s in input_shape)
        rest = [tuple(d for i, d in enumerate(s) if i != ax) for s in input_shape]
        if not same_rank or any(r != rest[0] for r in rest):
            raise ValueError(
                f"fan_in_concat(axis={axis}): inputs must match on every axis but {axis}; got "
                f"{list(input_shape)}."
            )
        dims = [s[ax] for s in input_shape]
        out = list(input_shape[0])
        out[ax] = None if None in dims else sum(dims)
        return tuple(out), (), ()

    def concat(xs):
        _check_tuple_input("fan_in_concat", xs)
        return _merge(lambda vs: jnp.concatenate(vs, axis=axis))(xs)

    return _stateless("fan_in_concat", init, concat, {"axis": axis}, name)


def residual(layer: Any, name: str | None = None) -> Layer:
    """``x + layer(x)``: a skip connection around ``layer``, whose output shape must equal its input's.

    Params and state are ``layer``'s own.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import residual, layers
        >>> block = residual(layers.Dense(3))
        >>> shape, params, state = block.init(jax.random.key(0), (2, 3))
        >>> y, _ = block.apply(params, state, jnp.ones((2, 3)))
        >>> y.shape
        (2, 3)
    """
    (layer,) = _layers("residual", [layer])

    def init(rng, input_shape):
        out_shape, params, state = init_layer(layer, rng, input_shape, "residual")
        if tuple(out_shape) != tuple(input_shape):
            raise ValueError(
                f"residual({layer.kind}): the wrapped layer must keep the shape, but it maps "
                f"{tuple(input_shape)} to {tuple(out_shape)}. Give it {input_shape[-1]} output "
                f"units."
            )
        return out_shape, params, state

    def apply(params, state, x, *, rng=None, training=False, batch_mask=None):
        y, state = call(layer, params, state, x, rng=rng, training=training,
                        batch_mask=batch_mask)
        return _merge(lambda vs: vs[0] + vs[1])((x, y)), state

    return Layer(init, apply, name=name, kind="residual", config={"layer": layer},
                 supports_masking=True, uses_batch_mask=layer.uses_batch_mask)


def shape_dependent(make_layer: Callable[[Any], Any], name: str | None = None) -> Layer:
    """A layer built from its input shape: ``make_layer(input_shape)`` returns the real layer.

    ``make_layer`` is called at ``init`` with the input shape and at ``apply`` with the input's
    shape, so it must build the same structure for the same per-example shape. Masks pass to
    the built layer by :func:`fnnet.core.call`'s rules; the built layer cannot take the batch
    mask (its flags are unknown until a shape is given).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import shape_dependent, layers
        >>> same_width = shape_dependent(lambda shape: layers.Dense(shape[-1]))
        >>> shape, params, state = same_width.init(jax.random.key(0), (2, 5))
        >>> shape
        (2, 5)
    """
    if not callable(make_layer) or isinstance(make_layer, Layer):  # a layer is callable too
        raise TypeError(f"shape_dependent(make_layer): make_layer must be callable; got "
                        f"{make_layer!r}. Pass a function input_shape -> layer, e.g. "
                        f"lambda shape: layers.Dense(shape[-1]).")

    def build(shape):
        return as_layer(make_layer(shape), "shape_dependent: make_layer(shape)")

    def init(rng, input_shape):
        return init_layer(build(input_shape), rng, input_shape, "shape_dependent")

    def apply(params, state, x, *, rng=None, training=False):
        shape = jax.tree.map(lambda a: a.shape, x.value if isinstance(x, Masked) else x)
        return call(build(shape), params, state, x, rng=rng, training=training)

    return Layer(init, apply, name=name, kind="shape_dependent", supports_masking=True)
