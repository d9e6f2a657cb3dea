"""Spatial reshaping layers with Keras 3's names, arguments and defaults (channels-last):
ZeroPadding1D/2D/3D, Cropping1D/2D/3D, UpSampling1D/2D/3D, Permute and RepeatVector.

No params, no state. As in Keras, none of them supports masking: a data mask ends before them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp

from fnnet.core import Layer
from fnnet.layers import _spatial
from fnnet.layers.core import _check_declared, _check_input_shape, _check_positive_int

__all__ = [
    "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D",
    "Cropping1D", "Cropping2D", "Cropping3D",
    "UpSampling1D", "UpSampling2D", "UpSampling3D",
    "Permute", "RepeatVector",
]

_INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "lanczos3", "lanczos5")


def _shape_layer(kind: str, rank: int, out_shape: Callable, fn: Callable, config: dict,
                 input_shape, name, trainable, *, channels: bool = False) -> Layer:
    """A param-free layer on inputs of rank ``rank``: ``out_shape(shape)`` (spatial checks
    included, raising on the host) and ``fn(x)``."""
    declared = _check_input_shape(kind, input_shape)

    def checked(shape):
        if channels:
            _spatial.check_rank(kind, shape, rank - 2, channels=False)
        elif len(shape) != rank:
            raise ValueError(
                f"{kind}: expects inputs of rank {rank} with the batch dim; got shape "
                f"{tuple(shape)}."
            )
        return out_shape(tuple(shape))

    def init(rng, shape):
        _check_declared(kind, declared, shape)
        return checked(shape), (), ()

    def apply(params, state, x, *, rng=None, training=False):
        checked(x.shape)
        return fn(x), state

    if declared is not None:
        config = {**config, "input_shape": declared}
    return Layer(init, apply, name=name, kind=kind, config=config, input_shape=declared,
                 trainable=trainable)


# ------------------------------------------------------------------------------- zero padding
def _zero_padding(kind, rank, pads, data_format, input_shape, name, trainable, config) -> Layer:
    def out_shape(shape):
        spatial = (None if n is None else n + a + b for n, (a, b) in zip(shape[1:-1], pads,
                                                                         strict=True))
        return (shape[0], *spatial, shape[-1])

    def fn(x):
        return jnp.pad(x, ((0, 0), *pads, (0, 0)))

    return _shape_layer(kind, rank + 2, out_shape, fn, config, input_shape, name, trainable,
                        channels=True)


def ZeroPadding1D(padding: int | Sequence[int] = 1, data_format: str | None = None,
                  input_shape: Sequence[int] | None = None, name: str | None = None,
                  trainable: bool = True) -> Layer:
    """Adds zeros at the start and end of the steps axis.

    Shapes: input ``(batch, steps, channels)``; output ``(batch, left + steps + right,
    channels)``. No params; state ``()``.

    Args:
        padding: an int (both sides) or a pair ``(left, right)`` of non-negative ints.
        data_format: None or ``"channels_last"``, the only layout fnnet supports.
        input_shape, name, trainable: as for every layer.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import layers
        >>> pad = layers.ZeroPadding1D((1, 2))
        >>> pad.init(jax.random.key(0), (None, 3, 4))[0]
        (None, 6, 4)
        >>> pad.apply((), (), jnp.ones((1, 2, 1)))[0].ravel().tolist()
        [0.0, 1.0, 1.0, 0.0, 0.0]
    """
    pads = (_spatial.check_ints("ZeroPadding1D", "padding", padding, 2, "padding=(1, 2)",
                                allow_zero=True),)
    data_format = _spatial.check_data_format("ZeroPadding1D", data_format)
    return _zero_padding("ZeroPadding1D", 1, pads, data_format, input_shape, name, trainable,
                         {"padding": pads[0], "data_format": data_format})


def ZeroPadding2D(padding: int | Sequence = (1, 1), data_format: str | None = None,
                  input_shape: Sequence[int] | None = None, name: str | None = None,
                  trainable: bool = True) -> Layer:
    """Adds rows and columns of zeros around images.

    Shapes: input ``(batch, height, width, channels)``; output with each spatial size grown by
    its padding. No params; state ``()``.

    Args:
        padding: an int (every side), two ints ``(rows, cols)`` (symmetric), or two pairs
            ``((top, bottom), (left, right))``.
        data_format: None or ``"channels_last"``, the only layout fnnet supports.
        input_shape, name, trainable: as for every layer.

    Example:
        >>> import jax
        >>> from fnnet import layers
        >>> layers.ZeroPadding2D(((1, 0), (2, 2))).init(jax.random.key(0), (None, 5, 5, 3))[0]
        (None, 6, 9, 3)
    """
    pads = _spatial.check_pairs("ZeroPadding2D", "padding", padding, 2, "padding=((1, 0), (2, 2))")
    data_format = _spatial.check_data_format("ZeroPadding2D", data_format)
    return _zero_padding("ZeroPadding2D", 2, pads, data_format, input_shape, name, trainable,
                         {"padding": pads, "data_format": data_format})


def ZeroPadding3D(padding: int | Sequence = ((1, 1), (1, 1), (1, 1)),
                  data_format: str | None = None, input_shape: Sequence[int] | None = None,
                  name: str | None = None, trainable: bool = True) -> Layer:
    """Adds zeros around volumes.

    Shapes: input ``(batch, depth, height, width, channels)``; output with each spatial size
    grown by its padding. No params; state ``()``.

    Args:
        padding: an int (every side), three ints (symmetric per axis), or three pairs
            ``(before, after)``.
        data_format: None or ``"channels_last"``, the only layout fnnet supports.
        input_shape, name, trainable: as for every layer.

    Example:
        >>> import jax
        >>> from fnnet import layers
        >>> layers.ZeroPadding3D(1).init(jax.random.key(0), (None, 2, 3, 4, 1))[0]
        (None, 4, 5, 6, 1)
    """
    pads = _spatial.check_pairs("ZeroPadding3D", "padding", padding, 3, "padding=(1, 1, 2)")
    data_format = _spatial.check_data_format("ZeroPadding3D", data_format)
    return _zero_padding("ZeroPadding3D", 3, pads, data_format, input_shape, name, trainable,
                         {"padding": pads, "data_format": data_format})


# ----------------------------------------------------------------------------------- cropping
def _cropping(kind, rank, crops, input_shape, name, trainable, config) -> Layer:
    def out_shape(shape):
        spatial = tuple(None if n is None else n - a - b
                        for n, (a, b) in zip(shape[1:-1], crops, strict=True))
        if any(n is not None and n <= 0 for n in spatial):
            raise ValueError(
                f"{kind}: cropping={crops} removes everything from inputs of shape {shape}; "
                f"on each axis the cropping must be smaller than the input's size."
            )
        return (shape[0], *spatial, shape[-1])

    def fn(x):
        index = tuple(slice(a, n - b) for n, (a, b) in zip(x.shape[1:-1], crops, strict=True))
        return x[(slice(None), *index, slice(None))]

    return _shape_layer(kind, rank + 2, out_shape, fn, config, input_shape, name, trainable,
                        channels=True)


def Cropping1D(cropping: int | Sequence[int] = (1, 1), input_shape: Sequence[int] | None = None,
               name: str | None = None, trainable: bool = True) -> Layer:
    """Removes steps at the start and end of the steps axis.

    Shapes: input ``(batch, steps, channels)``; output ``(batch, steps - start - end,
    channels)``. No params; state ``()``.

    Args:
        cropping: an int (both ends) or a pair ``(start, end)`` of non-negative ints.
        input_shape, name, trainable: as for every layer.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import layers
        >>> crop = layers.Cropping1D((1, 2))
        >>> crop.init(jax.random.key(0), (None, 6, 2))[0]
        (None, 3, 2)
        >>> crop.apply((), (), jnp.arange(5.0).reshape(1, 5, 1))[0].ravel().tolist()
        [1.0, 2.0]
    """
    crops = (_spatial.check_ints("Cropping1D", "cropping", cropping, 2, "cropping=(1, 2)",
                                 allow_zero=True),)
    return _cropping("Cropping1D", 1, crops, input_shape, name, trainable,
                     {"cropping": crops[0]})


def Cropping2D(cropping: int | Sequence = ((0, 0), (0, 0)), data_format: str | None = None,
               input_shape: Sequence[int] | None = None, name: str | None = None,
               trainable: bool = True) -> Layer:
    """Removes rows and columns at the borders of images.

    Shapes: input ``(batch, height, width, channels)``; output with each spatial size shrunk
    by its cropping. No params; state ``()``.

    Args:
        cropping: an int (every side), two ints (symmetric per axis), or two pairs
            ``((top, bottom), (left, right))``.
        data_format: None or ``"channels_last"``, the only layout fnnet supports.
        input_shape, name, trainable: as for every layer.

    Example:
        >>> import jax
        >>> from fnnet import layers
        >>> layers.Cropping2D(((2, 2), (4, 4))).init(jax.random.key(0), (None, 28, 28, 3))[0]
        (None, 24, 20, 3)
    """
    crops = _spatial.check_pairs("Cropping2D", "cropping", cropping, 2,
                                 "cropping=((2, 2), (4, 4))")
    data_format = _spatial.check_data_format("Cropping2D", data_format)
    return _cropping("Cropping2D", 2, crops, input_shape, name, trainable,
                     {"cropping": crops, "data_format": data_format})


def Cropping3D(cropping: int | Sequence = ((1, 1), (1, 1), (1, 1)),
               data_format: str | None = None, input_shape: Sequence[int] | None = None,
               name: str | None = None, trainable: bool = True) -> Layer:
    """Removes positions at the borders of volumes.

    Shapes: input ``(batch, depth, height, width, channels)``; output with each spatial size
    shrunk by its cropping. No params; state ``()``.

    Args:
        cropping: an int (every side), three ints (symmetric per axis), or three pairs
            ``(before, after)``.
        data_format: None or ``"channels_last"``, the only layout fnnet supports.
        input_shape, name, trainable: as for every layer.

    Example:
        >>> import jax
        >>> from fnnet import layers
        >>> layers.Cropping3D().init(jax.random.key(0), (None, 4, 5, 6, 2))[0]
        (None, 2, 3, 4, 2)
    """
    crops = _spatial.check_pairs("Cropping3D", "cropping", cropping, 3, "cropping=(1, 1, 2)")
    data_format = _spatial.check_data_format("Cropping3D", data_format)
    return _cropping("Cropping3D", 3, crops, input_shape, name, trainable,
                     {"cropping": crops, "data_format": data_format})


# --------------------------------------------------------------------------------- upsampling
def _upsampling(kind, rank, size, interpolation, input_shape, name, trainable, config) -> Layer:
    def out_shape(shape):
        spatial = (None if n is None else n * s for n, s in zip(shape[1:-1], size, strict=True))
        return (shape[0], *spatial, shape[-1])

    def fn(x):
        if interpolation == "nearest":  # Keras repeats rather than resizes: exact copies
            for axis, s in enumerate(size, start=1):
                x = jnp.repeat(x, s, axis=axis)
            return x
        if not jnp.issubdtype(x.dtype, jnp.floating):
            x = jnp.asarray(x, jnp.float32)
        return jax.image.resize(x, out_shape(x.shape), method=interpolation, antialias=False)

    return _shape_layer(kind, rank + 2, out_shape, fn, config, input_shape, name, trainable,
                        channels=True)


def UpSampling1D(size: int = 2, input_shape: Sequence[int] | None = None,
                 name: str | None = None, trainable: bool = True) -> Layer:
    """Repeats each step ``size`` times.

    Shapes: input ``(batch, steps, channels)``; output ``(batch, steps * size, channels)``. No
    params; state ``()``.

    Args:
        size: the repetition factor, a positive int.
        input_shape, name, trainable: as for every layer.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import layers
        >>> up = layers.UpSampling1D(2)
        >>> up.init(jax.random.key(0), (None, 3, 4))[0]
        (None, 6, 4)
        >>> up.apply((), (), jnp.array([[[1.0], [2.0]]]))[0].ravel().tolist()
        [1.0, 1.0, 2.0, 2.0]
    """
    _check_positive_int("UpSampling1D", "size", size, "UpSampling1D(2)")
    return _upsampling("UpSampling1D", 1, (size,), "nearest", input_shape, name, trainable,
                       {"size": size})


def UpSampling2D(size: int | Sequence[int] = (2, 2), data_format: str | None = None,
                 interpolation: str = "nearest", input_shape: Sequence[int] | None = None,
                 name: str | None = None, trainable: bool = True) -> Layer:
    """Enlarges images by integer factors, repeating pixels or interpolating.

    Shapes: input ``(batch, height, width, channels)``; output ``(batch, height * size[0],
    width * size[1], channels)``. No params; state ``()``.

    Args:
        size: the factors ``(rows, cols)``, an int or two positive ints.
        data_format: None or ``"channels_last"``, the only layout fnnet supports.
        interpolation: ``"nearest"`` (repeat each pixel), or ``"bilinear"``, ``"bicubic"``,
            ``"lanczos3"``, ``"lanczos5"``: ``jax.image.resize`` with half-pixel centers and no
            antialiasing, as Keras's JAX backend does. Case-insensitive.
        input_shape, name, trainable: as for every layer.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import layers
        >>> up = layers.UpSampling2D(2, interpolation="bilinear")
        >>> up.init(jax.random.key(0), (None, 5, 5, 3))[0]
        (None, 10, 10, 3)
        >>> y, _ = up.apply((), (), jnp.array([[[[0.0], [4.0]]]]))
        >>> y[0, 0, :, 0].tolist()
        [0.0, 1.0, 3.0, 4.0]
    """
    size = _spatial.check_ints("UpSampling2D", "size", size, 2, "size=(2, 2)")
    data_format = _spatial.check_data_format("UpSampling2D", data_format)
    if not isinstance(interpolation, str) or interpolation.lower() not in _INTERPOLATIONS:
        raise ValueError(
            f"UpSampling2D: interpolation must be one of {', '.join(map(repr, _INTERPOLATIONS))}; "
            f"got {interpolation!r}."
        )
    interpolation = interpolation.lower()
    return _upsampling("UpSampling2D", 2, size, interpolation, input_shape, name, trainable,
                       {"size": size, "data_format": data_format, "interpolation": interpolation})


def UpSampling3D(size: int | Sequence[int] = (2, 2, 2), data_format: str | None = None,
                 input_shape: Sequence[int] | None = None, name: str | None = None,
                 trainable: bool = True) -> Layer:
    """Enlarges volumes by repeating each position ``size`` times along each axis.

    Shapes: input ``(batch, depth, height, width, channels)``; output with each spatial size
    multiplied by its factor. No params; state ``()``.

    Args:
        size: the factors, an int or three positive ints.
        data_format: None or ``"channels_last"``, the only layout fnnet supports.
        input_shape, name, trainable: as for every layer.

    Example:
        >>> import jax
        >>> from fnnet import layers
        >>> layers.UpSampling3D((1, 2, 3)).init(jax.random.key(0), (None, 2, 2, 2, 1))[0]
        (None, 2, 4, 6, 1)
    """
    size = _spatial.check_ints("UpSampling3D", "size", size, 3, "size=(2, 2, 2)")
    data_format = _spatial.check_data_format("UpSampling3D", data_format)
    return _upsampling("UpSampling3D", 3, size, "nearest", input_shape, name, trainable,
                       {"size": size, "data_format": data_format})


# ------------------------------------------------------------------- Permute and RepeatVector
def Permute(dims: Sequence[int], input_shape: Sequence[int] | None = None,
            name: str | None = None, trainable: bool = True) -> Layer:
    """Permutes the non-batch axes: output axis ``i + 1`` is input axis ``dims[i]``.

    Shapes: input ``(batch, d1, ..., dn)``; output ``(batch, d_dims[0], ..., d_dims[n-1])``.
    No params; state ``()``.

    Args:
        dims: a permutation of ``1..n`` (axis 0, the batch axis, stays first).
        input_shape, name, trainable: as for every layer.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import layers
        >>> layers.Permute((2, 1)).init(jax.random.key(0), (None, 10, 64))[0]
        (None, 64, 10)
        >>> layers.Permute((2, 1)).apply((), (), jnp.ones((3, 10, 64)))[0].shape
        (3, 64, 10)
    """
    if (not isinstance(dims, (tuple, list)) or not all(_spatial._is_int(d) for d in dims)
            or sorted(int(d) for d in dims) != list(range(1, len(dims) + 1))):
        raise ValueError(
            f"Permute: dims must be a permutation of 1..n (the batch axis 0 is not permuted); "
            f"got {dims!r}. For example Permute((2, 1)) swaps the two axes after the batch."
        )
    dims = tuple(int(d) for d in dims)
    return _shape_layer("Permute", len(dims) + 1,
                        lambda shape: (shape[0], *(shape[d] for d in dims)),
                        lambda x: jnp.transpose(x, (0, *dims)),
                        {"dims": dims}, input_shape, name, trainable)


def RepeatVector(n: int, input_shape: Sequence[int] | None = None, name: str | None = None,
                 trainable: bool = True) -> Layer:
    """Repeats each input vector ``n`` times: ``(batch, features) -> (batch, n, features)``.

    No params; state ``()``.

    Args:
        n: the number of repetitions, a positive int.
        input_shape, name, trainable: as for every layer.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import layers
        >>> layers.RepeatVector(3).init(jax.random.key(0), (None, 32))[0]
        (None, 3, 32)
        >>> layers.RepeatVector(2).apply((), (), jnp.array([[1.0, 2.0]]))[0].tolist()
        [[[1.0, 2.0], [1.0, 2.0]]]
    """
    _check_positive_int("RepeatVector", "n", n, "RepeatVector(3)")
    return _shape_layer("RepeatVector", 2, lambda shape: (shape[0], n, shape[1]),
                        lambda x: jnp.broadcast_to(x[:, None, :], (x.shape[0], n, x.shape[1])),
                        {"n": n}, input_shape, name, trainable)
