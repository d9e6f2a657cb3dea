"""Your own training, on fnnet's public pieces: a custom objective, a custom loop, freezing, DP-SGD.

Four short recipes on scikit-learn's digits (8x8 images, 10 classes):

1. **fit's epoch, yours.** ``fnnet.make_steps`` gives the accumulating update ``fit`` runs and
   ``fnnet.loop.epoch`` turns it into one compiled program per epoch (on-device shuffle, padded
   and masked last batch, metrics in the carry). The History equals ``fit``'s exactly.
2. **A custom objective.** ``jax.value_and_grad`` of any function of ``ts.params`` (here an L2
   penalty on the first layer only and an auxiliary loss on the logits), then
   ``ts.apply_gradients`` — and the same ``fnnet.loop.epoch`` compiles a whole epoch of it.
3. **Freezing.** ``layer.trainable = False`` before compile, or functionally
   ``fnnet.optimizers.freeze(tx, fnnet.trainable_mask(model, params))``.
4. **DP-SGD.** Per-example gradients with ``jax.vmap(jax.grad(...))``, each clipped to norm 1,
   summed, noised, averaged.

Run: ``python examples/custom_training.py --epochs 3``
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import numpy as np
import optax

import fnnet
from fnnet import layers, models
from fnnet.datasets import digits
from fnnet.utils import set_random_seed


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def build(seed: int) -> models.Sequential:
    set_random_seed(seed)
    model = models.Sequential([layers.Dense(64, activation="relu", input_shape=(64,)),
                               layers.Dense(10, activation="softmax")])
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def fit_by_hand(model, x, y, epochs, batch_size) -> dict:
    """Recipe 1: fit's epoch on the public pieces (the model supplies the initial TrainState)."""
    steps = fnnet.make_steps(model, "sparse_categorical_crossentropy", ["accuracy"])
    run_epoch = jax.jit(fnnet.loop.epoch(steps.train_update, batch_size=batch_size))
    ts, logs, history = model.train_state, steps.init_logs(x, y), {}
    data = jax.device_put((x, y))
    for _ in range(epochs):
        ts, logs = run_epoch(ts, logs, data)
        for key, value in logs.result().items():
            history.setdefault(key, []).append(float(value))
    model.train_state = ts
    return history


def custom_objective(model, x, y, epochs, batch_size) -> list[float]:
    """Recipe 2: your own loss (L2 on layer 0 only, plus an auxiliary term), a whole epoch
    compiled by fnnet.loop.epoch. ``logs`` is any pytree you like: here a running sum."""

    def update(ts, logs, batch, mask):
        xb, yb = batch
        mask = mask.astype(jnp.float32)  # bool (batch,): False on the padding rows
        step_rng = jax.random.fold_in(ts.rng, ts.step)

        def objective(params):
            logits, new_state = model.logits.apply(params, ts.state, xb, rng=step_rng,
                                                   training=True)
            ce = optax.softmax_cross_entropy_with_integer_labels(logits, yb)
            ce = jnp.sum(ce * mask) / jnp.sum(mask)  # padded rows of the last batch masked
            l2 = 1e-4 * jnp.sum(jnp.square(params[0]["kernel"]))
            aux = 1e-3 * jnp.sum(jnp.mean(jnp.square(logits), -1) * mask) / jnp.sum(mask)
            return ce + l2 + aux, new_state

        (loss, new_state), grads = jax.value_and_grad(objective, has_aux=True)(ts.params)
        return ts.apply_gradients(grads, state=new_state), logs + jnp.stack(
            [loss * jnp.sum(mask), jnp.sum(mask)])

    run_epoch = jax.jit(fnnet.loop.epoch(update, batch_size=batch_size))
    # loop.epoch resets the logs it is given: wrap a plain array so reset() gives zeros.
    ts, losses = model.train_state, []
    data = jax.device_put((x, y))
    for _ in range(epochs):
        ts, totals = run_epoch(ts, _Sum(jnp.zeros(2)), data)
        losses.append(float(totals.value[0] / totals.value[1]))
    model.train_state = ts
    return losses


@jax.tree_util.register_pytree_node_class
class _Sum:
    """A running ``[sum of losses, rows]`` with the ``reset()`` that ``loop.epoch`` calls."""

    def __init__(self, value):
        self.value = value

    def reset(self):
        return _Sum(jnp.zeros_like(self.value))

    def __add__(self, other):
        return _Sum(self.value + other)

    def tree_flatten(self):
        return (self.value,), None

    @classmethod
    def tree_unflatten(cls, aux, children):
        return cls(*children)


def freeze_and_finetune(model, x, y, batch_size) -> bool:
    """Recipe 3: the Keras way; returns whether the frozen layer kept its weights."""
    model.layers[0].trainable = False
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    before = model.get_weights()[0]
    model.fit(x, y, epochs=1, batch_size=batch_size, verbose=0)
    model.layers[0].trainable = True
    return bool(np.array_equal(before, model.get_weights()[0]))


def dp_sgd(model, x, y, batch_size, seed, clip=1.0, noise=0.8) -> float:
    """Recipe 4: one epoch of DP-SGD (per-example clipping and Gaussian noise)."""
    ts = fnnet.TrainState.from_params(model.params, model.state, optax.sgd(0.5), rng=seed)

    def example_loss(params, xi, yi):
        logits, _ = model.logits.apply(params, ts.state, xi[None])
        return optax.softmax_cross_entropy_with_integer_labels(logits, yi[None])[0]

    def clipped(g):
        norm = jnp.sqrt(sum(jnp.sum(jnp.square(a)) for a in jax.tree.leaves(g)))
        return jax.tree.map(lambda a: a * jnp.minimum(1.0, clip / (norm + 1e-12)), g)

    @jax.jit
    def step(ts, xb, yb):
        per_example = jax.vmap(jax.grad(example_loss), in_axes=(None, 0, 0))(ts.params, xb, yb)
        summed = jax.tree.map(lambda g: jnp.sum(g, 0), jax.vmap(clipped)(per_example))
        leaves, treedef = jax.tree.flatten(summed)
        keys = jax.random.split(jax.random.fold_in(ts.rng, ts.step), len(leaves))
        noisy = [g + noise * clip * jax.random.normal(k, g.shape)
                 for g, k in zip(leaves, keys, strict=True)]
        grads = jax.tree.map(lambda g: g / xb.shape[0], jax.tree.unflatten(treedef, noisy))
        return ts.apply_gradients(grads)

    for i in range(len(x) // batch_size):  # full batches only: one compile
        ts = step(ts, x[i * batch_size:(i + 1) * batch_size], y[i * batch_size:(i + 1) * batch_size])
    model.train_state = model.train_state.replace(params=ts.params)
    return float(model.evaluate(x, y, verbose=0)[1])


def main(argv=None) -> dict:
    args = parse_args(argv)
    (x_train, y_train), (x_test, y_test) = digits.load_data()  # pixels already in [0, 1]

    reference = build(args.seed)
    fit_history = reference.fit(x_train, y_train, epochs=args.epochs,
                                batch_size=args.batch_size, verbose=0).history
    mine = build(args.seed)
    my_history = fit_by_hand(mine, x_train, y_train, args.epochs, args.batch_size)
    same = my_history == fit_history
    print(f"1. fit's epoch by hand: History identical to fit's: {same}")
    print(f"   final accuracy {my_history['accuracy'][-1]:.4f}")

    custom = build(args.seed)
    losses = custom_objective(custom, x_train, y_train, args.epochs, args.batch_size)
    custom_acc = float(custom.evaluate(x_test, y_test, verbose=0)[1])
    print(f"2. custom objective: epoch losses {[round(v, 4) for v in losses]}, "
          f"test accuracy {custom_acc:.4f}")

    kept = freeze_and_finetune(custom, x_train, y_train, args.batch_size)
    print(f"3. frozen first layer kept its weights while the head trained: {kept}")

    private = build(args.seed)
    dp_acc = dp_sgd(private, x_train, y_train, args.batch_size, args.seed)
    print(f"4. one epoch of DP-SGD: train accuracy {dp_acc:.4f}")
    return {"same_history": same, "history": my_history, "custom_losses": losses,
            "custom_test_acc": custom_acc, "frozen_kept": kept, "dp_train_acc": dp_acc}


if __name__ == "__main__":
    main()
