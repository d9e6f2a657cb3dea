"""Layer wrappers with Keras's names, arguments and defaults: Bidirectional, TimeDistributed.

Both hold their child layers in their config (``config["layer"]``, and
``config["backward_layer"]`` for a given backward layer), so architectures round-trip through
:mod:`fnnet.saving.architecture`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp

from fnnet.core import Layer, Masked, as_layer, call, init_layer, split_rng, strip_masks
from fnnet.layers import recurrent
from fnnet.layers.core import _check_declared, _check_input_shape

__all__ = ["Bidirectional", "TimeDistributed"]

_MERGE_MODES = ("concat", "sum", "mul", "ave", None)
_RECURRENT = {"RNN": recurrent.RNN, "SimpleRNN": recurrent.SimpleRNN, "LSTM": recurrent.LSTM,
              "GRU": recurrent.GRU}


def _rebuild(layer: Layer, where: str, **changes: Any) -> Layer:
    """``layer`` rebuilt from its config with some arguments changed (Keras copies layers the
    same way, through their config)."""
    constructor = _RECURRENT.get(layer.kind)
    if constructor is None or layer.config is None:
        raise TypeError(
            f"Bidirectional: {where} must be a recurrent layer (RNN, SimpleRNN, LSTM or GRU); got "
            f"{layer.kind} layer {layer.name or ''!s}. Wrap a cell of your own in RNN(cell)."
        )
    config = {**layer.config, **changes}
    return constructor(**config).replace(name=layer.name, trainable=layer.trainable)


def _unhooked(layer: Layer) -> Layer:
    # Bidirectional applies its children's penalties and constraints to its (forward,
    # backward) params itself; the stored child carries none, so fnnet.core, which walks
    # config["layer"] with the wrapper's params, does not apply the forward one to both.
    return layer.replace(regularizer=None, constraint=None)


def Bidirectional(
    layer: Any,
    merge_mode: str | None = "concat",
    backward_layer: Any = None,
    input_shape: Sequence[int | None] | None = None,
    name: str | None = None,
    trainable: bool = True,
) -> Layer:
    """Runs a recurrent layer forwards and a copy backwards over the sequence, and merges them.

    Shapes:
        input ``(batch, steps, features)`` (or ``(x, *initial_states)``: the first half of the
        states goes to the forward layer, the second to the backward one, as in Keras).
        Output: the two outputs merged by ``merge_mode`` (``concat`` doubles the last dim); a
        tuple ``(forward, backward)`` for ``merge_mode=None``; with ``return_state``,
        ``(output, *forward_states, *backward_states)``. With ``return_sequences`` the
        backward outputs are flipped back to the input's time order and, on a masked input,
        are zero at masked steps (Keras forces ``zero_output_for_mask`` there).

    Params and state: ``(forward, backward)``, each the wrapped layer's; Keras's weight
    order (forward, then backward).

    Args:
        layer: a recurrent layer (RNN, SimpleRNN, LSTM, GRU) with ``go_backwards=False``; the
            backward layer is a fresh copy of it with ``go_backwards=True`` (Keras copies it
            through its config; it has its own params).
        merge_mode: ``"concat"``, ``"sum"``, ``"mul"``, ``"ave"`` or None (no merge).
        backward_layer: an optional recurrent layer for the backward direction, with
            ``go_backwards=True`` and the same ``return_sequences`` and ``return_state``.
        input_shape, name, trainable: as for every layer.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import layers
        >>> bi = layers.Bidirectional(layers.LSTM(4, return_sequences=True))
        >>> shape, (p_fwd, p_bwd), state = bi.init(jax.random.key(0), (2, 5, 3))
        >>> shape, p_bwd["kernel"].shape
        ((2, 5, 8), (3, 16))
        >>> bi.apply((p_fwd, p_bwd), state, jnp.ones((2, 5, 3)))[0].shape
        (2, 5, 8)
    """
    layer = as_layer(layer, "Bidirectional: layer")
    if merge_mode not in _MERGE_MODES:
        raise ValueError(
            f"Bidirectional: merge_mode must be one of 'concat', 'sum', 'mul', 'ave' or None; "
            f"got {merge_mode!r}."
        )
    config = dict(layer.config or {})
    if layer.kind in _RECURRENT and config.get("go_backwards"):
        raise ValueError(
            "Bidirectional: the forward layer has go_backwards=True, so it and its backward copy "
            "would run the same way (Keras raises too). Pass a layer with go_backwards=False, "
            "or give both: Bidirectional(forward, backward_layer=backward)."
        )
    rs = bool(config.get("return_sequences", False))
    # Keras: the wrapped layers output zeros at masked steps exactly when they return sequences.
    forward = _rebuild(layer, "layer", zero_output_for_mask=rs)
    if backward_layer is None:
        backward = _rebuild(layer, "layer", go_backwards=True, zero_output_for_mask=rs)
    else:
        backward_layer = as_layer(backward_layer, "Bidirectional: backward_layer")
        bconfig = backward_layer.config or {}
        if bool(bconfig.get("go_backwards")) == bool(config.get("go_backwards")):
            raise ValueError(
                f"Bidirectional: the forward and backward layers must have different "
                f"go_backwards; both have go_backwards={bool(config.get('go_backwards'))}. Build "
                f"the backward layer with go_backwards=True."
            )
        for attr in ("return_sequences", "return_state"):
            if bool(bconfig.get(attr)) != bool(config.get(attr)):
                raise ValueError(
                    f"Bidirectional: the forward and backward layers must have the same {attr}; "
                    f"got {bool(config.get(attr))} (forward) and {bool(bconfig.get(attr))} "
                    f"(backward)."
                )
        backward = _rebuild(backward_layer, "backward_layer", zero_output_for_mask=rs)
    return_state = bool(config.get("return_state", False))
    declared = _check_input_shape("Bidirectional", input_shape)
    children = (forward, backward)

    def merge(y, y_rev):
        if merge_mode == "concat":
            return jnp.concatenate([y, y_rev], axis=-1)
        if merge_mode == "sum":
            return y + y_rev
        if merge_mode == "ave":
            return (y + y_rev) / 2
        if merge_mode == "mul":
            return y * y_rev
        return (y, y_rev)

    def merge_shapes(a):
        if merge_mode == "concat":
            return (*a[:-1], None if a[-1] is None else 2 * a[-1])
        return (a, a) if merge_mode is None else a

    def halves(inputs):
        if isinstance(inputs, (tuple, list)) and inputs and not all(
                d is None or isinstance(d, int) for d in inputs):
            seq, states = inputs[0], list(inputs[1:])
            if len(states) % 2:
                raise ValueError(
                    f"Bidirectional: got {len(states)} initial states; pass an even number, the "
                    f"forward layer's states then the backward layer's."
                )
            half = len(states) // 2
            return ((seq, *states[:half]) if half else seq), ((seq, *states[half:]) if half
                                                             else seq)
        return inputs, inputs

    def init(rng, shape):
        fwd_shape, bwd_shape = halves(shape)
        _check_declared("Bidirectional", declared, fwd_shape[0] if isinstance(
            fwd_shape[0], (tuple, list)) else fwd_shape)
        outs = [init_layer(c, k, s, f"Bidirectional({c.kind})")
                for c, k, s in zip(children, split_rng(rng, 2), (fwd_shape, bwd_shape),
                                   strict=True)]
        out_f = outs[0][0]
        if return_state:
            y_shape = merge_shapes(out_f[0])
            states = (*out_f[1:], *outs[1][0][1:])
            out_shape = (*y_shape, *states) if merge_mode is None else (y_shape, *states)
        else:
            out_shape = merge_shapes(out_f)
        return out_shape, (outs[0][1], outs[1][1]), (outs[0][2], outs[1][2])

    def apply(params, state, x, *, rng=None, training=False):
        fwd_in, bwd_in = halves(x)
        (y, s_f), (y_rev, s_b) = [
            call(c, p, s, inp, rng=k, training=training)
            for c, p, s, inp, k in zip(children, params, state, (fwd_in, bwd_in),
                                       split_rng(rng, 2), strict=True)]
        states = ()
        if return_state:
            states = (*y[1:], *y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        mask = y.mask if isinstance(y, Masked) else None
        y, y_rev = strip_masks(y), strip_masks(y_rev)
        if rs:
            y_rev = jnp.flip(y_rev, axis=1)
        out = merge(y, y_rev)
        if mask is not None:
            out = tuple(Masked(o, mask) for o in out) if merge_mode is None else Masked(out, mask)
        if return_state:
            out = (*out, *states) if merge_mode is None else (out, *states)
        return out, (s_f, s_b)

    def regularizer(params):
        total = jnp.zeros((), jnp.float32)
        for c, p in zip(children, params, strict=True):
            if c.regularizer is not None:
                total = total + c.regularizer(p)
        return total

    def constraint(params):
        return tuple(c.constraint(p) if c.constraint is not None else p
                     for c, p in zip(children, params, strict=True))

    config = {"layer": _unhooked(layer), "merge_mode": merge_mode}
    if backward_layer is not None:
        config["backward_layer"] = _unhooked(backward_layer)
    if declared is not None:
        config["input_shape"] = declared
    return Layer(
        init, apply, name=name, kind="Bidirectional", config=config, input_shape=declared,
        supports_masking=True, trainable=trainable,
        regularizer=regularizer if any(c.regularizer for c in children) else None,
        constraint=constraint if any(c.constraint for c in children) else None,
    )


def TimeDistributed(
    layer: Any,
    input_shape: Sequence[int | None] | None = None,
    name: str | None = None,
    trainable: bool = True,
) -> Layer:
    """Applies a layer to every time step: ``(batch, steps, ...)`` -> ``(batch, steps, ...)``.

    The inner layer sees ``(batch, ...)`` slices, as in Keras; one ``jax.vmap`` over the time
    axis runs them all (stateless layers; a Dropout inside draws a fresh mask per step). A
    layer with state (BatchNormalization) runs once per step in order with one ``lax.scan``,
    its statistics updated after each step, as Keras's loop over the steps does. A masked
    input keeps its ``(batch, steps)`` mask; an inner layer that supports masking gets each
    step's ``(batch,)`` mask.

    Params and state: the inner layer's.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import layers
        >>> td = layers.TimeDistributed(layers.Dense(2))
        >>> shape, params, state = td.init(jax.random.key(0), (3, 5, 4))
        >>> shape, params["kernel"].shape
        ((3, 5, 2), (4, 2))
        >>> td.apply(params, state, jnp.ones((3, 5, 4)))[0].shape
        (3, 5, 2)
    """
    layer = as_layer(layer, "TimeDistributed: layer")
    declared = _check_input_shape("TimeDistributed", input_shape)
    label = f"TimeDistributed({layer.kind})"

    def init(rng, shape):
        if not (isinstance(shape, (tuple, list)) and len(shape) >= 3 and all(
                d is None or isinstance(d, int) for d in shape)):
            raise ValueError(
                f"{label}: expected an input of shape (batch, steps, ...) with at least 3 dims; "
                f"got {shape!r}."
            )
        _check_declared(label, declared, shape)
        out, params, state = init_layer(layer, rng, (shape[0], *shape[2:]), label)
        return (out[0], shape[1], *out[1:]), params, state

    def apply(params, state, x, *, rng=None, training=False, batch_mask=None):
        mask = x.mask if isinstance(x, Masked) else None
        value = strip_masks(x)
        steps = value.shape[1]
        xs = jnp.swapaxes(value, 0, 1)
        ms = None if mask is None or not layer.supports_masking else jnp.swapaxes(mask, 0, 1)
        keys = None if rng is None else jax.random.split(rng, steps)

        def one(s, x_t, m_t, key):
            inp = x_t if m_t is None else Masked(x_t, m_t)
            y, s = call(layer, params, s, inp, rng=key, training=training,
                        batch_mask=batch_mask)
            return strip_masks(y), s

        if jax.tree.leaves(state):
            def body(s, inputs):
                y, s = one(s, *inputs)
                return s, y
            state, ys = jax.lax.scan(body, state, (xs, ms, keys))
        else:
            ys, _ = jax.vmap(one, in_axes=(None, 0, 0, 0))(state, xs, ms, keys)
        y = jnp.swapaxes(ys, 0, 1)
        return (y if mask is None else Masked(y, mask)), state

    config = {"layer": layer}
    if declared is not None:
        config["input_shape"] = declared
    return Layer(init, apply, name=name, kind="TimeDistributed", config=config,
                 input_shape=declared, supports_masking=True,
                 uses_batch_mask=layer.uses_batch_mask, trainable=trainable)
