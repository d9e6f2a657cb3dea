"""Binary classification: benign or malignant tumours, as the book's IMDB chapter does it.

The Wisconsin breast-cancer data (30 features, 455 train / 114 test) from
``fnnet.datasets.breast_cancer``. The features span six orders of magnitude, so they are
normalised with the training set's mean and standard deviation. The network is the book's
binary classifier: ``Dense(16, relu)`` x 2 and ``Dense(1, sigmoid)``, rmsprop and binary
cross-entropy; 20% of the training set is held out to draw the validation curves.

Run::

    python examples/binary_classification.py               # 20 epochs, plot in a PNG
    python examples/binary_classification.py --epochs 5 --no-plot
"""

from __future__ import annotations

import argparse

from fnnet import layers, models
from fnnet.datasets import breast_cancer
from fnnet.utils import set_random_seed


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
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0, help="fnnet.utils.set_random_seed")
    parser.add_argument("--plot", metavar="PATH", default="binary_classification_history.png")
    parser.add_argument("--no-plot", dest="plot", action="store_const", const=None)
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    set_random_seed(args.seed)

    (x_train, y_train), (x_test, y_test) = breast_cancer.load_data()
    # Statistics from the training set only: the test set must stay unseen.
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    x_train = (x_train - mean) / std
    x_test = (x_test - mean) / std
    print(f"data: {len(x_train)} train and {len(x_test)} test tumours, "
          f"{x_train.shape[1]} features; {y_train.mean():.0%} of the training set benign")

    model = models.Sequential()
    model.add(layers.Dense(16, activation="relu", input_shape=(x_train.shape[1],)))
    model.add(layers.Dense(16, activation="relu"))
    model.add(layers.Dense(1, activation="sigmoid"))
    model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"])

    history = model.fit(x_train, y_train, epochs=args.epochs, batch_size=args.batch_size,
                        validation_split=0.2, verbose=2)
    test_loss, test_acc = model.evaluate(x_test, y_test, verbose=0)
    print(f"test_acc: {test_acc:.4f}")

    if args.plot:
        plot_history(history.history, args.plot)
    return {"test_acc": float(test_acc), "test_loss": float(test_loss),
            "history": history.history, "plot": args.plot}


if __name__ == "__main__":
    main()
