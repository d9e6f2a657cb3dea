"""Small dataset files in Keras's real formats, a local HTTP server, and cache fixtures.

Imported by the dataset test modules as ``from _dataset_files import ...``. Every file is
generated here: no test reads the network or the real home folder.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import io
import json
import pickle
import socket
import struct
import tarfile
import threading
import urllib.parse
import urllib.request
import zipfile

import numpy as np
import pytest

# ---------------------------------------------------------------------------------------------
# Pickles as Python 2's cPickle wrote them (CIFAR's batches): protocol 2, every str and bytes as
# BINSTRING, numpy's _reconstruct under its old module name.


class _Py2Pickler(pickle._Pickler):
    dispatch = pickle._Pickler.dispatch.copy()

    def _save_py2_str(self, obj):
        data = obj if isinstance(obj, bytes) else obj.encode("latin-1")
        if len(data) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(data)]) + data)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(data)) + data)
        self.memoize(obj)

    dispatch[bytes] = _save_py2_str
    dispatch[str] = _save_py2_str

    def save_global(self, obj, name=None):
        module = "numpy.core.multiarray" if obj.__name__ == "_reconstruct" else obj.__module__
        self.write(pickle.GLOBAL + f"{module}\n{obj.__qualname__}\n".encode())
        self.memoize(obj)


def py2_dumps(obj) -> bytes:
    buf = io.BytesIO()
    _Py2Pickler(buf, protocol=2).dump(obj)
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------
# File makers


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes((0, 0, 0x08, array.ndim)) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def fashion_files(seed: int = 0, n_train: int = 7, n_test: int = 3) -> dict[str, bytes]:
    rng = np.random.default_rng(seed)
    arrays = {
        "train-labels-idx1-ubyte.gz": rng.integers(0, 10, n_train, dtype=np.uint8),
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, n_test, dtype=np.uint8),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
    }
    return {name: gzip.compress(idx_bytes(a), mtime=0) for name, a in arrays.items()}


def cifar_images(n: int, offset: int) -> np.ndarray:
    """Distinct, compressible images: image i is a ramp shifted by ``7 i + offset``, whose red,
    green and blue planes differ."""
    starts = ((np.arange(n) * 7 + offset) % 256).astype(np.uint8)
    k = np.arange(3072)
    ramp = ((k * 3 + k // 1024 * 85) % 256).astype(np.uint8)
    return starts[:, None] + ramp[None, :]  # uint8 arithmetic wraps modulo 256


def cifar10_batches(sizes=(3, 2, 4, 1, 2, 3), seed=0) -> dict[str, dict]:
    rng = np.random.default_rng(seed)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    batches = {}
    for k, (name, n) in enumerate(zip(names, sizes, strict=True)):
        batches[name] = {
            b"batch_label": f"batch {k}".encode(),
            b"labels": [int(v) for v in rng.integers(0, 10, n)],
            b"data": cifar_images(n, 11 * k + seed),
            b"filenames": [f"img_{k}_{i}.png".encode() for i in range(n)],
        }
    batches["batches.meta"] = {b"label_names": [b"airplane"] * 10, b"num_vis": 3072}
    return batches


def cifar100_batches(n_train=5, n_test=3, seed=0) -> dict[str, dict]:
    rng = np.random.default_rng(seed)
    batches = {}
    for k, (name, n) in enumerate((("train", n_train), ("test", n_test))):
        batches[name] = {
            b"filenames": [f"img_{i}.png".encode() for i in range(n)],
            b"batch_label": name.encode(),
            b"fine_labels": [int(v) for v in rng.integers(0, 100, n)],
            b"coarse_labels": [int(v) for v in rng.integers(0, 20, n)],
            b"data": cifar_images(n, 5 * k + seed),
        }
    batches["meta"] = {b"fine_label_names": [b"apple"], b"coarse_label_names": [b"fish"]}
    return batches


def tar_gz(folder: str, members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=1) as tar:
        info = tarfile.TarInfo(folder)
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
        tar.addfile(info)
        for name, data in members.items():
            info = tarfile.TarInfo(f"{folder}/{name}")
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def cifar_archive(folder: str, batches: dict[str, dict], py2: bool = True) -> bytes:
    dump = py2_dumps if py2 else (lambda obj: pickle.dumps(obj, protocol=4))
    return tar_gz(folder, {name: dump(batch) for name, batch in batches.items()})


def ragged(rng, n: int, vocab: int, low: int = 1, high: int = 12) -> np.ndarray:
    out = np.empty(n, dtype=object)
    for i in range(n):
        out[i] = [int(w) for w in rng.integers(1, vocab, rng.integers(low, high))]
    return out


def npz_bytes(arrays: dict[str, np.ndarray], py2: bool = False) -> bytes:
    """An .npz as numpy writes it; with ``py2``, object members pickled as Python 2 did."""
    if not py2:
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        return buf.getvalue()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for key, array in arrays.items():
            member = io.BytesIO()
            if array.dtype.hasobject:
                header = np.lib.format.header_data_from_array_1_0(array)
                np.lib.format.write_array_header_1_0(member, header)
                member.write(py2_dumps(array))
            else:
                np.lib.format.write_array(member, array, version=(1, 0))
            archive.writestr(f"{key}.npy", member.getvalue())
    return buf.getvalue()


def imdb_arrays(seed: int = 0, n_train: int = 12, n_test: int = 9) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "x_train": ragged(rng, n_train, 40),
        "y_train": rng.integers(0, 2, n_train),
        "x_test": ragged(rng, n_test, 40),
        "y_test": rng.integers(0, 2, n_test),
    }


def reuters_arrays(seed: int = 0, n: int = 17) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"x": ragged(rng, n, 50), "y": rng.integers(0, 46, n)}


def housing_arrays(n: int, features: int, dtype, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "x": rng.normal(size=(n, features)).astype(dtype),
        "y": rng.normal(size=n).astype(dtype),
    }


def word_index_bytes(seed: int = 0) -> bytes:
    words = ["the", "and", "a", "of", "to", "is", "film", "brilliant", "naïve"]
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(words))
    return json.dumps({words[i]: int(r) + 1 for r, i in enumerate(order)}).encode()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------------------------------------
# Comparison


def assert_same(a, b) -> None:
    """Equal nested results: arrays (dtype, shape, values; object arrays item by item)."""
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray), type(b)
        assert a.dtype == b.dtype and a.shape == b.shape, (a.dtype, a.shape, b.dtype, b.shape)
        if a.dtype == object:
            assert [list(x) for x in a.ravel()] == [list(x) for x in b.ravel()]
        elif not np.array_equal(a, b):  # fast on CIFAR-sized arrays; the message only on failure
            np.testing.assert_array_equal(a, b)
    elif isinstance(a, (tuple, list)):
        assert type(a) is type(b) and len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert_same(x, y)
    else:
        assert a == b


# ---------------------------------------------------------------------------------------------
# Local server and cache folders


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A local HTTP server; routes map a path to (body, declared_length)."""

    def __init__(self):
        self.routes: dict[str, tuple[bytes, int]] = {}
        self.hits = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.hits += 1
                if self.path not in outer.routes:
                    self.send_error(404)
                    return
                body, length = outer.routes[self.path]
                self.send_response(200)
                self.send_header("Content-Length", str(length))
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()
                self.close_connection = True

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        # A short poll lets shutdown() return at once instead of after 0.5 s.
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self.thread.start()

    def serve(self, name: str, body: bytes, length: int | None = None) -> None:
        self.routes[f"/{name}"] = (body, len(body) if length is None else length)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(name="server")
def server_fixture():
    srv = Server()
    yield srv
    srv.close()


@pytest.fixture(name="homes")
def homes_fixture(tmp_path, monkeypatch):
    """Point HOME, FNNET_HOME and KERAS_HOME at temporary folders; never the real home.

    Downloads may reach only 127.0.0.1: any other host fails the test.
    """
    real_urlopen = urllib.request.urlopen

    def local_only(url, *args, **kwargs):
        host = urllib.parse.urlsplit(url if isinstance(url, str) else url.full_url).hostname
        assert host == "127.0.0.1", f"a test tried to download {url}"
        return real_urlopen(url, *args, **kwargs)

    monkeypatch.setattr(urllib.request, "urlopen", local_only)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("FNNET_HOME", str(tmp_path / "fnnet_home"))
    monkeypatch.delenv("KERAS_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    return {
        "home": home,
        "cache": tmp_path / "fnnet_home" / "datasets",
        "keras": home / ".keras" / "datasets",
        "offline": f"http://127.0.0.1:{closed_port()}",
    }
