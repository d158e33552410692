"""Training-step and inference time of our recurrent layers against Keras'.

    python benchmarks/layer_speed.py [--pairs 15] [--only conv|fc] [--floor] [--autodiff]
        [--precision float32|mixed_bfloat16|mixed_float16|auto] [--keras-precision ...]

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
from keras_vidrep.layers._keras_internals import rnn as backend_rnn
from keras_vidrep.training.precision import PRECISIONS
from keras_vidrep.training.precision import resolve_precision

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
    # Waits for the work; a sum so that only a scalar leaves the device.
    if not isinstance(out, dict):
        # (as float32: NumPy cannot take a bfloat16 tensor under TF 2.21)
        ops.convert_to_numpy(ops.cast(ops.sum(out), "float32"))
    return (time.perf_counter() - start) / repeat


def alternated(models, x, y, pairs, warmup):
    """Times each model in turn (A, B, C, A, B, C ...); for each mode, the
    median time of each and the median per-round ratio to the last model."""
    modes = {"train": lambda m: lambda: m.train_on_batch(x, y),
             "infer": lambda m: lambda: m.predict_on_batch(x)}
    results = {}
    for mode, make in modes.items():
        fns = [make(m) for m in models]
        for _ in range(warmup):
            for fn in fns:
                fn()
        times = [[] for _ in fns]
        for _ in range(pairs):
            for fn, t in zip(fns, times):
                t.append(timed(fn))
        results[mode] = [
            (statistics.median(t),
             statistics.median([a / b for a, b in zip(t, times[-1])]))
            for t in times]
    return results


class ConvolutionsOnly(keras.layers.Layer):
    """The two convolutions of our ConvLSTM step and nothing else (h = the
    first quarter of W*x + R*h), in the backend's loop: what our layer would
    cost with free gate arithmetic. (Keras' ConvLSTM2D computes the gates with
    eight narrower convolutions instead.)"""

    def __init__(self, filters, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters

    def build(self, input_shape):
        self.kernel = self.add_weight(
            shape=(3, 3, input_shape[-1], 4 * self.filters), name="kernel")
        self.recurrent_kernel = self.add_weight(
            shape=(3, 3, self.filters, 4 * self.filters), name="recurrent")

    def call(self, sequences):
        def step(x, states):
            z = (ops.conv(x, self.kernel, padding="same")
                 + ops.conv(states[0], self.recurrent_kernel, padding="same"))
            h = z[..., :self.filters]
            return h, [h]

        h0 = ops.zeros((*ops.shape(sequences)[:1], *sequences.shape[2:4],
                        self.filters), dtype=sequences.dtype)
        last, _, _ = backend_rnn(step, sequences, [h0])
        return last

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *input_shape[2:4], self.filters)


class PeepholeLSTMAutodiff(PeepholeLSTM):
    """Our PeepholeLSTM with automatic differentiation of its loop instead of
    the hand-written backward pass."""

    def _use_fused_gradient(self, mask, training):
        return False


def cpu_peak_gflops(precision="float32", ghz=None):
    """This CPU's peak GFLOP/s from its cores, clock and vector units, and
    how it was counted: cores x clock x FMA units x lanes x 2 (an FMA is two
    FLOPs). Two FMA units per core (AMD Zen 2-4 and Intel's server cores
    since Skylake-SP); lanes from the widest vectors the CPU reports (AMD's
    Zen 4, family 25, runs AVX-512 on 256-bit units: 8 float32 lanes; Zen 5,
    family 26, on 512-bit units: 16); bfloat16 doubles
    the float32 rate where the CPU has AVX512_BF16 or AMX (dot products of
    pairs), else it computes in float32. The clock is the one
    /proc/cpuinfo reports, in a VM often the nominal one: a CPU that boosts
    above it can pass "100%" (the matmul line then shows by how much).
    ``ghz`` overrides it. None where /proc/cpuinfo is missing (not Linux)
    or names no clock."""
    try:
        info = open("/proc/cpuinfo").read()
    except OSError:
        return None, "no /proc/cpuinfo"
    fields = dict(line.split(":", 1) for line in info.splitlines()
                  if ":" in line)
    fields = {key.strip(): value.strip() for key, value in fields.items()}
    flags = set(fields.get("flags", "").split())
    if ghz is None and "cpu MHz" not in fields:
        return None, "no clock in /proc/cpuinfo"
    ghz = ghz or float(fields["cpu MHz"]) / 1000
    cores = len(os.sched_getaffinity(0))
    amd = fields.get("vendor_id") == "AuthenticAMD"
    half_width = amd and int(fields.get("cpu family", "0") or 0) < 26
    lanes = (8 if half_width else 16) if "avx512f" in flags else \
        8 if {"avx2", "fma"} <= flags else 4
    per_cycle = 2 * lanes * 2
    if "bfloat16" in precision and flags & {"avx512_bf16", "amx_bf16"}:
        per_cycle *= 2
    peak = cores * ghz * per_cycle
    return peak, (f"{cores} cores x {ghz:.2f} GHz x {per_cycle} FLOP/cycle "
                  f"(2 FMA units x {lanes} lanes x 2"
                  + (" x 2 for bfloat16 pairs" if per_cycle > 4 * lanes
                     else "") + ")")


def peak_gflops(min_seconds=0.02):
    """GFLOP/s of one large matmul and one large 3x3 convolution. Sizes grow
    until one op takes ``min_seconds``, so that an accelerator is measured on
    work that fills it, not on launch and transfer overheads (2048^3 and a
    batch of 64 already do on a CPU)."""
    for n in (2048, 4096, 8192):
        a = keras.random.normal((n, n))
        timed(lambda: ops.matmul(a, a), 3)  # warm-up
        matmul = timed(lambda: ops.matmul(a, a), 10)
        if matmul >= min_seconds:
            break
    kernel = keras.random.normal((3, 3, 128, 128))
    for batch in (64, 256, 1024):
        images = keras.random.normal((batch, 32, 32, 128))
        timed(lambda: ops.conv(images, kernel, padding="same"), 2)
        conv = timed(lambda: ops.conv(images, kernel, padding="same"), 5)
        if conv >= min_seconds:
            break
    return (2 * n**3 / matmul / 1e9,
            2 * batch * 32 * 32 * 9 * 128 * 128 / conv / 1e9)


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
    parser.add_argument("--precision", default="float32",
                        choices=list(PRECISIONS),
                        help="dtype policy of our layers (default float32)")
    parser.add_argument("--keras-precision", choices=list(PRECISIONS),
                        help="dtype policy of Keras' layers (default: "
                        "--precision), e.g. ours in mixed_bfloat16 against "
                        "Keras in float32")
    parser.add_argument("--floor", action="store_true",
                        help="also time the two convolutions of our ConvLSTM "
                        "step alone (the layer with free gate arithmetic)")
    parser.add_argument("--autodiff", action="store_true",
                        help="also time our PeepholeLSTM with automatic "
                        "differentiation instead of its hand-written backward")
    parser.add_argument("--cpu-ghz", type=float,
                        help="the clock for the CPU's peak (default: "
                        "/proc/cpuinfo's; give the boost clock where known)")
    parser.add_argument("--batch", type=int, default=BATCH,
                        help=f"batch size (default {BATCH})")
    args = parser.parse_args()
    batch = args.batch
    ours = resolve_precision(args.precision)
    theirs = resolve_precision(args.keras_precision or args.precision)
    rng = np.random.default_rng(0)
    print(f"backend {keras.backend.backend()}, keras {keras.__version__}, "
          f"{platform.machine()}, {os.cpu_count()} cores, batch {batch}, "
          f"ours {ours}, keras {theirs}")
    peak_matmul, peak_conv = peak_gflops()
    print(f"practical limit: matmul {peak_matmul:.0f} GFLOP/s, "
          f"conv {peak_conv:.0f} GFLOP/s")
    cpu_peak, counted = cpu_peak_gflops(ours, args.cpu_ghz)
    if cpu_peak is not None:
        print(f"CPU peak ({ours}): {cpu_peak:.0f} GFLOP/s = {counted}; the "
              f"matmul reaches {peak_matmul / cpu_peak:.0%} of it")
    cases = []
    peepholes = {"both": (True, False), "true": (True,),
                 "false": (False,)}[args.peepholes]
    if args.only in (None, "conv"):
        x = rng.random((batch, STEPS, 16, 16, 16), dtype=np.float32)
        y = rng.random((batch, 16, 16, 64), dtype=np.float32)
        for peep in peepholes:
            cases.append((f"ConvLSTM peepholes={peep} vs ConvLSTM2D",
                          lambda p=peep: ConvLSTM(64, 3, use_peepholes=p,
                                                  dtype=ours),
                          lambda: keras.layers.ConvLSTM2D(64, 3, padding="same",
                                                          dtype=theirs),
                          x, y, conv_flops,
                          ("convolutions alone",
                           lambda: ConvolutionsOnly(64, dtype=ours))
                          if args.floor else None))
    if args.only in (None, "fc"):
        x = rng.random((batch, STEPS, 1024), dtype=np.float32)
        y = rng.random((batch, 1024), dtype=np.float32)
        for peep in peepholes:
            cases.append((f"PeepholeLSTM peepholes={peep} vs LSTM",
                          lambda p=peep: PeepholeLSTM(1024, use_peepholes=p,
                                                      dtype=ours),
                          lambda: keras.layers.LSTM(1024, dtype=theirs),
                          x, y, fc_flops,
                          ("autodiff", lambda p=peep: PeepholeLSTMAutodiff(
                              1024, use_peepholes=p, dtype=ours))
                          if args.autodiff else None))
    for title, ours_fn, theirs_fn, x, y, flops, extra in cases:
        jit = {"auto": "auto", "true": True, "false": False}[args.jit_compile]
        models = [make_model(ours_fn(), x.shape[1:], jit),
                  make_model(theirs_fn(), x.shape[1:], jit)]
        if extra:
            models.insert(1, make_model(extra[1](), x.shape[1:], jit))
        results = alternated(models, x, y, args.pairs, args.warmup)
        print(title)
        for mode, timings in results.items():
            gflops = flops(mode == "train", batch) / 1e9
            (a, ratio), (b, _) = timings[0], timings[-1]
            print(f"  {mode:5s}: ours {a * 1e3:7.1f} ms ({gflops / a:6.1f} GFLOP/s)"
                  f"   keras {b * 1e3:7.1f} ms ({gflops / b:6.1f} GFLOP/s)"
                  f"   median ratio ours/keras {ratio:.3f}"
                  + (f"   ours at {gflops / a / cpu_peak:.0%} of the CPU's "
                     "peak" if cpu_peak else ""))
            if len(timings) == 3:
                other, other_ratio = timings[1]
                print(f"         {extra[0]} {other * 1e3:7.1f} ms, "
                      f"median ratio to keras {other_ratio:.3f}")


if __name__ == "__main__":
    main()
