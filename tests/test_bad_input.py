"""Bad input gets one clear answer: the API, the CLI, the serving helpers."""

import os
import re

from pathlib import Path

import numpy as np
import pytest

import keras

import keras_vidrep
from keras_vidrep import cli
from keras_vidrep.serving import requests as serving
from keras_vidrep.models import build_model
from keras_vidrep.training.trainer import TrainingError
from keras_vidrep.training.trainer import train

from tests.helpers import TINY
from tests.helpers import run_cli

TINY_OVERRIDES = dict(hidden_sizes=[4], frame_size=32, input_frames=2,
                      future_frames=2)


def one_line_error(capsys, argv):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("keras-vidrep: error: ") and len(err.splitlines()) == 1
    return err


@pytest.mark.parametrize("overrides, message", [
    ({"hiden_sizes": [8]}, "Unknown model argument(s) ['hiden_sizes'] for "
                           "'predictor_fc'. Valid arguments: channels, "),
    ({"name": "x"}, "Unknown model argument(s) ['name']"),
    ({"cell": "conv"}, "['cell'] is fixed by the name 'predictor_fc'"),
])
def test_unknown_model_arguments_are_refused(overrides, message):
    with pytest.raises(ValueError) as error:
        build_model("predictor_fc", **overrides)
    assert message in str(error.value)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -1.0, 0.0, "1e-3"])
def test_bad_learning_rates_are_refused_before_anything_is_written(value,
                                                                   tmp_path):
    with pytest.raises(TrainingError, match="`learning_rate` must be a "
                                            "positive finite number"):
        train("predictor_fc", steps=1, learning_rate=value,
              out=tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_cli_refuses_malformed_settings_and_rates(capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["train", "predictor_fc", "--set", "hidden_sizes=abc"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "the value of hidden_sizes is not valid JSON" in err
    err = one_line_error(capsys, ["train", "predictor_fc", "--learning-rate",
                                  "nan", "--out", str(tmp_path / "run")])
    assert "learning_rate=nan" in err and not (tmp_path / "run").exists()


def test_a_typo_leaves_no_folder_behind(tmp_path, mnist_dir):
    out = tmp_path / "run"
    common = ["train", "predictor_fc", "--steps", "1", "--batch-size", "2",
              "--out", str(out)]
    typo = run_cli(mnist_dir, *common, *TINY, "--set", "hiden_sizes=[4]")
    assert typo.returncode == 2 and "hiden_sizes" in typo.stderr
    assert not out.exists()
    fixed = run_cli(mnist_dir, *common, *TINY)
    assert fixed.returncode == 0, fixed.stderr[-2000:]


@pytest.mark.parametrize("options, message", [
    (["--set", "channels=3"], "grayscale (1 channel); predictor_fc is "
     "configured for 3 channels"),
    (["--batch-size", "5000000"], "choose a smaller --batch-size"),
    (["--steps", "7", "--checkpoint-every", "5"],
     "use --steps 5 or 10, or a --checkpoint-every that divides 7"),
])
def test_what_would_fail_in_training_is_refused_before_writing(
        tmp_path, mnist_dir, monkeypatch, capsys, options, message):
    monkeypatch.setenv("KERAS_VIDREP_MNIST", str(mnist_dir))
    out = tmp_path / "run"
    argv = ["train", "predictor_fc", "--steps", "1", "--out", str(out),
            *TINY, *options]
    err = one_line_error(capsys, argv)
    assert message in err, err
    assert not out.exists()


def test_a_model_that_cannot_take_the_clips_is_refused_before_writing(
        tmp_path, mnist_dir, monkeypatch):
    from keras_vidrep.training.trainer import check_first_batch

    model = build_model("predictor_fc", **TINY_OVERRIDES)
    monkeypatch.setattr(model, "call", lambda *a, **k: 1 / 0)
    with pytest.raises(TrainingError, match="predictor_fc as configured "
                       r"cannot take the training clips \(batch, 4, 32, 32, "
                       r"1\): division by zero"):
        check_first_batch(model, 2)


@pytest.mark.slow
def test_resume_refuses_another_learning_rate_and_fewer_steps(tmp_path,
                                                              mnist_dir):
    out = tmp_path / "run"
    common = ["train", "predictor_fc", "--batch-size", "2",
              "--checkpoint-every", "2", "--out", str(out), *TINY]
    assert run_cli(mnist_dir, *common, "--steps", "4").returncode == 0
    before = (out / "run.json").read_text()
    other_rate = run_cli(mnist_dir, *common, "--steps", "6",
                         "--learning-rate", "0.01")
    assert other_rate.returncode == 2
    assert "cannot be resumed" in other_rate.stderr
    assert "learning_rate" in other_rate.stderr
    fewer = run_cli(mnist_dir, *common, "--steps", "2")
    assert fewer.returncode == 2
    assert "already trained for 4 steps" in fewer.stderr
    assert (out / "run.json").read_text() == before  # nothing rewritten


def test_load_a_run_folder_and_fresh_weights_from_a_file(tmp_path):
    model = build_model("predictor_conv", **TINY_OVERRIDES)
    run = tmp_path / "run"
    run.mkdir()
    model.save(run / "model.keras")
    loaded = keras_vidrep.load(run, compile=False)
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    fresh = keras_vidrep.load(run / "model.keras", weights=None, compile=False)
    assert fresh.get_config() == model.get_config()
    assert any(np.abs(a - b).max() > 0 for a, b in
               zip(fresh.get_weights(), model.get_weights()))


@pytest.mark.parametrize("response, message", [
    ({"error": "Servable not found for request: Latest(cc)"},
     "TF Serving answered with an error: Servable not found"),
    ({"predictions": None}, "'predictions' is null"),
    ({"outputs": None}, "'outputs' is null"),
    ({"model_version_status": []}, "with 'predictions' or 'outputs'"),
    ([1, 2], "a JSON object"),
    # Nulls would become NaN arrays, missing outputs an empty result.
    ({"predictions": [{"future": None}]}, "'future' holds null or NaN"),
    ({"predictions": [{"future": [[0.5, None]]}]}, "'future' holds null"),
    ({"predictions": [[0.5], [None]]}, "'predictions' holds null"),
    ({"outputs": {"future": [None]}}, "'future' holds null"),
    ({"predictions": [{}]}, "the same named outputs in every prediction"),
    ({"predictions": [{"future": [0.1]}, {"reconstruction": [0.1]}]},
     "the same named outputs"),
    ({"outputs": {}}, "'outputs' is empty"),
    ({"outputs": {"future": [[0.1], [0.1, 0.2]]}}, "not an array of numbers"),
])
def test_rest_answers_that_hold_no_predictions(response, message):
    with pytest.raises(ValueError, match=message):
        serving.parse_rest_response(response)


def test_export_refuses_an_existing_version(tmp_path, capsys):
    model = build_model("predictor_fc", **TINY_OVERRIDES)
    model.save(tmp_path / "model.keras")
    (tmp_path / "serve" / "1").mkdir(parents=True)
    err = one_line_error(capsys, ["export", str(tmp_path / "model.keras"),
                                  str(tmp_path / "serve")])
    assert "exists already" in err and "--overwrite" in err
    assert cli.main(["export", str(tmp_path / "model.keras"),
                     str(tmp_path / "serve"), "--overwrite"]) == 0
    assert (tmp_path / "serve" / "1" / "saved_model.pb").is_file()


def test_export_into_a_file_or_an_unwritable_folder_is_one_line(tmp_path,
                                                                 capsys):
    model = build_model("predictor_fc", **TINY_OVERRIDES)
    model.save(tmp_path / "model.keras")
    (tmp_path / "a_file").write_text("")
    err = one_line_error(capsys, ["export", str(tmp_path / "model.keras"),
                                  str(tmp_path / "a_file")])
    assert "must be a folder" in err and "it is a file" in err
    err = one_line_error(capsys, ["export", str(tmp_path / "model.keras"),
                                  str(tmp_path / "a_file" / "serve")])
    assert "Cannot write into" in err


def test_a_killed_export_leaves_no_version_and_does_not_block_the_next(
        tmp_path, monkeypatch):
    import tensorflow as tf

    from keras_vidrep.serving.saved_model import export

    model = build_model("predictor_fc", **TINY_OVERRIDES)
    base = tmp_path / "serve"
    save = tf.saved_model.save

    def dies_half_way(module, folder, **kwargs):
        (Path(folder) / "saved_model.pb.tmp").parent.mkdir(parents=True)
        (Path(folder) / "saved_model.pb.tmp").write_bytes(b"")
        raise KeyboardInterrupt  # as a signal would, half-way

    monkeypatch.setattr(tf.saved_model, "save", dies_half_way)
    with pytest.raises(KeyboardInterrupt):
        export(model, base)
    assert sorted(path.name for path in base.iterdir()) == []
    # A SIGKILL skips every clean-up: its staging folder stays, under a
    # name TF Serving does not take for a version, until the next export.
    stale = base / ".export-1-999999999"
    stale.mkdir()
    (stale / "saved_model.pb.tmp").write_bytes(b"")
    monkeypatch.setattr(tf.saved_model, "save", save)
    folder = export(model, base)
    assert sorted(path.name for path in base.iterdir()) == ["1"]
    tf.saved_model.load(str(folder))
    export(model, base, overwrite=True)
    assert sorted(path.name for path in base.iterdir()) == ["1"]
    # Killed between moving the old version aside and renaming the new one
    # in: the next export puts the old one back before its own.
    os.replace(base / "1", base / ".replaced-1-999999999")
    monkeypatch.setattr(tf.saved_model, "save", dies_half_way)
    with pytest.raises(KeyboardInterrupt):
        export(model, base)
    assert sorted(path.name for path in base.iterdir()) == ["1"]
    tf.saved_model.load(str(base / "1"))


def test_saved_model_enforces_its_shape_and_takes_an_empty_batch(tmp_path):
    import tensorflow as tf

    from keras_vidrep.serving.saved_model import export

    model = build_model("composite_conv", **TINY_OVERRIDES)
    loaded = tf.saved_model.load(str(export(model, tmp_path / "serve")))
    frames = np.random.default_rng(0).random((3, 2, 32, 32, 1), "float32")
    expected = model.predict_on_batch(frames)
    for name, outputs in (("serving_default", ("future", "reconstruction")),
                          ("encode", ("representation",))):
        signature = loaded.signatures[name]
        empty = signature(frames=tf.constant(frames[:0]))
        assert sorted(empty) == sorted(outputs)
        full = signature(frames=tf.constant(frames))
        for output in outputs:
            assert empty[output].shape[0] == 0
            assert empty[output].shape[1:] == full[output].shape[1:]
        with pytest.raises(tf.errors.InvalidArgumentError,
                           match=r"Expected frames of shape "
                           r"\(batch, 2, 32, 32, 1\)"):
            signature(frames=tf.constant(frames[:, :1]))
    np.testing.assert_allclose(
        loaded.signatures["serving_default"](frames=tf.constant(frames))[
            "future"], expected["future"], atol=1e-5)


def test_missing_digits_point_to_the_cli_option(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("KERAS_VIDREP_MNIST", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setattr(keras.datasets.mnist, "load_data",
                        lambda *a, **k: (_ for _ in ()).throw(OSError("offline")))
    err = one_line_error(capsys, ["train", "predictor_fc", "--steps", "1",
                                  "--out", str(tmp_path / "run")])
    assert "--digits PATH" in err


def test_debug_shows_the_traceback(capsys):
    with pytest.raises(ValueError, match="Unknown model 'nonsense'"):
        cli.main(["--debug", "evaluate", "nonsense"])
    one_line_error(capsys, ["evaluate", "nonsense"])  # without: one line


def test_damaged_files_are_called_damaged(tmp_path, capsys, mnist_dir):
    model = build_model("predictor_conv", **TINY_OVERRIDES)
    model.save(tmp_path / "model.keras")
    model.save_weights(tmp_path / "model.weights.h5")
    for name in ("model.keras", "model.weights.h5"):
        whole = (tmp_path / name).read_bytes()
        (tmp_path / f"cut_{name}").write_bytes(whole[:len(whole) // 3])
    err = one_line_error(capsys, ["evaluate", str(tmp_path / "cut_model.keras")])
    assert "damaged or truncated" in err
    for name in ("cut_model.keras", "cut_model.weights.h5"):
        with pytest.raises(TrainingError, match="damaged or truncated"):
            train("predictor_conv", steps=1, out=tmp_path / "run",
                  model_overrides=TINY_OVERRIDES, digits=mnist_dir,
                  initial_weights=tmp_path / name)


def test_initial_weights_from_a_file_that_holds_code_say_so(tmp_path,
                                                            mnist_dir):
    inputs = keras.Input((4,))
    outputs = keras.layers.Lambda(lambda x: x * 2)(inputs)
    keras.Model(inputs, outputs).save(tmp_path / "lambda.keras")
    with pytest.raises(TrainingError, match="it holds code") as error:
        train("predictor_fc", steps=1, out=tmp_path / "run",
              model_overrides=TINY_OVERRIDES, digits=mnist_dir,
              initial_weights=tmp_path / "lambda.keras")
    assert "do not fit" not in str(error.value)
    assert not (tmp_path / "run").exists()


def test_teacher_forcing_works_with_an_unknown_clip_length():
    import tensorflow as tf

    model = build_model("predictor_fc_cond", **TINY_OVERRIDES)
    clip = np.random.default_rng(0).random((2, 4, 32, 32, 1)).astype("float32")
    traced = tf.function(lambda x: model(x, training=True)["future"],
                         input_signature=[tf.TensorSpec(
                             (None, None, 32, 32, 1), tf.float32)])
    forced = model(clip, training=True)["future"]
    free = model(clip, training=False)["future"]
    np.testing.assert_allclose(traced(clip), forced, atol=1e-6)
    assert np.abs(np.asarray(forced) - np.asarray(free)).max() > 1e-4


@pytest.mark.parametrize("name", ["predictor_conv", "composite_fc_cond"])
def test_empty_batch_in_empty_batch_out(name):
    model = build_model(name, **TINY_OVERRIDES)
    empty = np.zeros((0, 2, 32, 32, 1), "float32")
    for outputs in (model(empty), model.predict(empty, verbose=0)):
        for target in model.targets:
            assert tuple(outputs[target].shape) == (0, 2, 32, 32, 1)


def test_predict_takes_lists_and_refuses_integers_and_non_finite_frames():
    model = build_model("predictor_fc", **TINY_OVERRIDES)
    frames = np.random.default_rng(0).random((2, 2, 32, 32, 1)).astype("float32")
    np.testing.assert_allclose(model.predict(frames.tolist(), verbose=0)["future"],
                               model.predict(frames, verbose=0)["future"],
                               atol=1e-6)
    with pytest.raises(ValueError, match=r"divide uint8 frames by 255\). "
                                         "Received: frames of dtype uint8"):
        model.predict((frames * 255).astype("uint8"), verbose=0)
    frames[0, 0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="frames with 1 NaN or infinite"):
        model.predict(frames, verbose=0)


def test_keras_loops_refuse_bad_frames_from_arrays_and_datasets():
    import tensorflow as tf

    model = build_model("predictor_fc", **TINY_OVERRIDES)
    model.compile(loss="mse")
    clips = np.random.default_rng(0).random((4, 4, 32, 32, 1), "float32")
    inputs, targets = model.split_clip(clips)

    def dataset(frames):
        return tf.data.Dataset.from_tensor_slices(
            (frames, targets)).batch(2)

    for loop in (model.fit, model.evaluate):
        with pytest.raises(ValueError, match="dtype uint8"):
            loop(dataset((inputs * 255).astype("uint8")), verbose=0)
        with pytest.raises(ValueError, match="dtype uint8"):
            loop((inputs * 255).astype("uint8"), targets, verbose=0)
        with pytest.raises(ValueError, match="values from"):
            loop(inputs * 255, targets, verbose=0)
        with pytest.raises(tf.errors.InvalidArgumentError,
                           match="values above 1"):
            loop(dataset(inputs * 255), verbose=0)
    with pytest.raises(ValueError, match="dtype uint8"):
        model.predict(tf.data.Dataset.from_tensor_slices(
            (inputs * 255).astype("uint8")).batch(2), verbose=0)
    spoiled = inputs.copy()
    spoiled[1, 0, 0, 0, 0] = np.nan
    with pytest.raises(tf.errors.InvalidArgumentError, match="NaN"):
        model.predict(tf.data.Dataset.from_tensor_slices(spoiled).batch(2),
                      verbose=0)
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(dataset(inputs), verbose=0)  # good frames still train
    assert not [w for w in caught if "shuffle" in str(w.message)]
    assert model.predict(tf.data.Dataset.from_tensor_slices(inputs).batch(2),
                         verbose=0)["future"].shape == (4, 2, 32, 32, 1)


def test_predict_checks_the_shape_on_every_call():
    """After one good call, Keras' traced function would take a clip of too
    few frames and return predictions of a clip it never saw."""
    model = build_model("predictor_fc", **TINY_OVERRIDES)
    good = np.zeros((2, 2, 32, 32, 1), "float32")
    model.predict(good, verbose=0)
    for shape in ((2, 1, 32, 32, 1), (2, 2, 16, 16, 1), (2, 2, 32, 32, 3),
                  (2, 32, 32, 1)):
        with pytest.raises(ValueError, match=r"Expected frames of shape "
                           r"\(batch, >= 2, 32, 32, 1\).*Received: frames "
                           "of shape " + re.escape(str(shape))):
            model.predict(np.zeros(shape, "float32"), verbose=0)
    assert model.predict(good, verbose=0)["future"].shape == good.shape
    with pytest.raises(ValueError, match="Received: None"):  # not "pop from
        model.predict(None, verbose=0)                       # an empty set"


def test_evaluate_refuses_integer_non_finite_and_short_clips():
    from keras_vidrep.evaluation.baselines import evaluate_model

    model = build_model("predictor_fc", **TINY_OVERRIDES)
    clips = np.random.default_rng(0).random((2, 4, 32, 32, 1)).astype("float32")
    assert evaluate_model(model, [clips], progress=False)["sequences"] == 2
    with pytest.raises(ValueError, match="Received: frames of dtype uint8"):
        evaluate_model(model, [(clips * 255).astype("uint8")], progress=False)
    with pytest.raises(ValueError, match="at least 4 frames. Received: "
                                         r"frames of shape \(2, 3, 32, 32, 1\)"):
        evaluate_model(model, [clips[:, :3]], progress=False)
    clips[1, 3, 0, 0, 0] = np.inf
    with pytest.raises(ValueError, match="frames with 1 NaN or infinite"):
        evaluate_model(model, [clips], progress=False)
    clips[1, 3, 0, 0, 0] = 255.0  # float frames in 0-255
    with pytest.raises(ValueError, match=r"Expected frames in \[0, 1\] "
                       r"\(divide 0-255 frames by 255\). Received: frames "
                       r"with values from 0\.000108007 to 255$"):
        evaluate_model(model, [clips], progress=False)
    clips[1, 1, 0, 0, 0] = -0.5
    with pytest.raises(ValueError, match="values from -0.5 to"):
        model.predict(clips[:, :2], verbose=0)


def test_saved_model_refuses_non_finite_frames(tmp_path):
    import tensorflow as tf

    from keras_vidrep.serving.saved_model import export

    model = build_model("predictor_fc", **TINY_OVERRIDES)
    loaded = tf.saved_model.load(str(export(model, tmp_path / "serve")))
    frames = np.zeros((1, 2, 32, 32, 1), "float32")
    for name in ("serving_default", "encode"):
        loaded.signatures[name](frames=tf.constant(frames))
    frames[0, 1, 3, 3, 0] = np.nan
    for name in ("serving_default", "encode"):
        with pytest.raises(tf.errors.InvalidArgumentError,
                           match="Expected finite frames"):
            loaded.signatures[name](frames=tf.constant(frames))
    for value, message in ((255.0, "values above 1"), (-1.0, "negative")):
        frames[0, 1, 3, 3, 0] = value
        for name in ("serving_default", "encode"):
            with pytest.raises(tf.errors.InvalidArgumentError, match=message):
                loaded.signatures[name](frames=tf.constant(frames))


def test_malformed_tf_config_is_named(monkeypatch):
    from keras_vidrep.training.multi_worker import cluster_role

    monkeypatch.setenv("TF_CONFIG", "{cluster: workers}")
    with pytest.raises(ValueError, match="TF_CONFIG is not valid JSON"):
        cluster_role()


@pytest.mark.parametrize("task, message", [
    ({"type": "worker", "index": 2}, "index=2"),
    ({"type": "chief", "index": 0}, "task type='chief'"),
    ({"type": "worker", "index": "0"}, "index='0'"),
])
def test_a_tf_config_task_outside_its_cluster_is_named(monkeypatch, task,
                                                       message):
    import json

    from keras_vidrep.training.multi_worker import cluster_role

    monkeypatch.setenv("TF_CONFIG", json.dumps({
        "cluster": {"worker": ["localhost:1", "localhost:2"]}, "task": task}))
    with pytest.raises(ValueError, match=r"not in its cluster \(worker: 2; "
                       r"an index counts from 0\)") as error:
        cluster_role()
    assert message in str(error.value)


@pytest.mark.parametrize("text, message", [
    ("", "is empty"), ('{"model": "predictor_fc"', "is damaged"),
    ("[1, 2]", "is damaged")])
def test_an_empty_or_damaged_run_record_is_one_line(tmp_path, capsys,
                                                    text, message):
    out = tmp_path / "run"
    out.mkdir()
    (out / "run.json").write_text(text)
    err = one_line_error(capsys, ["train", "predictor_fc", "--steps", "1",
                                  "--out", str(out), *TINY])
    assert f"run.json {message}" in err and "another --out" in err
    assert (out / "run.json").read_text() == text  # left for the user
    for name in ("model.keras", "history.csv"):
        (out / name).write_text("")
    err = one_line_error(capsys, ["promote", str(out), "predictor_fc"])
    assert message in err


def test_a_history_with_its_header_twice_is_read_once(tmp_path):
    from keras_vidrep.training.checkpoints import read_history
    from keras_vidrep.training.checkpoints import trim_history
    from keras_vidrep.training.trainer import plot_history

    history = tmp_path / "history.csv"
    header = "epoch,frame_mse,loss\n"
    history.write_text(header + header + "0,9.5,3.5\n\n" + header
                       + "1,8.5,2.5\n")
    assert read_history(history) == [
        {"epoch": "0", "frame_mse": "9.5", "loss": "3.5"},
        {"epoch": "1", "frame_mse": "8.5", "loss": "2.5"}]
    plot_history(history, tmp_path / "curve.png", 10)
    assert (tmp_path / "curve.png").stat().st_size > 0
    trim_history(history, 2)  # nothing to drop: the headers go
    assert history.read_text() == header + "0,9.5,3.5\n1,8.5,2.5\n"
    history.write_text(header + "0,9.5\n")
    with pytest.raises(TrainingError, match="line 2 is not a row of its "
                       r"columns \['epoch', 'frame_mse', 'loss'\]"):
        read_history(history)


def test_a_missing_moving_mnist_file_is_named_before_evaluating(capsys,
                                                               tmp_path):
    err = one_line_error(capsys, ["evaluate", "composite_conv",
                                  "--moving-mnist", str(tmp_path / "no.npy")])
    assert "No Moving MNIST file at" in err


@pytest.mark.parametrize("content", [b"garbage" * 100, None])
def test_a_moving_mnist_file_of_another_kind_is_refused_before_evaluating(
        capsys, tmp_path, monkeypatch, content):
    path = tmp_path / "garbage.npy"
    if content is None:
        np.save(path, np.zeros((20, 3, 32, 32), np.uint8))
    else:
        path.write_bytes(content)
    monkeypatch.setattr(cli, "load_trained", lambda *args: 1 / 0)
    err = one_line_error(capsys, ["evaluate", "composite_conv",
                                  "--moving-mnist", str(path)])
    assert "is not the Moving MNIST test set" in err


@pytest.fixture(scope="module")
def captioner_file(tmp_path_factory):
    """A small captioner saved as a train-captioner run folder holds it."""
    from keras_vidrep.zoo.captioners import build_captioner_preset

    folder = tmp_path_factory.mktemp("captioner_run")
    model = build_captioner_preset({"units": 8, "features": 8})
    model.save(folder / "model.keras")
    return folder


@pytest.mark.parametrize("command", ["evaluate", "visualize", "probe"])
def test_a_captioner_where_a_video_model_is_needed_is_one_line(
        capsys, captioner_file, tmp_path, command):
    argv = [command, str(captioner_file)]
    if command == "visualize":
        argv += ["--out", str(tmp_path / "strip.png")]
    err = one_line_error(capsys, argv)
    assert f"`{command}` takes a video model" in err
    assert "this is a S2VTCaptioner" in err and "keras-vidrep caption" in err


def test_a_captioner_run_folder_loads_and_exports_without_other_imports(
        captioner_file, tmp_path):
    script = (
        "import sys, keras_vidrep\n"
        "model = keras_vidrep.load(sys.argv[1], compile=False)\n"
        "print(type(model).__name__)\n")
    import subprocess
    import sys

    loaded = subprocess.run([sys.executable, "-c", script,
                             str(captioner_file)], capture_output=True,
                            text=True, timeout=300)
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    assert loaded.stdout.strip().splitlines()[-1] == "S2VTCaptioner"
    assert cli.main(["export", str(captioner_file),
                     str(tmp_path / "serve")]) == 0
    import tensorflow as tf

    signature = tf.saved_model.load(str(tmp_path / "serve" / "1")).signatures[
        "caption"]
    frames = np.zeros((2, 10, 64, 64, 1), "float32")
    assert signature(frames=tf.constant(frames))["caption"].shape == (2,)


@pytest.mark.parametrize("name", ["variants", "captions"])
def test_an_experiment_into_a_folder_it_cannot_write_is_refused_first(
        capsys, tmp_path, monkeypatch, name):
    from keras_vidrep.experiments import runner

    monkeypatch.setattr(runner, "run_row", lambda *args, **kwargs: 1 / 0)
    (tmp_path / "a_file").write_text("")
    err = one_line_error(capsys, ["experiment", name, "--out",
                                  str(tmp_path / "a_file" / "records")])
    assert "Cannot write into" in err and "--out" in err


def test_every_option_is_described_with_its_default():
    import argparse

    parser = cli.build_parser()
    (commands,) = [a for a in parser._actions
                   if isinstance(a, argparse._SubParsersAction)]
    for name, command in commands.choices.items():
        text = " ".join(command.format_help().split())
        for action in command._actions:
            if not action.option_strings or action.dest == "help":
                continue
            assert action.help, f"{name} {action.option_strings[0]}"
            if isinstance(action.default, (int, float, str)) and not isinstance(
                    action.default, bool):
                assert f"default: {action.default}" in text or (
                    "default" in action.help), f"{name} {action.dest}"


def test_cli_keeps_the_traceback_of_our_own_bugs(monkeypatch, capsys):
    """Only bad input (InputError, the file system's OSError) is one line:
    a ValueError from a bug of ours propagates with its traceback."""
    from keras_vidrep import presets
    from keras_vidrep._validation import InputError

    def fails_with(error):
        def preset_table():
            raise error
        return preset_table

    monkeypatch.setattr(presets, "preset_table",
                        fails_with(InputError("bad name")))
    assert cli.main(["list"]) == 2
    assert capsys.readouterr().err.strip() == "keras-vidrep: error: bad name"
    monkeypatch.setattr(presets, "preset_table",
                        fails_with(ValueError("a bug")))
    with pytest.raises(ValueError, match="a bug"):
        cli.main(["list"])


def test_serving_requests_refuse_frames_a_model_cannot_read():
    """uint8 frames would be sent as 0-255 values, unscaled."""
    frames = np.zeros((1, 2, 4, 4, 1), "float32")
    for build in (serving.rest_request,
                  lambda x: serving.grpc_request(x, "m")):
        with pytest.raises(ValueError, match="Expected float frames in "
                           r"\[0, 1\] \(divide uint8 frames by 255\). "
                           "Received: frames of dtype uint8"):
            build((frames * 255).astype("uint8"))
        for value, message in ((255.0, "values from 0 to 255"),
                               (np.nan, "1 NaN or infinite")):
            bad = frames.copy()
            bad[0, 1, 2, 3, 0] = value
            with pytest.raises(ValueError, match=message):
                build(bad)
        build(frames)
    body = serving.rest_request([[[[[0.0]]]]])  # nested lists: float frames
    assert body["instances"][0]["frames"] == [[[[0.0]]]]


def test_serving_helpers_refuse_unknown_signatures():
    frames = np.zeros((1, 2, 4, 4, 1), "float32")
    for build in (lambda name: serving.rest_request(frames,
                                                    signature_name=name),
                  lambda name: serving.grpc_request(frames, "m",
                                                    signature_name=name)):
        with pytest.raises(ValueError, match="Unknown signature 'serve': our "
                           "SavedModels have serving_default, encode, caption"):
            build("serve")
        build("encode")


@pytest.mark.parametrize("argv", [
    ["train", "predictor_fc", "--seed", "-1"],
    ["train", "predictor_fc", "--seed", str(2**40)],
    ["evaluate", "predictor_fc", "--seed", "-1"],
    ["experiment", "units", "--seeds", "0", "-3"],
])
def test_seeds_outside_32_bits_are_refused_by_the_parser(capsys, argv):
    """numpy and Keras take unsigned 32-bit seeds: a traceback deep in
    training, before."""
    with pytest.raises(SystemExit) as exit_info:
        cli.parse_args(argv)
    assert exit_info.value.code == 2
    assert "expected an integer from 0 to 4294967295, received" in (
        capsys.readouterr().err)


@pytest.mark.slow
def test_sigkill_at_any_moment_of_an_export_leaves_no_broken_version(
        tmp_path):
    """The probe's replay: a real SIGKILL at moments spread over an export
    (overwriting a version that exists), then a look at what TF Serving
    would see, then the next export."""
    import subprocess
    import time

    import tensorflow as tf

    from tests.helpers import REPO
    from tests.helpers import cli_command

    model = build_model("composite_conv", **TINY_OVERRIDES)
    model.save(tmp_path / "model.keras")
    base = tmp_path / "serve"
    command = cli_command("export", str(tmp_path / "model.keras"), str(base),
                          "--overwrite")
    env = {**__import__("os").environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    started = time.monotonic()
    subprocess.run(command, cwd=REPO, env=env, check=True,
                   capture_output=True, timeout=300)
    whole = time.monotonic() - started

    def servable_versions():
        names = sorted(path.name for path in base.iterdir())
        assert all(name == "1" or name.startswith((".export-1-",
                                                   ".replaced-1-"))
                   for name in names), names
        return [name for name in names if name.isdigit()]

    for fraction in (0.5, 0.65, 0.75, 0.85, 0.92, 0.97):
        process = subprocess.Popen(command, cwd=REPO, env=env,
                                   stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        time.sleep(whole * fraction)
        process.kill()
        process.wait(60)
        for version in servable_versions():
            loaded = tf.saved_model.load(str(base / version))
            assert sorted(loaded.signatures) == ["encode", "serving_default"]
    subprocess.run(command, cwd=REPO, env=env, check=True,
                   capture_output=True, timeout=300)
    assert servable_versions() == ["1"]
    assert sorted(path.name for path in base.iterdir()) == ["1"]


def test_one_wording_for_a_value_outside_its_choices():
    from keras_vidrep._validation import InputError
    from keras_vidrep._validation import check_one_of

    assert check_one_of("split", "test", ("train", "test")) == "test"
    # A sequence keeps its order, a mapping is sorted.
    with pytest.raises(InputError, match=re.escape(
            "`split` must be one of ['train', 'test']. Received: "
            "split='valid'")):
        check_one_of("split", "valid", ("train", "test"))
    with pytest.raises(InputError, match=re.escape(
            "`loss` must be one of ['cross_entropy', 'mse']. Received: "
            "loss='l1'")):
        check_one_of("loss", "l1", {"mse": 1, "cross_entropy": 2})

    class Refused(Exception):
        pass

    with pytest.raises(Refused):
        check_one_of("x", 3, [1, 2], error=Refused)
