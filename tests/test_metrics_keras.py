"""fnnet.metrics against Keras 3's metric classes and functions (JAX backend).

Each metric sees the same 15 examples with sample weights: Keras's in 3 batches of 5, fnnet's in
4 jitted batches of 4, the last padded with a row of NaN predictions that the mask removes.
Skipped when keras is not installed.
"""

import os
import re

import jax
import numpy as np
import pytest

from fnnet import metrics

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")

RNG = np.random.default_rng(3)
N, C, BATCH, KERAS_BATCH = 15, 4, 4, 5
LABELS = RNG.integers(0, C, N)
ONE_HOT = np.eye(C, dtype=np.float32)[LABELS]
PROBS = RNG.dirichlet(np.ones(C), N).astype(np.float32)
BIN_T = RNG.integers(0, 2, (N, 1)).astype(np.float32)
BIN_P = RNG.uniform(size=(N, 1)).astype(np.float32)
MULTI_T = RNG.integers(0, 2, (N, C)).astype(np.float32)
MULTI_P = RNG.uniform(size=(N, C)).astype(np.float32)
REAL_T = RNG.normal(size=(N, 3)).astype(np.float32)
REAL_P = RNG.normal(size=(N, 3)).astype(np.float32)
POS_T = RNG.uniform(0.1, 3, (N, 3)).astype(np.float32)
POS_P = RNG.uniform(0.1, 3, (N, 3)).astype(np.float32)
SEG_T = RNG.integers(0, 3, (N, 5)).astype(np.int32)
SEG_P = RNG.integers(0, 3, (N, 5)).astype(np.int32)
WEIGHTS = RNG.uniform(0.2, 2.0, N).astype(np.float32)

CASES = [
    ("Accuracy", {}, LABELS[:, None].astype(np.float32), PROBS.argmax(-1)[:, None].astype(np.float32)),
    ("BinaryAccuracy", {"threshold": 0.3}, BIN_T, BIN_P),
    ("CategoricalAccuracy", {}, ONE_HOT, PROBS),
    ("SparseCategoricalAccuracy", {}, LABELS[:, None].astype(np.float32), PROBS),
    ("TopKCategoricalAccuracy", {"k": 2}, ONE_HOT, PROBS),
    ("SparseTopKCategoricalAccuracy", {"k": 2}, LABELS, PROBS),
    ("MeanSquaredError", {}, REAL_T, REAL_P),
    ("MeanAbsoluteError", {}, REAL_T, REAL_P),
    ("MeanAbsolutePercentageError", {}, REAL_T, REAL_P),
    ("MeanSquaredLogarithmicError", {}, POS_T, POS_P),
    ("RootMeanSquaredError", {}, REAL_T, REAL_P),
    ("LogCoshError", {}, REAL_T, REAL_P),
    ("CosineSimilarity", {}, REAL_T, REAL_P),
    ("BinaryCrossentropy", {"label_smoothing": 0.1}, BIN_T, BIN_P),
    ("CategoricalCrossentropy", {"label_smoothing": 0.1}, ONE_HOT, PROBS),
    ("SparseCategoricalCrossentropy", {}, LABELS, PROBS),
    ("SparseCategoricalCrossentropy", {"ignore_class": 2}, LABELS, PROBS),
    ("KLDivergence", {}, PROBS, np.roll(PROBS, 1, 0)),
    ("Poisson", {}, POS_T, POS_P),
    ("Hinge", {}, BIN_T, BIN_P),
    ("SquaredHinge", {}, BIN_T, BIN_P),
    ("CategoricalHinge", {}, ONE_HOT, PROBS),
    ("AUC", {}, BIN_T, BIN_P),
    ("AUC", {"curve": "PR"}, BIN_T, BIN_P),
    ("AUC", {"curve": "PR", "summation_method": "minoring"}, BIN_T, BIN_P),
    ("AUC", {"curve": "PRGAIN", "summation_method": "majoring"}, BIN_T, BIN_P),
    ("AUC", {"num_thresholds": 7, "multi_label": True}, MULTI_T, MULTI_P),
    ("AUC", {"thresholds": [0.2, 0.35, 0.8]}, MULTI_T, MULTI_P),
    ("AUC", {"from_logits": True}, BIN_T, (BIN_P - 0.5) * 6),
    ("AUC", {"multi_label": True, "label_weights": [1, 2, 0, 1]}, MULTI_T, MULTI_P),
    ("AUC", {"label_weights": [1, 2, 0, 1]}, MULTI_T, MULTI_P),
    ("Precision", {}, MULTI_T, MULTI_P),
    ("Precision", {"thresholds": [0.2, 0.5, 0.9]}, MULTI_T, MULTI_P),
    ("Precision", {"top_k": 2}, MULTI_T, MULTI_P),
    ("Precision", {"class_id": 1}, MULTI_T, MULTI_P),
    ("Recall", {"thresholds": [0.0, 0.5, 1.0]}, MULTI_T, MULTI_P),
    ("Recall", {"top_k": 1, "class_id": 2}, MULTI_T, MULTI_P),
    ("TruePositives", {"thresholds": [0.3, 0.6]}, MULTI_T, MULTI_P),
    ("TrueNegatives", {}, MULTI_T, MULTI_P),
    ("FalsePositives", {}, MULTI_T, MULTI_P),
    ("FalseNegatives", {"thresholds": [0.1, 0.5, 0.9]}, MULTI_T, MULTI_P),
    ("PrecisionAtRecall", {"recall": 0.6}, BIN_T, BIN_P),
    ("RecallAtPrecision", {"precision": 0.6}, BIN_T, BIN_P),
    ("SensitivityAtSpecificity", {"specificity": 0.5, "num_thresholds": 50}, MULTI_T, MULTI_P),
    ("SpecificityAtSensitivity", {"sensitivity": 0.5, "class_id": 1}, MULTI_T, MULTI_P),
    ("F1Score", {}, ONE_HOT, PROBS),
    ("F1Score", {"average": "macro", "threshold": 0.3}, MULTI_T, MULTI_P),
    ("F1Score", {"average": "micro"}, ONE_HOT, PROBS),
    ("F1Score", {"average": "weighted", "threshold": 0.5}, MULTI_T, MULTI_P),
    ("FBetaScore", {"beta": 2.0, "threshold": 0.4}, MULTI_T, MULTI_P),
    ("MeanIoU", {"num_classes": 3}, SEG_T, SEG_P),
    ("IoU", {"num_classes": 3, "target_class_ids": [0, 2]}, SEG_T, SEG_P),
    ("MeanIoU", {"num_classes": 4, "sparse_y_pred": False}, LABELS, PROBS),
    ("BinaryIoU", {"threshold": 0.4}, BIN_T, BIN_P),
    ("OneHotIoU", {"num_classes": 4, "target_class_ids": [1, 3]}, ONE_HOT, PROBS),
    ("OneHotMeanIoU", {"num_classes": 4}, ONE_HOT, PROBS),
    ("R2Score", {}, REAL_T, REAL_P),
    ("R2Score", {"class_aggregation": "variance_weighted_average", "num_regressors": 2},
     REAL_T, REAL_P),
    ("R2Score", {"class_aggregation": None}, REAL_T, REAL_P),
]


def _keras_result(metric, y_true, y_pred, weights):
    with jax.numpy_dtype_promotion("standard"), jax.numpy_rank_promotion("allow"):
        for lo in range(0, N, KERAS_BATCH):
            metric.update_state(y_true[lo:lo + KERAS_BATCH], y_pred[lo:lo + KERAS_BATCH],
                                sample_weight=weights[lo:lo + KERAS_BATCH])
        return np.asarray(metric.result())


def _padded(a, lo, fill):
    part = a[lo:lo + BATCH]
    pad = np.full((BATCH - len(part),) + a.shape[1:], fill, a.dtype)
    return np.concatenate([part, pad])


def _fnnet_result(metric, y_true, y_pred, weights):
    metric = metrics.get(metric, y_true_shape=y_true.shape, y_pred_shape=y_pred.shape)
    update = jax.jit(metric.update)
    state = metric.init()
    nan = np.nan if y_pred.dtype.kind == "f" else 0
    for lo in range(0, N, BATCH):
        mask = np.arange(BATCH) < N - lo
        state = update(state, _padded(y_true, lo, 0), _padded(y_pred, lo, nan),
                       sample_weight=_padded(weights, lo, 1.0), mask=mask)
    return np.asarray(metric.result(state))


@pytest.mark.parametrize("name, kwargs, y_true, y_pred", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_metric_classes_equal_keras(name, kwargs, y_true, y_pred):
    # Keras's IoU metrics take per-entry weights for segmentation-shaped labels.
    keras_weights = WEIGHTS if y_true.ndim == 1 or "IoU" not in name or y_true.shape[1:] == (C,) \
        else np.repeat(WEIGHTS[:, None], y_true.shape[1], 1)
    if "IoU" in name:  # Keras keeps IoU counts in int32: whole weights only
        keras_weights = np.round(keras_weights)
    expected = _keras_result(getattr(keras.metrics, name)(**kwargs), y_true, y_pred, keras_weights)
    ours = getattr(metrics, name)(**kwargs)
    result = _fnnet_result(ours, y_true, y_pred, np.round(WEIGHTS) if "IoU" in name else WEIGHTS)
    assert result.shape == expected.shape
    np.testing.assert_allclose(result, expected, rtol=2e-6, atol=1e-6)
    # Keras's default name, without the counter its auto_name appends ("auc_3").
    assert ours.name == re.sub(r"_\d+$", "", getattr(keras.metrics, name)(**kwargs).name)


@pytest.mark.parametrize("name, kwargs, y_true, y_pred", [
    ("binary_accuracy", {"threshold": 0.7}, BIN_T, BIN_P),
    ("binary_accuracy", {}, BIN_T[:, 0], BIN_P),
    ("categorical_accuracy", {}, ONE_HOT, PROBS),
    ("sparse_categorical_accuracy", {}, LABELS[:, None], PROBS),
    ("sparse_categorical_accuracy", {}, LABELS, PROBS),
    ("top_k_categorical_accuracy", {"k": 2}, ONE_HOT, PROBS),
    ("sparse_top_k_categorical_accuracy", {"k": 3}, LABELS, PROBS),
    ("sparse_top_k_categorical_accuracy", {"k": 2, "from_sorted_ids": True}, LABELS,
     np.argsort(-PROBS, -1)),
])
def test_metric_functions_equal_keras(name, kwargs, y_true, y_pred):
    with jax.numpy_dtype_promotion("standard"), jax.numpy_rank_promotion("allow"):
        expected = np.asarray(getattr(keras.metrics, name)(y_true, y_pred, **kwargs))
    out = getattr(metrics, name)(y_true, y_pred, **kwargs)
    assert out.shape == expected.shape
    np.testing.assert_array_equal(out, expected)
