"""One resumable run folder behind every trainer that fits: the video
trainer (``keras_vidrep.training.train``) and the captioner's
(``keras_vidrep.captions.train_captioner``).

A run folder holds:

- ``run.json``: the arguments that make the run, and one part per start
  (the machine, versions and command of ``describe_run``, where the part
  started from and reached, its wall seconds; ``seconds`` sums them). A
  start with other arguments than those the folder was trained with is
  refused before anything is written (``check_resumable``).
- ``backup/``: the checkpoints (weights and optimizer state) written after
  each interval of ``checkpoint_every`` steps, the last two kept.
- ``history.csv``: a row per interval, written before its checkpoint; rows
  past the checkpoint a resume starts from are dropped.
- ``model.keras``: the trained model, written atomically at the end.
- ``.lock``: held while the run trains, so that two processes never train
  one folder.

SIGTERM and Ctrl-C stop a run after its step and record where it stands
(``recording_stops``); a non-finite loss stops it before the checkpoint
would save the damage (``StopOnNonFiniteLoss``).
"""

import contextlib
import json
import time
from pathlib import Path

from keras import ops

from keras_vidrep.training.checkpoints import HistoryLog
from keras_vidrep.training.checkpoints import RunCheckpoint
from keras_vidrep.training.checkpoints import RunLock
from keras_vidrep.training.checkpoints import StopOnNonFiniteLoss
from keras_vidrep.training.checkpoints import TrainingError
from keras_vidrep.training.checkpoints import atomic_write
from keras_vidrep.training.checkpoints import check_resumable
from keras_vidrep.training.checkpoints import read_checkpoint
from keras_vidrep.training.checkpoints import read_run_record
from keras_vidrep.training.checkpoints import recording_stops
from keras_vidrep.training.checkpoints import restore
from keras_vidrep.training.checkpoints import save_model_atomically
from keras_vidrep.training.checkpoints import trim_history
from keras_vidrep.training.provenance import describe_run


def check_steps_fit_checkpoints(steps, checkpoint_every, error=TrainingError):
    """A run trains whole checkpoint intervals, so ``steps`` must be one
    interval or fewer, or a multiple of it: else it would train more steps
    than asked (7 with checkpoints every 5 would train 10)."""
    if steps is None or steps <= checkpoint_every or \
            steps % checkpoint_every == 0:
        return
    below = steps - steps % checkpoint_every
    raise error(
        f"steps must be a multiple of checkpoint_every (or at most one "
        f"interval), so that the run ends where it says: use --steps "
        f"{below} or {below + checkpoint_every}, or a --checkpoint-every "
        f"that divides {steps}. Received: steps={steps}, "
        f"checkpoint_every={checkpoint_every}")


class RunFolder:
    """A run folder (see the module's docstring) for one start of a run.

    Args:
        out: the folder (made if missing).
        run: the run's arguments, as ``run.json`` records them.
        steps_per_epoch: steps between checkpoints (one ``fit`` epoch).
        fixed: the keys of ``run`` that a resume must not change (``steps``
            may grow).

    Raises:
        InputError: ``out`` holds a run with other ``fixed`` arguments, or
            one already trained past ``run["steps"]`` (checked at once,
            before anything is written).

    Use::

        folder = RunFolder(out, run, steps_per_epoch=100, fixed=[...])
        with folder.opened(model):       # lock, a new part, restore
            data = stream(first_batch=folder.first_batch)
            folder.fit(model, data, epochs=epochs, verbose=1)
    """

    def __init__(self, out, run, *, steps_per_epoch, fixed):
        self.out = Path(out)
        self.run = run
        self.steps_per_epoch = steps_per_epoch
        self.backup = self.out / "backup"
        self.history = self.out / "history.csv"
        check_resumable(self.out, run,
                        read_checkpoint(self.backup)[0] * steps_per_epoch,
                        fixed)
        self.start_epoch = self.first_batch = 0
        self._part = None

    @contextlib.contextmanager
    def opened(self, model, scope=contextlib.nullcontext):
        """Locks the folder, records this start as a new part of
        ``run.json`` and restores ``model`` (weights and optimizer) from the
        last checkpoint, within ``scope`` (a distribution strategy's);
        ``start_epoch`` and ``first_batch`` then say where it resumes."""
        self.out.mkdir(parents=True, exist_ok=True)
        with RunLock(self.out):
            parts = (read_run_record(self.out) or {}).get("parts", [])
            self._part = {**describe_run(),
                          "started": time.strftime("%Y-%m-%d %H:%M:%S")}
            self.run["parts"] = parts + [self._part]
            self._started = time.time()
            self._write()
            with scope():
                self.start_epoch = restore(model, self.backup)
            trim_history(self.history, self.start_epoch)
            self.first_batch = self.start_epoch * self.steps_per_epoch
            self._part["steps_from"] = self.first_batch
            if self.start_epoch:
                print(f"Resuming {self.out} from its checkpoint at step "
                      f"{self.first_batch}.")
            yield self

    def record(self, **how_far):
        """Writes how far this part went (``steps_reached``, ``stopped_by``)
        and its wall seconds into ``run.json``."""
        self._part.update(**how_far,
                          wall_seconds=round(time.time() - self._started, 1))
        self.run["seconds"] = round(sum(part.get("wall_seconds", 0)
                                        for part in self.run["parts"]), 1)
        self._write()

    def _write(self):
        atomic_write(self.out / "run.json", json.dumps(self.run, indent=2))

    def callbacks(self):
        """The folder's own callbacks, in the order that keeps it whole: the
        non-finite check, the history row, then the checkpoint."""
        return [StopOnNonFiniteLoss(self.steps_per_epoch, self.backup),
                HistoryLog(self.history), RunCheckpoint(self.backup)]

    def fit(self, model, data, *, epochs, callbacks=(), verbose="auto"):
        """``model.fit`` from the restored epoch to ``epochs``, the stream's
        order kept (for resumes), the folder's callbacks before
        ``callbacks``; signals stop it and are recorded; ``model.keras`` is
        written at the end and the part's ``steps_reached`` recorded."""
        with recording_stops(self.out, self.backup, self.steps_per_epoch,
                             self.record) as stop_check:
            model.fit(data, epochs=epochs, initial_epoch=self.start_epoch,
                      steps_per_epoch=self.steps_per_epoch, verbose=verbose,
                      shuffle=False,
                      callbacks=[stop_check, *self.callbacks(), *callbacks])
            save_model_atomically(model, self.out / "model.keras")
        self.record(steps_reached=int(ops.convert_to_numpy(
            model.optimizer.iterations)))
        return model
