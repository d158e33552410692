"""How fast a zoo model answers, by the ways it can be served.

    python benchmarks/serving.py [--models composite_conv composite_fc]
        [--repeats 30] [--batches 1 32]

For each model and batch size, times repeated calls on held-out-like frames
(uniform noise of the model's input shape: the work does not depend on the
values) through:

- Keras ``model.predict_on_batch`` (the model as ``keras_vidrep.load``
  gives it);
- the SavedModel's ``serving_default`` signature called from plain
  TensorFlow (what TensorFlow Serving runs, without its RPC layer);
- ONNX Runtime on ``keras_vidrep.export(model, ..., format="onnx")``
  (CPU execution provider);

and prints the median and 99th-percentile latency of a call (ms), the
throughput (clips/s) and the process's peak resident memory after all of a
model's paths, with the machine. The first call of each path (tracing,
graph optimisation) is not timed.
"""

import argparse
import platform
import resource
import tempfile
import time
from pathlib import Path

import numpy as np


def _timed(call, repeats):
    call()  # tracing, warm-up
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - start)
    return np.asarray(seconds)


def _paths(model, folder):
    """name -> a function of frames, for each way of serving ``model``."""
    import onnxruntime
    import tensorflow as tf

    import keras_vidrep

    saved = keras_vidrep.export(model, folder / "saved_model")
    serve = tf.saved_model.load(str(saved)).signatures["serving_default"]
    onnx_file = keras_vidrep.export(model, folder / "onnx", format="onnx")
    options = onnxruntime.SessionOptions()
    session = onnxruntime.InferenceSession(
        str(onnx_file), options, providers=["CPUExecutionProvider"])
    return {
        "Keras predict_on_batch": lambda x: model.predict_on_batch(x),
        "SavedModel (TensorFlow)": lambda x: serve(frames=tf.constant(x)),
        "ONNX Runtime": lambda x: session.run(None, {"frames": x}),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+",
                        default=["composite_conv", "composite_fc"])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 32])
    args = parser.parse_args()

    import keras_vidrep
    from keras_vidrep.training.provenance import machine_description

    print(f"machine: {machine_description()}; {platform.python_version()}")
    print("| model | path | batch | median ms | p99 ms | clips/s |")
    print("|---|---|---:|---:|---:|---:|")
    for name in args.models:
        model = keras_vidrep.load(name, compile=False)
        with tempfile.TemporaryDirectory() as folder:
            paths = _paths(model, Path(folder))
            for batch in args.batches:
                frames = np.random.default_rng(0).random(
                    (batch, model.input_frames, model.frame_size,
                     model.frame_size, model.channels)).astype("float32")
                for path, call in paths.items():
                    seconds = _timed(lambda: call(frames), args.repeats)
                    print(f"| {name} | {path} | {batch} | "
                          f"{1000 * np.median(seconds):.1f} | "
                          f"{1000 * np.percentile(seconds, 99):.1f} | "
                          f"{batch / np.median(seconds):.0f} |", flush=True)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"(peak resident memory after {name}: {peak:.0f} MiB)")


if __name__ == "__main__":
    main()
