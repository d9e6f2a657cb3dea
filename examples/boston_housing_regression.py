"""Predicting house prices with K-fold validation: "Deep Learning with Python", chapter 3.6.

The book's (1st edition) code with ``keras`` replaced by ``fnnet``: the 13 features normalized
with the training set's mean and standard deviation, ``build_model()`` a ``Sequential`` of
``Dense(64, relu)``, ``Dense(64, relu)`` and ``Dense(1)`` compiled with rmsprop, ``mse`` and
``metrics=['mae']``; 4-fold validation (100 epochs of batches of 1 per fold), then a fresh model
trained on all the training data (80 epochs of batches of 16) and evaluated on the test set.
The book reaches a validation MAE of about 2.4 and a test MAE of about 2.5 (k$).

Data: Keras's ``boston_housing.npz`` through ``fnnet.datasets.boston_housing`` (cache or
download). When it cannot be loaded (offline, nothing cached: ``load_data`` raises
``DownloadError``, an ``OSError``), the script says so and runs the same code on a **generated
stand-in**, not Boston's houses: 404 + 102 samples of 13 correlated features with scales like
Boston's, and a price (k$, clipped to 5-50 as Boston's is) that depends on them nonlinearly, with
Gaussian noise of 2 k$, so no model can have an MAE much under about 1.6.

Run::

    python examples/boston_housing_regression.py          # 4 folds of 100 epochs, then 80
    python examples/boston_housing_regression.py --epochs 1
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from fnnet import layers, models
from fnnet.datasets import boston_housing
from fnnet.utils import set_random_seed

SCALES = np.array([3.6, 11.4, 11.1, 0.07, 0.55, 6.3, 68.6, 3.8, 9.5, 408.2, 18.5, 356.7, 12.7])
SPREADS = np.array([8.6, 23.3, 6.9, 0.25, 0.12, 0.7, 28.1, 2.1, 8.7, 168.5, 2.2, 91.3, 7.1])


def standin_houses(n: int, rng: np.random.Generator):
    """``(x, y)``: ``n`` generated houses, float64 ``(n, 13)`` features and ``(n,)`` prices."""
    mixing = rng.normal(size=(13, 13)) / np.sqrt(13)
    z = rng.normal(size=(n, 13)) @ (np.eye(13) * 0.7 + mixing * 0.5)
    x = SCALES + SPREADS * z
    x[:, 3] = (z[:, 3] > 1.2).astype(float)  # a 0/1 feature, like the river
    price = (22.5 + 3.5 * z[:, 5] - 4.0 * np.tanh(z[:, 12]) - 1.5 * z[:, 0] ** 2 / 2
             + 2.0 * z[:, 3] * z[:, 5] + 1.5 * np.sin(z[:, 7]) + 2.0 * x[:, 3])
    price = np.clip(price + rng.normal(0, 2.0, n), 5, 50)
    return x, price


def load_data(source: str, seed: int):
    """``((train_data, train_targets), (test_data, test_targets)), name`` for ``--data``."""
    if source in ("auto", "boston"):
        try:
            return boston_housing.load_data(timeout=10.0), "boston"
        except OSError as err:  # DownloadError: offline and nothing cached
            if source == "boston":
                raise
            print(f"note: Boston Housing could not be loaded ({type(err).__name__}: offline, "
                  f"nothing cached); using a GENERATED stand-in of 404 + 102 houses with a "
                  f"nonlinear price, not Boston's")
    rng = np.random.default_rng(seed)
    return (standin_houses(404, rng), standin_houses(102, rng)), "standin"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100, help="epochs per fold")
    parser.add_argument("--final-epochs", type=int, default=80,
                        help="epochs of the final model (the book's 80); at most --epochs")
    parser.add_argument("--k", type=int, default=4, help="folds")
    parser.add_argument("--data", choices=("auto", "boston", "standin"), default="auto")
    parser.add_argument("--seed", type=int, default=0,
                        help="the stand-in's and fnnet.utils.set_random_seed's")
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    set_random_seed(args.seed)
    start = time.perf_counter()
    ((train_data, train_targets), (test_data, test_targets)), source = load_data(
        args.data, args.seed)
    train_data, test_data = np.array(train_data), np.array(test_data)
    print(f"data: {source}, {len(train_data)} train and {len(test_data)} test houses of "
          f"{train_data.shape[1]} features; prices {train_targets.min():.1f} to "
          f"{train_targets.max():.1f} k$")

    mean = train_data.mean(axis=0)
    train_data -= mean
    std = train_data.std(axis=0)
    train_data /= std
    test_data -= mean
    test_data /= std

    def build_model():
        model = models.Sequential()
        model.add(layers.Dense(64, activation="relu", input_shape=(train_data.shape[1],)))
        model.add(layers.Dense(64, activation="relu"))
        model.add(layers.Dense(1))
        model.compile(optimizer="rmsprop", loss="mse", metrics=["mae"])
        return model

    k = args.k
    num_val_samples = len(train_data) // k
    num_epochs = args.epochs
    all_scores = []
    for i in range(k):
        print("processing fold #", i)
        val_data = train_data[i * num_val_samples: (i + 1) * num_val_samples]
        val_targets = train_targets[i * num_val_samples: (i + 1) * num_val_samples]
        partial_train_data = np.concatenate(
            [train_data[:i * num_val_samples], train_data[(i + 1) * num_val_samples:]], axis=0)
        partial_train_targets = np.concatenate(
            [train_targets[:i * num_val_samples], train_targets[(i + 1) * num_val_samples:]],
            axis=0)
        model = build_model()
        model.fit(partial_train_data, partial_train_targets,
                  epochs=num_epochs, batch_size=1, verbose=0)
        val_mse, val_mae = model.evaluate(val_data, val_targets, verbose=0)
        all_scores.append(float(val_mae))
    print(f"validation MAE per fold: {np.round(all_scores, 3).tolist()}, "
          f"mean {np.mean(all_scores):.3f}")

    model = build_model()
    final_epochs = min(args.final_epochs, args.epochs)
    model.fit(train_data, train_targets, epochs=final_epochs, batch_size=16, verbose=0)
    test_mse_score, test_mae_score = model.evaluate(test_data, test_targets, verbose=0)
    baseline = float(np.mean(np.abs(test_targets - np.mean(train_targets))))
    print(f"after {final_epochs} epochs: test MSE {test_mse_score:.3f}, test MAE "
          f"{test_mae_score:.3f} k$ (predicting the mean price: MAE {baseline:.3f})")
    seconds = time.perf_counter() - start
    print(f"done in {seconds:.1f} s")
    return {"data": source, "val_maes": all_scores, "val_mae": float(np.mean(all_scores)),
            "test_mae": float(test_mae_score), "test_mse": float(test_mse_score),
            "baseline_mae": baseline, "n_train": len(train_data), "n_test": len(test_data),
            "seconds": seconds}


if __name__ == "__main__":
    main()
