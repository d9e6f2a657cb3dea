"""Keras-style models on the pure core.

* :mod:`~fnnet.models.sequential`: ``Sequential`` and ``Input``;
* :mod:`~fnnet.models.compiling`: ``compile``'s arguments turned into the pure steps;
* :mod:`~fnnet.models.fitting`: the host loops of ``fit``/``evaluate``/``predict``;
* :mod:`~fnnet.models.programs`: their compiled programs, on :mod:`fnnet.loop`;
* :mod:`~fnnet.models.weights`, :mod:`~fnnet.models.summary`: Keras's weight order and table;
* :mod:`~fnnet.models.loading`: ``load_model``.
"""

from fnnet.models.loading import load_model
from fnnet.models.sequential import Input, Sequential

__all__ = ["Input", "Sequential", "load_model"]
