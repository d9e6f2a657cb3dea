"""Tests for the Keras datasets' formats: the pickle-free reader, each loader's arrays (against
numpy formulas, a hand-worked case, and Keras's own loaders run on the same files), and errors.

Keras's loaders check the real files' hashes, which generated files cannot match; the
``keras_cache`` fixture turns that check off and makes any download attempt fail the test.
"""

from __future__ import annotations

import gzip
import inspect
import io
import json
import os
import pathlib
import pickle

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
    idx_bytes,
    imdb_arrays,
    npz_bytes,
    py2_dumps,
    reuters_arrays,
    tar_gz,
    word_index_bytes,
)

from fnnet.datasets import (
    boston_housing,
    california_housing,
    cifar10,
    cifar100,
    fashion_mnist,
    imdb,
    reuters,
)
from fnnet.datasets._pickle import loads, read_npy

# ---------------------------------------------------------------------------------------------
# The pickle reader


class _Touch:
    """A pickle payload that would create a marker file if it were ever unpickled."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_loads_matches_pickle_on_plain_data(protocol):
    value = {
        "ints": [0, 1, -1, 255, 256, 65535, 65536, -(2**31), 2**31, 2**70, -(2**70)],
        "floats": [0.5, -1e300, float("inf")],
        "consts": [None, True, False],
        "text": ["", "é", "x" * 300],
        "tuples": [(), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4)],
        "nested": {1: [[]], b"k": {"deep": ([1], {})}},
    }
    value["shared"] = [value["text"], value["text"]]  # memo references
    data = pickle.dumps(value, protocol=protocol) if protocol > 2 else py2_dumps(value)
    got = loads(data)
    if protocol == 2:  # Python 2's str comes back as bytes, as with encoding="bytes"
        assert got[b"text"] == [b"", "é".encode("latin-1"), b"x" * 300]
        assert got[b"nested"][b"k"] == {b"deep": ([1], {})}
        assert got[b"ints"] == value["ints"] and got[b"tuples"] == value["tuples"]
    else:
        assert got == value
        assert got["shared"][0] is got["shared"][1] is got["text"]


@pytest.mark.parametrize("py2", [False, True])
def test_loads_builds_numpy_arrays(py2):
    arrays = {
        "u8": np.arange(12, dtype=np.uint8).reshape(3, 4),
        "big_endian": np.arange(6, dtype=">i4").reshape(2, 3),
        "fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
        "bool": np.array([True, False]),
        "empty": np.zeros((0, 3), np.float32),
        "objects": np.array([[1, 2], [3], []], dtype=object),
        "nested": np.array([np.arange(3), np.arange(2)], dtype=object),
        "objects_2d_fortran": np.asfortranarray(
            np.array([[[1], [2, 3], [4]], [[5], [6], [7, 8]]], dtype=object)
        ),
    }
    got = loads(py2_dumps(arrays) if py2 else pickle.dumps(arrays, protocol=4))
    for key, want in arrays.items():
        have = got[key.encode() if py2 else key]
        assert have.dtype == want.dtype and have.shape == want.shape, key
        assert have.flags.writeable
        if want.dtype == object:
            assert [np.asarray(a).tolist() for a in have.ravel()] == [
                np.asarray(a).tolist() for a in want.ravel()
            ]
        else:
            np.testing.assert_array_equal(have, want)
    assert got["fortran" if not py2 else b"fortran"].flags.f_contiguous


def _global(module: str, name: str) -> bytes:
    return b"c" + f"{module}\n{name}\n".encode()


_RECON = _global("numpy.core.multiarray", "_reconstruct") + _global("numpy", "ndarray")
_RECON += b"K\x00\x85C\x01b\x87R"  # _reconstruct(ndarray, (0,), b"b")
_U1 = _global("numpy", "dtype") + b"X\x02\x00\x00\x00u1K\x00K\x01\x87R"  # dtype("u1", 0, 1)
_U1_STATE = b"(K\x03X\x01\x00\x00\x00|NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
_U1_BUILT = _U1 + _U1_STATE


@pytest.mark.parametrize(
    "data, match",
    [
        (pickle.dumps(print), r"names builtins\.print; only numpy's array globals are allowed"),
        (b"\x80\x02" + _global("os", "system") + b"X\x02\x00\x00\x00ls\x85R.", r"names os\.system"),
        (b"\x80\x01N.", "protocol is below 2"),
        (b"\x80\x02I1\n.", r"opcode b'I' at byte 2, which plain data and numpy arrays never need"),
        (b"\x80\x02X\x09\x00\x00\x00abc", r"truncated at byte 7 \(wanted 9 more\)"),
        (b"\x80\x02N", r"truncated at byte 3 \(wanted 1 more\)"),
        (b"\x80\x02t.", "closes a MARK it never opened"),
        (b"\x80\x02\x86.", "stack underflows at byte 3"),
        (b"\x80\x02h\x05.", "memo entry 5, never stored"),
        (b"\x80\x02NN.", "stops with a malformed stack"),
        (b"\x80\x02}(K\x01e.", "appends to a dict, not a list"),
        (b"\x80\x02](K\x01K\x02u.", "sets items on a list, not a dict"),
        (b"\x80\x02})K\x01s.", "dict key of type tuple"),
        (b"\x80\x02cnumpy", "no end of line after byte 3"),
        (b"\x80\x02K\x01K\x02\x93.", "names a global with non-string parts"),
        (b"\x80\x02K\x01)R.", r"the call 1\(\) is not numpy's array form"),
        (b"\x80\x02K\x01Nb.", "sets the state of a int"),
        (
            b"\x80\x02" + _global("numpy", "dtype") + b"X\x02\x00\x00\x00V8K\x00K\x01\x87R.",
            r"the dtype 'V8' is not one of the plain dtypes",
        ),
        (b"\x80\x02" + _U1 + b"(K\x02tb.", r"a numpy dtype has the state \(2,\)"),
        (b"\x80\x02" + _RECON + b".", "'unbuilt array' is left in the data"),
        (b"\x80\x02" + _RECON + b"K\x07b.", "a numpy array has a state of type int"),
        (
            b"\x80\x02" + _RECON + b"(K\x01K\x02J\xff\xff\xff\xff\x86" + _U1_BUILT + b"\x89C\x00tb.",
            r"a numpy array has shape \(2, -1\)",
        ),
        (
            b"\x80\x02" + _RECON + b"(K\x01K\x03\x85" + _U1_BUILT + b"\x89C\x02abtb.",
            r"an array of shape \(3,\) and dtype uint8 holds 2 bytes of data",
        ),
        (
            b"\x80\x02" + _global("numpy.core.multiarray", "_reconstruct") + b"K\x00K\x00\x85C\x01b"
            b"\x87R.",
            r"the call 'numpy _reconstruct'\(0, \(0,\), b'b'\) is not numpy's array form",
        ),
    ],
)
def test_loads_refuses_everything_else(data, match):
    with pytest.raises(ValueError, match=match):
        loads(data)


def test_loads_never_runs_a_payload(tmp_path):
    marker = tmp_path / "pwned"
    for protocol in (2, 3, 4, 5):
        with pytest.raises(ValueError, match=r"the pickle names \S+; only numpy's array globals"):
            loads(pickle.dumps({"data": _Touch(marker)}, protocol=protocol))
    evil = np.array([_Touch(marker)], dtype=object)  # a payload inside an object array
    with pytest.raises(ValueError, match=r"the pickle names pathlib\.\S*touch"):
        loads(pickle.dumps(evil, protocol=4))
    assert not marker.exists()


def test_object_array_item_count_is_checked():
    data = pickle.dumps(np.array([[1], [2, 3]], dtype=object), protocol=4)
    # Change the shape (2,) to (3,): the object list then holds too few items.
    i = data.index(b"K\x02\x85")
    bad = data[:i] + b"K\x03" + data[i + 2 :]
    with pytest.raises(ValueError, match=r"an object array of shape \(3,\) does not hold 3 items"):
        loads(bad)


def test_read_npy_checks_version_and_header():
    buf = io.BytesIO()
    np.save(buf, np.array([[1], [2, 3]], dtype=object))
    data = buf.getvalue()
    with pytest.raises(ValueError, match=r"\.npy format version \(4, 0\) is not one numpy writes"):
        read_npy(data[:6] + b"\x04\x00" + data[8:])
    other = io.BytesIO()
    np.save(other, np.array([[1], [2, 3], [4]], dtype=object))
    header_end = data.index(b"\n") + 1
    mixed = data[:header_end] + other.getvalue()[other.getvalue().index(b"\n") + 1 :]
    with pytest.raises(ValueError, match=r"does not match its \.npy header object \(2,\)"):
        read_npy(mixed)


# ---------------------------------------------------------------------------------------------
# Arrays from the files, against numpy formulas and a hand-worked case


def _write(folder: pathlib.Path, name: str, body: bytes) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(body)
    return str(folder / name)


def test_fashion_mnist_arrays_are_the_idx_contents(homes):
    files = fashion_files(0)
    for name, body in files.items():
        _write(homes["cache"] / "fashion-mnist", name, body)
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data(origin=homes["offline"] + "/")
    rng = np.random.default_rng(0)  # fashion_files draws these, in this order
    np.testing.assert_array_equal(y_train, rng.integers(0, 10, 7, dtype=np.uint8))
    np.testing.assert_array_equal(x_train, rng.integers(0, 256, (7, 28, 28), dtype=np.uint8))
    np.testing.assert_array_equal(y_test, rng.integers(0, 10, 3, dtype=np.uint8))
    np.testing.assert_array_equal(x_test, rng.integers(0, 256, (3, 28, 28), dtype=np.uint8))
    assert x_train.dtype == y_train.dtype == np.uint8
    assert fashion_mnist.CLASS_NAMES[9] == "Ankle boot"


def test_fashion_mnist_count_mismatch(homes):
    files = fashion_files(0)
    files["t10k-labels-idx1-ubyte.gz"] = gzip.compress(idx_bytes(np.zeros(5, np.uint8)))
    for name, body in files.items():
        _write(homes["cache"] / "fashion-mnist", name, body)
    with pytest.raises(ValueError, match=r"t10k files do not match: images of shape \(3, 28, 28\)"):
        fashion_mnist.load_data(origin=homes["offline"] + "/")


@pytest.mark.parametrize("py2", [True, False])
def test_cifar10_arrays_are_the_batches(tmp_path, homes, py2):
    batches = cifar10_batches()
    file = _write(tmp_path, "c10.tar.gz", cifar_archive("cifar-10-batches-py", batches, py2))
    (x_train, y_train), (x_test, y_test) = cifar10.load_data(path=file)
    names = [f"data_batch_{i}" for i in range(1, 6)]
    data = np.concatenate([batches[n][b"data"] for n in names])
    want_x = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    want_y = np.array(sum((batches[n][b"labels"] for n in names), []), np.uint8)[:, None]
    assert x_train.shape == (12, 32, 32, 3) and x_train.dtype == np.uint8
    np.testing.assert_array_equal(x_train, want_x)
    np.testing.assert_array_equal(y_train, want_y)
    assert y_train.dtype == y_test.dtype == np.uint8 and y_test.shape == (3, 1)
    # Pixel (row 2, column 3) of image 1: its red, green, blue bytes in CIFAR's planar layout.
    red, green, blue = batches["test_batch"][b"data"][1, [67, 1024 + 67, 2048 + 67]]
    assert x_test[1, 2, 3].tolist() == [red, green, blue] and len({red, green, blue}) == 3


@pytest.mark.parametrize(
    "module, folder, batches, layout",
    [
        (cifar10, "cifar-10-batches-py", cifar10_batches, "cifar-10-batches-py.tar.gz"),
        (cifar10, "cifar-10-batches-py", cifar10_batches, "cifar-10-batches-py"),
        (cifar10, "cifar-10-batches-py", cifar10_batches, "cifar-10-batches-py-target/"),
        (cifar100, "cifar-100-python", cifar100_batches, "cifar-100-python.tar.gz"),
        (cifar100, "cifar-100-python", cifar100_batches, "cifar-100-python"),
        (cifar100, "cifar-100-python", cifar100_batches, "cifar-100-python-target/"),
    ],
)
def test_cifar_reads_every_keras_cache_layout(tmp_path, homes, module, folder, batches, layout):
    """Older Keras's archive and folder, and Keras 3's extracted folder, hold the same batches."""
    archive = cifar_archive(folder, batches(seed=3))
    want = module.load_data(path=_write(tmp_path, "ref.tar.gz", archive))
    if layout.endswith(".tar.gz"):
        _write(homes["keras"], layout, archive)
    else:  # the extracted batches (Keras 3's one level deeper, under "<name>-target/<folder>")
        target = homes["keras"] / layout / (folder if layout.endswith("/") else "")
        for name, batch in batches(seed=3).items():
            _write(target, name, py2_dumps(batch))
    assert_same(module.load_data(origin=homes["offline"]), want)


@pytest.mark.parametrize("label_mode", ["fine", "coarse"])
def test_cifar100_arrays_are_the_batches(tmp_path, homes, label_mode):
    batches = cifar100_batches()
    file = _write(tmp_path, "c100.tar.gz", cifar_archive("cifar-100-python", batches))
    (x_train, y_train), (x_test, y_test) = cifar100.load_data(label_mode, path=file)
    want = batches["train"][b"data"].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    np.testing.assert_array_equal(x_train, want)
    labels = batches["test"][f"{label_mode}_labels".encode()]
    np.testing.assert_array_equal(y_test, np.array(labels)[:, None])
    assert y_train.dtype == np.int64 and y_train.shape == (5, 1) and x_test.shape == (3, 32, 32, 3)


def test_imdb_hand_worked_example(tmp_path, homes):
    x_train = np.empty(3, dtype=object)
    x_train[:] = [[1, 2, 3], [4], [5, 6]]
    x_test = np.empty(2, dtype=object)
    x_test[:] = [[7, 1], [2, 2, 2, 2]]
    arrays = {"x_train": x_train, "y_train": np.array([0, 1, 2]),
              "x_test": x_test, "y_test": np.array([3, 4])}  # fmt: skip
    file = _write(tmp_path, "i.npz", npz_bytes(arrays))
    # RandomState(113) shuffles arange(3) to [2, 0, 1], then arange(2) to [1, 0].
    (xa, ya), (xb, yb) = imdb.load_data(file)
    assert [list(x) for x in xa] == [[1, 8, 9], [1, 4, 5, 6], [1, 7]]
    assert ya.tolist() == [2, 0, 1]
    # The largest index (10 = 7 + 3) becomes oov_char: Keras's bound without num_words.
    assert [list(x) for x in xb] == [[1, 5, 5, 5, 5], [1, 2, 4]]
    assert yb.tolist() == [4, 3]
    # maxlen=4 drops the sequences of 4 or more (start_char included); [2, 6) is kept.
    (xa, ya), (xb, yb) = imdb.load_data(file, num_words=6, skip_top=2, maxlen=4, oov_char=0)
    assert [list(x) for x in xa] == [[0, 0, 0], [0, 0]] and ya.tolist() == [2, 1]
    assert [list(x) for x in xb] == [[0, 0, 4]] and yb.tolist() == [3]
    (xa, _), (xb, _) = imdb.load_data(file, start_char=None, oov_char=None, index_from=0)
    assert [list(x) for x in xa] == [[5, 6], [1, 2, 3], [4]]
    assert [list(x) for x in xb] == [[2, 2, 2, 2], [1]]  # 7, the largest, is dropped


def test_reuters_split_and_labels(tmp_path, homes):
    arrays = reuters_arrays(0, n=10)
    file = _write(tmp_path, "r.npz", npz_bytes(arrays))
    (x_train, y_train), (x_test, y_test) = reuters.load_data(file, test_split=0.3, num_words=1000)
    assert len(x_train) == 7 and len(x_test) == 3 and x_train.shape == (7,)
    order = np.arange(10)
    np.random.RandomState(113).shuffle(order)  # noqa: NPY002 (the reference shuffle)
    np.testing.assert_array_equal(np.concatenate([y_train, y_test]), arrays["y"][order])
    assert [list(x) for x in x_test] == [[1] + [w + 3 for w in arrays["x"][i]] for i in order[7:]]
    assert reuters.get_label_names()[:5] == ("cocoa", "grain", "veg-oil", "earn", "acq")


def test_housing_split_is_keras_shuffle(tmp_path, homes):
    arrays = housing_arrays(10, 13, np.float64)
    file = _write(tmp_path, "b.npz", npz_bytes(arrays))
    (x_train, y_train), (x_test, y_test) = boston_housing.load_data(file, test_split=0.25, seed=5)
    order = np.arange(10)
    np.random.RandomState(5).shuffle(order)  # noqa: NPY002 (the reference shuffle)
    np.testing.assert_array_equal(np.concatenate([x_train, x_test]), arrays["x"][order])
    np.testing.assert_array_equal(y_test, arrays["y"][order[7:]])
    big = housing_arrays(700, 8, np.float32)
    file = _write(tmp_path, "c.npz", npz_bytes(big))
    (x_train, _), (x_test, _) = california_housing.load_data("small", file, test_split=0.5)
    assert len(x_train) == len(x_test) == 300 and x_train.dtype == np.float32
    assert set(map(tuple, np.concatenate([x_train, x_test]))) == set(map(tuple, big["x"][:600]))


# ---------------------------------------------------------------------------------------------
# Errors: every raise in the loaders, by message


ARGUMENT_ERRORS = [
    (cifar100.load_data, {"label_mode": "medium"}, ValueError, r"'fine' .* got 'medium'"),
    (california_housing.load_data, {"version": "tiny"}, ValueError, r"'large' .* got 'tiny'"),
    (imdb.load_data, {"num_words": 1.5}, TypeError, r"num_words must be an int or None, got 1.5"),
    (imdb.load_data, {"index_from": None}, TypeError, r"index_from must be an int, got None"),
    (imdb.load_data, {"skip_top": -1}, ValueError, r"skip_top must be non-negative, got -1"),
    (imdb.load_data, {"seed": 2**32}, ValueError, r"seed must be below 2\*\*32 .* 4294967296"),
    (reuters.load_data, {"maxlen": -2}, ValueError, r"reuters.load_data: maxlen must be non-neg"),
    (reuters.load_data, {"test_split": 1.0}, ValueError, r"test fraction in \[0, 1\), got 1.0"),
    (boston_housing.load_data, {"seed": True}, TypeError, r"seed must be an int, got True"),
    (boston_housing.load_data, {"path": "dir/"}, ValueError, r"such as 'boston_housing.npz'"),
]


@pytest.mark.parametrize("load, kwargs, error, match", ARGUMENT_ERRORS)
def test_argument_errors(homes, load, kwargs, error, match):
    with pytest.raises(error, match=match):
        load(**kwargs)


def test_maxlen_that_keeps_nothing(tmp_path, homes):
    file = _write(tmp_path, "i.npz", npz_bytes(imdb_arrays()))
    with pytest.raises(ValueError, match=r"no training review is shorter than maxlen=2 "):
        imdb.load_data(file, maxlen=2)
    file = _write(tmp_path, "r.npz", npz_bytes(reuters_arrays()))
    with pytest.raises(ValueError, match=r"no newswire is shorter than maxlen=1 "):
        reuters.load_data(file, maxlen=1)


def test_sequence_npz_errors(tmp_path, homes):
    marker = tmp_path / "pwned"
    evil = imdb_arrays()
    evil["x_test"] = np.array([_Touch(marker)], dtype=object)
    file = _write(tmp_path, "evil.npz", npz_bytes(evil))
    message = r"as Keras's IMDB \.npz: the pickle names pathlib.*Nothing from it was run"
    with pytest.raises(ValueError, match=message):
        imdb.load_data(file)
    assert not marker.exists()
    file = _write(tmp_path, "partial.npz", npz_bytes({"x": reuters_arrays()["x"]}))
    with pytest.raises(ValueError, match=r"lacks the keys \['y'\] \(it has \['x'\]\)"):
        reuters.load_data(file)
    file = _write(tmp_path, "flat.npz", npz_bytes({"x": np.zeros((3, 2)), "y": np.zeros(3)}))
    with pytest.raises(ValueError, match="x should hold lists of word indices, got .* float64"):
        reuters.load_data(file)
    file = _write(tmp_path, "zip.npz", b"not a zip")
    with pytest.raises(ValueError, match=r"Could not read .*zip\.npz.* as Keras's Reuters \.npz"):
        reuters.load_data(file)


def test_word_index_errors(tmp_path, homes):
    file = _write(tmp_path, "w.json", b"{not json")
    with pytest.raises(ValueError, match=r"as Keras's IMDB word index \(JSON\)"):
        imdb.get_word_index(file)
    file = _write(tmp_path, "l.json", b"[1, 2]")
    with pytest.raises(ValueError, match="is not Keras's Reuters word index: .* got list"):
        reuters.get_word_index(file)
    file = _write(tmp_path, "ok.json", word_index_bytes())
    assert imdb.get_word_index(file) == json.loads(word_index_bytes())


def test_housing_file_errors(tmp_path, homes):
    marker = tmp_path / "pwned"
    file = _write(tmp_path, "evil.npz", npz_bytes({"x": np.array([_Touch(marker)]), "y": np.zeros(1)}))
    with pytest.raises(ValueError, match=r"as Keras's Boston Housing \.npz: .*allow_pickle=False"):
        boston_housing.load_data(file)
    assert not marker.exists()
    file = _write(tmp_path, "wide.npz", npz_bytes(housing_arrays(5, 9, np.float32)))
    with pytest.raises(ValueError, match=r"x has shape \(5, 9\) and y \(5,\); expected \(N, 8\)"):
        california_housing.load_data(path=file)


def test_cifar_archive_errors(tmp_path, homes):
    marker = tmp_path / "pwned"
    batches = cifar10_batches()
    file = _write(tmp_path, "cut.tar.gz", cifar_archive("cifar-10-batches-py", batches)[:300])
    with pytest.raises(ValueError, match=r"as a CIFAR \.tar\.gz archive: .*truncated or corrupt"):
        cifar10.load_data(path=file)
    partial = {k: v for k, v in batches.items() if k != "test_batch"}
    file = _write(tmp_path, "partial.tar.gz", cifar_archive("cifar-10-batches-py", partial))
    with pytest.raises(ValueError, match=r"lacks the CIFAR batches \['test_batch'\]"):
        cifar10.load_data(path=file)
    evil = dict(batches, data_batch_2=_Touch(marker))
    file = _write(tmp_path, "evil.tar.gz", cifar_archive("cifar-10-batches-py", evil, py2=False))
    with pytest.raises(ValueError, match=r"'data_batch_2' in .* is not a CIFAR batch: the pickle names"):
        cifar10.load_data(path=file)
    assert not marker.exists()
    wrong = dict(batches, test_batch={b"data": np.zeros((2, 3072), np.uint8), b"labels": [1]})
    file = _write(tmp_path, "wrong.tar.gz", cifar_archive("cifar-10-batches-py", wrong))
    with pytest.raises(ValueError, match=r"expected a dict with 'data' .* found \['data', 'labels'\]"):
        cifar10.load_data(path=file)
    file = _write(tmp_path, "other.tar.gz", tar_gz("other", {"train": b"", "test": b""}))
    with pytest.raises(ValueError, match=r"lacks the CIFAR batches \['train', 'test'\]"):
        cifar100.load_data(path=file)


# ---------------------------------------------------------------------------------------------
# Against Keras's own loaders, on the same files in Keras's cache


@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    keras = pytest.importorskip("keras")
    if keras.backend.image_data_format() != "channels_last":
        pytest.skip("Keras is configured for channels_first images")
    return keras


@pytest.fixture
def keras_cache(keras, homes, monkeypatch):
    """Keras's cache in the temporary home, its hash check off, and no downloads."""
    from keras.src.backend import config
    from keras.src.utils import file_utils

    def no_download(*args, **kwargs):
        raise AssertionError(f"Keras tried to download {args[:1]}")

    monkeypatch.setattr(config, "_KERAS_DIR", str(homes["home"] / ".keras"))
    monkeypatch.setattr(file_utils, "validate_file", lambda *args, **kwargs: True)
    monkeypatch.setattr(file_utils, "urlretrieve", no_download)
    return homes["keras"]


def test_fashion_mnist_equals_keras(keras, keras_cache, homes):
    for name, body in fashion_files(3).items():
        _write(keras_cache / "fashion-mnist", name, body)
    ours = fashion_mnist.load_data(origin=homes["offline"] + "/")
    assert_same(ours, keras.datasets.fashion_mnist.load_data())


@pytest.fixture(scope="module")
def full_cifar10_archive():
    """Keras's CIFAR-10 loader assumes 10,000 images a batch, so this one has them (2.5 MB)."""
    return cifar_archive("cifar-10-batches-py", cifar10_batches(sizes=(10000,) * 6, seed=1))


def test_cifar10_equals_keras_from_each_cache_layout(keras, keras_cache, homes, full_cifar10_archive):
    _write(keras_cache, "cifar-10-batches-py-target_archive", full_cifar10_archive)
    theirs = keras.datasets.cifar10.load_data()  # extracts into cifar-10-batches-py-target/
    assert theirs[0][0].shape == (50000, 32, 32, 3)
    assert_same(cifar10.load_data(origin=homes["offline"]), theirs)  # Keras 3's archive
    os.remove(keras_cache / "cifar-10-batches-py-target_archive")
    assert_same(cifar10.load_data(origin=homes["offline"]), theirs)  # the folder it extracted


@pytest.mark.parametrize("label_mode", ["fine", "coarse"])
def test_cifar100_equals_keras(keras, keras_cache, homes, label_mode):
    archive = cifar_archive("cifar-100-python", cifar100_batches(n_train=6, n_test=4, seed=2))
    _write(keras_cache, "cifar-100-python-target_archive", archive)
    theirs = keras.datasets.cifar100.load_data(label_mode)
    assert_same(cifar100.load_data(label_mode, origin=homes["offline"]), theirs)


SEQUENCE_ARGS = [
    {},
    {"num_words": 20},
    {"num_words": 25, "skip_top": 6},
    {"maxlen": 8},
    {"maxlen": 9, "num_words": 15, "oov_char": None},
    {"start_char": None},
    {"start_char": None, "index_from": 0},
    {"start_char": 5, "oov_char": 7, "index_from": 10, "num_words": 30},
    {"seed": 7, "skip_top": 40},
    {"seed": 0, "num_words": 0, "maxlen": 0},
]


@pytest.mark.parametrize("py2", [False, True], ids=["numpy_npz", "python2_npz"])
def test_imdb_equals_keras(keras, keras_cache, homes, py2):
    _write(keras_cache, "imdb.npz", npz_bytes(imdb_arrays(4, n_train=30, n_test=25), py2=py2))
    for kwargs in SEQUENCE_ARGS:
        ours = imdb.load_data(origin=homes["offline"], **kwargs)
        assert_same(ours, keras.datasets.imdb.load_data(**kwargs))
    _write(keras_cache, "imdb_word_index.json", word_index_bytes(4))
    assert imdb.get_word_index(origin=homes["offline"]) == keras.datasets.imdb.get_word_index()


@pytest.mark.parametrize("py2", [False, True], ids=["numpy_npz", "python2_npz"])
def test_reuters_equals_keras(keras, keras_cache, homes, py2):
    _write(keras_cache, "reuters.npz", npz_bytes(reuters_arrays(5, n=40), py2=py2))
    extra = [{"test_split": 0.5}, {"test_split": 0.0}, {"test_split": 0.0, "maxlen": 9}]
    for kwargs in SEQUENCE_ARGS + extra:
        ours = reuters.load_data(origin=homes["offline"], **kwargs)
        assert_same(ours, keras.datasets.reuters.load_data(**kwargs))
    _write(keras_cache, "reuters_word_index.json", word_index_bytes(5))
    assert reuters.get_word_index(origin=homes["offline"]) == keras.datasets.reuters.get_word_index()
    assert reuters.get_label_names() == tuple(keras.datasets.reuters.get_label_names())


def test_housing_equals_keras(keras, keras_cache, homes):
    _write(keras_cache, "boston_housing.npz", npz_bytes(housing_arrays(50, 13, np.float64, 6)))
    _write(keras_cache, "california_housing.npz", npz_bytes(housing_arrays(700, 8, np.float32, 7)))
    for kwargs in ({}, {"test_split": 0.5, "seed": 3}, {"test_split": 0.0}):
        ours = boston_housing.load_data(origin=homes["offline"], **kwargs)
        assert_same(ours, keras.datasets.boston_housing.load_data(**kwargs))
        for version in ("large", "small"):
            ours = california_housing.load_data(version, origin=homes["offline"], **kwargs)
            assert_same(ours, keras.datasets.california_housing.load_data(version, **kwargs))


def test_keras_constants_match_keras_source(keras):
    """The URLs and hashes fnnet uses are the ones in Keras's loaders."""
    from keras.src.datasets import boston_housing as kb
    from keras.src.datasets import california_housing as kc
    from keras.src.datasets import cifar10 as k10
    from keras.src.datasets import cifar100 as k100
    from keras.src.datasets import imdb as ki
    from keras.src.datasets import reuters as kr

    pairs = [
        (k10, [cifar10.CIFAR10_ORIGIN, cifar10.CIFAR10_SHA256]),
        (k100, [cifar100.CIFAR100_ORIGIN, cifar100.CIFAR100_SHA256]),
        (ki, [imdb.IMDB_SHA256, imdb.WORD_INDEX_MD5, "{origin_folder}imdb_word_index.json"]),
        (kr, [reuters.REUTERS_SHA256, reuters.WORD_INDEX_MD5, "reuters_word_index.json"]),
        (kb, [boston_housing.BOSTON_HOUSING_SHA256]),
        (kc, [california_housing.CALIFORNIA_HOUSING_SHA256]),
    ]
    for module, values in pairs:
        source = inspect.getsource(module)
        for value in values:
            assert value in source, (module.__name__, value)
    origin_folder = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
    for url in (imdb.IMDB_ORIGIN, reuters.REUTERS_ORIGIN, boston_housing.BOSTON_HOUSING_ORIGIN,
                california_housing.CALIFORNIA_HOUSING_ORIGIN, fashion_mnist.FASHION_MNIST_ORIGIN,
                imdb.WORD_INDEX_ORIGIN, reuters.WORD_INDEX_ORIGIN):  # fmt: skip
        assert url.startswith(origin_folder)
