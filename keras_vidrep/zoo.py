"""The model zoo: named presets, pretrained weights, ``load``.

Every name of ``keras_vidrep.models.VARIANTS`` is a preset. ``PRESETS``
(read on first use from the table that ships with the package, see
``keras_vidrep.presets``) maps it to its builder configuration (the zoo's
sizes, chosen for the 200 MiB budget of ``saved_models/``), its training
recipe (the exact ``keras-vidrep train`` commands), parameter count, the
sha256 of its weights and its evaluation summary; the weights are found or
fetched by ``keras_vidrep.presets.resolve``. In the checkout, evaluation
results live in ``zoo/evaluations/NAME.json``, written by ``keras-vidrep
evaluate NAME --json``; ``keras-vidrep presets`` regenerates the table and
the preset directories' ``config.json`` and ``metadata.json``, and
``keras-vidrep card NAME`` the model cards in ``zoo/cards/NAME.md``.

Sizes, for the 200 MiB budget of ``saved_models/``, which holds every model
twice (the weights file and the SavedModel's variables, 8 bytes a
parameter): conv models use two ConvLSTM layers of 64 filters (3x3) on 4x4
patches (0.9-1.4M parameters); fc models one ``PeepholeLSTM`` of 128 units,
64 for the conditional ones, whose decoders also read the 4096-pixel frame
(2.4-3.7M parameters). The whole zoo is then about 25M parameters, about
190 MiB; the paper's 2048 units would need about 140 MB for one composite
model.
"""

import json
import os
import zipfile
from pathlib import Path

from keras_vidrep._validation import InputError
from keras_vidrep.models import VARIANTS
from keras_vidrep.models import build_model
from keras_vidrep.models import compile_model
from keras_vidrep.models import describe
from keras_vidrep.models.video_seq2seq import KINDS as KINDS_TARGETS

ROOT = Path(__file__).resolve().parents[1]
SAVED_MODELS_ENV = "KERAS_VIDREP_SAVED_MODELS"
WEIGHTS_FILE = "model.weights.h5"

_CONV = {"hidden_sizes": [64, 64], "kernel_size": 3, "patch_size": 4}
# (cell, conditional) -> builder configuration. A conditional fc decoder reads
# the 4096-pixel previous frame, a 4096 x 4u kernel per decoder: 64 units
# there. Its decoders are trained free-running (teacher_forcing=False: they
# read their own previous prediction in training too, as at inference):
# teacher-forced, they did not beat the trivial baselines when run
# autoregressively (future MSE per frame 210.5 and 195.1 against 188.4 after
# 3,000 steps of 16), the gap between the two regimes being widest for a
# small fully-connected decoder.
_ZOO_SIZES = {("conv", False): _CONV, ("conv", True): _CONV,
              ("fc", False): {"hidden_sizes": [128]},
              ("fc", True): {"hidden_sizes": [64], "teacher_forcing": False}}


def _sizes(name):
    return _ZOO_SIZES[VARIANTS[name]["cell"], VARIANTS[name]["conditional"]]
# The planned budget of a model not trained yet, in steps of batch 16.
_PLANNED_STEPS = 3000


def run_stages(name):
    """The records of the runs that made the artifact, first to last, as
    ``(record, folder)`` pairs; ``[]`` for a model not trained yet.

    ``zoo/runs/NAME/`` holds the last run's ``run.json`` (copied from the
    run's own) and ``history.csv``. A run that fine-tuned the weights of an
    earlier one (``keras-vidrep train --initial-weights``) names, in
    ``starts_from``, the subfolder that holds that earlier run's record.
    """
    stages, folder = [], ROOT / "zoo" / "runs" / name
    while (folder / "run.json").is_file():
        record = json.loads((folder / "run.json").read_text())
        stages.insert(0, (record, folder))
        if not record.get("starts_from"):
            break
        folder = folder / record["starts_from"]
    return stages


def _train_command(name, run):
    settings = " ".join(
        f"--set {key}={json.dumps(value, separators=(',', ':'))}"
        for key, value in run["model_overrides"].items())
    backend = f"KERAS_BACKEND={run['backend']} " if run.get("backend") else ""
    command = (f"{backend}keras-vidrep train {name} --steps {run['steps']} "
               f"--batch-size {run['batch_size']} --learning-rate "
               f"{run['learning_rate']} --optimizer {run['optimizer']} --loss "
               f"{run['loss']} --seed {run['seed']} --checkpoint-every "
               f"{run['checkpoint_every']} {settings}")
    if run.get("out"):
        command += f" --out {run['out']}"
    if run.get("initial_weights"):
        command += f" --initial-weights {run['initial_weights']}"
    return command


def _recipe(name):
    """The exact ``keras-vidrep train`` commands of the artifact, one line per
    run, from its run records; for a model not trained yet, the planned
    command."""
    runs = [record for record, _ in run_stages(name)] or [{
        "steps": _PLANNED_STEPS, "batch_size": 16, "learning_rate": 0.001,
        "optimizer": "rmsprop", "loss": "cross_entropy", "seed": 0,
        "checkpoint_every": 100, "model_overrides": _sizes(name)}]
    return "\n".join(_train_command(name, run) for run in runs)


def _trained(stages):
    """The runs' budgets, e.g. '9,000 steps x 32 + 30,000 steps x 32'."""
    return " + ".join(f"{run['steps']:,} steps x {run['batch_size']}"
                      for run, _ in stages)


def table_entry(name):
    """What the preset table (``keras_vidrep/zoo_presets.json``) holds for
    ``name``, computed from the builder, the run records, the weights and
    the evaluation; ``keras-vidrep presets`` writes it."""
    from keras_vidrep.presets import sha256

    artifact = saved_models_dir() / name / WEIGHTS_FILE
    report = _evaluation(name)
    summary = None
    if report:
        results = report["bouncing_digits_test"]
        summary = {"sequences": results["sequences"],
                   # Records from before the clamp rule used mirror physics.
                   "bounce": report.get("bounce", "mirror"), **{
            target: {"frame_mse": results[target]["model"]["frame_mse"]["mean"],
                     "best_baseline_frame_mse": min(
                         v["frame_mse"]["mean"] for k, v in
                         results[target].items() if k != "model")}
            for target in ("future", "reconstruction") if target in results}}
    return {"description": describe(name), "config": dict(_sizes(name)),
            "recipe": _recipe(name),
            "parameters": build_model(name, **_sizes(name)).count_params(),
            "sha256": sha256(artifact) if artifact.is_file() else None,
            "evaluation": summary}


def write_presets():
    """Writes the preset table and each preset directory's ``config.json``
    and ``metadata.json`` (from the table and the weights); returns the
    paths written."""
    from keras_vidrep import presets

    table = {name: table_entry(name) for name in VARIANTS}
    presets.TABLE_FILE.write_text(json.dumps(table, indent=1) + "\n")
    presets.preset_table.cache_clear()
    written = [presets.TABLE_FILE]
    for name in VARIANTS:
        weights = saved_models_dir() / name / WEIGHTS_FILE
        if weights.is_file():
            for file_name, text in presets.preset_files(name, weights).items():
                (weights.parent / file_name).write_text(text)
                written.append(weights.parent / file_name)
    return written


def _presets():
    from keras_vidrep.presets import preset_table

    return {name: {**entry,
                   "artifact": f"saved_models/{name}/{WEIGHTS_FILE}",
                   "evaluation": f"zoo/evaluations/{name}.json",
                   "card": f"zoo/cards/{name}.md"}
            for name, entry in preset_table().items()}


def __getattr__(name):
    # PRESETS is read from the packaged table on first use, not at import.
    if name == "PRESETS":
        return _presets()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def saved_models_dir():
    """``$KERAS_VIDREP_SAVED_MODELS``, else ``saved_models/`` of the checkout."""
    return Path(os.environ.get(SAVED_MODELS_ENV, ROOT / "saved_models"))


def list_models():
    """The zoo's model names."""
    return list(VARIANTS)


def _check_name(name):
    if name not in VARIANTS:
        raise InputError(f"Unknown model {name!r}. Valid names: "
                         f"{', '.join(sorted(VARIANTS))}.")


def weights_path(name):
    """The pretrained weights file of ``name``, found or fetched (see
    ``keras_vidrep.presets.resolve``)."""
    from keras_vidrep.presets import resolve

    _check_name(name)
    return resolve(name) / WEIGHTS_FILE


def build_preset(name):
    """The preset's architecture with fresh weights."""
    from keras_vidrep.presets import preset_table

    _check_name(name)
    return build_model(name, **preset_table()[name]["config"])


def load(name_or_path, weights="pretrained", compile=True):
    """A ready ``keras.Model``: a zoo name, a ``.keras`` file or a run folder.

    Args:
        name_or_path: a zoo name (``list_models()``), a path to a
            ``.keras`` file, or a folder written by ``keras-vidrep train``
            (its ``model.keras``).
        weights: ``"pretrained"`` (the trained weights) or ``None`` (the
            same architecture with fresh weights).
        compile: compile with the zoo's loss and metrics, ready for
            ``evaluate`` and ``fit`` (fine-tuning).

    Raises:
        ValueError: unknown name (lists the valid ones) or bad ``weights``.
        FileNotFoundError: the artifact is missing (names the file).
        OSError: the artifact cannot be read (names the file and why).

    Loading never enables unsafe deserialization (``safe_mode=True``).
    """
    import keras

    if weights not in ("pretrained", None):
        raise InputError("`weights` must be 'pretrained' or None. "
                         f"Received: weights={weights!r}")
    path = Path(name_or_path)
    if path.is_dir() and (path / "config.json").is_file():
        # A preset directory: config.json (the builder's arguments and the
        # variant's name) beside model.weights.h5.
        config = json.loads((path / "config.json").read_text())
        name = config.pop("name")
        _check_name(name)
        model = build_model(name, **config)
        if weights == "pretrained":
            _load_weights_file(model, path / WEIGHTS_FILE)
        return compile_model(model) if compile else model
    if path.is_dir() and (path / "model.keras").is_file():
        path = name_or_path = path / "model.keras"  # a training run's folder
    if str(name_or_path).endswith(".keras") or path.is_file():
        if not path.is_file():
            raise FileNotFoundError(f"No model file at {path}.")
        if not zipfile.is_zipfile(path):
            raise OSError(f"Cannot read the model file {path}: it is damaged "
                          "or truncated (a .keras file is a zip archive).")
        try:
            model = keras.saving.load_model(path, compile=False, safe_mode=True)
        except Exception as error:
            raise OSError(f"Cannot read the model file {path}: "
                          f"{type(error).__name__}: {error}") from error
        if weights is None:
            model = type(model).from_config(model.get_config())
    else:
        model = build_preset(name_or_path)
        if weights == "pretrained":
            _load_weights_file(model, weights_path(name_or_path))
    if compile:
        compile_model(model)
    return model


def _load_weights_file(model, path):
    if not path.is_file():
        raise FileNotFoundError(f"No weights file at {path}.")
    try:
        model.load_weights(path)
    except Exception as error:
        raise OSError(f"Cannot read the weights file {path}: "
                      f"{type(error).__name__}: {error}") from error


def _evaluation(name):
    path = ROOT / "zoo" / "evaluations" / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def _metric_table(results):
    lines = []
    for target in ("future", "reconstruction"):
        if target not in results:
            continue
        predictors = results[target]
        metrics = list(predictors["model"])
        lines += [f"**{target}** ({results['sequences']} sequences)", "",
                  "| | " + " | ".join(metrics) + " |",
                  "|---|" + "---|" * len(metrics)]
        for predictor, values in predictors.items():
            lines.append(f"| {predictor} | " + " | ".join(
                f"{values[m]['mean']:.2f}" if m != "ssim" else
                f"{values[m]['mean']:.3f}" for m in metrics) + " |")
        curve = predictors["model"]["frame_mse"]["per_timestep"]
        lines += ["", "Model's MSE per frame at each timestep: "
                  + ", ".join(f"{v:.1f}" for v in curve), ""]
    return lines


def _learning_curve(name, run, folder, first_step):
    """Markdown lines: about ten rows of the run's ``history.csv``, steps
    counted from the start of the first run."""
    history = folder / "history.csv"
    if not history.is_file():
        return []
    rows = history.read_text().strip().splitlines()
    columns = rows[0].split(",")
    wanted = [c for c in columns if c.endswith("loss") and not c.startswith("val_")]
    regime = ""
    if VARIANTS[name]["conditional"]:
        regime = (", decoders teacher-forced"
                  if _sizes(name).get("teacher_forcing", True) else
                  ", decoders free-running as at inference")
    lines = ["", "Learning curve (training loss, cross-entropy per "
             f"frame{regime}):", "",
             "| step | " + " | ".join(wanted) + " |",
             "|---|" + "---|" * len(wanted)]
    every = max(1, (len(rows) - 1) // 10)
    for row in rows[1::every] + ([rows[-1]] if (len(rows) - 2) % every else []):
        cells = dict(zip(columns, row.split(",")))
        step = first_step + (int(cells["epoch"]) + 1) * run["checkpoint_every"]
        lines.append(f"| {step} | " + " | ".join(
            f"{float(cells[c]):.1f}" for c in wanted) + " |")
    return lines


def model_card(name):

    """The markdown model card of ``name``, from its preset, run record,
    evaluation and learning curve; ``None`` until the model is evaluated."""
    _check_name(name)
    preset, stages, report = _presets()[name], run_stages(name), _evaluation(name)
    if report is None:
        return None
    model = build_preset(name)
    lines = [f"# {name}", "", preset["description"] + ".", "",
             "Generated by `keras-vidrep card` from the evaluation in "
             f"`{preset['evaluation']}` and the run records in "
             f"`zoo/runs/{name}/`; do not edit by hand.", "",
             "## Model", "",
             f"- Builder: `keras_vidrep.models.build_model({name!r}, "
             + ", ".join(f"{k}={v!r}" for k, v in preset["config"].items()) + ")`",
             f"- Parameters: {model.count_params():,}",
             f"- Artifact: `{preset['artifact']}`; load with "
             f"`keras_vidrep.load({name!r})`", "",
             "## Training", "",
             "```bash", preset["recipe"], "```", ""]
    if len(stages) > 1:
        lines += ["Each run after the first fine-tunes the weights of the one "
                  "before (`--initial-weights`), with a fresh optimizer.", ""]
    steps = sequences = 0
    for index, (run, folder) in enumerate(stages, 1):
        label = f"Run {index}" if len(stages) > 1 else "Budget"
        run_sequences = run["steps"] * run["batch_size"]
        lines += [""] * (index > 1) + [
            f"{label}: {run['steps']:,} steps of {run['batch_size']} sequences "
            f"({run_sequences:,} sequences) of bouncing digits from the train "
            f"digits, on {run.get('device', 'the CPU')}."]
        if run.get("note"):
            lines += ["", run["note"][0].upper() + run["note"][1:] + "."]
        lines += _learning_curve(name, run, folder, first_step=steps)
        steps += run["steps"]
        sequences += run_sequences
    if len(stages) > 1:
        lines += ["", f"In all: {steps:,} steps, {sequences:,} sequences."]
    bouncing = report["bouncing_digits_test"]
    lines += ["", "## Evaluation", "",
              "Held-out sequences built from the **test** digits (`keras-vidrep "
              f"evaluate {name} --sequences {bouncing['sequences']} --json`), "
              "autoregressive inference; MSE and MAE are summed over the "
              "pixels of a frame (pixels in [0, 1]), averaged over frames.", ""]
    lines += _metric_table(bouncing)
    best = {}
    for target in ("future", "reconstruction"):
        if target in bouncing:
            values = bouncing[target]
            baseline = min(v["frame_mse"]["mean"] for k, v in values.items()
                           if k != "model")
            best[target] = (values["model"]["frame_mse"]["mean"], baseline)
    for target, (ours, baseline) in best.items():
        verdict = "beats" if ours < baseline else "does NOT beat"
        lines.append(f"- {target}: MSE per frame {ours:.1f}, {verdict} the best "
                     f"trivial baseline ({baseline:.1f}).")
    return "\n".join(lines) + "\n"


def write_card(name):
    """Writes ``zoo/cards/NAME.md``; returns its path, or None if the model
    has no evaluation yet."""
    card = model_card(name)
    if card is None:
        return None
    path = ROOT / "zoo" / "cards" / f"{name}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(card)
    return path


def write_index():
    """Writes ``zoo/README.md``: one row per model, from the same records as
    the cards."""
    lines = ["# The zoo", "",
             "Generated by `keras-vidrep card all`; do not edit by hand. MSE per "
             "frame (squared error summed over a frame's 64x64 pixels in [0, 1]) "
             "on held-out sequences of the test digits; `best baseline` is the "
             "lowest of copy-last-frame, all-zeros and mean-input-frame on the "
             "same sequences.", "",
             "| model | parameters | trained | future MSE (best baseline) | "
             "reconstruction MSE (best baseline) | card |",
             "|---|---|---|---|---|---|"]
    for name in VARIANTS:
        stages, report = run_stages(name), _evaluation(name)
        trained = _trained(stages) or "not yet"
        cells = []
        for target in ("future", "reconstruction"):
            results = report["bouncing_digits_test"] if report else {}
            if target not in results:
                cells.append("-" if report or target not in
                             KINDS_TARGETS[VARIANTS[name]["kind"]] else "not yet")
                continue
            values = results[target]
            best = min(v["frame_mse"]["mean"] for k, v in values.items()
                       if k != "model")
            cells.append(f"{values['model']['frame_mse']['mean']:.1f} ({best:.1f})")
        card = f"[card](cards/{name}.md)" if report else "-"
        lines.append(f"| {name} | {build_preset(name).count_params():,} | "
                     f"{trained} | {cells[0]} | {cells[1]} | {card} |")
    path = ROOT / "zoo" / "README.md"
    path.write_text("\n".join(lines) + "\n")
    return path
