"""Recurrent cells with Keras's names, arguments, defaults and weight layouts: one time step each.

A cell is a :class:`fnnet.Layer` for one time step, Keras's ``cell(inputs, states)`` as a pure
pair. Its input is ``(x_t, carry)`` and its output ``(y_t, new_carry)``, where ``carry`` is a
tuple of arrays ``(batch, size)`` (``(h,)`` for SimpleRNN and GRU, ``(h, c)`` for LSTM)::

    ((batch, units), carry_shapes), params, state = cell.init(rng, (batch, features))
    (y_t, new_carry), state = cell.apply(params, state, (x_t, carry), rng=rng, training=training)

``init`` takes the shape of one step's input, ``(batch, features)``, and returns the carry's
shapes with the output's, which is how :func:`fnnet.layers.RNN` learns what to carry and what
zeros to start from (Keras's ``state_size``). Built-in cells also accept the shape of their
whole apply input, ``((batch, features), carry_shapes)``, so they pass fnnet's layer checks.

Your own cell follows the same protocol; ``RNN`` only ever calls ``init`` with
``(batch, features)``. ``RNN`` gives the cell the *same* ``rng`` at every step of one call,
because Keras draws a cell's dropout masks once per sequence and reuses them at every step;
a cell that wants fresh randomness per step can carry a counter and ``fold_in`` it.

Example (a cell of your own: a leaky running mean, with no params):
    >>> import jax, jax.numpy as jnp
    >>> import fnnet
    >>> from fnnet import layers
    >>> def init(rng, input_shape):
    ...     batch, features = input_shape
    ...     return ((batch, features), ((batch, features),)), {}, ()
    >>> def apply(params, state, inputs, *, rng=None, training=False):
    ...     x_t, (h,) = inputs
    ...     h = 0.5 * h + 0.5 * x_t
    ...     return (h, (h,)), state
    >>> leaky = fnnet.Layer(init, apply, kind="LeakyMean")
    >>> rnn = layers.RNN(leaky, return_sequences=True)
    >>> shape, params, state = rnn.init(jax.random.key(0), (1, 3, 2))
    >>> y, _ = rnn.apply(params, state, jnp.ones((1, 3, 2)))
    >>> shape, y[0, :, 0].tolist()
    ((1, 3, 2), [0.5, 0.75, 0.875])

To save such a cell in a model file, give it a ``config`` and load with ``custom_objects``,
as for any custom layer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from fnnet import activations as activations_lib
from fnnet import initializers as initializers_lib
from fnnet import mixed_precision
from fnnet.core import Layer
from fnnet.layers._seq_common import check_bool, check_rate
from fnnet.layers.core import _check_positive_int, weight_hooks

__all__ = ["SimpleRNNCell", "LSTMCell", "GRUCell"]

# weight_hooks names config entries after the param; Keras calls the recurrent ones
# recurrent_regularizer / recurrent_constraint.
_KERAS_HOOK_NAMES = {"recurrent_kernel_regularizer": "recurrent_regularizer",
                     "recurrent_kernel_constraint": "recurrent_constraint"}


def _step_shapes(label: str, input_shape: Any, n_states: int, units: int) -> tuple:
    """``(x_shape, carry_shapes)`` from ``(batch, features)`` or ``((batch, features), carry)``."""
    full = (isinstance(input_shape, (tuple, list)) and len(input_shape) == 2
            and isinstance(input_shape[0], (tuple, list)))
    x_shape = tuple(input_shape[0]) if full else tuple(input_shape)
    if len(x_shape) != 2 or x_shape[1] is None or not all(
            d is None or isinstance(d, int) for d in x_shape):
        raise ValueError(
            f"{label}: init takes the shape of one time step, (batch, features), or of the whole "
            f"apply input, ((batch, features), carry_shapes); got {input_shape!r}. A cell runs "
            f"one step: to run it over a sequence (batch, steps, features), wrap it: "
            f"RNN({label})."
        )
    carry = ((x_shape[0], units),) * n_states
    if full:
        given = tuple(tuple(s) for s in input_shape[1])
        if given != carry:
            raise ValueError(
                f"{label}: the carry's shapes must be {carry} (one (batch, {units}) array per "
                f"state); got {given}."
            )
    return x_shape, carry


def _make_params(rng, kernel_init, recurrent_init, bias_init, shapes, store):
    k_rng, r_rng, b_rng = jax.random.split(rng, 3)
    params = {"kernel": kernel_init(k_rng, shapes[0], store),
              "recurrent_kernel": recurrent_init(r_rng, shapes[1], store)}
    if shapes[2] is not None:
        params["bias"] = bias_init(b_rng, shapes[2], store)
    return params


def _dropout_masks(key, rate, count, shape, dtype):
    """``count`` Keras dropout masks (kept entries ``1 / (1 - rate)``), stacked: ``(count, *shape)``."""
    keep = jax.random.bernoulli(key, 1.0 - rate, (count, *shape))
    return jnp.where(keep, jnp.asarray(1.0 / (1.0 - rate), dtype), jnp.zeros((), dtype))


def _project(v, masks, weight, n):
    """``v @ weight`` with ``v`` dropped out by one mask, or by one mask per gate block."""
    if masks is None:
        return v @ weight
    if masks.shape[0] == 1:
        return (v * masks[0]) @ weight
    d = weight.shape[0]
    per_gate = jnp.einsum("gbd,dgu->bgu", v[None] * masks, weight.reshape(d, n, -1))
    return per_gate.reshape(v.shape[0], -1)


class _CellSpec(NamedTuple):
    """What every built-in cell checks and records the same way, from Keras's shared arguments."""

    kind: str
    label: str
    units: int
    activation: Callable
    recurrent_activation: Callable | None
    use_bias: bool
    kernel_init: Callable
    recurrent_init: Callable
    bias_init: Callable
    dropout: float
    recurrent_dropout: float
    regularizer: Any
    constraint: Any
    policy: Any
    store: Any
    config: dict


def _cell_spec(kind: str, units: int, args: dict) -> _CellSpec:
    """Checks the arguments the three cells share (``args`` is the cell's ``locals()``)."""
    label = f"{kind}({units})"
    _check_positive_int(kind, "units", units, f"{kind}(32)")
    act = activations_lib.get(args["activation"])
    rec_act = (activations_lib.get(args["recurrent_activation"])
               if "recurrent_activation" in args else None)
    use_bias = check_bool(label, "use_bias", args["use_bias"])
    kernel_init, recurrent_init, bias_init = [
        initializers_lib.get(args[k]) for k in ("kernel_initializer", "recurrent_initializer",
                                                "bias_initializer")]
    dropout = check_rate(label, "dropout", args["dropout"])
    recurrent_dropout = check_rate(label, "recurrent_dropout", args["recurrent_dropout"])
    arg_prefix = {"kernel": "kernel", "recurrent_kernel": "recurrent", "bias": "bias"}
    hook_config, regularizer, constraint = weight_hooks(
        {param: args[f"{a}_regularizer"] for param, a in arg_prefix.items()},
        {param: args[f"{a}_constraint"] for param, a in arg_prefix.items()})
    hook_config = {_KERAS_HOOK_NAMES.get(k, k): v for k, v in hook_config.items()
                   if v is not None}
    param_dtype = args["param_dtype"]
    policy, _, store = mixed_precision.resolve(args["dtype"], param_dtype)
    config = {
        "units": units,
        "activation": activations_lib.serialize(act) or act,
        "use_bias": use_bias,
        "kernel_initializer": initializers_lib.serialize(kernel_init) or kernel_init,
        "recurrent_initializer": initializers_lib.serialize(recurrent_init) or recurrent_init,
        "bias_initializer": initializers_lib.serialize(bias_init) or bias_init,
        **hook_config,
        "dropout": dropout,
        "recurrent_dropout": recurrent_dropout,
        **mixed_precision.config_entry(policy, param_dtype, policy.variable_dtype),
    }
    if rec_act is not None:
        config["recurrent_activation"] = activations_lib.serialize(rec_act) or rec_act
    return _CellSpec(kind, label, units, act, rec_act, use_bias, kernel_init, recurrent_init,
                     bias_init, dropout, recurrent_dropout, regularizer, constraint, policy,
                     store, config)


def _make_cell(spec: _CellSpec, n_gates: int, n_states: int, step: Callable, *,
               bias_shape: tuple, extra_config: dict | None = None,
               bias_init: Callable | None = None, name, trainable) -> Layer:
    """A cell layer from ``step(params, x, carry, x_masks, h_masks) -> (y, carry)``.

    With ``recurrent_dropout`` each of the ``n_gates`` blocks gets its own masks when there is
    more than one gate, as in Keras (its ``implementation=1``); otherwise one mask is shared.
    """
    label, units, use_bias, policy = spec.label, spec.units, spec.use_bias, spec.policy
    dropout, recurrent_dropout = spec.dropout, spec.recurrent_dropout
    per_gate_masks = n_gates > 1 and recurrent_dropout > 0
    bias_init = bias_init or spec.bias_init

    def init(rng, input_shape):
        x_shape, carry = _step_shapes(label, input_shape, n_states, units)
        shapes = ((x_shape[1], n_gates * units), (units, n_gates * units),
                  bias_shape if use_bias else None)
        params = _make_params(rng, spec.kernel_init, spec.recurrent_init, bias_init, shapes,
                              spec.store)
        return ((x_shape[0], units), carry), params, ()

    def apply(params, state, inputs, *, rng=None, training=False):
        if not isinstance(inputs, (tuple, list)) or len(inputs) != 2 or not isinstance(
                inputs[1], (tuple, list)) or len(inputs[1]) != n_states:
            raise ValueError(
                f"{label}: a cell takes one step's input and its carry, (x_t, carry) with carry "
                f"a tuple of {n_states} array(s) of shape (batch, {units}); got "
                f"{type(inputs).__name__}. Run it over a sequence with RNN({label})."
            )
        x, carry = inputs
        kernel = params["kernel"]
        if x.ndim != 2 or x.shape[-1] != kernel.shape[0]:
            raise ValueError(
                f"{label}: expected a step input of shape (batch, {kernel.shape[0]}); got "
                f"{tuple(x.shape)}."
            )
        dt = mixed_precision.compute_dtype(policy, kernel)
        x = jnp.asarray(x, dt)
        carry = tuple(jnp.asarray(c, dt) for c in carry)
        x_masks = h_masks = None
        if training and (dropout > 0 or recurrent_dropout > 0):
            if rng is None:
                raise ValueError(
                    f"{label} has dropout={dropout}, recurrent_dropout={recurrent_dropout} and "
                    f"needs an rng when training=True. Call apply(params, state, inputs, "
                    f"rng=jax.random.key(0), training=True), or pass training=False for "
                    f"inference."
                )
            x_key, h_key = jax.random.split(rng)
            count = n_gates if per_gate_masks else 1
            if dropout > 0:
                x_masks = _dropout_masks(x_key, dropout, count, x.shape, dt)
            if recurrent_dropout > 0:
                h_masks = _dropout_masks(h_key, recurrent_dropout, count, carry[0].shape, dt)
        cast = {k: v.astype(dt) for k, v in params.items()}
        y, new_carry = step(cast, x, carry, x_masks, h_masks)
        return (y, new_carry), state

    return Layer(init, apply, name=name, kind=spec.kind,
                 config={**spec.config, **(extra_config or {})},
                 regularizer=spec.regularizer, constraint=spec.constraint,
                 trainable=trainable)


def _bias(row: jax.Array) -> jax.Array:
    return row.reshape(1, -1)  # explicit broadcasting over the batch (strict rank promotion)


def SimpleRNNCell(
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
    name: str | None = None,
    trainable: bool = True,
    dtype: Any = None,
    param_dtype: Any = None,
) -> Layer:
    """The fully connected recurrent cell: ``h = activation(x @ kernel + bias + h @ recurrent_kernel)``.

    One step: input ``(x_t, (h,))`` with ``x_t`` ``(batch, features)`` and ``h``
    ``(batch, units)``; output ``(h_new, (h_new,))``. See the module docs for the protocol.

    Params: ``{"kernel": (features, units), "recurrent_kernel": (units, units), "bias":
    (units,)}`` (no ``bias`` when ``use_bias=False``), Keras's layout. State: ``()``.

    Args:
        units: the size of the output and of the carried state.
        activation: the activation (default tanh); None for linear.
        use_bias, kernel_initializer, recurrent_initializer, bias_initializer: as Keras.
        kernel_regularizer, recurrent_regularizer, bias_regularizer: weight penalties.
        kernel_constraint, recurrent_constraint, bias_constraint: projections after updates.
        dropout: the probability of dropping an input unit, in ``[0, 1)``; one mask per call
            of the RNN, reused at every step (Keras's rule). Needs an rng when training.
        recurrent_dropout: likewise, for the carried state.
        name, trainable, dtype, param_dtype: as for :func:`fnnet.layers.Dense`.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import layers
        >>> cell = layers.SimpleRNNCell(4)
        >>> (y_shape, carry_shapes), params, _ = cell.init(jax.random.key(0), (2, 3))
        >>> y_shape, carry_shapes, params["recurrent_kernel"].shape
        ((2, 4), ((2, 4),), (4, 4))
        >>> (y, (h,)), _ = cell.apply(params, (), (jnp.ones((2, 3)), (jnp.zeros((2, 4)),)))
        >>> y.shape, bool((y == h).all())
        ((2, 4), True)
    """
    spec = _cell_spec("SimpleRNNCell", units, locals())
    act, use_bias = spec.activation, spec.use_bias

    def step(p, x, carry, x_masks, h_masks):
        h = _project(x, x_masks, p["kernel"], 1)
        if use_bias:
            h = h + _bias(p["bias"])
        out = act(h + _project(carry[0], h_masks, p["recurrent_kernel"], 1))
        return out, (out,)

    return _make_cell(spec, 1, 1, step, bias_shape=(units,), name=name, trainable=trainable)


def LSTMCell(
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
    name: str | None = None,
    trainable: bool = True,
    dtype: Any = None,
    param_dtype: Any = None,
) -> Layer:
    """The long short-term memory cell (Hochreiter 1997), Keras's gate order ``i, f, c, o``.

    One step: input ``(x_t, (h, c))``, output ``(h_new, (h_new, c_new))``, with
    ``z = x @ kernel + h @ recurrent_kernel + bias`` split into the input, forget, candidate
    and output blocks: ``c_new = f * c + i * activation(z_c)``, ``h_new = o *
    activation(c_new)`` (``i, f, o`` through ``recurrent_activation``).

    Params: ``{"kernel": (features, 4 * units), "recurrent_kernel": (units, 4 * units),
    "bias": (4 * units,)}``, blocks in the order i, f, c, o. With ``unit_forget_bias`` the
    forget block of the bias starts at ones. State: ``()``.

    Args:
        units: the size of the output and of each of the two carried states.
        activation: for the candidate and the output (default tanh).
        recurrent_activation: for the gates (default sigmoid).
        unit_forget_bias: add 1 to the forget gate's bias at initialization (Keras's default).
        dropout, recurrent_dropout: probabilities of dropping input / recurrent units; with
            ``recurrent_dropout > 0`` each gate gets its own masks, as in Keras (its
            ``implementation=1``), otherwise one input mask is shared by the gates.
        Other args: as :func:`SimpleRNNCell`.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import layers
        >>> cell = layers.LSTMCell(4)
        >>> (y_shape, carry_shapes), params, _ = cell.init(jax.random.key(0), (2, 3))
        >>> carry_shapes, params["kernel"].shape, params["bias"][4:8].tolist()
        (((2, 4), (2, 4)), (3, 16), [1.0, 1.0, 1.0, 1.0])
    """
    spec = _cell_spec("LSTMCell", units, locals())
    act, rec_act, use_bias, bias_init = (spec.activation, spec.recurrent_activation,
                                         spec.use_bias, spec.bias_init)
    unit_forget_bias = check_bool(spec.label, "unit_forget_bias", unit_forget_bias)

    def step(p, x, carry, x_masks, h_masks):
        h, c = carry
        z = _project(x, x_masks, p["kernel"], 4) + _project(h, h_masks, p["recurrent_kernel"], 4)
        if use_bias:
            z = z + _bias(p["bias"])
        z_i, z_f, z_c, z_o = jnp.split(z, 4, axis=-1)
        c = rec_act(z_f) * c + rec_act(z_i) * act(z_c)
        h = rec_act(z_o) * act(c)
        return h, (h, c)

    def lstm_bias_init(key, shape, dtype):
        if not unit_forget_bias:
            return bias_init(key, shape, dtype)
        k1, k2 = jax.random.split(key)  # Keras: the forget block starts at ones
        return jnp.concatenate([bias_init(k1, (units,), dtype), jnp.ones((units,), dtype),
                                bias_init(k2, (2 * units,), dtype)])

    return _make_cell(spec, 4, 2, step, bias_shape=(4 * units,), bias_init=lstm_bias_init,
                      extra_config={"unit_forget_bias": unit_forget_bias}, name=name,
                      trainable=trainable)


def GRUCell(
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
    reset_after: bool = True,
    name: str | None = None,
    trainable: bool = True,
    dtype: Any = None,
    param_dtype: Any = None,
) -> Layer:
    """The gated recurrent unit (Cho 2014), Keras's gate order ``z, r, h``.

    One step: input ``(x_t, (h,))``, output ``(h_new, (h_new,))`` with ``h_new = z * h +
    (1 - z) * hh``. With ``reset_after=True`` (Keras 3's default, cuDNN's form) the reset gate
    multiplies ``h @ recurrent_kernel_h + recurrent_bias_h``; with False it multiplies ``h``
    before the matmul.

    Params: ``{"kernel": (features, 3 * units), "recurrent_kernel": (units, 3 * units),
    "bias": (2, 3 * units)}`` with ``reset_after`` (row 0 the input bias, row 1 the recurrent
    bias), ``(3 * units,)`` without. State: ``()``.

    Args:
        reset_after: where the reset gate applies (see above).
        Other args: as :func:`LSTMCell` (without ``unit_forget_bias``).

    Example:
        >>> import jax
        >>> from fnnet import layers
        >>> _, params, _ = layers.GRUCell(4).init(jax.random.key(0), (2, 3))
        >>> params["kernel"].shape, params["bias"].shape
        ((3, 12), (2, 12))
        >>> layers.GRUCell(4, reset_after=False).init(jax.random.key(0), (2, 3))[1]["bias"].shape
        (12,)
    """
    spec = _cell_spec("GRUCell", units, locals())
    act, rec_act, use_bias = spec.activation, spec.recurrent_activation, spec.use_bias
    reset_after = check_bool(spec.label, "reset_after", reset_after)

    def step(p, x, carry, x_masks, h_masks):
        (h,) = carry
        kernel, rec = p["kernel"], p["recurrent_kernel"]
        matrix_x = _project(x, x_masks, kernel, 3)
        if use_bias:
            in_bias = p["bias"][0] if reset_after else p["bias"]
            matrix_x = matrix_x + _bias(in_bias)
        x_z, x_r, x_h = jnp.split(matrix_x, 3, axis=-1)
        if reset_after:
            inner = _project(h, h_masks, rec, 3)
            if use_bias:
                inner = inner + _bias(p["bias"][1])
            rec_z, rec_r, rec_h = jnp.split(inner, 3, axis=-1)
        else:
            zr_masks = None if h_masks is None else h_masks[:2]
            rec_z, rec_r = jnp.split(_project(h, zr_masks, rec[:, :2 * units], 2), 2, axis=-1)
        z = rec_act(x_z + rec_z)
        r = rec_act(x_r + rec_r)
        if reset_after:
            rec_h = r * rec_h
        else:
            h_h = h if h_masks is None else h * h_masks[-1]
            rec_h = (r * h_h) @ rec[:, 2 * units:]
        hh = act(x_h + rec_h)
        h = z * h + (1 - z) * hh
        return h, (h,)

    return _make_cell(spec, 3, 1, step,
                      bias_shape=(2, 3 * units) if reset_after else (3 * units,),
                      extra_config={"reset_after": reset_after}, name=name, trainable=trainable)
