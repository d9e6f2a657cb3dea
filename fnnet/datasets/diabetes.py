"""The diabetes progression data (442 patients, 10 features, a regression target), Keras-style.

A small, real, offline regression set from scikit-learn (Efron et al., 2004): age, sex, body
mass index, blood pressure and six blood serum measurements, and a measure of disease
progression one year later. Needs scikit-learn (``pip install fnnet[datasets]``).
"""

from __future__ import annotations

import numpy as np

from fnnet.datasets._split import Split, import_sklearn_datasets, split

__all__ = ["load_data"]


def load_data(test_split: float = 0.2, seed: int = 113) -> Split:
    """Load diabetes as ``((x_train, y_train), (x_test, y_test))``.

    Shapes and dtypes: ``x`` float32 ``(N, 10)`` with the *raw* features (scikit-learn's
    ``scaled=False``: age in years, sex coded 1/2, and so on), so normalise them with
    training-set statistics before training, as for :mod:`fnnet.datasets.breast_cancer`;
    ``y`` float32 ``(N,)`` is the target, from 25 to 346. The split is fixed: the 442 samples
    are shuffled with ``np.random.default_rng(seed).permutation`` and the last ``test_split``
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
        >>> x_train.shape, y_train.shape, x_test.shape, y_train.dtype
        ((353, 10), (353,), (89, 10), dtype('float32'))
    """
    bunch = import_sklearn_datasets("diabetes").load_diabetes(scaled=False)
    x = np.asarray(bunch.data, dtype=np.float32)
    y = np.asarray(bunch.target, dtype=np.float32)
    return split(x, y, test_split, seed)
