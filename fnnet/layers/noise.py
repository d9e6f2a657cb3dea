"""Noise layers with Keras 3's names, arguments and defaults: SpatialDropout1D/2D/3D,
GaussianNoise and GaussianDropout.

Each is random only when ``training=True``, from the ``rng`` given to ``apply`` (training
without one raises, as :func:`fnnet.layers.Dropout` does), and the identity otherwise. Keras's
``seed`` argument is kept: when given, it is folded into the rng (``jax.random.fold_in``), so two
layers called with one key draw differently; it never replaces the rng. No params, no state;
a data mask passes through unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp

from fnnet.core import Layer, keeps_mask
from fnnet.layers.core import _check_declared, _check_input_shape

__all__ = ["SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise",
           "GaussianDropout"]


def check_fraction(kind: str, arg: str, value: Any, high: float, closed: bool, example: str,
                   meaning: str) -> float:
    """``value`` as a float in ``[0, high]`` (``[0, high)`` unless ``closed``), or a clear error."""
    ok = not isinstance(value, bool) and isinstance(value, (int, float)) and (
        0 <= value <= high if closed else 0 <= value < high)
    if not ok:
        bounds = f"[0, {high}]" if closed else f"[0, {high})"
        raise ValueError(
            f"{kind}: {arg} is {meaning} and must be a number in {bounds}; got {value!r}. For "
            f"example {example}."
        )
    return float(value)


def check_seed(kind: str, seed: Any) -> int | None:
    """``seed`` if it is None or an int, or a clear error."""
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise TypeError(f"{kind}: seed must be an int or None; got {seed!r}. For example seed=42.")
    return seed


def training_key(kind: str, rng: jax.Array | None, seed: int | None) -> jax.Array:
    """The key a random layer draws from when training: ``rng``, with ``seed`` folded in."""
    if rng is None:
        raise ValueError(
            f"{kind} needs an rng when training=True. Call apply(params, state, x, "
            f"rng=jax.random.key(0), training=True), or pass training=False for inference."
        )
    return rng if seed is None else jax.random.fold_in(rng, seed)


def as_float(x: jax.Array) -> jax.Array:
    """Floating inputs keep their dtype; others become float32 (Keras's floatx)."""
    x = jnp.asarray(x)
    return x if jnp.issubdtype(x.dtype, jnp.floating) else jnp.asarray(x, jnp.float32)


def check_data_format(kind: str, data_format: Any) -> str:
    """``"channels_last"`` (also for None) or ``"channels_first"``, or a clear error."""
    if data_format is None:
        return "channels_last"
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(
            f"{kind}: data_format must be 'channels_last', 'channels_first' or None (channels "
            f"last); got {data_format!r}."
        )
    return data_format


def _noise_layer(kind: str, config: dict, declared: tuple | None, name: str | None,
                 trainable: bool, active: bool, rank: int | None, layout: str, noise) -> Layer:
    """A layer that is ``noise(key, x)`` when training (and ``active``), the identity otherwise."""

    def init(rng, shape):
        _check_declared(kind, declared, shape)
        if rank is not None and len(shape) != rank:
            raise ValueError(
                f"{kind} takes {rank}-D inputs {layout}; got input shape {tuple(shape)}."
            )
        return tuple(shape), (), ()

    def apply(params, state, x, *, rng=None, training=False):
        if not training or not active:
            return x, state
        return noise(training_key(kind, rng, config["seed"]), as_float(x)), state

    if declared is not None:
        config["input_shape"] = declared
    return Layer(init, keeps_mask(apply), name=name, kind=kind, config=config,
                 input_shape=declared, supports_masking=True, trainable=trainable)


def _spatial_dropout(kind: str, dims: int, rate: Any, data_format: Any, seed: Any,
                     input_shape: Any, name: str | None, trainable: bool) -> Layer:
    rate = check_fraction(kind, "rate", rate, 1, False, f"{kind}(0.2)",
                          "the probability of dropping a channel")
    seed = check_seed(kind, seed)
    fmt = check_data_format(kind, data_format)
    declared = _check_input_shape(kind, input_shape)
    spatial = ", ".join(["steps"] if dims == 1 else [f"dim{i + 1}" for i in range(dims)])
    layout = (f"(batch, {spatial}, channels)" if fmt == "channels_last"
              else f"(batch, channels, {spatial})")

    def noise(key, x):
        channel = x.ndim - 1 if fmt == "channels_last" else 1
        shape = tuple(d if i in (0, channel) else 1 for i, d in enumerate(x.shape))
        keep = jnp.broadcast_to(jax.random.bernoulli(key, 1.0 - rate, shape), x.shape)
        return jnp.where(keep, x / jnp.asarray(1.0 - rate, x.dtype), jnp.zeros_like(x))

    config: dict = {"rate": rate}
    if dims > 1:
        config["data_format"] = fmt
    config["seed"] = seed
    return _noise_layer(kind, config, declared, name, trainable, rate > 0, dims + 2, layout, noise)


def SpatialDropout1D(rate: float, seed: int | None = None,
                     input_shape: Sequence[int] | None = None, name: str | None = None,
                     trainable: bool = True) -> Layer:
    """Dropout of whole channels of a sequence: one draw per ``(example, channel)``.

    When training, each channel of each example is zeroed at every step with probability
    ``rate`` and the kept ones are scaled by ``1 / (1 - rate)`` (Keras's ``SpatialDropout1D``).

    Shapes: input and output ``(batch, steps, channels)``. No params, no state.

    Args:
        rate: the probability of dropping a channel, in ``[0, 1)``.
        seed: an optional int folded into the rng (see the module docs).
        input_shape: the per-example input shape, read by ``Sequential`` when first.
        name: an optional name.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import layers
        >>> drop = layers.SpatialDropout1D(0.5)
        >>> y, _ = drop.apply((), (), jnp.ones((2, 3, 4)), rng=jax.random.key(0), training=True)
        >>> y.shape, bool((y == y[:, :1, :]).all())   # a channel is kept or dropped at every step
        ((2, 3, 4), True)
    """
    return _spatial_dropout("SpatialDropout1D", 1, rate, None, seed, input_shape, name, trainable)


def SpatialDropout2D(rate: float, data_format: str | None = None, seed: int | None = None,
                     input_shape: Sequence[int] | None = None, name: str | None = None,
                     trainable: bool = True) -> Layer:
    """Dropout of whole feature maps of images: one draw per ``(example, channel)``.

    Shapes: input and output ``(batch, rows, cols, channels)`` (``(batch, channels, rows,
    cols)`` with ``data_format="channels_first"``). No params, no state.

    Args:
        rate: the probability of dropping a channel, in ``[0, 1)``.
        data_format: ``"channels_last"`` (the default, also for None) or ``"channels_first"``.
        seed: an optional int folded into the rng (see the module docs).
        input_shape: the per-example input shape, read by ``Sequential`` when first.
        name: an optional name.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import layers
        >>> drop = layers.SpatialDropout2D(0.5)
        >>> y, _ = drop.apply((), (), jnp.ones((2, 3, 3, 4)), rng=jax.random.key(0), training=True)
        >>> y.shape, bool((y == y[:, :1, :1, :]).all())
        ((2, 3, 3, 4), True)
    """
    return _spatial_dropout("SpatialDropout2D", 2, rate, data_format, seed, input_shape, name,
                            trainable)


def SpatialDropout3D(rate: float, data_format: str | None = None, seed: int | None = None,
                     input_shape: Sequence[int] | None = None, name: str | None = None,
                     trainable: bool = True) -> Layer:
    """Dropout of whole 3-D feature maps: one draw per ``(example, channel)``.

    Shapes: input and output ``(batch, dim1, dim2, dim3, channels)`` (channels second with
    ``data_format="channels_first"``). No params, no state.

    Args:
        rate: the probability of dropping a channel, in ``[0, 1)``.
        data_format: ``"channels_last"`` (the default, also for None) or ``"channels_first"``.
        seed: an optional int folded into the rng (see the module docs).
        input_shape: the per-example input shape, read by ``Sequential`` when first.
        name: an optional name.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import layers
        >>> drop = layers.SpatialDropout3D(0.5)
        >>> x = jnp.ones((2, 2, 2, 2, 3))
        >>> y, _ = drop.apply((), (), x, rng=jax.random.key(0), training=True)
        >>> y.shape, bool((y == y[:, :1, :1, :1, :]).all())
        ((2, 2, 2, 2, 3), True)
    """
    return _spatial_dropout("SpatialDropout3D", 3, rate, data_format, seed, input_shape, name,
                            trainable)


def GaussianNoise(stddev: float, seed: int | None = None,
                  input_shape: Sequence[int] | None = None, name: str | None = None,
                  trainable: bool = True) -> Layer:
    """Adds zero-mean Gaussian noise of standard deviation ``stddev`` when training.

    ``y = x + stddev * normal(shape of x)`` (Keras's ``GaussianNoise``); the identity at
    inference. Shapes: output shape equals input shape. No params, no state.

    Args:
        stddev: the noise's standard deviation, in ``[0, 1]`` (Keras's range).
        seed: an optional int folded into the rng (see the module docs).
        input_shape: the per-example input shape, read by ``Sequential`` when first.
        name: an optional name.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import layers
        >>> noisy = layers.GaussianNoise(0.1)
        >>> y, _ = noisy.apply((), (), jnp.zeros((1000,)), rng=jax.random.key(0), training=True)
        >>> round(float(y.std()), 1)
        0.1
        >>> noisy.apply((), (), jnp.zeros(2))[0].tolist()   # inference: identity
        [0.0, 0.0]
    """
    stddev = check_fraction("GaussianNoise", "stddev", stddev, 1, True, "GaussianNoise(0.1)",
                            "the noise's standard deviation")
    seed = check_seed("GaussianNoise", seed)
    declared = _check_input_shape("GaussianNoise", input_shape)

    def noise(key, x):
        return x + jax.random.normal(key, x.shape, x.dtype) * jnp.asarray(stddev, x.dtype)

    return _noise_layer("GaussianNoise", {"stddev": stddev, "seed": seed}, declared, name,
                        trainable, stddev > 0, None, "", noise)


def GaussianDropout(rate: float, seed: int | None = None,
                    input_shape: Sequence[int] | None = None, name: str | None = None,
                    trainable: bool = True) -> Layer:
    """Multiplies inputs by 1-centred Gaussian noise when training (Keras's ``GaussianDropout``).

    ``y = x * (1 + sqrt(rate / (1 - rate)) * normal(shape of x))``: the variance of
    ``Dropout(rate)``'s multiplier, without zeros. The identity at inference. Shapes: output
    shape equals input shape. No params, no state.

    Args:
        rate: the drop probability it imitates, in ``[0, 1)``.
        seed: an optional int folded into the rng (see the module docs).
        input_shape: the per-example input shape, read by ``Sequential`` when first.
        name: an optional name.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import layers
        >>> drop = layers.GaussianDropout(0.5)
        >>> y, _ = drop.apply((), (), jnp.ones((1000,)), rng=jax.random.key(0), training=True)
        >>> round(float(y.mean()), 1), round(float(y.std()), 1)
        (1.0, 1.0)
    """
    rate = check_fraction("GaussianDropout", "rate", rate, 1, False, "GaussianDropout(0.1)",
                          "the drop probability")
    seed = check_seed("GaussianDropout", seed)
    declared = _check_input_shape("GaussianDropout", input_shape)
    stddev = math.sqrt(rate / (1.0 - rate))

    def noise(key, x):
        scale = jax.random.normal(key, x.shape, x.dtype) * jnp.asarray(stddev, x.dtype)
        return x * (scale + jnp.asarray(1.0, x.dtype))

    return _noise_layer("GaussianDropout", {"rate": rate, "seed": seed}, declared, name,
                        trainable, rate > 0, None, "", noise)
