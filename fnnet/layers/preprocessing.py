"""Preprocessing layers with Keras 3's names, arguments and numerics: Rescaling and
Normalization (with a pure ``adapt``).

The image augmentation layers (RandomFlip, RandomRotation...) are in
:mod:`fnnet.layers.augmentation`.
"""

from __future__ import annotations

import inspect
import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from fnnet.core import Layer, keeps_mask
from fnnet.layers.core import _check_declared, _check_input_shape
from fnnet.layers.noise import as_float

__all__ = ["Rescaling", "Normalization", "AdaptableLayer"]

# Keras's backend.epsilon(): the floor of sqrt(variance) in Normalization.
_EPSILON = 1e-7


def _numbers(kind: str, arg: str, value: Any, example: str) -> np.ndarray:
    """A number or nested sequence of numbers as a finite float array, or a clear error."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        array = None
    if array is None or isinstance(value, (bool, str)) or not np.isfinite(array).all():
        raise ValueError(
            f"{kind}: {arg} must be a finite number or a (nested) list of numbers; got "
            f"{value!r}. For example {example}."
        )
    return array


def _json(array: np.ndarray) -> float | list:
    """A float for a scalar, nested lists of floats otherwise: what a JSON config holds."""
    return float(array) if array.ndim == 0 else array.tolist()


def _right_aligned(array: np.ndarray, ndim: int) -> np.ndarray:
    return array.reshape((1,) * (ndim - array.ndim) + array.shape)


# ------------------------------------------------------------------------------------- Rescaling
def Rescaling(scale: float | Sequence, offset: float | Sequence = 0.0,
              input_shape: Sequence[int] | None = None, name: str | None = None,
              trainable: bool = True) -> Layer:
    """Rescales inputs: ``x * scale + offset`` (Keras's ``Rescaling``), when training or not.

    ``scale`` and ``offset`` are numbers or arrays that broadcast against one example from the
    right (e.g. one value per channel of ``(batch, h, w, channels)`` images). Integer inputs
    become float32; floating inputs keep their dtype. Shapes: output shape equals input shape.
    No params, no state; a data mask passes through.

    Args:
        scale: the factor, e.g. ``1 / 255`` to map ``[0, 255]`` to ``[0, 1]``.
        offset: added after scaling, e.g. ``-1`` with ``scale=1 / 127.5`` for ``[-1, 1]``.
        input_shape: the per-example input shape, read by ``Sequential`` when first.
        name: an optional name.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import layers
        >>> rescale = layers.Rescaling(1 / 127.5, offset=-1.0)
        >>> rescale.init(jax.random.key(0), (None, 28, 28, 1))[0]
        (None, 28, 28, 1)
        >>> rescale.apply((), (), jnp.array([[0, 255]], jnp.uint8))[0].tolist()
        [[-1.0, 1.0]]
    """
    scale_np = _numbers("Rescaling", "scale", scale, "Rescaling(1 / 255)")
    offset_np = _numbers("Rescaling", "offset", offset, "offset=-1.0")
    declared = _check_input_shape("Rescaling", input_shape)

    def check(shape):
        for arg, value in (("scale", scale_np), ("offset", offset_np)):
            example = tuple(shape[1:])
            if value.ndim > len(example) or any(
                    v != 1 and d is not None and v != d
                    for v, d in zip(value.shape[::-1], example[::-1], strict=False)):
                raise ValueError(
                    f"Rescaling: {arg} of shape {value.shape} does not broadcast against "
                    f"examples of shape {example} (input shape {tuple(shape)}); its dims must "
                    f"equal the example's last dims, or be 1."
                )

    def init(rng, shape):
        _check_declared("Rescaling", declared, shape)
        check(shape)
        return tuple(shape), (), ()

    def apply(params, state, x, *, rng=None, training=False):
        check(x.shape)
        x = as_float(x)
        s = jnp.asarray(_right_aligned(scale_np, x.ndim), x.dtype)
        o = jnp.asarray(_right_aligned(offset_np, x.ndim), x.dtype)
        return x * s + o, state

    config: dict = {"scale": _json(scale_np), "offset": _json(offset_np)}
    if declared is not None:
        config["input_shape"] = declared
    return Layer(init, keeps_mask(apply), name=name, kind="Rescaling", config=config,
                 input_shape=declared, supports_masking=True, trainable=trainable)


# --------------------------------------------------------------------------------- Normalization
class AdaptableLayer(Layer):
    """A :class:`fnnet.Layer` with Keras's ``adapt(data)``, done purely: it returns a new layer.

    ``layer.adapt(data)`` leaves ``layer`` unchanged and returns the adapted layer, whose
    ``init`` produces the statistics computed from ``data``. Copies made by :meth:`replace`
    (a ``Sequential`` naming its layers) keep ``adapt``.
    """

    __slots__ = ("_adapt_fn",)

    def __init__(self, init: Callable, apply: Callable, *, adapt: Callable[[Any], Layer],
                 **description: Any):
        super().__init__(init, apply, **description)
        object.__setattr__(self, "_adapt_fn", adapt)

    def adapt(self, data: Any) -> AdaptableLayer:
        """A copy of this layer adapted to ``data``: an array, or an iterable of batches.

        Unlike Keras's ``adapt``, which changes the layer in place, this returns the adapted
        layer: ``norm = norm.adapt(x)``.
        """
        return self._adapt_fn(data).replace(name=self.name, trainable=self.trainable)

    def replace(self, **changes: Any) -> AdaptableLayer:
        plain = Layer.replace(self, **changes)
        fields = [p for p in inspect.signature(Layer.__init__).parameters
                  if p not in ("self", "init", "apply")]
        return AdaptableLayer(plain.init, plain.apply, adapt=self._adapt_fn,
                              **{f: getattr(plain, f) for f in fields})


def _standard_axis(axis: Any) -> tuple:
    if axis is None:
        return ()
    if isinstance(axis, int) and not isinstance(axis, bool):
        return (axis,)
    if isinstance(axis, (tuple, list)) and all(
            isinstance(a, int) and not isinstance(a, bool) for a in axis):
        return tuple(axis)
    raise ValueError(
        f"Normalization: axis must be an int, a tuple of ints or None (one mean and variance "
        f"for all values); got {axis!r}. For per-feature statistics use axis=-1."
    )


def _kept_axes(axes: tuple, shape: Sequence, where: str) -> tuple:
    """Keras's ``_keep_axis``: the sorted, non-negative axes with their own statistics."""
    ndim = len(shape)
    if any(not -ndim <= a < ndim for a in axes):
        raise ValueError(
            f"Normalization(axis={axes}): every axis must be in [-{ndim}, {ndim}) for inputs of "
            f"rank {ndim}; got {where} {tuple(shape)}."
        )
    keep = tuple(sorted({a % ndim for a in axes}))
    unknown = [d for d in keep if shape[d] is None]
    if unknown:
        raise ValueError(
            f"Normalization(axis={axes}): the axes with their own statistics need a known size, "
            f"but axis {unknown[0]} of {where} {tuple(shape)} is None. For a batch of scalars "
            f"(batch,), use axis=None."
        )
    return keep


def _moments(data: Any, axes: tuple) -> tuple[np.ndarray, np.ndarray, tuple]:
    """The mean and variance of ``data`` over every axis not in ``axes`` (Keras's ``adapt``)."""
    if isinstance(data, (np.ndarray, jax.Array)):
        keep = _kept_axes(axes, data.shape, "data of shape")
        reduce = tuple(d for d in range(data.ndim) if d not in keep)
        if isinstance(data, np.ndarray):  # Keras uses numpy for numpy data
            mean, var = np.mean(data, axis=reduce), np.var(data, axis=reduce)
        else:
            x = data if data.dtype == jnp.float64 else data.astype(jnp.float32)
            mean, var = jnp.mean(x, axis=reduce), jnp.var(x, axis=reduce)
        return np.asarray(mean, np.float32), np.asarray(var, np.float32), data.shape
    if isinstance(data, (str, bytes)) or not hasattr(data, "__iter__"):
        raise TypeError(
            f"Normalization.adapt: data must be an array or an iterable of batches (a list of "
            f"arrays, a generator); got {type(data).__name__}."
        )
    batches = iter(data)
    first = next(batches, None)
    if first is None:
        raise ValueError(
            "Normalization.adapt: data is an empty iterable (no batches). Pass a non-empty one, "
            "e.g. norm.adapt([x]) or norm.adapt(x)."
        )
    total_mean = total_var = None
    total_count, shape, keep = 0, None, ()
    # Keras's streaming update, in float32: the lack-of-fit sum of squares across batches.
    for batch in itertools.chain([first], batches):
        batch = batch[0] if isinstance(batch, tuple) else batch
        if not hasattr(batch, "shape"):
            raise TypeError(
                f"Normalization.adapt: each batch must be an array (or an (x, y) tuple); got "
                f"{type(batch).__name__}."
            )
        if shape is None:
            shape = tuple(batch.shape)
            keep = _kept_axes(axes, shape, "a batch of shape")
            total_mean = total_var = jnp.zeros(tuple(shape[d] for d in keep), jnp.float32)
        elif len(batch.shape) != len(shape) or any(batch.shape[d] != shape[d] for d in keep):
            raise ValueError(
                f"Normalization.adapt: the batches must agree on the axes with their own "
                f"statistics {keep}; the first had shape {shape}, a later one "
                f"{tuple(batch.shape)}."
            )
        batch = jnp.asarray(batch, jnp.float32)
        reduce = tuple(d for d in range(batch.ndim) if d not in keep)
        batch_mean, batch_var = jnp.mean(batch, axis=reduce), jnp.var(batch, axis=reduce)
        count = math.prod(batch.shape[d] for d in reduce) if reduce else 1
        total_count += count
        batch_weight = float(count) / total_count
        existing = 1.0 - batch_weight
        new_mean = total_mean * existing + batch_mean * batch_weight
        total_var = ((total_var + (total_mean - new_mean) ** 2) * existing
                     + (batch_var + (batch_mean - new_mean) ** 2) * batch_weight)
        total_mean = new_mean
    return np.asarray(total_mean, np.float32), np.asarray(total_var, np.float32), shape


def _explicit_statistics(mean: np.ndarray, var: np.ndarray, keep: tuple, shape: Sequence):
    """Keras's ``build`` for given statistics: aligned right-to-left with the kept axes."""
    ndim = len(shape)
    target = [shape[d] if d in keep else 1 for d in range(ndim)]
    expanded = [1] * ndim
    for i in range(1, mean.ndim + 1):
        expanded[keep[-i]] = mean.shape[-i]
    if any(e != 1 and e != t for e, t in zip(expanded, target, strict=True)):
        raise ValueError(
            f"Normalization: mean and variance of shape {mean.shape} do not broadcast to the "
            f"statistics' shape {tuple(shape[d] for d in keep)} for inputs of shape "
            f"{tuple(shape)}. Give one value per index of the kept axes, or a scalar."
        )
    return tuple(np.broadcast_to(a.reshape(expanded), target).astype(np.float32)
                 for a in (mean, var))


def Normalization(axis: int | Sequence[int] | None = -1, mean: Any = None, variance: Any = None,
                  invert: bool = False, input_shape: Sequence[int] | None = None,
                  name: str | None = None, trainable: bool = True) -> AdaptableLayer:
    """Standardizes inputs: ``(x - mean) / max(sqrt(variance), 1e-7)`` (Keras's ``Normalization``).

    The statistics are either given (``mean`` and ``variance``, fixed constants, as in Keras)
    or computed from data by :meth:`~AdaptableLayer.adapt`. **Unlike Keras, adapt returns the
    adapted layer** and leaves the original unchanged: ``norm = norm.adapt(x)``.

    Shapes: output shape equals input shape; ``axis`` (int, tuple or None) names the axes with
    their own statistics (-1: one per feature; None: one for all values).

    State: ``{"mean": kept, "variance": kept, "count": ()}`` (float32, float32, int32), with
    ``kept`` the sizes of the kept axes, for a layer without given statistics: Keras's
    non-trainable weights, zeros and ones until adapted (``count`` stays 0, as in Keras 3,
    which keeps it only to read old files). With given statistics the state is ``()``. The
    adapted statistics are state, not config: a saved model keeps them with its weights, and
    the config rebuilds the layer before adaptation, as in Keras. No params.

    Args:
        axis: the axis or axes with their own mean and variance; None for scalar statistics.
        mean, variance: the statistics to use (numbers or nested lists, aligned right-to-left
            with the kept axes), both or neither.
        invert: apply the inverse: ``mean + x * max(sqrt(variance), 1e-7)``.
        input_shape: the per-example input shape, read by ``Sequential`` when first.
        name: an optional name.

    Example:
        >>> import jax, numpy as np
        >>> from fnnet import layers
        >>> data = np.array([[0.0, 7.0, 4.0], [2.0, 9.0, 6.0]], np.float32)
        >>> norm = layers.Normalization().adapt(data)
        >>> shape, params, state = norm.init(jax.random.key(0), (None, 3))
        >>> state["mean"].tolist(), state["variance"].tolist()
        ([1.0, 8.0, 5.0], [1.0, 1.0, 1.0])
        >>> norm.apply(params, state, data[:1])[0].tolist()
        [[-1.0, -1.0, -1.0]]
        >>> fixed = layers.Normalization(mean=3.0, variance=2.0, axis=None)
        >>> _, _, state = fixed.init(jax.random.key(0), (None, 1))
        >>> [round(v, 4) for v in fixed.apply((), state, np.array([[1.0]]))[0].ravel().tolist()]
        [-1.4142]
    """
    return _normalization(axis, mean, variance, invert, input_shape, name, trainable, None)


def _normalization(axis, mean, variance, invert, input_shape, name, trainable, adapted):
    axes = _standard_axis(axis)
    if (mean is None) != (variance is None):
        raise ValueError(
            f"Normalization: give both mean and variance, or neither (then adapt the layer to "
            f"data); got mean={mean!r} and variance={variance!r}."
        )
    explicit = None
    if mean is not None:
        m = _numbers("Normalization", "mean", mean, "mean=0.5")
        v = _numbers("Normalization", "variance", variance, "variance=0.25")
        if m.shape != v.shape:
            raise ValueError(
                f"Normalization: mean and variance must have the same shape; got {m.shape} and "
                f"{v.shape}."
            )
        if m.ndim > len(axes):
            raise ValueError(
                f"Normalization: the rank of mean ({m.ndim}) must be at most the number of axes "
                f"({len(axes)}, axis={axis!r}); got mean of shape {m.shape}."
            )
        if (v < 0).any():
            raise ValueError(f"Normalization: variance must be >= 0; got {variance!r}.")
        explicit = (m, v)
    if not isinstance(invert, bool):
        raise TypeError(f"Normalization: invert must be True or False; got {invert!r}.")
    declared = _check_input_shape("Normalization", input_shape)

    def init(rng, shape):
        _check_declared("Normalization", declared, shape)
        keep = _kept_axes(axes, shape, "input shape")
        if explicit is not None:
            _explicit_statistics(*explicit, keep, shape)
            return tuple(shape), (), ()
        kept = tuple(shape[d] for d in keep)
        if adapted is not None:
            if adapted[0].shape != kept:
                raise ValueError(
                    f"Normalization was adapted to data of shape {adapted[2]}, with statistics "
                    f"of shape {adapted[0].shape}, but init received input shape "
                    f"{tuple(shape)}, which needs {kept}. Adapt it to data shaped like its "
                    f"inputs."
                )
            stats = {"mean": jnp.asarray(adapted[0]), "variance": jnp.asarray(adapted[1])}
        else:
            stats = {"mean": jnp.zeros(kept, jnp.float32), "variance": jnp.ones(kept, jnp.float32)}
        return tuple(shape), (), {**stats, "count": jnp.zeros((), jnp.int32)}

    def apply(params, state, x, *, rng=None, training=False):
        x = as_float(x)
        keep = _kept_axes(axes, x.shape, "input shape")
        if explicit is not None:
            stats = _explicit_statistics(*explicit, keep, x.shape)
        else:
            target = [x.shape[d] if d in keep else 1 for d in range(x.ndim)]
            stats = tuple(jnp.reshape(state[k], target) for k in ("mean", "variance"))
        mean, var = (jnp.asarray(s, x.dtype) for s in stats)
        scale = jnp.maximum(jnp.sqrt(var), jnp.asarray(_EPSILON, x.dtype))
        return (mean + x * scale if invert else (x - mean) / scale), state

    def adapt(data):
        if explicit is not None:
            raise ValueError(
                "Normalization: this layer was given mean and variance, so it has nothing to "
                "adapt. Build Normalization(axis=...) without them to compute them from data."
            )
        stats = _moments(data, axes)
        if declared is not None:
            _check_declared("Normalization", declared, (None, *stats[2][1:]))
        return _normalization(axis, None, None, invert, input_shape, name, trainable, stats)

    config = {"axis": axis if not isinstance(axis, tuple) else list(axis),
              "mean": None if explicit is None else _json(explicit[0]),
              "variance": None if explicit is None else _json(explicit[1]),
              "invert": invert}
    if declared is not None:
        config["input_shape"] = declared
    return AdaptableLayer(init, keeps_mask(apply), adapt=adapt, name=name, kind="Normalization",
                          config=config, input_shape=declared, supports_masking=True,
                          trainable=trainable)
