"""Scale-out on JAX's own engine: device meshes, ``NamedSharding`` and GSPMD (Keras 3's API).

A :class:`Distribution` says how arrays are laid out on a :class:`DeviceMesh`: the batch is
split over the data axis, params and optimizer state are replicated or split as a
:class:`LayoutMap` says. The same pure, jitted step runs on the sharded arrays and XLA inserts
the collectives (gradient all-reduce, batch statistics over the global batch); there is no
``pmap`` and no hand-written communication.

Keras-style: ``fnnet.distribution.set_distribution(DataParallel())`` (or ``compile(...,
distribution=...)``) and ``fit`` as usual. Functional: place a train state and batches
yourself and ``jax.jit`` your step::

    dist = fnnet.distribution.DataParallel()
    ts = dist.place_train_state(ts)
    x, y = dist.place_batch((x, y))
    ts, logs = jax.jit(step)(ts, x, y)      # data-parallel: XLA all-reduces the gradients

Multi-host: call :func:`initialize` (``jax.distributed.initialize``) first; each process then
feeds only its local rows (:meth:`Distribution.place_batch` makes the global array with
``jax.make_array_from_process_local_data``).

Example:
    >>> import jax, numpy as np
    >>> dist = DataParallel()
    >>> dist.mesh.axis_names, dist.batch_dim_name
    (('batch',), 'batch')
    >>> x = dist.place_batch(np.ones((4, 3), np.float32))
    >>> x.shape
    (4, 3)
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

__all__ = ["DeviceMesh", "LayoutMap", "Distribution", "DataParallel", "ModelParallel",
           "set_distribution", "distribution", "list_devices", "initialize", "param_paths"]


def list_devices(device_type: str | None = None) -> list:
    """The devices of this process's JAX backend (all processes' after :func:`initialize`)."""
    return jax.devices(device_type) if device_type else jax.devices()


def initialize(coordinator_address: str | None = None, num_processes: int | None = None,
               process_id: int | None = None, **kwargs: Any) -> None:
    """Starts multi-host JAX (``jax.distributed.initialize``); call once per process, first."""
    jax.distributed.initialize(coordinator_address=coordinator_address,
                               num_processes=num_processes, process_id=process_id, **kwargs)


class DeviceMesh:
    """Devices arranged in a named grid (Keras's ``DeviceMesh``).

    Args:
        shape: the mesh's shape, e.g. ``(2, 4)``.
        axis_names: one name per axis, e.g. ``("batch", "model")``.
        devices: the devices, ``prod(shape)`` of them (default: all).
    """

    def __init__(self, shape: Sequence[int], axis_names: Sequence[str],
                 devices: Sequence[Any] | None = None):
        shape, axis_names = tuple(shape), tuple(axis_names)
        devices = list(list_devices() if devices is None else devices)
        if len(shape) != len(axis_names):
            raise ValueError(f"DeviceMesh: shape {shape} and axis_names {axis_names} must have "
                             f"the same length.")
        if int(np.prod(shape)) != len(devices):
            raise ValueError(
                f"DeviceMesh: a mesh of shape {shape} holds {int(np.prod(shape))} devices, but "
                f"{len(devices)} were given. Pick a shape whose product is {len(devices)}."
            )
        self.shape, self.axis_names, self.devices = shape, axis_names, devices
        self.mesh = Mesh(np.asarray(devices, dtype=object).reshape(shape), axis_names)

    def __repr__(self) -> str:
        return f"DeviceMesh(shape={self.shape}, axis_names={self.axis_names})"


class LayoutMap:
    """Weight-path patterns to layouts (Keras's ``LayoutMap``).

    Keys are regular expressions searched in a weight's path, ``"<layer name>/<weight>"``
    (``"dense/kernel"``, ``"dense_1/bias"``); values are a ``PartitionSpec`` or a tuple of mesh
    axis names (None for an unsplit dim). A weight no key matches is replicated; the first
    matching key (in insertion order) wins.

    Example:
        >>> layout = LayoutMap(DeviceMesh((1,), ("model",)))
        >>> layout["dense.*/kernel"] = (None, "model")
        >>> tuple(layout.spec_for("dense_1/kernel", 2))
        (None, 'model')
        >>> tuple(layout.spec_for("dense_1/bias", 1))
        ()
    """

    def __init__(self, device_mesh: DeviceMesh):
        self.device_mesh = device_mesh
        self._entries: dict[str, P] = {}

    def __setitem__(self, pattern: str, layout: Any) -> None:
        try:
            re.compile(pattern)
        except re.error as err:
            raise ValueError(f"LayoutMap: {pattern!r} is not a regular expression: {err}.") \
                from None
        spec = layout if isinstance(layout, P) else P(*layout)
        for axis in spec:
            names = axis if isinstance(axis, tuple) else (axis,)
            for name in names:
                if name is not None and name not in self.device_mesh.axis_names:
                    raise ValueError(
                        f"LayoutMap[{pattern!r}]: {name!r} is not an axis of the mesh "
                        f"{self.device_mesh.axis_names}."
                    )
        self._entries[pattern] = spec

    def __getitem__(self, pattern: str) -> P:
        return self._entries[pattern]

    def __len__(self) -> int:
        return len(self._entries)

    def spec_for(self, path: str, ndim: int) -> P:
        """The layout of the weight at ``path`` (of rank ``ndim``)."""
        for pattern, spec in self._entries.items():
            if re.search(pattern, path):
                if len(spec) > ndim:
                    raise ValueError(
                        f"LayoutMap[{pattern!r}] = {spec} has {len(spec)} entries but the "
                        f"weight {path!r} has rank {ndim}."
                    )
                return spec
        return P()


def param_paths(params: Any, names: Sequence[str] | None = None) -> Any:
    """A tree like ``params`` of ``"<layer>/<weight>"`` path strings (``names`` name the top
    level entries, a model's layers; default their index)."""
    def text(path):
        parts = []
        for i, entry in enumerate(path):
            key = getattr(entry, "key", getattr(entry, "idx", getattr(entry, "name", entry)))
            if i == 0 and names is not None and isinstance(key, int):
                key = names[key]
            parts.append(str(key))
        return "/".join(parts)

    return jax.tree_util.tree_map_with_path(lambda path, _: text(path), params)


def _global_put(value: Any, sharding: NamedSharding) -> jax.Array:
    """``value`` (the same on every process) as a global array laid out by ``sharding``."""
    if jax.process_count() == 1:
        return jax.device_put(value, sharding)
    if jax.numpy.issubdtype(getattr(value, "dtype", np.float32), jax.dtypes.prng_key):
        data = _global_put(np.asarray(jax.random.key_data(value)), sharding)
        return jax.random.wrap_key_data(data, impl=jax.random.key_impl(value))
    host = np.asarray(value)
    return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])


class Distribution:
    """Where arrays live: a mesh, the batch's data axis and the params' layouts.

    Subclasses: :class:`DataParallel` and :class:`ModelParallel`.
    """

    def __init__(self, device_mesh: DeviceMesh, batch_dim_name: str | None,
                 layout_map: LayoutMap | None = None):
        if batch_dim_name is not None and batch_dim_name not in device_mesh.axis_names:
            raise ValueError(f"{type(self).__name__}: batch_dim_name={batch_dim_name!r} is not "
                             f"an axis of the mesh {device_mesh.axis_names}.")
        self.device_mesh, self.batch_dim_name, self.layout_map = (device_mesh, batch_dim_name,
                                                                   layout_map)

    @property
    def mesh(self) -> Mesh:
        return self.device_mesh.mesh

    @property
    def data_parallel_size(self) -> int:
        """Into how many shards the batch is split."""
        if self.batch_dim_name is None:
            return 1
        return self.device_mesh.shape[self.device_mesh.axis_names.index(self.batch_dim_name)]

    def batch_sharding(self) -> NamedSharding:
        """Rows split over the data axis, other dims whole."""
        return NamedSharding(self.mesh, P(self.batch_dim_name))

    def replicated(self) -> NamedSharding:
        return NamedSharding(self.mesh, P())

    def param_shardings(self, params: Any, names: Sequence[str] | None = None) -> Any:
        """A tree like ``params`` of ``NamedSharding``\\ s from the layout map."""
        paths = param_paths(params, names)
        return jax.tree.map(
            lambda path, leaf: NamedSharding(self.mesh, self.layout_map.spec_for(
                path, np.ndim(leaf)) if self.layout_map is not None else P()),
            paths, params)

    def train_state_shardings(self, ts: Any, names: Sequence[str] | None = None) -> Any:
        """Shardings for a whole train state: params (and state) by layout, every optimizer
        subtree shaped like the params (Adam's moments...) like the params, the rest
        replicated."""
        param_sh = self.param_shardings(ts.params, names)
        state_sh = self.param_shardings(ts.state, names)
        treedef = jax.tree.structure(ts.params)

        def like_params(sub):
            return jax.tree.structure(sub) == treedef

        opt_sh = jax.tree.map(
            lambda sub: param_sh if like_params(sub) else jax.tree.map(
                lambda _: self.replicated(), sub),
            ts.opt_state, is_leaf=like_params)
        return ts.replace(params=param_sh, state=state_sh, opt_state=opt_sh,
                          rng=self.replicated(), step=self.replicated())

    def place_train_state(self, ts: Any, names: Sequence[str] | None = None) -> Any:
        """``ts`` with every leaf placed by :meth:`train_state_shardings`.

        With several processes every process must hold the same values (the same seed, or the
        same checkpoint): each builds its own shards of the global arrays from them.
        """
        return jax.tree.map(_global_put, ts, self.train_state_shardings(ts, names))

    def place_batch(self, batch: Any) -> Any:
        """Host or device arrays as global arrays split over the data axis.

        Single process: every row count must divide by the data-parallel size. After
        :func:`initialize`, each process passes its own rows and gets the global array.
        """
        sharding = self.batch_sharding()

        def place(a):
            if a is None:
                return None
            if jax.process_count() > 1:
                return jax.make_array_from_process_local_data(sharding, np.asarray(a))
            if len(a) % self.data_parallel_size:
                raise ValueError(
                    f"{type(self).__name__}: a batch of {len(a)} rows cannot be split evenly "
                    f"over {self.data_parallel_size} devices; use a multiple of "
                    f"{self.data_parallel_size} rows."
                )
            return jax.device_put(a, sharding)

        return jax.tree.map(place, batch)

    def constrain_batch(self, batch: Any) -> Any:
        """Inside jit: pins a batch to the data axis, so the step computes data-parallel."""
        if self.batch_dim_name is None:
            return batch
        sharding = self.batch_sharding()
        return jax.tree.map(lambda a: jax.lax.with_sharding_constraint(a, sharding), batch)


class DataParallel(Distribution):
    """Every device holds a full copy of the params and a slice of each batch.

    Args:
        device_mesh: a 1-D mesh (default: all devices on an axis named ``"batch"``).
        devices: the devices to use instead of all (when no mesh is given).
    """

    def __init__(self, device_mesh: DeviceMesh | None = None, devices: Sequence | None = None):
        if device_mesh is None:
            devices = list(list_devices() if devices is None else devices)
            device_mesh = DeviceMesh((len(devices),), ("batch",), devices)
        if len(device_mesh.shape) != 1:
            raise ValueError(f"DataParallel: the mesh must be 1-D; got {device_mesh}. Use "
                             f"ModelParallel for a 2-D mesh.")
        super().__init__(device_mesh, device_mesh.axis_names[0])

    def __repr__(self) -> str:
        return f"DataParallel({self.device_mesh})"


class ModelParallel(Distribution):
    """Params split as a :class:`LayoutMap` says; the batch split over ``batch_dim_name``.

    Args:
        layout_map: the weights' layouts (its mesh is the distribution's).
        batch_dim_name: the mesh axis the batch is split over (default: the mesh's first).
    """

    def __init__(self, device_mesh: DeviceMesh | None = None, layout_map: LayoutMap | None = None,
                 batch_dim_name: str | None = None):
        if layout_map is None:
            raise ValueError("ModelParallel: pass layout_map=LayoutMap(device_mesh) with the "
                             "weights' layouts.")
        device_mesh = device_mesh or layout_map.device_mesh
        super().__init__(device_mesh, batch_dim_name or device_mesh.axis_names[0], layout_map)

    def __repr__(self) -> str:
        return f"ModelParallel({self.device_mesh}, batch_dim_name={self.batch_dim_name!r})"


_state = threading.local()


def set_distribution(value: Distribution | None) -> None:
    """Sets the distribution models compiled from now on use (None: one device)."""
    if value is not None and not isinstance(value, Distribution):
        raise TypeError(f"set_distribution: expected a DataParallel, a ModelParallel or None; "
                        f"got {value!r}.")
    _state.value = value


def distribution() -> Distribution | None:
    """The distribution set by :func:`set_distribution`, or None."""
    return getattr(_state, "value", None)
