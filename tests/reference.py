"""Independent numpy implementations of the cell equations, for the tests.

Written from the equations in the issue, sharing no code with keras_vidrep.
"""

import numpy as np


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def conv2d_same(x, kernel):
    """'same' 2-D cross-correlation, stride 1, channels_last, odd kernel.

    x: (batch, H, W, C_in); kernel: (kh, kw, C_in, C_out).
    """
    kh, kw = kernel.shape[:2]
    ph, pw = kh // 2, kw // 2
    padded = np.pad(x, ((0, 0), (ph, ph), (pw, pw), (0, 0)))
    height, width = x.shape[1:3]
    out = np.zeros((x.shape[0], height, width, kernel.shape[-1]))
    for dy in range(kh):
        for dx in range(kw):
            window = padded[:, dy:dy + height, dx:dx + width, :]
            out += window @ kernel[dy, dx]
    return out


def lstm_step(x, h, c, w, r, b, peep, project):
    """One peephole LSTM step; ``project(a, kernel)`` is matmul or conv.

    ``peep`` is None or a dict with 'i', 'f', 'o' arrays.
    """
    z = project(x, w) + project(h, r) + b
    n = z.shape[-1] // 4
    zi, zf, zc, zo = z[..., :n], z[..., n:2 * n], z[..., 2 * n:3 * n], z[..., 3 * n:]
    if peep is not None:
        zi = zi + peep["i"] * c
        zf = zf + peep["f"] * c
    i = sigmoid(zi)
    f = sigmoid(zf)
    c_new = f * c + i * np.tanh(zc)
    if peep is not None:
        zo = zo + peep["o"] * c_new
    o = sigmoid(zo)
    h_new = o * np.tanh(c_new)
    return h_new, c_new


def lstm_sequence(xs, h0, c0, w, r, b, peep, project):
    """Runs ``lstm_step`` over axis 1 of ``xs``; returns outputs, h, c."""
    h, c = h0, c0
    outputs = []
    for t in range(xs.shape[1]):
        h, c = lstm_step(xs[:, t], h, c, w, r, b, peep, project)
        outputs.append(h)
    return np.stack(outputs, axis=1), h, c
