"""Normalization layers: BatchNormalization (running statistics in ``state``) and LayerNormalization."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp

from fnnet import initializers as initializers_lib
from fnnet.core import Layer, Masked, keeps_mask
from fnnet.layers.core import _check_declared, _check_input_shape

__all__ = ["BatchNormalization", "LayerNormalization"]


def _check_float(layer: str, arg: str, value, low: float, high: float, example: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ValueError(
            f"{layer}: {arg} must be a number in [{low}, {high}]; got {value!r}. For example "
            f"{example}."
        )
    return float(value)


def _feature_axis(layer: str, axis: int, shape: Sequence) -> int:
    rank = len(shape)
    if not -rank <= axis < rank or axis % rank == 0:
        raise ValueError(
            f"{layer}(axis={axis}): the axis must be a feature axis of the input, not the batch "
            f"axis; the input shape is {tuple(shape)}. Use axis=-1 for the last axis."
        )
    if shape[axis] is None:
        raise ValueError(
            f"{layer}(axis={axis}): the size of that axis must be known; got input shape "
            f"{tuple(shape)}."
        )
    return axis % rank


def _compute_dtype(x: jax.Array):
    """float32 for low-precision or integer inputs (as Keras computes statistics), else x's dtype."""
    # Not jnp.promote_types: under jax_numpy_dtype_promotion="strict" it rejects (float64, float32).
    if jnp.issubdtype(x.dtype, jnp.floating) and jnp.finfo(x.dtype).bits >= 32:
        return x.dtype
    return jnp.float32


def _out_dtype(x: jax.Array, y: jax.Array):
    return x.dtype if jnp.issubdtype(x.dtype, jnp.floating) else y.dtype


def _broadcastable(v: jax.Array, ndim: int, axis: int) -> jax.Array:
    """Reshapes a per-feature vector so it broadcasts against a rank-``ndim`` input."""
    shape = [1] * ndim
    shape[axis] = v.shape[0]
    return v.reshape(shape)


def _moments(xf, ax, reduce, batch_mask, data_mask):
    """The batch mean and (biased) variance per feature, over the real entries only.

    Without masks: ``mean`` and ``mean((x - mean)**2)``. The batch mask (bool ``(batch,)``)
    leaves padding rows out exactly, giving the statistics of the smaller batch. A data mask
    over the axes before ``ax`` follows Keras's weighted form, whose divisor is
    ``sum(weights) + 1e-7``.
    """
    if batch_mask is None and data_mask is None:
        mean = jnp.mean(xf, axis=reduce)
        var = jnp.mean(jnp.square(xf - _broadcastable(mean, xf.ndim, ax)), axis=reduce)
        return mean, var
    shape = [1] * xf.ndim
    w = jnp.ones(shape, xf.dtype)
    if batch_mask is not None:
        w = w * jnp.asarray(batch_mask, xf.dtype).reshape([xf.shape[0]] + shape[1:])
    eps = 0.0
    if data_mask is not None and data_mask.ndim <= ax:
        m = jnp.asarray(data_mask, xf.dtype)
        w = w * m.reshape(m.shape + (1,) * (xf.ndim - m.ndim))
        eps = 1e-7  # Keras's backend.epsilon() in its masked moments
    w = jnp.broadcast_to(w, tuple(1 if i == ax else d for i, d in enumerate(xf.shape)))
    total = jnp.sum(w, axis=reduce)
    denom = total + jnp.asarray(eps, xf.dtype) if eps else jnp.maximum(total, 1)
    mean = jnp.sum(w * xf, axis=reduce) / denom
    centered = xf - _broadcastable(mean, xf.ndim, ax)
    var = jnp.sum(w * jnp.square(centered), axis=reduce) / denom
    return mean, var


def BatchNormalization(
    axis: int = -1,
    momentum: float = 0.99,
    epsilon: float = 1e-3,
    center: bool = True,
    scale: bool = True,
    beta_initializer: str | Callable = "zeros",
    gamma_initializer: str | Callable = "ones",
    moving_mean_initializer: str | Callable = "zeros",
    moving_variance_initializer: str | Callable = "ones",
    input_shape: Sequence[int] | None = None,
    name: str | None = None,
    trainable: bool = True,
) -> Layer:
    """Normalizes each feature by batch statistics when training, running statistics otherwise.

    Training: ``y = gamma * (x - mean_b) / sqrt(var_b + epsilon) + beta`` with the batch's mean
    and (biased) variance over every axis but ``axis``, and the running statistics updated as
    ``moving = momentum * moving + (1 - momentum) * batch`` (Keras's rule). Inference uses the
    running statistics and leaves ``state`` unchanged.

    Shapes:
        input and output ``(batch, ..., features)`` (``features`` on ``axis``).

    Params: ``{"gamma": (features,), "beta": (features,)}`` (each only when ``scale``/``center``).
    State: ``{"moving_mean": (features,), "moving_variance": (features,)}``. Gradients flow to
    params only; the train step carries state through ``has_aux``.

    Masks: the batch statistics cover only the real rows (``batch_mask``, which ``fit`` gives
    for the padding rows of a last partial batch, so the statistics are those of the partial
    batch itself, as in Keras) and only the real entries of a data mask (:class:`fnnet.Masked`
    over the axes before ``axis``, as Keras's ``mask`` argument), which passes on unchanged.
    Frozen (``trainable=False``) it runs in inference mode inside a compiled model, as in
    Keras.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import layers
        >>> bn = layers.BatchNormalization()
        >>> shape, params, state = bn.init(jax.random.key(0), (None, 3))
        >>> sorted(params), sorted(state)
        (['beta', 'gamma'], ['moving_mean', 'moving_variance'])
        >>> x = jnp.arange(6.0).reshape(2, 3)
        >>> y, new_state = bn.apply(params, state, x, training=True)
        >>> [round(v, 2) for v in new_state["moving_mean"].tolist()]
        [0.01, 0.02, 0.03]
    """
    momentum = _check_float("BatchNormalization", "momentum", momentum, 0.0, 1.0, "momentum=0.99")
    epsilon = _check_float("BatchNormalization", "epsilon", epsilon, 0.0, float("inf"),
                           "epsilon=1e-3")
    inits = {
        "gamma": initializers_lib.get(gamma_initializer),
        "beta": initializers_lib.get(beta_initializer),
        "moving_mean": initializers_lib.get(moving_mean_initializer),
        "moving_variance": initializers_lib.get(moving_variance_initializer),
    }
    declared = _check_input_shape("BatchNormalization", input_shape)

    def init(rng, shape):
        _check_declared("BatchNormalization", declared, shape)
        ax = _feature_axis("BatchNormalization", axis, shape)
        keys = jax.random.split(rng, 4)
        feat = (shape[ax],)
        params = {}
        if scale:
            params["gamma"] = inits["gamma"](keys[0], feat, jnp.float32)
        if center:
            params["beta"] = inits["beta"](keys[1], feat, jnp.float32)
        state = {
            "moving_mean": inits["moving_mean"](keys[2], feat, jnp.float32),
            "moving_variance": inits["moving_variance"](keys[3], feat, jnp.float32),
        }
        return tuple(shape), params, state

    def apply(params, state, x, *, rng=None, training=False, batch_mask=None):
        if isinstance(x, Masked):
            y, state = normalize(params, state, x.value, training, batch_mask, x.mask)
            return Masked(y, x.mask), state
        return normalize(params, state, x, training, batch_mask, None)

    def normalize(params, state, x, training, batch_mask, data_mask):
        ax = _feature_axis("BatchNormalization", axis, x.shape)
        if x.shape[ax] != state["moving_mean"].shape[0]:
            raise ValueError(
                f"BatchNormalization: built for {state['moving_mean'].shape[0]} features on axis "
                f"{axis}, got an input of shape {tuple(x.shape)}."
            )
        xf = jnp.asarray(x, _compute_dtype(x))
        reduce = tuple(i for i in range(x.ndim) if i != ax)
        if training:
            mean, var = _moments(xf, ax, reduce, batch_mask, data_mask)
            # Explicit casts: the state keeps its dtype whatever the input's (e.g. float64 under
            # x64), so a jitted or scanned train step sees a fixed state type.
            m = jnp.asarray(momentum, state["moving_mean"].dtype)
            state = {
                "moving_mean": state["moving_mean"] * m + mean.astype(m.dtype) * (1 - m),
                "moving_variance": state["moving_variance"] * m + var.astype(m.dtype) * (1 - m),
            }
        else:
            mean = state["moving_mean"].astype(xf.dtype)
            var = state["moving_variance"].astype(xf.dtype)
        inv = jax.lax.rsqrt(var + jnp.asarray(epsilon, var.dtype))
        if scale:
            inv = inv * params["gamma"].astype(inv.dtype)
        y = (xf - _broadcastable(mean, x.ndim, ax)) * _broadcastable(inv, x.ndim, ax)
        if center:
            y = y + _broadcastable(params["beta"].astype(y.dtype), x.ndim, ax)
        return jnp.asarray(y, _out_dtype(x, y)), state

    config = {"axis": axis, "momentum": momentum, "epsilon": epsilon, "center": center,
              "scale": scale}
    for key, fn in (("beta_initializer", inits["beta"]), ("gamma_initializer", inits["gamma"]),
                    ("moving_mean_initializer", inits["moving_mean"]),
                    ("moving_variance_initializer", inits["moving_variance"])):
        config[key] = initializers_lib.serialize(fn) or fn
    if declared is not None:
        config["input_shape"] = declared
    return Layer(init, apply, name=name, kind="BatchNormalization", config=config,
                 input_shape=declared, supports_masking=True, uses_batch_mask=True,
                 inference_when_frozen=True, trainable=trainable)


def LayerNormalization(
    axis: int = -1,
    epsilon: float = 1e-3,
    center: bool = True,
    scale: bool = True,
    beta_initializer: str | Callable = "zeros",
    gamma_initializer: str | Callable = "ones",
    input_shape: Sequence[int] | None = None,
    name: str | None = None,
    trainable: bool = True,
) -> Layer:
    """Normalizes each example over ``axis``: ``gamma * (x - mean) / sqrt(var + epsilon) + beta``.

    Shapes: input and output ``(batch, ..., features)``. Params: ``{"gamma": (features,),
    "beta": (features,)}``. State: ``()``. Same at training and inference.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import layers
        >>> ln = layers.LayerNormalization()
        >>> shape, params, state = ln.init(jax.random.key(0), (None, 4))
        >>> y, _ = ln.apply(params, state, jnp.array([[1.0, 2.0, 3.0, 4.0]]))
        >>> round(float(y.mean()), 6)
        0.0
    """
    epsilon = _check_float("LayerNormalization", "epsilon", epsilon, 0.0, float("inf"),
                           "epsilon=1e-3")
    gamma_init = initializers_lib.get(gamma_initializer)
    beta_init = initializers_lib.get(beta_initializer)
    declared = _check_input_shape("LayerNormalization", input_shape)

    def init(rng, shape):
        _check_declared("LayerNormalization", declared, shape)
        ax = _feature_axis("LayerNormalization", axis, shape)
        g_rng, b_rng = jax.random.split(rng)
        params = {}
        if scale:
            params["gamma"] = gamma_init(g_rng, (shape[ax],), jnp.float32)
        if center:
            params["beta"] = beta_init(b_rng, (shape[ax],), jnp.float32)
        return tuple(shape), params, ()

    def apply(params, state, x, *, rng=None, training=False):
        ax = _feature_axis("LayerNormalization", axis, x.shape)
        xf = jnp.asarray(x, _compute_dtype(x))
        mean = jnp.mean(xf, axis=ax, keepdims=True)
        var = jnp.mean(jnp.square(xf - mean), axis=ax, keepdims=True)
        y = (xf - mean) * jax.lax.rsqrt(var + jnp.asarray(epsilon, var.dtype))
        if scale:
            y = y * _broadcastable(params["gamma"].astype(y.dtype), x.ndim, ax)
        if center:
            y = y + _broadcastable(params["beta"].astype(y.dtype), x.ndim, ax)
        return jnp.asarray(y, _out_dtype(x, y)), state

    config = {"axis": axis, "epsilon": epsilon, "center": center, "scale": scale,
              "beta_initializer": initializers_lib.serialize(beta_init) or beta_init,
              "gamma_initializer": initializers_lib.serialize(gamma_init) or gamma_init}
    if declared is not None:
        config["input_shape"] = declared
    return Layer(init, keeps_mask(apply), name=name, kind="LayerNormalization", config=config,
                 input_shape=declared, supports_masking=True, trainable=trainable)
