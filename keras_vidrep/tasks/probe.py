"""Classifiers on learned encoders, and the protocols that measure them.

A classifier is ``frames -> encoder -> head -> logits`` (one logit per class,
trained with sigmoid cross-entropy: both tasks are multi-label). The head
starts with a ``BatchNormalization`` without scale and offset: the encoder's
``[h, c]`` states have very different scales (``h`` in [-1, 1], ``c``
unbounded), and standardising them is what the linear-probe literature does
(He et al. 2022, Masked Autoencoders, appendix A.2); at inference it is a
fixed affine map, so a linear head stays linear.

Four protocols (Srivastava et al. 2015, section 3.4, and the linear-probe
literature) differ in two switches, whether the encoder starts from the
pretrained weights and whether it trains:

============ =========== ===============
protocol     pretrained  encoder trains
============ =========== ===============
frozen       yes         no
fine_tuned   yes         yes
scratch      no          yes
random       no          no
============ =========== ===============

A frozen encoder's representation of each clip is computed once and the head
trained on it, which is the same as training the classifier with the encoder
frozen, and much faster.
"""

import dataclasses
import time

import keras
import numpy as np

from keras_vidrep import _choices
from keras_vidrep._validation import InputError
from keras_vidrep._validation import check_one_of
from keras_vidrep._validation import check_positive_ints
from keras_vidrep.tasks.labels import TASKS
from keras_vidrep.tasks.labels import get_task
from keras_vidrep.tasks.labels import labelled_clips
from keras_vidrep.tasks.metrics import score

# The held-out clips every probe is scored on (test digits), as the frame
# evaluations use; the labelled clips come from the train digits, seed
# LABELLED_SEED + seed.
EVALUATION_SEED = 1234
LABELLED_SEED = 10_000


@dataclasses.dataclass(frozen=True)
class Protocol:
    """How the encoder of a classifier is initialised and trained."""

    name: str
    pretrained: bool
    trains_encoder: bool
    description: str


PROTOCOLS = {p.name: p for p in (
    Protocol("frozen", True, False, _choices.PROTOCOLS["frozen"]),
    Protocol("fine_tuned", True, True, _choices.PROTOCOLS["fine_tuned"]),
    Protocol("scratch", False, True, _choices.PROTOCOLS["scratch"]),
    Protocol("random", False, False, _choices.PROTOCOLS["random"]),
)}


def _linear_head(num_classes):
    return [keras.layers.Dense(num_classes, name="logits")]


def _mlp_head(num_classes):
    return [keras.layers.Dense(256, activation="relu", name="hidden"),
            keras.layers.Dropout(0.5, name="dropout"),
            keras.layers.Dense(num_classes, name="logits")]


# head name -> layers after the standardisation, given the number of classes.
HEADS = {"linear": _linear_head, "mlp": _mlp_head}


def _choice(value, name, valid):
    return valid[check_one_of(name, value, valid)]


def build_head(num_classes, head="linear", name="head"):
    """The head alone: representation -> logits (a ``keras.Sequential``)."""
    check_positive_ints(num_classes=num_classes)
    layers = _choice(head, "head", HEADS)(num_classes)
    standardise = keras.layers.BatchNormalization(
        center=False, scale=False, momentum=0.9, name="standardise")
    return keras.Sequential([standardise, *layers], name=name)


# The "encoder" of the raw-pixel baseline: the 10 input frames, flattened,
# under the same head and protocol as every encoder.
PIXELS = "pixels"


def resolve_encoder(source):
    """``(encoder, input_shape)`` from a ``VideoSeq2Seq`` model or an
    encoder model (``model.encoder()``; its input shape is then taken as 10
    frames of 64x64x1). ``PIXELS`` (``"pixels"``) gives the raw-pixel
    baseline: the frames, flattened. Names and paths are resolved above
    this package: pass ``keras_vidrep.load(name)``."""
    from keras_vidrep.models import VideoSeq2Seq

    if source == PIXELS:
        shape = (10, 64, 64, 1)
        return keras.Sequential([keras.Input(shape), keras.layers.Flatten()],
                                name=PIXELS), shape
    if isinstance(source, str) or hasattr(source, "__fspath__"):
        raise InputError(
            "Expected an encoder model, not a name or a path: load it first "
            "(`keras_vidrep.load(name, compile=False)`) and pass the model, "
            f"or pass {PIXELS!r} for the raw pixels. Received: {source!r}")
    if isinstance(source, VideoSeq2Seq):
        shape = (source.input_frames, source.frame_size, source.frame_size,
                 source.channels)
        return source.encoder(), shape
    if isinstance(source, keras.Model):
        return source, (10, 64, 64, 1)
    raise InputError(
        "Expected an encoder: a VideoSeq2Seq model, the model of "
        f"`model.encoder()` or {PIXELS!r}. Received: {source!r}")


def build_classifier(encoder, num_classes, *, head="linear", input_shape=None,
                     trainable_encoder=True, name="classifier"):
    """A video classifier on an encoder: ``frames -> logits``.

    Args:
        encoder: a ``VideoSeq2Seq`` model or an encoder model (``model.encoder()``).
            The classifier shares its weights.
        num_classes: logits per clip.
        head: ``"linear"`` or ``"mlp"`` (one hidden layer of 256 ReLU units
            and dropout 0.5), after a standardisation of the representation.
        input_shape: ``(frames, height, width, channels)``; default the
            model's (10 frames of 64x64x1 for a bare encoder model).
        trainable_encoder: ``False`` freezes the encoder (a probe).
        name: the model's name.

    Returns:
        A functional ``keras.Model`` whose layers ``"encoder"`` and ``"head"``
        are the encoder and the head. Logits: apply a sigmoid for the
        probability of each class (multi-label).

    Example:

    >>> classifier = build_classifier("composite_conv", 10, head="linear",
    ...                               trainable_encoder=False)
    >>> classifier.compile("adam", keras.losses.BinaryCrossentropy(
    ...     from_logits=True))
    """
    encoder, default_shape = resolve_encoder(encoder)
    shape = tuple(input_shape or default_shape)
    # A view of the encoder under a fixed name, sharing its layers.
    encoder = keras.Model(encoder.input, encoder.output, name="encoder")
    encoder.trainable = bool(trainable_encoder)
    frames = keras.Input(shape, name="frames")
    representation = encoder(frames)
    head = build_head(num_classes, head)
    head.build(representation.shape)
    logits = head(representation)
    return keras.Model(frames, logits, name=name)


class _Batches(keras.utils.PyDataset):
    """``steps`` batches of ``batch_size`` rows of ``(x, y)``, drawn from
    whole shuffled passes (by ``seed``) over the rows."""

    def __init__(self, x, y, *, steps, batch_size, seed):
        super().__init__()
        self.x, self.y, self.batch_size = x, y, batch_size
        rng = np.random.default_rng(seed)
        passes = -(-steps * batch_size // len(x))
        self.order = np.concatenate([rng.permutation(len(x))
                                     for _ in range(passes)])
        self.steps = steps

    def __len__(self):
        return self.steps

    def __getitem__(self, index):
        rows = self.order[index * self.batch_size:(index + 1) * self.batch_size]
        return self.x[rows], self.y[rows]


def fit(model, x, y, *, steps, batch_size, learning_rate, seed=0, verbose=0):
    """Trains ``model`` (logits) with Adam and sigmoid cross-entropy for
    ``steps`` steps of ``min(batch_size, len(x))`` rows, drawn from whole
    shuffled passes over ``(x, y)``."""
    batches = _Batches(x, y, steps=steps, batch_size=min(batch_size, len(x)),
                       seed=seed)
    model.compile(keras.optimizers.Adam(learning_rate),
                  keras.losses.BinaryCrossentropy(from_logits=True))
    return model.fit(batches, epochs=1, shuffle=False, verbose=verbose)


@dataclasses.dataclass
class ProbeData:
    """Labelled clips (train digits) and held-out clips (test digits)."""

    frames: np.ndarray
    targets: dict
    eval_frames: np.ndarray
    eval_targets: dict

    @classmethod
    def draw(cls, labels, *, seed, eval_sequences=2000, input_frames=10,
             source=None):
        """``labels`` labelled clips of the train digits (seed
        ``LABELLED_SEED + seed``; smaller sets are their first clips) and
        ``eval_sequences`` clips of the test digits (``EVALUATION_SEED``)."""
        check_positive_ints(labels=labels, eval_sequences=eval_sequences)
        frames, targets = labelled_clips(labels, split="train",
                                         seed=LABELLED_SEED + seed,
                                         input_frames=input_frames,
                                         source=source)
        eval_frames, eval_targets = labelled_clips(
            eval_sequences, split="test", seed=EVALUATION_SEED,
            input_frames=input_frames, source=source)
        return cls(frames, targets, eval_frames, eval_targets)


def initial_encoder(encoder, protocol, seed):
    """The encoder a classifier of ``protocol`` starts from: the pretrained
    one itself when frozen, a copy of it when it trains (so that every
    classifier starts from exactly the pretrained weights and the source is
    left untouched), a fresh initialisation (drawn from ``seed``) when not
    pretrained.

    Args:
        encoder: an encoder model (``model.encoder()``).
        protocol: a name of ``PROTOCOLS`` or a ``Protocol``.
        seed: draws a fresh initialisation.
    """
    if isinstance(protocol, str):
        protocol = _choice(protocol, "protocol", PROTOCOLS)
    if protocol.pretrained and not protocol.trains_encoder:
        return encoder
    keras.utils.set_random_seed(seed)
    copy = keras.models.clone_model(encoder)  # new variables, fresh values
    if protocol.pretrained:
        copy.set_weights(encoder.get_weights())
    return copy


def run_probes(source, data, *, protocol="frozen", tasks=tuple(TASKS),
               heads=("linear",), label_counts=(100,), seed=0, steps=None,
               batch_size=None, learning_rate=1e-3, verbose=0):
    """Trains and scores classifiers on one encoder for every (task, head,
    label count).

    Args:
        source: the encoder (see ``build_classifier``).
        data: a ``ProbeData`` with at least ``max(label_counts)`` clips.
        protocol: one of ``PROTOCOLS``.
        tasks: names of ``TASKS``.
        heads: names of ``HEADS``.
        label_counts: labelled clips per classifier (the first n of ``data``).
        seed: initialises the heads (and a random encoder).
        steps, batch_size: training of each classifier; default 500 steps of
            32 for a frozen encoder's head, 200 of 8 for a trained encoder.
        learning_rate: Adam's.

    Returns:
        A list of dicts: ``task``, ``head``, ``labels``, ``accuracy``
        (top-k recall), ``mean_average_precision`` and ``seconds``.
    """
    protocol = _choice(protocol, "protocol", PROTOCOLS)
    for name in tasks:
        get_task(name)
    for head in heads:
        _choice(head, "head", HEADS)
    check_positive_ints(**{f"label_counts[{i}]": n
                           for i, n in enumerate(label_counts)})
    if max(label_counts) > len(data.frames):
        raise InputError(
            f"Asked for {max(label_counts)} labelled clips but the data has "
            f"{len(data.frames)}. Received: label_counts={list(label_counts)}")
    trains = protocol.trains_encoder
    steps = steps or (200 if trains else 500)
    batch_size = batch_size or (8 if trains else 32)
    encoder, shape = resolve_encoder(source)
    if not trains:
        encoder = initial_encoder(encoder, protocol, seed)
        features = encoder.predict(data.frames[:max(label_counts)],
                                   batch_size=100, verbose=verbose)
        eval_features = encoder.predict(data.eval_frames, batch_size=100,
                                        verbose=verbose)
    results = []
    for task in tasks:
        classes = len(TASKS[task].classes)
        for head in heads:
            for count in label_counts:
                started = time.time()
                keras.utils.set_random_seed(seed)
                targets = data.targets[task][:count]
                if trains:
                    model = build_classifier(
                        initial_encoder(encoder, protocol, seed), classes,
                        head=head, input_shape=shape)
                    fit(model, data.frames[:count], targets, steps=steps,
                        batch_size=batch_size, learning_rate=learning_rate,
                        seed=seed, verbose=verbose)
                    scores = model.predict(data.eval_frames, batch_size=100,
                                           verbose=0)
                else:
                    model = build_head(classes, head)
                    fit(model, features[:count], targets, steps=steps,
                        batch_size=batch_size, learning_rate=learning_rate,
                        seed=seed, verbose=verbose)
                    scores = model.predict(eval_features, batch_size=500,
                                           verbose=0)
                results.append({
                    "task": task, "head": head, "labels": count,
                    **score(scores, data.eval_targets[task]),
                    "steps": steps, "batch_size": min(batch_size, count),
                    "seconds": round(time.time() - started, 1)})
    return results


def chance(task, data):
    """Top-k recall of a random ranking on ``data``'s held-out clips."""
    targets = data.eval_targets[task]
    return float(np.mean(targets.sum(1) / targets.shape[1]))


def class_prior(task, data, labels=None):
    """Top-k recall on ``data``'s held-out clips of the class prior: every
    clip ranks the classes by how often they occur in the first ``labels``
    labelled clips (all of them by default), whatever the clip shows.

    A probe that does not beat it has learnt the label frequencies, not
    the clips: the motion sectors are not equally frequent.
    """
    frequencies = data.targets[task][:labels].mean(0)
    # A tiny tie-break per class, so that equal counts rank one way.
    ranking = frequencies + 1e-9 * np.arange(frequencies.size)[::-1]
    targets = data.eval_targets[task]
    return score(np.broadcast_to(ranking, targets.shape), targets)["accuracy"]


__all__ = ["PROTOCOLS", "HEADS", "Protocol", "ProbeData", "build_classifier",
           "build_head", "fit", "initial_encoder", "resolve_encoder", "run_probes", "chance", "class_prior", "PIXELS"]
