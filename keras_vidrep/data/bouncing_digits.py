"""Moving MNIST generated on the fly: bouncing digits as a ``tf.data`` pipeline.

As in the original Moving MNIST (Srivastava et al. 2015): each digit starts at
a uniform position, moves in a uniform direction at constant speed
``step_length * (frame_size - digit_size)`` pixels per frame, bounces off the
walls, and digits are combined by elementwise max.

Two bounce rules (``BOUNCE_RULES``):

- ``"clamp"`` (default), **the original's** (``GetRandomTrajectory`` of the
  data handler that Srivastava et al. released with the standard
  ``mnist_test_seq.npy``): positions live in the unit square; every frame
  takes a full step ``position += velocity * step_length`` *before* it is
  drawn, and a coordinate that reaches or passes a wall is clamped to the wall
  and its velocity component flips (the rest of the step is lost). Top-left
  pixels are ``int((frame_size - digit_size) * position)``.
- ``"mirror"``: exact mirror reflection of the free flight (the rest of the
  step continues away from the wall), the first frame at the start position,
  positions rounded to the nearest pixel. keras_vidrep's rule before 0.2.

The generator (``make_batch``: a bounce rule and ``render``) is written
with ``keras.ops`` and takes its random draws as arguments, so it is pure and
runs on any backend. Two assemblies draw the random numbers and call it:
``bouncing_digits``, a ``tf.data`` pipeline of stateless TF ops compiled with
XLA (TensorFlow backend), and ``BouncingDigitBatches``, a ``PyDataset`` with
numpy draws for the other backends. Either way a batch depends only on
``(seed, batch_index)``.
"""

import functools
import math

import keras
import numpy as np
from keras import ops

from keras_vidrep._validation import InputError
from keras_vidrep._validation import check_one_of
from keras_vidrep._validation import check_positive_ints
from keras_vidrep.data.mnist import load_mnist_digits


def reflect(positions, extent):
    """Folds free-flight positions into ``[0, extent]``: mirror reflection at
    both walls, for any number of bounces (a triangle wave of period
    ``2 * extent``)."""
    return extent - ops.abs(extent - ops.mod(positions, 2.0 * extent))


def trajectories(start, angle, num_frames, extent, speed):
    """Exact (real-valued) top-left positions of every digit in every frame.

    Args:
        start: (batch, num_digits, 2) start positions (row, col) in
            ``[0, extent]``.
        angle: (batch, num_digits) directions in radians.
        num_frames: frames per sequence.
        extent: ``(row_extent, col_extent)``, the largest top-left coordinate
            on each axis, ``frame_size - digit_size``.
        speed: pixels per frame.

    Returns:
        float32 (batch, num_frames, num_digits, 2) of (row, col).
    """
    extent = ops.convert_to_tensor(extent, "float32")
    velocity = speed * ops.stack([ops.sin(angle), ops.cos(angle)], axis=-1)
    steps = ops.reshape(ops.arange(num_frames, dtype="float32"), (1, -1, 1, 1))
    return reflect(ops.expand_dims(start, 1)
                   + steps * ops.expand_dims(velocity, 1), extent)


def render(digits, positions, frame_size):
    """Pastes digits at integer top-left positions; overlaps combine by max.

    Args:
        digits: float32 (batch, num_digits, h, w).
        positions: int32 (batch, num_frames, num_digits, 2), (row, col), each
            in ``[0, frame_size - h]`` x ``[0, frame_size - w]``.
        frame_size: side of the square frame.

    Returns:
        float32 (batch, num_frames, frame_size, frame_size).
    """
    batch, count, height, width = digits.shape
    # One zero row and column past the digit: every frame pixel the digit does
    # not cover gathers from there, so the paste is a single gather.
    padded = ops.pad(digits, [[0, 0], [0, 0], [0, 1], [0, 1]])
    flat = ops.reshape(padded, (batch, count, -1))
    pixel = ops.arange(frame_size, dtype="int32")
    rows = pixel - positions[..., 0:1]  # (batch, frames, digits, frame_size)
    cols = pixel - positions[..., 1:2]
    rows = ops.where((rows >= 0) & (rows < height), rows, height)
    cols = ops.where((cols >= 0) & (cols < width), cols, width)
    index = rows[..., :, None] * (width + 1) + cols[..., None, :]
    index = ops.transpose(index, (0, 2, 1, 3, 4))  # digits before frames
    frames = index.shape[2]
    pasted = ops.take_along_axis(flat, ops.reshape(index, (batch, count, -1)),
                                 axis=2)
    pasted = ops.reshape(pasted, (batch, count, frames, frame_size, frame_size))
    return ops.max(pasted, axis=1)


def mirror_positions(start, angle, num_frames, extent, step_length):
    """Top-left pixels under mirror reflection (``bounce="mirror"``).

    The first frame is at ``start``; digits fly at ``step_length * min(extent)``
    pixels per frame, folded into the frame by ``reflect``, rounded to the
    nearest pixel.

    Args:
        start: (batch, num_digits, 2) start (row, col) in [0, 1), a fraction
            of ``extent``.
        angle: (batch, num_digits) directions in radians.
        num_frames: frames per sequence.
        extent: ``(row_extent, col_extent)``, the largest top-left pixel on
            each axis, ``frame_size - digit_size``.
        step_length: speed per frame as a fraction of the extent.

    Returns:
        int32 (batch, num_frames, num_digits, 2) of (row, col).
    """
    speed = step_length * min(extent)  # frame_size - the digit's larger side
    start = start * ops.convert_to_tensor(extent, "float32")
    exact = trajectories(start, angle, num_frames, extent, speed)
    return ops.cast(ops.round(exact), "int32")


def clamp_positions(start, angle, num_frames, extent, step_length):
    """Top-left pixels under the original clamp-and-flip rule
    (``bounce="clamp"``), as the original Moving MNIST generator computes them.

    Positions live in the unit square. Each frame first takes a full step
    ``position += step_length * (sin(angle), cos(angle))``; a coordinate that
    is then ``<= 0`` or ``>= 1`` is clamped to that wall and its velocity
    component flips. The frame's top-left pixel is
    ``floor(extent * position)``. Arguments as in ``mirror_positions``.
    """
    extent = ops.convert_to_tensor(extent, "float32")
    position = ops.convert_to_tensor(start, "float32")
    velocity = step_length * ops.stack([ops.sin(angle), ops.cos(angle)], -1)
    frames = []
    for _ in range(num_frames):  # a short, static loop: unrolled in the graph
        position = position + velocity
        at_wall = (position <= 0.0) | (position >= 1.0)
        position = ops.clip(position, 0.0, 1.0)
        velocity = ops.where(at_wall, -velocity, velocity)
        frames.append(position)
    return ops.cast(ops.floor(ops.stack(frames, axis=1) * extent), "int32")


# bounce -> function(start, angle, num_frames, extent, step_length) -> int32
# top-left pixels (batch, num_frames, num_digits, 2).
BOUNCE_RULES = {"clamp": clamp_positions, "mirror": mirror_positions}


def make_batch(images, labels, picks, start, angle, *, num_frames, frame_size,
               step_length, with_info, bounce="clamp"):
    """One batch from its random draws (all arrays of the current backend).

    ``picks`` (batch, num_digits) indexes ``images`` (N, h, w) uint8;
    ``start`` (batch, num_digits, 2) is in [0, 1) (a fraction of the free
    range); ``angle`` (batch, num_digits) in radians; ``bounce`` names one of
    ``BOUNCE_RULES``.
    """
    height, width = images.shape[1:]
    extent = (frame_size - height, frame_size - width)
    chosen = ops.cast(ops.take(images, picks, axis=0), "float32") / 255.0
    positions = BOUNCE_RULES[bounce](start, angle, num_frames, extent,
                                     step_length)
    frames = ops.expand_dims(render(chosen, positions, frame_size), -1)
    if not with_info:
        return frames
    return {"frames": frames, "labels": ops.take(labels, picks, axis=0),
            "positions": positions}


def _as_digits_and_labels(digits):
    if isinstance(digits, (tuple, list)) and len(digits) == 2:
        images, labels = digits
    else:
        images, labels = digits, None
    images = np.asarray(images)
    if images.ndim != 3 or images.shape[0] == 0:
        raise InputError(
            "`digits` must be an array of digit images (N, height, width) or "
            "an (images, labels) pair as returned by load_mnist_digits. "
            f"Received: digits of shape {images.shape}"
        )
    if labels is None:
        labels = np.full((images.shape[0],), -1, np.int64)
    labels = np.asarray(labels, dtype=np.int64)
    if labels.shape != (images.shape[0],):
        raise InputError(
            f"`digits` labels must have shape ({images.shape[0]},). "
            f"Received: labels of shape {labels.shape}"
        )
    return images, labels


def bouncing_digits(digits, *, batch_size, num_frames=20, frame_size=64,
                    num_digits=2, step_length=0.1, bounce="clamp", seed,
                    with_info=False, first_batch=0):
    """An infinite, deterministic ``tf.data.Dataset`` of bouncing-digit videos.

    Args:
        digits: uint8 digit images (N, h, w), values 0-255, or the
            ``(images, labels)`` pair returned by ``load_mnist_digits``.
        batch_size: sequences per element.
        num_frames: frames per sequence (20 in Moving MNIST).
        frame_size: side of the square frames in pixels (64).
        num_digits: digits per sequence (2).
        step_length: speed per frame as a fraction of the free range
            ``frame_size - digit_size`` (0.1 in the original code: 3.6 pixels
            per frame for 28-pixel digits in 64-pixel frames).
        bounce: ``"clamp"`` (default), the original generator's rule: a full
            step per frame, a coordinate past a wall is clamped to it and its
            velocity component flips; or ``"mirror"``, exact mirror
            reflection (see the module docstring).
        seed: integer; the same seed gives the same sequences, batch by batch.
        with_info: if true, elements are dicts with ``frames``, ``labels``
            (batch, num_digits) (-1 when no labels were given) and
            ``positions`` (batch, num_frames, num_digits, 2) int32 top-left
            (row, col) pixels of each digit, where it is drawn.
        first_batch: index of the first batch of the stream; a resumed
            training run continues the stream with it.

    Returns:
        A ``tf.data.Dataset`` of float32 frames in [0, 1], shape
        (batch_size, num_frames, frame_size, frame_size, 1), or of dicts.

    Example:

    >>> images, labels = load_mnist_digits("train")
    >>> ds = bouncing_digits((images, labels), batch_size=16, seed=0)
    >>> next(iter(ds)).shape
    TensorShape([16, 20, 64, 64, 1])
    """
    import tensorflow as tf

    if keras.backend.backend() != "tensorflow":
        raise RuntimeError(
            "bouncing_digits builds a tf.data pipeline and needs the TensorFlow "
            f"backend (KERAS_BACKEND is {keras.backend.backend()!r}); use "
            "BouncingDigitBatches on other backends.")
    images, labels, settings = _checked(digits, batch_size, num_frames,
                                        frame_size, num_digits, step_length,
                                        bounce, seed, with_info)
    count = images.shape[0]
    images_t = tf.constant(images, tf.uint8)
    labels_t = tf.constant(labels, tf.int64)
    # XLA fuses the gather with the max: measured 8x faster than the same ops
    # run one by one on the 2-core CPU (benchmarks/README.md).
    compiled = tf.function(functools.partial(make_batch, **settings),
                           jit_compile=True)

    def batch_at(batch_index):
        picks, start, angle = _stream_draws(seed, batch_index, batch_size,
                                            num_digits, count)
        return compiled(images_t, labels_t, picks, start, angle)

    return (tf.data.Dataset.counter(start=first_batch)
            .map(batch_at, num_parallel_calls=tf.data.AUTOTUNE,
                 deterministic=True)
            .prefetch(tf.data.AUTOTUNE))


def _stream_draws(seed, batch_index, batch_size, num_digits, count):
    """The random numbers of batch ``batch_index`` of ``bouncing_digits``'s
    stream: which digits, where they start, their directions. TensorFlow's
    stateless draws, in a graph or eagerly alike (the same numbers)."""
    import tensorflow as tf

    batch_seed = tf.stack([tf.cast(seed, tf.int64),
                           tf.cast(batch_index, tf.int64)])
    batch_seed = tf.cast(tf.math.floormod(batch_seed, 2**31 - 1), tf.int32)
    pick_seed, start_seed, angle_seed = tf.unstack(
        tf.random.experimental.stateless_split(batch_seed, 3))
    picks = tf.random.stateless_uniform(
        (batch_size, num_digits), pick_seed, 0, count, dtype=tf.int32)
    start = tf.random.stateless_uniform((batch_size, num_digits, 2),
                                        start_seed)
    angle = tf.random.stateless_uniform((batch_size, num_digits),
                                        angle_seed, 0.0, 2.0 * math.pi)
    return picks, start, angle


class _EvaluationBatches:
    """``bouncing_digits_eval``'s set as numpy batches, for any Keras
    backend: the same random draws as the ``tf.data`` stream (TensorFlow's
    stateless generator, run eagerly: TensorFlow is installed with
    keras_vidrep), rendered by ``make_batch`` with the backend's ops, one
    block at a time."""

    def __init__(self, digits, num_sequences, *, seed, batch_size, **kwargs):
        self.images, self.labels, self.settings = _checked(
            digits, _EVAL_BLOCK, seed=seed, **_STREAM_DEFAULTS | kwargs)
        self.num_digits = kwargs.get("num_digits", 2)
        self.num_sequences, self.seed = num_sequences, seed
        self.batch_size = batch_size

    def __len__(self):
        return -(-self.num_sequences // self.batch_size)

    def _block(self, index):
        draws = _stream_draws(self.seed, index, _EVAL_BLOCK, self.num_digits,
                              len(self.images))
        batch = make_batch(self.images, self.labels,
                           *(np.asarray(d) for d in draws), **self.settings)
        return keras.tree.map_structure(ops.convert_to_numpy, batch)

    def __iter__(self):
        blocks = -(-self.num_sequences // _EVAL_BLOCK)
        buffer, given = None, 0
        for index in range(blocks):
            block = self._block(index)
            buffer = block if buffer is None else keras.tree.map_structure(
                lambda *parts: np.concatenate(parts), buffer, block)
            while given < self.num_sequences and (
                    _rows(buffer) >= self.batch_size or index == blocks - 1):
                take = min(self.batch_size, self.num_sequences - given)
                yield keras.tree.map_structure(lambda x: x[:take], buffer)
                buffer = keras.tree.map_structure(lambda x: x[take:], buffer)
                given += take


def _rows(batch):
    return len(batch["frames"] if isinstance(batch, dict) else batch)


_STREAM_DEFAULTS = dict(num_frames=20, frame_size=64, num_digits=2,
                        step_length=0.1, bounce="clamp", with_info=False)


def _checked(digits, batch_size, num_frames, frame_size, num_digits,
             step_length, bounce, seed, with_info):
    images, labels = _as_digits_and_labels(digits)
    check_positive_ints(batch_size=batch_size, num_frames=num_frames,
                    frame_size=frame_size, num_digits=num_digits)
    height, width = images.shape[1:]
    if height >= frame_size or width >= frame_size:
        raise InputError(
            f"Digits of size {height}x{width} do not fit in a frame of "
            f"frame_size={frame_size}: expected frame_size > {max(height, width)}.")
    if not step_length > 0:
        raise InputError(
            f"`step_length` must be positive. Received: step_length={step_length!r}")
    check_one_of("bounce", bounce, BOUNCE_RULES)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise InputError(f"`seed` must be an integer. Received: seed={seed!r}")
    settings = dict(num_frames=num_frames, frame_size=frame_size,
                    step_length=step_length, bounce=bounce, with_info=with_info)
    return images, labels, settings


class BouncingDigitBatches(keras.utils.PyDataset):
    """Bouncing-digit batches for any Keras backend, as a ``PyDataset``.

    The same motion and rendering as ``bouncing_digits`` (the same
    ``make_batch``, run with the current backend's ops), with numpy's random
    draws: use it where TensorFlow is not installed, e.g. to train under
    ``KERAS_BACKEND=jax`` on a GPU machine. Batch ``i`` depends only on
    ``(seed, first_batch + i)``.

    Args:
        digits, batch_size, num_frames, frame_size, num_digits, step_length,
        bounce, seed, with_info, first_batch: as in ``bouncing_digits``.
        num_batches: the length of the dataset.
        transform: optional function applied to each batch (e.g.
            ``model.split_clip`` to make ``(inputs, targets)`` for ``fit``).
        **kwargs: ``keras.utils.PyDataset`` arguments (``workers``, ...).
    """

    def __init__(self, digits, *, batch_size, num_batches, num_frames=20,
                 frame_size=64, num_digits=2, step_length=0.1, bounce="clamp",
                 seed, with_info=False, first_batch=0, transform=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.images, self.labels, self.settings = _checked(
            digits, batch_size, num_frames, frame_size, num_digits,
            step_length, bounce, seed, with_info)
        check_positive_ints(num_batches=num_batches)
        self.batch_size, self.num_digits = batch_size, num_digits
        self.length, self.seed = num_batches, int(seed)
        self.first_batch, self.transform = first_batch, transform

    @property
    def num_batches(self):
        return self.length

    def __len__(self):
        return self.length

    def __getitem__(self, index):
        rng = np.random.default_rng([self.seed, self.first_batch + index])
        shape = (self.batch_size, self.num_digits)
        picks = rng.integers(0, len(self.images), shape).astype("int32")
        start = rng.random((*shape, 2), dtype=np.float32)
        angle = (rng.random(shape, dtype=np.float32) * 2.0 * math.pi)
        batch = make_batch(self.images, self.labels, picks, start, angle,
                           **self.settings)
        batch = keras.tree.map_structure(ops.convert_to_numpy, batch)
        return self.transform(batch) if self.transform else batch


# Sequences are generated in blocks of this size and re-batched, so an
# evaluation set does not depend on the batch size it is read with.
_EVAL_BLOCK = 100


def bouncing_digits_eval(num_sequences, *, seed=1234, batch_size=32,
                         source=None, digits=None, **kwargs):
    """A finite, deterministic evaluation set built from the **test** digits.

    The same ``(num_sequences, seed, kwargs)`` always give the same sequences,
    whatever ``batch_size``.

    Args:
        num_sequences: number of sequences in the set.
        seed: integer seed of the set.
        batch_size: sequences per element.
        source: where the MNIST digits are, see ``load_mnist_digits``.
        digits: optional ``(images, labels)`` to use instead of the test digits.
        **kwargs: ``num_frames``, ``frame_size``, ``num_digits``,
            ``step_length``, ``bounce``, ``with_info`` as in
            ``bouncing_digits``.

    Returns:
        Under TensorFlow, a finite ``tf.data.Dataset`` (same elements as
        ``bouncing_digits``); under another backend, a sized iterable of
        numpy batches holding the same sequences.
    """
    check_positive_ints(num_sequences=num_sequences, batch_size=batch_size)
    if digits is None:
        digits = load_mnist_digits("test", source=source)
    if keras.backend.backend() != "tensorflow":
        return _EvaluationBatches(digits, num_sequences, seed=seed,
                                  batch_size=batch_size, **kwargs)
    stream = bouncing_digits(digits, batch_size=_EVAL_BLOCK, seed=seed, **kwargs)
    return (stream.unbatch().take(num_sequences).batch(batch_size)
            .prefetch(-1))
