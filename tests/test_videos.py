"""Your own videos: files and arrays in, clips out, through fit, evaluate
and predict (keras_vidrep.data.videos and the CLI's --data / predict)."""

import json

import keras
import numpy as np
import pytest

from keras_vidrep._validation import InputError
from keras_vidrep.data import ClipBatches
from keras_vidrep.data import clip_windows
from keras_vidrep.data import read_video
from keras_vidrep.data import read_videos
from keras_vidrep.data import split_by_video
from tests.helpers import TINY
from tests.helpers import run_cli

agnostic = pytest.mark.backend_agnostic


def moving_square(frames=24, size=64, offset=0):
    """uint8 RGB frames (frames, size, size, 3): a white square moving right."""
    video = np.zeros((frames, size, size, 3), np.uint8)
    for t in range(frames):
        left = (offset + 2 * t) % (size - 16)
        video[t, 10:26, left:left + 16] = 255
    return video


def write_video(path, frames, rate=10):
    """Encodes ``frames`` (uint8 RGB) with FFmpeg's H.264 through PyAV."""
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "yuv420p"
        for frame in frames:
            for packet in stream.encode(
                    av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.fixture(scope="module")
def videos_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("videos")
    for index in range(3):
        write_video(folder / f"clip{index}.mp4", moving_square(offset=5 * index))
    return folder


def test_decoded_frames_equal_what_was_encoded(videos_dir):
    truth = moving_square()[..., :1] / 255.0
    video = read_video(videos_dir / "clip0.mp4")
    assert video.shape == (24, 64, 64, 1) and video.dtype == np.float32
    # H.264 is lossy; on these flat shapes it is within a grey level or two.
    assert np.abs(video - truth).mean() < 0.01
    small = read_video(videos_dir / "clip0.mp4", frame_size=32, channels=3,
                       max_frames=5)
    assert small.shape == (5, 32, 32, 3)
    assert 0.0 <= small.min() and small.max() <= 1.0


def test_a_folder_a_glob_and_arrays_give_the_same_videos(videos_dir, tmp_path):
    from_folder = read_videos(videos_dir)
    from_glob = read_videos(str(videos_dir / "clip*.mp4"))
    assert len(from_folder) == len(from_glob) == 3
    for a, b in zip(from_folder, from_glob):
        np.testing.assert_array_equal(a, b)
    batch_major = (np.stack(from_folder) * 255).round().astype(np.uint8)
    np.save(tmp_path / "videos.npy", batch_major)
    np.save(tmp_path / "time_major.npy", np.swapaxes(batch_major, 0, 1))
    for path, layout in ((tmp_path / "videos.npy", "batch_major"),
                         (tmp_path / "time_major.npy", "time_major")):
        got = read_videos(path, layout=layout)
        assert len(got) == 3
        np.testing.assert_allclose(got[1], from_folder[1], atol=1 / 255)
    np.savez(tmp_path / "each.npz", a=batch_major[0][..., 0],
             b=batch_major[1][..., 0])
    assert [v.shape for v in read_videos(tmp_path / "each.npz")] == [
        (24, 64, 64, 1)] * 2


def test_clips_are_windows_of_each_video_with_a_stride():
    videos = [np.arange(7, dtype=np.float32).reshape(7, 1, 1, 1) / 10,
              np.arange(5, dtype=np.float32).reshape(5, 1, 1, 1) / 10]
    clips = clip_windows(videos, 3, stride=2)
    # Video 0: starts 0, 2, 4; video 1: starts 0, 2.
    assert clips[:, 0, 0, 0, 0].tolist() == pytest.approx(
        [0.0, 0.2, 0.4, 0.0, 0.2])
    assert clip_windows(videos, 5).shape == (2, 5, 1, 1, 1)  # no overlap
    with pytest.raises(InputError, match="Video 1 has 5 frames, fewer than a "
                                         "clip of clip_frames=6"):
        clip_windows(videos, 6)


def test_a_split_by_video_keeps_each_video_on_one_side():
    videos = [np.full((4, 2, 2, 1), i / 10, np.float32) for i in range(10)]
    train, validation = split_by_video(videos, 0.2, seed=3)
    assert len(train) == 8 and len(validation) == 2
    ids = lambda side: {float(v[0, 0, 0, 0]) for v in side}  # noqa: E731
    assert not ids(train) & ids(validation)
    assert ids(train) | ids(validation) == ids(videos)
    again = split_by_video(videos, 0.2, seed=3)
    assert ids(again[1]) == ids(validation)
    assert ids(split_by_video(videos, 0.2, seed=4)[1]) != ids(validation)
    with pytest.raises(InputError, match="at least two videos"):
        split_by_video(videos[:1], 0.5)


@agnostic
def test_clip_batches_reshuffle_per_epoch_and_train_a_model():
    from keras_vidrep.models import build_model

    rng = np.random.default_rng(0)
    clips = rng.random((10, 4, 16, 16, 1)).astype(np.float32)
    batches = ClipBatches(clips, batch_size=4, seed=1)
    assert len(batches) == 3 and len(batches[2]) == 2
    first = np.concatenate([batches[i] for i in range(3)])
    assert sorted(map(float, first[:, 0, 0, 0, 0])) == sorted(
        map(float, clips[:, 0, 0, 0, 0]))
    batches.on_epoch_end()
    second = np.concatenate([batches[i] for i in range(3)])
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(
        first, np.concatenate([b for b in ClipBatches(clips, batch_size=4,
                                                      seed=1)]))
    model = build_model("composite_conv", hidden_sizes=[4], frame_size=16,
                        input_frames=2, future_frames=2, patch_size=4)
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(ClipBatches(clips, batch_size=4, seed=0,
                                    transform=model.split_clip),
                        epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2


def test_bad_input_is_refused_naming_the_file(videos_dir, tmp_path):
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(InputError, match="empty.mp4 is empty"):
        read_videos(tmp_path / "empty.mp4")
    (tmp_path / "broken.mp4").write_bytes(b"not a video" * 100)
    with pytest.raises(InputError, match="broken.mp4 cannot be decoded"):
        read_videos(tmp_path / "broken.mp4")
    with pytest.raises(InputError, match="No video or array file matches"):
        read_videos(str(tmp_path / "nothing*.mp4"))
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    write_video(mixed / "big.mp4", moving_square(frames=4))
    write_video(mixed / "small.mp4", moving_square(frames=4, size=32))
    with pytest.raises(InputError, match="different frame shapes.*frame_size"):
        read_videos(mixed)
    assert {v.shape for v in read_videos(mixed, frame_size=16)} == {
        (4, 16, 16, 1)}
    with pytest.raises(InputError, match="ambiguous.*layout"):
        read_videos(np.zeros((5, 20, 8, 8), np.uint8))
    # More videos than frames: batch-major, Keras' convention.
    assert len(read_videos(np.zeros((20, 5, 8, 8), np.uint8))) == 20
    with pytest.raises(InputError, match="must lie in \\[0, 1\\]. Received: "
                                         "values from 0 to 255"):
        read_videos(np.full((3, 2, 8, 8), 255.0, np.float32))
    with pytest.raises(InputError, match="expected 4 or 5 axes"):
        read_videos(np.zeros((3, 8, 8), np.uint8))


def test_evaluate_visualize_and_predict_on_your_own_videos(videos_dir,
                                                           tmp_path,
                                                           mnist_dir):
    """The CLI on a folder of videos: evaluate with the baselines on the
    same clips, a picture of one, and a prediction written as GIF and .npy
    with the video's own continuation beside it."""
    evaluated = run_cli(mnist_dir, "evaluate", "predictor_fc", "--data",
                        str(videos_dir), "--stride", "2", "--json")
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    report = json.loads(evaluated.stdout)
    # Three videos of 24 frames, clips of 20 every 2 frames: 3 each.
    assert report["clips"] == 9
    future = report["own_videos"]["future"]
    assert set(future) == {"model", "copy_last_frame", "all_zeros",
                           "mean_input_frame"}
    drawn = run_cli(mnist_dir, "visualize", "predictor_fc", "--data",
                    str(videos_dir), "--out", str(tmp_path / "mine.png"))
    assert drawn.returncode == 0, drawn.stderr[-3000:]
    assert (tmp_path / "mine.gif").is_file()
    said = {}
    for out in ("prediction.gif", "prediction.npy"):
        predicted = run_cli(mnist_dir, "predict", "predictor_fc",
                            str(videos_dir / "clip1.mp4"), "--out",
                            str(tmp_path / out), "--start", "2")
        assert predicted.returncode == 0, predicted.stderr[-3000:]
        said[out] = predicted.stdout
    # Frames 2-11 in, 12-21 the video's own continuation beside the model's.
    assert "10 of the video's own continuation" in said["prediction.gif"]
    frames = np.load(tmp_path / "prediction.npy")
    assert frames.shape == (10, 64, 64, 1)
    from PIL import Image

    with Image.open(tmp_path / "prediction.gif") as gif:
        assert gif.n_frames == 10
    refused = run_cli(mnist_dir, "predict", "predictor_fc",
                      str(videos_dir / "clip1.mp4"), "--out",
                      str(tmp_path / "p.gif"), "--start", "20")
    assert refused.returncode == 2
    assert "--start 20 leaves 4 frames" in refused.stderr


def test_a_stream_of_clips_is_a_pure_function_of_seed_and_batch():
    from keras_vidrep.data import VideoClipStream

    videos = [np.arange(n, dtype=np.float32).reshape(n, 1, 1, 1) / 100
              for n in (6, 9)]
    stream = VideoClipStream(videos, clip_frames=4, batch_size=50, seed=2,
                             num_batches=3)
    # Every clip is 4 consecutive frames of one video.
    steps = np.diff(stream[0][:, :, 0, 0, 0], axis=1)
    np.testing.assert_allclose(steps, 0.01, rtol=1e-5)
    resumed = VideoClipStream(videos, clip_frames=4, batch_size=50, seed=2,
                              num_batches=2, first_batch=1)
    np.testing.assert_array_equal(resumed[0], stream[1])
    # Both videos' windows are drawn (3 of the first, 6 of the second).
    firsts = set(np.round(stream[0][:, 0, 0, 0, 0] * 100).astype(int))
    assert firsts == set(range(6))
    with pytest.raises(InputError, match="Video 0 has 6 frames, fewer than "
                                         "a clip of clip_frames=7"):
        VideoClipStream(videos, clip_frames=7, batch_size=1, seed=0,
                        num_batches=1)


def test_train_on_your_own_videos_and_resume(videos_dir, tmp_path, mnist_dir):
    common = ["train", "composite_conv", *TINY, "--batch-size", "2",
              "--checkpoint-every", "2", "--data", str(videos_dir),
              "--out", str(tmp_path / "run")]
    first = run_cli(mnist_dir, *common, "--steps", "2")
    assert first.returncode == 0, first.stderr[-3000:]
    record = json.loads((tmp_path / "run" / "run.json").read_text())
    assert record["videos"] == str(videos_dir)
    resumed = run_cli(mnist_dir, *common, "--steps", "4")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "Resuming" in resumed.stdout
    rows = (tmp_path / "run" / "history.csv").read_text().splitlines()
    assert len(rows) == 3  # header, steps 2 and 4
    other = run_cli(mnist_dir, *common[:-2], "--out", str(tmp_path / "run"),
                    "--steps", "6", "--data", str(videos_dir / "clip0.mp4"))
    assert other.returncode == 2 and "other arguments" in other.stderr


def test_train_reads_a_time_major_array_with_layout(tmp_path, mnist_dir):
    """(frames, videos, H, W) as mnist_test_seq.npy: read batch-major it is
    20 videos of 3 frames, shorter than a clip; `--layout time_major`
    makes it 3 videos of 20 frames, and run.json records the layout."""
    frames = np.random.default_rng(0).random((20, 3, 32, 32)).astype(
        "float32")
    np.save(tmp_path / "seq.npy", frames)
    common = ["train", "composite_conv", *TINY, "--batch-size", "2",
              "--checkpoint-every", "1", "--steps", "1", "--data",
              str(tmp_path / "seq.npy")]
    guessed = run_cli(mnist_dir, *common, "--out", str(tmp_path / "a"))
    assert guessed.returncode == 2 and "fewer than a clip" in guessed.stderr
    told = run_cli(mnist_dir, *common, "--layout", "time_major", "--out",
                   str(tmp_path / "b"))
    assert told.returncode == 0, told.stderr[-3000:]
    record = json.loads((tmp_path / "b" / "run.json").read_text())
    assert record["videos_layout"] == "time_major"


def test_a_tfds_dataset_gives_its_videos_and_trains(tmp_path, mnist_dir):
    """TensorFlow Datasets sources, with TFDS' own mock data (nothing can be
    downloaded here): moving_mnist's Video feature and the robot-pushing
    dataset's sequences of images (one picked by name) come out as float
    videos in [0, 1] of the frames TFDS gives, and train a model."""
    import tensorflow_datasets as tfds  # a dependency: never skipped
    from keras_vidrep.training.trainer import train

    with tfds.testing.mock_data(num_examples=3):
        raw = [example["image_sequence"] for example in tfds.as_numpy(
            tfds.builder("moving_mnist").as_dataset(split="test"))]
        videos = read_videos("tfds:moving_mnist:test")
        assert len(videos) == 3
        for video, frames in zip(videos, raw):
            assert video.shape == (20, 64, 64, 1) and video.dtype == np.float32
            np.testing.assert_array_equal(video, frames / np.float32(255))
        pushing = read_videos("tfds:bair_robot_pushing_small:train:image_main",
                              frame_size=32, channels=1)
        assert [v.shape for v in pushing] == [(30, 32, 32, 1)] * 3
        assert len(read_videos(tfds.builder("moving_mnist"))) == 3
        model = train("predictor_fc", steps=2, batch_size=2,
                      checkpoint_every=1, out=str(tmp_path / "run"),
                      videos="tfds:moving_mnist:test", verbose=0,
                      model_overrides={"hidden_sizes": [4]})
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["videos"] == "tfds:moving_mnist:test"
    assert run["parts"][0]["steps_reached"] == 2 and model.built


@pytest.mark.parametrize("source, message", [
    ("tfds:moving_mnist:test", "tfds:moving_mnist is not prepared on this "
     "machine (TFDS found no data in "),
    ("tfds:no_such_videos", "TensorFlow Datasets has no dataset "
     "'no_such_videos'"),
    ("tfds:mnist", "tfds:mnist has no videos (a Video feature or a sequence "
     "of images); its features: image, label."),
    ("tfds:moving mnist", "A TFDS source is tfds:NAME[:SPLIT][:FEATURE]"),
])
def test_a_bad_tfds_source_is_one_clear_error(source, message, tmp_path,
                                              monkeypatch):

    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))  # nothing prepared
    with pytest.raises(InputError) as error:
        read_videos(source)
    assert message in str(error.value)
    if "not prepared" in message:
        assert "`tfds build moving_mnist`" in str(error.value)
