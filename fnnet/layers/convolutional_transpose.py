"""Transposed convolutions with Keras 3's names, arguments, defaults and weight layouts
(channels-last): Conv1DTranspose, Conv2DTranspose, Conv3DTranspose.

They run on ``jax.lax.conv_transpose`` with the explicit padding Keras's JAX backend computes
from ``padding`` and ``output_padding``, so output sizes and values agree with Keras's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax

from fnnet.core import Layer
from fnnet.layers import _spatial
from fnnet.layers._spatial import add_sections
from fnnet.layers.convolutional import check_strides_dilation, conv_layer
from fnnet.layers.core import _check_positive_int

__all__ = ["Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose"]


def _conv_transpose(kind, rank, filters, kernel_size, strides, padding, output_padding,
                    data_format, dilation_rate, activation, use_bias, kernel_initializer,
                    bias_initializer, kernel_regularizer, bias_regularizer, kernel_constraint,
                    bias_constraint, input_shape, name, trainable, dtype, param_dtype) -> Layer:
    example = f"{kind}(16, {(3,) * rank if rank > 1 else 3})"
    _check_positive_int(kind, "filters", filters, example)
    kernel = _spatial.check_ints(kind, "kernel_size", kernel_size, rank, example)
    strides = _spatial.check_ints(kind, "strides", strides, rank, f"strides={(2,) * rank}")
    dilation = _spatial.check_ints(kind, "dilation_rate", dilation_rate, rank,
                                   f"dilation_rate={(2,) * rank}")
    padding = _spatial.check_padding(kind, padding)
    data_format = _spatial.check_data_format(kind, data_format)
    if output_padding is not None:
        output_padding = _spatial.check_ints(kind, "output_padding", output_padding, rank,
                                             f"output_padding={(1,) * rank}", allow_zero=True)
        if any(op >= s for op, s in zip(output_padding, strides, strict=True)):
            raise ValueError(
                f"{kind}: output_padding must be smaller than strides on every axis; got "
                f"output_padding={output_padding} and strides={strides}. It picks one of the "
                f"`strides` output sizes that map to the same input size."
            )
    check_strides_dilation(kind, strides, dilation)
    label = f"{kind}({filters}, {kernel})"
    pads = _spatial.transpose_padding(kernel, strides, dilation, padding, output_padding)
    dimension_numbers = _spatial.LAYOUTS[rank]

    def forward(p, x):
        # Keras's JAX backend: kernel (..., filters, in) read as (..., I, O) and transposed.
        return jax.lax.conv_transpose(x, p["kernel"], strides, pads, rhs_dilation=dilation,
                                      dimension_numbers=dimension_numbers, transpose_kernel=True)

    config = {"filters": filters, "kernel_size": kernel, "strides": strides, "padding": padding,
              "output_padding": output_padding, "data_format": data_format,
              "dilation_rate": dilation}
    return conv_layer(
        kind, label, rank,
        weight_shapes=lambda c: {"kernel": (*kernel, filters, c)},
        initializers={"kernel": kernel_initializer},
        in_channels=lambda p: p["kernel"].shape[-1],
        check_channels=lambda c, shape: None,
        out_channels=lambda c: filters,
        out_spatial=lambda s: _spatial.transpose_output(s, kernel, strides, dilation, padding,
                                                        output_padding),
        forward=forward, activation=activation, use_bias=use_bias,
        bias_initializer=bias_initializer,
        regularizers={"kernel": kernel_regularizer, "bias": bias_regularizer},
        constraints={"kernel": kernel_constraint, "bias": bias_constraint},
        config=config, input_shape=input_shape, name=name, trainable=trainable, dtype=dtype,
        param_dtype=param_dtype)


_TRANSPOSE_DOC = """

    The gradient of a convolution with respect to its input, used to upsample: with
    ``strides=2`` and ``padding="same"`` each spatial size doubles.

    Shapes:
        input ``{shape}``; output the same with ``filters`` channels and each spatial size
        ``n * stride`` for ``"same"``, ``(n - 1) * stride + max(k', stride)`` for ``"valid"``
        (``k' = dilation * (k - 1) + 1``); with ``output_padding=p``,
        ``(n - 1) * stride + k' % 2 + p`` and ``(n - 1) * stride + k' + p`` (Keras's rule).

    Params:
        ``{{"kernel": (*kernel_size, filters, in_channels), "bias": (filters,)}}`` (Keras's
        layout: output channels before input channels). State: ``()``.

    Args:
        filters: the number of output channels.
        kernel_size: the window, an int or {rank} ints.
        strides: the upsampling factor, an int or {rank} ints; ``strides > 1`` cannot be
            combined with ``dilation_rate > 1``.
        padding: ``"valid"`` or ``"same"`` (case-insensitive).
        output_padding: None, or an int or {rank} ints each smaller than the stride: the extra
            size along each axis, to pick among the output sizes that give the same input size.
        data_format: None or ``"channels_last"``, the only layout fnnet supports.
        dilation_rate: the spacing between kernel taps, an int or {rank} ints.
        activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
        bias_regularizer, kernel_constraint, bias_constraint, input_shape, name, trainable,
        dtype, param_dtype: as in :func:`Conv2D`.
"""


def Conv1DTranspose(
    filters: int,
    kernel_size: int | Sequence[int],
    strides: int | Sequence[int] = 1,
    padding: str = "valid",
    output_padding: int | Sequence[int] | None = None,
    data_format: str | None = None,
    dilation_rate: int | Sequence[int] = 1,
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
    """A 1D transposed convolution (deconvolution) over steps.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import layers
        >>> up = layers.Conv1DTranspose(3, 4, strides=2, padding="same")
        >>> out_shape, params, state = up.init(jax.random.key(0), (None, 5, 2))
        >>> out_shape, params["kernel"].shape
        ((None, 10, 3), (4, 3, 2))
        >>> up.apply(params, state, jnp.ones((1, 5, 2)))[0].shape
        (1, 10, 3)
    """
    return _conv_transpose("Conv1DTranspose", 1, filters, kernel_size, strides, padding,
                           output_padding, data_format, dilation_rate, activation, use_bias,
                           kernel_initializer, bias_initializer, kernel_regularizer,
                           bias_regularizer, kernel_constraint, bias_constraint, input_shape,
                           name, trainable, dtype, param_dtype)


def Conv2DTranspose(
    filters: int,
    kernel_size: int | Sequence[int],
    strides: int | Sequence[int] = (1, 1),
    padding: str = "valid",
    output_padding: int | Sequence[int] | None = None,
    data_format: str | None = None,
    dilation_rate: int | Sequence[int] = (1, 1),
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
    """A 2D transposed convolution (deconvolution) over images.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import layers
        >>> up = layers.Conv2DTranspose(8, 3, strides=2, padding="same")
        >>> out_shape, params, state = up.init(jax.random.key(0), (None, 7, 7, 16))
        >>> out_shape, params["kernel"].shape, params["bias"].shape
        ((None, 14, 14, 8), (3, 3, 8, 16), (8,))
        >>> up.apply(params, state, jnp.ones((2, 7, 7, 16)))[0].shape
        (2, 14, 14, 8)
    """
    return _conv_transpose("Conv2DTranspose", 2, filters, kernel_size, strides, padding,
                           output_padding, data_format, dilation_rate, activation, use_bias,
                           kernel_initializer, bias_initializer, kernel_regularizer,
                           bias_regularizer, kernel_constraint, bias_constraint, input_shape,
                           name, trainable, dtype, param_dtype)


def Conv3DTranspose(
    filters: int,
    kernel_size: int | Sequence[int],
    strides: int | Sequence[int] = (1, 1, 1),
    padding: str = "valid",
    data_format: str | None = None,
    output_padding: int | Sequence[int] | None = None,
    dilation_rate: int | Sequence[int] = (1, 1, 1),
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
    """A 3D transposed convolution (deconvolution) over volumes.

    Keras 3 orders this constructor's arguments ``padding, data_format, output_padding`` (the
    1D and 2D ones put ``output_padding`` first); fnnet follows it.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import layers
        >>> up = layers.Conv3DTranspose(2, 2, strides=2)
        >>> out_shape, params, state = up.init(jax.random.key(0), (None, 2, 2, 2, 3))
        >>> out_shape, params["kernel"].shape
        ((None, 4, 4, 4, 2), (2, 2, 2, 2, 3))
        >>> up.apply(params, state, jnp.ones((1, 2, 2, 2, 3)))[0].shape
        (1, 4, 4, 4, 2)
    """
    return _conv_transpose("Conv3DTranspose", 3, filters, kernel_size, strides, padding,
                           output_padding, data_format, dilation_rate, activation, use_bias,
                           kernel_initializer, bias_initializer, kernel_regularizer,
                           bias_regularizer, kernel_constraint, bias_constraint, input_shape,
                           name, trainable, dtype, param_dtype)


add_sections(Conv1DTranspose, _TRANSPOSE_DOC.format(rank=1, shape="(batch, steps, channels)"))
add_sections(Conv2DTranspose,
             _TRANSPOSE_DOC.format(rank=2, shape="(batch, height, width, channels)"))
add_sections(Conv3DTranspose,
             _TRANSPOSE_DOC.format(rank=3, shape="(batch, depth, height, width, channels)"))
