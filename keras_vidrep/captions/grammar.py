"""Captions of bouncing-digit clips, from the generator's ground truth.

A small fixed grammar describes which digits a clip shows and how each
moves over the frames a model reads:

- a digit's path is its direction on the first step and, if it differs, on
  the last step (``direction_sectors`` of ``keras_vidrep.tasks``, 8 sectors):
  "up and to the left", or "up and to the left then down and to the left"
  after a bounce;
- three templates (paraphrases) say it with other words::

      the three moves up and the seven moves down and to the left
      a three is moving up while a seven is moving down and to the left
      the three goes up , the seven goes down and to the left

- two digits of the same class are "one three ... the other three ...".

Every template with both digit orders gives a clip's references (six), so
that BLEU against several references rewards any correct paraphrase. The
training caption of a clip is one of them, drawn from ``(seed, clip index)``
(the digits in the generator's order): the same arguments always give the
same captions.
"""

import re

import numpy as np

from keras_vidrep._validation import InputError
from keras_vidrep.tasks.labels import direction_sectors

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven",
               "eight", "nine")
# Sector k of keras_vidrep.tasks.DIRECTIONS, in words.
DIRECTION_PHRASES = ("right", "up and to the right", "up",
                     "up and to the left", "left", "down and to the left",
                     "down", "down and to the right")

# (first subject, second subject, verb phrase, joint between the two parts).
TEMPLATES = (
    ("the {a}", "the {b}", "moves", "and"),
    ("a {a}", "a {b}", "is moving", "while"),
    ("the {a}", "the {b}", "goes", ","),
)
# Two digits of one class: the subjects, whatever the template.
SAME_CLASS_SUBJECTS = ("one {a}", "the other {a}")


def digit_path(first_sector, last_sector):
    """'up' or 'up then down and to the left' from two sector indices."""
    first = DIRECTION_PHRASES[first_sector]
    if first_sector == last_sector:
        return first
    return f"{first} then {DIRECTION_PHRASES[last_sector]}"


def caption(digits, paths, template=0):
    """One caption.

    Args:
        digits: the two digit classes (ints), in the order to name them.
        paths: each digit's path (``digit_path``), same order.
        template: index into ``TEMPLATES``.

    Returns:
        A lowercase string of words separated by single spaces (a comma is
        a word).
    """
    if len(digits) != 2 or len(paths) != 2:
        raise InputError("A caption names two digits and their paths. "
                         f"Received: digits={digits!r}, paths={paths!r}")
    if not 0 <= template < len(TEMPLATES):
        raise InputError(f"`template` must be in [0, {len(TEMPLATES)}). "
                         f"Received: template={template!r}")
    first, second, verb, joint = TEMPLATES[template]
    a, b = (DIGIT_WORDS[d] for d in digits)
    if digits[0] == digits[1]:
        first, second = SAME_CLASS_SUBJECTS
    text = (f"{first.format(a=a)} {verb} {paths[0]} {joint} "
            f"{second.format(a=a, b=b)} {verb} {paths[1]}")
    return re.sub(r"\ba (eight)\b", r"an \1", text)  # "an eight"


def clip_paths(positions):
    """Each digit's path over the frames of ``positions`` (batch, frames,
    digits, 2): a list (batch) of lists (digits) of strings."""
    first = direction_sectors(positions[:, :2])
    last = direction_sectors(positions)
    return [[digit_path(f, l) for f, l in zip(fs, ls)]
            for fs, ls in zip(first, last)]


def clip_captions(labels, positions, *, seed, first_index=0):
    """Training captions and references of a batch of clips.

    Args:
        labels: int (batch, 2) digit classes, as ``with_info`` gives them.
        positions: int (batch, frames, 2, 2) of the frames the model reads.
        seed: draws each clip's template.
        first_index: index of the batch's first clip in its set (so that a
            clip's caption does not depend on the batch it is read in).

    Returns:
        ``(captions, references)``: a list of strings (one per clip), and a
        list of lists of strings (every template, both digit orders).
    """
    labels = np.asarray(labels)
    if labels.ndim != 2 or labels.shape[1] != 2 or (labels < 0).any():
        raise InputError("Captions need the two digit classes of each clip "
                         "(load the digits with their labels). Received: "
                         f"labels of shape {labels.shape}")
    paths = clip_paths(positions)
    captions, references = [], []
    for offset, (digits, two_paths) in enumerate(zip(labels.tolist(), paths)):
        rng = np.random.default_rng([seed, first_index + offset])
        captions.append(caption(digits, two_paths, int(rng.integers(
            len(TEMPLATES)))))
        references.append(
            [caption(order_digits, order_paths, t)
             for t in range(len(TEMPLATES))
             for order_digits, order_paths in ((digits, two_paths),
                                               (digits[::-1], two_paths[::-1]))])
    return captions, references


def vocabulary():
    """Every word the grammar can write, sorted (a comma is a word)."""
    words = set(DIGIT_WORDS)
    for phrase in (*DIRECTION_PHRASES, *SAME_CLASS_SUBJECTS, "then"):
        words.update(phrase.replace("{a}", "").split())
    for first, second, verb, joint in TEMPLATES:
        for part in (first, second, verb, joint):
            words.update(part.replace("{a}", "").replace("{b}", "").split())
    return tuple(sorted(words | {"an"}))


_SUBJECT = r"(?:the other|the|an|a|one) (\w+)"
_PATH = "|".join(sorted(map(re.escape, DIRECTION_PHRASES), key=len,
                        reverse=True))
_VERB = "|".join(verb for _, _, verb, _ in TEMPLATES)
_JOINT = "|".join(joint for _, _, _, joint in TEMPLATES)
_PART = rf"{_SUBJECT} (?:{_VERB}) ((?:{_PATH})(?: then (?:{_PATH}))?)"
_CAPTION = re.compile(rf"^{_PART} (?:{_JOINT}) {_PART}$")


def parse_caption(text):
    """``((digit, digit), (path, path))`` of a caption the grammar could
    have written, else ``None`` (a generated caption may be malformed)."""
    match = _CAPTION.match(text.strip())
    if not match:
        return None
    a, path_a, b, path_b = match.groups()
    if a not in DIGIT_WORDS or b not in DIGIT_WORDS:
        return None
    return (DIGIT_WORDS.index(a), DIGIT_WORDS.index(b)), (path_a, path_b)


def max_words():
    """The longest caption, in words: both digits bouncing, the longest
    phrases, the wordiest template."""
    longest = DIRECTION_PHRASES[3]  # "up and to the left"
    path = f"{longest} then {longest}"
    return max(len(caption((3, 7), (path, path), t).split())
               for t in range(len(TEMPLATES)))
