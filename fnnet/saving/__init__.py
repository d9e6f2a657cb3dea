"""Saving models: architectures as JSON, and model files on :mod:`fnnet.checkpoint`.

* :mod:`~fnnet.saving.architecture`: layers to and from JSON-able dicts, without pickle, eval
  or imports (``serialize_layer``, ``deserialize_layer``);
* :mod:`~fnnet.saving.model_files`: weights files, whole-model files and training-state files,
  written atomically and verified on load;
* :mod:`~fnnet.saving.graphs`: a functional model's connections as JSON, and back;
* Keras 3's files, read and written without Keras: :mod:`~fnnet.saving.keras_weights`
  (``.weights.h5``, h5py needed), :mod:`~fnnet.saving.keras_archive` (``.keras`` archives) and
  :mod:`~fnnet.saving.keras_config` (Keras's model configs as fnnet architectures);
  :mod:`~fnnet.saving.weight_order` is Keras's order of a layer's weights.

``fnnet.models.load_model`` rebuilds a model from a whole-model file.
"""

from fnnet.saving.architecture import builtin_names, deserialize_layer, serialize_layer
from fnnet.saving.model_files import (
    check_path,
    load_train_state,
    load_weights,
    model_architecture,
    read_model_file,
    restore_train_state,
    save_model,
    save_train_state,
    save_weights,
)

__all__ = [
    "model_architecture",
    "builtin_names",
    "check_path",
    "deserialize_layer",
    "load_train_state",
    "load_weights",
    "read_model_file",
    "restore_train_state",
    "save_model",
    "save_train_state",
    "save_weights",
    "serialize_layer",
]
