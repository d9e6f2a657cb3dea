"""Classifying newswires into 46 topics: "Deep Learning with Python", chapter 3.5.

The book's (1st edition) code with ``keras`` replaced by ``fnnet``: Reuters newswires limited to
the 10,000 most frequent words, multi-hot encoded by ``vectorize_sequences``, labels one-hot
encoded by ``to_categorical``, a ``Sequential`` of ``Dense(64, relu)``, ``Dense(64, relu)`` and
``Dense(46, softmax)`` compiled with rmsprop and categorical cross-entropy; 1,000 newswires held
out for validation while training (20 epochs of batches of 512), then a fresh model trained for
9 epochs and evaluated on the test set. The book reaches about 78%, against about 19% for a
random guess that follows the label frequencies, which the script also prints.

Data: Keras's ``reuters.npz`` through ``fnnet.datasets.reuters`` (cache or download). When it
cannot be loaded (offline, nothing cached: ``load_data`` raises ``DownloadError``, an
``OSError``), the script says so and runs the same code on a **generated stand-in**, not real
newswires: 8,982 + 2,245 documents (``--samples`` sets the first) in 46 topics whose frequencies
fall off like Reuters' (two large topics, many small ones), each topic with 20 planted words of
its own; a document's words are mostly Zipf-like filler, some of its topic's words, and a few of
another topic's.

Run::

    python examples/reuters_multiclass.py              # 20 + 9 epochs
    python examples/reuters_multiclass.py --epochs 1 --no-plot
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from fnnet import layers, models
from fnnet.datasets import reuters
from fnnet.utils import set_random_seed, to_categorical

NUM_WORDS = 10000
NUM_TOPICS = 46
TOPIC_WORDS = 20  # planted words per topic in the stand-in: indices 4 to 4 + 46 * 20


def standin_newswires(n: int, seed: int):
    """``(sequences, labels)``: ``n`` generated newswires and their topics (0-45).

    The first 46 documents take each topic once, so ``to_categorical`` sees all 46.
    """
    rng = np.random.default_rng(seed)
    frequency = 1.0 / np.arange(1, NUM_TOPICS + 1) ** 1.2
    labels = rng.choice(NUM_TOPICS, size=n, p=frequency / frequency.sum())
    labels[:NUM_TOPICS] = np.arange(NUM_TOPICS)
    first_filler = 4 + NUM_TOPICS * TOPIC_WORDS
    filler = np.arange(first_filler, NUM_WORDS)
    weights = 1.0 / np.arange(1, len(filler) + 1)
    weights /= weights.sum()
    sequences = np.empty(n, dtype=object)
    for i, topic in enumerate(labels):
        length = int(rng.integers(20, 150))
        words = rng.choice(filler, size=length, p=weights)
        own = max(1, length // 15)
        other = int(rng.integers(NUM_TOPICS))
        planted = np.concatenate([
            4 + topic * TOPIC_WORDS + rng.integers(0, TOPIC_WORDS, own),
            4 + other * TOPIC_WORDS + rng.integers(0, TOPIC_WORDS, max(1, own // 2)),
        ])
        words[rng.choice(length, size=len(planted), replace=False)] = planted
        sequences[i] = [1, *words.tolist()]
    return sequences, labels.astype(np.int64)


def load_data(source: str, samples: int, seed: int):
    """``((train_data, train_labels), (test_data, test_labels)), name`` for ``--data``."""
    if source in ("auto", "reuters"):
        try:
            return reuters.load_data(num_words=NUM_WORDS, timeout=10.0), "reuters"
        except OSError as err:  # DownloadError: offline and nothing cached
            if source == "reuters":
                raise
            print(f"note: Reuters could not be loaded ({type(err).__name__}: offline, nothing "
                  f"cached); using a GENERATED stand-in of {samples} + {samples // 4} documents "
                  f"in 46 topics with planted topic words, not real newswires")
    return (standin_newswires(samples, seed),
            standin_newswires(samples // 4, seed + 1)), "standin"


def vectorize_sequences(sequences, dimension=NUM_WORDS):
    results = np.zeros((len(sequences), dimension))
    for i, sequence in enumerate(sequences):
        results[i, sequence] = 1.
    return results


def build_model():
    model = models.Sequential()
    model.add(layers.Dense(64, activation="relu", input_shape=(NUM_WORDS,)))
    model.add(layers.Dense(64, activation="relu"))
    model.add(layers.Dense(46, activation="softmax"))
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
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
    for ax, key in zip(fig.subplots(1, 2), ("loss", "accuracy"), strict=True):
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
                        help="epochs of the run with validation")
    parser.add_argument("--final-epochs", type=int, default=9,
                        help="epochs of the final model (the book's 9); at most --epochs")
    parser.add_argument("--data", choices=("auto", "reuters", "standin"), default="auto")
    parser.add_argument("--samples", type=int, default=8982,
                        help="stand-in training documents (Reuters has 8,982; the test set is "
                             "a quarter of this); more than 1,000")
    parser.add_argument("--seed", type=int, default=0,
                        help="the stand-in's and fnnet.utils.set_random_seed's")
    parser.add_argument("--plot", metavar="PATH", default="reuters_multiclass.png")
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
    one_hot_train_labels = to_categorical(train_labels)
    one_hot_test_labels = to_categorical(test_labels)
    print(f"data: {source}, {len(x_train)} train (1000 of them for validation) and "
          f"{len(x_test)} test newswires in {one_hot_train_labels.shape[1]} topics")

    model = build_model()
    x_val = x_train[:1000]
    partial_x_train = x_train[1000:]
    y_val = one_hot_train_labels[:1000]
    partial_y_train = one_hot_train_labels[1000:]
    history = model.fit(partial_x_train, partial_y_train, epochs=args.epochs, batch_size=512,
                        validation_data=(x_val, y_val), verbose=2)
    if args.plot:
        plot_history(history.history, args.plot)

    model = build_model()
    final_epochs = min(args.final_epochs, args.epochs)
    model.fit(partial_x_train, partial_y_train, epochs=final_epochs, batch_size=512,
              validation_data=(x_val, y_val), verbose=0)
    results = model.evaluate(x_test, one_hot_test_labels, verbose=0)
    # The book's baseline: shuffled test labels scored against the true ones.
    test_labels_copy = np.array(test_labels)
    np.random.default_rng(args.seed).shuffle(test_labels_copy)
    baseline = float(np.mean(np.array(test_labels) == test_labels_copy))
    print(f"after {final_epochs} epochs: test loss {results[0]:.4f}, test accuracy "
          f"{results[1]:.4f} (a random guess with the label frequencies: {baseline:.4f})")
    predictions = model.predict(x_test, verbose=0)
    seconds = time.perf_counter() - start
    print(f"done in {seconds:.1f} s")
    return {"data": source, "history": history.history, "test_loss": float(results[0]),
            "test_acc": float(results[1]), "baseline": baseline,
            "predictions": np.asarray(predictions), "n_train": len(x_train),
            "n_test": len(x_test), "seconds": seconds}


if __name__ == "__main__":
    main()
