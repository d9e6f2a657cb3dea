"""Convolution layers with Keras 3's names, arguments, defaults and weight layouts (channels-last):
Conv1D, Conv2D, Conv3D, and :func:`conv_layer`, the builder every convolution layer shares.

They run on ``jax.lax.conv_general_dilated`` as Keras's JAX backend does, so outputs agree with
Keras's for the same weights (on CPU through :func:`fnnet.layers._conv_ops.conv`, which keeps the
kernel gradient fast inside ``fit``'s loops; same values). Transposed convolutions are in
:mod:`fnnet.layers.convolutional_transpose`, depthwise and separable ones in
:mod:`fnnet.layers.convolutional_depthwise`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp

from fnnet import activations as activations_lib
from fnnet import initializers as initializers_lib
from fnnet import mixed_precision
from fnnet.core import Layer
from fnnet.layers import _spatial
from fnnet.layers._conv_ops import conv
from fnnet.layers._spatial import add_sections
from fnnet.layers.core import (
    _PROBABILITY_ACTIVATIONS,
    _check_declared,
    _check_input_shape,
    _check_positive_int,
    weight_hooks,
)

__all__ = ["Conv1D", "Conv2D", "Conv3D"]


def conv_layer(
    kind: str,
    label: str,
    rank: int,
    *,
    weight_shapes: Callable[[int], dict[str, tuple]],
    initializers: dict[str, Callable],
    in_channels: Callable[[dict], int],
    check_channels: Callable[[int, tuple], None],
    out_channels: Callable[[int], int],
    out_spatial: Callable[[tuple], tuple],
    forward: Callable[[dict, jax.Array], jax.Array],
    activation: Any,
    use_bias: bool,
    bias_initializer: Any,
    regularizers: dict[str, Any],
    constraints: dict[str, Any],
    config: dict,
    input_shape: Any,
    name: str | None,
    trainable: bool,
    dtype: Any,
    param_dtype: Any,
    arg_names: dict[str, str] | None = None,
) -> Layer:
    """The :class:`fnnet.Layer` every convolution constructor returns.

    ``weight_shapes(in_channels)`` gives the params other than ``bias``, in Keras's creation
    order; ``in_channels(params)`` reads the input channels a built layer expects, and
    ``check_channels(channels, input_shape)`` raises for a count the layer cannot take;
    ``forward(params, x)`` is the convolution (params and ``x`` already in the compute
    dtype); ``out_spatial`` maps the input's spatial shape to the output's (raising when it
    would be empty). ``arg_names`` maps a param to the prefix of its constructor arguments
    (Keras calls the ``kernel`` initializer of a depthwise layer ``depthwise_initializer``);
    by default the param's own name.
    """
    act = activations_lib.get(activation)
    act_name = activations_lib.serialize(act)
    bias_init = initializers_lib.get(bias_initializer)
    inits = {k: initializers_lib.get(v) for k, v in initializers.items()}
    declared = _check_input_shape(kind, input_shape)
    hook_config, regularizer, constraint = weight_hooks(regularizers, constraints)
    policy, _, store = mixed_precision.resolve(dtype, param_dtype)
    main = next(iter(initializers))

    def check_input(shape, params=None):
        _spatial.check_rank(label, shape, rank)
        if params is not None and shape[-1] != in_channels(params):
            raise ValueError(
                f"{label}: built for inputs with {in_channels(params)} channels, got an input of "
                f"shape {tuple(shape)}. Pass inputs with {in_channels(params)} channels (last "
                f"axis), or rebuild the layer for {shape[-1]}."
            )
        check_channels(shape[-1], tuple(shape))
        return out_spatial(tuple(shape[1:-1]))

    def make(activation_fn):
        def init(rng, shape):
            _check_declared(label, declared, shape)
            spatial = check_input(shape)
            keys = jax.random.split(rng, len(inits) + 1)
            shapes = weight_shapes(shape[-1])
            params = {k: inits[k](key, shapes[k], store) for k, key in zip(inits, keys, strict=False)}
            n_out = out_channels(shape[-1])
            if use_bias:
                params["bias"] = bias_init(keys[-1], (n_out,), store)
            return (shape[0], *spatial, n_out), params, ()

        def apply(params, state, x, *, rng=None, training=False):
            check_input(x.shape, params)
            compute = mixed_precision.compute_dtype(policy, params[main])
            p = {k: v.astype(compute) for k, v in params.items()}
            y = forward(p, jnp.asarray(x, compute))
            if use_bias:
                y = y + p["bias"].reshape((1,) * (rank + 1) + (-1,))
            return activation_fn(y), state

        return init, apply

    logits = None
    if act_name in _PROBABILITY_ACTIVATIONS:
        logits = Layer(*make(activations_lib.get("linear")), kind=kind)
    prefix = {"bias": "bias", **(arg_names or {})}
    full = {**config, "activation": act_name if act_name is not None else act,
            "use_bias": use_bias}
    for param, fn in (*inits.items(), ("bias", bias_init)):
        full[f"{prefix.get(param, param)}_initializer"] = initializers_lib.serialize(fn) or fn
    for key, value in hook_config.items():  # "kernel_regularizer" -> "depthwise_regularizer"
        param, _, suffix = key.rpartition("_")
        if value is not None:
            full[f"{prefix.get(param, param)}_{suffix}"] = value
    full.update(mixed_precision.config_entry(policy, param_dtype, policy.variable_dtype))
    if declared is not None:
        full["input_shape"] = declared
    return Layer(*make(act), regularizer=regularizer, constraint=constraint, name=name, kind=kind,
                 config=full, input_shape=declared, logits=logits,
                 output_activation=act_name if logits is not None else None, trainable=trainable)


def _conv(kind, rank, filters, kernel_size, strides, padding, data_format, dilation_rate, groups,
          activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
          bias_regularizer, kernel_constraint, bias_constraint, input_shape, name, trainable,
          dtype, param_dtype) -> Layer:
    example = f"{kind}(32, {(3,) * rank if rank > 1 else 3})"
    _check_positive_int(kind, "filters", filters, example)
    kernel = _spatial.check_ints(kind, "kernel_size", kernel_size, rank, example)
    strides = _spatial.check_ints(kind, "strides", strides, rank, f"strides={(2,) * rank}")
    dilation = _spatial.check_ints(kind, "dilation_rate", dilation_rate, rank,
                                   f"dilation_rate={(2,) * rank}")
    padding = _spatial.check_padding(kind, padding, ("valid", "same", "causal") if rank == 1
                                     else ("valid", "same"))
    data_format = _spatial.check_data_format(kind, data_format)
    _check_positive_int(kind, "groups", groups, "groups=2")
    if filters % groups:
        raise ValueError(
            f"{kind}: filters must be divisible by groups; got filters={filters}, groups={groups}. "
            f"Each group computes filters // groups outputs; choose e.g. filters={groups * 8}."
        )
    check_strides_dilation(kind, strides, dilation)
    label = f"{kind}({filters}, {kernel})"
    lax_padding = [(dilation[0] * (kernel[0] - 1), 0)] if padding == "causal" else padding.upper()
    dimension_numbers = _spatial.LAYOUTS[rank]

    def check_channels(channels, shape):
        if channels % groups:
            raise ValueError(
                f"{label}: the input's channels must be divisible by groups={groups}; got input "
                f"shape {shape}. Use a groups value that divides {channels}."
            )

    def forward(p, x):
        return conv(x, p["kernel"], strides, lax_padding, dilation, dimension_numbers, groups)

    config = {"filters": filters, "kernel_size": kernel, "strides": strides, "padding": padding,
              "data_format": data_format, "dilation_rate": dilation, "groups": groups}
    return conv_layer(
        kind, label, rank,
        weight_shapes=lambda c: {"kernel": (*kernel, c // groups, filters)},
        initializers={"kernel": kernel_initializer},
        in_channels=lambda p: p["kernel"].shape[-2] * groups,
        check_channels=check_channels,
        out_channels=lambda c: filters,
        out_spatial=lambda s: _spatial.conv_output(label, s, kernel, strides, dilation, padding),
        forward=forward, activation=activation, use_bias=use_bias,
        bias_initializer=bias_initializer,
        regularizers={"kernel": kernel_regularizer, "bias": bias_regularizer},
        constraints={"kernel": kernel_constraint, "bias": bias_constraint},
        config=config, input_shape=input_shape, name=name, trainable=trainable, dtype=dtype,
        param_dtype=param_dtype)


def check_strides_dilation(kind: str, strides: tuple, dilation: tuple) -> None:
    """Keras's rule for Conv and ConvTranspose: not both strides > 1 and dilation_rate > 1."""
    if max(strides) > 1 and max(dilation) > 1:
        raise ValueError(
            f"{kind}: strides > 1 cannot be combined with dilation_rate > 1 (as in Keras); got "
            f"strides={strides} and dilation_rate={dilation}. Use one of them, or follow the "
            f"layer with a pooling layer to downsample."
        )


_CONV_DOC = """

    Shapes:
        input ``{shape}``; output the same with ``filters`` channels and each spatial size
        ``ceil(n / stride)`` for ``"same"``{causal}, ``floor((n - dilation * (k - 1) - 1) /
        stride) + 1`` for ``"valid"``.

    Params:
        ``{{"kernel": (*kernel_size, in_channels // groups, filters), "bias": (filters,)}}``
        (Keras's layout; no ``bias`` when ``use_bias=False``). State: ``()``. Inputs are cast to
        the compute dtype.

    Args:
        filters: the number of output channels.
        kernel_size: the window, an int or a tuple of {rank} ints.
        strides: the step between windows, an int or {rank} ints. ``strides > 1`` cannot be
            combined with ``dilation_rate > 1``.
        padding: ``"valid"`` (no padding) or ``"same"`` (zero padding so the output has
            ``ceil(n / stride)`` positions){causal_arg}; case-insensitive.
        data_format: None or ``"channels_last"``, the only layout fnnet supports.
        dilation_rate: the spacing between kernel taps, an int or {rank} ints.
        groups: split the input channels into this many groups, each convolved with
            ``filters // groups`` filters; it must divide ``filters`` and the input channels.
        activation: a name from :mod:`fnnet.activations` or a callable, or None for linear.
            With ``"softmax"``/``"sigmoid"`` the layer's ``logits`` is the same layer without
            it, so training can use the stable from-logits loss.
        use_bias: whether to add a bias.
        kernel_initializer, bias_initializer: initializer names or ``init(key, shape, dtype)``.
        kernel_regularizer, bias_regularizer: weight penalties added to the training loss.
        kernel_constraint, bias_constraint: projections applied after every update.
        input_shape: the per-example input shape (no batch dim), read by ``Sequential``.
        name: an optional name.
        trainable: False freezes the params.
        dtype: the dtype policy (:mod:`fnnet.mixed_precision`), the computation's dtype.
        param_dtype: the params' storage dtype (default: the policy's variable dtype).
"""


def _doc(rank: int, shape: str, causal: bool = False) -> str:
    return _CONV_DOC.format(
        rank=rank, shape=shape,
        causal=" and ``\"causal\"``" if causal else "",
        causal_arg=(", or ``\"causal\"`` (left padding by ``dilation_rate * (kernel_size - 1)``: "
                    "output ``t`` sees inputs up to ``t`` only)") if causal else "")


def Conv1D(
    filters: int,
    kernel_size: int | Sequence[int],
    strides: int | Sequence[int] = 1,
    padding: str = "valid",
    data_format: str | None = None,
    dilation_rate: int | Sequence[int] = 1,
    groups: int = 1,
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
    """A 1D convolution over steps (temporal convolution): ``activation(conv(x, kernel) + bias)``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import layers
        >>> conv = layers.Conv1D(4, 3, padding="causal", dilation_rate=2)
        >>> out_shape, params, state = conv.init(jax.random.key(0), (None, 10, 2))
        >>> out_shape, params["kernel"].shape, params["bias"].shape, state
        ((None, 10, 4), (3, 2, 4), (4,), ())
        >>> conv.apply(params, state, jnp.ones((8, 10, 2)))[0].shape
        (8, 10, 4)
    """
    return _conv("Conv1D", 1, filters, kernel_size, strides, padding, data_format, dilation_rate,
                 groups, activation, use_bias, kernel_initializer, bias_initializer,
                 kernel_regularizer, bias_regularizer, kernel_constraint, bias_constraint,
                 input_shape, name, trainable, dtype, param_dtype)


def Conv2D(
    filters: int,
    kernel_size: int | Sequence[int],
    strides: int | Sequence[int] = (1, 1),
    padding: str = "valid",
    data_format: str | None = None,
    dilation_rate: int | Sequence[int] = (1, 1),
    groups: int = 1,
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
    """A 2D convolution over images: ``activation(conv(x, kernel) + bias)``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import layers
        >>> conv = layers.Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1))
        >>> out_shape, params, state = conv.init(jax.random.key(0), (None, 28, 28, 1))
        >>> out_shape, params["kernel"].shape, params["bias"].shape, state
        ((None, 26, 26, 32), (3, 3, 1, 32), (32,), ())
        >>> conv.apply(params, state, jnp.ones((2, 28, 28, 1)))[0].shape
        (2, 26, 26, 32)
    """
    return _conv("Conv2D", 2, filters, kernel_size, strides, padding, data_format, dilation_rate,
                 groups, activation, use_bias, kernel_initializer, bias_initializer,
                 kernel_regularizer, bias_regularizer, kernel_constraint, bias_constraint,
                 input_shape, name, trainable, dtype, param_dtype)


def Conv3D(
    filters: int,
    kernel_size: int | Sequence[int],
    strides: int | Sequence[int] = (1, 1, 1),
    padding: str = "valid",
    data_format: str | None = None,
    dilation_rate: int | Sequence[int] = (1, 1, 1),
    groups: int = 1,
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
    """A 3D convolution over volumes: ``activation(conv(x, kernel) + bias)``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import layers
        >>> conv = layers.Conv3D(2, 2, padding="same", strides=2)
        >>> out_shape, params, state = conv.init(jax.random.key(0), (None, 4, 4, 4, 3))
        >>> out_shape, params["kernel"].shape
        ((None, 2, 2, 2, 2), (2, 2, 2, 3, 2))
        >>> conv.apply(params, state, jnp.ones((1, 4, 4, 4, 3)))[0].shape
        (1, 2, 2, 2, 2)
    """
    return _conv("Conv3D", 3, filters, kernel_size, strides, padding, data_format, dilation_rate,
                 groups, activation, use_bias, kernel_initializer, bias_initializer,
                 kernel_regularizer, bias_regularizer, kernel_constraint, bias_constraint,
                 input_shape, name, trainable, dtype, param_dtype)


add_sections(Conv1D, _doc(1, "(batch, steps, channels)", causal=True))
add_sections(Conv2D, _doc(2, "(batch, height, width, channels)"))
add_sections(Conv3D, _doc(3, "(batch, depth, height, width, channels)"))
