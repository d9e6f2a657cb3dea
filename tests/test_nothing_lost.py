"""Reliability, round two: nothing silent and nothing lost.

"Nothing lost": after a call that fails, for any reason (bad input, an exception in a callback,
out of memory, a full disk, Ctrl-C), the model's whole train state (weights, state, optimizer
state, rng, step) is what it was before the failed epoch (for a failure in the first epoch:
before the call), and the model still trains, evaluates, predicts and saves. ``nothing_lost``
checks exactly that, by comparing copies of every leaf.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import textwrap

import jax
import numpy as np
import pytest

import fnnet
from fnnet import callbacks, layers, models, optimizers
from fnnet.utils import set_random_seed

D, C = 6, 3


def make_data(n=48, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, D), dtype=np.float32)
    return x, x[:, :C].argmax(1).astype(np.int32)


def model_(optimizer="adam", seed=0, hidden=8, **compile_kw):
    set_random_seed(seed)
    model = models.Sequential([layers.Dense(hidden, activation="relu", input_shape=(D,)),
                               layers.BatchNormalization(),
                               layers.Dense(C, activation="softmax")])
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], **compile_kw)
    return model


def snapshot(model):
    """Host copies of every leaf of the train state (key data for the rng)."""
    ts = model.train_state
    leaves = jax.tree.leaves(ts.replace(rng=jax.random.key_data(ts.rng)))
    return [np.array(a, copy=True) for a in leaves]


def assert_same_state(model, snap):
    now = snapshot(model)
    assert len(now) == len(snap)
    for a, b in zip(now, snap, strict=True):
        np.testing.assert_array_equal(a, b)


def still_works(model, tmp_path=None):
    x, y = make_data(16, seed=9)
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    assert np.isfinite(model.evaluate(x, y, verbose=0)[0])
    assert model.predict(x, verbose=0).shape == (16, C)
    if tmp_path is not None:
        model.save(tmp_path / "after.safetensors")


@contextlib.contextmanager
def nothing_lost(model, error, match=None, tmp_path=None, snap=None):
    """The block raises ``error`` (matching ``match``); the train state is unchanged and the
    model still trains, evaluates, predicts and saves."""
    snap = snapshot(model) if snap is None else snap
    with pytest.raises(error, match=match):
        yield
    assert_same_state(model, snap)
    still_works(model, tmp_path)


class Raise(callbacks.Callback):
    def __init__(self, hook, at, error=None):
        super().__init__()
        self.hook, self.at = hook, at
        self.error = RuntimeError("boom") if error is None else error
        setattr(self, hook, self._maybe)

    def _maybe(self, index, logs=None):
        if index == self.at:
            raise self.error


# --------------------------------------------------------------------------- failures mid-fit
@pytest.mark.parametrize("hook, at", [("on_train_batch_end", 1), ("on_epoch_begin", 0),
                                      ("on_epoch_end", 0)])
def test_an_exception_in_a_callback_during_the_first_epoch_restores_the_model(tmp_path, hook, at):
    model = model_(steps_per_execution=1)
    x, y = make_data()
    with nothing_lost(model, RuntimeError, "boom", tmp_path):
        model.fit(x, y, epochs=3, batch_size=8, verbose=0, callbacks=[Raise(hook, at)])


def test_a_failure_in_a_later_epoch_keeps_the_completed_epochs():
    x, y = make_data()
    reference = model_(steps_per_execution=2)
    reference.fit(x, y, epochs=1, batch_size=8, verbose=0)
    model = model_(steps_per_execution=2)
    epochs = []
    boom = callbacks.LambdaCallback(
        on_epoch_begin=lambda epoch, logs: epochs.append(epoch),
        on_train_batch_end=lambda batch, logs: (_ for _ in ()).throw(RuntimeError("boom"))
        if epochs[-1] == 1 and batch == 3 else None)
    with nothing_lost(model, RuntimeError, "boom", snap=snapshot(reference)):
        model.fit(x, y, epochs=3, batch_size=8, verbose=0, callbacks=[boom])


def test_ctrl_c_restores_the_model_and_propagates():
    model = model_()
    x, y = make_data()
    with nothing_lost(model, KeyboardInterrupt):
        model.fit(x, y, epochs=2, batch_size=8, verbose=0,
                  callbacks=[Raise("on_epoch_begin", 0, KeyboardInterrupt())])


def test_bad_streamed_data_mid_epoch_leaves_the_model_as_at_the_start_of_that_epoch():
    x, y = make_data()
    batches = [(x[i:i + 8], y[i:i + 8]) for i in range(0, 48, 8)]
    reference = model_()
    reference.fit(batches, epochs=1, verbose=0)
    poisoned = list(batches)
    bad = poisoned[3][0].copy()
    bad[2, 1] = np.nan

    class TwoEpochs:  # re-iterable: the second pass yields a NaN at batch 3
        passes = 0

        def __iter__(self):
            TwoEpochs.passes += 1
            return iter(batches if TwoEpochs.passes == 1 else
                        poisoned[:3] + [(bad, poisoned[3][1])] + poisoned[4:])

    model = model_()
    with nothing_lost(model, ValueError, r"fit: x contains NaN or Inf", snap=snapshot(reference)):
        model.fit(TwoEpochs(), epochs=2, verbose=0)


def test_out_of_memory_leaves_the_model_whole():
    """A real allocation failure, under an address-space limit in a child process."""
    script = textwrap.dedent("""
        import re, resource, numpy as np, jax
        from fnnet import models, layers
        from fnnet.utils import set_random_seed
        set_random_seed(0)
        m = models.Sequential([layers.Dense(2048, activation="relu", input_shape=(256,)),
                               layers.Dense(4, activation="softmax")])
        m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        x = np.random.default_rng(0).random((20000, 256), dtype=np.float32)
        y = np.zeros(20000, np.int32)
        m.fit(x[:64], y[:64], epochs=1, batch_size=32, verbose=0)
        ts = m.train_state
        before = [np.array(a) for a in jax.tree.leaves(ts.replace(rng=jax.random.key_data(ts.rng)))]
        vm = int(re.search(r"VmSize:\\s+(\\d+)", open("/proc/self/status").read()).group(1))
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        resource.setrlimit(resource.RLIMIT_AS, (vm * 1024 + 40 * 2**20, hard))
        try:
            m.fit(x, y, epochs=1, batch_size=20000, verbose=0)
            print("NO-ERROR")
        except Exception as e:
            # XLA's words for it vary by version: RESOURCE_EXHAUSTED, "Out of memory", ...
            memory = re.search(r"RESOURCE_EXHAUSTED|out of memory|allocat", str(e), re.I)
            print("RAISED", type(e).__name__, memory is not None, "|", str(e)[:300])
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
        ts = m.train_state
        after = [np.array(a) for a in jax.tree.leaves(ts.replace(rng=jax.random.key_data(ts.rng)))]
        print("SAME", all(np.array_equal(a, b) for a, b in zip(before, after)))
        m.fit(x[:64], y[:64], epochs=1, batch_size=32, verbose=0)
        print("TRAINS", np.isfinite(m.evaluate(x[:64], y[:64], verbose=0)))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=300, env={**os.environ, "JAX_PLATFORMS": "cpu"})
    if "LLVM ERROR: Unable to allocate section memory" in out.stderr:
        # Older XLA (jax 0.8) compiles the big batch's program under the limit and LLVM
        # aborts the process: the failed allocation this test is about never happens.
        pytest.skip("this XLA aborts in LLVM when compiling under an address-space limit")
    assert "RAISED JaxRuntimeError True" in out.stdout, out.stdout + out.stderr[-2000:]
    assert "SAME True" in out.stdout and "TRAINS True" in out.stdout


def test_an_absurd_batch_size_is_cut_to_the_data():
    model = model_()
    x, y = make_data(20)
    model.fit(x, y, epochs=1, batch_size=10**9, verbose=0)  # one batch of 20, as in Keras
    assert int(model.train_state.step) == 1
    assert model.evaluate(x, y, batch_size=10**9, verbose=0)[0] > 0
    assert model.predict(x, batch_size=10**9, verbose=0).shape == (20, C)


def test_a_full_disk_leaves_the_previous_file_and_the_model(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("mounting a tiny tmpfs needs root")
    folder = tmp_path / "tiny"
    folder.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(folder)],
                      capture_output=True).returncode != 0:
        pytest.skip("this machine cannot mount a tmpfs")
    try:
        small = models.Sequential([layers.Dense(2, input_shape=(2,))])
        small.compile(optimizer="sgd", loss="mse")
        small.save(folder / "m.safetensors")  # fits in 16 KiB
        previous = (folder / "m.safetensors").read_bytes()
        big = model_(hidden=512)  # about 90 KiB with Adam's moments
        with nothing_lost(big, OSError, r"m\.safetensors.*previous file", tmp_path):
            big.save(folder / "m.safetensors")
        assert (folder / "m.safetensors").read_bytes() == previous
        assert not [f for f in os.listdir(folder) if f.endswith(".tmp")]
    finally:
        subprocess.run(["umount", str(folder)], check=False)


# --------------------------------------------------------------------------- callbacks change the model
def test_weights_set_by_a_callback_take_effect_at_the_next_step():
    x, y = make_data(16)
    model = models.Sequential([layers.Dense(C, activation="softmax", input_shape=(D,))])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", steps_per_execution=1)
    target = [np.full((D, C), 0.1, np.float32), np.zeros(C, np.float32)]
    setter = callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: model.set_weights(target) if batch == 0 else None)
    model.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0, callbacks=[setter])
    twin = models.Sequential([layers.Dense(C, activation="softmax", input_shape=(D,))])
    twin.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    twin.set_weights(target)
    twin.train_on_batch(x[8:], y[8:])  # the second step, from the weights the callback set
    for a, b in zip(model.get_weights(), twin.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_a_learning_rate_set_by_a_callback_takes_effect_at_the_next_step():
    x, y = make_data(16)
    model = model_(optimizer="sgd", steps_per_execution=1)
    seen = []

    def stop_learning(batch, logs):
        if batch == 0:
            model.optimizer.learning_rate = 0.0
            seen.append([np.array(w) for w in model.get_weights()])

    model.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0,
              callbacks=[callbacks.LambdaCallback(on_train_batch_end=stop_learning)])
    after_first = seen[0]
    for a, b in zip(model.get_weights()[:2], after_first[:2], strict=True):
        np.testing.assert_array_equal(a, b)  # rate 0 from step 2 on: the kernel stays


def test_fit_inside_fit_is_refused_and_the_outer_fit_restores_the_model():
    model = model_()
    x, y = make_data()
    nested = callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: model.fit(x, y, verbose=0))
    with nothing_lost(model, RuntimeError, r"fit was called while model\.fit is running \(from a "
                                           r"callback\?\).*model\.stop_training = True"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[nested])


def test_evaluate_and_predict_inside_fit_are_fine():
    model = model_()
    x, y = make_data()
    results = []
    probe = callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: results.append(
        (model.evaluate(x, y, verbose=0), model.predict(x[:2], verbose=0))))
    model.fit(x, y, epochs=2, verbose=0, callbacks=[probe])
    assert len(results) == 2


# --------------------------------------------------------------------------- refused up front
def test_deleted_arrays_are_refused_by_the_setters():
    model = model_()
    snap = model.params
    dead = jax.tree.map(lambda a: a + 0, snap)
    jax.tree.map(lambda a: a.delete(), dead)
    with nothing_lost(model, ValueError, r"model\.params: the array at .* has been deleted"):
        model.params = dead
    ts = model.train_state
    with pytest.raises(ValueError, match=r"model\.train_state: the array at .* has been deleted"):
        model.train_state = ts.replace(params=dead)


def test_a_finite_generator_with_steps_per_epoch_loses_no_batch():
    x, y = make_data()
    batches = [(x[i:i + 8], y[i:i + 8]) for i in range(0, 48, 8)]  # 6 batches
    model = model_()
    model.fit(iter(batches), steps_per_epoch=3, epochs=2, verbose=0)
    assert int(model.train_state.step) == 6
    reference = model_()
    reference.fit(batches, epochs=1, verbose=0)  # the same 6 batches in one epoch
    for a, b in zip(model.get_weights(), reference.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("class_weight, match", [
    ({0: 1.0, 1: -2.0}, r"fit\(class_weight\): the weight of class 1 is -2\.0; weights must be "
                        r"finite numbers >= 0"),
    ({0: float("nan")}, r"fit\(class_weight\): the weight of class 0 is nan"),
    ({"a": 1.0}, r"fit\(class_weight\): keys must be class indices \(ints >= 0\); got 'a'"),
    ({1.5: 1.0}, r"keys must be class indices \(ints >= 0\); got 1\.5"),
])
def test_class_weights_are_validated_like_sample_weights(class_weight, match):
    model = model_()
    x, y = make_data()
    with nothing_lost(model, ValueError, match):
        model.fit(x, y, class_weight=class_weight, verbose=0)


def test_a_non_finite_learning_rate_is_refused():
    with pytest.raises(ValueError, match=r"learning_rate must be finite"):
        optimizers.get("adam", learning_rate=float("inf"))


def test_a_memmap_with_a_bad_sample_weight_fails_before_training(tmp_path):
    x, y = make_data(400)
    mm = np.memmap(tmp_path / "x.dat", dtype=np.float32, mode="w+", shape=x.shape)
    mm[:] = x
    model = model_()
    sw = np.ones(400, np.float32)
    sw[250] = -1.0
    with nothing_lost(model, ValueError, r"fit: sample_weight has negative entries"):
        model.fit(mm, y, sample_weight=sw, batch_size=16, verbose=0)
    with nothing_lost(model, ValueError, r"fit: sample_weight has shape \(10,\), expected "
                                         r"\(400,\)"):
        model.fit(mm, y, sample_weight=np.ones(10), batch_size=16, verbose=0)


def test_a_one_shot_generator_as_validation_data_is_refused_before_training():
    model = model_()
    x, y = make_data()
    gen = ((x[i:i + 8], y[i:i + 8]) for i in range(0, 48, 8))
    with nothing_lost(model, ValueError, r"fit\(validation_data\): a generator .* is used up "
                                         r"after one pass.*validation_steps"):
        model.fit(x, y, epochs=2, verbose=0, validation_data=gen)
    # With validation_steps it is drawn from, a few batches per epoch.
    gen = ((x[i % 48:i % 48 + 8], y[i % 48:i % 48 + 8]) for i in range(0, 10**6, 8))
    h = model.fit(x, y, epochs=2, verbose=0, validation_data=gen, validation_steps=2)
    assert len(h.history["val_loss"]) == 2


def test_big_endian_data_is_read_in_native_order():
    model = model_()
    x, y = make_data()
    big = x.astype(">f4")
    np.testing.assert_array_equal(model.predict(big, verbose=0), model.predict(x, verbose=0))
    model.fit(big, y.astype(">i4"), epochs=1, verbose=0)


# --------------------------------------------------------------------------- files
def test_saving_through_a_symlink_replaces_the_target_and_keeps_the_link(tmp_path):
    model = model_()
    real = tmp_path / "store" / "model.safetensors"
    real.parent.mkdir()
    model.save(real)
    link = tmp_path / "latest.safetensors"
    link.symlink_to(real)
    x, y = make_data()
    model.fit(x, y, epochs=1, verbose=0)
    model.save(link)
    assert link.is_symlink() and os.path.realpath(link) == str(real)
    again = models.load_model(real)
    for a, b in zip(again.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_temporaries_of_killed_saves_are_cleaned_by_the_next_save(tmp_path):
    import socket

    model = model_()
    path = tmp_path / "m.safetensors"
    host = socket.gethostname()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    stale = tmp_path / f".m.safetensors.{host}.{dead}.abc123.tmp"
    stale.write_bytes(b"half a checkpoint")
    live = tmp_path / f".m.safetensors.{host}.{os.getppid()}.def456.tmp"  # a running writer
    live.write_bytes(b"being written")
    other = tmp_path / ".other.safetensors.host.1.xyz.tmp"
    other.write_bytes(b"not ours")
    model.save(path)
    assert not stale.exists() and live.exists() and other.exists()
    assert fnnet.checkpoint.load(path)[1]["kind"] == "model"
