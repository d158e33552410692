"""The model zoo: named presets, pretrained weights, ``load``.

Every name of ``keras_vidrep.models.VARIANTS`` is a preset. The table
``PRESETS`` maps it to its builder configuration (the zoo's sizes, chosen for
the 200 MiB budget of ``saved_models/``), its training recipe (the exact
``keras-vidrep train`` command) and its artifact, ``saved_models/NAME/
model.weights.h5`` (weights only: 4 bytes a parameter, no optimizer state).
Evaluation results live in ``zoo/evaluations/NAME.json``, written by
``keras-vidrep evaluate NAME --json``; model cards in ``zoo/cards/NAME.md``
are generated from them by ``keras-vidrep card NAME``.

Sizes: conv models use two ConvLSTM layers of 64 filters (3x3) on 4x4
patches, about 0.5M parameters per encoder or decoder. The fc models use one
``PeepholeLSTM`` of 128 units: its input kernel alone is 4096 x 512 weights,
so 128 units keep the six fc models at about 26M parameters (about 106 MB)
and the whole zoo near 130 MB, inside the 200 MiB budget; the paper's 2048
units would need about 140 MB for one composite model.
"""

import json
import os
from pathlib import Path

from keras_vidrep.models import VARIANTS
from keras_vidrep.models import build_model
from keras_vidrep.models import compile_model
from keras_vidrep.models import describe

ROOT = Path(__file__).resolve().parents[1]
SAVED_MODELS_ENV = "KERAS_VIDREP_SAVED_MODELS"
WEIGHTS_FILE = "model.weights.h5"

_ZOO_SIZES = {"conv": {"hidden_sizes": [64, 64], "kernel_size": 3,
                       "patch_size": 4},
              "fc": {"hidden_sizes": [128]}}
# Training budgets, in steps of batch 16; composite_conv gets the largest.
_STEPS = {"composite_conv": 20000}
_DEFAULT_STEPS = 3000


def _recipe(name):
    settings = " ".join(f"--set {key}={json.dumps(value, separators=(',', ':'))}"
                        for key, value in _ZOO_SIZES[VARIANTS[name]["cell"]].items())
    return (f"keras-vidrep train {name} --steps {_STEPS.get(name, _DEFAULT_STEPS)} "
            f"--batch-size 16 --learning-rate 0.001 --optimizer rmsprop "
            f"--loss cross_entropy --seed 0 {settings}")


PRESETS = {
    name: {
        "description": describe(name),
        "config": dict(_ZOO_SIZES[VARIANTS[name]["cell"]]),
        "recipe": _recipe(name),
        "artifact": f"saved_models/{name}/{WEIGHTS_FILE}",
        "evaluation": f"zoo/evaluations/{name}.json",
    }
    for name in VARIANTS
}


def saved_models_dir():
    """``$KERAS_VIDREP_SAVED_MODELS``, else ``saved_models/`` of the checkout."""
    return Path(os.environ.get(SAVED_MODELS_ENV, ROOT / "saved_models"))


def list_models():
    """The zoo's model names."""
    return list(PRESETS)


def _check_name(name):
    if name not in PRESETS:
        raise ValueError(f"Unknown model {name!r}. Valid names: "
                         f"{', '.join(sorted(PRESETS))}.")


def weights_path(name):
    _check_name(name)
    return saved_models_dir() / name / WEIGHTS_FILE


def build_preset(name):
    """The preset's architecture with fresh weights."""
    _check_name(name)
    return build_model(name, **PRESETS[name]["config"])


def load(name_or_path, weights="pretrained", compile=True):
    """A ready ``keras.Model``: a zoo name or a ``.keras`` file.

    Args:
        name_or_path: a zoo name (``list_models()``) or a path to a
            ``.keras`` file.
        weights: ``"pretrained"`` (the zoo's trained weights) or ``None``
            (fresh weights; zoo names only).
        compile: compile with the zoo's loss and metrics, ready for
            ``evaluate`` and ``fit`` (fine-tuning).

    Raises:
        ValueError: unknown name (lists the valid ones) or bad ``weights``.
        FileNotFoundError: the artifact is missing (names the file).
        OSError: the artifact cannot be read (names the file and why).

    Loading never enables unsafe deserialization (``safe_mode=True``).
    """
    import keras

    if weights not in ("pretrained", None):
        raise ValueError("`weights` must be 'pretrained' or None. "
                         f"Received: weights={weights!r}")
    path = Path(name_or_path)
    if str(name_or_path).endswith(".keras") or path.is_file():
        if not path.is_file():
            raise FileNotFoundError(f"No model file at {path}.")
        try:
            model = keras.saving.load_model(path, compile=False, safe_mode=True)
        except Exception as error:
            raise OSError(f"Cannot read the model file {path}: "
                          f"{type(error).__name__}: {error}") from error
    else:
        model = build_preset(name_or_path)
        if weights == "pretrained":
            artifact = weights_path(name_or_path)
            if not artifact.is_file():
                raise FileNotFoundError(
                    f"No pretrained weights for {name_or_path!r}: {artifact} is "
                    f"missing. Train them with: {PRESETS[name_or_path]['recipe']}, "
                    f"or load with weights=None.")
            try:
                model.load_weights(artifact)
            except Exception as error:
                raise OSError(f"Cannot read the weights file {artifact}: "
                              f"{type(error).__name__}: {error}") from error
    if compile:
        compile_model(model)
    return model
