"""Tests for fnnet.layers.reshaping: the conformance harness of test_layers, Keras 3 parity, numpy
references, and every raise by its message."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import test_layers as harness
from _keras_ref import assert_matches_keras
from test_layers import BATCH, Case

from fnnet import layers, serial

KEY = jax.random.key(0)

# The conformance harness of tests/test_layers.py: param-free layers chained per rank, so each
# case compiles once for several layers (their shapes one by one: the Keras cases below).

CASES = [
    Case("pad_crop_upsample_1d",
         lambda: serial(layers.ZeroPadding1D((2, 1)), layers.Cropping1D((1, 2)),
                        layers.UpSampling1D(3)), (BATCH, 3, 2)),
    Case("pad_crop_upsample_2d_bilinear",
         lambda: serial(layers.ZeroPadding2D(((1, 0), (0, 2))), layers.Cropping2D(((1, 0), (1, 2))),
                        layers.UpSampling2D((2, 1)), layers.UpSampling2D(2, interpolation="bilinear")),
         (BATCH, 3, 3, 2)),
    Case("pad_crop_upsample_3d_permute_repeat",
         lambda: serial(layers.ZeroPadding3D(1), layers.Cropping3D((0, 1, (1, 0))),
                        layers.UpSampling3D((1, 2, 2)), layers.Permute((4, 1, 3, 2)),
                        layers.Flatten(), layers.RepeatVector(2)), (BATCH, 2, 1, 2, 1)),
]
IDS = [c.id for c in CASES]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_harness_shapes_jit_state_and_determinism(case):
    for training in (False, True):
        harness.test_init_shape_equals_apply_shape(case, training)
    harness.test_init_runs_under_eval_shape(case)
    harness.test_jit_equals_eager(case, False)
    harness.test_state_keeps_its_structure(case)
    harness.test_randomness_is_deterministic_per_key(case)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_harness_gradients_vmap_and_scan(case):
    harness.test_gradients_match_finite_differences_in_float64(case)
    harness.test_vmap_per_example_gradients(case)
    harness.test_works_inside_lax_scan(case)


# ---------------------------------------------------------------------------------------------
# Keras 3 parity.

KERAS_CASES = [
    ("ZeroPadding1D", {}, (2, 3, 2)),
    ("ZeroPadding1D", {"padding": (0, 2)}, (2, 3, 2)),
    ("ZeroPadding2D", {}, (2, 2, 3, 1)),
    ("ZeroPadding2D", {"padding": (1, 2)}, (2, 2, 3, 1)),
    ("ZeroPadding2D", {"padding": ((0, 1), (2, 0))}, (2, 2, 3, 1)),
    ("ZeroPadding3D", {"padding": (1, 0, 2)}, (1, 2, 2, 1, 2)),
    ("Cropping1D", {}, (2, 5, 2)),
    ("Cropping1D", {"cropping": (0, 2)}, (2, 5, 2)),
    ("Cropping2D", {}, (2, 3, 3, 1)),
    ("Cropping2D", {"cropping": 1}, (2, 4, 3, 1)),
    ("Cropping2D", {"cropping": ((2, 0), (0, 1))}, (2, 4, 3, 1)),
    ("Cropping3D", {}, (1, 3, 4, 3, 2)),
    ("Cropping3D", {"cropping": ((0, 1), 1, (2, 0))}, (1, 3, 4, 3, 2)),
    ("UpSampling1D", {"size": 3}, (2, 3, 2)),
    ("UpSampling2D", {}, (2, 2, 3, 2)),
    ("UpSampling2D", {"size": (2, 3), "interpolation": "bilinear"}, (2, 3, 4, 2)),
    ("UpSampling2D", {"size": 3, "interpolation": "bicubic"}, (1, 3, 3, 2)),
    ("UpSampling2D", {"size": (1, 2), "interpolation": "lanczos3"}, (1, 3, 4, 1)),
    ("UpSampling2D", {"size": 2, "interpolation": "lanczos5"}, (1, 2, 3, 1)),
    ("UpSampling3D", {"size": (2, 1, 3)}, (1, 2, 2, 2, 1)),
    ("Permute", {"dims": (2, 1)}, (2, 3, 4)),
    ("Permute", {"dims": (3, 1, 2)}, (2, 2, 3, 4)),
    ("RepeatVector", {"n": 3}, (2, 4)),
]


@pytest.mark.parametrize("name, kwargs, shape", KERAS_CASES,
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(KERAS_CASES)])
def test_matches_keras(name, kwargs, shape):
    assert_matches_keras(name, kwargs, shape)


# ---------------------------------------------------------------------------------------------
# numpy references and unknown dims.


def test_values_match_numpy():
    x = np.arange(24, dtype=np.float32).reshape(1, 2, 3, 4)
    cases = [
        (layers.ZeroPadding2D(((1, 0), (0, 2))), np.pad(x, ((0, 0), (1, 0), (0, 2), (0, 0)))),
        (layers.Cropping2D(((1, 0), (1, 1))), x[:, 1:, 1:2]),
        (layers.UpSampling2D((2, 1)), np.repeat(x, 2, axis=1)),
        (layers.Permute((3, 1, 2)), np.transpose(x, (0, 3, 1, 2))),
        (layers.RepeatVector(2), np.stack([x.reshape(2, 12)] * 2, axis=1)),
    ]
    for layer, expected in cases:
        inputs = x.reshape(2, 12) if layer.kind == "RepeatVector" else x
        y, state = layer.apply((), (), jnp.asarray(inputs))
        np.testing.assert_array_equal(y, expected)
        assert state == ()


def test_unknown_dims_stay_unknown():
    assert layers.ZeroPadding1D().init(KEY, (None, None, 3))[0] == (None, None, 3)
    assert layers.Cropping2D(1).init(KEY, (None, None, 5, 2))[0] == (None, None, 3, 2)
    assert layers.UpSampling3D().init(KEY, (2, None, 1, None, 1))[0] == (2, None, 2, None, 1)
    assert layers.Permute((2, 1)).init(KEY, (None, None, 4))[0] == (None, 4, None)
    assert layers.RepeatVector(2).init(KEY, (None, None))[0] == (None, 2, None)


def test_integer_inputs_keep_their_dtype_except_for_interpolation():
    x = jnp.arange(6, dtype=jnp.int32).reshape(1, 2, 3, 1)
    assert layers.UpSampling2D().apply((), (), x)[0].dtype == jnp.int32
    assert layers.ZeroPadding2D().apply((), (), x)[0].dtype == jnp.int32
    assert layers.UpSampling2D(interpolation="bilinear").apply((), (), x)[0].dtype == jnp.float32


# ---------------------------------------------------------------------------------------------
# Every raise in fnnet/layers/reshaping.py and _spatial.check_pairs, by its message.

RESHAPING_ERRORS = [
    ("zeropad1d_negative", lambda: layers.ZeroPadding1D(-1),
     r"ZeroPadding1D: padding must be a non-negative int or a tuple of 2 non-negative ints; got "
     r"-1\. For example padding=\(1, 2\)"),
    ("zeropad2d_three_entries", lambda: layers.ZeroPadding2D((1, 2, 3)),
     r"ZeroPadding2D: padding must be a non-negative int, a tuple of 2 non-negative ints "
     r"\(symmetric per axis\) or a tuple of 2 pairs \(before, after\); got \(1, 2, 3\)\. For "
     r"example padding=\(\(1, 0\), \(2, 2\)\)"),
    ("zeropad3d_bad_pair", lambda: layers.ZeroPadding3D((1, (1, 2, 3), 1)),
     r"ZeroPadding3D: padding must be .* got \(1, \(1, 2, 3\), 1\)"),
    ("zeropad2d_negative_pair", lambda: layers.ZeroPadding2D(((0, -1), 1)),
     r"ZeroPadding2D: padding must be .* got \(\(0, -1\), 1\)"),
    ("zeropad_channels_first", lambda: layers.ZeroPadding2D(data_format="channels_first"),
     r"ZeroPadding2D: data_format='channels_first' is not supported"),
    ("crop1d_string", lambda: layers.Cropping1D("1"),
     r"Cropping1D: cropping must be a non-negative int or a tuple of 2 non-negative ints; got "
     r"'1'"),
    ("crop2d_float", lambda: layers.Cropping2D(1.5),
     r"Cropping2D: cropping must be a non-negative int, a tuple of 2 non-negative ints"),
    ("crop3d_channels_first", lambda: layers.Cropping3D(data_format="channels_first"),
     r"Cropping3D: data_format='channels_first' is not supported"),
    ("crop_too_much", lambda: layers.Cropping2D(((2, 2), (0, 0))).init(KEY, (None, 4, 4, 1)),
     r"Cropping2D: cropping=\(\(2, 2\), \(0, 0\)\) removes everything from inputs of shape "
     r"\(None, 4, 4, 1\); on each axis the cropping must be smaller than the input's size\."),
    ("crop1d_apply_too_much", lambda: layers.Cropping1D(2).apply((), (), jnp.ones((1, 4, 1))),
     r"Cropping1D: cropping=\(\(2, 2\),\) removes everything from inputs of shape \(1, 4, 1\)"),
    ("upsampling1d_size", lambda: layers.UpSampling1D(0),
     r"UpSampling1D: size must be a positive int; got 0\. For example UpSampling1D\(2\)"),
    ("upsampling2d_size", lambda: layers.UpSampling2D((2, 0)),
     r"UpSampling2D: size must be a positive int or a tuple of 2 positive ints; got \(2, 0\)"),
    ("upsampling2d_interpolation", lambda: layers.UpSampling2D(interpolation="area"),
     r"UpSampling2D: interpolation must be one of 'nearest', 'bilinear', 'bicubic', 'lanczos3', "
     r"'lanczos5'; got 'area'\."),
    ("upsampling3d_channels_first", lambda: layers.UpSampling3D(data_format="channels_first"),
     r"UpSampling3D: data_format='channels_first' is not supported"),
    ("permute_not_a_permutation", lambda: layers.Permute((1, 3)),
     r"Permute: dims must be a permutation of 1\.\.n \(the batch axis 0 is not permuted\); got "
     r"\(1, 3\)\. For example Permute\(\(2, 1\)\)"),
    ("permute_batch_axis", lambda: layers.Permute((0, 1)), r"Permute: dims must be a permutation"),
    ("permute_not_ints", lambda: layers.Permute("21"), r"Permute: dims .* got '21'"),
    ("repeat_vector_n", lambda: layers.RepeatVector(0),
     r"RepeatVector: n must be a positive int; got 0\. For example RepeatVector\(3\)"),
    ("rank_spatial", lambda: layers.ZeroPadding2D().init(KEY, (None, 4, 4)),
     r"ZeroPadding2D: expects inputs of rank 4, \(batch, height, width, channels\), with the "
     r"batch dim; got shape \(None, 4, 4\)"),
    ("rank_apply", lambda: layers.UpSampling1D().apply((), (), jnp.ones((2, 3))),
     r"UpSampling1D: expects inputs of rank 3, \(batch, steps, channels\)"),
    ("rank_permute", lambda: layers.Permute((2, 1)).init(KEY, (None, 4)),
     r"Permute: expects inputs of rank 3 with the batch dim; got shape \(None, 4\)\."),
    ("rank_repeat_vector", lambda: layers.RepeatVector(2).init(KEY, (None, 4, 2)),
     r"RepeatVector: expects inputs of rank 2 with the batch dim; got shape \(None, 4, 2\)\."),
    ("declared_mismatch", lambda: layers.Permute((2, 1), input_shape=(3, 4)).init(
        KEY, (None, 4, 3)),
     r"Permute was declared with input_shape=\(3, 4\) \(per example\) but init received "
     r"\(None, 4, 3\)"),
    ("bad_input_shape", lambda: layers.RepeatVector(2, input_shape=(0,)),
     r"RepeatVector: input_shape must be a tuple of positive ints"),
]


@pytest.mark.parametrize("make, match", [e[1:] for e in RESHAPING_ERRORS],
                         ids=[e[0] for e in RESHAPING_ERRORS])
def test_reshaping_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()
