"""Attention layers with Keras's names, arguments, defaults and weight layouts.

``MultiHeadAttention``, ``Attention`` (Luong-style) and ``AdditiveAttention`` (Bahdanau-style).
All three take a tuple of inputs, and read data masks from :class:`fnnet.Masked` inputs as Keras
reads ``_keras_mask``:

* ``MultiHeadAttention``: ``(query, value)``, ``(query, value, key)`` or ``(query, value, key,
  attention_mask)`` (``key`` may be None, meaning ``value``); a plain array (or ``Masked``)
  is self-attention, ``query = value = key = x``, so the layer also fits in a ``Sequential``.
  ``attention_mask`` is a bool array ``(batch, Tq, Tv)``, True where a query may attend.
* ``Attention`` / ``AdditiveAttention``: ``(query, value)`` or ``(query, value, key)``.

A masked query gives a ``Masked`` output with the query's mask; a masked value (or key)
sequence hides those positions from every query. ``use_causal_mask`` and
``return_attention_scores``, call arguments in Keras, are constructor arguments here, since a
pure ``apply`` takes its options from the layer (``return_attention_scores=True`` returns
``(output, scores)``).
"""

from __future__ import annotations

import string
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp

from fnnet import initializers as initializers_lib
from fnnet import mixed_precision
from fnnet.core import Layer, Masked
from fnnet.layers._seq_common import check_bool, check_rate
from fnnet.layers.core import _check_positive_int, weight_hooks

__all__ = ["MultiHeadAttention", "Attention", "AdditiveAttention"]

def _is_shape(s: Any) -> bool:
    return isinstance(s, (tuple, list)) and all(d is None or isinstance(d, int) for d in s)


def _value(x):
    return x.value if isinstance(x, Masked) else x


def _mask(x):
    return x.mask if isinstance(x, Masked) else None


def _dropout(label, rate, weights, rng, training):
    if not training or rate == 0:
        return weights
    if rng is None:
        raise ValueError(
            f"{label} has dropout={rate} and needs an rng when training=True. Call "
            f"apply(params, state, inputs, rng=jax.random.key(0), training=True), or pass "
            f"training=False for inference."
        )
    keep = jax.random.bernoulli(rng, 1.0 - rate, weights.shape)
    return jnp.where(keep, weights / jnp.asarray(1.0 - rate, weights.dtype),
                     jnp.zeros((), weights.dtype))


# ------------------------------------------------------------------ einsum equations (Keras's)
def _letters(i: int) -> str:
    return string.ascii_lowercase[i]


def _attention_equation(rank: int, attn_axes: tuple) -> tuple[str, str, tuple, tuple]:
    """Keras's dot-product and combine equations for projected inputs of ``rank``."""
    target = "".join(_letters(i) for i in range(rank))
    batch_dims = tuple(i for i in range(rank) if i not in attn_axes and i != rank - 1)
    offset, source = rank, ""
    for i in range(rank):
        if i in batch_dims or i == rank - 1:
            source += target[i]
        else:
            source += _letters(offset)
            offset += 1
    product = "".join([target[i] for i in batch_dims] + [target[i] for i in attn_axes]
                      + [source[i] for i in attn_axes])
    return f"{source},{target}->{product}", f"{product},{source}->{target}", batch_dims, product


def _project(x, kernel, bias, bound: int):
    """``x``'s last ``bound`` axes contracted with the kernel's first ``bound`` (EinsumDense)."""
    free = x.ndim - bound
    n_out = kernel.ndim - bound
    xs = "".join(_letters(i) for i in range(x.ndim))
    out = "".join(_letters(x.ndim + i) for i in range(n_out))
    y = jnp.einsum(f"{xs},{xs[free:]}{out}->{xs[:free]}{out}", x, kernel)
    if bias is not None:
        y = y + bias.reshape((1,) * free + bias.shape)
    return y


def _softmax(scores, mask, axes):
    if mask is None:
        return jax.nn.softmax(scores, axis=axes)
    # Keras's Softmax layer: masked scores to -1e9 (-3e4 in float16), and a fully masked row
    # gives zeros rather than a uniform distribution.
    big = -3e4 if scores.dtype == jnp.float16 else -1e9
    w = jax.nn.softmax(jnp.where(mask, scores, jnp.asarray(big, scores.dtype)), axis=axes)
    return jnp.where(mask, w, jnp.zeros((), w.dtype))


def _expand_to(mask, rank: int, axis: int):
    while mask.ndim < rank:
        mask = jnp.expand_dims(mask, axis)
    return mask


def _causal(tq: int, tv: int):
    rows = jnp.arange(tq)[:, None]
    cols = jnp.arange(tv)[None, :]
    return (rows >= cols)[None]  # (1, Tq, Tv)


def _make_params(rng, kernel_init, bias_init, specs, store):
    """``{name: {"kernel", "bias"}}`` for ``specs``: ``(name, kernel shape, bias shape)``."""
    keys = jax.random.split(rng, 2 * len(specs))
    params = {}
    for i, (name, kshape, bshape) in enumerate(specs):
        params[name] = {"kernel": kernel_init(keys[2 * i], kshape, store)}
        if bshape is not None:
            params[name]["bias"] = bias_init(keys[2 * i + 1], bshape, store)
    return params


def _split(label: str, inputs: Any, n_max: int, what: str) -> list:
    if isinstance(inputs, (tuple, list)) and not _is_shape(inputs):
        parts = list(inputs)
        if not 2 <= len(parts) <= n_max:
            raise ValueError(
                f"{label} takes a tuple of 2 to {n_max} inputs, {what}; got {len(parts)}."
            )
        return parts + [None] * (n_max - len(parts))
    return [inputs, inputs, inputs] + [None] * (n_max - 3)


def MultiHeadAttention(
    num_heads: int,
    key_dim: int,
    value_dim: int | None = None,
    dropout: float = 0.0,
    use_bias: bool = True,
    output_shape: int | Sequence[int] | None = None,
    attention_axes: int | Sequence[int] | None = None,
    kernel_initializer: str | Callable = "glorot_uniform",
    bias_initializer: str | Callable = "zeros",
    kernel_regularizer: Any = None,
    bias_regularizer: Any = None,
    kernel_constraint: Any = None,
    bias_constraint: Any = None,
    use_causal_mask: bool = False,
    return_attention_scores: bool = False,
    name: str | None = None,
    trainable: bool = True,
    dtype: Any = None,
    param_dtype: Any = None,
) -> Layer:
    """Multi-head attention (Vaswani 2017), Keras's ``MultiHeadAttention``.

    Shapes:
        input: see the module docs; query ``(batch, Tq, dim_q)``, value ``(batch, Tv, dim_v)``,
        key ``(batch, Tv, dim_k)`` (more axes between batch and features with
        ``attention_axes``). Output ``(batch, Tq, *output_shape)`` (default ``dim_q``); with
        ``return_attention_scores``, ``(output, scores)``, scores ``(batch, heads, Tq, Tv)``.

    Params (Keras's layout and order): ``{"query": {"kernel": (dim_q, heads, key_dim), "bias":
    (heads, key_dim)}, "key": {... (dim_k, heads, key_dim) ...}, "value": {"kernel": (dim_v,
    heads, value_dim), "bias": (heads, value_dim)}, "attention_output": {"kernel": (heads,
    value_dim, *output_shape), "bias": output_shape}}`` (no biases with ``use_bias=False``).
    State: ``()``.

    Args:
        num_heads: the number of heads.
        key_dim: the size of each head for query and key.
        value_dim: the size of each head for value (default ``key_dim``).
        dropout: the probability of dropping an attention weight (training only).
        use_bias: whether the projections have biases.
        output_shape: the output's feature shape (default: the query's last dim).
        attention_axes: the axes attention runs over (default: all but batch, heads and
            features).
        kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
        kernel_constraint, bias_constraint: for all four projections.
        use_causal_mask: position i attends to positions <= i only (decoders).
        return_attention_scores: also return the attention weights.
        name, trainable, dtype, param_dtype: as for :func:`fnnet.layers.Dense`.

    A query row with nothing to attend to (fully masked) gets zero weights, as in Keras's
    softmax path; see :func:`fnnet.layers.Attention` for the other masks.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import layers
        >>> mha = layers.MultiHeadAttention(num_heads=2, key_dim=3, return_attention_scores=True)
        >>> shapes, params, state = mha.init(jax.random.key(0), ((4, 5, 6), (4, 7, 6)))
        >>> shapes, params["query"]["kernel"].shape, params["attention_output"]["kernel"].shape
        (((4, 5, 6), (4, 2, 5, 7)), (6, 2, 3), (2, 3, 6))
        >>> (y, scores), _ = mha.apply(params, state, (jnp.ones((4, 5, 6)), jnp.ones((4, 7, 6))))
        >>> y.shape, scores.shape
        ((4, 5, 6), (4, 2, 5, 7))
    """
    _check_positive_int("MultiHeadAttention", "num_heads", num_heads, "MultiHeadAttention(8, 64)")
    _check_positive_int("MultiHeadAttention", "key_dim", key_dim, "MultiHeadAttention(8, 64)")
    if value_dim is not None:
        _check_positive_int("MultiHeadAttention", "value_dim", value_dim,
                            "MultiHeadAttention(8, 64, value_dim=32)")
    vdim = value_dim or key_dim
    label = f"MultiHeadAttention({num_heads}, {key_dim})"
    dropout = check_rate(label, "dropout", dropout)
    for arg, value in (("use_bias", use_bias), ("use_causal_mask", use_causal_mask),
                       ("return_attention_scores", return_attention_scores)):
        check_bool(label, arg, value)
    if isinstance(output_shape, int) and not isinstance(output_shape, bool):
        output_shape = (output_shape,)
    if output_shape is not None:
        if not isinstance(output_shape, (tuple, list)) or not output_shape or not all(
                isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in output_shape):
            raise ValueError(f"{label}: output_shape must be a positive int or a tuple of them; "
                             f"got {output_shape!r}. For example output_shape=64.")
        output_shape = tuple(output_shape)
    if isinstance(attention_axes, int) and not isinstance(attention_axes, bool):
        attention_axes = (attention_axes,)
    if attention_axes is not None:
        if not isinstance(attention_axes, (tuple, list)) or not attention_axes or not all(
                isinstance(a, int) and not isinstance(a, bool) for a in attention_axes):
            raise ValueError(f"{label}: attention_axes must be an int or a tuple of ints; got "
                             f"{attention_axes!r}. For example attention_axes=(1, 2).")
        attention_axes = tuple(attention_axes)
    kernel_init = initializers_lib.get(kernel_initializer)
    bias_init = initializers_lib.get(bias_initializer)
    hook_config, sub_reg, sub_con = weight_hooks(
        {"kernel": kernel_regularizer, "bias": bias_regularizer},
        {"kernel": kernel_constraint, "bias": bias_constraint})
    policy, _, store = mixed_precision.resolve(dtype, param_dtype)
    what = "(query, value), (query, value, key) or (query, value, key, attention_mask)"

    def axes_for(rank_q: int) -> tuple:
        rank = rank_q + 1  # after projection: (batch, ..., heads, dim)
        if attention_axes is None:
            return tuple(range(1, rank - 2))
        axes = tuple(a if a >= 0 else (rank - 1) + a for a in attention_axes)
        if not all(1 <= a <= rank_q - 2 for a in axes):
            raise ValueError(
                f"{label}: attention_axes={attention_axes} must name axes between the batch "
                f"and the feature axis of a rank-{rank_q} query."
            )
        return axes

    def init(rng, shape):
        q_shape, v_shape, k_shape, m_shape = _split(label, shape, 4, what)
        k_shape = v_shape if k_shape is None else k_shape
        for arg, s in (("query", q_shape), ("value", v_shape), ("key", k_shape)):
            if not _is_shape(s) or len(s) < 3 or s[-1] is None:
                raise ValueError(
                    f"{label}: the {arg} must have shape (batch, steps, features) with known "
                    f"features; got {s!r}. The input is {what}."
                )
        if tuple(v_shape[1:-1]) != tuple(k_shape[1:-1]):
            raise ValueError(
                f"{label}: all dimensions of value and key, except the last one, must be equal; "
                f"got value {tuple(v_shape)} and key {tuple(k_shape)}."
            )
        out_feat = output_shape or (q_shape[-1],)
        specs = tuple(
            (sub, (d, num_heads, size), (num_heads, size) if use_bias else None)
            for sub, d, size in (("query", q_shape[-1], key_dim), ("key", k_shape[-1], key_dim),
                                 ("value", v_shape[-1], vdim)))
        specs += (("attention_output", (num_heads, vdim, *out_feat),
                   tuple(out_feat) if use_bias else None),)
        params = _make_params(rng, kernel_init, bias_init, specs, store)
        out = (*q_shape[:-1], *out_feat)
        axes = axes_for(len(q_shape))
        if not return_attention_scores:
            return out, params, ()
        rank = len(q_shape) + 1
        target = (*q_shape[:-1], num_heads, key_dim)
        source = (*k_shape[:-1], num_heads, key_dim)
        _, _, batch_dims, _ = _attention_equation(rank, axes)
        scores = (*(target[i] for i in batch_dims), *(target[i] for i in axes),
                  *(source[i] for i in axes))
        return (out, scores), params, ()

    def apply(params, state, inputs, *, rng=None, training=False):
        query, value, key, attention_mask = _split(label, inputs, 4, what)
        key = value if key is None else key
        q_mask, v_mask, k_mask = _mask(query), _mask(value), _mask(key)
        q, v, k = _value(query), _value(value), _value(key)
        compute = mixed_precision.compute_dtype(policy, params["query"]["kernel"])
        cast = {s: {n: a.astype(compute) for n, a in p.items()} for s, p in params.items()}
        q, v, k = (jnp.asarray(a, compute) for a in (q, v, k))
        # Keras's _compute_attention_mask.
        mask = None
        if q_mask is not None:
            mask = jnp.asarray(q_mask, bool)[..., None]
        for m in (v_mask, k_mask):
            if m is not None:
                m = jnp.asarray(m, bool)[..., None, :]
                mask = m if mask is None else mask & m
        if use_causal_mask:
            c = _causal(q.shape[1], v.shape[1])
            mask = c if mask is None else mask & c
        if attention_mask is not None:
            attention_mask = jnp.asarray(attention_mask, bool)
            mask = attention_mask if mask is None else attention_mask & mask

        def proj(x, sub):
            return _project(x, cast[sub]["kernel"], cast[sub].get("bias"), 1)

        qp, kp, vp = proj(q, "query"), proj(k, "key"), proj(v, "value")
        axes = axes_for(q.ndim)
        dot_eq, combine_eq, _, product = _attention_equation(qp.ndim, axes)
        qp = qp * jnp.asarray(1.0 / key_dim ** 0.5, compute)
        scores = jnp.einsum(dot_eq, kp, qp)
        norm_axes = tuple(range(len(product) - len(axes), len(product)))
        if mask is not None:
            mask = _expand_to(mask, scores.ndim, -len(axes) * 2 - 1)
        weights = _softmax(scores, mask, norm_axes)
        out = jnp.einsum(combine_eq, _dropout(label, dropout, weights, rng, training), vp)
        out = _project(out, cast["attention_output"]["kernel"],
                       cast["attention_output"].get("bias"), 2)
        if q_mask is not None:
            out = Masked(out, q_mask)
        return ((out, weights) if return_attention_scores else out), state

    # Jitted: eagerly, each einsum and softmax would compile on its own.
    apply = jax.jit(apply, static_argnames="training")

    def regularizer(params):
        return sum((sub_reg(p) for p in params.values()), jnp.zeros((), jnp.float32))

    def constraint(params):
        return {k: sub_con(p) for k, p in params.items()}

    config = {
        "num_heads": num_heads,
        "key_dim": key_dim,
        "value_dim": vdim,
        "dropout": dropout,
        "use_bias": use_bias,
        "output_shape": output_shape,
        "attention_axes": attention_axes,
        "kernel_initializer": initializers_lib.serialize(kernel_init) or kernel_init,
        "bias_initializer": initializers_lib.serialize(bias_init) or bias_init,
        **{k: v for k, v in hook_config.items() if v is not None},
        "use_causal_mask": use_causal_mask,
        "return_attention_scores": return_attention_scores,
        **mixed_precision.config_entry(policy, param_dtype, policy.variable_dtype),
    }
    return Layer(init, apply, name=name, kind="MultiHeadAttention", config=config,
                 supports_masking=True, trainable=trainable,
                 regularizer=regularizer if sub_reg is not None else None,
                 constraint=constraint if sub_con is not None else None)


def _base_attention(kind: str, label: str, *, scores_fn, make_params, dropout: float,
                    use_causal_mask: bool, return_attention_scores: bool, config: dict,
                    policy, name, trainable) -> Layer:
    what = "(query, value) or (query, value, key)"

    def init(rng, shape):
        if not isinstance(shape, (tuple, list)) or _is_shape(shape) or not 2 <= len(shape) <= 3:
            raise ValueError(f"{label} takes a tuple of inputs, {what}; got the shape {shape!r}.")
        q_shape, v_shape = shape[0], shape[1]
        k_shape = shape[2] if len(shape) == 3 else v_shape
        for arg, s in (("query", q_shape), ("value", v_shape), ("key", k_shape)):
            if not _is_shape(s) or len(s) < 3 or s[-1] is None:
                raise ValueError(f"{label}: the {arg} must have shape (batch, steps, features) "
                                 f"with known features; got {s!r}.")
        params = make_params(rng, q_shape)
        out = (*q_shape[:-1], v_shape[-1])
        if return_attention_scores:
            return (out, (*q_shape[:-1], k_shape[-2])), params, ()
        return out, params, ()

    def apply(params, state, inputs, *, rng=None, training=False):
        if not isinstance(inputs, (tuple, list)) or not 2 <= len(inputs) <= 3:
            got = (f"one array of shape {tuple(jnp.shape(_value(inputs)))}"
                   if not isinstance(inputs, (tuple, list)) else f"{len(inputs)} inputs")
            raise ValueError(f"{label} takes a tuple of inputs, {what}; got {got}.")
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) == 3 else value
        # Keras reads the masks of [query, value]: the query's zeroes output rows, the
        # value's hides positions (the key's own mask is not used).
        q_mask, v_mask = _mask(query), _mask(value)
        leaves = jax.tree.leaves(params)
        compute = (mixed_precision.compute_dtype(policy, leaves[0]) if leaves else
                   jnp.dtype(policy.compute_dtype) if policy.is_mixed else _value(query).dtype)
        q, v, k = (jnp.asarray(_value(a), compute) for a in (query, value, key))
        cast = {n: a.astype(compute) for n, a in params.items()}
        scores = scores_fn(cast, q, k)
        mask = None if v_mask is None else jnp.asarray(v_mask, bool)[..., None, :]
        if use_causal_mask:
            c = _causal(scores.shape[-2], scores.shape[-1])
            mask = c if mask is None else mask & c
        if mask is not None:
            big = 65504.0 if scores.dtype == jnp.float16 else 1.0e9
            scores = jnp.where(mask, scores, scores - jnp.asarray(big, scores.dtype))
        weights = jax.nn.softmax(scores, axis=-1)
        out = _dropout(label, dropout, weights, rng, training) @ v
        if q_mask is not None:
            out = jnp.where(jnp.asarray(q_mask, bool)[..., None], out, jnp.zeros((), out.dtype))
            out = Masked(out, q_mask)
        return ((out, weights) if return_attention_scores else out), state

    return Layer(init, jax.jit(apply, static_argnames="training"), name=name, kind=kind,
                 config=config, supports_masking=True, trainable=trainable)


def Attention(
    use_scale: bool = False,
    score_mode: str = "dot",
    dropout: float = 0.0,
    use_causal_mask: bool = False,
    return_attention_scores: bool = False,
    name: str | None = None,
    trainable: bool = True,
    dtype: Any = None,
    param_dtype: Any = None,
) -> Layer:
    """Dot-product attention (Luong), Keras's ``Attention``: ``softmax(q @ k^T) @ v``.

    Shapes: inputs ``(query, value)`` or ``(query, value, key)``, query ``(batch, Tq, dim)``,
    value ``(batch, Tv, dim_v)``, key ``(batch, Tv, dim)``; output ``(batch, Tq, dim_v)``;
    with ``return_attention_scores``, ``(output, scores)``, scores ``(batch, Tq, Tv)``.

    Params: ``{"scale": ()}`` with ``use_scale`` (starts at 1), ``{"concat_score_weight":
    ()}`` with ``score_mode="concat"`` (both with both). State: ``()``.

    Masks: a masked value hides its padded positions (their scores are lowered by 1e9, as
    Keras does); a masked query zeroes the output at its padded rows and masks the output.

    Args:
        use_scale: learn a scalar that multiplies the scores.
        score_mode: ``"dot"`` (``q @ k^T``) or ``"concat"`` (``sum(tanh(q + k))``).
        dropout: the probability of dropping an attention weight (training only).
        use_causal_mask, return_attention_scores: see the module docs.
        name, trainable, dtype, param_dtype: as for :func:`fnnet.layers.Dense`.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import layers
        >>> att = layers.Attention()
        >>> shape, params, state = att.init(jax.random.key(0), ((2, 3, 4), (2, 5, 4)))
        >>> y, _ = att.apply(params, state, (jnp.ones((2, 3, 4)), jnp.ones((2, 5, 4))))
        >>> shape, y.shape
        ((2, 3, 4), (2, 3, 4))
    """
    label = "Attention"
    check_bool(label, "use_scale", use_scale)
    if score_mode not in ("dot", "concat"):
        raise ValueError(f"{label}: score_mode must be 'dot' or 'concat'; got {score_mode!r}.")
    dropout = check_rate(label, "dropout", dropout)
    check_bool(label, "use_causal_mask", use_causal_mask)
    check_bool(label, "return_attention_scores", return_attention_scores)
    policy, _, store = mixed_precision.resolve(dtype, param_dtype)

    def make_params(rng, q_shape):
        params = {}
        if use_scale:
            params["scale"] = jnp.ones((), store)
        if score_mode == "concat":
            params["concat_score_weight"] = jnp.ones((), store)
        return params

    def scores_fn(p, q, k):
        scale = p.get("scale")
        if score_mode == "dot":
            scores = q @ jnp.swapaxes(k, -2, -1)
            return scores if scale is None else scores * scale
        s = jnp.expand_dims(q, -2) + jnp.expand_dims(k, -3)
        s = s if scale is None else scale * s
        return p["concat_score_weight"] * jnp.sum(jnp.tanh(s), axis=-1)

    config = {"use_scale": use_scale, "score_mode": score_mode, "dropout": dropout,
              "use_causal_mask": use_causal_mask,
              "return_attention_scores": return_attention_scores,
              **mixed_precision.config_entry(policy, param_dtype, policy.variable_dtype)}
    return _base_attention("Attention", label, scores_fn=scores_fn, make_params=make_params,
                           dropout=dropout, use_causal_mask=use_causal_mask,
                           return_attention_scores=return_attention_scores, config=config,
                           policy=policy, name=name, trainable=trainable)


def AdditiveAttention(
    use_scale: bool = True,
    dropout: float = 0.0,
    use_causal_mask: bool = False,
    return_attention_scores: bool = False,
    name: str | None = None,
    trainable: bool = True,
    dtype: Any = None,
    param_dtype: Any = None,
) -> Layer:
    """Additive attention (Bahdanau), Keras's ``AdditiveAttention``: scores
    ``sum(scale * tanh(q + k), axis=-1)``.

    Shapes and masks: as :func:`Attention`; query and key share their last dim.

    Params: ``{"scale": (dim,)}`` with ``use_scale`` (glorot_uniform, as Keras), else ``{}``.
    State: ``()``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import layers
        >>> att = layers.AdditiveAttention()
        >>> shape, params, state = att.init(jax.random.key(0), ((2, 3, 4), (2, 5, 4)))
        >>> params["scale"].shape
        (4,)
    """
    label = "AdditiveAttention"
    check_bool(label, "use_scale", use_scale)
    dropout = check_rate(label, "dropout", dropout)
    check_bool(label, "use_causal_mask", use_causal_mask)
    check_bool(label, "return_attention_scores", return_attention_scores)
    policy, _, store = mixed_precision.resolve(dtype, param_dtype)

    def make_params(rng, q_shape):
        if not use_scale:
            return {}
        return {"scale": initializers_lib.get("glorot_uniform")(rng, (q_shape[-1],), store)}

    def scores_fn(p, q, k):
        s = jnp.tanh(jnp.expand_dims(q, -2) + jnp.expand_dims(k, -3))
        if use_scale:
            s = p["scale"].reshape((1,) * (s.ndim - 1) + (-1,)) * s
        return jnp.sum(s, axis=-1)

    config = {"use_scale": use_scale, "dropout": dropout, "use_causal_mask": use_causal_mask,
              "return_attention_scores": return_attention_scores,
              **mixed_precision.config_entry(policy, param_dtype, policy.variable_dtype)}
    return _base_attention("AdditiveAttention", label, scores_fn=scores_fn,
                           make_params=make_params, dropout=dropout,
                           use_causal_mask=use_causal_mask,
                           return_attention_scores=return_attention_scores, config=config,
                           policy=policy, name=name, trainable=trainable)
