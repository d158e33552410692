"""Data: MNIST digits, bouncing-digit videos, the fixed Moving MNIST test set,
and your own videos (``keras_vidrep.data.videos``)."""

from keras_vidrep.data.bouncing_digits import BouncingDigitBatches
from keras_vidrep.data.bouncing_digits import bouncing_digits
from keras_vidrep.data.bouncing_digits import bouncing_digits_eval
from keras_vidrep.data.mnist import MNISTNotFoundError
from keras_vidrep.data.mnist import load_mnist_digits
from keras_vidrep.data.moving_mnist import MovingMNISTNotFoundError
from keras_vidrep.data.moving_mnist import moving_mnist_test
from keras_vidrep.data.pipeline import training_pairs
from keras_vidrep.data.videos import ClipBatches
from keras_vidrep.data.videos import VideoClipStream
from keras_vidrep.data.videos import clip_windows
from keras_vidrep.data.videos import read_video
from keras_vidrep.data.videos import read_videos
from keras_vidrep.data.videos import split_by_video

__all__ = [
    "BouncingDigitBatches",
    "ClipBatches",
    "MNISTNotFoundError",
    "MovingMNISTNotFoundError",
    "VideoClipStream",
    "bouncing_digits",
    "bouncing_digits_eval",
    "clip_windows",
    "load_mnist_digits",
    "moving_mnist_test",
    "read_video",
    "read_videos",
    "split_by_video",
    "training_pairs",
]
