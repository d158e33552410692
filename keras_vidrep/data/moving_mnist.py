"""The standard fixed Moving MNIST test set (Srivastava et al. 2015)."""

import os
from pathlib import Path

import numpy as np

from keras_vidrep._validation import InputError

MOVING_MNIST_ENV = "KERAS_VIDREP_MOVING_MNIST"
MOVING_MNIST_FILE = "mnist_test_seq.npy"


class MovingMNISTNotFoundError(FileNotFoundError):
    """The fixed Moving MNIST test set is not available."""


def _from_npy(path, num_sequences):
    # Memory-mapped: 10,000 sequences are 3.3 GB as float32, so only the
    # sequences asked for are converted.
    try:
        raw = np.load(path, mmap_mode="r")
    except (ValueError, OSError, EOFError) as error:  # not an .npy file
        raise InputError(
            f"{path} is not the Moving MNIST test set: it cannot be read as "
            "an .npy array (expected uint8 of shape (frames, sequences, 64, "
            f"64)). Received: a file of {Path(path).stat().st_size:,} bytes "
            f"({type(error).__name__}: {str(error).strip()[:120]})"
            ) from error
    if not isinstance(raw, np.ndarray):  # an .npz archive
        raise InputError(
            f"{path} is not the Moving MNIST test set: expected an .npy "
            f"array. Received: an archive of {sorted(raw.files)}")
    if raw.ndim != 4 or raw.dtype != np.uint8 or raw.shape[2:] != (64, 64):
        raise InputError(
            f"{path} is not the Moving MNIST test set: expected a uint8 array "
            "of shape (frames, sequences, 64, 64) (time-major, e.g. "
            f"(20, 10000, 64, 64)). Received: dtype={raw.dtype}, "
            f"shape={raw.shape}"
        )
    count = raw.shape[1] if num_sequences is None else min(num_sequences,
                                                           raw.shape[1])
    batch_major = np.swapaxes(raw[:, :count], 0, 1)
    return (batch_major.astype(np.float32) / 255.0)[..., None]


def _from_tfds(num_sequences):
    import tensorflow_datasets as tfds

    split = "test" if num_sequences is None else f"test[:{num_sequences}]"
    dataset = tfds.load("moving_mnist", split=split, download=False)
    videos = [example["image_sequence"] for example in tfds.as_numpy(dataset)]
    return np.stack(videos).astype(np.float32) / 255.0


def moving_mnist_test(path=None, num_sequences=None):
    """Loads the fixed Moving MNIST test set, batch-major, float32 in [0, 1].

    Looks at ``path`` (the ``mnist_test_seq.npy`` file or a folder holding it),
    then the environment variable ``KERAS_VIDREP_MOVING_MNIST``, then the
    TFDS dataset ``moving_mnist`` if it is already prepared in the TFDS data
    folder (no download is attempted).

    Args:
        path: optional file or folder, see above.
        num_sequences: optional, load only the first ``num_sequences``.

    Returns:
        float32 array (sequences, 20, 64, 64, 1).

    Raises:
        MovingMNISTNotFoundError: not found anywhere; says where it looked.
        ValueError: the file exists but does not have the expected layout.
    """
    location = path or os.environ.get(MOVING_MNIST_ENV)
    if location:
        location = Path(location).expanduser()
        if location.is_dir():
            location = location / MOVING_MNIST_FILE
        if not location.is_file():
            raise MovingMNISTNotFoundError(
                f"No Moving MNIST test set at {location}: expected the file "
                f"{MOVING_MNIST_FILE} (uint8, shape (20, 10000, 64, 64)).")
        return _from_npy(location, num_sequences)
    try:
        return _from_tfds(num_sequences)
    except Exception as error:  # TFDS raises several types when absent
        raise MovingMNISTNotFoundError(
            "The Moving MNIST test set is not available. Looked at: the path "
            f"argument (not given); environment variable {MOVING_MNIST_ENV} "
            f"(not set); TFDS dataset 'moving_mnist' ({type(error).__name__}: "
            f"{str(error).splitlines()[0] if str(error) else 'not prepared'}). "
            f"Download {MOVING_MNIST_FILE} on a machine with internet access and "
            f"pass its path, or set {MOVING_MNIST_ENV}."
        ) from error
