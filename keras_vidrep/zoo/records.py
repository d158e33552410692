"""The zoo's records turned into what people read: the preset table, the
model cards and the zoo's index.

``keras_vidrep.zoo.loading`` finds, fetches and loads the models; this module is
the checkout's side, used by ``keras-vidrep presets``, ``keras-vidrep
card`` and ``keras-vidrep promote``. Everything it writes comes from
records written by code: the run records in ``zoo/runs/NAME/`` (copied
from ``train``'s ``run.json`` and ``history.csv`` by ``promote``), the
evaluations in ``zoo/evaluations/NAME.json`` (``keras-vidrep evaluate NAME
--json``) and the weights.
"""

import json

from keras_vidrep.zoo import loading as zoo
from keras_vidrep.training.checkpoints import planned_steps
from keras_vidrep.training.checkpoints import read_history
from keras_vidrep.training.checkpoints import read_run_record
from keras_vidrep.captions.baselines import CONTENT_FREE
from keras_vidrep.captions.metrics import score_of
from keras_vidrep.zoo.captioners import CAPTIONERS
from keras_vidrep.zoo.captioners import train_command as captioner_train_command
from keras_vidrep.zoo.kinds import CaptionerPresets
from keras_vidrep.zoo.kinds import VideoPresets
from keras_vidrep.zoo.kinds import kind_of
from keras_vidrep.models import VARIANTS
from keras_vidrep.models import describe
from keras_vidrep.models.video_seq2seq import KINDS as KINDS_TARGETS

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
    stages, folder = [], zoo.ROOT / "zoo" / "runs" / name
    while (folder / "run.json").is_file():
        record = read_run_record(folder)
        stages.insert(0, (record, folder))
        if not record.get("starts_from"):
            break
        folder = folder / record["starts_from"]
    return stages


def started_from(name):
    """The other zoo model whose weights ``name``'s first run started from
    (``--initial-weights OTHER``, e.g. a predictor from the composite that
    shares its layers), or None."""
    stages = run_stages(name)
    source = stages[0][0].get("initial_weights") if stages else None
    return source if source in zoo.list_models() and source != name else None


def sequences_seen(name):
    """Training sequences behind ``name``'s weights: its runs', plus those
    of the zoo model it started from (``started_from``)."""
    own = sum(planned_steps(run) * run["batch_size"]
              for run, _ in run_stages(name))
    source = started_from(name)
    return own + (sequences_seen(source) if source else 0)


def _backend(run):
    """The Keras backend a run trained under: the record's own field (the
    first zoo runs) or its last part's (``train`` records one part per start
    or resume)."""
    parts = run.get("parts") or [{}]
    return run.get("backend") or parts[-1].get("backend")


def _where(run):
    """Where and on what a run trained, in words."""
    if run.get("device"):
        return run["device"]
    machines = sorted({part["machine"] for part in run.get("parts", [])
                       if part.get("machine")})
    # The CPU runs of the first zoo predate both fields.
    return "; ".join(machines) or "the CPU"


def _physics(run):
    """The bounce rule of a run's training data. ``train`` always uses the
    generator's default; that became the clamp-and-flip rule before ``train``
    began to record parts, so a record with parts trained on it, and one
    without trained on mirror reflection."""
    return run.get("bounce") or ("clamp" if run.get("parts") else "mirror")


def _parts(run):
    """A sentence on the run's resumes, or ''."""
    parts = run.get("parts") or []
    resumes = [f"{part['steps_from']:,}" for part in parts[1:]
               if part.get("steps_from") is not None]
    if not resumes:
        return ""
    return (f" It ran in {len(parts)} parts: stopped and resumed from its "
            f"checkpoint at step {', '.join(resumes)} (`run.json` lists each "
            "part's command, versions and machine).")


def _train_command(name, run):
    settings = " ".join(
        f"--set {key}={json.dumps(value, separators=(',', ':'))}"
        for key, value in run["model_overrides"].items())
    backend = f"KERAS_BACKEND={_backend(run)} " if _backend(run) else ""
    command = (f"{backend}keras-vidrep train {name} --steps {planned_steps(run)} "
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
        "checkpoint_every": 100,
        "model_overrides": kind_of(name).builder_config(name)}]
    return "\n".join(_train_command(name, run) for run in runs)


def _trained(stages):
    """The runs' budgets, e.g. '9,000 steps x 32 + 30,000 steps x 32'."""
    return " + ".join(
        f"{planned_steps(run):,} steps x {run['batch_size']}"
        for run, _ in stages)


def _captioner_entry(name, stages):
    """A captioner's description, config, recipe and evaluation summary."""
    preset = CAPTIONERS[name]
    runs = [record for record, _ in stages]
    report = _evaluation(name)
    summary = None
    if report:
        summary = {"clips": report["clips"], **{
            f"beam_{beam}": {metric: scores[metric] for metric in
                             ("bleu4", "exact_match", "digit_accuracy",
                              "path_accuracy")}
            for beam, scores in report["scores"].items()}}
    runs = runs or [{**preset["planned"], "architecture": preset["config"]}]
    recipe = "\n".join(captioner_train_command(run) for run in runs)
    return {"description": preset["description"],
            "config": dict(preset["config"]), "recipe": recipe,
            "evaluation": summary}


def _video_entry(name, stages):
    """The description, builder configuration, recipe and evaluation
    summary of the video model ``name``."""
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
    return {"description": describe(name),
            "config": kind_of(name).builder_config(name),
            "recipe": _recipe(name), "evaluation": summary}


# PresetKind class -> (its table entry, its model card).
_WRITERS = {}


def table_entry(name):
    """What the preset table (``keras_vidrep/zoo/presets.json``) holds for
    ``name``, computed from the builder, the run records, the weights and
    the evaluation; ``keras-vidrep presets`` writes it. ``keras_config`` is
    the built model serialized by Keras, what a preset directory's
    ``config.json`` holds."""
    from keras_vidrep.presets import keras_config
    from keras_vidrep.presets import sha256

    artifact = zoo.saved_models_dir() / name / zoo.WEIGHTS_FILE
    stages = run_stages(name)
    kind = kind_of(name)
    entry = _WRITERS[type(kind)][0](name, stages)
    model = kind.build(name, entry["config"])
    return {**entry, "trained": _trained(stages) or None,
            "parameters": model.count_params(),
            "sha256": sha256(artifact) if artifact.is_file() else None,
            "keras_config": keras_config(model)}


def write_presets(names=None):
    """Writes the preset table and the ``config.json`` and ``metadata.json``
    of the preset directories of ``names`` (default: every model), from the
    table and the weights; returns the paths written."""
    from keras_vidrep import presets

    table = {name: table_entry(name) for name in zoo.list_models()}
    presets.TABLE_FILE.write_text(json.dumps(table, indent=1) + "\n")
    presets.preset_table.cache_clear()
    written = [presets.TABLE_FILE]
    for name in zoo.list_models() if names is None else names:
        weights = zoo.saved_models_dir() / name / zoo.WEIGHTS_FILE
        if weights.is_file():
            for file_name, text in presets.preset_files(name, weights).items():
                (weights.parent / file_name).write_text(text)
                written.append(weights.parent / file_name)
    return written


def _evaluation(name):
    path = zoo.ROOT / "zoo" / "evaluations" / f"{name}.json"
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
        lines += [""] + _per_frame(predictors, target) + [""]
    return lines


def frames_behind(predictors):
    """``{"frame_mse": [frame, ...], "ssim": [...]}``: the frames (1-based)
    at which the model does not beat every trivial baseline (lower MSE,
    higher SSIM)."""
    behind = {}
    for metric, better in (("frame_mse", min), ("ssim", max)):
        ours = predictors["model"][metric]["per_timestep"]
        baselines = [v[metric]["per_timestep"] for k, v in predictors.items()
                     if k != "model"]
        behind[metric] = [
            t + 1 for t, value in enumerate(ours)
            if better(value, *(b[t] for b in baselines)) != value
            or any(b[t] == value for b in baselines)]
    return behind


def _per_frame(predictors, target):
    """A table of MSE and SSIM per frame, the model's beside the best
    trivial baseline's at that frame, and where the model does not beat
    them."""
    baselines = {k: v for k, v in predictors.items() if k != "model"}
    model = predictors["model"]
    lines = ["| frame | MSE | best baseline MSE | SSIM | best baseline SSIM |",
             "|---|---|---|---|---|"]
    for t, (mse, ssim) in enumerate(zip(model["frame_mse"]["per_timestep"],
                                        model["ssim"]["per_timestep"])):
        best_mse = min(baselines, key=lambda k: baselines[k]["frame_mse"][
            "per_timestep"][t])
        best_ssim = max(baselines, key=lambda k: baselines[k]["ssim"][
            "per_timestep"][t])
        lines.append(
            f"| {t + 1} | {mse:.1f} | "
            f"{baselines[best_mse]['frame_mse']['per_timestep'][t]:.1f} "
            f"({best_mse}) | {ssim:.3f} | "
            f"{baselines[best_ssim]['ssim']['per_timestep'][t]:.3f} "
            f"({best_ssim}) |")
    behind = frames_behind(predictors)
    if not any(behind.values()):
        lines += ["", "It beats every trivial baseline in both MSE and SSIM "
                  "at every frame."]
    else:
        lines += ["", "It does **not** beat every trivial baseline at every "
                  "frame: " + "; ".join(
                      f"{'MSE' if metric == 'frame_mse' else 'SSIM'} at "
                      f"frame{'s' if len(frames) > 1 else ''} "
                      + ", ".join(map(str, frames))
                      for metric, frames in behind.items() if frames) + "."]
    if target == "reconstruction":
        lines[-1] += (" (The first reconstructed frame is the last input "
                      "frame, which copy_last_frame gives exactly.)")
    return lines


def _learning_curve(name, run, folder, first_step, first_sequence=0):
    """Markdown lines: about ten rows of the run's ``history.csv``, steps and
    sequences counted from the start of the first run; the CPU hours of
    this run so far where its history records them (``HistoryLog``)."""
    history = folder / "history.csv"
    if not history.is_file():
        return []
    rows = read_history(history)
    if not rows:
        return []
    columns = list(rows[0])
    wanted = [c for c in columns if c.endswith("loss") and not c.startswith("val_")]
    regime = ""
    if VARIANTS[name]["conditional"]:
        regime = (", decoders teacher-forced"
                  if _regime(run) is True else
                  ", decoders free-running as at inference"
                  if _regime(run) is False else
                  f", decoders in scheduled sampling ({_regime(run)})")
    # Only when every row has it: a run resumed across the version that
    # added it has NA in its first rows.
    timed = all(_number(cells.get("cpu_seconds")) is not None
                for cells in rows)
    lines = ["", "Learning curve (training loss, cross-entropy per "
             f"frame{regime}):", "",
             "| step | sequences | " + ("CPU hours | " if timed else "")
             + " | ".join(wanted) + " |",
             "|---|---|" + "---|" * (len(wanted) + timed)]
    every = max(1, len(rows) // 10)
    cpu_hours, hours = 0.0, {}
    for cells in rows:
        cpu_hours += (_number(cells.get("cpu_seconds")) or 0.0) / 3600
        hours[cells["epoch"]] = cpu_hours
    for cells in rows[::every] + ([rows[-1]] if (len(rows) - 1) % every else []):
        done = (int(cells["epoch"]) + 1) * run["checkpoint_every"]
        lines.append(
            f"| {first_step + done} | "
            f"{first_sequence + done * run['batch_size']:,} | "
            + (f"{hours[cells['epoch']]:.2f} | " if timed else "")
            + " | ".join(f"{float(cells[c]):.1f}" for c in wanted) + " |")
    return lines


def _number(text):
    """``float(text)``, or None for a missing value (``NA``, empty)."""
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _sibling(name):
    """The unconditioned variant of the same kind and cell as ``name``."""
    variant = VARIANTS[name]
    return next(other for other, v in VARIANTS.items()
                if not v["conditional"] and v["kind"] == variant["kind"]
                and v["cell"] == variant["cell"])


def _regime(run):
    """How a run trained its conditional decoders: its ``teacher_forcing``
    (True, False or a schedule), from the run record."""
    return (run.get("model_overrides") or {}).get("teacher_forcing", True)


def _decoder_training(name):
    """How a conditional model's decoders were trained (its last run), in
    words."""
    stages = run_stages(name)
    regime = _regime(stages[-1][0]) if stages else True
    if regime is True:
        return "teacher-forced (they read the true previous frame)"
    if regime is False:
        return "free-running (they read their own previous prediction, as at inference)"
    return f"scheduled sampling ({regime})"


def _against_sibling(name, report):
    """Markdown lines comparing a conditional model with its unconditioned
    sibling on the same held-out sequences, with both budgets; [] for an
    unconditioned model or a sibling without an evaluation."""
    if not VARIANTS[name]["conditional"]:
        return []
    sibling = _sibling(name)
    theirs_report = _evaluation(sibling)
    if theirs_report is None or theirs_report.get("bounce") != report.get("bounce"):
        return []
    ours_results = report["bouncing_digits_test"]
    target = "future" if "future" in ours_results else "reconstruction"
    ours = ours_results[target]["model"]["frame_mse"]["mean"]
    theirs = theirs_report["bouncing_digits_test"][target]["model"][
        "frame_mse"]["mean"]
    change = 100 * (ours / theirs - 1)
    stages = [run_stages(n) for n in (name, sibling)]
    seen = [sequences_seen(n) for n in (name, sibling)]

    def trained(model, runs):
        source = started_from(model)
        return (_trained(runs) or "not trained") + (
            f", after {source}'s" if source else "")

    budgets = (f"this model trained on {seen[0]:,} sequences "
               f"({trained(name, stages[0])}), {sibling} on "
               f"{seen[1]:,} ({trained(sibling, stages[1])})")
    verdict = ("within 5% of it or better" if change <= 5 else
               "more than 5% worse")
    lines = ["", f"## Against its unconditioned sibling, {sibling}", "",
             f"- {target} MSE per frame {ours:.2f} against {theirs:.2f} on the "
             f"same sequences: {change:+.1f}%, {verdict}.",
             f"- Budgets: {budgets}.",
             f"- Decoders: {_decoder_training(name)}."]
    if change > 5:
        reasons = []
        if seen[0] != seen[1]:
            reasons.append("the budgets differ (above)")
        if _regime(stages[0][-1][0]) is True:
            reasons.append(
                "teacher-forced decoders never meet their own errors in "
                "training, but run on them at inference")
        reasons.append(
            "a conditional decoder must also learn to read the frame it is "
            "given")
        lines.append(
            f"- Why: {'; '.join(reasons)}. At equal budgets, with "
            "teacher-forced, scheduled-sampling and free-running decoders "
            "side by side: the variants experiment, "
            "`experiments/variants/cpu/report.md`.")
    return lines


_CAPTION_METRICS = (("content", "content", "{:.3f}"),
                    ("bleu4", "BLEU-4", "{:.1f}"),
                    ("meteor", "METEOR", "{:.3f}"),
                    ("cider_d", "CIDEr-D", "{:.2f}"),
                    ("exact_match", "exact match", "{:.3f}"),
                    ("well_formed", "well formed", "{:.3f}"),
                    ("digit_accuracy", "digits right", "{:.3f}"),
                    ("path_accuracy", "paths right", "{:.3f}"))


def _captioner_card(name, preset, stages, report):
    """The card of a zoo captioner (see ``model_card``)."""
    lines = [f"# {name}", "", preset["description"] + ".", "",
             "Generated by `keras-vidrep card` from the evaluation in "
             f"`{preset['evaluation']}` and the run record in "
             f"`zoo/runs/{name}/`; do not edit by hand.", "",
             "## Model", "",
             "- Builder: `keras_vidrep.captions.training.build_captioner("
             + ", ".join(f"{k}={v!r}" for k, v in preset["config"].items())
             + ")` (an `S2VTCaptioner`; the vocabulary is the caption "
             "grammar's)",
             f"- Parameters: {preset['parameters']:,}",
             f"- Artifact: `{preset['artifact']}`; load with "
             f"`keras_vidrep.load({name!r})`; serve the SavedModel's "
             "`caption` signature (frames in, a `tf.string` caption out)", "",
             "## Training", "", "```bash", preset["recipe"], "```", ""]
    for run, folder in stages:
        lines.append(
            f"{run['steps']:,} Adam steps of {run['batch_size']} clips "
            f"({run['steps'] * run['batch_size']:,} captioned clips of the "
            f"train digits, new clips each step), on {_where(run)} "
            f"({_backend(run)}), {run['seconds'] / 60:.0f} minutes.")
        last = read_history(folder / "history.csv")[-1]
        lines += ["", "At the end of training: loss (word cross-entropy) "
                  f"{float(last['loss']):.3f}, word accuracy "
                  f"{float(last['word_accuracy']):.3f} (teacher-forced).", ""]
    lines += ["## Evaluation", "",
              f"{report['clips']:,} held-out clips of the **test** digits, each "
              "against the grammar's six reference captions "
              "(`keras_vidrep.captions.caption_scores`; BLEU-4 by sacrebleu, "
              "METEOR 1.5 and CIDEr-D by pycocoevalcap; `-` where the record "
              "predates a score). "
              "Content is the mean of digits right and paths right, the score "
              "a captioner is promoted on; below the model, the same scores "
              "of captions that saw nothing or half of each clip "
              "(`keras_vidrep.captions.baselines`), on the same clips.",
              "", "| captions | " + " | ".join(
                  label for _, label, _ in _CAPTION_METRICS) + " |",
              "|---|" + "---:|" * len(_CAPTION_METRICS)]
    rows = [("model, greedy" if beam == "1" else f"model, beam {beam}",
             scores) for beam, scores in report["scores"].items()]
    rows += [(f"content-free: {CONTENT_FREE[kind]}", scores) for kind, scores
             in _content_free(report).items()]
    for label, scores in rows:
        lines.append(f"| {label} | " + " | ".join(
            _formatted(fmt, score_of(scores, metric))
            for metric, _, fmt in _CAPTION_METRICS) + " |")
    ours = score_of(report["scores"]["1"], "content")
    above = [CONTENT_FREE[kind] for kind, scores in _content_free(report).items()
             if score_of(scores, "content") >= ours]
    lines += ["", f"Greedy content {ours:.3f}: " + (
        "above every content-free caption." if not above else
        "not above " + "; ".join(f"'{words}'" for words in above) + ".")]
    lines += ["", "Examples (greedy):", ""] + [
        f"- model: `{example['model']}`; truth: `{example['truth']}`"
        for example in report["examples"]]
    replaced = report.get("replaces")
    if replaced:
        # A record of before the content score replaced BLEU-4 names BLEU-4.
        metric, words, fmt = (("content", "content score", "{:.3f}")
                              if "content" in replaced else
                              ("bleu4", "BLEU-4", "{:.1f}"))
        lines += ["", f"Replaced SavedModel version {replaced['version']}, "
                  f"whose greedy {words} on the same clips was "
                  f"{fmt.format(replaced[metric])}."]
    return "\n".join(lines) + "\n"


def _formatted(fmt, value):
    """``value`` in ``fmt``; ``-`` for a score the record does not hold
    (``None``: written before the score was, or METEOR without Java)."""
    return "-" if value is None else fmt.format(value)


def _content_free(report):
    """The content-free captions' scores on the clips of ``report``: its
    own, or, for a record written before they were recorded, computed on
    the same clips (the same seed draws them)."""
    if "content_free" in report:
        return report["content_free"]
    from keras_vidrep.captions.baselines import content_free_scores
    from keras_vidrep.captions.training import held_out_clips

    return content_free_scores(held_out_clips(report["clips"])[1])


def model_card(name):
    """The markdown model card of ``name``, from its preset, run record,
    evaluation and learning curve; ``None`` until the model is evaluated."""
    kind_of(name)  # an unknown name is refused with the valid ones
    preset, stages, report = zoo.PRESETS[name], run_stages(name), _evaluation(name)
    if report is None:
        return None
    return _WRITERS[type(kind_of(name))][1](name, preset, stages, report)


def _video_card(name, preset, stages, report):
    model = zoo.build_preset(name)
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
        run_steps = planned_steps(run)
        run_sequences = run_steps * run["batch_size"]
        lines += [""] * (index > 1) + [
            f"{label}: {run_steps:,} steps of {run['batch_size']} sequences "
            f"({run_sequences:,} sequences) of bouncing digits from the train "
            f"digits ({_physics(run)} physics), on {_where(run)}."
            + _parts(run)]
        if run.get("note"):
            lines += ["", run["note"][0].upper() + run["note"][1:] + "."]
        lines += _learning_curve(name, run, folder, first_step=steps,
                                 first_sequence=sequences)
        steps += run_steps
        sequences += run_sequences
    if len(stages) > 1:
        lines += ["", f"In all: {steps:,} steps, {sequences:,} sequences."]
    source = started_from(name)
    if source:
        frame_kernels = ("; the conditional decoders' frame-input "
                         "kernels, which it lacks, started at zeros"
                         if VARIANTS[name]["conditional"]
                         and not VARIANTS[source]["conditional"] else "")
        lines += ["", f"It started from the weights of the zoo's {source} "
                  f"(`--initial-weights {source}`: the layers the two share "
                  f"by name{frame_kernels}), trained on "
                  f"{sequences_seen(source):,} "
                  f"sequences; counted with those, {sequences_seen(name):,} "
                  "sequences are behind these weights."]
    bouncing = report["bouncing_digits_test"]
    physics = report.get("bounce", "mirror")  # records before the clamp rule
    lines += ["", "## Evaluation", "",
              "Held-out sequences built from the **test** digits, "
              f"{physics} physics (`keras-vidrep evaluate {name} --bounce "
              f"{physics} --sequences {bouncing['sequences']} --json`), "
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
    replaced = report.get("replaces")
    if replaced:
        change = 100 * (best[replaced["target"]][0] / replaced["frame_mse"] - 1)
        lines.append(
            f"- This model replaced SavedModel version {replaced['version']} "
            f"(`keras-vidrep promote`), whose {replaced['target']} MSE per "
            f"frame on the same sequences was {replaced['frame_mse']:.2f}: "
            f"{abs(change):.1f}% {'lower' if change < 0 else 'higher'} now.")
    lines += _against_sibling(name, report)
    return "\n".join(lines) + "\n"


_WRITERS.update({VideoPresets: (_video_entry, _video_card),
                 CaptionerPresets: (_captioner_entry, _captioner_card)})


def write_card(name):
    """Writes ``zoo/cards/NAME.md``; returns its path, or None if the model
    has no evaluation yet."""
    card = model_card(name)
    if card is None:
        return None
    path = zoo.ROOT / "zoo" / "cards" / f"{name}.md"
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
             "future SSIM (best baseline) | future frames behind a baseline "
             "(MSE; SSIM) | reconstruction MSE (best baseline) | card |",
             "|---|---|---|---|---|---|---|---|"]
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
            if target == "future":
                best_ssim = max(v["ssim"]["mean"] for k, v in values.items()
                                if k != "model")
                behind = frames_behind(values)
                cells[-1:] = [cells[-1], f"{values['model']['ssim']['mean']:.3f} "
                              f"({best_ssim:.3f})", " ; ".join(
                                  ", ".join(map(str, frames)) or "none"
                                  for frames in behind.values())]
        if len(cells) == 2:  # no future: its three columns are empty
            cells[:1] = [cells[0]] * 3
        card = f"[card](cards/{name}.md)" if report else "-"
        lines.append(f"| {name} | {zoo.build_preset(name).count_params():,} | "
                     f"{trained} | " + " | ".join(cells) + f" | {card} |")
    lines += ["", "Captioners (S2VT, `keras_vidrep.captions`): content (the "
              "mean of digits right and paths right), BLEU-4 (0-100) and "
              "exact-match rate, METEOR and CIDEr-D of greedy captions of "
              "held-out clips of the test digits; in brackets the same score "
              "of captions in the grammar with random digits and paths, on "
              "the same clips.", "",
              "| model | parameters | trained | content | BLEU-4 | exact match "
              "| METEOR | CIDEr-D | card |",
              "|---|---|---|---|---|---|---|---|---|"]
    for name in CAPTIONERS:
        report = _evaluation(name)
        scores = report["scores"]["1"] if report else None
        floor = _content_free(report)["random"] if report else None
        lines.append(
            f"| {name} | {zoo.build_preset(name).count_params():,} | "
            f"{_trained(run_stages(name)) or 'not yet'} | "
            + (f"{score_of(scores, 'content'):.3f} "
               f"({floor['content']:.3f}) | {scores['bleu4']:.1f} "
               f"({floor['bleu4']:.1f}) | "
               f"{scores['exact_match']:.3f} | "
               + " | ".join(
                   f"{_formatted(fmt, score_of(scores, metric))} "
                   f"({_formatted(fmt, score_of(floor, metric))})"
                   for metric, fmt in (("meteor", "{:.3f}"),
                                       ("cider_d", "{:.2f}")))
               + f" | [card](cards/{name}.md)" if scores
               else "- | - | - | - | - | -")
            + " |")
    path = zoo.ROOT / "zoo" / "README.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def write_models_config(base="/models"):
    """Writes ``saved_models/models.config`` listing every zoo model that has
    an exported version there; returns ``(path, names)``."""
    from keras_vidrep.serving.saved_model import MODELS_CONFIG
    from keras_vidrep.serving.saved_model import models_config
    from keras_vidrep.zoo.loading import list_models
    from keras_vidrep.zoo.loading import saved_models_dir

    folder = saved_models_dir()
    names = [name for name in list_models()
             if any(child.name.isdigit() and (child / "saved_model.pb").is_file()
                    for child in (folder / name).glob("*"))]
    path = folder / MODELS_CONFIG
    path.write_text(models_config(names, base))
    return path, names
