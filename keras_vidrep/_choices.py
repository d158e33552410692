"""The command line's choice lists, in the standard library alone.

The modules that define these choices (the trainer's schedules, the
experiments, the probe tasks, protocols and heads, the captioner's streams)
import Keras, which takes seconds. ``keras-vidrep COMMAND --help`` builds its
parser from the names here instead; ``tests/test_cli.py`` keeps each list
equal to the table it names, and the descriptions are read from here by
those tables, so each is written once.
"""

# keras_vidrep.training.trainer.LEARNING_RATE_SCHEDULES
SCHEDULES = ("constant", "cosine")

# keras_vidrep.experiments.definitions.EXPERIMENTS, then
# keras_vidrep.experiments.STANDALONE_EXPERIMENTS
EXPERIMENTS = ("cells", "units", "variants", "representations", "captions")

# keras_vidrep.tasks.labels.TASKS
TASKS = {
    "digits": "which digits are in the clip (10-way multi-label)",
    "motion": "the set of the digits' directions at the end of the input "
              "(8 sectors, multi-label)",
}

# keras_vidrep.tasks.probe.PROTOCOLS, in the order the command lists them
PROTOCOLS = {
    "frozen": "pretrained encoder, frozen; only the head trains",
    "fine_tuned": "pretrained encoder and head, all trained",
    "scratch": "the same architecture randomly initialised, all trained",
    "random": "the same architecture randomly initialised, frozen",
}

# keras_vidrep.tasks.probe.HEADS
HEADS = ("linear", "mlp")

# keras_vidrep.models.captioner.STREAM_INPUTS
STREAMS = ("appearance", "fused", "motion")

# keras_vidrep.data.videos.LAYOUTS: how an array of videos is laid out
LAYOUTS = ("batch_major", "time_major")

# keras_vidrep.training.trainer.make_strategy: how a run spreads over devices
STRATEGIES = {
    "auto": "MirroredStrategy over several GPUs (TensorFlow), else one device",
    "none": "one device",
    "mirrored": "tf.distribute.MirroredStrategy over every local GPU (or "
                "logical CPU device)",
    "multi-worker": "our loop on tf.distribute.MultiWorkerMirroredStrategy "
                    "(several machines, TensorFlow)",
    "data-parallel": "keras.distribution.DataParallel over every local "
                     "device (JAX): the batch split, the weights replicated",
}
