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

from pathlib import Path

from keras_vidrep._validation import InputError
from keras_vidrep._validation import check_positive_ints

MODELS_CONFIG = "models.config"


def _version_folder(base_path, version, overwrite):
    """``base_path/version``, refused if it exists and ``overwrite`` is
    false (a server may be serving it)."""
    check_positive_ints(version=version)
    folder = Path(base_path) / str(version)
    if folder.exists() and not overwrite:
        raise FileExistsError(
            f"{folder} exists already; choose another version (TF Serving "
            "serves the highest) or pass overwrite=True (--overwrite).")
    return folder


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
        ValueError: bad ``version``.
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
    def finite(frames):
        # Checked in the graph, so a server answers with these messages: a
        # request of 0-255 values would otherwise get confident nonsense.
        frames = tf.debugging.assert_all_finite(
            frames, "Expected finite frames in [0, 1]: the request holds NaN "
            "or infinite values")
        in_range = [
            tf.debugging.assert_greater_equal(
                frames, 0.0, message="Expected frames in [0, 1]: the request "
                "holds negative values"),
            tf.debugging.assert_less_equal(
                frames, 1.0, message="Expected frames in [0, 1]: the request "
                "holds values above 1 (divide 0-255 frames by 255)")]
        with tf.control_dependencies(in_range):
            return tf.identity(frames)

    module.serve = tf.function(
        lambda frames: dict(model(finite(frames), training=False)),
        input_signature=[frames])
    module.encode = tf.function(
        lambda frames: {"representation": encoder(finite(frames),
                                                  training=False)},
        input_signature=[frames])
    tf.saved_model.save(module, str(folder), signatures={
        "serving_default": module.serve.get_concrete_function(),
        "encode": module.encode.get_concrete_function()})
    return folder


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
        frames = tf.debugging.assert_all_finite(
            frames, "Expected finite frames in [0, 1]: the request holds NaN "
            "or infinite values")
        return {"caption": captions_of_ids(
            model.generate(frames, beam_size=beam_size), words)}

    module = tf.Module()
    module.model_variables = [variable.value for variable in model.variables]
    module.words = words
    module.caption = tf.function(caption, input_signature=[frames])
    tf.saved_model.save(module, str(folder), signatures={
        "caption": module.caption.get_concrete_function(),
        "serving_default": module.caption.get_concrete_function()})
    return folder


def models_config(names, base="/models"):
    """A TF Serving ``model_config_list`` (text protobuf) serving ``names``,
    each from ``BASE/NAME`` (``base`` as the server sees the folder)."""
    entries = "".join(
        f"  config {{\n    name: \"{name}\"\n    base_path: \"{base}/{name}\"\n"
        f"    model_platform: \"tensorflow\"\n  }}\n" for name in names)
    return f"model_config_list {{\n{entries}}}\n"


def write_models_config(base="/models"):
    """Writes ``saved_models/models.config`` listing every zoo model that has
    an exported version there; returns ``(path, names)``."""
    from keras_vidrep.zoo import list_models
    from keras_vidrep.zoo import saved_models_dir

    folder = saved_models_dir()
    names = [name for name in list_models()
             if any(child.name.isdigit() and (child / "saved_model.pb").is_file()
                    for child in (folder / name).glob("*"))]
    path = folder / MODELS_CONFIG
    path.write_text(models_config(names, base))
    return path, names
