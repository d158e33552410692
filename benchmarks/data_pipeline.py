"""Throughput of the bouncing-digits pipeline, in sequences per second.

    python benchmarks/data_pipeline.py --digits ../shared/data/mnist

Goal: at least 2,000 sequences/s (20 frames of 64x64, 2 digits) on the 2-core
CPU machine, so that the pipeline never starves training.
"""

import argparse
import os
import platform
import time

import tensorflow as tf

from keras_vidrep.data import bouncing_digits
from keras_vidrep.data import load_mnist_digits
from keras_vidrep.data.bouncing_digits import BOUNCE_RULES


def measure(digits, batch_size, batches, warmup, bounce, seed=0):
    iterator = iter(bouncing_digits(digits, batch_size=batch_size, seed=seed,
                                    bounce=bounce))
    for _ in range(warmup):
        next(iterator)
    start = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    return batch_size * batches / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digits", default=os.environ.get("KERAS_VIDREP_MNIST"),
                        help="MNIST folder or mnist.npz (default: "
                             "$KERAS_VIDREP_MNIST, then the Keras cache)")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--bounce", nargs="+", default=list(BOUNCE_RULES),
                        choices=list(BOUNCE_RULES), help="bounce rules to time")
    args = parser.parse_args()
    digits = load_mnist_digits("train", source=args.digits)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; "
          f"tensorflow {tf.__version__}")
    for bounce in args.bounce:
        for batch_size in args.batch_sizes:
            rates = sorted(measure(digits, batch_size, args.batches,
                                   args.warmup, bounce)
                           for _ in range(args.repeats))
            print(f"bounce={bounce:6s} batch_size={batch_size:4d}: "
                  f"{rates[len(rates) // 2]:8.0f} sequences/s (median of "
                  f"{args.repeats}; min {rates[0]:.0f}, max {rates[-1]:.0f})")


if __name__ == "__main__":
    main()
