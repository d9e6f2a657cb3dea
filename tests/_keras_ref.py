"""Keras 3 (JAX backend) as the test suite's reference: one helper module, no tests.

Three levels of comparison, all skipping cleanly without Keras:

* a layer's outputs: :func:`run` (Keras's outputs for given weights) and
  :func:`assert_matches_keras` (a Keras layer and its fnnet twin built from the same keyword
  arguments, the same random weights, equal outputs);
* whole training runs: :class:`Case`, :func:`run_both` and :func:`assert_agree` build the same
  network in both libraries, copy Keras's initial weights into fnnet with ``set_weights``, fit
  both with ``shuffle=False`` on the same data and compare History, weights, ``evaluate`` and
  ``predict`` at float32 tolerances (see ``test_keras_parity.py``);
* in between, :func:`lenient` and :func:`keras_call` to run Keras's own code in the strict
  test configuration.

Keras's code is not written for strict JAX promotion (the suite's setting), so every Keras
call runs under :func:`lenient`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import os
import warnings
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import fnnet
from fnnet import Masked, layers
from fnnet.models.weights import ordered_leaves, replace_ordered

os.environ.setdefault("KERAS_BACKEND", "jax")


def keras() -> Any:
    """The keras module on the JAX backend, or a pytest skip."""
    module = pytest.importorskip("keras")
    if module.backend.backend() != "jax":  # pragma: no cover (another backend chosen outside)
        pytest.skip(f"Keras runs on {module.backend.backend()}, not jax")
    return module


@contextlib.contextmanager
def lenient():
    """Keras's code promotes dtypes and broadcasts ranks implicitly: relax the strict config
    (and keep its numpy-2 ``__array__(copy=...)`` deprecation notices out of the report)."""
    with jax.numpy_dtype_promotion("standard"), jax.numpy_rank_promotion("allow"), \
            warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="keras")
        # Keras's metrics ask for int64, which JAX gives as int32 without x64.
        warnings.filterwarnings("ignore", message="Explicitly requested dtype int64",
                                category=UserWarning)
        yield


def keras_call(fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` under :func:`lenient`."""
    with lenient():
        return fn(*args, **kwargs)


# ---------------------------------------------------------------------------------- layers
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


def assert_matches_keras(name: str, kwargs: dict, shape: tuple, *, seed: int = 0, mask=None,
                         x: np.ndarray | None = None, rtol: float = 1e-5, atol: float = 1e-5):
    """Builds ``keras.layers.<name>(**kwargs)`` and ``fnnet.layers.<name>(**kwargs)``, gives
    both the same random weights (checking fnnet's param shapes and Keras's weight order) and
    the same float32 input (with a bool ``mask`` over ``(batch, steps)`` if given), and asserts
    equal outputs and output shapes. Returns the output."""
    k = keras()
    rng = np.random.default_rng(seed)
    if x is None:
        x = rng.normal(size=shape).astype(np.float32)

    def run_keras():
        layer = getattr(k.layers, name)(**{**kwargs, **_fast_initializers(k, name)})
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


def _fast_initializers(k, name: str) -> dict:
    """Zero initializers for the Keras layer's weights: they are overwritten at once, and
    Keras's eager random initializers compile once per weight shape (most of a case's time)."""
    params = inspect.signature(getattr(k.layers, name)).parameters
    return {arg: "zeros" for arg in params if arg.endswith("_initializer")}


# ---------------------------------------------------------------------------------- training runs
FEATURES, HIDDEN, CLASSES = 8, 16, 3


class Tol(NamedTuple):
    """``rtol``/``atol`` of one comparison (``np.testing.assert_allclose``'s meaning)."""

    rtol: float
    atol: float


# The tolerances, per comparison, and why.
# History and evaluate: per-batch means of float32 values, averaged over the epoch; the two
# libraries add the same numbers in a different order (XLA fuses differently), a few ulps.
HISTORY = Tol(1e-5, 1e-6)
# predict: one forward pass through the final weights, which carry the training's rounding.
PREDICT = Tol(1e-5, 1e-6)
# Final weights after plain (S)GD-like updates: the update is linear in the gradient, so a
# gradient that differs in its last bit moves the weight by lr times that, far below 1e-5.
WEIGHTS = Tol(1e-5, 1e-6)
# Adaptive optimizers divide by sqrt(v) + epsilon: where a gradient component is tiny (v near
# epsilon**2) a last-bit difference in the gradient is not damped but rescaled to a full step's
# relative size, so the weights agree to a few 1e-5 of the step, not of the weight.
ADAPTIVE_WEIGHTS = Tol(1e-4, 1e-6)


def library(name: str) -> SimpleNamespace:
    """What a spec is resolved against: Keras's or fnnet's ``Input``, ``Model``, ``Sequential``
    and the ``layers``, ``losses``, ``metrics``, ``optimizers``, ``callbacks`` modules."""
    if name == "keras":
        k = keras()
        return SimpleNamespace(name="keras", Input=k.Input, Model=k.Model,
                               Sequential=k.Sequential, layers=k.layers, losses=k.losses,
                               metrics=k.metrics, optimizers=k.optimizers,
                               callbacks=k.callbacks)
    return SimpleNamespace(name="fnnet", Input=fnnet.Input, Model=fnnet.models.Model,
                           Sequential=fnnet.models.Sequential, layers=fnnet.layers,
                           losses=fnnet.losses, metrics=fnnet.metrics,
                           optimizers=fnnet.optimizers, callbacks=fnnet.callbacks)


class Make(NamedTuple):
    """``lib.<path>(**kwargs)``, built for whichever library runs the case."""

    path: str
    kwargs: dict

    def __repr__(self) -> str:  # readable pytest ids
        args = ", ".join(f"{k}={v!r}" for k, v in self.kwargs.items())
        return f"{self.path.rsplit('.', 1)[-1]}({args})"


def make(path: str, /, **kwargs: Any) -> Make:
    """``make("optimizers.Adam", amsgrad=True)``: an object named the same in both libraries."""
    return Make(path, kwargs)


def resolve(lib: SimpleNamespace, value: Any) -> Any:
    """``value`` with every :class:`Make` in it (lists, tuples, dicts, kwargs) built."""
    if isinstance(value, Make):
        target = lib
        for part in value.path.split("."):
            target = getattr(target, part)
        return target(**resolve(lib, value.kwargs))
    if isinstance(value, dict):
        return {k: resolve(lib, v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(resolve(lib, v) for v in value)
    return value


# ---------------------------------------------------------------------------------- data
def dataset(task: str, n: int, seed: int = 0) -> tuple[np.ndarray, Any]:
    """``(x, y)`` for a task, a learnable target of a fixed random linear map of ``x``.

    ``"sparse"`` int labels ``(n,)``; ``"onehot"`` ``(n, 3)``; ``"smoothed"`` one-hot with
    0.05/0.95; ``"binary"`` ``(n, 1)`` of 0/1; ``"binary_smoothed"`` 0.05/0.95; ``"multilabel"``
    ``(n, 3)`` of 0/1; ``"regression"`` ``(n, 3)`` values in (0.5, 2.5); ``"multi"`` a list of
    the sparse labels and the regression targets (a two-output model).
    """
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, FEATURES)).astype(np.float32)
    w = np.random.default_rng(1234).normal(size=(FEATURES, CLASSES)).astype(np.float32)
    z = x @ w
    labels = z.argmax(-1)
    onehot = np.eye(CLASSES, dtype=np.float32)[labels]
    regression = (1.5 + np.tanh(z / 4)).astype(np.float32)
    y = {
        "sparse": labels.astype(np.int32),
        "onehot": onehot,
        "smoothed": np.where(onehot > 0, 0.95, 0.05).astype(np.float32),
        "binary": (z[:, :1] > 0).astype(np.float32),
        "binary_smoothed": np.where(z[:, :1] > 0, 0.95, 0.05).astype(np.float32),
        "multilabel": (z > 0).astype(np.float32),
        "regression": regression,
        "multi": [labels.astype(np.int32), regression],
    }[task]
    return x, y


def _rows(y: Any, index: slice) -> Any:
    return [a[index] for a in y] if isinstance(y, list) else y[index]


# ---------------------------------------------------------------------------------- cases
def dense_head(units: int = CLASSES, activation: str | None = "softmax") -> tuple:
    """The default network: ``Dense(16, relu) -> Dense(units, activation)``."""
    return (make("layers.Dense", units=HIDDEN, activation="relu"),
            make("layers.Dense", units=units, activation=activation))


@dataclasses.dataclass(frozen=True)
class Case:
    """One training run, described once for both libraries.

    Attributes:
        compile: ``compile``'s keyword arguments (optimizer, loss, metrics...), with
            :class:`Make` entries for objects.
        task: the data (see :func:`dataset`).
        layers: a Sequential's layers after ``Input((8,))``; ignored when ``build`` is given.
        build: ``build(lib) -> model`` for a functional model.
        fit: further ``fit`` keyword arguments (callbacks as :class:`Make`, class_weight...).
        n: training examples (60 leaves a partial last batch of 12 at batch size 16).
        batch_size, epochs: as ``fit``'s.
        sample_weight: give ``fit`` and ``evaluate`` per-example weights in [0.25, 1.75].
        validation: None, ``"data"`` (``validation_data`` of 20 further examples) or a
            ``validation_split`` fraction.
        weights: the tolerance for the final weights (others: HISTORY, PREDICT).
        adjust: ``adjust(weights) -> weights`` changes Keras's initial weights (both libraries
            start from the result).
        keras_jit: False runs Keras's steps eagerly (see :func:`run_keras`).
    """

    compile: dict
    task: str = "sparse"
    layers: tuple = dense_head()
    build: Callable | None = None
    fit: dict = dataclasses.field(default_factory=dict)
    n: int = 60
    batch_size: int = 16
    epochs: int = 2
    sample_weight: bool = False
    validation: Any = None
    weights: Tol = WEIGHTS
    adjust: Callable[[list], list] | None = None
    keras_jit: bool = True


class Run(NamedTuple):
    """What a user looks at after ``fit``."""

    history: dict
    weights: list
    evaluate: dict
    predict: list
    learning_rate: float


def _model(lib: SimpleNamespace, case: Case) -> Any:
    if case.build is not None:
        return case.build(lib)
    return lib.Sequential([lib.Input((FEATURES,)), *resolve(lib, case.layers)])


def _learning_rate(optimizer: Any) -> float:
    return float(np.asarray(optimizer.learning_rate))


def _data(case: Case) -> dict:
    val_n = 20 if case.validation == "data" else 0
    x, y = dataset(case.task, case.n + val_n)
    train = slice(0, case.n)
    data = {"x": x[train], "y": _rows(y, train)}
    if case.sample_weight:
        data["sample_weight"] = np.linspace(0.25, 1.75, case.n, dtype=np.float32)
    if val_n:
        val = slice(case.n, None)
        data["validation_data"] = (x[val], _rows(y, val))
    elif case.validation is not None:
        data["validation_split"] = case.validation
    return data


def _fit_and_look(model: Any, lib: SimpleNamespace, case: Case, data: dict) -> Run:
    history = model.fit(**data, **resolve(lib, case.fit), batch_size=case.batch_size,
                        epochs=case.epochs, shuffle=False, verbose=0)
    evaluate = model.evaluate(data["x"], data["y"], sample_weight=data.get("sample_weight"),
                              batch_size=case.batch_size, verbose=0, return_dict=True)
    predict = model.predict(data["x"], batch_size=case.batch_size, verbose=0)
    predict = [np.asarray(p) for p in (predict if isinstance(predict, (list, tuple))
                                       else [predict])]
    # Most logs are scalars; a few metrics (per-class F1Score) report a vector.
    return Run({k: [np.asarray(v, np.float64) for v in vs] for k, vs in history.history.items()},
               [np.asarray(w) for w in model.get_weights()],
               {k: np.asarray(v, np.float64) for k, v in evaluate.items()}, predict,
               _learning_rate(model.optimizer))


def run_keras(case: Case, data: dict | None = None, seed: int = 0,
              adjust: Callable[[list], list] | None = None) -> tuple[Run, list]:
    """Keras's run of ``case``: ``(Run, initial weights)``; ``adjust(weights)`` may change the
    initial weights first (both libraries then start from them)."""
    k = keras()
    lib = library("keras")
    data = _data(case) if data is None else data
    with lenient():
        # Keras names metric instances from process-wide counters ("auc_1" once any AUC was
        # built); a fresh session names them as in a user's fresh process.
        k.backend.clear_session()
        k.utils.set_random_seed(seed)
        model = _model(lib, case)
        # Jitted, as Keras runs by default (and cheaper for a few cases); eagerly, Keras's ops
        # compile once each and are shared by every case, which pays off over many MLP cases.
        model.compile(**resolve(lib, case.compile), jit_compile=case.keras_jit)
        if adjust is not None:
            model.set_weights(adjust(model.get_weights()))
        initial = [np.array(w) for w in model.get_weights()]
        return _fit_and_look(model, lib, case, data), initial


def run_fnnet(case: Case, initial: list, data: dict | None = None) -> Run:
    """fnnet's run of ``case`` from Keras's ``initial`` weights (copied with ``set_weights``)."""
    lib = library("fnnet")
    data = _data(case) if data is None else data
    fnnet.utils.set_random_seed(0)
    model = _model(lib, case)
    model.compile(**resolve(lib, case.compile))
    model.set_weights(initial)
    return _fit_and_look(model, lib, case, data)


def run_both(case: Case) -> tuple[Run, Run]:
    """``(keras_run, fnnet_run)`` of ``case`` on the same data from the same initial weights."""
    data = _data(case)
    keras_run, initial = run_keras(case, data, adjust=case.adjust)
    return keras_run, run_fnnet(case, initial, data)


def _close(what: str, got: Any, expected: Any, tol: Tol) -> None:
    np.testing.assert_allclose(np.asarray(got, np.float64), np.asarray(expected, np.float64),
                               rtol=tol.rtol, atol=tol.atol, err_msg=f"fnnet vs Keras: {what}")


def _same_keys(what: str, got: dict, expected: dict) -> None:
    assert sorted(got) == sorted(expected), (
        f"{what} keys: fnnet has {sorted(set(got) - set(expected))} where Keras has "
        f"{sorted(set(expected) - set(got))}")


def assert_agree(keras_run: Run, fnnet_run: Run, weights: Tol = WEIGHTS,
                 history: Tol = HISTORY, predict: Tol = PREDICT) -> None:
    """fnnet's run equals Keras's: History (every key, same names, every epoch), final
    weights, ``evaluate`` (every key) and ``predict``, each at its tolerance."""
    _same_keys("History", fnnet_run.history, keras_run.history)
    for key, values in keras_run.history.items():
        _close(f"history[{key!r}]", fnnet_run.history[key], values, history)
    _same_keys("evaluate", fnnet_run.evaluate, keras_run.evaluate)
    for key, value in keras_run.evaluate.items():
        _close(f"evaluate[{key!r}]", fnnet_run.evaluate[key], value, history)
    assert [w.shape for w in fnnet_run.weights] == [w.shape for w in keras_run.weights]
    for i, (f, k) in enumerate(zip(fnnet_run.weights, keras_run.weights, strict=True)):
        _close(f"weight #{i}", f, k, weights)
    assert len(fnnet_run.predict) == len(keras_run.predict)
    for i, (f, k) in enumerate(zip(fnnet_run.predict, keras_run.predict, strict=True)):
        _close(f"predict output #{i}", f, k, predict)
    _close("final learning rate", fnnet_run.learning_rate, keras_run.learning_rate, history)
