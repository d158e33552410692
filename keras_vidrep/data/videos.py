"""Your own videos: clips from arrays, ``.npy`` / ``.npz`` files and video
files, for ``fit``, ``evaluate`` and ``predict``.

``read_videos(source, ...)`` turns a source into a list of videos, each a
float32 array ``(frames, H, W, C)`` in [0, 1]:

- a numpy array of videos, batch-major ``(videos, frames, H, W[, C])`` or
  time-major ``(frames, videos, H, W[, C])`` (as ``mnist_test_seq.npy``),
  uint8 (0-255) or float (checked to lie in [0, 1]); ``layout`` says which,
  or is detected where only one reading is possible;
- an ``.npy`` file of such an array, or an ``.npz`` file of one (or of one
  array per video);
- a video file (mp4, avi, mov, mkv, webm, gif), decoded by PyAV (FFmpeg's
  libraries, shipped in its wheels: nothing to install beside it), frame by
  frame and resized by FFmpeg as it decodes, so a long video is not held
  at its full size;
- a folder or a glob pattern of such files (sorted by name);
- a TensorFlow Datasets dataset prepared on this machine,
  ``"tfds:NAME[:SPLIT]"`` (e.g. ``"tfds:moving_mnist:test"``,
  ``"tfds:bair_robot_pushing_small:train[:256]"``: TFDS' split slicing
  limits what is read; ``:FEATURE`` picks one of several videos, e.g.
  ``:image_main``), or a ``tfds`` builder: the videos of a ``Video``
  feature or a sequence of images, the first by name unless picked.

``frame_size`` resizes every frame to a square side and ``channels``
converts to grayscale (1) or RGB (3). ``clip_windows`` cuts the videos into
clips of ``clip_frames`` frames every ``stride`` frames; ``split_by_video``
puts every clip of a video on one side of a train / validation split;
``ClipBatches`` serves the clips to ``fit`` (every backend), reshuffled per
epoch from a seed.
"""

import glob
import re
from pathlib import Path

import keras
import numpy as np

from keras_vidrep import _choices
from keras_vidrep._validation import InputError
from keras_vidrep._validation import check_one_of
from keras_vidrep._validation import check_positive_ints
from keras_vidrep._validation import TFDS_PREFIX
from keras_vidrep._validation import is_glob
from keras_vidrep._validation import is_tfds

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".gif", ".m4v")
ARRAY_SUFFIXES = (".npy", ".npz")
LAYOUTS = _choices.LAYOUTS


def _as_float(array, where):
    """float32 in [0, 1] from uint8 (0-255) or float input (checked)."""
    if array.dtype == np.uint8:
        return array.astype(np.float32) / 255.0
    if not np.issubdtype(array.dtype, np.floating):
        raise InputError(f"{where}: expected uint8 (0-255) or float frames in "
                         f"[0, 1]. Received: dtype={array.dtype}")
    array = array.astype(np.float32)
    low, high = float(array.min(initial=0.0)), float(array.max(initial=0.0))
    if low < 0.0 or high > 1.0:
        raise InputError(f"{where}: float frames must lie in [0, 1]. Received: "
                         f"values from {low:g} to {high:g} (scale uint8 "
                         "frames by 1/255, or pass them as uint8)")
    return array


def _channels_last(array, where, video_axes):
    """Adds a channel axis to arrays of ``video_axes`` (4) dims; refuses
    other ranks."""
    if array.ndim == video_axes:
        return array[..., None]
    if array.ndim == video_axes + 1 and array.shape[-1] in (1, 3):
        return array
    raise InputError(
        f"{where}: expected {video_axes} or {video_axes + 1} axes "
        f"({'videos, frames' if video_axes == 4 else 'frames'}, height, "
        f"width[, channels of 1 or 3]). Received: shape {array.shape}")


def _videos_of_array(array, layout, where):
    array = np.asarray(array)
    array = _channels_last(array, where, video_axes=4)
    if layout is None:
        layout = "batch_major"  # Keras' convention
        # A first axis shorter than the second is how time-major files are
        # laid out (mnist_test_seq.npy: 20 frames of 10,000 videos), and a
        # few long videos batch-major too: only the caller can tell.
        if array.shape[0] < array.shape[1]:
            raise InputError(
                f"{where}: the layout of an array of shape {array.shape} is "
                "ambiguous: batch-major (videos, frames, ...) or time-major "
                "(frames, videos, ...) as mnist_test_seq.npy. Pass "
                f"layout= one of {LAYOUTS} (--layout on the command line)")
    check_one_of("layout", layout, LAYOUTS)
    if layout == "time_major":
        array = np.swapaxes(array, 0, 1)
    return [_as_float(video, where) for video in array]


def _read_array_file(path, layout):
    try:
        loaded = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise InputError(f"{path} cannot be read as a numpy file "
                         f"({type(error).__name__}: {str(error)[:120]})"
                         ) from error
    if isinstance(loaded, np.ndarray):
        return _videos_of_array(loaded, layout, str(path))
    with loaded:
        arrays = [loaded[key] for key in loaded.files]
    if not arrays:
        raise InputError(f"{path} holds no array.")
    if len(arrays) == 1:
        return _videos_of_array(arrays[0], layout, str(path))
    # One array per video, (frames, H, W[, C]) each.
    return [_as_float(_channels_last(a, f"{path}[{key}]", video_axes=3),
                      f"{path}[{key}]")
            for key, a in zip(sorted(loaded.files), arrays)]


def read_video(path, *, frame_size=None, channels=1, max_frames=None):
    """The frames of one video file, float32 ``(frames, H, W, C)`` in [0, 1].

    Args:
        path: a file FFmpeg decodes (mp4, avi, mov, mkv, webm, gif, ...).
        frame_size: resize each frame to ``frame_size`` x ``frame_size``
            (FFmpeg's scaler, as it decodes); None keeps the video's size.
        channels: 1 (grayscale) or 3 (RGB).
        max_frames: stop after this many frames (None: every frame).

    Raises:
        InputError: a missing, empty or undecodable file, naming it.
    """
    import av

    path = Path(path)
    if channels not in (1, 3):
        raise InputError(f"`channels` must be 1 or 3. Received: "
                         f"channels={channels!r}")
    if not path.is_file():
        raise InputError(f"No video file at {path}.")
    if path.stat().st_size == 0:
        raise InputError(f"{path} is empty (0 bytes).")
    frames = []
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise InputError(f"{path} has no video stream.")
            stream = container.streams.video[0]
            for frame in container.decode(stream):
                size = (dict(width=frame_size, height=frame_size)
                        if frame_size else {})
                image = frame.to_ndarray(
                    format="gray" if channels == 1 else "rgb24", **size)
                frames.append(image if channels == 3 else image[..., None])
                if max_frames and len(frames) >= max_frames:
                    break
    except InputError:
        raise
    except Exception as error:  # noqa: BLE001 - FFmpeg's errors, reworded
        raise InputError(f"{path} cannot be decoded as a video "
                         f"({type(error).__name__}: {str(error)[:160]})"
                         ) from error
    if not frames:
        raise InputError(f"{path} holds no video frame.")
    return np.stack(frames).astype(np.float32) / 255.0


def _is_tfds_builder(source):
    return hasattr(source, "as_dataset") and hasattr(source, "info")


# "tfds:NAME[/CONFIG][:VERSION][:SPLIT[SLICE]][:FEATURE]"
_TFDS_SOURCE = re.compile(
    r"^tfds:(?P<name>[\w./-]+(?::\d+\.\d+\.\d+)?)"
    r"(?::(?P<split>[\w+]+(?:\[[^\]]*\])?))?(?::(?P<feature>\w+))?$")


def _video_features(features, path=()):
    """The paths (tuples of keys) of a TFDS feature spec's videos: a
    ``Video`` feature, or a ``Sequence`` of images (of a dict of them, as
    the robot-pushing datasets have)."""
    import tensorflow_datasets as tfds

    kinds = tfds.features
    if isinstance(features, kinds.Video):
        return [path]
    if isinstance(features, kinds.Sequence):
        inner = features.feature
        if isinstance(inner, kinds.Image):
            return [path]
        if isinstance(inner, kinds.FeaturesDict):
            return [path + (key,) for key, feature in sorted(inner.items())
                    if isinstance(feature, kinds.Image)]
        return []
    if isinstance(features, kinds.FeaturesDict):
        return [found for key, feature in sorted(features.items())
                for found in _video_features(feature, path + (key,))]
    return []


def _tfds_videos(source):
    """The videos of a TFDS source (``"tfds:NAME[:SPLIT][:FEATURE]"`` or a
    builder), example by example; one clear error for a source that does
    not parse, a name TFDS does not know, a dataset not prepared here, or
    one without videos."""
    import tensorflow_datasets as tfds

    split = feature = None
    if _is_tfds_builder(source):
        builder = source
    else:
        match = _TFDS_SOURCE.match(source)
        if match is None:
            raise InputError(
                "A TFDS source is tfds:NAME[:SPLIT][:FEATURE], e.g. "
                "tfds:moving_mnist:test or "
                "tfds:bair_robot_pushing_small:train[:256]:image_main. "
                f"Received: source={source!r}")
        split, feature = match["split"], match["feature"]
        try:
            builder = tfds.builder(match["name"])
        except tfds.core.registered.DatasetNotFoundError as error:
            raise InputError(
                f"TensorFlow Datasets has no dataset {match['name']!r} "
                f"({str(error).splitlines()[0][:160]}). Received: "
                f"source={source!r}") from error
    where = f"tfds:{builder.name}"
    paths = {"/".join(path): path for path in
             _video_features(builder.info.features)}
    if not paths:
        raise InputError(
            f"{where} has no videos (a Video feature or a sequence of "
            f"images); its features: {', '.join(builder.info.features)}.")
    if feature is not None and feature not in {p[-1] for p in paths.values()}:
        raise InputError(f"{where} has no video feature {feature!r}; its "
                         f"videos: {', '.join(paths)}.")
    path = next(p for p in paths.values()
                if feature is None or p[-1] == feature)
    splits = list(builder.info.splits)
    split = split or ("train" if "train" in splits or not splits
                      else splits[0])
    try:
        dataset = builder.as_dataset(split=split, shuffle_files=False)
    except AssertionError as error:  # TFDS' "could not find data in ..."
        raise InputError(
            f"{where} is not prepared on this machine (TFDS found no data in "
            f"{builder.data_dir}). Prepare it where there is internet, with "
            f"`tfds build {builder.name}` or "
            f"`tfds.builder({builder.name!r}).download_and_prepare()`, then "
            "copy its folder into this machine's ~/tensorflow_datasets (or "
            "point TFDS_DATA_DIR at it).") from error
    videos = []
    for index, example in enumerate(tfds.as_numpy(dataset)):
        for key in path:
            example = example[key]
        videos.append(_as_float(np.asarray(example),
                                f"{where}:{split} example {index}"))
    return videos


def _files_of(source):
    text = str(source)
    if is_glob(text):
        files = sorted(glob.glob(text))
    elif Path(text).is_dir():
        files = sorted(str(p) for p in Path(text).iterdir()
                       if p.suffix.lower() in VIDEO_SUFFIXES + ARRAY_SUFFIXES)
    else:
        return [text]
    if not files:
        raise InputError(f"No video or array file matches {text} (videos: "
                         f"{', '.join(VIDEO_SUFFIXES)}; arrays: .npy, .npz).")
    return files


def _resized(video, frame_size):
    """``video`` at ``frame_size`` (bilinear, through Keras ops)."""
    if frame_size is None or video.shape[1:3] == (frame_size, frame_size):
        return video
    resized = keras.ops.image.resize(video, (frame_size, frame_size),
                                     interpolation="bilinear")
    return np.clip(keras.ops.convert_to_numpy(resized), 0.0, 1.0)


def _converted(video, channels, where):
    if channels is None or video.shape[-1] == channels:
        return video
    if channels == 1:  # ITU-R 601 luma, as FFmpeg's gray
        return (video @ np.array([0.299, 0.587, 0.114], np.float32))[..., None]
    if channels == 3:
        return np.repeat(video, 3, axis=-1)
    raise InputError(f"{where}: `channels` must be 1 or 3. Received: "
                     f"channels={channels!r}")


def read_videos(source, *, layout=None, frame_size=None, channels=None):
    """Every video of ``source`` as float32 ``(frames, H, W, C)`` in [0, 1].

    Args:
        source: a numpy array of videos, an ``.npy`` / ``.npz`` file, a
            video file, a folder or a glob pattern of such files, or a
            TensorFlow Datasets dataset prepared here (``"tfds:NAME[:SPLIT]"``
            or a builder; the split defaults to ``train``, or the only one).
        layout: for arrays, ``"batch_major"`` or ``"time_major"``; None
            detects it and refuses an ambiguous shape.
        frame_size: resize every frame to this square side; None keeps the
            sizes, which must then agree.
        channels: 1 (grayscale) or 3 (RGB); None keeps the source's (video
            files: grayscale).

    Returns:
        A list of arrays, one per video, all of one frame shape.
    """
    if frame_size is not None:
        check_positive_ints(frame_size=frame_size)
    if isinstance(source, np.ndarray):
        videos, where = _videos_of_array(source, layout, "the array"), "the array"
    elif is_tfds(source) or _is_tfds_builder(source):
        videos, where = _tfds_videos(source), str(source)
    else:
        videos = []
        for path in _files_of(source):
            if Path(path).suffix.lower() in ARRAY_SUFFIXES:
                videos += _read_array_file(Path(path), layout)
            elif Path(path).suffix.lower() in VIDEO_SUFFIXES:
                videos.append(read_video(path, frame_size=frame_size,
                                         channels=channels or 1))
            elif not Path(path).exists():
                raise InputError(f"No file at {path}.")
            else:
                raise InputError(
                    f"{path}: not a video ({', '.join(VIDEO_SUFFIXES)}) or "
                    "array (.npy, .npz) file.")
        where = str(source)
    videos = [_converted(_resized(v, frame_size), channels, where)
              for v in videos]
    shapes = sorted({v.shape[1:] for v in videos})
    if len(shapes) > 1:
        raise InputError(
            f"The videos of {where} have different frame "
            f"shapes: {shapes}. Pass frame_size= (--frame-size) to resize "
            "them to one.")
    if not videos:
        raise InputError(f"{where} holds no video.")
    return videos


def _check_long_enough(videos, clip_frames):
    for index, video in enumerate(videos):
        if len(video) < clip_frames:
            raise InputError(
                f"Video {index} has {len(video)} frames, fewer than a clip of "
                f"clip_frames={clip_frames} (the model's input and future "
                "frames).")


def clip_windows(videos, clip_frames, stride=None):
    """Clips of ``clip_frames`` consecutive frames, one every ``stride``
    frames of each video (default: ``clip_frames``, no overlap), as one
    array ``(clips, clip_frames, H, W, C)``, video by video.

    Raises:
        InputError: a video shorter than a clip, naming its index.
    """
    stride = stride or clip_frames
    check_positive_ints(clip_frames=clip_frames, stride=stride)
    _check_long_enough(videos, clip_frames)
    windows = []
    for video in videos:
        windows += [video[start:start + clip_frames] for start in
                    range(0, len(video) - clip_frames + 1, stride)]
    return np.stack(windows)


def split_by_video(videos, validation_fraction, *, seed=0):
    """``(train, validation)`` lists of videos: whole videos on each side,
    so that no two clips of one video are on both; drawn by ``seed``."""
    if not 0.0 < validation_fraction < 1.0:
        raise InputError("`validation_fraction` must be in (0, 1). Received: "
                         f"validation_fraction={validation_fraction!r}")
    if len(videos) < 2:
        raise InputError("A split by video needs at least two videos. "
                         f"Received: {len(videos)}")
    order = np.random.default_rng(seed).permutation(len(videos))
    count = min(len(videos) - 1,
                max(1, round(validation_fraction * len(videos))))
    held = set(order[:count].tolist())
    return ([v for i, v in enumerate(videos) if i not in held],
            [v for i, v in enumerate(videos) if i in held])


class ClipBatches(keras.utils.PyDataset):
    """Batches of clips for ``fit`` / ``evaluate`` on every backend.

    Args:
        clips: ``(clips, frames, H, W, C)`` float32 (``clip_windows``).
        batch_size: clips per batch; the last batch may be smaller.
        shuffle: draw a new order of the clips every epoch (by ``seed``
            and the epoch), else keep theirs.
        seed: the shuffling's seed.
        transform: optional function of each batch (e.g.
            ``model.split_clip`` for ``(inputs, targets)``).
    """

    def __init__(self, clips, *, batch_size, shuffle=True, seed=0,
                 transform=None, **kwargs):
        super().__init__(**kwargs)
        check_positive_ints(batch_size=batch_size)
        self.clips, self.batch_size = np.asarray(clips), batch_size
        self.shuffle, self.seed, self.transform = shuffle, seed, transform
        self._epoch = 0
        self._order = self._draw_order()

    def _draw_order(self):
        if not self.shuffle:
            return np.arange(len(self.clips))
        return np.random.default_rng([self.seed, self._epoch]).permutation(
            len(self.clips))

    def __len__(self):
        return -(-len(self.clips) // self.batch_size)

    def __getitem__(self, index):
        rows = self._order[index * self.batch_size:(index + 1) * self.batch_size]
        batch = self.clips[rows]
        return self.transform(batch) if self.transform else batch

    def on_epoch_end(self):
        self._epoch += 1
        self._order = self._draw_order()


class VideoClipStream(keras.utils.PyDataset):
    """Training batches of clips drawn from whole videos, for ``train``.

    Every clip of a batch is a window of ``clip_frames`` consecutive frames
    at a random start of a random video (each window of every video equally
    likely). Batch ``i`` depends only on ``(seed, first_batch + i)``, as the
    bouncing-digit stream's do, so a resumed run continues the stream.

    Args:
        videos: a list of ``(frames, H, W, C)`` arrays (``read_videos``).
        clip_frames: frames per clip.
        batch_size, seed, first_batch, num_batches: of the stream.
        transform: optional function of each batch (``model.split_clip``).
    """

    def __init__(self, videos, *, clip_frames, batch_size, seed, num_batches,
                 first_batch=0, transform=None, **kwargs):
        super().__init__(**kwargs)
        check_positive_ints(clip_frames=clip_frames, batch_size=batch_size,
                            num_batches=num_batches)
        _check_long_enough(videos, clip_frames)
        self.videos, self.clip_frames = videos, clip_frames
        self.windows = np.array([len(v) - clip_frames + 1 for v in videos])
        self.batch_size, self.seed = batch_size, int(seed)
        self.first_batch, self.length = first_batch, num_batches
        self.transform = transform

    def __len__(self):
        return self.length

    def __getitem__(self, index):
        rng = np.random.default_rng([self.seed, self.first_batch + index])
        # A window of all of them, uniformly: which video, then where.
        picks = rng.integers(0, self.windows.sum(), self.batch_size)
        edges = np.cumsum(self.windows)
        which = np.searchsorted(edges, picks, side="right")
        starts = picks - (edges[which] - self.windows[which])
        batch = np.stack([self.videos[v][s:s + self.clip_frames]
                          for v, s in zip(which, starts)])
        return self.transform(batch) if self.transform else batch


__all__ = ["ClipBatches", "LAYOUTS", "VideoClipStream", "clip_windows",
           "read_video", "read_videos", "split_by_video"]
