"""Keras optimizers as optax ``GradientTransformation``\\ s, with Keras's defaults and numerics.

The classes :class:`SGD`, :class:`RMSprop`, :class:`Adam`, :class:`AdamW`, :class:`Adagrad`,
:class:`Adadelta`, :class:`Adamax`, :class:`Nadam` and :class:`Lion` take Keras 3's arguments
and defaults and return an ``(init, update)`` pair for optax whose updates are Keras's to the
float32 bit (:mod:`~fnnet.optimizers.rules`). :func:`get` builds one by name, ``get("adam",
beta_1=0.8)`` being ``Adam(beta_1=0.8)``; any optax transformation passes through it.

The learning rate lives in the optimizer state, not in the compiled code:
``opt_state.hyperparams["learning_rate"]`` is a float32 scalar that :func:`set_learning_rate`
replaces between steps without recompiling a jitted train step, and :func:`get_learning_rate`
reads, wherever it sits in the state. It may also be one of Keras's
:mod:`~fnnet.optimizers.schedules` or any optax schedule. :func:`freeze` keeps some params
fixed.

Modules: ``rules`` (the update rules as optax transforms), ``base`` (:class:`Optimizer` and
Keras's clipping, weight decay and gradient accumulation around a rule), ``classes``,
``registry`` (:func:`get`, :func:`serialize`, :func:`names`), ``learning_rate``,
``schedules`` and ``masking`` (:func:`freeze`).

Example:
    >>> import jax.numpy as jnp
    >>> from fnnet import optimizers
    >>> tx = optimizers.RMSprop(learning_rate=0.01)
    >>> params = {"w": jnp.ones(3)}
    >>> opt_state = tx.init(params)
    >>> updates, opt_state = tx.update({"w": jnp.ones(3)}, opt_state, params)
    >>> optimizers.get_learning_rate(opt_state)
    0.01
    >>> opt_state = optimizers.set_learning_rate(opt_state, 0.001)
    >>> optimizers.serialize(tx)["config"]["rho"]
    0.9
"""

from fnnet.optimizers import rules, schedules
from fnnet.optimizers.base import Optimizer
from fnnet.optimizers.classes import SGD, Adadelta, Adagrad, Adam, Adamax, AdamW, Lion, Nadam, RMSprop
from fnnet.optimizers.learning_rate import get_learning_rate, set_learning_rate
from fnnet.optimizers.masking import freeze
from fnnet.optimizers.registry import get, names, serialize
from fnnet.optimizers.rules import ScaleByKerasAdamState, scale_by_keras_adam

__all__ = [
    "Optimizer",
    "SGD",
    "RMSprop",
    "Adam",
    "AdamW",
    "Adagrad",
    "Adadelta",
    "Adamax",
    "Nadam",
    "Lion",
    "get",
    "serialize",
    "names",
    "freeze",
    "get_learning_rate",
    "set_learning_rate",
    "schedules",
    "rules",
    "scale_by_keras_adam",
    "ScaleByKerasAdamState",
]
