"""The lab report's experiments, reproduced: definitions, runs, reports.

``keras-vidrep experiment NAME --budget BUDGET`` (or ``run_experiment``)
trains every row, evaluates it on held-out sequences of the test digits and
regenerates ``experiments/NAME/BUDGET/report.md`` from the records.
"""

from keras_vidrep.experiments.definitions import EXPERIMENTS
from keras_vidrep.experiments.report import write_report
from keras_vidrep.experiments.runner import ExperimentError
from keras_vidrep.experiments.runner import run_experiment

__all__ = ["EXPERIMENTS", "ExperimentError", "run_experiment", "write_report"]
