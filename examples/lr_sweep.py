"""A learning-rate sweep in one compiled program: 8 copies of the book's MNIST network.

``fnnet.models.Ensemble`` trains K models of one structure as a single ``jax.vmap`` of the
train step: one compile and one dispatch per epoch for all of them. Here the members are the
seed network (Dense 512 relu, Dense 10 softmax, RMSprop) with 8 learning rates from 1e-4 to
1e-2; each member trains exactly as its own ``fit`` would.

Data: the real MNIST test digits in ``../shared/data/mnist`` (8,000 to train, 2,000 held out
for validation), or scikit-learn's 8x8 digits when they are absent. The 8 validation curves are
saved as a PNG.

Run: ``python examples/lr_sweep.py --epochs 5``
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import fnnet
from fnnet import layers, models
from fnnet.datasets import digits, mnist
from fnnet.utils import set_random_seed

IDX = Path(__file__).resolve().parents[2] / "shared/data/mnist"
RATES = [1e-4 * (100 ** (k / 7)) for k in range(8)]


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--plot", default="lr_sweep.png")
    parser.add_argument("--no-plot", action="store_true")
    return parser.parse_args(argv)


def load():
    if (IDX / "t10k-images-idx3-ubyte.gz").is_file():
        (x, y), (xv, yv) = mnist.load_idx_split(IDX, n_train=8000)
        x, xv = (a.reshape(len(a), -1).astype("float32") / 255 for a in (x, xv))
        return (x, y), (xv, yv), "the real MNIST test digits (8,000 train, 2,000 validation)"
    (x, y), (xv, yv) = digits.load_data()
    return (x, y), (xv, yv), "scikit-learn's 8x8 digits (MNIST IDX files not found)"


def build(rate: float, seed: int, features: int) -> models.Sequential:
    set_random_seed(seed)
    model = models.Sequential([layers.Dense(512, activation="relu", input_shape=(features,)),
                               layers.Dense(10, activation="softmax")])
    model.compile(optimizer=fnnet.optimizers.RMSprop(learning_rate=rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def main(argv=None) -> dict:
    args = parse_args(argv)
    (x, y), (xv, yv), source = load()
    print(f"data: {source}")
    ensemble = models.Ensemble([build(rate, seed, x.shape[1]) for seed, rate in
                                enumerate(RATES)])
    start = time.perf_counter()
    histories = ensemble.fit(x, y, epochs=args.epochs, batch_size=args.batch_size,
                             validation_data=(xv, yv), verbose=0)
    seconds = time.perf_counter() - start
    final = [h.history["val_accuracy"][-1] for h in histories]
    for rate, acc in zip(RATES, final, strict=True):
        print(f"learning rate {rate:.2e}: validation accuracy {acc:.4f}")
    best = int(np.argmax(final))
    print(f"8 models, {args.epochs} epochs, one program: {seconds:.1f} s; best rate "
          f"{RATES[best]:.2e}")
    plot = None
    if not args.no_plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 4))
        for rate, h in zip(RATES, histories, strict=True):
            ax.plot(range(1, args.epochs + 1), h.history["val_accuracy"], marker="o",
                    label=f"{rate:.1e}")
        ax.set_xlabel("epoch")
        ax.set_ylabel("validation accuracy")
        ax.set_title("RMSprop learning-rate sweep (one compiled program)")
        ax.legend(title="learning rate", fontsize=7)
        fig.tight_layout()
        fig.savefig(args.plot)
        plot = args.plot
    return {"rates": RATES, "val_accuracy": final, "histories": [h.history for h in histories],
            "seconds": seconds, "plot": plot, "source": source}


if __name__ == "__main__":
    main()
