"""Tests for fnnet.datasets: downloads and caches of every Keras loader, MNIST, scikit-learn sets.

Formats, safe pickle reading and the comparisons with Keras are in test_datasets_keras.py.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import pathlib
import pickle
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
from _dataset_files import (
    assert_same,
    cifar10_batches,
    cifar100_batches,
    cifar_archive,
    fashion_files,
    homes_fixture,  # noqa: F401 (the fixture `homes`)
    housing_arrays,
    imdb_arrays,
    npz_bytes,
    reuters_arrays,
    server_fixture,  # noqa: F401 (the fixture `server`)
    sha256,
    word_index_bytes,
)

from fnnet.datasets import (
    DownloadError,
    boston_housing,
    breast_cancer,
    california_housing,
    cifar10,
    cifar100,
    diabetes,
    digits,
    fashion_mnist,
    imdb,
    mnist,
    reuters,
)

# ---------------------------------------------------------------------------------------------
# Helpers


def _small_mnist(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "x_train": rng.integers(0, 256, (100, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, (100,), dtype=np.uint8),
        "x_test": rng.integers(0, 256, (20, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, (20,), dtype=np.uint8),
    }


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _assert_matches(loaded, arrays) -> None:
    (x_train, y_train), (x_test, y_test) = loaded
    got = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    for key, value in got.items():
        assert value.dtype == np.uint8
        np.testing.assert_array_equal(value, arrays[key])


def OFFLINE(homes) -> str:  # noqa: N802
    return f"{homes['offline']}/mnist.npz"


# ---------------------------------------------------------------------------------------------
# mnist.load_data: local files and caches


def test_load_data_from_absolute_path(tmp_path, homes):
    arrays = _small_mnist()
    file = tmp_path / "small.npz"
    np.savez(file, **arrays)
    _assert_matches(mnist.load_data(str(file), origin=OFFLINE(homes)), arrays)
    _assert_matches(mnist.load_data(file, origin=OFFLINE(homes)), arrays)  # PathLike


def test_load_data_from_relative_path(tmp_path, homes):
    arrays = _small_mnist(1)
    (tmp_path / "sub").mkdir()
    np.savez(tmp_path / "sub" / "m.npz", **arrays)
    _assert_matches(mnist.load_data(os.path.join("sub", "m.npz"), origin=OFFLINE(homes)), arrays)


def test_load_data_from_fnnet_cache(homes):
    arrays = _small_mnist(2)
    homes["cache"].mkdir(parents=True)
    np.savez(homes["cache"] / "mnist.npz", **arrays)
    _assert_matches(mnist.load_data(origin=OFFLINE(homes)), arrays)


def test_fnnet_home_defaults_to_dot_fnnet(homes, monkeypatch):
    monkeypatch.delenv("FNNET_HOME")
    arrays = _small_mnist(3)
    folder = homes["home"] / ".fnnet" / "datasets"
    folder.mkdir(parents=True)
    np.savez(folder / "mnist.npz", **arrays)
    _assert_matches(mnist.load_data(origin=OFFLINE(homes)), arrays)


def test_load_data_reuses_keras_cache(homes):
    arrays = _small_mnist(4)
    folder = homes["home"] / ".keras" / "datasets"
    folder.mkdir(parents=True)
    np.savez(folder / "mnist.npz", **arrays)
    _assert_matches(mnist.load_data(origin=OFFLINE(homes)), arrays)


def test_load_data_respects_keras_home(homes, tmp_path, monkeypatch):
    arrays = _small_mnist(5)
    keras_home = tmp_path / "kh"
    (keras_home / "datasets").mkdir(parents=True)
    np.savez(keras_home / "datasets" / "mnist.npz", **arrays)
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    _assert_matches(mnist.load_data(origin=OFFLINE(homes)), arrays)


def test_fnnet_cache_wins_over_keras_cache(homes):
    mine, theirs = _small_mnist(6), _small_mnist(7)
    homes["cache"].mkdir(parents=True)
    np.savez(homes["cache"] / "mnist.npz", **mine)
    (homes["home"] / ".keras" / "datasets").mkdir(parents=True)
    np.savez(homes["home"] / ".keras" / "datasets" / "mnist.npz", **theirs)
    _assert_matches(mnist.load_data(origin=OFFLINE(homes)), mine)


# ---------------------------------------------------------------------------------------------
# mnist.load_data: downloads


def test_download_good_file_is_cached_and_reused(homes, server):
    arrays = _small_mnist(8)
    body = _npz_bytes(arrays)
    server.routes["/mnist.npz"] = (body, len(body))
    digest = hashlib.sha256(body).hexdigest()
    origin = f"{server.url}/mnist.npz"
    _assert_matches(mnist.load_data(origin=origin, file_hash=digest), arrays)
    assert server.hits == 1
    assert sorted(os.listdir(homes["cache"])) == ["mnist.npz"]
    assert (homes["cache"] / "mnist.npz").read_bytes() == body
    _assert_matches(mnist.load_data(origin=origin, file_hash=digest.upper()), arrays)
    assert server.hits == 1  # the second call reads the cache


def test_download_with_wrong_hash_leaves_nothing(homes, server):
    body = _npz_bytes(_small_mnist(9))
    server.routes["/mnist.npz"] = (body, len(body))
    with pytest.raises(DownloadError, match=r"has SHA-256 [0-9a-f]{64}, expected 0{64}"):
        mnist.load_data(origin=f"{server.url}/mnist.npz", file_hash="0" * 64)
    assert server.hits == 1
    assert os.listdir(homes["cache"]) == []


def test_default_hash_is_keras_mnist_hash(homes, server):
    body = _npz_bytes(_small_mnist(10))  # not the real file, so Keras's hash must reject it
    server.routes["/mnist.npz"] = (body, len(body))
    with pytest.raises(DownloadError, match=f"expected {mnist.MNIST_SHA256}"):
        mnist.load_data(origin=f"{server.url}/mnist.npz")
    assert os.listdir(homes["cache"]) == []


def test_dropped_connection_leaves_nothing(homes, server):
    body = _npz_bytes(_small_mnist(11))
    server.routes["/mnist.npz"] = (body[: len(body) // 2], len(body))
    with pytest.raises(DownloadError, match=rf"cut off: received {len(body) // 2} of {len(body)}"):
        mnist.load_data(
            origin=f"{server.url}/mnist.npz", file_hash=hashlib.sha256(body).hexdigest()
        )
    assert os.listdir(homes["cache"]) == []


def test_http_error_is_a_download_error(homes, server):
    with pytest.raises(DownloadError, match="HTTP Error 404"):
        mnist.load_data(origin=f"{server.url}/missing.npz", file_hash="0" * 64)
    assert os.listdir(homes["cache"]) == []


def test_offline_error_says_where_to_put_the_file(homes):
    cached = str(homes["cache"] / "mnist.npz")
    with pytest.raises(DownloadError) as info:
        mnist.load_data(origin=OFFLINE(homes), timeout=5)
    message = str(info.value)
    assert f"Put Keras's mnist.npz at {cached!r}" in message
    assert "load_idx" in message
    assert isinstance(info.value, OSError)
    assert not os.path.exists(cached)
    assert os.listdir(homes["cache"]) == []


def test_bad_file_hash_argument(homes):
    with pytest.raises(ValueError, match=r"file_hash must be a SHA-256 hex digest.*got 'abc'"):
        mnist.load_data(origin=OFFLINE(homes), file_hash="abc")


def test_path_must_name_a_file(homes):
    with pytest.raises(ValueError, match=r"path must name a file such as 'mnist.npz'"):
        mnist.load_data("some/folder/")


# ---------------------------------------------------------------------------------------------
# mnist.load_data: malformed files


class _Touch:
    """A pickle payload that would create a marker file if it were ever unpickled."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


def test_pickled_object_array_in_npz_is_refused(tmp_path, homes):
    marker = tmp_path / "pwned"
    arrays = dict(_small_mnist(12))
    arrays["y_test"] = np.array([_Touch(marker)] * 20, dtype=object)
    file = tmp_path / "evil.npz"
    np.savez(file, **arrays)
    with pytest.raises(ValueError, match=r"Could not read .*evil\.npz.*allow_pickle=False"):
        mnist.load_data(str(file))
    assert not marker.exists()


def test_raw_pickle_file_is_refused(tmp_path, homes):
    marker = tmp_path / "pwned"
    file = tmp_path / "evil.npz"
    file.write_bytes(pickle.dumps(_Touch(marker)))
    with pytest.raises(ValueError, match=r"Could not read .*evil\.npz.*allow_pickle"):
        mnist.load_data(str(file))
    assert not marker.exists()


def test_npz_missing_keys(tmp_path, homes):
    file = tmp_path / "partial.npz"
    arrays = _small_mnist(13)
    np.savez(file, x_train=arrays["x_train"], y_train=arrays["y_train"])
    with pytest.raises(ValueError, match=r"lacks the keys \['x_test', 'y_test'\]"):
        mnist.load_data(str(file))


def test_npz_wrong_shapes(tmp_path, homes):
    arrays = dict(_small_mnist(14))
    arrays["y_train"] = arrays["y_train"][:50]
    file = tmp_path / "bad.npz"
    np.savez(file, **arrays)
    with pytest.raises(ValueError, match=r"y_train has shape \(50,\); expected \(N, 28, 28\)"):
        mnist.load_data(str(file))


def test_npy_instead_of_npz(tmp_path, homes):
    file = tmp_path / "single.npz"
    with open(file, "wb") as f:
        np.save(f, np.zeros(3, np.uint8))
    with pytest.raises(ValueError, match="single array, not an .npz archive"):
        mnist.load_data(str(file))


# ---------------------------------------------------------------------------------------------
# mnist.load_idx


def _idx_bytes(array: np.ndarray) -> bytes:
    header = bytes((0, 0, 0x08, array.ndim)) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def _write_idx(folder, images, labels, kind="t10k", gz=True) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    opener = gzip.open if gz else open
    suffix = ".gz" if gz else ""
    with opener(folder / f"{kind}-images-idx3-ubyte{suffix}", "wb") as f:
        f.write(_idx_bytes(images))
    with opener(folder / f"{kind}-labels-idx1-ubyte{suffix}", "wb") as f:
        f.write(_idx_bytes(labels))


def test_load_idx_real_mnist(mnist_dir):
    images, labels = mnist.load_idx(mnist_dir)
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10000,) and labels.dtype == np.uint8
    assert labels[0] == 7
    assert set(np.unique(labels).tolist()) == set(range(10))
    assert images.max() == 255 and images.min() == 0


def test_load_idx_split_real_mnist(mnist_dir):
    images, labels = mnist.load_idx(mnist_dir)
    (x_train, y_train), (x_test, y_test) = mnist.load_idx_split(mnist_dir)
    assert x_train.shape == (8000, 28, 28) and x_test.shape == (2000, 28, 28)
    np.testing.assert_array_equal(np.concatenate([x_train, x_test]), images)
    np.testing.assert_array_equal(np.concatenate([y_train, y_test]), labels)
    (x_train, _), (x_test, _) = mnist.load_idx_split(mnist_dir, n_train=9000)
    assert len(x_train) == 9000 and len(x_test) == 1000


def test_load_idx_truncated_real_file(mnist_dir, tmp_path):
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        data = pathlib.Path(mnist_dir, name).read_bytes()
        (tmp_path / name).write_bytes(data if "labels" in name else data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte\.gz.*truncated or corrupt"):
        mnist.load_idx(tmp_path)


@pytest.mark.parametrize("gz", [True, False])
def test_load_idx_gzipped_or_not(tmp_path, gz):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (7, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, (7,), dtype=np.uint8)
    _write_idx(tmp_path, images, labels, kind="train", gz=gz)
    got_images, got_labels = mnist.load_idx(tmp_path, kind="train")
    np.testing.assert_array_equal(got_images, images)
    np.testing.assert_array_equal(got_labels, labels)


def test_load_idx_truncated_data(tmp_path):
    images = np.zeros((5, 28, 28), np.uint8)
    _write_idx(tmp_path, images, np.zeros(5, np.uint8), gz=False)
    file = tmp_path / "t10k-images-idx3-ubyte"
    file.write_bytes(file.read_bytes()[:-10])
    with pytest.raises(ValueError, match=r"declares shape \(5, 28, 28\) \(3920 bytes.*holds 3910"):
        mnist.load_idx(tmp_path)


def test_load_idx_wrong_magic(tmp_path):
    _write_idx(tmp_path, np.zeros((5, 28, 28), np.uint8), np.zeros(5, np.uint8), gz=False)
    # Swap the files: an images file where labels are expected.
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(
        (tmp_path / "t10k-images-idx3-ubyte").read_bytes()
    )
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte.*magic number is 00000803"):
        mnist.load_idx(tmp_path)


def test_load_idx_count_mismatch(tmp_path):
    _write_idx(tmp_path, np.zeros((5, 28, 28), np.uint8), np.zeros(4, np.uint8))
    with pytest.raises(ValueError, match="holds 5 images but .* holds 4 labels"):
        mnist.load_idx(tmp_path)


def test_load_idx_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"No IDX file 't10k-images-idx3-ubyte'"):
        mnist.load_idx(tmp_path)


def test_load_idx_bad_kind(tmp_path):
    with pytest.raises(ValueError, match=r"kind must be 't10k' .* got 'test'"):
        mnist.load_idx(tmp_path, kind="test")


def test_load_idx_split_bad_n_train(tmp_path):
    _write_idx(tmp_path, np.zeros((5, 28, 28), np.uint8), np.zeros(5, np.uint8))
    (x_train, _), (x_test, _) = mnist.load_idx_split(tmp_path, n_train=3)
    assert len(x_train) == 3 and len(x_test) == 2
    with pytest.raises(ValueError, match="n_train must be between 1 and 4 .* got 5"):
        mnist.load_idx_split(tmp_path, n_train=5)
    with pytest.raises(TypeError, match="n_train must be an int, got 0.5"):
        mnist.load_idx_split(tmp_path, n_train=0.5)


# ---------------------------------------------------------------------------------------------
# scikit-learn datasets


SKLEARN_SETS = [
    # module, samples, features, y dtype
    (digits, 1797, 64, np.int32),
    (breast_cancer, 569, 30, np.float32),
    (diabetes, 442, 10, np.float32),
]


def _rows_sorted(x):
    return x[np.lexsort(x.T[::-1])]


@pytest.mark.parametrize("module, n, features, y_dtype", SKLEARN_SETS)
def test_sklearn_shapes_dtypes_and_split(module, n, features, y_dtype):
    (x_train, y_train), (x_test, y_test) = module.load_data()
    n_train = int(n * 0.8)
    assert x_train.shape == (n_train, features) and x_test.shape == (n - n_train, features)
    assert y_train.shape == (n_train,) and y_test.shape == (n - n_train,)
    assert x_train.dtype == np.float32 and y_train.dtype == y_dtype
    # Same call, same arrays; another seed, another order.
    (x2, y2), (x3, y3) = module.load_data()
    np.testing.assert_array_equal(x2, x_train)
    np.testing.assert_array_equal(y3, y_test)
    (x4, _), _ = module.load_data(seed=1)
    assert not np.array_equal(x4, x_train)
    # The split is a permutation of the whole set.
    (x5, _), (x6, _) = module.load_data(test_split=0.5)
    assert len(x5) == n // 2 and len(x6) == n - n // 2
    np.testing.assert_array_equal(
        _rows_sorted(np.concatenate([x_train, x_test])), _rows_sorted(np.concatenate([x5, x6]))
    )
    (x7, _), (x8, _) = module.load_data(test_split=0.0)
    assert len(x7) == n and len(x8) == 0


def test_sklearn_values_match_reference():
    import sklearn.datasets

    ref = sklearn.datasets.load_digits()
    (x_train, y_train), (x_test, y_test) = digits.load_data()
    x = np.concatenate([x_train, x_test])
    order = np.random.default_rng(113).permutation(1797)
    np.testing.assert_allclose(x, ref.data[order] / 16.0, rtol=1e-6)
    np.testing.assert_array_equal(np.concatenate([y_train, y_test]), ref.target[order])
    assert x.min() == 0.0 and x.max() == 1.0
    (_, yb), _ = breast_cancer.load_data()
    assert set(np.unique(yb).tolist()) == {0.0, 1.0}
    (xd, _), _ = diabetes.load_data()
    assert set(np.unique(xd[:, 1]).tolist()) == {1.0, 2.0}  # raw sex column, unscaled


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (
            {"test_split": 1.0},
            ValueError,
            r"test_split must be the test fraction in \[0, 1\), got 1.0;",
        ),
        ({"test_split": -0.1}, ValueError, r"got -0.1; pass e.g. test_split=0.2"),
        ({"test_split": "0.2"}, TypeError, r"test_split must be a float .* got '0.2' of type str"),
        ({"seed": -1}, ValueError, r"seed must be non-negative, got -1"),
        ({"seed": 1.5}, TypeError, r"seed must be an int, got 1.5 of type float"),
    ],
)
def test_sklearn_argument_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        digits.load_data(**kwargs)


def test_missing_sklearn_gives_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    hint = (
        r"needs scikit-learn.*run `pip install scikit-learn` \(or `pip install fnnet\[datasets\]`\)"
    )
    with pytest.raises(ImportError, match=hint):
        breast_cancer.load_data()


def test_importing_datasets_does_not_import_sklearn():
    code = "import sys\nfrom fnnet.datasets import mnist\nprint('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ---------------------------------------------------------------------------------------------
# Every Keras loader: download, hash, dropped connection, caches, offline.
#
# Each loader is described once (the files it fetches, generated small in the real format, where
# the fnnet and Keras caches keep them, and how to call it against a given origin); the tests
# below run for all of them. That the arrays are Keras's is checked in test_datasets_keras.py.


@dataclass(frozen=True)
class Loader:
    id: str
    make: Callable[[int], dict[str, bytes]]  # seed -> {file name at the origin: body}
    call: Callable[[str, dict[str, str]], object]  # (origin folder, hash by file) -> result
    fnnet: dict[str, str]  # file name -> path in the fnnet cache
    keras: dict[str, str]  # file name -> path in Keras's cache
    keras_hash: dict[str, str]  # the default hashes (Keras's)

    def hits(self) -> int:
        return len(self.fnnet)


def _single(module_call, name, keras_name, default_hash, make, id_):
    return Loader(
        id=id_,
        make=lambda seed: {name: make(seed)},
        call=lambda base, h: module_call(origin=f"{base}/{name}", file_hash=h[name], timeout=5),
        fnnet={name: name},
        keras={name: keras_name},
        keras_hash={name: default_hash},
    )


_FASHION = list(fashion_mnist.FASHION_MNIST_SHA256)
LOADERS = [
    Loader(
        id="fashion_mnist",
        make=fashion_files,
        call=lambda base, h: fashion_mnist.load_data(origin=f"{base}/", file_hashes=h, timeout=5),
        fnnet={n: f"fashion-mnist/{n}" for n in _FASHION},
        keras={n: f"fashion-mnist/{n}" for n in _FASHION},
        keras_hash=fashion_mnist.FASHION_MNIST_SHA256,
    ),
    _single(
        cifar10.load_data,
        "cifar-10-python.tar.gz",
        "cifar-10-batches-py-target_archive",
        cifar10.CIFAR10_SHA256,
        lambda seed: cifar_archive("cifar-10-batches-py", cifar10_batches(seed=seed)),
        "cifar10",
    ),
    _single(
        lambda **kw: cifar100.load_data("coarse", **kw),
        "cifar-100-python.tar.gz",
        "cifar-100-python-target_archive",
        cifar100.CIFAR100_SHA256,
        lambda seed: cifar_archive("cifar-100-python", cifar100_batches(seed=seed)),
        "cifar100",
    ),
    _single(
        lambda **kw: imdb.load_data(num_words=30, **kw),
        "imdb.npz",
        "imdb.npz",
        imdb.IMDB_SHA256,
        lambda seed: npz_bytes(imdb_arrays(seed)),
        "imdb",
    ),
    _single(
        imdb.get_word_index,
        "imdb_word_index.json",
        "imdb_word_index.json",
        imdb.WORD_INDEX_MD5,
        word_index_bytes,
        "imdb_word_index",
    ),
    _single(
        lambda **kw: reuters.load_data(maxlen=10, **kw),
        "reuters.npz",
        "reuters.npz",
        reuters.REUTERS_SHA256,
        lambda seed: npz_bytes(reuters_arrays(seed)),
        "reuters",
    ),
    _single(
        reuters.get_word_index,
        "reuters_word_index.json",
        "reuters_word_index.json",
        reuters.WORD_INDEX_MD5,
        word_index_bytes,
        "reuters_word_index",
    ),
    _single(
        boston_housing.load_data,
        "boston_housing.npz",
        "boston_housing.npz",
        boston_housing.BOSTON_HOUSING_SHA256,
        lambda seed: npz_bytes(housing_arrays(30, 13, np.float64, seed)),
        "boston_housing",
    ),
    _single(
        lambda **kw: california_housing.load_data("small", **kw),
        "california_housing.npz",
        "california_housing.npz",
        california_housing.CALIFORNIA_HOUSING_SHA256,
        lambda seed: npz_bytes(housing_arrays(40, 8, np.float32, seed)),
        "california_housing",
    ),
]
each_loader = pytest.mark.parametrize("loader", LOADERS, ids=[ld.id for ld in LOADERS])


def _files_under(folder: pathlib.Path) -> list[str]:
    if not folder.exists():
        return []
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def _place(files: dict[str, bytes], folder: pathlib.Path, layout: dict[str, str]) -> None:
    for name, body in files.items():
        target = folder / layout[name]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(body)


def _hashes(files: dict[str, bytes]) -> dict[str, str]:
    return {name: sha256(body) for name, body in files.items()}


def _differs(a, b) -> bool:
    try:
        assert_same(a, b)
    except AssertionError:
        return True
    return False


@each_loader
def test_loader_downloads_verifies_caches_and_reuses(loader, homes, server):
    files = loader.make(1)
    for name, body in files.items():
        server.serve(name, body)
    first = loader.call(server.url, _hashes(files))
    assert server.hits == loader.hits()
    assert _files_under(homes["cache"]) == sorted(loader.fnnet.values())
    for name, body in files.items():
        assert (homes["cache"] / loader.fnnet[name]).read_bytes() == body
    again = loader.call(server.url, _hashes(files))
    assert server.hits == loader.hits()  # the second call reads the cache
    assert_same(again, first)
    # Other files give other arrays, so the comparison above can fail.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FNNET_HOME", str(homes["home"] / "other"))
        _place(loader.make(9), homes["home"] / "other" / "datasets", loader.fnnet)
        assert _differs(first, loader.call(homes["offline"], loader.keras_hash))


@each_loader
def test_loader_wrong_hash_keeps_nothing(loader, homes, server):
    files = loader.make(2)
    for name, body in files.items():
        server.serve(name, body)
    with pytest.raises(DownloadError, match=r"has SHA-256 [0-9a-f]{64}, expected 0{64}; it was"):
        loader.call(server.url, {name: "0" * 64 for name in files})
    assert server.hits == 1
    assert _files_under(homes["cache"]) == []


@each_loader
def test_loader_default_hash_is_keras(loader, homes, server):
    files = loader.make(3)  # not the real files, so Keras's hashes must refuse them
    for name, body in files.items():
        server.serve(name, body)
    first = next(iter(files))
    algorithm = "MD5" if len(loader.keras_hash[first]) == 32 else "SHA-256"
    with pytest.raises(DownloadError, match=f"has {algorithm} .*, expected {loader.keras_hash[first]}"):
        loader.call(server.url, loader.keras_hash)
    assert _files_under(homes["cache"]) == []


@each_loader
def test_loader_dropped_connection_keeps_nothing(loader, homes, server):
    files = loader.make(4)
    for name, body in files.items():
        server.serve(name, body[: len(body) // 2], length=len(body))
    first = next(iter(files))
    half, full = len(files[first]) // 2, len(files[first])
    with pytest.raises(DownloadError, match=rf"cut off: received {half} of {full} bytes"):
        loader.call(server.url, _hashes(files))
    assert _files_under(homes["cache"]) == []


@each_loader
def test_loader_offline_reads_fnnet_then_keras_cache(loader, homes, monkeypatch, tmp_path):
    mine, theirs = loader.make(5), loader.make(6)
    _place(theirs, homes["keras"], loader.keras)
    from_keras = loader.call(homes["offline"], _hashes(theirs))  # ~/.keras/datasets
    _place(mine, homes["cache"], loader.fnnet)
    from_fnnet = loader.call(homes["offline"], _hashes(mine))  # the fnnet cache wins
    assert _differs(from_keras, from_fnnet)
    # KERAS_HOME moves Keras's cache, as in Keras.
    keras_home = tmp_path / "kh"
    _place(theirs, keras_home / "datasets", loader.keras)
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    monkeypatch.setenv("FNNET_HOME", str(tmp_path / "empty_fnnet_home"))
    for name in theirs:
        (homes["keras"] / loader.keras[name]).unlink()
    assert_same(loader.call(homes["offline"], _hashes(theirs)), from_keras)


@each_loader
def test_loader_offline_without_a_copy_says_where_to_put_it(loader, homes):
    name = next(iter(loader.fnnet))
    cached = str(homes["cache"] / loader.fnnet[name])
    message = rf"was not found at .*, and downloading it failed\. Put Keras's {re.escape(name)} at "
    with pytest.raises(DownloadError, match=message + re.escape(repr(cached))):
        loader.call(homes["offline"], loader.keras_hash)
    assert _files_under(homes["cache"]) == []


def test_md5_digest_is_accepted_for_keras_word_indexes(homes, server):
    body = word_index_bytes(7)
    server.serve("imdb_word_index.json", body)
    md5 = hashlib.md5(body).hexdigest()
    got = imdb.get_word_index(origin=f"{server.url}/imdb_word_index.json", file_hash=md5.upper())
    assert got == json.loads(body)
    assert (homes["cache"] / "imdb_word_index.json").read_bytes() == body
