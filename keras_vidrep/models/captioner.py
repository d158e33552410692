"""S2VT: sequence to sequence, video to text (Venugopalan et al. 2015).

Two stacked ``PeepholeLSTM`` layers read the clip, then write its caption:

- while the frames are read (``T`` steps), the first layer reads each
  frame's features and the second reads the first's output beside a zero
  word embedding;
- while the caption is written (``L`` steps), the first layer reads zero
  frames and the second reads its output beside the previous word's
  embedding; a dense layer turns the second's output into word logits.

Frame features, as S2VT builds them from an image CNN (appearance) and from
optical flow (motion), come from small per-frame CNNs (``FrameReader``) on
the frames (``"appearance"``), on the differences of consecutive frames
(``"motion"``, our optical flow) or both, concatenated (``"fused"``).
``reverse_frames`` reads the frames last to first (Sutskever et al. 2014
reversed the source sentence).

Training is teacher forced: ``call({"frames", "words"})`` gives the logits of
each next word from the previous true ones. ``generate`` writes captions by
greedy or beam search (``keras.ops`` only, every backend).
"""

import keras
import numpy as np
from keras import ops

from keras_vidrep._validation import InputError
from keras_vidrep._validation import check_one_of
from keras_vidrep._validation import check_positive_ints
from keras_vidrep.layers import PeepholeLSTM
from keras_vidrep.presets import FromPreset


def _appearance(frames):
    return frames


def _motion(frames):
    # Differences of consecutive frames; the first frame has none (zeros).
    differences = frames[:, 1:] - frames[:, :-1]
    return ops.concatenate([ops.zeros_like(frames[:, :1]), differences], 1)


# stream name -> the images its frame reader sees, from the clip.
STREAM_INPUTS = {"appearance": (_appearance,), "motion": (_motion,),
                 "fused": (_appearance, _motion)}


@keras.saving.register_keras_serializable(package="keras_vidrep")
class FrameReader(keras.layers.Layer):
    """A small CNN applied to every frame: (batch, time, H, W, C) ->
    (batch, time, features). Three stride-2 convolutions (16, 32, 64
    filters, ReLU), global average pooling and a dense layer."""

    def __init__(self, features=128, **kwargs):
        super().__init__(**kwargs)
        check_positive_ints(type(self).__name__, features=features)
        self.features = features
        self.convolutions = [
            keras.layers.Conv2D(filters, size, strides=2, padding="same",
                                activation="relu", name=f"conv_{i}")
            for i, (filters, size) in enumerate(((16, 5), (32, 3), (64, 3)))]
        self.pool = keras.layers.GlobalAveragePooling2D(name="pool")
        self.project = keras.layers.Dense(features, activation="relu",
                                          name="project")

    def build(self, clip_shape):
        shape = (None, *clip_shape[2:])
        for layer in self.convolutions:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)
        self.project.build((None, shape[-1]))

    def call(self, clip):
        batch, time = ops.shape(clip)[0], ops.shape(clip)[1]
        x = ops.reshape(clip, (-1, *clip.shape[2:]))
        for layer in self.convolutions:
            x = layer(x)
        x = self.project(self.pool(x))
        return ops.reshape(x, (batch, time, self.features))

    def compute_output_shape(self, clip_shape):
        return (*clip_shape[:2], self.features)

    def get_config(self):
        return {**super().get_config(), "features": self.features}


@keras.saving.register_keras_serializable(package="keras_vidrep")
class S2VTCaptioner(FromPreset, keras.Model):
    """Video-to-text model of Venugopalan et al. (2015) on our cells.

    Args:
        vocabulary_size: number of word ids (the tokenizer's, padding and
            out-of-vocabulary ids included).
        max_length: word steps written (the tokenizer's sequence length).
        units: units of each of the two ``PeepholeLSTM`` layers.
        embedding_size: size of the word embedding.
        stream: ``"appearance"``, ``"motion"`` or ``"fused"`` (see
            ``STREAM_INPUTS``).
        features: outputs of each stream's frame reader.
        reverse_frames: read the frames last to first.
        start_id, end_id: the ids that start and end a caption.

    Call arguments:
        inputs: ``{"frames": (batch, T, H, W, C) float in [0, 1],
            "words": (batch, L) int}``, the caption's ids shifted right
            (``<start>`` first), for teacher forcing.

    Returns:
        Logits (batch, L, vocabulary_size) of each next word.

    ``predict(frames)`` on frames alone (as for every zoo model) gives the
    greedy captions' word ids, as ``generate`` does;
    ``keras_vidrep.captions.decode`` turns them into words.

    Example:

    >>> model = S2VTCaptioner(vocabulary_size=30, max_length=33)
    >>> ids = model.generate(frames, beam_size=5)   # (batch, 33) word ids
    >>> ids = model.predict(frames)                 # greedy, in batches

    References:
        - Venugopalan et al. Sequence to sequence - video to text. ICCV 2015.
        - Sutskever, Vinyals and Le. Sequence to sequence learning with
          neural networks. NeurIPS 2014.
    """

    def __init__(self, vocabulary_size, max_length, *, units=256,
                 embedding_size=64, stream="fused", features=128,
                 reverse_frames=False, start_id=2, end_id=3, **kwargs):
        super().__init__(**kwargs)
        check_positive_ints(type(self).__name__, vocabulary_size=vocabulary_size,
                            max_length=max_length, units=units,
                            embedding_size=embedding_size, features=features)
        check_one_of("stream", stream, STREAM_INPUTS)
        self.vocabulary_size, self.max_length = vocabulary_size, max_length
        self.units, self.embedding_size = units, embedding_size
        self.stream, self.features = stream, features
        self.reverse_frames = bool(reverse_frames)
        self.start_id, self.end_id = start_id, end_id
        self.readers = [FrameReader(features, name=f"{fn.__name__[1:]}_reader")
                        for fn in STREAM_INPUTS[stream]]
        self.reader_lstm = PeepholeLSTM(units, return_sequences=True,
                                        return_state=True, name="reader_lstm")
        self.writer_lstm = PeepholeLSTM(units, return_sequences=True,
                                        return_state=True, name="writer_lstm")
        self.embedding = keras.layers.Embedding(vocabulary_size,
                                                embedding_size,
                                                name="embedding")
        self.logits = keras.layers.Dense(vocabulary_size, name="logits")

    # === Frames ===
    def frame_features(self, frames):
        """(batch, T, features x streams): what the first LSTM reads."""
        if self.reverse_frames:
            frames = ops.flip(frames, axis=1)
        parts = [reader(fn(frames)) for reader, fn
                 in zip(self.readers, STREAM_INPUTS[self.stream])]
        return parts[0] if len(parts) == 1 else ops.concatenate(parts, -1)

    def _check_frames(self, frames):
        if len(frames.shape) != 5:
            raise InputError("Expected frames of shape (batch, time, height, "
                             "width, channels). Received: frames of shape "
                             f"{tuple(frames.shape)}")

    def call(self, inputs, training=False):
        if not isinstance(inputs, dict) or set(inputs) != {"frames", "words"}:
            raise InputError(
                "S2VTCaptioner is called on {'frames': ..., 'words': ...} "
                "(teacher-forced training); to caption frames use "
                "model.generate(frames) or model.predict(frames). Received: "
                "inputs=" + (f"a dict with keys {sorted(inputs)}"
                             if isinstance(inputs, dict) else
                             f"a tensor of shape {tuple(inputs.shape)}"
                             if hasattr(inputs, "shape") else
                             type(inputs).__name__))
        frames, words = inputs["frames"], inputs["words"]
        self._check_frames(frames)
        features = self.frame_features(frames)
        batch = ops.shape(features)[0]
        length = words.shape[1]
        no_frames = ops.zeros((batch, length, features.shape[-1]),
                              dtype=features.dtype)
        read, _, _ = self.reader_lstm(
            ops.concatenate([features, no_frames], axis=1), training=training)
        embedded = self.embedding(words)
        no_words = ops.zeros((batch, frames.shape[1], self.embedding_size),
                             dtype=embedded.dtype)
        written, _, _ = self.writer_lstm(
            ops.concatenate([read, ops.concatenate([no_words, embedded], 1)],
                            axis=-1), training=training)
        return self.logits(written[:, frames.shape[1]:])

    def predict(self, x, batch_size=None, verbose="auto", steps=None,
                callbacks=None):
        """Greedy captions' word ids of frames ``x`` (batch, T, H, W, C), in
        batches of ``batch_size`` (32); a dict of frames and words gives the
        teacher-forced logits, as ``keras.Model.predict`` does."""
        if isinstance(x, dict) or not hasattr(x, "shape"):
            return super().predict(x, batch_size=batch_size, verbose=verbose,
                                   steps=steps, callbacks=callbacks)
        batch_size = batch_size or 32
        check_positive_ints(batch_size=batch_size)
        return np.concatenate([
            ops.convert_to_numpy(self.generate(x[start:start + batch_size]))
            for start in range(0, len(x), batch_size)]
            or [np.zeros((0, self.max_length), "int32")])

    # === Writing ===
    def _read_clip(self, frames):
        """The states of both layers after the frames."""
        features = self.frame_features(frames)
        read, h1, c1 = self.reader_lstm(features)
        no_words = ops.zeros((ops.shape(features)[0], features.shape[1],
                              self.embedding_size), dtype=read.dtype)
        _, h2, c2 = self.writer_lstm(ops.concatenate([read, no_words], -1))
        return [h1, c1], [h2, c2], features.shape[-1]

    def _next_logits(self, previous, reader_states, writer_states, feature_size):
        batch = ops.shape(previous)[0]
        no_frame = ops.zeros((batch, feature_size))
        read, reader_states = self.reader_lstm.cell(no_frame, reader_states)
        joined = ops.concatenate([read, self.embedding(previous)], -1)
        written, writer_states = self.writer_lstm.cell(joined, writer_states)
        return self.logits(written), reader_states, writer_states

    def generate(self, frames, beam_size=1, max_length=None):
        """Word ids of the best caption of each clip.

        Args:
            frames: (batch, T, H, W, C) floats in [0, 1].
            beam_size: 1 is greedy decoding; more keeps that many partial
                captions by total log-probability (a finished caption
                keeps its score).
            max_length: word steps (default the model's).

        Returns:
            int32 (batch, max_length): ids; after ``end_id`` only padding
            (0).
        """
        check_positive_ints(beam_size=beam_size, max_length=max_length)
        frames = ops.convert_to_tensor(frames)
        self._check_frames(frames)
        steps = max_length or self.max_length
        if beam_size == 1:
            return self._greedy(frames, steps)
        return self._beam_search(frames, steps, beam_size)

    def _greedy(self, frames, steps):
        reader, writer, feature_size = self._read_clip(frames)
        previous = ops.full((ops.shape(frames)[0],), self.start_id, "int32")
        finished = ops.zeros_like(previous, dtype="bool")
        words = ops.zeros((ops.shape(frames)[0], steps), "int32")

        def step(index, carry):
            previous, finished, words, reader, writer = carry
            logits, reader, writer = self._next_logits(previous, reader,
                                                       writer, feature_size)
            word = ops.cast(ops.argmax(logits, axis=-1), "int32")
            # Column ``index`` of ``words``, written through a one-hot mask
            # (a traced index works the same on every backend).
            column = ops.cast(ops.one_hot(index, steps), "int32")
            words = words + ops.expand_dims(ops.where(finished, 0, word), 1) * column
            return (word, finished | (word == self.end_id), words, reader,
                    writer)

        # A loop, not an unrolled graph: the exported SavedModel holds one
        # step (the 32 unrolled steps made it 1.35 MB).
        return ops.fori_loop(0, steps, step, (previous, finished, words,
                                              list(reader), list(writer)))[2]

    def _beam_search(self, frames, steps, beams):
        reader, writer, feature_size = self._read_clip(frames)
        batch = ops.shape(frames)[0]
        # Every beam starts as the same caption: tile the states.
        reader = [ops.repeat(s, beams, axis=0) for s in reader]
        writer = [ops.repeat(s, beams, axis=0) for s in writer]
        previous = ops.full((batch * beams,), self.start_id, dtype="int32")
        # Only the first beam is live at the start, so the top-k of the
        # first step takes k different words.
        first = ops.concatenate([ops.zeros((1,)), ops.full((beams - 1,), -1e9)])
        scores = ops.tile(ops.expand_dims(first, 0), (batch, 1))  # (b, k)
        finished = ops.zeros((batch, beams), dtype="bool")
        tokens = ops.zeros((batch, beams, 0), dtype="int32")
        vocabulary = self.vocabulary_size
        for _ in range(steps):  # static: unrolled in a graph
            logits, reader, writer = self._next_logits(previous, reader,
                                                       writer, feature_size)
            log_p = ops.reshape(ops.log_softmax(ops.cast(logits, "float32")),
                                (batch, beams, vocabulary))
            # A finished caption only extends with padding, at no cost.
            pad_only = ops.concatenate(
                [ops.zeros((1,)), ops.full((vocabulary - 1,), -1e9)])
            log_p = ops.where(ops.expand_dims(finished, -1), pad_only, log_p)
            total = ops.reshape(ops.expand_dims(scores, -1) + log_p,
                                (batch, beams * vocabulary))
            scores, chosen = ops.top_k(total, k=beams)
            origin = chosen // vocabulary
            word = ops.cast(chosen % vocabulary, "int32")
            tokens = ops.concatenate(
                [ops.take_along_axis(tokens, ops.expand_dims(origin, -1), 1)
                 if tokens.shape[-1] else tokens,
                 ops.expand_dims(word, -1)], axis=-1)
            finished = (ops.take_along_axis(finished, origin, 1)
                        | (word == self.end_id))
            flat_origin = ops.reshape(
                origin + ops.expand_dims(ops.arange(batch) * beams, -1), (-1,))
            reader = [ops.take(s, flat_origin, axis=0) for s in reader]
            writer = [ops.take(s, flat_origin, axis=0) for s in writer]
            previous = ops.reshape(word, (-1,))
        return tokens[:, 0]  # top_k sorts: the best beam first

    def get_config(self):
        return {**super().get_config(),
                "vocabulary_size": self.vocabulary_size,
                "max_length": self.max_length, "units": self.units,
                "embedding_size": self.embedding_size, "stream": self.stream,
                "features": self.features,
                "reverse_frames": self.reverse_frames,
                "start_id": self.start_id, "end_id": self.end_id}
