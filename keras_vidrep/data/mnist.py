"""Finding and reading the MNIST digits, online or offline."""

import gzip
import os
import socket
import zipfile
import zlib
from pathlib import Path

import numpy as np

from keras_vidrep._validation import InputError
from keras_vidrep._validation import check_one_of

MNIST_ENV = "KERAS_VIDREP_MNIST"
SPLITS = ("train", "test")
# With only the MNIST *test* files (the offline copy our machines carry), the
# first 8,000 digits are training digits and the last 2,000 test digits.
OFFLINE_TRAIN_COUNT = 8000

_IDX_IMAGES = {"train": "train-images-idx3-ubyte", "test": "t10k-images-idx3-ubyte"}
_IDX_LABELS = {"train": "train-labels-idx1-ubyte", "test": "t10k-labels-idx1-ubyte"}
_IDX_MAGIC = {3: 2051, 1: 2049}  # images have 3 dims, labels 1


class MNISTNotFoundError(FileNotFoundError):
    """No MNIST digits were found in any of the places searched."""


def read_idx(path, ndim):
    """Reads an MNIST IDX file (optionally gzipped) into a uint8 array."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise InputError(f"{path} is damaged: cannot decompress it "
                         f"({type(error).__name__}: {error}).") from error
    magic = int.from_bytes(raw[:4], "big")
    if magic != _IDX_MAGIC[ndim]:
        raise InputError(
            f"{path} is not an MNIST IDX file with {ndim} dimension(s): "
            f"expected magic number {_IDX_MAGIC[ndim]}, received {magic}."
        )
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise InputError(
            f"{path} is truncated: its header announces {dims} values, "
            f"received {data.size}."
        )
    return data.reshape(dims)


def _find_idx(folder, stem):
    for name in (stem + ".gz", stem):
        if (folder / name).is_file():
            return folder / name
    return None


def _load_idx_folder(folder, split):
    test_images = _find_idx(folder, _IDX_IMAGES["test"])
    test_labels = _find_idx(folder, _IDX_LABELS["test"])
    train_images = _find_idx(folder, _IDX_IMAGES["train"])
    train_labels = _find_idx(folder, _IDX_LABELS["train"])
    if train_images and train_labels and test_images and test_labels:
        images, labels = (train_images, train_labels) if split == "train" else (
            test_images, test_labels)
        return _checked_pair(read_idx(images, 3), read_idx(labels, 1),
                             f"{images} with {labels}")
    if test_images and test_labels:
        images, labels = _checked_pair(
            read_idx(test_images, 3), read_idx(test_labels, 1),
            f"{test_images} with {test_labels}")
        part = (slice(None, OFFLINE_TRAIN_COUNT) if split == "train"
                else slice(OFFLINE_TRAIN_COUNT, None))
        return images[part], labels[part]
    return None


def _checked_pair(images, labels, where):
    """The digits as MNIST stores them, uint8 (N, 28, 28) with N labels, or
    a clear error: the generator scales uint8 values by 1/255, so float
    images in [0, 1] would give all-black clips, and other sizes would be
    placed on the canvas as if they were 28x28."""
    if images.ndim != 3 or images.shape[1:] != (28, 28) or (
            labels.shape != (images.shape[0],)):
        raise InputError(
            f"{where}: expected images (N, 28, 28) and N labels. Received: "
            f"images of shape {images.shape}, labels of shape {labels.shape}.")
    if images.dtype != np.uint8:
        low, high = ((images.min(), images.max()) if images.size else (0, 0))
        raise InputError(
            f"{where}: expected uint8 images (0-255), as MNIST stores them. "
            f"Received: images of dtype {images.dtype} (values from "
            f"{low:g} to {high:g}); "
            "multiply [0, 1] images by 255 and cast them to uint8.")
    return images, labels.astype(np.int64)


def _load_npz(path, split):
    if not zipfile.is_zipfile(path):
        # np.load would take anything else for a pickle and say so.
        raise InputError(f"{path} is not a readable mnist.npz: not a zip "
                         "archive (an .npz is one).")
    try:
        with np.load(path, allow_pickle=False) as data:
            return _checked_pair(data[f"x_{split}"], data[f"y_{split}"], path)
    except (OSError, KeyError, zipfile.BadZipFile) as error:
        raise InputError(
            f"{path} is not a readable mnist.npz (expected arrays x_train, "
            f"y_train, x_test, y_test): {type(error).__name__}: "
            f"{error}") from error


def _load_from(location, split):
    """Digits from a folder of IDX files, an ``mnist.npz`` or a folder holding
    one; ``None`` when the location holds no MNIST."""
    location = Path(location).expanduser()
    if location.is_file() and location.suffix == ".npz":
        return _load_npz(location, split)
    if location.is_dir():
        found = _load_idx_folder(location, split)
        if found is None and (location / "mnist.npz").is_file():
            found = _load_npz(location / "mnist.npz", split)
        return found
    return None


def keras_cache_path():
    """Where ``keras.datasets.mnist`` keeps its download."""
    keras_home = os.environ.get("KERAS_HOME", os.path.join("~", ".keras"))
    return Path(keras_home).expanduser() / "datasets" / "mnist.npz"


def _online(host="storage.googleapis.com", port=443, timeout=3.0):
    try:
        socket.create_connection((host, port), timeout=timeout).close()
        return True
    except OSError:
        return False


def load_mnist_digits(split="train", source=None, download=True):
    """Loads MNIST digits for building bouncing-digit sequences.

    Looks, in order, at:

    1. ``source``: a folder of MNIST IDX files (``.gz`` or not), an
       ``mnist.npz`` file, or a folder holding ``mnist.npz``;
    2. the folder or file named by the environment variable
       ``KERAS_VIDREP_MNIST``;
    3. the Keras cache, ``~/.keras/datasets/mnist.npz`` (``$KERAS_HOME``);
    4. a download through ``keras.datasets.mnist`` when ``download`` is true and
       the machine is online.

    A location given explicitly (``source`` or the environment variable) that
    holds no MNIST is an error, not a reason to look further: a mistyped path
    should not silently turn into a download.

    With the full MNIST, the usual 60,000 / 10,000 split applies. When only the
    test files exist (the offline copy), digits 0-7999 are the ``"train"``
    digits and 8000-9999 the ``"test"`` digits.

    Args:
        split: ``"train"`` or ``"test"``.
        source: optional path, see above.
        download: whether step 4 may run.

    Returns:
        ``(images, labels)``: uint8 array ``(N, 28, 28)`` and int64 array
        ``(N,)``.

    Raises:
        ValueError: unknown ``split``.
        MNISTNotFoundError: nothing found; the message lists where it looked.
    """
    check_one_of("split", split, SPLITS)
    looked = []
    explicit = [("source argument", source),
                (f"environment variable {MNIST_ENV}", os.environ.get(MNIST_ENV))]
    for what, location in explicit:
        if location:
            found = _load_from(location, split)
            if found is None:
                raise MNISTNotFoundError(
                    f"The {what} points at {location!s}, which holds no MNIST: "
                    "expected a folder with t10k-images-idx3-ubyte(.gz) and "
                    "t10k-labels-idx1-ubyte(.gz) (plus the train-* files for the "
                    "full split), an mnist.npz, or a folder holding mnist.npz."
                )
            return found
        looked.append(f"{what} (not set)")
    cache = keras_cache_path()
    if cache.is_file():
        return _load_npz(cache, split)
    looked.append(f"Keras cache {cache} (absent)")
    if download and _online():
        import keras

        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
        if split == "train":
            return x_train, y_train.astype(np.int64)
        return x_test, y_test.astype(np.int64)
    looked.append("download through keras.datasets.mnist ("
                  + ("machine offline" if download else "download=False") + ")")
    raise MNISTNotFoundError(
        "MNIST digits not found. Looked at: " + "; ".join(looked) + ". "
        "Provide them with --digits PATH on the command line, "
        f"load_mnist_digits(source=PATH) or {MNIST_ENV}=PATH, "
        "PATH being a folder of MNIST IDX files (.gz) or an mnist.npz, or run "
        "once on a machine with internet access to fill the Keras cache."
    )
