"""Tests for fnnet.layers.merging: the conformance harness, shapes, Keras 3 parity (values and
data masks) and every error message."""

from __future__ import annotations

import contextlib
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _layer_harness import Case, harness_tests

from fnnet import Masked, layers
from fnnet.layers import (
    Add,
    Average,
    Concatenate,
    Dot,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
)

KEY = jax.random.key(0)
B = 4

CASES = [
    Case("add_three_broadcast", lambda: Add(), ((B, 2, 3), (B, 1, 3), (B, 3))),
    Case("subtract", lambda: Subtract(), ((B, 2, 3), (B, 2, 3))),
    Case("multiply", lambda: Multiply(), ((B, 3), (B, 3), (B, 3))),
    Case("average", lambda: Average(), ((B, 3), (B, 1))),
    Case("maximum", lambda: Maximum(), ((B, 4), (B, 4))),
    Case("minimum", lambda: Minimum(), ((B, 4), (B, 4))),
    Case("concatenate_axis1", lambda: Concatenate(axis=1), ((B, 2, 3), (B, 1, 3))),
    Case("dot_axes_pair", lambda: Dot(axes=(1, 2)), ((B, 3, 2), (B, 4, 3))),
    Case("dot_normalize", lambda: Dot(axes=-1, normalize=True), ((B, 2, 3), (B, 2, 3))),
]

globals().update(harness_tests(CASES))


# ------------------------------------------------------------------------------------- shapes
SHAPES = [
    (Add, {}, ((None, 3), (None, 3)), (None, 3)),
    (Add, {}, ((None, 2, 1), (None, 1, 5)), (None, 2, 5)),
    (Add, {}, ((None, 2, 5), (None, 5)), (None, 2, 5)),
    (Add, {}, ((None, 2, 5), (3, 5)), (3, 2, 5)),
    (Add, {}, ((None, 4),), (None, 4)),
    (Maximum, {}, ((None, None, 4), (None, 3, 4)), (None, None, 4)),
    (Average, {}, ((2, 1), (2, 1), (2, 6)), (2, 6)),
    (Concatenate, {"axis": 1}, ((None, 2, 5), (None, 3, 5)), (None, 5, 5)),
    (Concatenate, {"axis": -2}, ((None, 2, 5), (None, None, 5)), (None, None, 5)),
    (Concatenate, {}, ((None, 2), (3, 1), (None, 4)), (3, 7)),
    (Concatenate, {"axis": 2}, ((None, None, 2), (None, None, 1)), (None, None, 3)),
    (Dot, {"axes": 1}, ((None, 4), (None, 4)), (None, 1)),
    (Dot, {"axes": (1, 2)}, ((None, 3, 2), (None, 4, 3)), (None, 2, 4)),
    (Dot, {"axes": (2, 1)}, ((None, 3, 2), (None, 2)), (None, 3)),
    (Dot, {"axes": (1, 1)}, ((None, 2), (None, 2, 3)), (None, 3)),
    (Dot, {"axes": (3, 1)}, ((None, 2, 3, 4), (None, 4, 5)), (None, 2, 3, 5)),
    (Dot, {"axes": -1}, ((None, 2, 3), (None, 5, 3)), (None, 2, 5)),
]


@pytest.mark.parametrize("make, kwargs, shapes, expected", SHAPES,
                         ids=[f"{m.__name__}-{i}" for i, (m, *_) in enumerate(SHAPES)])
def test_init_shape_and_apply_shape_over_configurations(make, kwargs, shapes, expected):
    layer = make(**kwargs)
    assert layer.init(KEY, shapes)[0] == expected
    concrete = [tuple(3 if d is None else d for d in s) for s in shapes]
    out = jax.eval_shape(lambda xs: layer.apply((), (), xs)[0],
                         [jax.ShapeDtypeStruct(s, jnp.float32) for s in concrete])
    assert out.shape == layer.init(KEY, concrete)[0]
    assert all(a in (b, None) for a, b in zip(expected, out.shape, strict=True))


# ------------------------------------------------------------------------------- Keras parity
@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "jax":
        pytest.skip("Keras parity runs on Keras's JAX backend")
    return keras


def _lenient():
    """Keras computes with standard promotion; the tests run strict."""
    stack = contextlib.ExitStack()
    stack.enter_context(jax.numpy_dtype_promotion("standard"))
    stack.enter_context(jax.numpy_rank_promotion("allow"))
    return stack


def _inputs(shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=s).astype(np.float32) for s in shapes]


PARITY = [
    ("Add", {}, [(3, 4), (3, 4), (3, 4)]),
    ("Add", {}, [(3, 2, 4), (3, 4)]),
    ("Subtract", {}, [(3, 2, 4), (3, 2, 4)]),
    ("Multiply", {}, [(3, 4), (3, 4), (3, 4)]),
    ("Average", {}, [(3, 4), (3, 4), (3, 1)]),
    ("Maximum", {}, [(3, 4), (3, 4), (3, 4)]),
    ("Minimum", {}, [(3, 2, 4), (3, 2, 4)]),
    ("Concatenate", {"axis": 1}, [(3, 2, 4), (3, 1, 4), (3, 3, 4)]),
    ("Dot", {"axes": 1}, [(3, 4), (3, 4)]),
    ("Dot", {"axes": (1, 2)}, [(3, 5, 2), (3, 4, 5)]),
    ("Dot", {"axes": -1, "normalize": True}, [(3, 2, 4), (3, 5, 4)]),
    ("Dot", {"axes": (3, 1)}, [(3, 2, 3, 4), (3, 4, 5)]),
    ("Dot", {"axes": (1, 1), "normalize": True}, [(3, 2), (3, 2, 5)]),
]


@pytest.mark.parametrize("kind, kwargs, shapes", PARITY,
                         ids=[f"{k}-{i}" for i, (k, *_) in enumerate(PARITY)])
def test_values_match_keras(keras, kind, kwargs, shapes):
    xs = _inputs(shapes)
    with _lenient():
        expected = np.asarray(getattr(keras.layers, kind)(**kwargs)(xs))
    layer = getattr(layers, kind)(**kwargs)
    assert layer.init(KEY, [(None, *s[1:]) for s in shapes])[0] == (None, *expected.shape[1:])
    y, state = layer.apply((), (), tuple(jnp.asarray(x) for x in xs))
    assert state == () and y.dtype == jnp.float32
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-6)


MASK_KINDS = [("Add", {}), ("Subtract", {}), ("Multiply", {}), ("Average", {}), ("Maximum", {}),
              ("Minimum", {}), ("Concatenate", {}), ("Concatenate", {"axis": 1}),
              ("Dot", {"axes": 2})]


@pytest.fixture(scope="module")
def masked_inputs():
    """(batch=2, time=3, features=2) inputs whose zero steps Keras's Masking masks."""
    a = np.arange(1.0, 13.0, dtype=np.float32).reshape(2, 3, 2)
    b = -np.arange(1.0, 13.0, dtype=np.float32).reshape(2, 3, 2) / 2
    a[0, 0] = 0.0
    a[1, 2] = 0.0
    b[0, 1] = 0.0
    b[1, 2] = 0.0
    return a, b


@pytest.mark.parametrize("kind, kwargs", MASK_KINDS,
                         ids=[f"{k}-{i}" for i, (k, _) in enumerate(MASK_KINDS)])
def test_data_masks_follow_keras_3(keras, masked_inputs, kind, kwargs):
    """Values and output masks, with both inputs masked and with only the first masked."""
    a, b = masked_inputs

    class ShowMask(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.supports_masking = True

        def call(self, x, mask=None):
            if mask is None:
                return jnp.full(x.shape[:2], -1.0)
            return jnp.asarray(mask, jnp.float32)

        def compute_output_shape(self, shape):
            return shape[:2]

    in_a, in_b = keras.Input((3, 2)), keras.Input((3, 2))
    m_a, m_b = keras.layers.Masking()(in_a), keras.layers.Masking()(in_b)
    both = getattr(keras.layers, kind)(**kwargs)([m_a, m_b])
    first = getattr(keras.layers, kind)(**kwargs)([m_a, in_b])
    model = keras.Model([in_a, in_b], [both, ShowMask()(both), first, ShowMask()(first)])
    with _lenient():
        k_both, k_both_mask, k_first, k_first_mask = (np.asarray(t) for t in model([a, b]))

    layer = getattr(layers, kind)(**kwargs)
    mask_a, mask_b = (jnp.asarray(np.any(v != 0, axis=-1)) for v in (a, b))
    for (x2, expected, expected_mask) in ((Masked(jnp.asarray(b), mask_b), k_both, k_both_mask),
                                          (jnp.asarray(b), k_first, k_first_mask)):
        y, _ = layer.apply((), (), (Masked(jnp.asarray(a), mask_a), x2))
        if np.all(expected_mask == -1):
            assert not isinstance(y, Masked)
        else:
            assert isinstance(y, Masked)
            np.testing.assert_array_equal(y.mask, expected_mask.astype(bool))
            y = y.value
        np.testing.assert_allclose(y, expected, rtol=1e-6)


def test_masks_of_unmasked_inputs_stay_absent():
    y, _ = Add().apply((), (), (jnp.ones((2, 3)), jnp.ones((2, 3))))
    assert not isinstance(y, Masked)
    y, _ = Concatenate().apply((), (), [jnp.ones((2, 3)), jnp.ones((2, 1))])
    assert not isinstance(y, Masked) and y.shape == (2, 4)


def test_inputs_of_mixed_dtypes_are_promoted_explicitly():
    y, _ = Add().apply((), (), (jnp.ones(3, jnp.bfloat16)[None], jnp.ones((1, 3), jnp.float32)))
    assert y.dtype == jnp.float32
    y, _ = Concatenate().apply((), (), (jnp.ones((1, 2), jnp.int32), jnp.ones((1, 1))))
    assert y.dtype == jnp.float32 and y.tolist() == [[1.0, 1.0, 1.0]]


# -------------------------------------------------------------------------------------- errors
ERRORS = [
    ("not_a_tuple", lambda: Add().init(KEY, (None, 3)), ValueError,
     r"Add merges a tuple of inputs, so init takes a tuple of their shapes, each with the batch "
     r"dim, e\.g\. \(\(None, 4\), \(None, 4\)\); got \(None, 3\)\. Put it after a layer that "
     r"outputs a tuple"),
    ("empty", lambda: Multiply().init(KEY, ()), ValueError, r"Multiply merges a tuple .* got \(\)"),
    ("no_batch_dim", lambda: Add().init(KEY, ((), ())), ValueError,
     r"Add: every input needs at least 1 dims, the batch dim first; got input shapes \[\(\), "
     r"\(\)\]"),
    ("batch_sizes", lambda: Average().init(KEY, ((2, 3), (4, 3))), ValueError,
     r"Average: all inputs must have the same batch size; got input shapes \[\(2, 3\), \(4, 3\)\]"),
    ("incompatible", lambda: Add().init(KEY, ((None, 3), (None, 4))), ValueError,
     r"Add: the inputs' shapes must be equal or broadcast \(a dim of 1 stretches\); got input "
     r"shapes \[\(None, 3\), \(None, 4\)\]\. Project the branches to one shape first"),
    ("incompatible_at_apply", lambda: Maximum().apply((), (), (jnp.ones((2, 3)), jnp.ones((2, 2)))),
     ValueError, r"Maximum: the inputs' shapes must be equal or broadcast .* \[\(2, 3\), \(2, 2\)\]"),
    ("subtract_three", lambda: Subtract().init(KEY, ((None, 2),) * 3), ValueError,
     r"Subtract takes exactly 2 inputs; got 3, of shapes \[\(None, 2\), \(None, 2\), \(None, 2\)\]"),
    ("subtract_apply_three", lambda: Subtract().apply((), (), (jnp.ones((1, 2)),) * 3), ValueError,
     r"Subtract takes exactly 2 inputs; got 3\."),
    ("apply_not_a_tuple", lambda: Add().apply((), (), jnp.ones((2, 3))), ValueError,
     r"Add merges a tuple \(or list\) of inputs; got ArrayImpl\. Call it on \(x1, x2, \.\.\.\)"),
    ("concat_axis_type", lambda: Concatenate(axis=1.0), TypeError,
     r"Concatenate: axis must be an int; got 1\.0\. For example Concatenate\(axis=-1\)"),
    ("concat_batch_axis", lambda: Concatenate(axis=0).init(KEY, ((None, 2), (None, 2))),
     ValueError, r"Concatenate\(axis=0\): the axis must be an axis of the inputs other than the "
                 r"batch axis; got input shapes \[\(None, 2\), \(None, 2\)\]"),
    ("concat_axis_range", lambda: Concatenate(axis=3).init(KEY, ((None, 2), (None, 2))),
     ValueError, r"Concatenate\(axis=3\): the axis must be an axis of the inputs"),
    ("concat_ranks", lambda: Concatenate().init(KEY, ((None, 2, 3), (None, 3))), ValueError,
     r"Concatenate\(axis=-1\): all inputs must have the same rank; got input shapes "
     r"\[\(None, 2, 3\), \(None, 3\)\]"),
    ("concat_mismatch", lambda: Concatenate().init(KEY, ((None, 2, 3), (None, 4, 3))), ValueError,
     r"Concatenate\(axis=-1\): inputs must match on every axis but the concatenation axis; got "
     r"input shapes \[\(None, 2, 3\), \(None, 4, 3\)\] \(they differ on axis 1\)"),
    ("dot_axes_type", lambda: Dot(axes="1"), TypeError,
     r"Dot: axes must be an int or a pair of ints; got '1'\. For example Dot\(axes=1\)"),
    ("dot_axes_len", lambda: Dot(axes=(1, 2, 3)), ValueError,
     r"Dot: axes must be an int or a pair of ints, one axis per input; got \(1, 2, 3\)"),
    ("dot_axes_float", lambda: Dot(axes=[1, 2.0]), ValueError,
     r"one axis per input; got \[1, 2\.0\]"),
    ("dot_normalize", lambda: Dot(1, normalize=1), TypeError,
     r"Dot: normalize must be True or False; got 1\."),
    ("dot_three", lambda: Dot(1).init(KEY, ((None, 2),) * 3), ValueError,
     r"Dot takes exactly 2 inputs; got 3"),
    ("dot_rank", lambda: Dot(1).init(KEY, ((None, 2), (None,))), ValueError,
     r"Dot: every input needs at least 2 dims, the batch dim first; got input shapes "
     r"\[\(None, 2\), \(None,\)\]"),
    ("dot_batch_axis", lambda: Dot(0).init(KEY, ((None, 2), (None, 2))), ValueError,
     r"Dot\(axes=0\): each axis must be an axis of its input other than the batch axis 0; got "
     r"input shapes \[\(None, 2\), \(None, 2\)\]"),
    ("dot_axis_range", lambda: Dot((1, 3)).init(KEY, ((None, 2), (None, 2))), ValueError,
     r"Dot\(axes=\(1, 3\)\): each axis must be an axis of its input"),
    ("dot_sizes", lambda: Dot((1, 2)).init(KEY, ((None, 3), (None, 2, 4))), ValueError,
     r"Dot\(axes=\(1, 2\)\): the dot axes must have the same size; got 3 \(axis 1 of the first "
     r"input\) and 4 \(axis 2 of the second\); input shapes \[\(None, 3\), \(None, 2, 4\)\]"),
    ("dot_apply_one", lambda: Dot(1).apply((), (), [jnp.ones((1, 2))]), ValueError,
     r"Dot takes exactly 2 inputs; got 1\."),
]


@pytest.mark.parametrize("make, error, match", [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_errors(make, error, match):
    with pytest.raises(error, match=match):
        make()
