"""California house prices (20,640 districts, 8 features), like Keras's ``california_housing``.

The features: median income, house age, average rooms, average bedrooms, population, average
occupancy, latitude, longitude; the target is the median house value in dollars.
``version="small"`` keeps the first 600 districts, Keras's stand-in for Boston Housing.

:func:`load_data` reads Keras's ``california_housing.npz`` from ``path``, the fnnet cache
(``$FNNET_HOME/datasets``), Keras's cache (``$KERAS_HOME/datasets``), or Keras's URL (checked
against Keras's hash), with ``np.load(allow_pickle=False)``.
"""

from __future__ import annotations

import os

import numpy as np

from fnnet.datasets._download import locate
from fnnet.datasets._regression import read_xy
from fnnet.datasets._split import check_keras_seed, check_split_args, keras_split

__all__ = ["CALIFORNIA_HOUSING_ORIGIN", "CALIFORNIA_HOUSING_SHA256", "load_data"]

CALIFORNIA_HOUSING_ORIGIN = (
    "https://storage.googleapis.com/tensorflow/tf-keras-datasets/california_housing.npz"
)
"""Where Keras downloads ``california_housing.npz`` from."""

CALIFORNIA_HOUSING_SHA256 = "1a2e3a52e0398de6463aebe6f4a8da34fb21fbb6b934cf88c3425e766f2a1a6f"
"""The SHA-256 of ``california_housing.npz`` (the hash Keras itself checks)."""

_SMALL = 600

Split = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def load_data(
    version: str = "large",
    path: str | os.PathLike = "california_housing.npz",
    test_split: float = 0.2,
    seed: int = 113,
    *,
    origin: str = CALIFORNIA_HOUSING_ORIGIN,
    file_hash: str = CALIFORNIA_HOUSING_SHA256,
    timeout: float = 30.0,
) -> Split:
    """Load California Housing as ``((x_train, y_train), (x_test, y_test))``, as Keras does.

    Shapes and dtypes are the file's (float32): ``x`` ``(N, 8)`` unscaled, ``y`` ``(N,)`` in
    dollars. ``"large"`` is all 20,640 districts (16,512 train, 4,128 test by default);
    ``"small"`` the first 600 (480 and 120). The rows are shuffled with
    ``np.random.RandomState(seed)`` after taking the version, as Keras does, and the first
    ``int(N * (1 - test_split))`` train, so the same arguments give the same arrays as Keras.

    Args:
        version: ``"large"`` or ``"small"``.
        path: a path to ``california_housing.npz``, or the file name to use inside the caches.
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
        ValueError: ``version`` is unknown, ``test_split`` or ``seed`` is out of range, or the
            file is not Keras's.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = load_data(version="small")  # doctest: +SKIP
        >>> x_train.shape, x_test.shape  # doctest: +SKIP
        ((480, 8), (120, 8))
    """
    if version not in ("large", "small"):
        raise ValueError(
            f"california_housing.load_data: version must be 'large' (20,640 districts) or "
            f"'small' (the first 600), got {version!r}; pass e.g. version='small'."
        )
    check_split_args(test_split, seed)
    check_keras_seed(seed)
    file = locate(
        path, origin=origin, file_hash=file_hash, what="California Housing", timeout=timeout
    )
    x, y = read_xy(file, "California Housing", 8)
    if version == "small":
        x, y = x[:_SMALL], y[:_SMALL]
    return keras_split(x, y, test_split, seed)
