"""The keras-vidrep command line: listing, errors, evaluation, figures."""

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

import keras

from keras_vidrep import cli
from keras_vidrep.evaluation.baselines import evaluate_model
from keras_vidrep.models import VARIANTS
from keras_vidrep.models import build_model
from keras_vidrep.evaluation.visualize import visualize
from tests.helpers import run_cli

SMALL = dict(hidden_sizes=(4,), frame_size=32, input_frames=2, future_frames=2)


def test_list_prints_every_model(capsys):
    assert cli.main(["list"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split()[0] for line in lines] == [*VARIANTS, "captioner_fused"]


@pytest.mark.parametrize("argv, message", [
    (["train", "composite_lstm"], "Unknown model 'composite_lstm'. Valid names: "),
    (["evaluate", "missing/model.keras"], "No model file at missing/model.keras"),
    (["evaluate", "nonsense"], "Unknown model 'nonsense'. Valid names: "),
])
def test_bad_input_exits_2_with_one_line(argv, message, capsys, tmp_path,
                                         monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("keras-vidrep: error: ") and message in err
    assert len(err.splitlines()) == 1


def test_corrupt_model_file_and_negative_steps(tmp_path, mnist_dir):
    corrupt = tmp_path / "model.keras"
    corrupt.write_bytes(b"not a zip file")
    result = run_cli(mnist_dir, "evaluate", str(corrupt))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith(
        f"keras-vidrep: error: Cannot read the model file {corrupt}")
    assert "Traceback" not in result.stderr
    result = run_cli(mnist_dir, "train", "predictor_fc", "--steps", "-5")
    assert result.returncode == 2
    assert "--steps: expected a positive integer, received -5" in result.stderr


def test_evaluation_matches_numpy_and_baselines():
    model = build_model("composite_conv", **SMALL)
    rng = np.random.default_rng(0)
    clips = [rng.random((3, 5, 32, 32, 1)).astype("float32") for _ in range(2)]
    results = evaluate_model(model, clips, progress=False)
    assert results["sequences"] == 6
    every = np.concatenate(clips)[:, :4]
    future = every[:, 2:]
    copy_last = np.repeat(every[:, 1:2], 2, axis=1)
    mse = ((copy_last - future) ** 2).sum(axis=(2, 3, 4))
    got = results["future"]["copy_last_frame"]["frame_mse"]
    assert got["mean"] == pytest.approx(mse.mean(), rel=1e-5)
    np.testing.assert_allclose(got["per_timestep"], mse.mean(axis=0), rtol=1e-5)
    predicted = np.concatenate([np.asarray(model.predict_on_batch(c[:, :2])["future"])
                                for c in clips])
    model_mse = ((predicted - future) ** 2).sum(axis=(2, 3, 4)).mean()
    assert results["future"]["model"]["frame_mse"]["mean"] == pytest.approx(
        model_mse, rel=1e-5)
    zeros = (future ** 2).sum(axis=(2, 3, 4)).mean()
    assert results["future"]["all_zeros"]["frame_mse"]["mean"] == pytest.approx(
        zeros, rel=1e-5)
    reversed_inputs = every[:, 1::-1]
    mean_frame = every[:, :2].mean(axis=1, keepdims=True)
    recon = ((mean_frame - reversed_inputs) ** 2).sum(axis=(2, 3, 4)).mean()
    assert results["reconstruction"]["mean_input_frame"]["frame_mse"][
        "mean"] == pytest.approx(recon, rel=1e-5)
    assert set(results["future"]["model"]) == {
        "frame_mse", "frame_mae", "frame_cross_entropy", "psnr", "ssim"}
    # PSNR is that of the mean MSE per pixel: it ranks as the MSE does.
    psnr = results["future"]["copy_last_frame"]["psnr"]
    assert psnr["mean"] == pytest.approx(
        10 * np.log10(32 * 32 / mse.mean()), rel=1e-5)
    np.testing.assert_allclose(
        psnr["per_timestep"], 10 * np.log10(32 * 32 / mse.mean(axis=0)),
        rtol=1e-5)


def test_psnr_does_not_reward_one_perfect_frame():
    # The copy-last-frame baseline reconstructs the last input frame exactly
    # (the first frame of the reversed input) and the others badly.
    model = build_model("autoencoder_conv", **SMALL)
    rng = np.random.default_rng(1)
    clips = [rng.random((4, 4, 32, 32, 1)).astype("float32")]
    results = evaluate_model(model, clips, progress=False)["reconstruction"]
    copy, mean_frame = results["copy_last_frame"], results["mean_input_frame"]
    assert copy["frame_mse"]["per_timestep"][0] == 0.0
    assert copy["frame_mse"]["mean"] > mean_frame["frame_mse"]["mean"]
    assert copy["psnr"]["mean"] < mean_frame["psnr"]["mean"]


def test_visualize_writes_png_and_gif(tmp_path):
    from PIL import Image

    model = build_model("composite_conv_cond", **SMALL)
    clip = np.random.default_rng(0).random((4, 32, 32, 1)).astype("float32")
    png, gif = visualize(model, clip, tmp_path / "figure")
    strip = np.asarray(Image.open(png))
    assert strip.shape[0] > 4 * 32  # four rows of frames

    # The input row holds the clip's frames, the reconstruction row the
    # model's, flipped back into the input's order, each in its column.
    from keras_vidrep.evaluation.visualize import _GAP
    from keras_vidrep.evaluation.visualize import to_uint8

    def tile(row, column):
        top, left = 14 + row * (32 + _GAP), 130 + column * (32 + _GAP)
        return strip[top:top + 32, left:left + 32]

    reconstruction = to_uint8(np.asarray(model.predict_on_batch(
        clip[None, :2])["reconstruction"])[0, ::-1])
    for column in range(2):
        np.testing.assert_array_equal(tile(0, column),
                                      to_uint8(clip[:2])[column])
        np.testing.assert_array_equal(tile(2, column), reconstruction[column])
    animation = Image.open(gif)
    assert animation.n_frames == 2  # max(input, future) frames
    # A folder gets its files inside, not beside it.
    (tmp_path / "pictures").mkdir()
    for folder in (tmp_path / "pictures", f"{tmp_path / 'new'}/"):
        png, gif = visualize(model, clip, folder)
        assert png.parent == Path(folder) and png.is_file() and gif.is_file()


@pytest.mark.slow
def test_train_evaluate_visualize_end_to_end(tmp_path, mnist_dir):
    out = tmp_path / "run"
    from tests.helpers import TINY

    result = run_cli(mnist_dir, "train", "composite_conv_cond", "--steps", "4",
                     "--batch-size", "4", "--checkpoint-every", "2",
                     "--out", str(out), *TINY)
    assert result.returncode == 0, result.stderr[-2000:]
    for name in ("model.keras", "history.csv", "loss_curve.png", "run.json",
                 "backup/checkpoint.json", "backup/epoch-000002.weights.h5", "logs"):
        assert (out / name).exists(), name
    assert len((out / "history.csv").read_text().strip().splitlines()) == 3
    record = json.loads((out / "run.json").read_text())
    (part,) = record["parts"]
    assert part["command"].startswith("keras-vidrep train composite_conv_cond "
                                      "--steps 4 --batch-size 4")
    assert part["steps_from"] == 0 and part["steps_reached"] == 4
    assert part["wall_seconds"] > 0 and part["backend"] == "tensorflow"
    assert {"keras_vidrep", "keras", "tensorflow"} <= set(part["versions"])
    assert "cores" in part["machine"] and "git_commit" in part
    assert record["precision"] == "float32"
    result = run_cli(mnist_dir, "evaluate", str(out / "model.keras"),
                     "--sequences", "6", "--batch-size", "3", "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert report["bouncing_digits_test"]["sequences"] == 6
    assert len(report["bouncing_digits_test"]["future"]["model"]["ssim"][
        "per_timestep"]) == 2
    result = run_cli(mnist_dir, "visualize", str(out / "model.keras"),
                     "--out", str(tmp_path / "pic.png"))
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "pic.png").is_file() and (tmp_path / "pic.gif").is_file()
    restored = keras.saving.load_model(out / "model.keras")
    assert restored.optimizer.iterations.numpy() == 4


def test_evaluate_on_a_moving_mnist_file(tmp_path, mnist_dir, capsys, monkeypatch):
    monkeypatch.setenv("KERAS_VIDREP_MNIST", str(mnist_dir))
    model = build_model("predictor_conv", hidden_sizes=(4,))
    model.save(tmp_path / "model.keras")
    raw = np.random.default_rng(0).integers(0, 256, (20, 3, 64, 64), dtype=np.uint8)
    np.save(tmp_path / "mnist_test_seq.npy", raw)
    code = cli.main(["evaluate", str(tmp_path / "model.keras"), "--sequences", "3",
                     "--batch-size", "2", "--moving-mnist",
                     str(tmp_path / "mnist_test_seq.npy"), "--json"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    fixed = report["moving_mnist_test"]
    assert fixed["sequences"] == 3
    frames = raw.transpose(1, 0, 2, 3)[..., None] / 255.0
    zeros = (frames[:, 10:] ** 2).sum(axis=(2, 3, 4)).mean()
    assert fixed["future"]["all_zeros"]["frame_mse"]["mean"] == pytest.approx(
        zeros, rel=1e-5)
    assert report["bouncing_digits_test"]["sequences"] == 3
    # The physics is the original's by default, mirror reflection on request.
    assert report["bounce"] == "clamp"
    assert cli.main(["evaluate", str(tmp_path / "model.keras"), "--sequences",
                     "3", "--bounce", "mirror", "--json"]) == 0
    mirror = json.loads(capsys.readouterr().out)
    assert mirror["bounce"] == "mirror"

    def copy_last(result):
        return result["bouncing_digits_test"]["future"]["copy_last_frame"][
            "frame_mse"]["mean"]

    assert copy_last(mirror) != copy_last(report)


def test_console_script_quiets_tensorflow_start_up_lines(mnist_dir):
    """Without TF_CPP_MIN_LOG_LEVEL set by the user, bad input is exactly
    one line on stderr, and a good command none."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = Path(sys.executable).parent / "keras-vidrep"
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    listed = subprocess.run([str(script), "list"], capture_output=True,
                            text=True, env=env, timeout=120)
    assert listed.returncode == 0 and "composite_conv" in listed.stdout
    assert listed.stderr == ""
    bad = subprocess.run([str(script), "evaluate", "no_such_model"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert bad.returncode == 2
    assert bad.stderr.splitlines() == [
        bad.stderr.strip()] and "no_such_model" in bad.stderr
    # Set by the user: TensorFlow's lines are theirs to see (evaluate of a
    # model imports TensorFlow; list does not).
    loud = subprocess.run([str(script), "evaluate", "composite_conv",
                           "--moving-mnist", "none.npy"],
                          capture_output=True,
                          text=True, env={**env, "TF_CPP_MIN_LOG_LEVEL": "0"},
                          timeout=120)
    assert "oneDNN" in loud.stderr or "absl" in loud.stderr


def test_demo_says_what_its_figures_mean():
    """The demo puts its future MSE beside the best trivial baseline of the
    same sequences and the zoo's fully trained composite_conv, and says how
    to look at the latter."""
    from keras_vidrep.presets import preset_table

    def results(mse, ssim):
        return {"future": {
            "model": {"frame_mse": {"mean": mse}, "ssim": {"mean": ssim}},
            "all_zeros": {"frame_mse": {"mean": 200.0}, "ssim": {"mean": 0.72}},
            "copy_last_frame": {"frame_mse": {"mean": 300.0},
                                "ssim": {"mean": 0.6}}}}

    verdict = cli._demo_verdict(results(150.0, 0.70))
    zoo = preset_table()["composite_conv"]
    assert ("MSE per frame is 150.0 against 200.0 for the best trivial "
            "baseline (all_zeros), 25% lower") in verdict
    # Where the table shows it losing, the words say so.
    assert ("scores 0.700 against 0.720 for the best baseline (all_zeros): "
            "it does not beat it") in verdict
    assert "draws more of the digits" in cli._demo_verdict(results(150.0, 0.8))
    assert "higher: not better than a trivial guess" in cli._demo_verdict(
        results(220.0, 0.8))
    assert (f"(trained {zoo['trained']}) scores "
            f"{zoo['evaluation']['future']['frame_mse']:.1f}") in verdict
    assert "keras-vidrep visualize composite_conv" in verdict


def _imported_after(code):
    """Runs ``code`` (which sets ``status``) in a fresh interpreter; its
    exit status, which of Keras, TensorFlow and our layers it imported, and
    whether the package's __init__ ran."""
    import subprocess
    import sys

    code += ("print(status, sorted(m for m in ('keras', 'tensorflow', "
             "'keras_vidrep.layers') if m in sys.modules), "
             "hasattr(sys.modules['keras_vidrep'], 'load'))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True, timeout=120)
    return done.stdout.strip().splitlines()[-1]


def _script(argv):
    return ("import sys, keras_vidrep_cli\n"
            "try:\n"
            f"    status = keras_vidrep_cli.main({argv!r})\n"
            "except SystemExit as exit:\n"
            "    status = exit.code\n")


QUICK = (["--help"], ["list"], ["--debug", "list"], ["train", "--help"],
         ["probe", "--help"], ["train-captioner", "--help"],
         ["experiment", "--help"], ["evaluate", "nonsense"],
         ["probe", "missing/model.keras"],
         ["evaluate", "composite_conv", "--digits", "/no/such/folder"],
         ["train", "composite_conv", "--data", "no_such_videos"])


def test_help_list_and_bad_models_import_neither_keras_nor_tensorflow():
    """The console script answers --help of any command, list, and a model
    argument that names nothing from the standard library (seconds faster:
    `import keras` alone takes about 5 s on a 2-core CPU); other commands
    still get the whole package."""
    for argv in QUICK:
        assert _imported_after(_script(argv)).endswith("[] False"), argv
    # Any other command runs the package's __init__ first (registration).
    assert _imported_after(_script(["evaluate", "composite_conv",
                                    "--moving-mnist", "none.npy"])) == (
        "2 ['keras', 'keras_vidrep.layers', 'tensorflow'] True")


def test_python_m_keras_vidrep_is_as_quick_as_the_script():
    """``python -m keras_vidrep list`` imports the package to run it: its
    __init__ defers the Keras imports there and only there."""
    import subprocess
    import sys

    listed = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "keras_vidrep", "list"],
        capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0 and "composite_conv" in listed.stdout
    imported = [line.split("|")[-1].strip()
                for line in listed.stderr.splitlines() if "|" in line]
    assert "keras_vidrep._entry" in imported
    assert not [name for name in imported
                if name.split(".")[0] in ("keras", "tensorflow")]
    # A plain import still registers our classes with Keras.
    assert _imported_after("import sys, keras_vidrep\nstatus = 0\n") == (
        "0 ['keras', 'keras_vidrep.layers', 'tensorflow'] True")


def test_importing_the_package_says_nothing_tensorflow_does_not():
    """`import keras_vidrep` prints TensorFlow's start-up lines and nothing
    of ours (the README says so): its standard error is that of a bare
    `import tensorflow`, once timestamps and process ids are set aside."""
    import subprocess
    import sys

    def stderr_of(code):
        env = {k: v for k, v in os.environ.items()
               if k not in ("TF_CPP_MIN_LOG_LEVEL", "KERAS_BACKEND")}
        done = subprocess.run([sys.executable, "-c", code], env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return [re.sub(r"^([IWE])\d{4} [\d:.]+ +\d+ ", r"\1 ", line)
                for line in done.stderr.splitlines()]

    assert stderr_of("import keras_vidrep") == stderr_of("import tensorflow")


def test_choices_of_the_parser_are_those_of_their_tables():
    """The parser takes its choices from keras_vidrep._choices, without
    importing Keras: each list must be the table it stands for."""
    from keras_vidrep import _choices
    from keras_vidrep.experiments import STANDALONE_EXPERIMENTS
    from keras_vidrep.experiments.definitions import EXPERIMENTS
    from keras_vidrep.models.captioner import STREAM_INPUTS
    from keras_vidrep.tasks.labels import TASKS
    from keras_vidrep.tasks.probe import HEADS
    from keras_vidrep.tasks.probe import PROTOCOLS
    from keras_vidrep.training.trainer import LEARNING_RATE_SCHEDULES

    assert sorted(_choices.SCHEDULES) == sorted(LEARNING_RATE_SCHEDULES)
    assert sorted(_choices.EXPERIMENTS) == sorted(
        [*EXPERIMENTS, *STANDALONE_EXPERIMENTS])
    assert _choices.TASKS == {name: task.description
                              for name, task in TASKS.items()}
    assert _choices.PROTOCOLS == {name: protocol.description
                                  for name, protocol in PROTOCOLS.items()}
    assert sorted(_choices.HEADS) == sorted(HEADS)
    assert sorted(_choices.STREAMS) == sorted(STREAM_INPUTS)


@pytest.mark.parametrize("line, dropped", [
    ("E0000 00:00:1796222587.986831    7611 util.cc:131] oneDNN supports "
     "DT_INT32 only on platforms with AVX-512. Falling back to the default "
     "Eigen-based implementation if present.", True),
    ("E0000 00:00:1796222463.266855    6972 cuda_platform.cc:52] failed call "
     "to cuInit: INTERNAL: CUDA error", True),
    ("I0000 00:00:1796222463.2 123 cpu_feature_guard.cc:210] This TensorFlow "
     "binary is optimized", True),
    ("E0000 00:00:1796222463.2 123 some_op.cc:12] a real error", False),
    ("keras-vidrep: error: Unknown model 'x'.", False),
])
def test_the_script_drops_tensorflows_start_up_chatter_only(line, dropped):
    from keras_vidrep import _entry

    assert bool(_entry.NOISE.match(line)) == dropped


GOLDEN_FIXED_MSE = 997.847


@pytest.mark.backend_agnostic
def test_evaluate_and_visualize_run_on_every_backend(mnist_dir, tmp_path):
    """The evaluation set needs no tf.data outside TensorFlow: the same
    figure on every backend (golden value from the TensorFlow backend, for
    weights drawn from numpy, so that no zoo promotion changes it)."""
    model = build_model("predictor_fc", hidden_sizes=[4])
    rng = np.random.default_rng(0)
    model.set_weights([0.1 * rng.standard_normal(w.shape).astype("float32")
                       for w in model.get_weights()])
    model.save(tmp_path / "fixed.keras")
    result = run_cli(mnist_dir, "evaluate", str(tmp_path / "fixed.keras"),
                     "--sequences", "4", "--json")
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert report["bouncing_digits_test"]["future"]["model"]["frame_mse"][
        "mean"] == pytest.approx(GOLDEN_FIXED_MSE, rel=1e-4)
    drawn = run_cli(mnist_dir, "visualize", str(tmp_path / "fixed.keras"),
                    "--out", str(tmp_path / "strip.png"))
    assert drawn.returncode == 0, drawn.stderr[-3000:]
    assert (tmp_path / "strip.png").stat().st_size > 0
