"""The runnable examples in ``examples/``: each runs end to end for one epoch and reports sane
metrics. They are loaded from their files and their ``main(argv)`` called in-process, except
one MNIST run as a real subprocess with no MNIST cache and an unreachable download origin."""

import importlib.util
import math
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def load_example(name):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def unreachable_origin():
    """A URL on a local port nothing listens on, so a download is refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/mnist.npz"


def assert_png(path):
    assert path.is_file(), f"no plot written at {path}"
    data = path.read_bytes()
    assert len(data) > 1000 and data.startswith(PNG_MAGIC)


def test_mnist_mlp_idx_fallback_trains_and_plots(tmp_path, mnist_dir):
    plot = tmp_path / "history.png"
    result = load_example("mnist_mlp").main(
        ["--epochs", "1", "--data", "idx", "--seed", "0", "--plot", str(plot)])
    assert result["data"] == "idx"
    assert (result["n_train"], result["n_test"]) == (8000, 2000)
    assert 0.85 < result["test_acc"] <= 1.0  # one epoch on 8,000 real digits gives about 0.91
    assert math.isfinite(result["test_loss"]) and result["test_loss"] > 0
    assert sorted(result["history"]) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert len(result["history"]["loss"]) == 1
    assert_png(plot)


def test_mnist_mlp_digits_builds_for_64_features(tmp_path):
    result = load_example("mnist_mlp").main(
        ["--epochs", "3", "--data", "digits", "--batch-size", "32", "--no-plot"])
    assert result["data"] == "digits" and result["plot"] is None
    assert (result["n_train"], result["n_test"]) == (1437, 360)
    assert 0.5 < result["test_acc"] <= 1.0  # chance is 0.1
    assert not list(tmp_path.iterdir())


def test_mnist_mlp_data_mnist_raises_when_offline(tmp_path, monkeypatch):
    for var in ("HOME", "FNNET_HOME", "KERAS_HOME"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    with pytest.raises(OSError, match="MNIST was not found"):
        load_example("mnist_mlp").main(
            ["--data", "mnist", "--no-plot", "--origin", unreachable_origin()])


def test_mnist_mlp_script_falls_back_offline(tmp_path):
    env = dict(os.environ, HOME=str(tmp_path / "home"), FNNET_HOME=str(tmp_path / "fnnet"),
               KERAS_HOME=str(tmp_path / "keras"))
    proc = subprocess.run(
        [sys.executable, "examples/mnist_mlp.py", "--epochs", "1", "--no-plot",
         "--origin", unreachable_origin()],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "full MNIST unavailable" in out and "falling back" in out
    source = re.search(r"^data: (\w+), (\d+) train", out, re.MULTILINE)
    has_idx = (REPO.parent / "shared/data/mnist/t10k-images-idx3-ubyte.gz").is_file()
    assert source.groups() == (("idx", "8000") if has_idx else ("digits", "1437"))
    acc = re.search(r"^test_acc: (0\.\d{4}|1\.0000)$", out, re.MULTILINE)
    assert acc and float(acc.group(1)) > 0.5, out
    assert not (tmp_path / "fnnet" / "datasets" / "mnist.npz").exists()


def test_functional_mlp_trains_and_gives_per_example_gradients():
    result = load_example("functional_mlp").main(["--epochs", "1", "--batch-size", "256"])
    chance_beaten = 0.85 if result["data"] == "idx" else 0.5
    assert chance_beaten < result["test_acc"] <= 1.0
    assert result["steps"] == (8000 if result["data"] == "idx" else 1437) // 256
    norms = result["grad_norms"]
    assert norms.shape == (8,) and np.all(np.isfinite(norms)) and np.all(norms > 0)
    assert len(set(np.round(norms, 6).tolist())) == 8  # one distinct gradient per example
    assert result["grad_gap"] < 1e-5  # their mean is the batch gradient


def test_binary_classification_trains_and_plots(tmp_path):
    plot = tmp_path / "curves.png"
    result = load_example("binary_classification").main(["--epochs", "1", "--plot", str(plot)])
    assert 0.75 < result["test_acc"] <= 1.0  # about 63% of the tumours are benign
    assert math.isfinite(result["test_loss"])
    assert_png(plot)


def test_regression_k_fold_and_test_mae():
    from fnnet.datasets import diabetes

    result = load_example("regression").main(["--folds", "2", "--epochs", "2"])
    assert len(result["val_maes"]) == 2
    assert np.isclose(result["val_mae"], np.mean(result["val_maes"]))
    (_, _), (_, y_test) = diabetes.load_data()
    # The network starts out predicting about 0, whose MAE is the targets' mean (all positive);
    # two epochs must improve on that.
    assert all(0 < m < 200 for m in result["val_maes"])
    assert 0 < result["test_mae"] < float(np.mean(y_test))
    assert math.isfinite(result["test_mse"])


def test_custom_training_recipes():
    result = load_example("custom_training").main(["--epochs", "2"])
    assert result["same_history"]  # the hand-written epoch loop equals fit, exactly
    assert result["custom_losses"][1] < result["custom_losses"][0]
    assert result["custom_test_acc"] > 0.6
    assert result["frozen_kept"]
    assert 0.3 < result["dp_train_acc"] <= 1.0
