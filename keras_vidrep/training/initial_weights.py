"""Starting a run from trained weights (``--initial-weights``).

Used by both training loops (``keras_vidrep.training.trainer`` and
``keras_vidrep.training.multi_worker``), which is why it lives apart from
either. It knows no zoo: a zoo name is resolved to its model above
(``keras_vidrep.zoo.recipes``).
"""

import tempfile
import warnings
import zipfile
from pathlib import Path

import keras

from keras_vidrep.training.checkpoints import TrainingError


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


def _transfer(model, trained):
    """Copies ``trained``'s weights into ``model`` by weight path; returns
    the paths of the weights ``model`` has and ``trained`` has not.

    What this adds to ``load_weights`` (which matches layer by layer and
    refuses a layer whose weights differ in number): a conditional model
    started from its unconditioned sibling. Their decoders differ only in
    the input kernel with which a conditional decoder reads the previous
    frame; that kernel starts at zeros, so that the conditional model
    starts out computing exactly what its sibling computes and training
    teaches it what to take from the frame. Any other weight the source
    lacks, or one whose shape differs, is refused.
    """
    given = {weight.path: weight for weight in trained.weights}
    new, wrong = [], []
    for weight in model.weights:
        match = given.get(weight.path)
        if match is None:
            new.append(weight)
        elif tuple(match.shape) != tuple(weight.shape):
            wrong.append(f"{weight.path}: {tuple(match.shape)} given, "
                         f"{tuple(weight.shape)} expected")
    input_kernels = {weight.path for weight in new
                     if weight.path.endswith("/kernel")
                     and weight.path.rsplit("/", 1)[0] + "/recurrent_kernel"
                     in given}
    # A scheduled-sampling clock is state, not a weight to learn.
    other = [weight.path for weight in new
             if weight.path not in input_kernels
             and not weight.path.endswith("teacher_forcing_step")]
    if wrong or other:
        raise ValueError("; ".join(
            wrong + [f"{path}: not in the source" for path in other]))
    for weight in model.weights:
        if weight.path in input_kernels:
            weight.assign(keras.ops.zeros(weight.shape, weight.dtype))
        elif weight.path in given:
            weight.assign(keras.ops.cast(given[weight.path], weight.dtype))
    return sorted(input_kernels)


def _read_keras_file(path, source):
    """The model in a ``.keras`` file, read safely; clear errors."""
    # Read apart from the fitting: a file Keras will not read safely (it
    # holds code, as a Lambda layer does) is not one whose weights "do not
    # fit".
    import keras_vidrep.models.captioner  # noqa: F401 - registers it

    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
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


def weights_label(source):
    """How a run names its initial weights (``run.json``, messages): a
    model's name (a zoo model's is its zoo name), else the path as given."""
    if source is None:
        return None
    return source.name if isinstance(source, keras.Model) else str(source)


def load_initial_weights(model, source):
    """Loads trained weights into ``model``: those of a trained model (a
    zoo name is resolved to one above this package, by
    ``keras_vidrep.zoo.recipes``), a ``.weights.h5`` file or a ``.keras``
    file; clear errors for anything else.

    A conditional model also starts from its unconditioned sibling (a
    model or a ``.keras`` file): the decoders' frame-input kernels start at
    zeros (see ``_transfer``), and their paths are printed.
    """
    label = weights_label(source)
    if isinstance(source, keras.Model):
        trained = source
    else:
        path = Path(source)
        if not path.name.endswith((".weights.h5", ".keras")):
            raise TrainingError(
                "`initial_weights` must be a trained model, a zoo name (in "
                "keras_vidrep.train and the command line), a .weights.h5 "
                f"file or a .keras file. Received: initial_weights={label!r}")
        if not path.is_file():
            raise TrainingError(f"No weights file at {path} "
                                f"(initial_weights={label!r}).")
        if not _readable_weights_file(path):
            raise TrainingError(
                f"Cannot read {path}: it is damaged or truncated (a .keras "
                "file is a zip archive, a .weights.h5 file an HDF5 file).")
        trained = (_read_keras_file(path, label)
                   if path.name.endswith(".keras") else None)
    try:
        with warnings.catch_warnings():
            # The run's optimizer is new: that the file's optimizer state is
            # not loaded is what fine-tuning means, not news.
            warnings.filterwarnings(
                "ignore", message="Skipping variable loading for optimizer")
            if trained is not None:
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
        try:
            if trained is None:
                raise error
            started = _transfer(model, trained)
        except ValueError:
            where = ("the model " + label if trained is source
                     else str(path))
            raise TrainingError(
                f"The weights in {where} do not fit {model.name} as "
                f"configured for this run: {error}") from error
        print(f"{model.name}: started from {label}; "
              f"{len(started)} frame-input kernel(s) start at zeros: "
              + ", ".join(started))
