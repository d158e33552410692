"""Seconds from start to exit of the console script, per command.

    python benchmarks/cli_start.py [--repeat 5] [COMMAND ...]

Runs ``keras-vidrep`` (beside this Python) with each command's arguments,
default ``--help``, ``list``, the ``--help`` of ``train``, ``probe`` and
``train-captioner``, ``evaluate no_such_model`` (refused before Keras
loads) and ``evaluate composite_conv --moving-mnist none.npy`` (refused
after it loaded the model, so Keras and TensorFlow), and prints the median
and the slowest of ``--repeat`` runs; the same for ``python -m keras_vidrep
list``.
"""

import argparse
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

DEFAULT = ["--help", "list", "train --help", "probe --help",
           "train-captioner --help", "evaluate no_such_model",
           "evaluate composite_conv --moving-mnist none.npy"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("commands", nargs="*", default=DEFAULT)
    args = parser.parse_args()
    script = Path(sys.executable).parent / "keras-vidrep"
    print("| command | median s | slowest s |")
    print("|---|---|---|")
    runs = [(f"keras-vidrep {command}", [str(script), *shlex.split(command)])
            for command in args.commands]
    runs.append(("python -m keras_vidrep list",
                 [sys.executable, "-m", "keras_vidrep", "list"]))
    for label, argv in runs:
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            subprocess.run(argv, capture_output=True)
            times.append(time.perf_counter() - start)
        print(f"| `{label}` | {statistics.median(times):.2f} "
              f"| {max(times):.2f} |")


if __name__ == "__main__":
    main()
