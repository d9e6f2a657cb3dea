"""The layer protocol: :class:`Layer`, the :class:`Masked` value, and the one rule for calling.

A layer is a pair of pure functions::

    out_shape, params, state = layer.init(rng, input_shape)      # shapes only; batch dim included
    y, new_state = layer.apply(params, state, x, *, rng=None, training=False)

Params and state are plain pytrees: a dict with readable keys for a layer's own arrays
(``kernel``, ``bias``), tuples for combinators, ``()`` for a layer that has none.

Two kinds of mask, both explicit and pure:

* **Data masks** travel with the data. A layer that produces one (``Embedding(mask_zero=True)``)
  returns a :class:`Masked` ``(value, mask)`` pair, where ``mask`` is a bool array over the
  leading axes of ``value`` (``(batch, time)`` for a sequence). A layer that declares
  ``supports_masking=True`` receives the pair and decides what to do with the mask (Dense
  passes it on; a recurrent layer skips masked steps; pooling ignores them). Any other layer
  receives the plain value and the mask ends there, as in Keras (a warning says so).
* **The batch mask** says which rows of a batch are real: ``fit`` pads a last partial batch
  to a fixed shape and marks the padding rows False. Only layers whose output for one example
  depends on the other examples (``BatchNormalization``) declare ``uses_batch_mask=True``;
  they get it as the keyword ``batch_mask`` (bool, shape ``(batch,)``) and compute their
  statistics over the real rows only. Combinators pass it to the children that declare it.

:func:`call` is the one place these rules are written; every combinator and model calls its
children through it.
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import jax
import jax.numpy as jnp

PyTree = Any

__all__ = [
    "Layer",
    "Masked",
    "InitFn",
    "ApplyFn",
    "as_layer",
    "call",
    "init_layer",
    "keeps_mask",
    "strip_masks",
    "trainable_mask",
    "regularization",
    "apply_constraints",
    "has_regularization",
    "from_stax",
    "split_rng",
    "num_elements",
    "snake_case",
]


class InitFn(Protocol):
    """``init(rng, input_shape) -> (output_shape, params, state)``; uses shapes only."""

    def __call__(self, rng: jax.Array, input_shape: Any) -> tuple[Any, PyTree, PyTree]: ...


class ApplyFn(Protocol):
    """``apply(params, state, x, *, rng=None, training=False) -> (y, new_state)``.

    A layer with ``uses_batch_mask=True`` also takes ``batch_mask=None``.
    """

    def __call__(
        self,
        params: PyTree,
        state: PyTree,
        x: Any,
        *,
        rng: jax.Array | None = None,
        training: bool = False,
    ) -> tuple[Any, PyTree]: ...


# --------------------------------------------------------------------------------------- masks
@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Masked:
    """An array and a bool mask over its leading axes: the data-mask channel between layers.

    ``mask.shape == value.shape[:mask.ndim]``; True marks a real entry (a real timestep of a
    padded sequence). A pytree with two leaves, so it flows through ``jit``, ``vmap`` and
    ``lax.scan`` like any array pair; it is not a tuple, so combinators never mistake it for
    a tuple of inputs.

    Example:
        >>> import jax.numpy as jnp
        >>> ids = jnp.array([[3, 5, 0, 0]])
        >>> m = Masked(ids, ids != 0)
        >>> m.mask.tolist()
        [[True, True, False, False]]
    """

    value: Any
    mask: Any


def strip_masks(x: Any) -> Any:
    """``x`` with every :class:`Masked` replaced by its value (tuples of inputs included)."""
    return jax.tree.map(lambda v: v.value if isinstance(v, Masked) else v, x,
                        is_leaf=lambda v: isinstance(v, Masked))


def _has_mask(x: Any) -> bool:
    return any(isinstance(v, Masked) for v in jax.tree.leaves(x, is_leaf=lambda v: isinstance(v, Masked)))


def keeps_mask(apply: Callable) -> Callable:
    """Makes an apply on plain arrays pass a data mask through unchanged.

    For layers that keep the leading axes the mask covers (Dense on a sequence, Dropout,
    activations, normalization over features): a :class:`Masked` input gives a
    :class:`Masked` output with the same mask. Declare the layer ``supports_masking=True``.
    """

    def wrapped(params, state, x, **kwargs):
        if isinstance(x, Masked):
            y, state = apply(params, state, x.value, **kwargs)
            return Masked(y, x.mask), state
        return apply(params, state, x, **kwargs)

    wrapped.__wrapped__ = apply
    return wrapped


# ---------------------------------------------------------------------------------------- Layer
_FIELDS = ("init", "apply", "name", "kind", "config", "input_shape", "logits",
           "output_activation", "supports_masking", "uses_batch_mask", "inference_when_frozen",
           "regularizer", "constraint", "trainable")


class Layer:
    """A layer: two pure functions, ``init`` and ``apply``, and a description of them.

    ``init(rng, input_shape)`` returns ``(output_shape, params, state)`` and looks only at
    shapes, so it runs under :func:`jax.eval_shape`. ``apply(params, state, x, *, rng=None,
    training=False)`` returns ``(y, new_state)``. Stateless layers use ``state == ()``.

    The description is read-only (use :meth:`replace` for a changed copy) and survives what
    users do with layers: ``replace``, wrapping in combinators, pytree round trips (a layer
    is a pytree with no leaves, so ``jax.tree.map`` and ``jit`` pass it through unchanged):

    * ``name``: an optional name (``Sequential`` names unnamed layers ``dense``, ``dense_1``...);
    * ``kind``: the constructor's name, such as ``"Dense"`` (``"Layer"`` for a custom pair);
    * ``config``: the constructor's arguments (read-only), enough to rebuild the layer;
    * ``input_shape``: the per-example input shape given to the constructor (Keras's
      ``input_shape=``), or None;
    * ``logits`` and ``output_activation``: for a layer that ends in ``softmax``/``sigmoid``,
      the same layer without it (same params and state structure) and that activation's
      name; a train step uses them to compute cross-entropy from logits. None otherwise;
    * ``supports_masking``: ``apply`` accepts :class:`Masked` inputs (see the module docs);
    * ``uses_batch_mask``: ``apply`` takes the ``batch_mask`` keyword;
    * ``inference_when_frozen``: a frozen layer runs with ``training=False`` (Keras's rule for
      BatchNormalization);
    * ``regularizer``: ``penalty(params) -> scalar``, the weight penalty of the layer's own
      params (its ``kernel_regularizer`` and ``bias_regularizer``), or None;
    * ``constraint``: ``project(params) -> params``, applied after every update (its
      ``kernel_constraint`` and ``bias_constraint``), or None.

    ``trainable`` is the one mutable attribute, as in Keras: ``layer.trainable = False``
    freezes the layer's params for models compiled afterwards (and for
    :func:`trainable_mask`).

    Equality is about computation: two layers are equal when they hold the same ``init`` and
    ``apply`` functions (a renamed copy equals its original); ``hash`` agrees. A layer unpacks
    like a stax pair: ``init_fn, apply_fn = layer``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> def init(rng, input_shape):
        ...     return input_shape, {"scale": jnp.ones(input_shape[-1])}, ()
        >>> def apply(params, state, x, *, rng=None, training=False):
        ...     return x * params["scale"][None, :], state   # explicit broadcast: strict-JAX safe
        >>> layer = Layer(init, apply, name="scale")
        >>> out_shape, params, state = layer.init(jax.random.key(0), (2, 3))
        >>> y, state = layer.apply(params, state, jnp.ones((2, 3)))
        >>> out_shape, y.shape, state
        ((2, 3), (2, 3), ())
        >>> renamed = layer.replace(name="other")
        >>> renamed == layer, renamed.name, jax.tree.map(lambda a: a, layer).name
        (True, 'other', 'scale')
        >>> init_fn, apply_fn = layer   # unpacks like a stax pair
    """

    __slots__ = tuple(f"_{f}" for f in _FIELDS) + ("__weakref__",)

    def __init__(
        self,
        init: InitFn,
        apply: ApplyFn,
        *,
        name: str | None = None,
        kind: str = "Layer",
        config: Mapping[str, Any] | None = None,
        input_shape: Sequence[int | None] | None = None,
        logits: Layer | None = None,
        output_activation: str | None = None,
        supports_masking: bool = False,
        uses_batch_mask: bool = False,
        inference_when_frozen: bool = False,
        regularizer: Callable[[PyTree], jax.Array] | None = None,
        constraint: Callable[[PyTree], PyTree] | None = None,
        trainable: bool = True,
    ):
        if not callable(init) or not callable(apply):
            raise TypeError(
                f"Layer(init, apply) takes two callables; got init={init!r} and apply={apply!r}. "
                f"Pass the functions themselves, e.g. fnnet.Layer(my_init, my_apply)."
            )
        if name is not None and not isinstance(name, str):
            raise TypeError(f"Layer(name=...): name must be a str or None; got {name!r}.")
        set_ = object.__setattr__
        set_(self, "_init", init)
        set_(self, "_apply", apply)
        set_(self, "_name", name)
        set_(self, "_kind", kind)
        set_(self, "_config", None if config is None else types.MappingProxyType(dict(config)))
        set_(self, "_input_shape", None if input_shape is None else tuple(input_shape))
        set_(self, "_logits", logits)
        set_(self, "_output_activation", output_activation)
        set_(self, "_supports_masking", bool(supports_masking))
        set_(self, "_uses_batch_mask", bool(uses_batch_mask))
        set_(self, "_inference_when_frozen", bool(inference_when_frozen))
        set_(self, "_regularizer", regularizer)
        set_(self, "_constraint", constraint)
        set_(self, "_trainable", _check_trainable(trainable))

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        jax.tree_util.register_static(cls)

    # Read-only description. Subclasses (models) compute some of these from their layers.
    init = property(lambda self: self._init, doc="``init(rng, input_shape)``.")
    apply = property(lambda self: self._apply, doc="``apply(params, state, x, *, rng, training)``.")
    name = property(lambda self: self._name, doc="The layer's name, or None.")
    kind = property(lambda self: self._kind, doc="The constructor's name, e.g. ``'Dense'``.")
    config = property(lambda self: self._config, doc="The constructor's arguments (read-only).")
    input_shape = property(lambda self: self._input_shape,
                           doc="The per-example input shape given to the constructor, or None.")
    @property
    def logits(self) -> Layer | None:
        """The layer without its final softmax/sigmoid (same params and state), or None.

        It shares this layer's ``trainable`` flag, regularizer and constraint: they describe
        the same params.
        """
        if self._logits is None:
            return None
        return self._logits.replace(trainable=self._trainable, regularizer=self._regularizer,
                                    constraint=self._constraint)

    output_activation = property(lambda self: self._output_activation,
                                 doc="The name of the activation ``logits`` leaves out, or None.")
    supports_masking = property(lambda self: self._supports_masking,
                                doc="Whether ``apply`` accepts :class:`Masked` inputs.")
    uses_batch_mask = property(lambda self: self._uses_batch_mask,
                               doc="Whether ``apply`` takes the ``batch_mask`` keyword.")
    inference_when_frozen = property(lambda self: self._inference_when_frozen,
                                     doc="Whether a frozen layer runs with ``training=False``.")
    regularizer = property(lambda self: self._regularizer,
                           doc="``penalty(params) -> scalar`` for the layer's own params, or None.")
    constraint = property(lambda self: self._constraint,
                          doc="``project(params) -> params`` after each update, or None.")

    @property
    def trainable(self) -> bool:
        """Whether the layer's params train (Keras's ``layer.trainable``); settable."""
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        object.__setattr__(self, "_trainable", _check_trainable(value))

    def __setattr__(self, key: str, value: Any) -> None:
        prop = getattr(type(self), key, None)
        if key in _FIELDS and isinstance(prop, property) and prop.fset is None:
            raise AttributeError(
                f"{self.kind}.{key} is read-only: a layer's description is fixed when it is "
                f"built. Make a changed copy instead: layer = layer.replace({key}=...)."
            )
        object.__setattr__(self, key, value)

    def __call__(self, inputs: Any, *more: Any, **kwargs: Any) -> Any:
        """Calls the layer on symbolic tensors (``fnnet.Input(...)``), to build a functional
        model; for arrays use the pure ``apply``. Several inputs come as a list, or as
        positional arguments, as Keras writes ``attention(query, value)``."""
        if more:
            inputs = [inputs, *more]
        for leaf in jax.tree.leaves(inputs, is_leaf=lambda v: hasattr(v, "__fnnet_symbolic__")):
            if hasattr(leaf, "__fnnet_symbolic__"):
                if kwargs:
                    raise TypeError(
                        f"{self.kind}: a layer call in a functional model takes its inputs "
                        f"only (a tensor, or a list of them); got keyword arguments "
                        f"{sorted(kwargs)}. Pass extra inputs in the list, as the layer's "
                        f"docstring shows."
                    )
                return leaf.__fnnet_symbolic__(self, inputs)
        raise TypeError(
            f"{self.kind} layer {self.name or ''}: called on {type(inputs).__name__}. A layer is "
            f"a pair of pure functions: run it with out_shape, params, state = "
            f"layer.init(rng, input_shape) and y, state = layer.apply(params, state, x); call "
            f"it on fnnet.Input(...) tensors to build a functional model."
        )

    def replace(self, **changes: Any) -> Layer:
        """A copy with some fields changed (the functions are shared, not copied).

        Example:
            >>> from fnnet import layers
            >>> layers.Dense(3).replace(name="out").name
            'out'
        """
        unknown = sorted(set(changes) - set(_FIELDS))
        if unknown:
            raise TypeError(
                f"Layer.replace: unknown field(s) {unknown}; the fields are {', '.join(_FIELDS)}."
            )
        fields = {f: getattr(self, f) for f in _FIELDS}
        fields.update(changes)
        return Layer(fields.pop("init"), fields.pop("apply"), **fields)

    _replace = replace  # NamedTuple spelling, for code written against the earlier Layer

    def named(self, name: str) -> Layer:
        """This layer under another ``name``; ``layer.replace(name=name)``."""
        return self.replace(name=name)

    # A stax pair: unpacking, indexing and len see the two functions.
    def __iter__(self):
        return iter((self.init, self.apply))

    def __len__(self) -> int:
        return 2

    def __getitem__(self, index):
        return (self.init, self.apply)[index]

    def __eq__(self, other: Any) -> bool:
        if not isinstance(other, Layer):
            return NotImplemented
        return self.init is other.init and self.apply is other.apply

    def __hash__(self) -> int:
        return hash((id(self.init), id(self.apply)))

    def __repr__(self) -> str:
        named = f", name={self.name!r}" if self.name else ""
        if self.config is None:
            return f"{self.kind}(init={self.init!r}, apply={self.apply!r}{named})"
        args = ", ".join(f"{k}={v!r}" for k, v in self.config.items())
        if named and "name" not in self.config:
            args = f"{args}{named}" if args else named[2:]
        return f"{self.kind}({args})"


jax.tree_util.register_static(Layer)


def _check_trainable(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"trainable must be True or False; got {value!r}.")
    return value


def as_layer(obj: Any, where: str = "layer") -> Layer:
    """``obj`` as a :class:`Layer`: a Layer itself, a model, or a plain ``(init, apply)`` pair.

    Accepts a :class:`Layer` (returned as is), an ``(init, apply)`` tuple or list of two
    callables in fnnet's protocol, and any object with callable ``init`` and ``apply``
    attributes (a model). Anything else raises a ``TypeError`` that shows the fix.

    Example:
        >>> def init(rng, shape): return shape, (), ()
        >>> def apply(params, state, x, *, rng=None, training=False): return x, state
        >>> as_layer((init, apply)).kind
        'Layer'
    """
    if isinstance(obj, Layer):
        return obj
    if isinstance(obj, (tuple, list)) and len(obj) == 2 and all(callable(f) for f in obj):
        return Layer(obj[0], obj[1])
    init, apply = getattr(obj, "init", None), getattr(obj, "apply", None)
    if callable(init) and callable(apply):
        return Layer(init, apply, kind=type(obj).__name__)
    raise TypeError(
        f"{where}: {obj!r} (of type {type(obj).__name__}) is not a layer. A layer is a pair of "
        f"pure functions: fnnet.Layer(init, apply), a tuple (init, apply), or a built-in such as "
        f"fnnet.layers.Dense(10)."
    )


def init_layer(layer: Layer, rng: jax.Array, input_shape: Any, where: str) -> tuple:
    """``layer.init(rng, input_shape)``, checked: a clear error for the wrong protocol."""
    out = layer.init(rng, input_shape)
    if not isinstance(out, tuple) or len(out) != 3:
        n = len(out) if isinstance(out, tuple) else type(out).__name__
        hint = (" That is jax.example_libraries.stax's protocol (no state): wrap the layer with "
                "fnnet.from_stax(layer)." if n == 2 else "")
        raise TypeError(
            f"{where}: the init of {layer.kind} layer {layer.name or ''!s} returned {n} values; "
            f"fnnet's init returns three, (output_shape, params, state).{hint}"
        )
    return out


_warned_dropped: set = set()


def call(layer: Layer, params: PyTree, state: PyTree, x: Any, *, rng: jax.Array | None = None,
         training: bool = False, batch_mask: jax.Array | None = None) -> tuple[Any, PyTree]:
    """Applies ``layer`` with the mask rules of this module: the one way to call a child layer.

    ``batch_mask`` reaches the layer only if it declares ``uses_batch_mask``. A
    :class:`Masked` input reaches it only if it declares ``supports_masking``; otherwise the
    layer gets the plain value and the data mask ends there (with a warning, once per layer
    kind, as Keras warns).
    """
    kwargs: dict = {"rng": rng, "training": training}
    if batch_mask is not None and layer.uses_batch_mask:
        kwargs["batch_mask"] = batch_mask
    if not layer.supports_masking and _has_mask(x):
        key = layer.kind
        if key not in _warned_dropped:
            _warned_dropped.add(key)
            warnings.warn(
                f"{layer.kind} layer {layer.name or ''!s} received a masked input but does not "
                f"support masking, so the mask ends here and later layers see every timestep. "
                f"Build the layer with supports_masking=True (and handle fnnet.Masked inputs) "
                f"to pass the mask on.", stacklevel=2)
        x = strip_masks(x)
    return layer.apply(params, state, x, **kwargs)


def _children(layer: Layer, params: PyTree) -> list | None:
    """``[(child, child_params), ...]`` of a combinator or model, or None for a plain layer.

    A layer's children are listed in ``config["layers"]`` (params: a tuple, one entry per
    child) or ``config["layer"]`` (params: the child's own), as every combinator and model
    records them.
    """
    config = layer.config or {}
    if "layer" in config and isinstance(config["layer"], Layer):
        return [(config["layer"], params)]
    children = config.get("layers")
    if isinstance(children, (list, tuple)) and isinstance(params, (list, tuple)) and len(
            children) == len(params):
        return list(zip(children, params, strict=True))
    return None


def trainable_mask(layer: Any, params: PyTree) -> PyTree:
    """A tree of bools shaped like ``params``: True where a param trains.

    A layer with ``trainable=False`` freezes all its params; combinators and models ask each
    child. Give the result to :func:`fnnet.optimizers.freeze`.

    Example:
        >>> import jax
        >>> from fnnet import layers, serial
        >>> base, head = layers.Dense(4), layers.Dense(2)
        >>> base.trainable = False
        >>> model = serial(base, head)
        >>> _, params, _ = model.init(jax.random.key(0), (None, 3))
        >>> jax.tree.leaves(trainable_mask(model, params))
        [False, False, True, True]
    """
    layer = as_layer(layer, "trainable_mask")
    if not layer.trainable:
        return jax.tree.map(lambda _: False, params)
    children = _children(layer, params)
    if children is None:
        return jax.tree.map(lambda _: True, params)
    if len(children) == 1 and "layer" in (layer.config or {}):
        return trainable_mask(*children[0])
    return type(params)(trainable_mask(c, p) for c, p in children)


def has_regularization(layer: Any) -> bool:
    """Whether any trainable layer in ``layer`` has a weight penalty or a constraint."""
    layer = as_layer(layer, "has_regularization")
    if not layer.trainable:
        return False
    if layer.regularizer is not None or layer.constraint is not None:
        return True
    config = layer.config or {}
    children = config.get("layers") or ([config["layer"]] if isinstance(
        config.get("layer"), Layer) else [])
    return any(has_regularization(c) for c in children if isinstance(c, Layer))


def regularization(layer: Any, params: PyTree) -> jax.Array:
    """The sum of the weight penalties of every trainable layer in ``layer`` (Keras's rule).

    Add it to your objective in a custom train step; ``fit`` does.

    Example:
        >>> import jax
        >>> from fnnet import layers, serial
        >>> model = serial(layers.Dense(2, kernel_regularizer="l2"), layers.Dense(1))
        >>> _, params, _ = model.init(jax.random.key(0), (None, 3))
        >>> float(regularization(model, params)) > 0
        True
    """
    layer = as_layer(layer, "regularization")
    total = jnp.zeros((), jnp.float32)
    if not layer.trainable:
        return total
    if layer.regularizer is not None:
        total = total + jnp.asarray(layer.regularizer(params), jnp.float32)
    for child, p in _children(layer, params) or ():
        total = total + regularization(child, p)
    return total


def apply_constraints(layer: Any, params: PyTree) -> PyTree:
    """``params`` with every trainable layer's constraint applied (after an update, as Keras).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import layers
        >>> dense = layers.Dense(2, kernel_constraint="non_neg")
        >>> params = {"kernel": -jnp.ones((3, 2)), "bias": -jnp.ones(2)}
        >>> out = apply_constraints(dense, params)
        >>> float(out["kernel"].min()), float(out["bias"].min())
        (0.0, -1.0)
    """
    layer = as_layer(layer, "apply_constraints")
    if not layer.trainable:
        return params
    if layer.constraint is not None:
        params = layer.constraint(params)
    children = _children(layer, params)
    if children is None:
        return params
    if len(children) == 1 and "layer" in (layer.config or {}):
        return apply_constraints(*children[0])
    return type(params)(apply_constraints(c, p) for c, p in children)


def from_stax(pair: Any, name: str | None = None) -> Layer:
    """A layer from a ``jax.example_libraries.stax`` pair (``init`` returns no state).

    stax's ``apply_fun(params, inputs, **kwargs)`` gets ``rng=`` and, for its Dropout,
    ``mode="train"`` when ``training`` is True.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from jax.example_libraries import stax
        >>> layer = from_stax(stax.serial(stax.Dense(3), stax.Relu))
        >>> shape, params, state = layer.init(jax.random.key(0), (2, 4))
        >>> with jax.numpy_rank_promotion("allow"):  # stax broadcasts its bias implicitly
        ...     y, _ = layer.apply(params, state, jnp.ones((2, 4)))
        >>> shape, state, y.shape
        ((2, 3), (), (2, 3))
    """
    s_init, s_apply = pair

    def init(rng, input_shape):
        out_shape, params = s_init(rng, input_shape)
        return out_shape, params, ()

    def apply(params, state, x, *, rng=None, training=False):
        return s_apply(params, x, rng=rng, mode="train" if training else "test"), state

    return Layer(init, apply, name=name, kind="stax")


def snake_case(kind: str) -> str:
    """Keras's default layer name for a class name: ``"Conv2D"`` -> ``"conv2d"``,
    ``"MaxPooling2D"`` -> ``"max_pooling2d"``, ``"BatchNormalization"`` -> ``"batch_normalization"``.
    """
    name = re.sub(r"\W+", "", kind)
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def split_rng(rng: jax.Array | None, n: int) -> list:
    """Splits ``rng`` into ``n`` keys, or returns ``n`` Nones when ``rng`` is None."""
    if rng is None:
        return [None] * n
    return list(jax.random.split(rng, n)) if n else []


def num_elements(shape: Sequence[int | None]) -> int | None:
    """The product of ``shape``'s dims, or None when one of them is unknown."""
    if any(d is None for d in shape):
        return None
    return math.prod(shape)

