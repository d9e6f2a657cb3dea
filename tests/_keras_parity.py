"""A Keras 3 layer (JAX backend) next to its fnnet twin, with the same weights and inputs.

fnnet's constructors take Keras's argument names, so both layers are built from the same
keyword arguments: a parity case also checks that the APIs agree. Imported by the layer test
modules as ``from _keras_parity import ...``; Keras-dependent tests skip cleanly without Keras.
"""

from __future__ import annotations

import inspect
import os
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from fnnet import Masked, layers
from fnnet.models.weights import ordered_leaves, replace_ordered

os.environ.setdefault("KERAS_BACKEND", "jax")


def keras_module():
    """Keras 3 on the JAX backend, or a skip."""
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "jax":  # pragma: no cover (another backend chosen outside)
        pytest.skip(f"Keras runs on {keras.backend.backend()}, not jax")
    return keras


def keras_call(fn, *args, **kwargs):
    """Keras's own code is not written for strict JAX promotion; let it run in standard mode
    (and keep its numpy-2 ``__array__(copy=...)`` deprecation notices out of the report)."""
    with jax.numpy_dtype_promotion("standard"), jax.numpy_rank_promotion("allow"), \
            warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="keras")
        return fn(*args, **kwargs)


def assert_matches_keras(name: str, kwargs: dict, shape: tuple, *, seed: int = 0, mask=None,
                         x: np.ndarray | None = None, rtol: float = 1e-5, atol: float = 1e-5):
    """Builds ``keras.layers.<name>(**kwargs)`` and ``fnnet.layers.<name>(**kwargs)``, gives
    both the same random weights (checking fnnet's param shapes and Keras's weight order) and
    the same float32 input (with a bool ``mask`` over ``(batch, steps)`` if given), and asserts
    equal outputs and output shapes. Returns the output."""
    keras = keras_module()
    rng = np.random.default_rng(seed)
    if x is None:
        x = rng.normal(size=shape).astype(np.float32)

    def run_keras():
        layer = getattr(keras.layers, name)(**{**kwargs, **_fast_initializers(keras, name)})
        if not layer.built:
            layer.build(shape)
        weights = [rng.normal(size=w.shape).astype(np.float32) for w in layer.get_weights()]
        layer.set_weights(weights)
        # Jitted: one compilation per case rather than one per eager op.
        extra = {} if mask is None else {"mask": mask}
        call = jax.jit(lambda tv, ntv, v: layer.stateless_call(tv, ntv, v, **extra)[0])
        out = call([w.value for w in layer.trainable_variables],
                   [w.value for w in layer.non_trainable_variables], x)
        return np.asarray(out), weights

    expected, weights = keras_call(run_keras)
    layer = getattr(layers, name)(**kwargs)
    out_shapes = []

    def init(key):  # traced only: the params' shapes, without compiling random draws
        out_shape, params, state = layer.init(key, (None, *shape[1:]))
        out_shapes.append(out_shape)
        return params, state

    params, state = jax.eval_shape(init, jax.random.key(0))
    out_shape = out_shapes[0]
    assert [tuple(a.shape) for a in ordered_leaves(params)] == [w.shape for w in weights]
    params = replace_ordered(params, [jnp.asarray(w) for w in weights])
    inputs = jnp.asarray(x) if mask is None else Masked(jnp.asarray(x), jnp.asarray(mask))
    y, new_state = jax.jit(layer.apply)(params, state, inputs)
    assert new_state == ()
    assert out_shape == (None, *expected.shape[1:]) and y.shape == expected.shape
    np.testing.assert_allclose(np.asarray(y), expected, rtol=rtol, atol=atol)
    return np.asarray(y)


def _fast_initializers(keras, name: str) -> dict:
    """Zero initializers for the Keras layer's weights: they are overwritten at once, and
    Keras's eager random initializers compile once per weight shape (most of a case's time)."""
    params = inspect.signature(getattr(keras.layers, name)).parameters
    return {arg: "zeros" for arg in params if arg.endswith("_initializer")}
