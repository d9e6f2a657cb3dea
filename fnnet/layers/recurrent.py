"""Recurrent layers with Keras's names, arguments and defaults: RNN, SimpleRNN, LSTM, GRU.

``RNN(cell)`` runs a cell (:mod:`fnnet.layers.rnn_cells`) over the time axis of a
``(batch, steps, features)`` input with one ``jax.lax.scan``. ``SimpleRNN``, ``LSTM`` and
``GRU`` are ``RNN`` over the matching cell, with Keras's flat arguments.

Calling conventions (all pure, all in the one ``apply(params, state, x)``):

* **Initial states**: pass a tuple ``(x, *initial_states)`` instead of ``x`` (Keras's
  ``layer(x, initial_state=[h, c])``): ``(x, h0)`` for SimpleRNN/GRU, ``(x, h0, c0)`` for
  LSTM; for stacked cells, one entry per cell (the cell's array for one-state cells, a tuple
  ``(h, c)`` for LSTM cells). That is the structure ``return_state=True`` returns, so an
  encoder's states feed a decoder as ``decoder.apply(p, s, (y, *states))``.
* **return_state=True** returns ``(output, *states)``.
* **Masks**: a :class:`fnnet.Masked` sequence (from ``Embedding(mask_zero=True)`` or
  ``Masking``) skips masked steps: the state carries through unchanged, and the output there
  is the previous output (zeros with ``zero_output_for_mask=True``), exactly as Keras 3's JAX
  backend computes it. With ``return_sequences=True`` the output is ``Masked(outputs, mask)``.
* **Statefulness across calls** (Keras's ``stateful=True``) is not pure and is refused: keep
  the returned states yourself and pass them back as initial states.

Example:
    >>> import jax, jax.numpy as jnp
    >>> from fnnet import layers
    >>> lstm = layers.LSTM(4, return_sequences=True, return_state=True)
    >>> shapes, params, state = lstm.init(jax.random.key(0), (2, 5, 3))
    >>> shapes
    ((2, 5, 4), (2, 4), (2, 4))
    >>> y, h, c = lstm.apply(params, state, jnp.ones((2, 5, 3)))[0]
    >>> y2, _ = lstm.apply(params, state, (jnp.ones((2, 5, 3)), h, c))   # continue from (h, c)
    >>> y2[0].shape
    (2, 5, 4)
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp

from fnnet.core import Layer, Masked, as_layer, init_layer, split_rng
from fnnet.layers._seq_common import check_bool
from fnnet.layers.core import _check_declared, _check_input_shape
from fnnet.layers.rnn_cells import GRUCell, LSTMCell, SimpleRNNCell

__all__ = ["RNN", "SimpleRNN", "LSTM", "GRU"]


def _is_shape(s: Any) -> bool:
    return isinstance(s, (tuple, list)) and all(d is None or isinstance(d, int) for d in s)


def _shape_tree(tree):
    return jax.tree.map(lambda a: tuple(jnp.shape(a)), tree)


def _where(mask: jax.Array, a: jax.Array, b: jax.Array) -> jax.Array:
    """``a`` where the per-example ``mask`` (batch,) is True, else ``b``."""
    return jnp.where(mask.reshape(mask.shape + (1,) * (a.ndim - 1)), a, b)


def _states_out(carries: list, stacked: bool) -> tuple:
    """Keras's ``states``: the carry's arrays for one cell; per cell for a stack (one-state
    cells as an array, others as a tuple)."""
    if not stacked:
        return tuple(carries[0])
    return tuple(c[0] if len(c) == 1 else tuple(c) for c in carries)


def _states_in(states: Sequence, carry_shapes: list, stacked: bool) -> list:
    """The inverse of :func:`_states_out`: per-cell carry tuples."""
    if not stacked:
        return [tuple(states)]
    return [(s,) if len(c) == 1 else tuple(s) for s, c in zip(states, carry_shapes, strict=True)]


def RNN(
    cell: Any,
    return_sequences: bool = False,
    return_state: bool = False,
    go_backwards: bool = False,
    stateful: bool = False,
    unroll: bool = False,
    zero_output_for_mask: bool = False,
    input_shape: Sequence[int | None] | None = None,
    name: str | None = None,
    trainable: bool = True,
) -> Layer:
    """Runs a recurrent cell (or a stack of cells) over the time axis, with one ``lax.scan``.

    Shapes:
        input ``(batch, steps, features)``, or ``(x, *initial_states)`` (see the module docs);
        output ``(batch, steps, output_size)`` with ``return_sequences`` (a
        :class:`fnnet.Masked` for a masked input), else ``(batch, output_size)``; with
        ``return_state`` the tuple ``(output, *states)``.

    Params and state: the cell's (a tuple, one entry per cell, for a list of cells), in
    Keras's weight order. Weight penalties and constraints are the cells'.

    Args:
        cell: a cell layer (``LSTMCell(32)``, or your own, see :mod:`fnnet.layers.rnn_cells`),
            or a list of cells, stacked as Keras's ``StackedRNNCells``: each cell's output is
            the next one's input at the same step.
        return_sequences: return every step's output rather than the last one.
        return_state: also return the final states.
        go_backwards: process the sequence in reverse and return the reversed outputs (Keras's
            rule: the mask of a masked output is not reversed).
        stateful: must be False: state kept across calls is not pure. Carry it yourself with
            ``return_state=True`` and ``apply(params, state, (x, *states))``.
        unroll: unroll the scan (``lax.scan(..., unroll=True)``), faster for short sequences;
            the number of steps must be known. As in Keras's JAX backend, an unrolled RNN
            outputs the previous output (zeros before the first) at masked steps, ignoring
            ``zero_output_for_mask``.
        zero_output_for_mask: output zeros at masked steps instead of the previous output.
        input_shape: the per-example input shape ``(steps, features)``, read by ``Sequential``.
        name, trainable: as for every layer.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import layers
        >>> stack = layers.RNN([layers.LSTMCell(4), layers.GRUCell(2)], return_state=True)
        >>> shapes, params, state = stack.init(jax.random.key(0), (3, 5, 6))
        >>> shapes
        ((3, 2), ((3, 4), (3, 4)), (3, 2))
        >>> [p["kernel"].shape for p in params]
        [(6, 16), (4, 6)]
    """
    stacked = isinstance(cell, (list, tuple))
    cells = tuple(as_layer(c, f"RNN: cell {i}") for i, c in enumerate(cell)) if stacked else (
        as_layer(cell, "RNN: cell"),)
    if not cells:
        raise ValueError("RNN: cell is an empty list; give at least one cell, e.g. "
                         "RNN([LSTMCell(32), LSTMCell(32)]).")
    label = f"RNN({', '.join(c.kind for c in cells)})"
    for arg, value in (("return_sequences", return_sequences), ("return_state", return_state),
                       ("go_backwards", go_backwards), ("stateful", stateful),
                       ("unroll", unroll), ("zero_output_for_mask", zero_output_for_mask)):
        check_bool(label, arg, value)
    if stateful:
        raise ValueError(
            f"{label}: stateful=True is not supported: a state kept from one call to the next "
            f"is hidden mutable state, and fnnet layers are pure functions. Carry the state "
            f"yourself: build the layer with return_state=True, keep the states it returns, "
            f"and pass them back as initial states: y, *states = layer.apply(params, state, "
            f"(x, *states))[0]."
        )
    declared = _check_input_shape(label, input_shape)
    n = len(cells)

    def init(rng, shape):
        if isinstance(shape, (tuple, list)) and shape and not _is_shape(shape):
            seq_shape, state_shapes = tuple(shape[0]), list(shape[1:])
        else:
            seq_shape, state_shapes = tuple(shape), []
        if len(seq_shape) < 3 or not _is_shape(seq_shape):
            raise ValueError(
                f"{label}: expected a sequence of shape (batch, steps, features), with initial "
                f"states optionally as (sequence_shape, *state_shapes); got {shape!r}. For "
                f"vectors of shape (batch, features), add a time axis: Reshape((1, features))."
            )
        _check_declared(label, declared, seq_shape)
        if unroll and seq_shape[1] is None:
            raise ValueError(
                f"{label}: unroll=True needs a known number of steps, but the input shape "
                f"{seq_shape} has None there. Declare it (input_shape=(steps, features)) or "
                f"use unroll=False."
            )
        step_shape = (seq_shape[0], *seq_shape[2:])
        params, states, carries = [], [], []
        for i, (c, key) in enumerate(zip(cells, split_rng(rng, n), strict=True)):
            out, p, s = init_layer(c, key, step_shape, f"{label}, cell #{i}")
            if not (isinstance(out, (tuple, list)) and len(out) == 2 and _is_shape(out[0])):
                raise ValueError(
                    f"{label}: cell #{i} ({c.kind}) is not a recurrent cell: its init must "
                    f"return ((output_shape, carry_shapes), params, state) for a step input of "
                    f"shape {step_shape}; it returned the shape {out!r}. See "
                    f"fnnet.layers.rnn_cells for the cell protocol."
                )
            step_shape = tuple(out[0])
            params.append(p)
            states.append(s)
            carries.append(tuple(tuple(cs) for cs in out[1]))
        states_shape = _states_out(carries, stacked)
        if state_shapes and len(state_shapes) != len(states_shape):
            raise ValueError(
                f"{label}: got {len(state_shapes)} initial state(s); this layer carries "
                f"{len(states_shape)}: {states_shape}. Pass (x, *initial_states) with that "
                f"structure."
            )
        y_shape = (seq_shape[0], seq_shape[1], *step_shape[1:]) if return_sequences else step_shape
        out_shape = (y_shape, *states_shape) if return_state else y_shape
        return out_shape, (tuple(params) if stacked else params[0]), (
            tuple(states) if stacked else states[0])

    def apply(params, state, x, *, rng=None, training=False):
        seq, initial = (x[0], list(x[1:])) if isinstance(x, (tuple, list)) else (x, [])
        mask = None
        if isinstance(seq, Masked):
            seq, mask = seq.value, seq.mask
        if seq.ndim < 3:
            raise ValueError(
                f"{label}: expected a sequence of shape (batch, steps, features); got an input "
                f"of shape {tuple(seq.shape)}."
            )
        return run(params, state, seq, mask, tuple(initial), rng, training)

    # Jitted so that eager calls reuse one compiled scan (an eager lax.scan compiles anew at
    # every call); inside a user's jit it is simply inlined.
    @functools.partial(jax.jit, static_argnums=6)
    def run(params, state, seq, mask, initial, rng, training):
        cell_params = list(params) if stacked else [params]
        cell_states = list(state) if stacked else [state]
        keys = split_rng(rng, n) if stacked else [rng]
        batch = seq.shape[0]
        float_dtype = seq.dtype if jnp.issubdtype(seq.dtype, jnp.floating) else jnp.float32

        # The carries' shapes and dtypes (the cells' compute dtype), from one abstract step.
        def one_step(xt):
            outs, h = [], xt
            for c, p, s, k in zip(cells, cell_params, cell_states, keys, strict=True):
                shapes = c.init(jax.random.key(0), tuple(h.shape))[0][1]
                carry = tuple(jnp.zeros(cs, float_dtype) for cs in shapes)
                (h, carry), _ = c.apply(p, s, (h, carry), rng=k, training=training)
                outs.append(carry)
            return h, outs

        y_spec, carry_specs = jax.eval_shape(one_step, jax.ShapeDtypeStruct(
            (batch, *seq.shape[2:]), seq.dtype))
        carry_shapes = [tuple(tuple(a.shape) for a in cs) for cs in carry_specs]
        if initial:
            expected = _states_out(carry_shapes, stacked)
            if len(initial) != len(expected):
                raise ValueError(
                    f"{label}: got {len(initial)} initial state(s); this layer carries "
                    f"{len(expected)} of shapes {expected}. Pass (x, *initial_states)."
                )
            carries = _states_in(initial, carry_shapes, stacked)
            if [tuple(tuple(jnp.shape(a)) for a in c) for c in carries] != carry_shapes:
                raise ValueError(
                    f"{label}: the initial states have shapes {_shape_tree(tuple(initial))}; "
                    f"expected {expected}."
                )
            carries = [tuple(jnp.asarray(a, spec.dtype) for a, spec in zip(c, cs, strict=True))
                       for c, cs in zip(carries, carry_specs, strict=True)]
        else:
            carries = [tuple(jnp.zeros(spec.shape, spec.dtype) for spec in cs)
                       for cs in carry_specs]

        xs = jnp.swapaxes(seq, 0, 1)
        ms = None if mask is None else jnp.swapaxes(jnp.asarray(mask, bool), 0, 1)
        if go_backwards:
            xs = jnp.flip(xs, 0)
            ms = None if ms is None else jnp.flip(ms, 0)
        # Keras's JAX backend: a masked step outputs the previous output, which its scan takes
        # from the first state (of the last cell), and its unrolled loop from zeros.
        last = carries[-1][0]
        prev = (last if not unroll and last.shape == y_spec.shape
                else jnp.zeros(y_spec.shape, y_spec.dtype))

        def body(carry, inputs):
            carries, cell_states, prev = carry
            x_t, m_t = inputs
            new_carries, new_states, h = [], [], x_t
            for c, p, s, k, cr in zip(cells, cell_params, cell_states, keys, carries,
                                      strict=True):
                (h, cr_new), s = c.apply(p, s, (h, cr), rng=k, training=training)
                new_carries.append(tuple(cr_new))
                new_states.append(s)
            out = h
            if m_t is not None:
                new_carries = jax.tree.map(lambda a, b: _where(m_t, a, b), new_carries, carries)
                fill = jnp.zeros_like(out) if zero_output_for_mask and not unroll else prev
                out = _where(m_t, out, fill)
            return (new_carries, new_states, out), (out if return_sequences else None)

        (carries, cell_states, last_out), outs = jax.lax.scan(
            body, (carries, cell_states, prev), (xs, ms), unroll=bool(unroll))
        if return_sequences:
            y = jnp.swapaxes(outs, 0, 1)
            y = y if mask is None else Masked(y, mask)
        else:
            y = last_out
        new_state = tuple(cell_states) if stacked else cell_states[0]
        if return_state:
            return (y, *_states_out(carries, stacked)), new_state
        return y, new_state

    def regularizer(params):
        cell_params = params if stacked else (params,)
        total = jnp.zeros((), jnp.float32)
        for c, p in zip(cells, cell_params, strict=True):
            if c.regularizer is not None:
                total = total + jnp.asarray(c.regularizer(p), jnp.float32)
        return total

    def constraint(params):
        cell_params = params if stacked else (params,)
        out = tuple(c.constraint(p) if c.constraint is not None else p
                    for c, p in zip(cells, cell_params, strict=True))
        return out if stacked else out[0]

    config = {
        "cell": list(cells) if stacked else cells[0],
        "return_sequences": return_sequences,
        "return_state": return_state,
        "go_backwards": go_backwards,
        "stateful": stateful,
        "unroll": unroll,
        "zero_output_for_mask": zero_output_for_mask,
    }
    if declared is not None:
        config["input_shape"] = declared
    return Layer(
        init, apply, name=name, kind="RNN", config=config, input_shape=declared,
        supports_masking=True, trainable=trainable,
        regularizer=regularizer if any(c.regularizer is not None for c in cells) else None,
        constraint=constraint if any(c.constraint is not None for c in cells) else None,
    )


_RNN_ARGS = ("return_sequences", "return_state", "go_backwards", "stateful", "unroll",
             "zero_output_for_mask")


def _layer(kind: str, cell_fn: Callable, args: dict) -> Layer:
    """``RNN(cell_fn(...), ...)`` described as ``kind`` with Keras's flat config.

    ``args`` is the flat layer's ``locals()``: the cell takes the arguments its signature
    names (but the layer's ``name`` and ``trainable``), ``RNN`` takes ``_RNN_ARGS``.
    """
    cell_params = set(inspect.signature(cell_fn).parameters) - {"name", "trainable"}
    cell = cell_fn(**{k: v for k, v in args.items() if k in cell_params})
    rnn_args = {k: args[k] for k in _RNN_ARGS}
    layer = RNN(cell, **rnn_args, input_shape=args["input_shape"], trainable=args["trainable"])
    config = {**cell.config, **rnn_args}
    if "use_cudnn" in args:
        config["use_cudnn"] = _check_cudnn(kind, args["use_cudnn"])
    if layer.input_shape is not None:
        config["input_shape"] = layer.input_shape
    return layer.replace(kind=kind, config=config, name=args["name"])


_USE_CUDNN = ("auto", True, False)


def _check_cudnn(kind: str, value: Any) -> Any:
    if value not in _USE_CUDNN or not isinstance(value, (str, bool)):
        raise ValueError(f"{kind}: use_cudnn must be 'auto', True or False; got {value!r}.")
    return value


def SimpleRNN(
    units: int,
    activation: str | Callable | None = "tanh",
    use_bias: bool = True,
    kernel_initializer: str | Callable = "glorot_uniform",
    recurrent_initializer: str | Callable = "orthogonal",
    bias_initializer: str | Callable = "zeros",
    kernel_regularizer: Any = None,
    recurrent_regularizer: Any = None,
    bias_regularizer: Any = None,
    kernel_constraint: Any = None,
    recurrent_constraint: Any = None,
    bias_constraint: Any = None,
    dropout: float = 0.0,
    recurrent_dropout: float = 0.0,
    return_sequences: bool = False,
    return_state: bool = False,
    go_backwards: bool = False,
    stateful: bool = False,
    unroll: bool = False,
    zero_output_for_mask: bool = False,
    input_shape: Sequence[int | None] | None = None,
    name: str | None = None,
    trainable: bool = True,
    dtype: Any = None,
    param_dtype: Any = None,
) -> Layer:
    """A fully connected RNN: ``RNN(SimpleRNNCell(units, ...))`` with Keras's flat arguments.

    Shapes, calling conventions and params: see :func:`RNN` and
    :func:`fnnet.layers.SimpleRNNCell` (params ``kernel``, ``recurrent_kernel``, ``bias``).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import layers
        >>> rnn = layers.SimpleRNN(4)
        >>> shape, params, state = rnn.init(jax.random.key(0), (2, 5, 3))
        >>> shape, rnn.apply(params, state, jnp.ones((2, 5, 3)))[0].shape
        ((2, 4), (2, 4))
    """
    return _layer("SimpleRNN", SimpleRNNCell, locals())


def LSTM(
    units: int,
    activation: str | Callable | None = "tanh",
    recurrent_activation: str | Callable | None = "sigmoid",
    use_bias: bool = True,
    kernel_initializer: str | Callable = "glorot_uniform",
    recurrent_initializer: str | Callable = "orthogonal",
    bias_initializer: str | Callable = "zeros",
    unit_forget_bias: bool = True,
    kernel_regularizer: Any = None,
    recurrent_regularizer: Any = None,
    bias_regularizer: Any = None,
    kernel_constraint: Any = None,
    recurrent_constraint: Any = None,
    bias_constraint: Any = None,
    dropout: float = 0.0,
    recurrent_dropout: float = 0.0,
    return_sequences: bool = False,
    return_state: bool = False,
    go_backwards: bool = False,
    stateful: bool = False,
    unroll: bool = False,
    use_cudnn: str | bool = "auto",
    zero_output_for_mask: bool = False,
    input_shape: Sequence[int | None] | None = None,
    name: str | None = None,
    trainable: bool = True,
    dtype: Any = None,
    param_dtype: Any = None,
) -> Layer:
    """Long short-term memory: ``RNN(LSTMCell(units, ...))`` with Keras's flat arguments.

    Shapes, calling conventions and params: see :func:`RNN` and :func:`fnnet.layers.LSTMCell`
    (params ``kernel (features, 4 units)``, ``recurrent_kernel (units, 4 units)``, ``bias
    (4 units,)``, gates i, f, c, o). Initial states and ``return_state``: ``(h, c)``.
    ``use_cudnn`` is accepted for Keras compatibility; fnnet always runs XLA's scan.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import layers
        >>> lstm = layers.LSTM(4, return_sequences=True)
        >>> shape, params, state = lstm.init(jax.random.key(0), (2, 5, 3))
        >>> shape, sorted(params)
        ((2, 5, 4), ['bias', 'kernel', 'recurrent_kernel'])
    """
    return _layer("LSTM", LSTMCell, locals())


def GRU(
    units: int,
    activation: str | Callable | None = "tanh",
    recurrent_activation: str | Callable | None = "sigmoid",
    use_bias: bool = True,
    kernel_initializer: str | Callable = "glorot_uniform",
    recurrent_initializer: str | Callable = "orthogonal",
    bias_initializer: str | Callable = "zeros",
    kernel_regularizer: Any = None,
    recurrent_regularizer: Any = None,
    bias_regularizer: Any = None,
    kernel_constraint: Any = None,
    recurrent_constraint: Any = None,
    bias_constraint: Any = None,
    dropout: float = 0.0,
    recurrent_dropout: float = 0.0,
    return_sequences: bool = False,
    return_state: bool = False,
    go_backwards: bool = False,
    stateful: bool = False,
    unroll: bool = False,
    reset_after: bool = True,
    use_cudnn: str | bool = "auto",
    zero_output_for_mask: bool = False,
    input_shape: Sequence[int | None] | None = None,
    name: str | None = None,
    trainable: bool = True,
    dtype: Any = None,
    param_dtype: Any = None,
) -> Layer:
    """Gated recurrent unit: ``RNN(GRUCell(units, ...))`` with Keras's flat arguments.

    Shapes, calling conventions and params: see :func:`RNN` and :func:`fnnet.layers.GRUCell`
    (``bias`` is ``(2, 3 units)`` with ``reset_after=True``, Keras 3's default).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import layers
        >>> gru = layers.GRU(4, return_state=True)
        >>> shapes, params, state = gru.init(jax.random.key(0), (2, 5, 3))
        >>> shapes, params["bias"].shape
        (((2, 4), (2, 4)), (2, 12))
    """
    return _layer("GRU", GRUCell, locals())
