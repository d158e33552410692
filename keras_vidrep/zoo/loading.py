"""The model zoo: named presets, pretrained weights, ``load``.

Every name of ``keras_vidrep.models.VARIANTS`` is a preset. ``PRESETS``
(read on first use from the table that ships with the package, see
``keras_vidrep.presets``) maps it to its builder configuration (the zoo's
sizes, chosen for the 200 MiB budget of ``saved_models/``), its training
recipe (the exact ``keras-vidrep train`` commands), parameter count, the
sha256 of its weights and its evaluation summary; the weights are found or
fetched by ``keras_vidrep.presets.resolve``. The table, the preset
directories' ``config.json`` and ``metadata.json``, the model cards and the
zoo's index are generated from the checkout's records by
``keras_vidrep.zoo.records``. What is particular to each model class
(building, compiling, evaluating, exporting) is its ``PresetKind``
(``keras_vidrep.zoo.kinds``).

Sizes, for the 200 MiB budget of ``saved_models/``, which holds every model
twice (the weights file and the SavedModel's variables, 8 bytes a
parameter): conv models use two ConvLSTM layers of 64 filters (3x3) on 4x4
patches (0.9-1.4M parameters); fc models one ``PeepholeLSTM`` of 128 units,
64 for the conditional ones, whose decoders also read the 4096-pixel frame
(2.4-3.7M parameters). The whole zoo is then about 25M parameters, about
190 MiB; the paper's 2048 units would need about 140 MB for one composite
model.
"""

import json
import os
from pathlib import Path

from keras_vidrep._validation import InputError
from keras_vidrep.zoo.kinds import FINE_TUNE_LEARNING_RATE  # noqa: F401
from keras_vidrep.zoo.kinds import kind_for
from keras_vidrep.zoo.kinds import kind_of
from keras_vidrep.zoo.kinds import list_names

ROOT = Path(__file__).resolve().parents[2]
SAVED_MODELS_ENV = "KERAS_VIDREP_SAVED_MODELS"
WEIGHTS_FILE = "model.weights.h5"


def _presets():
    from keras_vidrep.presets import preset_table

    return {name: {**entry,
                   "artifact": f"saved_models/{name}/{WEIGHTS_FILE}",
                   "evaluation": f"zoo/evaluations/{name}.json",
                   "card": f"zoo/cards/{name}.md"}
            for name, entry in preset_table().items()}


def __getattr__(name):
    # PRESETS is read from the packaged table on first use, not at import.
    if name == "PRESETS":
        return _presets()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def saved_models_dir():
    """``$KERAS_VIDREP_SAVED_MODELS``, else ``saved_models/`` of the checkout."""
    return Path(os.environ.get(SAVED_MODELS_ENV, ROOT / "saved_models"))


def list_models():
    """The zoo's model names, kind by kind (``keras_vidrep.zoo.kinds``): the
    twelve video models, then the captioners."""
    return list_names()


def _check_name(name):
    kind_of(name)


def _compile(model):
    """Compiled for fine-tuning as its kind compiles it: a video model with
    RMSProp at ``FINE_TUNE_LEARNING_RATE``, a captioner with its word loss."""
    return kind_for(model).compile(model)


def weights_path(name):
    """The pretrained weights file of ``name``, found or fetched (see
    ``keras_vidrep.presets.resolve``)."""
    from keras_vidrep.presets import resolve

    _check_name(name)
    return resolve(name) / WEIGHTS_FILE


def build_preset(name):
    """The preset's architecture with fresh weights."""
    from keras_vidrep.presets import preset_table

    return kind_of(name).build(name, preset_table()[name]["config"])


def load(name_or_path, weights="pretrained", compile=True):
    """A ready ``keras.Model``: a zoo name, a ``.keras`` file or a run folder.

    Args:
        name_or_path: a zoo name (``list_models()``: the video models and
            the captioners; a name always means the zoo's model, even where
            the working folder holds a folder of that name: write
            ``"./NAME"`` for the folder), a preset directory, a path to a ``.keras``
            file, or a folder written by ``keras-vidrep train`` or
            ``train-captioner`` (its ``model.keras``).
        weights: ``"pretrained"`` (the trained weights) or ``None`` (the
            same architecture with fresh weights).
        compile: compile with the zoo's loss and metrics, ready for
            ``evaluate`` and ``fit`` (fine-tuning: RMSProp at
            ``FINE_TUNE_LEARNING_RATE``, 1e-4, a tenth of the training
            rate, at which a pretrained model improves); a captioner with
            Adam and its word cross-entropy, as ``train_captioner`` trains
            it.

    Raises:
        ValueError: unknown name (lists the valid ones) or bad ``weights``.
        FileNotFoundError: the artifact is missing (names the file).
        OSError: the artifact cannot be read (names the file and why), or
            its sha256 is not the one the preset table (or a preset
            directory's ``metadata.json``) records.

    Loading never enables unsafe deserialization (``safe_mode=True``).
    """
    if weights not in ("pretrained", None):
        raise InputError("`weights` must be 'pretrained' or None. "
                         f"Received: weights={weights!r}")
    from keras_vidrep import presets

    kind, where = presets.locate(name_or_path)
    config = (presets.read_config(where / "config.json")
              if kind == "preset" else None)
    if config is not None and not presets.is_keras_config(config):
        model = _legacy_preset(where, config, weights)
    elif kind in ("name", "preset"):
        model = presets.load_preset(where,
                                    load_weights=weights == "pretrained")
    else:
        model = _model_file(where)
        if weights is None:
            model = type(model).from_config(model.get_config())
    return _compile(model) if compile else model


def _model_file(path):
    """A ``.keras`` file, read with ``safe_mode=True``."""
    import keras

    # A captioner's class must be registered with Keras before its file can
    # be read, whatever the caller imported.
    import keras_vidrep.models.captioner  # noqa: F401

    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as error:
        raise OSError(f"Cannot read the model file {path}: "
                      f"{type(error).__name__}: {error}") from error


def _legacy_preset(folder, config, weights):
    """A preset directory whose ``config.json`` (``config``, read) holds the
    zoo name and the builder's arguments, as the zoo wrote them before it
    wrote serialized Keras models: still read, so that copies made then keep
    loading."""
    from keras_vidrep.presets import folder_sha256
    from keras_vidrep.presets import load_weights_file

    if not isinstance(config.get("name"), str):
        raise InputError(
            f"Expected {folder / 'config.json'} to be a serialized Keras "
            "model or a JSON object with the zoo model's \"name\" and the "
            f"builder's arguments. Received: {json.dumps(config)[:200]}")
    config = dict(config)
    name = config.pop("name")
    model = kind_of(name).build(name, config)
    if weights == "pretrained":
        load_weights_file(model, folder / WEIGHTS_FILE,
                          sha256=folder_sha256(folder))
    return model
