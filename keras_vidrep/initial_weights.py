"""Starting a run from trained weights (``--initial-weights``).

Used by both training loops (``keras_vidrep.training`` and
``keras_vidrep.distributed``), which is why it lives apart from either.
"""

import tempfile
import warnings
import zipfile
from pathlib import Path

import keras

from keras_vidrep.checkpoints import TrainingError


def _readable_weights_file(path):
    """Whether ``path`` is a whole zip (.keras) or HDF5 (.weights.h5) file."""
    if path.name.endswith(".keras"):
        return zipfile.is_zipfile(path)
    import h5py

    try:
        with h5py.File(path, "r"):
            return True
    except OSError:
        return False


def load_initial_weights(model, source):
    """Loads a zoo name's pretrained weights, a ``.weights.h5`` or a
    ``.keras`` file into ``model``; clear errors for anything else."""
    from keras_vidrep import zoo

    source = str(source)
    if source in zoo.list_models():
        path = zoo.weights_path(source)
    else:
        path = Path(source)
        if not path.name.endswith((".weights.h5", ".keras")):
            raise TrainingError(
                "`initial_weights` must be a zoo name, a .weights.h5 file or "
                f"a .keras file. Received: initial_weights={source!r}")
    if not path.is_file():
        raise TrainingError(f"No weights file at {path} (initial_weights="
                            f"{source!r}).")
    if not _readable_weights_file(path):
        raise TrainingError(
            f"Cannot read {path}: it is damaged or truncated (a .keras file "
            "is a zip archive, a .weights.h5 file an HDF5 file).")
    if path.name.endswith(".keras"):
        # Read apart from the fitting below: a file Keras will not read
        # safely (it holds code, as a Lambda layer does) is not one whose
        # weights "do not fit".
        import keras_vidrep.models.captioner  # noqa: F401 - registers it

        try:
            trained = keras.saving.load_model(path, compile=False,
                                              safe_mode=True)
        except Exception as error:  # noqa: BLE001 - reworded, with cause
            raise TrainingError(
                f"Cannot read {path} as a Keras model"
                + (" safely: it holds code (e.g. a Lambda layer), which "
                   "keras_vidrep never runs; save its weights "
                   "(.weights.h5) and pass those"
                   if "safe_mode" in str(error) else
                   f" ({type(error).__name__}: "
                   f"{str(error).strip().splitlines()[0][:200]})")
                + f". Received: initial_weights={source!r}") from error
    try:
        with warnings.catch_warnings():
            # The run's optimizer is new: that the file's optimizer state is
            # not loaded is what fine-tuning means, not news.
            warnings.filterwarnings(
                "ignore", message="Skipping variable loading for optimizer")
            if path.name.endswith(".keras"):
                # Through a weights file, matched layer by layer as
                # `load_weights` does (a scheduled-sampling clock may be
                # absent).
                with tempfile.TemporaryDirectory() as folder:
                    weights = Path(folder) / "trained.weights.h5"
                    trained.save_weights(weights)
                    model.load_weights(weights)
            else:
                model.load_weights(path)
    except ValueError as error:
        raise TrainingError(
            f"The weights in {path} do not fit {model.name} as configured "
            f"for this run: {error}") from error
