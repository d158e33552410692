"""Scores of multi-label predictions (numpy).

Both tasks are multi-label with one or two positives per clip, so the
headline ``accuracy`` is top-k recall: the fraction of a clip's true classes
among its k highest-scored classes, k being its number of true classes,
averaged over clips (chance: about 2/10 for digits, 2/8 for motion). Mean
average precision ranks each class over the clips and does not depend on a
threshold.
"""

import numpy as np

from keras_vidrep._validation import InputError


def _checked(scores, targets):
    scores = np.asarray(scores, dtype=np.float64)
    targets = np.asarray(targets) > 0.5
    if scores.shape != targets.shape or scores.ndim != 2:
        raise InputError(
            "`scores` and `targets` must both have shape (clips, classes). "
            f"Received: scores of shape {scores.shape}, targets of shape "
            f"{targets.shape}")
    return scores, targets


def top_k_recall(scores, targets):
    """Mean over clips of (true classes among the top k) / k, k = true
    classes of the clip (clips with none are left out)."""
    scores, targets = _checked(scores, targets)
    positives = targets.sum(1)
    keep = positives > 0
    scores, targets, positives = scores[keep], targets[keep], positives[keep]
    ranks = np.argsort(np.argsort(-scores, axis=1, kind="stable"), axis=1)
    found = (targets & (ranks < positives[:, None])).sum(1)
    return float(np.mean(found / positives))


def average_precision(scores, targets):
    """Average precision of one class: ``scores``, ``targets`` (clips,)."""
    order = np.argsort(-np.asarray(scores, np.float64), kind="stable")
    hits = np.asarray(targets)[order] > 0.5
    if not hits.any():
        return float("nan")
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float(precision[hits].mean())


def mean_average_precision(scores, targets):
    """Mean over classes (with at least one positive) of average precision."""
    scores, targets = _checked(scores, targets)
    values = [average_precision(scores[:, k], targets[:, k])
              for k in range(scores.shape[1]) if targets[:, k].any()]
    return float(np.mean(values))


def score(scores, targets):
    """``{"accuracy": top-k recall, "mean_average_precision": mAP}``."""
    return {"accuracy": top_k_recall(scores, targets),
            "mean_average_precision": mean_average_precision(scores, targets)}
