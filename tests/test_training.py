"""Resumable training: a run killed with SIGKILL continues where it stopped."""

import json
import os
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

import keras

from keras_vidrep.training.checkpoints import TrainingError

import keras_vidrep  # noqa: F401  (registers our classes for load_model)

from tests.helpers import REPO
from tests.helpers import TINY
from tests.helpers import cli_command
from tests.helpers import environment
from tests.helpers import run_cli

pytestmark = pytest.mark.slow


def read_weights(path):
    values = {}

    def visit(name, item):
        if isinstance(item, h5py.Dataset):
            values[name] = item[()]

    with h5py.File(path, "r") as f:
        f.visititems(visit)
    return values


def wait_for(predicate, timeout, process=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        if process is not None and process.poll() is not None:
            return predicate()
        time.sleep(0.2)
    return False


def test_sigkill_then_rerun_resumes_from_the_checkpoint(tmp_path, mnist_dir):
    out = tmp_path / "run"
    train = ["train", "predictor_conv", "--batch-size", "4",
             "--checkpoint-every", "3", "--out", str(out), *TINY]
    pointer = out / "backup" / "checkpoint.json"

    def epochs_saved():
        try:
            return json.loads(pointer.read_text())["epoch"]
        except (OSError, ValueError, KeyError):
            return 0

    process = subprocess.Popen(cli_command(*train, "--steps", "300"), cwd=REPO,
                               env=environment(mnist_dir),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert wait_for(lambda: epochs_saved() >= 2, 240, process), (
            process.stderr.read().decode()[-3000:] if process.poll() else "slow")
        os.kill(process.pid, signal.SIGKILL)
        process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
    saved_epoch = epochs_saved()
    assert process.returncode == -signal.SIGKILL
    assert saved_epoch >= 2
    saved_step = saved_epoch * 3
    backup = read_weights(out / "backup" /
                          json.loads(pointer.read_text())["weights"])

    # Rerun up to the checkpoint's step: nothing left to train, so the model
    # written is exactly what was restored.
    result = run_cli(mnist_dir, *train, "--steps", str(saved_step))
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"from its checkpoint at step {saved_step}" in result.stdout
    restored = keras.saving.load_model(out / "model.keras")
    assert int(restored.optimizer.iterations.numpy()) == saved_step
    by_path = {v.path: np.asarray(v) for v in restored.weights}
    assert len(backup) >= len(by_path) > 0
    restored_values = sorted(v.tobytes() for v in by_path.values())
    backup_values = {v.tobytes() for v in backup.values()}
    assert all(v in backup_values for v in restored_values)

    # And training goes on from there.
    result = run_cli(mnist_dir, *train, "--steps", str(saved_step + 3))
    assert result.returncode == 0, result.stderr[-3000:]
    model = keras.saving.load_model(out / "model.keras")
    assert int(model.optimizer.iterations.numpy()) == saved_step + 3
    rows = (out / "history.csv").read_text().strip().splitlines()
    # One row per epoch, none lost, none doubled: a row logged after the
    # checkpoint the run resumed from was dropped and logged again.
    assert [row.split(",")[0] for row in rows[1:]] == [
        str(e) for e in range(saved_epoch + 1)]


def test_sigterm_stops_between_steps_records_the_stop_and_resumes(tmp_path,
                                                                  mnist_dir):
    """A scheduler's SIGTERM ends the run with exit status 143 and one line
    saying where it stands; run.json records the part with the step its
    checkpoint holds, and the same command resumes from that step."""
    out = tmp_path / "run"
    train = ["train", "predictor_fc", "--batch-size", "2",
             "--checkpoint-every", "5", "--out", str(out), *TINY]
    pointer = out / "backup" / "checkpoint.json"
    process = subprocess.Popen(cli_command(*train, "--steps", "5000"),
                               cwd=REPO, env=environment(mnist_dir),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True)
    try:
        assert wait_for(pointer.is_file, 240, process), "no checkpoint"
        os.kill(process.pid, signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 128 + signal.SIGTERM, err[-3000:]
    reached = json.loads(pointer.read_text())["epoch"] * 5
    assert err.strip().splitlines()[-1] == (
        f"keras-vidrep: {out} stopped by SIGTERM; its checkpoint holds step "
        f"{reached}: rerun the same command to resume from there")
    (part,) = json.loads((out / "run.json").read_text())["parts"]
    assert (part["steps_from"], part["steps_reached"], part["stopped_by"]) == (
        0, reached, "SIGTERM")

    result = run_cli(mnist_dir, *train, "--steps", str(reached + 5))
    assert result.returncode == 0, result.stderr[-3000:]
    first, second = json.loads((out / "run.json").read_text())["parts"]
    assert first == part and "stopped_by" not in second
    assert (second["steps_from"], second["steps_reached"]) == (reached,
                                                              reached + 5)


def test_cosine_schedule_decays_to_zero_and_resumes_only_with_its_steps(
        tmp_path, mnist_dir):
    """--schedule cosine: the rate falls from --learning-rate to 0 at the
    last step (so the optimizer's rate at step 3 of 4 is half of
    (1 + cos(3/4 pi)) times it); run.json records the decay; a resume with
    more steps, which would change the schedule, is refused."""
    import math

    out = tmp_path / "run"
    common = ["train", "predictor_fc", "--batch-size", "2",
              "--checkpoint-every", "2", "--schedule", "cosine",
              "--learning-rate", "0.01", "--out", str(out), *TINY]
    result = run_cli(mnist_dir, *common, "--steps", "4")
    assert result.returncode == 0, result.stderr[-3000:]
    run = json.loads((out / "run.json").read_text())
    assert run["learning_rate_decay"] == {"schedule": "cosine", "steps": 4}
    model = keras.saving.load_model(out / "model.keras")
    rate = model.optimizer.learning_rate
    assert int(model.optimizer.iterations.numpy()) == 4
    schedule = keras.optimizers.schedules.deserialize(
        model.optimizer.get_config()["learning_rate"])
    assert float(schedule(3)) == pytest.approx(
        0.01 * 0.5 * (1 + math.cos(math.pi * 3 / 4)), rel=1e-5)
    assert float(rate) == pytest.approx(0.0, abs=1e-9)  # at step 4 of 4
    longer = run_cli(mnist_dir, *common, "--steps", "6")
    assert longer.returncode == 2
    assert "learning_rate_decay" in longer.stderr and "other arguments" in (
        longer.stderr)


def test_rerun_with_other_arguments_is_refused(tmp_path, mnist_dir):
    out = tmp_path / "run"
    common = ["train", "predictor_conv", "--steps", "2", "--checkpoint-every",
              "2", "--out", str(out), *TINY]
    assert run_cli(mnist_dir, *common, "--batch-size", "2").returncode == 0
    result = run_cli(mnist_dir, *common, "--batch-size", "4")
    assert result.returncode == 2
    assert "cannot be resumed" in result.stderr and "batch_size" in result.stderr


MIRRORED_SCRIPT = """
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from keras_vidrep.training.trainer import make_strategy, train
print("replicas", make_strategy("mirrored").num_replicas_in_sync)
# Conditional, with scheduled sampling: its clock counts steps, not replicas.
model = train("composite_conv_cond", steps=2, batch_size=4, out={out!r},
              strategy="mirrored", checkpoint_every=2, verbose=0,
              model_overrides=dict(hidden_sizes=[4], frame_size=32,
                                   input_frames=2, future_frames=2,
                                   teacher_forcing=dict(schedule="linear",
                                                        decay_steps=10)))
print("iterations", int(model.optimizer.iterations.numpy()))
for target in ("reconstruction", "future"):
    clock = model.get_layer(target + "_decoder").schedule_step
    print(target, "clock", int(clock.numpy()))
"""


def test_mirrored_strategy_on_two_logical_cpus(tmp_path, mnist_dir):
    script = MIRRORED_SCRIPT.format(out=str(tmp_path / "run"))
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, text=True,
                            capture_output=True, timeout=300,
                            env=environment(mnist_dir))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "replicas 2" in result.stdout
    assert "iterations 2" in result.stdout
    assert "reconstruction clock 2" in result.stdout
    assert "future clock 2" in result.stdout
    assert (tmp_path / "run" / "model.keras").is_file()


def test_resumed_run_continues_the_teacher_forcing_schedule(tmp_path,
                                                            mnist_dir):
    out = tmp_path / "run"
    common = ["train", "predictor_fc_cond", "--batch-size", "2",
              "--checkpoint-every", "2", "--out", str(out), *TINY, "--set",
              'teacher_forcing={"schedule": "linear", "decay_steps": 8}']
    assert run_cli(mnist_dir, *common, "--steps", "4").returncode == 0
    result = run_cli(mnist_dir, *common, "--steps", "6")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Resuming" in result.stdout
    decoder = keras.saving.load_model(out / "model.keras").get_layer(
        "future_decoder")
    assert int(decoder.schedule_step.numpy()) == 6
    assert float(decoder.teacher_probability().numpy()) == 0.25
    parts = json.loads((out / "run.json").read_text())["parts"]
    assert [(p["steps_from"], p["steps_reached"]) for p in parts] == [
        (0, 4), (4, 6)]


def test_initial_weights_start_the_run_from_a_trained_model(tmp_path, mnist_dir):
    first, second = tmp_path / "first", tmp_path / "second"
    common = ["train", "predictor_conv", "--batch-size", "2",
              "--checkpoint-every", "1", *TINY]
    assert run_cli(mnist_dir, *common, "--steps", "2",
                   "--out", str(first)).returncode == 0
    # A negligible learning rate keeps the starting weights: the model
    # written must be the first run's, not the fresh weights of the seed.
    result = run_cli(mnist_dir, *common, "--steps", "1", "--learning-rate",
                     "1e-30",
                     "--out", str(second), "--initial-weights",
                     str(first / "model.keras"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Skipping variable loading for optimizer" not in result.stderr
    trained = keras.saving.load_model(first / "model.keras").get_weights()
    tuned = keras.saving.load_model(second / "model.keras").get_weights()
    assert len(tuned) == len(trained) > 0
    for a, b in zip(tuned, trained):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
    record = json.loads((second / "run.json").read_text())
    assert record["initial_weights"] == str(first / "model.keras")


def test_initial_weights_errors_name_what_was_received(tmp_path, mnist_dir):
    common = ["train", "predictor_conv", "--steps", "1", *TINY]
    missing = run_cli(mnist_dir, *common, "--out", str(tmp_path / "a"),
                      "--initial-weights", str(tmp_path / "none.weights.h5"))
    assert missing.returncode == 2
    assert "No weights file" in missing.stderr
    odd = run_cli(mnist_dir, *common, "--out", str(tmp_path / "b"),
                  "--initial-weights", "weights.npz")
    assert odd.returncode == 2 and "initial_weights='weights.npz'" in odd.stderr
    # The zoo's predictor_conv has 64 filters; TINY has fewer.
    mismatch = run_cli(mnist_dir, *common, "--out", str(tmp_path / "c"),
                       "--initial-weights", "predictor_conv")
    assert mismatch.returncode == 2 and "do not fit" in mismatch.stderr


def test_a_conditional_model_starts_from_its_unconditioned_sibling(
        tmp_path, capsys):
    """The conditional decoders' frame-input kernels, which the sibling
    lacks, start at zeros: the model starts out predicting exactly what the
    sibling predicts (how the zoo's conditional conv models were started)."""
    from keras_vidrep.training.initial_weights import load_initial_weights
    from keras_vidrep.models import build_model

    sizes = dict(hidden_sizes=[4], frame_size=32, input_frames=2,
                 future_frames=2)
    composite = build_model("composite_conv", **sizes)
    composite.save(tmp_path / "composite.keras")
    conditional = build_model("composite_conv_cond", teacher_forcing=False,
                              **sizes)
    load_initial_weights(conditional, tmp_path / "composite.keras")
    assert "2 frame-input kernel(s) start at zeros" in capsys.readouterr().out
    frames = np.random.default_rng(0).random((2, 2, 32, 32, 1), "float32")
    ours, theirs = (model.predict(frames, verbose=0)
                    for model in (conditional, composite))
    for output in ("reconstruction", "future"):
        np.testing.assert_allclose(ours[output], theirs[output], atol=1e-6)
    # A model with weights the source cannot give is still refused.
    with pytest.raises(TrainingError, match="do not fit"):
        build_model("predictor_conv", **sizes).save(tmp_path / "p.keras")
        load_initial_weights(build_model("composite_conv", **sizes),
                             tmp_path / "p.keras")


def test_a_predictor_starts_from_a_composite_by_layer_name(tmp_path):
    """The composite's encoder and future decoder carry the predictor's
    layer names: --initial-weights takes them and leaves the reconstruction
    decoder out (how the zoo's predictor_conv was started)."""
    from keras_vidrep.training.initial_weights import load_initial_weights
    from keras_vidrep.models import build_model

    sizes = dict(hidden_sizes=[4], frame_size=32, input_frames=2,
                 future_frames=2)
    composite = build_model("composite_conv", **sizes)
    composite.save(tmp_path / "composite.keras")
    predictor = build_model("predictor_conv", **sizes)
    load_initial_weights(predictor, tmp_path / "composite.keras")
    given = {weight.path: weight for weight in composite.weights}
    assert len(predictor.weights) < len(composite.weights)
    for weight in predictor.weights:
        np.testing.assert_array_equal(
            keras.ops.convert_to_numpy(weight),
            keras.ops.convert_to_numpy(given[weight.path]))


def test_tensorboard_puts_the_training_step_on_the_x_axis(tmp_path):
    import tensorflow as tf

    from keras_vidrep.training.trainer import StepTensorBoard

    board = StepTensorBoard(tmp_path / "logs", steps_per_epoch=250)
    for epoch, loss in ((0, 3.0), (1, 2.0)):
        board.on_epoch_end(epoch, {"loss": loss})
    board.on_train_end()
    (events,) = (tmp_path / "logs" / "train").iterdir()
    steps = {}
    for record in tf.data.TFRecordDataset(str(events)):
        event = tf.compat.v1.Event.FromString(record.numpy())
        for value in event.summary.value:
            steps[event.step] = float(tf.make_ndarray(value.tensor))
    assert steps == {250: 3.0, 500: 2.0}


def test_a_name_trains_the_zoos_architecture_as_on_the_command_line(
        tmp_path, mnist_dir):
    """`keras_vidrep.train("predictor_fc")` is the zoo's predictor_fc (128
    units), as `keras-vidrep train predictor_fc` is; the trainer below the
    zoo (`keras_vidrep.training.train`) builds the builder's defaults, as
    `build_model` does, for the experiments' rows."""
    import keras_vidrep
    from keras_vidrep.zoo import loading as zoo
    from keras_vidrep.models import build_model
    from keras_vidrep.presets import preset_table
    from keras_vidrep.training.trainer import train

    model = keras_vidrep.train("predictor_fc", steps=1, batch_size=2, checkpoint_every=1,
                  out=str(tmp_path / "api"), digits=mnist_dir, verbose=0,
                  model_overrides={"input_frames": 2, "future_frames": 2})
    assert list(model.get_config()["hidden_sizes"]) == list(
        zoo.build_preset("predictor_fc").get_config()["hidden_sizes"]) == [128]
    recorded = json.loads((tmp_path / "api" / "run.json").read_text())
    assert recorded["model_overrides"] == {
        **preset_table()["predictor_fc"]["config"],
        "input_frames": 2, "future_frames": 2}
    builders = train("predictor_fc", steps=1, batch_size=2,
                     checkpoint_every=1, out=str(tmp_path / "builder"),
                     digits=mnist_dir, verbose=0,
                     model_overrides={"input_frames": 2, "future_frames": 2,
                                      "hidden_sizes": [8]})
    assert builders.count_params() == build_model(
        "predictor_fc", input_frames=2, future_frames=2,
        hidden_sizes=[8]).count_params()


def test_both_trainers_write_one_run_folder_schema(tmp_path, mnist_dir):
    """The video trainer and the captioner's share one run folder
    (keras_vidrep.training.run_folder): the same run.json part fields, a
    `seconds` that sums the parts, the same files, and the same refusal of
    steps that are not whole checkpoint intervals (the captioner rounded
    them up before)."""
    from keras_vidrep.captions.training import train_captioner
    from keras_vidrep._validation import InputError
    from keras_vidrep.training.trainer import train

    train("predictor_fc", steps=2, batch_size=2, checkpoint_every=1,
          out=str(tmp_path / "video"), digits=mnist_dir, verbose=0,
          model_overrides={"input_frames": 2, "future_frames": 2,
                           "hidden_sizes": [4]})
    train_captioner(tmp_path / "captioner", steps=2, batch_size=2,
                    source=mnist_dir, verbose=0, units=4, features=4,
                    checkpoint_every=1)
    runs = {kind: json.loads((tmp_path / kind / "run.json").read_text())
            for kind in ("video", "captioner")}
    (video,), (captioner,) = (runs[k]["parts"] for k in runs)
    assert set(video) == set(captioner)
    assert {"steps_from", "steps_reached", "wall_seconds", "started",
            "machine", "versions"} <= set(video)
    for run in runs.values():
        assert run["seconds"] == pytest.approx(
            sum(part["wall_seconds"] for part in run["parts"]), abs=0.11)
        assert run["parts"][0]["steps_reached"] == 2
    for kind in runs:
        assert {"run.json", "history.csv", "backup", "model.keras"} <= {
            path.name for path in (tmp_path / kind).iterdir()}
    with pytest.raises(InputError, match="steps must be a multiple of "
                                         "checkpoint_every"):
        train_captioner(tmp_path / "odd", steps=3, batch_size=2,
                        source=mnist_dir, verbose=0, units=4, features=4,
                        checkpoint_every=2)
