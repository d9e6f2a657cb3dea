"""Saliency: which pixels move a digit's class score, by the gradient with respect to the input.

A pure model makes this one line: ``jax.grad`` of the class score with respect to ``x`` rather
than the params, ``jax.vmap`` over the images. The network is the book's MNIST network trained
for a couple of epochs; the saliency map of each test digit (``|d score / d pixel|``) is saved
as a PNG next to the digits.

Data: the real MNIST test digits in ``../shared/data/mnist`` (8,000 to train, 2,000 to test),
or scikit-learn's 8x8 digits when they are absent.

Run: ``python examples/saliency.py --epochs 2``
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import numpy as np

from fnnet import layers, models
from fnnet.utils import set_random_seed

try:  # as a script, and when loaded by the tests
    from lr_sweep import load
except ImportError:  # pragma: no cover
    import importlib.util
    import pathlib

    _spec = importlib.util.spec_from_file_location(
        "lr_sweep", pathlib.Path(__file__).with_name("lr_sweep.py"))
    _module = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_module)
    load = _module.load


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--plot", default="saliency.png")
    parser.add_argument("--no-plot", action="store_true")
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    (x, y), (xt, yt), source = load()
    print(f"data: {source}")
    set_random_seed(0)
    model = models.Sequential([layers.Dense(512, activation="relu", input_shape=(x.shape[1],)),
                               layers.Dense(10, activation="softmax")])
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x, y, epochs=args.epochs, batch_size=128, verbose=0)
    params, state = model.params, model.state

    def score(image, label):  # the logit of the true class, for one image
        logits, _ = model.logits.apply(params, state, image[None])
        return logits[0, label]

    saliency = jax.jit(jax.vmap(jax.grad(score)))(jnp.asarray(xt[:8]), jnp.asarray(yt[:8]))
    saliency = np.abs(np.asarray(saliency))
    # Ink pixels should matter more than the empty border: a sanity figure to report.
    ink = xt[:8] > 0.3
    ratio = float(saliency[ink].mean() / max(saliency[~ink].mean(), 1e-12))
    print(f"mean |gradient| on ink pixels / off ink: {ratio:.2f}")
    plot = None
    if not args.no_plot and x.shape[1] == 784:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(2, 8, figsize=(12, 3.2))
        for i in range(8):
            axes[0, i].imshow(xt[i].reshape(28, 28), cmap="gray")
            axes[1, i].imshow(saliency[i].reshape(28, 28), cmap="hot")
            axes[0, i].set_title(str(int(yt[i])))
            for ax in axes[:, i]:
                ax.axis("off")
        fig.tight_layout()
        fig.savefig(args.plot)
        plot = args.plot
    return {"saliency_shape": saliency.shape, "ink_ratio": ratio, "plot": plot}


if __name__ == "__main__":
    main()
