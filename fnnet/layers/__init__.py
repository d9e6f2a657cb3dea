"""Layers with Keras's names, arguments and defaults; each returns a :class:`fnnet.Layer`."""

from fnnet.layers.core import Activation, Dense, Dropout, Flatten, Identity, Reshape
from fnnet.layers.normalization import BatchNormalization, LayerNormalization

__all__ = [
    "Activation",
    "BatchNormalization",
    "Dense",
    "Dropout",
    "Flatten",
    "Identity",
    "LayerNormalization",
    "Reshape",
]
