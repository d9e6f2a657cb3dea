"""The seeded train/test splits (fnnet's and Keras's) and the lazy scikit-learn import."""

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


def check_split_args(test_split: float, seed: int) -> None:
    """Check ``test_split`` is a fraction in [0, 1) and ``seed`` a non-negative int.

    Example:
        >>> check_split_args(0.2, 113)
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


def check_keras_seed(seed: int) -> None:
    """Check ``seed`` fits numpy's ``RandomState``, which Keras's loaders shuffle with.

    Example:
        >>> check_keras_seed(113)
    """
    if seed >= 2**32:
        raise ValueError(
            f"seed must be below 2**32 (numpy's RandomState, which Keras shuffles with), got "
            f"{seed}; pass e.g. seed=113 (Keras's default)."
        )


def keras_permutations(seed: int, *sizes: int) -> list[np.ndarray]:
    """The orders Keras's loaders draw, one per size, from ``np.random.RandomState(seed)``.

    Keras shuffles ``np.arange(n)`` in place with the legacy generator, drawing from one
    ``RandomState`` in turn (IMDB shuffles its training set, then its test set), so the same
    seed gives the same orders as Keras.

    Example:
        >>> keras_permutations(113, 5)
        [array([1, 0, 3, 2, 4])]
    """
    check_keras_seed(seed)
    rng = np.random.RandomState(int(seed))  # noqa: NPY002 (Keras's exact shuffle)
    orders = []
    for n in sizes:
        order = np.arange(n)
        rng.shuffle(order)
        orders.append(order)
    return orders


def keras_split(x: np.ndarray, y: np.ndarray, test_split: float, seed: int) -> Split:
    """Shuffle as Keras's ``boston_housing`` does and put the last ``test_split`` to test.

    Example:
        >>> (x_tr, _), (x_te, _) = keras_split(np.arange(10), np.arange(10), 0.2, seed=113)
        >>> x_tr.tolist(), x_te.tolist()
        ([9, 3, 6, 1, 0, 7, 4, 8], [2, 5])
    """
    (order,) = keras_permutations(seed, len(x))
    x, y = x[order], y[order]
    n_train = int(len(x) * (1 - test_split))
    return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:])


def split(x: np.ndarray, y: np.ndarray, test_split: float, seed: int) -> Split:
    """Shuffle with ``np.random.default_rng(seed).permutation`` and put the last fraction to test.

    The training set is the first ``int(len(x) * (1 - test_split))`` shuffled samples, as in
    Keras's ``boston_housing``; the rest is the test set.

    Example:
        >>> (x_tr, y_tr), (x_te, y_te) = split(np.arange(10), np.arange(10), 0.2, seed=113)
        >>> len(x_tr), len(x_te), sorted(np.concatenate([x_tr, x_te])) == list(range(10))
        (8, 2, True)
    """
    check_split_args(test_split, seed)
    order = np.random.default_rng(int(seed)).permutation(len(x))
    x, y = x[order], y[order]
    n_train = int(len(x) * (1 - test_split))
    return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:])
