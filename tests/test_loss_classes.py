"""Tests for fnnet.losses' Loss classes: reductions, configs and serialization, argument checks,
and what ``get(instance)`` hands a train step (from-logits substitution included)."""

import inspect
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from fnnet import TrainState, layers, losses, make_eval_step, models, serial
from fnnet._validation import check_labels

RNG = np.random.default_rng(1)
B = 5
T = RNG.integers(0, 2, (B, 3)).astype(np.float32)
P = RNG.uniform(0.05, 0.95, (B, 3)).astype(np.float32)
W = RNG.uniform(0.0, 2.0, B).astype(np.float32)

# Every class with non-default arguments, and the function it wraps.
INSTANCES = [
    (losses.BinaryCrossentropy(label_smoothing=0.1), losses.binary_crossentropy),
    (losses.BinaryFocalCrossentropy(apply_class_balancing=True, alpha=0.3, gamma=1.0),
     losses.binary_focal_crossentropy),
    (losses.CategoricalCrossentropy(label_smoothing=0.2), losses.categorical_crossentropy),
    (losses.CategoricalFocalCrossentropy(alpha=0.5, gamma=3.0), losses.categorical_focal_crossentropy),
    (losses.SparseCategoricalCrossentropy(ignore_class=2), losses.sparse_categorical_crossentropy),
    (losses.KLDivergence(), losses.kl_divergence),
    (losses.Poisson(), losses.poisson),
    (losses.MeanSquaredError(reduction="sum"), losses.mean_squared_error),
    (losses.MeanAbsoluteError(), losses.mean_absolute_error),
    (losses.MeanAbsolutePercentageError(), losses.mean_absolute_percentage_error),
    (losses.MeanSquaredLogarithmicError(), losses.mean_squared_logarithmic_error),
    (losses.CosineSimilarity(axis=-1), losses.cosine_similarity),
    (losses.Huber(delta=0.5), losses.huber),
    (losses.LogCosh(name="lc"), losses.log_cosh),
    (losses.Hinge(), losses.hinge),
    (losses.SquaredHinge(), losses.squared_hinge),
    (losses.CategoricalHinge(), losses.categorical_hinge),
    (losses.Dice(axis=(1,)), losses.dice),
    (losses.Tversky(alpha=0.7, beta=0.3), losses.tversky),
    (losses.CTC(reduction="mean_with_sample_weight"), losses.ctc),
]


def test_every_class_is_listed_once():
    assert sorted(type(i).__name__ for i, _ in INSTANCES) == sorted(
        n for n in losses.__all__
        if n[:1].isupper() and n not in ("Loss", "LossFunction", "REDUCTIONS", "EPSILON"))


def _data(fn):
    if fn is losses.sparse_categorical_crossentropy:
        return RNG.integers(0, 3, B), P / P.sum(-1, keepdims=True)
    if fn is losses.ctc:
        return RNG.integers(0, 3, (B, 2)), RNG.normal(size=(B, 4, 3)).astype(np.float32)
    if fn in (losses.categorical_crossentropy, losses.categorical_focal_crossentropy,
              losses.kl_divergence):
        return np.eye(3, dtype=np.float32)[RNG.integers(0, 3, B)], P / P.sum(-1, keepdims=True)
    return T, P


# --- reductions ------------------------------------------------------------------------------


@pytest.mark.parametrize("instance, fn", INSTANCES, ids=lambda x: getattr(x, "name", ""))
def test_call_is_the_function_and_the_instance_reduces_it(instance, fn):
    t, p = _data(fn)
    values = np.asarray(instance.call(t, p))
    kwargs = {k: v for k, v in instance.get_config().items() if k not in ("name", "reduction", "dtype")}
    np.testing.assert_allclose(values, fn(t, p, **kwargs), rtol=1e-6)
    assert values.shape == (B,)
    w = W.copy()
    keep = np.ones(B, bool) if getattr(instance, "ignore_class", None) is None else t != 2
    total = np.sum(values * w)
    expected = {"sum": total, "sum_over_batch_size": total / keep.sum(),
                "mean_with_sample_weight": total / np.sum(w * keep)}[instance.reduction]
    np.testing.assert_allclose(instance(t, p, sample_weight=w), expected, rtol=1e-5)


@pytest.mark.parametrize("reduction, expected", [
    ("sum_over_batch_size", (1 * 2 + 2 * 0 + 3 * 1) / 3),
    ("mean", (1 * 2 + 2 * 0 + 3 * 1) / 3),
    ("sum", 1 * 2 + 2 * 0 + 3 * 1),
    ("mean_with_sample_weight", (1 * 2 + 2 * 0 + 3 * 1) / 3),
])
def test_reduce_weighted_matches_keras_rules(reduction, expected):
    values, w = jnp.array([1.0, 2.0, 3.0]), jnp.array([2.0, 0.0, 1.0])
    np.testing.assert_allclose(losses.reduce_weighted(values, w, reduction=reduction), expected,
                               rtol=1e-6)


def test_reduce_weighted_masks_none_and_edge_cases():
    values = jnp.array([1.0, 2.0, jnp.nan])
    keep = jnp.array([True, True, False])
    np.testing.assert_allclose(losses.reduce_weighted(values, mask=keep), 1.5)  # / 2 valid
    np.testing.assert_allclose(losses.reduce_weighted(values, jnp.array([1.0, 3.0, 1.0]), keep,
                                                      "mean_with_sample_weight"), 7 / 4)
    np.testing.assert_allclose(losses.reduce_weighted(values, mask=keep, reduction="sum"), 3.0)
    np.testing.assert_allclose(losses.reduce_weighted(values, mask=keep, reduction=None), [1, 2, 0])
    np.testing.assert_allclose(losses.reduce_weighted(jnp.array([1.0, 2.0]), jnp.array([2.0, 1.0]),
                                                      reduction="none"), [2.0, 2.0])
    # Nothing counted: 0, not NaN. A scalar passes through. Per-step values take a (batch,) weight.
    assert float(losses.reduce_weighted(values, mask=jnp.zeros(3, bool))) == 0.0
    assert float(losses.reduce_weighted(jnp.float32(4.0), jnp.array([1.0, 2.0]))) == 4.0
    steps = jnp.array([[1.0, 3.0], [5.0, 7.0]])
    np.testing.assert_allclose(losses.reduce_weighted(steps, jnp.array([[1.0], [0.0]])), 4 / 4)


def test_reduce_weighted_errors():
    with pytest.raises(ValueError, match=r"reduce_weighted: reduction must be one of "
                                         r"'sum_over_batch_size'.*got 'avg'"):
        losses.reduce_weighted(jnp.ones(3), reduction="avg")
    with pytest.raises(ValueError, match=r"sample_weight of shape \(4,\) does not fit per-example"
                                         r" values of shape \(3,\); pass one weight per example"):
        losses.reduce_weighted(jnp.ones(3), jnp.ones(4))


def test_jit_and_grad_through_a_loss_instance():
    loss = losses.BinaryCrossentropy(from_logits=True, reduction="sum")
    t = jnp.asarray(T)
    value = jax.jit(loss)(t, jnp.zeros((B, 3)))
    np.testing.assert_allclose(value, B * np.log(2.0), rtol=1e-6)
    grad = jax.grad(lambda x: loss(t, x))(jnp.zeros((B, 3)))
    np.testing.assert_allclose(grad, (0.5 - T) / 3, rtol=1e-6)


def test_sparse_ignore_class_averages_over_the_valid_entries():
    loss = losses.SparseCategoricalCrossentropy(ignore_class=-1)
    p = np.array([[0.2, 0.8], [0.5, 0.5], [0.9, 0.1]], np.float32)
    value = loss(np.array([[1], [-1], [0]]), p)
    np.testing.assert_allclose(value, -(np.log(0.8) + np.log(0.9)) / 2, rtol=1e-6)
    assert loss.entry_mask(np.array([1, 0]), p[:2]).tolist() == [True, True]
    assert losses.SparseCategoricalCrossentropy().entry_mask(np.array([1]), p[:1]) is None


def test_a_subclass_defines_call():
    class Cubed(losses.Loss):
        def call(self, y_true, y_pred):
            return jnp.mean(jnp.abs(y_pred - y_true) ** 3, axis=-1)

    loss = Cubed(reduction="sum")
    assert loss.name == "cubed" and loss.get_config()["reduction"] == "sum"
    np.testing.assert_allclose(loss(jnp.zeros((2, 1)), jnp.full((2, 1), 2.0)), 16.0)
    fn = losses.get(loss)
    assert fn.reduction == "sum" and fn.__name__ == "cubed"
    np.testing.assert_allclose(fn(jnp.zeros((2, 1)), jnp.full((2, 1), 2.0)), [8.0, 8.0])
    assert losses.serialize(loss) is None  # saved by name only, like a custom function
    with pytest.raises(NotImplementedError, match=r"Bare: a Loss subclass must define call"):
        type("Bare", (losses.Loss,), {})()(jnp.zeros(2), jnp.zeros(2))


# --- configs, serialization --------------------------------------------------------------------


@pytest.mark.parametrize("instance, fn", INSTANCES, ids=lambda x: getattr(x, "name", ""))
def test_serialize_round_trips_through_json(instance, fn):
    config = losses.serialize(instance)
    assert config["class_name"] == type(instance).__name__
    again = losses.deserialize(json.loads(json.dumps(config)))
    assert type(again) is type(instance)
    assert again.get_config() == instance.get_config()
    t, p = _data(fn)
    np.testing.assert_allclose(again(t, p), instance(t, p), rtol=1e-6)
    assert losses.serialize(losses.get(config)) == config  # get(dict) keeps it too


def test_signatures_are_keras_argument_orders():
    params = list(inspect.signature(losses.SparseCategoricalCrossentropy).parameters)
    assert params == ["from_logits", "ignore_class", "reduction", "axis", "name", "dtype"]
    params = list(inspect.signature(losses.Tversky).parameters)
    assert params == ["alpha", "beta", "reduction", "name", "axis", "dtype"]
    loss = losses.BinaryCrossentropy(True, 0.2)
    assert (loss.from_logits, loss.label_smoothing, loss.axis, loss.name, loss.dtype) == \
        (True, 0.2, -1, "binary_crossentropy", "float32")
    assert repr(losses.Huber(2.0)).startswith("Huber(delta=2.0, reduction='sum_over_batch_size'")


def test_deserialize_errors():
    with pytest.raises(ValueError, match=r"losses.deserialize: expected a dict \{'class_name'"):
        losses.deserialize({"config": {}})
    with pytest.raises(ValueError, match=r"Unknown loss class 'Hubber'.*did you mean 'Huber'"):
        losses.deserialize({"class_name": "Hubber", "config": {}})

    class Mine(losses.Loss):
        def call(self, y_true, y_pred):
            return y_pred[:, 0]

    assert isinstance(losses.deserialize({"class_name": "Mine"}, custom_objects={"Mine": Mine}), Mine)


@pytest.mark.parametrize("build, error, match", [
    (lambda: losses.BinaryCrossentropy(from_logits=1), TypeError,
     r"BinaryCrossentropy: from_logits must be True or False; got 1"),
    (lambda: losses.BinaryCrossentropy(label_smoothing=1.5), ValueError,
     r"BinaryCrossentropy: label_smoothing must be in \[0, 1\]; got label_smoothing=1.5"),
    (lambda: losses.BinaryCrossentropy(label_smoothing="0.1"), TypeError,
     r"label_smoothing must be a finite float; got '0.1'"),
    (lambda: losses.BinaryFocalCrossentropy(gamma=-1.0), ValueError,
     r"gamma must be >= 0; got gamma=-1.0"),
    (lambda: losses.Huber(delta=0.0), ValueError, r"Huber: delta must be > 0; got delta=0.0"),
    (lambda: losses.CategoricalCrossentropy(axis=1.0), TypeError,
     r"CategoricalCrossentropy: axis must be an int \(e.g. -1, the last axis\); got 1.0"),
    (lambda: losses.Dice(axis=[1, "2"]), TypeError, r"Dice: axis must be an int"),
    (lambda: losses.SparseCategoricalCrossentropy(ignore_class=1.0), TypeError,
     r"ignore_class must be an int class id or None; got 1.0"),
    (lambda: losses.MeanSquaredError(reduction="auto"), ValueError,
     r"MeanSquaredError: reduction must be one of .*got 'auto'"),
    (lambda: losses.MeanSquaredError(name=3), TypeError,
     r"MeanSquaredError: name must be a string or None; got 3"),
    (lambda: losses.MeanSquaredError(dtype="int32"), ValueError,
     r"MeanSquaredError: dtype must be a float dtype such as 'float32', or None; got 'int32'"),
    (lambda: losses.MeanSquaredError(dtype="nonsense"), ValueError, r"dtype must be a float dtype"),
    (lambda: losses.Hinge(delta=1.0), TypeError,
     r"Hinge: got an unexpected keyword argument 'delta'. It accepts reduction, name, dtype"),
])
def test_argument_checks(build, error, match):
    with pytest.raises(error, match=match):
        build()


# --- what get() hands a train step -----------------------------------------------------------


def test_get_instance_gives_the_bound_builtin():
    loss = losses.CategoricalFocalCrossentropy(gamma=3.0, label_smoothing=0.1, reduction="sum")
    fn = losses.get(loss)
    assert isinstance(fn, losses.LossFunction) and fn is loss.per_example
    assert losses.base_loss(fn) is losses.categorical_focal_crossentropy
    assert losses.base_loss(loss) is losses.categorical_focal_crossentropy
    assert (fn.reduction, fn.name, fn.__name__) == ("sum", "categorical_focal_crossentropy",
                                                    "categorical_focal_crossentropy")
    assert losses.matching_activation(fn) == "softmax"
    variant = losses.from_logits_variant(fn)
    assert isinstance(variant, losses.LossFunction) and variant.reduction == "sum"
    assert variant.keywords == {"alpha": 0.25, "gamma": 3.0, "from_logits": True,
                                "label_smoothing": 0.1, "axis": -1}
    assert losses.from_logits_variant(loss).keywords == variant.keywords
    assert losses.bound_arguments(loss)["gamma"] == 3.0
    assert losses.is_sparse(losses.SparseCategoricalCrossentropy())
    # get() of a class builds it with Keras's defaults.
    assert losses.get(losses.Huber).keywords == {"delta": 1.0}


def test_an_instance_that_takes_logits_gets_no_substitution():
    fn = losses.get(losses.BinaryCrossentropy(from_logits=True))
    assert losses.from_logits_variant(fn) is None and losses.matching_activation(fn) is None
    assert losses.matching_activation(losses.Huber()) is None


def test_a_train_step_substitutes_the_logits_keeping_the_instance_arguments():
    model = serial(layers.Dense(3, activation="sigmoid"))
    ts = TrainState.create(model, "sgd", rng=0, input_shape=(None, 2))
    # Saturating logits (40, -40, 0): exact only when the loss is computed from them.
    params = jax.tree.map(
        lambda a: jnp.array([[40.0, -40.0, 0.0], [0.0, 0.0, 0.0]]) if a.ndim == 2 else
        jnp.zeros_like(a), ts.params)
    x, y = jnp.array([[1.0, 0.0]]), jnp.array([[0.0, 1.0, 1.0]])
    loss = losses.BinaryCrossentropy(label_smoothing=0.1)
    logs = jax.jit(make_eval_step(model, loss))(params, ts.state, x, y)
    logits = jnp.array([[40.0, -40.0, 0.0]])
    exact = losses.binary_crossentropy(y, logits, from_logits=True, label_smoothing=0.1)
    clipped = losses.binary_crossentropy(y, jax.nn.sigmoid(logits), label_smoothing=0.1)
    np.testing.assert_allclose(logs["loss"], exact[0], rtol=1e-6)
    assert not np.isclose(float(exact[0]), float(clipped[0]), rtol=1e-3)


def test_compile_save_and_load_keep_a_loss_instance(tmp_path):
    model = models.Sequential([layers.Dense(1, activation="sigmoid", input_shape=(2,))])
    model.compile(optimizer="sgd", loss=losses.BinaryCrossentropy(label_smoothing=0.1),
                  metrics=["accuracy"])
    config = model.get_compile_config()
    assert config["loss"] == {"class_name": "BinaryCrossentropy", "config": {
        "from_logits": False, "label_smoothing": 0.1, "axis": -1,
        "reduction": "sum_over_batch_size", "name": "binary_crossentropy", "dtype": None}}
    path = str(tmp_path / "m.safetensors")
    model.save(path)
    again = models.load_model(path)
    assert again.get_compile_config()["loss"] == config["loss"]
    x, y = np.ones((4, 2), np.float32), np.array([0, 1, 1, 0], np.float32)
    np.testing.assert_allclose(again.evaluate(x, y, verbose=0)[0],
                               model.evaluate(x, y, verbose=0)[0], rtol=1e-6)


def test_label_checks_know_ignore_class_and_ctc():
    sparse = losses.get(losses.SparseCategoricalCrossentropy(ignore_class=-1))
    check_labels("fit", sparse, np.array([0, 2, -1, 1]), (None, 3))  # -1 is masked, not an error
    with pytest.raises(ValueError, match=r"sparse labels must be in \[0, 3\).*\[0, 3\]"):
        check_labels("fit", sparse, np.array([0, 3, -1]), (None, 3))
    check_labels("fit", losses.ctc, np.array([[1, 2, 0]]), (None, 7, 4))
