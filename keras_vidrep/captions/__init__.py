"""Video to text: captions of bouncing-digit clips.

``grammar`` writes captions from the generator's ground truth, ``tokens``
maps them to ids with Keras' ``TextVectorization``, ``data`` serves
captioned clips for ``fit``; the model is
``keras_vidrep.models.captioner.S2VTCaptioner``.
"""

from keras_vidrep.captions.data import CaptionBatches
from keras_vidrep.captions.grammar import DIGIT_WORDS
from keras_vidrep.captions.grammar import DIRECTION_PHRASES
from keras_vidrep.captions.grammar import TEMPLATES
from keras_vidrep.captions.grammar import caption
from keras_vidrep.captions.grammar import clip_captions
from keras_vidrep.captions.grammar import digit_path
from keras_vidrep.captions.grammar import max_words
from keras_vidrep.captions.grammar import parse_caption
from keras_vidrep.captions.grammar import vocabulary
from keras_vidrep.captions.metrics import caption_scores
from keras_vidrep.captions.tokens import decode
from keras_vidrep.captions.tokens import id_to_word
from keras_vidrep.captions.tokens import make_tokenizer
from keras_vidrep.captions.tokens import with_markers

__all__ = ["CaptionBatches", "DIGIT_WORDS", "DIRECTION_PHRASES", "TEMPLATES",
           "caption", "caption_scores", "clip_captions", "decode",
           "digit_path", "id_to_word", "make_tokenizer", "max_words",
           "parse_caption", "vocabulary", "with_markers"]
