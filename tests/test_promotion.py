"""``keras-vidrep promote``: a finished run becomes a zoo model, with every
record written by code, only when it is better."""

import json
import os
import shutil

import pytest

from keras_vidrep import presets
from keras_vidrep.zoo import loading as zoo
from keras_vidrep.zoo import records as zoo_records
from keras_vidrep._validation import InputError
from keras_vidrep.zoo.promotion import promote
from keras_vidrep.zoo.promotion import reevaluate
from keras_vidrep.zoo.recipes import train

from tests.helpers import REPO

NAME = "predictor_fc"


@pytest.fixture
def checkout(tmp_path, monkeypatch):
    """A copy of the checkout's zoo records and preset table, and an empty
    saved_models/, where promote writes."""
    shutil.copytree(REPO / "zoo", tmp_path / "zoo")
    table = tmp_path / "zoo_presets.json"
    shutil.copyfile(presets.TABLE_FILE, table)
    monkeypatch.setattr(zoo, "ROOT", tmp_path)
    monkeypatch.setattr(presets, "TABLE_FILE", table)
    monkeypatch.setenv(zoo.SAVED_MODELS_ENV, str(tmp_path / "saved_models"))
    monkeypatch.setenv(presets.HOME_ENV, str(tmp_path / "cache"))
    (tmp_path / "saved_models").mkdir()
    presets.preset_table.cache_clear()
    yield tmp_path
    presets.preset_table.cache_clear()


def _train(out, mnist_dir, **kwargs):
    train(NAME, steps=2, batch_size=2, out=str(out), digits=mnist_dir,
          checkpoint_every=1, verbose=0,
          model_overrides=presets.preset_table()[NAME]["config"], **kwargs)
    return out


@pytest.mark.slow
def test_promote_writes_every_record_and_only_ships_better_models(
        checkout, tmp_path, mnist_dir):
    run = _train(tmp_path / "run", mnist_dir)
    result = promote(run, NAME, sequences=20, digits=mnist_dir)
    assert result["old"] is None and result["version"] == 1
    saved = checkout / "saved_models" / NAME
    assert (saved / "1" / "saved_model.pb").is_file()
    record = json.loads((checkout / "zoo" / "runs" / NAME / "run.json")
                        .read_text())
    assert record == json.loads((run / "run.json").read_text())
    evaluation = json.loads((checkout / "zoo" / "evaluations" / f"{NAME}.json")
                            .read_text())
    assert evaluation["bounce"] == "clamp"
    assert evaluation["bouncing_digits_test"]["sequences"] == 20
    table = json.loads((checkout / "zoo_presets.json").read_text())
    assert table[NAME]["sha256"] == presets.sha256(saved / zoo.WEIGHTS_FILE)
    assert table[NAME]["evaluation"]["bounce"] == "clamp"
    assert (saved / "metadata.json").is_file()
    card = (checkout / "zoo" / "cards" / f"{NAME}.md").read_text()
    assert "--steps 2 --batch-size 2" in card
    assert f'name: "{NAME}"' in (checkout / "saved_models" / "models.config"
                                ).read_text()

    # The same weights again are not better: refused, nothing written.
    with pytest.raises(InputError, match="is not better than the zoo's"):
        promote(run, NAME, sequences=20, digits=mnist_dir)
    assert sorted(p.name for p in saved.glob("[0-9]*")) == ["1"]
    forced = promote(run, NAME, sequences=20, digits=mnist_dir, force=True)
    assert forced["version"] == 2 and forced["old"] == pytest.approx(
        forced["new"], rel=1e-5)
    assert sorted(p.name for p in saved.glob("[0-9]*")) == ["2"]
    # The card says what the new version replaced, and by how much.
    replaced = json.loads((checkout / "zoo" / "evaluations" / f"{NAME}.json")
                          .read_text())["replaces"]
    assert replaced == {"version": 1, "target": "future",
                        "frame_mse": pytest.approx(forced["old"])}
    card = (checkout / "zoo" / "cards" / f"{NAME}.md").read_text()
    assert (f"replaced SavedModel version 1 (`keras-vidrep promote`), whose "
            f"future MSE per frame on the same sequences was "
            f"{forced['old']:.2f}: ") in card
    assert "from the train digits (clamp physics), on " in card

    # A run that fine-tunes the zoo model keeps the chain.
    tuned = _train(tmp_path / "tuned", mnist_dir, initial_weights=NAME,
                   seed=1)
    promote(tuned, NAME, sequences=20, digits=mnist_dir, force=True)
    stages = zoo_records.run_stages(NAME)
    assert [s[0]["seed"] for s in stages] == [0, 1]
    assert stages[1][0]["starts_from"] == "before"

    # Evaluated again (here, a record that lacks a score, as one written
    # before the score was): the score is back, the figures the same, the
    # run and the replaced version kept, the card rewritten.
    path = checkout / "zoo" / "evaluations" / f"{NAME}.json"
    before = json.loads(path.read_text())
    del before["bouncing_digits_test"]["future"]["model"]["ssim"]
    path.write_text(json.dumps(before))
    (checkout / "zoo" / "cards" / f"{NAME}.md").unlink()
    reevaluate(NAME, sequences=20, digits=mnist_dir)
    after = json.loads(path.read_text())
    assert (after["run"], after["replaces"]) == (before["run"],
                                                 before["replaces"])
    future = after["bouncing_digits_test"]["future"]["model"]
    assert future["frame_mse"]["mean"] == pytest.approx(
        before["bouncing_digits_test"]["future"]["model"]["frame_mse"]["mean"],
        rel=1e-5)
    assert "ssim" in future
    assert (checkout / "zoo" / "cards" / f"{NAME}.md").is_file()


def test_promote_refuses_unfinished_runs_and_other_architectures(
        checkout, tmp_path, mnist_dir):
    with pytest.raises(InputError, match="not a finished training run: no "
                                         "run.json"):
        promote(tmp_path / "absent", NAME)
    run = tmp_path / "small"
    train(NAME, steps=2, batch_size=2, out=str(run), digits=mnist_dir,
          checkpoint_every=1, verbose=0, model_overrides={"hidden_sizes": [8]})
    with pytest.raises(InputError, match="trained 'predictor_fc', not "
                                         "'composite_fc'"):
        promote(run, "composite_fc")
    with pytest.raises(InputError, match="another architecture than the "
                                         "zoo's predictor_fc"):
        promote(run, NAME, sequences=20, digits=mnist_dir)
    record = json.loads((run / "run.json").read_text())
    record["parts"][-1]["steps_reached"] = 1
    (run / "run.json").write_text(json.dumps(record))
    with pytest.raises(InputError, match="reached step 1 of 2"):
        promote(run, NAME)
    # An unfinished `--epochs` run (no `steps` in its record) is refused too.
    record.update(steps=None, epochs=3)
    (run / "run.json").write_text(json.dumps(record))
    with pytest.raises(InputError, match="reached step 1 of 3"):
        promote(run, NAME)


def test_an_epochs_run_record_states_its_steps(checkout):
    """The card and the table of a model trained with ``--epochs`` (no
    ``steps`` in the record) count its steps as epochs x checkpoint_every."""
    folder = checkout / "zoo" / "runs" / NAME
    record = json.loads((folder / "run.json").read_text())
    record.update(steps=None, epochs=4, checkpoint_every=25)
    (folder / "run.json").write_text(json.dumps(record))
    batch = record["batch_size"]
    # The last run of the model's chain (the zoo's may have several).
    assert zoo_records._trained(zoo_records.run_stages(NAME)).endswith(
        f"100 steps x {batch}")
    assert "--steps 100 " in zoo_records._recipe(NAME)
    assert f"100 steps of {batch} sequences" in zoo_records.model_card(NAME)


@pytest.mark.slow
def test_promote_a_captioner_then_load_it_by_name(checkout, tmp_path,
                                                  mnist_dir):
    """A finished train-captioner run becomes the zoo's captioner: judged on
    its content score (higher is better), exported with its caption signature, loaded
    by name, with a card and a row in the index."""
    import numpy as np

    import keras_vidrep
    from keras_vidrep.zoo.captioners import CAPTIONERS
    from keras_vidrep.captions.training import generate_captions
    from keras_vidrep.captions.training import train_captioner
    from keras_vidrep.models.captioner import S2VTCaptioner

    name = "captioner_fused"
    run = tmp_path / "captioner"
    train_captioner(run, steps=2, batch_size=2, source=mnist_dir, verbose=0,
                    **CAPTIONERS[name]["config"])
    with pytest.raises(InputError, match="trained 'captioner', not "
                                         "'predictor_fc'"):
        promote(run, NAME)
    result = promote(run, name, sequences=6, digits=mnist_dir)
    assert result["target"] == "content" and result["higher_is_better"]
    assert result["old"] is None and result["version"] == 1
    saved = checkout / "saved_models" / name
    assert (saved / "1" / "saved_model.pb").is_file()
    evaluation = json.loads((checkout / "zoo" / "evaluations" / f"{name}.json")
                            .read_text())
    assert evaluation["clips"] == 6 and set(evaluation["scores"]) == {"1", "5"}
    assert set(evaluation["content_free"]) == {
        "random", "right_digits", "right_paths", "fixed"}
    table = json.loads((checkout / "zoo_presets.json").read_text())
    assert table[name]["sha256"] == presets.sha256(saved / zoo.WEIGHTS_FILE)
    assert table[name]["recipe"] == (
        "keras-vidrep train-captioner --steps 2 --batch-size 2 "
        "--learning-rate 0.001 --stream fused --units 256 --seed 0")

    model = keras_vidrep.load(name)
    assert isinstance(model, S2VTCaptioner) and model.optimizer is not None
    frames = np.random.default_rng(0).random((2, 10, 64, 64, 1), "float32")
    trained = zoo.load(run, compile=False)
    assert generate_captions(model, frames) == generate_captions(trained,
                                                                 frames)
    card = (checkout / "zoo" / "cards" / f"{name}.md").read_text()
    assert "| model, greedy | " in card and "| model, beam 5 | " in card
    assert "| content-free: the clip's digits, random paths | 0." in card
    assert "keras-vidrep train-captioner --steps 2" in card
    index = (checkout / "zoo" / "README.md").read_text()
    assert f"| {name} | 1,191,391 | 2 steps x 2 | " in index
    assert f'name: "{name}"' in (checkout / "saved_models" / "models.config"
                                ).read_text()
    # The same weights again are not better: refused.
    with pytest.raises(InputError, match="content .* against .* on the same 6"):
        promote(run, name, sequences=6, digits=mnist_dir)


def test_a_second_promotion_at_once_is_refused(checkout, tmp_path,
                                               mnist_dir):
    """Two promotions at once would both judge their run against the same
    old model: the second is refused, naming the first, and writes
    nothing."""
    from keras_vidrep.training.checkpoints import RunLock
    from keras_vidrep.training.checkpoints import TrainingError

    run = _train(tmp_path / "run", mnist_dir)
    with RunLock(checkout, file_name=".promotion.lock", what="promotion"):
        with pytest.raises(TrainingError, match=r"in use by another "
                           rf"promotion \(pid \d+ on .*\); wait for it"):
            promote(run, NAME, sequences=4, digits=mnist_dir)
    assert not list((checkout / "saved_models").iterdir())


class _Crash(BaseException):
    """Stands for a kill: nothing after it runs."""


def _zoo_state(checkout):
    """{path: sha256} of every file a promotion may touch."""
    files = [p for folder in ("zoo", "saved_models")
             for p in (checkout / folder).rglob("*") if p.is_file()]
    return {str(p.relative_to(checkout)): presets.sha256(p)
            for p in files + [checkout / "zoo_presets.json"]}


def _assert_whole(checkout, version):
    """The zoo of one promotion, not a mix: the table, the preset files and
    the weights agree, one SavedModel version, nothing staged left over."""
    saved = checkout / "saved_models" / NAME
    digest = presets.sha256(saved / zoo.WEIGHTS_FILE)
    table = json.loads((checkout / "zoo_presets.json").read_text())
    assert table[NAME]["sha256"] == digest
    assert json.loads((saved / "metadata.json").read_text())["sha256"] == digest
    assert sorted(p.name for p in saved.glob("[0-9]*")) == [str(version)]
    leftovers = [p for p in checkout.rglob(".*")
                 if p.name.startswith((".promotion", ".replaced"))
                 and p.name != ".promotion.lock"]
    assert leftovers == []


@pytest.mark.slow
def test_promote_is_all_or_nothing(checkout, tmp_path, mnist_dir,
                                   monkeypatch):
    """A failure while the new zoo is staged leaves the old zoo as it was; a
    kill at any rename of the switch leaves a journal that the next
    promotion (or ``finish_interrupted_promotion``) completes: the old zoo
    or the new one, never a mix."""
    from keras_vidrep import _switch
    from keras_vidrep.zoo.promotion import finish_interrupted_promotion

    run = _train(tmp_path / "run", mnist_dir)
    promote(run, NAME, sequences=4, digits=mnist_dir)
    before = _zoo_state(checkout)

    # Writing the records fails (as `_trained` did for an --epochs run).
    def broken_index():
        raise TypeError("unsupported format string passed to NoneType")

    with monkeypatch.context() as patch:
        patch.setattr(zoo_records, "write_index", broken_index)
        with pytest.raises(TypeError, match="unsupported format"):
            promote(run, NAME, sequences=4, digits=mnist_dir, force=True)
    assert _zoo_state(checkout) == before
    _assert_whole(checkout, 1)

    # Killed at the k-th rename of the switch (the first is the journal's:
    # the commit point), then finished by the next call.
    version = 1
    for k in (1, 2, 4, 6):
        calls = {"n": 0}
        real_replace, real_rename = os.replace, os.rename

        def crashing(real):
            def move(*args):
                calls["n"] += 1
                if calls["n"] == k:
                    raise _Crash()
                return real(*args)
            return move

        class CrashingOs:  # `os` as the switch sees it, and only there
            replace = staticmethod(crashing(real_replace))
            rename = staticmethod(crashing(real_rename))

            def __getattr__(self, attribute):
                return getattr(os, attribute)

        with monkeypatch.context() as patch:
            patch.setattr(_switch, "os", CrashingOs())
            with pytest.raises(_Crash):
                promote(run, NAME, sequences=4, digits=mnist_dir, force=True)
        finish_interrupted_promotion()
        if k == 1:  # before the commit point: the old zoo, whole
            assert _zoo_state(checkout) == before
        else:
            version += 1
        _assert_whole(checkout, version)
        assert keras_vidrep_load_works()
        before = _zoo_state(checkout)


def keras_vidrep_load_works():
    import keras_vidrep

    return keras_vidrep.load(NAME, compile=False) is not None
