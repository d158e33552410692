"""The zoo: names, loading, fine-tuning, SavedModel export, serving requests."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import keras_vidrep
from keras_vidrep.serving import requests as serving
from keras_vidrep.models import VARIANTS
from keras_vidrep.models import build_model
from keras_vidrep.serving.saved_model import models_config
from keras_vidrep.zoo.loading import PRESETS
from keras_vidrep.zoo.loading import ROOT
from keras_vidrep.zoo.loading import build_preset

SMALL = dict(hidden_sizes=(4,), frame_size=32, input_frames=2, future_frames=2)


@pytest.fixture
def saved_models(tmp_path, monkeypatch):
    folder = tmp_path / "saved_models"
    monkeypatch.setenv("KERAS_VIDREP_SAVED_MODELS", str(folder))
    monkeypatch.setenv("KERAS_VIDREP_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("KERAS_VIDREP_WEIGHTS_URL", raising=False)
    return folder


def test_every_variant_has_a_preset_with_a_recipe():
    from keras_vidrep.zoo.captioners import CAPTIONERS

    assert keras_vidrep.list_models() == list(VARIANTS) + list(CAPTIONERS)
    for name, preset in PRESETS.items():
        command = ("keras-vidrep train-captioner --steps " if name in CAPTIONERS
                   else f"keras-vidrep train {name} --steps ")
        assert command in preset["recipe"]
        assert preset["artifact"] == f"saved_models/{name}/model.weights.h5"
    assert "--set hidden_sizes=[64,64]" in PRESETS["composite_conv"]["recipe"]


def test_recipe_comes_from_the_run_record(monkeypatch):
    from keras_vidrep.zoo import records as zoo_records

    record = {"steps": 1234, "batch_size": 32, "learning_rate": 0.001,
              "optimizer": "adam", "loss": "mse", "seed": 5,
              "checkpoint_every": 200, "backend": "jax",
              "model_overrides": {"hidden_sizes": [64, 64], "kernel_size": 3}}
    monkeypatch.setattr(zoo_records, "run_stages", lambda name: [(record, None)])
    assert zoo_records._recipe("predictor_conv") == (
        "KERAS_BACKEND=jax keras-vidrep train predictor_conv --steps 1234 "
        "--batch-size 32 --learning-rate 0.001 --optimizer adam --loss mse "
        "--seed 5 --checkpoint-every 200 --set hidden_sizes=[64,64] "
        "--set kernel_size=3")


def test_fine_tuned_artifact_lists_every_run(monkeypatch, tmp_path):
    """A model fine-tuned from an earlier run (``starts_from``) shows both
    commands, in order, and one learning curve counting steps from the first
    run's start."""
    from keras_vidrep.zoo import loading as zoo
    from keras_vidrep.zoo import records as zoo_records

    monkeypatch.setattr(zoo, "ROOT", tmp_path)
    first = {"steps": 400, "batch_size": 32, "learning_rate": 0.001,
             "optimizer": "rmsprop", "loss": "cross_entropy", "seed": 0,
             "checkpoint_every": 200, "model_overrides": {"kernel_size": 3}}
    second = dict(first, steps=1000, learning_rate=0.0005, seed=1,
                  checkpoint_every=500, starts_from="first",
                  out="runs/tuned", initial_weights="runs/predictor_conv/model.keras")
    folder = tmp_path / "zoo" / "runs" / "predictor_conv"
    for record, where, rows in (
            (second, folder, "loss,cpu_seconds\n9.0,1800\n8.0,3600\n"),
            (first, folder / "first", "loss\n30.0\n20.0\n")):
        where.mkdir(parents=True, exist_ok=True)
        (where / "run.json").write_text(json.dumps(record))
        header, *lines = rows.splitlines()
        (where / "history.csv").write_text(
            f"epoch,{header}\n" + "".join(f"{i},{line}\n"
                                          for i, line in enumerate(lines)))
    assert [r["steps"] for r, _ in zoo_records.run_stages("predictor_conv")] == [400, 1000]
    assert zoo_records._recipe("predictor_conv").splitlines() == [
        "keras-vidrep train predictor_conv --steps 400 --batch-size 32 "
        "--learning-rate 0.001 --optimizer rmsprop --loss cross_entropy "
        "--seed 0 --checkpoint-every 200 --set kernel_size=3",
        "keras-vidrep train predictor_conv --steps 1000 --batch-size 32 "
        "--learning-rate 0.0005 --optimizer rmsprop --loss cross_entropy "
        "--seed 1 --checkpoint-every 500 --set kernel_size=3 --out runs/tuned "
        "--initial-weights runs/predictor_conv/model.keras"]
    assert zoo_records._trained(zoo_records.run_stages("predictor_conv")) == (
        "400 steps x 32 + 1,000 steps x 32")
    curves = [zoo_records._learning_curve("predictor_conv", r, f, first_step=s,
                                          first_sequence=n)
              for (r, f), s, n in zip(zoo_records.run_stages("predictor_conv"),
                                      (0, 400), (0, 12_800))]
    assert [line for curve in curves for line in curve if line.startswith("| ")
            and not line.startswith("| step")] == [
        "| 200 | 6,400 | 30.0 |", "| 400 | 12,800 | 20.0 |",
        "| 900 | 28,800 | 0.50 | 9.0 |", "| 1400 | 44,800 | 1.50 | 8.0 |"]
    # A run resumed across the version that added the column has NA in its
    # first rows: its curve shows no CPU hours rather than wrong ones.
    (folder / "history.csv").write_text(
        "epoch,loss,cpu_seconds\n0,9.0,NA\n1,8.0,3600\n")
    (record, where), = zoo_records.run_stages("predictor_conv")[1:]
    assert "CPU hours" not in "\n".join(zoo_records._learning_curve(
        "predictor_conv", record, where, first_step=400))


def test_conditional_fc_presets_train_free_running():
    """Their decoders read their own predictions in training too (zoo.py says
    why); the preset carries it, so fine-tuning a loaded model does the same."""
    for name in ("autoencoder_fc_cond", "predictor_fc_cond", "composite_fc_cond"):
        assert "--set teacher_forcing=false" in PRESETS[name]["recipe"]
        assert build_preset(name).teacher_forcing is False
    # The conditional conv future models since their second versions (zoo.py
    # says why); the conv autoencoder's decoder is still teacher-forced.
    assert "--set teacher_forcing=false" in PRESETS["predictor_conv_cond"][
        "recipe"]
    for name in ("predictor_conv_cond", "composite_conv_cond"):
        assert build_preset(name).teacher_forcing is False
    assert build_preset("autoencoder_conv_cond").teacher_forcing is True


def test_zoo_fits_the_size_budget():
    # Each model is stored twice: weights file and SavedModel, float32.
    total = sum(build_preset(name).count_params() for name in PRESETS)
    assert total * 4 * 2 < 195 * 2**20
    shipped = sum(f.stat().st_size for f in (ROOT / "saved_models").rglob("*")
                  if f.is_file())
    assert shipped < 200 * 2**20


def test_unknown_name_and_bad_weights_argument():
    with pytest.raises(ValueError, match="Valid names: autoencoder_conv, "):
        keras_vidrep.load("composite_gru")
    with pytest.raises(ValueError, match="weights='imagenet'"):
        keras_vidrep.load("composite_conv", weights="imagenet")


def test_missing_and_corrupt_artifacts_name_the_file(saved_models,
                                                     monkeypatch):
    with pytest.raises(FileNotFoundError,
                       match=r"checkout .*predictor_fc \(absent\).*"
                             r"keras-vidrep train predictor_fc"):
        keras_vidrep.load("predictor_fc")
    (saved_models / "predictor_fc").mkdir(parents=True)
    junk = saved_models / "predictor_fc" / "model.weights.h5"
    junk.write_bytes(b"junk")
    with pytest.raises(OSError, match="The weights file .*predictor_fc/model"
                       r"\.weights\.h5 is not the one recorded for it"):
        keras_vidrep.load("predictor_fc")
    _record_sha256(monkeypatch, "predictor_fc", junk)
    with pytest.raises(OSError, match="Cannot read the weights file .*"
                                      "predictor_fc/model.weights.h5"):
        keras_vidrep.load("predictor_fc")


def _record_sha256(monkeypatch, name, weights):
    """The preset table, as if ``weights`` were the file it records for
    ``name``."""
    from keras_vidrep import presets

    table = {**presets.preset_table()}
    table[name] = {**table[name], "sha256": presets.sha256(weights)}
    monkeypatch.setattr(presets, "preset_table", lambda: table)


def test_damaged_shipped_weights_are_refused_not_loaded(saved_models):
    """Bytes overwritten inside the data of a weights file keep it a
    readable HDF5 file: only the recorded sha256 tells."""
    import shutil

    folder = saved_models / "predictor_fc"
    shutil.copytree(ROOT / "saved_models" / "predictor_fc", folder,
                    ignore=shutil.ignore_patterns("[0-9]*"))
    keras_vidrep.load("predictor_fc", compile=False)  # whole: loads
    data = bytearray((folder / "model.weights.h5").read_bytes())
    data[len(data) // 2:len(data) // 2 + 64] = b"\x7f" * 64
    (folder / "model.weights.h5").write_bytes(bytes(data))
    for source in ("predictor_fc", folder):  # by name, as a preset directory
        with pytest.raises(OSError, match="is not the one recorded for it"):
            keras_vidrep.load(source, compile=False)


def test_a_zoo_name_is_not_hijacked_by_the_working_folder(
        saved_models, tmp_path, monkeypatch):
    """A folder ``predictor_fc/`` holding another model, in the working
    folder, does not replace the zoo's ``predictor_fc``; ``./predictor_fc``
    loads the folder."""
    import shutil

    shutil.copytree(ROOT / "saved_models" / "predictor_fc",
                    saved_models / "predictor_fc",
                    ignore=shutil.ignore_patterns("[0-9]*"))
    impostor = build_model("predictor_fc", hidden_sizes=[8])
    (tmp_path / "work" / "predictor_fc").mkdir(parents=True)
    impostor.save(tmp_path / "work" / "predictor_fc" / "model.keras")
    monkeypatch.chdir(tmp_path / "work")
    zoo_model = keras_vidrep.load("predictor_fc", compile=False)
    assert zoo_model.count_params() == build_preset("predictor_fc").count_params()
    assert (keras_vidrep.load("./predictor_fc", compile=False).count_params()
            == impostor.count_params())


def test_pretrained_weights_load_and_fine_tune(saved_models, monkeypatch):
    import keras

    trained = build_preset("predictor_fc")
    rng = np.random.default_rng(0)
    for weight in trained.weights:
        weight.assign(rng.normal(scale=0.05, size=weight.shape).astype("float32"))
    (saved_models / "predictor_fc").mkdir(parents=True)
    trained.save_weights(saved_models / "predictor_fc" / "model.weights.h5")
    _record_sha256(monkeypatch, "predictor_fc",
                   saved_models / "predictor_fc" / "model.weights.h5")

    model = keras_vidrep.load("predictor_fc")
    clip = rng.random((2, 20, 64, 64, 1)).astype("float32")
    np.testing.assert_array_equal(np.asarray(model.predict_on_batch(clip[:, :10])["future"]),
                                  np.asarray(trained.predict_on_batch(clip[:, :10])["future"]))
    before = [w.copy() for w in model.get_weights()]
    model.fit(clip, {"future": clip[:, 10:]}, epochs=3, batch_size=2, verbose=0)
    assert int(model.optimizer.iterations.numpy()) == 3
    assert any(np.abs(a - b).max() > 0 for a, b in zip(before, model.get_weights()))
    fresh = keras_vidrep.load("predictor_fc", weights=None, compile=False)
    assert getattr(fresh, "optimizer", None) is None
    assert isinstance(fresh, keras.Model)


def test_load_a_keras_file(tmp_path):
    model = build_model("composite_conv", **SMALL)
    model.save(tmp_path / "m.keras")
    loaded = keras_vidrep.load(tmp_path / "m.keras")
    x = np.random.default_rng(0).random((2, 2, 32, 32, 1)).astype("float32")
    np.testing.assert_array_equal(np.asarray(loaded.predict_on_batch(x)["future"]),
                                  np.asarray(model.predict_on_batch(x)["future"]))
    with pytest.raises(FileNotFoundError, match="No model file at"):
        keras_vidrep.load(tmp_path / "absent.keras")


CHECK_SCRIPT = """
import json, sys
import numpy as np
import tensorflow as tf
folder, data = sys.argv[1], np.load(sys.argv[2])
loaded = tf.saved_model.load(folder)
worst = 0.0
for batch in (1, 3):
    frames = tf.constant(data["frames"][:batch])
    outputs = loaded.signatures["serving_default"](frames=frames)
    for key in ("reconstruction", "future"):
        worst = max(worst, float(np.abs(outputs[key].numpy() - data[key][:batch]).max()))
    code = loaded.signatures["encode"](frames=frames)["representation"].numpy()
    worst = max(worst, float(np.abs(code - data["representation"][:batch]).max()))
print(json.dumps({"worst": worst, "keras_vidrep": "keras_vidrep" in sys.modules,
                  "signatures": sorted(loaded.signatures)}))
"""


def test_export_is_servable_without_our_code(tmp_path):
    model = build_model("composite_conv_cond", **SMALL)
    folder = keras_vidrep.export(model, tmp_path / "composite_conv_cond", version=3)
    assert folder == tmp_path / "composite_conv_cond" / "3"
    assert (folder / "saved_model.pb").is_file() and (folder / "variables").is_dir()
    frames = np.random.default_rng(1).random((3, 2, 32, 32, 1)).astype("float32")
    outputs = model.predict_on_batch(frames)
    np.savez(tmp_path / "data.npz", frames=frames,
             representation=np.asarray(model.encoder().predict_on_batch(frames)),
             **{k: np.asarray(v) for k, v in outputs.items()})
    result = subprocess.run([sys.executable, "-c", CHECK_SCRIPT, str(folder),
                             str(tmp_path / "data.npz")], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["keras_vidrep"] is False
    assert report["signatures"] == ["encode", "serving_default"]
    assert report["worst"] <= 1e-5

    cli = subprocess.run([str(Path(sys.executable).parent / "saved_model_cli"),
                          "show", "--dir",
                          str(folder), "--all"], capture_output=True, text=True,
                         timeout=300)
    assert cli.returncode == 0, cli.stderr[-2000:]
    for expected in ("signature_def['serving_default']", "signature_def['encode']",
                     "outputs['future']", "outputs['reconstruction']",
                     "outputs['representation']", "inputs['frames']"):
        assert expected in cli.stdout


def test_serving_requests_drive_the_exported_signature(tmp_path):
    import tensorflow as tf

    model = build_model("predictor_conv", **SMALL)
    folder = keras_vidrep.export(model, tmp_path / "predictor_conv")
    signature = tf.saved_model.load(str(folder)).signatures["serving_default"]
    frames = np.random.default_rng(2).random((2, 2, 32, 32, 1)).astype("float32")
    expected = np.asarray(model.predict_on_batch(frames)["future"])

    rows = json.loads(json.dumps(serving.rest_request(frames, "instances")))
    from_rows = np.asarray([r["frames"] for r in rows["instances"]], np.float32)
    columns = json.loads(json.dumps(serving.rest_request(frames, "inputs")))
    from_columns = np.asarray(columns["inputs"]["frames"], np.float32)
    request = serving.grpc_request(frames, "predictor_conv", version=1)
    assert request.model_spec.name == "predictor_conv"
    from_grpc = tf.make_ndarray(request.inputs["frames"])
    for tensor in (from_rows, from_columns, from_grpc):
        got = signature(frames=tf.constant(tensor))["future"].numpy()
        np.testing.assert_allclose(got, expected, atol=1e-5)

    # Answers come back as arrays.
    answer = {"predictions": [{"future": row.tolist()} for row in expected]}
    np.testing.assert_allclose(serving.parse_rest_response(answer)["future"],
                               expected, atol=1e-6)
    answer = {"outputs": {"future": expected.tolist()}}
    np.testing.assert_allclose(serving.parse_rest_response(answer)["future"],
                               expected, atol=1e-6)
    from tensorflow_serving.apis import predict_pb2

    response = predict_pb2.PredictResponse()
    response.outputs["future"].CopyFrom(tf.make_tensor_proto(expected))
    np.testing.assert_array_equal(serving.parse_grpc_response(response)["future"],
                                  expected)
    with pytest.raises(ValueError, match=r"Received: frames of shape \(2, 32, 32\)"):
        serving.rest_request(np.zeros((2, 32, 32)))


def test_models_config_lists_every_model():
    text = models_config(["composite_conv", "predictor_fc"])
    assert text.startswith("model_config_list {")
    assert 'name: "composite_conv"' in text
    assert 'base_path: "/models/predictor_fc"' in text
    assert text.count("config {") == 2


def test_models_config_file_lists_exported_models(saved_models):
    from keras_vidrep.zoo.records import write_models_config

    model = build_model("predictor_conv", **SMALL)
    keras_vidrep.export(model, saved_models / "predictor_conv", version=2)
    (saved_models / "composite_conv").mkdir()  # weights only: not servable
    path, names = write_models_config("/srv")
    assert names == ["predictor_conv"]
    assert 'base_path: "/srv/predictor_conv"' in path.read_text()


SHIPPED = [name for name in VARIANTS
           if (Path(__file__).resolve().parents[1] / PRESETS[name]["artifact"]).is_file()]


@pytest.mark.slow
@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_model_beats_the_baselines(name, mnist_dir):
    """The artifact loads, its recorded evaluation beats every trivial
    baseline, and so does a fresh check on 40 held-out sequences."""
    from keras_vidrep.data import bouncing_digits_eval
    from keras_vidrep.evaluation.baselines import evaluate_model
    from keras_vidrep.zoo.records import model_card

    model = keras_vidrep.load(name, compile=False)
    recorded = json.loads((ROOT / PRESETS[name]["evaluation"]).read_text())
    clips = bouncing_digits_eval(40, seed=99, batch_size=20, source=mnist_dir)
    fresh = evaluate_model(model, clips, progress=False)
    for results in (recorded["bouncing_digits_test"], fresh):
        for target in model.targets:
            values = results[target]
            ours = values["model"]["frame_mse"]["mean"]
            for baseline in ("copy_last_frame", "all_zeros", "mean_input_frame"):
                assert ours < values[baseline]["frame_mse"]["mean"], (target, baseline)
    card = model_card(name)
    assert card == (ROOT / PRESETS[name]["card"]).read_text()


@pytest.mark.slow
@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_saved_model_serves_the_shipped_weights(name):
    """The SavedModel TF Serving loads (its highest version, the one served)
    answers as ``keras_vidrep.load(name)`` does: the two artifacts were
    written from the same weights."""
    import tensorflow as tf

    folder = ROOT / "saved_models" / name
    versions = sorted(int(p.name) for p in folder.iterdir() if p.name.isdigit())
    assert versions, f"no SavedModel version in {folder}"
    served = tf.saved_model.load(str(folder / str(versions[-1])))
    model = keras_vidrep.load(name, compile=False)
    frames = np.random.default_rng(0).random(
        (2, model.input_frames, model.frame_size, model.frame_size,
         model.channels), dtype=np.float32)
    expected = model(frames, training=False)
    got = served.signatures["serving_default"](frames=tf.constant(frames))
    assert sorted(got) == sorted(expected)
    for key in expected:
        np.testing.assert_allclose(got[key].numpy(), np.asarray(expected[key]),
                                   atol=1e-5)


def _write_evaluation(root, name, mse, bounce="clamp"):
    folder = root / "zoo" / "evaluations"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps({
        "model": name, "bounce": bounce, "bouncing_digits_test": {
            "sequences": 10, "future": {"model": {"frame_mse": {"mean": mse}}}}}))


def test_conditional_card_compares_with_its_sibling(monkeypatch, tmp_path):
    """A conditional model's card says by how much it trails its
    unconditioned sibling on the same sequences, with both budgets, and
    why when it is more than 5% worse."""
    from keras_vidrep.zoo import loading as zoo
    from keras_vidrep.zoo import records as zoo_records

    monkeypatch.setattr(zoo, "ROOT", tmp_path)
    record = {"steps": 100, "batch_size": 16}
    monkeypatch.setattr(zoo_records, "run_stages",
                        lambda name: [(record, None)])
    _write_evaluation(tmp_path, "predictor_conv", 100.0)
    report = {"bounce": "clamp", "bouncing_digits_test": {
        "future": {"model": {"frame_mse": {"mean": 104.0}}}}}
    lines = zoo_records._against_sibling("predictor_conv_cond", report)
    assert lines[1] == "## Against its unconditioned sibling, predictor_conv"
    assert lines[3] == ("- future MSE per frame 104.00 against 100.00 on the "
                        "same sequences: +4.0%, within 5% of it or better.")
    assert "1,600 sequences (100 steps x 16)" in lines[4]
    assert not any(line.startswith("- Why") for line in lines)
    report["bouncing_digits_test"]["future"]["model"]["frame_mse"]["mean"] = 110.0
    lines = zoo_records._against_sibling("predictor_conv_cond", report)
    assert "+10.0%, more than 5% worse" in lines[3]
    assert lines[-1].startswith("- Why: teacher-forced decoders never meet")
    # No comparison across physics, and none for an unconditioned model.
    _write_evaluation(tmp_path, "predictor_conv", 100.0, bounce="mirror")
    assert zoo_records._against_sibling("predictor_conv_cond", report) == []
    assert zoo_records._against_sibling("predictor_conv", report) == []


SHIPPED_CAPTIONERS = [name for name in PRESETS if name not in VARIANTS and (
    Path(__file__).resolve().parents[1] / PRESETS[name]["artifact"]).is_file()]


@pytest.mark.slow
@pytest.mark.parametrize("name", SHIPPED_CAPTIONERS)
def test_shipped_captioner_serves_what_it_loads(name, mnist_dir):
    """The shipped captioner loads by name; its served SavedModel writes the
    captions the Python path generates; its card is what the code writes."""
    import tensorflow as tf

    from keras_vidrep.captions.training import generate_captions
    from keras_vidrep.captions.training import held_out_clips
    from keras_vidrep.zoo.records import model_card

    model = keras_vidrep.load(name, compile=False)
    frames, _ = held_out_clips(6, source=mnist_dir)
    folder = ROOT / "saved_models" / name
    version = max(int(p.name) for p in folder.iterdir() if p.name.isdigit())
    served = tf.saved_model.load(str(folder / str(version)))
    got = served.signatures["caption"](frames=tf.constant(frames))["caption"]
    assert [c.decode() for c in got.numpy()] == generate_captions(model, frames)
    assert model_card(name) == (ROOT / PRESETS[name]["card"]).read_text()


@pytest.mark.parametrize("text, message", [
    ("{not json", "is not valid JSON"),
    ('["predictor_fc"]', r"to be a JSON object \(a serialized Keras model\)"),
    ('{"class_name": "Nothing", "config": {}, "registered_name": "x>Nothing"}',
     "Cannot build the model of preset .*its class is 'x>Nothing'"),
    ('{"hidden_sizes": [8]}', r'Received: \{"hidden_sizes": \[8\]\}'),
])
def test_a_broken_preset_config_is_one_clear_error(tmp_path, text, message):
    (tmp_path / "preset").mkdir()
    (tmp_path / "preset" / "config.json").write_text(text)
    with pytest.raises(ValueError, match=message):
        keras_vidrep.load(tmp_path / "preset")


def test_a_loaded_model_is_compiled_to_fine_tune_at_a_tenth_of_the_rate():
    """At the training rate (1e-3) a fresh RMSProp makes a pretrained model
    worse within 100 steps (benchmarks/fine_tune_rate.py); load compiles at
    1e-4, where it improves."""
    import keras

    model = keras_vidrep.load("predictor_fc")
    assert isinstance(model.optimizer, keras.optimizers.RMSprop)
    assert float(keras.ops.convert_to_numpy(
        model.optimizer.learning_rate)) == pytest.approx(1e-4)


def test_a_model_started_from_another_counts_its_sequences(monkeypatch):
    """predictor_conv started from composite_conv's weights: its budget
    counts the composite's sequences, and its sibling's card says so."""
    from keras_vidrep.zoo import records as zoo_records

    records = {
        "predictor_conv": [({"steps": 100, "batch_size": 32,
                             "initial_weights": "composite_conv"}, None)],
        "composite_conv": [({"steps": 1000, "batch_size": 32}, None),
                           ({"steps": 500, "batch_size": 32,
                             "initial_weights": "composite_conv"}, None)],
        "predictor_fc": [({"steps": 10, "batch_size": 2,
                           "initial_weights": "runs/x/model.keras"}, None)]}
    monkeypatch.setattr(zoo_records, "run_stages", records.__getitem__)
    assert zoo_records.started_from("predictor_conv") == "composite_conv"
    assert zoo_records.started_from("composite_conv") is None  # itself
    assert zoo_records.started_from("predictor_fc") is None  # a file
    assert zoo_records.sequences_seen("predictor_conv") == 3_200 + 48_000
    assert zoo_records.sequences_seen("predictor_fc") == 20


def test_frames_behind_a_baseline_in_mse_or_ssim():
    from keras_vidrep.zoo.records import frames_behind

    def curves(mse, ssim):
        return {"frame_mse": {"per_timestep": mse},
                "ssim": {"per_timestep": ssim}}

    predictors = {"model": curves([1.0, 5.0, 3.0], [0.9, 0.5, 0.7]),
                  "all_zeros": curves([4.0, 4.0, 4.0], [0.7, 0.7, 0.7]),
                  "copy_last_frame": curves([0.5, 9.0, 9.0], [0.6, 0.6, 0.6])}
    # Frame 1: copy_last_frame has the lower MSE; frame 2: all_zeros has
    # both; frame 3: a tie in SSIM is not a win.
    assert frames_behind(predictors) == {"frame_mse": [1, 2], "ssim": [2, 3]}


@pytest.mark.parametrize("name, sizes", [("composite_fc", [8]),
                                         ("composite_conv_cond", [4, 4])])
def test_onnx_export_gives_the_models_outputs(name, sizes, tmp_path):
    """ONNX Runtime's outputs equal Keras' (a conditional decoder too, which
    feeds back its own frames), under the SavedModel's names, at any batch;
    an existing version and a captioner are refused in one line."""
    import onnxruntime

    from keras_vidrep.models import build_model
    from keras_vidrep.models.captioner import S2VTCaptioner

    model = build_model(name, hidden_sizes=sizes, frame_size=16,
                        input_frames=3, future_frames=3)
    path = keras_vidrep.export(model, tmp_path / name, format="onnx")
    assert path == tmp_path / name / "1" / "model.onnx"
    session = onnxruntime.InferenceSession(str(path))
    assert [i.name for i in session.get_inputs()] == ["frames"]
    names = [o.name for o in session.get_outputs()]
    assert sorted(names) == ["future", "reconstruction"]
    frames = np.random.default_rng(0).random((4, 3, 16, 16, 1)).astype(
        "float32")
    expected = model.predict(frames, verbose=0)
    for batch in (1, 4):
        outputs = dict(zip(names, session.run(None,
                                              {"frames": frames[:batch]})))
        for target in names:
            np.testing.assert_allclose(outputs[target],
                                       expected[target][:batch], atol=1e-4)
    with pytest.raises(FileExistsError, match="exists already"):
        keras_vidrep.export(model, tmp_path / name, format="onnx")
    with pytest.raises(ValueError, match="ONNX export takes a video model"):
        keras_vidrep.export(S2VTCaptioner(12, 6, units=4), tmp_path / "c",
                            format="onnx")
