"""Captioned clips: frames, the caption's ids, and every reference.

``CaptionBatches`` is a ``keras.utils.PyDataset`` of ``({"frames",
"words"}, next_words)`` for ``fit`` (teacher forcing: ``words`` is the
caption's ids from ``<start>``, ``next_words`` the same shifted by one),
deterministic per ``(seed, batch index)`` like the clips it captions.
"""

import numpy as np

import keras

from keras_vidrep.captions.grammar import clip_captions
from keras_vidrep.captions.tokens import make_tokenizer
from keras_vidrep.captions.tokens import with_markers


class CaptionBatches(keras.utils.PyDataset):
    """Bouncing-digit clips with their captions, for ``fit``.

    Args:
        digits: ``(images, labels)`` (``load_mnist_digits``); labels needed.
        batch_size: clips per batch.
        num_batches: length of the dataset.
        seed: draws the clips and each clip's template.
        first_batch: index of the first batch in the seeded stream (a
            resumed run goes on where it stopped).
        num_frames: frames per clip (what the captioner reads).
        tokenizer: a ``make_tokenizer()`` layer (default a new one).
        **kwargs: ``keras.utils.PyDataset`` arguments.
    """

    def __init__(self, digits, *, batch_size, num_batches, seed,
                 num_frames=10, tokenizer=None, first_batch=0, **kwargs):
        from keras_vidrep.data import BouncingDigitBatches

        super().__init__(**kwargs)
        self.clips = BouncingDigitBatches(
            digits, batch_size=batch_size, num_batches=num_batches,
            num_frames=num_frames, seed=seed, with_info=True,
            first_batch=first_batch)
        self.first_batch = first_batch
        self.tokenizer = tokenizer or make_tokenizer()
        self.seed, self.batch_size = seed, batch_size

    def __len__(self):
        return len(self.clips)

    def captioned(self, index):
        """Frames, training captions and references of batch ``index``."""
        info = self.clips[index]
        captions, references = clip_captions(
            info["labels"], info["positions"], seed=self.seed,
            first_index=(self.first_batch + index) * self.batch_size)
        return info["frames"], captions, references

    def __getitem__(self, index):
        frames, captions, _ = self.captioned(index)
        ids = keras.ops.convert_to_numpy(
            self.tokenizer(with_markers(captions))).astype(np.int32)
        return {"frames": frames, "words": ids[:, :-1]}, ids[:, 1:]
