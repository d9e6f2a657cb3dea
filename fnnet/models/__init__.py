"""Keras-style models on the pure core.

* :mod:`~fnnet.models.model`: ``Model``, Keras's training front end, and the functional
  ``Model(inputs, outputs)``;
* :mod:`~fnnet.models.sequential`: ``Sequential``;
* :mod:`~fnnet.models.compiling`: ``compile``'s arguments turned into the pure steps;
* :mod:`~fnnet.models.fitting`: the host loops of ``fit``/``evaluate``/``predict``;
* :mod:`~fnnet.models.programs`: their compiled programs, on :mod:`fnnet.loop`;
* :mod:`~fnnet.models.data_checks`: the host-side checks of a model's data;
* :mod:`~fnnet.models.weights`, :mod:`~fnnet.models.summary`: Keras's weight order and table;
* :mod:`~fnnet.models.ensemble`: ``Ensemble``, K models trained as one ``vmap``;
* :mod:`~fnnet.models.loading`: ``load_model``.
"""

from fnnet.graph import Input
from fnnet.models.ensemble import Ensemble
from fnnet.models.loading import load_model
from fnnet.models.model import Model
from fnnet.models.sequential import Sequential

__all__ = ["Ensemble", "Input", "Model", "Sequential", "load_model"]
