"""Captions that saw nothing, or half of a clip: what a captioner's scores
must beat.

A caption in the grammar scores a high BLEU-4 whatever it names: most of
its words are the template's. These content-free captions, written for
the same clips as the model's, give every score its floor:

- ``random``: the grammar's words, random digits and random paths;
- ``right_digits``: the clip's digits, random paths;
- ``right_paths``: random digits, the clip's paths;
- ``fixed``: one caption for every clip.

Each draw is a pure function of the references and the seed.
"""

import numpy as np

from keras_vidrep._validation import look_up
from keras_vidrep.captions.grammar import DIRECTION_PHRASES
from keras_vidrep.captions.grammar import TEMPLATES
from keras_vidrep.captions.grammar import caption
from keras_vidrep.captions.grammar import digit_path
from keras_vidrep.captions.grammar import parse_caption
from keras_vidrep.captions.metrics import caption_scores

CONTENT_FREE = {
    "random": "the grammar, random digits and paths",
    "right_digits": "the clip's digits, random paths",
    "right_paths": "random digits, the clip's paths",
    "fixed": "one fixed caption for every clip",
}
FIXED_CAPTION = caption((1, 7), ("down and to the right",
                                 "up and to the left"))


def _random_path(rng):
    first, last = rng.integers(len(DIRECTION_PHRASES), size=2)
    return digit_path(int(first), int(last))


def content_free_captions(references, kind, *, seed=0):
    """One caption per clip of ``references`` (as ``caption_scores`` takes
    them: the first of each clip's references gives its truth), of the
    ``CONTENT_FREE`` kind ``kind``."""
    look_up(CONTENT_FREE, kind, f"Unknown content-free caption kind {kind!r}",
            "kinds")
    if kind == "fixed":
        return [FIXED_CAPTION] * len(references)
    rng = np.random.default_rng(seed)
    captions = []
    for refs in references:
        digits, paths = parse_caption(refs[0])
        if kind in ("random", "right_paths"):
            digits = tuple(int(d) for d in rng.integers(10, size=2))
        if kind in ("random", "right_digits"):
            paths = (_random_path(rng), _random_path(rng))
        captions.append(caption(digits, paths,
                                int(rng.integers(len(TEMPLATES)))))
    return captions


def content_free_scores(references, *, seed=0):
    """``{kind: caption_scores}`` of every ``CONTENT_FREE`` kind on the
    clips of ``references``."""
    return {kind: caption_scores(
                content_free_captions(references, kind, seed=seed),
                references)
            for kind in CONTENT_FREE}
