"""How fast your own videos become training clips, against the
bouncing-digit generator and against what training consumes.

    python benchmarks/video_decoding.py [--videos 8] [--frames 200]
        [--size 128] [--batches 20] [--batch-size 32]

Writes ``--videos`` H.264 videos of ``--frames`` frames of ``--size`` pixels
(moving squares) to a temporary folder, then times:

- decoding them with ``read_videos`` at 64x64 grayscale (FFmpeg decodes and
  scales, frame by frame): frames per second;
- ``VideoClipStream`` batches of 20-frame clips from the decoded videos:
  clips per second;
- the bouncing-digit generator for the same batches: ``BouncingDigitBatches``
  (numpy and the backend's ops) and, under TensorFlow, the ``tf.data``
  pipeline ``bouncing_digits``;

and prints them beside the clips per second a training step of
``composite_conv`` (batch 32) uses on this machine, measured in
``benchmarks/README.md``.
"""

import argparse
import platform
import tempfile
import time
from pathlib import Path

import numpy as np


def write_videos(folder, count, frames, size):
    import av

    for index in range(count):
        with av.open(str(folder / f"video{index}.mp4"), "w") as container:
            stream = container.add_stream("libx264", rate=25)
            stream.width = stream.height = size
            stream.pix_fmt = "yuv420p"
            for t in range(frames):
                image = np.zeros((size, size, 3), np.uint8)
                left = (3 * t + 7 * index) % (size - size // 4)
                image[size // 8:size // 8 + size // 4,
                      left:left + size // 4] = 255
                container.mux(stream.encode(
                    av.VideoFrame.from_ndarray(image, format="rgb24")))
            container.mux(stream.encode())


def timed(function, repeats=1):
    started = time.perf_counter()
    for _ in range(repeats):
        result = function()
    return (time.perf_counter() - started) / repeats, result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=8)
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--digits", help="MNIST location (the generator)")
    args = parser.parse_args()

    import keras

    from keras_vidrep.data import BouncingDigitBatches
    from keras_vidrep.data import VideoClipStream
    from keras_vidrep.data import bouncing_digits
    from keras_vidrep.data import load_mnist_digits
    from keras_vidrep.data import read_videos

    print(f"{platform.processor() or platform.machine()}, "
          f"backend {keras.backend.backend()}")
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        write_videos(folder, args.videos, args.frames, args.size)
        seconds, videos = timed(lambda: read_videos(folder, frame_size=64,
                                                    channels=1))
        frames = sum(len(v) for v in videos)
        print(f"decode + resize {args.size}px -> 64x64 gray: "
              f"{frames / seconds:,.0f} frames/s ({frames} frames, "
              f"{seconds:.2f} s)")
    stream = VideoClipStream(videos, clip_frames=20,
                             batch_size=args.batch_size, seed=0,
                             num_batches=args.batches)
    seconds, _ = timed(lambda: [stream[i] for i in range(args.batches)])
    print(f"VideoClipStream: {args.batches * args.batch_size / seconds:,.0f} "
          "clips/s of 20 frames")
    digits = load_mnist_digits("train", source=args.digits)
    batches = BouncingDigitBatches(digits, batch_size=args.batch_size,
                                   num_batches=args.batches, seed=0)
    seconds, _ = timed(lambda: [batches[i] for i in range(args.batches)])
    print(f"BouncingDigitBatches: "
          f"{args.batches * args.batch_size / seconds:,.0f} clips/s")
    if keras.backend.backend() == "tensorflow":
        dataset = iter(bouncing_digits(digits, batch_size=args.batch_size,
                                       seed=0))
        next(dataset)  # tracing
        seconds, _ = timed(lambda: [next(dataset)
                                    for _ in range(args.batches)])
        print(f"bouncing_digits (tf.data): "
              f"{args.batches * args.batch_size / seconds:,.0f} clips/s")


if __name__ == "__main__":
    main()
