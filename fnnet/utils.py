"""Keras-style utilities: one-hot labels, norm scaling, padding, image folders, and ``fit``'s seed.

:func:`image_dataset_from_directory` lives in ``fnnet._image_dataset`` (it needs Pillow, imported
only when it is called) and is exported here, where Keras has it.

The pure core takes every rng as an argument. The Keras-style front end needs a source of
fresh keys for init, dropout and shuffling; it draws them from :func:`next_seed` /
:func:`next_key`, a single numpy ``Generator`` that :func:`set_random_seed` reseeds, so one call
makes a whole script reproducible, as ``keras.utils.set_random_seed`` does.
"""

from __future__ import annotations

import os
import random
import threading
from collections.abc import Sequence

import jax
import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from fnnet._image_dataset import image_dataset_from_directory

__all__ = [
    "to_categorical",
    "normalize",
    "pad_sequences",
    "image_dataset_from_directory",
    "set_random_seed",
    "next_seed",
    "next_key",
    "fnnet_home",
    "enable_compilation_cache",
]

_MAX_SEED = 2**32  # numpy's legacy global seed must be below this


def to_categorical(
    y: ArrayLike, num_classes: int | None = None, dtype: DTypeLike = "float32"
) -> np.ndarray:
    """One-hot encode integer class labels, as ``keras.utils.to_categorical`` does.

    Shapes: ``y`` of shape ``(N,)`` or ``(N, 1)`` gives ``(N, num_classes)``. Any other shape
    ``S`` gives ``S + (num_classes,)``, after dropping a trailing axis of size 1.

    Args:
        y: integer class labels in ``[0, num_classes)``. Floats are accepted when they hold
            whole numbers (``2.0``).
        num_classes: how many classes; ``None`` uses ``max(y) + 1``.
        dtype: the dtype of the result.

    Returns:
        A numpy array of zeros and ones with the last axis of length ``num_classes``.

    Raises:
        TypeError: ``y`` is not numeric, or ``num_classes`` is not an int.
        ValueError: ``y`` holds a non-integer, negative or too-large label, ``num_classes`` is
            below 1, or ``y`` is empty and ``num_classes`` is ``None``.

    Example:
        >>> to_categorical([0, 2, 1])
        array([[1., 0., 0.],
               [0., 0., 1.],
               [0., 1., 0.]], dtype=float32)
        >>> to_categorical([[1], [0]], num_classes=4, dtype="int32")
        array([[0, 1, 0, 0],
               [1, 0, 0, 0]], dtype=int32)
    """
    labels = np.asarray(y)
    if labels.dtype.kind not in "biuf":
        raise TypeError(
            f"to_categorical: y must hold integer class labels, got an array of dtype "
            f"{labels.dtype}; map the labels to ints first, e.g. np.unique(y, "
            f"return_inverse=True)[1]."
        )
    if labels.dtype.kind == "f":
        bad = labels[~(np.isfinite(labels) & (labels == np.round(labels)))]
        if bad.size:
            raise ValueError(
                f"to_categorical: y must hold whole-number class labels, got "
                f"{bad.flat[0].item()!r}; pass integer labels (y.astype(int) if the floats are "
                f"whole numbers)."
            )
    if num_classes is not None and (
        isinstance(num_classes, bool) or not isinstance(num_classes, int | np.integer)
    ):
        raise TypeError(
            f"to_categorical: num_classes must be an int or None, got {num_classes!r} of type "
            f"{type(num_classes).__name__}; pass e.g. num_classes=10."
        )
    if num_classes is not None and num_classes < 1:
        raise ValueError(
            f"to_categorical: num_classes must be at least 1, got {num_classes}; pass the number "
            f"of classes, or None to use max(y) + 1."
        )
    if labels.size == 0 and num_classes is None:
        raise ValueError(
            "to_categorical: y is empty, so num_classes cannot be inferred; pass num_classes "
            "explicitly."
        )
    if labels.size:
        low, high = int(labels.min()), int(labels.max())
        if low < 0:
            raise ValueError(
                f"to_categorical: y must hold labels >= 0, got {low}; shift the labels so the "
                f"first class is 0."
            )
        if num_classes is None:
            num_classes = high + 1
        elif high >= num_classes:
            raise ValueError(
                f"to_categorical: y holds label {high} but num_classes={num_classes}, and labels "
                f"must be in [0, num_classes); pass num_classes={high + 1} or None."
            )
    shape = labels.shape
    if len(shape) > 1 and shape[-1] == 1:
        shape = shape[:-1]
    flat = labels.reshape(-1).astype(np.intp)
    out = np.zeros((flat.size, int(num_classes)), dtype=dtype)
    out[np.arange(flat.size), flat] = 1
    return out.reshape(shape + (int(num_classes),))


def normalize(x: ArrayLike, axis: int = -1, order: int = 2) -> np.ndarray:
    """Scale ``x`` to unit ``order``-norm along ``axis``, as ``keras.utils.normalize`` does.

    Slices whose norm is zero are left as they are (divided by 1). Integer inputs become
    float32.

    Args:
        x: the array to scale.
        axis: the axis along which the norm is taken.
        order: the norm's order (2 for Euclidean, 1 for the sum of absolute values).

    Returns:
        A float numpy array of ``x``'s shape.

    Example:
        >>> normalize([[3.0, 4.0], [0.0, 0.0]])
        array([[0.6, 0.8],
               [0. , 0. ]])
    """
    arr = np.asarray(x)
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float32)
    if arr.ndim == 0:
        raise ValueError(
            f"normalize: x must have at least one axis, got a scalar {arr!r}; pass an array such "
            f"as np.atleast_1d(x)."
        )
    norm = np.linalg.norm(arr, ord=order, axis=axis, keepdims=True)
    return arr / np.where(norm == 0, 1, norm).astype(arr.dtype)


def pad_sequences(
    sequences: Sequence,
    maxlen: int | None = None,
    dtype: DTypeLike = "int32",
    padding: str = "pre",
    truncating: str = "pre",
    value: float | str = 0.0,
) -> np.ndarray:
    """Pad (or cut) sequences to one length, as ``keras.utils.pad_sequences`` does.

    Shapes: ``N`` sequences give ``(N, maxlen) + sample_shape``, where ``sample_shape`` is the
    shape of one step of the first non-empty sequence (``()`` for lists of ints) and ``maxlen``
    defaults to the longest sequence's length. Each sequence longer than ``maxlen`` loses its
    first (``truncating="pre"``) or last (``"post"``) steps; each shorter one is filled with
    ``value`` before (``padding="pre"``) or after (``"post"``) it. Values are converted with
    ``np.asarray(..., dtype)``, so floats cast to an int ``dtype`` are truncated as numpy does.

    Where Keras fails, this returns the natural answer: no sequences give shape ``(0, 0)``
    (or ``(0, maxlen)``), and ``maxlen=0`` gives ``(N, 0)``. ``padding`` and ``truncating`` are
    checked even when every sequence is empty.

    Args:
        sequences: a sequence (with ``len``) of sequences: lists, tuples or numpy arrays.
        maxlen: the length of the result; None uses the longest sequence's.
        dtype: the result's dtype; use ``object`` (or a string dtype) to pad strings.
        padding: ``"pre"`` or ``"post"``: where short sequences are filled.
        truncating: ``"pre"`` or ``"post"``: where long sequences are cut.
        value: the fill value.

    Returns:
        A numpy array of shape ``(len(sequences), maxlen) + sample_shape``.

    Raises:
        ValueError: ``sequences`` or one of its items has no length, ``maxlen`` is negative or
            not an int, ``padding`` or ``truncating`` is not ``"pre"``/``"post"``, ``value`` is
            a string but ``dtype`` is not, or a sequence's steps differ in shape from the
            first's. (ValueError throughout, the exception Keras raises for these.)

    Example:
        >>> pad_sequences([[1], [2, 3], [4, 5, 6]])
        array([[0, 0, 1],
               [0, 2, 3],
               [4, 5, 6]], dtype=int32)
        >>> pad_sequences([[1], [2, 3], [4, 5, 6]], maxlen=2, padding="post", truncating="post")
        array([[1, 0],
               [2, 3],
               [4, 5]], dtype=int32)
    """
    if not hasattr(sequences, "__len__"):
        raise ValueError(
            f"pad_sequences: sequences must be a list (or other sized sequence) of sequences, "
            f"got {type(sequences).__name__}; pass e.g. list(sequences)."
        )
    if maxlen is not None and (
        isinstance(maxlen, bool) or not isinstance(maxlen, int | np.integer) or maxlen < 0
    ):
        raise ValueError(
            f"pad_sequences: maxlen must be a non-negative int or None, got {maxlen!r}; pass "
            f"e.g. maxlen=100, or None for the longest sequence's length."
        )
    for name, option in (("padding", padding), ("truncating", truncating)):
        if option not in ("pre", "post"):
            raise ValueError(
                f"pad_sequences: {name} must be 'pre' or 'post', got {option!r}; pass "
                f"{name}='pre' (at the start) or {name}='post' (at the end)."
            )
    lengths = []
    sample_shape: tuple[int, ...] = ()
    found = False
    for i, seq in enumerate(sequences):
        if not hasattr(seq, "__len__"):
            raise ValueError(
                f"pad_sequences: every item of sequences must be a sequence, got {seq!r} of "
                f"type {type(seq).__name__} at position {i}; wrap single values in a list."
            )
        lengths.append(len(seq))
        if not found and len(seq):
            sample_shape, found = np.asarray(seq).shape[1:], True
    if maxlen is None:
        maxlen = max(lengths, default=0)
    is_text = np.issubdtype(dtype, np.str_) or np.issubdtype(dtype, np.bytes_)
    if isinstance(value, str) and dtype is not object and not is_text:
        raise ValueError(
            f"pad_sequences: value {value!r} is a string but dtype {dtype!r} is not; pass "
            f"dtype=object to pad sequences of strings."
        )
    out = np.full((len(sequences), int(maxlen)) + sample_shape, value, dtype=dtype)
    if maxlen == 0:
        return out
    for i, seq in enumerate(sequences):
        if not len(seq):
            continue
        kept = np.asarray(seq[-maxlen:] if truncating == "pre" else seq[:maxlen], dtype=dtype)
        if kept.shape[1:] != sample_shape:
            raise ValueError(
                f"pad_sequences: the steps of the sequence at position {i} have shape "
                f"{kept.shape[1:]}, but those of the first non-empty sequence have shape "
                f"{sample_shape}; every step must have the same shape."
            )
        if padding == "pre":
            out[i, maxlen - len(kept) :] = kept
        else:
            out[i, : len(kept)] = kept
    return out


_lock = threading.Lock()
_stream: np.random.Generator | None = None


def set_random_seed(seed: int) -> None:
    """Make a run reproducible, as ``keras.utils.set_random_seed`` does.

    Seeds Python's :mod:`random`, numpy's global RNG (``np.random.seed``), and fnnet's own seed
    stream, from which the Keras-style models draw their init, dropout and shuffling keys via
    :func:`next_seed` and :func:`next_key`. The pure core never reads this stream: there every
    rng is an argument.

    Args:
        seed: an int in ``[0, 2**32)``.

    Raises:
        TypeError: ``seed`` is not an int.
        ValueError: ``seed`` is outside ``[0, 2**32)``.

    Example:
        >>> set_random_seed(42)
        >>> a = next_seed()
        >>> set_random_seed(42)
        >>> next_seed() == a
        True
    """
    global _stream
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise TypeError(
            f"set_random_seed: seed must be an int, got {seed!r} of type {type(seed).__name__}; "
            f"pass e.g. set_random_seed(42)."
        )
    if not 0 <= seed < _MAX_SEED:
        raise ValueError(
            f"set_random_seed: seed must be in [0, 2**32), got {seed}; pass e.g. "
            f"set_random_seed(42)."
        )
    seed = int(seed)
    random.seed(seed)
    # Keras seeds numpy's legacy global RNG too, for user code (and libraries) that still use it.
    np.random.seed(seed)  # noqa: NPY002
    with _lock:
        _stream = np.random.default_rng(seed)


def next_seed() -> int:
    """Draw a fresh seed in ``[0, 2**32)`` from fnnet's seed stream.

    The stream is the numpy ``Generator`` that :func:`set_random_seed` last seeded; when it was
    never called, the stream is seeded from OS entropy on first use, so runs differ.

    Returns:
        A Python int in ``[0, 2**32)``.

    Example:
        >>> set_random_seed(0)
        >>> first, second = next_seed(), next_seed()
        >>> 0 <= first < 2**32 and first != second
        True
    """
    global _stream
    with _lock:
        if _stream is None:
            _stream = np.random.default_rng()
        return int(_stream.integers(0, _MAX_SEED, dtype=np.uint64))


def next_key() -> jax.Array:
    """A new JAX PRNG key, ``jax.random.key(next_seed())``.

    Returns:
        A scalar typed key array (``jax.random.key``, not the legacy ``uint32[2]`` form).

    Example:
        >>> set_random_seed(0)
        >>> key = next_key()
        >>> key.shape, jax.numpy.issubdtype(key.dtype, jax.dtypes.prng_key)
        ((), True)
    """
    return jax.random.key(next_seed())


def fnnet_home() -> str:
    """The fnnet data folder: ``$FNNET_HOME`` if set, else ``~/.fnnet``.

    Returns:
        An absolute path; the folder need not exist.

    Example:
        >>> import os
        >>> os.path.isabs(fnnet_home())
        True
    """
    home = os.environ.get("FNNET_HOME") or os.path.join(os.path.expanduser("~"), ".fnnet")
    return os.path.abspath(os.path.expanduser(home))


def enable_compilation_cache(directory: str | os.PathLike | None = None) -> str:
    """Turns on JAX's persistent compilation cache, so later processes skip XLA compiles.

    It is off by default because it writes to disk: fnnet never turns it on unasked. Compiled
    programs are keyed by their HLO, so a second run of the same script (same model, shapes
    and batch size) starts training without recompiling.

    Args:
        directory: where compiled programs go; default ``$FNNET_HOME/xla_cache`` (``FNNET_HOME``
            defaults to ``~/.fnnet``).

    Returns:
        The directory used.

    Example:
        >>> import tempfile
        >>> path = enable_compilation_cache(tempfile.mkdtemp())  # doctest: +SKIP
    """
    if directory is None:
        directory = os.path.join(fnnet_home(), "xla_cache")
    directory = os.fspath(directory)
    os.makedirs(directory, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", directory)
    # Cache even fast compiles: small models compile in well under JAX's 1 s default threshold.
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
    return directory
