"""Data: MNIST digits, bouncing-digit videos, the fixed Moving MNIST test set."""

from keras_vidrep.data.bouncing_digits import BouncingDigitBatches
from keras_vidrep.data.bouncing_digits import bouncing_digits
from keras_vidrep.data.bouncing_digits import bouncing_digits_eval
from keras_vidrep.data.mnist import MNISTNotFoundError
from keras_vidrep.data.mnist import load_mnist_digits
from keras_vidrep.data.moving_mnist import MovingMNISTNotFoundError
from keras_vidrep.data.moving_mnist import moving_mnist_test
from keras_vidrep.data.pipeline import training_pairs

__all__ = [
    "BouncingDigitBatches",
    "MNISTNotFoundError",
    "MovingMNISTNotFoundError",
    "bouncing_digits",
    "bouncing_digits_eval",
    "load_mnist_digits",
    "moving_mnist_test",
    "training_pairs",
]
