"""Experiment ``captions``: the S2VT captioner's ablations.

As the source's table of S2VT variants: frames read forward or reversed
(Sutskever et al. 2014 reversed the source sentence), appearance vs motion
vs fused frame features, a frame reader trained from scratch vs pretrained
on a frame-level task, and greedy decoding vs beam search (every row is
scored both ways). Each row trains ``train_captioner`` in the work folder
(weights: never committed), is scored on held-out clips of the test digits
(``caption_scores``) and recorded in
``experiments/captions/BUDGET/records/ROW-seedS/record.json``, written last
(a recorded row is skipped when the command runs again; a row interrupted
while training starts over). ``report.md`` is regenerated from the records.
"""

import dataclasses
import json
import statistics
import time
from pathlib import Path

from keras_vidrep._validation import InputError
from keras_vidrep._validation import look_up
from keras_vidrep.captions.metrics import score_of
from keras_vidrep.experiments.report import load_records
from keras_vidrep.experiments.verdicts import RULE
from keras_vidrep.training.provenance import machine_description

NAME = "captions"
TITLE = "Video to text: S2VT captioner ablations"
QUESTION = ("Which choices of S2VT matter on bouncing digits: reading the "
            "frames reversed, appearance or motion features or both, a "
            "pretrained frame reader, beam search?")
BEAMS = (1, 5)
METRICS = (("content", "content", "{:.3f}"),
           ("bleu4", "BLEU-4", "{:.1f}"), ("exact_match", "exact", "{:.3f}"),
           ("digit_accuracy", "digits", "{:.3f}"),
           ("path_accuracy", "paths", "{:.3f}"))
# The scores the verdicts compare: what the captions get right.
CONTENT = (("digit_accuracy", "digits right"), ("path_accuracy", "paths right"))


@dataclasses.dataclass(frozen=True)
class CaptionRow:
    """One captioner: ``model`` are ``S2VTCaptioner`` arguments;
    ``pretrained_reader`` starts its appearance reader from
    ``pretrain_frame_reader``."""

    key: str
    label: str
    model: dict
    pretrained_reader: bool = False


ROWS = (
    CaptionRow("fused", "fused streams, frames forward", {"stream": "fused"}),
    CaptionRow("fused_reversed", "fused streams, frames reversed",
               {"stream": "fused", "reverse_frames": True}),
    CaptionRow("appearance", "appearance stream only",
               {"stream": "appearance"}),
    CaptionRow("motion", "motion stream only (frame differences)",
               {"stream": "motion"}),
    CaptionRow("fused_pretrained", "fused streams, pretrained frame reader",
               {"stream": "fused"}, pretrained_reader=True),
)
# (better, worse, question): the comparisons the report answers.
CLAIMS = (("fused_reversed", "fused", "Does reading the frames reversed help?"),
          ("fused", "appearance", "Does adding the motion stream help?"),
          ("fused", "motion", "Does adding the appearance stream help?"),
          ("fused_pretrained", "fused",
           "Does a pretrained frame reader help?"))


@dataclasses.dataclass(frozen=True)
class CaptionBudget:
    name: str
    steps: int
    batch_size: int
    units: int
    features: int
    reader_steps: int
    eval_clips: int
    seeds: tuple
    description: str


BUDGETS = {b.name: b for b in (
    CaptionBudget("smoke", steps=2, batch_size=4, units=8, features=8,
                  reader_steps=2, eval_clips=10, seeds=(0,),
                  description="a check that everything runs; numbers mean "
                              "nothing"),
    CaptionBudget("cpu", steps=2000, batch_size=32, units=256, features=128,
                  reader_steps=1000, eval_clips=1000, seeds=(0,),
                  description="2,000 Adam steps of 32 clips, two "
                              "PeepholeLSTM(256), readers of 128 features; "
                              "frame reader pretrained 1,000 steps of 64 "
                              "frames; 1,000 held-out clips"),
)}


def _budget(name):
    return look_up(BUDGETS, name, f"Experiment {NAME!r} has no budget "
                   f"{name!r}", "budgets")


def record_path(records_root, budget, row, seed):
    return (Path(records_root) / NAME / budget.name / "records"
            / f"{row.key}-seed{seed}" / "record.json")


def run_row(budget, row, seed, *, records_root, workdir, digits=None):
    """Trains, scores and records one row for one seed."""
    import keras

    from keras_vidrep.captions.training import caption_strip
    from keras_vidrep.captions.training import generate_captions
    from keras_vidrep.captions.training import held_out_clips
    from keras_vidrep.captions.metrics import caption_scores
    from keras_vidrep.captions.training import pretrain_frame_reader
    from keras_vidrep.captions.training import train_captioner

    path = record_path(records_root, budget, row, seed)
    if path.is_file():
        return path
    keras.backend.clear_session()
    out = Path(workdir) / NAME / budget.name / row.key / f"seed{seed}"
    started = time.time()
    reader = None
    if row.pretrained_reader:
        reader = pretrain_frame_reader(out / "reader",
                                       steps=budget.reader_steps, seed=seed,
                                       features=budget.features,
                                       source=digits)
    model = train_captioner(out, steps=budget.steps,
                            batch_size=budget.batch_size, seed=seed,
                            source=digits, frame_reader=reader,
                            units=budget.units, features=budget.features,
                            **row.model)
    seconds = round(time.time() - started, 1)
    frames, references = held_out_clips(budget.eval_clips, source=digits)
    scores, examples = {}, {}
    for beam in BEAMS:
        generated = generate_captions(model, frames, beam_size=beam)
        scores[str(beam)] = caption_scores(generated, references)
        examples[str(beam)] = generated[:4]
    path.parent.mkdir(parents=True, exist_ok=True)
    caption_strip(frames[:4], examples["1"], references[:4],
                  path.parent / "strip.png")
    record = {
        "experiment": NAME, "budget": budget.name, "row": row.key,
        "seed": seed, "label": row.label, "model": model.get_config(),
        "pretrained_reader": row.pretrained_reader, "steps": budget.steps,
        "batch_size": budget.batch_size, "eval_clips": budget.eval_clips,
        "scores": scores, "examples": examples,
        "references": [r[0] for r in references[:4]],
        "training_seconds": seconds, "machine": machine_description(),
        "backend": keras.backend.backend(),
        "command": (f"keras-vidrep experiment {NAME} --budget {budget.name} "
                    f"--rows {row.key} --seeds {seed}"),
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=1))
    tmp.replace(path)
    return path


# What ``run`` takes besides the budget (the command line passes these).
RUN_OPTIONS = ("seeds", "rows", "records_root", "digits", "workdir")


def run(budget="smoke", *, seeds=None, rows=None, records_root="experiments",
        workdir="runs/experiments", digits=None):
    """Runs (or resumes) the experiment; returns the report's path."""
    chosen = _budget(budget)
    unknown = sorted(set(rows or ()) - {r.key for r in ROWS})
    if unknown:
        raise InputError(f"Unknown rows {unknown} for experiment {NAME!r}. "
                         f"Valid rows: {', '.join(r.key for r in ROWS)}.")
    todo = [r for r in ROWS if not rows or r.key in rows]
    for seed in (chosen.seeds if seeds is None else seeds):
        for index, row in enumerate(todo, 1):
            print(f"[{NAME}/{budget}] seed {seed}, {index}/{len(todo)}: "
                  f"{row.key}", flush=True)
            run_row(chosen, row, seed, records_root=records_root,
                    workdir=workdir, digits=digits)
    return write_report(budget, records_root=records_root)


def _values(records, beam, metric):
    return [score_of(r["scores"][str(beam)], metric) for r in records]


def _cell(values, fmt):
    if not values:
        return "–"
    if len(values) == 1:
        return fmt.format(values[0])
    return (f"{fmt.format(statistics.mean(values))} ± "
            f"{fmt.format(statistics.stdev(values))}")


def render_report(budget_name, records_root="experiments"):
    from keras_vidrep.experiments.representations import _compare

    budget = _budget(budget_name)
    records = load_records(Path(records_root) / NAME / budget_name)
    header = " | ".join(f"{label} (beam {beam})" for beam in BEAMS
                        for _, label, _ in METRICS)
    table = [f"| captioner | {header} |",
             "|---|" + "---:|" * (len(BEAMS) * len(METRICS))]
    for row in ROWS:
        if row.key in records:
            cells = [_cell(_values(records[row.key], beam, metric), fmt)
                     for beam in BEAMS for metric, _, fmt in METRICS]
            table.append(f"| {row.label} | " + " | ".join(cells) + " |")
    if records:
        from keras_vidrep.captions.baselines import CONTENT_FREE
        from keras_vidrep.captions.baselines import content_free_scores
        from keras_vidrep.captions.training import held_out_clips

        floor = content_free_scores(held_out_clips(budget.eval_clips)[1])
        table += ["", "The same scores of captions that saw nothing or half "
                  "of each clip, on the same clips "
                  "(`keras_vidrep.captions.baselines`):", "",
                  "| content-free captions | " + " | ".join(
                      label for _, label, _ in METRICS) + " |",
                  "|---|" + "---:|" * len(METRICS)]
        table += [f"| {CONTENT_FREE[kind]} | " + " | ".join(
                      fmt.format(score_of(scores, metric))
                      for metric, _, fmt in METRICS) + " |"
                  for kind, scores in floor.items()]
    verdicts = []
    labels = {r.key: r.label for r in ROWS}
    # Judged on content (what a caption gets right), not BLEU-4: a caption
    # in our grammar with random digits and paths scores about as high.
    def content(better_values, worse_values):
        return "; ".join(
            f"{words} {_compare(better_values(metric), worse_values(metric))}"
            for metric, words in CONTENT)

    for better, worse, question in CLAIMS:
        if better in records and worse in records:
            verdicts.append(
                f"- {question} {labels[better]} against {labels[worse]}: "
                + content(lambda m: _values(records[better], 1, m),
                          lambda m: _values(records[worse], 1, m)) + ".")
    if records:
        verdicts.append(
            "- Does beam search (5) beat greedy decoding? Per row: "
            + "; ".join(f"{labels.get(k, k)}: " + content(
                lambda m, k=k: _values(records[k], 5, m),
                lambda m, k=k: _values(records[k], 1, m)) for k in records)
            + ".")
    machines = sorted({r["machine"] for recs in records.values() for r in recs})
    examples = []
    for row in ROWS:
        if row.key in records:
            first = records[row.key][0]
            examples.append(f"**{row.label}** (![strip](records/{row.key}-seed"
                            f"{first['seed']}/strip.png))")
            for text, truth in zip(first["examples"]["1"], first["references"]):
                examples.append(f"- model: `{text}`; truth: `{truth}`")
    lines = [
        f"# {TITLE}", "", f"Question: {QUESTION}", "",
        "Generated by `keras_vidrep.experiments.captions` from the records in "
        f"`records/` (budget `{budget_name}`: {budget.description}); do not "
        f"edit. Reproduce with `keras-vidrep experiment {NAME} --budget "
        f"{budget_name}`.", "",
        "Scores on held-out clips of the test digits (`caption_scores`): "
        "BLEU-4 (sacrebleu, 0-100) against each clip's six references, exact "
        "match, and the shares of digits and of paths named right.", "",
        f"Machines: {'; '.join(machines) or '–'}.", "",
        "## Verdict", "", RULE, "", *(verdicts or ["No rows recorded yet."]),
        "",
        "## Ablations", "", *table, "", "## Examples (greedy)", "",
        *examples, ""]
    return "\n".join(lines)


def write_report(budget_name, records_root="experiments"):
    folder = Path(records_root) / NAME / budget_name
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "report.md"
    path.write_text(render_report(budget_name, records_root))
    return path
