"""Watches a multi-worker training process from outside it.

Run as a script by ``keras_vidrep.training.multi_worker`` (never imported: it must
start in a blink and hold no GIL of the process it watches). While
TensorFlow waits for a peer, the training process runs no Python at all:
neither a timer nor a signal handler of its own could act. This process
reads what the trainer says on its standard input: ``j`` once the first
step completed (every worker joined), ``d`` at the normal end.

- No ``j`` within the timeout: it names the peers whose address does not
  answer, on the trainer's standard error, and kills the trainer (SIGKILL:
  TensorFlow's own SIGTERM handler, a preemption notice, keeps SIGTERM from
  stopping a worker that waits for its peers).
- SIGINT or SIGTERM to the process group (Ctrl-C in a terminal, ``kill --
  -PGID``, a scheduler) reaches this process too: it kills the trainer and
  says how to resume.
- End of input without ``d``: the trainer died (a crash, SIGKILL); it says
  how to resume.

Usage: python _watchdog.py PARENT_PID TIMEOUT_SECONDS TASK_NAME PEERS_JSON
(``PEERS_JSON``: a list of ``[name, "host:port"]``).
"""

import json
import os
import select
import signal
import socket
import sys
import time


def answers(address, timeout=1.0):
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            return True
    except (OSError, ValueError):
        return False


def say(text):
    print(f"\nkeras-vidrep: {text}", file=sys.stderr, flush=True)


def watch(parent, timeout, task, peers):
    def stop(number, frame):
        say(f"{task} stopped by {signal.Signals(number).name}; rerun the same "
            "command on every worker to resume from the last checkpoint.")
        os.kill(parent, signal.SIGKILL)
        sys.exit(0)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    deadline = time.monotonic() + timeout
    joined = False
    while True:
        wait = None if joined else max(0.0, deadline - time.monotonic())
        ready, _, _ = select.select([sys.stdin], [], [], wait)
        if not ready:
            silent = [f"{name} ({address})" for name, address in peers
                      if not answers(address)]
            say(f"error: the cluster did not come together within {timeout} "
                "s (--peer-timeout): " + (
                    f"no answer from {', '.join(silent)}. Start the same "
                    "command there with its TF_CONFIG." if silent else
                    "every worker answers, but the first step did not "
                    "complete."))
            os.kill(parent, signal.SIGKILL)
            return
        data = os.read(sys.stdin.fileno(), 64)
        if b"d" in data:
            return
        joined = joined or b"j" in data
        if not data:
            say(f"{task} stopped before the end of training; rerun the same "
                "command on every worker to resume from the last checkpoint.")
            return


if __name__ == "__main__":
    watch(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3],
          json.loads(sys.argv[4]))
