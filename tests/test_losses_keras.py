"""fnnet.losses against Keras 3 (JAX backend): values, reductions, gradients from logits.

Skipped when keras is not installed. Keras is called under standard dtype and rank promotion
(the suite runs JAX strict), on the same float32 inputs.
"""

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from fnnet import losses

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")

RNG = np.random.default_rng(7)
N, C = 6, 4


def keras_call(fn, *args, **kwargs):
    with jax.numpy_dtype_promotion("standard"), jax.numpy_rank_promotion("allow"):
        return np.asarray(fn(*args, **kwargs))


LABELS = RNG.integers(0, C, N)
ONE_HOT = np.eye(C, dtype=np.float32)[LABELS]
PROBS = RNG.dirichlet(np.ones(C), N).astype(np.float32)
LOGITS = (4 * RNG.normal(size=(N, C))).astype(np.float32)
BIN_T = RNG.integers(0, 2, (N, 3)).astype(np.float32)
BIN_P = RNG.uniform(0.01, 0.99, (N, 3)).astype(np.float32)
REAL_T = RNG.normal(size=(N, 3)).astype(np.float32)
REAL_P = RNG.normal(size=(N, 3)).astype(np.float32)
POS_T = RNG.uniform(0.1, 3, (N, 3)).astype(np.float32)
POS_P = RNG.uniform(0.1, 3, (N, 3)).astype(np.float32)
SEG_T = RNG.integers(0, 2, (N, 4, 4, 1)).astype(np.float32)
SEG_P = RNG.uniform(size=(N, 4, 4, 1)).astype(np.float32)
CTC_T = np.array([[1, 2, 2, 0], [3, 0, 0, 0], [3, 1, 3, 2], [1, 1, 0, 0], [2, 0, 0, 0],
                  [3, 3, 3, 0]], np.int32)
CTC_P = RNG.normal(size=(N, 9, 4)).astype(np.float32)
WEIGHTS = RNG.uniform(0.0, 2.0, N).astype(np.float32)

# (function name, arguments, y_true, y_pred): every Keras loss function fnnet has.
FUNCTIONS = [
    ("binary_crossentropy", {"label_smoothing": 0.1}, BIN_T, BIN_P),
    ("binary_crossentropy", {"from_logits": True}, BIN_T, REAL_P * 5),
    ("categorical_crossentropy", {"label_smoothing": 0.2}, ONE_HOT, PROBS),
    ("categorical_crossentropy", {"from_logits": True}, ONE_HOT, LOGITS),
    ("sparse_categorical_crossentropy", {}, LABELS, PROBS),
    ("sparse_categorical_crossentropy", {"from_logits": True, "ignore_class": 1}, LABELS, LOGITS),
    ("binary_focal_crossentropy", {"apply_class_balancing": True, "alpha": 0.3, "gamma": 1.5,
                                   "label_smoothing": 0.1}, BIN_T, BIN_P),
    ("binary_focal_crossentropy", {"from_logits": True}, BIN_T, REAL_P * 5),
    ("categorical_focal_crossentropy", {"alpha": 0.4, "gamma": 3.0, "label_smoothing": 0.1},
     ONE_HOT, PROBS),
    ("categorical_focal_crossentropy", {"from_logits": True}, ONE_HOT, LOGITS),
    ("mean_squared_error", {}, REAL_T, REAL_P),
    ("mean_absolute_error", {}, REAL_T, REAL_P),
    ("mean_absolute_percentage_error", {}, REAL_T, REAL_P),
    ("mean_squared_logarithmic_error", {}, POS_T, POS_P),
    ("huber", {"delta": 0.7}, REAL_T, REAL_P),
    ("log_cosh", {}, REAL_T, REAL_P * 40),
    ("cosine_similarity", {}, REAL_T, REAL_P),
    ("kl_divergence", {}, PROBS, np.roll(PROBS, 1, 0)),
    ("poisson", {}, POS_T, POS_P),
    ("hinge", {}, BIN_T, REAL_P),
    ("squared_hinge", {}, BIN_T, REAL_P),
    ("categorical_hinge", {}, ONE_HOT, LOGITS),
    ("dice", {"axis": (1, 2, 3)}, SEG_T, SEG_P),
    ("tversky", {"alpha": 0.7, "beta": 0.3, "axis": (1, 2, 3)}, SEG_T, SEG_P),
    ("ctc", {}, CTC_T, CTC_P),
]


@pytest.mark.parametrize("name, kwargs, y_true, y_pred", FUNCTIONS,
                         ids=[f"{f[0]}-{i}" for i, f in enumerate(FUNCTIONS)])
def test_functions_equal_keras(name, kwargs, y_true, y_pred):
    expected = keras_call(getattr(keras.losses, name), y_true, y_pred, **kwargs)
    out = getattr(losses, name)(y_true, y_pred, **kwargs)
    assert out.shape == expected.shape == (N,)
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-7)


# (class name, arguments, y_true, y_pred) for the reductions with sample weights.
CLASSES = [
    ("BinaryCrossentropy", {"label_smoothing": 0.1}, BIN_T, BIN_P),
    ("BinaryFocalCrossentropy", {"gamma": 1.0}, BIN_T, BIN_P),
    ("CategoricalCrossentropy", {"from_logits": True}, ONE_HOT, LOGITS),
    ("CategoricalFocalCrossentropy", {}, ONE_HOT, PROBS),
    ("SparseCategoricalCrossentropy", {}, LABELS, PROBS),
    ("SparseCategoricalCrossentropy", {"ignore_class": 2}, LABELS, PROBS),
    ("MeanSquaredError", {}, REAL_T, REAL_P),
    ("MeanAbsoluteError", {}, REAL_T, REAL_P),
    ("MeanAbsolutePercentageError", {}, REAL_T, REAL_P),
    ("MeanSquaredLogarithmicError", {}, POS_T, POS_P),
    ("CosineSimilarity", {}, REAL_T, REAL_P),
    ("Huber", {"delta": 2.0}, REAL_T, REAL_P * 3),
    ("LogCosh", {}, REAL_T, REAL_P),
    ("KLDivergence", {}, PROBS, np.roll(PROBS, 1, 0)),
    ("Poisson", {}, POS_T, POS_P),
    ("Hinge", {}, BIN_T, REAL_P),
    ("SquaredHinge", {}, BIN_T, REAL_P),
    ("CategoricalHinge", {}, ONE_HOT, LOGITS),
    ("Dice", {"axis": (1, 2, 3)}, SEG_T, SEG_P),
    ("Tversky", {"axis": (1, 2, 3)}, SEG_T, SEG_P),
    ("CTC", {}, CTC_T, CTC_P),
]


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "mean",
                                       "mean_with_sample_weight", None])
@pytest.mark.parametrize("name, kwargs, y_true, y_pred", CLASSES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CLASSES)])
def test_classes_reduce_as_keras(name, kwargs, y_true, y_pred, reduction):
    ours = getattr(losses, name)(reduction=reduction, **kwargs)
    theirs = getattr(keras.losses, name)(reduction=reduction, **kwargs)
    for weights in (None, WEIGHTS):
        expected = keras_call(theirs, y_true, y_pred, sample_weight=weights)
        np.testing.assert_allclose(ours(y_true, y_pred, sample_weight=weights), expected,
                                   rtol=2e-6, atol=1e-7)


@pytest.mark.parametrize("name", [c[0] for c in CLASSES[::2]] + ["Dice", "CTC"])
def test_default_names_and_keras_configs_load(name):
    theirs = getattr(keras.losses, name)()
    ours = getattr(losses, name)()
    assert ours.name == theirs.name
    loaded = losses.deserialize(keras.losses.serialize(theirs))
    assert type(loaded) is type(ours) and loaded.get_config() == ours.get_config()


# --- gradients from logits ---------------------------------------------------------------------

LOGIT_POINTS = jnp.array([[0.0, 50.0, -50.0], [0.0, 0.0, 0.0], [50.0, -50.0, 0.0]])
FROM_LOGITS = [
    ("BinaryCrossentropy", jnp.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.3], [1.0, 1.0, 0.0]])),
    ("BinaryFocalCrossentropy", jnp.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.3], [1.0, 1.0, 0.0]])),
    ("CategoricalCrossentropy", jnp.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])),
    ("CategoricalFocalCrossentropy", jnp.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0],
                                                [0.0, 1.0, 0.0]])),
    ("SparseCategoricalCrossentropy", jnp.array([2, 0, 1])),
]


@pytest.mark.parametrize("name, y_true", FROM_LOGITS, ids=[f[0] for f in FROM_LOGITS])
def test_gradients_from_logits_equal_keras_at_0_and_50(name, y_true):
    ours = getattr(losses, name)(from_logits=True)
    theirs = getattr(keras.losses, name)(from_logits=True)
    expected = keras_call(jax.grad(lambda x: theirs(y_true, x)), LOGIT_POINTS)
    np.testing.assert_allclose(jax.grad(lambda x: ours(y_true, x))(LOGIT_POINTS), expected,
                               rtol=1e-6, atol=1e-6)
    # The same through the per-example function a train step uses, and through the
    # from-logits substitution of a probability-form instance.
    variant = losses.from_logits_variant(getattr(losses, name)())
    np.testing.assert_allclose(
        jax.grad(lambda x: jnp.mean(variant(y_true, x)))(LOGIT_POINTS), expected,
        rtol=1e-6, atol=1e-6)
    values = ours.call(y_true, 16 * LOGIT_POINTS)  # logits of +-800
    assert np.all(np.isfinite(values))
    np.testing.assert_allclose(values, keras_call(theirs.call, y_true, 16 * LOGIT_POINTS),
                               rtol=1e-6)
