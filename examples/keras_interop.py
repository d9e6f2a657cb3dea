"""A model trained in Keras 3, saved as ``.keras``, loaded and fine-tuned in fnnet.

1. Keras 3 (JAX backend) trains a small MLP on scikit-learn's digits (8x8 images, 10 classes)
   and saves it with ``keras_model.save("digits.keras")``.
2. ``fnnet.models.load_model("digits.keras")`` reads the archive without Keras and without
   running anything from it: the architecture from its JSON config, the weights from its
   ``model.weights.h5`` (h5py), the compile settings (optimizer, loss, metrics) from its
   ``compile_config``. Before any fine-tuning, fnnet's predictions equal Keras's.
3. fnnet fine-tunes the loaded model (the optimizer starts fresh: Keras's optimizer state is not
   read), evaluates it, and writes its weights back as a Keras ``.weights.h5`` file, which the
   Keras model loads to give fnnet's predictions.

Without Keras (or h5py) installed, the example says so and exits cleanly.

Run: ``python examples/keras_interop.py --epochs 3``
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
import warnings

import jax
import numpy as np

from fnnet import models
from fnnet.datasets import digits


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3,
                        help="epochs of Keras training, and of fnnet fine-tuning")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None,
                        help="folder for digits.keras (default: a temporary folder)")
    return parser.parse_args(argv)


def import_keras():
    """Keras 3 on the JAX backend, or None (with the reason printed) when it is missing."""
    os.environ["KERAS_BACKEND"] = "jax"  # must be set before keras is imported
    try:
        import h5py  # noqa: F401 - fnnet reads Keras's weights with it
        import keras
    except ImportError as e:
        print(f"Skipping: this example needs Keras 3 and h5py ({e}). "
              f"Install them with: pip install keras h5py")
        return None
    if not keras.__version__.startswith("3.") or keras.backend.backend() != "jax":
        print(f"Skipping: this example needs Keras 3 on the JAX backend; found Keras "
              f"{keras.__version__} on {keras.backend.backend()!r} (set KERAS_BACKEND=jax "
              f"before anything imports keras).")
        return None
    return keras


@contextlib.contextmanager
def keras_numerics():
    # Keras's own code relies on JAX's default promotion rules; fnnet's tests run JAX strict.
    with jax.numpy_dtype_promotion("standard"), jax.numpy_rank_promotion("allow"):
        yield


def train_in_keras(keras, x, y, args) -> object:
    keras.utils.set_random_seed(args.seed)
    model = keras.Sequential([
        keras.Input((64,)),
        keras.layers.Dense(32, activation="relu"),
        keras.layers.Dropout(0.1),
        keras.layers.Dense(10, activation="softmax"),
    ], name="digits_mlp")
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x, y, epochs=args.epochs, batch_size=args.batch_size, verbose=0)
    return model


def main(argv=None) -> dict:
    args = parse_args(argv)
    keras = import_keras()
    if keras is None:
        return {"skipped": True}
    (x_train, y_train), (x_test, y_test) = digits.load_data()  # pixels already in [0, 1]
    folder = args.out or tempfile.mkdtemp(prefix="fnnet_keras_interop_")
    archive = os.path.join(folder, "digits.keras")

    with keras_numerics():
        keras_model = train_in_keras(keras, x_train, y_train, args)
        keras_pred = np.asarray(keras_model(x_test, training=False))
        keras_model.save(archive)
    keras_acc = float(np.mean(keras_pred.argmax(-1) == y_test))
    print(f"Keras: trained {args.epochs} epoch(s), test accuracy {keras_acc:.4f}; "
          f"saved {archive}")

    model = models.load_model(archive)
    pred = model.predict(x_test, verbose=0)
    max_diff = float(np.max(np.abs(pred - keras_pred)))
    match = bool(np.allclose(pred, keras_pred, rtol=1e-5, atol=1e-6))
    print(f"fnnet: loaded {model.name!r} ({len(model.layers)} layers, "
          f"{model.count_params()} params), compiled with "
          f"{model.get_compile_config()['optimizer']['name']}")
    print(f"fnnet: predictions match Keras's before fine-tuning: {match} "
          f"(largest difference {max_diff:.2e})")

    history = model.fit(x_train, y_train, epochs=args.epochs, batch_size=args.batch_size,
                        verbose=0).history
    loss, acc = (float(v) for v in model.evaluate(x_test, y_test, verbose=0))
    print(f"fnnet: fine-tuned {args.epochs} epoch(s): train loss per epoch "
          f"{[round(v, 4) for v in history['loss']]}, test accuracy {acc:.4f} (Keras's "
          f"{keras_acc:.4f})")

    weights = os.path.join(folder, "fine_tuned.weights.h5")
    model.save_weights(weights)
    with keras_numerics(), warnings.catch_warnings():
        # The file holds the layers' weights only, not an optimizer state: Keras says it keeps
        # its own optimizer's.
        warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
        keras_model.load_weights(weights)
        back = np.asarray(keras_model(x_test, training=False))
    back_match = bool(np.allclose(back, model.predict(x_test, verbose=0), rtol=1e-5, atol=1e-6))
    print(f"Keras: loaded fnnet's fine-tuned weights ({weights}); predictions match fnnet's: "
          f"{back_match}")
    return {"skipped": False, "match_before": match, "max_diff": max_diff,
            "keras_acc": keras_acc, "fnnet_acc": acc, "test_loss": loss,
            "history": history, "match_back": back_match, "archive": archive}


if __name__ == "__main__":
    main()
