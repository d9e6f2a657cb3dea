"""Where fnnet differs from Keras 3 on purpose: one test per difference, pinning both sides.

Each test shows fnnet's behaviour and, next to it, Keras 3's (JAX backend), so the README's
section "Where fnnet differs from Keras 3, and why" cannot go stale: if either library changes,
the test fails. Everything not listed here agrees with Keras (``test_keras_parity.py``).
Tests skip cleanly without Keras.
"""

from __future__ import annotations

import math
import re
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _keras_ref import keras, keras_call, lenient

import fnnet
from fnnet import Masked, callbacks, layers, losses, metrics, models, utils


def _logistic(logit: float, functional: bool = False):
    """``Input(2) -> Dense(1, sigmoid)`` whose logit is ``logit`` on ``[1, 0]``."""
    if functional:
        inputs = fnnet.Input((2,))
        model = models.Model(inputs, layers.Dense(1, activation="sigmoid")(inputs))
    else:
        model = models.Sequential([fnnet.Input((2,)), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=fnnet.optimizers.SGD(learning_rate=1.0), loss="binary_crossentropy")
    model.set_weights([np.array([[logit], [0.0]]), np.array([0.0])])
    return model


X1 = np.array([[1.0, 0.0]], np.float32)
Y0 = np.zeros((1, 1), np.float32)
# Keras clips probabilities to [1e-7, 1 - 1e-7]; in float32, 1 - 1e-7 is 1 - 2**-23.
KERAS_CLIPPED_BCE = -math.log(1.0 - float(np.float32(1.0 - 1e-7)))


def test_cross_entropy_of_a_sequential_sigmoid_output_is_computed_from_the_logits():
    # A confidently wrong prediction: logit 40 (p = 1 - 4e-18) for a 0 target.
    k = keras()
    model = _logistic(40.0)
    loss = model.evaluate(X1, Y0, verbose=0)
    assert loss == pytest.approx(40.0, rel=1e-6)  # softplus(40): the true loss
    model.train_on_batch(X1, Y0)  # its gradient is sigmoid(40) - 0 = 1: the bias moves by -1
    assert model.get_weights()[1] == pytest.approx([-1.0], rel=1e-6)

    # Keras-JAX clips the probability: the loss saturates and its gradient vanishes.
    def keras_loss(logit):
        return k.losses.binary_crossentropy(jnp.zeros((1, 1)), jax.nn.sigmoid(logit))[0]

    assert float(keras_call(keras_loss, jnp.array([[40.0]]))) == pytest.approx(
        KERAS_CLIPPED_BCE, rel=1e-5)
    assert float(keras_call(jax.grad(keras_loss), jnp.array([[40.0]]))[0, 0]) == 0.0


def test_functional_models_score_cross_entropy_on_probabilities_as_keras():
    # The logits path needs the output layer's logits, which only a Sequential exposes; a
    # functional model (one output or several) is scored as Keras scores it.
    keras()
    model = _logistic(40.0, functional=True)
    assert model.evaluate(X1, Y0, verbose=0) == pytest.approx(KERAS_CLIPPED_BCE, rel=1e-5)
    model.train_on_batch(X1, Y0)
    np.testing.assert_array_equal(model.get_weights()[1], [0.0])  # no gradient, as in Keras


def test_accuracy_with_binary_crossentropy_on_multi_label_outputs_is_binary_accuracy():
    keras()
    from keras.src.trainers.compile_utils import get_metric

    y_true = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]], np.float32)
    y_pred = np.array([[0.9, 0.2, 0.3], [0.1, 0.4, 0.8]], np.float32)
    ours = metrics.get("accuracy", y_true_shape=y_true.shape, y_pred_shape=y_pred.shape,
                       loss="binary_crossentropy")
    value = float(ours.result(ours.update(ours.init(), jnp.asarray(y_true),
                                          jnp.asarray(y_pred))))
    assert value == pytest.approx(np.mean((y_pred > 0.5) == y_true))  # 3 of 6 labels right
    theirs = keras_call(get_metric, "accuracy", y_true, y_pred)
    assert type(theirs).__name__ == "CategoricalAccuracy"  # Keras looks at the shapes alone


class _Stub:
    stop_training = False


def _early_stopping(lib_callbacks, values):
    es = lib_callbacks.EarlyStopping(monitor="val_loss", patience=1)
    es.set_model(_Stub())
    es.on_train_begin()
    for epoch, value in enumerate(values):
        es.on_epoch_end(epoch, {"val_loss": value})
    return es


def test_early_stopping_ignores_a_nan_first_value():
    k = keras()
    values = [float("nan"), 1.0, 0.5]
    ours = _early_stopping(callbacks, values)
    assert ours.best == 0.5 and not ours.model.stop_training
    theirs = keras_call(_early_stopping, k.callbacks, values)
    # Keras takes the NaN as the best, and nothing compares better than NaN: it stops.
    assert math.isnan(theirs.best) and theirs.model.stop_training


def test_class_weight_and_sample_weight_together_multiply():
    k = keras()
    ours = models.Sequential([fnnet.Input((2,)), layers.Dense(2, activation="softmax")])
    ours.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    _, _, sw = ours.prepare("fit", np.eye(2, dtype=np.float32), np.array([0, 1]),
                            sample_weight=np.array([0.5, 2.0]), class_weight={0: 3.0, 1: 0.25})
    np.testing.assert_allclose(sw, [1.5, 0.5])
    with lenient(), pytest.raises(ValueError, match="class_weight` and `sample_weight"):
        theirs = k.Sequential([k.Input((2,)), k.layers.Dense(2)])
        theirs.compile(optimizer="sgd", loss="sparse_categorical_crossentropy",
                       jit_compile=False)
        theirs.fit(
            np.eye(2, dtype=np.float32), np.array([0, 1]), sample_weight=np.array([0.5, 2.0]),
            class_weight={0: 3.0, 1: 0.25}, verbose=0)


def test_two_metrics_of_one_name_are_refused_not_renumbered():
    k = keras()
    model = models.Sequential([fnnet.Input((2,)), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="sgd", loss="binary_crossentropy",
                  metrics=["precision", metrics.Precision(thresholds=0.3)])
    with pytest.raises(ValueError, match="the name 'precision' appears twice"):
        model.evaluate(np.eye(2, dtype=np.float32), np.array([[1.0], [0.0]]), verbose=0)
    # Keras silently renames the second.
    from keras.src.trainers.compile_utils import CompileMetrics

    with lenient():
        theirs = CompileMetrics(["precision", k.metrics.Precision(thresholds=0.3)], None)
        theirs.build(np.zeros((2, 1), np.float32), np.zeros((2, 1), np.float32))
        first, second = sorted(theirs.result())
        # the suffix counts Precision objects made so far in the process, in some versions
        assert first == "precision" and re.fullmatch(r"precision_\d+", second), second


@pytest.mark.parametrize("name", ["Dice", "Tversky"])
def test_dice_and_tversky_with_axis_none_are_per_example(name):
    k = keras()
    y_true = np.array([[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]], np.float32)
    y_pred = np.array([[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0]], np.float32)
    inter = (y_true * y_pred).sum(-1)
    per_example = 1 - 2 * inter / (y_true.sum(-1) + y_pred.sum(-1))  # Tversky(0.5, 0.5) too
    ours = float(getattr(losses, name)()(y_true, y_pred))
    assert ours == pytest.approx(per_example.mean(), rel=1e-5)  # (1/3 + 1/3) / 2
    theirs = float(keras_call(getattr(k.losses, name)(), y_true, y_pred))
    batch_wide = 1 - 2 * inter.sum() / (y_true.sum() + y_pred.sum())  # 1 - 4/7
    assert theirs == pytest.approx(batch_wide, rel=1e-5)
    assert float(getattr(losses, name)(axis=(1,))(y_true, y_pred)) == pytest.approx(
        float(keras_call(getattr(k.losses, name)(axis=(1,)), y_true, y_pred)), rel=1e-6)


def test_masked_global_max_pooling_1d_leaves_the_padding_out():
    k = keras()
    # The 9 is padding; Masking zeroes it (in both libraries) and marks it masked.
    x = np.array([[[-3.0], [-2.0], [9.0]]], np.float32)
    masked, _ = layers.Masking(mask_value=9.0).apply((), (), jnp.asarray(x))
    out, _ = layers.GlobalMaxPooling1D().apply((), (), masked)
    assert isinstance(masked, Masked) and np.asarray(out).tolist() == [[-2.0]]
    with lenient():
        warnings.simplefilter("ignore", UserWarning)  # "does not support masking"
        theirs = k.Sequential([k.Input((3, 1)), k.layers.Masking(mask_value=9.0),
                               k.layers.GlobalMaxPooling1D()])
        # Keras drops the mask: the max is over the zeroed padding too.
        assert np.asarray(theirs(x)).tolist() == [[0.0]]


def test_activity_regularizer_is_not_supported():
    k = keras()
    with pytest.raises(TypeError, match="activity_regularizer"):
        layers.Dense(3, activity_regularizer="l2")
    assert k.layers.Dense(3, activity_regularizer="l2").activity_regularizer is not None


def test_adapt_returns_the_adapted_layer():
    k = keras()
    data = np.array([[1.0], [3.0]], np.float32)
    norm = layers.Normalization()
    adapted = norm.adapt(data)
    assert adapted is not norm
    _, params, state = adapted.init(jax.random.key(0), (None, 1))
    out, _ = adapted.apply(params, state, jnp.asarray(data))
    np.testing.assert_allclose(np.asarray(out), [[-1.0], [1.0]], atol=1e-3)
    theirs = k.layers.Normalization()
    assert keras_call(theirs.adapt, data) is None  # Keras changes the layer in place


def test_evaluate_and_predict_take_many_rows_per_pass_by_default():
    # Keras's default batch_size is 32; fnnet's is as many rows as its memory budget allows
    # (batch_size, when given, bounds it). Values agree with Keras's up to float32 rounding.
    # predict runs as one program: on_predict_batch_end fires once, with the last batch index.
    seen = []

    class Last(callbacks.Callback):
        def on_predict_batch_end(self, batch, logs=None):
            seen.append(batch)

    model = models.Sequential([fnnet.Input((2,)), layers.Dense(1)])
    x = np.random.default_rng(0).normal(size=(100, 2)).astype(np.float32)
    whole = model.predict(x, verbose=0, callbacks=[Last()])
    in_32s = model.predict(x, batch_size=32, verbose=0, callbacks=[Last()])
    assert seen == [0, 3]  # one pass of 100 rows; 4 batches of at most 32 rows
    np.testing.assert_allclose(whole, in_32s, rtol=1e-6)


def test_the_same_seed_draws_other_initial_weights():
    # fnnet's random streams are JAX keys of its own: copy Keras's weights with set_weights.
    k = keras()
    utils.set_random_seed(0)
    ours = models.Sequential([fnnet.Input((4,)), layers.Dense(3)])
    with lenient():
        k.utils.set_random_seed(0)
        theirs = k.Sequential([k.Input((4,)), k.layers.Dense(3)])
        weights = [np.array(w) for w in theirs.get_weights()]
    kernel = weights[0]
    assert ours.get_weights()[0].shape == kernel.shape
    assert not np.allclose(ours.get_weights()[0], kernel)
    ours.set_weights(weights)
    np.testing.assert_array_equal(ours.get_weights()[0], kernel)
