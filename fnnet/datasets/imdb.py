"""IMDB movie reviews (25,000 + 25,000, positive or negative), like ``keras.datasets.imdb``.

Each review is a list of word indices, words ranked by frequency (index 1 is the most frequent
word), then shifted by ``index_from`` so that 0 (padding), 1 (start) and 2 (out of vocabulary)
stay free. :func:`load_data` reads Keras's ``imdb.npz``; :func:`get_word_index` reads
``imdb_word_index.json`` (word to rank). Each file is looked for at ``path``, in the fnnet cache
(``$FNNET_HOME/datasets``, default ``~/.fnnet``), in Keras's cache (``$KERAS_HOME/datasets``,
default ``~/.keras``), and last downloaded from Keras's URL and checked against Keras's hash.

``imdb.npz`` holds ragged lists, which numpy stores as pickles inside the ``.npz``. They are
**not unpickled**: fnnet's own reader (``fnnet.datasets._pickle``) parses the pickle opcodes and
builds only lists of ints and numpy arrays, calling nothing the file names; numeric members
are read by numpy with ``allow_pickle=False``.
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
from fnnet.datasets._split import keras_permutations

__all__ = [
    "IMDB_ORIGIN",
    "IMDB_SHA256",
    "WORD_INDEX_ORIGIN",
    "WORD_INDEX_MD5",
    "get_word_index",
    "load_data",
]

IMDB_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/imdb.npz"
"""Where Keras downloads ``imdb.npz`` from."""

IMDB_SHA256 = "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"
"""The SHA-256 of ``imdb.npz`` (the hash Keras itself checks)."""

WORD_INDEX_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/imdb_word_index.json"
"""Where Keras downloads ``imdb_word_index.json`` from."""

WORD_INDEX_MD5 = "bfafd718b763782e994055a2d397834f"
"""The MD5 of ``imdb_word_index.json``: Keras publishes no SHA-256 for it."""

Split = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def load_data(
    path: str | os.PathLike = "imdb.npz",
    num_words: int | None = None,
    skip_top: int = 0,
    maxlen: int | None = None,
    seed: int = 113,
    start_char: int | None = 1,
    oov_char: int | None = 2,
    index_from: int = 3,
    *,
    origin: str = IMDB_ORIGIN,
    file_hash: str = IMDB_SHA256,
    timeout: float = 30.0,
) -> Split:
    """Load IMDB as ``((x_train, y_train), (x_test, y_test))``, as Keras does.

    Shapes and dtypes: ``x_train`` and ``x_test`` are 1-D object arrays of lists of ints (one
    list per review, of varying length: pad them with :func:`fnnet.utils.pad_sequences`);
    ``y_train`` and ``y_test`` are int64 ``(N,)`` labels, 1 positive and 0 negative. With the
    defaults, N is 25,000 for each.

    The steps are Keras's, in its order, so the same arguments give the same arrays as Keras:
    shuffle the training set, then the test set, with one ``np.random.RandomState(seed)``;
    prepend ``start_char`` and add ``index_from`` to every index; with ``maxlen``, keep only
    reviews *shorter* than ``maxlen`` (counting ``start_char``); then replace every index
    outside ``[skip_top, num_words)`` with ``oov_char``, or drop it when ``oov_char`` is None.
    Two of Keras's quirks are kept: without ``num_words`` the bound is the largest index
    present, so that one word becomes ``oov_char`` too; and ``maxlen=0`` or ``num_words=0``
    mean "no limit". One is not: Keras returns a 2-D object array when every kept review has
    the same length; here ``x`` is always 1-D.

    Args:
        path: a path to ``imdb.npz``, or the file name to use inside the caches.
        num_words: keep the ``num_words`` most frequent words (indices below ``num_words``,
            counting the shift); None keeps all.
        skip_top: also replace the indices below ``skip_top`` (the most frequent words).
        maxlen: drop reviews of ``maxlen`` indices or more; None keeps all.
        seed: the shuffling seed, in ``[0, 2**32)``.
        start_char: the index that starts every review; None adds none.
        oov_char: the index that replaces dropped words; None removes them instead.
        index_from: added to every word's rank.
        origin: the URL to download from when no copy is found.
        file_hash: the SHA-256 the downloaded file must have.
        timeout: seconds to wait on the network before giving up.

    Returns:
        ``((x_train, y_train), (x_test, y_test))``.

    Raises:
        DownloadError: (an :class:`OSError`) no copy was found and the download failed.
        TypeError: an argument is not an int (or None where allowed).
        ValueError: an argument is negative, ``maxlen`` leaves a split empty, or the file is not
            Keras's ``imdb.npz`` (including a pickle that names anything but numpy's array
            functions, which is refused unread).

    Example:
        >>> (x_train, y_train), (x_test, y_test) = load_data(num_words=10000)  # doctest: +SKIP
        >>> len(x_train), x_train[0][:4], y_train[:3]  # doctest: +SKIP
        (25000, [1, 14, 22, 16], array([1, 0, 0]))
    """
    check_args(
        "imdb.load_data",
        num_words=num_words,
        skip_top=skip_top,
        maxlen=maxlen,
        seed=seed,
        start_char=start_char,
        oov_char=oov_char,
        index_from=index_from,
    )
    file = locate(path, origin=origin, file_hash=file_hash, what="IMDB", timeout=timeout)
    arrays = read_npz(file, ("x_train", "y_train", "x_test", "y_test"), "IMDB")
    x_train, labels_train = arrays["x_train"], arrays["y_train"]
    x_test, labels_test = arrays["x_test"], arrays["y_test"]
    order_train, order_test = keras_permutations(seed, len(x_train), len(x_test))
    x_train, labels_train = x_train[order_train], labels_train[order_train]
    x_test, labels_test = x_test[order_test], labels_test[order_test]

    x_train = shift(x_train, start_char, index_from)
    x_test = shift(x_test, start_char, index_from)
    x_train, labels_train = drop_long(maxlen, x_train, labels_train)
    x_test, labels_test = drop_long(maxlen, x_test, labels_test)
    if not x_train or not x_test:
        raise ValueError(
            f"imdb.load_data: no {'training' if not x_train else 'test'} review is shorter than "
            f"maxlen={maxlen} (start_char included); pass a larger maxlen, or None."
        )
    xs = cap_vocabulary(x_train + x_test, num_words, skip_top, oov_char)
    labels = np.concatenate([labels_train, labels_test])
    n = len(x_train)
    return (to_object_array(xs[:n]), labels[:n]), (to_object_array(xs[n:]), labels[n:])


def get_word_index(
    path: str | os.PathLike = "imdb_word_index.json",
    *,
    origin: str = WORD_INDEX_ORIGIN,
    file_hash: str = WORD_INDEX_MD5,
    timeout: float = 30.0,
) -> dict[str, int]:
    """The word index of IMDB: a dict from word to frequency rank (1 is the most frequent).

    Ranks are before the shift :func:`load_data` applies: the word of rank ``r`` appears in the
    data as ``r + index_from`` (``r + 3`` by default).

    Args:
        path: a path to ``imdb_word_index.json``, or the file name to use inside the caches.
        origin: the URL to download from when no copy is found.
        file_hash: the hash the downloaded file must have (Keras's MD5 by default).
        timeout: seconds to wait on the network before giving up.

    Returns:
        The dict, as ``json.load`` reads it.

    Raises:
        DownloadError: (an :class:`OSError`) no copy was found and the download failed.
        ValueError: the file is not a JSON object of ints.

    Example:
        >>> index = get_word_index()  # doctest: +SKIP
        >>> words = {rank + 3: word for word, rank in index.items()}  # doctest: +SKIP
        >>> (x_train, _), _ = load_data()  # doctest: +SKIP
        >>> " ".join(words.get(i, "?") for i in x_train[0][1:6])  # doctest: +SKIP
        'this film was just brilliant'
    """
    file = locate(
        path, origin=origin, file_hash=file_hash, what="IMDB's word index", timeout=timeout
    )
    return read_word_index(file, "IMDB")
