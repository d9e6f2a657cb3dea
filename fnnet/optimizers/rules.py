"""Keras 3's optimizer update rules as optax transformations, to the float32 bit.

Each ``scale_by_keras_*`` transform returns the *update* itself, learning rate included, to be
added to the params with ``optax.apply_updates``. The arithmetic is Keras's, operation for
operation and in the same order: where Keras first casts a hyper-parameter to the variable's
dtype (``ops.cast``) these cast it too, and where Keras leaves it a Python float (so
``1 - beta_1`` is computed in float64 and rounded once) these leave it a Python float. The two
differ by an ulp or so per step (``1 - float32(0.999)`` is not ``float32(1 - 0.999)``), which is
why optax's own rules are not used even where their formula is Keras's (RMSprop with
``eps_in_sqrt``, Adagrad, Adadelta, Lion): they round differently. Run the same way (both jitted
or both eager), the results are Keras's bit for bit.

``learning_rate`` may be a float or a scalar array (under ``optax.inject_hyperparams`` it is
a float32 scalar); it is cast to each leaf's dtype, as Keras casts it to the variable's. Every
state buffer has the shape and dtype of its param.

Example:
    >>> import jax.numpy as jnp
    >>> tx = scale_by_keras_sgd(0.1, momentum=0.9)
    >>> state = tx.init(jnp.zeros(2))
    >>> updates, state = tx.update(jnp.array([1.0, -1.0]), state)
    >>> updates
    Array([-0.1,  0.1], dtype=float32)
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

PyTree = Any
Rate = float | jax.Array

__all__ = [
    "scale_by_keras_sgd", "scale_by_keras_rmsprop", "scale_by_keras_adam",
    "scale_by_keras_adagrad", "scale_by_keras_adadelta", "scale_by_keras_adamax",
    "scale_by_keras_nadam", "scale_by_keras_lion", "keras_clip_by_norm",
    "keras_clip_by_global_norm", "keras_clip_by_value", "keras_decoupled_weight_decay",
    "ScaleByKerasSGDState", "ScaleByKerasRMSpropState", "ScaleByKerasAdamState",
    "ScaleByKerasAdagradState", "ScaleByKerasAdadeltaState", "ScaleByKerasAdamaxState",
    "ScaleByKerasNadamState", "ScaleByKerasLionState",
]


def _cast(x, like: jax.Array) -> jax.Array:
    """Keras's ``ops.cast(x, variable.dtype)``."""
    return jnp.asarray(x, dtype=like.dtype)


def _zeros(params: PyTree) -> PyTree:
    return jax.tree.map(jnp.zeros_like, params)


def _count() -> jax.Array:
    return jnp.zeros([], jnp.int32)


def _map(fn, n: int, *trees) -> tuple:
    """Maps ``fn`` (returning ``n`` values) over the leaves of ``trees[0]``; ``n`` trees out.

    The other trees may hold a subtree such as ``()`` where ``trees[0]`` has a leaf.
    """
    treedef = jax.tree.structure(trees[0])
    results = [fn(*xs) for xs in zip(*(treedef.flatten_up_to(t) for t in trees), strict=True)]
    return tuple(treedef.unflatten([r[i] for r in results]) for i in range(n))


def _stateless(fn) -> optax.GradientTransformation:
    def update(updates, state, params=None):
        return jax.tree.map(fn, updates), state

    return optax.GradientTransformation(lambda params: optax.EmptyState(), update)


class ScaleByKerasSGDState(NamedTuple):
    """State of :func:`scale_by_keras_sgd` with momentum: the velocity, shaped like params."""

    momentum: PyTree


def scale_by_keras_sgd(learning_rate: Rate = 0.01, momentum: float = 0.0,
                       nesterov: bool = False) -> optax.GradientTransformation:
    """Keras's SGD: ``m = momentum * m - lr * g``; the update is ``m`` (Nesterov:
    ``momentum * m - lr * g``), or ``-lr * g`` without momentum.

    The velocity holds ``lr * g``, so a rate changed mid-training acts on new gradients only.

    Example:
        >>> tx = scale_by_keras_sgd(0.5)
        >>> tx.update(jnp.array([2.0]), tx.init(jnp.zeros(1)))[0]
        Array([-1.], dtype=float32)
    """
    if momentum == 0:
        return _stateless(lambda g: -(g * _cast(learning_rate, g)))

    def init(params):
        return ScaleByKerasSGDState(_zeros(params))

    def update(grads, state, params=None):
        def leaf(m, g):
            lr, mu = _cast(learning_rate, g), _cast(momentum, g)
            m = m * mu - g * lr
            return m, (m * mu - g * lr) if nesterov else m

        m, out = _map(leaf, 2, state.momentum, grads)
        return out, ScaleByKerasSGDState(m)

    return optax.GradientTransformation(init, update)


class ScaleByKerasRMSpropState(NamedTuple):
    """State of :func:`scale_by_keras_rmsprop`; each field is shaped like params, or ()."""

    velocity: PyTree  # moving average of g**2
    average_gradient: PyTree  # moving average of g when centered, else ()
    momentum: PyTree  # accumulated increments when momentum > 0, else ()


def scale_by_keras_rmsprop(learning_rate: Rate = 1e-3, rho: float = 0.9, momentum: float = 0.0,
                           epsilon: float = 1e-7, centered: bool = False
                           ) -> optax.GradientTransformation:
    """Keras's RMSprop: ``v = rho v + (1 - rho) g**2``, increment ``lr g / sqrt(v + eps)``.

    Centered, the denominator is ``sqrt(v - a**2 + eps)`` with ``a`` the moving average of
    ``g``; with momentum, ``mom = momentum * mom + increment`` and the update is ``-mom``.

    Example:
        >>> tx = scale_by_keras_rmsprop(0.1, rho=0.0, epsilon=0.0)
        >>> tx.update(jnp.array([3.0]), tx.init(jnp.zeros(1)))[0]  # -lr * sign(g)
        Array([-0.1], dtype=float32)
    """

    def init(params):
        return ScaleByKerasRMSpropState(
            _zeros(params), _zeros(params) if centered else (),
            _zeros(params) if momentum > 0 else ())

    def update(grads, state, params=None):
        avg = state.average_gradient if centered else jax.tree.map(lambda g: (), grads)
        mom = state.momentum if momentum > 0 else jax.tree.map(lambda g: (), grads)

        def leaf(v, a, m, g):
            v = rho * v + (1 - rho) * jnp.square(g)
            if centered:
                a = rho * a + (1 - rho) * g
                denominator = v - jnp.square(a) + epsilon
            else:
                denominator = v + epsilon
            increment = (_cast(learning_rate, g) * g) / jnp.sqrt(denominator)
            if momentum > 0:
                m = momentum * m + increment
                return v, a, m, -m
            return v, a, m, -increment

        v, a, m, out = _map(leaf, 4, state.velocity, avg, mom, grads)
        return out, ScaleByKerasRMSpropState(v, a if centered else (), m if momentum > 0 else ())

    return optax.GradientTransformation(init, update)


class ScaleByKerasAdamState(NamedTuple):
    """State of :func:`scale_by_keras_adam`: step count and UNcorrected moments."""

    count: jax.Array  # int32 scalar: number of updates so far
    mu: PyTree  # first moment m, shaped like params
    nu: PyTree  # second moment v, shaped like params
    nu_max: PyTree  # running max of v when amsgrad, else ()


def scale_by_keras_adam(learning_rate: Rate = 1e-3, beta_1: float = 0.9, beta_2: float = 0.999,
                        epsilon: float = 1e-7, amsgrad: bool = False
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
        return ScaleByKerasAdamState(
            _count(), _zeros(params), _zeros(params), _zeros(params) if amsgrad else ())

    def update(grads, state, params=None):
        count = optax.safe_increment(state.count)
        nu_max = state.nu_max if amsgrad else jax.tree.map(lambda g: (), grads)

        def leaf(m, v, v_max, g):
            t = count.astype(g.dtype)
            beta_1_power = jnp.power(_cast(beta_1, g), t)
            beta_2_power = jnp.power(_cast(beta_2, g), t)
            alpha = _cast(learning_rate, g) * jnp.sqrt(1 - beta_2_power) / (1 - beta_1_power)
            m = m + (g - m) * (1 - beta_1)
            v = v + (jnp.square(g) - v) * (1 - beta_2)
            if amsgrad:
                v_max = jnp.maximum(v_max, v)
            return m, v, v_max, -((m * alpha) / (jnp.sqrt(v_max if amsgrad else v) + epsilon))

        mu, nu, nu_max, out = _map(leaf, 4, state.mu, state.nu, nu_max, grads)
        return out, ScaleByKerasAdamState(count, mu, nu, nu_max if amsgrad else ())

    return optax.GradientTransformation(init, update)


class ScaleByKerasAdagradState(NamedTuple):
    """State of :func:`scale_by_keras_adagrad`: the sum of squared gradients, like params."""

    accumulator: PyTree


def scale_by_keras_adagrad(learning_rate: Rate = 1e-3, initial_accumulator_value: float = 0.1,
                           epsilon: float = 1e-7) -> optax.GradientTransformation:
    """Keras's Adagrad: ``acc = acc + g**2``; update ``-lr g / sqrt(acc + epsilon)``.

    Example:
        >>> tx = scale_by_keras_adagrad(1.0, initial_accumulator_value=0.0, epsilon=0.0)
        >>> tx.update(jnp.array([-4.0]), tx.init(jnp.zeros(1)))[0]
        Array([1.], dtype=float32)
    """

    def init(params):
        return ScaleByKerasAdagradState(
            jax.tree.map(lambda p: jnp.full_like(p, initial_accumulator_value), params))

    def update(grads, state, params=None):
        def leaf(acc, g):
            acc = acc + jnp.square(g)
            return acc, -((_cast(learning_rate, g) * g) / jnp.sqrt(acc + epsilon))

        acc, out = _map(leaf, 2, state.accumulator, grads)
        return out, ScaleByKerasAdagradState(acc)

    return optax.GradientTransformation(init, update)


class ScaleByKerasAdadeltaState(NamedTuple):
    """State of :func:`scale_by_keras_adadelta`; both fields are shaped like params."""

    accumulated_grad: PyTree  # moving average of g**2
    accumulated_delta_var: PyTree  # moving average of delta**2


def scale_by_keras_adadelta(learning_rate: Rate = 1e-3, rho: float = 0.95, epsilon: float = 1e-7
                            ) -> optax.GradientTransformation:
    """Keras's Adadelta: ``delta = -sqrt(ad + eps) g / sqrt(ag + eps)``; update ``lr * delta``.

    ``ag`` and ``ad`` are the moving averages (decay ``rho``) of ``g**2`` and ``delta**2``.

    Example:
        >>> tx = scale_by_keras_adadelta(1.0, rho=0.0, epsilon=1.0)
        >>> tx.update(jnp.array([0.0]), tx.init(jnp.zeros(1)))[0]
        Array([-0.], dtype=float32)
    """

    def init(params):
        return ScaleByKerasAdadeltaState(_zeros(params), _zeros(params))

    def update(grads, state, params=None):
        def leaf(ag, ad, g):
            ag = rho * ag + (1 - rho) * jnp.square(g)
            delta = -((jnp.sqrt(ad + epsilon) * g) / jnp.sqrt(ag + epsilon))
            ad = rho * ad + (1 - rho) * jnp.square(delta)
            return ag, ad, _cast(learning_rate, g) * delta

        ag, ad, out = _map(leaf, 3, state.accumulated_grad, state.accumulated_delta_var, grads)
        return out, ScaleByKerasAdadeltaState(ag, ad)

    return optax.GradientTransformation(init, update)


class ScaleByKerasAdamaxState(NamedTuple):
    """State of :func:`scale_by_keras_adamax`: step count, first moment and infinity norm."""

    count: jax.Array  # int32 scalar
    mu: PyTree  # first moment, shaped like params
    norm: PyTree  # exponentially weighted infinity norm u, shaped like params


def scale_by_keras_adamax(learning_rate: Rate = 1e-3, beta_1: float = 0.9, beta_2: float = 0.999,
                          epsilon: float = 1e-7) -> optax.GradientTransformation:
    """Keras's Adamax: ``m += (g - m)(1 - b1)``; ``u = max(b2 u, |g|)``;
    update ``-lr m / ((1 - b1**t)(u + epsilon))``.

    Example:
        >>> tx = scale_by_keras_adamax(0.1)
        >>> tx.update(jnp.array([2.0]), tx.init(jnp.zeros(1)))[0]
        Array([-0.1], dtype=float32)
    """

    def init(params):
        return ScaleByKerasAdamaxState(_count(), _zeros(params), _zeros(params))

    def update(grads, state, params=None):
        count = optax.safe_increment(state.count)

        def leaf(m, u, g):
            beta_1_power = jnp.power(_cast(beta_1, g), count.astype(g.dtype))
            m = m + (g - m) * (1 - beta_1)
            u = jnp.maximum(beta_2 * u, jnp.abs(g))
            return m, u, -((_cast(learning_rate, g) * m) / ((1 - beta_1_power) * (u + epsilon)))

        mu, norm, out = _map(leaf, 3, state.mu, state.norm, grads)
        return out, ScaleByKerasAdamaxState(count, mu, norm)

    return optax.GradientTransformation(init, update)


class ScaleByKerasNadamState(NamedTuple):
    """State of :func:`scale_by_keras_nadam`."""

    count: jax.Array  # int32 scalar
    u_product: jax.Array  # float32 scalar: product of the momentum schedule u_1 ... u_t
    mu: PyTree  # first moment, shaped like params
    nu: PyTree  # second moment, shaped like params


def scale_by_keras_nadam(learning_rate: Rate = 1e-3, beta_1: float = 0.9, beta_2: float = 0.999,
                         epsilon: float = 1e-7) -> optax.GradientTransformation:
    """Keras's Nadam, with its momentum schedule ``u_t = beta_1 (1 - 0.5 * 0.96**t)``.

    Unlike Adam, Keras casts ``beta_1`` and ``beta_2`` to the variable's dtype before taking
    ``1 - beta``, so these are float32 differences here too.

    Example:
        >>> tx = scale_by_keras_nadam(0.5)
        >>> params = jnp.array([1.0, 2.0])
        >>> new = params + tx.update(jnp.array([1.0, 6.0]), tx.init(params))[0]
        >>> [round(float(x), 4) for x in new]  # Keras's test values
        [0.4686, 1.4686]
    """

    def init(params):
        return ScaleByKerasNadamState(
            _count(), jnp.ones([], jnp.float32), _zeros(params), _zeros(params))

    def update(grads, state, params=None):
        count = optax.safe_increment(state.count)
        t32 = count.astype(state.u_product.dtype)
        u_product = state.u_product * beta_1 * (1.0 - 0.5 * jnp.power(0.96, t32))

        def leaf(m, v, g):
            t, t_next = count.astype(g.dtype), optax.safe_increment(count).astype(g.dtype)
            decay, b1, b2 = _cast(0.96, g), _cast(beta_1, g), _cast(beta_2, g)
            u_t = b1 * (1.0 - 0.5 * jnp.power(decay, t))
            u_t_1 = b1 * (1.0 - 0.5 * jnp.power(decay, t_next))
            u_product_t = _cast(u_product, g)
            u_product_t_1 = u_product_t * u_t_1
            beta_2_power = jnp.power(b2, t)
            m = m + (g - m) * (1 - b1)
            v = v + (jnp.square(g) - v) * (1 - b2)
            m_hat = (u_t_1 * m) / (1 - u_product_t_1) + ((1 - u_t) * g) / (1 - u_product_t)
            v_hat = v / (1 - beta_2_power)
            return m, v, -((m_hat * _cast(learning_rate, g)) / (jnp.sqrt(v_hat) + epsilon))

        mu, nu, out = _map(leaf, 3, state.mu, state.nu, grads)
        return out, ScaleByKerasNadamState(count, u_product, mu, nu)

    return optax.GradientTransformation(init, update)


class ScaleByKerasLionState(NamedTuple):
    """State of :func:`scale_by_keras_lion`: the momentum, shaped like params."""

    momentum: PyTree


def scale_by_keras_lion(learning_rate: Rate = 1e-3, beta_1: float = 0.9, beta_2: float = 0.99
                        ) -> optax.GradientTransformation:
    """Keras's Lion: update ``-lr sign(b1 m + (1 - b1) g)``, then ``m = b2 m + (1 - b2) g``.

    Example:
        >>> tx = scale_by_keras_lion(0.1)
        >>> tx.update(jnp.array([3.0, -0.5]), tx.init(jnp.zeros(2)))[0]
        Array([-0.1,  0.1], dtype=float32)
    """

    def init(params):
        return ScaleByKerasLionState(_zeros(params))

    def update(grads, state, params=None):
        def leaf(m, g):
            b1, b2 = _cast(beta_1, g), _cast(beta_2, g)
            out = -(_cast(learning_rate, g) * jnp.sign(m * b1 + g * (1.0 - b1)))
            return m * b2 + g * (1.0 - b2), out

        m, out = _map(leaf, 2, state.momentum, grads)
        return out, ScaleByKerasLionState(m)

    return optax.GradientTransformation(init, update)


# --- Keras's base-optimizer pieces: clipping and decoupled weight decay ---------------------


def keras_clip_by_norm(clipnorm: float) -> optax.GradientTransformation:
    """Clips each gradient tensor separately to L2 norm ``clipnorm`` (Keras's ``clipnorm``).

    Example:
        >>> keras_clip_by_norm(1.0).update(jnp.array([3.0, 4.0]), optax.EmptyState())[0]
        Array([0.6, 0.8], dtype=float32)
    """

    def clip(g):
        norm = jnp.sqrt(jnp.sum(jnp.square(g)))
        return (g * clipnorm) / jnp.maximum(norm, clipnorm)

    return _stateless(clip)


def keras_clip_by_global_norm(global_clipnorm: float) -> optax.GradientTransformation:
    """Scales all gradients together so that their global L2 norm is at most ``global_clipnorm``.

    Keras's formula ``clip * min(1 / norm, 1 / clip)``, which is NaN everywhere when the norm
    is inf or NaN (optax's clip_by_global_norm leaves such gradients as they are).

    Example:
        >>> tx = keras_clip_by_global_norm(1.0)
        >>> tx.update({"a": jnp.array([3.0]), "b": jnp.array([4.0])}, optax.EmptyState())[0]
        {'a': Array([0.6], dtype=float32), 'b': Array([0.8], dtype=float32)}
    """

    def update(updates, state, params=None):
        leaves = jax.tree.leaves(updates)
        if not leaves:
            return updates, state
        dtype = functools.reduce(jnp.promote_types, [g.dtype for g in leaves])
        squares = jnp.stack([jnp.sum(jnp.square(g)).astype(dtype) for g in leaves])
        norm = jnp.sqrt(jnp.sum(squares))
        scale = global_clipnorm * jnp.minimum(1.0 / norm, 1.0 / global_clipnorm)
        scale = scale + (norm - norm)
        return jax.tree.map(lambda g: g * scale.astype(g.dtype), updates), state

    return optax.GradientTransformation(lambda params: optax.EmptyState(), update)


def keras_clip_by_value(clipvalue: float) -> optax.GradientTransformation:
    """Clips every gradient entry to ``[-clipvalue, clipvalue]`` (Keras's ``clipvalue``).

    Example:
        >>> keras_clip_by_value(0.5).update(jnp.array([-2.0, 0.25]), optax.EmptyState())[0]
        Array([-0.5 ,  0.25], dtype=float32)
    """
    return _stateless(lambda g: jnp.clip(g, -clipvalue, clipvalue))


def keras_decoupled_weight_decay(learning_rate: Rate, weight_decay: float
                                 ) -> optax.GradientTransformation:
    """Keras's weight decay, to chain *after* an update rule: ``p -= p * weight_decay * lr``.

    Keras decays the variable first and then applies the rule's step, so the new value is
    ``(p - p * wd * lr) + step``. This returns that value minus ``p`` as the update; adding it
    back to ``p`` (``optax.apply_updates``) is then exact whenever the new value is within a
    factor of two of ``p`` (Sterbenz), i.e. bit-identical to Keras for all but tiny params.
    ``update`` needs ``params``.

    Example:
        >>> tx = keras_decoupled_weight_decay(0.5, weight_decay=0.1)
        >>> params = jnp.array([2.0])
        >>> tx.update(jnp.array([0.0]), optax.EmptyState(), params)[0]  # -2 * 0.1 * 0.5
        Array([-0.1], dtype=float32)
    """

    def update(updates, state, params=None):
        if params is None:
            raise ValueError(
                f"weight_decay={weight_decay} needs the parameters: call "
                f"tx.update(grads, opt_state, params), not tx.update(grads, opt_state)."
            )

        def leaf(u, p):
            decayed = p - p * _cast(weight_decay, p) * _cast(learning_rate, p)
            return (decayed + u) - p

        return jax.tree.map(leaf, updates, params), state

    return optax.GradientTransformation(lambda params: optax.EmptyState(), update)
