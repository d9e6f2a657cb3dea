"""CIFAR-100 (32x32 colour images in 100 classes, grouped into 20 superclasses), like Keras.

:func:`load_data` reads the same file as ``keras.datasets.cifar100``, the "python version"
archive ``cifar-100-python.tar.gz``, looking in order at ``path``, the fnnet cache
(``$FNNET_HOME/datasets``), Keras's cache (``$KERAS_HOME/datasets``: Keras 3's
``cifar-100-python-target_archive`` or the folder it extracted it into, then older Keras's
``cifar-100-python.tar.gz`` or ``cifar-100-python`` folder), and last the network
(:data:`CIFAR100_ORIGIN`, verified against Keras's hash :data:`CIFAR100_SHA256`).

As for :mod:`~fnnet.datasets.cifar10`, the pickled batches are parsed by fnnet's own reader,
which runs nothing from the file, and the archive is never extracted.
"""

from __future__ import annotations

import os

import numpy as np

from fnnet.datasets._cifar import read_batches
from fnnet.datasets._download import locate

__all__ = ["CIFAR100_ORIGIN", "CIFAR100_SHA256", "load_data"]

CIFAR100_ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
"""Where Keras downloads CIFAR-100 from."""

CIFAR100_SHA256 = "85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7"
"""The SHA-256 of ``cifar-100-python.tar.gz`` (the hash Keras itself checks)."""

_KERAS_NAMES = (
    "cifar-100-python-target_archive",
    os.path.join("cifar-100-python-target", "cifar-100-python"),
    "cifar-100-python.tar.gz",
    "cifar-100-python",
)

Split = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def load_data(
    label_mode: str = "fine",
    *,
    path: str | os.PathLike = "cifar-100-python.tar.gz",
    origin: str = CIFAR100_ORIGIN,
    file_hash: str = CIFAR100_SHA256,
    timeout: float = 30.0,
) -> Split:
    """Load CIFAR-100 as ``((x_train, y_train), (x_test, y_test))``, like Keras.

    Shapes and dtypes, as ``keras.datasets.cifar100.load_data()`` returns them (channels last):
    ``x_train`` uint8 ``(50000, 32, 32, 3)``, ``y_train`` ``(50000, 1)``, ``x_test`` uint8
    ``(10000, 32, 32, 3)``, ``y_test`` ``(10000, 1)``. The labels are int64, as Keras really
    returns them (its docstring says uint8): 0-99 for ``"fine"``, 0-19 for ``"coarse"``.

    Args:
        label_mode: ``"fine"`` for the 100 classes, ``"coarse"`` for the 20 superclasses.
        path: a path to ``cifar-100-python.tar.gz``, or the file name to use in the fnnet cache.
        origin: the URL to download from when no copy is found.
        file_hash: the SHA-256 the downloaded file must have.
        timeout: seconds to wait on the network before giving up.

    Returns:
        ``((x_train, y_train), (x_test, y_test))`` as numpy arrays.

    Raises:
        DownloadError: (an :class:`OSError`) no copy was found and the download failed.
        ValueError: ``label_mode`` is neither ``"fine"`` nor ``"coarse"``, or the archive is
            corrupt or not CIFAR-100's.

    Example:
        >>> (x_train, y_train), _ = load_data(label_mode="coarse")  # doctest: +SKIP
        >>> x_train.shape, int(y_train.max())  # doctest: +SKIP
        ((50000, 32, 32, 3), 19)
    """
    if label_mode not in ("fine", "coarse"):
        raise ValueError(
            f"cifar100.load_data: label_mode must be 'fine' (100 classes) or 'coarse' (20 "
            f"superclasses), got {label_mode!r}; pass e.g. label_mode='fine'."
        )
    source = locate(
        path,
        origin=origin,
        file_hash=file_hash,
        what="CIFAR-100",
        timeout=timeout,
        keras_names=_KERAS_NAMES,
    )
    (x_train, y_train), (x_test, y_test) = read_batches(
        source, "cifar-100-python", ["train", "test"], f"{label_mode}_labels"
    )
    # np.asarray on Keras's list of ints, hence the platform's default int (int64).
    return (
        (x_train.transpose(0, 2, 3, 1), np.asarray(y_train).reshape(-1, 1)),
        (x_test.transpose(0, 2, 3, 1), np.asarray(y_test).reshape(-1, 1)),
    )
