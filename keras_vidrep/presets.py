"""Zoo presets: where a pretrained model's files are, wherever keras_vidrep is
installed.

A preset is a directory (as in keras-hub): ``model.weights.h5``,
``config.json`` (the builder's arguments) and ``metadata.json`` (parameter
count, the weights' sha256, the training recipe and the evaluation summary),
beside the SavedModel version folders. The table of presets,
``keras_vidrep/zoo_presets.json``, ships inside the package and is read on
first use; it is generated from the run records and the weights by
``keras-vidrep presets`` (never edited by hand).

A name resolves, in order, to:

1. an explicit directory (a path given instead of a name);
2. the local cache, ``$KERAS_VIDREP_HOME/NAME`` (default
   ``~/.keras/keras_vidrep``);
3. ``saved_models/NAME`` of the repository checkout, when keras_vidrep runs
   from one (``$KERAS_VIDREP_SAVED_MODELS`` points elsewhere);
4. a download from ``$KERAS_VIDREP_WEIGHTS_URL/NAME/model.weights.h5``
   (``keras.utils.get_file``) into the cache, verified against the sha256 of
   the table. A failed or corrupt download leaves nothing in the cache.
"""

import functools
import json
import os
import shutil
from pathlib import Path

from keras_vidrep._hashing import file_sha256
from keras_vidrep._validation import InputError

TABLE_FILE = Path(__file__).with_name("zoo_presets.json")
WEIGHTS_FILE = "model.weights.h5"
HOME_ENV = "KERAS_VIDREP_HOME"
URL_ENV = "KERAS_VIDREP_WEIGHTS_URL"
SAVED_MODELS_ENV = "KERAS_VIDREP_SAVED_MODELS"
CHECKOUT = Path(__file__).resolve().parents[1]


class PresetNotFoundError(FileNotFoundError):
    """A preset's weights are nowhere to be found or fetched."""


@functools.lru_cache(maxsize=None)
def preset_table():
    """``{name: {"description", "config", "recipe", "parameters",
    "sha256"}}``, read once from the table that ships with the package."""
    return json.loads(TABLE_FILE.read_text())


def cache_dir():
    return Path(os.environ.get(HOME_ENV) or
                Path("~/.keras/keras_vidrep").expanduser())


def checkout_dir():
    """``saved_models/`` of the checkout (or ``$KERAS_VIDREP_SAVED_MODELS``);
    None when keras_vidrep is installed elsewhere."""
    if os.environ.get(SAVED_MODELS_ENV):
        return Path(os.environ[SAVED_MODELS_ENV])
    folder = CHECKOUT / "saved_models"
    return folder if (CHECKOUT / "pyproject.toml").is_file() else None


def sha256(path):
    """The sha256 of a weights file, as the preset table records it."""
    return file_sha256(path)


def _download(name, base_url, cache):
    """Fetches the weights into ``cache/NAME/`` through a staging folder:
    only a complete file whose sha256 matches the table is moved in."""
    import keras

    expected = preset_table()[name]["sha256"]
    staging = cache / f".download-{name}"
    shutil.rmtree(staging, ignore_errors=True)
    url = f"{base_url.rstrip('/')}/{name}/{WEIGHTS_FILE}"
    try:
        fetched = Path(keras.utils.get_file(
            WEIGHTS_FILE, url, cache_dir=str(staging), cache_subdir=".",
            file_hash=expected, hash_algorithm="sha256"))
        if sha256(fetched) != expected:  # get_file checks, and so do we
            raise InputError("the file's sha256 does not match the preset "
                             "table's")
        target = cache / name
        target.mkdir(parents=True, exist_ok=True)
        os.replace(fetched, target / WEIGHTS_FILE)
        return target
    except Exception as error:
        raise PresetNotFoundError(
            f"Could not fetch the weights of {name!r} from {url} "
            f"({type(error).__name__}: {str(error).strip()[:200]}); nothing "
            "was kept.") from error
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def resolve(name):
    """The directory holding ``name``'s weights (see the module docstring)."""
    looked = []
    cached = cache_dir() / name / WEIGHTS_FILE
    if cached.is_file():
        if sha256(cached) == preset_table()[name]["sha256"]:
            return cached.parent
        looked.append(f"cache {cached.parent} (sha256 differs: ignored)")
    else:
        looked.append(f"cache {cached.parent} (${HOME_ENV}; absent)")
    checkout = checkout_dir()
    if checkout is not None and (checkout / name / WEIGHTS_FILE).is_file():
        return checkout / name
    looked.append(f"checkout {checkout / name} (absent)" if checkout
                  else "checkout (keras_vidrep is not running from one)")
    base_url = os.environ.get(URL_ENV)
    if base_url:
        try:
            return _download(name, base_url, cache_dir())
        except PresetNotFoundError as error:
            looked.append(str(error))
    else:
        looked.append(f"download (${URL_ENV} not set)")
    raise PresetNotFoundError(
        f"No pretrained weights for {name!r}. Looked at: " + "; ".join(looked)
        + f". Point ${URL_ENV} at a copy of saved_models/ (a URL), "
        f"${SAVED_MODELS_ENV} at a local one, or pass a preset directory; "
        "load with weights=None; or train them: "
        + preset_table()[name]["recipe"].splitlines()[0])


def preset_files(name, weights_path):
    """``{file name: text}`` of a preset directory's ``config.json`` and
    ``metadata.json``, from the table and the weights."""
    entry = preset_table()[name]
    config = {"name": name, **entry["config"]}
    metadata = {"name": name, "description": entry["description"],
                "parameters": entry["parameters"],
                "weights": WEIGHTS_FILE, "sha256": sha256(weights_path),
                "recipe": entry["recipe"],
                "evaluation": entry.get("evaluation")}
    return {"config.json": json.dumps(config, indent=2) + "\n",
            "metadata.json": json.dumps(metadata, indent=2) + "\n"}
