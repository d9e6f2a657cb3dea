"""Fashion-MNIST (Zalando's 28x28 clothing images), compatible with ``keras.datasets.fashion_mnist``.

:func:`load_data` reads Keras's four gzipped IDX files, each looked for in order in

1. the fnnet cache, ``$FNNET_HOME/datasets/fashion-mnist/`` (``FNNET_HOME`` defaults to
   ``~/.fnnet``);
2. Keras's cache, ``$KERAS_HOME/datasets/fashion-mnist/`` (``KERAS_HOME`` defaults to
   ``~/.keras``), where ``keras.datasets.fashion_mnist`` keeps them;
3. the network: Keras's folder :data:`FASHION_MNIST_ORIGIN`, each file verified against
   :data:`FASHION_MNIST_SHA256` before it is kept in the fnnet cache. Keras checks no hash for
   these files, so fnnet uses the SHA-256 of Zalando's published files (the ones whose MD5s
   Zalando lists); Keras's copies have the same sizes. Should a copy ever differ, the download
   is refused, not misread: pass ``file_hashes`` to accept it.

The classes, by label: 0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat, 5 Sandal,
6 Shirt, 7 Sneaker, 8 Bag, 9 Ankle boot (:data:`CLASS_NAMES`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from fnnet.datasets._download import locate
from fnnet.datasets._idx import read_idx

__all__ = ["CLASS_NAMES", "FASHION_MNIST_ORIGIN", "FASHION_MNIST_SHA256", "load_data"]

FASHION_MNIST_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
"""The folder Keras downloads the four files from (the file name is appended)."""

FASHION_MNIST_SHA256 = {
    "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
}
"""The SHA-256 of each file, in the order Keras reads them."""

CLASS_NAMES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip
"""The class names, indexed by label."""

Split = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def load_data(
    *,
    origin: str = FASHION_MNIST_ORIGIN,
    file_hashes: Mapping[str, str] = FASHION_MNIST_SHA256,
    timeout: float = 30.0,
) -> Split:
    """Load Fashion-MNIST as ``((x_train, y_train), (x_test, y_test))``, like Keras.

    Shapes and dtypes, as ``keras.datasets.fashion_mnist.load_data()`` returns them:
    ``x_train`` uint8 ``(60000, 28, 28)``, ``y_train`` uint8 ``(60000,)``, ``x_test`` uint8
    ``(10000, 28, 28)``, ``y_test`` uint8 ``(10000,)``; pixels 0-255, labels 0-9. The arrays are
    read-only views of the files' bytes; copy them to write.

    Each file is looked for as the module docstring lists and downloaded only when missing;
    a download is kept only when complete and matching its hash. Unlike Keras, which reads at
    fixed offsets, the IDX headers (magic number, sizes) are checked.

    Args:
        origin: the folder URL to download from (ending in ``/``); the file name is appended.
        file_hashes: the SHA-256 of each of the four files, by file name.
        timeout: seconds to wait on the network before giving up.

    Returns:
        ``((x_train, y_train), (x_test, y_test))`` as numpy arrays.

    Raises:
        DownloadError: (an :class:`OSError`) a file was not found and its download failed; the
            message says where to put it.
        ValueError: a file is not the IDX file it should be, or images and labels differ in
            number.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = load_data()  # doctest: +SKIP
        >>> x_train.shape, CLASS_NAMES[y_train[0]]  # doctest: +SKIP
        ((60000, 28, 28), 'Ankle boot')
    """
    arrays = []
    for name in FASHION_MNIST_SHA256:
        file = locate(
            name,
            origin=origin + name,
            file_hash=file_hashes[name],
            what=f"Fashion-MNIST's {name}",
            timeout=timeout,
            subdir="fashion-mnist",
        )
        arrays.append(read_idx(file, 3 if "images" in name else 1))
    y_train, x_train, y_test, x_test = arrays
    for x, y, split in ((x_train, y_train, "train"), (x_test, y_test, "t10k")):
        if x.shape[1:] != (28, 28) or len(x) != len(y):
            raise ValueError(
                f"Fashion-MNIST's {split} files do not match: images of shape {x.shape} and "
                f"{len(y)} labels, expected (N, 28, 28) and N; delete them from the cache and "
                f"fetch them again."
            )
    return (x_train, y_train), (x_test, y_test)
