"""Tests for fnnet.layers.rnn_cells, recurrent and wrappers: the layer harness, Keras 3 parity
(numerics, masks, initial states, weight order), dropout statistics, errors, and a model that
trains and round-trips through a file."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import test_layers as harness
from _keras_ref import keras, lenient, run, weights_of
from test_layers import BATCH, KEY, Case

import fnnet
from fnnet import Layer, Masked, models, serial
from fnnet.layers import (
    GRU,
    LSTM,
    RNN,
    BatchNormalization,
    Bidirectional,
    Dense,
    Dropout,
    Embedding,
    GRUCell,
    LSTMCell,
    SimpleRNN,
    SimpleRNNCell,
    TimeDistributed,
)

T = 3  # steps in the harness cases


def _ids():
    """Floats -> ids in 0..3, so Embedding goes through the float-input harness."""
    def init(rng, shape):
        return tuple(shape), (), ()

    def apply(params, state, x, *, rng=None, training=False):
        ids = (x > 0).astype(jnp.int32) + 2 * (x > 1).astype(jnp.int32)
        return ids, state

    return Layer(init, apply, kind="Ids")


def _unmask():
    """Ends a data mask (the harness compares float leaves only)."""
    return Layer(lambda rng, s: (tuple(s), (), ()),
                 lambda p, s, x, **kw: (fnnet.core.strip_masks(x), s), kind="Unmask",
                 supports_masking=True)


CASES = [
    Case("lstm_cell", lambda: LSTMCell(3), ((BATCH, 2), ((BATCH, 3), (BATCH, 3)))),
    Case("stacked_cells_initial_state", lambda: RNN(
        [SimpleRNNCell(3, dropout=0.5), GRUCell(2, reset_after=False, recurrent_dropout=0.5)],
        return_sequences=True,
        return_state=True, go_backwards=True), ((BATCH, T, 2), (BATCH, 3), (BATCH, 2)),
         stochastic=True),
    # Embedding's mask through Bidirectional(GRU) and TimeDistributed.
    Case("masked_sequence_model", lambda: serial(
        _ids(), Embedding(5, 3, mask_zero=True), Bidirectional(GRU(2, return_sequences=True),
                                                               "ave"),
        TimeDistributed(Dense(2, activation="tanh")), _unmask()), (BATCH, T)),
]
IDS = [c.id for c in CASES]


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("training", [False, True])
def test_init_shape_equals_apply_shape(case, training):
    harness.test_init_shape_equals_apply_shape(case, training)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_init_runs_under_eval_shape(case):
    harness.test_init_runs_under_eval_shape(case)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_jit_equals_eager(case):
    for training in (False, True):
        harness.test_jit_equals_eager(case, training)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_gradients_match_finite_differences_in_float64(case):
    harness.test_gradients_match_finite_differences_in_float64(case)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_state_and_randomness(case):
    harness.test_state_keeps_its_structure(case)
    harness.test_randomness_is_deterministic_per_key(case)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_vmap_and_scan(case):
    harness.test_vmap_per_example_gradients(case)
    harness.test_works_inside_lax_scan(case)


# ---------------------------------------------------------------------------------------------
# Keras 3 parity: same weights, same float32 inputs.

RNG = np.random.default_rng(0)
X = RNG.normal(size=(3, 7, 4)).astype(np.float32)
X50 = RNG.normal(size=(2, 50, 4)).astype(np.float32)
# Right padding, left padding, a hole in the middle.
MASK = np.array([[1, 1, 1, 1, 1, 0, 0], [0, 0, 1, 1, 1, 1, 1], [1, 0, 1, 1, 0, 1, 1]], bool)
H0 = RNG.normal(size=(3, 3)).astype(np.float32)
C0 = RNG.normal(size=(3, 3)).astype(np.float32)
# Keras builds its weights before set_weights overwrites them: cheap initializers save time.
CHEAP = {"kernel_initializer": "zeros", "recurrent_initializer": "zeros"}

LAYERS = {  # name: (fnnet constructor, Keras class name, extra kwargs, number of states)
    "SimpleRNN": (SimpleRNN, "SimpleRNN", {}, 1),
    "LSTM": (LSTM, "LSTM", {}, 2),
    "GRU": (GRU, "GRU", {}, 1),
    "GRU_reset_before": (GRU, "GRU", {"reset_after": False}, 1),
}
CONFIGS = {  # name: (layer kwargs, masked, initial states); 50 steps when not masked
    "fifty_steps": ({"return_sequences": True, "return_state": True}, False, False),
    "mask_initial_state": ({"return_sequences": True, "return_state": True}, True, True),
    "unroll_backwards_mask_initial": ({"return_sequences": True, "unroll": True,
                                       "go_backwards": True}, True, True),
}
# go_backwards with a masked last output and states: through Bidirectional's backward layers.


def _fnnet_and_keras(kind, kwargs, units=3):
    make, keras_name, extra, n_states = LAYERS[kind]
    layer = make(units, **extra, **kwargs)
    klayer = getattr(keras().layers, keras_name)(units, **extra, **kwargs, **CHEAP)
    return layer, klayer, n_states


def _flat(tree):
    return [np.asarray(a) for a in jax.tree.leaves(fnnet.core.strip_masks(tree))]


def _assert_close(ours, theirs, tol=1e-5):
    ours, theirs = _flat(ours), [np.asarray(a) for a in jax.tree.leaves(theirs)]
    assert [a.shape for a in ours] == [b.shape for b in theirs]
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


@pytest.mark.parametrize("config", list(CONFIGS))
@pytest.mark.parametrize("kind", list(LAYERS))
def test_recurrent_layers_match_keras(kind, config):
    kwargs, masked, with_state = CONFIGS[config]
    layer, klayer, n_states = _fnnet_and_keras(kind, kwargs)
    states = [H0, C0][:n_states] if with_state else []
    x_np = X if masked else X50
    x = Masked(jnp.asarray(x_np), jnp.asarray(MASK)) if masked else jnp.asarray(x_np)
    shapes = (x_np.shape, *(s.shape for s in states)) if states else x_np.shape
    _, params, state = layer.init(KEY, shapes)
    ours, _ = layer.apply(params, state, (x, *states) if states else x)
    call_kwargs = {}
    if masked:
        call_kwargs["mask"] = MASK
    if states:
        call_kwargs["initial_state"] = states
    theirs = run(klayer, weights_of(params), x_np, build=(x_np.shape,), **call_kwargs)
    _assert_close(ours, theirs)
    if kwargs.get("return_sequences") and masked:
        out = ours[0] if kwargs.get("return_state") else ours
        assert isinstance(out, Masked) and np.array_equal(out.mask, MASK)  # Keras's output mask


def test_zero_output_for_mask_matches_keras():
    layer, klayer, _ = _fnnet_and_keras("LSTM", {"return_sequences": True,
                                                 "zero_output_for_mask": True})
    _, params, state = layer.init(KEY, X.shape)
    ours, _ = layer.apply(params, state, Masked(jnp.asarray(X), jnp.asarray(MASK)))
    _assert_close(ours, run(klayer, weights_of(params), X, build=(X.shape,), mask=MASK))
    assert np.all(np.asarray(ours.value)[~MASK] == 0)


def test_stacked_cells_match_keras_stacked_rnn_cells():
    k = keras()
    layer = RNN([LSTMCell(3), GRUCell(2), SimpleRNNCell(2)], return_sequences=True,
                return_state=True)
    _, params, state = layer.init(KEY, X.shape)
    ours, _ = layer.apply(params, state, Masked(jnp.asarray(X), jnp.asarray(MASK)))
    klayer = k.layers.RNN([k.layers.LSTMCell(3, **CHEAP), k.layers.GRUCell(2, **CHEAP),
                           k.layers.SimpleRNNCell(2, **CHEAP)],
                          return_sequences=True, return_state=True)
    theirs = run(klayer, weights_of(params), X, build=(X.shape,), mask=MASK)
    _assert_close(ours, theirs)
    # Keras's structure: the output, then one entry per cell ([h, c] for the LSTM cell).
    assert len(ours) == 4 and len(ours[1]) == 2 and ours[2].shape == (3, 2)


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
def test_bidirectional_matches_keras_in_every_merge_mode(merge_mode):
    k = keras()
    layer = Bidirectional(LSTM(3, return_sequences=True), merge_mode=merge_mode)
    _, params, state = layer.init(KEY, X.shape)
    ours, _ = layer.apply(params, state, Masked(jnp.asarray(X), jnp.asarray(MASK)))
    klayer = k.layers.Bidirectional(k.layers.LSTM(3, return_sequences=True, **CHEAP),
                                    merge_mode=merge_mode)
    _assert_close(ours, run(klayer, weights_of(params), X, build=(X.shape,), mask=MASK))


def test_bidirectional_unrolled_matches_keras():
    # Keras's unrolled loop repeats the previous output at masked steps even where
    # Bidirectional asks for zeros (zero_output_for_mask); fnnet follows it.
    k = keras()
    layer = Bidirectional(GRU(3, return_sequences=True, unroll=True))
    _, params, state = layer.init(KEY, X.shape)
    ours, _ = layer.apply(params, state, Masked(jnp.asarray(X), jnp.asarray(MASK)))
    klayer = k.layers.Bidirectional(k.layers.GRU(3, return_sequences=True, unroll=True, **CHEAP))
    _assert_close(ours, run(klayer, weights_of(params), X, build=(X.shape,), mask=MASK))


@pytest.mark.parametrize("inner", ["GRU", "SimpleRNN"])
def test_bidirectional_states_and_initial_states_match_keras(inner):
    k = keras()
    make = {"GRU": GRU, "SimpleRNN": SimpleRNN}[inner]
    layer = Bidirectional(make(3, return_state=True), merge_mode="sum")
    h_b = H0[::-1].copy()
    _, params, state = layer.init(KEY, (X.shape, H0.shape, h_b.shape))
    ours, _ = layer.apply(params, state, (Masked(jnp.asarray(X), jnp.asarray(MASK)), H0, h_b))
    klayer = k.layers.Bidirectional(getattr(k.layers, inner)(3, return_state=True, **CHEAP),
                                    merge_mode="sum")
    _assert_close(ours, run(klayer, weights_of(params), X, build=(X.shape,), mask=MASK,
                            initial_state=[H0, h_b]))


def test_bidirectional_with_a_backward_layer_matches_keras():
    k = keras()
    layer = Bidirectional(GRU(3, return_sequences=True),
                          backward_layer=SimpleRNN(2, return_sequences=True, go_backwards=True))
    _, params, state = layer.init(KEY, X.shape)
    ours, _ = layer.apply(params, state, jnp.asarray(X))
    assert ours.shape == (3, 7, 5)
    klayer = k.layers.Bidirectional(
        k.layers.GRU(3, return_sequences=True, **CHEAP),
        backward_layer=k.layers.SimpleRNN(2, return_sequences=True, go_backwards=True, **CHEAP))
    _assert_close(ours, run(klayer, weights_of(params), X, build=(X.shape,)))


def test_time_distributed_dense_matches_keras():
    k = keras()
    layer = TimeDistributed(Dense(5, activation="relu"))
    _, params, state = layer.init(KEY, X.shape)
    ours, _ = layer.apply(params, state, Masked(jnp.asarray(X), jnp.asarray(MASK)))
    assert np.array_equal(ours.mask, MASK)
    klayer = k.layers.TimeDistributed(k.layers.Dense(5, activation="relu"))
    _assert_close(ours, run(klayer, weights_of(params), X))


def test_a_sequential_with_masks_matches_keras_weights_in_keras_order():
    k = keras()
    ids = np.array([[3, 1, 4, 1, 5, 0, 0], [0, 0, 2, 6, 5, 3, 5], [8, 9, 7, 9, 3, 2, 3]])
    ours = models.Sequential([
        Embedding(10, 4, mask_zero=True, input_shape=(7,)),
        Bidirectional(LSTM(3, return_sequences=True)),
        TimeDistributed(Dense(2)),
        GRU(2),
        Dense(1, activation="sigmoid"),
    ])
    with lenient():
        theirs = k.Sequential([
            k.Input((7,), dtype="int32"),
            k.layers.Embedding(10, 4, mask_zero=True),
            k.layers.Bidirectional(k.layers.LSTM(3, return_sequences=True, **CHEAP)),
            k.layers.TimeDistributed(k.layers.Dense(2)),
            k.layers.GRU(2, **CHEAP),
            k.layers.Dense(1, activation="sigmoid"),
        ])
        w = ours.get_weights()
        assert [a.shape for a in w] == [tuple(v.shape) for v in theirs.weights]
        theirs.set_weights(w)
        expected = theirs.predict(ids, verbose=0)
    np.testing.assert_allclose(ours.predict(ids, verbose=0), expected, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------------------------
# Behaviour: masks, dropout, regularization, a model that trains and saves.


def test_masked_steps_carry_the_state_and_repeat_the_output():
    layer = SimpleRNN(2, return_sequences=True, return_state=True)
    _, params, state = layer.init(KEY, (1, 4, 1))
    x = jnp.array([[[1.0], [2.0], [3.0], [4.0]]])
    mask = jnp.array([[True, False, False, True]])
    (y, h), _ = layer.apply(params, state, Masked(x, mask))
    (y_short, h_short), _ = layer.apply(params, state, x[:, jnp.array([0, 3])])
    np.testing.assert_allclose(y.value[0, 1], y.value[0, 0])
    np.testing.assert_allclose(y.value[0, 2], y.value[0, 0])
    np.testing.assert_allclose(y.value[0, 3], y_short[0, 1], rtol=1e-6)  # as if the gap were absent
    np.testing.assert_allclose(h, h_short, rtol=1e-6)


def _identity_rnn(rate, recurrent):
    """SimpleRNN(6) whose output shows its dropout mask: identity weights, linear."""
    layer = SimpleRNN(6, activation=None, use_bias=False, return_sequences=True,
                      **({"recurrent_dropout": rate} if recurrent else {"dropout": rate}))
    params = {"kernel": jnp.eye(6) * (0.0 if recurrent else 1.0),
              "recurrent_kernel": jnp.eye(6) * (1.0 if recurrent else 0.0)}
    return layer, params


@pytest.mark.parametrize("recurrent", [False, True])
def test_dropout_rate_and_one_mask_per_sequence(recurrent):
    rate = 0.4
    layer, params = _identity_rnn(rate, recurrent)
    x = jnp.ones((400, 3, 6))
    h0 = jnp.ones((400, 6))
    inputs = (x, h0) if recurrent else x
    y, _ = jax.jit(lambda p, v, k: layer.apply(p, (), v, rng=k, training=True))(
        params, inputs, jax.random.key(0))
    y = np.asarray(y)
    first = y[:, 0]
    assert abs((first == 0).mean() - rate) < 0.02  # 2400 draws: ~5 standard errors
    np.testing.assert_allclose(first[first != 0], 1 / (1 - rate), rtol=1e-6)
    # Keras's rule: the same mask at every step (so the recurrent mask compounds: m * m = m).
    expected_next = first if not recurrent else first * (first != 0) * (1 / (1 - rate))
    np.testing.assert_allclose(y[:, 1], expected_next, rtol=1e-6)
    y_inf, _ = layer.apply(params, (), inputs)
    np.testing.assert_allclose(y_inf[:, 0], 1.0)


def test_lstm_dropout_is_deterministic_per_key_and_off_at_inference():
    layer = LSTM(4, dropout=0.5, recurrent_dropout=0.5)
    _, params, state = layer.init(KEY, (8, 5, 3))
    x = jnp.asarray(np.random.default_rng(2).normal(size=(8, 5, 3)), jnp.float32)
    apply = jax.jit(lambda k: layer.apply(params, state, x, rng=k, training=True)[0])
    a, b, c = apply(jax.random.key(1)), apply(jax.random.key(1)), apply(jax.random.key(2))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    plain, _ = layer.apply(params, state, x)
    assert not np.allclose(a, plain)
    with pytest.raises(ValueError, match=r"dropout=.* needs an rng when training=True"):
        layer.apply(params, state, x, training=True)


def test_cell_and_layer_regularizers_and_constraints_reach_the_model():
    layer = LSTM(3, kernel_regularizer="l2", recurrent_constraint="non_neg")
    _, params, _ = layer.init(KEY, (None, 5, 2))
    expected = 0.01 * float(jnp.sum(params["kernel"] ** 2))
    np.testing.assert_allclose(fnnet.core.regularization(layer, params), expected, rtol=1e-6)
    projected = fnnet.core.apply_constraints(layer, params)
    assert float(projected["recurrent_kernel"].min()) >= 0
    bi = Bidirectional(layer)
    _, (pf, pb), _ = bi.init(KEY, (None, 5, 2))
    total = 0.01 * float(jnp.sum(pf["kernel"] ** 2) + jnp.sum(pb["kernel"] ** 2))
    np.testing.assert_allclose(fnnet.core.regularization(bi, (pf, pb)), total, rtol=1e-6)
    out = fnnet.core.apply_constraints(bi, (pf, pb))
    assert all(float(p["recurrent_kernel"].min()) >= 0 for p in out)
    stack = RNN([GRUCell(2, bias_regularizer="l1"), GRUCell(2)])
    _, sp, _ = stack.init(KEY, (None, 5, 2))
    np.testing.assert_allclose(fnnet.core.regularization(stack, sp), 0.0)  # zero biases


def test_time_distributed_runs_stateful_layers_step_by_step():
    layer = TimeDistributed(BatchNormalization(momentum=0.5))
    _, params, state = layer.init(KEY, (4, 3, 2))
    x = jnp.asarray(np.random.default_rng(3).normal(size=(4, 3, 2)), jnp.float32)
    y, new_state = layer.apply(params, state, x, training=True)
    bn = BatchNormalization(momentum=0.5)
    s = state
    for t in range(3):
        y_t, s = bn.apply(params, s, x[:, t], training=True)
        np.testing.assert_allclose(y[:, t], y_t, rtol=1e-5, atol=1e-6)
    harness._assert_trees_close(new_state, s)
    drop = TimeDistributed(Dropout(0.5))
    y, _ = drop.apply((), (), jnp.ones((64, 2, 8)), rng=jax.random.key(0), training=True)
    assert not np.array_equal(y[:, 0], y[:, 1])  # a fresh mask per step, as Keras's loop draws


def test_embedding_lstm_model_fits_saves_and_loads(tmp_path):
    rng = np.random.default_rng(0)
    lengths = rng.integers(2, 7, size=48)
    ids = rng.integers(1, 20, size=(48, 6)) * (np.arange(6)[None, :] < lengths[:, None])
    y = (ids[:, 0] > 10).astype(np.float32)
    model = models.Sequential([Embedding(20, 4, mask_zero=True, input_shape=(6,)), LSTM(5),
                               Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    history = model.fit(ids, y, epochs=3, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    path = str(tmp_path / "seq.safetensors")
    model.save(path)
    loaded = models.load_model(path)
    np.testing.assert_array_equal(loaded.predict(ids, verbose=0), model.predict(ids, verbose=0))


def test_mixed_precision_computes_in_bfloat16_and_stores_float32():
    layer = LSTM(3, return_sequences=True, return_state=True, dtype="mixed_bfloat16")
    _, params, state = layer.init(KEY, (2, 4, 3))
    assert params["kernel"].dtype == jnp.float32 and params["bias"].dtype == jnp.float32
    (y, h, c), _ = layer.apply(params, state, (jnp.ones((2, 4, 3)), jnp.ones((2, 3)),
                                               jnp.ones((2, 3))))
    assert {a.dtype for a in (y, h, c)} == {jnp.dtype(jnp.bfloat16)}
    assert LSTM(2, dtype="mixed_bfloat16").config["dtype"] == "mixed_bfloat16"


def test_your_own_cell_follows_the_protocol_and_masks():
    def init(rng, shape):
        return ((shape[0], 2), ((shape[0], 2),)), {"w": jnp.ones((shape[1], 2))}, ()

    def apply(params, state, inputs, *, rng=None, training=False):
        x, (h,) = inputs
        h = h + x @ params["w"]
        return (h, (h,)), state

    rnn = RNN(Layer(init, apply, kind="Sum"), return_sequences=True)
    shape, params, state = rnn.init(KEY, (1, 3, 1))
    y, _ = rnn.apply(params, state, Masked(jnp.ones((1, 3, 1)), jnp.array([[True, False, True]])))
    assert shape == (1, 3, 2)
    np.testing.assert_allclose(y.value[0, :, 0], [1.0, 1.0, 2.0])


# ---------------------------------------------------------------------------------------------
# Every raise, matched.

def _not_a_cell():
    return Layer(lambda rng, s: (s, (), ()), lambda p, s, x, **k: (x, s), kind="Plain")


INIT_ERRORS = [
    ("units", lambda: LSTMCell(0), ValueError, r"LSTMCell: units must be a positive int; got 0"),
    ("rate", lambda: GRUCell(2, dropout=1.0), ValueError,
     r"GRUCell\(2\): dropout is the probability of dropping and must be a number in \[0, 1\); "
     r"got 1\.0"),
    ("bool", lambda: SimpleRNNCell(2, use_bias="yes"), TypeError,
     r"SimpleRNNCell\(2\): use_bias must be True or False; got 'yes'"),
    ("cell_rank", lambda: LSTMCell(2).init(KEY, (3, 5, 4)), ValueError,
     r"LSTMCell\(2\): init takes the shape of one time step.*wrap it: RNN\(LSTMCell\(2\)\)"),
    ("cell_carry", lambda: LSTMCell(2).init(KEY, ((3, 4), ((3, 2),))), ValueError,
     r"LSTMCell\(2\): the carry's shapes must be \(\(3, 2\), \(3, 2\)\)"),
    ("empty_stack", lambda: RNN([]), ValueError, r"RNN: cell is an empty list"),
    ("stateful", lambda: LSTM(2, stateful=True), ValueError,
     r"RNN\(LSTMCell\): stateful=True is not supported.*return_state=True.*\(x, \*states\)"),
    ("rnn_rank", lambda: GRU(2).init(KEY, (3, 4)), ValueError,
     r"RNN\(GRUCell\): expected a sequence of shape \(batch, steps, features\)"),
    ("unroll_steps", lambda: LSTM(2, unroll=True).init(KEY, (3, None, 4)), ValueError,
     r"unroll=True needs a known number of steps"),
    ("not_a_cell", lambda: RNN(_not_a_cell()).init(KEY, (3, 5, 4)), ValueError,
     r"RNN\(Plain\): cell #0 \(Plain\) is not a recurrent cell"),
    ("init_states_count", lambda: LSTM(2).init(KEY, ((3, 5, 4), (3, 2))), ValueError,
     r"got 1 initial state\(s\); this layer carries 2"),
    ("use_cudnn", lambda: LSTM(2, use_cudnn="yes"), ValueError,
     r"LSTM: use_cudnn must be 'auto', True or False; got 'yes'"),
    ("bidi_not_rnn", lambda: Bidirectional(Dense(2)), TypeError,
     r"Bidirectional: layer must be a recurrent layer \(RNN, SimpleRNN, LSTM or GRU\); got Dense"),
    ("bidi_merge", lambda: Bidirectional(LSTM(2), merge_mode="max"), ValueError,
     r"merge_mode must be one of 'concat', 'sum', 'mul', 'ave' or None; got 'max'"),
    ("bidi_backwards", lambda: Bidirectional(LSTM(2, go_backwards=True)), ValueError,
     r"the forward layer has go_backwards=True"),
    ("bidi_same_direction", lambda: Bidirectional(LSTM(2), backward_layer=LSTM(2)), ValueError,
     r"must have different go_backwards; both have go_backwards=False"),
    ("bidi_mismatch", lambda: Bidirectional(LSTM(2), backward_layer=LSTM(
        2, go_backwards=True, return_sequences=True)), ValueError,
     r"must have the same return_sequences; got False \(forward\) and True \(backward\)"),
    ("bidi_odd_states", lambda: Bidirectional(GRU(2)).init(KEY, ((3, 5, 4), (3, 2))), ValueError,
     r"Bidirectional: got 1 initial states; pass an even number"),
    ("td_rank", lambda: TimeDistributed(Dense(2)).init(KEY, (3, 4)), ValueError,
     r"TimeDistributed\(Dense\): expected an input of shape \(batch, steps, \.\.\.\)"),
]


@pytest.mark.parametrize("make, error, match", [e[1:] for e in INIT_ERRORS],
                         ids=[e[0] for e in INIT_ERRORS])
def test_errors(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_apply_errors():
    cell = LSTMCell(2)
    _, p, s = cell.init(KEY, (3, 4))
    with pytest.raises(ValueError, match=r"LSTMCell\(2\): a cell takes one step's input and its "
                                         r"carry, \(x_t, carry\)"):
        cell.apply(p, s, jnp.ones((3, 4)))
    with pytest.raises(ValueError, match=r"expected a step input of shape \(batch, 4\); got "
                                         r"\(3, 5\)"):
        cell.apply(p, s, (jnp.ones((3, 5)), (jnp.ones((3, 2)), jnp.ones((3, 2)))))
    lstm = LSTM(2)
    _, p, s = lstm.init(KEY, (3, 5, 4))
    with pytest.raises(ValueError, match=r"expected a sequence of shape \(batch, steps, "
                                         r"features\); got an input of shape \(3, 4\)"):
        lstm.apply(p, s, jnp.ones((3, 4)))
    with pytest.raises(ValueError, match=r"got 1 initial state\(s\); this layer carries 2 of "
                                         r"shapes \(\(3, 2\), \(3, 2\)\)"):
        lstm.apply(p, s, (jnp.ones((3, 5, 4)), jnp.ones((3, 2))))
    with pytest.raises(ValueError, match=r"the initial states have shapes \(\(3, 3\), \(3, 2\)\); "
                                         r"expected \(\(3, 2\), \(3, 2\)\)"):
        lstm.apply(p, s, (jnp.ones((3, 5, 4)), jnp.ones((3, 3)), jnp.ones((3, 2))))
