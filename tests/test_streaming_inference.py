"""Tests for the streaming and inference engine: chunked host batches, aligned transfers, and
inference passes sized by a memory budget (whose results do not depend on ``batch_size``)."""

import weakref

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _helpers import assert_history_close

from fnnet import callbacks, layers, loop, models
from fnnet import data as data_lib
from fnnet.utils import set_random_seed


def make_data(n, d=8, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, d), dtype=np.float32)
    return x, x[:, :classes].argmax(1).astype(np.int32)


def model_with_batch_dependent_layers(seed=0):
    """BatchNormalization and Dropout: layers whose training output depends on the batch."""
    set_random_seed(seed)
    model = models.Sequential([layers.Dense(16, activation="relu", input_shape=(8,)),
                               layers.BatchNormalization(), layers.Dropout(0.3),
                               layers.Dense(3, activation="softmax")])
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


@pytest.fixture(scope="module")
def trained():
    """One trained model shared by the inference tests (compiles are the suite's cost)."""
    x, y = make_data(300)
    model = model_with_batch_dependent_layers()
    model.fit(x, y, epochs=2, batch_size=32, verbose=0)
    return model, x, y


# ------------------------------------------------------------------------- the chunk helpers
def test_batches_per_chunk_is_a_power_of_two_within_the_bounds():
    batch = (np.zeros((32, 1000), np.float32), np.zeros((32,), np.int32))
    for steps in (None, 1, 3, 5, 100, 10_000):
        k = data_lib.batches_per_chunk(batch, 32, steps)
        assert k & (k - 1) == 0 and 1 <= k <= 1024
        if steps is not None:
            assert k <= 1 << (steps - 1).bit_length()  # no more than an epoch needs
    # 16 MiB of host data per chunk: 32 rows of 4,004 bytes is 128 KiB, so 128 batches.
    assert data_lib.batches_per_chunk(batch, 32) == 128
    assert data_lib.batches_per_chunk(batch, 32, target_bytes=1) == 1


def test_chunks_concatenate_trees_and_pad_the_last_chunk_to_a_power_of_two():
    x, y = make_data(7 * 4)
    batches = [({"a": x[i:i + 4], "b": x[i:i + 4, :2]}, y[i:i + 4]) for i in range(0, 28, 4)]
    prepare = data_lib.chunks  # the signature under test
    out = list(prepare(iter(batches), 4, 4, lambda b: (b[0], b[1], None)))
    sizes = [(n, arrays[1].shape[0]) for n, arrays in out]
    assert sizes == [(16, 16), (12, 16)]  # 3 batches left: padded to 4 batches
    first_x, first_y, _ = out[0][1]
    np.testing.assert_array_equal(first_x["a"], x[:16])
    np.testing.assert_array_equal(first_x["b"], x[:16, :2])
    np.testing.assert_array_equal(first_y, y[:16])
    last_x = out[1][1][0]
    np.testing.assert_array_equal(last_x["a"][:12], x[16:])


def test_device_put_copies_unaligned_arrays_to_equal_device_arrays():
    raw = np.zeros(600 * 128 * 4 + 4, np.uint8)[4:].view(np.float32).reshape(600, 128)
    raw[:] = np.random.default_rng(0).random(raw.shape, dtype=np.float32)
    assert raw.ctypes.data % 64 != 0
    on_device = data_lib.device_put({"x": raw, "small": raw[:2]})
    np.testing.assert_array_equal(np.asarray(on_device["x"]), raw)
    np.testing.assert_array_equal(np.asarray(on_device["small"]), raw[:2])
    raw[0, 0] = -1.0  # the device array owns its copy
    assert float(on_device["x"][0, 0]) != -1.0



def test_chunk_buffers_are_refilled_only_once_the_call_that_read_them_is_ready():
    x, y = make_data(6 * 4)
    batches = [(x[i:i + 4], y[i:i + 4]) for i in range(0, 24, 4)]
    events, chunks_seen = [], []

    class Outputs:  # stands for a call's outputs: records when the buffers wait for it
        def __init__(self, k, arrays):
            self.k, self.arrays = k, arrays

        def block_until_ready(self):
            events.append(("ready", self.k))
            # Still chunk k's rows when waited for: nothing refilled the buffer before.
            np.testing.assert_array_equal(self.arrays[0], x[4 * self.k:4 * self.k + 4])
            return self

    buffers = data_lib.ChunkBuffers(depth=2)
    for k, (n, arrays) in enumerate(data_lib.chunks(iter(batches), 4, 1,
                                                    lambda b: (b[0], b[1], None),
                                                    buffers=buffers)):
        events.append(("chunk", k))
        assert n == 4
        np.testing.assert_array_equal(arrays[0], x[4 * k:4 * k + 4])
        np.testing.assert_array_equal(arrays[1], y[4 * k:4 * k + 4])
        chunks_seen.append(arrays[0].ctypes.data)
        buffers.release(Outputs(k, arrays))
    # Two chunks in flight: chunk k + 2 is assembled after chunk k's outputs are ready...
    assert events == [("chunk", 0), ("chunk", 1), ("ready", 0), ("chunk", 2), ("ready", 1),
                      ("chunk", 3), ("ready", 2), ("chunk", 4), ("ready", 3), ("chunk", 5)]
    # ... into chunk k's buffers: two sets of (x, y) for six chunks.
    assert chunks_seen[2:] == chunks_seen[:4] and chunks_seen[0] != chunks_seen[1]
    assert buffers.allocated == 4
    assert all(address % 64 == 0 for address in chunks_seen)
    # Without releases, every chunk gets fresh buffers.
    fresh = data_lib.ChunkBuffers()
    out = list(data_lib.chunks(iter(batches), 4, 1, lambda b: (b[0], b[1], None),
                               buffers=fresh))
    assert fresh.allocated == 12 and len({a[0].ctypes.data for _, a in out}) == 6
    # Without a ChunkBuffers, too; and while the stream goes on, nothing keeps a chunk alive
    # once the consumer drops it.
    stream = data_lib.chunks(iter(batches), 4, 1, lambda b: (b[0], b[1], None))
    dropped = []
    for _, arrays in stream:
        assert all(ref() is None for ref in dropped)
        dropped.append(weakref.ref(arrays[0]))
        del arrays
    assert len(dropped) == 6
    for depth in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match=r"ChunkBuffers\(depth\): expected a positive int"):
            data_lib.ChunkBuffers(depth)


# ------------------------------------------------------------------------- streamed fit
def fit_list_like_arrays(a, b, x, y):
    """Fits ``a`` on the arrays and ``b`` on the same batches as a list (batch 16, 2 epochs,
    no shuffling), checks that the histories and weights agree, and returns the list."""
    ha = a.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    batches = [(x[i:i + 16], y[i:i + 16]) for i in range(0, len(x), 16)]
    hb = b.fit(batches, epochs=2, verbose=0)
    assert_history_close(hb.history, ha.history, rtol=1e-5)
    for p, q in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_allclose(p, q, rtol=1e-5, atol=1e-6)
    return batches


def test_a_stream_of_many_batches_compiles_once_and_equals_the_in_memory_fit():
    x, y = make_data(7 * 16 + 5)  # 8 batches, the last one partial
    a, b = model_with_batch_dependent_layers(seed=3), model_with_batch_dependent_layers(seed=3)
    fit_list_like_arrays(a, b, x, y)
    assert b._compiled.programs.count_executables("train") == 1  # no recompile per epoch


def test_streamed_chunks_in_reused_buffers_train_and_evaluate_like_arrays(monkeypatch):
    made = []

    class Recorded(data_lib.ChunkBuffers):
        def __init__(self, depth=2):
            super().__init__(depth)
            made.append(self)

    monkeypatch.setattr(data_lib, "ChunkBuffers", Recorded)
    x, y = make_data(7 * 16 + 5)  # 8 batches, the last one partial: 4 chunks of 2
    a, b = model_with_batch_dependent_layers(seed=6), model_with_batch_dependent_layers(seed=6)
    for model in (a, b):
        model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"], steps_per_execution=2)
    batches = fit_list_like_arrays(a, b, x, y)
    assert b.evaluate(batches, verbose=0) == pytest.approx(
        b.evaluate(x, y, batch_size=16, verbose=0), rel=1e-6)
    # One pool for the whole fit (both epochs) and one for the evaluation, each reusing two
    # sets of (x, y) for its four chunks a pass.
    assert [m.allocated for m in made] == [4, 4]


def test_a_generator_with_multi_input_batches_trains_like_arrays():
    x, y = make_data(96)
    xa, xb = x[:, :5], x[:, 5:]

    def build():
        set_random_seed(4)
        in_a, in_b = models.Input((5,), name="a"), models.Input((3,), name="b")
        h = layers.Concatenate()([layers.Dense(8, activation="relu")(in_a), in_b])
        model = models.Model([in_a, in_b], layers.Dense(3, activation="softmax")(h))
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        return model

    arrays, stream = build(), build()
    ha = arrays.fit([xa, xb], y, batch_size=16, epochs=2, shuffle=False, verbose=0)

    def gen():
        for _ in range(2):
            for i in range(0, 96, 16):
                yield (xa[i:i + 16], xb[i:i + 16]), y[i:i + 16]

    hb = stream.fit(gen(), steps_per_epoch=6, epochs=2, verbose=0)
    assert_history_close(hb.history, ha.history, rtol=1e-5)
    np.testing.assert_allclose(stream.predict([xa, xb], verbose=0),
                               arrays.predict([xa, xb], verbose=0), rtol=1e-5, atol=1e-6)


def test_a_bad_batch_deep_in_a_stream_is_named_and_nothing_is_lost():
    x, y = make_data(160)
    model = model_with_batch_dependent_layers(seed=1)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    before = jax.tree.map(np.asarray, model.train_state)
    bad = x.copy()
    bad[9 * 16 + 3, 2] = np.nan  # batch 9, row 3
    batches = [(bad[i:i + 16], y[i:i + 16]) for i in range(0, 160, 16)]
    with pytest.raises(ValueError, match=r"x contains NaN or Inf.*streamed batches \d+ to \d+"):
        model.fit(batches, epochs=1, verbose=0)
    jax.tree.map(np.testing.assert_array_equal, jax.tree.map(np.asarray, model.train_state),
                 before)
    assert np.isfinite(model.fit(x, y, batch_size=16, epochs=1, verbose=0).history["loss"][0])


# ------------------------------------------------------------------------- inference passes
def test_bytes_per_row_and_rows_per_pass_follow_the_network_and_the_budget():
    w = jnp.ones((784, 512))

    def fn(params, state, x):
        return jax.nn.relu(x @ params) @ jnp.ones((512, 10))

    per_row = loop.bytes_per_row(lambda xb: fn(w, (), xb), jnp.ones((3, 784)))
    assert 4 * (512 + 512 + 10) <= per_row <= 4 * 4 * (512 + 10)  # float32 intermediates
    x = jnp.ones((24_000, 784))
    assert loop.rows_per_pass(fn, w, (), x, budget_bytes=1 << 40) == 24_000  # one pass
    rows = loop.rows_per_pass(fn, w, (), x, budget_bytes=2 << 20)
    assert rows * per_row <= 2 << 20 and 24_000 / rows == pytest.approx(24_000 // rows + 1,
                                                                        abs=1)
    assert loop.rows_per_pass(fn, w, (), x, budget_bytes=1) == 32  # the floor
    assert loop.default_budget("cpu") < loop.default_budget("gpu")


def test_predict_and_evaluate_do_not_depend_on_batch_size(trained):
    model, x, y = trained
    auto = model.predict(x, verbose=0)
    for batch_size in (7, 32, 128, 10_000):
        np.testing.assert_allclose(model.predict(x, batch_size=batch_size, verbose=0), auto,
                                   rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(model.predict(x, batch_size=32, verbose=0),
                                  model.predict(x, batch_size=32, verbose=0))
    loss, acc = model.evaluate(x, y, verbose=0)
    for batch_size in (7, 128):
        got = model.evaluate(x, y, batch_size=batch_size, verbose=0)
        assert got == pytest.approx([loss, acc], rel=1e-6)
    # The reference: Keras's one batch at a time, by hand (moving statistics, no dropout).
    out, _ = model.apply(model.params, model.state, jnp.asarray(x[:50]), training=False)
    np.testing.assert_allclose(auto[:50], np.asarray(out), rtol=1e-6, atol=1e-7)


def test_predict_on_device_arrays_and_the_batch_size_bound(trained):
    model, x, _ = trained
    on_device = jax.device_put(x)
    np.testing.assert_allclose(model.predict(on_device, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6, atol=1e-7)
    with pytest.raises(ValueError, match=r"batch_size"):
        model.predict(x, batch_size=0, verbose=0)


# ------------------------------------------------------------------------- staged inference
def test_staged_calls_reuse_two_buffers_only_after_finish_and_pad_with_zeros():
    x = np.arange(7 * 3, dtype=np.float32).reshape(7, 3)
    events, seen = [], []

    def call(chunk, start, m):
        events.append(("call", start))
        return chunk  # the output is the input itself: finish must copy what it keeps

    def finish(out, start, m):
        events.append(("finish", start))
        seen.append((start, m, jax.tree.map(np.array, out)))

    data_lib.staged_calls({"x": x}, 2, call, finish)
    # Double-buffered: the call of chunk k + 2 comes after the finish of chunk k.
    assert events == [("call", 0), ("call", 2), ("finish", 0), ("call", 4), ("finish", 2),
                      ("call", 6), ("finish", 4), ("finish", 6)]
    assert [(s, m) for s, m, _ in seen] == [(0, 2), (2, 2), (4, 2), (6, 1)]
    for start, m, out in seen:
        assert out["x"].shape == (2, 3)  # every chunk has the same shape: one compile
        np.testing.assert_array_equal(out["x"][:m], x[start:start + m])
    np.testing.assert_array_equal(seen[-1][2]["x"][1:], 0)  # a short chunk's rest is zeros


def test_staged_calls_refuses_bad_arguments_before_calling_anything():
    x = np.zeros((4, 2), np.float32)
    calls = []
    for kwargs, error, match in (
            ({"rows": 0}, ValueError, r"staged_calls\(rows\): expected a positive int"),
            ({"rows": 2.5}, ValueError, r"got 2\.5"),
            ({"arrays": jnp.zeros((4, 2))}, TypeError, r"host numpy arrays.*ArrayImpl"),
            ({"arrays": (x, x[:3])}, ValueError, r"same number of rows; got \[4, 3\]")):
        args = {"arrays": x, "rows": 2, **kwargs}
        with pytest.raises(error, match=match):
            data_lib.staged_calls(args["arrays"], args["rows"], lambda *a: calls.append(a),
                                  lambda *a: None)
    assert calls == []


@pytest.fixture(scope="module")
def wide():
    """17 MiB of host data, more than one staged chunk (fnnet.data.batches_per_chunk's 16 MiB),
    and a two-input, two-output model to run on it."""
    rng = np.random.default_rng(5)
    x = rng.random((17_000, 256), dtype=np.float32)
    y = (x[:, 0] > 0.5).astype(np.int32)
    set_random_seed(5)
    in_a, in_b = models.Input((128,), name="a"), models.Input((128,), name="b")
    h = layers.Concatenate()([layers.Dense(8, activation="relu")(in_a), in_b])
    model = models.Model([in_a, in_b], [layers.Dense(2, activation="softmax")(h),
                                        layers.Dense(1)(h)])
    model.compile(optimizer="sgd", loss=["sparse_categorical_crossentropy", "mse"],
                  metrics=[["accuracy"], []])
    return model, [x[:, :128], x[:, 128:]], [y, x[:, :1]]


def test_inference_on_host_arrays_in_staged_chunks_equals_one_call_on_device(wide):
    model, x, y = wide
    on_device = jax.device_put(x)
    staged = model.predict(x, verbose=0)
    one_call = model.predict(on_device, verbose=0)
    assert [a.shape for a in staged] == [(17_000, 2), (17_000, 1)]
    for a, b in zip(staged, one_call, strict=True):
        np.testing.assert_array_equal(a, b)  # the same passes, so the same bits
    sw = np.linspace(0.5, 1.5, 17_000).astype(np.float32)
    for kwargs in ({}, {"sample_weight": sw}):
        host = model.evaluate(x, y, verbose=0, return_dict=True, **kwargs)
        device = model.evaluate(on_device, jax.device_put(y), verbose=0, return_dict=True,
                                **kwargs)
        assert host == device
    # One per data shape (a staged chunk, all rows on the device), with and without weights.
    assert model._compiled.programs.count_executables("eval") == 4


def test_evaluate_in_chunks_of_steps_per_execution_calls_back_per_chunk(trained):
    model, x, y = trained
    chunked = model_with_batch_dependent_layers()
    chunked.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy",
                    metrics=["accuracy"], steps_per_execution=2)
    chunked.set_weights(model.get_weights())
    ends = []

    class Record(callbacks.Callback):
        def on_test_batch_end(self, batch, logs=None):
            ends.append((batch, dict(logs)))

    got = chunked.evaluate(x, y, batch_size=32, verbose=0, callbacks=[Record()])
    assert got == model.evaluate(jax.device_put(x), jax.device_put(y), batch_size=32,
                                 verbose=0)
    assert [b for b, _ in ends] == [1, 3, 5, 7, 9]  # 300 rows: 10 batches, 2 per call
    assert ends[-1][1] == pytest.approx(dict(zip(("loss", "accuracy"), got, strict=True)))
    assert chunked._compiled.programs.count_executables("eval") == 1  # the short chunk too


def test_a_non_finite_device_array_is_refused_and_huge_finite_values_are_not():
    model = models.Sequential([layers.Dense(2, input_shape=(3,))])
    x = np.full((4, 3), 3e38, np.float32)  # finite, but their sum overflows
    assert model.predict(jax.device_put(x), verbose=0).shape == (4, 2)
    for bad in (np.nan, np.inf):
        x[2, 1] = bad
        with pytest.raises(ValueError, match=r"predict: x contains NaN or Inf \(first at "
                                             r"index \(2, 1\)\)"):
            model.predict(jax.device_put(x), verbose=0)
