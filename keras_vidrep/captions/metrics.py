"""Scores of generated captions against the clips' references and truth.

- ``bleu4``: corpus BLEU-4 of ``sacrebleu`` (0-100) against every clip's
  references (each template, both digit orders);
- ``exact_match``: share of captions that are one of their references;
- ``well_formed``: share the grammar can parse (``parse_caption``);
- ``digit_accuracy``: share of the digits named right (the multiset of the
  two digits against the truth's, order-free);
- ``path_accuracy``: share of the digits whose path (direction, and after a
  bounce the new direction) is right, for the digit of that class;
- ``content``: the mean of the two, what a caption gets right: the score
  captioners are compared and promoted on (BLEU-4 rewards the template's
  words, which a caption that saw nothing writes too: see
  ``keras_vidrep.captions.baselines``);
both slot accuracies count an unparseable caption as all wrong;
- ``meteor``: METEOR 1.5 (0-1), the jar that ``pycocoevalcap`` ships, run
  by the machine's Java; ``None`` where there is no ``java`` to run it;
- ``cider_d``: CIDEr-D (0-10) of ``pycocoevalcap`` (coco-caption's Cider:
  tf-idf n-grams with the document frequencies of the clips' references,
  clipped counts and a length penalty), pure Python.
Both read every clip's references, as BLEU-4 does.
"""

import atexit
import functools
import shutil
from collections import Counter

from keras_vidrep._validation import InputError
from keras_vidrep.captions.grammar import parse_caption


def score_of(scores, metric):
    """``scores[metric]`` of a ``caption_scores`` record; ``content`` from
    its two parts in a record written before it was recorded."""
    if metric == "content" and metric not in scores:
        return (scores["digit_accuracy"] + scores["path_accuracy"]) / 2
    return scores.get(metric)  # None: not in a record of before it was


@functools.lru_cache(maxsize=None)
def _meteor_scorer():
    """One METEOR process for the interpreter (it takes seconds to start:
    it loads its paraphrase tables), ended at exit."""
    from pycocoevalcap.meteor.meteor import Meteor

    scorer = Meteor()
    atexit.register(scorer.meteor_p.kill)
    return scorer


def meteor(generated, references):
    """METEOR 1.5 of ``generated`` against ``references`` (as
    ``caption_scores`` takes them), 0-1; ``None`` without Java."""
    if shutil.which("java") is None:
        return None
    # METEOR's protocol separates fields with '|||' and reads one line.
    clean = [" ".join(text.replace("|||", " ").split()) or "-"
             for text in generated]
    score, _ = _meteor_scorer().compute_score(
        {i: list(refs) for i, refs in enumerate(references)},
        {i: [text] for i, text in enumerate(clean)})
    return score


def cider_d(generated, references):
    """CIDEr-D of ``generated`` against ``references``, 0-10."""
    from pycocoevalcap.cider.cider import Cider

    score, _ = Cider().compute_score(
        {i: list(refs) for i, refs in enumerate(references)},
        {i: [text] for i, text in enumerate(generated)})
    return float(score)


def _overlap(a, b):
    return sum((Counter(a) & Counter(b)).values())


def caption_scores(generated, references):
    """Scores of ``generated`` (a list of strings) against ``references``
    (a list, per clip, of the grammar's captions of the clip; the first
    gives the truth of the slots)."""
    import sacrebleu

    if len(generated) != len(references) or not generated:
        raise InputError(
            "Expected one generated caption per clip, and at least one clip. "
            f"Received: {len(generated)} captions for {len(references)} "
            "clips")
    streams = [list(stream) for stream in zip(*references)]
    bleu = sacrebleu.corpus_bleu(list(generated), streams)
    digits = paths = parsed_count = exact = 0
    for text, refs in zip(generated, references):
        exact += text in refs
        truth_digits, truth_paths = parse_caption(refs[0])
        parsed = parse_caption(text)
        if parsed is None:
            continue
        parsed_count += 1
        digits += _overlap(parsed[0], truth_digits)
        paths += _overlap(zip(*parsed), zip(truth_digits, truth_paths))
    clips = len(generated)
    return {"bleu4": bleu.score, "exact_match": exact / clips,
            "well_formed": parsed_count / clips,
            "digit_accuracy": digits / (2 * clips),
            "path_accuracy": paths / (2 * clips),
            "content": (digits + paths) / (4 * clips),
            "meteor": meteor(generated, references),
            "cider_d": cider_d(generated, references), "clips": clips}
