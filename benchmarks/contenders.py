"""The MLP contenders (workloads A-D, S, Z): one way each of training the same MLP for one epoch.

Every contender trains ``in_dim -> hidden (relu) -> classes (softmax)`` with Glorot-uniform
kernels, zero biases, RMSprop with Keras's numerics (lr 1e-3, rho 0.9, eps 1e-7 inside the
square root), categorical cross-entropy, and accuracy computed on the device every step. The
protocol is in :mod:`benchmarks.base`; the convnet (E) and sequence (F) contenders subclass
these in ``contenders_conv.py`` and ``contenders_seq.py``.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

from benchmarks.base import (
    FitContender,
    PythonLoop,
    ScanEpoch,
    Skip,
    accuracy_key,
    fit_epoch,
    glorot_uniform,
    history_last,
    index_batches,
    keras_rmsprop,
    loss_acc_from_evaluate,
    loss_and_accuracy,
    per_example_cce,
    per_example_correct,
)
from benchmarks.common import SEED, Spec
from benchmarks.contenders_peers import Equinox, FlaxNnx, FlaxNnxSplit

# ---------------------------------------------------------------- hand-written JAX pieces


def init_mlp(spec: Spec, seed: int = SEED) -> list[dict[str, jax.Array]]:
    k1, k2 = jax.random.split(jax.random.key(seed))
    return [
        {"kernel": glorot_uniform(k1, (spec.in_dim, spec.hidden)),
         "bias": jnp.zeros((spec.hidden,), jnp.float32)},
        {"kernel": glorot_uniform(k2, (spec.hidden, spec.classes)),
         "bias": jnp.zeros((spec.classes,), jnp.float32)},
    ]


def mlp_logits(params, x: jax.Array) -> jax.Array:
    hidden = jax.nn.relu(x @ params[0]["kernel"] + params[0]["bias"])
    return hidden @ params[1]["kernel"] + params[1]["bias"]


class JaxJitLoop(PythonLoop):
    name = "jax-jit-loop"
    description = ("hand-written jax.jit train step (state donated), called from a Python loop "
                   "over pre-shuffled on-device index batches; the step gathers its rows")
    has_inference = True

    def optimizer(self) -> optax.GradientTransformation:
        return keras_rmsprop()

    def setup(self, spec, x, y):
        self._put_data(spec, x, y)
        tx = self.optimizer()
        params = init_mlp(spec)
        self.state = (params, tx.init(params))

        def objective(params, xb, yb):
            return loss_and_accuracy(mlp_logits(params, xb), yb)

        @functools.partial(jax.jit, donate_argnums=0)
        def step(state, x, y, idx):
            params, opt_state = state
            (loss, acc), grads = jax.value_and_grad(objective, has_aux=True)(params, x[idx],
                                                                             y[idx])
            updates, opt_state = tx.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), loss, acc

        @jax.jit
        def eval_batch(params, x, y, idx):
            logits = mlp_logits(params, x[idx])
            return jnp.stack([jnp.sum(per_example_cce(logits, y[idx])),
                              jnp.sum(per_example_correct(logits, y[idx]))])

        self._train_step = step
        self._eval_batch = eval_batch
        self._apply = jax.jit(lambda params, x, idx: jax.nn.softmax(mlp_logits(params, x[idx])))

    def _step(self, idx):
        self.state, loss, acc = self._train_step(self.state, self.x, self.y, idx)
        return loss, acc

    def inference_runs(self, x, y, batch):
        # A Python loop of jitted batches, and the inference roofline: one jitted call over
        # the whole array with the data already on the device, and again with the
        # host-to-device and device-to-host copies that a user holding numpy arrays pays
        # (what fnnet's and Keras's methods start from).
        n = len(x)
        xd, yd = jax.device_put((x, y))
        full_apply = jax.jit(lambda p, x: jax.nn.softmax(mlp_logits(p, x)))

        @jax.jit
        def full_eval(p, x, y):
            logits = mlp_logits(p, x)
            return jnp.stack([jnp.mean(per_example_cce(logits, y)),
                              jnp.mean(per_example_correct(logits, y))])

        def evaluate_loop():
            sums = [self._eval_batch(self.state[0], xd, yd, idx) for idx in index_batches(n, batch)]
            totals = np.asarray(jnp.sum(jnp.stack(sums), axis=0))
            return float(totals[0]) / n, float(totals[1]) / n

        def predict_loop():
            outs = [self._apply(self.state[0], xd, idx) for idx in index_batches(n, batch)]
            return jnp.concatenate(outs).block_until_ready()

        def evaluate_full(x, y):
            loss, acc = np.asarray(full_eval(self.state[0], x, y))
            return float(loss), float(acc)

        return [
            ("jax-jit-full", "one jitted call over all samples, data already on the device",
             lambda: evaluate_full(xd, yd),
             lambda: full_apply(self.state[0], xd).block_until_ready()),
            ("jax-jit-full-transfer", "jax-jit-full plus jax.device_put of the host numpy "
             "input and np.asarray of the output",
             lambda: evaluate_full(*jax.device_put((x, y))),
             lambda: np.asarray(full_apply(self.state[0], jax.device_put(x)))),
            (self.name, f"a Python loop of jitted batches of {batch}, data on the device",
             evaluate_loop, predict_loop),
        ]


class JaxScanEpoch(ScanEpoch):
    description = ("hand-written whole epoch in one jitted call: on-device permutation, then "
                   "lax.scan over batches (the last one padded and masked); the roofline")

    def init_params(self, spec):
        return init_mlp(spec)

    def logits(self, params, x):
        return mlp_logits(params, x)


# ---------------------------------------------------------------------------- fnnet


def load_fnnet(self) -> None:
    try:
        from fnnet import layers, models
    except Exception as e:  # noqa: BLE001 - the library is being written concurrently
        raise Skip(f"fnnet.models cannot be imported yet ({type(e).__name__}: {e})") from e
    self.layers, self.models = layers, models


def fnnet_callback_base():
    from fnnet.callbacks import Callback

    return Callback


class FnnetFit(FitContender):
    name = "fnnet-fit"
    description = ("fnnet.models.Sequential + compile('rmsprop', 'categorical_crossentropy', "
                   "['accuracy']); fit(x, y, batch_size, epochs=2, verbose=0) on host numpy "
                   "arrays, the second epoch timed from on_epoch_begin to on_epoch_end")
    has_inference = True
    load = load_fnnet

    def compile(self, model, loss: str = "categorical_crossentropy"):
        model.compile(optimizer="rmsprop", loss=loss, metrics=["accuracy"])
        return model

    def build_model(self, spec):
        layers = self.layers
        return self.compile(self.models.Sequential([
            layers.Dense(spec.hidden, activation="relu", input_shape=(spec.in_dim,)),
            layers.Dense(spec.classes, activation="softmax"),
        ]))

    def epoch(self):
        return fit_epoch(self.model, self.x, self.y, self.spec.batch, fnnet_callback_base())

    def inference_runs(self, x, y, batch):
        m = self.model
        xd, yd = jax.device_put((x, y))
        return [
            (self.name, "fnnet's default batch_size (none passed: fnnet picks rows per pass)",
             lambda: loss_acc_from_evaluate(m.evaluate(x, y, verbose=0)),
             lambda: np.asarray(m.predict(x, verbose=0))),
            (f"{self.name} (batch_size={batch})", "an explicit batch_size",
             lambda: loss_acc_from_evaluate(m.evaluate(x, y, batch_size=batch, verbose=0)),
             lambda: np.asarray(m.predict(x, batch_size=batch, verbose=0))),
            (f"{self.name} (on device)", "x and y already jax.device_put; default batch_size",
             lambda: loss_acc_from_evaluate(m.evaluate(xd, yd, verbose=0)),
             lambda: np.asarray(m.predict(xd, verbose=0))),
        ]


class ShuffledBatches:
    """A re-iterable of host (x, y) batches in a new order each pass: data off the device."""

    def __init__(self, x, y, batch):
        self.x, self.y, self.batch = x, y, batch
        self.rng = np.random.default_rng(SEED)

    def __iter__(self):
        order = self.rng.permutation(len(self.x))
        for lo in range(0, len(order), self.batch):
            idx = np.sort(order[lo:lo + self.batch])
            yield self.x[idx], self.y[idx]


def batch_list(x: np.ndarray, y: np.ndarray, batch: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The data as a Python list of host ``(x, y)`` batches, shuffled once (fixed order)."""
    order = np.random.default_rng(SEED).permutation(len(x))
    return [(x[order[lo:lo + batch]], y[order[lo:lo + batch]])
            for lo in range(0, len(x), batch)]


class FnnetFitStream(FnnetFit):
    name = "fnnet-fit-stream"
    description = ("fnnet-fit fed from a Python iterable of shuffled host numpy batches (the "
                   "streaming path for data larger than the device: host-to-device prefetch, "
                   "one padded program); timed like fnnet-fit")
    has_inference = False

    def make_batches(self, x, y, batch):
        return ShuffledBatches(x, y, batch)

    def setup(self, spec, x, y):
        super().setup(spec, x, y)
        self.batches = self.make_batches(x, y, spec.batch)

    def epoch(self):
        return fit_epoch(self.model, self.batches, None, None, fnnet_callback_base())

    def first_epoch(self):
        return history_last(self.model.fit(self.batches, epochs=1, verbose=0).history)


class FnnetFitList(FnnetFitStream):
    name = "fnnet-fit-list"
    description = ("fnnet-fit fed a precomputed Python list of host numpy (x, y) batches "
                   "(shuffled once), re-iterated each epoch; timed like fnnet-fit")

    def make_batches(self, x, y, batch):
        return batch_list(x, y, batch)


class FnnetStep(PythonLoop):
    name = "fnnet-step"
    description = ("fnnet's functional API: TrainState.create + jax.jit(make_train_step(...), "
                   "donate_argnums=0) from a Python loop, fed like jax-jit-loop")

    def load(self):
        try:
            import fnnet
            from fnnet import layers

            train_state = getattr(fnnet, "TrainState", None)
            make_train_step = getattr(fnnet, "make_train_step", None)
            if train_state is None or make_train_step is None:
                from fnnet.training import TrainState as train_state
                from fnnet.training import make_train_step
        except Exception as e:  # noqa: BLE001 - the library is being written concurrently
            raise Skip(f"fnnet's functional API cannot be imported yet "
                       f"({type(e).__name__}: {e})") from e
        self.fnnet, self.layers = fnnet, layers
        self.train_state, self.make_train_step = train_state, make_train_step

    def setup(self, spec, x, y):
        self._put_data(spec, x, y)
        model = self.fnnet.serial(self.layers.Dense(spec.hidden, activation="relu"),
                                  self.layers.Dense(spec.classes, activation="softmax"))
        self.ts = self.train_state.create(model, self.optimizer(), rng=SEED,
                                          input_shape=(None, spec.in_dim))
        train_step = self.make_train_step(model, "categorical_crossentropy",
                                          metrics=["accuracy"])
        self._train_step = jax.jit(lambda ts, x, y, idx: train_step(ts, x[idx], y[idx]),
                                   donate_argnums=0)

    def optimizer(self):
        return "rmsprop"

    def _step(self, idx):
        self.ts, logs = self._train_step(self.ts, self.x, self.y, idx)
        return logs["loss"], logs[accuracy_key(logs)]


# Like for like in workload L: fnnet's named "rmsprop" keeps its learning rate in the optimizer
# state (adjustable between steps, as in Keras), the hand loop's optax.rmsprop has it as a
# constant. Each side is also run with the other's choice.
class JaxJitLoopInjected(JaxJitLoop):
    name = "jax-jit-loop-inject"
    description = ("jax-jit-loop with the learning rate in the optimizer state "
                   "(optax.inject_hyperparams), adjustable between steps as fnnet's is")
    has_inference = False

    def optimizer(self):
        return optax.inject_hyperparams(optax.rmsprop)(learning_rate=1e-3, decay=0.9, eps=1e-7,
                                                       eps_in_sqrt=True)


class FnnetStepOptax(FnnetStep):
    name = "fnnet-step-optax"
    description = ("fnnet-step given the hand loop's own optax transformation (a constant "
                   "learning rate) instead of the named 'rmsprop'")

    def optimizer(self):
        return keras_rmsprop()


# ---------------------------------------------------------------------------- Keras 3


def load_keras(self) -> None:
    try:
        import keras
    except ImportError as e:
        raise Skip(f"keras is not installed ({e}); pip install keras") from e
    if keras.backend.backend() != "jax":
        raise Skip(f"keras uses the {keras.backend.backend()} backend, not jax; "
                   f"set KERAS_BACKEND=jax before importing it")
    self.keras = keras


class Keras3Fit(FitContender):
    name = "keras3-fit"
    description = ("Keras 3 (JAX backend) Sequential + compile('rmsprop', "
                   "'categorical_crossentropy', ['accuracy']); fit(..., epochs=2, verbose=0) on "
                   "host numpy arrays, the second epoch timed from callback to callback")
    has_inference = True
    load = load_keras
    seed = SEED  # keras.utils.set_random_seed before building: the initial weights

    def compile(self, model, loss: str = "categorical_crossentropy"):
        model.compile(optimizer="rmsprop", loss=loss, metrics=["accuracy"])
        return model

    def build_model(self, spec):
        keras = self.keras
        keras.utils.set_random_seed(self.seed)
        return self.compile(keras.Sequential([
            keras.Input(shape=(spec.in_dim,)),
            keras.layers.Dense(spec.hidden, activation="relu"),
            keras.layers.Dense(spec.classes, activation="softmax"),
        ]))

    def epoch(self):
        return fit_epoch(self.model, self.x, self.y, self.spec.batch, self.keras.callbacks.Callback)

    def inference_runs(self, x, y, batch):
        m = self.model

        def rows(size, note):
            return (f"{self.name} (batch_size={size})", note,
                    lambda: loss_acc_from_evaluate(m.evaluate(x, y, batch_size=size, verbose=0)),
                    lambda: np.asarray(m.predict(x, batch_size=size, verbose=0)))

        return [rows(batch, "batch_size passed"), rows(32, "Keras's default batch_size")]


# A and B's contenders, in table order; D runs each in a fresh process (``BY_NAME``).
ALL: tuple[type, ...] = (
    JaxScanEpoch, JaxJitLoop, FnnetStep, FnnetFit, FnnetFitStream, Keras3Fit, FlaxNnx,
    FlaxNnxSplit, Equinox,
)
# --quick's A and B: the peers' compiles and S's contender left out.
QUICK: tuple[type, ...] = (JaxScanEpoch, JaxJitLoop, FnnetStep, FnnetFit, Keras3Fit)
BY_NAME = {c.name: c for c in ALL}
# Workload S: in-memory fit against the two ways of feeding host batches.
STREAMING: tuple[type, ...] = (FnnetFit, FnnetFitList, FnnetFitStream)
# Workload L: fnnet's train step in a user's loop, against the hand-written loop and scan.
LOOPS: tuple[type, ...] = (JaxScanEpoch, JaxJitLoop, FnnetStep, JaxJitLoopInjected,
                           FnnetStepOptax)
# Workload Z: fnnet against the roofline and Keras, over data sizes and widths.
SCALING: tuple[type, ...] = (JaxScanEpoch, FnnetFit, Keras3Fit)
