"""Tests for fnnet.checkpoint: round trips, atomic writes, and refusal of damaged or foreign files."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import tempfile
import time
from typing import NamedTuple

import hypothesis.extra.numpy as hnp
import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
import optax
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fnnet import checkpoint
from fnnet.checkpoint import CheckpointError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Point(NamedTuple):
    x: jax.Array
    y: jax.Array


def _training_tree():
    """(params tuple of dicts, optax rmsprop state, key, step): a realistic TrainState."""
    params = (
        {"kernel": jnp.arange(12.0).reshape(3, 4), "bias": jnp.ones(4)},
        {},
        {"gamma": jnp.full((4,), 2.0), "count": jnp.array([1, 2, 3], jnp.int32)},
    )
    opt_state = optax.rmsprop(1e-3).init(params)
    return (params, opt_state, jax.random.key(42), jnp.array(7, jnp.int32))


def _assert_trees_equal(a, b):
    assert jax.tree_util.tree_structure(a) == jax.tree_util.tree_structure(b)
    for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b), strict=True):
        if jnp.issubdtype(getattr(x, "dtype", None), jax.dtypes.prng_key):
            assert y.dtype == x.dtype
            np.testing.assert_array_equal(jax.random.key_data(x), jax.random.key_data(y))
        else:
            assert np.asarray(x).dtype == np.asarray(y).dtype
            np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def _write(path, data: bytes):
    with open(path, "wb") as f:
        f.write(data)
    return path


# --- flatten / unflatten -------------------------------------------------------------------------


def test_flatten_key_paths():
    tree = (
        {"kernel": jnp.ones((2, 3))},
        Point(jnp.zeros(2), jnp.ones(2, jnp.int32)),
        [None, (), 1.5],
        jax.random.key(0),
    )
    flat = checkpoint.flatten(tree)
    assert sorted(flat) == ["0/kernel", "1/x", "1/y", "2/2", "3:key<fry>"]
    assert flat["3:key<fry>"].dtype == np.uint32 and flat["3:key<fry>"].shape == (2,)
    assert flat["2/2"].shape == () and flat["2/2"].dtype == np.float32
    assert all(isinstance(v, np.ndarray) for v in flat.values())


def test_flatten_refuses_colliding_key_paths():
    with pytest.raises(ValueError, match=r"two leaves of the tree map to the key path 'a/b'"):
        checkpoint.flatten({"a/b": 1, "a": {"b": 2}})


def test_tree_round_trip_keeps_structure_dtypes_and_keys(tmp_path):
    tree = _training_tree()
    path = tmp_path / "state.safetensors"
    checkpoint.save_tree(path, tree, metadata={"epoch": 3, "optimizer": "rmsprop"})
    restored, meta = checkpoint.load_tree(path, tree)
    _assert_trees_equal(tree, restored)
    assert meta == {"epoch": 3, "optimizer": "rmsprop"}
    assert isinstance(restored[0][0]["kernel"], jax.Array)
    # The restored key is usable as a key, and draws what the original draws.
    np.testing.assert_array_equal(jax.random.normal(restored[2], (3,)),
                                  jax.random.normal(tree[2], (3,)))


def test_round_trip_of_many_dtypes_scalars_and_namedtuples(tmp_path):
    tree = {
        "f16": jnp.arange(3, dtype=jnp.float16),
        "bf16": jnp.arange(3, dtype=jnp.bfloat16),
        "u8": np.arange(4, dtype=np.uint8),
        "i8": np.array([-1, 2], np.int8),
        "bool": jnp.array([True, False]),
        "scalar_f": jnp.float32(0.25),
        "scalar_i": 5,
        "point": Point(jnp.ones((0, 3)), jnp.zeros((2, 1, 2))),
        "keys": jax.random.split(jax.random.key(1), 3),
        "nothing": None,
        "empty": (),
    }
    path = tmp_path / "t.safetensors"
    checkpoint.save_tree(path, tree)
    restored, meta = checkpoint.load_tree(path, tree)
    assert meta == {}
    assert restored["bf16"].dtype == jnp.bfloat16
    assert restored["scalar_i"].dtype == jnp.int32 and int(restored["scalar_i"]) == 5
    assert restored["nothing"] is None and restored["empty"] == ()
    expected = dict(tree, u8=jnp.asarray(tree["u8"]), i8=jnp.asarray(tree["i8"]),
                    scalar_i=jnp.asarray(5))
    _assert_trees_equal(expected, restored)


def test_unflatten_accepts_an_abstract_template():
    tree = _training_tree()
    abstract = jax.eval_shape(lambda: tree)
    restored = checkpoint.unflatten(abstract, checkpoint.flatten(tree))
    _assert_trees_equal(tree, restored)


def test_unflatten_names_a_missing_key():
    flat = checkpoint.flatten({"a": jnp.ones(2), "b": jnp.ones(3)})
    del flat["b"]
    with pytest.raises(ValueError, match=r"is missing the key path\(s\) 'b' \(float32\[3\]\)"):
        checkpoint.unflatten({"a": jnp.ones(2), "b": jnp.ones(3)}, flat)


def test_unflatten_names_an_extra_key():
    flat = checkpoint.flatten({"a": jnp.ones(2), "b": {"c": jnp.ones(3)}})
    with pytest.raises(ValueError, match=r"weights file 'w' holds key path\(s\) the template "
                                         r"lacks: \['b/c'\]"):
        checkpoint.unflatten({"a": jnp.ones(2)}, flat, what="weights file 'w'")


def test_unflatten_names_a_shape_mismatch():
    flat = checkpoint.flatten(({"kernel": jnp.ones((3, 4))},))
    with pytest.raises(ValueError, match=r"key path '0/kernel' has shape \(3, 4\), but the "
                                         r"template expects \(3, 5\)"):
        checkpoint.unflatten(({"kernel": jnp.ones((3, 5))},), flat)


def test_unflatten_names_a_dtype_mismatch():
    flat = checkpoint.flatten({"step": jnp.array(1, jnp.int32)})
    with pytest.raises(ValueError, match=r"key path 'step' has dtype int32, but the template "
                                         r"expects float32"):
        checkpoint.unflatten({"step": jnp.array(1.0)}, flat)


def test_unflatten_never_turns_plain_uint32_into_a_key():
    flat = checkpoint.flatten({"rng": jnp.zeros(2, jnp.uint32)})
    with pytest.raises(ValueError, match=r"missing the key path\(s\) 'rng:key<fry>' "
                                         r"\(uint32\[2\]\)"):
        checkpoint.unflatten({"rng": jax.random.key(0)}, flat)


# --- save: atomicity and clear errors -----------------------------------------------------------


def _leftovers(folder):
    return sorted(name for name in os.listdir(folder) if name.endswith(".tmp"))


@pytest.mark.parametrize("fail_in", ["replace", "fsync"])
def test_failed_save_keeps_the_previous_file_and_no_temp_file(tmp_path, monkeypatch, fail_in):
    path = tmp_path / "w.safetensors"
    checkpoint.save(path, {"x": np.zeros(3, np.float32)}, metadata={"v": 1})
    before = path.read_bytes()

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, fail_in, disk_full)
    with pytest.raises(OSError, match=r"could not save the checkpoint to .*w\.safetensors.*No "
                                      r"space left on device.*previous file at that path \(if "
                                      r"any\) is intact") as info:
        checkpoint.save(path, {"x": np.ones(3, np.float32)}, metadata={"v": 2})
    assert info.value.errno == errno.ENOSPC
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert _leftovers(tmp_path) == []
    assert checkpoint.load(path)[1] == {"v": 1}


def test_an_interrupt_during_the_write_removes_the_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "w.safetensors"

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        checkpoint.save(path, {"x": np.ones(3, np.float32)})
    assert os.listdir(tmp_path) == []


def test_save_into_a_read_only_folder(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("running as root: chmod does not block writes (simulated in the next test)")
    folder = tmp_path / "ro"
    folder.mkdir()
    os.chmod(folder, 0o555)
    try:
        with pytest.raises(PermissionError, match=r"Check that the folder exists and is writable"):
            checkpoint.save(folder / "w.safetensors", {"x": np.ones(1, np.float32)})
        assert os.listdir(folder) == []
    finally:
        os.chmod(folder, 0o755)


def test_save_into_a_read_only_folder_simulated(tmp_path, monkeypatch):
    def read_only(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    with pytest.raises(PermissionError, match=r"Permission denied\. Nothing was changed.*Check "
                                              r"that the folder exists and is writable"):
        checkpoint.save(tmp_path / "w.safetensors", {"x": np.ones(1, np.float32)})
    assert os.listdir(tmp_path) == []


def test_save_into_a_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"could not save the checkpoint to .*nope"):
        checkpoint.save(tmp_path / "nope" / "w.safetensors", {"x": np.ones(1, np.float32)})


def test_save_keeps_the_file_mode_and_new_files_are_readable(tmp_path):
    path = tmp_path / "w.safetensors"
    checkpoint.save(path, {"x": np.ones(1, np.float32)})
    assert os.stat(path).st_mode & 0o777 == 0o644
    os.chmod(path, 0o600)
    checkpoint.save(path, {"x": np.ones(1, np.float32)})
    assert os.stat(path).st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    "arrays, metadata, message",
    [
        ([np.ones(2)], None, r"arrays must be a dict \{name: array\}; got list"),
        ({1: np.ones(2)}, None, r"array names must be str; got 1"),
        ({"rng": jax.random.key(0)}, None, r"'rng' is a typed PRNG key \(key<fry>\)"),
        ({"z": np.ones(2, np.complex128)}, None, r"'z' has dtype complex128, which checkpoints "
                                                 r"cannot store"),
        ({"x": np.ones(2)}, {"f": print}, r"metadata must be JSON-encodable"),
        ({"x": np.ones(2)}, {"loss": float("nan")}, r"metadata must be JSON-encodable"),
    ],
)
def test_save_refuses_bad_input_before_touching_the_file(tmp_path, arrays, metadata, message):
    path = tmp_path / "w.safetensors"
    checkpoint.save(path, {"old": np.ones(1, np.float32)})
    before = path.read_bytes()
    with pytest.raises(TypeError, match=message):
        checkpoint.save(path, arrays, metadata)
    assert path.read_bytes() == before
    assert _leftovers(tmp_path) == []


# One interpreter imports fnnet once and forks a saver per path (three imports would take
# seconds); each saver rewrites its checkpoint in a loop until the test SIGKILLs it.
_SAVERS = r"""
import os, sys
import numpy as np
from fnnet import checkpoint
children = []
for path in sys.argv[1:]:
    pid = os.fork()
    if pid == 0:
        i = 0
        while True:
            x = np.full((256, 256), i, np.float32)
            checkpoint.save(path, {"x": x, "i": np.array(i)}, metadata={"i": i})
            if i == 0:
                os.write(1, f"ready {os.getpid()}\n".encode())  # one write: no interleaving
            i += 1
    children.append(pid)
for pid in children:
    _, status = os.waitpid(pid, 0)
    os.write(1, f"exit {os.waitstatus_to_exitcode(status)}\n".encode())
"""


class _LineReader:
    """Reads lines from a pipe with a deadline (select on the raw fd: no hidden buffering)."""

    def __init__(self, pipe):
        self.fd, self.buffer = pipe.fileno(), b""

    def next(self, deadline: float) -> str:
        while b"\n" not in self.buffer:
            ready, _, _ = select.select([self.fd], [], [], max(0.0, deadline - time.monotonic()))
            chunk = os.read(self.fd, 4096) if ready else None
            if not chunk:
                return "(timed out)" if chunk is None else "(end of output)"
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode()


def test_sigkill_during_repeated_saves_leaves_a_loadable_file(tmp_path):
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""),
               JAX_PLATFORMS="cpu")
    paths = [tmp_path / f"run{j}" / "w.safetensors" for j in range(3)]
    for path in paths:
        path.parent.mkdir()
    # A new session makes the interpreter and its forked savers one process group (id: its pid),
    # so the cleanup below can always end all of them and the pipes close.
    proc = subprocess.Popen([sys.executable, "-c", _SAVERS, *map(str, paths)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0,
                            start_new_session=True)
    lines = _LineReader(proc.stdout)
    try:
        deadline = time.monotonic() + 30
        pids = []
        for _ in paths:
            line = lines.next(deadline)
            assert line.startswith("ready "), f"saver did not start: {line!r}"
            pids.append(int(line.split()[1]))
        start = time.monotonic()
        for j, pid in enumerate(pids):
            # Stagger the kills so they land at different points of a save.
            time.sleep(max(0.0, start + 0.3 + 0.17 * j - time.monotonic()))
            os.kill(pid, signal.SIGKILL)
        exits = [lines.next(deadline) for _ in pids]
        assert exits == [f"exit {-signal.SIGKILL}"] * 3
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
    for path in paths:
        arrays, meta = checkpoint.load(path)
        i = meta["i"]
        assert int(arrays["i"]) == i
        np.testing.assert_array_equal(arrays["x"], np.full((256, 256), i, np.float32))
        # A kill mid-save may leave its temp file (nothing can remove it), never more than one.
        assert len(_leftovers(path.parent)) <= 1


# --- load: refusing damaged and foreign files ---------------------------------------------------


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "w.safetensors"
    checkpoint.save(path, {"kernel": np.arange(64, dtype=np.float32).reshape(8, 8),
                           "step": np.array(3, np.int32)}, metadata={"epoch": 2})
    data = path.read_bytes()
    header_len = struct.unpack("<Q", data[:8])[0]
    return path, data, header_len


def test_load_round_trip_of_the_fixture(saved):
    path, _, _ = saved
    arrays, meta = checkpoint.load(str(path))
    assert arrays["kernel"][7, 7] == 63.0 and arrays["step"].dtype == np.int32
    assert meta == {"epoch": 2}


@pytest.mark.parametrize("where", ["0", "4", "8", "mid-header", "mid-data", "size-1"])
def test_truncated_files_are_refused(saved, where):
    path, data, header_len = saved
    offset = {"0": 0, "4": 4, "8": 8, "mid-header": 8 + header_len // 2,
              "mid-data": 8 + header_len + (len(data) - 8 - header_len) // 2,
              "size-1": len(data) - 1}[where]
    _write(path, data[:offset])
    with pytest.raises(CheckpointError, match=r"cannot load checkpoint '.*w\.safetensors': .*"
                                              r"(too short|absurd sizes|could not parse)"):
        checkpoint.load(path)


def test_a_flipped_data_byte_fails_the_checksum(saved):
    path, data, header_len = saved
    for offset in (8 + header_len, 8 + header_len + 100, len(data) - 1):
        damaged = bytearray(data)
        damaged[offset] ^= 0x01
        _write(path, bytes(damaged))
        with pytest.raises(CheckpointError, match=r"checkpoint is corrupted \(checksum "
                                                  r"mismatch\)"):
            checkpoint.load(path)


def test_flipped_header_bytes_are_refused(saved):
    path, data, header_len = saved
    for offset in range(8, 8 + header_len, 7):
        damaged = bytearray(data)
        damaged[offset] ^= 0x20
        _write(path, bytes(damaged))
        try:
            arrays, _ = checkpoint.load(path)
        except CheckpointError:
            continue
        # A flip in padding or in a JSON space can leave the file intact: then the data must be.
        assert arrays["kernel"].tolist() == np.arange(64.0).reshape(8, 8).tolist()


def test_a_flipped_key_name_fails_the_checksum(saved):
    path, data, _ = saved
    _write(path, data.replace(b'"kernel"', b'"kernal"'))
    with pytest.raises(CheckpointError, match=r"checksum mismatch"):
        checkpoint.load(path)


@pytest.mark.parametrize(
    "make, kind",
    [
        (lambda p: _write(p, pickle.dumps({"kernel": np.ones(3)})), "a Python pickle"),
        (lambda p: np.savez(open(p, "wb"), kernel=np.ones(3)), "a zip archive"),
        (lambda p: np.save(open(p, "wb"), np.ones(3)), "a NumPy .npy file"),
        (lambda p: _write(p, b"\x89HDF\r\n\x1a\n" + bytes(64)), "an HDF5 file"),
    ],
)
def test_impostor_formats_are_refused_and_never_unpickled(tmp_path, make, kind):
    path = tmp_path / "model.safetensors"
    make(path)
    with pytest.raises(CheckpointError, match=rf"the file is {kind}.*not a safetensors "
                                              rf"checkpoint\. fnnet checkpoints are never "
                                              rf"unpickled"):
        checkpoint.load(path)


def test_a_header_declaring_absurd_sizes_is_refused(tmp_path):
    path = _write(tmp_path / "w.safetensors", struct.pack("<Q", 10**15) + b"{}")
    with pytest.raises(CheckpointError, match=r"a header that declares absurd sizes "
                                              r"\(1000000000000000 header bytes in a file of 10"):
        checkpoint.load(path)


def test_a_header_over_the_size_limit_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(checkpoint, "_MAX_HEADER_BYTES", 16)
    path = _write(tmp_path / "w.safetensors", struct.pack("<Q", 32) + b"{" + b" " * 31)
    with pytest.raises(CheckpointError, match=r"absurd sizes \(32 header bytes"):
        checkpoint.load(path)


def test_a_header_that_is_not_a_json_object_is_refused(tmp_path):
    path = _write(tmp_path / "w.safetensors", struct.pack("<Q", 2) + b"[]")
    with pytest.raises(CheckpointError, match=r"the header does not start with '\{' \(got b'\['\)"):
        checkpoint.load(path)


def test_a_header_that_is_not_json_is_refused(tmp_path):
    path = _write(tmp_path / "w.safetensors", struct.pack("<Q", 3) + b"{ab")
    with pytest.raises(CheckpointError, match=r"the header is not valid JSON"):
        checkpoint.load(path)


def _raw_file(header: dict, payload: bytes = b"") -> bytes:
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + payload


def test_a_safetensors_file_from_another_library_is_refused(tmp_path):
    import safetensors.numpy

    path = tmp_path / "hf.safetensors"
    safetensors.numpy.save_file({"w": np.ones(2, np.float32)}, str(path))
    with pytest.raises(CheckpointError, match=r"it is not an fnnet checkpoint: its header has no "
                                              r"format tag"):
        checkpoint.load(path)


def test_a_newer_format_version_is_refused(tmp_path):
    meta = {"format": "fnnet-checkpoint", "version": "2", "sha256": "", "user": "{}"}
    path = _write(tmp_path / "w.safetensors", _raw_file({"__metadata__": meta}))
    with pytest.raises(CheckpointError, match=r"format version '2', but this fnnet reads version "
                                              r"'1'\. Upgrade fnnet"):
        checkpoint.load(path)


def test_inconsistent_offsets_are_refused(tmp_path):
    meta = {"format": "fnnet-checkpoint", "version": "1", "sha256": "", "user": "{}"}
    header = {"__metadata__": meta, "w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}
    path = _write(tmp_path / "w.safetensors", _raw_file(header, bytes(8)))
    with pytest.raises(CheckpointError, match=r"safetensors could not parse it"):
        checkpoint.load(path)


def test_an_unsupported_dtype_in_the_file_is_refused(tmp_path):
    meta = {"format": "fnnet-checkpoint", "version": "1", "sha256": "", "user": "{}"}
    header = {"__metadata__": meta, "w": {"dtype": "F8_E4M3", "shape": [2], "data_offsets": [0, 2]}}
    path = _write(tmp_path / "w.safetensors", _raw_file(header, bytes(2)))
    with pytest.raises(CheckpointError, match=r"the array 'w' has unsupported dtype 'F8_E4M3'"):
        checkpoint.load(path)


def test_changed_user_metadata_fails_the_checksum(saved):
    path, data, _ = saved
    assert b'{\\"epoch\\": 2}' in data
    _write(path, data.replace(b'{\\"epoch\\": 2}', b'{\\"epoch\\": 3}'))
    with pytest.raises(CheckpointError, match=r"checksum mismatch\): its arrays or metadata"):
        checkpoint.load(path)


def test_bad_user_metadata_is_refused(tmp_path):
    import safetensors.numpy

    arrays = {"w": np.ones(2, np.float32)}
    user = "{not json"
    digest = checkpoint._digest([("w", "float32", (2,), arrays["w"].view(np.uint8))], user)
    meta = {"format": "fnnet-checkpoint", "version": "1", "sha256": digest, "user": user}
    path = _write(tmp_path / "w.safetensors", safetensors.numpy.save(arrays, metadata=meta))
    with pytest.raises(CheckpointError, match=r"its user metadata is not valid JSON"):
        checkpoint.load(path)


def test_a_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no checkpoint at '.*gone\.safetensors': the file "
                                                r"does not exist"):
        checkpoint.load(tmp_path / "gone.safetensors")


def test_a_folder_is_not_a_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match=r"it is a folder, not a file"):
        checkpoint.load(tmp_path)


def test_load_tree_names_the_file_on_a_mismatch(saved):
    path, _, _ = saved
    with pytest.raises(ValueError, match=r"checkpoint '.*w\.safetensors' is missing the key "
                                         r"path\(s\) 'bias'"):
        checkpoint.load_tree(path, {"kernel": jnp.ones((8, 8)), "step": 0, "bias": jnp.ones(8)})


def test_a_missing_safetensors_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "safetensors", None)
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    with pytest.raises(ImportError, match=r"pip install 'fnnet\[io\]'"):
        checkpoint.save("unused.safetensors", {})


# --- property: random trees round-trip exactly --------------------------------------------------

_leaf = st.one_of(
    hnp.arrays(np.float32, hnp.array_shapes(min_dims=0, max_dims=3, max_side=4)),
    hnp.arrays(np.int32, hnp.array_shapes(min_dims=0, max_dims=3, max_side=4)),
)
_trees = st.recursive(
    _leaf,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.lists(children, max_size=3).map(tuple),
        st.dictionaries(st.text("abcxyz_", min_size=1, max_size=4), children, max_size=3),
    ),
    max_leaves=8,
)


@settings(max_examples=25, deadline=None)
@given(_trees)
def test_random_trees_round_trip_exactly(tree):
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "t.safetensors")
        checkpoint.save_tree(path, tree)
        arrays, _ = checkpoint.load(path)
        restored, _ = checkpoint.load_tree(path, tree)
    flat = checkpoint.flatten(tree)
    assert sorted(arrays) == sorted(flat)
    for key, value in flat.items():
        assert arrays[key].dtype == value.dtype and arrays[key].shape == value.shape
        assert arrays[key].tobytes() == value.tobytes()  # bit-exact, NaN payloads included
    assert jax.tree_util.tree_structure(restored) == jax.tree_util.tree_structure(tree)
    for a, b in zip(jax.tree_util.tree_leaves(restored), jax.tree_util.tree_leaves(tree), strict=True):
        assert np.asarray(a).dtype == b.dtype
        np.testing.assert_array_equal(np.asarray(a), b)


def test_bfloat16_payload_is_bit_exact(tmp_path):
    x = np.array([1.5, -2.25, 3e-3], ml_dtypes.bfloat16)
    checkpoint.save(tmp_path / "b.safetensors", {"x": x})
    arrays, _ = checkpoint.load(tmp_path / "b.safetensors")
    assert arrays["x"].dtype == x.dtype and arrays["x"].tobytes() == x.tobytes()
