"""Pickle-free, atomic, verified checkpoints in the safetensors format.

A checkpoint is one ``.safetensors`` file: a flat ``{key path: array}`` dict plus a small JSON
header. Nothing in it is ever unpickled or executed, so loading a file from an untrusted source
can at worst fail with a :class:`CheckpointError`. The file names are used as given: this module
never adds the ``.safetensors`` suffix, so pass it yourself (``"model.safetensors"``).

Three layers, each usable alone:

* :func:`flatten` / :func:`unflatten`: a pytree (params, optimizer state, ``TrainState``...)
  to and from ``{"0/kernel": np.ndarray, ...}``, checked against a template on the way back;
* :func:`save` / :func:`load`: a flat dict (and JSON metadata) to and from a file. ``save``
  writes to a temporary file in the same folder and renames it onto the target, so a crash,
  a full disk or a kill leaves either the old file or the new one, never a torn one. ``load``
  validates the header before parsing and checks a SHA-256 over the tensors and metadata;
* :func:`save_tree` / :func:`load_tree`: both at once.

safetensors is an optional dependency: ``pip install fnnet[io]``.

Example:
    >>> import os, tempfile
    >>> import jax, jax.numpy as jnp
    >>> from fnnet import checkpoint
    >>> tree = ({"kernel": jnp.ones((2, 3)), "bias": jnp.zeros(3)}, jax.random.key(0), 7)
    >>> sorted(checkpoint.flatten(tree))
    ['0/bias', '0/kernel', '1:key<fry>', '2']
    >>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
    >>> checkpoint.save_tree(path, tree, metadata={"epoch": 3})
    >>> restored, meta = checkpoint.load_tree(path, tree)
    >>> restored[0]["kernel"].shape, restored[1].dtype, int(restored[2]), meta
    ((2, 3), key<fry>, 7, {'epoch': 3})
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import struct
import tempfile
import time
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
from jax.experimental import multihost_utils

__all__ = [
    "CheckpointError",
    "FORMAT",
    "VERSION",
    "SUFFIX",
    "flatten",
    "unflatten",
    "save",
    "load",
    "save_tree",
    "load_tree",
    "write_atomic",
]

FORMAT = "fnnet-checkpoint"
VERSION = "1"
SUFFIX = ".safetensors"

PyTree = Any

# A real header is a few KB per thousand tensors; anything this large is corruption or an attack.
_MAX_HEADER_BYTES = 100 * 1024 * 1024

# safetensors' dtype tags; read with our own table because safetensors.numpy lacks BF16.
_DTYPES = {
    "F64": np.dtype(np.float64),
    "F32": np.dtype(np.float32),
    "F16": np.dtype(np.float16),
    "BF16": np.dtype(ml_dtypes.bfloat16),
    "I64": np.dtype(np.int64),
    "U64": np.dtype(np.uint64),
    "I32": np.dtype(np.int32),
    "U32": np.dtype(np.uint32),
    "I16": np.dtype(np.int16),
    "U16": np.dtype(np.uint16),
    "I8": np.dtype(np.int8),
    "U8": np.dtype(np.uint8),
    "BOOL": np.dtype(np.bool_),
    "C64": np.dtype(np.complex64),
}

# File signatures of formats people rename by mistake (or on purpose), checked on bad headers.
_IMPOSTORS = (
    (b"\x80", "a Python pickle (e.g. from pickle.dump or torch.save)"),
    (b"PK\x03\x04", "a zip archive (e.g. a NumPy .npz or a Keras .keras file)"),
    (b"\x93NUMPY", "a NumPy .npy file"),
    (b"\x89HDF", "an HDF5 file (e.g. a Keras .h5 file)"),
)


class CheckpointError(ValueError):
    """A checkpoint file that is not a valid, intact fnnet checkpoint."""


def _safetensors():
    try:
        import safetensors
        import safetensors.numpy
    except ImportError as e:
        raise ImportError(
            f"fnnet checkpoints use the safetensors format, which is an optional dependency "
            f"that is not installed ({e}). Install it with: pip install 'fnnet[io]' (or pip "
            f"install safetensors)."
        ) from e
    return safetensors


def _is_key(leaf: Any) -> bool:
    dtype = getattr(leaf, "dtype", None)
    return dtype is not None and jnp.issubdtype(dtype, jax.dtypes.prng_key)


def _path_str(path: tuple) -> str:
    parts = []
    for entry in path:
        if isinstance(entry, jax.tree_util.DictKey):
            parts.append(str(entry.key))
        elif isinstance(entry, jax.tree_util.SequenceKey):
            parts.append(str(entry.idx))
        elif isinstance(entry, jax.tree_util.GetAttrKey):
            parts.append(entry.name)
        elif isinstance(entry, jax.tree_util.FlattenedIndexKey):
            parts.append(str(entry.key))
        else:
            parts.append(str(entry))
    return "/".join(parts)


def _host(leaf: Any) -> np.ndarray:
    """A leaf's full value on the host, also for a global array spread over processes (a
    replicated one reads its local copy; a split one is gathered, a collective every process
    takes part in)."""
    if isinstance(leaf, jax.Array) and not leaf.is_fully_addressable:
        if leaf.sharding.is_fully_replicated:
            return np.asarray(leaf.addressable_data(0))
        return np.asarray(multihost_utils.process_allgather(leaf, tiled=True))
    return np.asarray(leaf)


def _flat_key(path: tuple, leaf: Any) -> str:
    # A typed key's entry is marked by its dtype so that the file alone says what it holds and
    # a plain uint32 array never silently becomes a key (or the other way round).
    key = _path_str(path)
    return f"{key}:{leaf.dtype}" if _is_key(leaf) else key


def flatten(tree: PyTree) -> dict[str, np.ndarray]:
    """Flattens a pytree into ``{key path: np.ndarray}``, the form :func:`save` writes.

    Key paths join the path entries with ``"/"``: dict keys as they are, tuple and list
    indices as numbers, NamedTuple fields by name (``"0/kernel"``, ``"1/0/nu/0/bias"``).
    Typed PRNG keys (dtype ``key<fry>``) are stored as their ``jax.random.key_data`` (uint32)
    under ``path + ":key<fry>"``; :func:`unflatten` makes typed keys of them again. Python
    scalars become 0-d arrays of the dtype ``jnp.asarray`` gives them (``int32``,
    ``float32``). ``None`` and empty containers hold no arrays and add no entries; a tree that
    is a single array has the key path ``""``.

    Args:
        tree: any pytree of arrays and scalars.

    Returns:
        A dict of numpy arrays (host copies).

    Raises:
        ValueError: when two leaves map to the same key path (a dict key containing ``"/"``).

    Example:
        >>> import jax.numpy as jnp
        >>> flat = flatten(({"kernel": jnp.ones((2, 3))}, {"count": 3}))
        >>> {k: (v.shape, v.dtype.name) for k, v in flat.items()}
        {'0/kernel': ((2, 3), 'float32'), '1/count': ((), 'int32')}
    """
    flat: dict[str, np.ndarray] = {}
    for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
        key = _flat_key(path, leaf)
        if key in flat:
            raise ValueError(
                f"flatten: two leaves of the tree map to the key path {key!r}; a dict key "
                f"probably contains '/'. Rename the dict keys so that no key contains '/'."
            )
        if _is_key(leaf):
            flat[key] = _host(jax.random.key_data(leaf))
        elif isinstance(leaf, (np.ndarray, np.generic, jax.Array)):
            flat[key] = _host(leaf)
        else:
            flat[key] = np.asarray(jnp.asarray(leaf))
    return flat


def _describe(dtype: np.dtype, shape: tuple) -> str:
    return f"{dtype.name}{list(shape)}"


def _list_keys(keys: Any, limit: int = 8) -> str:
    keys = sorted(keys)
    shown = ", ".join(repr(k) for k in keys[:limit])
    return f"[{shown}{', ...' if len(keys) > limit else ''}] ({len(keys)} in all)"


def unflatten(template: PyTree, flat: Mapping[str, Any], *, what: str = "checkpoint") -> PyTree:
    """Rebuilds a pytree with ``template``'s structure from a :func:`flatten` dict.

    Every leaf of ``template`` (an array, a scalar, a ``jax.ShapeDtypeStruct`` or a typed PRNG
    key) must have an entry in ``flat`` of the same shape and dtype, and ``flat`` must hold no
    other entries. The template's values are not used, only its structure, shapes and dtypes.

    Args:
        template: a pytree like the one that was flattened, e.g. freshly initialized params.
        flat: the ``{key path: array}`` dict, e.g. from :func:`load`.
        what: how error messages name ``flat``, e.g. ``"weights file 'model.safetensors'"``.

    Returns:
        The pytree, with device arrays (``jnp.asarray``) of the template's dtypes; typed keys
        for typed-key leaves.

    Raises:
        ValueError: naming the key path, for a missing key, an extra key, or a shape or dtype
            that differs from the template's.

    Example:
        >>> import jax.numpy as jnp
        >>> template = {"kernel": jnp.zeros((2, 3)), "step": 0}
        >>> tree = unflatten(template, {"kernel": np.ones((2, 3), np.float32),
        ...                             "step": np.array(5, np.int32)})
        >>> tree["kernel"].sum().item(), tree["step"].item()
        (6.0, 5)
        >>> unflatten(template, {"kernel": np.ones((3, 2), np.float32),
        ...                      "step": np.array(5, np.int32)})
        Traceback (most recent call last):
        ...
        ValueError: checkpoint: the array at key path 'kernel' has shape (3, 2), but the ...
    """
    leaves_with_path, treedef = jax.tree_util.tree_flatten_with_path(template)
    expected = {}
    for path, leaf in leaves_with_path:
        key = _flat_key(path, leaf)
        if _is_key(leaf):
            data = jax.eval_shape(jax.random.key_data, leaf)
            expected[key] = (leaf, tuple(data.shape), np.dtype(data.dtype))
        elif hasattr(leaf, "shape") and hasattr(leaf, "dtype"):
            expected[key] = (leaf, tuple(leaf.shape), np.dtype(leaf.dtype))
        else:
            ref = jnp.asarray(leaf)
            expected[key] = (leaf, tuple(ref.shape), np.dtype(ref.dtype))

    missing = [k for k in expected if k not in flat]
    if missing:
        needs = ", ".join(
            f"{k!r} ({_describe(expected[k][2], expected[k][1])})" for k in sorted(missing)[:8]
        )
        raise ValueError(
            f"{what} is missing the key path(s) {needs}{' ...' if len(missing) > 8 else ''}; "
            f"it holds {_list_keys(flat)}. It was probably saved from a different model or "
            f"optimizer: build the same architecture (and optimizer) that was saved, then load."
        )
    extra = [k for k in flat if k not in expected]
    if extra:
        raise ValueError(
            f"{what} holds key path(s) the template lacks: {_list_keys(extra)}. It was "
            f"probably saved from a bigger or different model: build the same architecture "
            f"(and optimizer) that was saved, then load."
        )

    leaves = []
    for key, (leaf, shape, dtype) in expected.items():
        value = flat[key]
        got_shape, got_dtype = tuple(np.shape(value)), np.dtype(getattr(value, "dtype", None))
        if got_shape != shape:
            raise ValueError(
                f"{what}: the array at key path {key!r} has shape {got_shape}, but the template "
                f"expects {shape}. The layer sizes differ from the saved model's: build the "
                f"model with the sizes that were saved."
            )
        if got_dtype != dtype:
            raise ValueError(
                f"{what}: the array at key path {key!r} has dtype {got_dtype.name}, but the "
                f"template expects {dtype.name}. Build the model with the dtype that was saved "
                f"(or cast the loaded arrays yourself)."
            )
        array = jnp.asarray(value, dtype=dtype)
        if _is_key(leaf):
            # key_impl needs a concrete key; an abstract (eval_shape) leaf carries it on its dtype.
            impl = jax.random.key_impl(leaf) if isinstance(leaf, jax.Array) else leaf.dtype._impl
            array = jax.random.wrap_key_data(array, impl=impl)
        leaves.append(array)
    return jax.tree_util.tree_unflatten(treedef, leaves)


def _canonical(arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Contiguous little-endian copies (views where possible): the bytes the file stores."""
    out = {}
    for key, a in arrays.items():
        if not a.flags.c_contiguous:
            a = a.copy(order="C")
        if a.dtype.byteorder == ">":
            a = a.astype(a.dtype.newbyteorder("<"))
        out[key] = a
    return out


def _digest(entries: list[tuple[str, str, tuple, Any]], user: str) -> str:
    """SHA-256 over ``(key, dtype, shape, raw bytes)`` with keys sorted, then the user metadata.

    Lengths delimit the fields, so no two different contents hash the same byte stream.
    """
    h = hashlib.sha256()
    for key, dtype, shape, data in sorted(entries, key=lambda e: e[0]):
        data = memoryview(data).cast("B")
        name = key.encode("utf-8")
        h.update(f"{len(name)}:".encode())
        h.update(name)
        h.update(f"|{dtype}|{','.join(map(str, shape))}|{data.nbytes}|".encode())
        h.update(data)
    text = user.encode("utf-8")
    h.update(f"user:{len(text)}:".encode())
    h.update(text)
    return h.hexdigest()


def _dtype_tag(dtype: np.dtype) -> str | None:
    for tag, d in _DTYPES.items():
        if d == dtype:
            return tag
    return None


def _fsync_dir(directory: str) -> None:
    # Makes the rename itself durable; not every platform can open a directory (Windows).
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _reraise(e: OSError, path: str, hint: str) -> OSError:
    message = (
        f"could not save the checkpoint to {path!r}: {e.strerror or e}. Nothing was changed: "
        f"the previous file at that path (if any) is intact. {hint}"
    )
    try:
        return type(e)(e.errno, message) if e.errno is not None else type(e)(message)
    except Exception:
        return OSError(e.errno, message)


def save(
    path: str | os.PathLike,
    arrays: Mapping[str, Any],
    metadata: dict | None = None,
) -> None:
    """Writes ``arrays`` (and JSON ``metadata``) to ``path`` atomically, in safetensors format.

    The bytes are built in memory first; they go to a temporary file in the same folder, which
    is flushed, ``fsync``-ed and renamed onto ``path`` (``os.replace``, atomic on POSIX and
    Windows), and the folder is ``fsync``-ed. A failure at any point (a full disk, a read-only
    folder, a kill) leaves the previous file at ``path`` untouched and no temporary file behind.

    The header's ``__metadata__`` records the format (``"format": "fnnet-checkpoint"``,
    ``"version": "1"``), a SHA-256 over the tensors and the metadata that :func:`load`
    verifies, and ``metadata`` JSON-encoded under ``"user"``.

    A symlink at ``path`` is followed: the file it points to is replaced (atomically, in its own
    folder) and the link stays. Temporary files of the same target left behind by a killed save
    (their writer process no longer runs, or, from another host, older than a day) are removed.

    Args:
        path: the file to write; by convention it ends in ``.safetensors`` (never added for you).
        arrays: ``{name: array}``; numpy or JAX arrays of a numeric or bool dtype
            (bfloat16 included). Use :func:`flatten` (or :func:`save_tree`) for a pytree.
        metadata: an optional JSON-encodable dict (epoch, optimizer name, model config...).

    Raises:
        TypeError: for a non-str key, a typed PRNG key or unsupported dtype, or metadata that
            JSON cannot encode.
        OSError: (the same subclass, e.g. ``PermissionError``) when the file cannot be
            written; the message names the path and says the previous file is intact.

    Example:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "w.safetensors")
        >>> save(path, {"kernel": np.eye(2, dtype=np.float32)}, metadata={"epoch": 1})
        >>> arrays, meta = load(path)
        >>> arrays["kernel"].tolist(), meta
        ([[1.0, 0.0], [0.0, 1.0]], {'epoch': 1})
    """
    st = _safetensors()
    path = os.fspath(path)
    if not isinstance(arrays, Mapping):
        raise TypeError(
            f"save(path, arrays): arrays must be a dict {{name: array}}; got "
            f"{type(arrays).__name__}. Use save_tree(path, tree) to save a pytree."
        )
    clean = {}
    for key, value in arrays.items():
        if not isinstance(key, str):
            raise TypeError(f"save: array names must be str; got {key!r}. Use flatten(tree).")
        if _is_key(value):
            raise TypeError(
                f"save: the array {key!r} is a typed PRNG key ({value.dtype}); store it with "
                f"flatten(tree) or save_tree(path, tree), which save its key data."
            )
        value = np.asarray(value)
        if _dtype_tag(value.dtype) is None:
            raise TypeError(
                f"save: the array {key!r} has dtype {value.dtype}, which checkpoints cannot "
                f"store; supported: {', '.join(d.name for d in _DTYPES.values())}. Cast it first."
            )
        clean[key] = value
    clean = _canonical(clean)
    try:
        user = json.dumps({} if metadata is None else metadata, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise TypeError(
            f"save: metadata must be JSON-encodable (str keys; str, number, bool, None, list, "
            f"dict values; no NaN); got {metadata!r}: {e}."
        ) from e
    digest = _digest(
        [(k, a.dtype.name, a.shape, a.reshape(-1).view(np.uint8)) for k, a in clean.items()],
        user,
    )
    header = {"format": FORMAT, "version": VERSION, "sha256": digest, "user": user}
    # Serialize fully before touching the disk, so an error here changes nothing.
    data = st.numpy.save(clean, metadata=header)
    if jax.process_count() > 1:  # several processes hold the same values: one writes
        if jax.process_index() == 0:
            _write(path, data)
        multihost_utils.sync_global_devices(f"fnnet checkpoint {os.path.basename(path)}")
        return
    _write(path, data)


def write_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Writes the bytes ``data`` to ``path`` as :func:`save` writes checkpoints: a temporary
    file in the same folder, flushed, ``fsync``-ed and renamed onto ``path``, so a failure
    leaves the previous file untouched (for files of other formats, e.g. Keras's ``.h5``).

    Example:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "notes.txt")
        >>> write_atomic(path, b"hello")
        >>> open(path, "rb").read()
        b'hello'
    """
    _write(os.fspath(path), bytes(data))


def _write(path: str, data: bytes) -> None:
    """``data`` to ``path`` atomically: a temporary file in the same folder, renamed."""
    # A symlink is followed, as editors and Orbax do: the file it points to is replaced
    # atomically in its own folder, and the link stays a link.
    path = os.path.realpath(path) if os.path.islink(path) else path
    directory = os.path.dirname(os.path.abspath(path))
    _remove_stale_temporaries(directory, os.path.basename(path))
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=_temp_prefix(os.path.basename(path)),
                                   suffix=".tmp")
    except OSError as e:
        raise _reraise(e, path, "Check that the folder exists and is writable.") from e
    try:
        with os.fdopen(fd, "wb") as f:
            try:
                # mkstemp makes the file 0o600; a checkpoint keeps the mode it had, or 0o644.
                mode = os.stat(path).st_mode & 0o777 if os.path.exists(path) else 0o644
                os.chmod(tmp, mode)
            except OSError:
                pass
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        if isinstance(e, OSError):
            raise _reraise(e, path, "Free some disk space or choose a writable folder.") from e
        raise
    _fsync_dir(directory)


# A temporary file is named ".<target>.<host>.<pid>.<random>.tmp", so a later save of the same
# target can tell its own leftovers (the writer is dead) from a concurrent writer's.
_STALE_AFTER_S = 24 * 3600  # a temporary from another host is stale after a day


def _temp_prefix(name: str) -> str:
    return f".{name}.{socket.gethostname()}.{os.getpid()}."


def _remove_stale_temporaries(directory: str, name: str) -> None:
    """Removes temporary files of ``name`` left by killed saves (never a live writer's)."""
    prefix, host = f".{name}.", socket.gethostname()
    try:
        entries = os.listdir(directory)
    except OSError:
        return
    now = time.time()
    for entry in entries:
        if not (entry.startswith(prefix) and entry.endswith(".tmp")):
            continue
        parts = entry[len(prefix):-len(".tmp")].rsplit(".", 2)
        full = os.path.join(directory, entry)
        try:
            if len(parts) == 3 and parts[0] == host and parts[1].isdigit():
                stale = not _alive(int(parts[1]))
            else:  # another host's, or an older naming: only by age
                stale = now - os.stat(full).st_mtime > _STALE_AFTER_S
            if stale:
                os.remove(full)
        except OSError:
            continue


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True  # this process's own temporaries belong to saves still running (threads)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _fail(path: str, message: str) -> CheckpointError:
    return CheckpointError(f"cannot load checkpoint {path!r}: {message}")


def _check_header(path: str, data: bytes) -> int:
    """Validates the 8-byte length and the header's first byte; returns the header length."""
    size = len(data)
    n = struct.unpack("<Q", data[:8])[0] if size >= 8 else None
    if n is not None and n <= size - 8 and n <= _MAX_HEADER_BYTES and data[8:9] == b"{":
        return n
    for signature, description in _IMPOSTORS:
        if data.startswith(signature):
            raise _fail(
                path,
                f"the file is {description}, not a safetensors checkpoint. fnnet checkpoints "
                f"are never unpickled or unzipped, since that can run arbitrary code; convert "
                f"the arrays and save them with fnnet.checkpoint.save.",
            )
    if n is None:
        raise _fail(
            path,
            f"the file is {size} bytes, too short to be a checkpoint (a safetensors file "
            f"starts with an 8-byte header length). It is truncated or not a checkpoint.",
        )
    if n > size - 8 or n > _MAX_HEADER_BYTES:
        raise _fail(
            path,
            f"the file has a header that declares absurd sizes ({n} header bytes in a file of "
            f"{size} bytes). It is truncated, corrupted or not a checkpoint.",
        )
    raise _fail(
        path,
        f"the header does not start with '{{' (got {data[8:9]!r}). It is corrupted or not a "
        f"safetensors checkpoint.",
    )


def load(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict]:
    """Reads and verifies a checkpoint written by :func:`save`.

    The file is validated before it is parsed: its size, the declared header length, the
    header's first byte, and known impostor formats (a pickle, a zip or ``.npz``, ``.npy``,
    HDF5), which are refused and never unpickled. After parsing, the format tag and the
    SHA-256 over the tensors and the metadata are checked.

    Args:
        path: the ``.safetensors`` file.

    Returns:
        ``(arrays, metadata)``: ``{name: np.ndarray}`` and the metadata dict given to ``save``.

    Raises:
        FileNotFoundError: when ``path`` does not exist.
        CheckpointError: (a ``ValueError``) naming the path, when the file is not an intact
            fnnet checkpoint: truncated, corrupted (checksum mismatch), another format, or
            from a newer fnnet.

    Example:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "bad.safetensors")
        >>> with open(path, "wb") as f:
        ...     _ = f.write(b"not a checkpoint")
        >>> load(path)
        Traceback (most recent call last):
        ...
        fnnet.checkpoint.CheckpointError: cannot load checkpoint '...': the file has a header ...
    """
    st = _safetensors()
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"no checkpoint at {path!r}: the file does not exist. Check the path (checkpoint "
            f"files end in {SUFFIX!r}; none is added for you)."
        )
    if os.path.isdir(path):
        raise _fail(path, "it is a folder, not a file. Pass the path of the .safetensors file.")
    with open(path, "rb") as f:
        data = f.read()
    n = _check_header(path, data)
    try:
        header = json.loads(data[8 : 8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise _fail(path, f"the header is not valid JSON ({e}). The file is corrupted.") from e
    meta = header.get("__metadata__") if isinstance(header, dict) else None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise _fail(
            path,
            f"it is not an fnnet checkpoint: its header has no format tag "
            f"'format': {FORMAT!r} (got metadata {meta!r}). It may be a safetensors file "
            f"written by another library; read it with safetensors.numpy.load_file.",
        )
    if meta.get("version") != VERSION:
        raise _fail(
            path,
            f"it has checkpoint format version {meta.get('version')!r}, but this fnnet reads "
            f"version {VERSION!r}. Upgrade fnnet to load it.",
        )
    try:
        tensors = st.deserialize(data)
    except Exception as e:  # safetensors raises its own SafetensorError (and others) on bad input
        raise _fail(path, f"safetensors could not parse it ({e}). The file is corrupted.") from e
    entries, arrays = [], {}
    for key, info in tensors:
        dtype = _DTYPES.get(info["dtype"])
        if dtype is None:
            raise _fail(path, f"the array {key!r} has unsupported dtype {info['dtype']!r}.")
        raw = info["data"]
        entries.append((key, dtype.name, tuple(info["shape"]), raw))
        arrays[key] = np.frombuffer(raw, dtype=dtype).reshape(info["shape"])
    user_text = meta.get("user", "{}")
    if _digest(entries, user_text) != meta.get("sha256"):
        raise _fail(
            path,
            "the checkpoint is corrupted (checksum mismatch): its arrays or metadata are not "
            "the ones that were saved. Restore it from a backup or save it again.",
        )
    try:
        user = json.loads(user_text)
    except json.JSONDecodeError as e:
        raise _fail(path, f"its user metadata is not valid JSON ({e}).") from e
    return arrays, user


def save_tree(path: str | os.PathLike, tree: PyTree, metadata: dict | None = None) -> None:
    """Saves a pytree atomically: ``save(path, flatten(tree), metadata)``.

    Example:
        >>> import os, tempfile, jax.numpy as jnp
        >>> path = os.path.join(tempfile.mkdtemp(), "params.safetensors")
        >>> save_tree(path, [{"w": jnp.ones(2)}])
        >>> sorted(load(path)[0])
        ['0/w']
    """
    save(path, flatten(tree), metadata)


def load_tree(path: str | os.PathLike, template: PyTree) -> tuple[PyTree, dict]:
    """Loads a pytree saved by :func:`save_tree`, with ``template``'s structure, shapes and dtypes.

    Args:
        path: the ``.safetensors`` file.
        template: a pytree of the expected structure (e.g. freshly initialized params, or
            ``jax.eval_shape`` of the init).

    Returns:
        ``(tree, metadata)``.

    Raises:
        FileNotFoundError, CheckpointError: as :func:`load`.
        ValueError: as :func:`unflatten`, naming the file and the key path.

    Example:
        >>> import os, tempfile, jax.numpy as jnp
        >>> path = os.path.join(tempfile.mkdtemp(), "params.safetensors")
        >>> save_tree(path, {"w": jnp.arange(3.0)}, metadata={"note": "hi"})
        >>> tree, meta = load_tree(path, {"w": jnp.zeros(3)})
        >>> tree["w"].tolist(), meta
        ([0.0, 1.0, 2.0], {'note': 'hi'})
    """
    arrays, metadata = load(path)
    return unflatten(template, arrays, what=f"checkpoint {os.fspath(path)!r}"), metadata
