"""Labels the bouncing-digit generator gives for free, and labelled clips.

Two tasks read a clip's first ``input_frames`` frames (the encoder's input):

- ``digits`` (appearance): which digits are in the clip, a 10-way
  multi-label target (one positive when both digits are the same class).
- ``motion`` (dynamics): in which of 8 directions the digits are moving at
  the end of the input, an 8-way multi-label target: the *set* of the
  digits' direction sectors, not paired with the digits. Pairing direction
  with identity (e.g. "the 3 moves left") would make the motion task need
  appearance too; the set keeps the two tasks apart, so that a
  representation that knows the dynamics but not the digits scores on one
  and not the other.

A digit's direction is that of its displacement between the last two input
frames, the motion the encoder's final state must carry to predict the next
frame (after a bounce it is the new direction). Sectors are 45 degrees wide,
centred on ``DIRECTIONS``; rows grow downwards, so "up" is a negative row
step. A digit whose pixel position did not change on that step (a clamp at a
wall can round a step to zero pixels) takes its previous step's direction.
"""

import dataclasses
import math
from typing import Callable
from typing import Tuple

import numpy as np

from keras_vidrep import _choices
from keras_vidrep._validation import InputError
from keras_vidrep._validation import look_up

# Sector k is centred on 45*k degrees counter-clockwise from "right".
DIRECTIONS = ("right", "up-right", "up", "up-left", "left", "down-left",
              "down", "down-right")
DIGIT_CLASSES = tuple(str(d) for d in range(10))


def direction_sectors(positions, frame=-1):
    """Each digit's direction sector at ``frame``.

    Args:
        positions: int (batch, num_frames, num_digits, 2) top-left (row, col)
            pixels, as ``bouncing_digits(..., with_info=True)`` gives them.
        frame: the frame whose arrival step is measured (default the last).

    Returns:
        int64 (batch, num_digits) indices into ``DIRECTIONS``.
    """
    positions = np.asarray(positions, dtype=np.int64)
    if positions.ndim != 4 or positions.shape[-1] != 2 or positions.shape[1] < 2:
        raise InputError(
            "`positions` must have shape (batch, num_frames >= 2, num_digits, "
            f"2). Received: positions of shape {positions.shape}")
    frame = frame % positions.shape[1]
    steps = np.diff(positions[:, :frame + 1], axis=1)  # (b, frame, digits, 2)
    step = steps[:, -1]
    for earlier in range(steps.shape[1] - 2, -1, -1):
        still = (step == 0).all(-1, keepdims=True)
        if not still.any():
            break
        step = np.where(still, steps[:, earlier], step)
    angle = np.arctan2(-step[..., 0], step[..., 1])  # up is a negative row step
    return np.round(angle / (math.pi / 4)).astype(np.int64) % len(DIRECTIONS)


def multi_hot(indices, num_classes):
    """float32 (batch, num_classes): 1 where a row's ``indices`` name a
    class (indices (batch, k), int)."""
    indices = np.asarray(indices, dtype=np.int64)
    out = np.zeros((indices.shape[0], num_classes), np.float32)
    np.put_along_axis(out, indices, 1.0, axis=1)
    return out


@dataclasses.dataclass(frozen=True)
class Task:
    """A labelling of clips.

    Attributes:
        name: ``--task`` value.
        classes: the class names, in target order.
        label: function ``(info, input_frames) -> float32 multi-hot
            (batch, len(classes))``, ``info`` being the dict of
            ``bouncing_digits(..., with_info=True)`` as numpy arrays.
        description: one line for reports and ``--help``.
    """

    name: str
    classes: Tuple[str, ...]
    label: Callable
    description: str


def _digit_targets(info, input_frames):
    return multi_hot(info["labels"], len(DIGIT_CLASSES))


def _motion_targets(info, input_frames):
    sectors = direction_sectors(info["positions"][:, :input_frames])
    return multi_hot(sectors, len(DIRECTIONS))


TASKS = {
    "digits": Task("digits", DIGIT_CLASSES, _digit_targets,
                   _choices.TASKS["digits"]),
    "motion": Task("motion", DIRECTIONS, _motion_targets,
                   _choices.TASKS["motion"]),
}


def get_task(name):
    return look_up(TASKS, name, f"Unknown task {name!r}", "tasks")


# Clips are generated in blocks of this size, so a labelled set of n clips is
# the first n of the set of any larger size with the same seed.
_BLOCK = 100


def labelled_clips(count, *, split, seed, input_frames=10, digits=None,
                   source=None):
    """``count`` clips of ``input_frames`` frames and their labels.

    Deterministic per ``(split, seed)``; the first ``n`` clips do not depend
    on ``count``, so smaller labelled sets are nested in larger ones. Runs on
    every backend (numpy draws, ``BouncingDigitBatches``).

    Args:
        count: number of clips.
        split: ``"train"`` or ``"test"`` digits (see ``load_mnist_digits``).
        seed: integer seed of the set.
        input_frames: frames per clip (the encoder's input).
        digits: optional ``(images, labels)`` instead of the split's digits.
        source: where the MNIST digits are (``load_mnist_digits``).

    Returns:
        ``(frames, targets)``: float32 (count, input_frames, 64, 64, 1) in
        [0, 1], and ``{task name: float32 multi-hot (count, classes)}``.
    """
    from keras_vidrep.data import BouncingDigitBatches
    from keras_vidrep.data import load_mnist_digits

    if digits is None:
        digits = load_mnist_digits(split, source=source)
    blocks = BouncingDigitBatches(
        digits, batch_size=_BLOCK, num_batches=-(-count // _BLOCK),
        num_frames=input_frames, seed=seed, with_info=True)
    frames, targets = [], {name: [] for name in TASKS}
    for index in range(len(blocks)):
        info = blocks[index]
        frames.append(info["frames"])
        for name, task in TASKS.items():
            targets[name].append(task.label(info, input_frames))
    frames = np.concatenate(frames)[:count]
    return frames, {k: np.concatenate(v)[:count] for k, v in targets.items()}
