"""keras_vidrep: unsupervised learning of video representations with LSTMs.

``import keras_vidrep`` registers every layer, model, loss and metric with
Keras' serialization, so ``keras.saving.load_model`` reads our ``.keras``
files. ``layers`` and ``models`` are pure ``keras.ops`` and need no
TensorFlow (they run under ``KERAS_BACKEND=jax`` on machines without it);
``data``, ``training`` and the rest use TensorFlow and are imported on first
use.
"""

import importlib
import sys

from keras_vidrep import _moved
from keras_vidrep._version import __version__  # noqa: F401

# Before anything else: the old module paths (keras_vidrep.checkpoints, ...)
# keep working (keras_vidrep._moved).
_moved.install()

_LAZY_SUBMODULES = ("captions", "data", "evaluation", "experiments", "layers",
                    "models", "serving", "tasks", "training", "zoo",
                    # old paths, through keras_vidrep._moved
                    "distributed", "saved_model", "visualize")


def _register_with_keras():
    """Imports the layers and models: their classes register with Keras'
    serialization as they are defined."""
    from keras_vidrep import layers  # noqa: F401
    from keras_vidrep import models  # noqa: F401


def _run_as_program():
    """Whether Python imports this package to run it, ``python -m
    keras_vidrep``: while it does, ``sys.argv[0]`` is ``"-m"`` (documented
    behaviour of ``-m``), and the module named after ``-m`` is this one."""
    if sys.argv[:1] != ["-m"]:
        return False
    words = getattr(sys, "orig_argv", [])
    return any(word == "-m" and words[i + 1:i + 2] == ["keras_vidrep"]
               for i, word in enumerate(words))


# The command line registers for the commands that need Keras, once their
# arguments are checked (keras_vidrep._entry); every other import does now.
if not _run_as_program():
    _register_with_keras()


def load(name_or_path, weights="pretrained", compile=True):
    """A pretrained zoo model, a ``.keras`` file or a training run, ready to
    use.

    Args:
        name_or_path: a zoo name (``list_models()``: twelve video models
            and the captioners), a preset directory, a ``.keras`` file, or a
            folder written by ``keras-vidrep train`` or ``train-captioner``
            (its ``model.keras``).
        weights: ``"pretrained"`` (trained weights) or ``None`` (the same
            architecture, fresh weights).
        compile: compile with the zoo's loss and metrics, ready for
            ``evaluate`` and ``fit`` (fine-tuning).

    Returns:
        A ``VideoSeq2Seq``: ``model.predict(frames)`` with frames of shape
        ``(batch, 10, 64, 64, 1)`` in [0, 1] gives a dict of
        ``"reconstruction"`` and/or ``"future"`` frames. A captioner is an
        ``S2VTCaptioner``: ``model.generate(frames, beam_size=1)`` gives
        word ids (``keras_vidrep.captions.decode`` makes them words).

    Raises:
        ValueError: an unknown name (the message lists the valid ones).
        FileNotFoundError: a missing file (named).
        OSError: a file that cannot be read (named, with the reason).

    Example:

    >>> model = keras_vidrep.load("composite_conv")
    >>> outputs = model.predict(frames)
    >>> outputs["future"].shape
    (batch, 10, 64, 64, 1)

    See ``keras_vidrep.zoo.loading.load``.
    """
    from keras_vidrep.zoo import loading as zoo

    return zoo.load(name_or_path, weights=weights, compile=compile)


def train(name, **kwargs):
    """Trains the zoo's model ``name`` (its architecture; ``initial_weights``
    may name a zoo model), as ``keras-vidrep train NAME`` does.

    Takes the arguments of ``keras_vidrep.training.train`` (``steps``,
    ``batch_size``, ``learning_rate``, ``out``, ``model_overrides``,
    ``initial_weights``, ...) and ``zoo_architecture=False`` to build over
    the builder's defaults instead; see ``keras_vidrep.zoo.recipes.train``.
    Returns the trained model; the run folder (default ``runs/NAME``) holds
    its checkpoints and records and resumes.

    Example:

    >>> model = keras_vidrep.train("predictor_conv", steps=1000,
    ...                            initial_weights="composite_conv")
    """
    from keras_vidrep.zoo.recipes import train as train_zoo_model

    return train_zoo_model(name, **kwargs)


def list_models():
    """The zoo's model names."""
    from keras_vidrep.zoo import loading as zoo

    return zoo.list_models()


def export(model, base_path, version=1, overwrite=False,
           format="saved_model"):
    """A SavedModel that TensorFlow Serving loads with no Python of ours.

    Writes ``base_path/version/`` with the signatures ``serving_default``
    (``frames`` -> ``reconstruction`` and/or ``future``) and ``encode``
    (``frames`` -> ``representation``); for a captioner, the signature
    ``caption`` (``frames`` -> a ``tf.string`` caption, greedy). An existing
    version is refused unless ``overwrite``. Returns the folder. See
    ``keras_vidrep.serving.saved_model.export`` and ``export_captioner``.

    ``format="onnx"`` writes ``base_path/version/model.onnx`` instead (a
    video model; the same input and output names; returns the file; see
    ``keras_vidrep.serving.saved_model.export_onnx``).

    Example:

    >>> keras_vidrep.export(keras_vidrep.load("composite_conv"),
    ...                     "saved_models/composite_conv", version=3)
    """
    from keras_vidrep._validation import check_one_of
    from keras_vidrep.models.captioner import S2VTCaptioner
    from keras_vidrep.serving import saved_model

    check_one_of("format", format, ("saved_model", "onnx"))
    if format == "onnx":
        return saved_model.export_onnx(model, base_path, version=version,
                                       overwrite=overwrite)
    if isinstance(model, S2VTCaptioner):
        from keras_vidrep.captions.tokens import id_to_word
        from keras_vidrep.captions.tokens import make_tokenizer

        return saved_model.export_captioner(
            model, base_path, id_to_word(make_tokenizer()), version=version,
            overwrite=overwrite)
    return saved_model.export(model, base_path, version=version,
                              overwrite=overwrite)


def __getattr__(name):
    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f"keras_vidrep.{name}")
    raise AttributeError(f"module 'keras_vidrep' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_LAZY_SUBMODULES])
