"""Losses by name and by config, and what a train step needs to know about a loss.

* :func:`get` resolves Keras names (``"mse"``, ``"BinaryCrossentropy"``...), ``{"class_name",
  "config"}`` dicts and :class:`~fnnet.losses.Loss` instances to a per-example function;
  :func:`serialize` and :func:`deserialize` are its inverse.
* :func:`base_loss`, :func:`is_sparse` and :func:`bound_arguments` say which built-in a loss
  is and with which arguments; :func:`from_logits_variant` and :func:`matching_activation`
  let a train step compute the cross-entropies from logits when the model ends in the matching
  softmax or sigmoid; :func:`align_targets` is the one rule for ``(N,)`` targets against
  ``(N, 1)`` outputs.

Example:
    >>> from fnnet import losses
    >>> fn = get(losses.BinaryCrossentropy(label_smoothing=0.1))
    >>> base_loss(fn) is losses.binary_crossentropy, matching_activation(fn)
    (True, 'sigmoid')
    >>> from_logits_variant(fn).keywords["label_smoothing"]
    0.1
    >>> serialize(losses.BinaryCrossentropy(label_smoothing=0.1))["config"]["label_smoothing"]
    0.1
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from fnnet._errors import unknown_name
from fnnet.losses import classes, focal, hinges, probabilistic, regression, segmentation, sequence
from fnnet.losses.loss import Loss, LossFunction

__all__ = [
    "get",
    "serialize",
    "deserialize",
    "from_logits_variant",
    "matching_activation",
    "base_loss",
    "is_sparse",
    "bound_arguments",
    "align_targets",
]

LossFn = Callable[..., jax.Array]

# Canonical name -> function; aliases below map onto the same function objects.
_CANONICAL: dict[str, LossFn] = {
    fn.__name__: fn
    for fn in (
        probabilistic.categorical_crossentropy,
        probabilistic.sparse_categorical_crossentropy,
        probabilistic.binary_crossentropy,
        focal.binary_focal_crossentropy,
        focal.categorical_focal_crossentropy,
        regression.mean_squared_error,
        regression.mean_absolute_error,
        regression.mean_absolute_percentage_error,
        regression.mean_squared_logarithmic_error,
        regression.huber,
        regression.log_cosh,
        regression.cosine_similarity,
        probabilistic.kl_divergence,
        probabilistic.poisson,
        hinges.hinge,
        hinges.squared_hinge,
        hinges.categorical_hinge,
        segmentation.dice,
        segmentation.tversky,
        sequence.ctc,
    )
}
_ALIASES: dict[str, LossFn] = {
    "mse": regression.mean_squared_error,
    "mae": regression.mean_absolute_error,
    "mape": regression.mean_absolute_percentage_error,
    "msle": regression.mean_squared_logarithmic_error,
    "bce": probabilistic.binary_crossentropy,
    "huber_loss": regression.huber,
    "logcosh": regression.log_cosh,
    "kld": probabilistic.kl_divergence,
    "kullback_leibler_divergence": probabilistic.kl_divergence,
}
_BY_NAME: dict[str, LossFn] = {**_CANONICAL, **_ALIASES}
# Keras class names ("MeanSquaredError", "BinaryCrossentropy") lower-cased without underscores.
_BY_COMPACT_NAME: dict[str, LossFn] = {k.replace("_", ""): v for k, v in _BY_NAME.items()}

CLASSES: dict[str, type[Loss]] = {name: getattr(classes, name) for name in classes.__all__}

# Built-in function -> the activation whose logits its from_logits=True form takes.
_LOGITS: dict[LossFn, str] = {
    probabilistic.categorical_crossentropy: "softmax",
    probabilistic.sparse_categorical_crossentropy: "softmax",
    probabilistic.binary_crossentropy: "sigmoid",
    focal.binary_focal_crossentropy: "sigmoid",
    focal.categorical_focal_crossentropy: "softmax",
}


def names() -> list[str]:
    """Every loss name :func:`get` accepts (functions and aliases; class names work too).

    Example:
        >>> "binary_focal_crossentropy" in names(), "mse" in names()
        (True, True)
    """
    return sorted(_BY_NAME)


def deserialize(config: Mapping[str, Any], custom_objects: Mapping[str, Any] | None = None) -> Loss:
    """The :class:`~fnnet.losses.Loss` a ``{"class_name": ..., "config": {...}}`` dict describes.

    Keras's own serialized form (with ``"module"`` and ``"registered_name"``) is accepted.

    Args:
        config: the dict, as :func:`serialize` (or ``keras.losses.serialize``) writes it.
        custom_objects: ``{class_name: Loss subclass}`` for losses that are not built in.

    Raises:
        ValueError: for a dict without ``class_name``, or an unknown class name.

    Example:
        >>> deserialize({"class_name": "Huber", "config": {"delta": 2.0}})
        Huber(delta=2.0, reduction='sum_over_batch_size', name='huber_loss', dtype=None)
    """
    if not isinstance(config, Mapping) or "class_name" not in config:
        raise ValueError(
            f"losses.deserialize: expected a dict {{'class_name': ..., 'config': {{...}}}} as "
            f"losses.serialize(loss) writes; got {config!r:.120}."
        )
    name = config["class_name"]
    cls = dict(custom_objects or {}).get(name) or CLASSES.get(name)
    if cls is None:
        raise unknown_name("loss class", name, CLASSES, argument="loss")
    return cls.from_config(dict(config.get("config") or {}))


def get(identifier: str | Mapping | Loss | type[Loss] | LossFn) -> LossFn:
    """Resolves a loss to the per-example function a train step calls.

    * A name (case-insensitive): Keras's function names and aliases (``"mse"``, ``"mae"``,
      ``"mape"``, ``"msle"``, ``"bce"``, ``"kld"``, ``"logcosh"``...) and class names
      (``"MeanSquaredError"``) give the built-in function.
    * A :class:`~fnnet.losses.Loss` instance (or class, or its :func:`serialize` dict) gives
      its :class:`~fnnet.losses.LossFunction`: the built-in function with the instance's
      arguments, which also carries ``reduction`` and ``name``.
    * Any other callable ``loss(y_true, y_pred) -> per-example values`` is returned unchanged.

    Raises:
        ValueError: for an unknown name (the message suggests the closest valid one).
        TypeError: for anything else.

    Example:
        >>> from fnnet import losses
        >>> get("MSE") is losses.mean_squared_error
        True
        >>> get("CategoricalCrossentropy").__name__
        'categorical_crossentropy'
        >>> get(losses.Huber(delta=2.0)).keywords
        {'delta': 2.0}
    """
    if isinstance(identifier, str):
        key = identifier.strip().lower()
        fn = _BY_NAME.get(key) or _BY_COMPACT_NAME.get(key.replace("_", ""))
        if fn is None:
            raise unknown_name("loss", identifier, _BY_NAME, argument="loss")
        return fn
    if isinstance(identifier, Mapping):
        identifier = deserialize(identifier)
    if inspect.isclass(identifier) and issubclass(identifier, Loss):
        identifier = identifier()
    if isinstance(identifier, Loss):
        return identifier.per_example
    if callable(identifier):
        return identifier
    raise TypeError(
        f"loss must be a loss name such as 'mse' or 'categorical_crossentropy', a "
        f"fnnet.losses.Loss, or a callable loss(y_true, y_pred) returning per-example values; "
        f"got {identifier!r} of type {type(identifier).__name__}. Pass e.g. "
        f"loss='sparse_categorical_crossentropy'."
    )


def serialize(loss: Any) -> str | dict | None:
    """How to save a loss: a built-in function's canonical name, a built-in class's dict.

    Returns the name :func:`get` maps back to a built-in function; ``{"class_name",
    "config"}`` for an instance of a built-in :class:`~fnnet.losses.Loss` class (or the
    function :func:`get` made from one); None for anything else (a custom function or class,
    which a saved model can only name).

    Example:
        >>> from fnnet import losses
        >>> serialize(losses.mse)
        'mean_squared_error'
        >>> serialize(losses.CategoricalCrossentropy(from_logits=True))["class_name"]
        'CategoricalCrossentropy'
        >>> serialize(lambda y_true, y_pred: y_pred) is None
        True
    """
    if isinstance(loss, Mapping):  # a config already: normalized through the class
        return serialize(deserialize(loss))
    if isinstance(loss, Loss):
        return serialize(loss.per_example)
    if isinstance(loss, LossFunction):
        return None if loss.config is None or loss.config["class_name"] not in CLASSES \
            else {"class_name": loss.config["class_name"], "config": dict(loss.config["config"])}
    for name, fn in _CANONICAL.items():
        if fn is loss:
            return name
    return None


def _unwrap(loss_fn: Any) -> tuple[Any, dict]:
    """(the function under any ``functools.partial`` layers, their merged keyword arguments);
    a partial with positional arguments is not unwrapped."""
    fn, keywords = loss_fn, {}
    while isinstance(fn, functools.partial) and not fn.args:
        keywords = {**fn.keywords, **keywords}
        fn = fn.func
    return fn, keywords


def _hashable(obj: object) -> bool:
    try:
        hash(obj)
    except TypeError:
        return False
    return True


def matching_activation(loss_fn: Any) -> str | None:
    """The output activation whose logits :func:`from_logits_variant` expects, else None.

    ``"softmax"`` for the categorical cross-entropies (focal included), ``"sigmoid"`` for the
    binary ones; None for other losses and for one already set to ``from_logits=True``.

    Example:
        >>> from fnnet import losses
        >>> matching_activation(losses.categorical_crossentropy)
        'softmax'
        >>> matching_activation(losses.BinaryFocalCrossentropy(gamma=3.0))
        'sigmoid'
        >>> matching_activation(losses.BinaryCrossentropy(from_logits=True)) is None
        True
    """
    if isinstance(loss_fn, Loss):
        loss_fn = loss_fn.per_example
    fn, keywords = _unwrap(loss_fn)
    if not _hashable(fn) or fn not in _LOGITS or keywords.get("from_logits", False):
        return None
    return _LOGITS[fn]


def from_logits_variant(loss_fn: Any) -> LossFn | None:
    """The ``from_logits=True`` form of a built-in cross-entropy, else None.

    Every other argument is kept (``label_smoothing``, ``axis``, ``gamma``...), and a
    :class:`~fnnet.losses.LossFunction` stays one (same ``reduction`` and ``name``). A train
    step whose model ends in :func:`matching_activation` can feed the pre-activation logits to
    it: for the (binary, categorical, sparse) cross-entropies this is exact where the
    probabilities saturate; the focal losses compute as Keras's ``from_logits=True`` does.
    None for a loss already set to ``from_logits=True``: it takes logits as it is.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet import losses
        >>> logits, labels = jnp.array([[1.0, 2.0, 0.5]]), jnp.array([1])
        >>> a = from_logits_variant(losses.sparse_categorical_crossentropy)(labels, logits)
        >>> b = losses.sparse_categorical_crossentropy(labels, jax.nn.softmax(logits))
        >>> bool(jnp.allclose(a, b))
        True
        >>> from_logits_variant(losses.mse) is None
        True
    """
    if isinstance(loss_fn, Loss):
        loss_fn = loss_fn.per_example
    if matching_activation(loss_fn) is None:
        return None
    fn, keywords = _unwrap(loss_fn)
    if isinstance(loss_fn, LossFunction) and loss_fn.func is fn:
        return loss_fn.replace(from_logits=True)
    return functools.partial(fn, **{**keywords, "from_logits": True})


def base_loss(loss: Any) -> Any:
    """The built-in function behind ``loss``: a name resolved, ``functools.partial`` (and
    :class:`~fnnet.losses.LossFunction`) unwrapped, a :class:`~fnnet.losses.Loss` looked into.

    The one answer to "which loss is this?" (sparse or not, which activation it matches).

    Example:
        >>> from fnnet import losses
        >>> base_loss("SparseCategoricalCrossentropy") is losses.sparse_categorical_crossentropy
        True
        >>> base_loss(losses.BinaryCrossentropy(from_logits=True)).__name__
        'binary_crossentropy'
    """
    fn = get(loss) if isinstance(loss, (str, Mapping, Loss)) else loss
    while isinstance(fn, functools.partial):
        fn = fn.func
    return getattr(fn, "base_loss", fn)


def bound_arguments(loss: Any) -> dict:
    """The keyword arguments bound to a built-in loss (``{}`` for a plain function).

    A trainer reads e.g. ``ignore_class`` here: Keras averages the loss over the entries whose
    label is not ``ignore_class``.

    Example:
        >>> from fnnet import losses
        >>> bound_arguments(losses.SparseCategoricalCrossentropy(ignore_class=255))["ignore_class"]
        255
        >>> bound_arguments("mse")
        {}
    """
    fn = get(loss) if isinstance(loss, (str, Mapping, Loss)) else loss
    return _unwrap(fn)[1]


def is_sparse(loss: Any) -> bool:
    """Whether ``loss`` takes integer class ids (sparse categorical cross-entropy).

    Example:
        >>> is_sparse("sparse_categorical_crossentropy"), is_sparse("categorical_crossentropy")
        (True, False)
    """
    return base_loss(loss) is probabilistic.sparse_categorical_crossentropy


def align_targets(y_true: ArrayLike, y_pred: jax.Array, loss: Any = None) -> jax.Array:
    """Gives targets of shape ``(N,)`` a trailing axis against outputs of shape ``(N, 1)``.

    The one place for this rule. Without it ``y - y_pred`` would broadcast to ``(N, N)``: a
    silently wrong loss. Sparse labels keep their shape (one id per example).

    Example:
        >>> import jax.numpy as jnp
        >>> align_targets(jnp.zeros(4), jnp.zeros((4, 1))).shape
        (4, 1)
        >>> align_targets(jnp.zeros(4), jnp.zeros((4, 3)), "sparse_categorical_crossentropy").shape
        (4,)
    """
    y_true = jnp.asarray(y_true)
    if (loss is None or not is_sparse(loss)) and y_true.ndim == y_pred.ndim - 1 and \
            y_pred.shape[-1] == 1:
        return y_true[..., None]
    return y_true
