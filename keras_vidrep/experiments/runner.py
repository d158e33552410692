"""Running an experiment: every row and seed trained, evaluated, recorded.

Each (row, seed) is one ``keras_vidrep.training.trainer.train`` run in the work
folder (``runs/experiments/NAME/BUDGET/ROW/seed-S``: weights, checkpoints,
never committed), resumable like any training run: rerun the same command
and finished rows are skipped, unfinished ones resume from their last
checkpoint. A finished row is evaluated autoregressively on held-out
sequences of the test digits, next to the trivial baselines, and recorded in
``experiments/NAME/BUDGET/records/ROW-seedS/``:

- ``run.json`` and ``history.csv``: the training run's own files;
- ``record.json``: parameters, the evaluation, wall time of each part of the
  training, machine, precision and the command that reproduces the row;
- ``strip.png``: the row's output on the first test sequence.

The report (``report.md`` and its figures) is then regenerated from the
records alone (``keras_vidrep.experiments.report``).
"""

import json
import os
import shutil
import sys
import time
from pathlib import Path

from keras_vidrep._logging import many_models
from keras_vidrep._validation import InputError
from keras_vidrep._validation import check_writable_folder
from keras_vidrep._validation import look_up
from keras_vidrep.experiments.definitions import EXPERIMENTS
from keras_vidrep.experiments.definitions import rows_of
from keras_vidrep.training.provenance import machine_description

# The held-out sequences every row is evaluated on (test digits).
EVALUATION_SEED = 1234


class ExperimentError(InputError):
    """An experiment cannot run as asked."""


def get_experiment(name, budget):
    experiment = look_up(EXPERIMENTS, name, f"Unknown experiment {name!r}",
                         "names", error=ExperimentError)
    return experiment, look_up(
        experiment.budgets, budget,
        f"Experiment {name!r} has no budget {budget!r}", "budgets",
        error=ExperimentError)


def record_folder(records_root, experiment, budget, row, seed):
    return (Path(records_root) / experiment.name / budget.name / "records"
            / f"{row.key}-seed{seed}")


def reproduce_command(experiment, budget, row, seed):
    return (f"keras-vidrep experiment {experiment.name} --budget {budget.name} "
            f"--rows {row.key} --seeds {seed}")


def run_row(experiment, budget, row, overrides, seed, *, records_root,
            workdir, digits=None):
    """Trains (or resumes), evaluates and records one row for one seed.

    Returns the record folder; a row already recorded is left as it is.
    """
    import keras

    from keras_vidrep.training.checkpoints import atomic_write
    from keras_vidrep.training.checkpoints import read_run_record
    from keras_vidrep.data import bouncing_digits_eval
    from keras_vidrep.evaluation.baselines import evaluate_model
    from keras_vidrep.training.trainer import train
    from keras_vidrep.evaluation.visualize import panels
    from keras_vidrep.evaluation.visualize import save_strip

    folder = record_folder(records_root, experiment, budget, row, seed)
    if (folder / "record.json").is_file():
        return folder
    out = Path(workdir) / experiment.name / budget.name / row.key / f"seed{seed}"
    parts_path = out / "parts.json"
    parts = json.loads(parts_path.read_text()) if parts_path.is_file() else []
    keras.backend.clear_session()  # one process trains many rows
    started = time.time()
    model = train(row.model, steps=budget.steps, batch_size=budget.batch_size,
                  learning_rate=experiment.learning_rate,
                  optimizer=experiment.optimizer, loss=experiment.loss,
                  out=str(out), digits=digits, seed=seed,
                  checkpoint_every=budget.checkpoint_every,
                  model_overrides=overrides,
                  verbose=2)
    parts.append({"seconds": round(time.time() - started, 1),
                  "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
                  "machine": machine_description(),
                  "precision": read_run_record(out).get("precision",
                                                        "float32"),
                  "backend": keras.backend.backend()})
    parts_path.write_text(json.dumps(parts, indent=2))

    print(f"[{experiment.name}/{budget.name}] evaluating {row.key} seed {seed} "
          f"on {budget.eval_sequences} held-out sequences ...", flush=True)
    clips = bouncing_digits_eval(budget.eval_sequences, seed=EVALUATION_SEED,
                                 batch_size=50, source=digits,
                                 num_frames=model.clip_frames,
                                 frame_size=model.frame_size)
    evaluation = evaluate_model(model, clips)
    folder.mkdir(parents=True, exist_ok=True)
    first = next(iter(bouncing_digits_eval(1, seed=EVALUATION_SEED,
                                           source=digits,
                                           num_frames=model.clip_frames)))
    save_strip(panels(model, first[0]), folder / "strip.png")
    for name in ("run.json", "history.csv"):
        shutil.copyfile(out / name, folder / name)
    record = {
        "experiment": experiment.name, "budget": budget.name,
        "row": row.key, "seed": seed, "model": row.model,
        "model_overrides": overrides, "parameters": model.count_params(),
        "steps": budget.steps, "batch_size": budget.batch_size,
        "optimizer": experiment.optimizer,
        "learning_rate": experiment.learning_rate, "loss": experiment.loss,
        "training_parts": parts,
        "wall_seconds": round(sum(p["seconds"] for p in parts), 1),
        "evaluation_seed": EVALUATION_SEED, "bounce": "clamp",
        "evaluation": evaluation,
        "command": reproduce_command(experiment, budget, row, seed),
    }
    # Written last, whole or not at all: its presence marks the row as done.
    atomic_write(folder / "record.json", json.dumps(record, indent=1))
    return folder


def run_experiment(name, budget="smoke", *, seeds=None, rows=None,
                   records_root="experiments",
                   workdir=os.path.join("runs", "experiments"), digits=None):
    """Runs (or resumes) an experiment and regenerates its report.

    Args:
        name: one of ``EXPERIMENTS``.
        budget: one of the experiment's budgets (``"smoke"``, ``"cpu"``).
        seeds: seeds to run (default: the budget's).
        rows: row keys to run (default: all).
        records_root: where records and reports go (``experiments/``).
        workdir: where the training runs (weights) go.
        digits: MNIST location, see ``load_mnist_digits``.

    Returns:
        The path of the report.
    """
    from keras_vidrep.experiments.report import write_report

    experiment, chosen = get_experiment(name, budget)
    resolved = rows_of(experiment, chosen)
    keys = [row.key for row, _ in resolved]
    unknown = sorted(set(rows or ()) - set(keys))
    if unknown:
        raise ExperimentError(f"Unknown rows {unknown} for experiment {name!r}."
                              f" Valid rows: {', '.join(keys)}.")
    seeds = list(chosen.seeds if seeds is None else seeds)
    check_writable_folder(records_root, "records_root (--out)")
    check_writable_folder(workdir, "workdir (--workdir)")
    todo = [(row, overrides, seed) for seed in seeds
            for row, overrides in resolved if not rows or row.key in rows]
    for index, (row, overrides, seed) in enumerate(todo, 1):
        print(f"[{name}/{chosen.name}] {index}/{len(todo)}: {row.key} "
              f"seed {seed} ({row.model}, {overrides})", flush=True)
        with many_models():
            run_row(experiment, chosen, row, overrides, seed,
                    records_root=records_root, workdir=workdir, digits=digits)
        sys.stdout.flush()
    return write_report(name, chosen.name, records_root=records_root)
