"""The Wisconsin diagnostic breast-cancer data (569 samples, 30 features, binary), Keras-style.

A small, real, offline binary classification set from scikit-learn: 30 features computed from
images of cell nuclei, and whether the tumour is benign. Needs scikit-learn
(``pip install fnnet[datasets]``).
"""

from __future__ import annotations

import numpy as np

from fnnet.datasets._split import Split, import_sklearn_datasets, split

__all__ = ["load_data"]


def load_data(test_split: float = 0.2, seed: int = 113) -> Split:
    """Load breast cancer as ``((x_train, y_train), (x_test, y_test))``.

    Shapes and dtypes: ``x`` float32 ``(N, 30)`` with the *raw* features, whose scales differ
    by orders of magnitude (from about 0.001 to 4,000), so normalise them before training, with
    statistics from the training set only, as Keras's ``boston_housing`` example does::

        mean, std = x_train.mean(axis=0), x_train.std(axis=0)
        x_train, x_test = (x_train - mean) / std, (x_test - mean) / std

    ``y`` float32 ``(N,)`` is 1.0 for benign and 0.0 for malignant (scikit-learn's coding),
    ready for a sigmoid output and binary cross-entropy. The split is fixed: the 569 samples are
    shuffled with ``np.random.default_rng(seed).permutation`` and the last ``test_split``
    fraction goes to test.

    Args:
        test_split: the fraction of samples in the test set, in [0, 1).
        seed: the shuffling seed (Keras's datasets use 113).

    Returns:
        ``((x_train, y_train), (x_test, y_test))`` as numpy arrays.

    Raises:
        ImportError: scikit-learn is not installed.
        TypeError: ``test_split`` is not a number, or ``seed`` is not an int.
        ValueError: ``test_split`` is outside [0, 1), or ``seed`` is negative.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = load_data()
        >>> x_train.shape, x_test.shape, x_train.dtype, y_train.dtype
        ((455, 30), (114, 30), dtype('float32'), dtype('float32'))
        >>> sorted(set(y_train.tolist()))
        [0.0, 1.0]
    """
    bunch = import_sklearn_datasets("breast_cancer").load_breast_cancer()
    x = np.asarray(bunch.data, dtype=np.float32)
    y = np.asarray(bunch.target, dtype=np.float32)
    return split(x, y, test_split, seed)
