"""Keras 3 (JAX backend) as a reference for layer numerics; tests skip cleanly without it."""

from __future__ import annotations

import contextlib
import os

import jax
import numpy as np
import pytest

from fnnet.models.weights import ordered_leaves


def keras():
    """The keras module on the JAX backend, or a pytest skip."""
    os.environ.setdefault("KERAS_BACKEND", "jax")
    module = pytest.importorskip("keras")
    if module.backend.backend() != "jax":
        pytest.skip("keras runs on another backend than JAX")
    return module


@contextlib.contextmanager
def lenient():
    """Keras's own code broadcasts and promotes implicitly: relax the strict test config."""
    with jax.numpy_dtype_promotion("standard"), jax.numpy_rank_promotion("allow"):
        yield


def weights_of(params) -> list[np.ndarray]:
    """fnnet params as Keras's ``get_weights`` list (fnnet's order)."""
    return [np.asarray(a) for a in ordered_leaves(params)]


def run(layer, weights, *args, build=None, **kwargs):
    """Builds the Keras ``layer`` (``layer.build(*build)``, else by a first call on the
    inputs), sets ``weights``, and returns its numpy outputs on the inputs."""
    with lenient():
        if build is not None:
            layer.build(*build)
        else:
            layer(*args, **kwargs)
        layer.set_weights(weights)
        out = layer(*args, **kwargs)
    return jax.tree.map(np.asarray, out)


def run_fresh(layer, weights, make_args, **kwargs):
    """``run`` for inputs that carry Keras masks: Keras's MultiHeadAttention clears its
    inputs' ``_keras_mask`` when called, so each call gets fresh inputs from ``make_args()``."""
    with lenient():
        layer(*make_args(), **kwargs)
        layer.set_weights(weights)
        out = layer(*make_args(), **kwargs)
    return jax.tree.map(np.asarray, out)
