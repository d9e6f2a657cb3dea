"""MNIST handwritten digits, compatible with ``keras.datasets.mnist``.

:func:`load_data` reads Keras's ``mnist.npz`` (the full 60,000 + 10,000 digits), looking in order at

1. ``path`` itself, when it names an existing file (absolute, or relative to the working folder);
2. the fnnet cache, ``$FNNET_HOME/datasets/<basename(path)>`` (``FNNET_HOME`` defaults to
   ``~/.fnnet``);
3. Keras's cache, ``$KERAS_HOME/datasets/<basename(path)>`` (``KERAS_HOME`` defaults to
   ``~/.keras``), so a file Keras already fetched is reused;
4. the network: Keras's URL :data:`MNIST_ORIGIN`, verified against :data:`MNIST_SHA256`
   before it is kept in the fnnet cache.

:func:`load_idx` reads the original IDX files from Yann LeCun's site instead, and
:func:`load_idx_split` splits the 10,000-digit test split into a small train/test pair for
machines that only have that one.
"""

from __future__ import annotations

import os
import zipfile

import numpy as np

from fnnet.datasets._download import locate
from fnnet.datasets._idx import read_idx

__all__ = ["MNIST_ORIGIN", "MNIST_SHA256", "load_data", "load_idx", "load_idx_split"]

MNIST_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
"""Where Keras downloads ``mnist.npz`` from."""

MNIST_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48938e5e1b2bc0a"
"""The SHA-256 of Keras's ``mnist.npz`` (the hash Keras itself checks)."""

_NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")
_KINDS = ("train", "t10k")

Split = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def load_data(
    path: str | os.PathLike = "mnist.npz",
    *,
    origin: str = MNIST_ORIGIN,
    file_hash: str = MNIST_SHA256,
    timeout: float = 30.0,
) -> Split:
    """Load MNIST as ``((x_train, y_train), (x_test, y_test))``, like ``keras.datasets.mnist``.

    Shapes and dtypes: ``x_train`` uint8 ``(60000, 28, 28)``, ``y_train`` uint8 ``(60000,)``,
    ``x_test`` uint8 ``(10000, 28, 28)``, ``y_test`` uint8 ``(10000,)``; pixels are 0-255 and
    labels 0-9. Scale the images yourself (``x / 255.0``).

    The file is searched for as the module docstring lists (``path``, the fnnet cache, Keras's
    cache) and downloaded only when none has it. A download is atomic and verified: it is kept
    only when complete and matching ``file_hash``; otherwise nothing is left behind. Files
    already on disk are trusted as they are. The ``.npz`` is read with ``allow_pickle=False``.

    Args:
        path: a path to ``mnist.npz``, or the file name to use inside the caches.
        origin: the URL to download from when no copy is found (e.g. a local mirror).
        file_hash: the SHA-256 hex digest the downloaded file must have.
        timeout: seconds to wait on the network before giving up.

    Returns:
        ``((x_train, y_train), (x_test, y_test))`` as numpy arrays.

    Raises:
        DownloadError: (an :class:`OSError`) no copy was found and the download failed; the
            message says where to put the file, and that :func:`load_idx` reads the IDX files.
        ValueError: the file is not a Keras-style ``mnist.npz`` (missing keys, wrong shapes,
            pickled objects), or ``path`` names a folder.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = load_data()  # doctest: +SKIP
        >>> x_train.shape, y_train.dtype  # doctest: +SKIP
        ((60000, 28, 28), dtype('uint8'))
    """
    file = locate(
        path,
        origin=origin,
        file_hash=file_hash,
        what="MNIST",
        timeout=timeout,
        hint=", or read the original IDX files with fnnet.datasets.mnist.load_idx(directory)",
    )
    return _read_npz(file)


def _read_npz(file: str) -> Split:
    try:
        data = np.load(file, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise ValueError("it holds a single array, not an .npz archive")
        with data:
            missing = [k for k in _NPZ_KEYS if k not in data.files]
            if missing:
                raise ValueError(f"it lacks the keys {missing} (it has {sorted(data.files)})")
            x_train, y_train, x_test, y_test = (data[k] for k in _NPZ_KEYS)
    except (ValueError, zipfile.BadZipFile, EOFError) as err:
        raise ValueError(
            f"Could not read {file!r} as Keras's mnist.npz: {str(err).rstrip('.')}. Expected an "
            f".npz with uint8 arrays {list(_NPZ_KEYS)} and no pickled objects; delete the file "
            f"and fetch it again."
        ) from err
    for x, y, split in ((x_train, y_train, "train"), (x_test, y_test, "test")):
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise ValueError(
                f"{file!r} is not a Keras mnist.npz: x_{split} has shape {x.shape} and y_{split} "
                f"has shape {y.shape}; expected (N, 28, 28) and (N,). Delete the file and fetch "
                f"it again."
            )
    return (x_train, y_train), (x_test, y_test)


def _find(directory: str, stem: str) -> str:
    for candidate in (stem, f"{stem}.gz"):
        file = os.path.join(directory, candidate)
        if os.path.isfile(file):
            return file
    raise FileNotFoundError(
        f"No IDX file {stem!r} or {stem + '.gz'!r} in {directory!r}; download it from the MNIST "
        f"site (e.g. a mirror of yann.lecun.com/exdb/mnist) into that folder."
    )


def load_idx(directory: str | os.PathLike, kind: str = "t10k") -> tuple[np.ndarray, np.ndarray]:
    """Read MNIST from its original IDX files, gzipped or not.

    Reads ``{kind}-images-idx3-ubyte[.gz]`` and ``{kind}-labels-idx1-ubyte[.gz]`` from
    ``directory``, checking their magic numbers, that the data size matches the header, and
    that images and labels are equally many.

    Args:
        directory: the folder holding the IDX files.
        kind: ``"t10k"`` for the 10,000-digit test split, ``"train"`` for the 60,000-digit one.

    Returns:
        ``(images, labels)``: uint8 ``(N, 28, 28)`` with pixels 0-255, and uint8 ``(N,)``.

    Raises:
        FileNotFoundError: a file is missing from ``directory``.
        ValueError: ``kind`` is unknown, or a file is truncated, corrupt or not IDX.

    Example:
        >>> images, labels = load_idx("../shared/data/mnist")  # doctest: +SKIP
        >>> images.shape, labels[:3]  # doctest: +SKIP
        ((10000, 28, 28), array([7, 2, 1], dtype=uint8))
    """
    if kind not in _KINDS:
        raise ValueError(
            f"kind must be 't10k' (the test split) or 'train', got {kind!r}; pass "
            f"load_idx(directory, kind='t10k')."
        )
    directory = os.fspath(directory)
    images_file = _find(directory, f"{kind}-images-idx3-ubyte")
    labels_file = _find(directory, f"{kind}-labels-idx1-ubyte")
    images = read_idx(images_file, 3)
    labels = read_idx(labels_file, 1)
    if len(images) != len(labels):
        raise ValueError(
            f"{images_file!r} holds {len(images)} images but {labels_file!r} holds {len(labels)} "
            f"labels; the two files come from different splits or one is corrupt."
        )
    return images, labels


def load_idx_split(directory: str | os.PathLike, n_train: int = 8000) -> Split:
    """Split the 10,000-digit MNIST test split into ``((x_train, y_train), (x_test, y_test))``.

    For machines that have only the ``t10k`` IDX files: the first ``n_train`` digits train and
    the rest test (the split is fixed, not shuffled). Shapes and dtypes are as in
    :func:`load_data`.

    Args:
        directory: the folder holding ``t10k-images-idx3-ubyte[.gz]`` and
            ``t10k-labels-idx1-ubyte[.gz]``.
        n_train: how many digits go to the training set, ``0 < n_train < 10000``.

    Returns:
        ``((x_train, y_train), (x_test, y_test))`` as uint8 numpy arrays.

    Raises:
        TypeError: ``n_train`` is not an int.
        ValueError: ``n_train`` is out of range, or the files are corrupt (see :func:`load_idx`).

    Example:
        >>> (x_train, y_train), (x_test, y_test) = load_idx_split(  # doctest: +SKIP
        ...     "../shared/data/mnist"
        ... )
        >>> len(x_train), len(x_test)  # doctest: +SKIP
        (8000, 2000)
    """
    if isinstance(n_train, bool) or not isinstance(n_train, int | np.integer):
        raise TypeError(
            f"n_train must be an int, got {n_train!r} of type {type(n_train).__name__}; pass e.g. "
            f"n_train=8000."
        )
    images, labels = load_idx(directory, "t10k")
    if not 0 < n_train < len(images):
        raise ValueError(
            f"n_train must be between 1 and {len(images) - 1} so both sets are non-empty, got "
            f"{n_train}; pass e.g. n_train=8000."
        )
    return (images[:n_train], labels[:n_train]), (images[n_train:], labels[n_train:])
