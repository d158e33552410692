"""keras_vidrep: unsupervised learning of video representations with LSTMs.

Sub-packages are imported on first use, so that ``keras_vidrep.layers`` (pure
``keras.ops``) works on machines without TensorFlow, e.g. under
``KERAS_BACKEND=jax``; ``keras_vidrep.data`` needs TensorFlow.
"""

import importlib

__version__ = "0.1.0"

_SUBMODULES = ("data", "layers", "models")


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"keras_vidrep.{name}")
    raise AttributeError(f"module 'keras_vidrep' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_SUBMODULES])
