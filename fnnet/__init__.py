"""fnnet: a JIT-compiled, pure-functional neural-network library on JAX with a Keras front end.

The pure core::

    layer = fnnet.Layer(init, apply)
    out_shape, params, state = layer.init(rng, input_shape)
    y, new_state = layer.apply(params, state, x, *, rng=None, training=False)

the training core (:class:`TrainState`, :func:`make_steps`, :mod:`fnnet.loop`), and the
Keras-style front end in :mod:`fnnet.models` built on it. The package's layers, from the core
up: ``core``/``combinators`` -> ``layers`` -> ``training`` -> ``loop``/``data`` -> ``saving``
-> ``callbacks`` -> ``models``; imports run one way.
"""

from fnnet import (
    activations,
    callbacks,
    checkpoint,
    data,
    datasets,
    initializers,
    layers,
    loop,
    losses,
    metrics,
    models,
    optimizers,
    saving,
    utils,
)
from fnnet.combinators import (
    fan_in_concat,
    fan_in_sum,
    fan_out,
    parallel,
    residual,
    serial,
    shape_dependent,
)
from fnnet.core import Layer, Masked, as_layer, call, from_stax, trainable_mask
from fnnet.graph import Input
from fnnet.training import (
    Steps,
    TrainState,
    make_eval_step,
    make_predict_step,
    make_steps,
    make_train_step,
    per_example_grads,
)

__version__ = "0.1.0"

__all__ = [
    "Input",
    "Layer",
    "Masked",
    "Steps",
    "TrainState",
    "activations",
    "as_layer",
    "call",
    "callbacks",
    "checkpoint",
    "data",
    "datasets",
    "fan_in_concat",
    "fan_in_sum",
    "fan_out",
    "from_stax",
    "initializers",
    "layers",
    "loop",
    "losses",
    "make_eval_step",
    "make_predict_step",
    "make_steps",
    "make_train_step",
    "metrics",
    "models",
    "optimizers",
    "parallel",
    "per_example_grads",
    "residual",
    "saving",
    "serial",
    "shape_dependent",
    "trainable_mask",
    "utils",
]
