"""What IMDB and Reuters share: reading Keras's ``.npz`` of word-index lists, and Keras's
re-indexing (start and OOV characters, ``index_from``, ``maxlen``, ``num_words``, ``skip_top``).
"""

from __future__ import annotations

import json
import zipfile

import numpy as np

from fnnet.datasets._pickle import load_npz
from fnnet.datasets._split import check_keras_seed

__all__ = [
    "check_args",
    "read_npz",
    "shift",
    "drop_long",
    "cap_vocabulary",
    "to_object_array",
    "read_word_index",
]


def _check_int(value: object, name: str, loader: str, *, optional: bool) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        expected = "an int or None" if optional else "an int"
        raise TypeError(
            f"{loader}: {name} must be {expected}, got {value!r} of type {type(value).__name__}; "
            f"see the docstring for its meaning."
        )


def check_args(
    loader: str,
    *,
    num_words: int | None,
    skip_top: int,
    maxlen: int | None,
    seed: int,
    start_char: int | None,
    oov_char: int | None,
    index_from: int,
) -> None:
    """Check the arguments Keras's IMDB and Reuters loaders take (types, and signs).

    Example:
        >>> check_args("imdb.load_data", num_words=None, skip_top=0, maxlen=None, seed=113,
        ...            start_char=1, oov_char=2, index_from=3)
    """
    for name, value, optional in (
        ("num_words", num_words, True),
        ("skip_top", skip_top, False),
        ("maxlen", maxlen, True),
        ("seed", seed, False),
        ("start_char", start_char, True),
        ("oov_char", oov_char, True),
        ("index_from", index_from, False),
    ):
        _check_int(value, name, loader, optional=optional)
        if name in ("num_words", "skip_top", "maxlen", "seed", "index_from") and (value or 0) < 0:
            raise ValueError(
                f"{loader}: {name} must be non-negative, got {value}; see the docstring for its "
                f"meaning and default."
            )
    check_keras_seed(seed)


def read_npz(file: str, keys: tuple[str, ...], what: str) -> dict[str, np.ndarray]:
    """Read Keras's ``.npz`` of ragged word-index lists without unpickling (see ``_pickle``).

    Example:
        >>> read_npz("imdb.npz", ("x_train", "y_train"), "IMDB")  # doctest: +SKIP
    """
    try:
        arrays = load_npz(file)
        missing = [k for k in keys if k not in arrays]
        if missing:
            raise ValueError(f"it lacks the keys {missing} (it has {sorted(arrays)})")
    except (ValueError, zipfile.BadZipFile, EOFError) as err:
        raise ValueError(
            f"Could not read {file!r} as Keras's {what} .npz: {str(err).rstrip('.')}. Nothing "
            f"from it was run; delete the file and fetch it again."
        ) from err
    for key in keys:
        value = arrays[key]
        if key.startswith("x") and not (
            value.dtype == object and all(isinstance(seq, list | np.ndarray) for seq in value)
        ):
            raise ValueError(
                f"{file!r} is not Keras's {what} .npz: {key} should hold lists of word indices, "
                f"got an array of dtype {value.dtype}. Delete the file and fetch it again."
            )
    return arrays


def shift(xs, start_char: int | None, index_from: int) -> list:
    """Prepend ``start_char`` and add ``index_from`` to each index, as Keras does.

    Example:
        >>> shift([[1, 2], [5]], start_char=1, index_from=3)
        [[1, 4, 5], [1, 8]]
    """
    if start_char is not None:
        return [[start_char] + [w + index_from for w in x] for x in xs]
    if index_from:
        return [[w + index_from for w in x] for x in xs]
    return [list(x) for x in xs]


def drop_long(maxlen: int | None, xs: list, labels) -> tuple[list, object]:
    """Keep the sequences *shorter* than ``maxlen`` (Keras's ``remove_long_seq``); falsy: all.

    Example:
        >>> drop_long(3, [[1, 2], [1, 2, 3]], [0, 1])
        ([[1, 2]], [0])
    """
    if not maxlen:
        return xs, labels
    kept = [i for i, x in enumerate(xs) if len(x) < maxlen]
    return [xs[i] for i in kept], [labels[i] for i in kept]


def cap_vocabulary(xs: list, num_words: int | None, skip_top: int, oov_char: int | None) -> list:
    """Replace (or, with ``oov_char=None``, drop) indices outside ``[skip_top, num_words)``.

    As in Keras, a falsy ``num_words`` means the largest index present, which the half-open
    range then excludes: that one word becomes ``oov_char`` too.

    Example:
        >>> cap_vocabulary([[1, 4, 9]], num_words=5, skip_top=2, oov_char=2)
        [[2, 4, 2]]
    """
    if not num_words:
        num_words = max((max(x) for x in xs if len(x)), default=0)
    if oov_char is not None:
        return [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
    return [[w for w in x if skip_top <= w < num_words] for x in xs]


def to_object_array(xs: list) -> np.ndarray:
    """A 1-D object array of the lists.

    ``np.array(xs, dtype=object)``, which Keras uses, would make a 2-D array when every list
    has the same length; this is always 1-D.

    Example:
        >>> to_object_array([[1, 2], [3, 4]]).shape
        (2,)
    """
    out = np.empty(len(xs), dtype=object)
    for i, x in enumerate(xs):
        out[i] = x
    return out


def read_word_index(file: str, what: str) -> dict[str, int]:
    """Read a Keras word-index JSON file (plain JSON: word to index).

    Example:
        >>> read_word_index("imdb_word_index.json", "IMDB")  # doctest: +SKIP
    """
    try:
        with open(file, encoding="utf-8") as f:
            index = json.load(f)
    except (ValueError, UnicodeDecodeError) as err:
        raise ValueError(
            f"Could not read {file!r} as Keras's {what} word index (JSON): {err}. Delete the "
            f"file and fetch it again."
        ) from err
    if not isinstance(index, dict) or not all(type(v) is int for v in index.values()):
        raise ValueError(
            f"{file!r} is not Keras's {what} word index: expected a JSON object mapping words to "
            f"ints, got {type(index).__name__}. Delete the file and fetch it again."
        )
    return index
