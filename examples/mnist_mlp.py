"""Classifying MNIST digits with a two-layer network: "Deep Learning with Python", chapter 2.

The book's first program with ``keras`` replaced by ``fnnet``: a ``Sequential`` of
``Dense(512, relu)`` and ``Dense(10, softmax)``, compiled with rmsprop and categorical
cross-entropy, trained for 5 epochs and evaluated on the test set. Training and validation
curves (10% of the training set held out) are saved as a PNG.

Data: Keras's ``mnist.npz`` (60,000 + 10,000 digits) from the fnnet or Keras cache, or
downloaded. Offline with nothing cached, it falls back to the real MNIST test digits in
``../shared/data/mnist`` (8,000 to train, 2,000 to test), and failing that to scikit-learn's
8x8 digits.

Run::

    python examples/mnist_mlp.py                      # 5 epochs, plot in mnist_mlp_history.png
    python examples/mnist_mlp.py --epochs 1 --no-plot
    python examples/mnist_mlp.py --data idx --seed 1 --plot curves.png
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from fnnet import layers, models
from fnnet.datasets import digits, mnist
from fnnet.utils import set_random_seed, to_categorical

IDX_DIRS = (
    Path(__file__).resolve().parents[2] / "shared/data/mnist",
    Path.cwd().parent / "shared/data/mnist",
)


def find_idx_dir() -> Path | None:
    """The first folder holding the MNIST test split's IDX files, or None."""
    for folder in IDX_DIRS:
        if (folder / "t10k-images-idx3-ubyte.gz").is_file() or (
            folder / "t10k-images-idx3-ubyte"
        ).is_file():
            return folder
    return None


def load_data(source: str, origin: str):
    """Returns ``((x_train, y_train), (x_test, y_test)), name`` for ``--data source``."""
    if source in ("auto", "mnist"):
        try:
            return mnist.load_data(origin=origin, timeout=10.0), "mnist"
        except OSError as err:  # DownloadError: offline and nothing cached
            if source == "mnist":
                raise
            print(f"note: full MNIST unavailable ({type(err).__name__}: offline, nothing cached); "
                  f"falling back to the MNIST test digits in ../shared/data/mnist")
    folder = find_idx_dir() if source in ("auto", "idx") else None
    if folder is not None:
        return mnist.load_idx_split(folder, n_train=8000), "idx"
    if source == "idx":
        raise FileNotFoundError(
            f"--data idx: no MNIST IDX files in any of {[str(d) for d in IDX_DIRS]}."
        )
    if source == "auto":
        print("note: ../shared/data/mnist not found either; falling back to scikit-learn's "
              "8x8 digits")
    return digits.load_data(), "digits"


def plot_history(history: dict, path: str) -> None:
    """Saves training/validation loss and accuracy side by side (skipped without matplotlib)."""
    try:
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator
    except ImportError:
        print("note: matplotlib is not installed; skipping the plot (pip install matplotlib)")
        return
    fig = Figure(figsize=(10, 4))
    epochs = range(1, len(history["loss"]) + 1)
    for ax, key in zip(fig.subplots(1, 2), ("loss", "accuracy"), strict=True):
        ax.plot(epochs, history[key], "o-", label=f"training {key}")
        if f"val_{key}" in history:
            ax.plot(epochs, history[f"val_{key}"], "s--", label=f"validation {key}")
        ax.set(title=f"Training and validation {key}", xlabel="epoch", ylabel=key)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    print(f"saved training curves to {path}")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0, help="fnnet.utils.set_random_seed")
    parser.add_argument("--data", choices=("auto", "mnist", "idx", "digits"), default="auto")
    parser.add_argument("--origin", default=mnist.MNIST_ORIGIN,
                        help="URL to download mnist.npz from when no copy is cached")
    parser.add_argument("--plot", metavar="PATH", default="mnist_mlp_history.png")
    parser.add_argument("--no-plot", dest="plot", action="store_const", const=None)
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    set_random_seed(args.seed)
    start = time.perf_counter()

    dataset, source = load_data(args.data, args.origin)
    (train_images, train_labels), (test_images, test_labels) = dataset
    # Flatten to vectors; MNIST's 0-255 pixels are scaled to [0, 1] (digits already are).
    scale = 255.0 if source != "digits" else 1.0
    train_images = train_images.reshape(len(train_images), -1).astype("float32") / scale
    test_images = test_images.reshape(len(test_images), -1).astype("float32") / scale
    train_labels = to_categorical(train_labels, 10)
    test_labels = to_categorical(test_labels, 10)
    print(f"data: {source}, {len(train_images)} train and {len(test_images)} test digits "
          f"of {train_images.shape[1]} features")

    network = models.Sequential()
    network.add(layers.Dense(512, activation="relu", input_shape=(train_images.shape[1],)))
    network.add(layers.Dense(10, activation="softmax"))
    network.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])

    history = network.fit(train_images, train_labels, epochs=args.epochs,
                          batch_size=args.batch_size, validation_split=0.1, verbose=2)
    test_loss, test_acc = network.evaluate(test_images, test_labels, verbose=0)
    print(f"test_acc: {test_acc:.4f}")

    if args.plot:
        plot_history(history.history, args.plot)
    seconds = time.perf_counter() - start
    print(f"done in {seconds:.1f} s")
    return {"test_acc": float(test_acc), "test_loss": float(test_loss), "data": source,
            "n_train": len(train_images), "n_test": len(test_images),
            "history": history.history, "plot": args.plot, "seconds": seconds}


if __name__ == "__main__":
    main()
