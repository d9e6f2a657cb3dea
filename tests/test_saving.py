"""Model-level saving: round trips, refusing bad files without touching the model, atomic
writes, kills mid-save, ModelCheckpoint and BackupAndRestore, and resuming bit for bit.

fnnet/checkpoint.py's format-level checks live in tests/test_checkpoint.py; these tests go
through the public model API (``model.save``, ``models.load_model``, ``save_weights``,
``load_weights``) on real saved models. One small architecture is used throughout, so the
compiled programs are shared through the XLA cache (tests/conftest.py).
"""

import errno
import glob
import json
import os
import pickle
import signal
import struct
import subprocess
import sys
import tempfile
import textwrap
import time
import zipfile

import jax
import numpy as np
import optax
import pytest

from fnnet import callbacks, checkpoint, layers, models
from fnnet.checkpoint import CheckpointError
from fnnet.core import Layer
from fnnet.utils import set_random_seed

D, C, N, BS = 6, 3, 48, 16


def make_data(n=N, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, D), dtype=np.float32)
    return x, x[:, :C].argmax(1).astype(np.int32)


def build(seed=0, compile=True, hidden=8):
    """Dense, BatchNormalization (state), Dropout (rng) and a softmax head, compiled with adam."""
    set_random_seed(seed)
    model = models.Sequential([
        layers.Dense(hidden, activation="relu", input_shape=(D,)),
        layers.BatchNormalization(),
        layers.Dropout(0.25),
        layers.Dense(C, activation="softmax"),
    ])
    if compile:
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
    return model


def weights_equal(a, b):
    wa, wb = a.get_weights(), b.get_weights()
    return len(wa) == len(wb) and all(
        p.dtype == q.dtype and np.array_equal(p, q) for p, q in zip(wa, wb, strict=True))


def snapshot(model):
    return [np.array(w, copy=True) for w in model.get_weights()]


def assert_unchanged(model, before):
    after = model.get_weights()
    assert len(after) == len(before)
    for p, q in zip(before, after, strict=True):
        np.testing.assert_array_equal(p, q)


def leaves(tree):
    return [np.asarray(jax.random.key_data(v) if jax.dtypes.issubdtype(
        getattr(v, "dtype", None), jax.dtypes.prng_key) else v) for v in jax.tree.leaves(tree)]


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A model trained 2 epochs, and its model and weights files. Tests must not mutate it."""
    folder = tmp_path_factory.mktemp("saved")
    model = build()
    x, y = make_data()
    model.fit(x, y, epochs=2, batch_size=BS, verbose=0)
    model_path, weights_path = str(folder / "model.safetensors"), str(folder / "w.safetensors")
    model.save(model_path)
    model.save_weights(weights_path)
    with open(model_path, "rb") as f:
        data = f.read()
    return model, model_path, weights_path, data


# --------------------------------------------------------------------------- round trips
def test_save_weights_round_trip_keys_by_layer_path(saved, tmp_path):
    model, _, weights_path, _ = saved
    arrays, meta = checkpoint.load(weights_path)
    assert sorted(arrays) == [
        "batch_normalization/beta", "batch_normalization/gamma",
        "batch_normalization/moving_mean", "batch_normalization/moving_variance",
        "dense/bias", "dense/kernel", "dense_1/bias", "dense_1/kernel"]
    np.testing.assert_array_equal(arrays["dense/kernel"], np.asarray(model.params[0]["kernel"]))
    np.testing.assert_array_equal(arrays["batch_normalization/moving_mean"],
                                  np.asarray(model.state[1]["moving_mean"]))
    assert meta["kind"] == "weights"
    other = build(seed=5, compile=False)
    assert not weights_equal(other, model)
    other.load_weights(weights_path)
    assert weights_equal(other, model)
    x, _ = make_data(10)
    np.testing.assert_array_equal(other.predict(x, verbose=0), model.predict(x, verbose=0))
    # A full model file holds the same weights under weights/...; load_weights reads them too.
    third = build(seed=6, compile=False)
    third.load_weights(saved[1])
    assert weights_equal(third, model)


def test_save_and_load_model_restores_everything(saved):
    model, model_path, _, _ = saved
    again = models.load_model(model_path)
    assert [layer.name for layer in again.layers] == [layer.name for layer in model.layers]
    assert [layer.kind for layer in again.layers] == [layer.kind for layer in model.layers]
    assert again.input_shape == model.input_shape and again.output_shape == model.output_shape
    assert weights_equal(again, model)
    x, _ = make_data(10)
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))
    # The compile configuration, the optimizer state, the step and the rng.
    assert again.compiled
    assert again.get_compile_config()["loss"] == "sparse_categorical_crossentropy"
    assert again.get_compile_config()["metrics"] == ["accuracy"]
    assert again.optimizer.learning_rate == pytest.approx(model.optimizer.learning_rate)
    ts, ts0 = again.train_state, model.train_state
    assert jax.tree.structure(ts.opt_state) == jax.tree.structure(ts0.opt_state)
    for a, b in zip(leaves(ts.opt_state), leaves(ts0.opt_state), strict=True):
        np.testing.assert_array_equal(a, b)
    assert int(ts.step) == int(ts0.step) == 2 * 3
    np.testing.assert_array_equal(jax.random.key_data(ts.rng), jax.random.key_data(ts0.rng))
    # Without compile: the same weights, rng and step; no optimizer.
    bare = models.load_model(model_path, compile=False)
    assert not bare.compiled and weights_equal(bare, model)
    assert int(bare.train_state.step) == 6


def test_a_loaded_model_saves_the_same_file_again(saved, tmp_path):
    _, model_path, _, _ = saved
    again = models.load_model(model_path)
    path = str(tmp_path / "again.safetensors")
    again.save(path)
    a, meta_a = checkpoint.load(model_path)
    b, meta_b = checkpoint.load(path)
    assert sorted(a) == sorted(b) and meta_a == meta_b
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


def test_resume_from_a_saved_model_is_bit_identical(tmp_path):
    """2 epochs, save, load_model, fit to 4 (initial_epoch=2) == 4 uninterrupted epochs."""
    x, y = make_data()
    ref = build(seed=3)
    h_ref = ref.fit(x, y, epochs=4, batch_size=BS, verbose=0)
    first = build(seed=3)
    first.fit(x, y, epochs=2, batch_size=BS, verbose=0)
    path = str(tmp_path / "half.safetensors")
    first.save(path)
    del first
    resumed = models.load_model(path)
    h = resumed.fit(x, y, epochs=4, initial_epoch=2, batch_size=BS, verbose=0)
    assert h.epoch == [2, 3]
    assert h.history["loss"] == h_ref.history["loss"][2:]
    assert weights_equal(resumed, ref)
    np.testing.assert_array_equal(jax.random.key_data(resumed.train_state.rng),
                                  jax.random.key_data(ref.train_state.rng))


# --------------------------------------------------------------------------- no code from files
def MyScale(units=2):
    """A custom layer kind with a config: saved by name, loaded only through custom_objects."""
    def init(rng, input_shape):
        return (*input_shape[:-1], units), {"w": jax.numpy.ones((input_shape[-1], units))}, ()

    def apply(params, state, x, *, rng=None, training=False):
        return x @ params["w"], state

    return Layer(init, apply, kind="MyScale", config={"units": units})


def test_a_custom_kind_loads_only_through_custom_objects(tmp_path):
    model = models.Sequential([layers.Dense(3, input_shape=(D,)), MyScale(2)])
    path = str(tmp_path / "custom.safetensors")
    model.save(path)
    with pytest.raises(ValueError, match=r"load_model: layer #1 \('my_scale'\).*custom kind "
                                         r"'MyScale'.*custom_objects=\{'MyScale'.*Built-in kinds"
                                         r": .*BatchNormalization, .*Dense"):
        models.load_model(path)
    again = models.load_model(path, custom_objects={"MyScale": MyScale})
    x, _ = make_data(4)
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))


def test_a_kind_injected_into_the_json_is_never_resolved(tmp_path):
    """A file naming a Python callable as a layer kind fails without importing or calling it."""
    model = build(compile=False)
    path = str(tmp_path / "m.safetensors")
    model.save(path)
    arrays, meta = checkpoint.load(path)
    meta["architecture"]["layers"][0]["class_name"] = "os.system"
    meta["architecture"]["layers"][0]["config"] = {"command": "touch pwned"}
    checkpoint.save(path, arrays, meta)  # a well-formed, checksummed but hostile file
    with pytest.raises(ValueError, match=r"custom kind 'os\.system'.*custom_objects"):
        models.load_model(path)
    assert not os.path.exists("pwned")


def test_a_custom_layer_without_config_fails_at_save_and_writes_nothing(tmp_path):
    def init(rng, input_shape):
        return input_shape, (), ()

    def apply(params, state, x, *, rng=None, training=False):
        return x, state

    model = models.Sequential([layers.Dense(3, input_shape=(D,)), Layer(init, apply)])
    path = tmp_path / "m.safetensors"
    with pytest.raises(ValueError, match=r"custom Layer.*without a config.*custom_objects"):
        model.save(str(path))
    assert os.listdir(tmp_path) == []
    # A lambda activation cannot be written either; an existing file is left as it was.
    good = build(compile=False)
    good.save(str(path))
    before = path.read_bytes()
    lam = models.Sequential([layers.Dense(3, activation=lambda z: z, input_shape=(D,))])
    with pytest.raises(ValueError, match=r"activation.*custom function.*built-in name"):
        lam.save(str(path))
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["m.safetensors"]
    # The weights alone can always be saved.
    model.save_weights(str(tmp_path / "w.safetensors"))


# --------------------------------------------------------------------------- atomic writes
def _fail_replace(monkeypatch):
    def replace(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(os, "replace", replace)


def _fail_fsync(monkeypatch):
    """The data was (partly) written to the temp file, then the disk filled up."""
    def fsync(fd):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(os, "fsync", fsync)


def _fail_mkstemp(monkeypatch):
    """A read-only folder (chmod does not block root, so it is simulated)."""
    def mkstemp(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")
    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)


@pytest.mark.parametrize("fail, code", [(_fail_replace, errno.ENOSPC),
                                        (_fail_fsync, errno.ENOSPC),
                                        (_fail_mkstemp, errno.EACCES)],
                         ids=["replace", "write", "read_only"])
@pytest.mark.parametrize("method", ["save", "save_weights"])
def test_a_failed_write_keeps_the_previous_file(tmp_path, monkeypatch, fail, code, method):
    old = build(seed=1, compile=method == "save")
    path = str(tmp_path / "m.safetensors")
    getattr(old, method)(path)
    with open(path, "rb") as f:
        before = f.read()
    new = build(seed=2, compile=method == "save")
    with monkeypatch.context() as patch:
        fail(patch)
        with pytest.raises(OSError, match=r"could not save the checkpoint to .*m\.safetensors.*"
                                          r"previous file .* is intact") as info:
            getattr(new, method)(path)
    assert info.value.errno == code
    assert os.listdir(tmp_path) == ["m.safetensors"]  # no temp file left behind
    with open(path, "rb") as f:
        assert f.read() == before
    target = build(seed=9, compile=False)
    target.load_weights(path)
    assert weights_equal(target, old)
    if method == "save":
        assert weights_equal(models.load_model(path), old)


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="running as root: chmod does not block writes (simulated above)")
def test_a_real_read_only_folder(tmp_path):  # pragma: no cover - not run as root
    model = build(compile=False)
    os.chmod(tmp_path, 0o500)
    try:
        with pytest.raises(PermissionError, match=r"could not save the checkpoint"):
            model.save(str(tmp_path / "m.safetensors"))
    finally:
        os.chmod(tmp_path, 0o700)


# --------------------------------------------------------------------------- bad files
def _header_end(data):
    return 8 + struct.unpack("<Q", data[:8])[0]


@pytest.fixture
def target():
    """A built model that failed loads must leave exactly as it was."""
    model = build(seed=4, compile=False)
    return model, snapshot(model)


def test_truncated_model_files_fail_cleanly(saved, tmp_path, target):
    _, _, _, data = saved
    model, before = target
    end = _header_end(data)
    path = str(tmp_path / "cut.safetensors")
    for cut in sorted({0, 3, 8, 9, end // 2, end - 1, end, end + 7, (end + len(data)) // 2,
                       len(data) - 1}):
        with open(path, "wb") as f:
            f.write(data[:cut])
        with pytest.raises(CheckpointError, match=r"cannot load checkpoint"):
            models.load_model(path)
        with pytest.raises(CheckpointError, match=r"cannot load checkpoint"):
            model.load_weights(path)
        assert_unchanged(model, before)


def test_flipped_bytes_fail_cleanly(saved, tmp_path, target):
    """Bit flips anywhere in a real model file: header length, JSON header, tensor data."""
    _, _, _, data = saved
    model, before = target
    end = _header_end(data)
    rng = np.random.default_rng(0)
    positions = sorted({0, 1, 7, 8, 9, end - 2, end, len(data) - 1,
                        *rng.integers(10, end - 2, 20).tolist(),
                        *rng.integers(end, len(data), 12).tolist()})
    path = str(tmp_path / "flip.safetensors")
    for i, pos in enumerate(positions):
        bad = bytearray(data)
        bad[pos] ^= 1 << (i % 8)
        with open(path, "wb") as f:
            f.write(bytes(bad))
        with pytest.raises(ValueError, match=r"cannot load checkpoint|checkpoint"):
            models.load_model(path)
        with pytest.raises(ValueError):
            model.load_weights(path)
        assert_unchanged(model, before)


def test_one_bit_flipped_in_a_config_value_is_detected(saved, tmp_path):
    """momentum 0.99 -> 0.91 is valid JSON; a checksum over the arrays alone would miss it."""
    _, _, _, data = saved
    at = data.index(b'momentum\\": 0.99') + len(b'momentum\\": 0.9')
    bad = bytearray(data)
    bad[at] ^= 0x08  # '9' -> '1'
    path = str(tmp_path / "m.safetensors")
    with open(path, "wb") as f:
        f.write(bytes(bad))
    with pytest.raises(CheckpointError, match=r"checksum mismatch"):
        models.load_model(path)


class _Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.makedirs, (self.marker,)


def _zip_payload(path):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("config.json", "{}")


@pytest.mark.parametrize("kind", ["pickle", "zip", "npz", "npy"])
def test_impostor_payloads_are_refused_and_never_run(tmp_path, target, kind):
    model, before = target
    path = str(tmp_path / "model.safetensors")
    marker = str(tmp_path / "pwned")
    if kind == "pickle":
        with open(path, "wb") as f:
            pickle.dump(_Exploit(marker), f)
    elif kind == "zip":
        _zip_payload(path)
    elif kind == "npz":
        with open(path, "wb") as f:
            np.savez(f, kernel=np.ones((D, 8), np.float32))
    else:
        with open(path, "wb") as f:
            np.save(f, np.ones(3, np.float32))
    names = {"pickle": "pickle", "zip": "zip", "npz": "zip", "npy": "NumPy .npy"}
    with pytest.raises(CheckpointError, match=rf"the file is .*{names[kind]}.*not a safetensors"):
        model.load_weights(path)
    with pytest.raises(CheckpointError, match=rf"{names[kind]}"):
        models.load_model(path)
    assert not os.path.exists(marker)
    assert_unchanged(model, before)


def test_a_header_declaring_absurd_sizes_is_refused(tmp_path, target):
    model, before = target
    path = str(tmp_path / "m.safetensors")
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", 2 ** 62) + b'{"a": 1}')
    with pytest.raises(CheckpointError, match=r"absurd sizes"):
        model.load_weights(path)
    # A well-formed header whose tensor claims 10^18 elements backed by 4 bytes.
    header = json.dumps({
        "dense/kernel": {"dtype": "F32", "shape": [10 ** 9, 10 ** 9], "data_offsets": [0, 4]},
        "__metadata__": {"format": checkpoint.FORMAT, "version": checkpoint.VERSION,
                         "sha256": "0" * 64, "user": "{}"}}).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header + b"\0" * 4)
    with pytest.raises(CheckpointError, match=r"cannot load checkpoint"):
        model.load_weights(path)
    with pytest.raises(CheckpointError, match=r"cannot load checkpoint"):
        models.load_model(path)
    assert_unchanged(model, before)


def _rewrite(src, dst, change):
    arrays, meta = checkpoint.load(src)
    arrays = dict(arrays)
    change(arrays)
    checkpoint.save(dst, arrays, meta)


@pytest.mark.parametrize("change, match", [
    (lambda a: a.pop("dense/kernel"), r"missing the key path\(s\) 'dense/kernel' \(float32\[6, 8\]\)"),
    (lambda a: a.update({"dense_2/kernel": np.ones((3, 3), np.float32)}),
     r"holds key path\(s\) the template lacks: \['dense_2/kernel'\]"),
    (lambda a: a.update({"dense/kernel": np.ones((6, 9), np.float32)}),
     r"key path 'dense/kernel' has shape \(6, 9\), but the template expects \(6, 8\)"),
    (lambda a: a.update({"batch_normalization/moving_mean": np.ones(8, np.float64)}),
     r"key path 'batch_normalization/moving_mean' has dtype float64, but the template expects "
     r"float32"),
], ids=["missing", "extra", "shape", "dtype"])
def test_a_mismatched_weights_file_names_the_key_and_changes_nothing(
        saved, tmp_path, target, change, match):
    _, _, weights_path, _ = saved
    model, before = target
    path = str(tmp_path / "bad.safetensors")
    _rewrite(weights_path, path, change)
    with pytest.raises(ValueError, match=match):
        model.load_weights(path)
    assert_unchanged(model, before)


def test_weights_of_another_architecture_change_nothing(saved, target):
    _, model_path, weights_path, _ = saved
    model = build(seed=4, compile=False, hidden=5)
    before = snapshot(model)
    for path in (weights_path, model_path):
        with pytest.raises(ValueError, match=r"key path 'batch_normalization/beta' has shape "
                                             r"\(8,\), but the template expects \(5,\)"):
            model.load_weights(path)
        assert_unchanged(model, before)


def test_path_errors(tmp_path, target):
    model, before = target
    with pytest.raises(ValueError, match=r"load_weights: .*must end in '\.safetensors'; got "
                                         r"'w\.npz'\. Use e\.g\. 'w\.safetensors'"):
        model.load_weights("w.npz")
    with pytest.raises(ValueError, match=r"save: .*must end in '\.safetensors'"):
        model.save(str(tmp_path / "m.h5"))
    with pytest.raises(ValueError, match=r"save: fnnet does not write Keras's '\.keras' archives "
                                         r"\(got '.*m\.keras'\)\. Save the whole model as "
                                         r"'.*m\.safetensors', or its weights for Keras with "
                                         r"model\.save_weights\('\.\.\.\.weights\.h5'\)"):
        model.save(str(tmp_path / "m.keras"))
    with pytest.raises(FileNotFoundError, match=r"no checkpoint at .*nope\.safetensors"):
        model.load_weights(str(tmp_path / "nope.safetensors"))
    with pytest.raises(TypeError, match=r"path must be a str or os\.PathLike; got int"):
        models.load_model(3)
    unbuilt = models.Sequential([layers.Dense(2)])
    with pytest.raises(ValueError, match=r"load_weights: the model is not built yet"):
        unbuilt.load_weights(str(tmp_path / "w.safetensors"))
    assert_unchanged(model, before)
    assert os.listdir(tmp_path) == []


def test_load_model_refuses_a_weights_file(saved):
    _, _, weights_path, _ = saved
    with pytest.raises(CheckpointError, match=r"is a weights checkpoint, not a saved model.*"
                                              r"load_weights"):
        models.load_model(weights_path)


# --------------------------------------------------------------------------- kill -9 mid-save
_SAVER = textwrap.dedent("""
    import sys
    import numpy as np
    from fnnet import layers, models
    model = models.Sequential([layers.Dense(256, input_shape=(256,)), layers.Dense(8)])
    model.compile(optimizer="adam", loss="mse")
    shapes = [w.shape for w in model.get_weights()]
    i = 0
    while True:
        model.set_weights([np.full(s, i, np.float32) for s in shapes])
        model.save(sys.argv[1])
        if i == 0:
            print("saved", flush=True)
        i += 1
""")


@pytest.mark.slow
def test_sigkill_during_repeated_saves_leaves_a_loadable_model(tmp_path):
    script = tmp_path / "saver.py"
    script.write_text(_SAVER)
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    # Three writers at once (each on its own path), killed at staggered times.
    procs = []
    for r in range(3):
        path = str(tmp_path / f"m{r}.safetensors")
        procs.append((path, subprocess.Popen([sys.executable, str(script), path], env=env,
                                             stdout=subprocess.PIPE, text=True)))
    try:
        for _, proc in procs:
            assert proc.stdout.readline().strip() == "saved"
        for r, (_, proc) in enumerate(procs):
            time.sleep(0.3 + 0.35 * r)
            proc.send_signal(signal.SIGKILL)
    finally:
        for _, proc in procs:
            proc.kill()
            proc.wait()
            proc.stdout.close()
    for path, proc in procs:
        assert proc.returncode == -signal.SIGKILL
        model = models.load_model(path)
        values = {float(v) for w in model.get_weights() for v in np.unique(w)}
        assert len(values) == 1, f"{path} mixes weights of several saves: {sorted(values)[:5]}"


# --------------------------------------------------------------------------- ModelCheckpoint
class Script(callbacks.Callback):
    """Puts scripted values under ``key`` into the epoch logs (before later callbacks read them)
    and records the weights at each epoch end."""

    def __init__(self, key, values):
        super().__init__()
        self.key, self.values, self.weights = key, list(values), []

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = self.values[epoch]
        self.weights.append(snapshot(self.model))


def test_model_checkpoint_formats_epoch_and_val_loss(tmp_path):
    x, y = make_data()
    model = build()
    pattern = str(tmp_path / "m-{epoch:02d}-{val_loss:.3f}.safetensors")
    h = model.fit(x, y, epochs=2, batch_size=BS, verbose=0,
                  validation_data=(x[:BS], y[:BS]),
                  callbacks=[callbacks.ModelCheckpoint(pattern)])
    expected = sorted(f"m-{e + 1:02d}-{v:.3f}.safetensors"
                      for e, v in enumerate(h.history["val_loss"]))
    assert sorted(os.listdir(tmp_path)) == expected
    last = models.load_model(str(tmp_path / expected[-1]))
    assert weights_equal(last, model) and int(last.train_state.step) == 6


@pytest.mark.parametrize("mode, scores, saved_epochs", [
    ("auto", [0.5, 0.3, 0.4, 0.2], [1, 2, 4]),  # "score" is not accuracy-like: min
    ("min", [0.5, 0.3, 0.4, 0.2], [1, 2, 4]),
    ("max", [0.5, 0.3, 0.6, 0.2], [1, 3]),
])
def test_model_checkpoint_save_best_only(tmp_path, mode, scores, saved_epochs):
    x, y = make_data()
    model = build()
    script = Script("score", scores)
    cb = callbacks.ModelCheckpoint(str(tmp_path / "best-{epoch}.safetensors"), monitor="score",
                                   save_best_only=True, save_weights_only=True, mode=mode)
    model.fit(x, y, epochs=4, batch_size=BS, verbose=0, callbacks=[script, cb])
    assert sorted(os.listdir(tmp_path)) == [f"best-{e}.safetensors" for e in saved_epochs]
    # Each file holds the weights of its epoch, and is a weights file (not a whole model).
    for e in saved_epochs:
        path = str(tmp_path / f"best-{e}.safetensors")
        probe = build(seed=9, compile=False)
        probe.load_weights(path)
        for p, q in zip(probe.get_weights(), script.weights[e - 1], strict=True):
            np.testing.assert_array_equal(p, q)
        with pytest.raises(CheckpointError, match=r"weights checkpoint, not a saved model"):
            models.load_model(path)


def test_model_checkpoint_one_path_keeps_the_best_whole_model(tmp_path):
    x, y = make_data()
    model = build()
    script = Script("val_score", [0.9, 0.2, 0.7])
    path = str(tmp_path / "best.safetensors")
    cb = callbacks.ModelCheckpoint(path, monitor="val_score", save_best_only=True)
    model.fit(x, y, epochs=3, batch_size=BS, verbose=0, callbacks=[script, cb])
    best = models.load_model(path)
    assert int(best.train_state.step) == 2 * 3 and best.compiled
    for p, q in zip(best.get_weights(), script.weights[1], strict=True):
        np.testing.assert_array_equal(p, q)
    assert os.listdir(tmp_path) == ["best.safetensors"]


def test_model_checkpoint_errors(tmp_path):
    with pytest.raises(ValueError, match=r"ModelCheckpoint: filepath must end in '\.safetensors'"):
        callbacks.ModelCheckpoint(str(tmp_path / "m.h5"))
    with pytest.raises(ValueError, match=r"ModelCheckpoint: mode must be 'auto', 'min' or 'max', "
                                         r"got 'best'"):
        callbacks.ModelCheckpoint(str(tmp_path / "m.safetensors"), mode="best")
    model = build()
    x, y = make_data()
    cb = callbacks.ModelCheckpoint(str(tmp_path / "m-{val_acc}.safetensors"))
    with pytest.raises(ValueError, match=r"names 'val_acc', which is not in the logs; available "
                                         r"keys: epoch, accuracy, loss"):
        model.fit(x, y, epochs=1, batch_size=BS, verbose=0, callbacks=[cb])
    assert os.listdir(tmp_path) == []


# --------------------------------------------------------------------------- BackupAndRestore
class Interrupt(callbacks.Callback):
    def __init__(self, at):
        super().__init__()
        self.at = at

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.at:
            raise KeyboardInterrupt(f"interrupted at epoch {epoch}")


def test_backup_and_restore_resumes_bit_identically(tmp_path):
    x, y = make_data()
    ref = build(seed=8)
    h_ref = ref.fit(x, y, epochs=5, batch_size=BS, shuffle=True, verbose=0)

    backup = str(tmp_path / "backup")
    first = build(seed=8)
    with pytest.raises(KeyboardInterrupt, match=r"interrupted at epoch 3"):
        first.fit(x, y, epochs=5, batch_size=BS, shuffle=True, verbose=0,
                  callbacks=[callbacks.BackupAndRestore(backup), Interrupt(3)])
    assert os.listdir(backup) == ["backup.safetensors"]

    second = build(seed=8)  # a fresh process would do the same: same architecture and compile
    epochs = []
    h = second.fit(x, y, epochs=5, batch_size=BS, shuffle=True, verbose=0,
                   callbacks=[callbacks.BackupAndRestore(backup),
                              callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: epochs.append(e))])
    assert epochs == [3, 4]
    assert h.history["loss"] == h_ref.history["loss"][3:]
    assert weights_equal(second, ref)
    assert int(second.train_state.step) == int(ref.train_state.step) == 5 * 3
    assert os.listdir(backup) == []  # deleted once the fit completed


def test_backup_of_another_architecture_is_refused_clearly(tmp_path):
    x, y = make_data()
    backup = str(tmp_path / "backup")
    model = build()
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, epochs=3, batch_size=BS, verbose=0,
                  callbacks=[callbacks.BackupAndRestore(backup), Interrupt(1)])
    other = build(hidden=5)
    before = snapshot(other)
    with pytest.raises(ValueError, match=r"backup\.safetensors.*key path '[\w/]+' has shape "
                                         r"\(8,\), but the template expects \(5,\)"):
        other.fit(x, y, epochs=3, batch_size=BS, verbose=0,
                  callbacks=[callbacks.BackupAndRestore(backup)])
    assert_unchanged(other, before)
    assert glob.glob(os.path.join(backup, "*")) == [os.path.join(backup, "backup.safetensors")]


def _custom_loss(y_true, y_pred):
    return -jax.numpy.log(jax.numpy.take_along_axis(
        y_pred, y_true.reshape(-1, 1).astype(jax.numpy.int32), axis=-1)[:, 0] + 1e-7)


def test_backup_and_restore_works_for_models_that_cannot_be_saved_whole(tmp_path):
    """A config-less custom layer, a custom loss and an optax transform: model.save refuses or
    drops the optimizer state, but a backup must still resume bit for bit."""
    def build_custom():
        set_random_seed(2)
        model = models.Sequential([layers.Dense(8, activation="relu", input_shape=(D,)),
                                   Layer(lambda rng, shape: (shape, (), ()),
                                         lambda p, s, x, *, rng=None, training=False: (x, s)),
                                   layers.Dropout(0.25), layers.Dense(C, activation="softmax")])
        model.compile(optimizer=optax.sgd(0.1, momentum=0.9), loss=_custom_loss)
        return model

    x, y = make_data()
    ref = build_custom()
    ref.fit(x, y, epochs=4, batch_size=BS, verbose=0)
    backup = str(tmp_path / "backup")
    first = build_custom()
    with pytest.raises(KeyboardInterrupt):
        first.fit(x, y, epochs=4, batch_size=BS, verbose=0,
                  callbacks=[callbacks.BackupAndRestore(backup), Interrupt(2)])
    second = build_custom()
    h = second.fit(x, y, epochs=4, batch_size=BS, verbose=0,
                   callbacks=[callbacks.BackupAndRestore(backup)])
    assert h.epoch == [2, 3]
    assert weights_equal(second, ref)
    for a, b in zip(leaves(second.train_state.opt_state), leaves(ref.train_state.opt_state), strict=True):
        np.testing.assert_array_equal(a, b)
