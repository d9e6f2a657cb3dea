"""Keras 3 files: ``.keras`` archives and ``.weights.h5`` files that Keras itself writes here,
loaded in fnnet with the same predictions; fnnet's ``.weights.h5`` loaded by Keras; and what
fnnet refuses (Lambda layers, unknown classes, corrupted archives) without running anything.

Skips cleanly without Keras or h5py. Shapes are tiny; each Keras model is built once.
"""

import contextlib
import io
import json
import os
import sys
import zipfile

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

keras = pytest.importorskip("keras")
h5py = pytest.importorskip("h5py")

from keras import layers as L  # noqa: E402

from fnnet import layers, models, serial  # noqa: E402
from fnnet.checkpoint import CheckpointError  # noqa: E402
from fnnet.saving import keras_archive, keras_config, keras_weights  # noqa: E402

# Keras's numpy-2 ``__array__(copy=...)`` notices, and its note that a weights file written by
# fnnet holds no optimizer state, are Keras's business, not these tests'.
pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning:keras"),
              pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")]

RTOL = ATOL = 1e-5
RNG = np.random.default_rng(0)


@contextlib.contextmanager
def lenient():
    """Keras's own numerics need JAX's default promotion rules (tests run strict)."""
    with jax.numpy_dtype_promotion("standard"), jax.numpy_rank_promotion("allow"):
        yield


def as_list(out):
    return [np.asarray(o) for o in (out if isinstance(out, (list, tuple)) else [out])]


def keras_predict(km, x):
    with lenient():
        return as_list(km(x, training=False))


def fnnet_predict(model, x):
    return as_list(model.predict(x, verbose=0))


def assert_close(ours, theirs):
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL)


def rand(*shape):
    return RNG.random(shape, dtype=np.float32)


# --------------------------------------------------------------------------- Keras models
def convnet():
    """A small convnet: convolution, batch statistics, pooling, dropout; compiled."""
    km = keras.Sequential([
        keras.Input((6, 6, 2)), L.Conv2D(4, 3, activation="relu"), L.BatchNormalization(),
        L.MaxPooling2D(2), L.Flatten(), L.Dropout(0.3), L.Dense(3, activation="softmax")],
        name="convnet")
    km.compile(optimizer=keras.optimizers.Adam(2e-3), loss="sparse_categorical_crossentropy",
               metrics=["accuracy"])
    return km, rand(4, 6, 6, 2)


def multi_io():
    """Two inputs and two outputs; a layer shared at two depths; nested Sequential (with state)
    and functional models; a residual connection."""
    a, b = keras.Input((5,), name="a"), keras.Input((4,), name="b")
    shared = L.Dense(4, activation="relu", name="shared")
    inner = keras.Sequential([keras.Input((4,)), L.Dense(4), L.BatchNormalization()],
                             name="inner")
    i = keras.Input((4,))
    sub = keras.Model(i, L.Dense(4)(i), name="sub")
    h = L.Add(name="merge")([shared(b), L.Dense(4, name="from_a")(a)])
    r = L.Add(name="residual")([h, sub(inner(shared(h)))])
    km = keras.Model([a, b], [L.Dense(3, activation="softmax", name="cls")(r),
                              L.Dense(1, name="reg")(h)])
    km.compile(optimizer="sgd", loss=["sparse_categorical_crossentropy", "mse"])
    return km, [rand(3, 5), rand(3, 4)]


def text():
    """Embedding with mask_zero (Keras records the mask as ops), a bidirectional LSTM and a
    sigmoid head (GRU, SimpleRNN and stacked cells: sequence_zoo)."""
    tokens = keras.Input((5,), dtype="int32")
    h = L.Bidirectional(L.LSTM(3))(L.Embedding(12, 4, mask_zero=True)(tokens))
    km = keras.Model(tokens, L.Dense(1, activation="sigmoid")(h))
    x = RNG.integers(1, 12, (3, 5)).astype("int32")
    x[0, 3:] = 0
    x[2, 1:] = 0
    return km, x


def attention():
    """A transformer block: causal self-attention, a residual, LayerNormalization, pooling."""
    seq = keras.Input((3, 4))
    att = L.MultiHeadAttention(num_heads=2, key_dim=2)(seq, seq, use_causal_mask=True)
    h = L.LayerNormalization()(L.Add()([seq, att]))
    km = keras.Model(seq, L.Dense(2)(L.GlobalAveragePooling1D()(h)))
    return km, rand(2, 3, 4)


def sequence_zoo():
    """Every sequence layout: Normalization (adapted), 1D convolutions, SimpleRNN, GRU,
    Bidirectional, TimeDistributed, stacked cells, Attention, AdditiveAttention."""
    seq = keras.Input((6, 4))
    norm = L.Normalization()
    norm.adapt(rand(20, 6, 4))
    c = L.Conv1D(5, 3, padding="same")(norm(seq))
    c = L.SeparableConv1D(4, 3, padding="same", depth_multiplier=2)(c)
    c = L.Conv1DTranspose(4, 3, padding="same")(L.DepthwiseConv1D(3, padding="same")(c))
    r = L.GRU(4, return_sequences=True)(L.SimpleRNN(4, return_sequences=True)(c))
    r = L.Bidirectional(L.LSTM(3, return_sequences=True), merge_mode="sum")(r)
    r = L.TimeDistributed(L.Dense(4))(r)
    s = L.RNN([L.LSTMCell(4), L.GRUCell(4)], return_sequences=True)(r)
    a1 = L.Attention(use_scale=True, score_mode="concat")([s, r])
    a2 = L.AdditiveAttention()([s, r, r])
    h = L.BatchNormalization()(L.LayerNormalization()(L.Concatenate()([a1, a2])))
    return keras.Model(seq, L.GlobalMaxPooling1D()(h)), rand(3, 6, 4)


def image_zoo():
    """Every image layout: separable, depthwise, transposed and 3D convolutions; a
    BatchNormalization without beta; a regularized, constrained Dense; reshaping layers."""
    img, vol = keras.Input((8, 8, 3)), keras.Input((4, 4, 4, 2))
    x = L.SeparableConv2D(4, 3, padding="same")(L.Rescaling(0.5, offset=0.1)(img))
    x = L.DepthwiseConv2D(3, depth_multiplier=2, padding="same")(x)
    x = L.BatchNormalization(center=False)(L.Conv2DTranspose(3, 2, strides=2)(x))
    x = L.UpSampling2D()(L.AveragePooling2D(2)(L.Cropping2D(2)(L.ZeroPadding2D(1)(x))))
    x = L.GlobalAveragePooling2D()(x)
    y = L.Flatten()(L.MaxPooling3D(2)(L.Conv3DTranspose(2, 2)(L.Conv3D(3, 2)(vol))))
    y = L.Dense(3, kernel_regularizer="l2", kernel_constraint=keras.constraints.MaxNorm(2.0))(y)
    z = L.Activation("tanh")(L.Multiply()([L.Dense(3)(x), y]))
    km = keras.Model([img, vol], [z, L.RepeatVector(2)(x)])
    return km, [rand(2, 8, 8, 3), rand(2, 4, 4, 4, 2)]


# The zoos cover every weight layout but build many Keras layers (minutes on 2 cores): marked
# extended, .ci/run-extended runs them.
CASES = {f.__name__: f for f in (convnet, multi_io, text, attention)}
SLOW_CASES = {f.__name__: f for f in (sequence_zoo, image_zoo)}


def randomized(weights):
    """Keras's weights replaced by random positive ones (so batch statistics and biases are
    not the trivial zeros and ones); integer weights kept."""
    return [RNG.uniform(0.5, 1.5, np.shape(w)).astype(np.asarray(w).dtype)
            if np.asarray(w).dtype.kind == "f" else np.asarray(w) for w in weights]


@pytest.fixture(scope="module")
def keras_files(tmp_path_factory):
    """``get(case)``: the Keras model, its input, its ``.keras`` and ``.weights.h5`` files and
    Keras's predictions, each case built and saved by Keras once."""
    folder = tmp_path_factory.mktemp("keras")
    cache = {}

    def get(case):
        if case not in cache:
            with lenient():
                km, x = {**CASES, **SLOW_CASES}[case]()
                for layer in km.layers:
                    # Keras's Normalization computes from its adapted statistics once, so new
                    # weights would not reach its own predictions: those stay as adapted.
                    if not isinstance(layer, L.Normalization):
                        layer.set_weights(randomized(layer.get_weights()))
            archive, weights = str(folder / f"{case}.keras"), str(folder / f"{case}.weights.h5")
            km.save(archive)
            km.save_weights(weights)
            cache[case] = km, x, archive, weights, keras_predict(km, x)
        return cache[case]

    return get


@pytest.mark.parametrize("case", [*CASES, *(pytest.param(c, marks=pytest.mark.extended)
                                            for c in SLOW_CASES)])
def test_keras_files_load_in_fnnet_and_fnnet_weights_load_in_keras(case, keras_files, tmp_path):
    km, x, archive, weights, expected = keras_files(case)
    model = models.load_model(archive, compile=case != "multi_io")
    assert model.compiled == (case in ("convnet",))  # multi_io: compile=False; attention, text:
    assert_close(fnnet_predict(model, x), expected)  # never compiled in Keras
    # The same layers in the same order, so get_weights lists Keras's weights as Keras does.
    assert [layer.name for layer in model.layers] == [layer.name for layer in km.layers]
    theirs = [np.asarray(w) for w in km.get_weights()]
    ours = model.get_weights()
    assert [w.shape for w in ours] == [w.shape for w in theirs]
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(a, b)
    # Keras's weights file into the fnnet model.
    model.set_weights([np.zeros_like(w) for w in ours])
    model.load_weights(weights)
    for a, b in zip(model.get_weights(), theirs, strict=True):
        np.testing.assert_array_equal(a, b)
    model.set_weights([np.zeros_like(w) for w in ours])
    model.load_weights(archive)  # just the archive's weights
    for a, b in zip(model.get_weights(), theirs, strict=True):
        np.testing.assert_array_equal(a, b)
    # fnnet's weights file (other weights) into the Keras model.
    model.set_weights(randomized(ours))
    path = str(tmp_path / "fnnet.weights.h5")
    model.save_weights(path)
    try:
        with lenient():
            km.load_weights(path)
        assert_close(keras_predict(km, x), fnnet_predict(model, x))
    finally:
        with lenient():
            km.set_weights(theirs)


def test_the_compile_config_comes_along_and_fine_tuning_works(keras_files):
    _, x, archive, _, (probs,) = keras_files("convnet")
    model = models.load_model(archive)
    config = model.get_compile_config()
    assert config["optimizer"]["name"] == "adam"
    assert config["optimizer"]["config"]["learning_rate"] == pytest.approx(2e-3)
    assert config["loss"] == "sparse_categorical_crossentropy"
    assert config["metrics"] == ["accuracy"]
    y = np.array([0, 1, 2, 1])
    got = model.evaluate(x, y, verbose=0, return_dict=True)
    # Keras's predictions give the expected loss and accuracy (numpy, independent of fnnet).
    assert got["loss"] == pytest.approx(-np.log(probs[np.arange(4), y]).mean(), rel=1e-5)
    assert got["accuracy"] == pytest.approx((probs.argmax(1) == y).mean())
    history = model.fit(x, y, epochs=2, batch_size=2, verbose=0)  # fine-tunes
    assert len(history.history["loss"]) == 2 and np.isfinite(history.history["loss"]).all()


def test_models_built_apart_in_both_libraries_exchange_weights_files(tmp_path):
    """No shared config: the file's layout comes from fnnet's own architecture."""
    a, b = keras.Input((5,)), keras.Input((4,))
    shared = L.Dense(4, activation="relu")
    h = L.Add()([shared(b), L.Dense(4)(a)])
    km = keras.Model([a, b], [L.Dense(2)(shared(h)), L.Dense(1)(h)])
    fa, fb = models.Input((5,)), models.Input((4,))
    fshared = layers.Dense(4, activation="relu")
    fh = layers.Add()([fshared(fb), layers.Dense(4)(fa)])
    model = models.Model([fa, fb], [layers.Dense(2)(fshared(fh)), layers.Dense(1)(fh)])
    x = [rand(3, 5), rand(3, 4)]
    path = str(tmp_path / "k.weights.h5")
    km.save_weights(path)
    model.load_weights(path)
    assert_close(fnnet_predict(model, x), keras_predict(km, x))
    model.set_weights([w * 2 for w in model.get_weights()])
    model.save_weights(path)
    with lenient():
        km.load_weights(path)
    assert_close(keras_predict(km, x), fnnet_predict(model, x))


def test_bfloat16_weights_keep_their_bits(tmp_path):
    km = keras.Sequential([keras.Input((2,)), L.Dense(3, dtype="bfloat16")])
    path = str(tmp_path / "bf16.weights.h5")
    km.save_weights(path)
    model = models.Sequential([layers.Dense(3, input_shape=(2,), param_dtype="bfloat16")])
    model.load_weights(path)
    for a, b in zip(model.get_weights(), km.get_weights(), strict=True):
        assert a.dtype == np.dtype("bfloat16")
        np.testing.assert_array_equal(a.astype(np.float32), np.asarray(b).astype(np.float32))


# --------------------------------------------------------------------------- refused archives
def _save(km, tmp_path, name="m.keras"):
    path = str(tmp_path / name)
    km.save(path)
    return path


LAMBDA_CALLS = []


def test_a_lambda_layer_is_refused_and_never_run(tmp_path):
    with lenient():
        km = keras.Sequential([keras.Input((2,)),
                               L.Lambda(lambda t: (LAMBDA_CALLS.append(1), t * 2)[1])])
        path = _save(km, tmp_path)
    LAMBDA_CALLS.clear()  # Keras ran the lambda while building the model
    with pytest.raises(ValueError, match=r"Keras file: model 'sequential.*' layer #0 \(Lambda "
                                         r"'lambda.*'\): a Lambda layer holds Python code, which "
                                         r"fnnet does not support"):
        models.load_model(path)
    assert not LAMBDA_CALLS


@keras.saving.register_keras_serializable(package="fnnet_tests")
class Doubler(L.Layer):
    def call(self, x):
        return x * 2


@pytest.mark.parametrize("make, message", [
    (lambda: keras.Sequential([keras.Input((2,)), L.PReLU()]),
     r"\(PReLU 'p_re_lu.*'\): the Keras layer class 'PReLU' is not supported by fnnet"),
    (lambda: keras.Sequential([keras.Input((2,)), Doubler()]),
     r"\(Doubler 'doubler.*'\): the Keras layer class 'Doubler' is not supported by fnnet"),
    (lambda: keras.Sequential([keras.Input((2,)), L.Dense(2, activity_regularizer="l2")]),
     r"the Keras argument activity_regularizer=.* is not supported by fnnet's Dense"),
    (lambda: (lambda x: keras.Model(x, keras.ops.multiply(L.Dense(2)(x), 2.0)))(
        keras.Input((2,))),
     r"operation 'multiply(_\d+)?' \(Multiply\).*fnnet does not support Keras operations"),
    (lambda: (lambda x, h: keras.Model(x, [L.GlobalAveragePooling1D()(h), h._keras_mask]))(
        *(lambda x: (x, L.Embedding(3, 2, mask_zero=True)(x)))(keras.Input((2,), dtype="int32"))),
     r"uses the mask computed by the Keras operation 'not_equal.*' as data"),
])
def test_unknown_layers_arguments_and_operations_are_refused(make, message, tmp_path):
    with lenient():
        path = _save(make(), tmp_path)
    with pytest.raises(ValueError, match=message):
        models.load_model(path)


def test_a_layer_called_with_and_without_a_causal_mask_is_refused(tmp_path):
    seq = keras.Input((3, 4))
    attend = L.Attention()
    km = keras.Model(seq, attend([attend([seq, seq], use_causal_mask=True), seq]))
    with pytest.raises(ValueError, match=r"is called with use_causal_mask=True and False; "
                                         r"fnnet takes use_causal_mask once"):
        models.load_model(_save(km, tmp_path))


def test_a_subclassed_model_is_refused(tmp_path):
    @keras.saving.register_keras_serializable(package="fnnet_tests")
    class Net(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense = L.Dense(2)

        def call(self, x):
            return self.dense(x)

    net = Net()
    with lenient():
        net(np.ones((1, 2), np.float32))
        path = _save(net, tmp_path)
    with pytest.raises(ValueError, match=r"the model class 'Net' is a subclassed Keras model, "
                                         r"whose code is not in the file"):
        models.load_model(path)


def _rezip(src, dst, change):
    with zipfile.ZipFile(src) as z:
        members = {name: z.read(name) for name in z.namelist()}
    members = change(members)
    with zipfile.ZipFile(dst, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)


def test_corrupted_and_truncated_archives_are_refused_cleanly(keras_files, tmp_path):
    _, _, archive, _, _ = keras_files("convnet")
    data = open(archive, "rb").read()
    bad = tmp_path / "bad.keras"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"it is not a zip archive .*truncated or of "
                                              r"another format"):
        models.load_model(str(bad))
    with zipfile.ZipFile(archive) as z:
        start = z.getinfo("config.json").header_offset + 30 + len("config.json")
    flipped = bytearray(data)
    flipped[start + 20] ^= 0xFF
    bad.write_bytes(bytes(flipped))
    with pytest.raises(CheckpointError, match=r"its member 'config\.json' is corrupted"):
        models.load_model(str(bad))
    _rezip(archive, bad, lambda m: {k: v for k, v in m.items() if k != "config.json"})
    with pytest.raises(CheckpointError, match=r"the archive has no 'config\.json'.*not a Keras 3"):
        models.load_model(str(bad))
    _rezip(archive, bad, lambda m: {**m, "config.json": b"{not json"})
    with pytest.raises(CheckpointError, match=r"its config\.json or metadata\.json is not valid "
                                              r"JSON"):
        models.load_model(str(bad))
    _rezip(archive, bad, lambda m: {**m, "config.json": b"[1, 2]"})
    with pytest.raises(CheckpointError, match=r"its config\.json is not a JSON object"):
        models.load_model(str(bad))
    _rezip(archive, bad, lambda m: {**m, "model.weights.h5": b"\x89HDF\r\n" + b"0" * 100})
    with pytest.raises(CheckpointError, match=r"is not a readable Keras weights file: HDF5 "
                                              r"could not open it"):
        models.load_model(str(bad))
    with pytest.raises(FileNotFoundError, match=r"no file at .*nope\.keras"):
        models.load_model(str(tmp_path / "nope.keras"))


def test_a_compile_config_fnnet_cannot_compile_names_the_way_out(keras_files, tmp_path):
    _, _, archive, _, _ = keras_files("convnet")
    bad = tmp_path / "bad.keras"

    def change(members):
        config = json.loads(members["config.json"])
        config["compile_config"]["loss"] = "no_such_loss"
        return {**members, "config.json": json.dumps(config).encode()}

    _rezip(archive, bad, change)
    with pytest.raises(ValueError, match=r"load_model: .*bad\.keras' loaded, but its Keras "
                                         r"compile_config does not compile in fnnet: .*"
                                         r"no_such_loss.*models\.load_model\(path, "
                                         r"compile=False\)"):
        models.load_model(str(bad))
    assert not models.load_model(str(bad), compile=False).compiled


def test_a_zip_bomb_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "bomb.keras"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("config.json", b" " * 3000)
        z.writestr("model.weights.h5", b"\0" * (2 << 20))
    monkeypatch.setattr(keras_archive, "_MAX_CONFIG_BYTES", 2000)  # instead of 64 MiB
    with pytest.raises(CheckpointError, match=r"its member 'config\.json' claims 3000 bytes "
                                              r"\(\d+ compressed\), more than a model file holds; "
                                              r"refused"):
        models.load_model(str(path))
    monkeypatch.setattr(keras_archive, "_MAX_RATIO", 100)  # 2 MiB of zeros deflate ~1000:1
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("config.json", b"{}")
        z.writestr("model.weights.h5", b"\0" * (2 << 20))
    with pytest.raises(CheckpointError, match=r"its member 'model\.weights\.h5' claims 2097152 "
                                              r"bytes"):
        models.load_model(str(path))


# --------------------------------------------------------------------------- weights files
@pytest.fixture(scope="module")
def small_file(tmp_path_factory):
    """A Keras weights file (Keras writes it once)."""
    km = keras.Sequential([keras.Input((3,)), L.Dense(4), L.BatchNormalization(), L.Dense(2)])
    path = str(tmp_path_factory.mktemp("small") / "k.weights.h5")
    km.save_weights(path)
    return path


@pytest.fixture
def small(small_file, tmp_path):
    """An fnnet model of the same architecture as ``small_file``, and the file copied into
    ``tmp_path``."""
    path = str(tmp_path / "k.weights.h5")
    with open(small_file, "rb") as src, open(path, "wb") as dst:
        dst.write(src.read())
    model = models.Sequential([layers.Dense(4, input_shape=(3,)), layers.BatchNormalization(),
                               layers.Dense(2)])
    return model, path, [np.array(w) for w in model.get_weights()]


def _edit(src, dst, change):
    with open(src, "rb") as f:
        buffer = io.BytesIO(f.read())
    with h5py.File(buffer, "a") as f:
        change(f)
    with open(dst, "wb") as f:
        f.write(buffer.getvalue())
    return str(dst)


def _unchanged(model, before):
    for a, b in zip(model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("change, error, message", [
    (lambda f: f.__delitem__("layers/dense_1"), ValueError,
     r"has no weights for layer group 'layers/dense_1' \(no 'layers/dense_1/vars'\)"),
    (lambda f: f["layers/batch_normalization/vars"].__delitem__("3"), ValueError,
     r"holds 3 variables at 'layers/batch_normalization/vars', but the model's layer there has "
     r"4"),
    (lambda f: (f["layers/dense/vars"].__delitem__("0"),
                f["layers/dense/vars"].create_dataset("0", data=np.zeros((3, 5), np.float32))),
     ValueError, r"has \(3, 5\) at 'layers/dense/vars/0', but the model expects shape \(3, 4\)"),
    (lambda f: (f["layers/dense/vars"].__delitem__("1"),
                f["layers/dense/vars"].create_dataset("1", data=np.zeros(4, np.int32))),
     ValueError, r"has dtype int32 at 'layers/dense/vars/1', but the model holds float32"),
    (lambda f: f.create_dataset("layers/dense_2/vars/0", data=np.zeros(2, np.float32)),
     ValueError, r"holds weights at \['layers/dense_2/vars'\] that no layer of the model has"),
])
def test_a_mismatched_keras_weights_file_changes_nothing(small, tmp_path, change, error, message):
    model, path, before = small
    bad = _edit(path, tmp_path / "bad.weights.h5", change)
    with pytest.raises(error, match=message):
        model.load_weights(bad)
    _unchanged(model, before)


def test_weights_file_errors(small, tmp_path, monkeypatch):
    model, path, before = small
    truncated = tmp_path / "t.weights.h5"
    truncated.write_bytes(open(path, "rb").read()[:200])
    with pytest.raises(CheckpointError, match=r"is not a readable Keras weights file"):
        model.load_weights(str(truncated))
    with pytest.raises(FileNotFoundError, match=r"load_weights: no file at .*nope\.weights\.h5"):
        model.load_weights(str(tmp_path / "nope.weights.h5"))
    with pytest.raises(ValueError, match=r"load_weights: 'w\.h5' ends in '\.h5' but not in "
                                         r"'\.weights\.h5'.*not Keras 2's legacy \.h5 files\. "
                                         r"Use e\.g\. 'w\.weights\.h5'"):
        model.load_weights("w.h5")
    unbuilt = models.Sequential([layers.Dense(2)])
    with pytest.raises(ValueError, match=r"save_weights: the model is not built yet"):
        unbuilt.save_weights(str(tmp_path / "u.weights.h5"))
    combinator = models.Sequential([serial(layers.Dense(2), layers.Dense(2))])
    combinator.build((None, 3))
    with pytest.raises(ValueError, match=r"layer 'serial' is a fnnet serial combinator, which "
                                         r"has no Keras class"):
        combinator.save_weights(str(tmp_path / "c.weights.h5"))
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(ImportError, match=r"need h5py.*pip install h5py"):
        model.save_weights(str(tmp_path / "x.weights.h5"))
    with pytest.raises(ImportError, match=r"need h5py.*pip install h5py"):
        model.load_weights(path)
    _unchanged(model, before)
    assert sorted(os.listdir(tmp_path)) == ["k.weights.h5", "t.weights.h5"]


def test_a_failed_write_keeps_the_previous_file(small, tmp_path, monkeypatch):
    model, _, _ = small
    path = tmp_path / "m.weights.h5"
    model.save_weights(str(path))
    before = path.read_bytes()
    model.set_weights([w + 1 for w in model.get_weights()])

    def replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(OSError, match=r"No space left on device"):
        model.save_weights(str(path))
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["k.weights.h5", "m.weights.h5"]


def test_weight_paths_show_keras_s_layout():
    inner = models.Sequential([layers.Dense(2, input_shape=(4, 3)), layers.LSTM(2)], name="seq")
    assert keras_weights.weight_paths(inner) == {
        "vars": [], "layers/dense/vars": [(3, 2), (2,)], "layers/lstm/vars": [],
        "layers/lstm/cell/vars": [(2, 8), (2, 8), (8,)]}


def test_translate_model_reads_configs_without_keras():
    config = {"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "Dense", "config": {"name": "d", "units": 2}}]}}
    with pytest.raises(ValueError, match=r"model 's' was never built, so the file has no input "
                                         r"shape"):
        keras_config.translate_model(config)
    with pytest.raises(ValueError, match=r"the model is not a serialized layer"):
        keras_config.translate_model({"class_name": "Sequential"})
    with pytest.raises(ValueError, match=r"the compile_config is not a JSON object"):
        keras_archive.translate_compile_config([1])
    with pytest.raises(ValueError, match=r"the compile_config's optimizer 3 is not a name"):
        keras_archive.translate_compile_config({"optimizer": 3})
    assert json.loads(json.dumps(keras_archive.translate_compile_config(
        {"optimizer": "adam", "loss": "mse"})))["optimizer"] == {"name": "adam", "config": {}}
