"""The peer frameworks' MLP contenders: Flax NNX (two ways) and Equinox.

Each trains workload A's and B's MLP exactly as :mod:`benchmarks.contenders` describes, fed
like ``jax-jit-loop`` (a Python loop over on-device index batches; the step gathers its rows).
The convnet (E) and sequence (F) workloads subclass :class:`FlaxNnxSplit`.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from benchmarks.base import PythonLoop, Skip, glorot_uniform, keras_rmsprop, loss_and_accuracy
from benchmarks.common import SEED

# ---------------------------------------------------------------------------- Flax NNX


class FlaxNnx(PythonLoop):
    name = "flax-nnx"
    description = ("Flax NNX modules (nnx.Linear, glorot_uniform) + nnx.Optimizer, "
                   "@nnx.jit train step, fed like jax-jit-loop")

    def load(self):
        try:
            from flax import nnx
        except ImportError as e:
            raise Skip(f"flax is not installed ({e}); pip install flax") from e
        self.nnx = nnx

    def make_module(self, spec):
        nnx = self.nnx
        init = nnx.initializers.glorot_uniform()

        class MLP(nnx.Module):
            def __init__(self, rngs):
                self.dense = nnx.Linear(spec.in_dim, spec.hidden, kernel_init=init, rngs=rngs)
                self.dense_1 = nnx.Linear(spec.hidden, spec.classes, kernel_init=init, rngs=rngs)

            def __call__(self, x):
                return self.dense_1(nnx.relu(self.dense(x)))

        return MLP(nnx.Rngs(SEED))

    def _build(self, spec):
        nnx = self.nnx
        model = self.make_module(spec)
        optimizer = nnx.Optimizer(model, keras_rmsprop(), wrt=nnx.Param)

        def train_step(model, optimizer, x, y, idx):
            def objective(model):
                return loss_and_accuracy(model(x[idx]), y[idx])

            (loss, acc), grads = nnx.value_and_grad(objective, has_aux=True)(model)
            optimizer.update(model, grads)
            return loss, acc

        return model, optimizer, train_step

    def setup(self, spec, x, y):
        self._put_data(spec, x, y)
        self.model, self.optimizer, train_step = self._build(spec)
        self._train_step = self.nnx.jit(train_step)

    def _step(self, idx):
        return self._train_step(self.model, self.optimizer, self.x, self.y, idx)


class FlaxNnxSplit(FlaxNnx):
    name = "flax-nnx-split"
    description = ("the same Flax NNX model, trained in the functional form from Flax's "
                   "performance guide: nnx.split once, a jax.jit step that nnx.merges, trains "
                   "and returns nnx.state (state donated)")

    def setup(self, spec, x, y):
        nnx = self.nnx
        self._put_data(spec, x, y)
        model, optimizer, train_step = self._build(spec)
        self.graphdef, self.state = nnx.split((model, optimizer))

        @functools.partial(jax.jit, donate_argnums=1)
        def step(graphdef, state, x, y, idx):
            model, optimizer = nnx.merge(graphdef, state)
            loss, acc = train_step(model, optimizer, x, y, idx)
            return nnx.state((model, optimizer)), loss, acc

        self._train_step = step

    def _step(self, idx):
        self.state, loss, acc = self._train_step(self.graphdef, self.state, self.x, self.y, idx)
        return loss, acc


# ---------------------------------------------------------------------------- Equinox


class Equinox(PythonLoop):
    name = "equinox"
    description = ("Equinox eqx.nn.MLP (weights re-drawn Glorot-uniform, zero biases) + optax, "
                   "@eqx.filter_jit train step, fed like jax-jit-loop")

    def load(self):
        try:
            import equinox as eqx
        except ImportError as e:
            raise Skip(f"equinox is not installed ({e}); pip install equinox") from e
        self.eqx = eqx

    def setup(self, spec, x, y):
        eqx = self.eqx
        self._put_data(spec, x, y)
        k_model, k1, k2 = jax.random.split(jax.random.key(SEED), 3)
        model = eqx.nn.MLP(spec.in_dim, spec.classes, spec.hidden, depth=1,
                           activation=jax.nn.relu, key=k_model)
        # eqx.nn.Linear stores weight as (out, in) and defaults to a LeCun-style uniform init.
        model = eqx.tree_at(
            lambda m: (m.layers[0].weight, m.layers[0].bias, m.layers[1].weight,
                       m.layers[1].bias),
            model,
            (glorot_uniform(k1, (spec.in_dim, spec.hidden)).T, jnp.zeros((spec.hidden,)),
             glorot_uniform(k2, (spec.hidden, spec.classes)).T, jnp.zeros((spec.classes,))))
        tx = keras_rmsprop()
        self.model = model
        self.opt_state = tx.init(eqx.filter(model, eqx.is_array))

        def objective(model, xb, yb):
            return loss_and_accuracy(jax.vmap(model)(xb), yb)

        @eqx.filter_jit
        def step(model, opt_state, x, y, idx):
            (loss, acc), grads = eqx.filter_value_and_grad(objective, has_aux=True)(
                model, x[idx], y[idx])
            updates, opt_state = tx.update(grads, opt_state, eqx.filter(model, eqx.is_array))
            return eqx.apply_updates(model, updates), opt_state, loss, acc

        self._train_step = step

    def _step(self, idx):
        self.model, self.opt_state, loss, acc = self._train_step(self.model, self.opt_state,
                                                                 self.x, self.y, idx)
        return loss, acc
