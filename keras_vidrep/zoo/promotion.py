"""``keras-vidrep promote RUN_DIR NAME``: a finished training run becomes a
zoo model, with every record written by code.

``promote`` checks that the run trained the zoo's architecture of ``NAME``
to its last step, evaluates it on held-out sequences of the test digits
(clamp-and-flip physics) next to the model it would replace, evaluated on
the same sequences, and refuses unless it is better (``force`` overrides).
A zoo captioner (``keras_vidrep.zoo.captioners``) takes a finished
``keras-vidrep train-captioner`` run and is judged on the greedy content score of
held-out clips (``captions.presets.HEADLINE``); its SavedModel serves the ``caption`` signature.
It writes nothing in the live zoo until everything is written and checked
(``_switch``): one promotion at a time (a lock), then

1. the new zoo is staged beside the live one: ``zoo/`` copied with
   ``zoo/runs/NAME/`` (the run's ``run.json`` and ``history.csv``; when
   the run started from the zoo model's own weights, ``--initial-weights
   NAME``, the records of the runs before it move to the subfolder
   ``before/``, which its ``run.json`` names in ``starts_from``, so the card
   shows the chain), ``zoo/evaluations/NAME.json``, the cards and the index;
   ``saved_models/NAME/`` with the weights, ``config.json``,
   ``metadata.json`` and only the next SavedModel version (older versions
   go: the repository keeps them in its history, and ``saved_models/`` must
   stay within its size budget); ``models.config``; the preset table;
2. the staged table, preset files and weights are checked to agree;
3. a journal is written (the commit point) and each staged item is
   renamed over the live one. A failure or a kill before the journal leaves
   the old zoo (the staging is removed by the next promotion); one after it
   is completed by the next promotion (``finish_interrupted_promotion``).
"""

import contextlib
import json
import os
import shutil
from pathlib import Path

from keras_vidrep import _switch
from keras_vidrep._validation import InputError

SIZE_BUDGET_MIB = 200


def _headline(name, report):
    """(target, value, higher is better) the zoo model ``name`` is judged
    on, as its kind judges it (``keras_vidrep.zoo.kinds``): a video model's
    MSE per frame of the future if it predicts one, else of the
    reconstruction; a captioner's greedy content score."""
    from keras_vidrep.zoo.kinds import kind_of

    return kind_of(name).headline(report)


def _report(name, model, sequences, seed, digits):
    """The evaluation record of ``model`` as the zoo model ``name``."""
    from keras_vidrep.zoo.kinds import kind_of

    return {"model": name, **kind_of(name).evaluate(
        model, sequences=sequences, seed=seed, digits=digits)}


def _export(name, model, folder, version):
    from keras_vidrep.zoo.kinds import kind_of

    return kind_of(name).export(model, folder, version)


def _finished_run(run_dir, name):
    run_dir = Path(run_dir)
    for file_name in ("run.json", "model.keras", "history.csv"):
        if not (run_dir / file_name).is_file():
            raise InputError(f"{run_dir} is not a finished training run: no "
                             f"{file_name}. Received: run_dir={str(run_dir)!r}")
    from keras_vidrep.training.checkpoints import planned_steps
    from keras_vidrep.training.checkpoints import read_run_record
    from keras_vidrep.zoo.kinds import kind_of

    run = read_run_record(run_dir)
    trained = kind_of(name).trained_as(name)
    if run.get("model") != trained:
        raise InputError(f"{run_dir} trained {run.get('model')!r}, not "
                         f"{name!r}. Received: name={name!r}")
    parts = run.get("parts") or [{}]
    reached = parts[-1].get("steps_reached")
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


def _record_runs(run_dir, run, name):
    """Writes ``zoo/runs/NAME/``, keeping the chain of a fine-tuning run."""
    from keras_vidrep.zoo import loading as zoo

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


def _targets(name):
    """What a promotion of ``name`` replaces: the zoo's records (runs,
    evaluations, cards, index: one folder), the model's folder in
    ``saved_models/`` (weights, preset files, SavedModel), the serving
    config and the preset table."""
    from keras_vidrep import presets
    from keras_vidrep.zoo import loading as zoo
    from keras_vidrep.serving.saved_model import MODELS_CONFIG

    saved = zoo.saved_models_dir()
    return [zoo.ROOT / "zoo", saved / name, saved / MODELS_CONFIG,
            presets.TABLE_FILE]


def finish_interrupted_promotion():
    """Completes a promotion that a crash interrupted during its switch
    (``_switch.finish``), and removes what one interrupted while staging
    left beside the zoo; returns the targets switched ([] if none)."""
    from keras_vidrep import presets
    from keras_vidrep.zoo import loading as zoo

    finished = _switch.finish(zoo.ROOT)
    for folder in {zoo.ROOT, zoo.saved_models_dir(), presets.TABLE_FILE.parent}:
        if folder.is_dir():
            _switch.discard_staged(
                folder / child.name[len(prefix):]
                for prefix in (_switch.STAGED_PREFIX, _switch.REPLACED_PREFIX)
                for child in folder.glob(prefix + "*"))
    return finished


@contextlib.contextmanager
def _staged_zoo(name, targets):
    """Within it, every record writer writes the new zoo beside the live
    one: ``zoo.ROOT``, the saved-models folder and the preset table point
    at a view in which each target is its staged copy (``_switch``), the
    other models' folders are the live ones (linked, only read). Whatever
    fails in it leaves the live zoo untouched and the staging removed."""
    from keras_vidrep import presets
    from keras_vidrep.zoo import loading as zoo

    records, model_folder, models_config, table = targets
    live_saved = model_folder.parent
    view = _switch.staged_path(zoo.ROOT / ".view")
    _switch.discard_staged(targets + [zoo.ROOT / ".view"])
    shutil.copytree(records, _switch.staged_path(records))
    shutil.copyfile(table, _switch.staged_path(table))
    live_saved.mkdir(parents=True, exist_ok=True)
    _switch.staged_path(model_folder).mkdir()
    (view / "saved_models").mkdir(parents=True)
    (view / "zoo").symlink_to(_switch.staged_path(records))
    (view / "saved_models" / name).symlink_to(_switch.staged_path(model_folder))
    for child in live_saved.iterdir() if live_saved.is_dir() else ():
        if (child.is_dir() and child.name != name
                and not child.name.startswith(".")):
            (view / "saved_models" / child.name).symlink_to(child.resolve())
    saved_env = os.environ.get(zoo.SAVED_MODELS_ENV)
    root, table_file = zoo.ROOT, presets.TABLE_FILE
    zoo.ROOT, presets.TABLE_FILE = view, _switch.staged_path(table)
    os.environ[zoo.SAVED_MODELS_ENV] = str(view / "saved_models")
    presets.preset_table.cache_clear()
    try:
        yield
        shutil.move(view / "saved_models" / models_config.name,
                    _switch.staged_path(models_config))
    except BaseException:
        _switch.discard_staged(targets)  # absolute paths: the live folders
        raise
    finally:
        zoo.ROOT, presets.TABLE_FILE = root, table_file
        if saved_env is None:
            os.environ.pop(zoo.SAVED_MODELS_ENV, None)
        else:
            os.environ[zoo.SAVED_MODELS_ENV] = saved_env
        presets.preset_table.cache_clear()
        shutil.rmtree(view, ignore_errors=True)


def _verify_staged(name, model, staged, version):
    """Refuses to switch to a staged zoo whose table, preset files and
    weights disagree, or whose SavedModel is missing."""
    from keras_vidrep import presets
    from keras_vidrep.zoo import loading as zoo

    digest = presets.sha256(staged / zoo.WEIGHTS_FILE)
    metadata = json.loads((staged / "metadata.json").read_text())
    recorded = presets.preset_table()[name]["sha256"]
    if not digest == metadata["sha256"] == recorded:
        raise RuntimeError(
            f"The staged zoo disagrees on {name}'s weights (file {digest}, "
            f"metadata {metadata['sha256']}, table {recorded}); nothing was "
            "switched.")
    if not (staged / str(version) / "saved_model.pb").is_file():
        raise RuntimeError(f"The staged SavedModel of {name} is missing; "
                           "nothing was switched.")
    check = zoo.build_preset(name)
    check.load_weights(staged / zoo.WEIGHTS_FILE)
    if any((a != b).any() for a, b in zip(check.get_weights(),
                                          model.get_weights())):
        raise RuntimeError(f"The staged weights of {name} are not the run's; "
                           "nothing was switched.")


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
        captioner's greedy content score), the ``target`` they measure,
        ``higher_is_better``, the ``version`` exported,
        ``saved_models_mib``.

    Raises:
        InputError: not a finished run of ``name``'s architecture, or not
            better than the current model without ``force``.
    """
    from keras_vidrep.zoo import loading as zoo
    from keras_vidrep.training.checkpoints import RunLock
    from keras_vidrep.zoo.kinds import kind_of

    kind_of(name)  # an unknown name is refused with the valid ones
    run_dir, run = _finished_run(run_dir, name)
    # One promotion at a time: a second one would judge its run against the
    # model the first is replacing, and both would report success.
    with RunLock(zoo.ROOT, file_name=".promotion.lock", what="promotion",
                 advice="wait for it to finish, then promote again (against "
                 "the zoo it leaves)"):
        finished = finish_interrupted_promotion()
        if finished:
            print("Finished the switch of an interrupted promotion: "
                  + ", ".join(str(target) for target in finished))
        return _promote_locked(run_dir, run, name, sequences=sequences,
                               seed=seed, digits=digits, force=force)


def reevaluate(name, *, sequences=1000, seed=1234, digits=None):
    """Evaluates the zoo model ``name`` again, with the code of today (a
    score added since its promotion, such as a captioner's METEOR), and
    rewrites ``zoo/evaluations/NAME.json``, keeping the run it came from
    and the version it replaced; then its card and the index. The weights
    are untouched. Returns the path of the record.

    Args:
        name: a zoo name with a recorded evaluation.
        sequences, seed, digits: as ``promote`` (use the promotion's: 1,000
            sequences of seed 1234, so that the figures stay comparable).
    """
    from keras_vidrep.zoo import loading as zoo
    from keras_vidrep.zoo import records as zoo_records
    from keras_vidrep.training.checkpoints import RunLock
    from keras_vidrep.training.checkpoints import atomic_write
    from keras_vidrep.zoo.kinds import kind_of

    kind_of(name)  # an unknown name is refused with the valid ones
    path = zoo.ROOT / "zoo" / "evaluations" / f"{name}.json"
    if not path.is_file():
        raise InputError(f"{name} has no evaluation record ({path}) to "
                         "evaluate again: promote a run to it first.")
    recorded = json.loads(path.read_text())
    with RunLock(zoo.ROOT, file_name=".promotion.lock", what="promotion",
                 advice="wait for it to finish, then evaluate again"):
        report = {**_report(name, zoo.load(name, compile=False), sequences,
                            seed, digits),
                  **{key: recorded[key] for key in ("run", "replaces")
                     if key in recorded}}
        atomic_write(path, json.dumps(report, indent=2))
        zoo_records.write_card(name)
        zoo_records.write_index()
    return path


def _promote_locked(run_dir, run, name, *, sequences, seed, digits, force):
    from keras_vidrep.zoo import loading as zoo
    from keras_vidrep.zoo import records as zoo_records
    from keras_vidrep.zoo.records import write_models_config

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
            # Under the metric's own name: frame_mse, or content.
            (target if higher_is_better else "frame_mse"): old}
    version = _next_version(saved)[0]
    targets = _targets(name)
    with _staged_zoo(name, targets):
        _record_runs(run_dir, run, name)
        staged = zoo.saved_models_dir() / name  # empty, staged
        model.save_weights(staged / zoo.WEIGHTS_FILE)
        evaluations = zoo.ROOT / "zoo" / "evaluations"
        evaluations.mkdir(parents=True, exist_ok=True)
        (evaluations / f"{name}.json").write_text(json.dumps(report, indent=2))
        _export(name, model, staged, version)  # only it: older versions go
        zoo_records.write_presets(names=[name])
        for card_name in zoo.list_models():  # a sibling's card cites this one
            zoo_records.write_card(card_name)
        zoo_records.write_index()
        write_models_config()
        _verify_staged(name, model, staged, version)
    _switch.commit(zoo.ROOT, targets)
    size = _size_mib(zoo.saved_models_dir())
    return {"target": target, "old": old, "new": new,
            "higher_is_better": higher_is_better, "version": version,
            "saved_models_mib": round(size, 1),
            "within_budget": size <= SIZE_BUDGET_MIB}
