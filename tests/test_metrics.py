"""Tests for fnnet.metrics: streaming equals whole-dataset, weights and masks, jit, get().

Numpy references here; every metric class against Keras 3 in test_metrics_keras.py.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from fnnet import layers, losses, metrics, models

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
        metrics.BinaryAccuracy(),
        BIN_TRUE,
        BIN_PRED,
        ((BIN_PRED > 0.5) == BIN_TRUE).mean(-1),
    ),
    "categorical_accuracy": (
        metrics.CategoricalAccuracy(),
        ONE_HOT,
        PROBS,
        (PROBS.argmax(-1) == LABELS).astype(float),
    ),
    "sparse_categorical_accuracy": (
        metrics.SparseCategoricalAccuracy(),
        LABELS.astype(np.float32)[:, None],
        PROBS,
        (PROBS.argmax(-1) == LABELS).astype(float),
    ),
    "top_k_categorical_accuracy": (
        metrics.TopKCategoricalAccuracy(k=2),
        ONE_HOT,
        PROBS,
        np_top_k(LABELS, PROBS, 2),
    ),
    "sparse_top_k_categorical_accuracy": (
        metrics.SparseTopKCategoricalAccuracy(k=3),
        LABELS.astype(np.int32),
        PROBS,
        np_top_k(LABELS, PROBS, 3),
    ),
    "mae": (metrics.MeanAbsoluteError(), REG_TRUE, REG_PRED, np.abs(REG_TRUE - REG_PRED).mean(-1)),
    "mse": (metrics.MeanSquaredError(), REG_TRUE, REG_PRED, ((REG_TRUE - REG_PRED) ** 2).mean(-1)),
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
    m = metrics.RootMeanSquaredError()
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
    m = metrics.MeanAbsoluteError()
    assert float(m.result(m.init())) == 0.0
    state = m.update(m.init(), REG_TRUE[:4], REG_PRED[:4], mask=np.zeros(4, bool))
    assert float(m.result(state)) == 0.0
    assert float(metrics.RootMeanSquaredError().result(m.init())) == 0.0
    grad = jax.grad(lambda s: m.result(s))(m.init())
    assert all(np.isfinite(g) for g in jax.tree.leaves(grad))


def test_top_k_larger_than_classes_counts_every_example():
    m = metrics.TopKCategoricalAccuracy(k=10)
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
    m = metrics.MeanAbsoluteError()
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
    m = metrics.MeanAbsoluteError()
    with pytest.raises(ValueError, match=r"sample_weight must have one entry per exam.*\(3, 2\)"):
        m.update(m.init(), REG_TRUE[:4], REG_PRED[:4], sample_weight=np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"mask must have one entry per example, shape \(4,\)"):
        m.update(m.init(), REG_TRUE[:4], REG_PRED[:4], mask=np.ones(5, bool))


def test_sparse_label_shape_error():
    m = metrics.SparseCategoricalAccuracy()
    with pytest.raises(ValueError, match=r"sparse_categorical_accuracy: y_true must hold one"):
        m.update(m.init(), ONE_HOT, PROBS)
    m = metrics.SparseTopKCategoricalAccuracy()
    with pytest.raises(ValueError, match=r"got y_true.shape=\(10, 5\)"):
        m.update(m.init(), ONE_HOT, PROBS)


def test_categorical_accuracy_shape_error():
    m = metrics.CategoricalAccuracy()
    with pytest.raises(ValueError, match=r"For integer labels use sparse_categorical_accuracy"):
        m.update(m.init(), LABELS, PROBS)


def test_binary_accuracy_shape_error():
    m = metrics.BinaryAccuracy()
    with pytest.raises(ValueError, match=r"binary_accuracy: y_true and y_pred must have the same"):
        m.update(m.init(), BIN_TRUE, PROBS)


@pytest.mark.parametrize("k", [0, -1, 2.5, True])
def test_bad_k(k):
    with pytest.raises(ValueError, match=r"k must be a positive int .* got k="):
        metrics.TopKCategoricalAccuracy(k=k)
    with pytest.raises(ValueError, match=r"SparseTopKCategoricalAccuracy: k must be"):
        metrics.SparseTopKCategoricalAccuracy(k=k)
    with pytest.raises(ValueError, match=r"sparse_top_k_categorical_accuracy: k must be"):
        metrics.sparse_top_k_categorical_accuracy(LABELS, PROBS, k=k)


# --- Keras's metric functions ------------------------------------------------------------------


def test_metric_functions_return_keras_shapes():
    assert metrics.binary_accuracy(BIN_TRUE, BIN_PRED).shape == (N, 1)  # per entry
    assert metrics.binary_accuracy(BIN_TRUE[:, 0], BIN_PRED).shape == (N, 1)
    np.testing.assert_array_equal(metrics.binary_accuracy(BIN_TRUE, BIN_PRED, threshold=0.9),
                                  (BIN_PRED > 0.9) == BIN_TRUE)
    assert metrics.categorical_accuracy(ONE_HOT, PROBS).shape == (N,)
    assert metrics.sparse_categorical_accuracy(LABELS[:, None], PROBS).shape == (N,)
    seq = RNG.uniform(size=(2, 3, C)).astype(np.float32)
    seq_labels = seq.argmax(-1)
    np.testing.assert_array_equal(metrics.sparse_categorical_accuracy(seq_labels, seq), 1.0)
    np.testing.assert_array_equal(metrics.top_k_categorical_accuracy(ONE_HOT, PROBS, k=2),
                                  np_top_k(LABELS, PROBS, 2))
    ids = np.argsort(-PROBS, axis=-1)
    np.testing.assert_array_equal(
        metrics.sparse_top_k_categorical_accuracy(LABELS, ids, k=2, from_sorted_ids=True),
        np_top_k(LABELS, PROBS, 2))
    # Keras counts ties with the k-th score as hits.
    tie = np.array([[0.5, 0.5, 0.0]], np.float32)
    assert float(metrics.sparse_top_k_categorical_accuracy(np.array([1]), tie, k=1)[0]) == 1.0
    assert metrics.mean_squared_error is losses.mean_squared_error and metrics.mae is losses.mae


def test_a_metric_function_is_reported_under_its_name():
    m = metrics.get(metrics.binary_accuracy)
    assert m.name == "binary_accuracy"
    state = m.update(m.init(), BIN_TRUE, BIN_PRED, sample_weight=WEIGHTS)
    np.testing.assert_allclose(m.result(state),
                               np_weighted_mean(((BIN_PRED > 0.5) == BIN_TRUE)[:, 0], WEIGHTS),
                               rtol=1e-6)
    assert metrics.serialize(metrics.binary_accuracy) == "binary_accuracy"
    assert metrics.serialize(losses.mse) == "mean_squared_error"
    assert metrics.serialize(metrics.AUC()) is None


# --- sequences: masks and weights over (batch, steps) -------------------------------------------


def test_masks_and_weights_over_steps_count_entries():
    values = RNG.normal(size=(3, 4)).astype(np.float32)
    keep = np.array([[1, 1, 0, 0], [1, 1, 1, 1], [1, 0, 0, 0]], bool)
    values_nan = np.where(keep, values, np.nan)
    m = metrics.Mean()
    state = m.update(m.init(), values_nan, mask=keep)
    np.testing.assert_allclose(m.result(state), values[keep].mean(), rtol=1e-5, atol=1e-7)
    w = RNG.uniform(0.5, 2.0, (3, 4)).astype(np.float32)
    state = m.update(m.init(), values_nan, sample_weight=w, mask=keep)
    np.testing.assert_allclose(m.result(state), np.sum(values * w * keep) / np.sum(w * keep),
                               rtol=1e-6)
    # A per-example weight with per-step values: each example's mean, weighted (Keras's rule).
    state = m.update(m.init(), values, sample_weight=w[:, 0])
    np.testing.assert_allclose(m.result(state), np_weighted_mean(values.mean(-1), w[:, 0]),
                               rtol=1e-6)
    # Sequence accuracy with padded steps.
    scores = RNG.uniform(size=(3, 4, C)).astype(np.float32)
    labels = RNG.integers(0, C, (3, 4))
    acc = metrics.SparseCategoricalAccuracy()
    state = acc.update(acc.init(), labels, scores, mask=keep)
    np.testing.assert_allclose(acc.result(state), (scores.argmax(-1) == labels)[keep].mean(),
                               rtol=1e-6)


def test_mask_of_the_wrong_shape_raises():
    with pytest.raises(ValueError, match=r"mask must have one entry per example, shape \(3,\) "
                                         r"\(or the leading axes \(3, 4\)"):
        metrics.Mean().update(metrics.Mean().init(), jnp.ones((3, 4)), mask=jnp.ones((3, 5)))


# --- streaming, merge, jit and vmap for every kind of state --------------------------------------

MULTI_TRUE = RNG.integers(0, 2, (N, C)).astype(np.float32)
MULTI_PRED = RNG.uniform(size=(N, C)).astype(np.float32)
STREAMED = {
    "auc": (metrics.AUC(num_thresholds=50), BIN_TRUE, BIN_PRED),
    "auc_pr_multi": (metrics.AUC(curve="PR", multi_label=True, num_labels=C), MULTI_TRUE, MULTI_PRED),
    "precision": (metrics.Precision(thresholds=[0.3, 0.6]), MULTI_TRUE, MULTI_PRED),
    "recall_top_k": (metrics.Recall(top_k=2), MULTI_TRUE, MULTI_PRED),
    "tp": (metrics.TruePositives(), BIN_TRUE, BIN_PRED),
    "sens_at_spec": (metrics.SensitivityAtSpecificity(0.5, num_thresholds=20), BIN_TRUE, BIN_PRED),
    "f1": (metrics.F1Score(average="weighted", threshold=0.5), MULTI_TRUE, MULTI_PRED),
    "mean_iou": (metrics.MeanIoU(C, sparse_y_pred=False), LABELS, PROBS),
    "r2": (metrics.R2Score(), REG_TRUE, REG_PRED),
    "rmse": (metrics.RootMeanSquaredError(), REG_TRUE, REG_PRED),
    "scce_ignore": (metrics.SparseCategoricalCrossentropy(ignore_class=1), LABELS, PROBS),
}


@pytest.mark.parametrize("key", sorted(STREAMED))
def test_every_state_streams_merges_and_vmaps(key):
    metric, y_true, y_pred = STREAMED[key]
    metric = metrics.get(metric, y_true_shape=y_true.shape, y_pred_shape=y_pred.shape)
    update, result = jax.jit(metric.update), jax.jit(metric.result)
    whole = result(update(metric.init(), y_true, y_pred, sample_weight=WEIGHTS))
    parts = []
    for mask, yt, yp, w in padded_batches(y_true, y_pred, WEIGHTS):
        yp = np.where(mask.reshape((-1,) + (1,) * (yp.ndim - 1)), yp, np.nan)  # garbage padding
        parts.append((yt, yp, w, mask))
    state = metric.init()
    for yt, yp, w, mask in parts[:-1]:
        state = update(state, yt, yp, sample_weight=w, mask=mask)
    last = update(metric.init(), *parts[-1][:2], sample_weight=parts[-1][2], mask=parts[-1][3])
    np.testing.assert_allclose(result(metrics.merge(state, last)), whole, rtol=2e-5, atol=1e-6)
    assert all(leaf.dtype == jnp.float32 for leaf in jax.tree.leaves(state))
    # An ensemble of two: vmap over a leading axis of the data.
    yt, yp, w, mask = parts[0]
    states = jax.jit(jax.vmap(lambda a, b: metric.update(metric.init(), a, b, sample_weight=w)))(
        np.stack([yt, yt]), np.stack([yp, yp]))
    single = update(metric.init(), yt, yp, sample_weight=w)
    np.testing.assert_allclose(jax.vmap(metric.result)(states)[1], result(single), rtol=1e-5,
                               atol=1e-6)


# --- numpy references for the non-mean metrics ---------------------------------------------------


def test_precision_recall_and_counts_match_numpy():
    pos, true = MULTI_PRED > 0.5, MULTI_TRUE > 0
    w = WEIGHTS[:, None]
    tp, fp, fn = (np.sum(w * (a & b)) for a, b in ((pos, true), (pos, ~true), (~pos, true)))
    for metric, expected in ((metrics.Precision(), tp / (tp + fp)), (metrics.Recall(), tp / (tp + fn)),
                             (metrics.TruePositives(), tp), (metrics.FalseNegatives(), fn)):
        state = metric.update(metric.init(), MULTI_TRUE, MULTI_PRED, sample_weight=WEIGHTS)
        np.testing.assert_allclose(metric.result(state), expected, rtol=1e-5)
    m = metrics.Precision(class_id=2)
    state = m.update(m.init(), MULTI_TRUE, MULTI_PRED)
    np.testing.assert_allclose(m.result(state), true[pos[:, 2], 2].mean(), rtol=1e-6)


def test_auc_matches_the_rank_statistic():
    # Scores on a coarse grid far from the 200 thresholds: the trapezoid is the exact ROC area.
    scores = (RNG.integers(0, 20, 60) + 0.5) / 20
    labels = (RNG.uniform(size=60) < scores).astype(np.float32)
    pos, neg = scores[labels == 1], scores[labels == 0]
    pairs = (pos[:, None] > neg[None]).mean() + 0.5 * (pos[:, None] == neg[None]).mean()
    m = metrics.AUC()
    state = m.update(m.init(), labels, scores.astype(np.float32))
    np.testing.assert_allclose(m.result(state), pairs, rtol=1e-5)


def test_f1_iou_and_r2_match_numpy():
    pred = MULTI_PRED > 0.5
    true = MULTI_TRUE > 0
    tp, fp, fn = (np.sum(a & b, 0) for a, b in ((pred, true), (pred, ~true), (~pred, true)))
    f1 = 2 * tp / np.maximum(2 * tp + fp + fn, 1e-12)
    m = metrics.get(metrics.F1Score(threshold=0.5), y_true_shape=(N, C), y_pred_shape=(N, C))
    np.testing.assert_allclose(m.result(m.update(m.init(), MULTI_TRUE, MULTI_PRED)), f1,
                               rtol=1e-5, atol=1e-6)
    cm = np.zeros((C, C))
    np.add.at(cm, (LABELS, PROBS.argmax(-1)), 1)
    inter = np.diag(cm)
    union = cm.sum(0) + cm.sum(1) - inter
    m = metrics.MeanIoU(C, sparse_y_pred=False)
    np.testing.assert_allclose(m.result(m.update(m.init(), LABELS, PROBS)),
                               np.mean(inter[union > 0] / union[union > 0]), rtol=1e-5)
    ss_res = ((REG_TRUE - REG_PRED) ** 2).sum(0)
    ss_tot = ((REG_TRUE - REG_TRUE.mean(0)) ** 2).sum(0)
    m = metrics.get(metrics.R2Score(class_aggregation=None), y_true_shape=REG_TRUE.shape,
                    y_pred_shape=REG_PRED.shape)
    np.testing.assert_allclose(m.result(m.update(m.init(), REG_TRUE, REG_PRED)),
                               1 - ss_res / ss_tot, rtol=1e-4)


# --- get(): names, dicts, classes, shape-dependent metrics ----------------------------------------


@pytest.mark.parametrize("name, factory", [
    ("auc", metrics.AUC), ("AUC", metrics.AUC), ("precision", metrics.Precision),
    ("Recall", metrics.Recall), ("true_positives", metrics.TruePositives),
    ("binary_accuracy", metrics.BinaryAccuracy), ("MeanSquaredError", metrics.MeanSquaredError),
    ("rmse", metrics.RootMeanSquaredError), ("logcosh", metrics.LogCoshError),
    ("log_cosh_error", metrics.LogCoshError), ("bce", metrics.BinaryCrossentropy),
    ("cosine_similarity", metrics.CosineSimilarity), ("kl_divergence", metrics.KLDivergence),
])
def test_get_resolves_keras_names(name, factory):
    m = metrics.get(name)
    assert m.name == name
    expected = factory()
    y_true, y_pred = (MULTI_TRUE, MULTI_PRED)
    a = m.result(m.update(m.init(), y_true, y_pred))
    b = expected.result(expected.update(expected.init(), y_true, y_pred))
    np.testing.assert_allclose(a, b, rtol=1e-6)


def test_get_shape_dependent_metrics_and_dicts():
    f1 = metrics.F1Score(average="macro")
    assert metrics.is_shape_dependent(f1) and metrics.get(f1) is f1
    with pytest.raises(ValueError, match=r"F1Score: this metric's state has one entry per class"
                                         r".*fnnet.metrics.get\(metric, y_true_shape="):
        f1.init()
    renamed = f1._replace(name="f1")
    resolved = metrics.get(renamed, y_true_shape=(None, C), y_pred_shape=(None, C))
    assert resolved.name == "f1" and resolved.init()["true_positives"].shape == (C,)
    m = metrics.get("f1_score", y_true_shape=(None, C), y_pred_shape=(None, C))
    assert m.name == "f1_score" and m.result(m.init()).shape == (C,)
    auc = metrics.get(metrics.AUC(multi_label=True), y_true_shape=(None, C), y_pred_shape=(None, C))
    assert auc.init()["true_positives"].shape == (200, C)
    m = metrics.get({"class_name": "AUC", "config": {"num_thresholds": 10, "name": "a"}})
    assert m.name == "a" and m.init()["false_negatives"].shape == (10,)
    assert metrics.get(metrics.AUC).name == "auc"  # a class, as Keras accepts
    ms = metrics.MetricSet.create([metrics.F1Score()], [metrics.F1Score()],
                                  y_true_shape=(N, C), y_pred_shape=(N, C))
    assert ms.names == ("loss", "f1_score", "weighted_f1_score")


@pytest.mark.parametrize("call, error, match", [
    (lambda: metrics.get("mean_io_u"), TypeError,
     r"metrics.get\('mean_io_u'\): MeanIoU has required arguments .*fnnet.metrics.MeanIoU"),
    (lambda: metrics.get({"class_name": "Nope"}), ValueError,
     r"metrics.get: a dict must be \{'class_name': ..., 'config'.*got \{'class_name': 'Nope'\}"),
    (lambda: metrics.Mean(dtype="float64"), ValueError,
     r"Mean: fnnet metrics accumulate in float32; got dtype='float64'"),
    (lambda: metrics.BinaryAccuracy(name=3), TypeError, r"BinaryAccuracy: name must be a string"),
    (lambda: metrics.BinaryAccuracy(threshold="x"), ValueError,
     r"BinaryAccuracy: threshold must be a float; got threshold='x'"),
    (lambda: metrics.BinaryCrossentropy(label_smoothing=2.0), ValueError,
     r"label_smoothing must be a float in \[0, 1\]; got label_smoothing=2.0"),
    (lambda: metrics.BinaryCrossentropy(from_logits="yes"), TypeError,
     r"BinaryCrossentropy: from_logits must be True or False"),
    (lambda: metrics.CosineSimilarity(axis=None), TypeError, r"CosineSimilarity: axis must be an int"),
    (lambda: metrics.SparseCategoricalCrossentropy(ignore_class="x"), TypeError,
     r"SparseCategoricalCrossentropy: ignore_class must be an int class id or None"),
    (lambda: metrics.AUC(name=1), TypeError, r"AUC: name must be a string or None"),
    (lambda: metrics.AUC(curve="XY"), ValueError, r"AUC: curve must be 'ROC', 'PR' or 'PRGAIN'"),
    (lambda: metrics.AUC(summation_method="sum"), ValueError,
     r"AUC: summation_method must be 'interpolation', 'majoring' or 'minoring'"),
    (lambda: metrics.AUC(thresholds=[0.5, 2.0]), ValueError, r"AUC: thresholds must lie in \[0, 1\]"),
    (lambda: metrics.AUC(num_thresholds=1), ValueError, r"AUC: num_thresholds must be an int > 1"),
    (lambda: metrics.AUC(multi_label=1), TypeError, r"AUC: multi_label must be True or False"),
    (lambda: metrics.AUC(num_labels=3), ValueError,
     r"AUC: num_labels=3 is only used with multi_label=True"),
    (lambda: metrics.get(metrics.AUC(multi_label=True), y_true_shape=(4,), y_pred_shape=(4,)),
     ValueError, r"AUC\(multi_label=True\): y_pred must have shape \(batch, labels\)"),
    (lambda: metrics.Precision(thresholds=[0.5, 1.5]), ValueError,
     r"Precision: thresholds must be a float or a non-empty list of floats in \[0, 1\]"),
    (lambda: metrics.Precision(name=2), TypeError, r"Precision: name must be a string or None"),
    (lambda: metrics.Recall(class_id=-1), ValueError, r"Recall: class_id must be an int >= 0"),
    (lambda: metrics.Precision(top_k=0), ValueError, r"Precision: top_k must be a positive int"),
    (lambda: metrics.PrecisionAtRecall(1.5), ValueError,
     r"PrecisionAtRecall: recall must be a float in \[0, 1\]; got recall=1.5"),
    (lambda: metrics.SensitivityAtSpecificity(0.5, num_thresholds=0), ValueError,
     r"SensitivityAtSpecificity: num_thresholds must be an int > 0"),
    (lambda: metrics.F1Score(name=None), TypeError, r"F1Score: name must be a string"),
    (lambda: metrics.F1Score(average="mean"), ValueError,
     r"F1Score: average must be None, 'micro', 'macro' or 'weighted'"),
    (lambda: metrics.FBetaScore(beta=1), ValueError, r"FBetaScore: beta must be a Python float > 0"),
    (lambda: metrics.F1Score(threshold=0.0), ValueError,
     r"F1Score: threshold must be None or a Python float in \(0, 1\]"),
    (lambda: metrics.get(metrics.F1Score(), y_true_shape=(4,), y_pred_shape=(4,)), ValueError,
     r"F1Score: expects 2-D y_true and y_pred of shape \(batch, classes\)"),
    (lambda: metrics.MeanIoU(0), ValueError, r"MeanIoU: num_classes must be an int >= 1"),
    (lambda: metrics.IoU(3, [0, 3]), ValueError,
     r"IoU: target_class_ids must be a non-empty list of class ids in \[0, 3\)"),
    (lambda: metrics.IoU(3, [0], ignore_class=1.0), TypeError, r"IoU: ignore_class must be an int"),
    (lambda: metrics.IoU(3, [0], name=1), TypeError, r"IoU: name must be a string or None"),
    (lambda: metrics.MeanIoU(3, sparse_y_true=1), TypeError,
     r"MeanIoU: sparse_y_true must be True or False"),
    (lambda: metrics.BinaryIoU(threshold=None), TypeError, r"BinaryIoU: threshold must be a float"),
    (lambda: metrics.R2Score(name=None), TypeError, r"R2Score: name must be a string"),
    (lambda: metrics.R2Score(class_aggregation="mean"), ValueError,
     r"R2Score: class_aggregation must be None, 'uniform_average' or"),
    (lambda: metrics.R2Score(num_regressors=-1), ValueError,
     r"R2Score: num_regressors must be an int >= 0"),
    (lambda: metrics.get(metrics.R2Score(), y_true_shape=(4, 2, 2), y_pred_shape=(4, 2, 2)),
     ValueError, r"R2Score: expects y_pred of shape \(batch, outputs\)"),
])
def test_argument_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("metric, y_true, y_pred, match", [
    (metrics.Precision(), np.zeros((4, 2)), np.zeros((4, 3)),
     r"precision: y_true and y_pred must have the same shape \(one label per prediction\)"),
    (metrics.Precision(class_id=1), np.zeros(4), np.zeros(4),
     r"precision: class_id=1 needs y_pred of shape \(batch, classes\)"),
    (metrics.F1Score(average="micro"), np.zeros((4, 2)), np.zeros((4, 3)),
     r"f1_score: y_true and y_pred must both have shape \(batch, classes\)"),
    (metrics.MeanIoU(3), np.zeros((4, 2)), np.zeros((4, 3)),
     r"mean_io_u: y_true and y_pred must hold one class id per entry"),
    (metrics.get(metrics.R2Score(), y_true_shape=(4, 2), y_pred_shape=(4, 2)), np.zeros((4, 3)),
     np.zeros((4, 3)), r"r2_score: y_true and y_pred must have shape \(batch, 2\)"),
])
def test_data_shape_errors(metric, y_true, y_pred, match):
    with pytest.raises(ValueError, match=match):
        metric.update(metric.init(), y_true, y_pred)


# --- fit ----------------------------------------------------------------------------------------


def test_fit_reports_functions_names_and_vector_metrics():
    model = models.Sequential([layers.Dense(1, activation="sigmoid", input_shape=(3,))])
    model.compile(optimizer="sgd", loss="binary_crossentropy",
                  metrics=[metrics.binary_accuracy, "auc", metrics.Precision(thresholds=[0.3, 0.7]),
                           metrics.F1Score(threshold=0.5)])
    x = RNG.normal(size=(20, 3)).astype(np.float32)
    y = (x[:, :1] > 0).astype(np.float32)
    history = model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    assert list(history.history) == ["loss", "binary_accuracy", "auc", "precision", "f1_score"]
    assert np.shape(history.history["precision"][0]) == (2,)
    assert np.shape(history.history["f1_score"][0]) == (1,)
    assert model.get_compile_config()["metrics"][:2] == ["binary_accuracy", "auc"]
