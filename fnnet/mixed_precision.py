"""Dtype policies, as Keras's ``keras.mixed_precision``: compute in one dtype, store in another.

A :class:`Policy` has a ``compute_dtype`` (what a layer computes in) and a ``variable_dtype``
(what its params are stored in). ``"mixed_bfloat16"`` and ``"mixed_float16"`` compute in the
low precision and keep float32 params, so the optimizer updates float32 weights; a plain dtype
name (``"float32"``) uses it for both.

Layers take ``dtype=`` (a policy, a policy name, or None for the global policy at the time the
layer is built, as in Keras), and Flax-style ``param_dtype=`` to override the storage dtype.
The global policy is process state for the Keras-style front end only; a layer resolves it once,
when constructed, so every ``apply`` stays a pure function of its arguments.

Example:
    >>> from fnnet import layers, mixed_precision
    >>> mixed_precision.set_global_policy("mixed_bfloat16")
    >>> dense = layers.Dense(4)
    >>> mixed_precision.set_global_policy("float32")
    >>> dense.config["dtype"]
    'mixed_bfloat16'
    >>> Policy("mixed_float16").compute_dtype, Policy("mixed_float16").variable_dtype
    ('float16', 'float32')
"""

from __future__ import annotations

import threading
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

__all__ = ["Policy", "set_global_policy", "global_policy", "resolve", "compute_dtype",
           "LossScaleOptimizer", "LossScaleState", "loss_scale"]

_FLOATS = ("float16", "bfloat16", "float32", "float64")


class Policy:
    """A dtype policy: ``compute_dtype`` and ``variable_dtype``, from a name.

    Args:
        name: ``"mixed_float16"``, ``"mixed_bfloat16"``, or a float dtype name such as
            ``"float32"``.
    """

    def __init__(self, name: str):
        if isinstance(name, Policy):
            name = name.name
        if not isinstance(name, str):
            raise TypeError(f"Policy(name): expected a str such as 'mixed_float16'; got "
                            f"{name!r} of type {type(name).__name__}.")
        if name == "mixed_float16":
            compute, variable = "float16", "float32"
        elif name == "mixed_bfloat16":
            compute, variable = "bfloat16", "float32"
        elif name in _FLOATS:
            compute = variable = name
        else:
            raise ValueError(
                f"Policy({name!r}): valid policies are 'mixed_float16', 'mixed_bfloat16' and "
                f"the float dtypes {', '.join(repr(f) for f in _FLOATS)}."
            )
        self.name = name
        self.compute_dtype = compute
        self.variable_dtype = variable

    @property
    def is_mixed(self) -> bool:
        """Whether compute and storage differ (a ``mixed_*`` policy)."""
        return self.compute_dtype != self.variable_dtype

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, Policy) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return f'<Policy "{self.name}">'


_state = threading.local()
_default = Policy("float32")


def set_global_policy(policy: str | Policy) -> None:
    """Sets the policy that layers built from now on (with ``dtype=None``) use.

    Say plainly: on CPUs without bfloat16 matrix units, ``mixed_bfloat16`` saves memory but
    is not faster; it pays on GPUs and TPUs.
    """
    _state.policy = policy if isinstance(policy, Policy) else Policy(policy)


def global_policy() -> Policy:
    """The global policy (``"float32"`` unless :func:`set_global_policy` changed it)."""
    return getattr(_state, "policy", _default)


def resolve(dtype: Any = None, param_dtype: Any = None) -> tuple[Policy, Any, Any]:
    """``(policy, compute dtype, param dtype)`` for a layer's ``dtype=``/``param_dtype=``.

    ``dtype``: None (the global policy), a :class:`Policy`, a policy name, or a numpy/JAX
    dtype. ``param_dtype``: None (the policy's variable dtype) or a float dtype.
    """
    if dtype is None:
        policy = global_policy()
    elif isinstance(dtype, (Policy, str)):
        policy = Policy(dtype)
    else:
        try:
            policy = Policy(np.dtype(dtype).name if np.dtype(dtype).name != "bfloat16" else
                            "bfloat16")
        except TypeError:
            raise TypeError(f"dtype must be None, a policy name such as 'mixed_bfloat16', or a "
                            f"float dtype; got {dtype!r}.") from None
    store = policy.variable_dtype if param_dtype is None else param_dtype
    try:
        store = jnp.dtype(store)
    except TypeError:
        raise TypeError(f"param_dtype must be a float dtype such as 'float32'; got "
                        f"{param_dtype!r}.") from None
    if not jnp.issubdtype(store, jnp.floating):
        raise TypeError(f"param_dtype must be a float dtype such as 'float32'; got {param_dtype!r}.")
    return policy, jnp.dtype(policy.compute_dtype), store


def compute_dtype(policy: Policy, param: Any) -> Any:
    """The dtype a layer computes in: the policy's for a mixed policy, else its params' dtype.

    So float32 layers given float64 params (gradient checks) compute in float64, and a
    ``mixed_bfloat16`` layer computes in bfloat16 from float32 params.
    """
    return jnp.dtype(policy.compute_dtype) if policy.is_mixed else jnp.result_type(param)


def config_entry(policy: Policy, param_dtype: Any, default_param: Any) -> dict:
    """The ``dtype``/``param_dtype`` config entries to record (only what differs from the
    float32 default, so plain layers keep short configs)."""
    out = {}
    if policy.name != "float32":
        out["dtype"] = policy.name
    if param_dtype is not None and jnp.dtype(param_dtype) != jnp.dtype(default_param):
        out["param_dtype"] = jnp.dtype(param_dtype).name
    return out


class LossScaleState(NamedTuple):
    """State of :func:`LossScaleOptimizer`: the current scale, the finite steps since it last
    changed, and the wrapped optimizer's state."""

    scale: jax.Array
    good_steps: jax.Array
    inner_state: Any


def LossScaleOptimizer(inner_optimizer: Any, initial_scale: float = 2.0**15,  # noqa: N802
                       dynamic_growth_steps: int = 2000) -> optax.GradientTransformation:
    """Dynamic loss scaling for ``mixed_float16``, as Keras's ``LossScaleOptimizer``.

    The train step multiplies the loss by the current scale before taking gradients (so small
    float16 gradients do not flush to zero); this transformation divides the gradients by it,
    and when any is not finite it skips the step (no update, the wrapped state unchanged) and
    halves the scale; after ``dynamic_growth_steps`` finite steps in a row it doubles it.
    ``compile`` wraps the optimizer in it when the global policy is ``"mixed_float16"``.

    Example:
        >>> import jax.numpy as jnp, optax
        >>> tx = LossScaleOptimizer(optax.sgd(0.1), initial_scale=4.0)
        >>> state = tx.init(jnp.zeros(2))
        >>> _, state = tx.update(jnp.array([jnp.inf, 1.0]), state)   # an overflow: skipped
        >>> float(state.scale)
        2.0
    """
    # A leaf module: resolving names belongs to fnnet.optimizers, which imports nothing of
    # ours; the optimizer here must already be an optax transformation.
    if not isinstance(inner_optimizer, optax.GradientTransformation):
        raise TypeError(f"LossScaleOptimizer(inner_optimizer): expected an optax "
                        f"GradientTransformation (e.g. fnnet.optimizers.get('adam')); got "
                        f"{inner_optimizer!r:.80}.")
    if not (isinstance(initial_scale, (int, float)) and initial_scale > 0 and
            np.isfinite(initial_scale)):
        raise ValueError(f"LossScaleOptimizer(initial_scale): expected a finite number > 0; got "
                         f"{initial_scale!r}.")
    if isinstance(dynamic_growth_steps, bool) or not isinstance(dynamic_growth_steps, int) or \
            dynamic_growth_steps < 1:
        raise ValueError(f"LossScaleOptimizer(dynamic_growth_steps): expected a positive int; "
                         f"got {dynamic_growth_steps!r}.")
    tx = inner_optimizer

    def init(params):
        return LossScaleState(jnp.asarray(initial_scale, jnp.float32), jnp.zeros((), jnp.int32),
                              tx.init(params))

    def update(grads, state, params=None, **extra):
        inv = 1.0 / state.scale
        grads = jax.tree.map(lambda g: (g.astype(jnp.float32) * inv).astype(g.dtype), grads)
        finite = jnp.all(jnp.stack([jnp.all(jnp.isfinite(g)) for g in jax.tree.leaves(grads)]))
        safe = jax.tree.map(lambda g: jnp.where(finite, g, jnp.zeros_like(g)), grads)
        updates, inner = tx.update(safe, state.inner_state, params, **extra) if extra else \
            tx.update(safe, state.inner_state, params)
        updates = jax.tree.map(lambda u: jnp.where(finite, u, jnp.zeros_like(u)), updates)
        inner = jax.tree.map(lambda new, old: jnp.where(finite, new, old), inner,
                             state.inner_state)
        good = jnp.where(finite, state.good_steps + 1, 0)
        grow = good >= dynamic_growth_steps
        scale = jnp.where(finite, jnp.where(grow, state.scale * 2.0, state.scale),
                          state.scale * 0.5)
        return updates, LossScaleState(scale, jnp.where(grow, 0, good), inner)

    return optax.GradientTransformationExtraArgs(init, update)


def loss_scale(opt_state: Any) -> jax.Array | None:
    """The current loss scale in an optimizer state (None without a loss-scale optimizer)."""
    found = [s for s in jax.tree.leaves(opt_state, is_leaf=lambda s: isinstance(
        s, LossScaleState)) if isinstance(s, LossScaleState)]
    return found[0].scale if found else None
