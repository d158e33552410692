"""keras_vidrep: unsupervised learning of video representations with LSTMs.

``import keras_vidrep`` registers every layer, model, loss and metric with
Keras' serialization, so ``keras.saving.load_model`` reads our ``.keras``
files. ``layers`` and ``models`` are pure ``keras.ops`` and need no
TensorFlow (they run under ``KERAS_BACKEND=jax`` on machines without it);
``data``, ``training`` and the rest use TensorFlow and are imported on first
use.
"""

import importlib

from keras_vidrep import layers  # noqa: F401
from keras_vidrep import models  # noqa: F401

__version__ = "0.1.0"

_LAZY_SUBMODULES = ("data", "distributed", "evaluation", "saved_model", "serving",
                    "training", "visualize", "zoo")


def load(name_or_path, weights="pretrained", compile=True):
    """A zoo model or a ``.keras`` file, ready to use; see ``keras_vidrep.zoo.load``."""
    from keras_vidrep import zoo

    return zoo.load(name_or_path, weights=weights, compile=compile)


def list_models():
    """The zoo's model names."""
    from keras_vidrep import zoo

    return zoo.list_models()


def export(model, base_path, version=1):
    """A TF Serving SavedModel; see ``keras_vidrep.saved_model.export``."""
    from keras_vidrep.saved_model import export as export_saved_model

    return export_saved_model(model, base_path, version=version)


def __getattr__(name):
    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f"keras_vidrep.{name}")
    raise AttributeError(f"module 'keras_vidrep' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_LAZY_SUBMODULES])
