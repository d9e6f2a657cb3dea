"""Pooling layers with Keras 3's names, arguments and defaults (channels-last): MaxPooling1D/2D/3D,
AveragePooling1D/2D/3D, GlobalMaxPooling1D/2D/3D and GlobalAveragePooling1D/2D/3D.

Windowed pooling runs on ``jax.lax.reduce_window`` with Keras's JAX-backend padding. No params,
no state. ``GlobalAveragePooling1D`` and ``GlobalMaxPooling1D`` read a data mask
(:class:`fnnet.Masked`, mask ``(batch, steps)``) and ignore the masked steps; the mask ends
there.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp

from fnnet.core import Layer, Masked
from fnnet.layers import _spatial
from fnnet.layers._spatial import add_sections
from fnnet.layers.core import _check_declared, _check_input_shape

__all__ = [
    "MaxPooling1D", "MaxPooling2D", "MaxPooling3D",
    "AveragePooling1D", "AveragePooling2D", "AveragePooling3D",
    "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D",
    "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D",
]


def _float(x: jax.Array) -> jax.Array:
    # As Keras, which computes in the layer's float32 compute dtype: integer images pool as floats.
    return x if jnp.issubdtype(x.dtype, jnp.floating) else jnp.asarray(x, jnp.float32)


def _pooling(kind, rank, mode, pool_size, strides, padding, data_format, name, input_shape,
             trainable) -> Layer:
    example = f"{kind}({(2,) * rank if rank > 1 else 2})"
    pool = _spatial.check_ints(kind, "pool_size", pool_size, rank, example)
    strides = pool if strides is None else _spatial.check_ints(
        kind, "strides", strides, rank, f"strides={(2,) * rank}")
    padding = _spatial.check_padding(kind, padding)
    data_format = _spatial.check_data_format(kind, data_format)
    declared = _check_input_shape(kind, input_shape)
    label = f"{kind}(pool_size={pool})"
    window, steps = (1, *pool, 1), (1, *strides, 1)

    def out_shape(shape):
        _spatial.check_rank(label, shape, rank, channels=False)
        return (shape[0], *_spatial.pool_output(label, shape[1:-1], pool, strides, padding),
                shape[-1])

    def init(rng, shape):
        _check_declared(label, declared, shape)
        return out_shape(shape), (), ()

    def apply(params, state, x, *, rng=None, training=False):
        out_shape(x.shape)
        x = _float(x)
        if mode == "max":
            return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, window,
                                         steps, padding.upper()), state
        total = jax.lax.reduce_window(x, 0.0, jax.lax.add, window, steps,
                                      padding.upper())
        if padding == "valid":
            return total / jnp.asarray(math.prod(pool), x.dtype), state
        # "same": divide by the number of real (unpadded) entries in each window, as Keras.
        ones = jnp.ones((1, *x.shape[1:-1], 1), x.dtype)
        counts = jax.lax.reduce_window(ones, 0.0, jax.lax.add, window, steps,
                                       padding.upper())
        return total / counts, state

    config = {"pool_size": pool, "strides": strides, "padding": padding,
              "data_format": data_format}
    if declared is not None:
        config["input_shape"] = declared
    return Layer(init, apply, name=name, kind=kind, config=config, input_shape=declared,
                 trainable=trainable)


_POOL_DOC = """

    Shapes:
        input ``{shape}``; output the same channels, each spatial size
        ``floor((n - pool) / stride) + 1`` for ``"valid"``, ``ceil(n / stride)`` for ``"same"``.
        No params; state ``()``. Integer inputs are pooled as float32.

    Args:
        pool_size: the window, an int or a tuple of {rank} ints.
        strides: the step between windows, an int or {rank} ints; None (default) means
            ``pool_size``.
        padding: ``"valid"`` or ``"same"`` (case-insensitive). {same}
        data_format: None or ``"channels_last"``, the only layout fnnet supports.
        name: an optional name.
        input_shape: the per-example input shape (no batch dim), read by ``Sequential``.
        trainable: accepted for symmetry (there are no params).
"""
_SAME_MAX = "With ``\"same\"``, padding never wins the max."
_SAME_AVG = ("With ``\"same\"``, each window's sum is divided by its number of real "
             "(unpadded) entries, as Keras does.")


def MaxPooling1D(pool_size: int | Sequence[int] = 2, strides: int | Sequence[int] | None = None,
                 padding: str = "valid", data_format: str | None = None, name: str | None = None,
                 input_shape: Sequence[int] | None = None, trainable: bool = True) -> Layer:
    """Max over windows of steps.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import layers
        >>> pool = layers.MaxPooling1D(2)
        >>> pool.init(jax.random.key(0), (None, 6, 3))
        ((None, 3, 3), (), ())
        >>> pool.apply((), (), jnp.arange(6.0).reshape(1, 6, 1))[0].ravel().tolist()
        [1.0, 3.0, 5.0]
    """
    return _pooling("MaxPooling1D", 1, "max", pool_size, strides, padding, data_format, name,
                    input_shape, trainable)


def MaxPooling2D(pool_size: int | Sequence[int] = (2, 2),
                 strides: int | Sequence[int] | None = None, padding: str = "valid",
                 data_format: str | None = None, name: str | None = None,
                 input_shape: Sequence[int] | None = None, trainable: bool = True) -> Layer:
    """Max over windows of image positions.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import layers
        >>> pool = layers.MaxPooling2D((2, 2))
        >>> pool.init(jax.random.key(0), (None, 26, 26, 32))[0]
        (None, 13, 13, 32)
        >>> pool.apply((), (), jnp.ones((2, 5, 5, 3)))[0].shape
        (2, 2, 2, 3)
    """
    return _pooling("MaxPooling2D", 2, "max", pool_size, strides, padding, data_format, name,
                    input_shape, trainable)


def MaxPooling3D(pool_size: int | Sequence[int] = (2, 2, 2),
                 strides: int | Sequence[int] | None = None, padding: str = "valid",
                 data_format: str | None = None, name: str | None = None,
                 input_shape: Sequence[int] | None = None, trainable: bool = True) -> Layer:
    """Max over windows of volume positions.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import layers
        >>> pool = layers.MaxPooling3D(padding="same")
        >>> pool.init(jax.random.key(0), (None, 3, 4, 5, 2))[0]
        (None, 2, 2, 3, 2)
        >>> pool.apply((), (), jnp.ones((1, 3, 4, 5, 2)))[0].shape
        (1, 2, 2, 3, 2)
    """
    return _pooling("MaxPooling3D", 3, "max", pool_size, strides, padding, data_format, name,
                    input_shape, trainable)


def AveragePooling1D(pool_size: int | Sequence[int], strides: int | Sequence[int] | None = None,
                     padding: str = "valid", data_format: str | None = None,
                     name: str | None = None, input_shape: Sequence[int] | None = None,
                     trainable: bool = True) -> Layer:
    """Mean over windows of steps.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import layers
        >>> pool = layers.AveragePooling1D(2, padding="same")
        >>> pool.init(jax.random.key(0), (None, 5, 1))[0]
        (None, 3, 1)
        >>> pool.apply((), (), jnp.arange(5.0).reshape(1, 5, 1))[0].ravel().tolist()
        [0.5, 2.5, 4.0]
    """
    return _pooling("AveragePooling1D", 1, "average", pool_size, strides, padding, data_format,
                    name, input_shape, trainable)


def AveragePooling2D(pool_size: int | Sequence[int], strides: int | Sequence[int] | None = None,
                     padding: str = "valid", data_format: str | None = None,
                     name: str | None = None, input_shape: Sequence[int] | None = None,
                     trainable: bool = True) -> Layer:
    """Mean over windows of image positions.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import layers
        >>> pool = layers.AveragePooling2D(2, strides=1)
        >>> pool.init(jax.random.key(0), (None, 5, 5, 3))[0]
        (None, 4, 4, 3)
        >>> pool.apply((), (), jnp.ones((2, 5, 5, 3)))[0].shape
        (2, 4, 4, 3)
    """
    return _pooling("AveragePooling2D", 2, "average", pool_size, strides, padding, data_format,
                    name, input_shape, trainable)


def AveragePooling3D(pool_size: int | Sequence[int], strides: int | Sequence[int] | None = None,
                     padding: str = "valid", data_format: str | None = None,
                     name: str | None = None, input_shape: Sequence[int] | None = None,
                     trainable: bool = True) -> Layer:
    """Mean over windows of volume positions.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import layers
        >>> pool = layers.AveragePooling3D(2)
        >>> pool.init(jax.random.key(0), (None, 4, 4, 4, 2))[0]
        (None, 2, 2, 2, 2)
        >>> pool.apply((), (), jnp.ones((1, 4, 4, 4, 2)))[0].shape
        (1, 2, 2, 2, 2)
    """
    return _pooling("AveragePooling3D", 3, "average", pool_size, strides, padding, data_format,
                    name, input_shape, trainable)


for _fn, _rank, _same in ((MaxPooling1D, 1, _SAME_MAX), (MaxPooling2D, 2, _SAME_MAX),
                          (MaxPooling3D, 3, _SAME_MAX), (AveragePooling1D, 1, _SAME_AVG),
                          (AveragePooling2D, 2, _SAME_AVG), (AveragePooling3D, 3, _SAME_AVG)):
    add_sections(_fn, _POOL_DOC.format(rank=_rank, shape=_spatial.SHAPE_NAMES[_rank], same=_same))
del _fn, _rank, _same  # not module attributes (doctest would collect _fn)


def _global(kind, rank, mode, data_format, keepdims, input_shape, name, trainable) -> Layer:
    data_format = _spatial.check_data_format(kind, data_format)
    keepdims = _spatial.check_bool(kind, "keepdims", keepdims)
    declared = _check_input_shape(kind, input_shape)
    axes = tuple(range(1, rank + 1))
    masked = rank == 1

    def out_shape(shape):
        _spatial.check_rank(kind, shape, rank, channels=False)
        return (shape[0], *((1,) * rank if keepdims else ()), shape[-1])

    def init(rng, shape):
        _check_declared(kind, declared, shape)
        return out_shape(shape), (), ()

    def apply(params, state, x, *, rng=None, training=False):
        mask = None
        if isinstance(x, Masked):  # only the 1D layers read a mask (over steps), as in Keras
            x, mask = x.value, (x.mask if masked else None)
        out_shape(x.shape)
        x = _float(x)
        if mask is None:
            reduce = jnp.max if mode == "max" else jnp.mean
            return reduce(x, axis=axes, keepdims=keepdims), state
        if mask.shape != x.shape[:2]:
            raise ValueError(
                f"{kind}: the data mask must have shape (batch, steps) = {x.shape[:2]}; got "
                f"{tuple(mask.shape)}."
            )
        real = jnp.asarray(mask, bool)[:, :, None]
        if mode == "max":
            # Masked steps never win; a row with no real step gives -inf (the empty max).
            fill = jnp.full_like(x, -jnp.inf)
            return jnp.max(jnp.where(real, x, fill), axis=1, keepdims=keepdims), state
        # Keras's formula: a row with no real step gives 0 / 0 = nan.
        total = jnp.sum(jnp.where(real, x, jnp.zeros_like(x)), axis=1, keepdims=keepdims)
        count = jnp.sum(jnp.asarray(real, x.dtype), axis=1, keepdims=keepdims)
        return total / count, state

    config = {"data_format": data_format, "keepdims": keepdims}
    if declared is not None:
        config["input_shape"] = declared
    return Layer(init, apply, name=name, kind=kind, config=config, input_shape=declared,
                 supports_masking=masked, trainable=trainable)


_GLOBAL_DOC = """

    Shapes:
        input ``{shape}``; output ``(batch, channels)``, or ``(batch, {ones}channels)`` with
        ``keepdims=True``. No params; state ``()``.

    Args:
        data_format: None or ``"channels_last"``, the only layout fnnet supports.
        keepdims: keep the pooled axes with size 1.
        input_shape: the per-example input shape (no batch dim), read by ``Sequential``.
        name: an optional name.
        trainable: accepted for symmetry (there are no params).
"""


def GlobalMaxPooling1D(data_format: str | None = None, keepdims: bool = False,
                       input_shape: Sequence[int] | None = None, name: str | None = None,
                       trainable: bool = True) -> Layer:
    """The max over all steps, per channel; masked steps (a :class:`fnnet.Masked` input) are
    left out.

    Masks: with a data mask ``(batch, steps)`` the max is over the real steps only (a row with
    none gives ``-inf``), and the output is a plain array. This differs from Keras 3, whose
    ``GlobalMaxPooling1D`` does not support masking: it drops the mask and takes the max over
    the padding too.

    Example:
        >>> import jax.numpy as jnp
        >>> from fnnet import Masked, layers
        >>> x = jnp.array([[[1.0], [5.0], [9.0]]])
        >>> layers.GlobalMaxPooling1D().apply((), (), x)[0].tolist()
        [[9.0]]
        >>> layers.GlobalMaxPooling1D().apply((), (), Masked(x, x[..., 0] < 6))[0].tolist()
        [[5.0]]
    """
    return _global("GlobalMaxPooling1D", 1, "max", data_format, keepdims, input_shape, name,
                   trainable)


def GlobalMaxPooling2D(data_format: str | None = None, keepdims: bool = False,
                       input_shape: Sequence[int] | None = None, name: str | None = None,
                       trainable: bool = True) -> Layer:
    """The max over all image positions, per channel.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import layers
        >>> pool = layers.GlobalMaxPooling2D(keepdims=True)
        >>> pool.init(jax.random.key(0), (None, 5, 5, 3))[0]
        (None, 1, 1, 3)
        >>> layers.GlobalMaxPooling2D().apply((), (), jnp.ones((2, 5, 5, 3)))[0].shape
        (2, 3)
    """
    return _global("GlobalMaxPooling2D", 2, "max", data_format, keepdims, input_shape, name,
                   trainable)


def GlobalMaxPooling3D(data_format: str | None = None, keepdims: bool = False,
                       input_shape: Sequence[int] | None = None, name: str | None = None,
                       trainable: bool = True) -> Layer:
    """The max over all volume positions, per channel.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import layers
        >>> layers.GlobalMaxPooling3D().init(jax.random.key(0), (None, 2, 3, 4, 5))[0]
        (None, 5)
        >>> layers.GlobalMaxPooling3D().apply((), (), jnp.ones((1, 2, 3, 4, 5)))[0].shape
        (1, 5)
    """
    return _global("GlobalMaxPooling3D", 3, "max", data_format, keepdims, input_shape, name,
                   trainable)


def GlobalAveragePooling1D(data_format: str | None = None, keepdims: bool = False,
                           input_shape: Sequence[int] | None = None, name: str | None = None,
                           trainable: bool = True) -> Layer:
    """The mean over all steps, per channel; masked steps (a :class:`fnnet.Masked` input) are
    left out, as in Keras.

    Masks: with a data mask ``(batch, steps)`` the output is Keras's
    ``sum(where(mask, x, 0)) / sum(mask)`` over the steps (a row with no real step gives nan,
    as in Keras), a plain array.

    Example:
        >>> import jax.numpy as jnp
        >>> from fnnet import Masked, layers
        >>> x = jnp.array([[[1.0], [3.0], [8.0]]])
        >>> layers.GlobalAveragePooling1D().apply((), (), x)[0].tolist()
        [[4.0]]
        >>> mask = jnp.array([[True, True, False]])
        >>> layers.GlobalAveragePooling1D().apply((), (), Masked(x, mask))[0].tolist()
        [[2.0]]
    """
    return _global("GlobalAveragePooling1D", 1, "average", data_format, keepdims, input_shape,
                   name, trainable)


def GlobalAveragePooling2D(data_format: str | None = None, keepdims: bool = False,
                           input_shape: Sequence[int] | None = None, name: str | None = None,
                           trainable: bool = True) -> Layer:
    """The mean over all image positions, per channel.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import layers
        >>> layers.GlobalAveragePooling2D().init(jax.random.key(0), (None, 7, 7, 64))[0]
        (None, 64)
        >>> layers.GlobalAveragePooling2D().apply((), (), jnp.ones((2, 5, 5, 3)))[0].shape
        (2, 3)
    """
    return _global("GlobalAveragePooling2D", 2, "average", data_format, keepdims, input_shape,
                   name, trainable)


def GlobalAveragePooling3D(data_format: str | None = None, keepdims: bool = False,
                           input_shape: Sequence[int] | None = None, name: str | None = None,
                           trainable: bool = True) -> Layer:
    """The mean over all volume positions, per channel.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import layers
        >>> pool = layers.GlobalAveragePooling3D(keepdims=True)
        >>> pool.init(jax.random.key(0), (None, 2, 3, 4, 5))[0]
        (None, 1, 1, 1, 5)
        >>> pool.apply((), (), jnp.ones((1, 2, 3, 4, 5)))[0].shape
        (1, 1, 1, 1, 5)
    """
    return _global("GlobalAveragePooling3D", 3, "average", data_format, keepdims, input_shape,
                   name, trainable)


for _fn, _rank in ((GlobalMaxPooling1D, 1), (GlobalMaxPooling2D, 2), (GlobalMaxPooling3D, 3),
                   (GlobalAveragePooling1D, 1), (GlobalAveragePooling2D, 2),
                   (GlobalAveragePooling3D, 3)):
    add_sections(_fn, _GLOBAL_DOC.format(shape=_spatial.SHAPE_NAMES[_rank], ones="1, " * _rank))
del _fn, _rank
