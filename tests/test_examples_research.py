"""The research examples: a learning-rate sweep as one Ensemble, and input saliency."""

from test_examples import assert_png, load_example


def test_lr_sweep_trains_eight_models_in_one_program(tmp_path, mnist_dir):
    plot = tmp_path / "sweep.png"
    result = load_example("lr_sweep").main(["--epochs", "1", "--plot", str(plot)])
    assert len(result["val_accuracy"]) == 8
    assert max(result["val_accuracy"]) > 0.85  # one epoch of 8,000 real digits
    assert len(set(round(a, 4) for a in result["val_accuracy"])) > 1  # the rates differ
    assert_png(plot)


def test_saliency_weighs_ink_above_background(tmp_path, mnist_dir):
    plot = tmp_path / "saliency.png"
    result = load_example("saliency").main(["--epochs", "1", "--plot", str(plot)])
    assert result["saliency_shape"] == (8, 784)
    assert result["ink_ratio"] > 1.0
    assert_png(plot)
