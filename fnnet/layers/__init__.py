"""Layers with Keras's names, arguments and defaults; each returns a :class:`fnnet.Layer`."""

from fnnet.layers.augmentation import (
    RandomContrast,
    RandomFlip,
    RandomRotation,
    RandomTranslation,
    RandomZoom,
)
from fnnet.layers.core import Activation, Dense, Dropout, Flatten, Identity, Reshape
from fnnet.layers.merging import (
    Add,
    Average,
    Concatenate,
    Dot,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
)
from fnnet.layers.noise import (
    GaussianDropout,
    GaussianNoise,
    SpatialDropout1D,
    SpatialDropout2D,
    SpatialDropout3D,
)
from fnnet.layers.normalization import BatchNormalization, LayerNormalization
from fnnet.layers.preprocessing import Normalization, Rescaling

__all__ = [
    "Activation",
    "BatchNormalization",
    "Dense",
    "Dropout",
    "Flatten",
    "Identity",
    "LayerNormalization",
    "Reshape",
    # merging
    "Add",
    "Average",
    "Concatenate",
    "Dot",
    "Maximum",
    "Minimum",
    "Multiply",
    "Subtract",
    # noise
    "GaussianDropout",
    "GaussianNoise",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "SpatialDropout3D",
    # preprocessing and augmentation
    "Normalization",
    "RandomContrast",
    "RandomFlip",
    "RandomRotation",
    "RandomTranslation",
    "RandomZoom",
    "Rescaling",
]
