"""Keras 3's losses: per-example functions ``loss(y_true, y_pred)`` and the ``Loss`` classes.

Every loss *function* returns one value per example: it reduces over the last axis only (as
Keras's loss functions do), so ``(batch, d)`` inputs give shape ``(batch,)``. For the
element-wise losses, rank-1 inputs of shape ``(batch,)`` are read as ``(batch, 1)``: one value
per example. Reducing over the batch (and weighting, masking padded rows) is left to the
caller: a train step, :func:`fnnet.metrics.Mean`, or a :class:`Loss` instance, which is called
as Keras's, ``loss(y_true, y_pred, sample_weight=None)``, and reduces by its ``reduction``.

Probabilities are clipped to ``[1e-7, 1 - 1e-7]`` before any ``log``, exactly as Keras does,
so probabilities of exactly 0 and 1 give finite values *and* finite gradients.

Modules: ``probabilistic`` (cross-entropies, KL divergence, Poisson), ``focal``, ``regression``,
``hinges``, ``segmentation`` (Dice, Tversky), ``sequence`` (CTC), ``shapes`` (the shape
conventions), ``loss`` (:class:`Loss`, reductions), ``classes`` (Keras's loss classes) and
``registry`` (:func:`get`, :func:`serialize` and what a train step asks of a loss).

Example:
    >>> import jax.numpy as jnp
    >>> from fnnet import losses
    >>> y_true, y_pred = jnp.array([[0.0, 1.0], [1.0, 0.0]]), jnp.array([[0.1, 0.9], [0.8, 0.2]])
    >>> losses.categorical_crossentropy(y_true, y_pred)        # per example
    Array([0.1054, 0.2231], dtype=float32)
    >>> losses.CategoricalCrossentropy()(y_true, y_pred)       # reduced, as Keras's class
    Array(0.1643, dtype=float32)
    >>> losses.get("categorical_crossentropy") is losses.categorical_crossentropy
    True
"""

from fnnet.losses.classes import (
    CTC,
    BinaryCrossentropy,
    BinaryFocalCrossentropy,
    CategoricalCrossentropy,
    CategoricalFocalCrossentropy,
    CategoricalHinge,
    CosineSimilarity,
    Dice,
    Hinge,
    Huber,
    KLDivergence,
    LogCosh,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    Poisson,
    SparseCategoricalCrossentropy,
    SquaredHinge,
    Tversky,
)
from fnnet.losses.focal import binary_focal_crossentropy, categorical_focal_crossentropy
from fnnet.losses.hinges import categorical_hinge, hinge, squared_hinge
from fnnet.losses.loss import REDUCTIONS, Loss, LossFunction, reduce_weighted
from fnnet.losses.probabilistic import (
    binary_crossentropy,
    categorical_crossentropy,
    kl_divergence,
    poisson,
    sparse_categorical_crossentropy,
)
from fnnet.losses.registry import (
    align_targets,
    base_loss,
    bound_arguments,
    deserialize,
    from_logits_variant,
    get,
    is_sparse,
    matching_activation,
    names,
    serialize,
)
from fnnet.losses.regression import (
    cosine_similarity,
    huber,
    l2_normalize,
    log_cosh,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
)
from fnnet.losses.segmentation import dice, tversky
from fnnet.losses.sequence import ctc
from fnnet.losses.shapes import EPSILON

mse = mean_squared_error
mae = mean_absolute_error
mape = mean_absolute_percentage_error
msle = mean_squared_logarithmic_error

__all__ = [
    "EPSILON",
    # functions
    "binary_crossentropy",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
    "binary_focal_crossentropy",
    "categorical_focal_crossentropy",
    "kl_divergence",
    "poisson",
    "mean_squared_error",
    "mean_absolute_error",
    "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error",
    "huber",
    "log_cosh",
    "cosine_similarity",
    "hinge",
    "squared_hinge",
    "categorical_hinge",
    "dice",
    "tversky",
    "ctc",
    "l2_normalize",
    "mse",
    "mae",
    "mape",
    "msle",
    # classes
    "Loss",
    "LossFunction",
    "REDUCTIONS",
    "reduce_weighted",
    "BinaryCrossentropy",
    "BinaryFocalCrossentropy",
    "CategoricalCrossentropy",
    "CategoricalFocalCrossentropy",
    "SparseCategoricalCrossentropy",
    "KLDivergence",
    "Poisson",
    "MeanSquaredError",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError",
    "CosineSimilarity",
    "Huber",
    "LogCosh",
    "Hinge",
    "SquaredHinge",
    "CategoricalHinge",
    "Dice",
    "Tversky",
    "CTC",
    # registry
    "get",
    "serialize",
    "deserialize",
    "names",
    "from_logits_variant",
    "matching_activation",
    "base_loss",
    "is_sparse",
    "bound_arguments",
    "align_targets",
]
