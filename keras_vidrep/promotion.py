"""``keras-vidrep promote RUN_DIR NAME``: a finished training run becomes a
zoo model, with every record written by code.

``promote`` checks that the run trained the zoo's architecture of ``NAME``
to its last step, evaluates it on held-out sequences of the test digits
(clamp-and-flip physics) next to the model it would replace, evaluated on
the same sequences, and refuses unless it is better (``force`` overrides).
A zoo captioner (``keras_vidrep.captions.presets``) takes a finished
``keras-vidrep train-captioner`` run and is judged on the greedy BLEU-4 of
held-out clips; its SavedModel serves the ``caption`` signature.
It then writes, in this order:

1. ``zoo/runs/NAME/``: the run's ``run.json`` and ``history.csv``; when the
   run started from the zoo model's own weights (``--initial-weights NAME``),
   the records of the runs before it move to the subfolder ``before/``,
   which its ``run.json`` names in ``starts_from``, so the card shows the
   chain;
2. ``saved_models/NAME/model.weights.h5`` and ``zoo/evaluations/NAME.json``;
3. the next SavedModel version ``saved_models/NAME/<V+1>/`` (older versions
   are removed: the repository keeps them in its history, and
   ``saved_models/`` must stay within its size budget);
4. the preset table, ``config.json`` and ``metadata.json``, the card, the
   zoo's index and ``models.config``.
"""

import json
import shutil
from pathlib import Path

from keras_vidrep._validation import InputError

SIZE_BUDGET_MIB = 200


def _headline(name, report):
    """(target, value, higher is better) the zoo model ``name`` is judged
    on: a video model's MSE per frame of the future if it predicts one, else
    of the reconstruction; a captioner's greedy BLEU-4."""
    from keras_vidrep import zoo
    from keras_vidrep.captions.presets import headline

    if zoo.is_captioner(name):
        return headline(report)
    results = report["bouncing_digits_test"]
    target = "future" if "future" in results else "reconstruction"
    return target, results[target]["model"]["frame_mse"]["mean"], False


def _report(name, model, sequences, seed, digits):
    """The evaluation record of ``model`` as the zoo model ``name``."""
    from keras_vidrep import zoo
    from keras_vidrep.captions.presets import evaluate_preset

    if zoo.is_captioner(name):
        return {"model": name, **evaluate_preset(model, clips=sequences,
                                                 digits=digits)}
    return {"model": name, "bounce": "clamp", "bouncing_digits_test":
            _evaluate(model, sequences, seed, digits)}


def _export(name, model, folder, version):
    from keras_vidrep import zoo
    from keras_vidrep.captions.presets import export_preset
    from keras_vidrep.saved_model import export

    if zoo.is_captioner(name):
        return export_preset(model, folder, version)
    return export(model, folder, version=version)


def _finished_run(run_dir, name):
    run_dir = Path(run_dir)
    for file_name in ("run.json", "model.keras", "history.csv"):
        if not (run_dir / file_name).is_file():
            raise InputError(f"{run_dir} is not a finished training run: no "
                             f"{file_name}. Received: run_dir={str(run_dir)!r}")
    from keras_vidrep import zoo
    from keras_vidrep.captions.training import CAPTIONER_RUN

    run = json.loads((run_dir / "run.json").read_text())
    trained = CAPTIONER_RUN if zoo.is_captioner(name) else name
    if run.get("model") != trained:
        raise InputError(f"{run_dir} trained {run.get('model')!r}, not "
                         f"{name!r}. Received: name={name!r}")
    parts = run.get("parts") or [{}]
    reached = parts[-1].get("steps_reached")
    from keras_vidrep.checkpoints import planned_steps

    wanted = planned_steps(run)  # `--steps N`, or `--epochs E`
    if wanted is not None and reached != wanted:
        raise InputError(
            f"{run_dir} is not finished: it reached step {reached} of "
            f"{wanted}. Rerun its train command to finish it.")
    return run_dir, run


def _architecture(model):
    config = model.get_config()
    return {k: v for k, v in config.items()
            if k not in ("name", "trainable", "teacher_forcing")}


def _evaluate(model, sequences, seed, digits):
    from keras_vidrep.data import bouncing_digits_eval
    from keras_vidrep.evaluation import evaluate_model

    clips = bouncing_digits_eval(sequences, seed=seed, batch_size=50,
                                 source=digits, num_frames=model.clip_frames,
                                 frame_size=model.frame_size)
    return evaluate_model(model, clips, progress=False)


def _record_runs(run_dir, run, name):
    """Writes ``zoo/runs/NAME/``, keeping the chain of a fine-tuning run."""
    from keras_vidrep import zoo

    folder = zoo.ROOT / "zoo" / "runs" / name
    if run.get("initial_weights") == name and (folder / "run.json").is_file():
        # The earlier stages (with their own chain) move into a subfolder.
        earlier = folder.with_name(f"{name}.earlier")
        folder.rename(earlier)
        folder.mkdir()
        earlier.rename(folder / "before")
        run = {**run, "starts_from": "before"}
    else:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    (folder / "run.json").write_text(json.dumps(run, indent=2))
    shutil.copyfile(run_dir / "history.csv", folder / "history.csv")


def _next_version(folder):
    versions = [int(child.name) for child in folder.glob("*")
                if child.name.isdigit()]
    return max(versions, default=0) + 1, versions


def _size_mib(folder):
    return sum(p.stat().st_size for p in Path(folder).rglob("*")
               if p.is_file()) / 2**20


def promote(run_dir, name, *, sequences=1000, seed=1234, digits=None,
            force=False):
    """Makes the run in ``run_dir`` the zoo model ``name``.

    Args:
        run_dir: a folder written by ``keras-vidrep train`` that reached its
            last step.
        name: the zoo name; the run must have trained its architecture.
        sequences, seed: the held-out sequences (test digits, clamp
            physics) both models are evaluated on; for a captioner, the
            number of held-out clips (their seed is the caption
            evaluation's, fixed).
        digits: MNIST location (``load_mnist_digits``).
        force: promote even if it is not better than the current model.

    Returns:
        A dict: ``old`` and ``new`` headline values (MSE per frame, or a
        captioner's greedy BLEU-4), the ``target`` they measure,
        ``higher_is_better``, the ``version`` exported,
        ``saved_models_mib``.

    Raises:
        InputError: not a finished run of ``name``'s architecture, or not
            better than the current model without ``force``.
    """
    from keras_vidrep import zoo
    from keras_vidrep import zoo_records
    from keras_vidrep.saved_model import write_models_config

    zoo._check_name(name)
    run_dir, run = _finished_run(run_dir, name)
    model = zoo.load(run_dir, compile=False)
    wanted = zoo.build_preset(name)
    if _architecture(model) != _architecture(wanted):
        raise InputError(
            f"{run_dir} trained another architecture than the zoo's {name}: "
            f"{_architecture(model)} against {_architecture(wanted)}. The zoo "
            "keeps one architecture per name.")
    report = {**_report(name, model, sequences, seed, digits),
              "run": str(run_dir)}
    target, new, higher_is_better = _headline(name, report)
    saved = zoo.saved_models_dir() / name
    old = None
    if (saved / zoo.WEIGHTS_FILE).is_file():
        current = zoo.build_preset(name)
        current.load_weights(saved / zoo.WEIGHTS_FILE)
        old = _headline(name, _report(name, current, sequences, seed,
                                      digits))[1]
    better = old is None or (new > old if higher_is_better else new < old)
    if not better and not force:
        measure = target if higher_is_better else f"{target} MSE per frame"
        raise InputError(
            f"{run_dir} is not better than the zoo's {name}: {measure} "
            f"{new:.2f} against {old:.2f} on the same {sequences} held-out "
            "clips. Pass force=True (--force) to promote it anyway.")

    if old is not None:
        # The card says by how much the new model improves on the one it
        # replaces (the repository keeps every version: ship only gains).
        report["replaces"] = {
            "version": max(_next_version(saved)[1], default=None),
            "target": target,
            # Under the metric's own name: frame_mse, or bleu4.
            ("bleu4" if higher_is_better else "frame_mse"): old}
    _record_runs(run_dir, run, name)
    saved.mkdir(parents=True, exist_ok=True)
    model.save_weights(saved / zoo.WEIGHTS_FILE)
    evaluations = zoo.ROOT / "zoo" / "evaluations"
    evaluations.mkdir(parents=True, exist_ok=True)
    (evaluations / f"{name}.json").write_text(json.dumps(report, indent=2))
    version, older = _next_version(saved)
    _export(name, model, saved, version)
    for stale in older:
        shutil.rmtree(saved / str(stale))
    zoo_records.write_presets()
    zoo_records.write_card(name)
    zoo_records.write_index()
    write_models_config()
    size = _size_mib(zoo.saved_models_dir())
    return {"target": target, "old": old, "new": new,
            "higher_is_better": higher_is_better, "version": version,
            "saved_models_mib": round(size, 1),
            "within_budget": size <= SIZE_BUDGET_MIB}
