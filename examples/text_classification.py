"""Sentiment from word sequences: a bidirectional LSTM and a small transformer encoder.

Two models on the same padded word sequences, each ending in ``Dense(1, sigmoid)`` and trained
with Adam and binary cross-entropy:

- ``bilstm`` (Keras's ``imdb_bidirectional_lstm`` example, smaller): ``Embedding(mask_zero=True)``,
  so the padding is masked, then ``Bidirectional(LSTM(32))``;
- ``transformer``: one encoder block written in a few lines with the functional API (as in
  "Deep Learning with Python", 2nd edition, chapter 11): ``Embedding``, self-attention
  ``MultiHeadAttention``, a residual ``Add`` and ``LayerNormalization``, a two-``Dense``
  feed-forward with its own residual and ``LayerNormalization``, ``GlobalAveragePooling1D``.
  It has no position embedding: for sentiment, which words occur matters far more than where.

Data: IMDB through ``fnnet.datasets.imdb`` (cache or download), the 10,000 most frequent words,
reviews cut to their last ``--maxlen`` words (Keras's ``pad_sequences`` defaults), the first
``--samples`` of each split. When IMDB cannot be loaded (offline, nothing cached: ``load_data``
raises ``DownloadError``, an ``OSError``), the script says so and uses a **generated stand-in**,
not real reviews: word indices from a Zipf-like vocabulary with 100 planted "positive" and 100
"negative" words, each review holding more of its label's words than of the other's, and 10%
of the labels flipped, so the best possible accuracy (a majority
vote of the planted words) is about 88%, 85% on the last 60 words.

Run::

    python examples/text_classification.py                     # both models, 3 epochs each
    python examples/text_classification.py --epochs 1 --samples 1000 --model transformer
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import fnnet
from fnnet import layers, models
from fnnet.datasets import imdb
from fnnet.utils import pad_sequences, set_random_seed

NUM_WORDS = 10000


def standin_reviews(n: int, seed: int):
    """``(sequences, labels)``: ``n`` generated reviews (lists of word indices) and 0/1 labels."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    # 0-3 are Keras's padding, start, out-of-vocabulary and unused indices; 4-103 positive
    # words, 104-203 negative ones, the rest filler with a Zipf-like frequency.
    filler = np.arange(204, NUM_WORDS)
    weights = 1.0 / np.arange(1, len(filler) + 1)
    weights /= weights.sum()
    sequences = np.empty(n, dtype=object)
    for i, label in enumerate(labels):
        length = int(rng.integers(30, 200))
        words = rng.choice(filler, size=length, p=weights)
        n_cues = length // 10
        own = rng.random(n_cues) < 0.8  # 80% of a review's cue words match its label
        positive = own if label else ~own
        cues = np.where(positive, rng.integers(4, 104, n_cues), rng.integers(104, 204, n_cues))
        words[rng.choice(length, size=n_cues, replace=False)] = cues
        sequences[i] = [1, *words.tolist()]
    flipped = rng.random(n) < 0.1
    return sequences, np.where(flipped, 1 - labels, labels).astype(np.int64)


def load_data(source: str, samples: int, seed: int):
    """``((x_train, y_train), (x_test, y_test)), name``, at most ``samples`` per split."""
    if source in ("auto", "imdb"):
        try:
            (x_train, y_train), (x_test, y_test) = imdb.load_data(num_words=NUM_WORDS,
                                                                  timeout=10.0)
            return ((x_train[:samples], y_train[:samples]),
                    (x_test[:samples], y_test[:samples])), "imdb"
        except OSError as err:  # DownloadError: offline and nothing cached
            if source == "imdb":
                raise
            print(f"note: IMDB could not be loaded ({type(err).__name__}: offline, nothing "
                  f"cached); using a GENERATED stand-in of {samples} + {samples} reviews with "
                  f"planted sentiment words, not real reviews")
    return (standin_reviews(samples, seed), standin_reviews(samples, seed + 1)), "standin"


def bilstm(maxlen: int) -> models.Model:
    model = models.Sequential()
    model.add(layers.Embedding(NUM_WORDS, 64, mask_zero=True, input_shape=(maxlen,)))
    model.add(layers.Bidirectional(layers.LSTM(32)))
    model.add(layers.Dense(1, activation="sigmoid"))
    return model


def transformer(maxlen: int, embed_dim: int = 32, num_heads: int = 2,
                dense_dim: int = 64) -> models.Model:
    inputs = fnnet.Input(shape=(maxlen,), dtype="int32")
    x = layers.Embedding(NUM_WORDS, embed_dim)(inputs)
    attention = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)([x, x])
    x = layers.LayerNormalization()(layers.Add()([x, attention]))
    feed_forward = layers.Dense(dense_dim, activation="relu")(x)
    feed_forward = layers.Dense(embed_dim)(feed_forward)
    x = layers.LayerNormalization()(layers.Add()([x, feed_forward]))
    x = layers.GlobalAveragePooling1D()(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(1, activation="sigmoid")(x)
    return models.Model(inputs, outputs)


BUILDERS = {"bilstm": bilstm, "transformer": transformer}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--model", choices=("both", *BUILDERS), default="both")
    parser.add_argument("--data", choices=("auto", "imdb", "standin"), default="auto")
    parser.add_argument("--samples", type=int, default=10000, help="reviews per split")
    parser.add_argument("--maxlen", type=int, default=200, help="words kept per review")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    set_random_seed(args.seed)
    ((x_train, y_train), (x_test, y_test)), source = load_data(args.data, args.samples,
                                                               args.seed)
    x_train = pad_sequences(x_train, maxlen=args.maxlen).astype("int32")
    x_test = pad_sequences(x_test, maxlen=args.maxlen).astype("int32")
    y_train = np.asarray(y_train, "float32")
    y_test = np.asarray(y_test, "float32")
    print(f"data: {source}, {len(x_train)} train and {len(x_test)} test reviews as "
          f"{x_train.shape[1:]} word indices; {y_train.mean():.2f} of the train labels positive")

    names = list(BUILDERS) if args.model == "both" else [args.model]
    results = {}
    for name in names:
        start = time.perf_counter()
        model = BUILDERS[name](args.maxlen)
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        print(f"{name}: {model.count_params()} parameters")
        history = model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs,
                            validation_split=0.1, verbose=2)
        test_loss, test_acc = model.evaluate(x_test, y_test, verbose=0)
        seconds = time.perf_counter() - start
        print(f"{name}: test loss {test_loss:.4f}, test accuracy {test_acc:.4f} "
              f"({seconds:.1f} s)")
        results[name] = {"test_acc": float(test_acc), "test_loss": float(test_loss),
                         "history": history.history, "seconds": seconds,
                         "params": model.count_params()}
    return {"data": source, "models": results, "x_train_shape": x_train.shape}


if __name__ == "__main__":
    main()
