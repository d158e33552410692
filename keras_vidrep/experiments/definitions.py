"""The lab report's experiments, as data: rows, budgets, claims.

Each experiment is a table of rows; a row is one model trained by
``keras_vidrep.training.trainer.train`` and evaluated autoregressively on held-out
sequences of the test digits. Nothing here runs anything: see
``keras_vidrep.experiments.runner``.

Source: the lab report on Srivastava, Mansimov & Salakhutdinov (2015) that
keras_vidrep reproduces (its Tables 1 and 2, Figures 6-8). Its numbers are
MSE per pixel; ours are per frame (summed over the 4096 pixels), so a report
value x 4096 is comparable with ours.
"""

import dataclasses
from typing import Callable
from typing import Optional

PIXELS = 64 * 64


@dataclasses.dataclass(frozen=True)
class Row:
    """One line of an experiment's table.

    Attributes:
        key: short identifier, used in folder names and ``--rows``.
        label: what the table shows.
        model: a ``keras_vidrep.models.VARIANTS`` name.
        overrides: ``VideoSeq2Seq`` arguments on top of the budget's sizes.
        target: the decoder whose metrics the row reports
            (``"reconstruction"`` or ``"future"``).
        reported: the lab report's MSE per pixel for this row, if any.
        group: rows of one group are alternative ways to train the same
            model (teacher forcing, scheduled sampling, free-running); a
            claim on the group compares each of its rows on its own.
        implausible_against: the key of a row whose lab-report figure
            ``reported`` contradicts (the report says so beside it).
    """

    key: str
    label: str
    model: str
    overrides: dict = dataclasses.field(default_factory=dict)
    target: str = "future"
    reported: Optional[float] = None
    group: Optional[str] = None
    implausible_against: Optional[str] = None


@dataclasses.dataclass(frozen=True)
class Budget:
    """How much training each row gets, and on what sizes.

    Attributes:
        name: ``--budget`` value.
        steps, batch_size: training steps of ``batch_size`` sequences.
        checkpoint_every: steps between checkpoints (resume points).
        eval_sequences: held-out sequences of the test digits per row.
        seeds: default seeds (each seed trains every row once).
        sizes: hidden sizes per cell type (``"fc"``, ``"conv"``) for rows
            that do not set their own.
        size_scale: multiplies every hidden size (smoke runs shrink them).
    """

    name: str
    steps: int
    batch_size: int
    checkpoint_every: int
    eval_sequences: int
    seeds: tuple
    sizes: dict
    size_scale: float = 1.0
    description: str = ""


@dataclasses.dataclass(frozen=True)
class Claim:
    """A question the experiment answers: is ``better`` (a row key or a
    group) lower than ``worse`` on ``metric``?"""

    question: str
    better: str
    worse: str
    metric: str = "frame_mse"


@dataclasses.dataclass(frozen=True)
class Experiment:
    """An experiment: its rows, training settings, budgets and claims.

    ``rows`` is a function of the budget, so that rows may depend on it
    (a scheduled-sampling decay spans the budget's steps).
    """

    name: str
    title: str
    question: str
    rows: Callable
    budgets: dict
    claims: tuple
    optimizer: str = "rmsprop"
    learning_rate: float = 1e-3
    loss: str = "cross_entropy"
    notes: str = ""


SMOKE = Budget("smoke", steps=4, batch_size=2, checkpoint_every=2,
               eval_sequences=20, seeds=(0,),
               sizes={"fc": [64], "conv": [8]}, size_scale=1 / 32,
               description="a check that everything runs, minutes; numbers "
                           "mean nothing")


def _units_rows(budget):
    return [Row(f"fc_{units}", f"FC-LSTM autoencoder, {units} units",
                "autoencoder_fc", {"hidden_sizes": [units]},
                target="reconstruction", reported=reported)
            for units, reported in ((500, 0.027440), (1500, 0.025928),
                                    (2500, 0.019883))]


def _cells_rows(budget):
    return [Row(f"{cell}", f"{word} autoencoder", f"autoencoder_{cell}",
                target="reconstruction")
            for cell, word in (("fc", "FC-LSTM"), ("conv", "ConvLSTM"))]


# How a conditional decoder can be trained (see
# keras_vidrep.models.teacher_forcing): name -> teacher_forcing for a budget.
# Scheduled sampling decays linearly to free-running over the first three
# quarters of the budget, then trains free-running, as the model is evaluated.
TRAINING_MODES = {
    "teacher forcing": lambda budget: True,
    "scheduled sampling": lambda budget: {
        "schedule": "linear", "decay_steps": max(1, 3 * budget.steps // 4)},
    "free-running": lambda budget: False,
}
_MODE_KEYS = {"teacher forcing": "tf", "scheduled sampling": "ss",
              "free-running": "fr"}


def _variants_rows(budget):
    rows = []
    for cell, word in (("fc", "FC"), ("conv", "Conv")):
        rows += [Row(f"predictor_{cell}", f"{word} Future Predictor",
                     f"predictor_{cell}", reported=0.02008 if cell == "fc"
                     else None),
                 # 12x below the lab report's own future predictor, and
                 # below every model we or the field trained (OpenSTL's best
                 # is 14.1 per frame): printed, flagged, not a target.
                 Row(f"composite_{cell}", f"{word} Composite Model",
                     f"composite_{cell}", reported=0.00172 if cell == "fc"
                     else None, implausible_against=(
                         f"predictor_{cell}" if cell == "fc" else None))]
        for kind, label in (("predictor", "Conditional Future Predictor"),
                            ("composite", "Composite Model with Conditional "
                                          "Future Predictor")):
            group = f"{kind}_{cell}_cond"
            rows += [Row(f"{group}_{_MODE_KEYS[mode]}",
                         f"{word} {label} ({mode})", group,
                         {"teacher_forcing": make(budget)}, group=group)
                     for mode, make in TRAINING_MODES.items()]
    return rows


def _variant_claims():
    claims = []
    for cell, word in (("fc", "FC"), ("conv", "Conv")):
        claims += [
            Claim(f"{word}: does the composite model predict the future better "
                  "than the future predictor?",
                  f"composite_{cell}", f"predictor_{cell}"),
            Claim(f"{word}: does conditioning help the future predictor?",
                  f"predictor_{cell}_cond", f"predictor_{cell}"),
            Claim(f"{word}: does conditioning help the composite model?",
                  f"composite_{cell}_cond", f"composite_{cell}"),
        ]
    return tuple(claims + [
        Claim("Does ConvLSTM beat FC-LSTM (composite model)?",
              "composite_conv", "composite_fc")])


def _cpu_budget(seeds, sizes=None, description="the 2-core CPU"):
    """600 steps of 16 sequences per row and seed, evaluated on 1,000."""
    return Budget("cpu", steps=600, batch_size=16, checkpoint_every=100,
                  eval_sequences=1000, seeds=seeds,
                  sizes=sizes or {"fc": [1024], "conv": [64, 64]},
                  description=description)


EXPERIMENTS = {
    "units": Experiment(
        "units", "FC-LSTM autoencoder: 500, 1500, 2500 units (Table 1, "
        "Figures 6 and 7)",
        "Do more LSTM units reconstruct better?",
        _units_rows,
        budgets={"smoke": SMOKE, "cpu": _cpu_budget(seeds=(0, 1))},
        claims=(Claim("Do 1500 units reconstruct better than 500?",
                      "fc_1500", "fc_500"),
                Claim("Do 2500 units reconstruct better than 1500?",
                      "fc_2500", "fc_1500")),
        # The lab report's optimizer and learning rate.
        optimizer="rmsprop", learning_rate=1e-4),
    "cells": Experiment(
        "cells", "FC-LSTM vs ConvLSTM autoencoder (Figure 8)",
        "Does a ConvLSTM autoencoder reconstruct better than an FC-LSTM one "
        "at the same training budget?",
        _cells_rows,
        # One seed: the ConvLSTM row costs 13 minutes a seed on the 2-core CPU.
        budgets={"smoke": SMOKE, "cpu": _cpu_budget(seeds=(0,))},
        claims=(Claim("Does ConvLSTM reconstruct better than FC-LSTM?",
                      "conv", "fc"),)),
    "variants": Experiment(
        "variants", "Future prediction of the model variants (Table 2)",
        "Which variant predicts the future best: future predictor, composite, "
        "and their conditional versions?",
        _variants_rows,
        budgets={"smoke": SMOKE,
                 # Sixteen rows: smaller models than the zoo's, so that the
                 # whole table trains in about an hour on the 2-core CPU.
                 "cpu": _cpu_budget(
                     seeds=(0,), sizes={"fc": [256], "conv": [32, 32]},
                     description="the 2-core CPU; FC-LSTM of 256 units, "
                                 "ConvLSTM of 32 + 32 filters")},
        claims=_variant_claims(),
        notes="Each conditional model is trained three ways (teacher forcing, "
              "scheduled sampling, free-running), and each way is compared "
              "on its own: taking the best of the three by its test score "
              "would give the group a selection advantage as large as the "
              "differences it is compared on. A scheduled-sampling row counts one more "
              "parameter per conditional decoder: the schedule's clock, a "
              "non-trainable step counter. The lab report does not say "
              "which cell its Table 2 used; its numbers stand beside the FC "
              "rows."),
}


def rows_of(experiment, budget):
    """The rows of ``experiment`` under ``budget``, model sizes resolved:
    ``(row, model_overrides)`` pairs."""
    from keras_vidrep.models import VARIANTS

    resolved = []
    for row in experiment.rows(budget):
        cell = VARIANTS[row.model]["cell"]
        overrides = {"hidden_sizes": budget.sizes[cell], **row.overrides}
        overrides["hidden_sizes"] = [max(2, round(size * budget.size_scale))
                                     for size in overrides["hidden_sizes"]]
        resolved.append((row, overrides))
    return resolved
