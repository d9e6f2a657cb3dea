"""Keras optimizers as optax ``GradientTransformation``\\ s, with Keras's defaults and numerics.

:func:`get` builds an optimizer by Keras name (``"rmsprop"``, ``"Adam"``...) with Keras's
argument names and defaults. The update formulas match Keras 3 exactly, including where they
differ from optax's (Adam's epsilon sits outside the bias correction; SGD and RMSprop
momentum accumulate ``learning_rate * gradient``); see each ``_keras_*`` transform below.

The learning rate lives in the optimizer state, not in the compiled code: every named
optimizer is wrapped in :func:`optax.inject_hyperparams`, so
``opt_state.hyperparams["learning_rate"]`` is a float32 scalar that
:func:`set_learning_rate` replaces between steps without recompiling a jitted train step.

Example:
    >>> import jax.numpy as jnp
    >>> from fnnet import optimizers
    >>> tx = optimizers.get("rmsprop", learning_rate=0.01)
    >>> params = {"w": jnp.ones(3)}
    >>> opt_state = tx.init(params)
    >>> updates, opt_state = tx.update({"w": jnp.ones(3)}, opt_state, params)
    >>> optimizers.get_learning_rate(opt_state)
    0.01
    >>> opt_state = optimizers.set_learning_rate(opt_state, 0.001)
    >>> optimizers.serialize(tx)["config"]["rho"]
    0.9
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from optax._src import base as optax_base

from fnnet._errors import unknown_name

__all__ = [
    "Optimizer",
    "get",
    "serialize",
    "get_learning_rate",
    "set_learning_rate",
    "scale_by_keras_adam",
    "ScaleByKerasAdamState",
]

PyTree = Any
Schedule = Callable[[jax.Array], jax.Array]

# Keras's base-optimizer arguments that every optimizer accepts.
_COMMON = {"weight_decay": None, "clipnorm": None, "clipvalue": None, "global_clipnorm": None}
_ADAM = {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7, "amsgrad": False}
# name -> (Keras class name, Keras defaults of the optimizer's own arguments).
_DEFAULTS: dict[str, tuple[str, dict[str, Any]]] = {
    "sgd": ("SGD", {"learning_rate": 0.01, "momentum": 0.0, "nesterov": False}),
    "rmsprop": (
        "RMSprop",
        {"learning_rate": 1e-3, "rho": 0.9, "momentum": 0.0, "epsilon": 1e-7, "centered": False},
    ),
    "adam": ("Adam", {"learning_rate": 1e-3, **_ADAM}),
    "adamw": ("AdamW", {"learning_rate": 1e-3, **_ADAM, "weight_decay": 0.004}),
    "adagrad": (
        "Adagrad",
        {"learning_rate": 1e-3, "initial_accumulator_value": 0.1, "epsilon": 1e-7},
    ),
    "adadelta": ("Adadelta", {"learning_rate": 1e-3, "rho": 0.95, "epsilon": 1e-7}),
    "adamax": ("Adamax", {"learning_rate": 1e-3, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}),
    "nadam": ("Nadam", {"learning_rate": 1e-3, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}),
    "lion": ("Lion", {"learning_rate": 1e-3, "beta_1": 0.9, "beta_2": 0.99}),
}
_BOOLS = {"nesterov", "centered", "amsgrad"}
# Hyperparameters that are decay rates and so must lie in [0, 1].
_UNIT = {"rho", "momentum", "beta_1", "beta_2"}


class Optimizer(optax.GradientTransformationExtraArgs):
    """A named Keras optimizer: an optax ``GradientTransformation`` plus its Keras config.

    ``init`` and ``update`` are all that unpacking, ``==`` and optax see; ``name`` and
    ``config`` (every Keras argument, defaults filled in) are what :func:`serialize` saves.

    Example:
        >>> tx = get("sgd", momentum=0.9)
        >>> tx.name, tx.config["momentum"], tx.config["learning_rate"]
        ('sgd', 0.9, 0.01)
        >>> init_fn, update_fn = tx
    """

    name: str
    config: dict

    def __new__(cls, init, update, *, name: str, config: dict):
        self = super().__new__(cls, init, update)
        self.name = name
        self.config = config
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config.items())
        return f"{_DEFAULTS[self.name][0]}({args})"


# ---------------------------------------------------------------------------------------
# Keras update rules as optax transforms. Each returns the *update* (added to params) and
# takes the learning rate as a float32 scalar, cast to each leaf's dtype as Keras does.


def _cast(x, like: jax.Array) -> jax.Array:
    return jnp.asarray(x, dtype=like.dtype)


def _scale_by_neg_lr(lr) -> optax.GradientTransformation:
    def update(updates, state, params=None):
        return jax.tree.map(lambda u: -_cast(lr, u) * u, updates), state

    return optax.GradientTransformation(lambda params: optax.EmptyState(), update)


class _TraceState(NamedTuple):
    momentum: PyTree


def _keras_sgd(lr, momentum: float, nesterov: bool) -> optax.GradientTransformation:
    # Keras: m = momentum * m - lr * g; var += m (or momentum * m - lr * g for Nesterov).
    # Equal to optax.sgd for a constant rate, but here m holds lr * g, so a rate changed
    # mid-training acts on new gradients only, as in Keras.
    if momentum == 0:
        return _scale_by_neg_lr(lr)

    def init(params):
        return _TraceState(jax.tree.map(jnp.zeros_like, params))

    def update(grads, state, params=None):
        m = jax.tree.map(lambda m, g: momentum * m - _cast(lr, g) * g, state.momentum, grads)
        if nesterov:
            out = jax.tree.map(lambda m, g: momentum * m - _cast(lr, g) * g, m, grads)
        else:
            out = m
        return out, _TraceState(m)

    return optax.GradientTransformation(init, update)


def _keras_rmsprop(lr, rho, momentum, epsilon, centered) -> optax.GradientTransformation:
    # optax's rmsprop with eps_in_sqrt=True is Keras's: v = rho v + (1-rho) g^2,
    # increment = lr g / sqrt(v + eps) (centered: v - avg_g^2 + eps), momentum on increments.
    if centered:
        precondition = optax.scale_by_stddev(decay=rho, eps=epsilon, eps_in_sqrt=True)
    else:
        precondition = optax.scale_by_rms(decay=rho, eps=epsilon, eps_in_sqrt=True)
    parts = [precondition, _scale_by_neg_lr(lr)]
    if momentum > 0:
        parts.append(optax.trace(decay=momentum))
    return optax.chain(*parts)


class ScaleByKerasAdamState(NamedTuple):
    """State of :func:`scale_by_keras_adam`: step count and UNcorrected moments."""

    count: jax.Array  # int32 scalar: number of updates so far
    mu: PyTree  # first moment m
    nu: PyTree  # second moment v
    nu_max: PyTree  # running max of v when amsgrad, else ()


def scale_by_keras_adam(
    learning_rate: float | jax.Array = 1e-3,
    beta_1: float = 0.9,
    beta_2: float = 0.999,
    epsilon: float = 1e-7,
    amsgrad: bool = False,
) -> optax.GradientTransformation:
    """Keras's Adam update, including the learning rate (so the result is the update itself).

    With ``t`` the 1-based step and ``m``, ``v`` the uncorrected moments::

        m = m + (g - m) * (1 - beta_1);   v = v + (g**2 - v) * (1 - beta_2)
        alpha = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)
        update = -alpha * m / (sqrt(v) + epsilon)

    This differs from ``optax.adam``, which adds epsilon to the bias-corrected ``sqrt(v_hat)``.

    Args:
        learning_rate: step size, a float or a scalar array.
        beta_1: decay of the first moment.
        beta_2: decay of the second moment.
        epsilon: added to ``sqrt(v)``.
        amsgrad: use the running maximum of ``v`` in the denominator.

    Example:
        >>> tx = scale_by_keras_adam(0.1)
        >>> state = tx.init(jnp.zeros(2))
        >>> updates, state = tx.update(jnp.array([1.0, -2.0]), state)
        >>> updates  # the first Adam step is about -lr * sign(g)
        Array([-0.1,  0.1], dtype=float32)
    """

    def init(params):
        zeros = jax.tree.map(jnp.zeros_like, params)
        return ScaleByKerasAdamState(
            count=jnp.zeros([], jnp.int32),
            mu=zeros,
            nu=jax.tree.map(jnp.zeros_like, params),
            nu_max=jax.tree.map(jnp.zeros_like, params) if amsgrad else (),
        )

    def update(grads, state, params=None):
        count = optax.safe_increment(state.count)
        t = count.astype(jnp.float32)
        alpha = (
            jnp.asarray(learning_rate, jnp.float32)
            * jnp.sqrt(1 - jnp.float32(beta_2) ** t)
            / (1 - jnp.float32(beta_1) ** t)
        )
        mu = jax.tree.map(lambda m, g: m + (g - m) * (1 - beta_1), state.mu, grads)
        nu = jax.tree.map(lambda v, g: v + (g * g - v) * (1 - beta_2), state.nu, grads)
        nu_max, denom_v = (), nu
        if amsgrad:
            nu_max = jax.tree.map(jnp.maximum, state.nu_max, nu)
            denom_v = nu_max
        out = jax.tree.map(
            lambda m, v: -(m * _cast(alpha, m)) / (jnp.sqrt(v) + epsilon), mu, denom_v
        )
        return out, ScaleByKerasAdamState(count, mu, nu, nu_max)

    return optax.GradientTransformation(init, update)


class _AdamaxState(NamedTuple):
    count: jax.Array
    mu: PyTree
    u: PyTree


def _keras_adamax(lr, beta_1, beta_2, epsilon) -> optax.GradientTransformation:
    # Keras: m += (g - m)(1 - b1); u = max(b2 u, |g|); var -= lr m / ((1 - b1^t)(u + eps)).
    def init(params):
        return _AdamaxState(
            jnp.zeros([], jnp.int32),
            jax.tree.map(jnp.zeros_like, params),
            jax.tree.map(jnp.zeros_like, params),
        )

    def update(grads, state, params=None):
        count = optax.safe_increment(state.count)
        correction = 1 - jnp.float32(beta_1) ** count.astype(jnp.float32)
        mu = jax.tree.map(lambda m, g: m + (g - m) * (1 - beta_1), state.mu, grads)
        u = jax.tree.map(lambda u, g: jnp.maximum(beta_2 * u, jnp.abs(g)), state.u, grads)
        out = jax.tree.map(
            lambda m, u: -(_cast(lr, m) * m) / (_cast(correction, m) * (u + epsilon)), mu, u
        )
        return out, _AdamaxState(count, mu, u)

    return optax.GradientTransformation(init, update)


class _NadamState(NamedTuple):
    count: jax.Array
    u_product: jax.Array  # float32 scalar: prod of the momentum schedule u_1 ... u_t
    mu: PyTree
    nu: PyTree


def _keras_nadam(lr, beta_1, beta_2, epsilon) -> optax.GradientTransformation:
    # Keras's Nadam, with its momentum schedule u_t = b1 (1 - 0.5 * 0.96^t).
    def init(params):
        return _NadamState(
            jnp.zeros([], jnp.int32),
            jnp.ones([], jnp.float32),
            jax.tree.map(jnp.zeros_like, params),
            jax.tree.map(jnp.zeros_like, params),
        )

    def update(grads, state, params=None):
        count = optax.safe_increment(state.count)
        t = count.astype(jnp.float32)
        decay = jnp.float32(0.96)
        u_t = beta_1 * (1.0 - 0.5 * decay**t)
        u_t_1 = beta_1 * (1.0 - 0.5 * decay ** (t + 1))
        u_product = state.u_product * u_t
        u_product_1 = u_product * u_t_1
        beta_2_power = jnp.float32(beta_2) ** t
        mu = jax.tree.map(lambda m, g: m + (g - m) * (1 - beta_1), state.mu, grads)
        nu = jax.tree.map(lambda v, g: v + (g * g - v) * (1 - beta_2), state.nu, grads)

        def step(m, v, g):
            m_hat = _cast(u_t_1, m) * m / _cast(1 - u_product_1, m) + _cast(
                1 - u_t, g
            ) * g / _cast(1 - u_product, g)
            v_hat = v / _cast(1 - beta_2_power, v)
            return -(m_hat * _cast(lr, m)) / (jnp.sqrt(v_hat) + epsilon)

        return jax.tree.map(step, mu, nu, grads), _NadamState(count, u_product, mu, nu)

    return optax.GradientTransformation(init, update)


def _keras_clip(clipnorm, clipvalue, global_clipnorm) -> list:
    if clipvalue is not None:
        return [optax.clip(clipvalue)]
    if clipnorm is not None:
        # Keras clips each gradient tensor to norm clipnorm separately.
        def clip_each(g):
            norm = jnp.sqrt(jnp.sum(g * g))
            return g * clipnorm / jnp.maximum(norm, clipnorm)

        def update(updates, state, params=None):
            return jax.tree.map(clip_each, updates), state

        return [optax.GradientTransformation(lambda params: optax.EmptyState(), update)]
    if global_clipnorm is not None:
        return [optax.clip_by_global_norm(global_clipnorm)]
    return []


def _decoupled_weight_decay(lr, weight_decay) -> optax.GradientTransformation:
    # Keras: var -= var * weight_decay * lr, applied to every parameter before the step.
    def update(updates, state, params=None):
        if params is None:
            raise ValueError(
                f"weight_decay={weight_decay} needs the parameters: call "
                f"tx.update(grads, opt_state, params), not tx.update(grads, opt_state)."
            )
        decayed = jax.tree.map(
            lambda u, p: u - p * _cast(lr, p) * weight_decay, updates, params
        )
        return decayed, state

    return optax.GradientTransformation(lambda params: optax.EmptyState(), update)


def _build(learning_rate, spec) -> optax.GradientTransformation:
    """The inner factory given to optax.inject_hyperparams; ``spec`` is static."""
    name, items = spec
    c = dict(items)
    lr = learning_rate
    if name == "sgd":
        core = _keras_sgd(lr, c["momentum"], c["nesterov"])
    elif name == "rmsprop":
        core = _keras_rmsprop(lr, c["rho"], c["momentum"], c["epsilon"], c["centered"])
    elif name in ("adam", "adamw"):
        core = scale_by_keras_adam(lr, c["beta_1"], c["beta_2"], c["epsilon"], c["amsgrad"])
    elif name == "adagrad":
        # optax's scale_by_rss is Keras's: acc += g^2; g / sqrt(acc + eps).
        rss = optax.scale_by_rss(c["initial_accumulator_value"], c["epsilon"])
        core = optax.chain(rss, _scale_by_neg_lr(lr))
    elif name == "adadelta":
        core = optax.chain(optax.scale_by_adadelta(c["rho"], c["epsilon"]), _scale_by_neg_lr(lr))
    elif name == "adamax":
        core = _keras_adamax(lr, c["beta_1"], c["beta_2"], c["epsilon"])
    elif name == "nadam":
        core = _keras_nadam(lr, c["beta_1"], c["beta_2"], c["epsilon"])
    else:  # lion; optax's scale_by_lion is Keras's sign(b1 m + (1 - b1) g) rule.
        core = optax.chain(optax.scale_by_lion(c["beta_1"], c["beta_2"]), _scale_by_neg_lr(lr))
    parts = _keras_clip(c["clipnorm"], c["clipvalue"], c["global_clipnorm"]) + [core]
    if c["weight_decay"]:
        parts.append(_decoupled_weight_decay(lr, c["weight_decay"]))
    return optax.chain(*parts)


class _ScheduleState(NamedTuple):
    count: jax.Array  # int32: updates so far
    learning_rate: jax.Array  # float32: the rate the next update will use


class _KerasSchedule(optax_base.StatefulSchedule):
    """Wraps a schedule ``step -> lr`` so the state records the rate of the NEXT update.

    optax stores the rate of the last update in ``hyperparams``; Keras reports
    ``schedule(iterations)``, the next one, which is what :func:`get_learning_rate` returns.
    """

    def __init__(self, schedule: Schedule):
        self.schedule = schedule

    def _at(self, count):
        return _ScheduleState(count, jnp.asarray(self.schedule(count), jnp.float32))

    def init(self) -> _ScheduleState:
        return self._at(jnp.zeros([], jnp.int32))

    def update(self, state: _ScheduleState, **extra_args) -> _ScheduleState:
        return self._at(optax.safe_increment(state.count))

    def __call__(self, state: _ScheduleState, **extra_args) -> jax.Array:
        return state.learning_rate


def _is_number(x) -> bool:
    return not isinstance(x, bool) and isinstance(x, (int, float, np.integer, np.floating))


def _check_config(name: str, config: dict) -> dict:
    class_name = _DEFAULTS[name][0]
    out = {}
    for key, value in config.items():
        if key == "learning_rate" and callable(value):
            out[key] = value
            continue
        if key in _BOOLS:
            if not isinstance(value, (bool, np.bool_)):
                raise TypeError(
                    f"{class_name}: {key} must be True or False; got {value!r}."
                )
            out[key] = bool(value)
            continue
        if value is None and key in _COMMON and not (name == "adamw" and key == "weight_decay"):
            out[key] = None
            continue
        if not _is_number(value):
            what = "a float or a schedule (a callable step -> rate)"
            expected = what if key == "learning_rate" else "a float"
            raise TypeError(
                f"{class_name}: {key} must be {expected}; got {value!r} of type "
                f"{type(value).__name__}."
            )
        value = float(value)
        if key in _UNIT and not 0.0 <= value <= 1.0:
            raise ValueError(f"{class_name}: {key} must be in [0, 1]; got {key}={value}.")
        if not value >= 0.0:
            raise ValueError(f"{class_name}: {key} must be non-negative; got {key}={value}.")
        out[key] = value
    given = [k for k in ("clipnorm", "clipvalue", "global_clipnorm") if out[k] is not None]
    if len(given) > 1:
        raise ValueError(
            f"{class_name}: pass at most one of clipnorm, clipvalue and global_clipnorm; got "
            f"{', '.join(f'{k}={out[k]}' for k in given)}."
        )
    return out


def get(identifier: str | dict | optax.GradientTransformation = "rmsprop", **overrides):
    """Returns an optax optimizer for a Keras name, a serialized dict, or a transform.

    Named optimizers (case-insensitive; Keras class names such as ``"RMSprop"`` work too)
    and their Keras defaults, which ``overrides`` may change by Keras argument name:

    * ``sgd``: learning_rate=0.01, momentum=0.0, nesterov=False
    * ``rmsprop``: learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False
    * ``adam``: learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False
    * ``adamw``: as adam, plus weight_decay=0.004
    * ``adagrad``: learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7
    * ``adadelta``: learning_rate=0.001, rho=0.95, epsilon=1e-7
    * ``adamax``, ``nadam``: learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7
    * ``lion``: learning_rate=0.001, beta_1=0.9, beta_2=0.99

    Every one also takes Keras's ``weight_decay`` (decoupled: ``var -= lr * wd * var``, which
    needs ``params`` passed to ``update``), ``clipnorm`` (per tensor), ``clipvalue`` and
    ``global_clipnorm``, all None by default. ``learning_rate`` may be a float or a schedule
    (a callable ``step -> rate``, e.g. an optax schedule). The update formulas are Keras 3's.

    Args:
        identifier: an optimizer name; a dict ``{"name": ..., "config": {...}}`` from
            :func:`serialize`; or any ``optax.GradientTransformation``, returned unchanged.
        **overrides: Keras arguments of the named optimizer.

    Returns:
        An :class:`Optimizer` (an ``optax.GradientTransformationExtraArgs``) whose state keeps
        the learning rate in ``opt_state.hyperparams["learning_rate"]``; or the transform
        given.

    Raises:
        ValueError: for an unknown name, or an out-of-range value.
        TypeError: for an argument the optimizer lacks, a value of the wrong type, overrides
            given with a transform, or an identifier of another type.

    Example:
        >>> tx = get("Adam", learning_rate=0.01)
        >>> tx
        Adam(learning_rate=0.01, beta_1=0.9, beta_2=0.999, epsilon=1e-07, amsgrad=False,
             weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None)
        >>> sgd = optax.sgd(0.1)
        >>> get(sgd) is sgd
        True
    """
    if isinstance(identifier, optax.GradientTransformation):
        if overrides:
            raise TypeError(
                f"get() received an optax transform together with overrides "
                f"{sorted(overrides)}; overrides apply only to optimizer names. Configure the "
                f"transform itself, e.g. optax.adam(learning_rate=...)."
            )
        return identifier
    if isinstance(identifier, dict):
        if set(identifier) != {"name", "config"} or not isinstance(identifier["config"], dict):
            raise TypeError(
                f"A serialized optimizer is a dict {{'name': str, 'config': dict}}; got "
                f"{identifier!r}. Use the output of fnnet.optimizers.serialize."
            )
        return get(identifier["name"], **{**identifier["config"], **overrides})
    if not isinstance(identifier, str):
        raise TypeError(
            f"optimizer must be a name such as 'rmsprop', a serialized dict or an "
            f"optax.GradientTransformation; got {identifier!r} of type "
            f"{type(identifier).__name__}."
        )
    name = identifier.lower()
    if name not in _DEFAULTS:
        raise unknown_name("optimizer", identifier, _DEFAULTS, argument="optimizer")
    class_name, defaults = _DEFAULTS[name]
    defaults = {**defaults, **{k: v for k, v in _COMMON.items() if k not in defaults}}
    unknown = sorted(set(overrides) - set(defaults))
    if unknown:
        raise TypeError(
            f"{class_name} got unexpected argument(s) {unknown}. It accepts "
            f"{', '.join(defaults)}."
        )
    config = _check_config(name, {**defaults, **overrides})
    lr = config["learning_rate"]
    lr = _KerasSchedule(lr) if callable(lr) else lr
    spec = (name, tuple((k, v) for k, v in config.items() if k != "learning_rate"))
    tx = optax.inject_hyperparams(_build, static_args="spec", hyperparam_dtype=jnp.float32)(
        learning_rate=lr, spec=spec
    )
    return Optimizer(tx.init, tx.update, name=name, config=config)


def serialize(tx: optax.GradientTransformation, opt_state: PyTree = None) -> dict | None:
    """A JSON-able ``{"name": ..., "config": {...}}`` for an optimizer built by :func:`get`.

    Args:
        tx: the optimizer.
        opt_state: optionally, its current state; the saved ``learning_rate`` is then the
            current one (e.g. after a ReduceLROnPlateau callback lowered it).

    Returns:
        The dict, which :func:`get` accepts back; or None for a transform not built from a
        name, or one whose learning rate is a schedule (a function cannot go into JSON).

    Example:
        >>> serialize(get("sgd", learning_rate=0.1))
        {'name': 'sgd', 'config': {'learning_rate': 0.1, 'momentum': 0.0, 'nesterov': False,
         'weight_decay': None, 'clipnorm': None, 'clipvalue': None, 'global_clipnorm': None}}
        >>> serialize(optax.sgd(0.1)) is None
        True
    """
    if not isinstance(tx, Optimizer) or callable(tx.config["learning_rate"]):
        return None
    config = dict(tx.config)
    if opt_state is not None:
        config["learning_rate"] = get_learning_rate(opt_state)
    return {"name": tx.name, "config": config}


def _lr_states(state: PyTree, path=()) -> list:
    """(path, state) for each inject_hyperparams state holding a learning_rate."""
    hyperparams = getattr(state, "hyperparams", None)
    if isinstance(hyperparams, dict) and "learning_rate" in hyperparams:
        return [(path, state)]
    if isinstance(state, (tuple, list)):
        children = enumerate(state)
    elif isinstance(state, dict):
        children = state.items()
    else:
        return []
    return [found for k, child in children for found in _lr_states(child, path + (k,))]


def _one_lr_state(opt_state: PyTree, where: str):
    found = _lr_states(opt_state)
    if len(found) > 1:
        raise ValueError(
            f"{where}: the optimizer state holds {len(found)} injected learning rates (at "
            f"paths {[p for p, _ in found]}), so which one to use is ambiguous. Apply "
            f"{where} to the sub-state you mean."
        )
    return found[0] if found else (None, None)


def _is_schedule(state) -> bool:
    return "learning_rate" in getattr(state, "hyperparams_states", {})


def get_learning_rate(opt_state: PyTree) -> float | jax.Array | None:
    """The learning rate the next update will use, or None if the state has none.

    Works on the state of any optimizer built with ``optax.inject_hyperparams`` (as all
    named optimizers from :func:`get` are). For a schedule it is ``schedule(step)``. Under
    ``jax.jit`` (a traced state) it returns the traced scalar instead of a float.

    Example:
        >>> tx = get("sgd", learning_rate=optax.linear_schedule(1.0, 0.0, 10))
        >>> state = tx.init(jnp.zeros(2))
        >>> _, state = tx.update(jnp.ones(2), state)
        >>> get_learning_rate(state)
        0.9
    """
    _, state = _one_lr_state(opt_state, "get_learning_rate")
    if state is None:
        return None
    value = state.hyperparams["learning_rate"]
    if _is_schedule(state):
        value = getattr(state.hyperparams_states["learning_rate"], "learning_rate", value)
    if isinstance(value, jax.core.Tracer):
        return value
    return float(value)


def _replace_at(tree, path, new):
    if not path:
        return new
    k, rest = path[0], path[1:]
    if isinstance(tree, dict):
        return {**tree, k: _replace_at(tree[k], rest, new)}
    children = [(_replace_at(c, rest, new) if i == k else c) for i, c in enumerate(tree)]
    if isinstance(tree, list):
        return children
    return type(tree)(*children) if hasattr(tree, "_fields") else tuple(children)


def set_learning_rate(opt_state: PyTree, value: float | jax.Array) -> PyTree:
    """Returns ``opt_state`` with a new learning rate; pure, and free of recompilation.

    The new rate keeps the old one's dtype (float32) and shape, so the returned state has
    the same tree structure and avals and a jitted train step does not retrace. Works on the
    host or inside ``jax.jit``.

    Args:
        opt_state: the state of an optimizer from :func:`get` (or any state holding an
            ``optax.inject_hyperparams`` learning rate).
        value: the new rate, a non-negative scalar.

    Returns:
        The new state; ``opt_state`` is unchanged.

    Raises:
        ValueError: if the state has no injectable learning rate, a schedule controls it, or
            ``value`` is not a non-negative scalar.

    Example:
        >>> tx = get("rmsprop")
        >>> state = set_learning_rate(tx.init({"w": jnp.zeros(2)}), 1e-4)
        >>> state.hyperparams["learning_rate"]
        Array(1.e-04, dtype=float32)
    """
    path, state = _one_lr_state(opt_state, "set_learning_rate")
    if state is None:
        raise ValueError(
            f"set_learning_rate: this optimizer state has no injectable learning rate (got a "
            f"state of type {type(opt_state).__name__}). Build the optimizer with "
            f"fnnet.optimizers.get('adam', learning_rate=...) or wrap it in "
            f"optax.inject_hyperparams."
        )
    if _is_schedule(state):
        raise ValueError(
            "set_learning_rate: the learning rate of this optimizer is controlled by a "
            "schedule, so it cannot be set. Build the optimizer with a float learning_rate "
            "to change it by hand."
        )
    old = state.hyperparams["learning_rate"]
    if not isinstance(value, jax.core.Tracer):
        arr = np.asarray(value)
        if arr.shape != () or not np.isrealobj(arr) or not (np.isfinite(arr) and arr >= 0):
            raise ValueError(
                f"set_learning_rate: value must be a finite non-negative scalar; got "
                f"{value!r}."
            )
    new_lr = jnp.asarray(value, dtype=jnp.result_type(old)).reshape(jnp.shape(old))
    new = state._replace(hyperparams={**state.hyperparams, "learning_rate": new_lr})
    return _replace_at(opt_state, path, new)


def names() -> list[str]:
    """The optimizer names :func:`get` knows (temporary until the optimizers package lands)."""
    return sorted(_DEFAULTS)


def freeze(tx, trainable):
    """Temporary: multi_transform with set_to_zero for frozen params."""
    def labels(params):
        mask = trainable(params) if callable(trainable) else trainable
        return jax.tree.map(lambda t: "train" if t else "freeze", mask)

    return optax.multi_transform({"train": tx, "freeze": optax.set_to_zero()}, labels)
