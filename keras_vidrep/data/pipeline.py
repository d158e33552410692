"""tf.data assembly for training: clips to ``(inputs, targets)`` pairs."""

from keras_vidrep._validation import InputError


def training_pairs(model, dataset):
    """Maps a ``tf.data`` dataset of clips to ``(clip, targets)`` for
    ``model.fit`` (see ``VideoSeq2Seq.split_clip``).

    Args:
        model: a ``VideoSeq2Seq``.
        dataset: elements of frames (batch, time, H, W, C) with time >=
            ``input_frames + future_frames`` (extra frames are dropped), or
            the dicts of ``bouncing_digits(..., with_info=True)``.

    Returns:
        The mapped ``tf.data.Dataset``.
    """
    clip_frames = model.clip_frames
    element = dataset.element_spec
    frames_spec = element["frames"] if isinstance(element, dict) else element
    length = frames_spec.shape[1]
    if frames_spec.shape.rank != 5 or (length is not None
                                       and length < clip_frames):
        raise InputError(
            f"training_pairs needs clips of shape (batch, >= {clip_frames}, "
            f"H, W, C) ({model.input_frames} input + {model.future_frames} "
            f"future frames). Received: element shape {frames_spec.shape}")

    def to_pair(element):
        clip = element["frames"] if isinstance(element, dict) else element
        return model.split_clip(clip)

    return dataset.map(to_pair, num_parallel_calls=-1, deterministic=True)
