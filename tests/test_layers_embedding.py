"""Tests for fnnet.layers.embedding: the layer harness, Keras 3 parity (lookups, out-of-range
ids, masks, Masking's zeroing) and errors."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import test_layers as harness
from _keras_ref import keras, lenient, run
from test_layers import BATCH, KEY, Case

from fnnet import Layer, Masked, serial
from fnnet.core import strip_masks
from fnnet.layers import Dense, Embedding, Masking


def _unmask():
    """Ends a data mask (the harness compares float leaves only)."""
    return Layer(lambda rng, s: (tuple(s), (), ()),
                 lambda p, s, x, **kw: (strip_masks(x), s), kind="Unmask", supports_masking=True)


CASES = [  # Embedding goes through the harness in test_layers_recurrent.py's masked model
    Case("masking_dense", lambda: serial(Masking(mask_value=0.5), Dense(2), _unmask()),
         (BATCH, 3, 2)),
]
IDS = [c.id for c in CASES]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_harness(case):
    for training in (False, True):
        harness.test_init_shape_equals_apply_shape(case, training)
        harness.test_jit_equals_eager(case, training)
    harness.test_init_runs_under_eval_shape(case)
    harness.test_gradients_match_finite_differences_in_float64(case)
    harness.test_state_keeps_its_structure(case)
    harness.test_randomness_is_deterministic_per_key(case)
    harness.test_vmap_per_example_gradients(case)
    harness.test_works_inside_lax_scan(case)


def test_embedding_matches_keras_including_negative_and_out_of_range_ids():
    k = keras()
    ids = np.array([[1, 0, 4, -1], [5, -6, 2, 7]], np.int32)
    layer = Embedding(5, 3, mask_zero=True)
    _, params, state = layer.init(KEY, ids.shape)
    ours, _ = jax.jit(layer.apply)(params, state, ids)  # no check possible under jit
    theirs = run(k.layers.Embedding(5, 3, mask_zero=True), [np.asarray(params["embeddings"])],
                 ids)
    np.testing.assert_array_equal(np.asarray(ours.value), theirs)  # NaN rows included
    table = np.asarray(params["embeddings"])
    np.testing.assert_array_equal(ours.value[0, 3], table[-1])  # -1 counts from the end
    assert np.isnan(np.asarray(ours.value)[1, [0, 1, 3]]).all()  # 5, -6 and 7: outside [-5, 5)
    np.testing.assert_array_equal(ours.mask, ids != 0)
    with lenient():
        np.testing.assert_array_equal(ours.mask, np.asarray(
            k.layers.Embedding(5, 3, mask_zero=True).compute_mask(ids)))


def test_embedding_casts_float_ids_and_accepts_masked_input():
    layer = Embedding(4, 2, mask_zero=True)
    _, params, state = layer.init(KEY, (1, 3))
    out, _ = layer.apply(params, state, jnp.array([[1.7, 0.2, 3.0]]))  # Keras casts to int32
    np.testing.assert_array_equal(out.value, params["embeddings"][jnp.array([[1, 0, 3]])])
    again, _ = layer.apply(params, state, Masked(jnp.array([[2, 0, 1]]),
                                                 jnp.array([[False, True, True]])))
    assert again.mask.tolist() == [[True, False, True]]  # the new mask, as in Keras
    plain, _ = Embedding(4, 2).apply(params, state, jnp.array([[2, 0]]))
    assert not isinstance(plain, Masked)


def test_embedding_defaults_and_input_length_warning():
    layer = Embedding(10, 4)
    assert layer.config["embeddings_initializer"] == {  # Keras's "uniform"
        "class_name": "RandomUniform", "config": {"minval": -0.05, "maxval": 0.05}}
    table = layer.init(KEY, (None, 3))[1]["embeddings"]
    assert float(jnp.abs(table).max()) <= 0.05
    with pytest.warns(UserWarning, match=r"Embedding: the argument input_length is deprecated"):
        assert Embedding(10, 4, input_length=3).config == layer.config


def test_embedding_mixed_precision():
    layer = Embedding(5, 2, dtype="mixed_bfloat16")
    _, params, state = layer.init(KEY, (1, 2))
    assert params["embeddings"].dtype == jnp.float32
    assert layer.apply(params, state, jnp.array([[1, 2]]))[0].dtype == jnp.bfloat16


def test_masking_matches_keras():
    k = keras()
    x = np.random.default_rng(0).normal(size=(2, 4, 3)).astype(np.float32)
    x[0, 1] = -1.0
    x[1, 3] = -1.0
    x[1, 0, 0] = -1.0  # one feature equal to mask_value is not enough
    ours, _ = Masking(mask_value=-1.0).apply((), (), jnp.asarray(x))
    with lenient():
        theirs = k.layers.Masking(mask_value=-1.0)(x)
    np.testing.assert_array_equal(ours.value, np.asarray(theirs))
    np.testing.assert_array_equal(ours.mask, np.asarray(theirs._keras_mask))
    assert ours.mask.tolist() == [[True, False, True, True], [True, True, True, False]]
    again, _ = Masking(mask_value=-1.0).apply((), (), Masked(jnp.asarray(x), jnp.ones((2, 4),
                                                                                      bool)))
    np.testing.assert_array_equal(again.mask, ours.mask)


ERRORS = [
    ("input_dim", lambda: Embedding(0, 4), ValueError,
     r"Embedding: input_dim must be a positive int; got 0"),
    ("output_dim", lambda: Embedding(10, 2.5), ValueError,
     r"Embedding: output_dim must be a positive int; got 2\.5"),
    ("mask_zero", lambda: Embedding(10, 4, mask_zero=1), TypeError,
     r"Embedding: mask_zero must be True or False; got 1"),
    ("init_shape", lambda: Embedding(10, 4).init(KEY, ()), ValueError,
     r"Embedding\(10, 4\): init takes the shape of the ids with the batch dim"),
    ("mask_value", lambda: Masking(mask_value="0"), TypeError,
     r"Masking: mask_value must be a number; got '0'"),
    ("masking_rank", lambda: Masking().init(KEY, (3,)), ValueError,
     r"Masking: expected an input of shape \(batch, steps, features\); got \(3,\)"),
]


@pytest.mark.parametrize("make, error, match", [e[1:] for e in ERRORS],
                         ids=[e[0] for e in ERRORS])
def test_errors(make, error, match):
    with pytest.raises(error, match=match):
        make()
