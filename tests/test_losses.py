"""Per-frame losses and metrics against independent computations."""

import numpy as np
import pytest
import tensorflow as tf

import keras
from keras import ops

from keras_vidrep.models import PSNR
from keras_vidrep.models import SSIM
from keras_vidrep.models import FrameCrossEntropy
from keras_vidrep.models import FrameCrossEntropyMetric
from keras_vidrep.models import FrameMAE
from keras_vidrep.models import FrameMSE
from keras_vidrep.models import FrameSquaredError
from keras_vidrep.models import per_timestep
from keras_vidrep.models.losses import frame_squared_error
from keras_vidrep.models.losses import frame_ssim


def pair(seed=0, shape=(3, 4, 16, 16, 1)):
    rng = np.random.default_rng(seed)
    y_true = (rng.random(shape) > 0.7).astype("float32")
    y_pred = np.clip(y_true * 0.8 + rng.random(shape) * 0.3, 0.01, 0.99)
    return y_true, y_pred.astype("float32")


@pytest.mark.backend_agnostic
def test_losses_and_metrics_match_numpy():
    y_true, y_pred = pair()
    t, p = y_true.astype("float64"), y_pred.astype("float64")
    per_frame = {
        "mse": ((p - t) ** 2).sum(axis=(2, 3, 4)),
        "mae": np.abs(p - t).sum(axis=(2, 3, 4)),
        "xent": -(t * np.log(p) + (1 - t) * np.log(1 - p)).sum(axis=(2, 3, 4)),
        "psnr": 10 * np.log10(1.0 / ((p - t) ** 2).mean(axis=(2, 3, 4))),
    }
    checks = [(FrameSquaredError(), "mse"), (FrameCrossEntropy(), "xent")]
    for loss, key in checks:
        assert float(loss(y_true, y_pred)) == pytest.approx(
            per_frame[key].mean(), rel=1e-5)
    metrics = [(FrameMSE(), "mse"), (FrameMAE(), "mae"),
               (FrameCrossEntropyMetric(), "xent"), (PSNR(), "psnr")]
    for metric, key in metrics:
        # Two updates: the metric keeps the mean over all frames seen.
        metric.update_state(y_true[:2], y_pred[:2])
        metric.update_state(y_true[2:], y_pred[2:])
        assert float(metric.result()) == pytest.approx(per_frame[key].mean(),
                                                       rel=1e-5), key
    curve = ops.convert_to_numpy(per_timestep(frame_squared_error, y_true, y_pred))
    np.testing.assert_allclose(curve, per_frame["mse"].mean(axis=0), rtol=1e-5)


@pytest.mark.parametrize("seed, shape", [(1, (2, 3, 32, 32, 1)),
                                         (3, (2, 2, 24, 24, 3))])
def test_ssim_matches_tf_image_ssim(seed, shape):
    y_true, y_pred = pair(seed, shape)
    ours = ops.convert_to_numpy(frame_ssim(y_true, y_pred))
    theirs = tf.image.ssim(tf.constant(y_true), tf.constant(y_pred),
                           max_val=1.0).numpy()
    np.testing.assert_allclose(ours, theirs, atol=1e-5)
    metric = SSIM()
    metric.update_state(y_true, y_pred)
    assert float(metric.result()) == pytest.approx(theirs.mean(), abs=1e-5)
    identical = ops.convert_to_numpy(frame_ssim(y_true, y_true))
    np.testing.assert_allclose(identical, 1.0, atol=1e-5)


def test_psnr_matches_tf_image_psnr():
    y_true, y_pred = pair(2)
    metric = PSNR()
    metric.update_state(y_true, y_pred)
    theirs = tf.image.psnr(y_true, y_pred, max_val=1.0).numpy()
    assert float(metric.result()) == pytest.approx(theirs.mean(), rel=1e-5)


@pytest.mark.backend_agnostic
def test_losses_and_metrics_serialize():
    for obj in (FrameCrossEntropy(), FrameSquaredError(name="sq"), SSIM(),
                FrameMSE(name="future_mse")):
        clone = keras.saving.deserialize_keras_object(
            keras.saving.serialize_keras_object(obj))
        assert type(clone) is type(obj) and clone.name == obj.name
