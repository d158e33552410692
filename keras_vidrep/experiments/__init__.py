"""The lab report's experiments, reproduced: definitions, runs, reports.

``keras-vidrep experiment NAME --budget BUDGET`` (or ``run_experiment``)
trains every row, evaluates it on held-out sequences of the test digits and
regenerates ``experiments/NAME/BUDGET/report.md`` from the records.
``representations`` measures the encoders on recognition instead
(``keras_vidrep.experiments.representations``).
"""

from keras_vidrep.experiments.definitions import EXPERIMENTS
from keras_vidrep.experiments.report import write_report
from keras_vidrep.experiments.runner import ExperimentError
from keras_vidrep.experiments.runner import run_experiment

# Experiments that are not tables of training runs: name -> module with
# ``run(budget, seeds=, rows=, records_root=, digits=)``, ``write_report(
# budget, records_root=)`` and ``BUDGETS``.
PROBE_EXPERIMENTS = {"representations": "keras_vidrep.experiments.representations"}

__all__ = ["EXPERIMENTS", "ExperimentError", "PROBE_EXPERIMENTS",
           "run_experiment", "write_report"]
