"""Per-frame losses and metrics for video prediction, pixels in [0, 1].

Every function maps ``(y_true, y_pred)`` of shape (batch, frames, H, W, C) to
one value per (batch, frame); Keras' mean reduction then averages over batch
and frames. ``per_timestep`` averages over the batch only, for curves.
"""

import math

import keras
from keras import ops

_EPSILON = 1e-7


def _frames_first(y_true, y_pred):
    # Both as tensors of the backend (numpy and PyTorch tensors do not mix).
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.cast(y_true, y_pred.dtype)
    return y_true, y_pred


def _sum_over_pixels(values):
    return ops.sum(values, axis=(-3, -2, -1))


def frame_squared_error(y_true, y_pred):
    """Squared error summed over the pixels of each frame (OpenSTL, PredRNN)."""
    y_true, y_pred = _frames_first(y_true, y_pred)
    return _sum_over_pixels(ops.square(y_pred - y_true))


def frame_absolute_error(y_true, y_pred):
    """Absolute error summed over the pixels of each frame."""
    y_true, y_pred = _frames_first(y_true, y_pred)
    return _sum_over_pixels(ops.abs(y_pred - y_true))


def frame_cross_entropy(y_true, y_pred):
    """Bernoulli cross-entropy summed over the pixels of each frame
    (Srivastava et al. 2015), predictions clipped to [1e-7, 1 - 1e-7]."""
    y_true, y_pred = _frames_first(y_true, y_pred)
    p = ops.clip(y_pred, _EPSILON, 1.0 - _EPSILON)
    return _sum_over_pixels(-(y_true * ops.log(p) + (1.0 - y_true) * ops.log(1.0 - p)))


def frame_psnr(y_true, y_pred):
    """Peak signal-to-noise ratio of each frame in dB (peak 1.0); identical
    frames give 100 dB rather than infinity."""
    y_true, y_pred = _frames_first(y_true, y_pred)
    mse = ops.mean(ops.square(y_pred - y_true), axis=(-3, -2, -1))
    return -10.0 * ops.log(ops.maximum(mse, 1e-10)) / math.log(10.0)


def _gaussian_window(size, sigma, dtype):
    coords = ops.arange(size, dtype=dtype) - (size - 1) / 2.0
    g = ops.exp(-ops.square(coords) / (2.0 * sigma**2))
    return g / ops.sum(g)


def frame_ssim(y_true, y_pred, filter_size=11, sigma=1.5, k1=0.01, k2=0.03):
    """Structural similarity of each frame (Wang et al. 2004), peak 1.0:
    Gaussian window 11x11, sigma 1.5, valid positions only, averaged over
    positions and channels (the convention of ``tf.image.ssim``)."""
    y_true, y_pred = _frames_first(y_true, y_pred)
    shape = ops.shape(y_pred)
    height, width, channels = y_pred.shape[-3:]

    def per_channel_images(frames):
        # Channels join the batch: every channel is blurred the same way.
        x = ops.reshape(frames, (-1, height, width, channels))
        x = ops.transpose(x, (0, 3, 1, 2))
        return ops.reshape(x, (-1, height, width, 1))

    x, y = per_channel_images(y_true), per_channel_images(y_pred)
    g = _gaussian_window(filter_size, sigma, y.dtype)
    # The Gaussian window is separable: two 1-D passes instead of one 2-D
    # (22 instead of 121 multiplications per pixel; depthwise 2-D
    # convolutions are also slow on CPUs).
    rows = ops.reshape(g, (filter_size, 1, 1, 1))
    cols = ops.reshape(g, (1, filter_size, 1, 1))

    def blur(image):
        image = ops.conv(image, rows, strides=1, padding="valid")
        return ops.conv(image, cols, strides=1, padding="valid")

    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x * mu_x
    var_y = blur(y * y) - mu_y * mu_y
    cov = blur(x * y) - mu_x * mu_y
    c1, c2 = k1**2, k2**2
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / (
        (mu_x * mu_x + mu_y * mu_y + c1) * (var_x + var_y + c2))
    per_image = ops.reshape(ops.mean(ssim_map, axis=(1, 2, 3)), (-1, channels))
    return ops.reshape(ops.mean(per_image, axis=-1), shape[:-3])


def per_timestep(metric_fn, y_true, y_pred):
    """``metric_fn`` averaged over the batch only: one value per timestep."""
    return ops.mean(metric_fn(y_true, y_pred), axis=0)


class _FrameLoss(keras.losses.Loss):
    """A loss from a per-(batch, frame) function, mean over batch and frames."""

    fn = None
    default_name = None

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name or self.default_name, reduction=reduction,
                         dtype=dtype)

    def call(self, y_true, y_pred):
        return type(self).fn(y_true, y_pred)


class _FrameMetric(keras.metrics.MeanMetricWrapper):
    """A metric from a per-(batch, frame) function, mean over batch and frames."""

    fn = None
    default_name = None

    def __init__(self, name=None, dtype=None):
        super().__init__(type(self).fn, name=name or self.default_name,
                         dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


@keras.saving.register_keras_serializable(package="keras_vidrep")
class FrameCrossEntropy(_FrameLoss):
    """Loss: Bernoulli cross-entropy summed over a frame's pixels."""

    fn = staticmethod(frame_cross_entropy)
    default_name = "frame_cross_entropy"


@keras.saving.register_keras_serializable(package="keras_vidrep")
class FrameSquaredError(_FrameLoss):
    """Loss: squared error summed over a frame's pixels."""

    fn = staticmethod(frame_squared_error)
    default_name = "frame_squared_error"


@keras.saving.register_keras_serializable(package="keras_vidrep")
class FrameMSE(_FrameMetric):
    """Metric: squared error summed over a frame's pixels (MSE per frame)."""

    fn = staticmethod(frame_squared_error)
    default_name = "frame_mse"


@keras.saving.register_keras_serializable(package="keras_vidrep")
class FrameMAE(_FrameMetric):
    """Metric: absolute error summed over a frame's pixels (MAE per frame)."""

    fn = staticmethod(frame_absolute_error)
    default_name = "frame_mae"


@keras.saving.register_keras_serializable(package="keras_vidrep")
class FrameCrossEntropyMetric(_FrameMetric):
    """Metric: Bernoulli cross-entropy summed over a frame's pixels."""

    fn = staticmethod(frame_cross_entropy)
    default_name = "frame_cross_entropy"


@keras.saving.register_keras_serializable(package="keras_vidrep")
class PSNR(_FrameMetric):
    """Metric: PSNR of each frame in dB (peak 1.0)."""

    fn = staticmethod(frame_psnr)
    default_name = "psnr"


@keras.saving.register_keras_serializable(package="keras_vidrep")
class SSIM(_FrameMetric):
    """Metric: SSIM of each frame."""

    fn = staticmethod(frame_ssim)
    default_name = "ssim"


LOSSES = {"cross_entropy": FrameCrossEntropy, "mse": FrameSquaredError}
METRICS = (FrameMSE, FrameMAE, FrameCrossEntropyMetric, PSNR, SSIM)


def default_metrics():
    """Fresh instances of every per-frame metric."""
    return [metric() for metric in METRICS]
