"""The :class:`Optimizer` base: Keras's base-optimizer behaviour around an update rule.

Keras's ``BaseOptimizer`` does, in order, for every step: accumulate gradients (when
``gradient_accumulation_steps`` is set), clip them, decay the weights, and apply the
optimizer's own rule with the current learning rate. :func:`keras_transform` builds that as
one optax transformation whose learning rate is an injected hyper-parameter, a float32 scalar
in ``opt_state.hyperparams["learning_rate"]`` that can be changed between steps without
recompiling (see :mod:`fnnet.optimizers.learning_rate`).

Example:
    >>> import jax.numpy as jnp
    >>> from fnnet.optimizers import rules
    >>> tx = keras_transform(rules.scale_by_keras_sgd, 0.1, clipvalue=1.0)
    >>> state = tx.init(jnp.zeros(2))
    >>> tx.update(jnp.array([5.0, 0.5]), state, jnp.zeros(2))[0]
    Array([-0.1 , -0.05], dtype=float32)
    >>> state.hyperparams["learning_rate"]
    Array(0.1, dtype=float32)
"""

from __future__ import annotations

import inspect
import os
import sys
import warnings
from collections.abc import Callable
from typing import Any, ClassVar, NamedTuple

import jax
import jax.numpy as jnp
import optax

from fnnet.optimizers import _checks, rules

Rule = Callable[[Any], optax.GradientTransformation]
Check = Callable[[str, str, Any], Any]


class _NextRateState(NamedTuple):
    count: jax.Array  # int32: updates so far
    learning_rate: jax.Array  # float32: the rate the NEXT update will use


class _NextRate(optax.schedules.StatefulSchedule):
    """A schedule ``step -> rate`` whose state records the rate of the NEXT update.

    optax's ``hyperparams`` hold the rate of the last update; Keras reports
    ``schedule(iterations)``, the next one, which is what ``get_learning_rate`` returns. With
    gradient accumulation Keras evaluates the schedule at the mini-step count, so update
    ``k`` (0-based) uses ``schedule((k + 1) * every - 1)``.
    """

    def __init__(self, schedule: Callable, every: int = 1):
        self.schedule = schedule
        self.every = every

    def _at(self, count: jax.Array) -> _NextRateState:
        step = count * self.every + (self.every - 1)
        return _NextRateState(count, jnp.asarray(self.schedule(step), jnp.float32))

    def init(self) -> _NextRateState:
        return self._at(jnp.zeros([], jnp.int32))

    def update(self, state: _NextRateState, **extra_args) -> _NextRateState:
        return self._at(optax.safe_increment(state.count))

    def __call__(self, state: _NextRateState, **extra_args) -> jax.Array:
        # A copy: optax stores this value in `hyperparams` next to the state it comes from,
        # and two leaves sharing one buffer make a donating jitted step fail.
        return jnp.copy(state.learning_rate)


def _average_over(steps: int) -> optax.GradientTransformation:
    def update(updates, state, params=None):
        return jax.tree.map(lambda g: g / steps, updates), state  # Keras divides, in g's dtype

    return optax.GradientTransformation(lambda params: optax.EmptyState(), update)


def _chain(learning_rate, rule: Rule, common: tuple) -> optax.GradientTransformation:
    """The factory ``optax.inject_hyperparams`` calls with the current rate."""
    weight_decay, clipnorm, clipvalue, global_clipnorm, steps = common
    parts = [_average_over(steps)] if steps else []
    if clipnorm is not None:
        parts.append(rules.keras_clip_by_norm(clipnorm))
    if global_clipnorm is not None:
        parts.append(rules.keras_clip_by_global_norm(global_clipnorm))
    if clipvalue is not None:
        parts.append(rules.keras_clip_by_value(clipvalue))
    parts.append(rule(learning_rate))
    if weight_decay:  # Keras also "decays" by 0, which leaves every weight as it is
        parts.append(rules.keras_decoupled_weight_decay(learning_rate, weight_decay))
    return optax.chain(*parts)


def keras_transform(
    rule: Rule,
    learning_rate: float | Callable = 1e-3,
    *,
    weight_decay: float | None = None,
    clipnorm: float | None = None,
    clipvalue: float | None = None,
    global_clipnorm: float | None = None,
    gradient_accumulation_steps: int | None = None,
) -> optax.GradientTransformationExtraArgs:
    """Wraps an update rule in Keras's base-optimizer steps, with an injectable learning rate.

    Arguments are not checked here; the :class:`Optimizer` classes check them.

    Args:
        rule: ``learning_rate -> optax transform`` returning the update itself, e.g.
            ``functools.partial(rules.scale_by_keras_adam, beta_1=0.8)``.
        learning_rate: a float, or a schedule ``step -> rate`` (evaluated at Keras's
            ``iterations``, the number of updates so far, or of mini-steps when accumulating).
        weight_decay: decoupled decay ``p -= p * weight_decay * lr`` before the rule's step;
            ``update`` then needs ``params``.
        clipnorm: clip each gradient tensor to this L2 norm.
        clipvalue: clip each gradient entry to ``[-clipvalue, clipvalue]``.
        global_clipnorm: clip all gradients together to this global L2 norm.
        gradient_accumulation_steps: apply the mean gradient of this many calls once, with
            ``optax.MultiSteps`` (zero updates in between), as Keras does.

    Returns:
        The transformation; its state is ``optax.inject_hyperparams``'s (inside an
        ``optax.MultiStepsState`` when accumulating).
    """
    steps = gradient_accumulation_steps
    if callable(learning_rate):
        learning_rate = _NextRate(learning_rate, every=steps or 1)
    common = (weight_decay, clipnorm, clipvalue, global_clipnorm, steps)
    tx = optax.inject_hyperparams(_chain, static_args=("rule", "common"),
                                  hyperparam_dtype=jnp.float32)(
        learning_rate=learning_rate, rule=rule, common=common)
    if not steps:
        return tx
    # Keras sums the gradients and divides the sum once (`_average_over`, inside the rate's
    # chain); optax's default running mean rounds differently.
    multi = optax.MultiSteps(tx, steps, use_grad_mean=False)

    def update(updates, state, params=None, **extra_args):
        # MultiSteps multiplies a bool by an int, which strict dtype promotion refuses.
        with jax.numpy_dtype_promotion("standard"):
            return multi.update(updates, state, params, **extra_args)

    return optax.GradientTransformationExtraArgs(multi.init, update)


# --- argument checks shared by every optimizer class ---------------------------------------


def in_range(interval: _checks.Interval) -> Check:
    """A check that a hyper-parameter is a finite float in ``interval``."""
    return lambda owner, key, value: _checks.number(owner, key, value, interval)


def _learning_rate(owner: str, key: str, value: Any):
    if callable(value):
        return value
    return _checks.number(owner, key, value, _checks.NON_NEGATIVE,
                          expected="a float or a schedule (a callable step -> rate)")


def _clip(owner: str, key: str, value: Any):
    interval = _checks.Interval(0.0, low_open=True, why="pass None to turn clipping off")
    return _checks.optional_number(owner, key, value, interval)


COMMON: dict[str, tuple[Any, Check]] = {
    "weight_decay": (None, lambda o, k, v: _checks.optional_number(o, k, v, _checks.NON_NEGATIVE)),
    "clipnorm": (None, _clip),
    "clipvalue": (None, _clip),
    "global_clipnorm": (None, _clip),
    "gradient_accumulation_steps": (
        None, lambda o, k, v: _checks.integer(o, k, v, 2, optional=True)),
}


def _rebuild(cls: type, config: dict) -> Optimizer:
    return cls(**config)


class Optimizer(optax.GradientTransformationExtraArgs):
    """A Keras optimizer: an optax ``GradientTransformationExtraArgs`` plus its Keras config.

    The subclasses (:class:`~fnnet.optimizers.Adam`, ...) are called with Keras's arguments;
    ``init`` and ``update`` are all that unpacking, ``==`` and optax see, while ``name``,
    ``config`` (every argument, defaults filled in) and ``learning_rate`` describe it.

    Every subclass also takes Keras's common arguments, keyword-only and None by default:

    * ``weight_decay``: >= 0; decoupled decay ``w -= w * weight_decay * learning_rate`` before
      each step, as Keras's (``update`` then needs ``params``).
    * ``clipnorm``: > 0; clip each gradient tensor to this L2 norm.
    * ``clipvalue``: > 0; clip each gradient entry to ``[-clipvalue, clipvalue]``.
    * ``global_clipnorm``: > 0; clip all gradients together to this global L2 norm. At most
      one of the three clipping arguments may be set.
    * ``gradient_accumulation_steps``: an int >= 2; sum the gradients of this many calls and
      apply their mean once (with ``optax.MultiSteps``; the calls in between return zero
      updates). A schedule then sees the number of calls, as in Keras.

    ``lr=``, the 1st edition's name of ``learning_rate``, is accepted with a
    ``DeprecationWarning``. The state keeps the learning rate in
    ``opt_state.hyperparams["learning_rate"]`` (a float32 scalar; inside
    ``opt_state.inner_opt_state`` when accumulating).

    Example:
        >>> from fnnet import optimizers
        >>> tx = optimizers.SGD(momentum=0.9)
        >>> tx.name, tx.config["momentum"], tx.learning_rate
        ('sgd', 0.9, 0.01)
        >>> init_fn, update_fn = tx
        >>> isinstance(tx, optimizers.Optimizer)
        True
    """

    name: str
    config: dict
    # The subclass's own arguments, in Keras's order: name -> (Keras default, check).
    arguments: ClassVar[dict[str, tuple[Any, Check]]] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        own = [inspect.Parameter(k, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=d)
               for k, (d, _) in cls.arguments.items()]
        common = [inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY, default=d)
                  for k, (d, _) in COMMON.items() if k not in cls.arguments]
        cls.__signature__ = inspect.Signature(own + common)

    @staticmethod
    def rule(learning_rate, config: dict) -> optax.GradientTransformation:
        """The optimizer's own update rule for a config (every subclass defines it)."""
        raise NotImplementedError(
            "An Optimizer subclass must define rule(learning_rate, config), a staticmethod "
            "returning its optax update rule, e.g. rules.scale_by_keras_adam(learning_rate).")

    def __new__(cls, *args, **kwargs):
        if cls is Optimizer:
            raise TypeError(
                "Optimizer is the base class; build a concrete optimizer such as "
                "fnnet.optimizers.Adam(learning_rate=1e-3) or fnnet.optimizers.get('adam')."
            )
        config = _bind(cls, args, kwargs)
        common = {k: config[k] for k in COMMON}
        tx = keras_transform(lambda lr: cls.rule(lr, config), config["learning_rate"], **common)
        self = super().__new__(cls, tx.init, tx.update)
        self.name = cls.__name__.lower()
        self.config = config
        return self

    @property
    def learning_rate(self) -> float | Callable:
        """The configured learning rate: a float or a schedule (the current rate lives in the
        optimizer state: :func:`~fnnet.optimizers.get_learning_rate`)."""
        return self.config["learning_rate"]

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config.items())
        return f"{type(self).__name__}({args})"

    def __reduce__(self):
        return _rebuild, (type(self), self.config)


def _user_frame() -> int:
    """The ``stacklevel`` of the first caller outside this package (a class or ``get``)."""
    package, level = os.path.dirname(__file__) + os.sep, 2
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_filename.startswith(package):
        frame, level = frame.f_back, level + 1
    return level


def _bind(cls: type[Optimizer], args: tuple, kwargs: dict) -> dict:
    """Keras's arguments for ``cls``, bound, defaulted and checked."""
    owner, signature = cls.__name__, cls.__signature__
    accepted = ", ".join(signature.parameters)
    unknown = sorted(set(kwargs) - set(signature.parameters) - {"lr"})
    if unknown:
        raise TypeError(f"{owner} got unexpected argument(s) {unknown}. It accepts {accepted}.")
    if "lr" in kwargs:
        lr = kwargs.pop("lr")
        if "learning_rate" in kwargs or args:
            given = kwargs.get("learning_rate", args[0] if args else None)
            raise TypeError(
                f"{owner} got both lr={lr!r} and learning_rate={given!r}; lr is the old "
                f"(Keras 2) name of learning_rate. Pass only learning_rate={lr!r}."
            )
        warnings.warn(
            f"{owner}: the argument lr is deprecated (Keras 2 name); use "
            f"learning_rate={lr!r} instead.", DeprecationWarning, stacklevel=_user_frame())
        kwargs["learning_rate"] = lr
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError as e:
        raise TypeError(f"{owner}: {e}. It accepts {accepted}.") from None
    bound.apply_defaults()
    checks = {**{k: c for k, (_, c) in COMMON.items()},
              **{k: c for k, (_, c) in cls.arguments.items()}, "learning_rate": _learning_rate}
    config = {k: checks[k](owner, k, v) for k, v in bound.arguments.items()}
    _checks.one_clip(owner, config)
    return config
