"""The model zoo: named presets, pretrained weights, ``load``.

Every name of ``keras_vidrep.models.VARIANTS`` is a preset. ``PRESETS``
(read on first use from the table that ships with the package, see
``keras_vidrep.zoo.presets``) maps it to its builder configuration (the zoo's
sizes, chosen for the 200 MiB budget of ``saved_models/``), its training
recipe (the exact ``keras-vidrep train`` commands), parameter count, the
sha256 of its weights and its evaluation summary; the weights are found or
fetched by ``keras_vidrep.zoo.presets.resolve``. The table, the preset
directories' ``config.json`` and ``metadata.json``, the model cards and the
zoo's index are generated from the checkout's records by
``keras_vidrep.zoo.records``.

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
from keras_vidrep._validation import look_up
from keras_vidrep.zoo.captioners import CAPTIONERS
from keras_vidrep.zoo.captioners import build_captioner_preset
from keras_vidrep.zoo.captioners import compile_captioner
from keras_vidrep.models import VARIANTS
from keras_vidrep.models import build_model
from keras_vidrep.models import compile_model

ROOT = Path(__file__).resolve().parents[2]
SAVED_MODELS_ENV = "KERAS_VIDREP_SAVED_MODELS"
WEIGHTS_FILE = "model.weights.h5"

_CONV = {"hidden_sizes": [64, 64], "kernel_size": 3, "patch_size": 4}
# (cell, conditional) -> builder configuration. A conditional fc decoder reads
# the 4096-pixel previous frame, a 4096 x 4u kernel per decoder: 64 units
# there. Its decoders are trained free-running (teacher_forcing=False: they
# read their own previous prediction in training too, as at inference):
# teacher-forced, they did not beat the trivial baselines when run
# autoregressively (future MSE per frame 210.5 and 195.1 against 188.4 after
# 3,000 steps of 16), the gap between the two regimes being widest for a
# small fully-connected decoder.
_ZOO_SIZES = {("conv", False): _CONV, ("conv", True): _CONV,
              ("fc", False): {"hidden_sizes": [128]},
              ("fc", True): {"hidden_sizes": [64], "teacher_forcing": False}}


# The conditional conv future models too, since their second versions:
# started from composite_conv (the frame-input kernels at zeros, see
# keras_vidrep.training.initial_weights), free-running fine-tuning keeps what they
# start from, where teacher forcing had left them below the all-zeros
# baseline in SSIM when run autoregressively.
_FREE_RUNNING = ("predictor_conv_cond", "composite_conv_cond")


def _sizes(name):
    sizes = _ZOO_SIZES[VARIANTS[name]["cell"], VARIANTS[name]["conditional"]]
    if name in _FREE_RUNNING:
        return {**sizes, "teacher_forcing": False}
    return sizes


def _presets():
    from keras_vidrep.zoo.presets import preset_table

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
    """The zoo's model names: the twelve video models, then the captioners
    (``keras_vidrep.zoo.captioners``)."""
    return list(VARIANTS) + list(CAPTIONERS)


def _check_name(name):
    look_up(dict.fromkeys(list_models()), name, f"Unknown model {name!r}",
            "names")


def is_captioner(name):
    """Whether the zoo name ``name`` is a captioner."""
    return name in CAPTIONERS


def _build(name, config):
    """The model of a preset's ``config`` with fresh weights."""
    if is_captioner(name):
        return build_captioner_preset(config)
    return build_model(name, **config)


# The rate a loaded video model fine-tunes at: a fresh RMSProp at the
# training rate, 1e-3, makes composite_conv worse in 100 steps (future MSE
# on validation clips 55.2 -> 59.7), 1e-4 better (52.6); chosen on clips of
# the train digits by benchmarks/fine_tune_rate.py (its README entry).
FINE_TUNE_LEARNING_RATE = 1e-4


def _compile(model):
    """Compiled for fine-tuning: a captioner with its word loss, a video
    model with ``compile_model`` at ``FINE_TUNE_LEARNING_RATE``."""
    from keras_vidrep.models.captioner import S2VTCaptioner

    if isinstance(model, S2VTCaptioner):
        return compile_captioner(model)
    return compile_model(model, learning_rate=FINE_TUNE_LEARNING_RATE)


def weights_path(name):
    """The pretrained weights file of ``name``, found or fetched (see
    ``keras_vidrep.zoo.presets.resolve``)."""
    from keras_vidrep.zoo.presets import resolve

    _check_name(name)
    return resolve(name) / WEIGHTS_FILE


def build_preset(name):
    """The preset's architecture with fresh weights."""
    from keras_vidrep.zoo.presets import preset_table

    _check_name(name)
    return _build(name, preset_table()[name]["config"])


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
    import keras

    if weights not in ("pretrained", None):
        raise InputError("`weights` must be 'pretrained' or None. "
                         f"Received: weights={weights!r}")
    from keras_vidrep.zoo.presets import locate

    kind, where = locate(name_or_path)
    if kind == "name":
        model = build_preset(where)
        if weights == "pretrained":
            _load_weights_file(model, weights_path(where),
                               sha256=_recorded_sha256(where))
        return _compile(model) if compile else model
    if kind == "preset":
        # config.json (the builder's arguments and the variant's name)
        # beside model.weights.h5.
        config = _preset_config(where / "config.json")
        name = config.pop("name")
        _check_name(name)
        model = _build(name, config)
        if weights == "pretrained":
            metadata = where / "metadata.json"
            _load_weights_file(model, where / WEIGHTS_FILE, sha256=(
                json.loads(metadata.read_text()).get("sha256")
                if metadata.is_file() else None))
        return _compile(model) if compile else model
    # A captioner's class must be registered with Keras before its file can
    # be read, whatever the caller imported.
    import keras_vidrep.models.captioner  # noqa: F401

    try:
        model = keras.saving.load_model(where, compile=False, safe_mode=True)
    except Exception as error:
        raise OSError(f"Cannot read the model file {where}: "
                      f"{type(error).__name__}: {error}") from error
    if weights is None:
        model = type(model).from_config(model.get_config())
    if compile:
        _compile(model)
    return model


def _preset_config(path):
    """A preset directory's ``config.json``: a JSON object naming the zoo
    model (``name``) and the builder's arguments; one clear error else."""
    try:
        config = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as error:
        raise InputError(f"{path} is not valid JSON ({error}).") from error
    if not isinstance(config, dict) or not isinstance(config.get("name"), str):
        raise InputError(
            f"Expected {path} to be a JSON object with the zoo model's "
            "\"name\" and the builder's arguments. Received: "
            f"{json.dumps(config)[:200]}")
    return config


def _recorded_sha256(name):
    from keras_vidrep.zoo.presets import preset_table

    return preset_table()[name].get("sha256")


def _load_weights_file(model, path, sha256=None):
    """Loads ``path`` into ``model``, first checking its bytes against the
    recorded ``sha256`` (when one is recorded): damaged or overwritten
    weights would otherwise load silently, as any HDF5 file of the right
    layout does."""
    from keras_vidrep.zoo import presets

    if not path.is_file():
        raise FileNotFoundError(f"No weights file at {path}.")
    found = presets.sha256(path) if sha256 is not None else None
    if found != sha256:
        raise OSError(
            f"The weights file {path} is not the one recorded for it: its "
            f"sha256 is {found}, the record says {sha256}. It "
            "was damaged or replaced; restore it (e.g. `git checkout -- "
            f"{path}` in a checkout) or load with weights=None.")
    try:
        model.load_weights(path)
    except Exception as error:
        raise OSError(f"Cannot read the weights file {path}: "
                      f"{type(error).__name__}: {error}") from error


