"""Reuters newswires (11,228, in 46 topics), like ``keras.datasets.reuters``.

Each newswire is a list of word indices, words ranked by frequency, shifted by ``index_from``
as in :mod:`~fnnet.datasets.imdb`. :func:`load_data` reads Keras's ``reuters.npz``,
:func:`get_word_index` ``reuters_word_index.json``, and :func:`get_label_names` gives the
topics. Files are looked for at ``path``, in the fnnet cache (``$FNNET_HOME/datasets``), in
Keras's cache (``$KERAS_HOME/datasets``), and last downloaded from Keras's URL and checked
against Keras's hash. As for IMDB, the pickled lists inside the ``.npz`` are parsed by fnnet's
own reader, which runs nothing from the file.
"""

from __future__ import annotations

import os

import numpy as np

from fnnet.datasets._download import locate
from fnnet.datasets._sequences import (
    cap_vocabulary,
    check_args,
    drop_long,
    read_npz,
    read_word_index,
    shift,
    to_object_array,
)
from fnnet.datasets._split import check_split_args, keras_permutations

__all__ = [
    "REUTERS_ORIGIN",
    "REUTERS_SHA256",
    "WORD_INDEX_ORIGIN",
    "WORD_INDEX_MD5",
    "get_label_names",
    "get_word_index",
    "load_data",
]

REUTERS_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/reuters.npz"
"""Where Keras downloads ``reuters.npz`` from."""

REUTERS_SHA256 = "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916"
"""The SHA-256 of ``reuters.npz`` (the hash Keras itself checks)."""

WORD_INDEX_ORIGIN = (
    "https://storage.googleapis.com/tensorflow/tf-keras-datasets/reuters_word_index.json"
)
"""Where Keras downloads ``reuters_word_index.json`` from."""

WORD_INDEX_MD5 = "4d44cc38712099c9e383dc6e5f11a921"
"""The MD5 of ``reuters_word_index.json``: Keras publishes no SHA-256 for it."""

_LABEL_NAMES = (
    "cocoa", "grain", "veg-oil", "earn", "acq", "wheat", "copper", "housing", "money-supply",
    "coffee", "sugar", "trade", "reserves", "ship", "cotton", "carcass", "crude", "nat-gas",
    "cpi", "money-fx", "interest", "gnp", "meal-feed", "alum", "oilseed", "gold", "tin",
    "strategic-metal", "livestock", "retail", "ipi", "iron-steel", "rubber", "heat", "jobs",
    "lei", "bop", "zinc", "orange", "pet-chem", "dlr", "gas", "silver", "wpi", "hog", "lead",
)  # fmt: skip

Split = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def load_data(
    path: str | os.PathLike = "reuters.npz",
    num_words: int | None = None,
    skip_top: int = 0,
    maxlen: int | None = None,
    test_split: float = 0.2,
    seed: int = 113,
    start_char: int | None = 1,
    oov_char: int | None = 2,
    index_from: int = 3,
    *,
    origin: str = REUTERS_ORIGIN,
    file_hash: str = REUTERS_SHA256,
    timeout: float = 30.0,
) -> Split:
    """Load Reuters as ``((x_train, y_train), (x_test, y_test))``, as Keras does.

    Shapes and dtypes: ``x_train`` and ``x_test`` are 1-D object arrays of lists of ints (one
    per newswire, of varying length); ``y_train`` and ``y_test`` are int64 ``(N,)`` topics,
    0-45 (see :func:`get_label_names`). With the defaults, 8,982 train and 2,246 test.

    The steps are Keras's, in its order: shuffle the 11,228 newswires with
    ``np.random.RandomState(seed)``; prepend ``start_char`` and add ``index_from``; with
    ``maxlen``, keep those *shorter* than ``maxlen``; replace indices outside
    ``[skip_top, num_words)`` with ``oov_char`` (or drop them when it is None); then the first
    ``int(N * (1 - test_split))`` train and the rest test. The quirks are those of
    :func:`fnnet.datasets.imdb.load_data` (the largest index becomes ``oov_char`` without
    ``num_words``; ``x`` is always 1-D here).

    Args:
        path: a path to ``reuters.npz``, or the file name to use inside the caches.
        num_words: keep indices below ``num_words``; None keeps all.
        skip_top: also replace the indices below ``skip_top``.
        maxlen: drop newswires of ``maxlen`` indices or more; None keeps all.
        test_split: the fraction that goes to the test set, in [0, 1).
        seed: the shuffling seed, in ``[0, 2**32)``.
        start_char: the index that starts every newswire; None adds none.
        oov_char: the index that replaces dropped words; None removes them instead.
        index_from: added to every word's rank.
        origin: the URL to download from when no copy is found.
        file_hash: the SHA-256 the downloaded file must have.
        timeout: seconds to wait on the network before giving up.

    Returns:
        ``((x_train, y_train), (x_test, y_test))``.

    Raises:
        DownloadError: (an :class:`OSError`) no copy was found and the download failed.
        TypeError: an argument has the wrong type.
        ValueError: an argument is out of range, ``maxlen`` leaves nothing, or the file is not
            Keras's ``reuters.npz``.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = load_data(num_words=10000)  # doctest: +SKIP
        >>> len(x_train), len(x_test), get_label_names()[y_train[0]]  # doctest: +SKIP
        (8982, 2246, 'earn')
    """
    check_args(
        "reuters.load_data",
        num_words=num_words,
        skip_top=skip_top,
        maxlen=maxlen,
        seed=seed,
        start_char=start_char,
        oov_char=oov_char,
        index_from=index_from,
    )
    check_split_args(test_split, seed)
    file = locate(path, origin=origin, file_hash=file_hash, what="Reuters", timeout=timeout)
    arrays = read_npz(file, ("x", "y"), "Reuters")
    xs, labels = arrays["x"], arrays["y"]
    (order,) = keras_permutations(seed, len(xs))
    xs, labels = xs[order], labels[order]
    xs = shift(xs, start_char, index_from)
    xs, labels = drop_long(maxlen, xs, labels)
    if not xs:
        raise ValueError(
            f"reuters.load_data: no newswire is shorter than maxlen={maxlen} (start_char "
            f"included); pass a larger maxlen, or None."
        )
    xs = cap_vocabulary(xs, num_words, skip_top, oov_char)
    n = int(len(xs) * (1 - test_split))
    return (
        (to_object_array(xs[:n]), np.array(labels[:n])),
        (to_object_array(xs[n:]), np.array(labels[n:])),
    )


def get_word_index(
    path: str | os.PathLike = "reuters_word_index.json",
    *,
    origin: str = WORD_INDEX_ORIGIN,
    file_hash: str = WORD_INDEX_MD5,
    timeout: float = 30.0,
) -> dict[str, int]:
    """The word index of Reuters: a dict from word to frequency rank (1 is the most frequent).

    The word of rank ``r`` appears in :func:`load_data`'s lists as ``r + index_from``.

    Args:
        path: a path to ``reuters_word_index.json``, or the file name to use in the caches.
        origin: the URL to download from when no copy is found.
        file_hash: the hash the downloaded file must have (Keras's MD5 by default).
        timeout: seconds to wait on the network before giving up.

    Returns:
        The dict, as ``json.load`` reads it.

    Raises:
        DownloadError: (an :class:`OSError`) no copy was found and the download failed.
        ValueError: the file is not a JSON object of ints.

    Example:
        >>> get_word_index()["the"]  # doctest: +SKIP
        1
    """
    file = locate(
        path, origin=origin, file_hash=file_hash, what="Reuters' word index", timeout=timeout
    )
    return read_word_index(file, "Reuters")


def get_label_names() -> tuple[str, ...]:
    """The 46 topic names, indexed by label, as ``keras.datasets.reuters.get_label_names()``.

    Example:
        >>> names = get_label_names()
        >>> len(names), names[3], names[4]
        (46, 'earn', 'acq')
    """
    return _LABEL_NAMES
