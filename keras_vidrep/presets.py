"""Zoo presets: where a pretrained model's files are, wherever keras_vidrep is
installed, and how a preset becomes a model (``load_preset``, behind
``VideoSeq2Seq.from_preset`` and ``S2VTCaptioner.from_preset``).

A preset is a directory (as in keras-hub): ``model.weights.h5``,
``config.json`` (the model as ``keras.saving.serialize_keras_object``
writes it, which ``keras.saving.deserialize_keras_object`` reads back) and
``metadata.json`` (parameter count, the weights' sha256, the training recipe
and the evaluation summary), beside the SavedModel version folders. The table
of presets, ``keras_vidrep/zoo/presets.json``, ships inside the package and
is read on first use; it is generated from the run records and the weights by
``keras-vidrep presets`` (never edited by hand).

This module sits below the models (it imports none of ours but the
standard-library helpers), so that each model class can load its own presets
as in keras-hub; the zoo above it adds compiling, evaluating, promoting.

A name resolves, in order, to:

1. an explicit directory (a path given instead of a name);
2. the local cache, ``$KERAS_VIDREP_HOME/NAME`` (default
   ``~/.keras/keras_vidrep``);
3. ``saved_models/NAME`` of the repository checkout, when keras_vidrep runs
   from one (``$KERAS_VIDREP_SAVED_MODELS`` points elsewhere);
4. a download from ``$KERAS_VIDREP_WEIGHTS_URL/NAME/model.weights.h5``
   into the cache, verified against the sha256 of the table. A failed,
   corrupt or stalled download (``$KERAS_VIDREP_DOWNLOAD_TIMEOUT`` seconds
   without an answer, default 60) leaves nothing in the cache.
"""

import functools
import json
import os
from pathlib import Path

from keras_vidrep._hashing import file_sha256
from keras_vidrep._validation import InputError

TABLE_FILE = Path(__file__).parent / "zoo" / "presets.json"
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


def locate(name_or_path):
    """What a model argument names, from the standard library alone (so
    that the command line refuses a bad one before Keras loads).

    Returns:
        ``("name", name)`` for a zoo name (a name always means the zoo's
        model, even where the working folder holds a folder of that name),
        ``("preset", folder)`` for a preset directory (``config.json``
        beside the weights), ``("file", path)`` for a ``.keras`` file or a
        training run's folder (its ``model.keras``).

    Raises:
        InputError: not a zoo name, a preset directory or a model file;
            the message lists the valid names.
        FileNotFoundError: a ``.keras`` path where there is no file.
        OSError: a ``.keras`` file that is not a zip archive (damaged or
            truncated).
    """
    import zipfile

    if isinstance(name_or_path, str) and name_or_path in preset_table():
        return "name", name_or_path
    path = Path(name_or_path)
    if path.is_dir() and (path / "config.json").is_file():
        return "preset", path
    if path.is_dir() and (path / "model.keras").is_file():
        path = path / "model.keras"
    elif not (str(name_or_path).endswith(".keras") or path.is_file()):
        if os.sep in str(name_or_path) or path.exists():
            raise FileNotFoundError(
                f"No model at {path}: no .keras file, run folder (with "
                "model.keras) or preset directory (with config.json) there.")
        raise InputError(f"Unknown model {str(name_or_path)!r}. Valid names: "
                         f"{', '.join(sorted(preset_table()))}; or a .keras "
                         "file, a run folder or a preset directory.")
    if not path.is_file():
        raise FileNotFoundError(f"No model file at {path}.")
    if not zipfile.is_zipfile(path):
        raise OSError(f"Cannot read the model file {path}: it is damaged "
                      "or truncated (a .keras file is a zip archive).")
    return "file", path


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


TIMEOUT_ENV = "KERAS_VIDREP_DOWNLOAD_TIMEOUT"
DEFAULT_TIMEOUT_S = 60.0


def _download_timeout():
    """Seconds a download may wait for the server to connect or send more
    (``$KERAS_VIDREP_DOWNLOAD_TIMEOUT``, default 60)."""
    text = os.environ.get(TIMEOUT_ENV, "")
    if not text:
        return DEFAULT_TIMEOUT_S
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not seconds > 0:
        raise InputError(f"${TIMEOUT_ENV} must be a positive number of "
                         f"seconds. Received: {TIMEOUT_ENV}={text!r}")
    return seconds


def _download(name, base_url, cache):
    """Fetches the weights into ``cache/NAME/``.

    The file is streamed into a staging file of this process inside the
    cache folder itself, so that the final rename never crosses a
    filesystem and two processes filling one cache at once do not meet;
    only a complete file whose sha256 matches the table is renamed in.
    A server that stops answering ends the download after the timeout.
    """
    import hashlib
    import tempfile
    import urllib.request

    expected = preset_table()[name]["sha256"]
    url = f"{base_url.rstrip('/')}/{name}/{WEIGHTS_FILE}"
    staging = None
    try:
        timeout = _download_timeout()
        # Made before the first byte is asked for: a cache that cannot be
        # written is found at once, not after the download.
        cache.mkdir(parents=True, exist_ok=True)
        handle, staging = tempfile.mkstemp(prefix=f".download-{name}-",
                                           dir=cache)
        digest = hashlib.sha256()
        with os.fdopen(handle, "wb") as file, urllib.request.urlopen(
                url, timeout=timeout) as answer:
            total = int(answer.headers.get("Content-Length") or 0) or None
            progress = _progress_bar(total)
            received = 0
            while chunk := answer.read(1 << 20):
                file.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                progress(received)
            file.flush()
            os.fsync(file.fileno())
        if total is not None and received != total:
            raise InputError(f"received {received} of {total} bytes")
        if digest.hexdigest() != expected:
            raise InputError("the file's sha256 does not match the preset "
                             "table's")
        target = cache / name
        target.mkdir(parents=True, exist_ok=True)
        os.replace(staging, target / WEIGHTS_FILE)
        staging = None
        return target
    except Exception as error:
        reason = ("no answer within the timeout: "
                  f"${TIMEOUT_ENV} sets it" if isinstance(error, TimeoutError)
                  else f"{type(error).__name__}: {str(error).strip()[:200]}")
        raise PresetNotFoundError(
            f"Could not fetch the weights of {name!r} from {url} "
            f"({reason}); nothing was kept.") from error
    finally:
        if staging is not None:
            Path(staging).unlink(missing_ok=True)


def _progress_bar(total):
    """A callable taking the bytes received so far: a Keras progress bar on
    an interactive terminal, silent otherwise (logs, tests)."""
    import sys

    if not sys.stderr.isatty():
        return lambda received: None
    import keras

    bar = keras.utils.Progbar(total, unit_name="byte")
    return bar.update


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
    """``{file name: text}`` of a preset directory's ``config.json`` (the
    serialized model, ``keras_config``) and ``metadata.json``, from the
    table and the weights."""
    entry = preset_table()[name]
    metadata = {"name": name, "description": entry["description"],
                "parameters": entry["parameters"],
                "weights": WEIGHTS_FILE, "sha256": sha256(weights_path),
                "recipe": entry["recipe"],
                "evaluation": entry.get("evaluation")}
    return {"config.json": json.dumps(entry["keras_config"], indent=2) + "\n",
            "metadata.json": json.dumps(metadata, indent=2) + "\n"}


def keras_config(model):
    """What a preset's ``config.json`` holds: ``model`` as
    ``keras.saving.serialize_keras_object`` writes it, without the compile
    settings (a preset is an architecture and weights; the zoo compiles)."""
    import keras

    config = keras.saving.serialize_keras_object(model)
    config.pop("compile_config", None)
    return config


def is_keras_config(config):
    """Whether a preset directory's ``config.json`` holds a serialized Keras
    object (``keras_config``); directories written before it held the zoo
    name and the builder's arguments (``{"name": ..., ...}``)."""
    return isinstance(config, dict) and isinstance(
        config.get("class_name"), str) and isinstance(config.get("config"),
                                                      dict)


def read_config(path):
    """A preset directory's ``config.json``, a JSON object; one clear error
    else."""
    try:
        config = json.loads(Path(path).read_text())
    except (ValueError, UnicodeDecodeError) as error:
        raise InputError(f"{path} is not valid JSON ({error}).") from error
    if not isinstance(config, dict):
        raise InputError(f"Expected {path} to be a JSON object (a "
                         "serialized Keras model). Received: "
                         f"{json.dumps(config)[:200]}")
    return config


def folder_sha256(folder):
    """The weights' sha256 a preset directory's ``metadata.json`` records;
    None without one."""
    metadata = Path(folder) / "metadata.json"
    return (json.loads(metadata.read_text()).get("sha256")
            if metadata.is_file() else None)


def load_preset(preset, *, load_weights=True, cls=None):
    """The model of a zoo name or a preset directory, built from its Keras
    config, with its weights checked against their recorded sha256.

    Args:
        preset: a zoo name (``preset_table()``) or a preset directory
            (``config.json`` beside ``model.weights.h5``).
        load_weights: load the pretrained weights (True) or keep the fresh
            ones of the architecture (False).
        cls: the class the model must be (``VideoSeq2Seq.from_preset``
            passes its own); None takes any.

    Raises:
        InputError: not a name or a preset directory (a ``.keras`` file is
            read by ``keras_vidrep.load``), a ``config.json`` that is not a
            serialized Keras model of a registered class, or a model of
            another class than ``cls``.
        FileNotFoundError, OSError: see ``resolve`` and ``load_weights_file``.
    """
    import keras

    kind, where = locate(preset)
    if kind == "file":
        raise InputError(
            f"{where} is a model file, not a preset (a zoo name or a "
            "directory with config.json and model.weights.h5): read it with "
            f"keras_vidrep.load or keras.saving.load_model. Received: "
            f"preset={str(preset)!r}")
    if kind == "name":
        config, recorded = (preset_table()[where]["keras_config"],
                            preset_table()[where]["sha256"])
        folder = resolve(where) if load_weights else None
    else:
        config, folder = read_config(where / "config.json"), where
        if not is_keras_config(config):
            raise InputError(
                f"{where / 'config.json'} holds builder arguments, as preset "
                "directories written before 2026-12-06 did, not a serialized "
                "Keras model: read it with keras_vidrep.load, or write it "
                "again with `keras-vidrep presets`. Received: "
                f"{json.dumps(config)[:200]}")
        recorded = folder_sha256(where)
    try:
        model = keras.saving.deserialize_keras_object(config, safe_mode=True)
    except Exception as error:
        raise InputError(
            f"Cannot build the model of preset {str(preset)!r} from its "
            f"config ({type(error).__name__}: {str(error)[:200]}); its class "
            f"is {config.get('registered_name') or config.get('class_name')!r}"
            ": import the module that registers it (keras_vidrep's are "
            "registered by `import keras_vidrep`).") from error
    if cls is not None and not isinstance(model, cls):
        raise InputError(
            f"Preset {str(preset)!r} holds a {type(model).__name__} model, "
            f"not a {cls.__name__} one: load it with "
            f"{type(model).__name__}.from_preset or keras_vidrep.load.")
    if load_weights:
        load_weights_file(model, folder / WEIGHTS_FILE, sha256=recorded)
    return model


def load_weights_file(model, path, sha256=None):
    """Loads ``path`` into ``model``, first checking its bytes against the
    recorded ``sha256`` (when one is recorded): damaged or overwritten
    weights would otherwise load silently, as any HDF5 file of the right
    layout does."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No weights file at {path}.")
    found = file_sha256(path) if sha256 is not None else None
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


class FromPreset:
    """``from_preset`` for a model class, as keras-hub's models have it."""

    @classmethod
    def from_preset(cls, preset, load_weights=True):
        """A model of this class from a zoo name or a preset directory.

        Args:
            preset: a zoo name (``keras_vidrep.list_models()``) or a preset
                directory: ``config.json`` (the serialized model) beside
                ``model.weights.h5``, e.g. ``saved_models/composite_conv``
                or a copy of it.
            load_weights: the pretrained weights (True, checked against
                their recorded sha256) or fresh ones (False).

        Returns:
            The model, not compiled (``keras_vidrep.load`` compiles it for
            fine-tuning).

        Raises:
            InputError: an unknown name (the valid ones are listed), a
                preset of another class, or a model file.

        Example:

        >>> model = VideoSeq2Seq.from_preset("composite_conv")  # doctest: +SKIP
        """
        return load_preset(preset, load_weights=load_weights, cls=cls)
