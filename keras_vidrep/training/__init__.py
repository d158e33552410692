"""Training: the trainer (``train``), its run folder's checkpoints and
records, stops, precision, initial weights, the multi-worker loop and the
provenance of every run.

``keras_vidrep.training.train`` and the trainer's other names are looked up
in ``keras_vidrep.training.trainer`` on first use, so that importing a
light module of this package (``stops``, ``provenance``) does not load
Keras.
"""

from keras_vidrep._moved import lazy_names

__getattr__, __dir__ = lazy_names(
    __name__, "trainer",
    ("trainer", "checkpoints", "stops", "precision", "initial_weights",
     "multi_worker", "provenance"))
