"""Experiment ``representations``: few-label recognition from the encoders.

Srivastava et al. (2015, section 3.4 and Table 2) initialise a classifier
from the composite model's encoder and report that it helps most when labels
are few. Here every zoo encoder is measured on the two tasks the generator
labels for free (``keras_vidrep.tasks``: which digits, how they move) with
the protocols of ``keras_vidrep.tasks.PROTOCOLS``: a frozen probe (linear
and MLP heads), fine-tuning, the same architecture from scratch, and a
frozen random encoder, at several label counts and seeds.

Each (row, seed) is one ``run_probes`` call; its results are recorded in
``experiments/representations/BUDGET/records/ROW-seedS/record.json`` (written
last: a recorded row is skipped when the command is run again, so an
interrupted run resumes at the first row not recorded). The report
(``report.md``, ``accuracy_vs_labels.png``) is regenerated from the records
alone by ``write_report``.
"""

import dataclasses
import json
import statistics
import sys
import time
from pathlib import Path

from keras_vidrep._logging import many_models
from keras_vidrep._validation import InputError
from keras_vidrep._validation import look_up
from keras_vidrep.experiments.report import load_records
from keras_vidrep.experiments.verdicts import RULE
from keras_vidrep.experiments.verdicts import separate
from keras_vidrep.training.provenance import machine_description

NAME = "representations"
TITLE = "Representations: few-label recognition from the learned encoders"
QUESTION = ("Does unsupervised pretraining (autoencoder, future predictor, "
            "composite; conditional or not; fc or conv) give an encoder whose "
            "final state helps recognise which digits a clip shows and how "
            "they move, most when labels are few?")
ZOO = ("autoencoder_fc", "autoencoder_fc_cond", "predictor_fc",
       "predictor_fc_cond", "composite_fc", "composite_fc_cond",
       "autoencoder_conv", "autoencoder_conv_cond", "predictor_conv",
       "predictor_conv_cond", "composite_conv", "composite_conv_cond")


@dataclasses.dataclass(frozen=True)
class ProbeRow:
    """One encoder under one protocol.

    Attributes:
        key: identifier (folder names, ``--rows``).
        label: what the tables show.
        source: the zoo name the encoder comes from (its architecture, and
            its weights when the protocol is pretrained).
        protocol: a name of ``keras_vidrep.tasks.PROTOCOLS``.
        architecture: the encoder's architecture in words; random and
            scratch rows are the baselines of the rows of the same one.
    """

    key: str
    label: str
    source: str
    protocol: str
    architecture: str


def _architecture(name):
    from keras_vidrep.zoo.loading import PRESETS

    config = PRESETS[name]["config"]
    cell = "ConvLSTM" if name.endswith(("conv", "conv_cond")) else "FC-LSTM"
    return f"{cell} {'+'.join(map(str, config['hidden_sizes']))}"


def all_rows():
    """Every row, in report order: frozen zoo encoders, random frozen
    encoders, fine-tuned encoders, encoders trained from scratch."""
    rows = [ProbeRow(f"frozen-{name}", name, name, "frozen",
                     _architecture(name)) for name in ZOO]
    randoms = {"fc": "composite_fc", "fc_cond": "composite_fc_cond",
               "conv": "composite_conv"}
    rows += [ProbeRow(f"random-{key}", f"random ({_architecture(name)})", name,
                      "random", _architecture(name))
             for key, name in randoms.items()]
    # Every fc encoder fine-tunes (seconds each); of the ConvLSTM ones, the
    # composite (minutes each on the 2-core CPU).
    rows += [ProbeRow(f"fine_tuned-{name}", f"{name}, fine-tuned", name,
                      "fine_tuned", _architecture(name))
             for name in ("composite_fc", "autoencoder_fc", "predictor_fc",
                          "composite_conv", "composite_fc_cond",
                          "autoencoder_fc_cond", "predictor_fc_cond")]
    rows += [ProbeRow(f"scratch-{key}", f"from scratch ({_architecture(name)})",
                      name, "scratch", _architecture(name))
             for key, name in (("fc", "composite_fc"), ("conv", "composite_conv"),
                               ("fc_cond", "composite_fc_cond"))]
    # What the frames give with no encoder at all: the probe's own baseline.
    rows.append(ProbeRow("pixels", "raw pixels (the 10 input frames)",
                         "pixels", "random", "pixels"))
    return rows


@dataclasses.dataclass(frozen=True)
class ProbeBudget:
    """How many labels, seeds, steps and held-out clips.

    Attributes:
        name: ``--budget`` value.
        rows: row keys run under this budget (default every row).
        label_counts: labelled clips per classifier for frozen encoders.
        trained_label_counts: the same for rows whose encoder trains, per
            cell type (``"FC-LSTM"``, ``"ConvLSTM"``): a ConvLSTM encoder
            trains at about 0.3 s a step of 8 on the 2-core CPU.
        eval_sequences: held-out clips of the test digits.
        seeds: each seed draws other labelled clips and initialisations.
        heads: heads of the frozen rows per cell type; trained rows use the
            linear head. An MLP head on a ConvLSTM encoder's 65,536 numbers
            has 16.8M parameters and trains at about 0.2 s a step here.
        frozen_steps, frozen_batch: training of a frozen encoder's head.
        trained_steps, trained_batch: training of a classifier whose
            encoder trains.
    """

    name: str
    label_counts: tuple
    trained_label_counts: dict
    eval_sequences: int
    seeds: tuple
    heads: tuple
    frozen_steps: int
    frozen_batch: int
    trained_steps: int
    trained_batch: int
    description: str
    rows: tuple = ()


BUDGETS = {b.name: b for b in (
    ProbeBudget("smoke", label_counts=(4,), trained_label_counts={
                    "FC-LSTM": (4,), "ConvLSTM": (4,)},
                eval_sequences=20, seeds=(0,),
                heads={"FC-LSTM": ("linear", "mlp"), "ConvLSTM": ("linear",)},
                frozen_steps=3, frozen_batch=4, trained_steps=2,
                trained_batch=2,
                rows=("frozen-composite_fc", "random-fc",
                      "fine_tuned-composite_fc", "scratch-fc", "pixels"),
                description="a check that everything runs; numbers mean "
                            "nothing"),
    ProbeBudget("cpu", label_counts=(10, 100, 1000), trained_label_counts={
                    "FC-LSTM": (10, 100, 1000), "ConvLSTM": (10, 100)},
                eval_sequences=2000, seeds=(0, 1, 2),
                heads={"FC-LSTM": ("linear", "mlp"), "ConvLSTM": ("linear",)},
                frozen_steps=500, frozen_batch=32, trained_steps=200,
                trained_batch=8,
                description="10, 100 and 1,000 labelled clips (ConvLSTM "
                            "encoders that train: 10 and 100), three seeds, "
                            "2,000 held-out clips; heads: 500 Adam steps of "
                            "32 (MLP heads on the fc encoders only); trained "
                            "encoders: 200 steps of 8"),
)}


class ProbeExperimentError(InputError):
    """The experiment cannot run as asked."""


def _budget(name):
    return look_up(BUDGETS, name, f"Experiment {NAME!r} has no budget "
                   f"{name!r}", "budgets", error=ProbeExperimentError)


def rows_of(budget):
    rows = all_rows()
    return [r for r in rows if not budget.rows or r.key in budget.rows]


def _label_counts(budget, row):
    from keras_vidrep.tasks import PROTOCOLS

    if PROTOCOLS[row.protocol].trains_encoder:
        return budget.trained_label_counts[_cell_type(row)]
    return budget.label_counts


def _cell_type(row):
    return row.architecture.split()[0]  # "FC-LSTM" or "ConvLSTM"


def _zoo_sha256(name):
    from keras_vidrep.zoo.loading import PRESETS

    return PRESETS[name]["sha256"]


def record_path(records_root, budget, row, seed):
    return (Path(records_root) / NAME / budget.name / "records"
            / f"{row.key}-seed{seed}" / "record.json")


def run_row(budget, row, seed, data, *, records_root):
    """Runs and records one row for one seed (skipped when recorded)."""
    import keras

    from keras_vidrep.tasks import PROTOCOLS
    from keras_vidrep.tasks import run_probes

    path = record_path(records_root, budget, row, seed)
    if path.is_file():
        return path
    keras.backend.clear_session()
    trains = PROTOCOLS[row.protocol].trains_encoder
    started = time.time()
    from keras_vidrep.tasks.probe import PIXELS
    from keras_vidrep.zoo import loading as zoo

    # Names are resolved here, at the top: the probe takes models.
    encoder = (row.source if row.source == PIXELS
               else zoo.load(row.source, compile=False))
    results = run_probes(
        encoder, data, protocol=row.protocol,
        # The raw pixels: the linear head (an MLP on 40,960 numbers would
        # be the largest model of the table).
        heads=("linear",) if trains else budget.heads.get(
            _cell_type(row), ("linear",)),
        label_counts=_label_counts(budget, row), seed=seed,
        steps=budget.trained_steps if trains else budget.frozen_steps,
        batch_size=budget.trained_batch if trains else budget.frozen_batch)
    record = {
        "experiment": NAME, "budget": budget.name, "row": row.key,
        "seed": seed, "label": row.label, "source": row.source,
        "protocol": row.protocol, "architecture": row.architecture,
        # Which zoo version was probed (a later promotion changes the name's
        # weights, not this record).
        "weights_sha256": (_zoo_sha256(row.source)
                           if PROTOCOLS[row.protocol].pretrained else None),
        "eval_sequences": budget.eval_sequences, "bounce": "clamp",
        "results": results, "seconds": round(time.time() - started, 1),
        "machine": machine_description(), "backend": keras.backend.backend(),
        "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
        "command": (f"keras-vidrep experiment {NAME} --budget {budget.name} "
                    f"--rows {row.key} --seeds {seed}"),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=1))
    tmp.replace(path)  # its presence marks the row as done
    return path


# What ``run`` takes besides the budget (the command line passes these).
RUN_OPTIONS = ("seeds", "rows", "records_root", "digits")


def run(budget="smoke", *, seeds=None, rows=None, records_root="experiments",
        digits=None):
    """Runs (or resumes) the experiment and regenerates its report.

    Returns:
        The path of the report.
    """
    from keras_vidrep.tasks import PROTOCOLS
    from keras_vidrep.tasks import ProbeData

    chosen = _budget(budget)
    resolved = rows_of(chosen)
    unknown = sorted(set(rows or ()) - {r.key for r in resolved})
    if unknown:
        raise ProbeExperimentError(
            f"Unknown rows {unknown} for experiment {NAME!r}. Valid rows: "
            f"{', '.join(r.key for r in resolved)}.")
    todo = [r for r in resolved if not rows or r.key in rows]
    seeds = chosen.seeds if seeds is None else seeds
    # Cheapest first, every seed of a phase before the next phase: frozen
    # encoders, then fc encoders that train, then ConvLSTM ones (minutes
    # each), so that an interrupted run has whole tables to report.
    phases = {}
    for row in todo:
        trains = PROTOCOLS[row.protocol].trains_encoder
        phases.setdefault((trains, trains and "Conv" in row.architecture),
                          []).append(row)
    for (phase, seed) in [(p, s) for p in sorted(phases) for s in seeds]:
        waiting = [r for r in phases[phase]
                   if not record_path(records_root, chosen, r, seed).is_file()]
        if not waiting:
            continue
        largest = max(max(_label_counts(chosen, r)) for r in waiting)
        print(f"[{NAME}/{budget}] seed {seed}: drawing {largest} labelled and "
              f"{chosen.eval_sequences} held-out clips ...", flush=True)
        data = ProbeData.draw(largest, seed=seed,
                              eval_sequences=chosen.eval_sequences,
                              source=digits)
        for index, row in enumerate(waiting, 1):
            print(f"[{NAME}/{budget}] seed {seed}, {index}/{len(waiting)}: "
                  f"{row.key}", flush=True)
            with many_models():
                run_row(chosen, row, seed, data, records_root=records_root)
            sys.stdout.flush()
    return write_report(budget, records_root=records_root)


# ---------------------------------------------------------------- report ---

def _cell(records, task, head, labels, metric="accuracy"):
    return [result[metric] for record in records
            for result in record["results"]
            if (result["task"], result["head"], result["labels"])
            == (task, head, labels)]


def _summary(values):
    if not values:
        return "–"
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"


def _table(rows, records, columns, head, metric="accuracy"):
    lines = ["| encoder | " + " | ".join(
                 f"{task} @ {n}" for task, n in columns) + " |",
             "|---|" + "---:|" * len(columns)]
    for row in rows:
        if row.key not in records:
            continue
        values = [_cell(records[row.key], task, head, n, metric)
                  for task, n in columns]
        if any(values):  # rows this head did not run on are left out
            lines.append(f"| {row.label} | "
                         + " | ".join(map(_summary, values)) + " |")
    return lines


def _compare(better, worse):
    """Is ``better`` higher than ``worse``, by ``verdicts.RULE``: e.g.
    '+0.200 (higher: every seed)' or '+0.010 (undecided at this budget:
    the seeds overlap)'; None when a side has no value."""
    if not better or not worse:
        return None
    change = statistics.mean(better) - statistics.mean(worse)
    answer, reason = separate(better, worse, higher_is_better=True)
    words = {"yes": "higher", "no": "lower"}.get(answer, answer)
    return f"{change:+.3f} ({words}: {reason})"


def _verdict(rows, records, budget, baselines):
    """The report's verdict, in sentences built from the records."""
    lines = []
    by_key = {r.key: r for r in rows}
    baseline_of = {}
    for row in rows:
        if row.protocol in ("random", "scratch"):
            baseline_of[(row.architecture, row.protocol)] = row.key
    for task in ("digits", "motion"):
        for n in budget.label_counts:
            frozen = [r for r in rows if r.protocol == "frozen"
                      and r.key in records]
            if not frozen:
                continue
            best = max(frozen, key=lambda r: statistics.mean(
                _cell(records[r.key], task, "linear", n) or [0]))
            values = _cell(records[best.key], task, "linear", n)
            random_key = baseline_of.get((best.architecture, "random"))
            versus = (_compare(values, _cell(records[random_key], task,
                                             "linear", n))
                      if random_key in records else None)
            text = (f"- **{task}, {n} labels, frozen linear probe**: best "
                    f"{best.label} {_summary(values)} (chance "
                    f"{baselines[task][0]:.3f}, class prior "
                    f"{baselines[task][1][n]:.3f})")
            if versus:
                text += (f"; against the random {best.architecture} encoder "
                         f"{versus}")
            pixels = (_compare(values, _cell(records["pixels"], task,
                                             "linear", n))
                      if "pixels" in records else None)
            if pixels:
                text += f"; against the raw pixels {pixels}"
            lines.append(text + ".")
    lines += _pretrained_against_random(rows, records, budget, baseline_of)
    lines += _pretrained_against_pixels(rows, records, budget)
    for row in rows:
        if row.protocol != "fine_tuned" or row.key not in records:
            continue
        scratch = baseline_of.get((row.architecture, "scratch"))
        if scratch not in records:
            continue
        for task in ("digits", "motion"):
            parts = []
            for n in sorted({r["labels"] for rec in records[row.key]
                             for r in rec["results"]}):
                versus = _compare(_cell(records[row.key], task, "linear", n),
                                  _cell(records[scratch], task, "linear", n))
                if versus:
                    parts.append(f"{n} labels {versus}")
            if parts:
                lines.append(f"- **{task}, {by_key[row.key].label} against "
                             f"from scratch**: " + "; ".join(parts) + ".")
    return lines


def _pretrained_against_random(rows, records, budget, baseline_of):
    """How many frozen zoo encoders beat the random encoder of their
    architecture on every seed, per task and label count, and by how much
    on average (linear probe)."""
    lines = []
    for task in ("digits", "motion"):
        parts = []
        for n in budget.label_counts:
            wins, gains, compared = 0, [], 0
            for row in rows:
                random_key = baseline_of.get((row.architecture, "random"))
                if (row.protocol != "frozen" or row.key not in records
                        or random_key not in records):
                    continue
                mine = _cell(records[row.key], task, "linear", n)
                theirs = _cell(records[random_key], task, "linear", n)
                if not mine or not theirs:
                    continue
                compared += 1
                wins += separate(mine, theirs, higher_is_better=True)[0] == "yes"
                gains.append(statistics.mean(mine) - statistics.mean(theirs))
            if compared:
                parts.append(f"{n} labels: {wins} of {compared} "
                             f"(mean gain {statistics.mean(gains):+.3f})")
        if parts:
            lines.append(f"- **{task}: frozen zoo encoders above the random "
                         "encoder of their architecture, by the rule**: "
                         + "; ".join(parts) + ".")
    return lines


def _pretrained_against_pixels(rows, records, budget):
    """Which frozen zoo encoders beat the raw pixels by the rule, per task
    and label count (linear probe): where pretraining gives more than the
    frames themselves."""
    if "pixels" not in records:
        return []
    lines = []
    for task in ("digits", "motion"):
        parts = []
        for n in budget.label_counts:
            pixels = _cell(records["pixels"], task, "linear", n)
            winners = [row.label for row in rows
                       if row.protocol == "frozen" and row.key in records
                       and pixels and _cell(records[row.key], task, "linear", n)
                       and separate(_cell(records[row.key], task, "linear", n),
                                    pixels, higher_is_better=True)[0] == "yes"]
            compared = sum(row.protocol == "frozen" and row.key in records
                           for row in rows)
            parts.append(f"{n} labels: {len(winners)} of {compared}"
                         + (f" ({', '.join(winners)})" if winners else ""))
        lines.append(f"- **{task}: frozen zoo encoders above the raw pixels, "
                     "by the rule**: " + "; ".join(parts) + ".")
    return lines


def _figure(rows, records, budget, path):
    """Accuracy against labelled clips (log x), one line per encoder, one
    panel per task: frozen linear probes (solid), random encoders (dashed),
    fine-tuned (dotted markers) and from scratch (dash-dot)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    styles = {"frozen": "-", "random": "--", "fine_tuned": ":",
              "scratch": "-."}
    figure, axes = plt.subplots(1, 2, figsize=(13, 6), dpi=100)
    colours = plt.cm.tab20.colors  # one colour per encoder, up to 20
    for axis, task in zip(axes, ("digits", "motion")):
        for index, row in enumerate(rows):
            if row.key not in records:
                continue
            counts = sorted({r["labels"] for rec in records[row.key]
                             for r in rec["results"]})
            means, spreads = [], []
            for n in counts:
                values = _cell(records[row.key], task, "linear", n)
                means.append(statistics.mean(values))
                spreads.append(statistics.stdev(values) if len(values) > 1
                               else 0.0)
            axis.errorbar(counts, means, yerr=spreads, capsize=2, marker="o",
                          markersize=3, linestyle=styles[row.protocol],
                          color=colours[index % len(colours)],
                          label=row.label)
        axis.set_xscale("log")
        axis.set_xlabel("labelled clips (train digits)")
        axis.set_ylabel("top-k recall on held-out clips (test digits)")
        axis.set_title(f"{task}: linear head")
        axis.grid(True, alpha=0.3)
    axes[1].legend(fontsize=6, loc="upper left")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def label_baselines(budget):
    """What a probe must beat, on the budget's held-out clips: per task,
    ``(chance, {labels: class prior})``, the class prior's top-k recall
    averaged over the budget's seeds (each seed draws other labelled clips,
    as the probes do)."""
    from keras_vidrep.tasks import TASKS
    from keras_vidrep.tasks import ProbeData
    from keras_vidrep.tasks import chance
    from keras_vidrep.tasks import class_prior

    counts = sorted(set(budget.label_counts).union(
        *budget.trained_label_counts.values()))
    drawn = [ProbeData.draw(counts[-1], seed=seed,
                            eval_sequences=budget.eval_sequences)
             for seed in budget.seeds]
    return {task: (chance(task, drawn[0]),
                   {n: statistics.mean(class_prior(task, data, n)
                                       for data in drawn) for n in counts})
            for task in TASKS}


def _baselines_table(baselines):
    counts = list(next(iter(baselines.values()))[1])
    return (["| task | chance (random ranking) | " + " | ".join(
                f"class prior, {n} labels" for n in counts) + " |",
             "|---|---:|" + "---:|" * len(counts)]
            + [f"| {task} | {chance:.3f} | " + " | ".join(
                f"{prior[n]:.3f}" for n in counts) + " |"
               for task, (chance, prior) in baselines.items()])


def render_report(budget_name, records_root="experiments"):
    from keras_vidrep.tasks import PROTOCOLS
    from keras_vidrep.tasks import TASKS

    budget = BUDGETS[budget_name]
    folder = Path(records_root) / NAME / budget_name
    rows = rows_of(budget)
    records = load_records(folder)
    baselines = label_baselines(budget)
    columns = [(task, n) for task in TASKS for n in budget.label_counts]
    trained_counts = sorted({n for counts in budget.trained_label_counts.values()
                             for n in counts})
    trained_columns = [(task, n) for task in TASKS for n in trained_counts]
    machines = sorted({r["machine"] for recs in records.values() for r in recs})
    seconds = sum(r["seconds"] for recs in records.values() for r in recs)
    frozen = [r for r in rows if PROTOCOLS[r.protocol].pretrained
              and not PROTOCOLS[r.protocol].trains_encoder
              or r.protocol == "random"]
    trained = [r for r in rows if PROTOCOLS[r.protocol].trains_encoder]
    lines = [
        f"# {TITLE}", "", f"Question: {QUESTION}", "",
        "Generated by `keras_vidrep.experiments.representations` from the "
        f"records in `records/` (budget `{budget_name}`: {budget.description});"
        f" do not edit. Reproduce with `keras-vidrep experiment {NAME} "
        f"--budget {budget_name}`; one cell with `keras-vidrep probe NAME "
        "--task TASK --labels N --protocol P`.", "",
        "Tasks (`keras_vidrep.tasks`, labels from the generator, clamp-and-flip"
        " physics, 10 input frames): " + "; ".join(
            f"**{t.name}**: {t.description}" for t in TASKS.values()) + ". "
        "Labelled clips come from the train digits, scores from "
        f"{budget.eval_sequences} held-out clips of the test digits. "
        "Accuracy is top-k recall (the share of a clip's true classes among "
        "its k best-scored, k its number of true classes). Cells: mean ± "
        "sd over seeds (each seed: other labelled clips, other "
        "initialisations).", "",
        "What a probe must beat on the same held-out clips: chance, and the "
        "class prior (every clip ranks the classes by their frequency in "
        "the labelled clips; the motion sectors are not equally frequent), "
        "by `keras_vidrep.tasks.chance` and `class_prior`:", "",
        *_baselines_table(baselines), "",
        f"Records: {sum(len(v) for v in records.values())} (row, seed) pairs "
        f"of {len(rows) * len(budget.seeds)}; {seconds / 60:.0f} minutes in "
        f"all on: {'; '.join(machines) or '–'}.", "",
        "## Verdict", "", RULE, "",
        *_verdict(rows, records, budget, baselines), "",
        "## Frozen encoders, linear probe (accuracy)", "",
        *_table(frozen, records, columns, "linear"), "",
        "## Frozen encoders, MLP probe (accuracy)", "",
        *_table(frozen, records, columns, "mlp"), "",
        "## Frozen encoders, linear probe (mean average precision)", "",
        *_table(frozen, records, columns, "linear",
                "mean_average_precision"), "",
        "## Encoders that train: fine-tuned from the zoo vs from scratch "
        "(linear head, accuracy)", "",
        f"{budget.trained_steps} Adam steps of {budget.trained_batch} clips "
        "(learning rate 0.001), the same for both.", "",
        *_table(trained, records, trained_columns, "linear"), "",
        "![accuracy against labelled clips](accuracy_vs_labels.png)", "",
        "## Notes", "",
        "- A frozen encoder's representation is its final `[h, c]` of every "
        "layer, flattened (`model.encoder()`): 128 (64 units) or 256 (128 units) numbers for the fc "
        "encoders, 65,536 for the ConvLSTM ones; the head standardises it "
        "(batch normalisation without scale or offset) before its linear "
        "layer (or 256 ReLU units and dropout 0.5).",
        "- The zoo encoders were trained on mirror-bounce clips (their cards "
        "say so) and are probed on the original clamp-and-flip physics.",
        "- Budget: one seed of the random encoder, the labelled draw and the "
        "head initialisation per row; the eval set is the same for all.",
        "- Fine-tuning trains the whole encoder with the head for the "
        "budget's steps at Adam's learning rate 0.001, from scratch "
        "likewise: compare a fine-tuned row with the frozen probe of the "
        "same encoder too. Longer or gentler fine-tuning (a lower rate for "
        "the encoder) is not explored at this budget.", "",
    ]
    return "\n".join(lines)


def write_report(budget_name, records_root="experiments"):
    """Writes ``report.md`` and ``accuracy_vs_labels.png``; returns the
    report's path."""
    rows = rows_of(_budget(budget_name))
    folder = Path(records_root) / NAME / budget_name
    folder.mkdir(parents=True, exist_ok=True)
    _figure(rows, load_records(folder), BUDGETS[budget_name],
            folder / "accuracy_vs_labels.png")
    path = folder / "report.md"
    path.write_text(render_report(budget_name, records_root))
    return path
