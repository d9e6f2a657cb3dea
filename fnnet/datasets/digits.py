"""scikit-learn's 8x8 handwritten digits (1,797 samples, 10 classes), split like a Keras dataset.

A small, real, offline classification set: each sample is an 8x8 image of a digit with pixel
counts 0-16 (UCI's optdigits test split). Needs scikit-learn (``pip install fnnet[datasets]``).
"""

from __future__ import annotations

import numpy as np

from fnnet.datasets._split import Split, import_sklearn_datasets, split

__all__ = ["load_data"]


def load_data(test_split: float = 0.2, seed: int = 113) -> Split:
    """Load the 8x8 digits as ``((x_train, y_train), (x_test, y_test))``.

    Shapes and dtypes: ``x`` float32 ``(N, 64)``, the flattened 8x8 images scaled to [0, 1]
    (divided by 16); ``y`` int32 ``(N,)`` with labels 0-9. The split is fixed: the 1,797
    samples are shuffled with ``np.random.default_rng(seed).permutation`` and the last
    ``test_split`` fraction goes to test, so calls with the same arguments return the same arrays.

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
        >>> x_train.shape, y_train.shape, x_test.shape, x_train.dtype, y_train.dtype
        ((1437, 64), (1437,), (360, 64), dtype('float32'), dtype('int32'))
        >>> float(x_train.min()), float(x_train.max())
        (0.0, 1.0)
    """
    bunch = import_sklearn_datasets("digits").load_digits()
    x = np.asarray(bunch.data, dtype=np.float32) / np.float32(16.0)
    y = np.asarray(bunch.target, dtype=np.int32)
    return split(x, y, test_split, seed)
