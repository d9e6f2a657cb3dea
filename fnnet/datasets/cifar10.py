"""CIFAR-10 (32x32 colour images in 10 classes), compatible with ``keras.datasets.cifar10``.

:func:`load_data` reads the same file as Keras, the "python version" archive
``cifar-10-python.tar.gz``, looking in order at

1. ``path`` itself, when it names an existing file;
2. the fnnet cache, ``$FNNET_HOME/datasets/cifar-10-python.tar.gz`` (``FNNET_HOME`` defaults
   to ``~/.fnnet``);
3. Keras's cache, ``$KERAS_HOME/datasets/`` (``KERAS_HOME`` defaults to ``~/.keras``): Keras 3's
   ``cifar-10-batches-py-target_archive`` or the folder it extracted it into, then the
   ``cifar-10-batches-py.tar.gz`` or ``cifar-10-batches-py`` folder of older Keras;
4. the network: Keras's URL :data:`CIFAR10_ORIGIN`, verified against Keras's hash
   :data:`CIFAR10_SHA256` before it is kept in the fnnet cache.

The batches inside are Python pickles. They are **not unpickled**: a small reader of its own
(``fnnet.datasets._pickle``) parses the pickle opcodes and accepts only plain data and numpy's
array layout, so nothing named in the file is ever imported or called. The archive is read in
memory, never extracted. (The "binary version" of CIFAR needs no pickle at all, but it is not
the file Keras fetches or caches, so reading it would forgo Keras's cache and hash.)
"""

from __future__ import annotations

import os

import numpy as np

from fnnet.datasets._cifar import read_batches
from fnnet.datasets._download import locate

__all__ = ["CIFAR10_ORIGIN", "CIFAR10_SHA256", "CLASS_NAMES", "load_data"]

CIFAR10_ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
"""Where Keras downloads CIFAR-10 from."""

CIFAR10_SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
"""The SHA-256 of ``cifar-10-python.tar.gz`` (the hash Keras itself checks)."""

CLASS_NAMES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip
"""The class names, indexed by label."""

_KERAS_NAMES = (
    "cifar-10-batches-py-target_archive",
    os.path.join("cifar-10-batches-py-target", "cifar-10-batches-py"),
    "cifar-10-batches-py.tar.gz",
    "cifar-10-batches-py",
)
_BATCHES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]

Split = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def load_data(
    *,
    path: str | os.PathLike = "cifar-10-python.tar.gz",
    origin: str = CIFAR10_ORIGIN,
    file_hash: str = CIFAR10_SHA256,
    timeout: float = 30.0,
) -> Split:
    """Load CIFAR-10 as ``((x_train, y_train), (x_test, y_test))``, like Keras.

    Shapes and dtypes, as ``keras.datasets.cifar10.load_data()`` returns them (channels last):
    ``x_train`` uint8 ``(50000, 32, 32, 3)``, ``y_train`` uint8 ``(50000, 1)``, ``x_test`` uint8
    ``(10000, 32, 32, 3)``, ``y_test`` uint8 ``(10000, 1)``; pixels 0-255, labels 0-9 (see
    :data:`CLASS_NAMES`). The training set is ``data_batch_1`` to ``data_batch_5`` in order.

    Args:
        path: a path to ``cifar-10-python.tar.gz``, or the file name to use in the fnnet cache.
            Keyword-only: Keras's ``load_data`` takes no arguments.
        origin: the URL to download from when no copy is found.
        file_hash: the SHA-256 the downloaded file must have.
        timeout: seconds to wait on the network before giving up.

    Returns:
        ``((x_train, y_train), (x_test, y_test))`` as numpy arrays.

    Raises:
        DownloadError: (an :class:`OSError`) no copy was found and the download failed.
        ValueError: the archive is corrupt, lacks a batch, or a batch is not CIFAR's pickle
            layout (for instance a pickle naming anything but numpy's array functions).

    Example:
        >>> (x_train, y_train), (x_test, y_test) = load_data()  # doctest: +SKIP
        >>> x_train.shape, y_train.shape, CLASS_NAMES[y_train[0, 0]]  # doctest: +SKIP
        ((50000, 32, 32, 3), (50000, 1), 'frog')
    """
    source = locate(
        path,
        origin=origin,
        file_hash=file_hash,
        what="CIFAR-10",
        timeout=timeout,
        keras_names=_KERAS_NAMES,
    )
    batches = read_batches(source, "cifar-10-batches-py", _BATCHES, "labels")
    x_train = np.concatenate([images for images, _ in batches[:-1]])
    y_train = np.array([label for _, labels in batches[:-1] for label in labels], np.uint8)
    x_test, y_test = batches[-1]
    # Keras keeps the images as channels-first arrays and returns their transposed views.
    return (
        (x_train.transpose(0, 2, 3, 1), y_train.reshape(-1, 1)),
        (x_test.transpose(0, 2, 3, 1), np.array(y_test, np.uint8).reshape(-1, 1)),
    )
