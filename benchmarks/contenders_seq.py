"""Workload F's contenders: an LSTM classifier (F1) and a self-attention classifier (F2).

F1 is ``LSTM(64) -> Dense(10, softmax)`` over ``100 x 32`` float sequences, with Keras's LSTM
numerics: gates in the order input, forget, cell, output; sigmoid gates and tanh cell; a
Glorot-uniform input kernel, an orthogonal recurrent kernel, zero biases but 1 for the forget
gate (``unit_forget_bias``), zero initial state, the last step's output. F2 is
``Embedding(10000, 64) -> MultiHeadAttention(4 heads, key_dim 16)`` as self-attention ``->
GlobalAveragePooling1D -> Dense(2, softmax)`` over int32 token sequences of length 128. Both use
the MLP workloads' RMSprop, categorical cross-entropy and accuracy.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from benchmarks.base import ScanEpoch, glorot_uniform
from benchmarks.common import SEED, AttentionSpec, LstmSpec
from benchmarks.contenders import FnnetFit, Keras3Fit
from benchmarks.contenders_peers import FlaxNnxSplit


def init_lstm(spec: LstmSpec, seed: int = SEED) -> dict:
    k_in, k_rec, k_out = jax.random.split(jax.random.key(seed), 3)
    u = spec.units
    return {
        "kernel": glorot_uniform(k_in, (spec.features, 4 * u)),
        "recurrent": jax.nn.initializers.orthogonal()(k_rec, (u, 4 * u), jnp.float32),
        "bias": jnp.zeros((4 * u,), jnp.float32).at[u:2 * u].set(1.0),
        "dense": {"kernel": glorot_uniform(k_out, (u, spec.classes)),
                  "bias": jnp.zeros((spec.classes,), jnp.float32)},
    }


def lstm_logits(params, x: jax.Array) -> jax.Array:
    # The input projection of every timestep is one matmul before the scan; only the
    # recurrent matmul runs per step.
    xw = jnp.swapaxes(x @ params["kernel"] + params["bias"], 0, 1)  # (time, batch, 4u)
    units = params["recurrent"].shape[0]

    def step(carry, xw_t):
        h, c = carry
        i, f, g, o = jnp.split(xw_t + h @ params["recurrent"], 4, axis=-1)
        c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
        h = jax.nn.sigmoid(o) * jnp.tanh(c)
        return (h, c), None

    zeros = jnp.zeros((x.shape[0], units), x.dtype)
    (h, _), _ = jax.lax.scan(step, (zeros, zeros), xw)
    return h @ params["dense"]["kernel"] + params["dense"]["bias"]


class LstmScanEpoch(ScanEpoch):
    description = ("hand-written whole epoch in one jitted call: lax.scan over batches, each an "
                   "inner lax.scan over the 100 timesteps (input projection hoisted out)")

    def init_params(self, spec):
        return init_lstm(spec)

    def logits(self, params, x):
        return lstm_logits(params, x)


class FnnetFitLstm(FnnetFit):
    description = "fnnet Sequential([LSTM(64), Dense(10, softmax)]), fit as fnnet-fit"
    has_inference = False

    def build_model(self, spec: LstmSpec):
        layers = self.layers
        return self.compile(self.models.Sequential([
            layers.LSTM(spec.units, input_shape=(spec.timesteps, spec.features)),
            layers.Dense(spec.classes, activation="softmax"),
        ]))


class Keras3FitLstm(Keras3Fit):
    description = "Keras 3 Sequential([LSTM(64), Dense(10, softmax)]), fit as keras3-fit"
    has_inference = False

    def build_model(self, spec: LstmSpec):
        keras = self.keras
        keras.utils.set_random_seed(self.seed)
        return self.compile(keras.Sequential([
            keras.Input(shape=(spec.timesteps, spec.features)),
            keras.layers.LSTM(spec.units),
            keras.layers.Dense(spec.classes, activation="softmax"),
        ]))


class FnnetFitAttention(FnnetFit):
    description = ("fnnet functional Model: Input(int32) -> Embedding -> MultiHeadAttention "
                   "((h, h): fnnet takes the inputs as one tuple) -> GlobalAveragePooling1D -> "
                   "Dense, fit as fnnet-fit")
    has_inference = False

    def build_model(self, spec: AttentionSpec):
        layers = self.layers
        tokens = self.models.Input((spec.seq_len,), dtype="int32")
        h = layers.Embedding(spec.vocab, spec.embed)(tokens)
        # Keras calls mha(query, value); fnnet's layer call takes one input, a tuple.
        h = layers.MultiHeadAttention(num_heads=spec.heads, key_dim=spec.key_dim)((h, h))
        h = layers.GlobalAveragePooling1D()(h)
        out = layers.Dense(spec.classes, activation="softmax")(h)
        return self.compile(self.models.Model(tokens, out))


class Keras3FitAttention(Keras3Fit):
    description = ("Keras 3 functional Model: the same layers, mha(h, h), fit as keras3-fit")
    has_inference = False

    def build_model(self, spec: AttentionSpec):
        keras = self.keras
        keras.utils.set_random_seed(self.seed)
        tokens = keras.Input(shape=(spec.seq_len,), dtype="int32")
        h = keras.layers.Embedding(spec.vocab, spec.embed)(tokens)
        h = keras.layers.MultiHeadAttention(num_heads=spec.heads, key_dim=spec.key_dim)(h, h)
        h = keras.layers.GlobalAveragePooling1D()(h)
        out = keras.layers.Dense(spec.classes, activation="softmax")(h)
        return self.compile(keras.Model(tokens, out))


class FlaxNnxLstm(FlaxNnxSplit):
    description = ("Flax NNX nnx.RNN(nnx.OptimizedLSTMCell(32, 64), return_carry=True) + "
                   "nnx.Linear (glorot_uniform input kernels; Flax's zero forget-gate bias), "
                   "trained as flax-nnx-split")

    def make_module(self, spec: LstmSpec):
        nnx = self.nnx
        init = nnx.initializers.glorot_uniform()

        class LstmNet(nnx.Module):
            def __init__(self, rngs):
                self.rnn = nnx.RNN(nnx.OptimizedLSTMCell(spec.features, spec.units,
                                                         kernel_init=init, rngs=rngs),
                                   return_carry=True)
                self.dense = nnx.Linear(spec.units, spec.classes, kernel_init=init, rngs=rngs)

            def __call__(self, x):
                (_, h), _ = self.rnn(x)  # Flax's LSTM carry is (c, h)
                return self.dense(h)

        return LstmNet(nnx.Rngs(SEED))


class FlaxNnxAttention(FlaxNnxSplit):
    description = ("Flax NNX nnx.Embed + nnx.MultiHeadAttention(4 heads, 64 qkv features) as "
                   "self-attention + mean over time + nnx.Linear, trained as flax-nnx-split")

    def make_module(self, spec: AttentionSpec):
        nnx = self.nnx
        init = nnx.initializers.glorot_uniform()

        class AttentionNet(nnx.Module):
            def __init__(self, rngs):
                self.embed = nnx.Embed(spec.vocab, spec.embed, rngs=rngs)
                self.mha = nnx.MultiHeadAttention(
                    spec.heads, spec.embed, qkv_features=spec.heads * spec.key_dim,
                    out_features=spec.embed, kernel_init=init, decode=False, rngs=rngs)
                self.dense = nnx.Linear(spec.embed, spec.classes, kernel_init=init, rngs=rngs)

            def __call__(self, tokens):
                h = self.mha(self.embed(tokens))
                return self.dense(jnp.mean(h, axis=1))

        return AttentionNet(nnx.Rngs(SEED))


LSTM_CONTENDERS: tuple[type, ...] = (LstmScanEpoch, FnnetFitLstm, Keras3FitLstm, FlaxNnxLstm)
ATTENTION_CONTENDERS: tuple[type, ...] = (FnnetFitAttention, Keras3FitAttention,
                                          FlaxNnxAttention)
