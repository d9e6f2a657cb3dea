"""More runnable examples: the convnet, the functional multi-input model, addition with LSTMs,
text classification, and the book's chapter-3 programs. Each is loaded from its file and its
``main(argv)`` called in-process with small sizes. The network is cut off (``urlopen`` raises at
once) and the dataset caches point at empty temporary folders, so the chapter-3 programs must
take their generated stand-ins; with a small file in Keras's format in the cache they must read
it instead."""

import math
import urllib.error
import urllib.request

import numpy as np
import pytest
from _dataset_files import housing_arrays, npz_bytes
from test_examples import load_example


@pytest.fixture(name="offline")
def offline_fixture(tmp_path, monkeypatch):
    """No network and empty dataset caches; returns the fnnet cache's datasets folder."""

    def refuse(url, *args, **kwargs):
        raise urllib.error.URLError("offline (test)")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    for var in ("HOME", "FNNET_HOME", "KERAS_HOME"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    monkeypatch.chdir(tmp_path)
    cache = tmp_path / "fnnet_home" / "datasets"
    cache.mkdir(parents=True)
    return cache


def ragged(rng, n, low, high, length=(5, 30)):
    out = np.empty(n, dtype=object)
    for i in range(n):
        out[i] = rng.integers(low, high, rng.integers(*length)).tolist()
    return out


@pytest.mark.slow
def test_mnist_convnet_falls_back_to_the_idx_digits_and_learns(offline, mnist_dir):
    result = load_example("mnist_convnet").main(["--epochs", "1", "--limit", "2000"])
    assert result["data"] == "idx"
    assert (result["n_train"], result["n_test"]) == (2000, 2000)
    assert len(result["history"]["loss"]) == 1 and len(result["epoch_seconds"]) == 1
    assert 0.6 < result["test_acc"] <= 1.0  # one epoch on 2,000 digits gives about 0.75
    assert math.isfinite(result["test_loss"])


def test_functional_multi_input_weights_the_per_output_losses():
    result = load_example("functional_multi_input").main(
        ["--epochs", "1", "--samples", "1000"])
    history = result["history"]
    assert set(history) == {f"{prefix}{key}" for prefix in ("", "val_") for key in (
        "loss", "priority_loss", "department_loss", "priority_accuracy",
        "department_binary_accuracy")}
    test = result["test"]
    # loss_weights={"priority": 0.5, "department": 1.0}
    assert test["loss"] == pytest.approx(0.5 * test["priority_loss"] + test["department_loss"],
                                         rel=1e-4)
    assert 0 <= test["priority_accuracy"] <= 1 and 0 <= test["department_binary_accuracy"] <= 1


def test_addition_rnn_data_and_shapes():
    example = load_example("addition_rnn")
    questions, answers = example.generate_sums(3000, 3, np.random.default_rng(0))
    assert len({tuple(sorted(map(int, q.split("+")))) for q in questions}) == 3000
    for q, a in zip(questions, answers, strict=True):
        assert len(q) == 7 and len(a) == 4
        left, right = q.split("+")
        assert int(left) + int(right) == int(a)
    table = example.CharacterTable(example.CHARS)
    assert table.decode(table.encode("535+61 ", 7)) == "535+61 "

    result = example.main(["--epochs", "1", "--samples", "2000", "--test-samples", "200",
                           "--units", "32"])
    assert result["x_test_shape"] == (200, 7, 12)
    assert result["predicted"].shape == (200, 4)
    assert 1 / 12 < result["char_acc"] <= 1  # one epoch: about 0.3, against 1/12 by chance
    assert 0 <= result["exact_match"] <= result["char_acc"]


def test_addition_rnn_refuses_more_sums_than_exist():
    example = load_example("addition_rnn")
    with pytest.raises(ValueError, match=r"n=3000 distinct sums of up to 2-digit numbers .* "
                                         r"only 5050; ask for at most 2525"):
        example.generate_sums(3000, 2, np.random.default_rng(0))


@pytest.mark.extended
def test_addition_rnn_learns_two_digit_sums():
    result = load_example("addition_rnn").main(
        ["--digits", "2", "--samples", "2200", "--test-samples", "300", "--epochs", "50",
         "--batch-size", "32"])
    assert result["exact_match"] > 0.85  # 0.937 for seed 0; guessing gets none


def test_text_classification_takes_the_standin_offline(offline, capsys):
    result = load_example("text_classification").main(
        ["--epochs", "1", "--samples", "300", "--maxlen", "40", "--model", "transformer"])
    assert result["data"] == "standin"
    assert "GENERATED stand-in" in capsys.readouterr().out
    assert result["x_train_shape"] == (300, 40)
    res = result["models"]["transformer"]
    assert set(result["models"]) == {"transformer"} and res["params"] > 320000
    assert 0.0 <= res["test_acc"] <= 1.0 and math.isfinite(res["test_loss"])
    assert sorted(res["history"]) == ["accuracy", "loss", "val_accuracy", "val_loss"]


@pytest.mark.extended
def test_text_classification_both_models_learn_the_standin(offline):
    result = load_example("text_classification").main(
        ["--epochs", "3", "--samples", "2000", "--maxlen", "60", "--batch-size", "32"])
    assert set(result["models"]) == {"bilstm", "transformer"}
    for name, res in result["models"].items():
        assert len(res["history"]["val_accuracy"]) == 3
        # Chance is 0.5; the best possible on the last 60 words is about 0.85.
        assert 0.6 < res["test_acc"] < 0.9, name


def test_imdb_binary_takes_the_standin_offline(offline, capsys):
    result = load_example("imdb_binary").main(
        ["--epochs", "1", "--samples", "1000", "--no-plot"])
    assert result["data"] == "standin" and "GENERATED stand-in" in capsys.readouterr().out
    assert (result["n_train"], result["n_test"]) == (1000, 1000)
    assert sorted(result["history"]) == ["binary_accuracy", "loss", "val_binary_accuracy",
                                         "val_loss"]
    assert 0.3 < result["test_acc"] <= 1.0 and math.isfinite(result["test_loss"])
    assert result["predictions"].shape == (5, 1)
    assert np.all((result["predictions"] >= 0) & (result["predictions"] <= 1))


@pytest.mark.slow
def test_imdb_binary_reads_imdb_npz_from_the_cache(offline, tmp_path):
    rng = np.random.default_rng(0)
    arrays = {"x_train": ragged(rng, 40, 1, 12000), "y_train": rng.integers(0, 2, 40),
              "x_test": ragged(rng, 30, 1, 12000), "y_test": rng.integers(0, 2, 30)}
    (offline / "imdb.npz").write_bytes(npz_bytes(arrays))
    plot = tmp_path / "curves.png"
    result = load_example("imdb_binary").main(["--epochs", "1", "--plot", str(plot)])
    assert result["data"] == "imdb"
    assert (result["n_train"], result["n_test"]) == (40, 30)
    assert plot.is_file() and plot.stat().st_size > 1000


def test_reuters_multiclass_takes_the_standin_offline(offline):
    example = load_example("reuters_multiclass")
    result = example.main(["--epochs", "1", "--samples", "2400", "--no-plot"])
    assert result["data"] == "standin"
    assert (result["n_train"], result["n_test"]) == (2400, 600)
    assert result["predictions"].shape == (600, 46)
    np.testing.assert_allclose(result["predictions"].sum(axis=1), 1.0, rtol=1e-4)
    # One epoch already beats guessing with the label frequencies (about 0.1 here).
    assert result["baseline"] < 0.3 and result["test_acc"] > result["baseline"]


@pytest.mark.slow
def test_reuters_multiclass_reads_reuters_npz_from_the_cache(offline):
    rng = np.random.default_rng(0)
    labels = np.concatenate([np.arange(46), rng.integers(0, 46, 2000)])
    (offline / "reuters.npz").write_bytes(
        npz_bytes({"x": ragged(rng, len(labels), 1, 12000), "y": labels}))
    result = load_example("reuters_multiclass").main(["--epochs", "1", "--no-plot"])
    assert result["data"] == "reuters"
    assert result["n_train"] + result["n_test"] == len(labels)


def test_boston_housing_takes_the_standin_offline(offline):
    example = load_example("boston_housing_regression")
    result = example.main(["--epochs", "40", "--k", "2"])
    assert result["data"] == "standin" and (result["n_train"], result["n_test"]) == (404, 102)
    assert len(result["val_maes"]) == 2
    assert result["val_mae"] == pytest.approx(np.mean(result["val_maes"]))
    assert 0 < result["test_mae"] < result["baseline_mae"]  # beats predicting the mean
    assert math.isfinite(result["test_mse"])


@pytest.mark.slow
def test_boston_housing_reads_boston_housing_npz_from_the_cache(offline):
    arrays = housing_arrays(506, 13, np.float64)
    arrays["y"] = 20 + 5 * arrays["y"]
    (offline / "boston_housing.npz").write_bytes(npz_bytes(arrays))
    result = load_example("boston_housing_regression").main(["--epochs", "1", "--k", "2"])
    assert result["data"] == "boston" and result["n_train"] + result["n_test"] == 506
