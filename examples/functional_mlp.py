"""The chapter-2 MNIST network without the Keras front end: pytrees, a jitted step and a loop.

What ``Sequential.fit`` does, written out (in the spirit of jax's
``examples/mnist_classifier_fromscratch.py``):

- the network is ``fnnet.serial(Dense(512, relu), Dense(10, softmax))``, a pure
  ``(init, apply)`` pair;
- ``fnnet.TrainState.create`` holds params, optimizer state, rng and step as one pytree;
- ``jax.jit(fnnet.make_train_step(...), donate_argnums=0)`` is the whole update, called in a
  plain Python loop over shuffled batches, and ``fnnet.make_eval_step`` scores the test set;
- ``jax.vmap(jax.grad(per_example_loss))`` gives one gradient per example, which ``fit``
  never shows you.

Data: the real MNIST test digits in ``../shared/data/mnist`` (8,000 train, 2,000 test), or
scikit-learn's 8x8 digits when that folder is absent.

Run::

    python examples/functional_mlp.py --epochs 5 --batch-size 128 --seed 0
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import fnnet
from fnnet import layers
from fnnet.datasets import digits, mnist

IDX_DIRS = (
    Path(__file__).resolve().parents[2] / "shared/data/mnist",
    Path.cwd().parent / "shared/data/mnist",
)


def _vectors(images: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return images.reshape(len(images), -1).astype(np.float32) / 255, labels.astype(np.int32)


def load_data():
    """``((x_train, y_train), (x_test, y_test)), name``: float32 vectors in [0, 1], int labels."""
    for folder in IDX_DIRS:
        if any((folder / f"t10k-images-idx3-ubyte{gz}").is_file() for gz in ("", ".gz")):
            train, test = mnist.load_idx_split(folder, n_train=8000)
            return (_vectors(*train), _vectors(*test)), "idx"
    print("note: ../shared/data/mnist not found; using scikit-learn's 8x8 digits")
    return digits.load_data(), "digits"


def global_norm(tree) -> jax.Array:
    """The L2 norm of all the leaves of ``tree`` together."""
    return jnp.sqrt(sum(jnp.sum(leaf**2) for leaf in jax.tree.leaves(tree)))


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    ((x_train, y_train), (x_test, y_test)), source = load_data()
    print(f"data: {source}, {len(x_train)} train and {len(x_test)} test examples")

    model = fnnet.serial(layers.Dense(512, activation="relu"),
                         layers.Dense(10, activation="softmax"))
    loss = "sparse_categorical_crossentropy"  # integer labels, no one-hot needed
    ts = fnnet.TrainState.create(model, "rmsprop", rng=jax.random.key(args.seed),
                                 input_shape=(None, x_train.shape[1]))
    train_step = jax.jit(fnnet.make_train_step(model, loss, ["accuracy"]),
                         donate_argnums=0)
    eval_step = jax.jit(fnnet.make_eval_step(model, loss, ["accuracy"]))

    # Only full batches: every step then has the same shape and the step compiles once.
    batch_size = min(args.batch_size, len(x_train))
    num_batches = len(x_train) // batch_size
    perm_rng = np.random.default_rng(args.seed)
    test_logs = eval_step(ts.params, ts.state, x_test, y_test)
    print(f"before training: test accuracy {float(test_logs['accuracy']):.4f}")
    for epoch in range(args.epochs):
        start = time.perf_counter()
        perm = perm_rng.permutation(len(x_train))
        for i in range(num_batches):
            idx = perm[i * batch_size:(i + 1) * batch_size]
            ts, logs = train_step(ts, x_train[idx], y_train[idx])
        test_logs = eval_step(ts.params, ts.state, x_test, y_test)
        print(f"epoch {epoch + 1}: {time.perf_counter() - start:.2f} s, last batch loss "
              f"{float(logs['loss']):.4f}, test loss {float(test_logs['loss']):.4f}, "
              f"test accuracy {float(test_logs['accuracy']):.4f}")

    # Per-example gradients: the gradient of one example's loss, vmapped over a few examples.
    loss_fn = fnnet.losses.get(loss)

    def per_example_loss(params, x, y):
        probs, _ = model.apply(params, ts.state, x[None], training=False)
        return loss_fn(y[None], probs)[0]

    per_example_grads = jax.jit(jax.vmap(jax.grad(per_example_loss), in_axes=(None, 0, 0)))
    xs, ys = x_test[:8], y_test[:8]
    grads = per_example_grads(ts.params, xs, ys)
    print("per-example gradient shapes:", jax.tree.map(jnp.shape, grads))
    norms = jax.vmap(global_norm)(grads)
    print("gradient norm per example:", " ".join(f"{n:.4f}" for n in np.asarray(norms)))
    # Their mean is the gradient of the mean loss over the same examples.
    batch_grads = jax.jit(jax.grad(lambda p: jnp.mean(jax.vmap(per_example_loss, (None, 0, 0))(
        p, xs, ys))))(ts.params)
    gap = max(float(jnp.max(jnp.abs(g.mean(0) - b)))
              for g, b in zip(jax.tree.leaves(grads), jax.tree.leaves(batch_grads), strict=True))
    print(f"max |mean of per-example grads - batch grad| = {gap:.2e}")

    return {"test_acc": float(test_logs["accuracy"]), "test_loss": float(test_logs["loss"]),
            "data": source, "grad_norms": np.asarray(norms), "grad_gap": gap,
            "steps": int(ts.step)}


if __name__ == "__main__":
    main()
