"""Words to ids and back, with Keras' ``TextVectorization``.

Ids: 0 pads (and masks the loss), 1 is the out-of-vocabulary id Keras
reserves, then ``<start>``, ``<end>`` and the grammar's words in sorted
order (``keras_vidrep.captions.grammar.vocabulary``). ``TextVectorization``
runs on TensorFlow strings (the data pipeline's edge), under any backend.
"""

import numpy as np

from keras_vidrep.captions.grammar import max_words
from keras_vidrep.captions.grammar import vocabulary

START, END = "<start>", "<end>"
PAD_ID, START_ID, END_ID = 0, 2, 3


def make_tokenizer(length=None):
    """A ``TextVectorization`` layer mapping captions to ``length`` ids
    (default: the longest caption plus ``<start>`` and ``<end>``), padded
    with 0. Wrap a caption as ``"<start> ... <end>"`` first
    (``with_markers``)."""
    import keras

    return keras.layers.TextVectorization(
        standardize=None, split="whitespace",
        vocabulary=[START, END, *vocabulary()],
        output_sequence_length=length or max_words() + 2)


def with_markers(captions):
    """``"<start> caption <end>"`` for each caption."""
    return [f"{START} {text} {END}" for text in captions]


def id_to_word(tokenizer):
    """numpy array: id -> word ('' for padding)."""
    return np.asarray(tokenizer.get_vocabulary())


def decode(ids, words):
    """Strings from id sequences (batch, steps): the words before the first
    ``<end>``, skipping padding and ``<start>``."""
    texts = []
    for row in np.asarray(ids):
        kept = []
        for token in row.tolist():
            if token == END_ID:
                break
            if token not in (PAD_ID, START_ID):
                kept.append(str(words[token]))
        texts.append(" ".join(kept))
    return texts
