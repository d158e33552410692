"""Faults during training: kills and full disks during writes, damaged
checkpoints, non-finite losses, two runs into one folder."""

import errno
import json

import numpy as np
import pytest

import keras

from keras_vidrep.training.checkpoints import AtomicModelCheckpoint
from keras_vidrep.training.checkpoints import HistoryLog
from keras_vidrep.training.checkpoints import NonFiniteLoss
from keras_vidrep.training.checkpoints import RunCheckpoint
from keras_vidrep.training.checkpoints import RunLock
from keras_vidrep.training.checkpoints import StopOnNonFiniteLoss
from keras_vidrep.training.checkpoints import TrainingError
from keras_vidrep.training.checkpoints import read_checkpoint
from keras_vidrep.training.checkpoints import restore
from keras_vidrep.training.checkpoints import trim_history
from keras_vidrep.training.stops import TrainingStopped
from keras_vidrep.training.stops import stop_on_signals

from tests.helpers import REPO
from tests.helpers import TINY
from tests.helpers import cli_command
from tests.helpers import environment
from tests.helpers import run_cli


def toy_model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    return model


def batches(nan_from_step=None, steps=100):
    rng = np.random.default_rng(0)
    for step in range(steps):
        x = rng.random((4, 3)).astype("float32")
        if nan_from_step is not None and step >= nan_from_step:
            x[0, 0] = np.nan
        yield x, x[:, :2]


def fit(model, folder, epochs, data, initial_epoch=0, extra=()):
    callbacks = [StopOnNonFiniteLoss(2, folder / "backup"),
                 HistoryLog(folder / "history.csv"),
                 RunCheckpoint(folder / "backup"),
                 AtomicModelCheckpoint(folder / "model.keras"), *extra]
    model.fit(data, epochs=epochs, steps_per_epoch=2, callbacks=callbacks,
              initial_epoch=initial_epoch, verbose=0, shuffle=False)


def weights_of(model):
    return [np.asarray(w) for w in model.weights]


def test_checkpoints_round_trip_and_keep_two(tmp_path):
    model = toy_model()
    fit(model, tmp_path, 3, batches())
    assert read_checkpoint(tmp_path / "backup")[:2] == (
        3, tmp_path / "backup" / "epoch-000003.weights.h5")
    assert sorted(p.name for p in (tmp_path / "backup").glob("*.h5")) == [
        "epoch-000002.weights.h5", "epoch-000003.weights.h5"]
    fresh = toy_model()
    fresh.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    assert restore(fresh, tmp_path / "backup") == 3
    for a, b in zip(weights_of(fresh), weights_of(model)):
        np.testing.assert_array_equal(a, b)
    assert int(fresh.optimizer.iterations.numpy()) == 6


@pytest.mark.parametrize("fault", [KeyboardInterrupt(), OSError(errno.ENOSPC,
                                                              "No space left")])
def test_a_fault_while_writing_keeps_the_last_checkpoint_whole(tmp_path,
                                                               monkeypatch,
                                                               fault):
    model = toy_model()
    fit(model, tmp_path, 1, batches())
    after_one = weights_of(model)
    saved_model = (tmp_path / "model.keras").read_bytes()
    original = keras.Model.save_weights

    def half_written(self, filepath, *args, **kwargs):
        with open(filepath, "wb") as f:
            f.write(b"\x89HDF\r\n partial")
        raise fault

    monkeypatch.setattr(keras.Model, "save_weights", half_written)
    with pytest.raises(type(fault)):
        fit(model, tmp_path, 2, batches(), initial_epoch=1)
    monkeypatch.setattr(keras.Model, "save_weights", original)
    # The pointer still names the complete epoch-1 file; model.keras is the
    # epoch-1 model; the history row of epoch 1 goes on resume.
    assert read_checkpoint(tmp_path / "backup")[0] == 1
    assert (tmp_path / "model.keras").read_bytes() == saved_model
    fresh = toy_model()
    assert restore(fresh, tmp_path / "backup") == 1
    for a, b in zip(weights_of(fresh), after_one):
        np.testing.assert_array_equal(a, b)
    trim_history(tmp_path / "history.csv", 1)
    rows = (tmp_path / "history.csv").read_text().strip().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["0"]
    assert not list(tmp_path.rglob(".partial-*"))  # its space is given back


def test_sigterm_stops_fit_between_steps_and_the_handler_is_restored(
        tmp_path):
    import os
    import signal

    class SignalAtStep(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if int(self.model.optimizer.iterations.numpy()) == 5:
                os.kill(os.getpid(), signal.SIGTERM)

    before = signal.getsignal(signal.SIGTERM)
    model = toy_model()
    with pytest.raises(TrainingStopped, match="stopped by SIGTERM") as stop:
        with stop_on_signals():
            fit(model, tmp_path, 5, batches(), extra=[SignalAtStep()])
    assert stop.value.exit_status == 143
    assert signal.getsignal(signal.SIGTERM) is before
    # Stopped in epoch 2 (steps 5-6), right after step 5: epochs 0 and 1
    # are checkpointed, nothing of epoch 2 was written.
    assert read_checkpoint(tmp_path / "backup")[0] == 2
    assert int(model.optimizer.iterations.numpy()) == 5
    assert not list(tmp_path.rglob(".partial-*"))


def test_a_signal_swallowed_in_a_destructor_still_stops_the_run(tmp_path):
    """The handler's exception raised inside a ``__del__`` is printed and
    dropped by Python (once in 17 SIGTERMs it landed in a TensorFlow
    destructor, and the run went on to its end): the run stops after the
    step instead."""
    import gc
    import os
    import signal

    from keras_vidrep.training.checkpoints import recording_stops

    class SignalledWhileCollected:
        def __del__(self):
            os.kill(os.getpid(), signal.SIGTERM)
            sum(range(1000))  # the handler runs here, inside __del__

    class SignalInADestructorAtStep(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if int(self.model.optimizer.iterations.numpy()) == 5:
                SignalledWhileCollected()
                gc.collect()

    recorded = {}
    model = toy_model()
    with pytest.raises(TrainingStopped, match="stopped by SIGTERM"):
        with recording_stops(tmp_path, tmp_path / "backup", 3,
                             lambda **kw: recorded.update(kw)) as stop_check:
            fit(model, tmp_path, 5, batches(),
                extra=[SignalInADestructorAtStep(), stop_check])
    assert int(model.optimizer.iterations.numpy()) == 5
    assert recorded["stopped_by"] == "SIGTERM"


def test_a_checkpoint_damaged_inside_its_data_is_not_resumed(tmp_path,
                                                             capsys):
    """Bytes overwritten in the data region keep the HDF5 file readable
    (the weights would load, wrong): the sha256 recorded in checkpoint.json
    tells, and the resume falls back to the checkpoint before it."""
    model = toy_model()
    fit(model, tmp_path, 1, batches())
    after_one = weights_of(model)
    fit(model, tmp_path, 2, batches(), initial_epoch=1)
    newest = tmp_path / "backup" / "epoch-000002.weights.h5"
    data = bytearray(newest.read_bytes())
    start = data.rfind(bytes(np.float32(weights_of(model)[0].ravel()[0]).tobytes()))
    assert start > 0  # the first weight's bytes, inside the data region
    data[start:start + 4] = np.float32(3.4e38).tobytes()
    newest.write_bytes(bytes(data))
    damaged = toy_model()
    damaged.load_weights(newest)  # readable: h5py and Keras do not notice
    assert np.abs(weights_of(damaged)[0]).max() > 1e38
    fresh = toy_model()
    assert restore(fresh, tmp_path / "backup") == 1
    out = capsys.readouterr().out
    assert "its sha256 is not the one recorded" in out
    assert "previous checkpoint, epoch 1" in out
    for a, b in zip(weights_of(fresh), after_one):
        np.testing.assert_array_equal(a, b)


def test_a_damaged_newest_checkpoint_falls_back_to_the_one_before(tmp_path,
                                                                  capsys):
    model = toy_model()
    fit(model, tmp_path, 1, batches())
    after_one = weights_of(model)
    fit(model, tmp_path, 2, batches(), initial_epoch=1)
    newest = tmp_path / "backup" / "epoch-000002.weights.h5"
    newest.write_bytes(newest.read_bytes()[:200])
    fresh = toy_model()
    assert restore(fresh, tmp_path / "backup") == 1
    assert "previous checkpoint, epoch 1" in capsys.readouterr().out
    for a, b in zip(weights_of(fresh), after_one):
        np.testing.assert_array_equal(a, b)
    (tmp_path / "backup" / "epoch-000001.weights.h5").write_bytes(b"")
    with pytest.raises(TrainingError, match="No readable checkpoint.*delete"):
        restore(toy_model(), tmp_path / "backup")
    (tmp_path / "backup" / "checkpoint.json").write_text("")
    with pytest.raises(TrainingError, match="checkpoint.json is damaged"):
        read_checkpoint(tmp_path / "backup")


def test_a_non_finite_loss_stops_before_anything_is_overwritten(tmp_path):
    model = toy_model()
    with pytest.raises(NonFiniteLoss, match=r"became nan at step 3.*end of "
                                            r"epoch 1, 2 steps"):
        fit(model, tmp_path, 5, batches(nan_from_step=2))
    assert read_checkpoint(tmp_path / "backup")[0] == 1
    saved = keras.saving.load_model(tmp_path / "model.keras")
    assert all(np.isfinite(w).all() for w in weights_of(saved))
    rows = (tmp_path / "history.csv").read_text().strip().splitlines()
    assert len(rows) == 2  # header and epoch 0


def test_history_is_trimmed_to_the_checkpoint(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text("epoch,loss\n0,3.0\n1,2.0\n2,1.0\n")
    trim_history(path, 2)
    assert path.read_text() == "epoch,loss\n0,3.0\n1,2.0\n"
    trim_history(tmp_path / "absent.csv", 1)  # nothing to do


def test_folders_of_keras_backup_and_restore_are_read(tmp_path):
    model = toy_model()
    callback = keras.callbacks.BackupAndRestore(str(tmp_path / "backup"),
                                                delete_checkpoint=False)
    model.fit(batches(), epochs=2, steps_per_epoch=2, callbacks=[callback],
              verbose=0)
    assert read_checkpoint(tmp_path / "backup")[:2] == (
        2, tmp_path / "backup" / "latest.weights.h5")
    fresh = toy_model()
    assert restore(fresh, tmp_path / "backup") == 2
    for a, b in zip(weights_of(fresh), weights_of(model)):
        np.testing.assert_array_equal(a, b)


def test_a_second_run_into_the_same_folder_is_refused(tmp_path, mnist_dir):
    out = tmp_path / "run"
    with RunLock(out):
        with pytest.raises(TrainingError, match="in use by another training "
                                                r"run \(pid \d+ on "):
            RunLock(out).__enter__()
        result = run_cli(mnist_dir, "train", "predictor_fc", "--steps", "1",
                         "--out", str(out), *TINY)
    assert result.returncode == 2
    assert "is in use by another training run (pid" in result.stderr
    assert not (out / "run.json").exists()
    # Released with its holder: the same command now runs.
    again = run_cli(mnist_dir, "train", "predictor_fc", "--steps", "1",
                    "--batch-size", "2", "--out", str(out), *TINY)
    assert again.returncode == 0, again.stderr[-2000:]
    assert json.loads((out / "backup" / "checkpoint.json").read_text())[
        "epoch"] == 1


def test_a_really_full_disk_is_one_line_and_the_run_resumes(tmp_path,
                                                            mnist_dir):
    """On a real 100 KiB tmpfs (mounted in a private mount namespace with
    ``unshare``): the first checkpoint cannot fit. The run ends with exit
    status 2 and one line that names the folder, instead of h5py's
    segmentation fault (exit 139); no partial file is left. Once the
    file system has room, the same command trains to the end, and the
    history keeps no row of the step that was never checkpointed."""
    import shlex
    import shutil
    import subprocess

    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", f"mount -t tmpfs -o size=1m tmpfs "
         f"{shlex.quote(str(tmp_path))}"], capture_output=True, text=True) \
        if shutil.which("unshare") else None
    if probe is None or probe.returncode:
        pytest.skip("cannot mount a tmpfs here (unshare -rm: "
                    f"{probe.stderr.strip() if probe else 'not installed'}); "
                    "test_a_fault_while_writing_keeps_the_last_checkpoint_whole "
                    "simulates the same fault")
    disk, run = tmp_path / "disk", tmp_path / "disk" / "run"
    disk.mkdir()
    train = shlex.join(cli_command(
        "train", "predictor_fc", "--steps", "4", "--batch-size", "2",
        "--checkpoint-every", "2", "--out", str(run), *TINY))
    script = f"""
        mount -t tmpfs -o size=100k tmpfs {disk}
        {train} > {tmp_path}/out1 2> {tmp_path}/err1; echo $? > {tmp_path}/exit1
        ls -A {run}/backup > {tmp_path}/backup1
        mount -o remount,size=16m {disk}
        {train} > {tmp_path}/out2 2> {tmp_path}/err2; echo $? > {tmp_path}/exit2
        cp {run}/history.csv {tmp_path}/history.csv
        """
    subprocess.run(["unshare", "-rm", "bash", "-c", script], cwd=REPO,
                   env=environment(mnist_dir), timeout=300, check=True)
    read = lambda name: (tmp_path / name).read_text()  # noqa: E731
    assert read("exit1").strip() == "2", read("err1")[-2000:]
    errors = [line for line in read("err1").splitlines()
              if line.startswith("keras-vidrep")]
    assert len(errors) == 1 and "No space left for a checkpoint in" in (
        errors[0]) and "rerun the same command" in errors[0]
    assert "Traceback" not in read("err1")
    assert read("backup1").split() == []  # no partial weights file
    assert read("exit2").strip() == "0", read("err2")[-2000:]
    rows = read("history.csv").strip().splitlines()
    assert [row.split(",")[0] for row in rows[1:]] == ["0", "1"]



def test_the_history_has_the_columns_of_the_run_and_keeps_its_header(
        tmp_path):
    """No all-NA val_ columns where nothing is validated (Keras' CSVLogger
    adds them); a resume appends under the file's header; a log with a new
    column widens the header, earlier rows NA there."""
    log = HistoryLog(tmp_path / "history.csv")
    log.on_epoch_end(0, {"loss": 2.5, "frame_mse": 9.0})
    log.on_epoch_end(1, {"loss": 2.0, "frame_mse": 8.0})
    assert (tmp_path / "history.csv").read_text() == (
        "epoch,frame_mse,loss\n0,9.0,2.5\n1,8.0,2.0\n")
    resumed = HistoryLog(tmp_path / "history.csv")
    resumed.on_epoch_end(2, {"frame_mse": 7.0, "loss": 1.5})
    resumed.on_epoch_end(3, {"frame_mse": 6.0, "loss": 1.0, "val_loss": 1.25})
    assert (tmp_path / "history.csv").read_text() == (
        "epoch,frame_mse,loss,val_loss\n0,9.0,2.5,NA\n1,8.0,2.0,NA\n"
        "2,7.0,1.5,NA\n3,6.0,1.0,1.25\n")
