"""Workload E's contenders: the book's MNIST convnet, trained each way for one epoch.

``Conv2D(32, 3, relu) -> MaxPooling2D(2) -> Conv2D(64, 3, relu) -> MaxPooling2D(2) ->
Conv2D(64, 3, relu) -> Flatten -> Dense(64, relu) -> Dense(10, softmax)`` on 28x28x1 inputs:
valid convolutions, NHWC activations and HWIO kernels, Glorot-uniform kernels and zero biases
everywhere, and the MLP workloads' RMSprop, loss and accuracy (see :mod:`benchmarks.contenders`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from benchmarks.base import ScanEpoch, glorot_uniform
from benchmarks.common import SEED, ConvSpec
from benchmarks.contenders import FnnetFit, Keras3Fit
from benchmarks.contenders_peers import FlaxNnxSplit


def init_convnet(spec: ConvSpec, seed: int = SEED) -> dict:
    keys = jax.random.split(jax.random.key(seed), len(spec.filters) + 2)
    convs, channels = [], spec.image[-1]
    for key, f in zip(keys[:-2], spec.filters, strict=True):
        convs.append({"kernel": glorot_uniform(key, (spec.kernel, spec.kernel, channels, f)),
                      "bias": jnp.zeros((f,), jnp.float32)})
        channels = f
    return {"convs": convs,
            "hidden": {"kernel": glorot_uniform(keys[-2], (spec.flat(), spec.dense)),
                       "bias": jnp.zeros((spec.dense,), jnp.float32)},
            "dense": {"kernel": glorot_uniform(keys[-1], (spec.dense, spec.classes)),
                      "bias": jnp.zeros((spec.classes,), jnp.float32)}}


def convnet_logits(params, x: jax.Array, pool: int = 2) -> jax.Array:
    convs = params["convs"]
    for i, conv in enumerate(convs):
        x = jax.lax.conv_general_dilated(x, conv["kernel"], (1, 1), "VALID",
                                         dimension_numbers=("NHWC", "HWIO", "NHWC"))
        x = jax.nn.relu(x + conv["bias"])
        if i < len(convs) - 1:
            x = jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, pool, pool, 1),
                                      (1, pool, pool, 1), "VALID")
    x = jax.nn.relu(x.reshape(x.shape[0], -1) @ params["hidden"]["kernel"]
                    + params["hidden"]["bias"])
    return x @ params["dense"]["kernel"] + params["dense"]["bias"]


class ConvScanEpoch(ScanEpoch):
    description = ("hand-written whole epoch in one jitted call: lax.scan over batches of "
                   "lax.conv_general_dilated (NHWC/HWIO) and reduce_window max pools")

    def init_params(self, spec):
        return init_convnet(spec)

    def logits(self, params, x):
        return convnet_logits(params, x, self.spec.pool)


class FnnetFitConv(FnnetFit):
    description = ("fnnet Sequential of Conv2D/MaxPooling2D/Flatten/Dense, compiled and fit "
                   "as fnnet-fit (second epoch of a 2-epoch fit, callback to callback)")
    has_inference = False

    def build_model(self, spec):
        layers, k, p = self.layers, spec.kernel, spec.pool
        stack = [layers.Conv2D(spec.filters[0], k, activation="relu", input_shape=spec.image)]
        for f in spec.filters[1:]:
            stack += [layers.MaxPooling2D(p), layers.Conv2D(f, k, activation="relu")]
        stack += [layers.Flatten(), layers.Dense(spec.dense, activation="relu"),
                  layers.Dense(spec.classes, activation="softmax")]
        return self.compile(self.models.Sequential(stack))


class Keras3FitConv(Keras3Fit):
    description = ("the same network as a Keras 3 Sequential, compiled and fit as keras3-fit")
    has_inference = False

    def build_model(self, spec):
        keras, k, p = self.keras, spec.kernel, spec.pool
        keras.utils.set_random_seed(self.seed)
        stack = [keras.Input(shape=spec.image),
                 keras.layers.Conv2D(spec.filters[0], k, activation="relu")]
        for f in spec.filters[1:]:
            stack += [keras.layers.MaxPooling2D(p), keras.layers.Conv2D(f, k, activation="relu")]
        stack += [keras.layers.Flatten(), keras.layers.Dense(spec.dense, activation="relu"),
                  keras.layers.Dense(spec.classes, activation="softmax")]
        return self.compile(keras.Sequential(stack))


class FlaxNnxSplitConv(FlaxNnxSplit):
    description = ("Flax NNX nnx.Conv (padding='VALID', glorot_uniform) + nnx.max_pool + "
                   "two nnx.Linear, trained as flax-nnx-split (nnx.split once, jitted merge step)")

    def make_module(self, spec):
        nnx, k, p = self.nnx, spec.kernel, spec.pool
        init = nnx.initializers.glorot_uniform()

        class ConvNet(nnx.Module):
            def __init__(self, rngs):
                channels, convs = spec.image[-1], []
                for f in spec.filters:
                    convs.append(nnx.Conv(channels, f, (k, k), padding="VALID",
                                          kernel_init=init, rngs=rngs))
                    channels = f
                self.convs = nnx.List(convs)
                self.hidden = nnx.Linear(spec.flat(), spec.dense, kernel_init=init, rngs=rngs)
                self.dense = nnx.Linear(spec.dense, spec.classes, kernel_init=init, rngs=rngs)

            def __call__(self, x):
                for i, conv in enumerate(self.convs):
                    x = nnx.relu(conv(x))
                    if i < len(self.convs) - 1:
                        x = nnx.max_pool(x, (p, p), strides=(p, p))
                return self.dense(nnx.relu(self.hidden(x.reshape(x.shape[0], -1))))

        return ConvNet(nnx.Rngs(SEED))


CONTENDERS: tuple[type, ...] = (ConvScanEpoch, FnnetFitConv, Keras3FitConv, FlaxNnxSplitConv)
