"""Keras 3's optimizer classes, with Keras's arguments and defaults, as optax transformations.

Each class is called like Keras's (``RMSprop(learning_rate=1e-3, rho=0.9)``) and returns an
:class:`~fnnet.optimizers.Optimizer`: a ``(init, update)`` pair for optax. Every one also
takes Keras's common keyword arguments (see :class:`~fnnet.optimizers.Optimizer`):
``weight_decay``, ``clipnorm``, ``clipvalue``, ``global_clipnorm`` and
``gradient_accumulation_steps``. The 1st edition's ``lr=`` still works, with a
``DeprecationWarning``.

Each keeps ``opt_state.hyperparams["learning_rate"]`` (a float32 scalar) and the slot buffers
listed in its docstring, one per param with the param's shape and dtype.

Example:
    >>> import jax.numpy as jnp
    >>> tx = RMSprop(learning_rate=0.01)
    >>> params = {"w": jnp.ones(3)}
    >>> state = tx.init(params)
    >>> updates, state = tx.update({"w": jnp.ones(3)}, state, params)
    >>> updates["w"]  # lr * g / sqrt((1 - rho) * g**2 + eps)
    Array([-0.0316, -0.0316, -0.0316], dtype=float32)
"""

from __future__ import annotations

from fnnet.optimizers import _checks, rules
from fnnet.optimizers._checks import NON_NEGATIVE, UNIT, Interval
from fnnet.optimizers.base import Optimizer, in_range

__all__ = ["SGD", "RMSprop", "Adam", "AdamW", "Adagrad", "Adadelta", "Adamax", "Nadam", "Lion"]

_BOOL = _checks.boolean
_EPSILON = (1e-7, in_range(NON_NEGATIVE))
_NAN_AT_ONE = "at 1 the bias correction 1 - {}**t is 0 and every update NaN"
_BETA_1_BELOW_ONE = in_range(Interval(0.0, 1.0, high_open=True, why=_NAN_AT_ONE.format("beta_1")))


class SGD(Optimizer):
    """Gradient descent with optional (Nesterov) momentum, as Keras's ``SGD``.

    For each param ``w`` with gradient ``g``::

        velocity = momentum * velocity - learning_rate * g
        w = w + velocity        # Nesterov: w + momentum * velocity - learning_rate * g

    and plain ``w = w - learning_rate * g`` when ``momentum`` is 0.

    Args:
        learning_rate: a float >= 0 or a schedule ``step -> rate``. Defaults to 0.01.
        momentum: in [0, 1]. Defaults to 0.0.
        nesterov: use Nesterov momentum. Defaults to False.
        weight_decay, clipnorm, clipvalue, global_clipnorm, gradient_accumulation_steps:
            keyword-only; see :class:`~fnnet.optimizers.Optimizer`.

    State: with momentum, ``velocity`` shaped like each param; else none.

    Example:
        >>> import jax.numpy as jnp
        >>> tx = SGD(learning_rate=0.1, momentum=0.9)
        >>> state = tx.init(jnp.zeros(2))
        >>> for _ in range(2):
        ...     updates, state = tx.update(jnp.ones(2), state, jnp.zeros(2))
        >>> updates  # 0.9 * -0.1 - 0.1
        Array([-0.19, -0.19], dtype=float32)
    """

    arguments = {"learning_rate": (0.01, None), "momentum": (0.0, in_range(UNIT)),
                 "nesterov": (False, _BOOL)}

    @staticmethod
    def rule(lr, c):
        return rules.scale_by_keras_sgd(lr, c["momentum"], c["nesterov"])


class RMSprop(Optimizer):
    """RMSprop, as Keras's ``RMSprop``: divide the gradient by a moving RMS of gradients.

    ::

        v = rho * v + (1 - rho) * g**2
        w = w - learning_rate * g / sqrt(v + epsilon)

    Centered, ``v - a**2`` replaces ``v`` (``a`` the moving average of ``g``). With momentum
    the increments accumulate: ``m = momentum * m + increment; w = w - m``.

    Args:
        learning_rate: a float >= 0 or a schedule. Defaults to 0.001.
        rho: decay of the moving averages, in [0, 1]. Defaults to 0.9.
        momentum: in [0, 1]. Defaults to 0.0.
        epsilon: >= 0, added inside the square root. Defaults to 1e-7.
        centered: normalize by the estimated variance. Defaults to False.
        weight_decay, clipnorm, clipvalue, global_clipnorm, gradient_accumulation_steps:
            keyword-only; see :class:`~fnnet.optimizers.Optimizer`.

    State: ``velocity``; ``average_gradient`` if centered; ``momentum`` if momentum > 0.

    Example:
        >>> import jax.numpy as jnp
        >>> import warnings
        >>> with warnings.catch_warnings(record=True) as caught:  # the 1st edition's spelling
        ...     warnings.simplefilter("always")
        ...     tx = RMSprop(lr=0.1, centered=True)
        >>> tx.learning_rate, caught[0].category.__name__
        (0.1, 'DeprecationWarning')
        >>> tx.update(jnp.ones(2), tx.init(jnp.zeros(2)), jnp.zeros(2))[0]
        Array([-0.3333, -0.3333], dtype=float32)
    """

    arguments = {"learning_rate": (1e-3, None), "rho": (0.9, in_range(UNIT)),
                 "momentum": (0.0, in_range(UNIT)), "epsilon": _EPSILON, "centered": (False, _BOOL)}

    @staticmethod
    def rule(lr, c):
        return rules.scale_by_keras_rmsprop(lr, c["rho"], c["momentum"], c["epsilon"],
                                            c["centered"])


_ADAM = {"beta_1": (0.9, _BETA_1_BELOW_ONE), "beta_2": (0.999, in_range(UNIT)),
         "epsilon": _EPSILON, "amsgrad": (False, _BOOL)}


def _adam_rule(lr, c):
    return rules.scale_by_keras_adam(lr, c["beta_1"], c["beta_2"], c["epsilon"], c["amsgrad"])


class Adam(Optimizer):
    """Adam, as Keras's ``Adam`` (epsilon added to the *uncorrected* ``sqrt(v)``).

    With ``t`` the 1-based step::

        m = m + (g - m) * (1 - beta_1);   v = v + (g**2 - v) * (1 - beta_2)
        w = w - lr * sqrt(1 - beta_2**t) / (1 - beta_1**t) * m / (sqrt(v) + epsilon)

    Args:
        learning_rate: a float >= 0 or a schedule. Defaults to 0.001.
        beta_1: first-moment decay, in [0, 1). Defaults to 0.9.
        beta_2: second-moment decay, in [0, 1]. Defaults to 0.999.
        epsilon: >= 0. Defaults to 1e-7.
        amsgrad: divide by the running maximum of ``v``. Defaults to False.
        weight_decay, clipnorm, clipvalue, global_clipnorm, gradient_accumulation_steps:
            keyword-only; see :class:`~fnnet.optimizers.Optimizer`.

    State: the step ``count``; ``mu`` and ``nu`` (and ``nu_max`` with amsgrad) like params.

    Example:
        >>> import jax.numpy as jnp
        >>> tx = Adam(learning_rate=0.1)
        >>> tx.update(jnp.array([1.0, -3.0]), tx.init(jnp.zeros(2)), jnp.zeros(2))[0]
        Array([-0.1,  0.1], dtype=float32)
    """

    arguments = {"learning_rate": (1e-3, None), **_ADAM}
    rule = staticmethod(_adam_rule)


class AdamW(Optimizer):
    """Adam with decoupled weight decay, as Keras's ``AdamW``: ``w -= w * weight_decay * lr``
    before each Adam step (so ``update`` needs ``params``).

    Args:
        learning_rate: a float >= 0 or a schedule. Defaults to 0.001.
        weight_decay: >= 0 (not None). Defaults to 0.004.
        beta_1, beta_2, epsilon, amsgrad: as :class:`Adam`.
        clipnorm, clipvalue, global_clipnorm, gradient_accumulation_steps: keyword-only; see
            :class:`~fnnet.optimizers.Optimizer`.

    State: as :class:`Adam`.

    Example:
        >>> import jax.numpy as jnp
        >>> tx = AdamW(learning_rate=0.1, weight_decay=0.5)
        >>> params = jnp.array([2.0])
        >>> tx.update(jnp.array([1.0]), tx.init(params), params)[0]  # -0.1 - 2 * 0.5 * 0.1
        Array([-0.2], dtype=float32)
    """

    arguments = {"learning_rate": (1e-3, None), "weight_decay": (0.004, in_range(NON_NEGATIVE)),
                 **_ADAM}
    rule = staticmethod(_adam_rule)


class Adagrad(Optimizer):
    """Adagrad, as Keras's ``Adagrad``: ``acc = acc + g**2; w = w - lr g / sqrt(acc + eps)``.

    Args:
        learning_rate: a float >= 0 or a schedule. Defaults to 0.001.
        initial_accumulator_value: >= 0, the starting ``acc``. Defaults to 0.1.
        epsilon: >= 0. Defaults to 1e-7.
        weight_decay, clipnorm, clipvalue, global_clipnorm, gradient_accumulation_steps:
            keyword-only; see :class:`~fnnet.optimizers.Optimizer`.

    State: ``accumulator`` like each param.

    Example:
        >>> import jax.numpy as jnp
        >>> tx = Adagrad(learning_rate=1.0, initial_accumulator_value=0.0, epsilon=0.0)
        >>> tx.update(jnp.array([3.0]), tx.init(jnp.zeros(1)), jnp.zeros(1))[0]
        Array([-1.], dtype=float32)
    """

    arguments = {"learning_rate": (1e-3, None),
                 "initial_accumulator_value": (0.1, in_range(NON_NEGATIVE)), "epsilon": _EPSILON}

    @staticmethod
    def rule(lr, c):
        return rules.scale_by_keras_adagrad(lr, c["initial_accumulator_value"], c["epsilon"])


class Adadelta(Optimizer):
    """Adadelta, as Keras's ``Adadelta`` (with a learning rate; 1.0 is the paper's form).

    ::

        ag = rho * ag + (1 - rho) * g**2
        delta = -sqrt(ad + epsilon) * g / sqrt(ag + epsilon)
        ad = rho * ad + (1 - rho) * delta**2
        w = w + learning_rate * delta

    Args:
        learning_rate: a float >= 0 or a schedule. Defaults to 0.001.
        rho: decay rate, in [0, 1]. Defaults to 0.95.
        epsilon: >= 0. Defaults to 1e-7.
        weight_decay, clipnorm, clipvalue, global_clipnorm, gradient_accumulation_steps:
            keyword-only; see :class:`~fnnet.optimizers.Optimizer`.

    State: ``accumulated_grad`` and ``accumulated_delta_var`` like each param.

    Example:
        >>> import jax.numpy as jnp
        >>> tx = Adadelta(learning_rate=1.0, rho=0.0, epsilon=1.0)
        >>> tx.update(jnp.array([1.0]), tx.init(jnp.zeros(1)), jnp.zeros(1))[0]
        Array([-0.7071], dtype=float32)
    """

    arguments = {"learning_rate": (1e-3, None), "rho": (0.95, in_range(UNIT)),
                 "epsilon": _EPSILON}

    @staticmethod
    def rule(lr, c):
        return rules.scale_by_keras_adadelta(lr, c["rho"], c["epsilon"])


class Adamax(Optimizer):
    """Adamax (Adam with the infinity norm), as Keras's ``Adamax``.

    ::

        m = m + (g - m) * (1 - beta_1);   u = max(beta_2 * u, |g|)
        w = w - learning_rate * m / ((1 - beta_1**t) * (u + epsilon))

    Args:
        learning_rate: a float >= 0 or a schedule. Defaults to 0.001.
        beta_1: in [0, 1). Defaults to 0.9.
        beta_2: in [0, 1]. Defaults to 0.999.
        epsilon: >= 0. Defaults to 1e-7.
        weight_decay, clipnorm, clipvalue, global_clipnorm, gradient_accumulation_steps:
            keyword-only; see :class:`~fnnet.optimizers.Optimizer`.

    State: the step ``count``; ``mu`` and ``norm`` like each param.

    Example:
        >>> import jax.numpy as jnp
        >>> tx = Adamax(learning_rate=0.1)
        >>> tx.update(jnp.array([-5.0]), tx.init(jnp.zeros(1)), jnp.zeros(1))[0]
        Array([0.1], dtype=float32)
    """

    arguments = {"learning_rate": (1e-3, None), "beta_1": (0.9, _BETA_1_BELOW_ONE),
                 "beta_2": (0.999, in_range(UNIT)), "epsilon": _EPSILON}

    @staticmethod
    def rule(lr, c):
        return rules.scale_by_keras_adamax(lr, c["beta_1"], c["beta_2"], c["epsilon"])


class Nadam(Optimizer):
    """Nadam (Adam with Nesterov momentum), as Keras's ``Nadam``, with its momentum schedule
    ``u_t = beta_1 * (1 - 0.5 * 0.96**t)``.

    Args:
        learning_rate: a float >= 0 or a schedule. Defaults to 0.001.
        beta_1: in [0, 1]. Defaults to 0.9.
        beta_2: in [0, 1). Defaults to 0.999.
        epsilon: >= 0. Defaults to 1e-7.
        weight_decay, clipnorm, clipvalue, global_clipnorm, gradient_accumulation_steps:
            keyword-only; see :class:`~fnnet.optimizers.Optimizer`.

    State: the step ``count``, the float32 scalar ``u_product``; ``mu``, ``nu`` like params.

    Example:
        >>> import jax.numpy as jnp
        >>> tx = Nadam(learning_rate=0.5)  # Keras's own single-step test
        >>> params = jnp.array([1.0, 2.0, 3.0, 4.0])
        >>> new = params + tx.update(jnp.array([1.0, 6.0, 7.0, 2.0]), tx.init(params), params)[0]
        >>> [round(float(x), 4) for x in new]
        [0.4686, 1.4686, 2.4686, 3.4686]
    """

    arguments = {
        "learning_rate": (1e-3, None), "beta_1": (0.9, in_range(UNIT)),
        "beta_2": (0.999, in_range(Interval(0.0, 1.0, high_open=True,
                                             why=_NAN_AT_ONE.format("beta_2")))),
        "epsilon": _EPSILON}

    @staticmethod
    def rule(lr, c):
        return rules.scale_by_keras_nadam(lr, c["beta_1"], c["beta_2"], c["epsilon"])


class Lion(Optimizer):
    """Lion (sign of an interpolated momentum), as Keras's ``Lion``.

    ::

        w = w - learning_rate * sign(beta_1 * m + (1 - beta_1) * g)
        m = beta_2 * m + (1 - beta_2) * g

    Args:
        learning_rate: a float >= 0 or a schedule; typically 3-10x smaller than AdamW's.
            Defaults to 0.001.
        beta_1: in (0, 1]. Defaults to 0.9.
        beta_2: in [0, 1]. Defaults to 0.99.
        weight_decay, clipnorm, clipvalue, global_clipnorm, gradient_accumulation_steps:
            keyword-only; see :class:`~fnnet.optimizers.Optimizer`.

    State: ``momentum`` like each param.

    Example:
        >>> import jax.numpy as jnp
        >>> tx = Lion(learning_rate=0.1)
        >>> tx.update(jnp.array([2.0, -0.1]), tx.init(jnp.zeros(2)), jnp.zeros(2))[0]
        Array([-0.1,  0.1], dtype=float32)
    """

    arguments = {
        "learning_rate": (1e-3, None),
        "beta_1": (0.9, in_range(Interval(0.0, 1.0, low_open=True,
                                          why="as in Keras: at 0 Lion degenerates to SignSGD"))),
        "beta_2": (0.99, in_range(UNIT))}

    @staticmethod
    def rule(lr, c):
        return rules.scale_by_keras_lion(lr, c["beta_1"], c["beta_2"])
