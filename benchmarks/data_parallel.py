"""Training throughput against the device count of a data-parallel run.

    python benchmarks/data_parallel.py [--model composite_fc] [--devices 1 2 4]
        [--batch-size 32] [--steps 20] [--warmup 3]

Each device count runs in its own process under JAX:
``keras.distribution.DataParallel`` over ``N`` devices, the zoo's
architecture of ``--model``, the global batch split over the devices, and
``fit`` on fixed random clips (the data pipeline is timed apart, in
``data_pipeline.py``). Prints sequences/s (median of the timed steps after
warm-up) and the speed-up against one device.

On a CPU the devices are XLA's host devices
(``--xla_force_host_platform_device_count=N``): they share the same cores,
which one device already uses through XLA's threads, so the curve shows
what splitting costs (the collectives, smaller matmuls), not what more
hardware buys. On GPUs drop the flag: ``--devices`` then takes counts up to
the GPUs present (``CUDA_VISIBLE_DEVICES`` picks them) and the same
command gives the real curve.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

RUN = """
import json, sys, time
import numpy as np
import keras
from keras_vidrep.models import build_model, compile_model
from keras_vidrep.zoo.recipes import architecture

name, batch, steps, warmup = sys.argv[1], *map(int, sys.argv[2:5])
devices = keras.distribution.list_devices()
with keras.distribution.DataParallel(devices=devices).scope():
    model = build_model(name, **architecture(name))
    compile_model(model)
    frames = model.input_frames + (model.future_frames or 0)
    rng = np.random.default_rng(0)
    clips = rng.random((batch, frames, model.frame_size, model.frame_size,
                        model.channels), dtype=np.float32)
    x, y = model.split_clip(clips)
    times = []
    for step in range(warmup + steps):
        start = time.perf_counter()
        model.train_on_batch(x, y)
        times.append(time.perf_counter() - start)
print(json.dumps({"devices": len(devices), "seconds": times[warmup:]}))
"""


def run(model, devices, batch_size, steps, warmup, cpu):
    env = dict(os.environ, KERAS_BACKEND="jax", TF_CPP_MIN_LOG_LEVEL="2")
    if cpu:
        env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " --xla_force_host_"
                            f"platform_device_count={devices}").strip()
        env["JAX_PLATFORMS"] = "cpu"
    result = subprocess.run(
        [sys.executable, "-c", RUN, model, str(batch_size), str(steps),
         str(warmup)], env=env, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="composite_fc")
    parser.add_argument("--devices", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--gpu", action="store_true",
                        help="real devices (no XLA host devices)")
    args = parser.parse_args()
    print(f"{args.model}, global batch {args.batch_size}, {args.steps} "
          f"timed steps after {args.warmup}, "
          + ("GPUs" if args.gpu else "XLA host devices of the CPU"))
    base = None
    for count in args.devices:
        if args.batch_size % count:
            print(f"{count} devices: skipped (batch {args.batch_size} does "
                  "not split)")
            continue
        report = run(args.model, count, args.batch_size, args.steps,
                     args.warmup, cpu=not args.gpu)
        rate = args.batch_size / statistics.median(report["seconds"])
        base = base or rate
        print(f"{report['devices']} device(s): {rate:8.1f} sequences/s "
              f"(x{rate / base:.2f})")


if __name__ == "__main__":
    main()
