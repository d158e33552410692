"""Training across machines with ``MultiWorkerMirroredStrategy``.

Keras 3.15's ``model.fit`` fails under ``MultiWorkerMirroredStrategy`` with
TensorFlow 2.21 ("Attempt to convert a value (PerReplica ...)", reproduced by
``tests/test_distributed.py``). This module runs the same training with a
loop of our own around the same pieces: the model, its compiled optimizer,
loss and metrics (``model.train_step`` under ``strategy.run``), a dataset
sharded per worker (every worker generates its own bouncing-digit stream,
seeded by its index), and checkpoints written by the chief and restored by
every worker.

The cluster comes from ``TF_CONFIG``, e.g. for the second of two workers::

    TF_CONFIG='{"cluster": {"worker": ["host1:12345", "host2:12345"]},
                "task": {"type": "worker", "index": 1}}'

Run the same ``keras-vidrep train NAME --strategy multi-worker --out DIR``
command on every worker, ``DIR`` on a filesystem they share. Worker 0 (or the
``chief`` task) writes ``DIR/checkpoints/``, ``DIR/history.csv`` and
``DIR/model.keras``; every worker writes its final weights to
``DIR/replicas/TASK-INDEX.weights.h5`` so that they can be compared. After a
crash, rerun the command on every worker: all restore the chief's last
checkpoint (weights, optimizer state, step) and go on from there.

A worker whose peers do not all join within ``peer_timeout`` seconds (the
first training step needs every worker) stops with a message naming the
workers whose address does not answer, instead of waiting forever inside
TensorFlow; Ctrl-C and SIGTERM to its process group stop it at once, even
while it waits there (``keras_vidrep/training/_watchdog.py``).
"""

import contextlib
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import keras

from keras_vidrep._validation import InputError
from keras_vidrep._validation import check_positive_ints
from keras_vidrep.data import bouncing_digits
from keras_vidrep.data import load_mnist_digits
from keras_vidrep.models import FrameMSE
from keras_vidrep.models import build_model
from keras_vidrep.models import compile_model
from keras_vidrep.training.initial_weights import load_initial_weights


def cluster_role():
    """``(task_type, task_index, is_chief)`` from ``TF_CONFIG``."""
    try:
        config = json.loads(os.environ.get("TF_CONFIG", "{}"))
    except json.JSONDecodeError as error:
        raise InputError(
            f"TF_CONFIG is not valid JSON ({error}); expected e.g. "
            '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
            '"task": {"type": "worker", "index": 0}}') from None
    task = config.get("task", {})
    cluster = config.get("cluster", {})
    if not isinstance(task, dict) or not isinstance(cluster, dict):
        raise InputError(
            'TF_CONFIG\'s "cluster" and "task" must be objects, e.g. '
            '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
            '"task": {"type": "worker", "index": 0}}. Received: '
            f"TF_CONFIG={os.environ.get('TF_CONFIG')}")
    task_type, index = task.get("type", "worker"), task.get("index", 0)
    if cluster:
        members = cluster.get(task_type)
        if not isinstance(members, list) or not (
                isinstance(index, int) and 0 <= index < len(members)):
            sizes = ", ".join(f"{kind}: {len(hosts)}" for kind, hosts
                              in cluster.items() if isinstance(hosts, list))
            raise InputError(
                f"TF_CONFIG's task is not in its cluster ({sizes or 'empty'}"
                f"; an index counts from 0). Received: task type="
                f"{task_type!r}, index={index!r}")
    index = int(index)
    has_chief = "chief" in cluster
    is_chief = task_type == "chief" or (task_type == "worker" and index == 0
                                        and not has_chief)
    return task_type, index, is_chief


def _unfiltered_stderr():
    """The standard error that outlives this process: the ``keras-vidrep``
    script filters file descriptor 2 through a thread of this process, so
    what the watchdog says after killing it would be lost there; the script
    names the descriptor it filters into (``keras_vidrep_cli``)."""
    text = os.environ.get("KERAS_VIDREP_UNFILTERED_STDERR_FD", "")
    if text.isdigit():
        try:
            os.fstat(int(text))
            return int(text)
        except OSError:
            pass
    return None


@contextlib.contextmanager
def _watched(timeout, task, peers):
    """Runs the body under ``keras_vidrep/training/_watchdog.py``, a process of its
    own (see there: while TensorFlow waits for a peer, this process runs no
    Python, so it cannot time out or handle a signal itself). Yields the
    function to call once every worker joined."""
    watchdog = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("_watchdog.py")),
         str(os.getpid()), str(timeout), task, json.dumps(peers)],
        stdin=subprocess.PIPE, stderr=_unfiltered_stderr())

    def tell(message):
        try:
            watchdog.stdin.write(message)
            watchdog.stdin.flush()
        except OSError:
            pass  # it has stopped already

    try:
        yield lambda: tell(b"j")
        tell(b"d")
    finally:
        watchdog.stdin.close()
        watchdog.wait(10)


def _peers():
    """``[(name, address)]`` of the other tasks of ``TF_CONFIG``'s cluster."""
    task_type, index, _ = cluster_role()  # checks TF_CONFIG
    cluster = json.loads(os.environ.get("TF_CONFIG", "{}")).get("cluster", {})
    return [(f"{kind} {i}", address)
            for kind in ("chief", "worker")
            for i, address in enumerate(cluster.get(kind, []))
            if (kind, i) != (task_type, index)]


def train_multi_worker(name, *, peer_timeout=300, **kwargs):
    """Trains ``name`` on the cluster of ``TF_CONFIG``; see the module doc.

    ``peer_timeout``: seconds the workers have to come together (the first
    step completes) before this worker stops with the missing ones named.
    Other arguments: ``_train_multi_worker``.
    """
    check_positive_ints(peer_timeout=peer_timeout)
    task_type, index, _ = cluster_role()
    with _watched(peer_timeout, f"{task_type} {index}", _peers()) as joined:
        return _train_multi_worker(name, on_first_step=joined, **kwargs)


def _train_multi_worker(name, *, steps, batch_size=16, learning_rate=1e-3,
                        optimizer="rmsprop", loss="cross_entropy", out=None,
                        digits=None, seed=0, checkpoint_every=100,
                        model_overrides=None, initial_weights=None,
                        verbose=True, on_first_step=None):
    """Trains ``name`` on the cluster of ``TF_CONFIG``; see the module doc.

    ``batch_size`` is the global batch, split evenly over all replicas;
    ``initial_weights`` as in ``keras_vidrep.training.trainer.train`` (every worker
    loads them; a checkpoint of the run, if any, is restored over them).
    Returns the trained model (on every worker).
    """
    import tensorflow as tf

    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    task_type, index, is_chief = cluster_role()
    out = Path(out or os.path.join("runs", name))
    out.mkdir(parents=True, exist_ok=True)
    train_digits = load_mnist_digits("train", source=digits)
    keras.utils.set_random_seed(seed)  # identical initial weights everywhere
    with strategy.scope():
        model = build_model(name, **(model_overrides or {}))
        compile_model(model, loss=loss, optimizer=optimizer,
                      learning_rate=learning_rate, metrics=[FrameMSE])
        model.optimizer.build(model.trainable_variables)
    if initial_weights is not None:
        load_initial_weights(model, initial_weights)

    checkpoint = tf.train.Checkpoint(model=model, optimizer=model.optimizer)
    chief_dir = out / "checkpoints"
    # Every worker takes part in saving (collective ops); only the chief's
    # copy is kept, the others write to a temporary folder.
    save_dir = chief_dir if is_chief else Path(tempfile.mkdtemp())
    manager = tf.train.CheckpointManager(checkpoint, str(save_dir), max_to_keep=2)
    latest = tf.train.latest_checkpoint(str(chief_dir))
    if latest:
        checkpoint.restore(latest).expect_partial()
    start = int(model.optimizer.iterations.numpy())
    if start and is_chief:
        print(f"Resuming {out} from its checkpoint at step {start}.")

    per_replica = batch_size // strategy.num_replicas_in_sync
    if per_replica * strategy.num_replicas_in_sync != batch_size:
        raise InputError(
            f"batch_size={batch_size} does not split evenly over "
            f"{strategy.num_replicas_in_sync} replicas.")

    def dataset_fn(context):
        clips = bouncing_digits(
            train_digits, batch_size=per_replica, num_frames=model.clip_frames,
            frame_size=model.frame_size,
            seed=seed * 1009 + context.input_pipeline_id, first_batch=start)
        return model.training_pairs(clips)

    iterator = iter(strategy.distribute_datasets_from_function(dataset_fn))

    @tf.function
    def train_step(batch):
        logs = strategy.run(model.train_step, args=(batch,))
        return {k: strategy.reduce("MEAN", v, axis=None) for k, v in logs.items()}

    bar = keras.utils.Progbar(steps) if (is_chief and verbose) else None
    history = out / "history.csv"
    for step in range(start, steps):
        logs = train_step(next(iterator))
        if step == start and on_first_step is not None:
            on_first_step()  # every worker took part
        if bar is not None:
            bar.update(step + 1, [(k, float(v)) for k, v in logs.items()])
        if (step + 1) % checkpoint_every == 0 or step + 1 == steps:
            manager.save(checkpoint_number=step + 1)
            if is_chief:
                _append_history(history, step + 1, logs)
    if not is_chief:
        shutil.rmtree(save_dir, ignore_errors=True)
    replicas = out / "replicas"
    replicas.mkdir(exist_ok=True)
    model.save_weights(replicas / f"{task_type}-{index}.weights.h5")
    if is_chief:
        model.save(out / "model.keras")
    return model


def _append_history(path, step, logs):
    row = {"step": step, **{k: float(v) for k, v in logs.items()}}
    new = not path.is_file()
    with open(path, "a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(row))
        if new:
            writer.writeheader()
        writer.writerow(row)
