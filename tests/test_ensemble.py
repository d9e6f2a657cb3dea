"""Ensembles: K models trained as one vmapped program equal K separate fits."""

from __future__ import annotations

import numpy as np
import pytest

from fnnet import callbacks, layers, models, optimizers, utils


def build(lr=1e-3, seed=0, optimizer=None, units=8):
    utils.set_random_seed(seed)
    model = models.Sequential([layers.Dense(units, activation="relu", input_shape=(6,)),
                               layers.Dropout(0.2), layers.Dense(3, activation="softmax")])
    model.compile(optimizer=optimizer or optimizers.RMSprop(learning_rate=lr),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def data(n=50):
    rng = np.random.default_rng(0)
    x = rng.random((n, 6), dtype=np.float32)
    return x, x[:, :3].argmax(1).astype(np.int32)


@pytest.fixture(scope="module")
def trained():
    x, y = data()
    lrs = [1e-3, 3e-3, 1e-2]
    ens = models.Ensemble([build(lr, k) for k, lr in enumerate(lrs)])
    histories = ens.fit(x, y, epochs=3, batch_size=16, verbose=0, validation_split=0.2)
    singles = [build(lr, k) for k, lr in enumerate(lrs)]
    single_histories = [m.fit(x, y, epochs=3, batch_size=16, verbose=0, validation_split=0.2)
                        for m in singles]
    return ens, histories, singles, single_histories


def test_member_k_equals_a_single_fit_with_seed_k(trained):
    ens, histories, singles, single_histories = trained
    for mine, theirs in zip(histories, single_histories, strict=True):
        assert list(mine.history) == list(theirs.history)
        for key in theirs.history:
            np.testing.assert_allclose(mine.history[key], theirs.history[key], rtol=1e-5,
                                       atol=1e-6)
    for member, single in zip(ens.models, singles, strict=True):
        for a, b in zip(member.get_weights(), single.get_weights(), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_evaluate_and_predict_are_stacked(trained):
    ens, _, singles, _ = trained
    x, y = data()
    results = ens.evaluate(x, y, verbose=0, return_dict=True)
    assert len(results) == 3
    for res, single in zip(results, singles, strict=True):
        ref = single.evaluate(x, y, verbose=0, return_dict=True)
        np.testing.assert_allclose(res["loss"], ref["loss"], rtol=1e-5)
    preds = ens.predict(x, verbose=0)
    assert preds.shape == (3, 50, 3)
    np.testing.assert_allclose(preds[1], singles[1].predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_early_stopping_per_member_freezes_only_that_member():
    x, y = data()
    ens = models.Ensemble([build(lr, k) for k, lr in enumerate([1e-3, 0.5])])
    stop = callbacks.EarlyStopping(monitor="loss", patience=0, min_delta=10.0)  # stops at once
    always = callbacks.LambdaCallback()
    histories = ens.fit(x, y, epochs=4, batch_size=16, verbose=0, callbacks=[stop, always])
    # min_delta=10 makes every epoch after the first "no improvement": each member stops after
    # epoch 2, and its weights stop changing there.
    assert [len(h.history["loss"]) for h in histories] == [2, 2]


def test_members_that_cannot_be_stacked_are_refused():
    with pytest.raises(ValueError, match=r"member 1 .* has another architecture than member 0"):
        models.Ensemble([build(), build(units=4)])
    other = build()
    other.compile(optimizer="rmsprop", loss="mse")
    with pytest.raises(ValueError, match=r"member 1 .* was compiled with loss='mse', member 0 "
                                         r"with 'sparse_categorical_crossentropy'"):
        models.Ensemble([build(), other])
    with pytest.raises(ValueError, match=r"member 1 .* holds another optax optimizer object"):
        import optax
        models.Ensemble([build(optimizer=optax.sgd(0.1)), build(optimizer=optax.sgd(0.1))])
    with pytest.raises(TypeError, match=r"Ensemble\(models\): expected a list of fnnet models"):
        models.Ensemble(["a"])
    uncompiled = models.Sequential([layers.Dense(2, input_shape=(3,))])
    with pytest.raises(ValueError, match=r"member 0 .* must be built and compiled"):
        models.Ensemble([uncompiled])
