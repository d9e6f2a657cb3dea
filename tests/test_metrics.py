"""Tests for fnnet.metrics: streaming equals whole-dataset, weights and masks, jit, get()."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from fnnet import losses, metrics

RNG = np.random.default_rng(0)
N, C, BATCH = 10, 5, 4  # 10 examples in batches of 4: the last batch is padded with 2 rows


def padded_batches(*arrays):
    """Splits arrays into fixed-size batches, padding the last one; yields (mask, *batches)."""
    n_batches = -(-N // BATCH)
    for i in range(n_batches):
        lo, hi = i * BATCH, min((i + 1) * BATCH, N)
        mask = np.zeros(BATCH, bool)
        mask[: hi - lo] = True
        out = []
        for a in arrays:
            pad = np.zeros((BATCH - (hi - lo),) + a.shape[1:], a.dtype)
            out.append(np.concatenate([a[lo:hi], pad]))
        yield (mask, *out)


def np_weighted_mean(values, w):
    return float(np.sum(w * values) / np.sum(w))


# Per-example numpy references, independent of fnnet.
LABELS = RNG.integers(0, C, N)
ONE_HOT = np.eye(C, dtype=np.float32)[LABELS]
PROBS = RNG.uniform(size=(N, C)).astype(np.float32)
BIN_TRUE = RNG.integers(0, 2, (N, 1)).astype(np.float32)
BIN_PRED = RNG.uniform(size=(N, 1)).astype(np.float32)
REG_TRUE = RNG.normal(size=(N, 3)).astype(np.float32)
REG_PRED = RNG.normal(size=(N, 3)).astype(np.float32)
WEIGHTS = RNG.uniform(0.5, 2.0, N).astype(np.float32)


def np_top_k(labels, pred, k):
    top = np.argsort(-pred, axis=-1)[:, :k]
    return (top == labels[:, None]).any(-1).astype(float)


CASES = {
    "binary_accuracy": (
        metrics.binary_accuracy(),
        BIN_TRUE,
        BIN_PRED,
        ((BIN_PRED > 0.5) == BIN_TRUE).mean(-1),
    ),
    "categorical_accuracy": (
        metrics.categorical_accuracy(),
        ONE_HOT,
        PROBS,
        (PROBS.argmax(-1) == LABELS).astype(float),
    ),
    "sparse_categorical_accuracy": (
        metrics.sparse_categorical_accuracy(),
        LABELS.astype(np.float32)[:, None],
        PROBS,
        (PROBS.argmax(-1) == LABELS).astype(float),
    ),
    "top_k_categorical_accuracy": (
        metrics.top_k_categorical_accuracy(k=2),
        ONE_HOT,
        PROBS,
        np_top_k(LABELS, PROBS, 2),
    ),
    "sparse_top_k_categorical_accuracy": (
        metrics.sparse_top_k_categorical_accuracy(k=3),
        LABELS.astype(np.int32),
        PROBS,
        np_top_k(LABELS, PROBS, 3),
    ),
    "mae": (metrics.mae(), REG_TRUE, REG_PRED, np.abs(REG_TRUE - REG_PRED).mean(-1)),
    "mse": (metrics.mse(), REG_TRUE, REG_PRED, ((REG_TRUE - REG_PRED) ** 2).mean(-1)),
}


@pytest.mark.parametrize("key", sorted(CASES))
def test_streaming_with_weights_and_padding_equals_whole_dataset(key):
    metric, y_true, y_pred, per_example = CASES[key]
    expected = np_weighted_mean(per_example, WEIGHTS)

    whole = metric.update(metric.init(), y_true, y_pred, sample_weight=WEIGHTS)
    np.testing.assert_allclose(metric.result(whole), expected, rtol=1e-5)

    update = jax.jit(metric.update)
    state = metric.init()
    for mask, yt, yp, w in padded_batches(y_true, y_pred, WEIGHTS):
        state = update(state, yt, yp, sample_weight=w, mask=mask)
    np.testing.assert_allclose(metric.result(state), expected, rtol=1e-5)
    assert jax.tree.structure(state) == jax.tree.structure(metric.init())
    assert all(leaf.dtype == jnp.float32 for leaf in jax.tree.leaves(state))


def test_unweighted_result_is_plain_mean():
    metric, y_true, y_pred, per_example = CASES["categorical_accuracy"]
    state = metric.update(metric.init(), y_true, y_pred)
    np.testing.assert_allclose(metric.result(state), per_example.mean(), rtol=1e-6)


def test_rmse_is_root_of_overall_mean_not_mean_of_roots():
    m = metrics.root_mean_squared_error()
    sq = ((REG_TRUE - REG_PRED) ** 2).mean(-1)
    expected = np.sqrt(np_weighted_mean(sq, WEIGHTS))
    state = m.init()
    for mask, yt, yp, w in padded_batches(REG_TRUE, REG_PRED, WEIGHTS):
        state = m.update(state, yt, yp, sample_weight=w, mask=mask)
    np.testing.assert_allclose(m.result(state), expected, rtol=1e-5)
    assert m.name == "root_mean_squared_error"
    # Errors 0, 0 then 4, 4: per-batch roots average to 2; the root of the mean is sqrt(8).
    zeros = jnp.zeros((2, 1))
    state = m.update(m.update(m.init(), zeros, zeros), zeros, zeros + 4.0)
    np.testing.assert_allclose(m.result(state), np.sqrt(8.0), rtol=1e-6)


def test_mean_under_lax_scan_matches_numpy():
    m = metrics.Mean("loss")
    values = RNG.normal(size=(3, BATCH)).astype(np.float32)
    masks = np.ones((3, BATCH), bool)
    masks[-1, 2:] = False

    def body(state, xs):
        v, mk = xs
        return m.update(state, v, mask=mk), None

    state, _ = jax.lax.scan(body, m.init(), (values, masks))
    np.testing.assert_allclose(m.result(state), values[masks].mean(), rtol=1e-5)


def test_mask_excludes_nan_in_padded_rows():
    m = metrics.Mean("loss")
    values = jnp.array([1.0, 3.0, jnp.nan, jnp.inf])
    state = m.update(m.init(), values, mask=jnp.array([1, 1, 0, 0]))
    assert float(m.result(state)) == 2.0


def test_mean_weights_forms_and_trailing_axes():
    m = metrics.Mean()
    values = jnp.array([[1.0, 3.0], [5.0, 7.0]])  # per-example means: 2 and 6
    state = m.update(m.init(), values, sample_weight=jnp.array([[3.0], [1.0]]))
    assert float(m.result(state)) == 3.0
    state = m.update(m.init(), values, sample_weight=jnp.float32(2.0))
    assert float(m.result(state)) == 4.0
    state = m.update(m.init(), jnp.float32(5.0))
    assert float(m.result(state)) == 5.0


def test_merge_equals_single_pass():
    metric, y_true, y_pred, per_example = CASES["mse"]
    a = metric.update(metric.init(), y_true[:6], y_pred[:6], sample_weight=WEIGHTS[:6])
    b = metric.update(metric.init(), y_true[6:], y_pred[6:], sample_weight=WEIGHTS[6:])
    np.testing.assert_allclose(
        metric.result(metrics.merge(a, b)), np_weighted_mean(per_example, WEIGHTS), rtol=1e-5
    )


def test_empty_count_gives_zero_not_nan():
    m = metrics.mae()
    assert float(m.result(m.init())) == 0.0
    state = m.update(m.init(), REG_TRUE[:4], REG_PRED[:4], mask=np.zeros(4, bool))
    assert float(m.result(state)) == 0.0
    assert float(metrics.rmse().result(m.init())) == 0.0
    grad = jax.grad(lambda s: m.result(s))(m.init())
    assert all(np.isfinite(g) for g in jax.tree.leaves(grad))


def test_top_k_larger_than_classes_counts_every_example():
    m = metrics.top_k_categorical_accuracy(k=10)
    state = m.update(m.init(), ONE_HOT, PROBS)
    assert float(m.result(state)) == 1.0


# --- get() ---------------------------------------------------------------------------------


def _accuracy_value(metric, y_true, y_pred):
    return float(metric.result(metric.update(metric.init(), y_true, y_pred)))


def test_get_accuracy_resolves_from_shapes_like_keras():
    sparse = metrics.get("accuracy", y_true_shape=(N,), y_pred_shape=(N, C))
    assert sparse.name == "accuracy"
    expected = (PROBS.argmax(-1) == LABELS).mean()
    np.testing.assert_allclose(_accuracy_value(sparse, LABELS, PROBS), expected, rtol=1e-6)

    sparse_col = metrics.get("acc", y_true_shape=(None, 1), y_pred_shape=(None, C))
    assert sparse_col.name == "acc"
    np.testing.assert_allclose(
        _accuracy_value(sparse_col, LABELS[:, None], PROBS), expected, rtol=1e-6
    )

    categorical = metrics.get("Accuracy", y_true_shape=(N, C), y_pred_shape=(N, C))
    assert categorical.name == "Accuracy"
    np.testing.assert_allclose(_accuracy_value(categorical, ONE_HOT, PROBS), expected, rtol=1e-6)

    binary = metrics.get("accuracy", y_true_shape=(N, 1), y_pred_shape=(N, 1))
    np.testing.assert_allclose(
        _accuracy_value(binary, BIN_TRUE, BIN_PRED),
        ((BIN_PRED > 0.5) == BIN_TRUE).mean(),
        rtol=1e-6,
    )


def test_get_accuracy_resolves_from_loss():
    multi_label_true = (PROBS > 0.5).astype(np.float32)
    for loss in ("binary_crossentropy", losses.binary_crossentropy):
        m = metrics.get("accuracy", y_true_shape=(N, C), y_pred_shape=(N, C), loss=loss)
        np.testing.assert_allclose(
            _accuracy_value(m, multi_label_true, PROBS),
            ((PROBS > 0.5) == multi_label_true).mean(),
            rtol=1e-6,
        )
    sparse_logits = losses.from_logits_variant(losses.sparse_categorical_crossentropy)
    m = metrics.get("accuracy", loss=sparse_logits)
    expected = (PROBS.argmax(-1) == LABELS).mean()
    np.testing.assert_allclose(_accuracy_value(m, LABELS, PROBS), expected, rtol=1e-6)
    m = metrics.get("accuracy", loss="categorical_crossentropy")
    np.testing.assert_allclose(_accuracy_value(m, ONE_HOT, PROBS), expected, rtol=1e-6)


def test_get_crossentropy_resolves_like_accuracy():
    m = metrics.get("crossentropy", y_true_shape=(N,), y_pred_shape=(N, C))
    expected = np.mean(-np.log((PROBS / PROBS.sum(-1, keepdims=True))[np.arange(N), LABELS]))
    np.testing.assert_allclose(_accuracy_value(m, LABELS, PROBS), expected, rtol=1e-5)


def test_get_accuracy_without_shapes_or_loss_raises():
    with pytest.raises(ValueError, match=r"cannot tell binary, categorical or sparse.*y_true_sh"):
        metrics.get("accuracy")
    with pytest.raises(ValueError, match=r"Pass y_true_shape= and y_pred_shape="):
        metrics.get("acc", y_pred_shape=(None, 3), loss="mse")


@pytest.mark.parametrize(
    "name, per_example",
    [
        ("mae", np.abs(REG_TRUE - REG_PRED).mean(-1)),
        ("MSE", ((REG_TRUE - REG_PRED) ** 2).mean(-1)),
        ("mean_absolute_error", np.abs(REG_TRUE - REG_PRED).mean(-1)),
        ("log_cosh", np.log(np.cosh(REG_PRED - REG_TRUE)).mean(-1)),
    ],
)
def test_get_names_keep_the_written_name(name, per_example):
    m = metrics.get(name)
    assert m.name == name
    state = m.update(m.init(), REG_TRUE, REG_PRED)
    np.testing.assert_allclose(m.result(state), per_example.mean(), rtol=1e-5)


def test_get_rmse_and_top_k_names():
    m = metrics.get("rmse")
    state = m.update(m.init(), REG_TRUE, REG_PRED)
    np.testing.assert_allclose(m.result(state), np.sqrt(((REG_TRUE - REG_PRED) ** 2).mean()), 1e-5)
    m = metrics.get("top_k_categorical_accuracy")
    assert float(m.result(m.update(m.init(), ONE_HOT, PROBS))) == 1.0  # k=5 == classes


def test_get_passes_metrics_through_and_wraps_callables():
    m = metrics.mae()
    assert metrics.get(m) is m

    def mean_error(y_true, y_pred):
        return jnp.mean(y_pred - y_true, axis=-1)

    assert metrics.get(functools.partial(losses.huber, delta=2.0)).name == "huber"
    wrapped = metrics.get(mean_error)
    assert wrapped.name == "mean_error"
    state = wrapped.update(wrapped.init(), REG_TRUE, REG_PRED)
    np.testing.assert_allclose(wrapped.result(state), (REG_PRED - REG_TRUE).mean(), rtol=1e-5)


def test_get_unknown_name_suggests_closest():
    with pytest.raises(ValueError, match=r"Unknown metric 'acuracy'.*did you mean 'accuracy'"):
        metrics.get("acuracy")


@pytest.mark.parametrize("bad", [3, None])
def test_get_wrong_type(bad):
    with pytest.raises(TypeError, match=r"metrics entries must be a metric name.* of type"):
        metrics.get(bad)


# --- errors --------------------------------------------------------------------------------


def test_bad_sample_weight_and_mask_shapes():
    m = metrics.mae()
    with pytest.raises(ValueError, match=r"sample_weight must have one entry per exam.*\(3, 2\)"):
        m.update(m.init(), REG_TRUE[:4], REG_PRED[:4], sample_weight=np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"mask must have one entry per example, shape \(4,\)"):
        m.update(m.init(), REG_TRUE[:4], REG_PRED[:4], mask=np.ones(5, bool))


def test_sparse_label_shape_error():
    m = metrics.sparse_categorical_accuracy()
    with pytest.raises(ValueError, match=r"sparse_categorical_accuracy: y_true must hold one"):
        m.update(m.init(), ONE_HOT, PROBS)
    m = metrics.sparse_top_k_categorical_accuracy()
    with pytest.raises(ValueError, match=r"got y_true.shape=\(10, 5\)"):
        m.update(m.init(), ONE_HOT, PROBS)


def test_categorical_accuracy_shape_error():
    m = metrics.categorical_accuracy()
    with pytest.raises(ValueError, match=r"For integer labels use sparse_categorical_accuracy"):
        m.update(m.init(), LABELS, PROBS)


def test_binary_accuracy_shape_error():
    m = metrics.binary_accuracy()
    with pytest.raises(ValueError, match=r"binary_accuracy: y_true and y_pred must have the same"):
        m.update(m.init(), BIN_TRUE, PROBS)


@pytest.mark.parametrize("k", [0, -1, 2.5, True])
def test_bad_k(k):
    with pytest.raises(ValueError, match=r"k must be a positive int .* got k="):
        metrics.top_k_categorical_accuracy(k=k)
    with pytest.raises(ValueError, match=r"sparse_top_k_categorical_accuracy: k must be"):
        metrics.sparse_top_k_categorical_accuracy(k=k)
