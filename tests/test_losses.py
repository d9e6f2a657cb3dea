"""Tests for fnnet.losses's functions: numpy references, extreme inputs, logits variants, get().

The Loss classes and reductions are in test_loss_classes.py; the comparisons with Keras 3 in
test_losses_keras.py.
"""

import functools
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from fnnet import losses

EPS = 1e-7
RNG = np.random.default_rng(0)
B, C = 6, 4


# --- independent numpy references (float64) ------------------------------------------------


def np_cce(t, p, label_smoothing=0.0):
    if label_smoothing:
        t = t * (1 - label_smoothing) + label_smoothing / t.shape[-1]
    p = p / p.sum(-1, keepdims=True)
    p = np.clip(p, EPS, 1 - EPS)
    return -(t * np.log(p)).sum(-1)


def np_bce(t, p, label_smoothing=0.0):
    if label_smoothing:
        t = t * (1 - label_smoothing) + 0.5 * label_smoothing
    p = np.clip(p, EPS, 1 - EPS)
    return (-(t * np.log(p) + (1 - t) * np.log(1 - p))).mean(-1)


def np_huber(t, p, delta=1.0):
    e = np.abs(p - t)
    return np.where(e <= delta, 0.5 * e**2, delta * e - 0.5 * delta**2).mean(-1)


def np_hinge_labels(t):
    return 2 * t - 1 if np.all((t == 0) | (t == 1)) else t


NP_REGRESSION = {
    "mean_squared_error": lambda t, p: ((t - p) ** 2).mean(-1),
    "mean_absolute_error": lambda t, p: np.abs(t - p).mean(-1),
    "mean_absolute_percentage_error": lambda t, p: (
        100 * (np.abs(t - p) / np.maximum(np.abs(t), EPS)).mean(-1)
    ),
    "mean_squared_logarithmic_error": lambda t, p: (
        (np.log(np.maximum(p, EPS) + 1) - np.log(np.maximum(t, EPS) + 1)) ** 2
    ).mean(-1),
    "huber": np_huber,
    "log_cosh": lambda t, p: np.log(np.cosh(p - t)).mean(-1),
    "poisson": lambda t, p: (p - t * np.log(p + EPS)).mean(-1),
    "hinge": lambda t, p: np.maximum(1 - np_hinge_labels(t) * p, 0).mean(-1),
    "squared_hinge": lambda t, p: (np.maximum(1 - np_hinge_labels(t) * p, 0) ** 2).mean(-1),
    "kl_divergence": lambda t, p: (
        np.clip(t, EPS, 1) * np.log(np.clip(t, EPS, 1) / np.clip(p, EPS, 1))
    ).sum(-1),
}


def np_l2(x):
    return x / np.maximum(np.sqrt((x**2).sum(-1, keepdims=True)), EPS)


def np_focal_binary(t, p, gamma=2.0, alpha=0.25, balance=False):
    pc = np.clip(p, EPS, 1 - EPS)
    bce = -(t * np.log(pc) + (1 - t) * np.log(1 - pc))
    p_t = t * p + (1 - t) * (1 - p)
    out = (1 - p_t) ** gamma * bce
    if balance:
        out = (t * alpha + (1 - t) * (1 - alpha)) * out
    return out.mean(-1)


def np_focal_categorical(t, p, gamma=2.0, alpha=0.25):
    pc = np.clip(p / p.sum(-1, keepdims=True), EPS, 1 - EPS)
    return (alpha * (1 - pc) ** gamma * -t * np.log(pc)).sum(-1)


def np_ctc(labels, logits):
    """Brute force: the probability of every frame path that collapses to the labels."""
    probs = np.exp(logits - logits.max(-1, keepdims=True))
    probs = probs / probs.sum(-1, keepdims=True)
    frames, classes = probs.shape
    target = tuple(int(v) for v in labels if v != 0)
    total = 0.0
    for path in itertools.product(range(classes), repeat=frames):
        collapsed = [c for i, c in enumerate(path) if c != 0 and (i == 0 or path[i - 1] != c)]
        if tuple(collapsed) == target:
            total += np.prod(probs[np.arange(frames), path])
    return -np.log(total)


NP_MORE = {
    "categorical_hinge": lambda t, p: np.maximum(
        ((1 - t) * p).max(-1) - (t * p).sum(-1) + 1, 0),
    "cosine_similarity": lambda t, p: -(np_l2(t) * np_l2(p)).sum(-1),
    "binary_focal_crossentropy": np_focal_binary,
    "categorical_focal_crossentropy": np_focal_categorical,
    "dice": lambda t, p: 1 - 2 * (t * p).sum(-1) / (t.sum(-1) + p.sum(-1) + EPS),
    "tversky": lambda t, p: 1 - (t * p).sum(-1) / (
        (t * p).sum(-1) + 0.5 * ((1 - p) * t).sum(-1) + 0.5 * (p * (1 - t)).sum(-1) + EPS),
}


def f32(x):
    return jnp.asarray(np.asarray(x, np.float32))


def as_f32_then_64(*arrays):
    """The float32 values fnnet computes on, in float64 for the numpy reference.

    A reference fed the original float64 draws would compare different inputs: 1.6e-79 is a
    non-zero label in float64 but exactly 0 in float32, which flips hinge's label rule. XLA on
    CPU also flushes float32 subnormals (below 1.18e-38) to zero, so the reference does too.
    """
    out = []
    for a in arrays:
        a32 = np.asarray(a, np.float32)
        a32 = np.where(np.abs(a32) < np.finfo(np.float32).tiny, np.float32(0), a32)
        out.append(a32.astype(np.float64))
    return tuple(out)


def probs(shape):
    x = RNG.uniform(0.05, 1.0, shape)
    return x / x.sum(-1, keepdims=True)


def one_hot(labels, n):
    return np.eye(n)[labels]


# --- values against numpy ------------------------------------------------------------------


def test_categorical_crossentropy_matches_numpy():
    t = one_hot(RNG.integers(0, C, B), C)
    p = RNG.uniform(0.05, 2.0, (B, C))  # unnormalised on purpose: it is renormalised
    out = losses.categorical_crossentropy(f32(t), f32(p))
    assert out.shape == (B,)
    np.testing.assert_allclose(out, np_cce(t, p), rtol=1e-5, atol=1e-6)
    soft = probs((B, C))
    np.testing.assert_allclose(
        losses.categorical_crossentropy(f32(soft), f32(p), label_smoothing=0.2),
        np_cce(soft, p, label_smoothing=0.2),
        rtol=1e-5,
    )


def test_categorical_crossentropy_other_axis():
    t = one_hot(RNG.integers(0, C, B), C)
    p = probs((B, C))
    out = losses.categorical_crossentropy(f32(t.T), f32(p.T), axis=0)
    np.testing.assert_allclose(out, np_cce(t, p), rtol=1e-5)


def test_sparse_categorical_crossentropy_matches_numpy_and_label_forms():
    labels = RNG.integers(0, C, B)
    p = probs((B, C))
    expected = np_cce(one_hot(labels, C), p)
    for y in (labels, labels.astype(np.float32), labels[:, None], labels[:, None].astype(float)):
        out = losses.sparse_categorical_crossentropy(jnp.asarray(y), f32(p))
        assert out.shape == (B,)
        np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


def test_sparse_categorical_crossentropy_other_axis():
    labels = RNG.integers(0, C, (2, 3))
    p = probs((2, 3, C))
    out = losses.sparse_categorical_crossentropy(
        jnp.asarray(labels), f32(np.moveaxis(p, -1, 1)), axis=1
    )
    np.testing.assert_allclose(out, np_cce(one_hot(labels, C), p), rtol=1e-5)


def test_binary_crossentropy_matches_numpy():
    t = RNG.integers(0, 2, (B, 3)).astype(np.float64)
    p = RNG.uniform(0.01, 0.99, (B, 3))
    np.testing.assert_allclose(losses.binary_crossentropy(f32(t), f32(p)), np_bce(t, p), rtol=1e-5)
    np.testing.assert_allclose(
        losses.binary_crossentropy(f32(t), f32(p), label_smoothing=0.1),
        np_bce(t, p, label_smoothing=0.1),
        rtol=1e-5,
    )


def test_binary_crossentropy_accepts_int_labels_and_rank_mismatch():
    t = RNG.integers(0, 2, B)
    p = RNG.uniform(0.01, 0.99, B)
    expected = np_bce(t[:, None].astype(float), p[:, None])
    for yt, yp in ((t, p), (t[:, None], p), (t, p[:, None])):
        out = losses.binary_crossentropy(jnp.asarray(yt), f32(yp))
        assert out.shape == (B,)
        np.testing.assert_allclose(out, expected, rtol=1e-5)


@pytest.mark.parametrize("name", sorted(NP_REGRESSION))
def test_regression_losses_match_numpy(name):
    if name in ("hinge", "squared_hinge"):
        t = RNG.integers(0, 2, (B, 3)).astype(np.float64)
        p = RNG.normal(size=(B, 3))
    elif name == "kl_divergence":
        t, p = probs((B, 3)), probs((B, 3))
    else:
        t = RNG.uniform(0.1, 3.0, (B, 3))
        p = RNG.uniform(0.1, 3.0, (B, 3))
    fn = losses.get(name)
    out = fn(f32(t), f32(p))
    assert out.shape == (B,)
    np.testing.assert_allclose(out, NP_REGRESSION[name](t, p), rtol=1e-5, atol=1e-5)


def test_hinge_keeps_minus_one_one_labels():
    t = np.array([[-1.0, 1.0], [1.0, -1.0]])
    p = np.array([[0.3, 0.2], [-0.5, 2.0]])
    expected = np.maximum(1 - t * p, 0).mean(-1)
    np.testing.assert_allclose(losses.hinge(f32(t), f32(p)), expected, rtol=1e-6)


def test_huber_delta():
    t = RNG.normal(size=(B, 3))
    p = RNG.normal(scale=3.0, size=(B, 3))
    np.testing.assert_allclose(
        losses.huber(f32(t), f32(p), delta=2.0), np_huber(t, p, 2.0), rtol=1e-5
    )


def test_log_cosh_does_not_overflow():
    out = losses.log_cosh(f32([0.0, 0.0]), f32([200.0, -200.0]))
    np.testing.assert_allclose(out, [200 - np.log(2)] * 2, rtol=1e-6)


def test_rank_one_inputs_are_one_value_per_example():
    t, p = RNG.normal(size=B), RNG.normal(size=B)
    out = losses.mse(f32(t), f32(p))
    assert out.shape == (B,)
    np.testing.assert_allclose(out, (t - p) ** 2, rtol=1e-5)


@pytest.mark.parametrize("name", sorted(NP_MORE))
def test_new_keras_losses_match_numpy(name):
    if name in ("categorical_hinge", "categorical_focal_crossentropy"):
        t, p = one_hot(RNG.integers(0, C, B), C), probs((B, C))
    elif name == "cosine_similarity":
        t, p = RNG.normal(size=(B, 3)), RNG.normal(size=(B, 3))
    else:
        t, p = RNG.integers(0, 2, (B, 5)).astype(np.float64), RNG.uniform(0.01, 0.99, (B, 5))
    out = losses.get(name)(f32(t), f32(p))
    assert out.shape == (B,)
    np.testing.assert_allclose(out, NP_MORE[name](*as_f32_then_64(t, p)), rtol=1e-5, atol=1e-6)


def test_focal_arguments_match_numpy():
    t, p = RNG.integers(0, 2, (B, 3)).astype(np.float64), RNG.uniform(0.01, 0.99, (B, 3))
    out = losses.binary_focal_crossentropy(f32(t), f32(p), apply_class_balancing=True,
                                           alpha=0.4, gamma=1.5)
    np.testing.assert_allclose(out, np_focal_binary(*as_f32_then_64(t, p), 1.5, 0.4, True),
                               rtol=1e-5)
    smoothed = t * 0.9 + 0.05
    np.testing.assert_allclose(losses.binary_focal_crossentropy(f32(t), f32(p), label_smoothing=0.1),
                               np_focal_binary(smoothed, as_f32_then_64(p)[0]), rtol=1e-5)
    tc, pc = one_hot(RNG.integers(0, C, B), C), probs((B, C))
    np.testing.assert_allclose(
        losses.categorical_focal_crossentropy(f32(tc), f32(pc), alpha=0.5, gamma=3.0),
        np_focal_categorical(*as_f32_then_64(tc, pc), 3.0, 0.5), rtol=1e-5)
    # gamma = 0, alpha = 1 is the cross-entropy itself; from_logits applies softmax first.
    logits = RNG.normal(size=(B, C))
    np.testing.assert_allclose(
        losses.categorical_focal_crossentropy(f32(tc), f32(logits), alpha=1.0, gamma=0.0,
                                              from_logits=True),
        losses.categorical_crossentropy(f32(tc), f32(logits), from_logits=True), rtol=1e-5)


def test_dice_and_tversky_reduce_every_axis_but_the_batch():
    t = RNG.integers(0, 2, (B, 4, 4, 1)).astype(np.float64)
    p = RNG.uniform(size=(B, 4, 4, 1))
    flat_t, flat_p = t.reshape(B, -1), p.reshape(B, -1)
    np.testing.assert_allclose(losses.dice(f32(t), f32(p)),
                               NP_MORE["dice"](*as_f32_then_64(flat_t, flat_p)), rtol=1e-5)
    np.testing.assert_allclose(losses.dice(f32(t), f32(p), axis=(1, 2, 3)),
                               losses.dice(f32(t), f32(p)), rtol=1e-6)
    per_row = losses.tversky(f32(t), f32(p), alpha=0.7, beta=0.3, axis=(2, 3))
    assert per_row.shape == (B, 4)
    ft, fp_ = as_f32_then_64(t, p)
    tp = (ft * fp_).sum((2, 3))
    expected = 1 - tp / (tp + 0.7 * ((1 - fp_) * ft).sum((2, 3)) + 0.3 * (fp_ * (1 - ft)).sum((2, 3))
                         + EPS)
    np.testing.assert_allclose(per_row, expected, rtol=1e-5)


@pytest.mark.parametrize("fn", [losses.dice, losses.tversky])
def test_dice_axis_with_the_batch_raises(fn):
    with pytest.raises(ValueError, match=r"axis=\(0, 1\) includes the batch axis 0.*axis=\(1,\)"):
        fn(jnp.ones((2, 3)), jnp.ones((2, 3)), axis=(0, 1))


def test_ctc_matches_brute_force_over_paths():
    labels = np.array([[1, 2, 0], [2, 2, 0], [1, 0, 0]], np.int32)
    logits = RNG.normal(size=(3, 5, 3)).astype(np.float32)
    out = losses.ctc(jnp.asarray(labels), jnp.asarray(logits))
    assert out.shape == (3,)
    expected = [np_ctc(lab, lg.astype(np.float64)) for lab, lg in zip(labels, logits, strict=True)]
    np.testing.assert_allclose(out, expected, rtol=1e-5)
    grad = jax.grad(lambda x: jnp.sum(losses.ctc(jnp.asarray(labels), x)))(jnp.asarray(logits))
    assert np.all(np.isfinite(grad))


def test_ctc_rank_errors():
    with pytest.raises(ValueError, match=r"ctc: y_true must hold integer label sequences.*\(4,\)"):
        losses.ctc(jnp.zeros(4, jnp.int32), jnp.zeros((4, 3, 2)))
    with pytest.raises(ValueError, match=r"ctc: y_pred must hold logits of shape.*\(4, 3\)"):
        losses.ctc(jnp.zeros((4, 2), jnp.int32), jnp.zeros((4, 3)))


def test_cosine_similarity_of_a_zero_vector_is_zero_with_finite_gradient():
    t, p = f32([[0.0, 0.0], [1.0, 1.0]]), f32([[1.0, 2.0], [0.0, 0.0]])
    np.testing.assert_allclose(losses.cosine_similarity(t, p), [0.0, 0.0], atol=1e-7)
    grad = jax.grad(lambda q: jnp.sum(losses.cosine_similarity(t, q)))(p)
    assert np.all(np.isfinite(grad))


def test_sparse_ignore_class_gives_zero_and_no_gradient():
    labels = jnp.array([1, -1, 0])
    p = f32(probs((3, C)))
    out = losses.sparse_categorical_crossentropy(labels, p, ignore_class=-1)
    np.testing.assert_allclose(out[1], 0.0)
    np.testing.assert_allclose(np.asarray(out)[[0, 2]],
                               np_cce(one_hot([1, 0], C), np.asarray(p)[[0, 2]]), rtol=1e-5)
    grad = jax.grad(lambda q: jnp.sum(losses.sparse_categorical_crossentropy(
        labels, q, ignore_class=-1)))(p)
    np.testing.assert_array_equal(grad[1], 0.0)


# --- extremes: exact 0 and 1 probabilities -------------------------------------------------


EXTREME_T = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]], np.float32)
EXTREME_P = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]], np.float32)


@pytest.mark.parametrize(
    "fn, worst",
    [
        # worst: the loss of the first row, whose true class has probability exactly 0.
        (losses.categorical_crossentropy, -np.log(EPS)),
        (losses.binary_crossentropy, -2 * np.log(EPS) / 3),
        (losses.kl_divergence, -np.log(EPS)),
        (losses.poisson, -np.log(EPS) / 3 + 1 / 3),
        (losses.mean_squared_logarithmic_error, (2 * np.log(2) ** 2) / 3),
        (losses.mean_absolute_percentage_error, 100 * (1 / EPS + 1 + 0) / 3),
        (lambda t, p: losses.sparse_categorical_crossentropy(jnp.argmax(t, -1), p), -np.log(EPS)),
        # gamma = 0, alpha = 1: the cross-entropies themselves
        (functools.partial(losses.categorical_focal_crossentropy, alpha=1.0, gamma=0.0),
         -np.log(EPS)),
        (functools.partial(losses.binary_focal_crossentropy, gamma=0.0), -2 * np.log(EPS) / 3),
    ],
)
def test_extreme_probabilities_give_finite_values_and_gradients(fn, worst):
    t, p = jnp.asarray(EXTREME_T), jnp.asarray(EXTREME_P)
    value = fn(t, p)
    grad = jax.grad(lambda q: jnp.sum(fn(t, q)))(p)
    assert np.all(np.isfinite(value)) and np.all(np.isfinite(grad))
    np.testing.assert_allclose(value[0], worst, rtol=2e-2)


def test_binary_crossentropy_from_logits_is_stable_for_huge_logits():
    x = f32([[-1e4, 1e4, 0.0]])
    t = f32([[1.0, 0.0, 1.0]])
    value = losses.binary_crossentropy(t, x, from_logits=True)
    grad = jax.grad(lambda q: jnp.sum(losses.binary_crossentropy(t, q, from_logits=True)))(x)
    np.testing.assert_allclose(value, [(1e4 + 1e4 + np.log(2)) / 3], rtol=1e-6)
    assert np.all(np.isfinite(grad))


@pytest.mark.parametrize("t", [0.0, 0.3, 1.0])
def test_binary_crossentropy_from_logits_gradient_is_exact_at_zero(t):
    # d/dx of the loss is sigmoid(x) - t: 0.5 - t at x = 0, where max(x, 0) - x * t +
    # log1p(exp(-|x|)) has subgradients summing to -t.
    grad = jax.grad(lambda x: jnp.sum(losses.binary_crossentropy(f32([[t]]), x, from_logits=True)))
    np.testing.assert_allclose(grad(f32([[0.0]])), [[0.5 - t]], rtol=1e-7)
    np.testing.assert_allclose(grad(f32([[30.0]])), [[1.0 - t]], rtol=1e-6, atol=1e-12)


# --- from_logits ---------------------------------------------------------------------------


def test_from_logits_equal_probability_versions():
    logits = RNG.normal(size=(B, C)).astype(np.float32)
    labels = RNG.integers(0, C, B)
    t = one_hot(labels, C).astype(np.float32)
    sm = jax.nn.softmax(jnp.asarray(logits))
    np.testing.assert_allclose(
        losses.categorical_crossentropy(t, logits, from_logits=True, label_smoothing=0.1),
        losses.categorical_crossentropy(t, sm, label_smoothing=0.1),
        rtol=1e-5,
    )
    np.testing.assert_allclose(
        losses.sparse_categorical_crossentropy(labels, logits, from_logits=True),
        losses.sparse_categorical_crossentropy(labels, sm),
        rtol=1e-5,
    )
    bt = RNG.integers(0, 2, (B, 2)).astype(np.float32)
    bx = logits[:, :2]
    np.testing.assert_allclose(
        losses.binary_crossentropy(bt, bx, from_logits=True, label_smoothing=0.2),
        losses.binary_crossentropy(bt, jax.nn.sigmoid(bx), label_smoothing=0.2),
        rtol=1e-5,
    )


@pytest.mark.parametrize(
    "fn, activation",
    [
        (losses.categorical_crossentropy, "softmax"),
        (losses.sparse_categorical_crossentropy, "softmax"),
        (losses.binary_crossentropy, "sigmoid"),
        (losses.binary_focal_crossentropy, "sigmoid"),
        (losses.categorical_focal_crossentropy, "softmax"),
    ],
)
def test_from_logits_variant_and_matching_activation(fn, activation):
    assert losses.matching_activation(fn) == activation
    variant = losses.from_logits_variant(fn)
    assert isinstance(variant, functools.partial)
    assert variant.func is fn and variant.keywords == {"from_logits": True}


@pytest.mark.parametrize(
    "fn",
    [losses.mse, losses.hinge, lambda t, p: p, functools.partial(losses.mse), [1, 2]],
)
def test_no_logits_variant_for_other_functions(fn):
    assert losses.from_logits_variant(fn) is None
    assert losses.matching_activation(fn) is None


def test_logits_variant_of_a_partial_keeps_its_arguments():
    fn = functools.partial(losses.binary_focal_crossentropy, gamma=3.0, label_smoothing=0.1)
    variant = losses.from_logits_variant(fn)
    assert variant.func is losses.binary_focal_crossentropy
    assert variant.keywords == {"gamma": 3.0, "label_smoothing": 0.1, "from_logits": True}
    # Already from logits: nothing to substitute. Positional arguments: not a plain loss.
    assert losses.from_logits_variant(functools.partial(losses.binary_crossentropy,
                                                        from_logits=True)) is None
    assert losses.matching_activation(functools.partial(losses.binary_crossentropy,
                                                        f32([[1.0]]))) is None


# --- get / serialize -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, fn",
    [
        ("categorical_crossentropy", losses.categorical_crossentropy),
        ("CategoricalCrossentropy", losses.categorical_crossentropy),
        ("sparse_categorical_crossentropy", losses.sparse_categorical_crossentropy),
        ("Binary_CrossEntropy", losses.binary_crossentropy),
        ("mse", losses.mean_squared_error),
        ("MSE", losses.mean_squared_error),
        ("mean_squared_error", losses.mean_squared_error),
        ("MeanSquaredError", losses.mean_squared_error),
        ("mae", losses.mean_absolute_error),
        ("mape", losses.mean_absolute_percentage_error),
        ("msle", losses.mean_squared_logarithmic_error),
        ("huber", losses.huber),
        ("huber_loss", losses.huber),
        ("logcosh", losses.log_cosh),
        ("kld", losses.kl_divergence),
        ("kullback_leibler_divergence", losses.kl_divergence),
        ("poisson", losses.poisson),
        ("hinge", losses.hinge),
        ("squared_hinge", losses.squared_hinge),
        ("bce", losses.binary_crossentropy),
        ("categorical_hinge", losses.categorical_hinge),
        ("CategoricalHinge", losses.categorical_hinge),
        ("cosine_similarity", losses.cosine_similarity),
        ("BinaryFocalCrossentropy", losses.binary_focal_crossentropy),
        ("categorical_focal_crossentropy", losses.categorical_focal_crossentropy),
        ("dice", losses.dice),
        ("Tversky", losses.tversky),
        ("CTC", losses.ctc),
    ],
)
def test_get_names_and_aliases(name, fn):
    assert losses.get(name) is fn


def test_get_returns_callables_unchanged():
    def my_loss(y_true, y_pred):
        return jnp.mean(y_pred - y_true, axis=-1)

    assert losses.get(my_loss) is my_loss


def test_get_unknown_name_suggests_closest():
    expected = r"Unknown loss 'categorical_crossentropi'.*did you mean 'categorical_crossentropy'"
    with pytest.raises(ValueError, match=expected):
        losses.get("categorical_crossentropi")
    with pytest.raises(ValueError, match=r"Valid loss names: .*'mse'"):
        losses.get("zzz")


@pytest.mark.parametrize("bad", [3, None, 1.5])
def test_get_wrong_type(bad):
    with pytest.raises(TypeError, match=r"loss must be a loss name .* got .* of type"):
        losses.get(bad)


def test_serialize_round_trips():
    for name in ("mse", "mae", "categorical_crossentropy", "kld", "huber", "dice", "ctc",
                 "binary_focal_crossentropy", "categorical_hinge"):
        fn = losses.get(name)
        assert losses.get(losses.serialize(fn)) is fn
    assert losses.serialize(losses.mse) == "mean_squared_error"
    assert losses.serialize(lambda t, p: p) is None


# --- errors --------------------------------------------------------------------------------


def test_elementwise_shape_mismatch_raises():
    with pytest.raises(ValueError, match=r"mean_squared_error: .*y_true.shape=\(4, 3\).*y_pred"):
        losses.mse(jnp.zeros((4, 3)), jnp.zeros((4, 2)))


def test_scalar_inputs_raise():
    with pytest.raises(ValueError, match=r"mean_absolute_error: got scalar"):
        losses.mae(jnp.float32(1.0), jnp.float32(2.0))


def test_categorical_crossentropy_shape_mismatch_suggests_sparse():
    with pytest.raises(ValueError, match=r"use sparse_categorical_crossentropy"):
        losses.categorical_crossentropy(jnp.zeros((4,)), jnp.full((4, 3), 1 / 3))


def test_kl_divergence_shape_mismatch():
    with pytest.raises(ValueError, match=r"kl_divergence: y_true and y_pred must have the same"):
        losses.kl_divergence(jnp.zeros((4, 2)), jnp.zeros((4, 3)))


def test_sparse_label_shape_mismatch_suggests_categorical():
    with pytest.raises(ValueError, match=r"shape \(4,\).*got y_true.shape=\(4, 3\).*categorical"):
        losses.sparse_categorical_crossentropy(jnp.zeros((4, 3)), jnp.full((4, 3), 1 / 3))


def test_sparse_scalar_prediction_raises():
    with pytest.raises(ValueError, match=r"y_pred must have a class axis, got shape \(\)"):
        losses.sparse_categorical_crossentropy(jnp.array(1), jnp.float32(0.5))


# --- properties ----------------------------------------------------------------------------

PROPERTY = settings(max_examples=40, deadline=None)
prob_arrays = hnp.arrays(np.float64, (3, 4), elements=st.floats(0.0, 1.0))
real_arrays = hnp.arrays(np.float64, (3, 4), elements=st.floats(-20.0, 20.0))


@PROPERTY
@given(t=prob_arrays, p=prob_arrays)
def test_probability_losses_finite_non_negative(t, p):
    t32, p32 = f32(t), f32(p + 1e-3)  # avoid an all-zero row, whose renormalisation is 0/0
    for fn in (losses.categorical_crossentropy, losses.binary_crossentropy, losses.kl_divergence):
        out = np.asarray(fn(t32, p32))
        assert np.all(np.isfinite(out))
        assert np.all(out >= -1e-6) or fn is losses.kl_divergence
    out = losses.binary_crossentropy(t32, f32(p))
    grad = jax.grad(lambda q: jnp.sum(losses.binary_crossentropy(t32, q)))(f32(p))
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(grad))


@PROPERTY
@given(t=prob_arrays, p=hnp.arrays(np.float64, (3, 4), elements=st.floats(0.01, 0.99)))
def test_crossentropies_equal_numpy(t, p):
    t, p = as_f32_then_64(t, p)
    np.testing.assert_allclose(
        losses.binary_crossentropy(f32(t), f32(p)), np_bce(t, p), rtol=1e-4, atol=1e-5
    )
    np.testing.assert_allclose(
        losses.categorical_crossentropy(f32(t), f32(p)), np_cce(t, p), rtol=1e-4, atol=1e-5
    )


@PROPERTY
@given(t=real_arrays, p=real_arrays)
# Found by random search: a label that is non-zero in float64 and 0 in float32 (issue 8).
@example(t=np.full((3, 4), 1.6288997e-79), p=np.ones((3, 4)))
# A float32 subnormal label: non-zero in numpy's float32, flushed to 0 by XLA on CPU.
@example(t=np.pad(np.full((1, 1), 5.87747175e-39), ((0, 2), (0, 3))), p=np.ones((3, 4)))
# Found by random search: Keras's log_cosh form cancels to -6e-8 at x = 1e-7.
@example(t=np.full((3, 4), 1e-7), p=np.zeros((3, 4)))
def test_regression_losses_property(t, p):
    t, p = as_f32_then_64(t, p)
    for name in ("mean_squared_error", "mean_absolute_error", "huber", "log_cosh", "hinge"):
        out = np.asarray(losses.get(name)(f32(t), f32(p)))
        assert np.all(np.isfinite(out)) and np.all(out >= 0)
        np.testing.assert_allclose(out, NP_REGRESSION[name](t, p), rtol=1e-4, atol=1e-4)


@PROPERTY
@given(t=real_arrays, p=real_arrays)
def test_cosine_and_categorical_hinge_property(t, p):
    t, p = as_f32_then_64(t, p)
    for name in ("cosine_similarity", "categorical_hinge"):
        out = np.asarray(losses.get(name)(f32(t), f32(p)))
        np.testing.assert_allclose(out, NP_MORE[name](t, p), rtol=1e-4, atol=1e-5)
    assert np.all(np.abs(losses.cosine_similarity(f32(t), f32(p))) <= 1 + 1e-6)


@PROPERTY
@given(t=prob_arrays, p=prob_arrays)
def test_overlap_and_focal_losses_property(t, p):
    t, p = as_f32_then_64(t, p)
    for name in ("dice", "tversky", "binary_focal_crossentropy"):
        if name == "binary_focal_crossentropy":  # away from the clip at 1 - 1e-7, which
            p = np.clip(p, 0.01, 0.99)             # float32 rounds differently
        out = np.asarray(losses.get(name)(f32(t), f32(p)))
        assert np.all(np.isfinite(out))
        np.testing.assert_allclose(out, NP_MORE[name](t, p), rtol=1e-4, atol=1e-5)


def test_log_cosh_is_accurate_and_never_negative_for_small_differences():
    x = np.concatenate([-np.logspace(-12, 1.7, 80), [0.0, 9.99, 10.0], np.logspace(-12, 1.7, 80)])
    x = x.astype(np.float32)
    out = np.asarray(losses.log_cosh(jnp.zeros((x.size, 1)), jnp.asarray(x)[:, None]))
    x64 = x.astype(np.float64)
    # log(cosh(x)) = log1p(expm1(|x|) ** 2 / (2 e^|x|)) in float64, free of the cancellation.
    ref = np.log1p(np.expm1(np.abs(x64)) ** 2 / (2.0 * np.exp(np.abs(x64))))
    assert np.all(out >= 0)
    np.testing.assert_allclose(out, ref, rtol=2e-6, atol=0)
    grad = jax.vmap(jax.grad(lambda v: losses.log_cosh(jnp.zeros((1,)), v[None])[0]))(x)
    np.testing.assert_allclose(grad, np.tanh(x64), rtol=1e-5, atol=1e-7)
