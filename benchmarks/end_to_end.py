"""End-to-end training throughput and peak memory of zoo models.

    python benchmarks/end_to_end.py --digits ../shared/data/mnist \
        [--models composite_conv composite_fc] [--steps 20] [--warmup 3] \
        [--precision float32 mixed_bfloat16]

Each model is the zoo preset (``keras_vidrep.zoo.loading``), compiled as ``keras-vidrep
train`` compiles it, and trained with ``model.fit`` on the real data pipeline
(``keras_vidrep.training.trainer.training_data``: bouncing digits generated on the fly
from the train digits). Prints sequences per second over the steps after the
warm-up (the median step time), and the peak memory: the process's peak
resident memory on a CPU, the device's peak allocation under JAX on a GPU.
Each model runs in its own subprocess, so that one model's peak does not hide
the next one's. Works on any Keras backend (KERAS_BACKEND=jax on a GPU);
``--precision`` lists the precisions to measure (``float32``,
``mixed_bfloat16``, ``mixed_float16``, ``auto``), as ``keras-vidrep train
--precision`` takes them; each model runs once per precision.

Also prints the achieved GFLOP/s of a training step, counted from the
architecture (``training_flops``), and its share of the CPU's peak
(``layer_speed.cpu_peak_gflops``; ``--cpu-ghz`` as there).
"""

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

import keras

from layer_speed import cpu_peak_gflops

from keras_vidrep.training.precision import PRECISIONS
from keras_vidrep.training.precision import resolve_precision


def _peak_memory():
    """(what, bytes): the device peak under JAX on an accelerator, else the
    process's peak resident set size."""
    if keras.backend.backend() == "jax":
        import jax

        device = jax.devices()[0]
        stats = device.memory_stats() if device.platform != "cpu" else None
        if stats and "peak_bytes_in_use" in stats:
            return f"{device.platform} peak", stats["peak_bytes_in_use"]
    # ru_maxrss is in kilobytes on Linux.
    return "peak RSS", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def training_flops(model, batch_size):
    """FLOPs of one training step of a ``VideoSeq2Seq``, counted from its
    architecture: two per multiply-add of every LSTM layer's gate kernels
    (input and recurrent; a ConvLSTM's at every cell of its patch grid) at
    every frame, of the encoder and each decoder, and of the read-out; the
    backward pass counted as twice the forward. Element-wise work (gate
    activations, peepholes, the loss) is left out: a lower bound."""
    if model.cell == "fc":
        cells, kernel = 1, 1
        channels = model.frame_size ** 2 * model.channels
    else:
        cells, kernel = (model.frame_size // model.patch_size) ** 2, \
            model.kernel_size ** 2
        channels = model.patch_size ** 2 * model.channels
    sizes = list(model.hidden_sizes)

    def stack(first_input, frames):
        inputs = [first_input] + sizes[:-1]
        return frames * sum(2 * cells * kernel * (i + u) * 4 * u
                            for i, u in zip(inputs, sizes))

    forward = stack(channels, model.input_frames)
    for target in model.targets:
        frames = (model.input_frames if target == "reconstruction"
                  else model.future_frames)
        forward += stack(channels if model.conditional else 0, frames)
        forward += frames * 2 * cells * sum(sizes) * channels  # read-out
    return 3 * forward * batch_size


class StepTimes(keras.callbacks.Callback):
    """Wall time of every training batch."""

    def __init__(self):
        super().__init__()
        self.times = []

    def on_train_batch_begin(self, batch, logs=None):
        self._start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        # Reading the step's outputs waits for it on an asynchronous backend.
        if logs:
            float(next(iter(logs.values())))
        self.times.append(time.perf_counter() - self._start)


def measure(name, digits, batch_size, steps, warmup, precision="float32"):
    """Runs one model and returns its figures as a dict."""
    from keras_vidrep.zoo import loading as zoo
    from keras_vidrep.data import load_mnist_digits
    from keras_vidrep.models import FrameMSE
    from keras_vidrep.models import compile_model
    from keras_vidrep.training.trainer import training_data

    keras.mixed_precision.set_global_policy(resolve_precision(precision))
    keras.utils.set_random_seed(0)
    model = zoo.build_preset(name)
    compile_model(model, metrics=[FrameMSE])
    data = training_data(model, load_mnist_digits("train", source=digits),
                         batch_size=batch_size, seed=0,
                         num_batches=warmup + steps)
    _, before = _peak_memory()
    timer = StepTimes()
    model.fit(data, epochs=1, steps_per_epoch=warmup + steps, verbose=0,
              callbacks=[timer], shuffle=False)
    what, peak = _peak_memory()
    step = statistics.median(timer.times[warmup:])
    flops = training_flops(model, batch_size)
    return {"model": name, "parameters": model.count_params(),
            "step_gflop": flops / 1e9, "gflops": flops / step / 1e9,
            "batch_size": batch_size, "step_ms": step * 1e3,
            "sequences_per_s": batch_size / step, "memory": what,
            "peak_mib": peak / 2**20, "before_fit_mib": before / 2**20,
            "policy": keras.mixed_precision.global_policy().name}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digits", default=os.environ.get("KERAS_VIDREP_MNIST"),
                        help="MNIST folder (default $KERAS_VIDREP_MNIST)")
    parser.add_argument("--models", nargs="+",
                        default=["composite_conv", "composite_fc"])
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--steps", type=int, default=20,
                        help="timed steps after the warm-up")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--precision", nargs="+", default=["float32"],
                        choices=list(PRECISIONS),
                        help="precisions to measure, each model in each "
                        "(default float32)")
    parser.add_argument("--cpu-ghz", type=float,
                        help="clock for the CPU's peak (default: as "
                        "layer_speed.py finds it)")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # subprocess mode
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args.digits, args.batch_size,
                                 args.steps, args.warmup, args.precision[0])))
        return
    print(f"backend {keras.backend.backend()}, keras {keras.__version__}, "
          f"{platform.machine()}, {os.cpu_count()} cores, batch "
          f"{args.batch_size}, {args.steps} timed steps after {args.warmup}")
    for name in args.models:
        for precision in args.precision:
            command = [sys.executable, __file__, "--one", name,
                       "--batch-size", str(args.batch_size), "--steps",
                       str(args.steps), "--warmup", str(args.warmup),
                       "--precision", precision]
            if args.digits:
                command += ["--digits", args.digits]
            done = subprocess.run(command, capture_output=True, text=True)
            if done.returncode:
                sys.exit(f"{name} failed:\n{done.stderr[-3000:]}")
            r = json.loads(done.stdout.strip().splitlines()[-1])
            peak, _ = cpu_peak_gflops(r["policy"], args.cpu_ghz)
            print(f"{r['model']:16s} {r['policy']:15s} {r['parameters']:>9,} "
                  f"params  {r['step_ms']:7.1f} ms/step  "
                  f"{r['sequences_per_s']:7.1f} seq/s  "
                  f"{r['gflops']:6.1f} GFLOP/s"
                  + (f" ({r['gflops'] / peak:.0%} of the CPU's peak)"
                     if peak else "")
                  + f"  {r['memory']} {r['peak_mib']:7.0f} MiB (before fit "
                  f"{r['before_fit_mib']:.0f} MiB)")


if __name__ == "__main__":
    main()
