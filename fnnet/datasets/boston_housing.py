"""Boston house prices (506 districts, 13 features), like ``keras.datasets.boston_housing``.

Chapter 4 of "Deep Learning with Python" uses it for regression. It carries a known ethical
problem (a feature built on the assumption that racial self-segregation affects prices);
:mod:`~fnnet.datasets.california_housing` with ``version="small"`` is Keras's suggested
replacement.

:func:`load_data` reads Keras's ``boston_housing.npz`` from ``path``, the fnnet cache
(``$FNNET_HOME/datasets``), Keras's cache (``$KERAS_HOME/datasets``), or Keras's URL (checked
against Keras's hash), with ``np.load(allow_pickle=False)``.
"""

from __future__ import annotations

import os

import numpy as np

from fnnet.datasets._download import locate
from fnnet.datasets._regression import read_xy
from fnnet.datasets._split import check_keras_seed, check_split_args, keras_split

__all__ = ["BOSTON_HOUSING_ORIGIN", "BOSTON_HOUSING_SHA256", "load_data"]

BOSTON_HOUSING_ORIGIN = (
    "https://storage.googleapis.com/tensorflow/tf-keras-datasets/boston_housing.npz"
)
"""Where Keras downloads ``boston_housing.npz`` from."""

BOSTON_HOUSING_SHA256 = "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5"
"""The SHA-256 of ``boston_housing.npz`` (the hash Keras itself checks)."""

Split = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def load_data(
    path: str | os.PathLike = "boston_housing.npz",
    test_split: float = 0.2,
    seed: int = 113,
    *,
    origin: str = BOSTON_HOUSING_ORIGIN,
    file_hash: str = BOSTON_HOUSING_SHA256,
    timeout: float = 30.0,
) -> Split:
    """Load Boston Housing as ``((x_train, y_train), (x_test, y_test))``, as Keras does.

    Shapes and dtypes: ``x`` float64 ``(N, 13)``, unscaled (normalize with the training set's
    mean and standard deviation); ``y`` float64 ``(N,)``, the median price in k$. With the
    defaults, 404 train and 102 test. The rows are shuffled with
    ``np.random.RandomState(seed)`` as Keras does, and the first ``int(N * (1 - test_split))``
    train, so the same arguments give the same arrays as Keras.

    Args:
        path: a path to ``boston_housing.npz``, or the file name to use inside the caches.
        test_split: the fraction that goes to the test set, in [0, 1).
        seed: the shuffling seed, in ``[0, 2**32)``.
        origin: the URL to download from when no copy is found.
        file_hash: the SHA-256 the downloaded file must have.
        timeout: seconds to wait on the network before giving up.

    Returns:
        ``((x_train, y_train), (x_test, y_test))`` as numpy arrays.

    Raises:
        DownloadError: (an :class:`OSError`) no copy was found and the download failed.
        TypeError: ``test_split`` is not a number or ``seed`` not an int.
        ValueError: ``test_split`` or ``seed`` is out of range, or the file is not Keras's.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = load_data()  # doctest: +SKIP
        >>> x_train.shape, x_test.shape  # doctest: +SKIP
        ((404, 13), (102, 13))
    """
    check_split_args(test_split, seed)
    check_keras_seed(seed)
    file = locate(
        path, origin=origin, file_hash=file_hash, what="Boston Housing", timeout=timeout
    )
    x, y = read_xy(file, "Boston Housing", 13)
    return keras_split(x, y, test_split, seed)
