"""Reading and replacing the learning rate inside any optax state, without recompiling.

The rate is readable and settable wherever it is an injected hyper-parameter: the
``hyperparams["learning_rate"]`` of an ``optax.inject_hyperparams`` state, which every fnnet
optimizer has and which may sit anywhere in the state tree (inside ``optax.chain``,
``optax.multi_transform``, :func:`~fnnet.optimizers.freeze`, ``optax.MultiSteps``...). The
new rate keeps the old one's dtype and shape, so a jitted train step does not retrace.

Example:
    >>> import jax.numpy as jnp
    >>> import optax
    >>> tx = optax.chain(optax.clip(1.0), optax.inject_hyperparams(optax.adam)(learning_rate=0.1))
    >>> state = tx.init(jnp.zeros(2))
    >>> get_learning_rate(state)
    0.1
    >>> get_learning_rate(set_learning_rate(state, 0.01))
    0.01
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

PyTree = Any

__all__ = ["get_learning_rate", "set_learning_rate"]

_HOW = (
    "Build the optimizer as a fnnet optimizer (fnnet.optimizers.Adam(learning_rate=1e-3) or "
    "fnnet.optimizers.get('adam')), or make an optax one's rate injectable: "
    "optax.inject_hyperparams(optax.adam)(learning_rate=1e-3)."
)


def _holds_rate(x: Any) -> bool:
    hyperparams = getattr(x, "hyperparams", None)
    return isinstance(hyperparams, dict) and "learning_rate" in hyperparams


def _find(tree: PyTree, prefix: tuple = ()) -> list[tuple[tuple, Any]]:
    """(key path, state) of every inject_hyperparams state with a learning rate, nested too."""
    found = []
    for path, leaf in jax.tree_util.tree_flatten_with_path(tree, is_leaf=_holds_rate)[0]:
        if _holds_rate(leaf):
            found.append((prefix + path, leaf))
            inner = getattr(leaf, "inner_state", None)
            found += _find(inner, prefix + path + (jax.tree_util.GetAttrKey("inner_state"),))
    return found


def _the_one(opt_state: PyTree, where: str):
    found = _find(opt_state)
    if len(found) > 1:
        paths = ", ".join(f"opt_state{jax.tree_util.keystr(p)}" for p, _ in found)
        raise ValueError(
            f"{where}: the optimizer state holds {len(found)} injected learning rates, at "
            f"{paths}, so which one is meant is ambiguous. Apply {where} to the sub-state you "
            f"mean (one of those paths)."
        )
    return found[0] if found else (None, None)


def _scheduled(state: Any) -> bool:
    return "learning_rate" in (getattr(state, "hyperparams_states", None) or {})


def get_learning_rate(opt_state: PyTree) -> float | jax.Array | None:
    """The learning rate the next update will use, or None if the state has none.

    For a fnnet optimizer with a schedule, it is ``schedule(step)`` as in Keras (the rate of
    the next update); for an optax schedule injected by hand, optax records the rate of the
    last update, which is what is returned. Under ``jax.jit`` (a traced state) it returns the
    traced float32 scalar instead of a Python float.

    Args:
        opt_state: the state of any optax transformation.

    Returns:
        A Python float; a traced scalar under ``jax.jit``; or None when the state holds no
        injected learning rate (e.g. ``optax.adam(1e-3)``'s).

    Raises:
        ValueError: if the state holds several injected learning rates.

    Example:
        >>> import jax.numpy as jnp
        >>> from fnnet.optimizers import SGD
        >>> from fnnet.optimizers.schedules import PolynomialDecay
        >>> tx = SGD(learning_rate=PolynomialDecay(1.0, 10, end_learning_rate=0.0))
        >>> state = tx.init(jnp.zeros(2))
        >>> _, state = tx.update(jnp.ones(2), state)
        >>> get_learning_rate(state)
        0.9
    """
    _, state = _the_one(opt_state, "get_learning_rate")
    if state is None:
        return None
    value = state.hyperparams["learning_rate"]
    if _scheduled(state):
        value = getattr(state.hyperparams_states["learning_rate"], "learning_rate", value)
    if isinstance(value, jax.core.Tracer):
        return value
    return float(value)


def set_learning_rate(opt_state: PyTree, value: float | jax.Array) -> PyTree:
    """Returns ``opt_state`` with a new learning rate; pure, and free of recompilation.

    The new rate keeps the old one's dtype (float32) and shape, so the returned state has the
    same tree structure and avals and a jitted train step does not retrace. Works on the host
    or inside ``jax.jit``.

    Args:
        opt_state: a state holding one injected learning rate (any fnnet optimizer's, or an
            ``optax.inject_hyperparams`` one anywhere in the tree).
        value: the new rate, a finite non-negative scalar.

    Returns:
        The new state; ``opt_state`` is unchanged.

    Raises:
        ValueError: if the state holds no injected learning rate or several, if a schedule
            controls it, or if ``value`` is not a finite non-negative scalar.

    Example:
        >>> import jax.numpy as jnp
        >>> from fnnet.optimizers import RMSprop
        >>> state = set_learning_rate(RMSprop().init({"w": jnp.zeros(2)}), 1e-4)
        >>> state.hyperparams["learning_rate"]
        Array(1.e-04, dtype=float32)
    """
    path, state = _the_one(opt_state, "set_learning_rate")
    if state is None:
        raise ValueError(
            f"set_learning_rate: this optimizer state (of type {type(opt_state).__name__}) has "
            f"no injectable learning rate. {_HOW}"
        )
    if _scheduled(state):
        raise ValueError(
            "set_learning_rate: the learning rate of this optimizer is controlled by a "
            "schedule, so it cannot be set. Build the optimizer with a float learning_rate "
            "to change it by hand."
        )
    old = state.hyperparams["learning_rate"]
    if not isinstance(value, jax.core.Tracer):
        arr = np.asarray(value)
        ok = arr.shape == () and np.issubdtype(arr.dtype, np.number) and np.isrealobj(arr)
        if not (ok and np.isfinite(arr) and arr >= 0):
            raise ValueError(
                f"set_learning_rate: value must be a finite non-negative scalar; got {value!r}."
            )
    new_rate = jnp.asarray(value, dtype=jnp.result_type(old)).reshape(np.shape(old))
    new = state._replace(hyperparams={**state.hyperparams, "learning_rate": new_rate})
    return jax.tree_util.tree_map_with_path(
        lambda p, x: new if p == path else x, opt_state, is_leaf=_holds_rate)
