"""Embedding and Masking with Keras's names, arguments and defaults; the sources of data masks.

``Embedding(mask_zero=True)`` and ``Masking`` return a :class:`fnnet.Masked` value, whose mask
later layers that support masking (RNNs, attention, Dense...) receive.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import jax.numpy as jnp

from fnnet import initializers as initializers_lib
from fnnet import mixed_precision
from fnnet.core import Layer, Masked
from fnnet.layers.core import _check_declared, _check_input_shape, _check_positive_int, weight_hooks

__all__ = ["Embedding", "Masking"]

# Keras's short aliases, which fnnet.initializers does not know by these names.
_ALIASES = {"uniform": "random_uniform", "normal": "random_normal"}


def Embedding(
    input_dim: int,
    output_dim: int,
    embeddings_initializer: str | Callable = "uniform",
    embeddings_regularizer: Any = None,
    embeddings_constraint: Any = None,
    mask_zero: bool = False,
    input_length: int | None = None,
    input_shape: Sequence[int | None] | None = None,
    name: str | None = None,
    trainable: bool = True,
    dtype: Any = None,
    param_dtype: Any = None,
) -> Layer:
    """Turns integer ids into dense vectors: ``(batch, ...)`` ids -> ``(batch, ..., output_dim)``.

    Params: ``{"embeddings": (input_dim, output_dim)}``. State: ``()``.

    Ids are looked up as Keras's JAX backend does (``jnp.take``): a negative id ``-input_dim <=
    i < 0`` counts from the end, and an id outside ``[-input_dim, input_dim)`` gives a row of
    NaNs (it cannot raise under ``jit``; the NaNs make the mistake visible in the loss, where
    plain indexing would silently clamp to the last row). Float ids are cast to int32, as
    Keras does.

    Args:
        input_dim: the vocabulary size (largest id + 1).
        output_dim: the size of each vector.
        embeddings_initializer: an initializer (Keras's default ``"uniform"``, i.e.
            ``RandomUniform(-0.05, 0.05)``).
        embeddings_regularizer, embeddings_constraint: a penalty / projection for the table.
        mask_zero: id 0 is padding: return ``fnnet.Masked(vectors, ids != 0)`` (id 0 still has
            a row, so ``input_dim`` counts it). A :class:`fnnet.Masked` input is accepted; the
            new mask replaces its mask, as in Keras.
        input_length: deprecated in Keras 3 and ignored, with a warning (remove it).
        input_shape: the per-example input shape, e.g. ``(steps,)``, read by ``Sequential``.
        name, trainable, dtype, param_dtype: as for :func:`fnnet.layers.Dense`.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import layers
        >>> emb = layers.Embedding(10, 4, mask_zero=True)
        >>> shape, params, state = emb.init(jax.random.key(0), (None, 3))
        >>> shape, params["embeddings"].shape
        ((None, 3, 4), (10, 4))
        >>> out, _ = emb.apply(params, state, jnp.array([[7, 2, 0]]))
        >>> out.value.shape, out.mask.tolist()
        ((1, 3, 4), [[True, True, False]])
    """
    _check_positive_int("Embedding", "input_dim", input_dim, "Embedding(10000, 64)")
    _check_positive_int("Embedding", "output_dim", output_dim, "Embedding(10000, 64)")
    if not isinstance(mask_zero, bool):
        raise TypeError(f"Embedding: mask_zero must be True or False; got {mask_zero!r}.")
    if input_length is not None:
        warnings.warn("Embedding: the argument input_length is deprecated (as in Keras 3) and "
                      "ignored. Just remove it.", UserWarning, stacklevel=2)
    if isinstance(embeddings_initializer, str):
        embeddings_initializer = _ALIASES.get(embeddings_initializer.lower(),
                                              embeddings_initializer)
    init_fn = initializers_lib.get(embeddings_initializer)
    declared = _check_input_shape("Embedding", input_shape)
    label = f"Embedding({input_dim}, {output_dim})"
    hook_config, regularizer, constraint = weight_hooks({"embeddings": embeddings_regularizer},
                                                        {"embeddings": embeddings_constraint})
    policy, _, store = mixed_precision.resolve(dtype, param_dtype)

    def init(rng, shape):
        if not isinstance(shape, (tuple, list)) or len(shape) < 1:
            raise ValueError(
                f"{label}: init takes the shape of the ids with the batch dim, e.g. (batch, "
                f"steps); got {shape!r}."
            )
        _check_declared(label, declared, shape)
        params = {"embeddings": init_fn(rng, (input_dim, output_dim), store)}
        return (*shape, output_dim), params, ()

    def apply(params, state, x, *, rng=None, training=False):
        ids = x.value if isinstance(x, Masked) else jnp.asarray(x)
        if not jnp.issubdtype(ids.dtype, jnp.integer):
            ids = ids.astype(jnp.int32)
        table = params["embeddings"]
        compute = mixed_precision.compute_dtype(policy, table)
        out = jnp.take(table, ids, axis=0).astype(compute)
        return (Masked(out, ids != 0) if mask_zero else out), state

    config = {
        "input_dim": input_dim,
        "output_dim": output_dim,
        "embeddings_initializer": initializers_lib.serialize(init_fn) or init_fn,
        **{k: v for k, v in hook_config.items() if v is not None},
        "mask_zero": mask_zero,
        **mixed_precision.config_entry(policy, param_dtype, policy.variable_dtype),
    }
    if declared is not None:
        config["input_shape"] = declared
    return Layer(init, apply, name=name, kind="Embedding", config=config, input_shape=declared,
                 supports_masking=mask_zero, regularizer=regularizer, constraint=constraint,
                 trainable=trainable)


def Masking(
    mask_value: float = 0.0,
    input_shape: Sequence[int | None] | None = None,
    name: str | None = None,
    trainable: bool = True,
) -> Layer:
    """Masks the time steps whose features all equal ``mask_value``.

    Input ``(batch, steps, features)`` (any rank >= 2); output
    ``fnnet.Masked(where(mask, x, 0), mask)`` with ``mask = any(x != mask_value, axis=-1)``:
    masked steps are also zeroed, as Keras does. A :class:`fnnet.Masked` input's mask is
    replaced, as in Keras. No params, no state.

    Example:
        >>> import jax.numpy as jnp
        >>> from fnnet import layers
        >>> x = jnp.array([[[1.0, 2.0], [-1.0, -1.0], [0.0, 3.0]]])
        >>> out, _ = layers.Masking(mask_value=-1.0).apply((), (), x)
        >>> out.mask.tolist(), out.value[0, 1].tolist()
        ([[True, False, True]], [0.0, 0.0])
    """
    if isinstance(mask_value, bool) or not isinstance(mask_value, (int, float)):
        raise TypeError(f"Masking: mask_value must be a number; got {mask_value!r}. For example "
                        f"Masking(mask_value=0.0).")
    mask_value = float(mask_value)
    declared = _check_input_shape("Masking", input_shape)

    def init(rng, shape):
        if not isinstance(shape, (tuple, list)) or len(shape) < 2:
            raise ValueError(
                f"Masking: expected an input of shape (batch, steps, features); got {shape!r}."
            )
        _check_declared("Masking", declared, shape)
        return tuple(shape), (), ()

    def apply(params, state, x, *, rng=None, training=False):
        x = x.value if isinstance(x, Masked) else jnp.asarray(x)
        mask = jnp.any(x != jnp.asarray(mask_value, x.dtype), axis=-1)
        out = jnp.where(mask[..., None], x, jnp.zeros((), x.dtype))
        return Masked(out, mask), state

    config = {"mask_value": mask_value}
    if declared is not None:
        config["input_shape"] = declared
    return Layer(init, apply, name=name, kind="Masking", config=config, input_shape=declared,
                 supports_masking=True, trainable=trainable)
