"""Winograd F(2x2, 3x3) against TensorFlow's convolution, for ConvLSTM's
recurrent convolution on the CPU (a measured dead end; see README.md).

    python benchmarks/conv_winograd.py [--rounds 15]

The recurrent convolution of our ConvLSTM benchmark layer: batch 16, 16x16,
64 -> 256 channels (four gates), 3x3, 'same'. Winograd's F(2x2, 3x3) needs
2.25x fewer multiplications: each 4x4 input tile d and the kernel g are
transformed (B^T d B, G g G^T), the 16 tile positions become 16 batched
matmuls over (tiles x 64) by (64 x 256), and A^T m A gives each 2x2 output
tile. Here the transforms are Kronecker-product matmuls over all tiles at
once. Times, alternated in rounds after warm-up, the median of: the
convolution alone and with the gradients for its input and its kernel (what a
training step needs), for ``tf.nn.conv2d`` (oneDNN) and the Winograd form,
and checks that both agree. TensorFlow only: the question is whether it beats
TensorFlow's own CPU kernels.
"""

import argparse
import statistics
import time

import numpy as np
import tensorflow as tf

BATCH, SIZE, CHANNELS, FILTERS = 16, 16, 64, 256
B_T = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]],
               np.float32)
G = np.array([[1, 0, 0], [.5, .5, .5], [.5, -.5, .5], [0, 0, 1]], np.float32)
A_T = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], np.float32)
# vec(B^T d B) = kron(B^T, B^T) vec(d) for a row-major 4x4 d; likewise G, A^T.
INPUT_TRANSFORM = tf.constant(np.kron(B_T, B_T))    # (16, 16)
KERNEL_TRANSFORM = tf.constant(np.kron(G, G))       # (16, 9)
OUTPUT_TRANSFORM = tf.constant(np.kron(A_T, A_T))   # (4, 16)


def winograd_conv(x, kernel):
    """'same' 3x3 convolution of x (batch, H, W, C), H and W even."""
    batch, height, width, channels = x.shape
    filters = kernel.shape[-1]
    rows, cols = height // 2, width // 2
    padded = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]])
    # The 16 positions of every 4x4 tile (stride 2), position-major.
    tiles = tf.stack([padded[:, a:a + height:2, b:b + width:2]
                      for a in range(4) for b in range(4)])
    v = tf.matmul(INPUT_TRANSFORM, tf.reshape(tiles, (16, -1)))
    u = tf.matmul(KERNEL_TRANSFORM, tf.reshape(kernel, (9, -1)))
    m = tf.matmul(tf.reshape(v, (16, batch * rows * cols, channels)),
                  tf.reshape(u, (16, channels, filters)))
    y = tf.matmul(OUTPUT_TRANSFORM, tf.reshape(m, (16, -1)))
    y = tf.reshape(y, (2, 2, batch, rows, cols, filters))
    return tf.reshape(tf.transpose(y, (2, 3, 0, 4, 1, 5)),
                      (batch, height, width, filters))


def direct_conv(x, kernel):
    return tf.nn.conv2d(x, kernel, 1, "SAME")


def forward(conv, kernel):
    return tf.function(lambda x: tf.reduce_sum(conv(x, kernel)))


def forward_backward(conv, kernel):
    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = conv(x, kernel)
            loss = tf.reduce_sum(y * y)
        dx, dkernel = tape.gradient(loss, [x, kernel])
        return tf.reduce_sum(dx) + tf.reduce_sum(dkernel)
    return step


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = tf.constant(rng.standard_normal(
        (BATCH, SIZE, SIZE, CHANNELS), np.float32))
    kernel = tf.Variable(0.05 * rng.standard_normal(
        (3, 3, CHANNELS, FILTERS), np.float32))
    error = tf.reduce_max(tf.abs(winograd_conv(x, kernel) - direct_conv(x, kernel)))
    print(f"max |winograd - conv2d| = {float(error):.2e}")
    convolutions = {"conv2d": direct_conv, "winograd": winograd_conv}
    for title, make in (("forward", forward),
                        ("forward + gradients", forward_backward)):
        functions = {name: make(conv, kernel)
                     for name, conv in convolutions.items()}
        for function in functions.values():
            for _ in range(3):
                function(x).numpy()
        times = {name: [] for name in functions}
        for _ in range(args.rounds):
            for name, function in functions.items():
                start = time.perf_counter()
                function(x).numpy()
                times[name].append(time.perf_counter() - start)
        ratios = [w / c for w, c in zip(times["winograd"], times["conv2d"])]
        print(f"{title:20s} conv2d {statistics.median(times['conv2d']) * 1e3:6.2f} ms"
              f"   winograd {statistics.median(times['winograd']) * 1e3:6.2f} ms"
              f"   median ratio winograd/conv2d {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
