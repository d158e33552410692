"""An experiment's report, regenerated from its records alone.

``write_report(name, budget)`` reads ``experiments/NAME/BUDGET/records/*/
record.json`` (written by the runner) and writes, beside them, ``report.md``
and ``loss_curves.png``. Nothing in a report is typed by hand: rerun
``keras-vidrep experiment NAME --budget BUDGET --report-only`` after editing
this module.
"""

import json
import statistics
from pathlib import Path

from keras_vidrep.experiments.definitions import EXPERIMENTS
from keras_vidrep.experiments.definitions import PIXELS
from keras_vidrep.experiments.definitions import rows_of
from keras_vidrep.experiments.verdicts import RULE
from keras_vidrep.experiments.verdicts import UNDECIDED
from keras_vidrep.experiments.verdicts import separate

METRICS = (("frame_mse", "MSE/frame", "{:.1f}"),
           ("frame_cross_entropy", "cross-entropy/frame", "{:.1f}"),
           ("ssim", "SSIM", "{:.3f}"))
BASELINE_NAMES = {"copy_last_frame": "copy the last input frame",
                  "all_zeros": "all-zeros frames",
                  "mean_input_frame": "mean input frame"}


def load_records(folder):
    """``{row key: [record, ...]}`` (one record per seed, by seed)."""
    records = {}
    for path in sorted(Path(folder).glob("records/*/record.json")):
        record = json.loads(path.read_text())
        records.setdefault(record["row"], []).append(record)
    for values in records.values():
        values.sort(key=lambda r: r["seed"])
    return records


def _values(records, target, metric, predictor="model"):
    return [r["evaluation"][target][predictor][metric]["mean"] for r in records]


def summary(values, fmt="{:.1f}"):
    """'mean ± sd (n=K)', or the single value for one seed."""
    if len(values) == 1:
        return f"{fmt.format(values[0])} (1 seed)"
    return (f"{fmt.format(statistics.mean(values))} ± "
            f"{fmt.format(statistics.stdev(values))} (n={len(values)})")


def judge(better, worse, unconverged=()):
    """The verdict on 'is ``better`` lower than ``worse``?' from the
    per-seed values of each, by ``verdicts.RULE``: e.g. 'yes (-47.6%;
    every seed)' or 'undecided at this budget (-0.2%; one seed)'. Rows
    named in ``unconverged`` make it undecided whatever the seeds say."""
    answer, reason = separate(better, worse)
    notes = [reason]
    if unconverged:
        answer = UNDECIDED
        notes.append("not converged: " + " and ".join(unconverged))
    a, b = statistics.mean(better), statistics.mean(worse)
    return f"{answer} ({(a - b) / b:+.1%}; {'; '.join(notes)})"


def _best_baseline(records, target, metric, higher_is_better=False):
    pick = max if higher_is_better else min
    return pick(_values(records[:1], target, metric, baseline)[0]
                for baseline in BASELINE_NAMES)


def converged(records, target):
    """Whether every seed of a row beats every trivial baseline in both MSE
    and SSIM: a row that does not has not learnt to see yet, and comparing
    it measures how fast rows converge, not what they can reach."""
    mse = _values(records, target, "frame_mse")
    ssim = _values(records, target, "ssim")
    return (max(mse) < _best_baseline(records, target, "frame_mse")
            and min(ssim) > _best_baseline(records, target, "ssim", True))


def _claim_verdicts(claim, rows, records):
    """One line per pair of rows the claim compares: a group (the ways to
    train one conditional model) is compared row by row, never by its best
    row, which would choose by the test score."""
    sides = []
    for key in (claim.better, claim.worse):
        members = [row for row in rows if key in (row.key, row.group)]
        sides.append(members)
    if not all(sides):
        return [f"- {claim.question} **not answered yet: a row is missing**"]
    lines = []
    for better in sides[0]:
        for worse in sides[1]:
            values = [_values(records[row.key], row.target, claim.metric)
                      for row in (better, worse)]
            verdict = judge(*values, unconverged=[
                row.label for row in (better, worse)
                if not converged(records[row.key], row.target)])
            regimes = [row.label.rsplit("(", 1)[1][:-1]
                       for row in (better, worse) if row.group]
            which = f" [{', '.join(regimes)}]" if regimes else ""
            lines.append(f"- {claim.question}{which} **{verdict}**")
    return lines


def _implausible_figures(rows):
    """Lines flagging lab-report figures that contradict the lab report."""
    by_key = {row.key: row for row in rows}
    lines = []
    for row in rows:
        other = by_key.get(row.implausible_against)
        if other is None or row.reported is None:
            continue
        lines.append(
            f"- The lab report's {row.label} figure ({row.reported:.5f} per "
            f"pixel, {row.reported * PIXELS:.1f} per frame) is "
            f"{other.reported / row.reported:.1f}x below its own "
            f"{other.label} ({other.reported:.5f}): implausible (a typo or "
            "another protocol); it is printed, not taken as a target.")
    return lines


def _loss_curves(resolved, records, path):
    """Training loss against step, one line per row (its first seed)."""
    import matplotlib

    from keras_vidrep.training.checkpoints import read_history

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 4.5), dpi=100)
    for row, _ in resolved:
        if row.key not in records:
            continue
        seed = records[row.key][0]["seed"]
        history = path.parent / "records" / f"{row.key}-seed{seed}" / "history.csv"
        rows = read_history(history)
        every = records[row.key][0]["steps"] / max(len(rows), 1)
        axis.plot([(int(r["epoch"]) + 1) * every for r in rows],
                  [float(r["loss"]) for r in rows], label=row.label)
    axis.set_xlabel("training step")
    axis.set_ylabel("training loss (per frame, summed over decoders)")
    axis.set_yscale("log")
    axis.grid(True, alpha=0.3)
    axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def render_report(name, budget_name, records_root="experiments"):
    """The report's Markdown text."""
    experiment = EXPERIMENTS[name]
    budget = experiment.budgets[budget_name]
    folder = Path(records_root) / name / budget_name
    resolved = rows_of(experiment, budget)
    records = load_records(folder)
    lines = [f"# {experiment.title}", "",
             f"Question: {experiment.question}", "",
             "Generated by `keras_vidrep.experiments.report` from the records "
             f"in `records/` (budget `{budget_name}`: {budget.description}); "
             "do not edit. Reproduce with `keras-vidrep experiment "
             f"{name} --budget {budget_name}`.", ""]
    done = [row for row, _ in resolved if row.key in records]
    pending = [row.key for row, _ in resolved if row.key not in records]
    if not done:
        return "\n".join(lines + ["No row has been run yet."]) + "\n"
    first = records[done[0].key][0]
    parts = first["training_parts"][-1]
    lines += [
        "## Setup", "",
        f"- Training: {budget.steps:,} steps of {budget.batch_size} sequences "
        f"per row and seed, {experiment.optimizer} at learning rate "
        f"{experiment.learning_rate}, loss {experiment.loss}, bouncing digits "
        "(the original clamp-and-flip bounce) from the train digits "
        "(MNIST test images 0-7999).",
        f"- Evaluation: {first['evaluation']['sequences']:,} held-out "
        f"sequences of the test digits (images 8000-9999, seed "
        f"{first['evaluation_seed']}), the same for every row; conditional "
        "decoders run autoregressively. Metrics per frame (summed over its "
        f"{PIXELS} pixels), mean over frames; lower MSE and cross-entropy "
        "are better, higher SSIM is better. The lab report's numbers are "
        f"MSE per pixel: x {PIXELS} gives ours.",
        f"- Machine: {parts['machine']}; backend {parts['backend']}, "
        f"precision {parts['precision']}.",
        "- The lab report does not state its training budget; its numbers "
        "stand beside ours for the ordering of the rows, not as a target "
        "at this budget.", ""]
    if experiment.notes:
        lines += [experiment.notes, ""]

    headers = ["row", "lab report MSE/pixel (/frame)"] + [
        f"ours {label}" for _, label, _ in METRICS] + [
        "ours MSE/pixel", "beats every baseline in MSE and SSIM",
        "parameters", "steps x batch (sequences)", "wall time / seed"]
    lines += ["## Results", "", "| " + " | ".join(headers) + " |",
              "|" + "---|" * len(headers)]
    for row, _ in resolved:
        if row.key not in records:
            continue
        rec = records[row.key]
        mse = _values(rec, row.target, "frame_mse")
        reported = ("not reported" if row.reported is None else
                    f"{row.reported:.6f} ({row.reported * PIXELS:.1f})")
        cells = [f"{row.label} [{row.target}]", reported]
        cells += [summary(_values(rec, row.target, metric), fmt)
                  for metric, _, fmt in METRICS]
        cells += [f"{statistics.mean(mse) / PIXELS:.6f}",
                  "yes" if converged(rec, row.target) else
                  "no: not converged",
                  f"{rec[0]['parameters']:,}",
                  f"{rec[0]['steps']:,} x {rec[0]['batch_size']} "
                  f"({rec[0]['steps'] * rec[0]['batch_size']:,})",
                  f"{statistics.mean(r['wall_seconds'] for r in rec) / 60:.1f} min"]
        lines.append("| " + " | ".join(cells) + " |")
    flagged = _implausible_figures([row for row, _ in resolved])
    if flagged:
        lines += [""] + flagged
    targets = sorted({row.target for row in done})
    lines += ["", "Trivial baselines on the same sequences (no training):", "",
              "| baseline | target | " + " | ".join(
                  label for _, label, _ in METRICS) + " |",
              "|---|---|" + "---|" * len(METRICS)]
    for baseline, words in BASELINE_NAMES.items():
        for target in targets:
            rec = records[next(r.key for r in done if r.target == target)][:1]
            lines.append(f"| {words} | {target} | " + " | ".join(
                fmt.format(_values(rec, target, metric, baseline)[0])
                for metric, _, fmt in METRICS) + " |")

    lines += ["", "## Verdicts", "", RULE + " A verdict on a row that does "
              "not beat every trivial baseline in both MSE and SSIM is "
              "undecided too: such a row has not converged, and comparing it "
              "measures how fast rows learn, not what they can reach. Every "
              "row trains the same steps on the same number of sequences; "
              "the compute differs (wall time above, on the machine named in "
              "the setup).", ""]
    for claim in experiment.claims:
        lines += _claim_verdicts(claim, done, records)
    lines += ["", "## Figures", "",
              "Training loss of each row (first seed): "
              "![loss curves](loss_curves.png)", ""]
    lines += [f"- {row.label}: ![{row.key}](records/{row.key}-seed"
              f"{records[row.key][0]['seed']}/strip.png)" for row in done]
    lines += ["", "## Reproduce", ""]
    lines += [f"- {row.label}: `keras-vidrep experiment {name} --budget "
              f"{budget_name} --rows {row.key} --seeds "
              f"{' '.join(str(r['seed']) for r in records[row.key])}`"
              for row in done]
    if pending:
        lines += ["", f"Not run yet at this budget: {', '.join(pending)}."]
    return "\n".join(lines) + "\n"


def write_report(name, budget_name, records_root="experiments"):
    """Writes ``report.md`` (and ``loss_curves.png``); returns its path."""
    folder = Path(records_root) / name / budget_name
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "report.md"
    path.write_text(render_report(name, budget_name, records_root))
    experiment = EXPERIMENTS[name]
    records = load_records(folder)
    if records:
        _loss_curves(rows_of(experiment, experiment.budgets[budget_name]),
                     records, folder / "loss_curves.png")
    return path
