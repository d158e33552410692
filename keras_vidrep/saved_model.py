"""Export for TensorFlow Serving: SavedModels and the zoo's model config.

``export(model, base_path, version)`` writes the layout TF Serving watches,
``base_path/<version>/saved_model.pb`` and ``variables/``, with two
signatures that need no Python code of ours:

- ``serving_default``: input ``frames`` float32 (batch, input_frames, H, W,
  C), any batch size; outputs ``reconstruction`` and/or ``future``. Conditional
  models run their autoregressive inference.
- ``encode``: input ``frames``; output ``representation`` (batch, size), the
  encoder's final states.
"""

from pathlib import Path

from keras_vidrep._validation import check_positive_ints

MODELS_CONFIG = "models.config"


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

    check_positive_ints(version=version)
    if (Path(base_path) / str(version)).exists() and not overwrite:
        raise FileExistsError(
            f"{Path(base_path) / str(version)} exists already; choose another "
            "version (TF Serving serves the highest) or pass overwrite=True "
            "(--overwrite).")
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
        # Checked in the graph, so a server answers with this message.
        return tf.debugging.assert_all_finite(
            frames, "Expected finite frames in [0, 1]: the request holds NaN "
            "or infinite values")

    module.serve = tf.function(
        lambda frames: dict(model(finite(frames), training=False)),
        input_signature=[frames])
    module.encode = tf.function(
        lambda frames: {"representation": encoder(finite(frames),
                                                  training=False)},
        input_signature=[frames])
    folder = Path(base_path) / str(version)
    tf.saved_model.save(module, str(folder), signatures={
        "serving_default": module.serve.get_concrete_function(),
        "encode": module.encode.get_concrete_function()})
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
