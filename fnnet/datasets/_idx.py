"""The IDX format of MNIST and Fashion-MNIST: a magic number, big-endian sizes, raw uint8 data."""

from __future__ import annotations

import gzip
import math

import numpy as np

__all__ = ["read_idx"]


def read_idx(file: str, ndim: int) -> np.ndarray:
    """Read an IDX file of uint8 with ``ndim`` dimensions, gzipped (``.gz``) or not.

    The magic number (``00 00 08 ndim``) and the data size the header declares are checked,
    so a truncated or wrong file is refused rather than misread.

    Args:
        file: the path; a name ending in ``.gz`` is decompressed.
        ndim: 3 for images ``(N, rows, cols)``, 1 for labels ``(N,)``.

    Returns:
        A read-only uint8 numpy array of the declared shape.

    Raises:
        ValueError: the file is truncated, corrupt, or not IDX uint8 with ``ndim`` dimensions.

    Example:
        >>> import os, tempfile
        >>> file = os.path.join(tempfile.mkdtemp(), "labels-idx1-ubyte")
        >>> with open(file, "wb") as f:
        ...     _ = f.write(bytes((0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1)))
        >>> read_idx(file, 1)
        array([7, 2, 1], dtype=uint8)
    """
    opener = gzip.open if file.endswith(".gz") else open
    try:
        with opener(file, "rb") as f:
            raw = f.read()
    except (EOFError, gzip.BadGzipFile) as err:
        raise ValueError(
            f"Could not read IDX file {file!r}: {err}. The file is truncated or corrupt; download "
            f"it again."
        ) from err
    header = 4 + 4 * ndim
    if len(raw) < header or raw[:4] != bytes((0, 0, 0x08, ndim)):
        raise ValueError(
            f"{file!r} is not an IDX file of uint8 with {ndim} dimension(s): its magic number is "
            f"{raw[:4].hex() or 'missing'}, expected {bytes((0, 0, 0x08, ndim)).hex()}. Check you "
            f"passed the right file and that it is not corrupt."
        )
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    size = len(raw) - header
    if size != math.prod(dims):
        raise ValueError(
            f"IDX file {file!r} declares shape {dims} ({math.prod(dims)} bytes of data) but holds "
            f"{size} bytes; it is truncated or corrupt, download it again."
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)
