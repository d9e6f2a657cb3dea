"""Keras's ``Loss`` class: a per-example function, its arguments, and a reduction.

A :class:`Loss` instance is called as Keras's, ``loss(y_true, y_pred, sample_weight=None)``,
and returns the reduced value (:func:`reduce_weighted`); ``loss.call(y_true, y_pred)`` gives
the per-example values. :attr:`Loss.per_example` is what :func:`fnnet.losses.get` hands a
train step: a :class:`LossFunction` (a ``functools.partial`` of the built-in function with the
instance's arguments) that also carries ``reduction`` and ``name``.

Reductions (Keras 3's list), for per-example values ``v``, weights ``w = sample_weight * mask``:

* ``"sum_over_batch_size"`` (the default) and ``"mean"``: ``sum(v * w) / n``, ``n`` the
  number of entries (only the unmasked ones when there is a mask, e.g. ``ignore_class``);
* ``"sum"``: ``sum(v * w)``;
* ``"mean_with_sample_weight"``: ``sum(v * w) / sum(w)`` (``/ n`` without weights);
* ``"none"`` or ``None``: ``v * w``, unreduced.

A division by 0 gives 0, as Keras's ``divide_no_nan``.

Example:
    >>> import jax.numpy as jnp
    >>> values = jnp.array([1.0, 2.0, 3.0])
    >>> reduce_weighted(values, jnp.array([1.0, 0.0, 2.0]), reduction="mean_with_sample_weight")
    Array(2.3333, dtype=float32)
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from fnnet.losses.shapes import squeeze_or_expand

__all__ = ["REDUCTIONS", "Loss", "LossFunction", "reduce_weighted"]

REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)

Check = Callable[[str, str, Any], Any]


def check_reduction(owner: str, key: str, value: Any) -> str | None:
    """``value`` if it is one of :data:`REDUCTIONS`, else a ValueError listing them."""
    if not (value is None or isinstance(value, str)) or value not in REDUCTIONS:
        raise ValueError(
            f"{owner}: {key} must be one of {', '.join(map(repr, REDUCTIONS))}; got "
            f"{value!r}. Use 'sum_over_batch_size' (Keras's default) for the mean over entries."
        )
    return value


def _spread(where: str, arg: str, w: ArrayLike, values: jax.Array) -> jax.Array:
    """A weight of shape ``()``, ``(batch,)``, ``(batch, 1)`` or a leading part of
    ``values.shape``, broadcast to ``values.shape``."""
    w = jnp.asarray(w)
    if w.ndim == 2 and w.shape[1] == 1:  # (batch, 1): one weight per example
        w = w[:, 0]
    if w.ndim > values.ndim or w.shape != values.shape[:w.ndim]:
        raise ValueError(
            f"{where}: {arg} of shape {w.shape} does not fit per-example values of shape "
            f"{values.shape}; pass one weight per example, shape ({values.shape[0]},)."
        )
    return jnp.broadcast_to(w.reshape(w.shape + (1,) * (values.ndim - w.ndim)), values.shape)


def reduce_weighted(
    values: ArrayLike,
    sample_weight: ArrayLike | None = None,
    mask: ArrayLike | None = None,
    reduction: str | None = "sum_over_batch_size",
) -> jax.Array:
    """Keras's reduction of per-example loss values (see the module docstring for the rules).

    Args:
        values: per-example (or per-entry) losses, shape ``(batch, ...)``; a scalar is
            returned as is.
        sample_weight: weights of shape ``()``, ``(batch,)`` or a leading part of
            ``values.shape``, broadcast over the rest.
        mask: bool, the same shapes as ``sample_weight``: False entries count for nothing (their
            values may be NaN).
        reduction: one of :data:`REDUCTIONS`.

    Returns:
        A scalar, or ``values * w`` for ``"none"``.

    Example:
        >>> import jax.numpy as jnp
        >>> values = jnp.array([1.0, 2.0, 3.0])
        >>> float(reduce_weighted(values, reduction="sum"))
        6.0
        >>> float(reduce_weighted(values, mask=jnp.array([True, True, False])))
        1.5
    """
    reduction = check_reduction("reduce_weighted", "reduction", reduction)
    values = jnp.asarray(values)
    if values.ndim == 0:
        return values
    dtype = values.dtype
    w = None if sample_weight is None else \
        _spread("reduce_weighted", "sample_weight", sample_weight, values).astype(dtype)
    keep = None if mask is None else _spread("reduce_weighted", "mask", mask, values).astype(bool)
    if w is not None:
        values = values * w
    if keep is not None:
        values = jnp.where(keep, values, jnp.zeros((), dtype))
    if reduction in (None, "none"):
        return values
    total = jnp.sum(values)
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and (w is not None or keep is not None):
        weights = jnp.ones(values.shape, dtype) if w is None else w
        divisor = jnp.sum(weights if keep is None else jnp.where(keep, weights, 0))
    elif keep is not None:
        divisor = jnp.sum(keep.astype(dtype))
    else:
        divisor = jnp.asarray(values.size, dtype)
    return jnp.where(divisor != 0, total / jnp.where(divisor != 0, divisor, 1), jnp.zeros((), dtype))


class LossFunction(functools.partial):
    """A loss function with its arguments bound, that also knows its reduction and name.

    What :func:`fnnet.losses.get` returns for a :class:`Loss` instance: calling it gives the
    per-example values, so a train step uses it as any loss function; ``func`` is the
    built-in function (what :func:`fnnet.losses.base_loss` reports) and ``keywords`` its
    arguments. ``reduction`` tells the trainer how to reduce (see the module docstring).

    Example:
        >>> import jax.numpy as jnp
        >>> from fnnet.losses import binary_crossentropy
        >>> fn = LossFunction(binary_crossentropy, reduction="sum", name="bce", label_smoothing=0.1)
        >>> fn(jnp.array([1.0]), jnp.array([0.9])), fn.reduction, fn.__name__
        (Array([0.2152], dtype=float32), 'sum', 'bce')
    """

    def __new__(cls, func: Callable, /, *, reduction: str | None = "sum_over_batch_size",
                name: str | None = None, config: dict | None = None, **keywords: Any):
        self = super().__new__(cls, func, **keywords)
        self.reduction = reduction
        self.name = name or getattr(func, "__name__", type(func).__name__)
        self.__name__ = self.name
        self.config = config  # {"class_name", "config"} of the Loss it came from, if any
        return self

    def replace(self, **keywords: Any) -> LossFunction:
        """The same loss with some arguments changed (reduction, name and config kept)."""
        return LossFunction(self.func, reduction=self.reduction, name=self.name,
                            config=self.config, **{**self.keywords, **keywords})


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _declaring(cls: type) -> type:
    """The nearest class in ``cls``'s MRO that declares its own ``arguments``."""
    return next(c for c in cls.__mro__ if "arguments" in c.__dict__)


def _check_name(owner: str, key: str, value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{owner}: {key} must be a string or None; got {value!r}.")
    return value


def _check_dtype(owner: str, key: str, value: Any) -> str | None:
    if value is None:
        return None
    try:
        dtype = jnp.dtype(value)
    except TypeError:
        dtype = None
    if dtype is None or not jnp.issubdtype(dtype, jnp.floating):
        raise ValueError(f"{owner}: {key} must be a float dtype such as 'float32', or None; "
                         f"got {value!r}.")
    return str(dtype)


REDUCTION = ("sum_over_batch_size", check_reduction)
DTYPE = (None, _check_dtype)


def name_default(default: str | None) -> tuple[str | None, Check]:
    """The ``name`` entry of an ``arguments`` table, with Keras's default name."""
    return (default, _check_name)


class Loss:
    """Keras's loss base class: ``loss(y_true, y_pred, sample_weight=None)`` reduces ``call``.

    The built-in subclasses (:class:`~fnnet.losses.BinaryCrossentropy`, ...) wrap a
    per-example function with Keras's arguments; every argument is an attribute and in
    :meth:`get_config`. To write your own, subclass and define ``call``, as in Keras::

        class Cubed(Loss):
            def call(self, y_true, y_pred):
                return jnp.mean(jnp.abs(y_pred - y_true) ** 3, axis=-1)

    Args:
        name: reported name; None gives the class name in snake case.
        reduction: one of :data:`REDUCTIONS` (see the module docstring).
        dtype: None (float32, as Keras's ``floatx``) or a float dtype that ``__call__``
            computes in.

    Example:
        >>> import jax.numpy as jnp
        >>> class Cubed(Loss):
        ...     def call(self, y_true, y_pred):
        ...         return jnp.mean(jnp.abs(y_pred - y_true) ** 3, axis=-1)
        >>> loss = Cubed(reduction="sum")
        >>> loss.name, float(loss(jnp.zeros((2, 1)), jnp.ones((2, 1))))
        ('cubed', 2.0)
    """

    # The per-example built-in function (None: the subclass defines ``call``).
    fn: ClassVar[Callable | None] = None
    # Every constructor argument in Keras's order: name -> (default, check(owner, key, value)).
    arguments: ClassVar[dict[str, tuple[Any, Check]]] = {
        "name": name_default(None), "reduction": REDUCTION, "dtype": DTYPE}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "arguments" in cls.__dict__:  # a built-in with a declared signature
            cls.__signature__ = inspect.Signature(
                [inspect.Parameter(k, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=d)
                 for k, (d, _) in cls.arguments.items()])

    def __init__(self, *args: Any, **kwargs: Any):
        declaring = _declaring(type(self))
        owner = type(self).__name__
        signature = inspect.Signature(
            [inspect.Parameter(k, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=d)
             for k, (d, _) in declaring.arguments.items()])
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as e:
            raise TypeError(f"{owner}: {e}. It accepts {', '.join(signature.parameters)}.") from None
        bound.apply_defaults()
        config = {k: declaring.arguments[k][1](owner, k, v) for k, v in bound.arguments.items()}
        if config["name"] is None:
            config["name"] = _snake(owner)
        self._config = config
        for key, value in config.items():
            setattr(self, key, value)
        self.dtype = config["dtype"] or "float32"
        fn_kwargs = {k: v for k, v in config.items() if k not in ("name", "reduction", "dtype")}
        serialized = {"class_name": owner, "config": dict(config)}
        if type(self).fn is not None:
            self.per_example = LossFunction(type(self).fn, reduction=config["reduction"],
                                            name=config["name"], config=serialized, **fn_kwargs)
        else:
            self.per_example = LossFunction(self.call, reduction=config["reduction"],
                                            name=config["name"])

    def call(self, y_true: ArrayLike, y_pred: ArrayLike) -> jax.Array:
        """The per-example values (Keras's ``Loss.call``), before weighting and reduction."""
        fn = type(self).fn
        if fn is None:
            raise NotImplementedError(
                f"{type(self).__name__}: a Loss subclass must define call(self, y_true, y_pred) "
                f"returning per-example values, e.g. jnp.mean(jnp.square(y_pred - y_true), "
                f"axis=-1).")
        y_true, y_pred = squeeze_or_expand(jnp.asarray(y_true), jnp.asarray(y_pred))
        return self.per_example(y_true, y_pred)

    def entry_mask(self, y_true: ArrayLike, y_pred: ArrayLike) -> jax.Array | None:
        """Which entries of ``call``'s values count (Keras's loss mask); None: all of them."""
        return None

    def __call__(self, y_true: ArrayLike, y_pred: ArrayLike,
                 sample_weight: ArrayLike | None = None) -> jax.Array:
        """The reduced loss: ``call``'s values weighted and reduced by ``self.reduction``."""
        y_pred = jnp.asarray(y_pred, self.dtype)
        y_true = jnp.asarray(y_true, self.dtype)
        values = self.call(y_true, y_pred)
        return reduce_weighted(values, sample_weight, self.entry_mask(y_true, y_pred),
                               self.reduction)

    def get_config(self) -> dict:
        """Every constructor argument, defaults filled in (JSON-able for the built-ins)."""
        return dict(self._config)

    @classmethod
    def from_config(cls, config: dict) -> Loss:
        """The instance :meth:`get_config` describes."""
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._config.items())
        return f"{type(self).__name__}({args})"
