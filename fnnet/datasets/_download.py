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
from collections.abc import Sequence

from fnnet.utils import fnnet_home

__all__ = ["DownloadError", "fnnet_home", "cache_dir", "keras_cache_dir", "download", "locate"]

_CHUNK = 1 << 16

# Keras's get_file picks the algorithm from the digest's length the same way ("auto").
_ALGORITHMS = {64: "sha256", 32: "md5"}
_NAMES = {"sha256": "SHA-256", "md5": "MD5"}


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


def _check_hash(file_hash: str) -> tuple[str, str]:
    value = file_hash.lower() if isinstance(file_hash, str) else file_hash
    if not (
        isinstance(value, str)
        and len(value) in _ALGORITHMS
        and all(c in "0123456789abcdef" for c in value)
    ):
        raise ValueError(
            f"file_hash must be a SHA-256 hex digest (64 hex characters), or the MD5 one (32) "
            f"Keras publishes for a few older files, got {file_hash!r}; pass the sha256 of the "
            f"file (e.g. from `sha256sum FILE`)."
        )
    return _ALGORITHMS[len(value)], value


def download(origin: str, target: str, file_hash: str, *, timeout: float = 30.0) -> str:
    """Fetch ``origin`` into ``target`` atomically, keeping it only if its hash matches.

    The body streams into a temporary file in ``target``'s folder, hashed as it is written;
    the temp file is fsynced, its size checked against ``Content-Length`` and its hash against
    ``file_hash``, and only then renamed onto ``target`` with :func:`os.replace`. Any failure
    removes the temp file, so ``target`` is either absent or complete and verified.

    Args:
        origin: the URL to fetch (any scheme ``urllib`` opens).
        target: the final path; its folder is created if missing.
        file_hash: the expected SHA-256 hex digest of the file. A 32-character digest is taken
            as MD5, as Keras's ``get_file`` does: Keras publishes only MD5 for its two word-index
            files. MD5 guards against corruption, not against a forged file.
        timeout: seconds ``urllib`` waits on the connection before giving up.

    Returns:
        ``target``.

    Raises:
        DownloadError: the server could not be reached, answered with an error, closed the
            connection early, or sent a file whose hash does not match.
        ValueError: ``file_hash`` is not a SHA-256 (or MD5) hex digest.

    Example:
        >>> download("https://example.org/f.npz", "/tmp/f.npz", "0" * 64)  # doctest: +SKIP
        '/tmp/f.npz'
    """
    algorithm, expected = _check_hash(file_hash)
    folder = os.path.dirname(os.path.abspath(target)) or "."
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", suffix=".part", dir=folder)
    try:
        digest = hashlib.new(algorithm)
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
                f"The file downloaded from {origin!r} has {_NAMES[algorithm]} {actual}, expected "
                f"{expected}; it was discarded. Retry, or check origin and file_hash."
            )
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return target


def locate(
    path: str | os.PathLike,
    *,
    origin: str,
    file_hash: str,
    what: str,
    timeout: float = 30.0,
    subdir: str = "",
    keras_names: Sequence[str] = (),
    hint: str = "",
) -> str:
    """Find a dataset file on disk, or download it into the fnnet cache, and return its path.

    With ``name = basename(path)``, it looks in order at

    1. ``path`` itself, when it names an existing file (absolute, or relative to the working
       folder);
    2. the fnnet cache, ``cache_dir()/subdir/name``;
    3. Keras's cache, ``keras_cache_dir()/subdir/name``, then each of ``keras_names`` inside
       ``keras_cache_dir()`` (files or folders: the names older Keras versions used, or the
       folder Keras extracted an archive into), so a file Keras already fetched is reused;
    4. the network: ``origin``, fetched with :func:`download` into the fnnet cache.

    Files already on disk are trusted as they are; only a download is checked against
    ``file_hash``.

    Args:
        path: a path to the file, or the file name to use inside the caches.
        origin: the URL to download from when no copy is found.
        file_hash: the SHA-256 (or Keras's MD5) hex digest the download must have.
        what: the dataset's name, for messages (``"MNIST"``).
        timeout: seconds to wait on the network before giving up.
        subdir: the folder inside both caches (Keras keeps Fashion-MNIST in ``fashion-mnist``).
        keras_names: more places in Keras's cache, relative to ``keras_cache_dir()``.
        hint: appended to the offline message, e.g. another way to get the data.

    Returns:
        The path of the file (or of a folder from ``keras_names``).

    Raises:
        DownloadError: no copy was found and the download failed; the message says where to
            put the file.
        ValueError: ``path`` names a folder, or ``file_hash`` is not a hex digest.

    Example:
        >>> locate("mnist.npz", origin="https://example.org/mnist.npz", file_hash="0" * 64,
        ...        what="MNIST")  # doctest: +SKIP
        '/home/me/.fnnet/datasets/mnist.npz'
    """
    path = os.fspath(path)
    name = os.path.basename(path)
    if not name:
        example = origin.rsplit("/", 1)[-1]
        raise ValueError(
            f"path must name a file such as {example!r}, got {path!r} (a folder); pass "
            f"path='{os.path.join(path, example)}'."
        )
    if os.path.isfile(path):
        return path
    cached = os.path.join(cache_dir(), subdir, name)
    keras_places = [os.path.join(keras_cache_dir(), subdir, name)]
    keras_places += [os.path.join(keras_cache_dir(), other) for other in keras_names]
    for place in (cached, keras_places[0]):
        if os.path.isfile(place):
            return place
    for place in keras_places[1:]:
        if os.path.exists(place):
            return place
    try:
        download(origin, cached, file_hash, timeout=timeout)
    except DownloadError as err:
        places = ", ".join(repr(p) for p in dict.fromkeys((path, cached, *keras_places)))
        raise DownloadError(
            f"{what} was not found at {places}, and downloading it failed. Put Keras's {name} at "
            f"{cached!r} (the fnnet cache){hint}. Cause: {err}"
        ) from err
    return cached
