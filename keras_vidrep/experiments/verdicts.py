"""The one rule by which every experiment answers its questions.

A difference between two rows is called only when the seeds separate it;
otherwise the answer is "undecided at this budget". The rule, written out
in every report as ``RULE``:

- at least two seeds on each side;
- every seed of one side beyond every seed of the other;
- the difference of the means more than twice the pooled standard
  deviation of the seeds.

One seed a side never decides: the seed spread measured in the ``units``
experiment (0.4-0.9 MSE per frame) is as large as most of the differences
between rows.
"""

import math
import statistics

RULE = ("A verdict is yes or no only when the seeds separate the two sides: "
        "at least two seeds a side, every seed of one side beyond every seed "
        "of the other, and the difference of the means more than twice the "
        "pooled standard deviation of the seeds. Otherwise it is "
        "\"undecided at this budget\".")
UNDECIDED = "undecided at this budget"


def pooled_sd(first, second):
    """The pooled standard deviation of two samples of two or more."""
    degrees = len(first) + len(second) - 2
    return math.sqrt(((len(first) - 1) * statistics.variance(first)
                      + (len(second) - 1) * statistics.variance(second))
                     / degrees)


def separate(better, worse, higher_is_better=False):
    """Whether ``better`` beats ``worse``, by ``RULE``.

    Args:
        better, worse: per-seed values of the two sides.
        higher_is_better: the metric's direction (accuracy: True; MSE:
            False).

    Returns:
        ``(answer, reason)``: answer ``"yes"``, ``"no"`` or ``UNDECIDED``;
        reason a few words on why.
    """
    if not better or not worse:
        raise ValueError("Each side needs at least one seed. Received: "
                         f"better={better!r}, worse={worse!r}")
    if min(len(better), len(worse)) < 2:
        return UNDECIDED, "one seed"
    if higher_is_better:
        ahead, behind = min(better) > max(worse), max(better) < min(worse)
    else:
        ahead, behind = max(better) < min(worse), min(better) > max(worse)
    if not (ahead or behind):
        return UNDECIDED, "the seeds overlap"
    difference = abs(statistics.mean(better) - statistics.mean(worse))
    if difference <= 2 * pooled_sd(better, worse):
        return UNDECIDED, "within twice the seed spread"
    return ("yes" if ahead else "no"), "every seed"
