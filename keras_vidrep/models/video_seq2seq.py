"""LSTM encoder-decoder models of Srivastava, Mansimov and Salakhutdinov (2015).

One encoder reads the input frames; its final state (every layer's ``h`` and
``c``) is the representation and initialises each decoder:

- the **reconstruction** decoder rebuilds the input frames in reverse order;
- the **future** decoder predicts the frames that follow.

A decoder is *unconditioned* (no input, it runs on its state) or
*conditional* (its input is the previous frame, zeros at the first step).
In training (``training=True``, on a clip that holds the target frames) a
conditional decoder reads the ground-truth previous frame with the
probability its ``teacher_forcing`` schedule gives at the current training
step (always, never, or decaying: scheduled sampling, see
``keras_vidrep.models.teacher_forcing``), drawn per sequence and per step;
otherwise it feeds back its own previous output (autoregressive), as at
inference and in every evaluation.

The model's single input is ``frames`` (batch, time, H, W, C): at inference
the ``input_frames`` observed frames; in training, the whole clip of
``input_frames + future_frames`` frames, whose extra frames serve only as
teacher-forcing inputs. ``model.training_pairs(dataset)`` makes such
``(clip, targets)`` pairs from a bouncing-digits dataset.
"""

import math

import keras
import numpy as np
from keras import ops

from keras_vidrep._validation import InputError
from keras_vidrep._validation import check_frame_values
from keras_vidrep._validation import check_one_of
from keras_vidrep._validation import check_positive_ints
from keras_vidrep._validation import checked_frames_in_graph
from keras_vidrep.layers import ConvLSTM
from keras_vidrep.layers import PeepholeLSTM
from keras_vidrep.models.codecs import FlattenCodec
from keras_vidrep.models.codecs import PatchCodec
from keras_vidrep.models.teacher_forcing import TeacherForcing
from keras_vidrep.presets import FromPreset


class CellType:
    """What differs between fully-connected and convolutional models."""

    def __init__(self, codec_class, make_layer, default_hidden_sizes):
        self.codec_class = codec_class
        self.make_layer = make_layer
        self.default_hidden_sizes = default_hidden_sizes


CELL_TYPES = {
    "fc": CellType(
        FlattenCodec,
        lambda size, kernel_size, **kw: PeepholeLSTM(size, **kw),
        (1024,)),
    "conv": CellType(
        PatchCodec,
        lambda size, kernel_size, **kw: ConvLSTM(size, kernel_size, **kw),
        (64, 64)),
}

# Which decoders each kind of model has.
KINDS = {
    "autoencoder": ("reconstruction",),
    "predictor": ("future",),
    "composite": ("reconstruction", "future"),
}


def _reversed_inputs(clip, input_frames, future_frames):
    inputs = clip[:, :input_frames]
    # A negative slicing step works on numpy, TensorFlow (tf.data) and JAX
    # arrays; PyTorch tensors and the symbolic tensors of the torch backend
    # take none.
    native = (isinstance(inputs, np.ndarray)
              or type(inputs).__module__.startswith("tensorflow"))
    if keras.backend.backend() == "torch" and not native:
        return ops.flip(inputs, axis=1)
    return inputs[:, ::-1]


def _future(clip, input_frames, future_frames):
    return clip[:, input_frames:input_frames + future_frames]


# What each decoder is trained to output, sliced from a clip of
# input_frames + future_frames frames: numpy arrays stay numpy, tensors of
# TF (tf.data) and of every Keras backend stay tensors.
TARGETS = {"reconstruction": _reversed_inputs, "future": _future}


def decoder_targets(clip, target, input_frames, future_frames):
    """The ground truth of decoder ``target`` for a clip (batch, time, ...).

    ``"reconstruction"``: the input frames in reverse order.
    ``"future"``: the ``future_frames`` frames after the input frames.
    """
    return TARGETS[target](clip, input_frames, future_frames)


def _make_codec(cell, frame_shape, patch_size):
    return CELL_TYPES[cell].codec_class(frame_shape, patch_size)


@keras.saving.register_keras_serializable(package="keras_vidrep")
class ClipInput(keras.layers.Layer):
    """Checks a clip and returns the features of its first ``input_frames``."""

    def __init__(self, cell, frame_shape, patch_size, input_frames, **kwargs):
        super().__init__(**kwargs)
        self.cell = cell
        self.frame_shape = tuple(frame_shape)
        self.patch_size = patch_size
        self.input_frames = input_frames
        self.codec = _make_codec(cell, frame_shape, patch_size)

    def _check(self, shape):
        shape = tuple(shape)
        expected = f"(batch, >= {self.input_frames}, {', '.join(map(str, self.frame_shape))})"
        wrong_frame = any(got is not None and got != want
                          for got, want in zip(shape[2:], self.frame_shape))
        if (len(shape) != 5 or wrong_frame
                or (shape[1] is not None and shape[1] < self.input_frames)):
            raise InputError(
                f"Expected frames of shape {expected}: batch, at least "
                f"{self.input_frames} frames, then height, width, channels. "
                f"Received: frames of shape {shape}")

    def build(self, clip_shape):
        self._check(clip_shape)

    def call(self, clip):
        self._check(clip.shape)
        return self.codec.to_features(clip[:, :self.input_frames])

    def compute_output_shape(self, clip_shape):
        return (clip_shape[0], self.input_frames, *self.codec.feature_shape)

    def get_config(self):
        return {**super().get_config(), "cell": self.cell,
                "frame_shape": self.frame_shape, "patch_size": self.patch_size,
                "input_frames": self.input_frames}


def _flat_shape(tensor):
    # A static feature size where it is known, so that graphs (and a head
    # built on the representation) see it; else the dynamic one.
    features = tensor.shape[1:]
    if None in features:
        return (ops.shape(tensor)[0], -1)
    return (-1, math.prod(features))


@keras.saving.register_keras_serializable(package="keras_vidrep")
class Representation(keras.layers.Layer):
    """Concatenates the flattened final states ``[h, c]`` of every layer."""

    def call(self, states):
        flat = [ops.reshape(s, _flat_shape(s)) for pair in states for s in pair]
        return ops.concatenate(flat, axis=-1)

    def compute_output_shape(self, states_shape):
        # Known feature sizes let a classifier head be built on top.
        shapes = [shape[1:] for pair in states_shape for shape in pair]
        total = (None if any(None in shape for shape in shapes)
                 else sum(math.prod(shape) for shape in shapes))
        return (states_shape[0][0][0], total)


@keras.saving.register_keras_serializable(package="keras_vidrep")
class FrameDecoder(keras.layers.Layer):
    """A stack of recurrent layers initialised with the encoder's states, read
    out by a sigmoid dense layer (a 1x1 convolution for patches) on the
    concatenated outputs of all layers (Shi et al. 2015).

    Args:
        cell: ``"fc"`` or ``"conv"``.
        hidden_sizes: units / filters of each layer (as the encoder's).
        kernel_size: convolution kernel size (conv only).
        frame_shape: ``(H, W, C)``.
        patch_size: patch side (conv only).
        target: ``"reconstruction"`` or ``"future"``.
        input_frames, future_frames: clip layout.
        conditional: whether the input of each step is the previous frame.
        teacher_forcing: how often a conditional decoder reads the
            ground-truth previous frame when called with ``training=True``:
            ``True`` (always, the default), ``False`` (never), a probability,
            or a schedule (``TeacherForcing`` or its config dict).

    Call arguments:
        states: list of ``[h, c]``, one per layer, from the encoder.
        clip: the model's input frames, in frame space.
        training: Python boolean.

    Output: frames (batch, num_frames, H, W, C) in [0, 1].
    """

    def __init__(self, cell, hidden_sizes, kernel_size, frame_shape, patch_size,
                 target, input_frames, future_frames, conditional,
                 teacher_forcing=True, **kwargs):
        super().__init__(**kwargs)
        self.cell = cell
        self.hidden_sizes = tuple(hidden_sizes)
        self.kernel_size = kernel_size
        self.frame_shape = tuple(frame_shape)
        self.patch_size = patch_size
        self.target = target
        self.input_frames = input_frames
        self.future_frames = future_frames
        self.conditional = conditional
        self.teacher_forcing = TeacherForcing.from_value(teacher_forcing)
        self.schedule_step = None  # the schedule's clock, see build
        # Steps of a conditional decoder as a static loop instead of a scan:
        # set while exporting to ONNX (keras_vidrep.export.onnx), not saved.
        self.unrolled = False
        probability = self.teacher_forcing.constant_value
        # Draws are needed only when a step can go either way; seeded by
        # keras.utils.set_random_seed.
        self.seed_generator = (
            keras.random.SeedGenerator(name="teacher_forcing_draws")
            if conditional and probability not in (0.0, 1.0) else None)
        self.num_frames = {"reconstruction": input_frames,
                           "future": future_frames}[target]
        self.codec = _make_codec(cell, frame_shape, patch_size)
        make_layer = CELL_TYPES[cell].make_layer
        self.rnns = [make_layer(size, kernel_size, return_sequences=True,
                                name=f"lstm_{i}")
                     for i, size in enumerate(self.hidden_sizes)]
        # float32 under mixed policies too: the frames are what is compared
        # with the truth and what a conditional decoder reads back.
        self.readout = keras.layers.Dense(self.codec.feature_shape[-1],
                                          activation="sigmoid", name="readout",
                                          dtype="float32")

    def build(self, states_shape=None, clip_shape=None):
        features = self.codec.feature_shape
        input_channels = features[-1] if self.conditional else 0
        shape = (None, self.num_frames, *features[:-1], input_channels)
        for rnn, size in zip(self.rnns, self.hidden_sizes):
            rnn.build(shape)
            shape = (*shape[:-1], size)
        self.readout.build((None, sum(self.hidden_sizes)))
        if self.conditional and self.teacher_forcing.constant_value is None:
            # The schedule's clock: training calls so far, one per training
            # step (counted once across replicas). A model weight rather than
            # the optimizer's `iterations`: JAX traces `call` statelessly, so
            # reading the optimizer's variable there would freeze its value
            # at trace time. Saved with the weights, it resumes with them.
            self.schedule_step = self.add_weight(
                name="teacher_forcing_step", shape=(), dtype="int32",
                initializer="zeros", trainable=False,
                aggregation="only_first_replica")

    def load_own_variables(self, store):
        # The clock is this layer's only own variable. Weights saved with or
        # without one load either way: fine-tuning a model trained without a
        # schedule starts the clock at 0.
        if self.schedule_step is not None and len(store.keys()) == 1:
            self.schedule_step.assign(store["0"])

    def _read_out(self, outputs):
        joined = outputs[0] if len(outputs) == 1 else ops.concatenate(outputs, -1)
        return self.readout(joined)

    def _run_sequence(self, inputs, states):
        outputs, x = [], inputs
        for rnn, (h, c) in zip(self.rnns, states):
            x = rnn(x, initial_state=[h, c])
            outputs.append(x)
        return self._read_out(outputs)

    def _run_stepwise(self, states, teacher=None):
        """Runs the decoder one frame at a time, each step reading the
        previous output, or where ``teacher`` says so the ground truth.

        ``teacher``: None (free-running), or (previous_truth, use_truth):
        the ground-truth previous frames' features (batch, steps, ...) and a
        (batch, steps) 0/1 choice of reading them.
        """
        h_first = states[0][0]
        batch = ops.shape(h_first)[0]
        frame_dtype = self.readout.compute_dtype  # float32, see __init__
        first_input = ops.zeros((batch, *self.codec.feature_shape),
                                dtype=frame_dtype)
        flat_states = [s for pair in states for s in pair]
        if teacher is None:
            steps = ops.zeros((batch, self.num_frames, 1), dtype=frame_dtype)
        else:
            # One tensor over time for the loop: the truth, and the choice
            # as one more channel.
            truth, use_truth = teacher
            truth = ops.cast(truth, frame_dtype)
            choice = ops.reshape(ops.cast(use_truth, frame_dtype),
                                 (batch, self.num_frames)
                                 + (1,) * len(self.codec.feature_shape))
            choice = ops.broadcast_to(
                choice, (batch, self.num_frames, *self.codec.feature_shape[:-1], 1))
            steps = ops.concatenate([truth, choice], axis=-1)

        def step(carry, step_input):
            x, flat = carry[0], carry[1:]
            if teacher is not None:
                truth_t, read_truth = step_input[..., :-1], step_input[..., -1:]
                x = read_truth * truth_t + (1 - read_truth) * x
            outputs, new_states = [], []
            for i, rnn in enumerate(self.rnns):
                x, (h, c) = rnn.cell(x, [flat[2 * i], flat[2 * i + 1]])
                outputs.append(x)
                new_states += [h, c]
            carry = [self._read_out(outputs), *new_states]
            # Keras' TensorFlow scan stores outputs shaped like the carry, so
            # the step emits the whole carry and the frames are picked after.
            return carry, carry

        if self.unrolled:
            # A static loop (num_frames steps): ONNX converters cannot read
            # the while loop of a scan whose outputs feed back.
            carry, frames = [first_input, *flat_states], []
            for t in range(self.num_frames):
                carry, _ = step(carry, steps[:, t])
                frames.append(carry[0])
            return ops.stack(frames, axis=1)
        # keras.ops.scan runs over the leading axis: time first, then back.
        _, emitted = ops.scan(step, [first_input, *flat_states],
                              ops.moveaxis(steps, 1, 0))
        return ops.moveaxis(emitted[0], 0, 1)

    def _teacher_available(self, clip):
        # An unknown (dynamic) length is taken to hold the targets: slicing
        # then fails loudly if it does not, never silently switching mode.
        needed = (self.input_frames if self.target == "reconstruction"
                  else self.input_frames + self.num_frames - 1)
        return clip.shape[1] is None or clip.shape[1] >= needed

    def _previous_truth(self, clip):
        """The ground-truth previous frame of every step, as features (zeros
        before the first)."""
        truth = decoder_targets(clip, self.target, self.input_frames,
                                self.future_frames)[:, :self.num_frames - 1]
        previous = ops.concatenate([ops.zeros_like(truth[:, :1]), truth], 1)
        return self.codec.to_features(previous)

    def teacher_probability(self):
        """The probability of reading the ground truth at the current
        training step (a scalar tensor)."""
        step = (self.schedule_step if self.teacher_forcing.constant_value is None
                else 0)
        return self.teacher_forcing.probability(step)

    def draw_teacher_choices(self, batch, probability):
        """(batch, steps) booleans: read the ground truth at that step."""
        draws = keras.random.uniform((batch, self.num_frames),
                                     seed=self.seed_generator)
        return draws < probability

    def _conditional_features(self, states, clip, training):
        probability = self.teacher_forcing.constant_value
        if (not training or probability == 0.0
                or not self._teacher_available(clip)):
            return self._run_stepwise(states)
        previous = ops.cast(self._previous_truth(clip), states[0][0].dtype)
        if probability == 1.0:  # plain teacher forcing: one pass per layer
            return self._run_sequence(previous, states)
        use_truth = self.draw_teacher_choices(ops.shape(previous)[0],
                                              self.teacher_probability())
        if probability is None:
            self.schedule_step.assign_add(1)
        return self._run_stepwise(states, (previous, use_truth))

    def call(self, states, clip, training=False):
        if self.conditional:
            return self.codec.to_frames(
                self._conditional_features(states, clip, training))
        h_first = states[0][0]
        inputs = ops.zeros((ops.shape(h_first)[0], self.num_frames,
                            *self.codec.feature_shape[:-1], 0),
                           dtype=h_first.dtype)
        return self.codec.to_frames(self._run_sequence(inputs, states))

    def compute_output_shape(self, states_shape, clip_shape):
        return (clip_shape[0], self.num_frames, *self.frame_shape)

    def get_config(self):
        return {**super().get_config(), "cell": self.cell,
                "hidden_sizes": self.hidden_sizes,
                "kernel_size": self.kernel_size,
                "frame_shape": self.frame_shape, "patch_size": self.patch_size,
                "target": self.target, "input_frames": self.input_frames,
                "future_frames": self.future_frames,
                "conditional": self.conditional,
                "teacher_forcing": self.teacher_forcing.to_value()}


def _check_choice(value, name, choices):
    check_one_of(name, value, set(choices))


@keras.saving.register_keras_serializable(package="keras_vidrep")
class VideoSeq2Seq(FromPreset, keras.Model):
    """LSTM autoencoder, future predictor or composite model (functional).

    Args:
        kind: ``"autoencoder"`` (reconstruct the input in reverse order),
            ``"predictor"`` (predict the next frames) or ``"composite"``
            (one encoder, both decoders).
        cell: ``"fc"`` (frames flattened, stacked ``PeepholeLSTM``, dense
            read-out) or ``"conv"`` (frames cut into patches, stacked
            ``ConvLSTM``, 1x1-convolution read-out, patches joined back).
        conditional: decoders read the previous frame (True) or nothing.
        hidden_sizes: units (fc) or filters (conv) of each stacked layer, the
            same in the encoder and the decoders. Default ``(1024,)`` for fc,
            ``(64, 64)`` for conv.
        kernel_size: odd kernel size of the ConvLSTM layers (conv). Default 3.
        patch_size: patch side (conv). Default 4: 64x64x1 -> 16x16x16.
        frame_size: frame height and width. Default 64.
        channels: frame channels. Default 1.
        input_frames: observed frames. Default 10.
        future_frames: predicted frames. Default 10.
        teacher_forcing: how often conditional decoders read the
            ground-truth previous frame in training: ``True`` (always, the
            default), ``False`` (never: trained autoregressively, as they
            run at inference), a probability, or a scheduled-sampling
            schedule, ``TeacherForcing`` or its config dict such as
            ``{"schedule": "linear", "decay_steps": 3000}`` (see
            ``keras_vidrep.models.teacher_forcing``).

    Call arguments:
        frames: (batch, time, frame_size, frame_size, channels), time >=
            ``input_frames``. Frames beyond ``input_frames`` are read only as
            teacher-forcing inputs in training.
        training: Python boolean.

    Outputs:
        A dict with ``"reconstruction"`` (batch, input_frames, H, W, C)
        and/or ``"future"`` (batch, future_frames, H, W, C), values in [0, 1].

    Example:

    >>> model = VideoSeq2Seq("composite", "conv", hidden_sizes=(16,))
    >>> out = model(np.zeros((2, 10, 64, 64, 1), "float32"))
    >>> out["future"].shape
    (2, 10, 64, 64, 1)

    References:
        - Srivastava, Mansimov, Salakhutdinov. Unsupervised learning of video
          representations using LSTMs. ICML 2015.
        - Shi et al. Convolutional LSTM network. NeurIPS 2015.
    """

    def __init__(self, kind="composite", cell="conv", conditional=False, *,
                 hidden_sizes=None, kernel_size=3, patch_size=4, frame_size=64,
                 channels=1, input_frames=10, future_frames=10,
                 teacher_forcing=True, **kwargs):
        _check_choice(kind, "kind", KINDS)
        _check_choice(cell, "cell", CELL_TYPES)
        if hidden_sizes is None:
            hidden_sizes = CELL_TYPES[cell].default_hidden_sizes
        hidden_sizes = tuple(hidden_sizes) if isinstance(
            hidden_sizes, (list, tuple)) else (hidden_sizes,)
        if not hidden_sizes:
            raise InputError("`hidden_sizes` needs at least one layer. "
                             f"Received: hidden_sizes={hidden_sizes!r}")
        check_positive_ints(frame_size=frame_size, channels=channels,
                        input_frames=input_frames, future_frames=future_frames,
                        patch_size=patch_size,
                        **{f"hidden_sizes[{i}]": s
                           for i, s in enumerate(hidden_sizes)})
        # True / False, or the schedule's config (what get_config stores).
        teacher_forcing = TeacherForcing.from_value(teacher_forcing).to_value()
        frame_shape = (frame_size, frame_size, channels)
        decoder_args = dict(
            cell=cell, hidden_sizes=hidden_sizes, kernel_size=kernel_size,
            frame_shape=frame_shape, patch_size=patch_size,
            input_frames=input_frames, future_frames=future_frames,
            conditional=conditional, teacher_forcing=teacher_forcing)

        # === Layers ===
        clip_input = ClipInput(cell, frame_shape, patch_size, input_frames,
                               name="clip_input")
        make_layer = CELL_TYPES[cell].make_layer
        encoder_layers = [
            make_layer(size, kernel_size, return_sequences=True,
                       return_state=True, name=f"encoder_lstm_{i}")
            for i, size in enumerate(hidden_sizes)]
        decoders = {target: FrameDecoder(target=target, name=f"{target}_decoder",
                                         **decoder_args)
                    for target in KINDS[kind]}

        # === Functional graph ===
        # Only the rank is fixed here, so that ClipInput, not Keras' generic
        # check, reports a wrong frame size with the expected layout.
        frames = keras.Input((None, None, None, None), name="frames")
        x = clip_input(frames)
        states = []
        for layer in encoder_layers:
            x, h, c = layer(x)
            states.append([h, c])
        outputs = {target: decoder(states, frames)
                   for target, decoder in decoders.items()}
        super().__init__(inputs=frames, outputs=outputs, **kwargs)

        # === Config ===
        self.kind = kind
        self.cell = cell
        self.conditional = bool(conditional)
        self.hidden_sizes = hidden_sizes
        self.kernel_size = kernel_size
        self.patch_size = patch_size
        self.frame_size = frame_size
        self.channels = channels
        self.input_frames = input_frames
        self.future_frames = future_frames
        self.teacher_forcing = teacher_forcing
        self.targets = KINDS[kind]

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "kind": self.kind,
            "cell": self.cell,
            "conditional": self.conditional,
            "hidden_sizes": list(self.hidden_sizes),
            "kernel_size": self.kernel_size,
            "patch_size": self.patch_size,
            "frame_size": self.frame_size,
            "channels": self.channels,
            "input_frames": self.input_frames,
            "future_frames": self.future_frames,
            "teacher_forcing": self.teacher_forcing,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def check_frames(self, x, min_frames=None):
        """Refuses what the model cannot read, with the reason: frames that
        are not floats (e.g. uint8 0-255: divide by 255), NaN or infinite
        values, values outside [0, 1] (e.g. float frames in 0-255:
        ``keras_vidrep._validation.check_frame_values``), or a shape other
        than (batch, >= ``min_frames`` (default ``input_frames``), height,
        width, channels).

        Returns:
            ``x``, as a float array where it was a nested list.
        """
        if x is None:
            raise InputError(
                "Expected frames (batch, frames, height, width, channels) in "
                "[0, 1], a dataset or a generator of them. Received: None")
        if isinstance(x, (list, tuple)):
            x = np.asarray(x, dtype="float32")
        if hasattr(x, "element_spec"):
            return self._checked_dataset(x)
        if not hasattr(x, "shape") or not hasattr(x, "dtype"):
            return x  # a generator or PyDataset: its batches are its own
        dtype = np.dtype(keras.backend.standardize_dtype(x.dtype))
        if not np.issubdtype(dtype, np.floating):
            raise InputError(
                "Expected float frames in [0, 1] (divide uint8 frames by "
                f"255). Received: frames of dtype {dtype}")
        clip_input = self.get_layer("clip_input")
        clip_input._check(tuple(x.shape))
        needed = min_frames or self.input_frames
        if len(x.shape) == 5 and x.shape[1] is not None and x.shape[1] < needed:
            raise InputError(
                f"Expected clips of at least {needed} frames. Received: "
                f"frames of shape {tuple(x.shape)}")
        check_frame_values(ops.convert_to_numpy(x))
        return x

    def _checked_dataset(self, dataset):
        """A ``tf.data`` dataset of frames (or of ``(frames, targets)``)
        whose frames are checked: their dtype and shape now, their values
        batch by batch as they stream (a functional model would otherwise
        cast uint8 frames to float and read 0-255 as a glaring video)."""
        import tensorflow as tf

        spec = dataset.element_spec
        frames = spec[0] if isinstance(spec, tuple) else spec
        if not isinstance(frames, tf.TensorSpec):
            return dataset  # a structure of ours to leave alone
        if not frames.dtype.is_floating:
            raise InputError(
                "Expected float frames in [0, 1] (divide uint8 frames by "
                f"255). Received: a dataset of frames of dtype "
                f"{frames.dtype.name}")
        if frames.shape.rank is not None:
            self.get_layer("clip_input")._check(tuple(frames.shape))

        def checked(*element):
            first = checked_frames_in_graph(element[0])
            return (first, *element[1:]) if len(element) > 1 else first

        return dataset.map(checked)

    def evaluate(self, x=None, *args, **kwargs):
        """``keras.Model.evaluate``, its frames checked as in ``predict``."""
        return super().evaluate(self.check_frames(x) if x is not None else x,
                                *args, **kwargs)

    def fit(self, x=None, *args, **kwargs):
        """``keras.Model.fit``, its frames checked as in ``predict``. A
        stream (a ``tf.data`` dataset, a ``PyDataset``, a generator) is read
        in its own order: ``shuffle`` defaults to False for it, where Keras
        would warn that it ignores True."""
        arrays = (x is None or hasattr(x, "shape")
                  or isinstance(x, (dict, list, tuple)))
        if not arrays:
            kwargs.setdefault("shuffle", False)
        return super().fit(self.check_frames(x) if x is not None else x,
                           *args, **kwargs)

    def predict(self, x, *args, **kwargs):
        """``keras.Model.predict`` of frames in [0, 1].

        Arrays and tensors are checked on every call (``check_frames``):
        integer frames (e.g. uint8 0-255), NaN or infinite values and wrong
        shapes are refused with the reason; nested lists are taken as
        arrays; an empty batch gives empty outputs (Keras' loop would have
        no batch to run).
        """
        x = self.check_frames(x)
        if getattr(x, "shape", None) is not None and len(x.shape) and x.shape[0] == 0:
            return keras.tree.map_structure(ops.convert_to_numpy,
                                            self(x, training=False))
        return super().predict(x, *args, **kwargs)

    @property
    def clip_frames(self):
        """Frames in a training clip: input plus future frames."""
        return self.input_frames + self.future_frames

    def encoder(self):
        """A model sharing this model's weights: frames -> representation,
        the concatenated flattened final ``[h, c]`` of every encoder layer."""
        states = []
        for i in range(len(self.hidden_sizes)):
            _, h, c = self.get_layer(f"encoder_lstm_{i}").output
            states.append([h, c])
        return keras.Model(self.input, Representation(name="representation")(
            states), name=f"{self.name}_encoder")

    def split_clip(self, clip):
        """``(clip, targets)`` for ``fit`` from clips (batch, >= input +
        future frames, H, W, C): the clip cut to ``input_frames +
        future_frames`` frames, and each decoder's targets (the reversed
        input frames, the future frames)."""
        clip = clip[:, :self.clip_frames]
        return clip, {t: decoder_targets(clip, t, self.input_frames,
                                         self.future_frames)
                      for t in self.targets}

    def training_pairs(self, dataset):
        """Maps a ``tf.data`` dataset of clips to ``(clip, targets)`` for
        ``fit``: ``keras_vidrep.data.training_pairs(self, dataset)``, kept
        as a method for convenience (the tf.data code lives in the data
        package, so that the models need no TensorFlow)."""
        from keras_vidrep.data.pipeline import training_pairs

        return training_pairs(self, dataset)
