"""Seconds from start to exit of the console script, per command.

    python benchmarks/cli_start.py [--repeat 5] [COMMAND ...]

Runs ``keras-vidrep`` (beside this Python) with each command's arguments,
default ``--help``, ``list``, ``train --help`` and ``evaluate no_such_model``
(which imports Keras and TensorFlow), and prints the median and the
slowest of ``--repeat`` runs.
"""

import argparse
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

DEFAULT = ["--help", "list", "train --help", "evaluate no_such_model"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("commands", nargs="*", default=DEFAULT)
    args = parser.parse_args()
    script = Path(sys.executable).parent / "keras-vidrep"
    print("| command | median s | slowest s |")
    print("|---|---|---|")
    for command in args.commands:
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            subprocess.run([str(script), *shlex.split(command)],
                           capture_output=True)
            times.append(time.perf_counter() - start)
        print(f"| `keras-vidrep {command}` | {statistics.median(times):.2f} "
              f"| {max(times):.2f} |")


if __name__ == "__main__":
    main()
