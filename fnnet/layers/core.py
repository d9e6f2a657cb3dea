"""Core layers with Keras's names, arguments and defaults: Dense, Activation, Flatten, Reshape, Dropout.

Each constructor returns a :class:`fnnet.Layer`, the pure ``(init, apply)`` pair.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp

from fnnet import activations as activations_lib
from fnnet import constraints as constraints_lib
from fnnet import initializers as initializers_lib
from fnnet import mixed_precision
from fnnet import regularizers as regularizers_lib
from fnnet.core import Layer, keeps_mask

__all__ = ["Dense", "Activation", "Flatten", "Reshape", "Dropout", "Identity"]

# Activations whose pre-activation values (logits) the train step can use for a stable loss.
_PROBABILITY_ACTIVATIONS = ("softmax", "sigmoid")


def _check_positive_int(layer: str, arg: str, value: Any, example: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(
            f"{layer}: {arg} must be a positive int; got {value!r}. For example {example}."
        )
    return value


def _check_input_shape(layer: str, input_shape: Any) -> tuple | None:
    if input_shape is None:
        return None
    if isinstance(input_shape, int) and not isinstance(input_shape, bool):
        input_shape = (input_shape,)
    if not isinstance(input_shape, (tuple, list)) or not all(
        d is None or (isinstance(d, int) and not isinstance(d, bool) and d > 0) for d in input_shape
    ):
        raise ValueError(
            f"{layer}: input_shape must be a tuple of positive ints without the batch dim; got "
            f"{input_shape!r}. For 28x28 images flattened, use input_shape=(784,)."
        )
    return tuple(input_shape)


def _check_declared(layer: str, declared: tuple | None, input_shape: Sequence) -> None:
    """Raises when the shape given to init contradicts the constructor's ``input_shape``."""
    if declared is not None and tuple(input_shape[1:]) != declared:
        raise ValueError(
            f"{layer} was declared with input_shape={declared} (per example) but init received "
            f"{tuple(input_shape)} (with the batch dim). Pass inputs of shape (batch, "
            f"{', '.join(map(str, declared))}) or change input_shape."
        )


def _activation_name(fn: Callable) -> str | None:
    return activations_lib.serialize(fn)


def weight_hooks(regularizers: dict[str, Any], constraints: dict[str, Any]) -> tuple[dict, Any, Any]:
    """Resolves ``kernel_regularizer=...``-style arguments for the params they name.

    Returns ``(config entries, regularizer, constraint)``: the config entries to record (by
    name), ``regularizer(params) -> scalar`` summing each named param's penalty (or None), and
    ``constraint(params) -> params`` projecting each named param (or None). Keys are param
    names (``"kernel"``, ``"bias"``...); a param a layer does not have is skipped.
    """
    regs = {k: regularizers_lib.get(v) for k, v in regularizers.items()}
    cons = {k: constraints_lib.get(v) for k, v in constraints.items()}
    config = {}
    for k, v in regs.items():
        config[f"{k}_regularizer"] = regularizers_lib.serialize(v)
    for k, v in cons.items():
        config[f"{k}_constraint"] = constraints_lib.serialize(v)
    active_regs = {k: v for k, v in regs.items() if v is not None}
    active_cons = {k: v for k, v in cons.items() if v is not None}

    def regularizer(params):
        total = jnp.zeros((), jnp.float32)
        for k, fn in active_regs.items():
            if k in params:
                total = total + jnp.asarray(fn(params[k]), jnp.float32)
        return total

    def constraint(params):
        return {k: (active_cons[k](v) if k in active_cons else v) for k, v in params.items()}

    return (config, regularizer if active_regs else None, constraint if active_cons else None)


def Dense(
    units: int,
    activation: str | Callable | None = None,
    use_bias: bool = True,
    kernel_initializer: str | Callable = "glorot_uniform",
    bias_initializer: str | Callable = "zeros",
    kernel_regularizer: Any = None,
    bias_regularizer: Any = None,
    kernel_constraint: Any = None,
    bias_constraint: Any = None,
    input_shape: Sequence[int] | None = None,
    name: str | None = None,
    trainable: bool = True,
    dtype: Any = None,
    param_dtype: Any = None,
) -> Layer:
    """A densely connected layer: ``activation(x @ kernel + bias)``.

    Shapes:
        input ``(batch, ..., in_features)``; output ``(batch, ..., units)``.

    Params:
        ``{"kernel": (in_features, units), "bias": (units,)}`` (no ``bias`` when
        ``use_bias=False``), float32. State: ``()``. Inputs are cast to the kernel's dtype, as
        Keras casts them to the layer's compute dtype.

    Args:
        units: the number of output features.
        activation: a name from :mod:`fnnet.activations` (``"relu"``, ``"softmax"``...), a
            callable, or None for linear.
        use_bias: whether to add a bias.
        kernel_initializer: an initializer name or ``init(key, shape, dtype)`` callable.
        bias_initializer: likewise, for the bias.
        kernel_regularizer, bias_regularizer: a penalty on the kernel/bias added to the
            training loss: a name (``"l2"``), :mod:`fnnet.regularizers` instance or callable.
        kernel_constraint, bias_constraint: a projection applied after every update: a name
            (``"max_norm"``), :mod:`fnnet.constraints` instance or callable.
        input_shape: the per-example input shape (no batch dim), read by ``Sequential``.
        name: an optional name.
        trainable: False freezes the params (Keras's ``trainable``; also settable later).
        dtype: the dtype policy (:mod:`fnnet.mixed_precision`): None for the global one,
            ``"mixed_bfloat16"``, ``"float32"``...; the computation's dtype.
        param_dtype: the params' storage dtype (default: the policy's variable dtype).

    A data mask (:class:`fnnet.Masked`) passes through unchanged, as in Keras.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import layers
        >>> dense = layers.Dense(512, activation="relu", input_shape=(784,))
        >>> out_shape, params, state = dense.init(jax.random.key(0), (None, 784))
        >>> out_shape, params["kernel"].shape, params["bias"].shape, state
        ((None, 512), (784, 512), (512,), ())
        >>> y, _ = dense.apply(params, state, jnp.ones((32, 784)))
        >>> y.shape
        (32, 512)
    """
    _check_positive_int("Dense", "units", units, "Dense(512)")
    act = activations_lib.get(activation)
    act_name = _activation_name(act)
    kernel_init = initializers_lib.get(kernel_initializer)
    bias_init = initializers_lib.get(bias_initializer)
    declared = _check_input_shape("Dense", input_shape)
    label = f"Dense({units})"
    hook_config, regularizer, constraint = weight_hooks(
        {"kernel": kernel_regularizer, "bias": bias_regularizer},
        {"kernel": kernel_constraint, "bias": bias_constraint})
    policy, _, store = mixed_precision.resolve(dtype, param_dtype)

    def make(activation_fn: Callable) -> tuple[Callable, Callable]:
        def init(rng, input_shape):
            if len(input_shape) < 2 or input_shape[-1] is None or input_shape[-1] < 1:
                raise ValueError(
                    f"{label}: init takes the input shape with the batch dim, (batch, ..., "
                    f"features) with features >= 1; got {tuple(input_shape)}. For 784 features "
                    f"use (None, 784); in a Sequential give the first layer input_shape=(784,)."
                )
            _check_declared(label, declared, input_shape)
            k_rng, b_rng = jax.random.split(rng)
            params = {"kernel": kernel_init(k_rng, (input_shape[-1], units), store)}
            if use_bias:
                params["bias"] = bias_init(b_rng, (units,), store)
            return (*input_shape[:-1], units), params, ()

        def apply(params, state, x, *, rng=None, training=False):
            kernel = params["kernel"]
            if x.ndim < 1 or x.shape[-1] != kernel.shape[0]:
                raise ValueError(
                    f"{label}: expected inputs whose last dim is {kernel.shape[0]}, got an "
                    f"input of shape {tuple(x.shape)}. Reshape the input, or rebuild the layer "
                    f"for {x.shape[-1] if x.ndim else 'this'} features."
                )
            compute = mixed_precision.compute_dtype(policy, kernel)
            y = jnp.asarray(x, compute) @ kernel.astype(compute)
            if use_bias:
                y = y + params["bias"].astype(compute).reshape((1,) * (y.ndim - 1) + (units,))
            return activation_fn(y), state

        return init, keeps_mask(apply)

    logits = None
    if act_name in _PROBABILITY_ACTIVATIONS:
        logits = Layer(*make(activations_lib.get("linear")), kind="Dense", supports_masking=True)
    config = {
        "units": units,
        "activation": act_name if act_name is not None else act,
        "use_bias": use_bias,
        "kernel_initializer": initializers_lib.serialize(kernel_init) or kernel_init,
        "bias_initializer": initializers_lib.serialize(bias_init) or bias_init,
        **{k: v for k, v in hook_config.items() if v is not None},
        **mixed_precision.config_entry(policy, param_dtype, policy.variable_dtype),
    }
    if declared is not None:
        config["input_shape"] = declared
    return Layer(
        *make(act),
        regularizer=regularizer,
        constraint=constraint,
        name=name,
        kind="Dense",
        config=config,
        input_shape=declared,
        logits=logits,
        output_activation=act_name if logits is not None else None,
        supports_masking=True,
        trainable=trainable,
    )


def _stateless(kind, fn, config, *, name=None, input_shape=None, out_shape=None, logits=None,
               output_activation=None, supports_masking=True, trainable=True):
    """A layer with no params or state that maps ``x`` to ``fn(x)``.

    ``supports_masking``: the layer keeps the leading axes, so a data mask passes through.
    """

    def init(rng, shape):
        _check_declared(kind, input_shape, shape)
        return (out_shape(shape) if out_shape else tuple(shape)), (), ()

    def apply(params, state, x, *, rng=None, training=False):
        return fn(x), state

    return Layer(init, keeps_mask(apply) if supports_masking else apply, name=name, kind=kind,
                 config=config, input_shape=input_shape, logits=logits,
                 output_activation=output_activation, supports_masking=supports_masking,
                 trainable=trainable)


def Identity(name: str | None = None, trainable: bool = True) -> Layer:
    """The identity layer: returns its input unchanged (no params, no state).

    Example:
        >>> import jax.numpy as jnp
        >>> from fnnet import layers
        >>> layers.Identity().apply((), (), jnp.ones(2))[0].tolist()
        [1.0, 1.0]
    """
    return _stateless("Identity", lambda x: x, {}, name=name, trainable=trainable)


def Activation(
    activation: str | Callable,
    input_shape: Sequence[int] | None = None,
    name: str | None = None,
    trainable: bool = True,
) -> Layer:
    """Applies an activation function element-wise (``softmax`` over the last axis).

    Shapes: output shape equals input shape. No params, no state.

    Args:
        activation: a name from :mod:`fnnet.activations` or a callable.
        input_shape: the per-example input shape, read by ``Sequential`` when first.
        name: an optional name.

    Example:
        >>> import jax.numpy as jnp
        >>> from fnnet import layers
        >>> y, _ = layers.Activation("relu").apply((), (), jnp.array([-1.0, 2.0]))
        >>> y.tolist()
        [0.0, 2.0]
    """
    fn = activations_lib.get(activation)
    act_name = _activation_name(fn)
    declared = _check_input_shape("Activation", input_shape)
    logits = Identity() if act_name in _PROBABILITY_ACTIVATIONS else None
    config = {"activation": act_name if act_name is not None else fn}
    if declared is not None:
        config["input_shape"] = declared
    return _stateless(
        "Activation",
        fn,
        config,
        name=name,
        input_shape=declared,
        logits=logits,
        output_activation=act_name if logits is not None else None,
        trainable=trainable,
    )


def Flatten(input_shape: Sequence[int] | None = None, name: str | None = None,
            trainable: bool = True) -> Layer:
    """Flattens every dim but the batch dim: ``(batch, d1, d2, ...) -> (batch, d1*d2*...)``.

    A rank-1 input ``(batch,)`` becomes ``(batch, 1)``, as in Keras. No params, no state. A
    data mask ends here (Keras's Flatten does not support masking).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import layers
        >>> flat = layers.Flatten()
        >>> flat.init(jax.random.key(0), (None, 28, 28))[0]
        (None, 784)
        >>> flat.apply((), (), jnp.ones((2, 28, 28)))[0].shape
        (2, 784)
    """
    declared = _check_input_shape("Flatten", input_shape)

    def out_shape(shape):
        rest = shape[1:]
        return (shape[0], None if None in rest else math.prod(rest))

    config = {} if declared is None else {"input_shape": declared}
    return _stateless(
        "Flatten",
        lambda x: x.reshape((x.shape[0], -1)),
        config,
        name=name,
        input_shape=declared,
        out_shape=out_shape,
        supports_masking=False,
        trainable=trainable,
    )


def Reshape(
    target_shape: Sequence[int],
    input_shape: Sequence[int] | None = None,
    name: str | None = None,
    trainable: bool = True,
) -> Layer:
    """Reshapes each example to ``target_shape`` (batch dim kept; one ``-1`` is inferred).

    No params, no state; a data mask ends here, as in Keras.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import layers
        >>> layers.Reshape((28, 28)).init(jax.random.key(0), (None, 784))[0]
        (None, 28, 28)
        >>> layers.Reshape((-1, 2)).apply((), (), jnp.ones((3, 8)))[0].shape
        (3, 4, 2)
    """
    if not isinstance(target_shape, (tuple, list)) or not all(
        isinstance(d, int) and not isinstance(d, bool) and (d > 0 or d == -1) for d in target_shape
    ) or list(target_shape).count(-1) > 1:
        raise ValueError(
            f"Reshape: target_shape must be a tuple of positive ints (at most one -1), without the "
            f"batch dim; got {target_shape!r}. For example Reshape((28, 28))."
        )
    target = tuple(target_shape)
    declared = _check_input_shape("Reshape", input_shape)

    def out_shape(shape):
        size = math.prod(d for d in shape[1:]) if None not in shape[1:] else None
        known = math.prod(d for d in target if d != -1)
        if size is None:  # the inferred dim is unknown too: None, not -1 (Flatten would multiply it)
            return (shape[0], *(None if d == -1 else d for d in target))
        if (-1 in target and size % known) or (-1 not in target and size != known):
            raise ValueError(
                f"Reshape({target}): cannot reshape examples of shape {tuple(shape[1:])} "
                f"({size} values) to {target} ({known} values). Choose a target_shape with "
                f"{size} values."
            )
        return (shape[0], *(size // known if d == -1 else d for d in target))

    config = {"target_shape": target}
    if declared is not None:
        config["input_shape"] = declared
    return _stateless(
        "Reshape",
        lambda x: x.reshape((x.shape[0], *target)),
        config,
        name=name,
        input_shape=declared,
        out_shape=out_shape,
        supports_masking=False,
        trainable=trainable,
    )


def Dropout(
    rate: float,
    noise_shape: Sequence[int | None] | None = None,
    input_shape: Sequence[int] | None = None,
    name: str | None = None,
    trainable: bool = True,
) -> Layer:
    """Randomly zeroes inputs during training and scales the rest by ``1 / (1 - rate)``.

    ``rate`` is the probability of *dropping* a unit (Keras's convention, not stax's keep rate).
    When ``training=False`` the layer is the identity. Training needs an ``rng``.

    Shapes: output shape equals input shape. No params, no state.

    Args:
        rate: probability of dropping, in ``[0, 1)``.
        noise_shape: the shape of the binary mask, broadcast against the input (``None`` entries
            take the input's size), e.g. ``(None, 1, features)`` to drop whole features.
        input_shape: the per-example input shape, read by ``Sequential`` when first.
        name: an optional name.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import layers
        >>> drop = layers.Dropout(0.5)
        >>> y, _ = drop.apply((), (), jnp.ones((2, 4)), rng=jax.random.key(0), training=True)
        >>> sorted(set(y.ravel().tolist())) in ([0.0, 2.0], [2.0], [0.0])
        True
        >>> drop.apply((), (), jnp.ones(3))[0].tolist()   # inference: identity
        [1.0, 1.0, 1.0]
    """
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate < 1:
        raise ValueError(
            f"Dropout: rate is the probability of dropping and must be in [0, 1); got {rate!r}. "
            f"For example Dropout(0.5)."
        )
    rate = float(rate)
    declared = _check_input_shape("Dropout", input_shape)

    def init(rng, shape):
        _check_declared("Dropout", declared, shape)
        return tuple(shape), (), ()

    def apply(params, state, x, *, rng=None, training=False):
        if not training or rate == 0.0:
            return x, state
        if rng is None:
            raise ValueError(
                f"Dropout(rate={rate}) needs an rng when training=True. Call "
                f"apply(params, state, x, rng=jax.random.key(0), training=True), or pass "
                f"training=False for inference."
            )
        if not jnp.issubdtype(x.dtype, jnp.floating):  # as Keras, which casts to floatx
            x = jnp.asarray(x, jnp.float32)
        shape = x.shape
        if noise_shape is not None:
            if len(noise_shape) != x.ndim:
                raise ValueError(
                    f"Dropout(noise_shape={tuple(noise_shape)}): noise_shape needs one entry per "
                    f"input dim, but the input has shape {tuple(x.shape)}. Use None for dims "
                    f"that take the input's size, e.g. (None, 1, {x.shape[-1]})."
                )
            shape = tuple(s if n is None else n for n, s in zip(noise_shape, x.shape, strict=True))
        keep = jax.random.bernoulli(rng, 1.0 - rate, shape)
        scaled = x / jnp.asarray(1.0 - rate, x.dtype)
        return jnp.where(jnp.broadcast_to(keep, x.shape), scaled, jnp.zeros_like(x)), state

    config = {"rate": rate}
    if noise_shape is not None:
        config["noise_shape"] = tuple(noise_shape)
    if declared is not None:
        config["input_shape"] = declared
    return Layer(init, keeps_mask(apply), name=name, kind="Dropout", config=config,
                 input_shape=declared, supports_masking=True, trainable=trainable)
