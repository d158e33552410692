"""What a training run leaves behind, written so that a crash loses nothing.

- ``RunCheckpoint``: the resume state (weights with the optimizer's state,
  and the epoch) in ``OUT/backup/``. Each checkpoint is a new weights file,
  written to a temporary name, flushed to disk and renamed; only then does
  ``checkpoint.json`` (written the same way) point at it, with its sha256,
  and the file before it is kept as a fallback; a resume checks the sha256
  before it loads. A kill at any moment leaves the previous
  checkpoint whole and pointed at.
- ``atomic_write`` / ``save_model_atomically``: the same for ``model.keras``
  and ``run.json``.
- ``trim_history``: on resume, the rows of ``history.csv`` past the
  checkpoint are dropped (they are trained again), so the history follows
  the checkpoint.
- ``RunLock``: one training run per folder; a second one is refused and told
  who holds it.
- ``StopOnNonFiniteLoss``: stops at the first NaN or infinite loss, before
  anything of that epoch is saved.
- ``recording_stops``: SIGTERM and Ctrl-C stop training between two steps
  (``keras_vidrep.training.stops``), and the trainer records the stop with the step
  its checkpoint holds.

Keras' ``BackupAndRestore`` writes its weights and metadata in place, one
after the other: a kill in between leaves weights and epoch that disagree, a
kill during a write a damaged file.
"""

import contextlib
import csv
import errno
import io
import json
import math
import os
import shutil
import socket
import time
from pathlib import Path

import keras

from keras_vidrep._hashing import file_sha256
from keras_vidrep._validation import InputError
from keras_vidrep.training.stops import TrainingStopped
from keras_vidrep.training.stops import stop_on_signals
from keras_vidrep.training.stops import stopped_at

CHECKPOINT_FILE = "checkpoint.json"


class TrainingError(InputError):
    """A training run cannot start or go on as asked."""


@contextlib.contextmanager
def recording_stops(out, backup_dir, steps_per_epoch, record):
    """Within it, SIGTERM and Ctrl-C stop training (``stop_on_signals``);
    ``record(steps_reached=..., stopped_by=...)`` then writes the stop into
    the run's record, ``steps_reached`` being the step of the checkpoint a
    resume starts from (not the step the signal came at), and the error
    says where the run stands (``stopped_at``).

    Yields a callback for ``fit`` that stops the run after the step where a
    signal's first raise was swallowed (see ``stop_on_signals``)."""
    with stop_on_signals() as raise_pending:
        try:
            yield _StopAfterSwallowedSignal(raise_pending)
        except TrainingStopped as stop:
            reached = read_checkpoint(backup_dir)[0] * steps_per_epoch
            record(steps_reached=reached, stopped_by=stop.signal_name)
            raise stopped_at(stop, out, reached) from None


class _StopAfterSwallowedSignal(keras.callbacks.Callback):
    def __init__(self, raise_pending):
        super().__init__()
        self.raise_pending = raise_pending

    def on_train_batch_end(self, batch, logs=None):
        self.raise_pending()


def planned_steps(run):
    """The steps a run record asks for: its ``steps``, or ``epochs`` of
    ``checkpoint_every`` steps (``train --epochs``); None if it names
    neither."""
    if run.get("steps") is not None:
        return run["steps"]
    if run.get("epochs") is not None:
        return run["epochs"] * run["checkpoint_every"]
    return None


def read_run_record(folder):
    """The ``run.json`` of a run folder as a dict, or None where there is
    none; a record that is empty or damaged is refused in one line (it
    holds the run's arguments, which a resume must not guess)."""
    path = Path(folder) / "run.json"
    if not path.is_file():
        return None
    text = path.read_text()
    try:
        record = json.loads(text)
    except json.JSONDecodeError as error:
        record = error
    if not isinstance(record, dict):
        raise TrainingError(
            f"{path} is {'empty' if not text.strip() else 'damaged'}: it "
            "should hold the run's arguments as a JSON object. Restore it "
            "or use another --out. Received: "
            + (f"{len(text)} bytes" if isinstance(record, Exception)
               else f"a JSON {type(record).__name__}"))
    return record


def read_history(path):
    """The rows of a ``history.csv`` (``CSVLogger``) as dicts, in order.

    A header repeated inside the file (two runs' logs put together, a
    logger that wrote its header again) and blank lines are skipped; a row
    whose epoch is not a number is refused, naming the line.
    """
    with open(path, newline="") as f:
        lines = list(csv.reader(f))
    if not lines:
        return []
    header, rows = lines[0], []
    for number, line in enumerate(lines[1:], start=2):
        if not line or line == header:
            continue
        if len(line) != len(header) or not line[0].isdigit():
            raise TrainingError(
                f"{path} line {number} is not a row of its columns "
                f"{header}. Received: {line}")
        rows.append(dict(zip(header, line)))
    return rows


def check_resumable(out, run, steps_done, fixed):
    """Refuses to resume a run made with other arguments (``fixed``, keys of
    ``run.json``) in the folder ``out``, or to shorten one past the step its
    checkpoint reached. Writes nothing."""
    previous = read_run_record(out)
    if previous is None:
        return
    changed = {k: (previous.get(k), run[k]) for k in fixed
               if previous.get(k) != run[k]}
    if changed:
        raise TrainingError(
            f"{out} holds a run with other arguments, so it cannot be "
            f"resumed: {changed} (previous, now). Use another --out.")
    wanted = planned_steps(run)
    if wanted < steps_done:
        raise TrainingError(
            f"{out} holds a run already trained for {steps_done} steps; it "
            f"cannot be shortened to {wanted}. Ask for at least {steps_done} "
            "steps, or use another --out.")



def _write_then_replace(path, write):
    """Calls ``write(temporary)`` for a temporary file beside ``path``, then
    flushes it to disk and renames it over ``path``; a failed or interrupted
    write leaves ``path`` as it was and removes the partial file."""
    path = Path(path)
    temporary = path.with_name(f".partial-{path.name}")  # same suffix
    try:
        write(temporary)
        with open(temporary, "rb+") as f:
            os.fsync(f.fileno())
    except BaseException:
        temporary.unlink(missing_ok=True)  # its space, back to the disk
        raise
    os.replace(temporary, path)


def atomic_write(path, text):
    """Writes ``text`` to ``path``: a reader sees the old or the new
    content, never a part."""
    _write_then_replace(path, lambda temporary: temporary.write_text(text))


def save_model_atomically(model, path):
    """``model.save(path)`` without ever leaving a partial ``path``."""
    _write_then_replace(path, model.save)


# HDF5 metadata and the file system's blocks on top of the variables' bytes.
_CHECKPOINT_SLACK_BYTES = 1 << 20


def _check_space_for(variables, folder, previous=None):
    """Refuses, with a clear ``OSError(ENOSPC)``, to start a weights file
    that the free space of ``folder`` cannot hold: the variables' bytes (or
    the previous checkpoint's size, when larger) and some slack.

    Why not just write: h5py meeting a full disk raises, then crashes the
    interpreter with a segmentation fault (exit 139) when it releases the
    half-written file, losing the one-line message. Checking first turns
    the common case (a disk already full) into a normal error.
    """
    needed = sum(math.prod(v.shape) * _bytes_per_item(v.dtype)
                 for v in variables)
    if previous is not None and previous.is_file():
        needed = max(needed, previous.stat().st_size)
    needed += _CHECKPOINT_SLACK_BYTES
    free = shutil.disk_usage(folder).free
    if free < needed:
        raise OSError(
            errno.ENOSPC,
            f"No space left for a checkpoint in {folder}: it needs about "
            f"{needed / 2**20:.1f} MiB, {free / 2**20:.1f} MiB are free. Free "
            "some space and rerun the same command: it resumes from the last "
            "checkpoint")


def _bytes_per_item(dtype):
    """4 for float32, 2 for bfloat16, 1 for bool."""
    bits = "".join(filter(str.isdigit, keras.backend.standardize_dtype(dtype)))
    return int(bits or 8) // 8


def _weights_name(epoch):
    return f"epoch-{epoch:06d}.weights.h5"


def _recorded_sha256(backup_dir, epoch):
    """The sha256 that ``checkpoint.json`` records for the checkpoint of
    ``epoch``, or None (none recorded: pointers of earlier versions)."""
    pointer = Path(backup_dir) / CHECKPOINT_FILE
    if not pointer.is_file():
        return None
    state = json.loads(pointer.read_text())
    for entry in (state, state.get("previous") or {}):
        if entry.get("epoch") == epoch:
            return entry.get("sha256")
    return None


def read_checkpoint(backup_dir):
    """``(epoch, weights_path, fallback)`` of the newest checkpoint, where
    ``fallback`` is the ``(epoch, weights_path)`` before it or None;
    ``(0, None, None)`` when there is none.

    Also reads the folders written by ``keras.callbacks.BackupAndRestore``
    (``latest.weights.h5`` and ``training_metadata.json``), as earlier
    versions of keras_vidrep did.
    """
    backup_dir = Path(backup_dir)
    pointer = backup_dir / CHECKPOINT_FILE
    if pointer.is_file():
        try:
            state = json.loads(pointer.read_text())
            latest = (int(state["epoch"]), backup_dir / state["weights"])
        except (ValueError, KeyError, TypeError) as error:
            raise TrainingError(
                f"The checkpoint record {pointer} is damaged ({error}); "
                f"delete {backup_dir} to start the run over.") from error
        previous = state.get("previous")
        fallback = ((int(previous["epoch"]), backup_dir / previous["weights"])
                    if previous else None)
        return (*latest, fallback)
    legacy = backup_dir / "training_metadata.json"
    if legacy.is_file():
        try:
            epoch = int(json.loads(legacy.read_text())["epoch"])
        except (ValueError, KeyError, TypeError) as error:
            raise TrainingError(
                f"The checkpoint record {legacy} is damaged ({error}); delete "
                f"{backup_dir} to start the run over.") from error
        return epoch, backup_dir / "latest.weights.h5", None
    return 0, None, None


def restore(model, backup_dir):
    """Loads the newest readable checkpoint into ``model`` (weights and
    optimizer state); returns its epoch (0: nothing to restore).

    A damaged newest weights file (unreadable, or whose sha256 is not the
    one ``checkpoint.json`` recorded) falls back to the one before it, and
    says so; when neither can be read, a ``TrainingError`` says how to go on.
    """
    epoch, weights, fallback = read_checkpoint(backup_dir)
    if weights is None:
        return 0
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    for candidate_epoch, path in [(epoch, weights)] + ([fallback] if fallback
                                                       else []):
        recorded = _recorded_sha256(backup_dir, candidate_epoch)
        if (recorded is not None and path.is_file()
                and file_sha256(path) != recorded):
            # Bytes changed inside the data of an HDF5 file leave it
            # readable: only the checksum tells the weights are not the
            # ones saved.
            print(f"Cannot use the checkpoint {path}: its sha256 is not the "
                  "one recorded when it was written (the file was damaged).")
            continue
        try:
            model.load_weights(path)
        except Exception as error:  # damaged or missing: try the previous one
            print(f"Cannot read the checkpoint {path} "
                  f"({type(error).__name__}: {error}).")
            continue
        if candidate_epoch != epoch:
            print(f"Resuming from the previous checkpoint, epoch "
                  f"{candidate_epoch}, instead.")
        return candidate_epoch
    raise TrainingError(
        f"No readable checkpoint in {backup_dir}: delete that folder to start "
        "the run over, or start a new run from the last model with "
        "--initial-weights OUT/model.keras and another --out.")


class RunCheckpoint(keras.callbacks.Callback):
    """Writes the resume state at the end of every epoch (see the module
    docstring), keeping the newest checkpoint and the one before it."""

    def __init__(self, backup_dir):
        super().__init__()
        self.backup_dir = Path(backup_dir)

    def on_epoch_end(self, epoch, logs=None):
        self.backup_dir.mkdir(parents=True, exist_ok=True)
        done = epoch + 1
        name = _weights_name(done)
        latest, _, _ = read_checkpoint(self.backup_dir)
        _check_space_for(
            self.model.variables + list(getattr(self.model.optimizer,
                                                "variables", [])),
            self.backup_dir, previous=self.backup_dir / _weights_name(latest))
        _write_then_replace(
            self.backup_dir / name,
            lambda temporary: self.model.save_weights(temporary, overwrite=True))
        previous = None
        if latest and latest != done:
            previous = {"epoch": latest, "weights": _weights_name(latest),
                        "sha256": _recorded_sha256(self.backup_dir, latest)}
        state = {"epoch": done, "weights": name,
                 "sha256": file_sha256(self.backup_dir / name),
                 "previous": previous}
        atomic_write(self.backup_dir / CHECKPOINT_FILE, json.dumps(state))
        keep = {name, _weights_name(latest)}
        for old in self.backup_dir.glob("epoch-*.weights.h5"):
            if old.name not in keep:
                old.unlink()


class AtomicModelCheckpoint(keras.callbacks.Callback):
    """``model.keras`` rewritten at the end of every epoch, atomically."""

    def __init__(self, path):
        super().__init__()
        self.path = path

    def on_epoch_end(self, epoch, logs=None):
        save_model_atomically(self.model, self.path)


class HistoryLog(keras.callbacks.Callback):
    """Appends one row per epoch to a ``history.csv``: ``epoch``, then the
    logs' values and what the epoch cost (``wall_seconds``, and
    ``cpu_seconds``: the process's CPU time, every core and thread), in the
    columns of the file's header.

    Unlike ``keras.callbacks.CSVLogger``, it adds no ``val_`` columns to a
    run that has no validation (they would be ``NA`` in every row), keeps
    the header a resumed run's file already has, and rewrites the file with
    the wider header when a log brings a new column. Each row is flushed to
    disk before the epoch's checkpoint is written (a kill between the two
    leaves a row that ``trim_history`` drops on resume).
    """

    def __init__(self, path):
        super().__init__()
        self.path = Path(path)
        self._started = None

    def on_epoch_begin(self, epoch, logs=None):
        self._started = (time.perf_counter(), time.process_time())

    def on_epoch_end(self, epoch, logs=None):
        values = {key: _csv_value(value) for key, value in (logs or {}).items()}
        if self._started is not None:
            wall, cpu = self._started
            values["wall_seconds"] = f"{time.perf_counter() - wall:.1f}"
            values["cpu_seconds"] = f"{time.process_time() - cpu:.1f}"
        exists = self.path.is_file() and self.path.stat().st_size > 0
        if exists:
            with open(self.path, newline="") as f:
                header = next(csv.reader(f), ["epoch"])
        else:
            header = ["epoch"] + sorted(values)
        new = [key for key in sorted(values) if key not in header]
        header += new
        row = [str(epoch)] + [values.get(key, "NA") for key in header[1:]]
        if new and exists:  # a wider header: the file is rewritten whole
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            writer.writerow(header)
            writer.writerows([[old.get(key, "NA") for key in header]
                              for old in read_history(self.path)])
            writer.writerow(row)
            atomic_write(self.path, buffer.getvalue())
            return
        with open(self.path, "a", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            if not exists:
                writer.writerow(header)
            writer.writerow(row)
            f.flush()
            os.fsync(f.fileno())


def _csv_value(value):
    try:
        return repr(float(value))
    except (TypeError, ValueError):
        return str(value)


def trim_history(path, epochs_kept):
    """Drops the rows of a ``CSVLogger`` file from epoch ``epochs_kept`` on:
    they were logged after the checkpoint the run resumes from."""
    path = Path(path)
    if not path.is_file():
        return
    with open(path, newline="") as f:
        lines = list(csv.reader(f))
    if not lines:
        return
    rows = read_history(path)
    kept = [row for row in rows if int(row[lines[0][0]]) < epochs_kept]
    if len(kept) != len(lines) - 1:  # rows dropped, or repeated headers
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(
            [lines[0], *[list(row.values()) for row in kept]])
        atomic_write(path, buffer.getvalue())


class RunLock:
    """An exclusive lock on a run folder for the life of a training run (or
    on any folder, for the life of another job: ``what`` names it).

    A second run into the same folder is refused with the holder's process,
    host and start time. The lock is the operating system's (``flock``): it
    goes away with the process, however it ends.
    """

    def __init__(self, folder, file_name=".lock", what="training run",
                 advice="wait for it to finish or choose another --out"):
        self.path = Path(folder) / file_name
        self.what, self.advice = what, advice
        self.handle = None

    def __enter__(self):
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise TrainingError(
                f"{self.path.parent} is in use by another {self.what} "
                f"({holder}); {self.advice}.") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}, since "
                     f"{time.strftime('%Y-%m-%d %H:%M:%S')}")
        handle.flush()
        self.handle = handle
        return self

    def __exit__(self, *exc_info):
        import fcntl

        fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()


class NonFiniteLoss(TrainingError):
    """The training loss became NaN or infinite."""


class StopOnNonFiniteLoss(keras.callbacks.Callback):
    """Stops training at the first non-finite loss by raising
    ``NonFiniteLoss``: the epoch's checkpoint callbacks never run, so the
    last checkpoint and ``model.keras`` stay as they were."""

    def __init__(self, steps_per_epoch, backup_dir):
        super().__init__()
        self.steps_per_epoch = steps_per_epoch
        self.backup_dir = backup_dir
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            step = self.epoch * self.steps_per_epoch + batch + 1
            saved, _, _ = read_checkpoint(self.backup_dir)
            raise NonFiniteLoss(
                f"The training loss became {float(loss)} at step {step}; "
                f"training stopped. The last checkpoint (end of epoch "
                f"{saved}, {saved * self.steps_per_epoch} steps) and "
                "model.keras are kept as they were. Go on from them with a "
                "lower --learning-rate: --initial-weights OUT/model.keras "
                "and another --out.")
