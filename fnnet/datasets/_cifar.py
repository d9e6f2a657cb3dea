"""Reading CIFAR's "python version" batches from the archive or the folder Keras extracted.

The batches are Python-2 pickles of ``{b"data": uint8 array (N, 3072), b"labels": [int]...}``.
They are read with :func:`fnnet.datasets._pickle.loads`, which runs no code from the file, and
the archive is read member by member with :mod:`tarfile`, never extracted to disk.
"""

from __future__ import annotations

import os
import tarfile
import zlib
from collections.abc import Sequence

import numpy as np

from fnnet.datasets._pickle import loads

__all__ = ["read_batches"]


def _read_raw(source: str, folder: str, names: Sequence[str]) -> dict[str, bytes]:
    if os.path.isdir(source):
        raw = {}
        for name in names:
            file = os.path.join(source, name)
            if os.path.isfile(file):
                with open(file, "rb") as f:
                    raw[name] = f.read()
        return raw
    wanted = {f"{folder}/{name}": name for name in names}
    raw = {}
    try:
        with tarfile.open(source, "r:gz") as tar:
            for member in tar:
                name = wanted.get(member.name.removeprefix("./"))
                if name is not None and member.isfile():
                    raw[name] = tar.extractfile(member).read()
    except (tarfile.TarError, EOFError, OSError, zlib.error) as err:
        raise ValueError(
            f"Could not read {source!r} as a CIFAR .tar.gz archive: {err}. The file is truncated "
            f"or corrupt; delete it and fetch it again."
        ) from err
    return raw


def _parse(data: bytes, label_key: str, where: str) -> tuple[np.ndarray, list[int]]:
    try:
        batch = loads(data)
    except ValueError as err:
        raise ValueError(
            f"{where} is not a CIFAR batch: {err}. Nothing from it was run; delete the file and "
            f"fetch it again."
        ) from err
    if isinstance(batch, dict):
        # Python 2 wrote the keys as str, which reads back as bytes; Keras decodes them as UTF-8.
        batch = {k.decode("utf-8") if isinstance(k, bytes) else k: v for k, v in batch.items()}
    images = batch.get("data") if isinstance(batch, dict) else None
    labels = batch.get(label_key) if isinstance(batch, dict) else None
    if isinstance(labels, np.ndarray) and labels.ndim == 1 and labels.dtype.kind in "iu":
        labels = labels.tolist()
    if not (
        isinstance(images, np.ndarray)
        and images.dtype == np.uint8
        and images.ndim == 2
        and images.shape[1] == 3 * 32 * 32
        and isinstance(labels, list)
        and len(labels) == len(images)
        and all(type(v) is int and 0 <= v < 256 for v in labels)
    ):
        found = sorted(batch) if isinstance(batch, dict) else type(batch).__name__
        raise ValueError(
            f"{where} is not a CIFAR batch: expected a dict with 'data' (uint8, N x 3072) and "
            f"{label_key!r} (N labels in [0, 256)), found {found}; delete the file and fetch it "
            f"again."
        )
    return images.reshape(len(images), 3, 32, 32), labels


def read_batches(
    source: str, folder: str, names: Sequence[str], label_key: str
) -> list[tuple[np.ndarray, list[int]]]:
    """Read the named batches: ``(images uint8 (N, 3, 32, 32), labels)`` for each.

    Args:
        source: the ``.tar.gz`` archive, or a folder holding the batch files themselves.
        folder: the folder the archive keeps them in (``"cifar-10-batches-py"``).
        names: the batch files, in order (``"data_batch_1"``...).
        label_key: the labels' key (``"labels"``, ``"fine_labels"``, ``"coarse_labels"``).

    Example:
        >>> read_batches("cifar-10-python.tar.gz", "cifar-10-batches-py", ["test_batch"],
        ...              "labels")[0][0].shape  # doctest: +SKIP
        (10000, 3, 32, 32)
    """
    raw = _read_raw(source, folder, names)
    missing = [name for name in names if name not in raw]
    if missing:
        raise ValueError(
            f"{source!r} lacks the CIFAR batches {missing} (expected under {folder!r}); it is "
            f"not the right archive or is incomplete. Delete it and fetch it again."
        )
    return [_parse(raw[name], label_key, f"{name!r} in {source!r}") for name in names]
