"""fnnet: a JIT-compiled, pure-functional neural-network library on JAX with a Keras front end.

The pure core::

    layer = fnnet.Layer(init, apply)
    out_shape, params, state = layer.init(rng, input_shape)
    y, new_state = layer.apply(params, state, x, *, rng=None, training=False)

and the Keras-style front end in :mod:`fnnet.models` built on it.
"""

from fnnet import activations, initializers, layers, losses, metrics, optimizers, utils
from fnnet.core import (
    Layer,
    fan_in_concat,
    fan_in_sum,
    fan_out,
    parallel,
    residual,
    serial,
    shape_dependent,
)
from fnnet.training import (
    TrainState,
    make_eval_step,
    make_predict_step,
    make_train_step,
)

__version__ = "0.1.0"

__all__ = [
    "Layer",
    "TrainState",
    "activations",
    "fan_in_concat",
    "fan_in_sum",
    "fan_out",
    "initializers",
    "layers",
    "losses",
    "make_eval_step",
    "make_predict_step",
    "make_train_step",
    "metrics",
    "optimizers",
    "parallel",
    "residual",
    "serial",
    "shape_dependent",
    "utils",
]


def __getattr__(name):
    # models, callbacks and datasets import lazily: the pure core does not need them.
    if name in ("models", "callbacks", "datasets"):
        import importlib

        return importlib.import_module(f"fnnet.{name}")
    raise AttributeError(f"module 'fnnet' has no attribute {name!r}")
