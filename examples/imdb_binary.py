"""Classifying movie reviews as positive or negative: "Deep Learning with Python", chapter 3.4.

The book's (1st edition) code with ``keras`` replaced by ``fnnet``: IMDB reviews limited to the
10,000 most frequent words, multi-hot encoded by ``vectorize_sequences``, a ``Sequential`` of
``Dense(16, relu)``, ``Dense(16, relu)`` and ``Dense(1, sigmoid)`` compiled with
``optimizers.RMSprop(lr=0.001)``, ``losses.binary_crossentropy`` and
``metrics=[metrics.binary_accuracy]``; 10,000 reviews held out for validation while training
(the book's listing 3.8, 20 epochs of batches of 512), then a fresh model trained on all 25,000
for 4 epochs (listing 3.11) and evaluated on the test set. The book reaches about 88%. Its
``vectorize_sequences`` makes float64 arrays, 2 GB per 25,000 reviews: the whole run peaks at
about 7.5 GB of memory (``--samples`` shrinks the stand-in).

Data: Keras's ``imdb.npz`` through ``fnnet.datasets.imdb`` (cache or download). When it cannot
be loaded (offline, nothing cached: ``load_data`` raises ``DownloadError``, an ``OSError``), the
script says so and runs the same code on a **generated stand-in**, not real reviews: word
indices drawn from a Zipf-like vocabulary of 10,000, in which 100 "positive" and 100 "negative"
words are planted, each review holding more of its label's words than of the other's (and 10%
of labels flipped, so no model can be perfect: the best possible accuracy, a
majority vote of the planted words, is about 88%).

Run::

    python examples/imdb_binary.py                    # 20 + 4 epochs, plot in imdb_binary.png
    python examples/imdb_binary.py --epochs 1 --no-plot
    python examples/imdb_binary.py --data standin --samples 5000
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from fnnet import layers, losses, metrics, models, optimizers
from fnnet.datasets import imdb
from fnnet.utils import set_random_seed

NUM_WORDS = 10000


def standin_reviews(n: int, seed: int):
    """``(sequences, labels)``: ``n`` generated reviews (lists of word indices) and 0/1 labels."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    # Indices 0-3 are Keras's padding, start, out-of-vocabulary and unused; 4-103 are positive
    # words, 104-203 negative, and the rest are filler drawn with a Zipf-like frequency.
    filler = np.arange(204, NUM_WORDS)
    weights = 1.0 / np.arange(1, len(filler) + 1)
    weights /= weights.sum()
    sequences = []
    for label in labels:
        length = int(rng.integers(30, 200))
        words = rng.choice(filler, size=length, p=weights)
        n_cues = length // 10
        own = rng.random(n_cues) < 0.8  # 80% of a review's cue words match its label
        positive = own if label else ~own
        cues = np.where(positive, rng.integers(4, 104, n_cues), rng.integers(104, 204, n_cues))
        words[rng.choice(length, size=n_cues, replace=False)] = cues
        sequences.append([1, *words.tolist()])
    flipped = rng.random(n) < 0.1
    labels = np.where(flipped, 1 - labels, labels)
    out = np.empty(n, dtype=object)
    out[:] = sequences
    return out, labels.astype(np.int64)


def load_data(source: str, samples: int, seed: int):
    """``((train_data, train_labels), (test_data, test_labels)), name`` for ``--data``."""
    if source in ("auto", "imdb"):
        try:
            return imdb.load_data(num_words=NUM_WORDS, timeout=10.0), "imdb"
        except OSError as err:  # DownloadError: offline and nothing cached
            if source == "imdb":
                raise
            print(f"note: IMDB could not be loaded ({type(err).__name__}: offline, nothing "
                  f"cached); using a GENERATED stand-in of {samples} + {samples} reviews with "
                  f"planted sentiment words, not real reviews")
    return (standin_reviews(samples, seed), standin_reviews(samples, seed + 1)), "standin"


def vectorize_sequences(sequences, dimension=NUM_WORDS):
    results = np.zeros((len(sequences), dimension))
    for i, sequence in enumerate(sequences):
        results[i, sequence] = 1.
    return results


def build_model():
    model = models.Sequential()
    model.add(layers.Dense(16, activation="relu", input_shape=(NUM_WORDS,)))
    model.add(layers.Dense(16, activation="relu"))
    model.add(layers.Dense(1, activation="sigmoid"))
    model.compile(optimizer=optimizers.RMSprop(lr=0.001),
                  loss=losses.binary_crossentropy,
                  metrics=[metrics.binary_accuracy])
    return model


def plot_history(history: dict, path: str) -> None:
    """The book's two plots (loss, accuracy) side by side; skipped without matplotlib."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        print("note: matplotlib is not installed; skipping the plot")
        return
    fig = Figure(figsize=(10, 4))
    epochs = range(1, len(history["loss"]) + 1)
    for ax, key in zip(fig.subplots(1, 2), ("loss", "binary_accuracy"), strict=True):
        ax.plot(epochs, history[key], "bo", label=f"Training {key}")
        ax.plot(epochs, history[f"val_{key}"], "b", label=f"Validation {key}")
        ax.set(title=f"Training and validation {key}", xlabel="Epochs", ylabel=key)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    print(f"saved training curves to {path}")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20,
                        help="epochs of the run with validation (listing 3.8)")
    parser.add_argument("--final-epochs", type=int, default=4,
                        help="epochs of the final model on all training data (listing 3.11); "
                             "at most --epochs")
    parser.add_argument("--data", choices=("auto", "imdb", "standin"), default="auto")
    parser.add_argument("--samples", type=int, default=25000,
                        help="stand-in reviews per split (IMDB has 25,000)")
    parser.add_argument("--seed", type=int, default=0,
                        help="the stand-in's and fnnet.utils.set_random_seed's")
    parser.add_argument("--plot", metavar="PATH", default="imdb_binary.png")
    parser.add_argument("--no-plot", dest="plot", action="store_const", const=None)
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    set_random_seed(args.seed)
    start = time.perf_counter()
    ((train_data, train_labels), (test_data, test_labels)), source = load_data(
        args.data, args.samples, args.seed)

    x_train = vectorize_sequences(train_data)
    x_test = vectorize_sequences(test_data)
    y_train = np.asarray(train_labels).astype("float32")
    y_test = np.asarray(test_labels).astype("float32")
    n_val = min(10000, len(x_train) * 2 // 5)  # the book's 10,000 of 25,000
    print(f"data: {source}, {len(x_train)} train ({n_val} of them for validation) and "
          f"{len(x_test)} test reviews")

    model = build_model()
    x_val = x_train[:n_val]
    partial_x_train = x_train[n_val:]
    y_val = y_train[:n_val]
    partial_y_train = y_train[n_val:]
    history = model.fit(partial_x_train, partial_y_train, epochs=args.epochs, batch_size=512,
                        validation_data=(x_val, y_val), verbose=2)
    if args.plot:
        plot_history(history.history, args.plot)

    model = build_model()
    final_epochs = min(args.final_epochs, args.epochs)
    model.fit(x_train, y_train, epochs=final_epochs, batch_size=512, verbose=0)
    results = model.evaluate(x_test, y_test, verbose=0)
    print(f"after {final_epochs} epochs on all {len(x_train)}: test loss {results[0]:.4f}, "
          f"test binary_accuracy {results[1]:.4f}")
    predictions = model.predict(x_test[:5], verbose=0)
    seconds = time.perf_counter() - start
    print(f"done in {seconds:.1f} s")
    return {"data": source, "history": history.history, "test_loss": float(results[0]),
            "test_acc": float(results[1]), "predictions": np.asarray(predictions),
            "n_train": len(x_train), "n_test": len(x_test), "seconds": seconds}


if __name__ == "__main__":
    main()
