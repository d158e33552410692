"""Several processes (or hosts) of one data-parallel run, on JAX.

``keras.distribution`` spans processes once each has joined the others
(``jax.distributed.initialize``, which ``keras.distribution.initialize``
calls): process 0 is the coordinator at ``HOST:PORT``; every process runs
the same command with its own ``process_id``. Then
``keras.distribution.DataParallel`` sees every device of every process;
each step's global batch is split over them, each process feeding its own
share of rows (``ProcessShare``: every process draws the same global batch
from the seeded stream and keeps its rows, so a run of P processes computes
what one device does with the same batch).

The settings come from arguments or from Keras' own environment variables
(``KERAS_DISTRIBUTION_JOB_ADDRESSES``, ``KERAS_DISTRIBUTION_NUM_PROCESSES``,
``KERAS_DISTRIBUTION_PROCESS_ID``).
"""

import dataclasses
import os
import socket
import time

import keras

from keras_vidrep.training.checkpoints import TrainingError

ADDRESS_ENV = "KERAS_DISTRIBUTION_JOB_ADDRESSES"
COUNT_ENV = "KERAS_DISTRIBUTION_NUM_PROCESSES"
INDEX_ENV = "KERAS_DISTRIBUTION_PROCESS_ID"


@dataclasses.dataclass(frozen=True)
class Processes:
    """Where this process stands in its run: ``index`` of ``count``, the
    coordinator's ``address`` (None for a run of one process)."""

    count: int = 1
    index: int = 0
    address: str = None


def processes_of(coordinator=None, num_processes=None, process_id=None):
    """The run's processes from the arguments, else the environment; one
    clear error for settings that do not fit together. Touches no device
    (JAX must not start before the processes join)."""
    address = coordinator or os.environ.get(ADDRESS_ENV) or None
    count = num_processes or os.environ.get(COUNT_ENV) or 1
    index = process_id if process_id is not None else os.environ.get(
        INDEX_ENV, 0)
    try:
        count, index = int(count), int(index)
    except ValueError:
        raise TrainingError(
            "The number of processes and the process id must be integers. "
            f"Received: num_processes={count!r}, process_id={index!r}"
        ) from None
    if count < 1 or not 0 <= index < count:
        raise TrainingError(
            "A run of N processes numbers them 0 to N-1. Received: "
            f"num_processes={count}, process_id={index}")
    if count > 1 and not address:
        raise TrainingError(
            f"A run of {count} processes needs the coordinator's address "
            f"(process 0's HOST:PORT): --coordinator or ${ADDRESS_ENV}. "
            f"Received: num_processes={count}, process_id={index}")
    if count > 1:
        address = address.split(",")[0]  # Keras' variable lists every host
    return Processes(count, index, address if count > 1 else None)


def _rendezvous(processes, timeout):
    """Waits until every process has come, before JAX starts (a process of
    JAX's that waits in vain aborts from C++, naming no one): process 0
    listens at the coordinator's address for the others' numbers, then
    releases them all; a process missing at ``timeout`` is named."""
    host, _, port = processes.address.rpartition(":")
    deadline = time.monotonic() + timeout
    if processes.index == 0:
        joined = {}
        with socket.create_server((host, int(port))) as server:
            while len(joined) < processes.count - 1:
                left = deadline - time.monotonic()
                if left <= 0:
                    missing = [str(i) for i in range(1, processes.count)
                               if i not in joined]
                    for peer in joined.values():
                        peer.close()
                    raise TrainingError(
                        f"Process 0 of {processes.count} waited {timeout:g} "
                        f"s at {processes.address}: process(es) "
                        f"{', '.join(missing)} did not join. Start the same "
                        "command on every process; --peer-timeout sets the "
                        "wait.")
                server.settimeout(left)
                try:
                    peer, _ = server.accept()
                    peer.settimeout(10)
                    joined[int(peer.recv(16).decode())] = peer
                except (OSError, ValueError):
                    continue
            for peer in joined.values():
                peer.sendall(b"go")
            for peer in joined.values():
                peer.recv(1)  # the peer closes first: the port stays free
                peer.close()
        return
    while True:
        try:
            peer = socket.create_connection((host, int(port)), timeout=1)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise TrainingError(
                    f"Process {processes.index} of {processes.count} waited "
                    f"{timeout:g} s: the coordinator, process 0 at "
                    f"{processes.address}, did not answer. Start the same "
                    "command on every process; --peer-timeout sets the "
                    "wait.") from None
            time.sleep(0.2)
    with peer:
        peer.sendall(str(processes.index).encode())
        peer.settimeout(max(deadline - time.monotonic(), 1))
        try:
            released = peer.recv(2) == b"go"
        except OSError:
            released = False
    if not released:
        raise TrainingError(
            f"Process {processes.index} of {processes.count}: the "
            f"coordinator at {processes.address} did not release the run "
            f"within {timeout:g} s (another process did not join).")


def join(processes, timeout):
    """Joins the other processes of the run (JAX only), waiting up to
    ``timeout`` seconds; a process that does not come is named, with the
    coordinator's address. On CPUs the processes talk through gloo."""
    if processes.count == 1:
        return
    if keras.backend.backend() != "jax":
        raise TrainingError(
            "A data-parallel run of several processes is keras.distribution "
            "on JAX. Received: KERAS_BACKEND="
            f"{keras.backend.backend()!r}, num_processes={processes.count}")
    import jax

    if jax.distributed.is_initialized():  # joined already (by the caller)
        return
    _rendezvous(processes, timeout)
    # Collectives between CPU processes (the default has none).
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    try:
        jax.distributed.initialize(
            processes.address, num_processes=processes.count,
            process_id=processes.index, initialization_timeout=int(timeout))
    except Exception as error:  # noqa: BLE001 - reworded, with cause
        others = [i for i in range(processes.count) if i != processes.index]
        raise TrainingError(
            f"Process {processes.index} of {processes.count} could not join "
            f"the run within {timeout:g} s: "
            + (f"process(es) {', '.join(map(str, others))} did not connect "
               f"to the coordinator this process runs at {processes.address}"
               if processes.index == 0 else
               f"the coordinator, process 0 at {processes.address}, did not "
               "answer (or another process did not join)")
            + f" ({type(error).__name__}: "
            f"{str(error).strip().splitlines()[0][:200]}). Start the same "
            "command on every process; --peer-timeout sets the wait."
        ) from error


class ProcessShare(keras.utils.PyDataset):
    """This process's rows of each global batch of ``data`` (a
    ``PyDataset`` of ``(x, y)``): rows ``index * n`` to ``(index + 1) * n``,
    ``n`` being the batch over the process count."""

    def __init__(self, data, processes):
        super().__init__()
        self.data, self.processes = data, processes

    def __len__(self):
        return len(self.data)

    def __getitem__(self, index):
        batch = self.data[index]
        rows = keras.tree.flatten(batch)[0].shape[0]
        share = rows // self.processes.count
        first = self.processes.index * share
        return keras.tree.map_structure(lambda a: a[first:first + share],
                                        batch)

    def on_epoch_end(self):
        self.data.on_epoch_end()
