"""Image augmentation layers with Keras 3's names, arguments and numerics: RandomFlip,
RandomTranslation, RandomRotation, RandomZoom and RandomContrast.

Inputs are batches of images, ``(batch, height, width, channels)`` (``(batch, channels,
height, width)`` with ``data_format="channels_first"``). Each layer is random only when
``training=True``, from the ``rng`` given to ``apply`` (Keras's ``seed``, when given, is folded
into it); at inference it is the identity (integer images become float32, as Keras outputs
floats). No params, no state; a data mask ends here, as in Keras.

Every image draws its own parameters, from the ranges Keras 3 draws them from (see each
layer). The geometric layers then warp the image with an affine transform, computed as
``keras.ops.image.affine_transform`` computes it on the JAX backend (each output pixel samples
the input at the transformed point with ``jax.scipy.ndimage.map_coordinates``), with Keras's
``fill_mode`` for points outside the image:

* ``"reflect"``: ``(d c b a | a b c d | d c b a)``, reflecting about the edge of the last pixel;
* ``"wrap"``: ``(a b c d | a b c d | a b c d)``;
* ``"constant"``: ``(k k k k | a b c d | k k k k)`` with ``k = fill_value``;
* ``"nearest"``: ``(a a a a | a b c d | d d d d)``;

and ``interpolation`` ``"bilinear"`` or ``"nearest"``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp

from fnnet.core import Layer
from fnnet.layers.core import _check_declared, _check_input_shape
from fnnet.layers.noise import as_float, check_data_format, check_seed, training_key

__all__ = ["RandomFlip", "RandomTranslation", "RandomRotation", "RandomZoom", "RandomContrast"]

_FILL_MODES = ("reflect", "wrap", "constant", "nearest")
_INTERPOLATIONS = {"nearest": 0, "bilinear": 1}
_FLIP_MODES = ("horizontal", "vertical", "horizontal_and_vertical")


# ------------------------------------------------------------------------------ the transforms
def _affine_transform(images: jax.Array, transforms: jax.Array, interpolation: str = "bilinear",
                      fill_mode: str = "constant", fill_value: float = 0.0) -> jax.Array:
    """Warps each image of ``(batch, h, w, c)`` by its row of ``transforms`` ``(batch, 8)``.

    A row ``[a0, a1, a2, b0, b1, b2, c0, c1]`` maps the output pixel ``(x, y)`` (column, row)
    to the input point ``(a0 x + a1 y + a2, b0 x + b1 y + b2)``, sampled with
    ``interpolation`` and ``fill_mode`` (``c0``, ``c1``, the projective terms, are 0 in every
    layer here and ignored, as Keras's JAX backend ignores them).
    """
    batch, h, w, _ = images.shape
    t = transforms.astype(images.dtype)
    rows = jnp.arange(h, dtype=images.dtype).reshape(1, h, 1)
    cols = jnp.arange(w, dtype=images.dtype).reshape(1, 1, w)

    def coef(k):
        return t[:, k].reshape(batch, 1, 1)

    # The same sums, in the same order, as Keras's einsum over (row, col, channel) indices.
    y_in = rows * coef(4) + cols * coef(3) + coef(5)
    x_in = rows * coef(1) + cols * coef(0) + coef(2)
    order = _INTERPOLATIONS[interpolation]

    def warp(image, yy, xx):
        def channel(plane):
            return jax.scipy.ndimage.map_coordinates(plane, [yy, xx], order, mode=fill_mode,
                                                     cval=fill_value)
        return jax.vmap(channel, in_axes=2, out_axes=2)(image)

    return jax.vmap(warp)(images, y_in, x_in)


def _rows(*columns: jax.Array) -> jax.Array:
    return jnp.stack(columns, axis=1)


def _rotation_matrix(angles: jax.Array, height: int, width: int) -> jax.Array:
    """Keras's ``_compute_affine_matrix`` for rotations by ``angles`` degrees about the centre."""
    angle = angles * jnp.asarray(math.pi / 180.0, angles.dtype)
    cx, cy = 0.5 * (width - 1), 0.5 * (height - 1)
    cos, sin = jnp.cos(angle), jnp.sin(angle)
    zeros = jnp.zeros_like(angle)
    a2 = cx - cx * cos - cy * -sin
    b2 = cy - cx * sin - cy * cos
    return _rows(cos, -sin, a2, sin, cos, b2, zeros, zeros)


def _translation_matrix(dx: jax.Array, dy: jax.Array) -> jax.Array:
    """Shifts by ``dx`` pixels right and ``dy`` pixels down (Keras's translation matrix)."""
    ones, zeros = jnp.ones_like(dx), jnp.zeros_like(dx)
    return _rows(ones, zeros, -dx, zeros, ones, -dy, zeros, zeros)


def _zoom_matrix(zx: jax.Array, zy: jax.Array, height: int, width: int) -> jax.Array:
    """Keras's zoom matrix about the centre: a factor above 1 zooms out, below 1 zooms in."""
    x_offset = jnp.asarray((width - 1.0) / 2.0, zx.dtype) * (1.0 - zx)
    y_offset = jnp.asarray((height - 1.0) / 2.0, zy.dtype) * (1.0 - zy)
    zeros = jnp.zeros_like(zx)
    return _rows(zx, zeros, x_offset, zeros, zy, y_offset, zeros, zeros)


def _flip(images: jax.Array, flips: jax.Array, mode: str) -> jax.Array:
    """Flips the images where ``flips`` (bool, ``(batch,)``) is True, as Keras 3 does: one draw
    per image, so ``"horizontal_and_vertical"`` flips both axes or neither."""
    where = flips.reshape(-1, 1, 1, 1)
    if mode in ("horizontal", "horizontal_and_vertical"):
        images = jnp.where(where, jnp.flip(images, axis=2), images)
    if mode in ("vertical", "horizontal_and_vertical"):
        images = jnp.where(where, jnp.flip(images, axis=1), images)
    return images


def _adjust_contrast(images: jax.Array, factors: jax.Array, value_range: Sequence) -> jax.Array:
    """``(x - mean) * factor + mean`` per image and channel, clipped to ``value_range``."""
    mean = jnp.mean(jnp.mean(images, axis=1, keepdims=True), axis=2, keepdims=True)
    out = (images - mean) * factors.astype(images.dtype).reshape(-1, 1, 1, 1) + mean
    return jnp.clip(out, value_range[0], value_range[1])


# ----------------------------------------------------------------------------- argument checks
def _check_choice(kind: str, arg: str, value: Any, choices: Sequence) -> str:
    if value not in choices:
        raise ValueError(
            f"{kind}: {arg} must be one of {', '.join(map(repr, choices))}; got {value!r}."
        )
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _factor(kind: str, arg: str, value: Any, low: float, high: float, meaning: str,
            low_open: bool = False) -> tuple[tuple[float, float], float | list]:
    """Keras's ``_set_factor``: ``((lower, upper), config value)`` from a number or a pair.

    A number ``f`` gives ``(max(-|f|, low), |f|)``; a pair, its sorted values.
    """
    def fits(v):
        return _is_number(v) and (low < v if low_open else low <= v) and v <= high

    bounds = f"{'(' if low_open else '['}{low}, {high}]"
    if _is_number(value) and fits(value):
        f = abs(float(value))
        return (max(-f, low), f), float(value)
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(fits(v) for v in value):
        lower, upper = sorted(float(v) for v in value)
        return (lower, upper), [float(v) for v in value]
    raise ValueError(
        f"{kind}: {arg} must be a number in {bounds} or a pair (lower, upper) of them, "
        f"{meaning}; got {value!r}."
    )


def _image_layer(kind: str, config: dict, transform: Callable, *, input_shape: Any,
                 name: str | None, trainable: bool, cast_at_inference: bool = True) -> Layer:
    """A layer that is ``transform(key, images)`` (channels last) when training, else identity."""
    seed = check_seed(kind, config["seed"])
    fmt = check_data_format(kind, config.get("data_format"))
    if "data_format" in config:
        config["data_format"] = fmt
    declared = _check_input_shape(kind, input_shape)
    layout = ("(batch, height, width, channels)" if fmt == "channels_last"
              else "(batch, channels, height, width)")

    def check(shape):
        if len(shape) != 4:
            raise ValueError(
                f"{kind} takes a batch of images {layout}; got input shape {tuple(shape)}. Add "
                f"a batch axis to a single image, and a channels axis to grey images (..., 1)."
            )

    def init(rng, shape):
        _check_declared(kind, declared, shape)
        check(shape)
        return tuple(shape), (), ()

    def apply(params, state, x, *, rng=None, training=False):
        check(x.shape)
        if not training:
            return (as_float(x) if cast_at_inference else x), state
        key = training_key(kind, rng, seed)
        x = as_float(x)
        if fmt == "channels_first":
            return jnp.transpose(transform(key, jnp.transpose(x, (0, 2, 3, 1))), (0, 3, 1, 2)), state
        return transform(key, x), state

    if declared is not None:
        config["input_shape"] = declared
    return Layer(init, apply, name=name, kind=kind, config=config, input_shape=declared,
                 trainable=trainable)


def _geometry_config(kind, fill_mode, interpolation, seed, fill_value, data_format) -> dict:
    _check_choice(kind, "fill_mode", fill_mode, _FILL_MODES)
    _check_choice(kind, "interpolation", interpolation, tuple(_INTERPOLATIONS))
    if not _is_number(fill_value):
        raise ValueError(f"{kind}: fill_value must be a finite number; got {fill_value!r}.")
    return {"fill_mode": fill_mode, "interpolation": interpolation, "seed": seed,
            "fill_value": float(fill_value), "data_format": data_format}


def _warp(config: dict, matrices: Callable) -> Callable:
    """``transform(key, images)``: draws ``matrices(key, images)`` and applies them."""
    def transform(key, images):
        return _affine_transform(images, matrices(key, images), config["interpolation"],
                                 config["fill_mode"], config["fill_value"])
    return transform


# ---------------------------------------------------------------------------------- the layers
def RandomFlip(mode: str = "horizontal_and_vertical", seed: int | None = None,
               data_format: str | None = None, input_shape: Sequence[int] | None = None,
               name: str | None = None, trainable: bool = True) -> Layer:
    """Randomly flips each image when training (Keras's ``RandomFlip``).

    Each image is flipped with probability 0.5 (Keras's draw: ``uniform() <= 0.5``). As in
    Keras 3, one draw per image covers both axes: ``"horizontal_and_vertical"`` flips an image
    left-right *and* top-bottom, or leaves it as it is.

    Shapes: input and output ``(batch, height, width, channels)``. No params, no state.

    Args:
        mode: ``"horizontal"`` (left-right), ``"vertical"`` (top-bottom) or
            ``"horizontal_and_vertical"``.
        seed: an optional int folded into the rng.
        data_format: ``"channels_last"`` (the default, also for None) or ``"channels_first"``.
        input_shape: the per-example input shape, read by ``Sequential`` when first.
        name: an optional name.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import layers
        >>> flip = layers.RandomFlip("horizontal")
        >>> flip.init(jax.random.key(0), (None, 4, 4, 3))[0]
        (None, 4, 4, 3)
        >>> x = jnp.arange(4.0).reshape(1, 1, 4, 1)
        >>> y, _ = flip.apply((), (), x, rng=jax.random.key(0), training=True)
        >>> y.ravel().tolist() in ([0.0, 1.0, 2.0, 3.0], [3.0, 2.0, 1.0, 0.0])
        True
    """
    _check_choice("RandomFlip", "mode", mode, _FLIP_MODES)

    def transform(key, images):
        return _flip(images, jax.random.uniform(key, (images.shape[0],)) <= 0.5, mode)

    return _image_layer("RandomFlip", {"mode": mode, "seed": seed, "data_format": data_format},
                        transform, input_shape=input_shape, name=name, trainable=trainable)


def RandomTranslation(height_factor: float | Sequence[float], width_factor: float | Sequence[float],
                      fill_mode: str = "reflect", interpolation: str = "bilinear",
                      seed: int | None = None, fill_value: float = 0.0,
                      data_format: str | None = None, input_shape: Sequence[int] | None = None,
                      name: str | None = None, trainable: bool = True) -> Layer:
    """Randomly shifts each image when training (Keras's ``RandomTranslation``).

    Each image moves down by ``uniform(lower, upper) * height`` pixels and right by
    ``uniform(lower, upper) * width`` (negative: up/left), where ``height_factor=0.2`` means
    ``(-0.2, 0.2)`` and a pair gives ``(lower, upper)``. Uncovered pixels follow ``fill_mode``.

    Shapes: input and output ``(batch, height, width, channels)``. No params, no state.

    Args:
        height_factor, width_factor: a fraction in ``[-1, 1]`` or a pair of them.
        fill_mode: ``"reflect"``, ``"wrap"``, ``"constant"`` or ``"nearest"`` (module docs).
        interpolation: ``"bilinear"`` or ``"nearest"``.
        seed: an optional int folded into the rng.
        fill_value: the value outside the image with ``fill_mode="constant"``.
        data_format: ``"channels_last"`` (the default, also for None) or ``"channels_first"``.
        input_shape: the per-example input shape, read by ``Sequential`` when first.
        name: an optional name.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import layers
        >>> shift = layers.RandomTranslation(0.2, 0.2, fill_mode="constant")
        >>> y, _ = shift.apply((), (), jnp.ones((2, 8, 8, 1)), rng=jax.random.key(0), training=True)
        >>> y.shape
        (2, 8, 8, 1)
    """
    kind = "RandomTranslation"
    meaning = "the fraction of the image's size to shift by"
    (h_low, h_high), h_cfg = _factor(kind, "height_factor", height_factor, -1.0, 1.0, meaning)
    (w_low, w_high), w_cfg = _factor(kind, "width_factor", width_factor, -1.0, 1.0, meaning)
    config = {"height_factor": h_cfg, "width_factor": w_cfg,
              **_geometry_config(kind, fill_mode, interpolation, seed, fill_value, data_format)}

    def matrices(key, images):
        batch, h, w, _ = images.shape
        k_h, k_w = jax.random.split(key)
        dy = jax.random.uniform(k_h, (batch,), minval=h_low, maxval=h_high) * h
        dx = jax.random.uniform(k_w, (batch,), minval=w_low, maxval=w_high) * w
        return _translation_matrix(dx, dy)

    return _image_layer(kind, config, _warp(config, matrices), input_shape=input_shape, name=name,
                        trainable=trainable)


def RandomRotation(factor: float | Sequence[float], fill_mode: str = "reflect",
                   interpolation: str = "bilinear", seed: int | None = None,
                   fill_value: float = 0.0, data_format: str | None = None,
                   input_shape: Sequence[int] | None = None, name: str | None = None,
                   trainable: bool = True) -> Layer:
    """Randomly rotates each image about its centre when training (Keras's ``RandomRotation``).

    Each image turns by ``uniform(lower, upper) * 360`` degrees, where ``factor=0.1`` means
    ``(-0.1, 0.1)`` (fractions of a full turn) and a pair gives ``(lower, upper)``; positive
    angles turn counter-clockwise. Uncovered pixels follow ``fill_mode``.

    Shapes: input and output ``(batch, height, width, channels)``. No params, no state.

    Args:
        factor: a fraction of a full turn in ``[-1, 1]``, or a pair of them.
        fill_mode: ``"reflect"``, ``"wrap"``, ``"constant"`` or ``"nearest"`` (module docs).
        interpolation: ``"bilinear"`` or ``"nearest"``.
        seed: an optional int folded into the rng.
        fill_value: the value outside the image with ``fill_mode="constant"``.
        data_format: ``"channels_last"`` (the default, also for None) or ``"channels_first"``.
        input_shape: the per-example input shape, read by ``Sequential`` when first.
        name: an optional name.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import layers
        >>> turn = layers.RandomRotation(0.1)
        >>> y, _ = turn.apply((), (), jnp.ones((2, 6, 6, 3)), rng=jax.random.key(0), training=True)
        >>> y.shape, float(y.min())   # reflect fill: a constant image stays constant
        ((2, 6, 6, 3), 1.0)
    """
    kind = "RandomRotation"
    (low, high), f_cfg = _factor(kind, "factor", factor, -1.0, 1.0, "fractions of a full turn")
    config = {"factor": f_cfg,
              **_geometry_config(kind, fill_mode, interpolation, seed, fill_value, data_format)}

    def matrices(key, images):
        batch, h, w, _ = images.shape
        angles = jax.random.uniform(key, (batch,), minval=low * 360.0, maxval=high * 360.0)
        return _rotation_matrix(angles, h, w)

    return _image_layer(kind, config, _warp(config, matrices), input_shape=input_shape, name=name,
                        trainable=trainable)


def RandomZoom(height_factor: float | Sequence[float],
               width_factor: float | Sequence[float] | None = None, fill_mode: str = "reflect",
               interpolation: str = "bilinear", seed: int | None = None, fill_value: float = 0.0,
               data_format: str | None = None, input_shape: Sequence[int] | None = None,
               name: str | None = None, trainable: bool = True) -> Layer:
    """Randomly zooms each image about its centre when training (Keras's ``RandomZoom``).

    Each image is scaled by ``1 + uniform(lower, upper)`` vertically (and horizontally, by its
    own draw from ``width_factor``, or by the same factor when ``width_factor`` is None), where
    ``height_factor=0.2`` means ``(-0.2, 0.2)``. As in Keras, a positive value zooms *out* (the
    image shrinks; uncovered pixels follow ``fill_mode``) and a negative value zooms in.

    Shapes: input and output ``(batch, height, width, channels)``. No params, no state.

    Args:
        height_factor: a fraction in ``(-1, 1]``, or a pair of them.
        width_factor: likewise, or None to keep the aspect ratio.
        fill_mode: ``"reflect"``, ``"wrap"``, ``"constant"`` or ``"nearest"`` (module docs).
        interpolation: ``"bilinear"`` or ``"nearest"``.
        seed: an optional int folded into the rng.
        fill_value: the value outside the image with ``fill_mode="constant"``.
        data_format: ``"channels_last"`` (the default, also for None) or ``"channels_first"``.
        input_shape: the per-example input shape, read by ``Sequential`` when first.
        name: an optional name.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import layers
        >>> zoom = layers.RandomZoom((-0.3, -0.1))   # zoom in by 10% to 30%
        >>> y, _ = zoom.apply((), (), jnp.ones((2, 6, 6, 1)), rng=jax.random.key(0), training=True)
        >>> y.shape
        (2, 6, 6, 1)
    """
    kind = "RandomZoom"
    meaning = "the fraction to zoom out by (negative: in)"
    (h_low, h_high), h_cfg = _factor(kind, "height_factor", height_factor, -1.0, 1.0, meaning,
                                     low_open=True)
    w_range, w_cfg = (None, None) if width_factor is None else _factor(
        kind, "width_factor", width_factor, -1.0, 1.0, meaning, low_open=True)
    config = {"height_factor": h_cfg, "width_factor": w_cfg,
              **_geometry_config(kind, fill_mode, interpolation, seed, fill_value, data_format)}

    def matrices(key, images):
        batch, h, w, _ = images.shape
        k_h, k_w = jax.random.split(key)
        zy = jax.random.uniform(k_h, (batch,), minval=1.0 + h_low, maxval=1.0 + h_high)
        zx = zy if w_range is None else jax.random.uniform(
            k_w, (batch,), minval=1.0 + w_range[0], maxval=1.0 + w_range[1])
        return _zoom_matrix(zx, zy, h, w)

    return _image_layer(kind, config, _warp(config, matrices), input_shape=input_shape, name=name,
                        trainable=trainable)


def RandomContrast(factor: float | Sequence[float], value_range: Sequence[float] = (0, 255),
                   seed: int | None = None, input_shape: Sequence[int] | None = None,
                   name: str | None = None, trainable: bool = True) -> Layer:
    """Randomly changes each image's contrast when training (Keras's ``RandomContrast``).

    Each image draws one ``c`` from ``uniform(1 - lower, 1 + upper)`` and every channel becomes
    ``(x - mean) * c + mean`` (``mean``: the channel's mean over the image), clipped to
    ``value_range``. Keras 3 reads a number ``factor=f`` as ``(lower, upper) = (0, f)``, so
    ``c`` is drawn from ``[1, 1 + f]`` (its docstring says ``[1 - f, 1 + f]``; this follows its
    code); a pair ``(lower, upper)`` gives ``[1 - lower, 1 + upper]``. The identity at
    inference (inputs returned as they are, as in Keras).

    Shapes: input and output ``(batch, height, width, channels)``. No params, no state.

    Args:
        factor: a number in ``[0, 1]``, or a pair of them.
        value_range: ``(low, high)``, the range of the image values, which the output is
            clipped to.
        seed: an optional int folded into the rng.
        input_shape: the per-example input shape, read by ``Sequential`` when first.
        name: an optional name.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import layers
        >>> contrast = layers.RandomContrast(0.5, value_range=(0, 1))
        >>> x = jnp.linspace(0.25, 0.75, 16).reshape(1, 4, 4, 1)
        >>> y, _ = contrast.apply((), (), x, rng=jax.random.key(0), training=True)
        >>> bool(y.std() >= x.std()), round(float(y.mean()), 3)   # c >= 1; the mean is kept
        (True, 0.5)
    """
    kind = "RandomContrast"
    (low, high), f_cfg = _factor(kind, "factor", factor, 0.0, 1.0,
                                 "the contrast factor's distance from 1")
    if not (isinstance(value_range, (tuple, list)) and len(value_range) == 2
            and all(_is_number(v) for v in value_range) and value_range[0] <= value_range[1]):
        raise ValueError(
            f"{kind}: value_range must be a pair (low, high) of numbers with low <= high; got "
            f"{value_range!r}. For example value_range=(0, 255) or (0, 1)."
        )
    config = {"factor": f_cfg, "value_range": list(value_range), "seed": seed}

    def transform(key, images):
        factors = jax.random.uniform(key, (images.shape[0],), minval=1.0 - low,
                                     maxval=1.0 + high)
        return _adjust_contrast(images, factors, value_range)

    return _image_layer(kind, config, transform, input_shape=input_shape, name=name,
                        trainable=trainable, cast_at_inference=False)
