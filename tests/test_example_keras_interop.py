"""examples/keras_interop.py: a model trained in Keras 3, saved as .keras, loaded and fine-tuned
in fnnet; and its clean skip without Keras."""

import os
import sys

import pytest
from test_examples import load_example

os.environ.setdefault("KERAS_BACKEND", "jax")

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:keras")


def test_keras_trained_model_loads_with_equal_predictions_and_fine_tunes(tmp_path):
    pytest.importorskip("keras")
    pytest.importorskip("h5py")
    result = load_example("keras_interop").main(["--epochs", "1", "--out", str(tmp_path)])
    assert result["skipped"] is False
    assert result["match_before"] and result["max_diff"] < 1e-5
    assert result["match_back"]
    assert os.path.isfile(result["archive"])
    losses = result["history"]["loss"]
    assert len(losses) == 1 and 0 < losses[0] < 3
    assert result["fnnet_acc"] > 0.5  # one epoch each of Keras and fnnet on digits: about 0.75


def test_without_keras_the_example_skips_with_a_clear_message(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "keras", None)  # makes `import keras` raise ImportError
    result = load_example("keras_interop").main(["--epochs", "1"])
    assert result == {"skipped": True}
    out = capsys.readouterr().out
    assert "Skipping: this example needs Keras 3 and h5py" in out
    assert "pip install keras h5py" in out
