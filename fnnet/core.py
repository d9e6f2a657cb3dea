"""The layer protocol and the combinators that compose layers.

A layer is a :class:`Layer`: a ``NamedTuple`` of two pure functions::

    out_shape, params, state = layer.init(rng, input_shape)   # shapes only; batch dim included
    y, new_state = layer.apply(params, state, x, *, rng=None, training=False)

Params and state are plain pytrees: a dict with readable keys for a layer's own arrays
(``kernel``, ``bias``), tuples for combinators, ``()`` for a layer that has none. Every
combinator here is itself a :class:`Layer`, so composition is closed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, Protocol

import jax
import jax.numpy as jnp

Shape = tuple  # a tuple of ints; the batch dimension may be ``None`` at init
PyTree = Any

__all__ = [
    "Layer",
    "InitFn",
    "ApplyFn",
    "serial",
    "parallel",
    "fan_out",
    "fan_in_sum",
    "fan_in_concat",
    "residual",
    "shape_dependent",
    "split_rng",
]


class InitFn(Protocol):
    """``init(rng, input_shape) -> (output_shape, params, state)``; uses shapes only."""

    def __call__(self, rng: jax.Array, input_shape: Any) -> tuple[Any, PyTree, PyTree]: ...


class ApplyFn(Protocol):
    """``apply(params, state, x, *, rng=None, training=False) -> (y, new_state)``."""

    def __call__(
        self,
        params: PyTree,
        state: PyTree,
        x: Any,
        *,
        rng: jax.Array | None = None,
        training: bool = False,
    ) -> tuple[Any, PyTree]: ...


class _LayerFields(NamedTuple):
    init: InitFn
    apply: ApplyFn


class Layer(_LayerFields):
    """A layer: a ``NamedTuple`` of two pure functions, ``init`` and ``apply``.

    ``init(rng, input_shape)`` returns ``(output_shape, params, state)`` and looks only at
    shapes, so it runs under :func:`jax.eval_shape`. ``apply(params, state, x, *, rng=None,
    training=False)`` returns ``(y, new_state)``. Stateless layers use ``state == ()``.

    Besides the two functions (which are all that ``==``, ``hash`` and unpacking see), a layer
    carries descriptive metadata used by the Keras-style front end:

    * ``name``: an optional name (``Sequential`` gives unnamed layers ``dense``, ``dense_1``...);
    * ``kind``: the constructor's name, such as ``"Dense"`` (``"Layer"`` for a custom pair);
    * ``config``: the constructor's arguments, enough to rebuild the layer, or ``None``;
    * ``input_shape``: the per-example input shape (no batch dim) given to the constructor;
    * ``logits``: the same layer without its final ``softmax``/``sigmoid``, sharing the exact
      params and state structure, or ``None``; and ``output_activation``, that activation's
      name. The train step uses them to compute cross-entropy from logits, for stability.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> def init(rng, input_shape):
        ...     return input_shape, {"scale": jnp.ones(input_shape[-1])}, ()
        >>> def apply(params, state, x, *, rng=None, training=False):
        ...     return x * params["scale"][None, :], state   # explicit broadcast: strict-JAX safe
        >>> layer = Layer(init, apply)
        >>> out_shape, params, state = layer.init(jax.random.key(0), (2, 3))
        >>> y, state = layer.apply(params, state, jnp.ones((2, 3)))
        >>> out_shape, y.shape, state
        ((2, 3), (2, 3), ())
        >>> init_fn, apply_fn = layer   # unpacks like a stax pair
    """

    name: str | None
    kind: str
    config: dict | None
    input_shape: tuple | None
    logits: Layer | None
    output_activation: str | None

    def __new__(
        cls,
        init: InitFn,
        apply: ApplyFn,
        *,
        name: str | None = None,
        kind: str = "Layer",
        config: dict | None = None,
        input_shape: tuple | None = None,
        logits: Layer | None = None,
        output_activation: str | None = None,
    ):
        if not callable(init) or not callable(apply):
            raise TypeError(
                f"Layer(init, apply) takes two callables; got init={init!r} and apply={apply!r}. "
                f"Pass the functions themselves, e.g. Layer(my_init, my_apply)."
            )
        self = super().__new__(cls, init, apply)
        self.name = name
        self.kind = kind
        self.config = config
        self.input_shape = None if input_shape is None else tuple(input_shape)
        self.logits = logits
        self.output_activation = output_activation
        return self

    def __repr__(self) -> str:
        if self.config is None:
            return f"{self.kind}(init={self.init!r}, apply={self.apply!r})"
        args = ", ".join(f"{k}={v!r}" for k, v in self.config.items())
        return f"{self.kind}({args})"

    def named(self, name: str) -> Layer:
        """Returns this layer with ``name`` set (the functions are shared, not copied)."""
        return Layer(
            self.init,
            self.apply,
            name=name,
            kind=self.kind,
            config=self.config,
            input_shape=self.input_shape,
            logits=self.logits,
            output_activation=self.output_activation,
        )


def split_rng(rng: jax.Array | None, n: int) -> list:
    """Splits ``rng`` into ``n`` keys, or returns ``n`` Nones when ``rng`` is None."""
    if rng is None:
        return [None] * n
    return list(jax.random.split(rng, n))


def _check_layers(where: str, layers: Sequence[Any]) -> tuple:
    for i, layer in enumerate(layers):
        if not (callable(getattr(layer, "init", None)) and callable(getattr(layer, "apply", None))):
            raise TypeError(
                f"{where}: argument {i} is {layer!r}, not a layer. Every argument must be a "
                f"fnnet.Layer (an (init, apply) pair), e.g. fnnet.layers.Dense(10)."
            )
    return tuple(layers)


def serial(*layers: Layer) -> Layer:
    """Composes layers in sequence: the output of each is the input of the next.

    Params and state are tuples with one entry per child. The rng is split once per child.

    Args:
        *layers: the layers, first to last.

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
    layers = _check_layers("serial", layers)

    def init(rng, input_shape):
        params, states = [], []
        for layer, key in zip(layers, jax.random.split(rng, max(len(layers), 1))):
            input_shape, p, s = layer.init(key, input_shape)
            params.append(p)
            states.append(s)
        return input_shape, tuple(params), tuple(states)

    def apply(params, state, x, *, rng=None, training=False):
        new_states = []
        for layer, p, s, key in zip(layers, params, state, split_rng(rng, len(layers))):
            x, s = layer.apply(p, s, x, rng=key, training=training)
            new_states.append(s)
        return x, tuple(new_states)

    logits = None
    output_activation = None
    if layers and getattr(layers[-1], "logits", None) is not None:
        logits = serial(*layers[:-1], layers[-1].logits)
        output_activation = layers[-1].output_activation
    return Layer(
        init,
        apply,
        kind="serial",
        config={"layers": list(layers)},
        input_shape=getattr(layers[0], "input_shape", None) if layers else None,
        logits=logits,
        output_activation=output_activation,
    )


def parallel(*layers: Layer) -> Layer:
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
    layers = _check_layers("parallel", layers)
    n = len(layers)

    def _check_arity(what, value):
        if not isinstance(value, (tuple, list)) or len(value) != n:
            got = f"a {type(value).__name__} of length {len(value)}" if isinstance(
                value, (tuple, list)) else repr(value)
            raise ValueError(
                f"parallel of {n} layers: {what} must be a tuple of {n} entries, one per layer; "
                f"got {got}. Use fan_out({n}) before parallel to copy one input to every branch."
            )

    def init(rng, input_shape):
        _check_arity("input_shape", input_shape)
        outs = [
            layer.init(key, shape)
            for layer, key, shape in zip(layers, jax.random.split(rng, max(n, 1)), input_shape)
        ]
        return tuple(o[0] for o in outs), tuple(o[1] for o in outs), tuple(o[2] for o in outs)

    def apply(params, state, x, *, rng=None, training=False):
        _check_arity("the input", x)
        outs = [
            layer.apply(p, s, xi, rng=key, training=training)
            for layer, p, s, xi, key in zip(layers, params, state, x, split_rng(rng, n))
        ]
        return tuple(o[0] for o in outs), tuple(o[1] for o in outs)

    return Layer(init, apply, kind="parallel", config={"layers": list(layers)})


def fan_out(num: int) -> Layer:
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

    def apply(params, state, x, *, rng=None, training=False):
        return (x,) * num, state

    return Layer(init, apply, kind="fan_out", config={"num": num})


def _check_tuple_shapes(where, shapes):
    if not isinstance(shapes, (tuple, list)) or not shapes or not all(
        isinstance(s, (tuple, list)) for s in shapes
    ):
        raise ValueError(
            f"{where} takes a tuple of inputs (e.g. from fan_out or parallel); got input shape "
            f"{shapes!r}. Put it after a layer that outputs a tuple."
        )


def fan_in_sum() -> Layer:
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

    def apply(params, state, x, *, rng=None, training=False):
        return sum(x[1:], x[0]), state

    return Layer(init, apply, kind="fan_in_sum", config={})


def fan_in_concat(axis: int = -1) -> Layer:
    """Concatenates a tuple of inputs along ``axis`` (no params).

    Example:
        >>> import jax.numpy as jnp
        >>> y, _ = fan_in_concat().apply((), (), (jnp.ones((2, 3)), jnp.ones((2, 1))))
        >>> y.shape
        (2, 4)
    """
    if not isinstance(axis, int):
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

    def apply(params, state, x, *, rng=None, training=False):
        return jnp.concatenate(x, axis=axis), state

    return Layer(init, apply, kind="fan_in_concat", config={"axis": axis})


def residual(layer: Layer) -> Layer:
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
    (layer,) = _check_layers("residual", [layer])

    def init(rng, input_shape):
        out_shape, params, state = layer.init(rng, input_shape)
        if tuple(out_shape) != tuple(input_shape):
            raise ValueError(
                f"residual({getattr(layer, 'kind', 'layer')}): the wrapped layer must keep the "
                f"shape, but it maps {tuple(input_shape)} to {tuple(out_shape)}. Give it "
                f"{input_shape[-1]} output units."
            )
        return out_shape, params, state

    def apply(params, state, x, *, rng=None, training=False):
        y, state = layer.apply(params, state, x, rng=rng, training=training)
        return x + y, state

    return Layer(init, apply, kind="residual", config={"layer": layer})


def shape_dependent(make_layer: Callable[[Any], Layer]) -> Layer:
    """A layer built from its input shape: ``make_layer(input_shape)`` returns the real layer.

    ``make_layer`` is called at ``init`` with the input shape and at ``apply`` with the input's
    shape, so it must build the same structure for the same per-example shape.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import shape_dependent, layers
        >>> same_width = shape_dependent(lambda shape: layers.Dense(shape[-1]))
        >>> shape, params, state = same_width.init(jax.random.key(0), (2, 5))
        >>> shape
        (2, 5)
    """
    if not callable(make_layer):
        raise TypeError(f"shape_dependent(make_layer): make_layer must be callable; got "
                        f"{make_layer!r}.")

    def init(rng, input_shape):
        return make_layer(input_shape).init(rng, input_shape)

    def apply(params, state, x, *, rng=None, training=False):
        shape = jax.tree.map(lambda a: a.shape, x)
        return make_layer(shape).apply(params, state, x, rng=rng, training=training)

    return Layer(init, apply, kind="shape_dependent")


def num_elements(shape: Sequence[int | None]) -> int | None:
    """The product of ``shape``'s dims, or None when one of them is unknown."""
    if any(d is None for d in shape):
        return None
    return math.prod(shape)
