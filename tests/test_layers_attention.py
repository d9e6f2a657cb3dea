"""Tests for fnnet.layers.attention: the layer harness, Keras 3 parity (masks, causal masks,
scores, attention axes, weight layout and order) and errors."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import test_layers as harness
from _keras_ref import keras, lenient, run, run_fresh, weights_of
from test_layers import BATCH, KEY, Case

from fnnet import Masked, fan_out, layers, models, serial
from fnnet.layers import AdditiveAttention, Attention, MultiHeadAttention

CASES = [  # one case through all three layers: each compiled case costs seconds
    Case("mha_attention_additive", lambda: serial(
        MultiHeadAttention(2, 3, dropout=0.3), fan_out(2),
        Attention(use_scale=True, score_mode="concat", use_causal_mask=True), fan_out(2),
        AdditiveAttention()), ((BATCH, 3, 4), (BATCH, 5, 2)), stochastic=True),
]
IDS = [c.id for c in CASES]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_harness_shapes_jit_state_randomness(case):
    for training in (False, True):
        harness.test_init_shape_equals_apply_shape(case, training)
        harness.test_jit_equals_eager(case, training)
    harness.test_init_runs_under_eval_shape(case)
    harness.test_state_keeps_its_structure(case)
    harness.test_randomness_is_deterministic_per_key(case)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_harness_gradients_vmap_scan(case):
    harness.test_gradients_match_finite_differences_in_float64(case)
    harness.test_vmap_per_example_gradients(case)
    harness.test_works_inside_lax_scan(case)


# ---------------------------------------------------------------------------------------------
# Keras 3 parity.

RNG = np.random.default_rng(0)
Q = RNG.normal(size=(3, 4, 6)).astype(np.float32)
V = RNG.normal(size=(3, 5, 6)).astype(np.float32)
K = RNG.normal(size=(3, 5, 2)).astype(np.float32)
Q_MASK = np.array([[1, 1, 1, 0], [1, 1, 1, 1], [0, 1, 1, 1]], bool)
V_MASK = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [0, 1, 1, 1, 0]], bool)
CHEAP = {"kernel_initializer": "zeros"}


def _masked(x, mask):
    """The same masked input for both: fnnet's Masked, and Keras's Masking output."""
    x = np.where(mask[..., None], x, 0.0).astype(np.float32)
    with lenient():
        k = keras().layers.Masking()(x)
    return Masked(jnp.asarray(x), jnp.asarray(mask)), k


def _mha_weights(params):
    """MHA params in Keras's order (query, key, value, attention_output; kernel, bias)."""
    return [np.asarray(params[sub][n]) for sub in ("query", "key", "value", "attention_output")
            for n in ("kernel", "bias") if n in params[sub]]


def _close(ours, theirs, tol=1e-5):
    ours = [np.asarray(a) for a in jax.tree.leaves(ours) if a.dtype != bool]
    theirs = [np.asarray(a) for a in jax.tree.leaves(theirs)]
    assert [a.shape for a in ours] == [b.shape for b in theirs]
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def test_mha_with_masked_inputs_and_scores_matches_keras():
    k = keras()
    layer = MultiHeadAttention(2, 3, return_attention_scores=True)
    q, v = _masked(Q, Q_MASK)[0], _masked(V, V_MASK)[0]
    _, params, state = layer.init(KEY, (Q.shape, V.shape))
    (out, scores), _ = layer.apply(params, state, (q, v))
    assert isinstance(out, Masked) and np.array_equal(out.mask, Q_MASK)
    theirs = run_fresh(k.layers.MultiHeadAttention(2, 3, **CHEAP), _mha_weights(params),
                       lambda: (_masked(Q, Q_MASK)[1], _masked(V, V_MASK)[1]),
                       return_attention_scores=True)
    _close((out, scores), theirs)
    assert np.all(np.asarray(scores)[~np.broadcast_to(V_MASK[:, None, None, :], scores.shape)]
                  == 0)


def test_mha_with_key_attention_mask_and_causal_mask_matches_keras():
    k = keras()
    layer = MultiHeadAttention(3, 2, value_dim=4, output_shape=5, use_causal_mask=True)
    attention_mask = RNG.random((3, 4, 5)) > 0.4
    attention_mask[:, :, 0] = True  # every query keeps a key (Keras's fast path differs there)
    _, params, state = layer.init(KEY, (Q.shape, V.shape, K.shape, attention_mask.shape))
    ours, _ = layer.apply(params, state, (Q, V, K, attention_mask))
    assert ours.shape == (3, 4, 5)
    assert params["value"]["kernel"].shape == (6, 3, 4)
    assert params["attention_output"]["kernel"].shape == (3, 4, 5)
    # return_attention_scores: Keras's fused path fails when value_dim != key_dim.
    theirs = run(k.layers.MultiHeadAttention(3, 2, value_dim=4, output_shape=5, **CHEAP),
                 _mha_weights(params), Q, V, key=K, attention_mask=attention_mask,
                 use_causal_mask=True, return_attention_scores=True)
    _close(ours, theirs[0])


def test_mha_attention_axes_on_rank_4_inputs_matches_keras():
    k = keras()
    x = RNG.normal(size=(2, 3, 4, 6)).astype(np.float32)
    layer = MultiHeadAttention(2, 3, attention_axes=(1, 2), use_bias=False,
                               return_attention_scores=True)
    (shape, score_shape), params, state = layer.init(KEY, (x.shape, x.shape))
    (out, scores), _ = layer.apply(params, state, (x, x))
    assert (out.shape, scores.shape) == (shape, score_shape) == ((2, 3, 4, 6), (2, 2, 3, 4, 3, 4))
    theirs = run(k.layers.MultiHeadAttention(2, 3, attention_axes=(1, 2), use_bias=False,
                                             **CHEAP), _mha_weights(params), x, x,
                 return_attention_scores=True)
    _close((out, scores), theirs)
    single = MultiHeadAttention(2, 3, attention_axes=-2)
    _, params, state = single.init(KEY, x.shape)  # self-attention: a plain input
    theirs = run(k.layers.MultiHeadAttention(2, 3, attention_axes=-2, **CHEAP),
                 _mha_weights(params), x, x)
    _close(single.apply(params, state, x)[0], theirs)


def test_mha_fully_masked_rows_get_zero_weights():
    # Keras's softmax path (scores returned, or dropout) gives zero weights to a query with
    # nothing to attend to; its fused path (jax.nn.dot_product_attention, taken otherwise)
    # a uniform average over all keys, masked ones included. fnnet always does the former, so
    # it matches the fused path everywhere but at such rows (checked by hand: they are the
    # masked query rows here, where the output's mask is False anyway).
    layer = MultiHeadAttention(2, 3, use_causal_mask=True, return_attention_scores=True)
    x = _masked(V, V_MASK)[0]
    _, params, state = layer.init(KEY, V.shape)
    params["attention_output"]["bias"] = jnp.arange(6.0)
    (out, scores), _ = layer.apply(params, state, x)
    assert np.all(np.asarray(scores)[2, :, 0] == 0)  # query 0 sees key 0 only, which is masked
    np.testing.assert_allclose(np.asarray(out.value)[2, 0], np.arange(6.0), atol=1e-7)


@pytest.mark.parametrize("kwargs", [{"use_scale": True},
                                    {"use_scale": True, "score_mode": "concat"}],
                         ids=["dot_scale", "concat_scale"])
def test_attention_matches_keras(kwargs):
    k = keras()
    layer = Attention(**kwargs, use_causal_mask=True, return_attention_scores=True)
    q6 = Q[:, :, :6]
    (q, kq), (v, kv) = _masked(q6, Q_MASK), _masked(V[:, :4], V_MASK[:, :4])
    _, params, state = layer.init(KEY, (q6.shape, (3, 4, 6)))
    if params:
        params = {n: a + 0.5 for n, a in params.items()}  # not the initial ones
    ours, _ = layer.apply(params, state, (q, v))
    keras_order = [params[n] for n in ("scale", "concat_score_weight") if n in params]
    theirs = run(k.layers.Attention(**kwargs), keras_order, [kq, kv],
                 use_causal_mask=True, return_attention_scores=True)
    _close(ours, theirs)
    assert isinstance(ours[0], Masked) and np.all(np.asarray(ours[0].value)[~Q_MASK] == 0)


def test_additive_attention_with_a_key_matches_keras():
    k = keras()
    layer = AdditiveAttention()
    key = RNG.normal(size=(3, 5, 6)).astype(np.float32)
    (v, kv) = _masked(V[..., :2], V_MASK)
    _, params, state = layer.init(KEY, (Q.shape, (3, 5, 2), key.shape))
    ours, _ = layer.apply(params, state, (Q, v, key))
    theirs = run(k.layers.AdditiveAttention(), weights_of(params),
                 [Q, kv, key])
    _close(ours, theirs)


def test_get_weights_follows_keras_order_for_attention_layers():
    k = keras()
    ours = models.Sequential([models.Input((4, 6)), MultiHeadAttention(2, 3)])
    with lenient():
        theirs = k.layers.MultiHeadAttention(2, 3, **CHEAP)
        theirs.build(Q.shape, Q.shape)
    assert [w.shape for w in ours.get_weights()] == [tuple(w.shape) for w in theirs.weights]
    names = [w.path.split("/")[-2] for w in theirs.weights]
    assert names == ["query", "query", "key", "key", "value", "value", "attention_output",
                     "attention_output"]
    w = ours.get_weights()
    for i, a in enumerate(w):
        w[i] = np.full_like(a, i)
    ours.set_weights(w)
    params = ours.train_state.params[-1]
    assert float(params["key"]["kernel"][0, 0, 0]) == 2  # Keras's position 2 is key/kernel
    _, params, _ = Attention(use_scale=True, score_mode="concat").init(KEY, (Q.shape, Q.shape))
    params = {"scale": jnp.float32(2.0), "concat_score_weight": jnp.float32(3.0)}
    assert [float(a) for a in weights_of(params)] == [2.0, 3.0]  # Keras: scale first


def test_mixed_precision_computes_in_bfloat16_and_stores_float32():
    layer = MultiHeadAttention(2, 3, dtype="mixed_bfloat16", return_attention_scores=True)
    _, params, state = layer.init(KEY, (2, 4, 6))
    assert params["query"]["kernel"].dtype == jnp.float32
    (out, scores), _ = layer.apply(params, state, jnp.ones((2, 4, 6)))
    assert out.dtype == scores.dtype == jnp.bfloat16
    att = AdditiveAttention(dtype="mixed_bfloat16")
    _, params, state = att.init(KEY, ((2, 4, 6), (2, 4, 6)))
    assert params["scale"].dtype == jnp.float32
    assert att.apply(params, state, (jnp.ones((2, 4, 6)),) * 2)[0].dtype == jnp.bfloat16


# ---------------------------------------------------------------------------------------------
# Errors.

ERRORS = [
    ("heads", lambda: MultiHeadAttention(0, 3), ValueError,
     r"MultiHeadAttention: num_heads must be a positive int; got 0"),
    ("key_dim", lambda: MultiHeadAttention(2, -1), ValueError,
     r"MultiHeadAttention: key_dim must be a positive int; got -1"),
    ("value_dim", lambda: MultiHeadAttention(2, 3, value_dim=0), ValueError,
     r"MultiHeadAttention: value_dim must be a positive int; got 0"),
    ("dropout", lambda: MultiHeadAttention(2, 3, dropout=1.5), ValueError,
     r"MultiHeadAttention\(2, 3\): dropout is the probability of dropping .* got 1\.5"),
    ("causal_bool", lambda: MultiHeadAttention(2, 3, use_causal_mask=1), TypeError,
     r"use_causal_mask must be True or False; got 1"),
    ("output_shape", lambda: MultiHeadAttention(2, 3, output_shape=(0,)), ValueError,
     r"output_shape must be a positive int or a tuple of them; got \(0,\)"),
    ("axes_type", lambda: MultiHeadAttention(2, 3, attention_axes="1"), ValueError,
     r"attention_axes must be an int or a tuple of ints; got '1'"),
    ("axes_range", lambda: MultiHeadAttention(2, 3, attention_axes=3).init(KEY, (2, 4, 6)),
     ValueError, r"attention_axes=\(3,\) must name axes between the batch and the feature axis "
                 r"of a rank-3 query"),
    ("mha_count", lambda: MultiHeadAttention(2, 3).init(KEY, ((2, 4, 6),) * 5), ValueError,
     r"takes a tuple of 2 to 4 inputs, \(query, value\).*; got 5"),
    ("mha_rank", lambda: MultiHeadAttention(2, 3).init(KEY, ((2, 6), (2, 4, 6))), ValueError,
     r"the query must have shape \(batch, steps, features\) with known features; got \(2, 6\)"),
    ("mha_value_key", lambda: MultiHeadAttention(2, 3).init(KEY, ((2, 4, 6), (2, 5, 6),
                                                                 (2, 3, 6))), ValueError,
     r"all dimensions of value and key, except the last one, must be equal"),
    ("score_mode", lambda: Attention(score_mode="add"), ValueError,
     r"Attention: score_mode must be 'dot' or 'concat'; got 'add'"),
    ("attention_single", lambda: Attention().init(KEY, (2, 4, 6)), ValueError,
     r"Attention takes a tuple of inputs, \(query, value\) or \(query, value, key\); got the "
     r"shape \(2, 4, 6\)"),
    ("attention_rank", lambda: AdditiveAttention().init(KEY, ((2, 4, 6), (2, 6))), ValueError,
     r"AdditiveAttention: the value must have shape \(batch, steps, features\)"),
    ("additive_scale", lambda: AdditiveAttention(use_scale=None), TypeError,
     r"AdditiveAttention: use_scale must be True or False; got None"),
]


@pytest.mark.parametrize("make, error, match", [e[1:] for e in ERRORS],
                         ids=[e[0] for e in ERRORS])
def test_errors(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_apply_errors():
    att = Attention()
    with pytest.raises(ValueError, match=r"Attention takes a tuple of inputs, \(query, value\) "
                                         r"or \(query, value, key\); got one array of shape \(2, 3, 4\)"):
        att.apply({}, (), jnp.ones((2, 3, 4)))
    mha = MultiHeadAttention(2, 3, dropout=0.5)
    _, params, state = mha.init(KEY, (2, 4, 6))
    with pytest.raises(ValueError, match=r"MultiHeadAttention\(2, 3\) has dropout=0\.5 and needs "
                                         r"an rng when training=True"):
        mha.apply(params, state, jnp.ones((2, 4, 6)), training=True)


def test_keras_call_form_attention_of_query_and_value_in_a_functional_model():
    """Keras writes ``mha(query, value)``; fnnet takes it as well as ``mha([query, value])``,
    and ``layers.Input`` is ``fnnet.Input``, as ``keras.layers.Input`` is ``keras.Input``."""
    query, value = layers.Input((4, 6)), layers.Input((5, 6))
    mha = MultiHeadAttention(2, 3)
    positional = models.Model([query, value], mha(query, value))
    listed = models.Model([query, value], mha([query, value]))
    rng = np.random.default_rng(0)
    xs = [rng.random((2, 4, 6), dtype=np.float32), rng.random((2, 5, 6), dtype=np.float32)]
    listed.set_weights(positional.get_weights())
    np.testing.assert_array_equal(positional.predict(xs, verbose=0),
                                  listed.predict(xs, verbose=0))
