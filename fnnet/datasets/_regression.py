"""Reading Keras's ``x``/``y`` regression ``.npz`` files (Boston and California housing)."""

from __future__ import annotations

import zipfile

import numpy as np

__all__ = ["read_xy"]


def read_xy(file: str, what: str, features: int) -> tuple[np.ndarray, np.ndarray]:
    """Read the ``x`` ``(N, features)`` and ``y`` ``(N,)`` arrays, with ``allow_pickle=False``.

    Example:
        >>> read_xy("boston_housing.npz", "Boston Housing", 13)  # doctest: +SKIP
    """
    try:
        with np.load(file, allow_pickle=False) as data:
            x, y = data["x"], data["y"]
    except (ValueError, KeyError, AttributeError, TypeError, zipfile.BadZipFile, EOFError) as err:
        raise ValueError(
            f"Could not read {file!r} as Keras's {what} .npz: {str(err).rstrip('.')}. Expected "
            f"an .npz with float arrays 'x' and 'y' and no pickled objects; delete the file and "
            f"fetch it again."
        ) from err
    if x.ndim != 2 or x.shape[1] != features or y.shape != (len(x),):
        raise ValueError(
            f"{file!r} is not Keras's {what} .npz: x has shape {x.shape} and y {y.shape}; "
            f"expected (N, {features}) and (N,). Delete the file and fetch it again."
        )
    return x, y
