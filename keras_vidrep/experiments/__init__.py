"""The lab report's experiments, reproduced: definitions, runs, reports.

``keras-vidrep experiment NAME --budget BUDGET`` (or ``run_experiment``)
trains every row, evaluates it on held-out sequences of the test digits and
regenerates ``experiments/NAME/BUDGET/report.md`` from the records.
``representations`` measures the encoders on recognition instead
(``keras_vidrep.experiments.representations``), ``captions`` the S2VT
captioner's ablations (``keras_vidrep.experiments.captions``).
"""

from keras_vidrep.experiments.definitions import EXPERIMENTS
from keras_vidrep.experiments.report import write_report
from keras_vidrep.experiments.runner import ExperimentError
from keras_vidrep.experiments.runner import run_experiment

# Experiments with runners of their own: name -> module with ``run(budget,
# **options)`` (its ``RUN_OPTIONS`` name the options it takes),
# ``write_report(budget, records_root=)``, ``render_report`` and ``BUDGETS``.
STANDALONE_EXPERIMENTS = {
    "representations": "keras_vidrep.experiments.representations",
    "captions": "keras_vidrep.experiments.captions",
}

__all__ = ["EXPERIMENTS", "ExperimentError", "STANDALONE_EXPERIMENTS",
           "run_experiment", "write_report"]
