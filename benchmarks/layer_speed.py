"""Training-step and inference time of our recurrent layers against Keras'.

    python benchmarks/layer_speed.py [--pairs 15] [--only conv|fc]

Our ConvLSTM against keras.layers.ConvLSTM2D (batch 16, 20 steps, input
16x16x16, 64 filters, 3x3) and our PeepholeLSTM against keras.layers.LSTM
(batch 16, 20 steps, input 1024, 1024 units), each with and without
peepholes. Runs are alternated A, B, A, B ... after warm-up in one process;
prints the median time of each and, last, the median of the per-pair ratios.
Also prints achieved GFLOP/s next to one large matmul and one large
convolution timed in the same run (the machine's practical limit).
Works on any Keras backend (KERAS_BACKEND=jax on a GPU).
"""

import argparse
import os
import platform
import statistics
import time

import keras
import numpy as np
from keras import ops

from keras_vidrep.layers import ConvLSTM
from keras_vidrep.layers import PeepholeLSTM

BATCH, STEPS = 16, 20


def conv_flops(train, batch):
    # Input conv + recurrent conv per step: 2 * H*W*k*k*(Cin + F)*4F MACs.
    forward = STEPS * batch * 2 * 16 * 16 * 9 * (16 + 64) * 4 * 64
    return forward * (3 if train else 1)  # backward ~ 2x forward


def fc_flops(train, batch):
    forward = STEPS * batch * 2 * (1024 + 1024) * 4 * 1024
    return forward * (3 if train else 1)


def make_model(layer, shape, jit_compile):
    inputs = keras.Input(shape)
    model = keras.Model(inputs, layer(inputs))
    model.compile(optimizer="sgd", loss="mse", jit_compile=jit_compile)
    return model


def timed(fn, repeat=1):
    start = time.perf_counter()
    for _ in range(repeat):
        out = fn()
    ops.convert_to_numpy(out if not isinstance(out, dict) else 0)
    return (time.perf_counter() - start) / repeat


def pairwise(ours, theirs, x, y, pairs, warmup):
    def train(model):
        return lambda: model.train_on_batch(x, y)

    def infer(model):
        return lambda: model.predict_on_batch(x)

    results = {}
    for mode, make in (("train", train), ("infer", infer)):
        a_fn, b_fn = make(ours), make(theirs)
        for _ in range(warmup):
            a_fn(), b_fn()
        a_times, b_times = [], []
        for _ in range(pairs):
            a_times.append(timed(a_fn))
            b_times.append(timed(b_fn))
        ratios = [a / b for a, b in zip(a_times, b_times)]
        results[mode] = (statistics.median(a_times), statistics.median(b_times),
                         statistics.median(ratios))
    return results


def peak_gflops():
    a = keras.random.normal((2048, 2048))
    timed(lambda: ops.matmul(a, a), 3)  # warm-up
    matmul = timed(lambda: ops.matmul(a, a), 10)
    images = keras.random.normal((64, 32, 32, 128))
    kernel = keras.random.normal((3, 3, 128, 128))
    timed(lambda: ops.conv(images, kernel, padding="same"), 2)
    conv = timed(lambda: ops.conv(images, kernel, padding="same"), 5)
    return (2 * 2048**3 / matmul / 1e9,
            2 * 64 * 32 * 32 * 9 * 128 * 128 / conv / 1e9)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--only", choices=["conv", "fc"])
    parser.add_argument("--jit-compile", choices=["auto", "true", "false"],
                        default="auto", help="for both models (Keras' auto: "
                        "no XLA on a CPU-only TensorFlow)")
    parser.add_argument("--peepholes", choices=["both", "true", "false"],
                        default="both")
    parser.add_argument("--mixed-precision", action="store_true",
                        help="mixed_float16 policy for both models")
    parser.add_argument("--batch", type=int, default=BATCH,
                        help=f"batch size (default {BATCH})")
    args = parser.parse_args()
    batch = args.batch
    if args.mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_float16")
    rng = np.random.default_rng(0)
    print(f"backend {keras.backend.backend()}, keras {keras.__version__}, "
          f"{platform.machine()}, {os.cpu_count()} cores, batch {batch}, "
          f"policy {keras.mixed_precision.global_policy().name}")
    peak_matmul, peak_conv = peak_gflops()
    print(f"practical limit: matmul {peak_matmul:.0f} GFLOP/s, "
          f"conv {peak_conv:.0f} GFLOP/s")
    cases = []
    peepholes = {"both": (True, False), "true": (True,),
                 "false": (False,)}[args.peepholes]
    if args.only in (None, "conv"):
        x = rng.random((batch, STEPS, 16, 16, 16), dtype=np.float32)
        y = rng.random((batch, 16, 16, 64), dtype=np.float32)
        for peep in peepholes:
            cases.append((f"ConvLSTM peepholes={peep} vs ConvLSTM2D",
                          lambda p=peep: ConvLSTM(64, 3, use_peepholes=p),
                          lambda: keras.layers.ConvLSTM2D(64, 3, padding="same"),
                          x, y, conv_flops))
    if args.only in (None, "fc"):
        x = rng.random((batch, STEPS, 1024), dtype=np.float32)
        y = rng.random((batch, 1024), dtype=np.float32)
        for peep in peepholes:
            cases.append((f"PeepholeLSTM peepholes={peep} vs LSTM",
                          lambda p=peep: PeepholeLSTM(1024, use_peepholes=p),
                          lambda: keras.layers.LSTM(1024),
                          x, y, fc_flops))
    for title, ours_fn, theirs_fn, x, y, flops in cases:
        jit = {"auto": "auto", "true": True, "false": False}[args.jit_compile]
        ours = make_model(ours_fn(), x.shape[1:], jit)
        theirs = make_model(theirs_fn(), x.shape[1:], jit)
        results = pairwise(ours, theirs, x, y, args.pairs, args.warmup)
        print(title)
        for mode, (a, b, ratio) in results.items():
            gflops = flops(mode == "train", batch) / 1e9
            print(f"  {mode:5s}: ours {a * 1e3:7.1f} ms ({gflops / a:6.1f} GFLOP/s)"
                  f"   keras {b * 1e3:7.1f} ms ({gflops / b:6.1f} GFLOP/s)"
                  f"   median ratio ours/keras {ratio:.3f}")


if __name__ == "__main__":
    main()
