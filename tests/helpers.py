"""Running the command line in subprocesses, for the training tests."""

import os
import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# A tiny model: trains a step in well under a second on the CPU.
TINY = ["--set", "hidden_sizes=[4]", "--set", "frame_size=32",
        "--set", "input_frames=2", "--set", "future_frames=2"]


def cli_command(*args):
    return [sys.executable, "-m", "keras_vidrep", *args]


def environment(mnist_dir, **extra):
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    env.update(KERAS_VIDREP_MNIST=str(mnist_dir), TF_CPP_MIN_LOG_LEVEL="2",
               PYTHONUNBUFFERED="1", **extra)
    return env


def run_cli(mnist_dir, *args, timeout=300, **extra_env):
    return subprocess.run(cli_command(*args), cwd=REPO, capture_output=True,
                          text=True, timeout=timeout,
                          env=environment(mnist_dir, **extra_env))


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports
