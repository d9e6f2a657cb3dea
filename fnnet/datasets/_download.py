"""Cache folders and an atomic, hash-verified download for the dataset loaders.

Only the standard library is used (``urllib``), so fetching a dataset needs no extra package.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request

from fnnet.utils import fnnet_home

__all__ = ["DownloadError", "fnnet_home", "cache_dir", "keras_cache_dir", "download"]

_CHUNK = 1 << 16


class DownloadError(OSError):
    """A dataset file could not be fetched: offline, HTTP error, dropped connection or bad hash.

    It subclasses :class:`OSError`, so ``except OSError`` catches it along with a missing file.
    Its message says where to put the file by hand.

    Example:
        >>> issubclass(DownloadError, OSError)
        True
    """


def cache_dir() -> str:
    """The folder where downloaded datasets are kept: ``<fnnet_home()>/datasets``.

    Example:
        >>> os.path.basename(cache_dir())
        'datasets'
    """
    return os.path.join(fnnet_home(), "datasets")


def keras_cache_dir() -> str:
    """Keras's dataset cache, searched so a file Keras already fetched is reused.

    It is ``$KERAS_HOME/datasets`` when ``KERAS_HOME`` is set, else ``~/.keras/datasets``.

    Example:
        >>> os.path.basename(keras_cache_dir())
        'datasets'
    """
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return os.path.join(os.path.abspath(os.path.expanduser(home)), "datasets")


def _check_hash(file_hash: str) -> str:
    value = file_hash.lower() if isinstance(file_hash, str) else file_hash
    if not (
        isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)
    ):
        raise ValueError(
            f"file_hash must be a SHA-256 hex digest (64 hex characters), got {file_hash!r}; pass "
            f"the sha256 of the file (e.g. from `sha256sum FILE`)."
        )
    return value


def download(origin: str, target: str, file_hash: str, *, timeout: float = 30.0) -> str:
    """Fetch ``origin`` into ``target`` atomically, keeping it only if its SHA-256 matches.

    The body streams into a temporary file in ``target``'s folder, hashed as it is written;
    the temp file is fsynced, its size checked against ``Content-Length`` and its hash against
    ``file_hash``, and only then renamed onto ``target`` with :func:`os.replace`. Any failure
    removes the temp file, so ``target`` is either absent or complete and verified.

    Args:
        origin: the URL to fetch (any scheme ``urllib`` opens).
        target: the final path; its folder is created if missing.
        file_hash: the expected SHA-256 hex digest of the file.
        timeout: seconds ``urllib`` waits on the connection before giving up.

    Returns:
        ``target``.

    Raises:
        DownloadError: the server could not be reached, answered with an error, closed the
            connection early, or sent a file whose hash does not match.
        ValueError: ``file_hash`` is not a SHA-256 hex digest.

    Example:
        >>> download("https://example.org/f.npz", "/tmp/f.npz", "0" * 64)  # doctest: +SKIP
        '/tmp/f.npz'
    """
    expected = _check_hash(file_hash)
    folder = os.path.dirname(os.path.abspath(target)) or "."
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", suffix=".part", dir=folder)
    try:
        digest = hashlib.sha256()
        received = 0
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(origin, timeout=timeout) as response:
                    length = response.headers.get("Content-Length")
                    while chunk := response.read(_CHUNK):
                        out.write(chunk)
                        digest.update(chunk)
                        received += len(chunk)
            except (urllib.error.URLError, http.client.HTTPException, OSError) as err:
                raise DownloadError(
                    f"Could not download {origin!r}: {err}. If this machine is offline, fetch the "
                    f"file elsewhere and copy it to {target!r}."
                ) from err
            out.flush()
            os.fsync(out.fileno())
        # http.client returns a short body silently when the server closes early.
        if length is not None and length.isdigit() and received != int(length):
            raise DownloadError(
                f"Download of {origin!r} was cut off: received {received} of {int(length)} bytes. "
                f"Retry, or copy the file to {target!r} by hand."
            )
        actual = digest.hexdigest()
        if actual != expected:
            raise DownloadError(
                f"The file downloaded from {origin!r} has SHA-256 {actual}, expected {expected}; "
                f"it was discarded. Retry, or check origin and file_hash."
            )
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return target
