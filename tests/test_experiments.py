"""Experiments of the lab report: definitions, runs, reports from records."""

import importlib
import json
from pathlib import Path

import pytest

from keras_vidrep.experiments import EXPERIMENTS
from keras_vidrep.experiments import STANDALONE_EXPERIMENTS
from keras_vidrep.experiments.definitions import TRAINING_MODES
from keras_vidrep.experiments.definitions import rows_of
from keras_vidrep.experiments.report import judge
from keras_vidrep.experiments.report import render_report
from keras_vidrep.models import VARIANTS

from tests.helpers import REPO
from tests.helpers import run_cli


@pytest.mark.parametrize("name", sorted(EXPERIMENTS))
def test_definitions_are_consistent(name):
    experiment = EXPERIMENTS[name]
    assert {"smoke", "cpu"} <= set(experiment.budgets)
    for budget in experiment.budgets.values():
        resolved = rows_of(experiment, budget)
        keys = [row.key for row, _ in resolved]
        assert len(keys) == len(set(keys))
        groups = {row.group for row, _ in resolved if row.group}
        for row, overrides in resolved:
            assert row.model in VARIANTS
            assert row.target in ("reconstruction", "future")
            assert all(size >= 2 for size in overrides["hidden_sizes"])
        for claim in experiment.claims:
            assert {claim.better, claim.worse} <= set(keys) | groups
        for group in groups:  # every conditional model, every training mode
            members = [row for row, _ in resolved if row.group == group]
            assert len(members) == len(TRAINING_MODES)


def test_variants_fill_both_conditional_rows_in_three_ways():
    experiment = EXPERIMENTS["variants"]
    budget = experiment.budgets["cpu"]
    rows = {row.key: (row, overrides)
            for row, overrides in rows_of(experiment, budget)}
    for cell in ("fc", "conv"):
        for kind in ("predictor", "composite"):
            modes = [rows[f"{kind}_{cell}_cond_{m}"][1]["teacher_forcing"]
                     for m in ("tf", "ss", "fr")]
            assert modes[0] is True and modes[2] is False
            assert modes[1] == {"schedule": "linear",
                                "decay_steps": 3 * budget.steps // 4}
    # Same encoder size in every row of a cell type.
    sizes = {VARIANTS[row.model]["cell"]: [] for row, _ in rows.values()}
    for row, overrides in rows.values():
        sizes[VARIANTS[row.model]["cell"]].append(overrides["hidden_sizes"])
    assert all(len({tuple(s) for s in v}) == 1 for v in sizes.values())


@pytest.mark.parametrize("better, worse, verdict", [
    ([1.0, 1.2], [2.0, 2.2], "yes (-47.6%; every seed)"),
    ([2.0, 2.2], [1.0, 1.2], "no (+90.9%; every seed)"),
    ([1.0, 2.0], [1.5, 2.5],
     "undecided at this budget (-25.0%; the seeds overlap)"),
    # Every seed below, but by less than twice the seed spread.
    ([1.0, 1.9], [2.0, 2.9],
     "undecided at this budget (-40.8%; within twice the seed spread)"),
    # A large difference on one seed still decides nothing.
    ([1.0], [2.0], "undecided at this budget (-50.0%; one seed)"),
    ([1.0, 1.2], [2.0, 2.2],
     ("undecided at this budget (-47.6%; every seed; not converged: a)",
      ["a"])),
])
def test_verdicts(better, worse, verdict):
    verdict, unconverged = (verdict if isinstance(verdict, tuple)
                            else (verdict, ()))
    assert judge(better, worse, unconverged=unconverged) == verdict


def test_the_rule_reads_the_metric_direction():
    from keras_vidrep.experiments.verdicts import separate

    assert separate([0.8, 0.81], [0.5, 0.52], higher_is_better=True) == (
        "yes", "every seed")
    assert separate([0.8, 0.81], [0.5, 0.52])[0] == "no"
    with pytest.raises(ValueError, match="Received: better=\\[\\]"):
        separate([], [1.0])


def test_a_report_compares_each_training_regime_and_flags_a_doubtful_figure():
    """A claim on a conditional model answers per regime (never for the
    best of three by test score); an unconverged row is undecided; the lab
    report's composite figure is flagged."""
    report = (REPO / "experiments/variants/cpu/report.md").read_text()
    assert "Best training" not in report
    for regime in ("teacher forcing", "scheduled sampling", "free-running"):
        assert (f"Conv: does conditioning help the future predictor? "
                f"[{regime}] **undecided at this budget") in report
    assert "| no: not converged |" in report
    assert "11.7x below its own FC Future Predictor" in report


def test_smoke_run_records_reports_and_resumes(tmp_path, mnist_dir):
    common = ["experiment", "cells", "--budget", "smoke", "--out",
              str(tmp_path / "experiments"), "--workdir", str(tmp_path / "runs")]
    result = run_cli(mnist_dir, *common, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    folder = tmp_path / "experiments" / "cells" / "smoke"
    for row in ("fc", "conv"):
        records = folder / "records" / f"{row}-seed0"
        for name in ("record.json", "run.json", "history.csv", "strip.png"):
            assert (records / name).is_file(), name
        record = json.loads((records / "record.json").read_text())
        assert record["evaluation"]["sequences"] == 20
        assert record["bounce"] == "clamp" and record["wall_seconds"] > 0
        # Trained on the budget's sizes, scaled down for the smoke run.
        assert record["model_overrides"]["hidden_sizes"] == [2]
    report = (folder / "report.md").read_text()
    assert (folder / "loss_curves.png").is_file()
    assert "FC-LSTM autoencoder [reconstruction]" in report
    assert "ConvLSTM autoencoder [reconstruction]" in report
    assert "Does ConvLSTM reconstruct better than FC-LSTM? **" in report
    assert "Not run yet" not in report
    # Rerun: every row is recorded, nothing trains again.
    again = run_cli(mnist_dir, *common, timeout=600)
    assert again.returncode == 0 and "Epoch" not in again.stdout
    assert render_report("cells", "smoke", tmp_path / "experiments") == report


@pytest.mark.parametrize("argv, message", [
    (["experiment", "sizes"], "invalid choice: 'sizes'"),
    (["experiment", "units", "--budget", "gpu"],
     "has no budget 'gpu'. Valid budgets: cpu, smoke"),
    (["experiment", "units", "--rows", "fc_9"], "Unknown rows ['fc_9']"),
])
def test_bad_experiment_arguments(argv, message, tmp_path, mnist_dir):
    result = run_cli(mnist_dir, *argv, "--out", str(tmp_path))
    assert result.returncode == 2
    assert message in result.stderr
    assert not any(tmp_path.iterdir())  # nothing written


@pytest.mark.slow
def test_variants_smoke_fills_every_row(tmp_path, mnist_dir):
    result = run_cli(mnist_dir, "experiment", "variants", "--budget", "smoke",
                     "--out", str(tmp_path / "experiments"), "--workdir",
                     str(tmp_path / "runs"), timeout=1200)
    assert result.returncode == 0, result.stderr[-3000:]
    report = (tmp_path / "experiments" / "variants" / "smoke"
              / "report.md").read_text()
    assert "Not run yet" not in report and "not answered yet" not in report
    for label in ("Conditional Future Predictor (scheduled sampling)",
                  "Composite Model with Conditional Future Predictor "
                  "(free-running)"):
        assert label in report


COMMITTED = sorted((REPO / "experiments").glob("*/*/report.md"))


@pytest.mark.parametrize("path", COMMITTED,
                         ids=[str(p.relative_to(REPO)) for p in COMMITTED])
def test_committed_reports_are_generated_from_their_records(path):
    name, budget = path.parent.parent.name, path.parent.name
    if name in STANDALONE_EXPERIMENTS:
        module = importlib.import_module(STANDALONE_EXPERIMENTS[name])
        text = module.render_report(budget, REPO / "experiments")
    else:
        text = render_report(name, budget, REPO / "experiments")
    assert text == path.read_text()
