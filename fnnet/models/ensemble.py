"""``Ensemble``: K models of one structure trained in one compiled program, a ``vmap`` of ``fit``.

Training K models that differ only in seed or in hyper-parameters that live in the optimizer
state (the learning rate) is a ``jax.vmap`` of the pure train step over K stacked train states:
one compile and one dispatch per epoch for all K, instead of K of each.

Functionally, stack the states and vmap the step::

    states = [fnnet.TrainState.create(model, tx, rng=k, input_shape=...) for k in range(8)]
    stacked = jax.tree.map(lambda *a: jnp.stack(a), *states)
    step = jax.jit(jax.vmap(fnnet.make_train_step(model, loss), in_axes=(0, None, None)))
    stacked, logs = step(stacked, x, y)        # logs["loss"].shape == (8,)

(all K states must hold the same optimizer object; put differing learning rates into the
stacked ``opt_state`` with :func:`fnnet.optimizers.set_learning_rate`).
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from fnnet import data as data_lib
from fnnet import loop
from fnnet._validation import check_batch_size, check_int
from fnnet.callbacks import CallbackList, History, resolve_verbose
from fnnet.models.model import Model

__all__ = ["Ensemble"]


# Stacking and splitting are one compiled call each: leaf by leaf, op by op, they cost a
# dispatch per leaf and member (8 members of a two-layer network: 112 slices, about as long
# as the epoch itself on workload B).
@jax.jit
def _stack(trees: Sequence[Any]) -> Any:
    return jax.tree.map(lambda *a: jnp.stack(a), *trees)


@functools.partial(jax.jit, static_argnums=1)
def _members(tree: Any, count: int) -> tuple:
    return tuple(jax.tree.map(lambda a, k=k: a[k], tree) for k in range(count))


def _without_lr(config: dict | None) -> Any:
    if config is None:
        return None
    config = copy.deepcopy(config)
    optimizer = config.get("optimizer", {})
    if isinstance(optimizer, dict) and "config" in optimizer:
        optimizer["config"].pop("learning_rate", None)
    return config


class Ensemble:
    """K compiled models of identical structure, trained together in one program.

    Members may differ in their seed (initial weights, dropout, shuffling) and in any optimizer
    hyper-parameter that lives in the optimizer state, such as the learning rate of a fnnet
    optimizer; everything else (architecture, loss, metrics, optimizer kind) must match, and a
    clear error names the first difference. Member ``k`` trains exactly as ``models[k].fit``
    alone would.

    Args:
        models: the members, each compiled (and built).

    Example:
        >>> import numpy as np
        >>> from fnnet import layers, models, utils
        >>> def build(lr, seed):
        ...     utils.set_random_seed(seed)
        ...     m = models.Sequential([layers.Dense(4, activation="relu", input_shape=(3,)),
        ...                            layers.Dense(2, activation="softmax")])
        ...     m.compile(optimizer=fnnet.optimizers.RMSprop(learning_rate=lr),
        ...               loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        ...     return m
        >>> import fnnet
        >>> ens = models.Ensemble([build(lr, k) for k, lr in enumerate([1e-3, 1e-2])])
        >>> x = np.random.default_rng(0).random((20, 3), dtype=np.float32)
        >>> histories = ens.fit(x, (x[:, 0] > 0.5).astype("int32"), epochs=2, verbose=0)
        >>> len(histories), sorted(histories[0].history)
        (2, ['accuracy', 'loss'])
        >>> ens.predict(x, verbose=0).shape
        (2, 20, 2)
    """

    def __init__(self, models: Sequence[Model]):
        models = list(models)
        if len(models) < 1 or not all(isinstance(m, Model) for m in models):
            raise TypeError(f"Ensemble(models): expected a list of fnnet models; got "
                            f"{models!r:.100}.")
        for i, m in enumerate(models):
            if not m.compiled or not m.built:
                raise ValueError(f"Ensemble: member {i} ({m.name!r}) must be built and compiled "
                                 f"before it joins an ensemble.")
        first = models[0]
        for i, m in enumerate(models[1:], start=1):
            self._check_same(first, m, i)
        self.models = models
        self._programs: dict = {}

    @staticmethod
    def _check_same(first: Model, other: Model, i: int) -> None:
        a, b = first.train_state, other.train_state
        if jax.tree.structure(a.params) != jax.tree.structure(b.params) or any(
                np.shape(p) != np.shape(q) for p, q in zip(jax.tree.leaves(a.params),
                                                           jax.tree.leaves(b.params), strict=True)):
            raise ValueError(f"Ensemble: member {i} ({other.name!r}) has another architecture "
                             f"than member 0 ({first.name!r}): their params differ in structure "
                             f"or shapes. Build every member the same way.")
        custom = "optimizer" in (first.get_compile_config() or {}).get("custom_objects", [])
        if custom and first.train_state.tx is not other.train_state.tx:
            raise ValueError(
                f"Ensemble: member {i} ({other.name!r}) holds another optax optimizer object "
                f"than member 0; a custom optimizer must be the same object in every member "
                f"(put differing learning rates in the state with optax.inject_hyperparams)."
            )
        ca, cb = _without_lr(first.get_compile_config()), _without_lr(other.get_compile_config())
        for key in sorted(set(ca or {}) | set(cb or {})):
            if key == "custom_objects" or (key == "optimizer" and custom):
                continue
            if (ca or {}).get(key) != (cb or {}).get(key):
                raise ValueError(
                    f"Ensemble: member {i} ({other.name!r}) was compiled with {key}="
                    f"{(cb or {}).get(key)!r}, member 0 with {(ca or {}).get(key)!r}. Members may "
                    f"differ only in seed and learning rate."
                )
        if jax.tree.structure(a.opt_state) != jax.tree.structure(b.opt_state):
            raise ValueError(f"Ensemble: member {i} ({other.name!r}) has another optimizer state "
                             f"structure than member 0.")

    def __len__(self) -> int:
        return len(self.models)

    # ----------------------------------------------------------------- stacking
    def _stacked(self):
        first = self.models[0].train_state
        return _stack(tuple(m.train_state.replace(tx=first.tx) for m in self.models))

    def _unstack(self, stacked, active) -> None:
        for k, (m, member) in enumerate(zip(self.models, _members(stacked, len(self.models)),
                                            strict=True)):
            if active[k]:
                m.train_state = member.replace(tx=m.train_state.tx)

    def _program(self, key, build):
        if key not in self._programs:
            self._programs[key] = jax.jit(build())
        return self._programs[key]

    def _epoch(self, batch_size: int, shuffle: bool):
        steps = self.models[0].steps

        def build():
            run = loop.epoch(steps.train_update, batch_size=batch_size, shuffle=shuffle)

            def one(ts, logs, data, n):
                ts, logs = run(ts, logs, data, n)
                return ts, logs, logs.result()

            def program(ts, logs, data, n, active):
                new_ts, new_logs, results = jax.vmap(one, in_axes=(0, None, None, None))(
                    ts, logs, data, n)
                # A stopped member (early stopping) keeps its weights while the others train.
                keep = jax.tree.map(lambda new, old: jnp.where(
                    active.reshape((-1,) + (1,) * (new.ndim - 1)), new, old), new_ts, ts)
                return keep, new_logs, results

            return program

        return self._program(("epoch", batch_size, shuffle), build)

    def _evaluate(self, batch_size: int):
        steps = self.models[0].steps

        def build():
            run = loop.evaluate(steps.eval_update, batch_size=batch_size)

            def one(params, state, logs, data, n):
                return run(params, state, logs, data, n).result()

            return jax.vmap(one, in_axes=(0, 0, None, None, None))

        return self._program(("eval", batch_size), build)

    # ----------------------------------------------------------------- Keras's methods
    def fit(self, x: Any = None, y: Any = None, batch_size: int | None = None, epochs: int = 1,
            verbose: str | int = "auto", callbacks: Sequence[Any] | None = None,
            validation_split: float = 0.0, validation_data: tuple | None = None,
            shuffle: bool = True, class_weight: dict | None = None, sample_weight: Any = None,
            initial_epoch: int = 0) -> list[History]:
        """Trains every member for ``epochs`` epochs in one program; returns K ``History``\\ s.

        Keras's arguments and semantics, for in-memory arrays. ``callbacks`` are copied for
        each member (so each member has its own ``EarlyStopping`` state, say) and act on that
        member; a member whose callbacks set ``stop_training`` keeps its weights while the
        others go on. Progress shows member 0's epochs (``verbose``) only.
        """
        where = "Ensemble.fit"
        first = self.models[0]
        batch_size = check_batch_size(where, batch_size)
        check_int(where, "epochs", epochs, 0)
        check_int(where, "initial_epoch", initial_epoch, 0)
        verbose = resolve_verbose(verbose)
        x, y, sw = first.prepare(where, x, y, sample_weight, class_weight)
        n = len(x) if not isinstance(x, tuple) else len(x[0])
        val = None
        if validation_data is not None:
            val = first.prepare(f"{where}(validation_data)", *validation_data)
        elif validation_split:
            split = int(n * (1 - validation_split))
            if split in (0, n):
                raise ValueError(f"{where}(validation_split={validation_split}): leaves no data "
                                 f"to train or to validate on.")
            cut = (lambda a, s: None if a is None else a[s])
            val = (cut(x, slice(split, None)), cut(y, slice(split, None)),
                   cut(sw, slice(split, None)))
            x, y, sw, n = cut(x, slice(None, split)), cut(y, slice(None, split)), cut(
                sw, slice(None, split)), split
        batch_size = min(batch_size, n)
        data = data_lib.device_put((x, y, sw))
        val_data = None if val is None else data_lib.device_put(val)
        logs0 = first.steps.init_logs(x, y)
        run = self._epoch(batch_size, shuffle)
        steps = -(-n // batch_size)
        member_cbs = []
        for k, m in enumerate(self.models):
            cbs = CallbackList(copy.deepcopy(list(callbacks or [])), add_history=True,
                               add_progbar=verbose != 0 and k == 0, model=m,
                               verbose=verbose, epochs=epochs, steps=steps)
            m.stop_training = False
            member_cbs.append(cbs)
        active = np.ones(len(self.models), bool)
        for cbs in member_cbs:
            cbs.on_train_begin()
        epoch_logs = [{} for _ in self.models]
        for epoch in range(initial_epoch, epochs):
            for k, cbs in enumerate(member_cbs):
                if active[k]:
                    cbs.on_epoch_begin(epoch)
            stacked, _, results = run(self._stacked(), logs0, data, np.int32(n),
                                      jnp.asarray(active))
            self._unstack(stacked, active)
            results = jax.device_get(results)
            val_results = None
            if val_data is not None:
                vn = len(val[0]) if not isinstance(val[0], tuple) else len(val[0][0])
                vb = min(batch_size, vn)
                stacked = self._stacked()
                val_results = jax.device_get(self._evaluate(vb)(
                    stacked.params, stacked.state, first.steps.init_logs(val[0], val[1]),
                    val_data, np.int32(vn)))
            for k, (m, cbs) in enumerate(zip(self.models, member_cbs, strict=True)):
                if not active[k]:
                    continue
                logs = {key: _scalar(results[key][k]) for key in logs0.names}
                if val_results is not None:
                    logs.update({f"val_{key}": _scalar(val_results[key][k])
                                 for key in logs0.names})
                epoch_logs[k] = logs
                cbs.on_epoch_end(epoch, logs)
                if m.stop_training:
                    active[k] = False
            if not active.any():
                break
        for k, cbs in enumerate(member_cbs):
            cbs.on_train_end(epoch_logs[k])
        return [cbs.history for cbs in member_cbs]

    def evaluate(self, x: Any = None, y: Any = None, batch_size: int | None = None,
                 verbose: str | int = "auto", sample_weight: Any = None,
                 return_dict: bool = False) -> list:
        """Every member's loss and metrics on ``x``/``y``, in one vmapped program: K results."""
        where = "Ensemble.evaluate"
        first = self.models[0]
        batch_size = check_batch_size(where, batch_size)
        x, y, sw = first.prepare(where, x, y, sample_weight)
        n = len(x) if not isinstance(x, tuple) else len(x[0])
        stacked = self._stacked()
        results = jax.device_get(self._evaluate(min(batch_size, n))(
            stacked.params, stacked.state, first.steps.init_logs(x, y),
            data_lib.device_put((x, y, sw)), np.int32(n)))
        names = first.steps.init_logs(x, y).names
        out = []
        for k in range(len(self.models)):
            logs = {key: _scalar(results[key][k]) for key in names}
            values = list(logs.values())
            out.append(logs if return_dict else (values[0] if len(values) == 1 else values))
        return out

    def predict(self, x: Any, batch_size: int | None = None, verbose: str | int = "auto"
                ) -> np.ndarray:
        """The members' outputs for ``x``, stacked: shape ``(K, N, ...)``."""
        where = "Ensemble.predict"
        first = self.models[0]
        batch_size = check_batch_size(where, batch_size)
        x = first.prepare_inputs(where, x)
        n = len(x) if not isinstance(x, tuple) else len(x[0])
        steps = first.steps

        def build():
            run = loop.predict(steps.predict, batch_size=min(batch_size, n))
            return jax.vmap(run, in_axes=(0, 0, None))

        program = self._program(("predict", min(batch_size, n)), build)
        stacked = self._stacked()
        return jax.tree.map(np.asarray, program(stacked.params, stacked.state,
                                                data_lib.device_put(x)))


def _scalar(value: Any) -> Any:
    value = np.asarray(value)
    return float(value) if value.ndim == 0 else value
