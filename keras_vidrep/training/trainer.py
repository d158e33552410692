"""Training on bouncing digits with ``model.fit``: resumable, distributed.

``train`` writes into its output folder:

- ``model.keras``: the model, rewritten at every checkpoint and at the end;
- ``backup/``: the resume state (weights with the optimizer state, and the
  epoch; ``keras_vidrep.training.checkpoints``), written every ``checkpoint_every``
  steps;
- ``history.csv``: loss and metrics per checkpoint interval (appended on
  resume, after dropping any row past the checkpoint);
- ``logs/``: TensorBoard logs (when TensorFlow is installed);
- ``loss_curve.png``: the training loss against the step;
- ``run.json``: the arguments of the run, and one entry per part of it (the
  first start and each resume): command, git commit, versions, backend,
  machine, wall time and the steps it went from and reached
  (``keras_vidrep.training.provenance``).

Rerunning the same command after a crash resumes from the last checkpoint:
weights, optimizer state and step counter are restored, and the data stream
continues where the checkpoint left it. Every file is written atomically
(a kill never leaves half a file), one run at a time holds the folder, and a
NaN or infinite loss stops the run before it overwrites anything.

Under the TensorFlow backend the data come from the ``tf.data`` pipeline;
under other backends (``KERAS_BACKEND=jax``, e.g. on a GPU machine without
TensorFlow) from ``BouncingDigitBatches``, and only the default strategy is
available.
"""

import contextlib
import json
import math
import os
import re
from pathlib import Path

import keras
from keras import ops

from keras_vidrep import _choices
from keras_vidrep._validation import check_one_of
from keras_vidrep._validation import check_positive_ints
from keras_vidrep._validation import look_up
from keras_vidrep.training.checkpoints import AtomicModelCheckpoint
from keras_vidrep.training.checkpoints import TrainingError
from keras_vidrep.training.checkpoints import read_history
from keras_vidrep.data import BouncingDigitBatches
from keras_vidrep.data import VideoClipStream
from keras_vidrep.data import bouncing_digits
from keras_vidrep.data import load_mnist_digits
from keras_vidrep.data import read_videos
from keras_vidrep.training.initial_weights import load_initial_weights
from keras_vidrep.training.initial_weights import weights_label
from keras_vidrep.models import build_model
from keras_vidrep.models import compile_model
from keras_vidrep.models import FrameMSE
from keras_vidrep.training.precision import precision_scope
from keras_vidrep.training.precision import resolve_precision
from keras_vidrep.training.processes import ProcessShare
from keras_vidrep.training.processes import join
from keras_vidrep.training.processes import processes_of
from keras_vidrep.training.run_folder import RunFolder
from keras_vidrep.training.run_folder import check_steps_fit_checkpoints

STRATEGIES = tuple(_choices.STRATEGIES)


def make_strategy(name, batch_size=None, shared_data=False):
    """The ``tf.distribute`` strategy for a ``--strategy`` value.

    ``auto``: ``MirroredStrategy`` over all GPUs when there are several, else
    the default strategy. ``mirrored``: ``MirroredStrategy`` over all local
    GPUs, or over all logical CPU devices when there is no GPU. ``multi-worker`` is handled by
    ``keras_vidrep.training.multi_worker`` (``model.fit`` does not run under
    ``MultiWorkerMirroredStrategy`` with Keras 3.15 and TF 2.21).
    ``data-parallel``: ``keras.distribution.DataParallel`` over every local
    device, on JAX (Keras 3's own engine for many devices; see
    ``data_parallel``).
    """
    check_one_of("strategy", name, STRATEGIES, error=TrainingError)
    if name == "data-parallel":
        return data_parallel(batch_size, shared_data)
    if keras.backend.backend() != "tensorflow":
        if name in ("auto", "none"):
            return contextlib.nullcontext()
        raise TrainingError(
            f"strategy={name!r} is tf.distribute and needs the TensorFlow "
            f"backend; KERAS_BACKEND is {keras.backend.backend()!r}.")
    import tensorflow as tf

    if name == "mirrored":
        # MirroredStrategy() alone takes only /cpu:0 when there is no GPU;
        # naming the devices also covers several logical CPU devices.
        devices = (tf.config.list_logical_devices("GPU")
                   or tf.config.list_logical_devices("CPU"))
        return tf.distribute.MirroredStrategy([d.name for d in devices])
    if name == "auto" and len(tf.config.list_logical_devices("GPU")) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def data_parallel(batch_size=None, shared_data=False):
    """``keras.distribution.DataParallel`` over every local device: each
    step's batch is split over the devices, the weights are replicated and
    the gradients summed, so that a run computes what a one-device run
    with the same (global) batch computes. ``fit`` is unchanged.

    Keras 3 runs ``keras.distribution`` on the JAX backend; on TensorFlow
    use ``mirrored`` (one machine) or ``multi-worker``. On a CPU, XLA's
    ``--xla_force_host_platform_device_count=N`` (in ``XLA_FLAGS``) makes N
    devices of it, as the tests do.
    """
    if keras.backend.backend() != "jax":
        raise TrainingError(
            "strategy='data-parallel' is keras.distribution, which Keras 3 "
            "runs on the JAX backend; use 'mirrored' (one machine) or "
            "'multi-worker' with TensorFlow. Received: KERAS_BACKEND="
            f"{keras.backend.backend()!r}")
    devices = keras.distribution.list_devices()
    if batch_size is not None and batch_size % len(devices):
        raise TrainingError(
            f"strategy='data-parallel' splits each batch over the "
            f"{len(devices)} devices ({', '.join(devices)}): batch_size must "
            f"be a multiple of {len(devices)}. Received: "
            f"batch_size={batch_size}")
    # With several processes each feeds its own rows (ProcessShare): Keras
    # must not shard the stream again.
    return keras.distribution.DataParallel(
        devices=devices, auto_shard_dataset=not shared_data)


class LossCurve(keras.callbacks.Callback):
    """Redraws ``loss_curve.png`` from ``history.csv`` after every epoch."""

    def __init__(self, history_path, image_path, steps_per_epoch):
        super().__init__()
        self.history_path = Path(history_path)
        self.image_path = Path(image_path)
        self.steps_per_epoch = steps_per_epoch

    def on_epoch_end(self, epoch, logs=None):
        plot_history(self.history_path, self.image_path, self.steps_per_epoch)


def plot_history(history_path, image_path, steps_per_epoch):
    """Plots every loss column of a CSV history against the training step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_history(history_path)
    if not rows:
        return
    steps = [(int(row["epoch"]) + 1) * steps_per_epoch for row in rows]
    figure, axis = plt.subplots(figsize=(6, 4), dpi=100)
    for column in rows[0]:
        values = [row[column] for row in rows]
        if column.endswith("loss") and "NA" not in values:
            axis.plot(steps, [float(v) for v in values], label=column)
    axis.set_xlabel("training step")
    axis.set_ylabel("loss (per frame)")
    axis.set_yscale("log")
    axis.grid(True, alpha=0.3)
    axis.legend()
    figure.tight_layout()
    figure.savefig(image_path)
    plt.close(figure)


def _scope(distribution):
    return distribution.scope() if hasattr(distribution, "scope") else distribution


def _tensorflow_available():
    try:
        import tensorflow  # noqa: F401
    except ImportError:
        return False
    return True


# The arguments a resumed run must share with the run in its folder.
RESUME_FIXED = ("model", "batch_size", "seed", "checkpoint_every",
                "model_overrides", "loss", "optimizer", "learning_rate",
                "learning_rate_decay", "initial_weights", "videos",
                "videos_layout")

# Learning rate against the step: the peak rate and the run's total steps
# give the rate (or ``keras.optimizers.schedules`` object) for the optimizer.
LEARNING_RATE_SCHEDULES = {
    "constant": lambda rate, steps: rate,
    # Cosine decay from the rate to 0 at the last step (Loshchilov & Hutter
    # 2017, without restarts): the best short recipe measured for the demo
    # (benchmarks/README.md).
    "cosine": lambda rate, steps: keras.optimizers.schedules.CosineDecay(
        rate, decay_steps=steps),
}


class StepTensorBoard(keras.callbacks.Callback):
    """TensorBoard scalars of every checkpoint interval (an "epoch" of
    ``fit``) against the training **step**, which stays right across
    resumes and intervals of any size; Keras' ``TensorBoard`` callback puts
    the epoch index on the x axis. Written to ``FOLDER/train`` as Keras
    does, one scalar per log key."""

    def __init__(self, folder, steps_per_epoch):
        super().__init__()
        self.folder, self.steps_per_epoch = Path(folder), steps_per_epoch
        self._writer = None

    def on_epoch_end(self, epoch, logs=None):
        import tensorflow as tf

        if self._writer is None:
            self._writer = tf.summary.create_file_writer(
                str(self.folder / "train"))
        with self._writer.as_default():
            for key, value in (logs or {}).items():
                tf.summary.scalar(key, float(value),
                                  step=(epoch + 1) * self.steps_per_epoch)
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()


def _check_learning_rate(learning_rate):
    if (isinstance(learning_rate, bool)
            or not isinstance(learning_rate, (int, float))
            or not math.isfinite(learning_rate) or learning_rate <= 0):
        raise TrainingError("`learning_rate` must be a positive finite number. "
                            f"Received: learning_rate={learning_rate!r}")


def training_data(model, digits, *, batch_size, seed, first_batch=0,
                  num_batches=None, videos=None):
    """``(inputs, targets)`` batches of bouncing digits for ``model.fit``.

    Under TensorFlow the ``tf.data`` pipeline (endless); under other backends
    a ``BouncingDigitBatches`` of ``num_batches`` batches. With ``videos``
    (a list of arrays, ``read_videos``), clips of those on every backend
    (``VideoClipStream``).

    Args:
        model: a ``VideoSeq2Seq`` (its clip layout and ``training_pairs``).
        digits: ``(N, 28, 28)`` uint8 digits.
        batch_size, seed: of the stream.
        first_batch: index of the first batch in the seeded stream.
        num_batches: batches needed (non-TensorFlow backends, videos).
        videos: train on these instead of bouncing digits.
    """
    if videos is not None:
        return VideoClipStream(videos, clip_frames=model.clip_frames,
                               batch_size=batch_size, seed=seed,
                               first_batch=first_batch,
                               num_batches=max(num_batches or 1, 1),
                               transform=model.split_clip)
    stream = dict(batch_size=batch_size, num_frames=model.clip_frames,
                  frame_size=model.frame_size, seed=seed, first_batch=first_batch)
    if keras.backend.backend() == "tensorflow":
        return model.training_pairs(bouncing_digits(digits, **stream))
    return BouncingDigitBatches(digits, num_batches=max(num_batches or 1, 1),
                                transform=model.split_clip, **stream)


def _available_memory():
    """Bytes of memory free for new allocations, or None where unknown."""
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):
        return None


# The training stream holds a batch several times over (the generated
# clip, its float32 copy, inputs and targets, the prefetched next batch):
# a first batch larger than a quarter of free memory cannot be made.
_BATCH_COPIES = 4


def _reason(error):
    """The line of a Keras layer error that says what went wrong: Keras
    puts "Exception encountered when calling ..." before it, and the
    arguments received and terminal colours around it."""
    for line in re.sub(r"\x1b\[[0-9;]*m", "", str(error)).splitlines():
        line = line.strip()
        if line and not line.startswith("Exception encountered when"):
            return line.rstrip(".")
    return type(error).__name__


def check_first_batch(model, batch_size, model_overrides=None, videos=False):
    """Refuses, before anything is written, a run whose first batch cannot
    be made or cannot go through the model: the clips are grayscale bouncing
    digits of ``model.frame_size`` (or, with ``videos``, the user's, read at
    the model's frame shape), ``batch_size`` of them at a time."""
    channels = getattr(model, "channels", 1)
    if channels != 1 and not videos:
        raise TrainingError(
            f"The bouncing digits are grayscale (1 channel); {model.name} is "
            f"configured for {channels} channels. Received: channels="
            f"{channels} (model_overrides={model_overrides or {}})")
    shape = (model.clip_frames, model.frame_size, model.frame_size, channels)
    batch_bytes = batch_size * math.prod(shape) * 4
    available = _available_memory()
    if available is not None and batch_bytes * _BATCH_COPIES > available:
        raise TrainingError(
            f"A batch of {batch_size} clips {shape} takes "
            f"{batch_bytes / 2**30:.1f} GiB as float32, about "
            f"{_BATCH_COPIES} times over in the training stream, and this "
            f"machine has {available / 2**30:.1f} GiB free: choose a smaller "
            f"--batch-size (at most {available // (_BATCH_COPIES * batch_bytes // batch_size):,}). "
            f"Received: batch_size={batch_size}")
    inputs, _ = model.split_clip(ops.zeros((1,) + shape))
    try:
        model(inputs, training=False)
    except Exception as error:  # noqa: BLE001 - reworded, with its cause
        raise TrainingError(
            f"{model.name} as configured cannot take the training clips "
            f"(batch, {', '.join(map(str, shape))}): {_reason(error)}. Received: "
            f"model_overrides={model_overrides or {}}") from error


def train(name, *, steps=None, epochs=None, batch_size=16, learning_rate=1e-3,
          schedule="constant", optimizer="rmsprop", loss="cross_entropy",
          out=None, digits=None,
          strategy="auto", precision="float32", jit_compile="auto", seed=0,
          checkpoint_every=100, model_overrides=None,
          initial_weights=None, verbose="auto", peer_timeout=300,
          videos=None, layout=None, coordinator=None, num_processes=None,
          process_id=None):
    """Trains a named model on bouncing digits from the **train** digits,
    or on your own ``videos``.

    Args:
        name: a model name (``keras_vidrep.models.VARIANTS``).
        steps: total training steps; or
        epochs: number of epochs of ``checkpoint_every`` steps.
        batch_size: global batch size (split over replicas).
        learning_rate, optimizer, loss: see ``compile_model``.
        schedule: the learning rate against the step
            (``LEARNING_RATE_SCHEDULES``): ``"constant"``, or ``"cosine"``
            (from ``learning_rate`` down to 0 at the last step; such a run
            resumes only with the same number of steps, since the schedule
            depends on it).
        out: output folder (default ``runs/NAME``).
        digits: MNIST location, see ``load_mnist_digits``.
        strategy: ``auto``, ``none``, ``mirrored`` or ``multi-worker``.
        precision: ``"float32"``, ``"mixed_bfloat16"``, ``"mixed_float16"``
            or ``"auto"`` (bfloat16 on CPUs that compute it natively, float16
            on GPUs with tensor cores, else float32; see
            ``keras_vidrep.training.precision``). ``run.json`` records the choice.
        jit_compile: ``"auto"`` (Keras' choice: XLA on GPUs, none on a
            CPU-only TensorFlow, always ``jax.jit`` on JAX) or a boolean.
        seed: seeds the weights and the data stream.
        checkpoint_every: steps between checkpoints (one "epoch" of ``fit``).
        model_overrides: dict of ``VideoSeq2Seq`` arguments, over the
            builder's defaults (``build_model(name, **model_overrides)``).
            ``run.json`` records them. The zoo's architecture of a name is
            ``keras_vidrep.train``'s (and ``keras-vidrep train``'s) default,
            resolved above this package (``keras_vidrep.zoo.recipes``).
        initial_weights: fine-tune instead of starting from fresh weights: a
            trained model of the same architecture (or its unconditioned
            sibling), a ``.weights.h5`` file or a ``.keras`` file; ``run.json``
            records the model's name or the path. A run that resumes from
            its own checkpoint restores the checkpoint's weights over them.
        coordinator, num_processes, process_id: with
            ``strategy="data-parallel"``, a run of several processes or hosts
            (process 0's ``HOST:PORT``, how many, which one this is; default
            Keras' ``KERAS_DISTRIBUTION_*`` variables, else one process; see
            ``keras_vidrep.training.processes``). Process 0 writes ``out``,
            process N ``out/process-N`` (the same weights: each resumes from
            its own checkpoints).
        peer_timeout: with ``strategy="multi-worker"``, or data-parallel
            over several processes, seconds the workers
            have to come together before this one stops, naming the
            missing ones.
        verbose: ``fit`` verbosity.
        videos: train on clips of these instead of bouncing digits: a
            video file, a folder or glob of them, or an ``.npy`` / ``.npz``
            file (``keras_vidrep.data.read_videos``; read at the model's
            frame size and channels). ``run.json`` records it.
        layout: of an array in ``videos``, ``"batch_major"`` or
            ``"time_major"`` (default: detected, refused where ambiguous;
            see ``read_videos``). ``run.json`` records it.

    Returns:
        The trained ``keras.Model``; everything is also in ``out``.
    """
    if (steps is None) == (epochs is None):
        raise TrainingError("Give exactly one of steps or epochs. Received: "
                            f"steps={steps}, epochs={epochs}")
    check_positive_ints(error=TrainingError, steps=steps, epochs=epochs,
                        batch_size=batch_size,
                        checkpoint_every=checkpoint_every)
    _check_learning_rate(learning_rate)
    look_up(LEARNING_RATE_SCHEDULES, schedule, "Unknown learning-rate "
            f"schedule {schedule!r}", "schedules")
    check_steps_fit_checkpoints(steps, checkpoint_every)
    total_steps = steps or epochs * checkpoint_every
    model_overrides = dict(model_overrides or {})
    processes = processes_of(coordinator, num_processes, process_id)
    if processes.count > 1:
        if strategy != "data-parallel":
            raise TrainingError(
                "Several processes train one run with "
                "strategy='data-parallel' (JAX), or 'multi-worker' with "
                f"TF_CONFIG (TensorFlow). Received: strategy={strategy!r}, "
                f"num_processes={processes.count}")
        # Before anything starts JAX: the processes join first.
        join(processes, peer_timeout)
    if strategy == "multi-worker" and videos is not None:
        raise TrainingError("The multi-worker loop trains on bouncing digits "
                            "only. Received: videos, strategy='multi-worker'")
    if strategy == "multi-worker":
        from keras_vidrep.training import multi_worker as distributed

        if schedule != "constant":
            raise TrainingError(
                "A multi-worker run trains at a constant learning rate (its "
                "loop records no schedule yet). Received: "
                f"schedule={schedule!r}, strategy='multi-worker'")
        return distributed.train_multi_worker(
            name, steps=total_steps,
            batch_size=batch_size, learning_rate=learning_rate,
            optimizer=optimizer, loss=loss, out=out, digits=digits, seed=seed,
            checkpoint_every=checkpoint_every, model_overrides=model_overrides,
            initial_weights=initial_weights, peer_timeout=peer_timeout)
    out = Path(out or os.path.join("runs", name))
    if processes.index:
        out = out / f"process-{processes.index}"
    run = {"model": name, "steps": steps, "epochs": epochs,
           "batch_size": batch_size, "learning_rate": learning_rate,
           # None for a constant rate (as in run records of earlier
           # versions, which then still resume).
           "learning_rate_decay": None if schedule == "constant"
           else {"schedule": schedule, "steps": total_steps},
           "optimizer": optimizer, "loss": loss, "seed": seed,
           "checkpoint_every": checkpoint_every,
           "model_overrides": model_overrides or {},
           "strategy": strategy, "precision": resolve_precision(precision),
           "jit_compile": jit_compile,
           "initial_weights": weights_label(initial_weights),
           "videos": None if videos is None else str(videos),
           "videos_layout": layout}
    steps_per_epoch = min(checkpoint_every, steps) if steps else checkpoint_every
    total_epochs = math.ceil(steps / steps_per_epoch) if steps else epochs
    # Everything is checked before anything is written: a typo must not
    # leave a folder that the corrected command then refuses.
    folder = RunFolder(out, run, steps_per_epoch=steps_per_epoch,
                       fixed=RESUME_FIXED)
    train_digits = (None if videos is not None else
                    load_mnist_digits("train", source=digits))
    keras.utils.set_random_seed(seed)
    distribution = make_strategy(strategy, batch_size,
                                 shared_data=processes.count > 1)
    # keras.distribution's scope covers fit too (it places the batches);
    # tf.distribute's only the building (fit finds it on the model).
    whole_run = (distribution.scope()
                 if isinstance(distribution, keras.distribution.DataParallel)
                 else contextlib.nullcontext())
    with _scope(distribution), precision_scope(run["precision"]):
        model = build_model(name, **(model_overrides or {}))
        # One cheap training metric; `evaluate` computes all of them.
        compile_model(model, loss=loss, optimizer=optimizer,
                      learning_rate=LEARNING_RATE_SCHEDULES[schedule](
                          learning_rate, total_steps),
                      metrics=[FrameMSE], jit_compile=jit_compile)
    if initial_weights is not None:
        load_initial_weights(model, initial_weights)
    own_videos = None
    if videos is not None:
        # Read whole before anything is written: a bad file is refused now.
        own_videos = read_videos(videos, frame_size=model.frame_size,
                                 channels=model.channels, layout=layout)
        # Refuses a video shorter than a clip, naming it.
        VideoClipStream(own_videos, clip_frames=model.clip_frames,
                        batch_size=batch_size, seed=seed, num_batches=1)
    check_first_batch(model, batch_size, model_overrides,
                      videos=videos is not None)
    print(f"{name}: {model.count_params():,} parameters ("
          + (json.dumps(model_overrides) if model_overrides
             else "the builder's defaults") + ")")
    with whole_run, folder.opened(model, lambda: _scope(distribution)):
        # The stream restarts where the checkpoint left it, not at batch 0.
        data = training_data(
            model, train_digits, batch_size=batch_size, seed=seed,
            first_batch=folder.first_batch,
            num_batches=total_epochs * steps_per_epoch - folder.first_batch,
            videos=own_videos)
        if processes.count > 1:
            data = ProcessShare(data, processes)
        callbacks = [
            AtomicModelCheckpoint(out / "model.keras"),
            LossCurve(folder.history, out / "loss_curve.png", steps_per_epoch),
        ]
        if _tensorflow_available():
            callbacks.append(StepTensorBoard(out / "logs", steps_per_epoch))
        folder.fit(model, data, epochs=total_epochs, callbacks=callbacks,
                   verbose=verbose)
    return model
