"""Export for TensorFlow Serving: SavedModels and the zoo's model config.

``export(model, base_path, version)`` writes the layout TF Serving watches,
``base_path/<version>/saved_model.pb`` and ``variables/``, with two
signatures that need no Python code of ours:

- ``serving_default``: input ``frames`` float32 (batch, input_frames, H, W,
  C), any batch size; outputs ``reconstruction`` and/or ``future``. Conditional
  models run their autoregressive inference.
- ``encode``: input ``frames``; output ``representation`` (batch, size), the
  encoder's final states.

``export_captioner`` writes an ``S2VTCaptioner`` with a signature
``caption``: ``frames`` in, the caption as a ``tf.string`` out.
"""

import contextlib
import os
import shutil
import warnings
from pathlib import Path

from keras_vidrep._validation import InputError
from keras_vidrep._validation import check_positive_ints
from keras_vidrep._validation import check_writable_folder
from keras_vidrep._validation import checked_frames_in_graph

MODELS_CONFIG = "models.config"


def _version_folder(base_path, version, overwrite):
    """``base_path/version``, refused if it exists and ``overwrite`` is
    false (a server may be serving it), or if ``base_path`` cannot be a
    folder; ``base_path`` is made."""
    check_positive_ints(version=version)
    # TF Serving watches BASE_PATH/VERSION/: the base is a folder.
    check_writable_folder(base_path, "base_path")
    folder = Path(base_path) / str(version)
    if folder.exists() and not overwrite:
        raise FileExistsError(
            f"{folder} exists already; choose another version (TF Serving "
            "serves the highest) or pass overwrite=True (--overwrite).")
    return folder


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


@contextlib.contextmanager
def _written_beside(folder):
    """Yields a staging folder beside ``folder`` (a name TF Serving does not
    take for a version), renamed to ``folder`` once the export is whole.

    A kill during the export leaves only the staging folder, which the next
    export of that version removes; the version folder is either absent or
    complete, so it is never served half-written, and a re-export is not
    refused because of a broken one. An ``overwrite`` moves the old version
    aside first; a kill in the instant between the two renames is undone by
    the next export, which puts the old version back.
    """
    prefix = f".export-{folder.name}-"
    kept = f".replaced-{folder.name}-"
    for stale in sorted(folder.parent.glob(prefix + "*")) + sorted(
            folder.parent.glob(kept + "*")):
        pid = stale.name.rpartition("-")[2]
        if pid.isdigit() and _alive(int(pid)):
            continue
        if stale.name.startswith(kept) and not folder.exists():
            # Killed between moving the old version away and renaming the
            # new one in: the old one goes back.
            os.replace(stale, folder)
        else:
            shutil.rmtree(stale, ignore_errors=True)
    staging = folder.parent / f"{prefix}{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        yield staging
        replaced = folder.parent / f".replaced-{folder.name}-{os.getpid()}"
        if folder.exists():
            os.replace(folder, replaced)
        os.replace(staging, folder)
        shutil.rmtree(replaced, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _checked_frames(frames, shape):
    """``frames`` as the signature declares them, checked in the graph so
    that a server answers with these messages: TF Serving passes any shape
    through, and a request of 0-255 values would get confident nonsense."""
    import tensorflow as tf

    shape = [int(size) for size in shape]
    expected = ", ".join(["batch"] + [str(size) for size in shape])
    checks = [
        tf.debugging.assert_equal(
            tf.rank(frames), len(shape) + 1, message=f"Expected frames of "
            f"shape ({expected}). Received: a tensor of another rank"),
        tf.debugging.Assert(
            tf.reduce_all(tf.equal(tf.shape(frames)[1:], shape)),
            [f"Expected frames of shape ({expected}). Received: shape",
             tf.shape(frames)])]
    with tf.control_dependencies(checks):
        return checked_frames_in_graph(frames)


def _any_batch(call, frames):
    """``call(frames)`` for every batch size, 0 included: an empty batch
    runs as one blank clip whose outputs are then dropped (the patching
    reshapes of conv models cannot infer a size from 0 elements)."""
    import tensorflow as tf

    batch = tf.shape(frames)[0]
    blank = tf.zeros(tf.concat([[tf.maximum(1 - batch, 0)],
                                tf.shape(frames)[1:]], 0), frames.dtype)
    outputs = call(tf.concat([frames, blank], 0))
    return {key: value[:batch] for key, value in outputs.items()}


def export(model, base_path, version=1, overwrite=False):
    """Writes a servable SavedModel of a ``VideoSeq2Seq``; returns its folder.

    Args:
        model: a ``VideoSeq2Seq`` (e.g. from ``keras_vidrep.load``).
        base_path: the model's folder as TF Serving watches it; the
            SavedModel goes to ``base_path/version/``.
        version: positive integer; TF Serving serves the highest.
        overwrite: replace an existing ``base_path/version/``; by default
            an existing version is refused (a server may be serving it).

    Returns:
        The folder written, with the signatures ``serving_default``
        (``frames`` -> ``reconstruction`` and/or ``future``) and ``encode``
        (``frames`` -> ``representation``), float32, ``frames`` of shape
        ``(batch, model.input_frames, H, W, C)``.

    Raises:
        ValueError: bad ``version``; ``base_path`` is a file or cannot be
            written (``InputError``).
        FileExistsError: the version exists and ``overwrite`` is false.

    Example:

    >>> folder = export(keras_vidrep.load("composite_conv"),
    ...                 "saved_models/composite_conv", version=3)
    """
    import tensorflow as tf

    folder = _version_folder(base_path, version, overwrite)
    frames = tf.TensorSpec(
        (None, model.input_frames, model.frame_size, model.frame_size,
         model.channels), tf.float32, name="frames")
    encoder = model.encoder()
    # A plain tf.Module rather than keras.export.ExportArchive: the archive of
    # Keras 3.15 stores every variable twice (measured: 22 MB of variables
    # for an 11 MB model), which the size budget of saved_models/ cannot take.
    module = tf.Module()
    module.model_variables = [variable.value for variable in model.variables]
    shape = frames.shape[1:]
    # The functions are the signatures only, not also attributes of the
    # module: as attributes, each was stored a second time (the SavedModel
    # of autoencoder_fc: 411 KB of graph, 36 functions, against 20 as
    # signatures only).
    serve = tf.function(
        lambda frames: _any_batch(
            lambda clips: dict(model(clips, training=False)),
            _checked_frames(frames, shape)),
        input_signature=[frames])
    encode = tf.function(
        lambda frames: _any_batch(
            lambda clips: {"representation": encoder(clips, training=False)},
            _checked_frames(frames, shape)),
        input_signature=[frames])
    with _written_beside(folder) as staging:
        tf.saved_model.save(module, str(staging), signatures={
            "serving_default": serve.get_concrete_function(),
            "encode": encode.get_concrete_function()})
    return folder


ONNX_FILE = "model.onnx"


@contextlib.contextmanager
def _unrolled_decoders(model):
    """The model's conditional decoders run their steps as a static loop
    (the same function; ``FrameDecoder.unrolled``) for the while."""
    decoders = [layer for layer in model.layers if hasattr(layer, "unrolled")]
    for decoder in decoders:
        decoder.unrolled = True
    try:
        yield
    finally:
        for decoder in decoders:
            decoder.unrolled = False


def export_onnx(model, base_path, version=1, overwrite=False):
    """Writes ``base_path/version/model.onnx`` of a ``VideoSeq2Seq`` (the
    model-repository layout that Triton and ONNX Runtime servers read);
    returns the file.

    The graph has the SavedModel's ``serving_default`` names: input
    ``frames`` (any batch), outputs ``reconstruction`` and/or ``future``.
    It is Keras' ``model.export(format="onnx")`` (``tf2onnx`` under
    TensorFlow); conditional decoders are traced as a static loop of their
    steps, since the converter cannot read a scan whose outputs feed back.
    Needs ``pip install "keras_vidrep[onnx]"`` (onnx, onnxruntime,
    tf2onnx). A captioner is refused: its output is a string, which ONNX
    graphs of this kind do not carry; export it as a SavedModel.

    Args, Raises: as ``export``.
    """
    import importlib.util

    from keras_vidrep.models import VideoSeq2Seq

    if not isinstance(model, VideoSeq2Seq):
        raise InputError(
            "ONNX export takes a video model (a VideoSeq2Seq); a "
            f"{type(model).__name__} is exported as a SavedModel "
            "(keras_vidrep.export(model, base_path), its caption signature).")
    missing = [name for name in ("onnx", "tf2onnx")
               if importlib.util.find_spec(name) is None]
    if missing:
        raise InputError(f"ONNX export needs {', '.join(missing)}: pip "
                         "install \"keras_vidrep[onnx]\".")
    import numpy as np

    folder = _version_folder(base_path, version, overwrite)
    # Keras exports only a model that has been called (a loaded one has
    # not): one clip of zeros.
    model(np.zeros((1, model.input_frames, model.frame_size,
                    model.frame_size, model.channels), "float32"),
          training=False)
    with _written_beside(folder) as staging, _unrolled_decoders(model):
        staging.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():
            # Keras' tf2onnx shim asks numpy for np.object, which warns.
            warnings.filterwarnings("ignore", category=FutureWarning,
                                    message=".*np.object.*")
            model.export(str(staging / ONNX_FILE), format="onnx",
                         verbose=False)
    return folder / ONNX_FILE


def captions_of_ids(ids, words):
    """The graph version of ``keras_vidrep.captions.decode``: a ``tf.string``
    per row of ``ids`` (batch, steps), its words up to the first ``<end>``,
    without ``<start>`` or padding. ``words``: a string tensor, id -> word.
    """
    import tensorflow as tf

    from keras_vidrep.captions.tokens import END_ID
    from keras_vidrep.captions.tokens import PAD_ID
    from keras_vidrep.captions.tokens import START_ID

    ids = tf.convert_to_tensor(ids)
    ended = tf.cumsum(tf.cast(ids == END_ID, tf.int32), axis=1) > 0
    kept = ~ended & (ids != PAD_ID) & (ids != START_ID)
    tokens = tf.ragged.boolean_mask(tf.gather(words, ids), kept)
    return tf.strings.reduce_join(tokens, axis=1, separator=" ")


def export_captioner(model, base_path, vocabulary, *, num_frames=10,
                     frame_size=64, channels=1, beam_size=1, version=1,
                     overwrite=False):
    """Writes a servable SavedModel of an ``S2VTCaptioner``.

    Its signature ``caption`` takes ``frames`` (float32, (batch,
    ``num_frames``, ``frame_size``, ``frame_size``, ``channels``)) and
    returns ``caption``, a ``tf.string`` per clip: decoding (greedy, or beam
    search with ``beam_size``) and the vocabulary are inside the graph, so a
    server needs nothing of ours.

    Args:
        model: an ``S2VTCaptioner``.
        base_path: the model's folder as TF Serving watches it.
        vocabulary: id -> word (``keras_vidrep.captions.id_to_word``).
        num_frames, frame_size, channels: the clips it captions.
        beam_size: 1 for greedy decoding.
        version, overwrite: as in ``export``.

    Returns:
        The folder written.
    """
    import tensorflow as tf

    check_positive_ints(num_frames=num_frames, frame_size=frame_size,
                        channels=channels, beam_size=beam_size)
    folder = _version_folder(base_path, version, overwrite)
    if len(vocabulary) != model.vocabulary_size:
        raise InputError(
            f"The vocabulary has {len(vocabulary)} words, the model "
            f"{model.vocabulary_size} ids. Received: vocabulary of length "
            f"{len(vocabulary)}")
    words = tf.constant([str(w) for w in vocabulary])
    frames = tf.TensorSpec((None, num_frames, frame_size, frame_size,
                            channels), tf.float32, name="frames")

    def caption(frames):
        return _any_batch(lambda clips: {"caption": captions_of_ids(
            model.generate(clips, beam_size=beam_size), words)},
            _checked_frames(frames, frames.shape[1:]))

    module = tf.Module()
    module.model_variables = [variable.value for variable in model.variables]
    module.words = words
    # A signature only, not also an attribute (stored once; see export).
    served = tf.function(caption, input_signature=[frames])
    with _written_beside(folder) as staging:
        tf.saved_model.save(module, str(staging), signatures={
            "caption": served.get_concrete_function(),
            "serving_default": served.get_concrete_function()})
    return folder


def models_config(names, base="/models"):
    """A TF Serving ``model_config_list`` (text protobuf) serving ``names``,
    each from ``BASE/NAME`` (``base`` as the server sees the folder)."""
    entries = "".join(
        f"  config {{\n    name: \"{name}\"\n    base_path: \"{base}/{name}\"\n"
        f"    model_platform: \"tensorflow\"\n  }}\n" for name in names)
    return f"model_config_list {{\n{entries}}}\n"
