"""Regression with K-fold validation, as the book's Boston-housing chapter does it.

The diabetes data (442 patients, 10 features; the target is a measure of disease progression
a year later, from 25 to 346) from ``fnnet.datasets.diabetes``, with the book's recipe:

- normalise each feature with the training set's mean and standard deviation;
- ``Dense(64, relu)`` x 2 and a linear ``Dense(1)``, rmsprop, mean squared error, with mean
  absolute error (MAE) as the metric;
- with so few examples a single validation split is noisy, so K-fold validation: K fresh
  models, each validated on a different fold and trained on the rest, and their validation
  MAEs averaged;
- then a final model trained on all the training data and scored once on the test set.

Run::

    python examples/regression.py                   # 4 folds, 80 epochs
    python examples/regression.py --folds 2 --epochs 2
"""

from __future__ import annotations

import argparse

import numpy as np

from fnnet import layers, models
from fnnet.datasets import diabetes
from fnnet.utils import set_random_seed


def build_model(num_features: int) -> models.Sequential:
    model = models.Sequential()
    model.add(layers.Dense(64, activation="relu", input_shape=(num_features,)))
    model.add(layers.Dense(64, activation="relu"))
    model.add(layers.Dense(1))
    model.compile(optimizer="rmsprop", loss="mse", metrics=["mae"])
    return model


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=80)
    parser.add_argument("--folds", type=int, default=4, help="K in K-fold validation")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0, help="fnnet.utils.set_random_seed")
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    set_random_seed(args.seed)

    (train_data, train_targets), (test_data, test_targets) = diabetes.load_data()
    mean, std = train_data.mean(axis=0), train_data.std(axis=0)
    train_data = (train_data - mean) / std
    test_data = (test_data - mean) / std
    baseline = np.abs(test_targets - train_targets.mean()).mean()
    print(f"data: {len(train_data)} train and {len(test_data)} test patients; predicting the "
          f"training mean gives test MAE {baseline:.1f}")

    k = args.folds
    num_val_samples = len(train_data) // k
    all_scores = []
    for i in range(k):
        val = slice(i * num_val_samples, (i + 1) * num_val_samples)
        val_data, val_targets = train_data[val], train_targets[val]
        rest = np.r_[: val.start, val.stop : len(train_data)]
        model = build_model(train_data.shape[1])
        model.fit(train_data[rest], train_targets[rest], epochs=args.epochs,
                  batch_size=args.batch_size, verbose=0)
        val_mse, val_mae = model.evaluate(val_data, val_targets, verbose=0)
        print(f"fold {i + 1}/{k}: validation MAE {val_mae:.2f}")
        all_scores.append(val_mae)
    print(f"mean validation MAE over {k} folds: {np.mean(all_scores):.2f}")

    model = build_model(train_data.shape[1])
    model.fit(train_data, train_targets, epochs=args.epochs, batch_size=args.batch_size,
              verbose=0)
    test_mse, test_mae = model.evaluate(test_data, test_targets, verbose=0)
    print(f"test_mae: {test_mae:.2f}")
    return {"val_maes": [float(s) for s in all_scores], "val_mae": float(np.mean(all_scores)),
            "test_mae": float(test_mae), "test_mse": float(test_mse),
            "baseline_mae": float(baseline)}


if __name__ == "__main__":
    main()
