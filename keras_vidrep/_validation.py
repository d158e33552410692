"""The argument checks every level shares, with one wording.

Errors follow Keras' style: what was expected, then ``Received: name=value``.
"""

import numbers


class InputError(ValueError):
    """Bad input from a user: an argument, a file's content, a name. The
    command line prints these as one line; any other exception is a bug of
    ours and keeps its traceback."""


def look_up(table, key, unknown, valid, error=InputError):
    """``table[key]``, or ``error``: "UNKNOWN. Valid VALID: a, b, c." with the
    table's keys sorted, so that every bad name lists the good ones.

    Args:
        table: a mapping.
        key: what the user asked for.
        unknown: the first sentence, e.g. ``f"Unknown task {name!r}"``.
        valid: what the keys are, e.g. ``"tasks"``.
        error: the exception class to raise.
    """
    if key not in table:
        raise error(f"{unknown}. Valid {valid}: {', '.join(sorted(table))}.")
    return table[key]


def check_one_of(name, value, valid, error=InputError):
    """``value`` if it is one of ``valid``, else ``error``: "`name` must be
    one of [...]. Received: name=value". A mapping or set is listed sorted,
    a sequence in its own order (e.g. from the most common choice)."""
    if value not in valid:
        choices = (sorted(valid) if isinstance(valid, (dict, set, frozenset))
                   else list(valid))
        raise error(f"`{name}` must be one of {choices}. "
                    f"Received: {name}={value!r}")
    return value


def is_glob(text):
    """Whether a path argument is a glob pattern (matched later, so not
    checked for existence up front)."""
    return any(c in str(text) for c in "*?[")


# A --data / read_videos source that names a TensorFlow Datasets dataset:
# "tfds:NAME[:SPLIT]" (keras_vidrep.data.videos).
TFDS_PREFIX = "tfds:"


def is_tfds(source):
    """Whether a source names a TensorFlow Datasets dataset
    (``"tfds:NAME[:SPLIT]"``), not a path."""
    return isinstance(source, str) and source.startswith(TFDS_PREFIX)


def is_positive_int(value):
    """A positive integer (a bool is not one)."""
    return (not isinstance(value, bool) and isinstance(value, numbers.Integral)
            and value > 0)


def check_positive_ints(owner=None, error=InputError, **values):
    """Raises ``error`` naming the first of ``values`` that is not a positive
    integer; ``None`` values are skipped (optional arguments).

    Args:
        owner: what the arguments belong to (e.g. ``"PeepholeLSTM"``), said
            in the message.
        error: the exception class to raise.
        **values: ``name=value`` pairs.
    """
    for name, value in values.items():
        if value is not None and not is_positive_int(value):
            where = f" of {owner}" if owner else ""
            raise error(f"`{name}`{where} must be a positive integer. "
                        f"Received: {name}={value!r}")


def check_frame_values(values):
    """Refuses frame values a model cannot read, with the reason: integers
    (e.g. uint8 0-255: divide by 255), NaN or infinite values, values
    outside [0, 1] (e.g. float frames in 0-255). ``values`` is a numpy
    array; the one rule of ``VideoSeq2Seq.check_frames`` and of requests to
    a server (``keras_vidrep.serving.requests``)."""
    import numpy as np

    if not np.issubdtype(values.dtype, np.floating):
        raise InputError(
            "Expected float frames in [0, 1] (divide uint8 frames by "
            f"255). Received: frames of dtype {values.dtype}")
    if not np.isfinite(values).all():
        raise InputError(
            "Expected finite frames. Received: frames with "
            f"{values.size - np.isfinite(values).sum()} NaN or infinite "
            "values")
    if values.size == 0:
        return
    low, high = float(values.min()), float(values.max())
    if low < 0.0 or high > 1.0:
        # Frames in 0-255 as floats, or standardised frames, would be read
        # as a very bright or signed video: every output would be wrong.
        raise InputError(
            "Expected frames in [0, 1] (divide 0-255 frames by 255). "
            f"Received: frames with values from {low:g} to {high:g}")


def check_writable_folder(folder, what):
    """Makes ``folder`` (and its parents) and checks that a file can be
    written in it, so that a job refuses at its start, not after its long
    part; ``what`` names the argument, e.g. ``"base_path"``."""
    import tempfile
    from pathlib import Path

    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{what} must be a folder; it is a file. Received: "
                         f"{what}={str(folder)!r}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except OSError as error:
        raise InputError(
            f"Cannot write into {folder} ({error.strerror or error}); choose "
            f"a folder that can be written. Received: {what}={str(folder)!r}"
            ) from error


def checked_frames_in_graph(frames):
    """``frames`` (a TensorFlow tensor) with the rule of
    ``check_frame_values`` asserted in the graph, for what only TensorFlow
    runs: a ``tf.data`` pipeline, a SavedModel's signature. A violation
    stops the run with these messages (``InvalidArgumentError``)."""
    import tensorflow as tf

    frames = tf.debugging.assert_all_finite(
        frames, "Expected finite frames in [0, 1]: they hold NaN or "
        "infinite values")
    in_range = [
        tf.debugging.assert_greater_equal(
            frames, tf.cast(0.0, frames.dtype), message="Expected frames in "
            "[0, 1]: they hold negative values"),
        tf.debugging.assert_less_equal(
            frames, tf.cast(1.0, frames.dtype), message="Expected frames in "
            "[0, 1]: they hold values above 1 (divide 0-255 frames by 255)")]
    with tf.control_dependencies(in_range):
        return tf.identity(frames)
