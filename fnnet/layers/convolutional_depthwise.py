"""Depthwise and separable convolutions with Keras 3's names, arguments and weight layouts:
DepthwiseConv1D, DepthwiseConv2D, SeparableConv1D, SeparableConv2D (channels-last).

A depthwise convolution filters each input channel on its own (``depth_multiplier`` filters per
channel); a separable one follows it with a 1x1 convolution that mixes the channels. Both run
on ``jax.lax.conv_general_dilated`` with ``feature_group_count`` equal to the input channels,
as Keras's JAX backend does, through :func:`fnnet.layers._conv_ops.conv`, whose kernel
gradient XLA:CPU runs fast inside ``fit``'s epoch loop too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fnnet.core import Layer
from fnnet.layers import _spatial
from fnnet.layers._conv_ops import conv
from fnnet.layers._spatial import add_sections
from fnnet.layers.convolutional import conv_layer
from fnnet.layers.core import _check_positive_int

__all__ = ["DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D"]


def _depthwise_forward(kernel, x, strides, padding, dilation, dimension_numbers):
    # Keras's layout (..., in, multiplier) as one group per input channel: (..., 1, in * mult).
    channels = x.shape[-1]
    kernel = kernel.reshape((*kernel.shape[:-2], 1, channels * kernel.shape[-1]))
    return conv(x, kernel, strides, padding.upper(), dilation, dimension_numbers, channels)


def _window_args(kind, rank, kernel_size, strides, padding, data_format, dilation_rate,
                 depth_multiplier, example):
    kernel = _spatial.check_ints(kind, "kernel_size", kernel_size, rank, example)
    strides = _spatial.check_ints(kind, "strides", strides, rank, f"strides={(2,) * rank}")
    dilation = _spatial.check_ints(kind, "dilation_rate", dilation_rate, rank,
                                   f"dilation_rate={(2,) * rank}")
    padding = _spatial.check_padding(kind, padding)
    data_format = _spatial.check_data_format(kind, data_format)
    _check_positive_int(kind, "depth_multiplier", depth_multiplier, "depth_multiplier=2")
    return kernel, strides, dilation, padding, data_format


def _depthwise(kind, rank, kernel_size, strides, padding, depth_multiplier, data_format,
               dilation_rate, activation, use_bias, depthwise_initializer, bias_initializer,
               depthwise_regularizer, bias_regularizer, depthwise_constraint, bias_constraint,
               input_shape, name, trainable, dtype, param_dtype) -> Layer:
    kernel, strides, dilation, padding, data_format = _window_args(
        kind, rank, kernel_size, strides, padding, data_format, dilation_rate, depth_multiplier,
        f"{kind}({(3,) * rank if rank > 1 else 3})")
    label = f"{kind}({kernel})"
    layout = _spatial.LAYOUTS[rank]
    config = {"kernel_size": kernel, "strides": strides, "padding": padding,
              "depth_multiplier": depth_multiplier, "data_format": data_format,
              "dilation_rate": dilation}
    return conv_layer(
        kind, label, rank,
        weight_shapes=lambda c: {"kernel": (*kernel, c, depth_multiplier)},
        initializers={"kernel": depthwise_initializer},
        in_channels=lambda p: p["kernel"].shape[-2],
        check_channels=lambda c, shape: None,
        out_channels=lambda c: c * depth_multiplier,
        out_spatial=lambda s: _spatial.conv_output(label, s, kernel, strides, dilation, padding),
        forward=lambda p, x: _depthwise_forward(p["kernel"], x, strides, padding, dilation,
                                                layout),
        activation=activation, use_bias=use_bias, bias_initializer=bias_initializer,
        regularizers={"kernel": depthwise_regularizer, "bias": bias_regularizer},
        constraints={"kernel": depthwise_constraint, "bias": bias_constraint},
        config=config, input_shape=input_shape, name=name, trainable=trainable, dtype=dtype,
        param_dtype=param_dtype, arg_names={"kernel": "depthwise"})


_DEPTHWISE_DOC = """

    Shapes:
        input ``{shape}``; output the same with ``channels * depth_multiplier`` channels (output
        channel ``c * depth_multiplier + m`` is filter ``m`` of input channel ``c``) and spatial
        sizes as :func:`Conv2D`'s.

    Params:
        ``{{"kernel": (*kernel_size, channels, depth_multiplier), "bias": (channels *
        depth_multiplier,)}}``: Keras 3's layout and names (Keras 2 called the kernel
        ``depthwise_kernel``). State: ``()``.

    Args:
        kernel_size: the window, an int or {rank} ints.
        strides: the step between windows, an int or {rank} ints.
        padding: ``"valid"`` or ``"same"`` (case-insensitive).
        depth_multiplier: the number of filters per input channel.
        data_format: None or ``"channels_last"``, the only layout fnnet supports.
        dilation_rate: the spacing between kernel taps, an int or {rank} ints.
        activation: as in :func:`Conv2D` (``"softmax"``/``"sigmoid"`` give a ``logits`` layer).
        use_bias: whether to add a bias.
        depthwise_initializer, bias_initializer: initializers of ``kernel`` and ``bias``.
        depthwise_regularizer, bias_regularizer: weight penalties of ``kernel`` and ``bias``.
        depthwise_constraint, bias_constraint: projections of ``kernel`` and ``bias``.
        input_shape, name, trainable, dtype, param_dtype: as in :func:`Conv2D`.
"""


def DepthwiseConv1D(
    kernel_size: int | Sequence[int],
    strides: int | Sequence[int] = 1,
    padding: str = "valid",
    depth_multiplier: int = 1,
    data_format: str | None = None,
    dilation_rate: int | Sequence[int] = 1,
    activation: str | Callable | None = None,
    use_bias: bool = True,
    depthwise_initializer: str | Callable = "glorot_uniform",
    bias_initializer: str | Callable = "zeros",
    depthwise_regularizer: Any = None,
    bias_regularizer: Any = None,
    depthwise_constraint: Any = None,
    bias_constraint: Any = None,
    input_shape: Sequence[int] | None = None,
    name: str | None = None,
    trainable: bool = True,
    dtype: Any = None,
    param_dtype: Any = None,
) -> Layer:
    """A 1D depthwise convolution: each input channel filtered on its own.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import layers
        >>> dw = layers.DepthwiseConv1D(3, depth_multiplier=2)
        >>> out_shape, params, state = dw.init(jax.random.key(0), (None, 8, 4))
        >>> out_shape, params["kernel"].shape, params["bias"].shape
        ((None, 6, 8), (3, 4, 2), (8,))
        >>> dw.apply(params, state, jnp.ones((2, 8, 4)))[0].shape
        (2, 6, 8)
    """
    return _depthwise("DepthwiseConv1D", 1, kernel_size, strides, padding, depth_multiplier,
                      data_format, dilation_rate, activation, use_bias, depthwise_initializer,
                      bias_initializer, depthwise_regularizer, bias_regularizer,
                      depthwise_constraint, bias_constraint, input_shape, name, trainable,
                      dtype, param_dtype)


def DepthwiseConv2D(
    kernel_size: int | Sequence[int],
    strides: int | Sequence[int] = (1, 1),
    padding: str = "valid",
    depth_multiplier: int = 1,
    data_format: str | None = None,
    dilation_rate: int | Sequence[int] = (1, 1),
    activation: str | Callable | None = None,
    use_bias: bool = True,
    depthwise_initializer: str | Callable = "glorot_uniform",
    bias_initializer: str | Callable = "zeros",
    depthwise_regularizer: Any = None,
    bias_regularizer: Any = None,
    depthwise_constraint: Any = None,
    bias_constraint: Any = None,
    input_shape: Sequence[int] | None = None,
    name: str | None = None,
    trainable: bool = True,
    dtype: Any = None,
    param_dtype: Any = None,
) -> Layer:
    """A 2D depthwise convolution: each input channel filtered on its own.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import layers
        >>> dw = layers.DepthwiseConv2D(3, padding="same")
        >>> out_shape, params, state = dw.init(jax.random.key(0), (None, 5, 5, 3))
        >>> out_shape, params["kernel"].shape, params["bias"].shape
        ((None, 5, 5, 3), (3, 3, 3, 1), (3,))
        >>> dw.apply(params, state, jnp.ones((2, 5, 5, 3)))[0].shape
        (2, 5, 5, 3)
    """
    return _depthwise("DepthwiseConv2D", 2, kernel_size, strides, padding, depth_multiplier,
                      data_format, dilation_rate, activation, use_bias, depthwise_initializer,
                      bias_initializer, depthwise_regularizer, bias_regularizer,
                      depthwise_constraint, bias_constraint, input_shape, name, trainable,
                      dtype, param_dtype)


add_sections(DepthwiseConv1D, _DEPTHWISE_DOC.format(rank=1, shape="(batch, steps, channels)"))
add_sections(DepthwiseConv2D,
             _DEPTHWISE_DOC.format(rank=2, shape="(batch, height, width, channels)"))


def _separable(kind, rank, filters, kernel_size, strides, padding, data_format, dilation_rate,
               depth_multiplier, activation, use_bias, depthwise_initializer,
               pointwise_initializer, bias_initializer, depthwise_regularizer,
               pointwise_regularizer, bias_regularizer, depthwise_constraint,
               pointwise_constraint, bias_constraint, input_shape, name, trainable, dtype,
               param_dtype) -> Layer:
    example = f"{kind}(32, {(3,) * rank if rank > 1 else 3})"
    _check_positive_int(kind, "filters", filters, example)
    kernel, strides, dilation, padding, data_format = _window_args(
        kind, rank, kernel_size, strides, padding, data_format, dilation_rate, depth_multiplier,
        example)
    label = f"{kind}({filters}, {kernel})"
    layout = _spatial.LAYOUTS[rank]

    def forward(p, x):
        y = _depthwise_forward(p["depthwise_kernel"], x, strides, padding, dilation, layout)
        return conv(y, p["pointwise_kernel"], (1,) * rank, "VALID", (1,) * rank, layout, 1)

    config = {"filters": filters, "kernel_size": kernel, "strides": strides, "padding": padding,
              "data_format": data_format, "dilation_rate": dilation,
              "depth_multiplier": depth_multiplier}
    return conv_layer(
        kind, label, rank,
        weight_shapes=lambda c: {"depthwise_kernel": (*kernel, c, depth_multiplier),
                                 "pointwise_kernel": (*(1,) * rank, c * depth_multiplier,
                                                      filters)},
        initializers={"depthwise_kernel": depthwise_initializer,
                      "pointwise_kernel": pointwise_initializer},
        in_channels=lambda p: p["depthwise_kernel"].shape[-2],
        check_channels=lambda c, shape: None,
        out_channels=lambda c: filters,
        out_spatial=lambda s: _spatial.conv_output(label, s, kernel, strides, dilation, padding),
        forward=forward, activation=activation, use_bias=use_bias,
        bias_initializer=bias_initializer,
        regularizers={"depthwise_kernel": depthwise_regularizer,
                      "pointwise_kernel": pointwise_regularizer, "bias": bias_regularizer},
        constraints={"depthwise_kernel": depthwise_constraint,
                     "pointwise_kernel": pointwise_constraint, "bias": bias_constraint},
        config=config, input_shape=input_shape, name=name, trainable=trainable, dtype=dtype,
        param_dtype=param_dtype,
        arg_names={"depthwise_kernel": "depthwise", "pointwise_kernel": "pointwise"})


_SEPARABLE_DOC = """

    Shapes:
        input ``{shape}``; output the same with ``filters`` channels and spatial sizes as
        :func:`Conv2D`'s.

    Params:
        ``{{"depthwise_kernel": (*kernel_size, channels, depth_multiplier),
        "pointwise_kernel": ({ones}channels * depth_multiplier, filters), "bias": (filters,)}}``
        (Keras's layout). State: ``()``.

    Args:
        filters: the number of output channels of the pointwise step.
        kernel_size, strides, padding, data_format, dilation_rate: of the depthwise step, as in
            :func:`DepthwiseConv2D`.
        depth_multiplier: the number of depthwise filters per input channel.
        activation, use_bias: as in :func:`Conv2D`.
        depthwise_initializer, pointwise_initializer, bias_initializer: initializers.
        depthwise_regularizer, pointwise_regularizer, bias_regularizer: weight penalties.
        depthwise_constraint, pointwise_constraint, bias_constraint: projections.
        input_shape, name, trainable, dtype, param_dtype: as in :func:`Conv2D`.
"""


def SeparableConv1D(
    filters: int,
    kernel_size: int | Sequence[int],
    strides: int | Sequence[int] = 1,
    padding: str = "valid",
    data_format: str | None = None,
    dilation_rate: int | Sequence[int] = 1,
    depth_multiplier: int = 1,
    activation: str | Callable | None = None,
    use_bias: bool = True,
    depthwise_initializer: str | Callable = "glorot_uniform",
    pointwise_initializer: str | Callable = "glorot_uniform",
    bias_initializer: str | Callable = "zeros",
    depthwise_regularizer: Any = None,
    pointwise_regularizer: Any = None,
    bias_regularizer: Any = None,
    depthwise_constraint: Any = None,
    pointwise_constraint: Any = None,
    bias_constraint: Any = None,
    input_shape: Sequence[int] | None = None,
    name: str | None = None,
    trainable: bool = True,
    dtype: Any = None,
    param_dtype: Any = None,
) -> Layer:
    """A 1D separable convolution: a depthwise convolution, then a 1x1 one mixing channels.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import layers
        >>> sep = layers.SeparableConv1D(6, 3, depth_multiplier=2)
        >>> out_shape, params, state = sep.init(jax.random.key(0), (None, 8, 4))
        >>> out_shape, params["depthwise_kernel"].shape, params["pointwise_kernel"].shape
        ((None, 6, 6), (3, 4, 2), (1, 8, 6))
        >>> sep.apply(params, state, jnp.ones((2, 8, 4)))[0].shape
        (2, 6, 6)
    """
    return _separable("SeparableConv1D", 1, filters, kernel_size, strides, padding, data_format,
                      dilation_rate, depth_multiplier, activation, use_bias,
                      depthwise_initializer, pointwise_initializer, bias_initializer,
                      depthwise_regularizer, pointwise_regularizer, bias_regularizer,
                      depthwise_constraint, pointwise_constraint, bias_constraint, input_shape,
                      name, trainable, dtype, param_dtype)


def SeparableConv2D(
    filters: int,
    kernel_size: int | Sequence[int],
    strides: int | Sequence[int] = (1, 1),
    padding: str = "valid",
    data_format: str | None = None,
    dilation_rate: int | Sequence[int] = (1, 1),
    depth_multiplier: int = 1,
    activation: str | Callable | None = None,
    use_bias: bool = True,
    depthwise_initializer: str | Callable = "glorot_uniform",
    pointwise_initializer: str | Callable = "glorot_uniform",
    bias_initializer: str | Callable = "zeros",
    depthwise_regularizer: Any = None,
    pointwise_regularizer: Any = None,
    bias_regularizer: Any = None,
    depthwise_constraint: Any = None,
    pointwise_constraint: Any = None,
    bias_constraint: Any = None,
    input_shape: Sequence[int] | None = None,
    name: str | None = None,
    trainable: bool = True,
    dtype: Any = None,
    param_dtype: Any = None,
) -> Layer:
    """A 2D separable convolution: a depthwise convolution, then a 1x1 one mixing channels.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import layers
        >>> sep = layers.SeparableConv2D(16, 3, padding="same")
        >>> out_shape, params, state = sep.init(jax.random.key(0), (None, 5, 5, 3))
        >>> out_shape, params["depthwise_kernel"].shape, params["pointwise_kernel"].shape
        ((None, 5, 5, 16), (3, 3, 3, 1), (1, 1, 3, 16))
        >>> sep.apply(params, state, jnp.ones((2, 5, 5, 3)))[0].shape
        (2, 5, 5, 16)
    """
    return _separable("SeparableConv2D", 2, filters, kernel_size, strides, padding, data_format,
                      dilation_rate, depth_multiplier, activation, use_bias,
                      depthwise_initializer, pointwise_initializer, bias_initializer,
                      depthwise_regularizer, pointwise_regularizer, bias_regularizer,
                      depthwise_constraint, pointwise_constraint, bias_constraint, input_shape,
                      name, trainable, dtype, param_dtype)


add_sections(SeparableConv1D, _SEPARABLE_DOC.format(rank=1, shape="(batch, steps, channels)",
                                                    ones="1, "))
add_sections(SeparableConv2D, _SEPARABLE_DOC.format(
    rank=2, shape="(batch, height, width, channels)", ones="1, 1, "))
