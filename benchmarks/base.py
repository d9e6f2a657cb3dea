"""What every contender shares: the protocol, Keras's numerics, feeding, and fit timing.

The protocol, driven by ``run.py`` and ``timing.py``:

* ``load()`` imports the framework; it raises :class:`Skip` when the framework is missing.
* ``setup(spec, x, y)`` builds the model and optimizer state from host (numpy) data.
* ``epoch()`` trains one full epoch (the last partial batch included), waits for the device,
  and returns that epoch's ``(mean loss, mean accuracy)`` as floats, or ``(loss, acc,
  seconds)`` when it times itself (the ``fit`` contenders time the epoch inside ``fit``).
* ``inference_runs(x, y, batch)`` (only where ``has_inference``) lists workload C's rows: a
  name, a note, and two callables running ``evaluate`` and ``predict`` over host ``x, y``.

The hand-written contenders (:class:`PythonLoop`, :class:`ScanEpoch`) are generic over the
network: a subclass supplies ``init_params(spec)`` and ``logits(params, x)``.
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

from benchmarks.common import SEED  # noqa: E402


class Skip(Exception):
    """A contender cannot run here (its framework is missing); the message says why."""


def keras_rmsprop() -> optax.GradientTransformation:
    """optax's RMSprop with Keras's numerics: ``lr * g / sqrt(nu + 1e-7)``, ``nu`` from 0."""
    return optax.rmsprop(1e-3, decay=0.9, eps=1e-7, eps_in_sqrt=True)


def glorot_uniform(key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    """Keras's default kernel init; for a conv kernel ``(kh, kw, in, out)`` the receptive field
    multiplies both fans, as in Keras."""
    receptive = math.prod(shape[:-2])
    limit = math.sqrt(6.0 / (receptive * (shape[-2] + shape[-1])))
    return jax.random.uniform(key, shape, jnp.float32, -limit, limit)


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

    def setup(self, spec, x: np.ndarray, y: np.ndarray) -> None:
        raise NotImplementedError

    def epoch(self) -> tuple:
        """Trains one epoch; returns (loss, acc), or (loss, acc, seconds) when it times itself."""
        raise NotImplementedError

    def first_epoch(self) -> tuple[float, float]:
        """The first epoch after setup, compile included (workload D)."""
        return self.epoch()[:2]

    def inference_runs(self, x: np.ndarray, y: np.ndarray, batch: int) -> list[tuple]:
        """Workload C's rows: ``(name, note, evaluate, predict)``; see the module docstring."""
        return []


class PythonLoop(Contender):
    """Shared by the contenders that call a jitted step from a Python loop over batches.

    Each step gets the on-device ``x`` and ``y`` and a batch of indices, and gathers its batch
    inside the jitted call (see :func:`index_batches`).
    """

    def _put_data(self, spec, x: np.ndarray, y: np.ndarray) -> None:
        self.spec = spec
        self.x_host, self.y_host = x, y
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


class ScanEpoch(Contender):
    """A hand-written whole epoch in one jitted call (state donated): the roofline.

    An on-device permutation, then ``lax.scan`` over batches that gather their rows from the
    on-device data; the last batch is padded and masked. Subclasses give the network.
    """

    name = "jax-scan-epoch"

    def init_params(self, spec):
        raise NotImplementedError

    def logits(self, params, x: jax.Array) -> jax.Array:
        raise NotImplementedError

    def setup(self, spec, x, y):
        self.spec = spec
        self.x, self.y = jax.device_put(x), jax.device_put(y)
        self.epochs_done = 0
        tx = keras_rmsprop()
        params = self.init_params(spec)
        self.state = (params, tx.init(params))
        n, batch = spec.samples, spec.batch
        n_batches = spec.steps_per_epoch()
        pad = n_batches * batch - n
        logits_fn = self.logits

        def objective(params, xb, yb, wb):
            logits = logits_fn(params, xb)
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


# ------------------------------------------------------------------ fit, timed inside


class EpochTimer:
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
    and shows up in workload D (first epoch) instead. ``y=None`` with ``batch=None`` fits on
    an iterable of batches ``x``.
    """
    timer = EpochTimer(callback_base)
    kwargs = {} if batch is None else {"batch_size": batch}
    history = model.fit(x, y, epochs=2, verbose=0, callbacks=[timer.make()], **kwargs)
    return (*history_last(history.history), timer.times[-1])


class FitContender(Contender):
    """A Keras-style model trained by its ``fit``; subclasses give ``build_model(spec)``."""

    def build_model(self, spec):
        raise NotImplementedError

    def setup(self, spec, x, y):
        self.spec, self.x, self.y = spec, x, y
        self.model = self.build_model(spec)

    def first_epoch(self):
        history = self.model.fit(self.x, self.y, batch_size=self.spec.batch, epochs=1, verbose=0)
        return history_last(history.history)


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
