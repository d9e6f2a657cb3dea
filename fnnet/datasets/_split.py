"""The fixed, seeded train/test split and the lazy scikit-learn import shared by the loaders."""

from __future__ import annotations

import importlib
from types import ModuleType

import numpy as np

Split = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def import_sklearn_datasets(loader: str) -> ModuleType:
    """Import ``sklearn.datasets`` on demand, with an install hint when scikit-learn is missing.

    Example:
        >>> import_sklearn_datasets("digits").__name__
        'sklearn.datasets'
    """
    try:
        return importlib.import_module("sklearn.datasets")
    except ImportError as err:
        raise ImportError(
            f"fnnet.datasets.{loader}.load_data needs scikit-learn, which is not installed; run "
            f"`pip install scikit-learn` (or `pip install fnnet[datasets]`)."
        ) from err


def split(x: np.ndarray, y: np.ndarray, test_split: float, seed: int) -> Split:
    """Shuffle with ``np.random.default_rng(seed).permutation`` and put the last fraction to test.

    The training set is the first ``int(len(x) * (1 - test_split))`` shuffled samples, as in
    Keras's ``boston_housing``; the rest is the test set.

    Example:
        >>> (x_tr, y_tr), (x_te, y_te) = split(np.arange(10), np.arange(10), 0.2, seed=113)
        >>> len(x_tr), len(x_te), sorted(np.concatenate([x_tr, x_te])) == list(range(10))
        (8, 2, True)
    """
    if isinstance(test_split, bool) or not isinstance(test_split, int | float | np.floating):
        raise TypeError(
            f"test_split must be a float in [0, 1), got {test_split!r} of type "
            f"{type(test_split).__name__}; pass e.g. test_split=0.2."
        )
    if not 0.0 <= test_split < 1.0:
        raise ValueError(
            f"test_split must be the test fraction in [0, 1), got {test_split}; pass e.g. "
            f"test_split=0.2."
        )
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise TypeError(
            f"seed must be an int, got {seed!r} of type {type(seed).__name__}; pass e.g. seed=113 "
            f"(Keras's default)."
        )
    if seed < 0:
        raise ValueError(
            f"seed must be non-negative, got {seed}; pass e.g. seed=113 (Keras's default)."
        )
    order = np.random.default_rng(int(seed)).permutation(len(x))
    x, y = x[order], y[order]
    n_train = int(len(x) * (1 - test_split))
    return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:])
