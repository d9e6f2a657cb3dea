"""Tests for fnnet.utils: to_categorical, normalize, pad_sequences, and the global seed stream."""

from __future__ import annotations

import itertools
import os
import random

import jax
import numpy as np
import pytest

from fnnet import utils
from fnnet.utils import (
    next_key,
    next_seed,
    normalize,
    pad_sequences,
    set_random_seed,
    to_categorical,
)


def _one_hot_reference(y, num_classes):
    """Independent reference: rows of the identity matrix, indexed by label."""
    y = np.asarray(y)
    if y.ndim > 1 and y.shape[-1] == 1:
        y = y[..., 0]
    return np.eye(num_classes, dtype=np.float32)[y.astype(int)]


@pytest.fixture(autouse=True)
def _restore_global_rngs(monkeypatch):
    """Leave Python's, numpy's and fnnet's global RNGs as the test found them."""
    py_state, np_state = random.getstate(), np.random.get_state()  # noqa: NPY002
    monkeypatch.setattr(utils, "_stream", utils._stream)
    yield
    random.setstate(py_state)
    np.random.set_state(np_state)  # noqa: NPY002


# ---------------------------------------------------------------------------------------------
# to_categorical


@pytest.mark.parametrize(
    "y",
    [
        np.array([0, 3, 1, 2, 3]),
        np.array([[0], [3], [1]]),
        np.array([[0, 1, 2], [3, 2, 1]]),
        np.array([[[0], [1]], [[3], [2]]]),
        np.array([2.0, 0.0, 1.0]),
        [1, 0, 1],
    ],
)
def test_to_categorical_matches_reference(y):
    got = to_categorical(y)
    want = _one_hot_reference(y, int(np.max(y)) + 1)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, want)


def test_to_categorical_num_classes_and_dtype():
    got = to_categorical(np.array([1, 0], np.uint8), num_classes=5, dtype="int32")
    assert got.shape == (2, 5) and got.dtype == np.int32
    np.testing.assert_array_equal(got, _one_hot_reference([1, 0], 5).astype(np.int32))


def test_to_categorical_scalar_and_empty():
    np.testing.assert_array_equal(to_categorical(2, num_classes=3), [0.0, 0.0, 1.0])
    assert to_categorical(np.zeros((0,), int), num_classes=4).shape == (0, 4)


def test_to_categorical_matches_labels_from_argmax():
    labels = np.random.default_rng(0).integers(0, 10, 1000)
    np.testing.assert_array_equal(to_categorical(labels).argmax(-1), labels)
    np.testing.assert_array_equal(to_categorical(labels).sum(-1), np.ones(1000))


@pytest.mark.parametrize(
    "y, kwargs, error, match",
    [
        ([0, 1.5, 2], {}, ValueError, r"y must hold whole-number class labels, got 1\.5"),
        ([0.0, np.nan], {}, ValueError, r"whole-number class labels, got nan"),
        ([0, -1, 2], {}, ValueError, r"y must hold labels >= 0, got -1; shift the labels"),
        ([0, 5], {"num_classes": 3}, ValueError, r"holds label 5 but num_classes=3.*num_classes=6"),
        ([0, 1], {"num_classes": 0}, ValueError, r"num_classes must be at least 1, got 0"),
        ([0, 1], {"num_classes": 2.0}, TypeError, r"num_classes must be an int or None, got 2\.0"),
        (["a", "b"], {}, TypeError, r"y must hold integer class labels, got an array of dtype <U1"),
        ([], {}, ValueError, r"y is empty, so num_classes cannot be inferred"),
    ],
)
def test_to_categorical_errors(y, kwargs, error, match):
    with pytest.raises(error, match=match):
        to_categorical(y, **kwargs)


# ---------------------------------------------------------------------------------------------
# normalize


@pytest.mark.parametrize("axis, order", [(-1, 2), (0, 2), (-1, 1), (1, np.inf)])
def test_normalize_matches_reference(axis, order):
    x = np.random.default_rng(0).normal(size=(4, 5, 3))
    x[0, 0] = 0.0
    norms = np.sum(np.abs(x) ** order, axis=axis, keepdims=True) ** (1 / order)
    if order == np.inf:
        norms = np.max(np.abs(x), axis=axis, keepdims=True)
    want = x / np.where(norms == 0, 1, norms)
    np.testing.assert_allclose(normalize(x, axis=axis, order=order), want, rtol=1e-12)


def test_normalize_integer_input_and_zero_rows():
    got = normalize(np.array([[3, 4], [0, 0]]))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, [[0.6, 0.8], [0.0, 0.0]], rtol=1e-6)


def test_normalize_scalar_error():
    with pytest.raises(ValueError, match=r"x must have at least one axis, got a scalar"):
        normalize(3.0)


# ---------------------------------------------------------------------------------------------
# pad_sequences

SEQUENCES = [[1, 2, 3, 4, 5], [], [6], [7, 8], (9, 10, 11), np.array([12, 13, 14, 15])]


def _pad_reference(seqs, maxlen, dtype, padding, truncating, value):
    """Row by row with Python lists: cut, then fill on the chosen side."""
    if maxlen is None:
        maxlen = max(len(s) for s in seqs)
    rows = []
    for seq in seqs:
        seq = list(seq)
        cut = max(len(seq) - maxlen, 0)
        kept = (seq[cut:] if truncating == "pre" else seq[:maxlen]) if maxlen else []
        fill = [value] * (maxlen - len(kept))
        rows.append(fill + kept if padding == "pre" else kept + fill)
    return np.array(rows, dtype=dtype).reshape(len(seqs), maxlen)


COMBINATIONS = list(
    itertools.product(["pre", "post"], ["pre", "post"], [None, 1, 2, 3, 7], ["int32", "float32"])
)


@pytest.mark.parametrize("padding, truncating, maxlen, dtype", COMBINATIONS)
def test_pad_sequences_matches_reference(padding, truncating, maxlen, dtype):
    for value in (0.0, -1):
        got = pad_sequences(SEQUENCES, maxlen, dtype, padding, truncating, value)
        want = _pad_reference(SEQUENCES, maxlen, dtype, padding, truncating, value)
        assert got.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(got, want)


def test_pad_sequences_steps_with_shape_and_strings():
    seqs = [np.ones((3, 2)), np.zeros((0, 2)), 2 * np.ones((1, 2))]
    got = pad_sequences(seqs, maxlen=2, dtype="float32", value=-1.0)
    assert got.shape == (3, 2, 2)
    np.testing.assert_array_equal(got[1], -np.ones((2, 2)))
    np.testing.assert_array_equal(got[2], [[-1, -1], [2, 2]])
    words = pad_sequences([["a", "b"], ["c"]], dtype=object, value="<pad>", padding="post")
    assert words.tolist() == [["a", "b"], ["c", "<pad>"]]


def test_pad_sequences_where_keras_fails():
    assert pad_sequences([]).shape == (0, 0)
    assert pad_sequences([], maxlen=4).shape == (0, 4)
    assert pad_sequences([[1, 2], []], maxlen=0).shape == (2, 0)
    assert pad_sequences([[], []]).shape == (2, 0)


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        ((5,), {}, r"sequences must be a list .* got int"),
        (([1, 2],), {}, r"every item of sequences must be a sequence, got 1 of type int at position 0"),
        (([[1]],), {"maxlen": -1}, r"maxlen must be a non-negative int or None, got -1"),
        (([[1]],), {"maxlen": 2.0}, r"maxlen must be a non-negative int or None, got 2\.0"),
        (([[1]],), {"padding": "left"}, r"padding must be 'pre' or 'post', got 'left'"),
        (([[]],), {"truncating": "mid"}, r"truncating must be 'pre' or 'post', got 'mid'"),
        (([["a"]],), {"value": "x"}, r"value 'x' is a string but dtype 'int32' is not; pass dtype=object"),
        (([[[1, 2]], [[1, 2, 3]]],), {}, r"sequence at position 1 have shape \(3,\), .* shape \(2,\)"),
    ],
)
def test_pad_sequences_errors(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        pad_sequences(*args, **kwargs)


@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    return pytest.importorskip("keras")


def test_pad_sequences_equals_keras(keras):
    """Every combination of padding, truncating, maxlen, dtype and value, against Keras."""
    seqs = SEQUENCES + [[2.7, -3.9]]  # floats into an int dtype: numpy's truncation
    for padding, truncating, maxlen, dtype in COMBINATIONS + [("post", "pre", 4, "int64")]:
        for value in (0.0, -1, 2.5):
            args = (maxlen, dtype, padding, truncating, value)
            want = keras.utils.pad_sequences(seqs, *args)
            got = pad_sequences(seqs, *args)
            assert got.dtype == want.dtype and got.shape == want.shape, args
            np.testing.assert_array_equal(got, want, err_msg=str(args))
    steps = [np.arange(6).reshape(3, 2), np.arange(2).reshape(1, 2), np.zeros((0, 2))]
    for padding, truncating in itertools.product(["pre", "post"], repeat=2):
        for maxlen in (None, 2):
            want = keras.utils.pad_sequences(steps, maxlen, "float32", padding, truncating, -1.0)
            np.testing.assert_array_equal(
                pad_sequences(steps, maxlen, "float32", padding, truncating, -1.0), want
            )
    words = [["a", "b", "c"], ["d"]]
    want = keras.utils.pad_sequences(words, 2, object, "post", "post", "<pad>")
    assert pad_sequences(words, 2, object, "post", "post", "<pad>").tolist() == want.tolist()


# ---------------------------------------------------------------------------------------------
# set_random_seed, next_seed, next_key


def test_set_random_seed_makes_everything_reproducible():
    def draw():
        seeds = [next_seed() for _ in range(5)]
        key = jax.random.key_data(next_key())
        return seeds, random.random(), np.random.rand(3), key  # noqa: NPY002

    set_random_seed(1234)
    first = draw()
    set_random_seed(1234)
    second = draw()
    assert first[0] == second[0] and first[1] == second[1]
    np.testing.assert_array_equal(first[2], second[2])
    np.testing.assert_array_equal(first[3], second[3])
    assert len(set(first[0])) == 5
    assert all(isinstance(s, int) and 0 <= s < 2**32 for s in first[0])
    set_random_seed(1235)
    assert draw()[0] != first[0]


def test_next_seed_matches_numpy_generator():
    set_random_seed(7)
    want = np.random.default_rng(7).integers(0, 2**32, 3, dtype=np.uint64).tolist()
    assert [next_seed() for _ in range(3)] == want


def test_next_seed_unseeded_uses_os_entropy(monkeypatch):
    monkeypatch.setattr(utils, "_stream", None)
    a = next_seed()
    monkeypatch.setattr(utils, "_stream", None)
    b = next_seed()
    assert a != b  # fails with probability 2**-32


def test_next_key_is_a_typed_key():
    set_random_seed(0)
    key = next_key()
    assert key.shape == () and jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key)
    set_random_seed(0)
    expected = jax.random.key(np.random.default_rng(0).integers(0, 2**32, dtype=np.uint64).item())
    np.testing.assert_array_equal(jax.random.key_data(key), jax.random.key_data(expected))


@pytest.mark.parametrize(
    "seed, error, match",
    [
        (-1, ValueError, r"seed must be in \[0, 2\*\*32\), got -1"),
        (2**32, ValueError, r"seed must be in \[0, 2\*\*32\), got 4294967296"),
        (1.5, TypeError, r"seed must be an int, got 1\.5 of type float"),
        (True, TypeError, r"seed must be an int, got True of type bool"),
    ],
)
def test_set_random_seed_errors(seed, error, match):
    with pytest.raises(error, match=match):
        set_random_seed(seed)


def test_set_random_seed_accepts_numpy_int():
    set_random_seed(np.int64(5))
    a = next_seed()
    set_random_seed(5)
    assert next_seed() == a
