"""Saving and loading functional models in fnnet's own format: multi-input, multi-output,
branching and residual graphs, a shared layer, nested Sequential and functional models.

One small graph is used throughout (module fixture), so the compiled programs are shared.
Keras's own files are tested in tests/test_keras_files.py.
"""

import json

import jax
import numpy as np
import pytest

from fnnet import Input, checkpoint, layers, models
from fnnet.checkpoint import CheckpointError
from fnnet.core import Layer
from fnnet.graph import GraphSpec
from fnnet.saving import deserialize_layer, graphs, serialize_layer
from fnnet.utils import set_random_seed

N, BS = 24, 8


def make_data(n=N, seed=0):
    rng = np.random.default_rng(seed)
    xa, xb = rng.random((n, 5), dtype=np.float32), rng.random((n, 4), dtype=np.float32)
    return [xa, xb], [xa[:, :3].argmax(1).astype(np.int32), xb[:, :1] * 2]


def build(seed=0, compile=True):
    """Two inputs, two outputs; a layer shared at two depths, two branches merged, a residual
    around a nested Sequential (with BatchNormalization state) and a nested functional model."""
    set_random_seed(seed)
    a, b = Input((5,), name="a"), Input((4,), name="b")
    shared = layers.Dense(4, activation="relu", name="shared")
    inner = models.Sequential([layers.Dense(4), layers.BatchNormalization()], name="inner")
    i = Input((4,), name="sub_in")
    sub = models.Model(i, layers.Dense(4, name="sub_dense")(i), name="sub")
    h = layers.Add(name="merge")([shared(b), layers.Dense(4, name="from_a")(a)])
    r = layers.Add(name="residual")([h, sub(inner(shared(h)))])
    cls = layers.Dense(3, activation="softmax", name="cls")(layers.Dropout(0.25)(r))
    model = models.Model([a, b], [cls, layers.Dense(1, name="reg")(h)], name="net")
    if compile:
        model.compile(optimizer="adam", loss=["sparse_categorical_crossentropy", "mse"],
                      metrics={"cls": ["accuracy"]})
    return model


def weights_equal(a, b):
    wa, wb = a.get_weights(), b.get_weights()
    return len(wa) == len(wb) and all(
        p.dtype == q.dtype and np.array_equal(p, q) for p, q in zip(wa, wb, strict=True))


def assert_predictions_equal(a, b, x):
    for p, q in zip(a.predict(x, verbose=0), b.predict(x, verbose=0), strict=True):
        np.testing.assert_array_equal(p, q)


@pytest.fixture(scope="module")
def graph(saved):
    """The trained graph of ``saved``. Tests that change its weights put them back."""
    return saved[0]


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """The graph trained 2 epochs, and its model file. Tests must not mutate it."""
    model = build()
    x, y = make_data()
    model.fit(x, y, epochs=2, batch_size=BS, verbose=0)
    path = str(tmp_path_factory.mktemp("saved") / "net.safetensors")
    model.save(path)
    return model, path


# --------------------------------------------------------------------------- round trips
def test_the_graph_has_keras_s_layer_order_and_one_entry_per_shared_layer(graph):
    model = graph
    # Keras's order (its map_graph): deepest first (the longest path to an output; a shared
    # layer takes its deepest call's), ties in order of first reach from the outputs. By hand:
    # cls 0, dropout 1, residual 2, sub 3, inner 4, shared's 2nd call 5, merge 6, shared's 1st
    # call and from_a 7 (shared: 7), a and b 8; first reached: cls, dropout, residual, merge,
    # shared, b, from_a, a, sub, inner, reg. (tests/test_keras_files.py checks Keras agrees.)
    assert [layer.name for layer in model.layers] == [
        "b", "a", "shared", "from_a", "merge", "inner", "sub", "residual", "dropout", "cls",
        "reg"]
    assert len(model.params) == len(model.layers)  # shared: one set of params
    assert isinstance(model.get_layer("inner"), models.Sequential)
    assert isinstance(model.get_layer("sub"), models.Model)
    # get_weights: layer by layer, a nested model's layer by layer (params, then state).
    shapes = [w.shape for w in model.get_weights()]
    assert shapes == [(4, 4), (4,), (5, 4), (4,),                      # shared, from_a
                      (4, 4), (4,), (4,), (4,), (4,), (4,),            # inner: dense, bn
                      (4, 4), (4,), (4, 3), (3,), (4, 1), (1,)]        # sub, cls, reg
    before = model.get_weights()
    model.set_weights([np.full(s, i, np.float32) for i, s in enumerate(shapes)])
    inner_params, inner_state = model.params[5], model.state[5]
    model.set_weights(before)
    assert float(inner_params[1]["beta"][0]) == 7 and float(inner_state[1]["moving_mean"][0]) == 8


def test_save_and_load_restore_graph_weights_and_optimizer(saved):
    model, path = saved
    again = models.load_model(path)
    assert [(lay.name, lay.kind) for lay in again.layers] == [
        (lay.name, lay.kind) for lay in model.layers]
    assert isinstance(again.get_layer("inner"), models.Sequential)
    assert again.output_names == ["cls", "reg"] and again.input_shape == model.input_shape
    assert weights_equal(again, model)
    x, _ = make_data(10, seed=1)
    assert_predictions_equal(again, model, x)
    assert again.get_compile_config() == model.get_compile_config()
    for p, q in zip(jax.tree.leaves(again.train_state.opt_state),
                    jax.tree.leaves(model.train_state.opt_state), strict=True):
        np.testing.assert_array_equal(p, q)
    assert int(again.train_state.step) == int(model.train_state.step) == 2 * 3
    bare = models.load_model(path, compile=False)
    assert not bare.compiled and weights_equal(bare, model)


def test_the_file_keys_weights_by_layer_name_nested_models_included(saved, tmp_path):
    model, path = saved
    arrays, meta = checkpoint.load(path)
    keys = sorted(k[len("weights/"):] for k in arrays if k.startswith("weights/"))
    assert keys == ["cls/bias", "cls/kernel", "from_a/bias", "from_a/kernel",
                    "inner/batch_normalization/beta", "inner/batch_normalization/gamma",
                    "inner/batch_normalization/moving_mean",
                    "inner/batch_normalization/moving_variance", "inner/dense/bias",
                    "inner/dense/kernel", "reg/bias", "reg/kernel", "shared/bias",
                    "shared/kernel", "sub/sub_dense/bias", "sub/sub_dense/kernel"]
    assert meta["architecture"]["class_name"] == "Model"
    weights = str(tmp_path / "w.safetensors")
    model.save_weights(weights)
    fresh = build(seed=5, compile=False)
    fresh.load_weights(weights)
    assert weights_equal(fresh, model)


def test_resume_from_a_saved_functional_model_is_bit_identical(saved):
    """2 epochs, save, load_model, fit to 4 (initial_epoch=2) == 4 uninterrupted epochs."""
    _, path = saved
    x, y = make_data()
    ref = build(seed=0)
    h_ref = ref.fit(x, y, epochs=4, batch_size=BS, verbose=0)
    resumed = models.load_model(path)
    h = resumed.fit(x, y, epochs=4, initial_epoch=2, batch_size=BS, verbose=0)
    assert h.epoch == [2, 3]
    assert h.history == {k: v[2:] for k, v in h_ref.history.items()}
    assert weights_equal(resumed, ref)


def MyScale(factor=2.0):
    """A custom layer kind with a config: loaded only through custom_objects."""
    def init(rng, input_shape):
        return input_shape, (), ()

    def apply(params, state, x, *, rng=None, training=False):
        return x * factor, state

    return Layer(init, apply, kind="MyScale", config={"factor": factor})


def test_a_custom_kind_in_a_nested_model_loads_only_through_custom_objects(tmp_path):
    x = Input((3,), name="x")
    inner = models.Sequential([layers.Dense(2), MyScale(3.0)], name="inner")
    model = models.Model(x, inner(x), name="net")
    path = str(tmp_path / "custom.safetensors")
    model.save(path)
    with pytest.raises(ValueError, match=r"load_model: model 'net' > layer #1 \('inner'\) > "
                                         r"layer #1 \('my_scale'\) of .* custom kind 'MyScale'.*"
                                         r"custom_objects=\{'MyScale'"):
        models.load_model(path)
    again = models.load_model(path, custom_objects={"MyScale": MyScale})
    assert_predictions_equal(again, model, np.ones((2, 3), np.float32))


# --------------------------------------------------------------------------- nested models
def test_a_built_model_called_as_a_layer_brings_its_weights():
    set_random_seed(0)
    base = models.Sequential([layers.Dense(4, input_shape=(3,), name="d")], name="base")
    inputs = Input((3,))
    model = models.Model(inputs, layers.Dense(1)(base(inputs)))
    i = [layer.name for layer in model.layers].index("base")
    np.testing.assert_array_equal(model.params[i][0]["kernel"], base.params[0]["kernel"])
    before = [np.array(w) for w in base.get_weights()]
    model.compile(optimizer="sgd", loss="mse")
    x = np.ones((8, 3), np.float32)
    model.fit(x, np.ones((8, 1), np.float32), epochs=1, verbose=0)  # donates model's buffers
    assert not np.array_equal(model.params[i][0]["kernel"], before[0])
    for p, q in zip(base.get_weights(), before, strict=True):  # base: its own copy, alive
        np.testing.assert_array_equal(p, q)
    assert base.predict(x, verbose=0).shape == (8, 4)


def test_a_model_as_the_first_layer_of_a_sequential(tmp_path):
    set_random_seed(0)
    inner = models.Sequential([layers.Dense(4, input_shape=(3,))], name="inner")
    outer = models.Sequential([inner, layers.Dense(2)], name="outer")
    assert outer.input_shape == (None, 3) and outer.output_shape == (None, 2)
    path = str(tmp_path / "outer.safetensors")
    outer.save(path)
    again = models.load_model(path)
    assert isinstance(again.layers[0], models.Sequential)
    x = np.ones((2, 3), np.float32)
    np.testing.assert_array_equal(again.predict(x, verbose=0), outer.predict(x, verbose=0))


def test_summary_rows_follow_the_layer_order(graph):
    model = graph
    lines = []
    model.summary(print_fn=lines.append)
    rows = {line.split()[0]: line for line in lines if line.split() and line.split()[0] in {
        layer.name for layer in model.layers}}
    assert list(rows) == [layer.name for layer in model.layers]
    assert "36" in rows["inner"].split() and "24" in rows["from_a"].split()
    assert "20" in rows["shared"].split() and "0" in rows["merge"].split()


# --------------------------------------------------------------------------- the JSON
def test_the_architecture_is_json_and_rebuilds_the_same_graph(graph):
    model = graph
    spec = json.loads(json.dumps(serialize_layer(model)))
    config = spec["config"]
    assert [n["layer"] for n in config["nodes"]].count("shared") == 2
    assert config["inputs"] == [{"tensor": ["a", 0, 0]}, {"tensor": ["b", 0, 0]}]
    assert config["outputs"] == [{"tensor": ["cls", 0, 0]}, {"tensor": ["reg", 0, 0]}]
    assert {"layer": "shared", "inputs": {"tensor": ["merge", 0, 0]}} in config["nodes"]
    rebuilt = deserialize_layer(spec, {"Model": models.loading._functional,
                                       "Sequential": models.Sequential,
                                       "InputLayer": models.loading.InputLayer})
    assert [lay.name for lay in rebuilt.layers] == [lay.name for lay in model.layers]
    rebuilt.set_weights(model.get_weights())
    x, _ = make_data(4)
    assert_predictions_equal(rebuilt, model, x)


def _graph_parts():
    x = Input((2,), name="x")
    dense = layers.Dense(2, name="d")
    y = layers.Add(name="add")([dense(x), dense(dense(x))])
    spec = GraphSpec(x, y)
    return spec.layers, graphs.graph_config(spec)


@pytest.mark.parametrize("change, message", [
    (lambda ls, c: (ls + [ls[1]], c), r"two layers are named 'd'"),
    (lambda ls, c: (ls, {**c, "outputs": {"tensor": ["nope", 0, 0]}}),
     r"names the layer 'nope', which the model does not have"),
    (lambda ls, c: (ls, {**c, "outputs": {"tensor": ["d", 7, 0]}}),
     r"names call #7 of layer 'd', which the graph never makes"),
    (lambda ls, c: (ls, {**c, "outputs": {"tensor": ["add", 0, 3]}}),
     r"names output #3 of layer 'add', which has 1 output"),
    (lambda ls, c: (ls, {**c, "outputs": {"tensor": ["add", "0"]}}),
     r"a tensor reference must be \[layer name, node index, output index\]"),
    (lambda ls, c: (ls, {**c, "outputs": 3}), r"3 is not a tensor reference"),
    (lambda ls, c: (ls, {**c, "nodes": [*c["nodes"], {"layer": "x", "inputs": None}]}),
     r"each node must be \{'layer': name, 'inputs': \.\.\.\} naming one of the layers"),
    (lambda ls, c: (ls, {**c, "nodes": [{"layer": "d", "inputs": {"tensor": ["d", 1, 0]}},
                                        {"layer": "d", "inputs": {"tensor": ["d", 0, 0]}},
                                        c["nodes"][-1]]}),
     r"the calls of \['add', 'd'\] wait for inputs that no call produces"),
])
def test_rebuild_graph_refuses_malformed_configs(change, message):
    layer_list, config = _graph_parts()
    layer_list, config = change(list(layer_list), config)
    with pytest.raises(ValueError, match=message):
        graphs.rebuild_graph(layer_list, **config)


def test_load_model_refuses_an_architecture_that_is_not_a_model(saved, tmp_path):
    _, path = saved
    arrays, meta = checkpoint.load(path)
    meta["architecture"] = serialize_layer(layers.Dense(2))
    bad = str(tmp_path / "layer.safetensors")
    checkpoint.save(bad, arrays, meta)
    with pytest.raises(CheckpointError, match=r"describes a Dense layer, not a model"):
        models.load_model(bad)
    meta["architecture"] = {"class_name": "Model"}
    checkpoint.save(bad, arrays, meta)
    with pytest.raises(CheckpointError, match=r"has no valid model architecture and compile "
                                              r"configuration in its header"):
        models.load_model(bad)
    meta["architecture"] = {"class_name": "Model", "name": "m", "config": {"name": "m",
                                                                          "nodes": [1]}}
    checkpoint.save(bad, arrays, meta)
    with pytest.raises(ValueError, match=r"load_model: cannot rebuild the model in .*each node "
                                         r"must be"):
        models.load_model(bad)


def test_a_shared_layer_called_on_inputs_of_another_width_is_refused():
    x = Input((3,))
    dense = layers.Dense(2, name="d")
    with pytest.raises(ValueError, match=r"the shared layer 'd' is called on inputs of shape "
                                         r"\(None, 2\), which need weights of other shapes"):
        models.Model(x, dense(dense(x)))
