"""The contenders: one way each of training the same MLP for one epoch.

Every contender trains ``in_dim -> hidden (relu) -> classes (softmax)`` with Glorot-uniform
kernels, zero biases, RMSprop with Keras's numerics (lr 1e-3, rho 0.9, eps 1e-7 inside the
square root), categorical cross-entropy, and accuracy computed on the device every step.

The protocol, driven by ``run.py``:

* ``load()`` imports the framework; it raises :class:`Skip` when the framework is missing.
* ``setup(spec, x, y)`` builds the model and optimizer state from host (numpy) data.
* ``epoch()`` trains one full epoch (the last partial batch included), waits for the device,
  and returns that epoch's ``(mean loss, mean accuracy)`` as floats.
* ``evaluate()`` / ``predict()`` (only where ``has_inference``) run inference over the
  training set at the workload's batch size and wait for the result.
"""

from __future__ import annotations

import functools
import math
import os
import time

# Keras 3 picks its backend at import time; this must precede any ``import keras``.
os.environ["KERAS_BACKEND"] = "jax"

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

from benchmarks.common import SEED, Spec  # noqa: E402


class Skip(Exception):
    """A contender cannot run here (its framework is missing); the message says why."""


def keras_rmsprop() -> optax.GradientTransformation:
    """optax's RMSprop with Keras's numerics: ``lr * g / sqrt(nu + 1e-7)``, ``nu`` from 0."""
    return optax.rmsprop(1e-3, decay=0.9, eps=1e-7, eps_in_sqrt=True)


# ---------------------------------------------------------------- hand-written JAX pieces


def glorot_uniform(key: jax.Array, fan_in: int, fan_out: int) -> jax.Array:
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return jax.random.uniform(key, (fan_in, fan_out), jnp.float32, -limit, limit)


def init_mlp(spec: Spec, seed: int = SEED) -> list[dict[str, jax.Array]]:
    k1, k2 = jax.random.split(jax.random.key(seed))
    return [
        {"kernel": glorot_uniform(k1, spec.in_dim, spec.hidden),
         "bias": jnp.zeros((spec.hidden,), jnp.float32)},
        {"kernel": glorot_uniform(k2, spec.hidden, spec.classes),
         "bias": jnp.zeros((spec.classes,), jnp.float32)},
    ]


def mlp_logits(params, x: jax.Array) -> jax.Array:
    hidden = jax.nn.relu(x @ params[0]["kernel"] + params[0]["bias"])
    return hidden @ params[1]["kernel"] + params[1]["bias"]


def per_example_cce(logits: jax.Array, y: jax.Array) -> jax.Array:
    # Cross-entropy of softmax(logits) computed from the logits: the same loss as softmax
    # followed by Keras's clipped categorical_crossentropy, minus the clipping.
    return -jnp.sum(y * jax.nn.log_softmax(logits), axis=-1)


def per_example_correct(logits: jax.Array, y: jax.Array) -> jax.Array:
    return (jnp.argmax(logits, -1) == jnp.argmax(y, -1)).astype(jnp.float32)


def loss_and_accuracy(logits: jax.Array, y: jax.Array) -> tuple[jax.Array, jax.Array]:
    return jnp.mean(per_example_cce(logits, y)), jnp.mean(per_example_correct(logits, y))


def index_batches(n: int, batch: int, epoch: int | None = None) -> list[jax.Array]:
    """The epoch's batches of example indices, shuffled (or in order when ``epoch`` is None).

    One host permutation of ``n`` int32s and one batched transfer per epoch. The steps gather
    their rows from the on-device data inside the jitted call, which costs about as much as
    the matmul input it feeds and never compiles a many-output split (compiling
    ``jnp.split`` into 469 batches took over a minute here).
    """
    order = np.arange(n, dtype=np.int32)
    if epoch is not None:
        order = np.random.default_rng((SEED, epoch)).permutation(order)
    return jax.device_put(np.split(order, range(batch, n, batch)))


def batch_sizes(n: int, batch: int) -> np.ndarray:
    sizes = np.full(-(-n // batch), batch, np.float64)
    if n % batch:
        sizes[-1] = n % batch
    return sizes


def epoch_means(losses: list, accs: list, sizes: np.ndarray) -> tuple[float, float]:
    """The epoch's example-weighted mean loss and accuracy (one device-to-host copy)."""
    both = np.asarray(jnp.stack([jnp.stack(losses), jnp.stack(accs)]), np.float64)
    return (float(np.average(both[0], weights=sizes)), float(np.average(both[1], weights=sizes)))


class Contender:
    """Base class; see the module docstring for the protocol."""

    name = "?"
    description = ""
    has_inference = False

    def load(self) -> None:
        """Imports the framework (raises :class:`Skip` if it is missing)."""

    def setup(self, spec: Spec, x: np.ndarray, y: np.ndarray) -> None:
        raise NotImplementedError

    def epoch(self) -> tuple:
        """Trains one epoch; returns (loss, acc), or (loss, acc, seconds) when it times itself."""
        raise NotImplementedError

    def first_epoch(self) -> tuple[float, float]:
        """The first epoch after setup, compile included (workload D)."""
        return self.epoch()[:2]


class _PythonLoop(Contender):
    """Shared by the contenders that call a jitted step from a Python loop over batches.

    Each step gets the on-device ``x`` and ``y`` and a batch of indices, and gathers its batch
    inside the jitted call (see :func:`index_batches`).
    """

    def _put_data(self, spec: Spec, x: np.ndarray, y: np.ndarray) -> None:
        self.spec = spec
        self.x, self.y = jax.device_put(x), jax.device_put(y)
        self.sizes = batch_sizes(spec.samples, spec.batch)
        self.epochs_done = 0

    def _step(self, idx: jax.Array) -> tuple[jax.Array, jax.Array]:
        raise NotImplementedError

    def epoch(self) -> tuple[float, float]:
        losses, accs = [], []
        for idx in index_batches(self.spec.samples, self.spec.batch, self.epochs_done):
            loss, acc = self._step(idx)
            losses.append(loss)
            accs.append(acc)
        self.epochs_done += 1
        return epoch_means(losses, accs, self.sizes)


class JaxJitLoop(_PythonLoop):
    name = "jax-jit-loop"
    description = ("hand-written jax.jit train step (state donated), called from a Python loop "
                   "over pre-shuffled on-device index batches; the step gathers its rows")
    has_inference = True

    def setup(self, spec, x, y):
        self._put_data(spec, x, y)
        tx = keras_rmsprop()
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

    def evaluate(self):
        params = self.state[0]
        sums = [self._eval_batch(params, self.x, self.y, idx)
                for idx in index_batches(self.spec.samples, self.spec.batch)]
        totals = np.asarray(jnp.sum(jnp.stack(sums), axis=0))
        return float(totals[0]) / self.spec.samples, float(totals[1]) / self.spec.samples

    def predict(self):
        params = self.state[0]
        outs = [self._apply(params, self.x, idx)
                for idx in index_batches(self.spec.samples, self.spec.batch)]
        return jnp.concatenate(outs).block_until_ready()


class JaxScanEpoch(Contender):
    name = "jax-scan-epoch"
    description = ("hand-written whole epoch in one jitted call: on-device permutation, then "
                   "lax.scan over batches (the last one padded and masked); the roofline")

    def setup(self, spec, x, y):
        self.spec = spec
        self.x, self.y = jax.device_put(x), jax.device_put(y)
        self.epochs_done = 0
        tx = keras_rmsprop()
        params = init_mlp(spec)
        self.state = (params, tx.init(params))
        n, batch = spec.samples, spec.batch
        n_batches = spec.steps_per_epoch()
        pad = n_batches * batch - n

        def objective(params, xb, yb, wb):
            logits = mlp_logits(params, xb)
            count = jnp.sum(wb)
            loss = jnp.sum(wb * per_example_cce(logits, yb)) / count
            return loss, (loss * count, jnp.sum(wb * per_example_correct(logits, yb)))

        @functools.partial(jax.jit, donate_argnums=0)
        def run_epoch(state, x, y, epoch):
            def train_batch(state, batch_in):
                idx, wb = batch_in
                params, opt_state = state
                grads, sums = jax.grad(objective, has_aux=True)(params, x[idx], y[idx], wb)
                updates, opt_state = tx.update(grads, opt_state, params)
                return (optax.apply_updates(params, updates), opt_state), sums

            key = jax.random.fold_in(jax.random.key(SEED), epoch)
            perm = jax.random.permutation(key, n)
            idx = jnp.concatenate([perm, jnp.zeros((pad,), perm.dtype)]).reshape(n_batches, batch)
            weights = jnp.concatenate([jnp.ones((n,)), jnp.zeros((pad,))]).reshape(
                n_batches, batch)
            state, (loss_sums, correct) = jax.lax.scan(train_batch, state, (idx, weights))
            return state, jnp.stack([jnp.sum(loss_sums), jnp.sum(correct)]) / n

        self._run_epoch = run_epoch

    def epoch(self):
        self.state, means = self._run_epoch(self.state, self.x, self.y, self.epochs_done)
        self.epochs_done += 1
        loss, acc = np.asarray(means)
        return float(loss), float(acc)


# ---------------------------------------------------------------------------- fnnet


class _EpochTimer:
    """A callback (duck-typed for fnnet and Keras) timing each epoch from begin to end."""

    def __init__(self, base):
        self._base = base
        self.times: list[float] = []

    def make(self):
        timer = self

        class Timer(self._base):
            def on_epoch_begin(self, epoch, logs=None):
                self.t0 = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                timer.times.append(time.perf_counter() - self.t0)

        return Timer()


def fit_epoch(model, x, y, batch, callback_base):
    """Runs fit for 2 epochs and returns (loss, acc, seconds of the second epoch).

    Timing inside fit (callback to callback) measures the steady-state epoch; the cost of a
    fit call itself (moving the arrays to the device, building callbacks) is excluded here
    and shows up in workload D (first epoch) instead.
    """
    timer = _EpochTimer(callback_base)
    history = model.fit(x, y, batch_size=batch, epochs=2, verbose=0, callbacks=[timer.make()])
    return (*history_last(history.history), timer.times[-1])


class _FitContender(Contender):
    def first_epoch(self):
        history = self.model.fit(self.x, self.y, batch_size=self.spec.batch, epochs=1, verbose=0)
        return history_last(history.history)


class FnnetFit(_FitContender):
    name = "fnnet-fit"
    description = ("fnnet.models.Sequential + compile('rmsprop', 'categorical_crossentropy', "
                   "['accuracy']); fit(x, y, batch_size, epochs=2, verbose=0) on host numpy "
                   "arrays, the second epoch timed from on_epoch_begin to on_epoch_end")
    has_inference = True

    def load(self):
        try:
            from fnnet import layers, models
        except Exception as e:  # noqa: BLE001 - the library is being written concurrently
            raise Skip(f"fnnet.models cannot be imported yet ({type(e).__name__}: {e})") from e
        self.layers, self.models = layers, models

    def setup(self, spec, x, y):
        self.spec, self.x, self.y = spec, x, y
        m = self.models.Sequential()
        m.add(self.layers.Dense(spec.hidden, activation="relu", input_shape=(spec.in_dim,)))
        m.add(self.layers.Dense(spec.classes, activation="softmax"))
        m.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
        self.model = m

    def epoch(self):
        from fnnet.callbacks import Callback

        return fit_epoch(self.model, self.x, self.y, self.spec.batch, Callback)

    def evaluate(self):
        out = self.model.evaluate(self.x, self.y, batch_size=self.spec.batch, verbose=0)
        return loss_acc_from_evaluate(out)

    def predict(self):
        return np.asarray(self.model.predict(self.x, batch_size=self.spec.batch, verbose=0))


class _ShuffledBatches:
    """A re-iterable of host (x, y) batches in a new order each pass: data off the device."""

    def __init__(self, x, y, batch):
        self.x, self.y, self.batch = x, y, batch
        self.rng = np.random.default_rng(SEED)

    def __iter__(self):
        order = self.rng.permutation(len(self.x))
        for lo in range(0, len(order), self.batch):
            idx = np.sort(order[lo:lo + self.batch])
            yield self.x[idx], self.y[idx]


class FnnetFitStream(FnnetFit):
    name = "fnnet-fit-stream"
    description = ("fnnet-fit fed from a Python iterable of shuffled host numpy batches (the "
                   "streaming path for data larger than the device: host-to-device prefetch, "
                   "one padded program); timed like fnnet-fit")
    has_inference = False

    def setup(self, spec, x, y):
        super().setup(spec, x, y)
        self.batches = _ShuffledBatches(x, y, spec.batch)

    def epoch(self):
        from fnnet.callbacks import Callback

        timer = _EpochTimer(Callback)
        history = self.model.fit(self.batches, epochs=2, verbose=0, callbacks=[timer.make()])
        return (*history_last(history.history), timer.times[-1])

    def first_epoch(self):
        return history_last(self.model.fit(self.batches, epochs=1, verbose=0).history)


class FnnetStep(_PythonLoop):
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
        self.ts = self.train_state.create(model, "rmsprop", rng=SEED,
                                          input_shape=(None, spec.in_dim))
        train_step = self.make_train_step(model, "categorical_crossentropy",
                                          metrics=["accuracy"])
        self._train_step = jax.jit(lambda ts, x, y, idx: train_step(ts, x[idx], y[idx]),
                                   donate_argnums=0)

    def _step(self, idx):
        self.ts, logs = self._train_step(self.ts, self.x, self.y, idx)
        return logs["loss"], logs[accuracy_key(logs)]


# ---------------------------------------------------------------------------- Keras 3


class Keras3Fit(_FitContender):
    name = "keras3-fit"
    description = ("Keras 3 (JAX backend) Sequential + compile('rmsprop', "
                   "'categorical_crossentropy', ['accuracy']); fit(..., epochs=2, verbose=0) on "
                   "host numpy arrays, the second epoch timed from callback to callback")
    has_inference = True

    def load(self):
        try:
            import keras
        except ImportError as e:
            raise Skip(f"keras is not installed ({e}); pip install keras") from e
        if keras.backend.backend() != "jax":
            raise Skip(f"keras uses the {keras.backend.backend()} backend, not jax; "
                       f"set KERAS_BACKEND=jax before importing it")
        self.keras = keras

    def setup(self, spec, x, y):
        keras = self.keras
        keras.utils.set_random_seed(SEED)
        self.spec, self.x, self.y = spec, x, y
        self.model = keras.Sequential([
            keras.Input(shape=(spec.in_dim,)),
            keras.layers.Dense(spec.hidden, activation="relu"),
            keras.layers.Dense(spec.classes, activation="softmax"),
        ])
        self.model.compile(optimizer="rmsprop", loss="categorical_crossentropy",
                           metrics=["accuracy"])

    def epoch(self):
        return fit_epoch(self.model, self.x, self.y, self.spec.batch, self.keras.callbacks.Callback)

    def evaluate(self):
        out = self.model.evaluate(self.x, self.y, batch_size=self.spec.batch, verbose=0)
        return loss_acc_from_evaluate(out)

    def predict(self):
        return np.asarray(self.model.predict(self.x, batch_size=self.spec.batch, verbose=0))


# ---------------------------------------------------------------------------- Flax NNX


class FlaxNnx(_PythonLoop):
    name = "flax-nnx"
    description = ("Flax NNX modules (nnx.Linear, glorot_uniform) + nnx.Optimizer, "
                   "@nnx.jit train step, fed like jax-jit-loop")

    def load(self):
        try:
            from flax import nnx
        except ImportError as e:
            raise Skip(f"flax is not installed ({e}); pip install flax") from e
        self.nnx = nnx

    def _build(self, spec):
        nnx = self.nnx
        init = nnx.initializers.glorot_uniform()

        class MLP(nnx.Module):
            def __init__(self, rngs):
                self.dense = nnx.Linear(spec.in_dim, spec.hidden, kernel_init=init, rngs=rngs)
                self.dense_1 = nnx.Linear(spec.hidden, spec.classes, kernel_init=init, rngs=rngs)

            def __call__(self, x):
                return self.dense_1(nnx.relu(self.dense(x)))

        model = MLP(nnx.Rngs(SEED))
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


class Equinox(_PythonLoop):
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
            (glorot_uniform(k1, spec.in_dim, spec.hidden).T, jnp.zeros((spec.hidden,)),
             glorot_uniform(k2, spec.hidden, spec.classes).T, jnp.zeros((spec.classes,))))
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


# ---------------------------------------------------------------------------- helpers


def accuracy_key(logs) -> str:
    for key in logs:
        if "acc" in key:
            return key
    raise KeyError(f"no accuracy entry in the logs; got keys {sorted(logs)}")


def history_last(history: dict) -> tuple[float, float]:
    return float(history["loss"][-1]), float(history[accuracy_key(history)][-1])


def loss_acc_from_evaluate(out) -> tuple[float, float]:
    """Keras returns ``[loss, acc]`` (or a dict with return_dict=True); accept both."""
    if isinstance(out, dict):
        return float(out["loss"]), float(out[accuracy_key(out)])
    return float(out[0]), float(out[1])


ALL: tuple[type[Contender], ...] = (
    JaxScanEpoch, JaxJitLoop, FnnetStep, FnnetFit, FnnetFitStream, Keras3Fit, FlaxNnx,
    FlaxNnxSplit, Equinox,
)
BY_NAME = {c.name: c for c in ALL}
ROOFLINE = JaxScanEpoch.name
KERAS = Keras3Fit.name
