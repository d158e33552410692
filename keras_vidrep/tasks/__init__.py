"""Recognition from learned video representations.

Labels the generator gives for free (``TASKS``: which digits, how they
move), classifiers on an encoder (``build_classifier``) and the protocols
that measure a representation (``PROTOCOLS``: frozen probe, fine-tuned,
from scratch, random frozen), run by ``run_probes`` or
``keras-vidrep probe NAME --task digits --labels 100``.
"""

from keras_vidrep.tasks.labels import DIRECTIONS
from keras_vidrep.tasks.labels import TASKS
from keras_vidrep.tasks.labels import direction_sectors
from keras_vidrep.tasks.labels import get_task
from keras_vidrep.tasks.labels import labelled_clips
from keras_vidrep.tasks.metrics import mean_average_precision
from keras_vidrep.tasks.metrics import score
from keras_vidrep.tasks.metrics import top_k_recall
from keras_vidrep.tasks.probe import HEADS
from keras_vidrep.tasks.probe import PROTOCOLS
from keras_vidrep.tasks.probe import ProbeData
from keras_vidrep.tasks.probe import build_classifier
from keras_vidrep.tasks.probe import build_head
from keras_vidrep.tasks.probe import chance
from keras_vidrep.tasks.probe import class_prior
from keras_vidrep.tasks.probe import initial_encoder
from keras_vidrep.tasks.probe import run_probes

__all__ = ["DIRECTIONS", "HEADS", "PROTOCOLS", "ProbeData", "TASKS",
           "build_classifier", "build_head", "chance", "class_prior", "direction_sectors",
           "get_task", "initial_encoder", "labelled_clips", "mean_average_precision",
           "run_probes", "score", "top_k_recall"]
