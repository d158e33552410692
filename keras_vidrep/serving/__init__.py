"""Serving: the SavedModel and ONNX exports (``saved_model``) and the
request helpers for TensorFlow Serving (``requests``).

The package took the name of the old request module: its names
(``predict_request``, ...) are looked up in ``requests`` on first use.
"""

from keras_vidrep._moved import lazy_names

__getattr__, __dir__ = lazy_names(__name__, "requests",
                                  ("requests", "saved_model"))
