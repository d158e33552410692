"""MNIST loading, bouncing-digit physics and pipeline, fixed Moving MNIST."""

import gzip
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from keras_vidrep.data import MNISTNotFoundError
from keras_vidrep.data import MovingMNISTNotFoundError
from keras_vidrep.data import BouncingDigitBatches
from keras_vidrep.data import bouncing_digits
from keras_vidrep.data import bouncing_digits_eval
from keras_vidrep.data import load_mnist_digits
from keras_vidrep.data import moving_mnist_test
from keras_vidrep.data.bouncing_digits import clamp_positions
from keras_vidrep.data.bouncing_digits import mirror_positions
from keras_vidrep.data.bouncing_digits import reflect
from keras_vidrep.data.bouncing_digits import trajectories

FRAME, DIGIT = 64, 28


# -- synthetic MNIST files -----------------------------------------------------

def write_idx(path, array):
    magic = 2051 if array.ndim == 3 else 2049
    header = magic.to_bytes(4, "big") + b"".join(
        d.to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def fake_digits(count, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 256, (count, DIGIT, DIGIT)).astype(np.uint8),
            rng.integers(0, 10, count).astype(np.int64))


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    """No env variable, an empty Keras cache, no download."""
    monkeypatch.delenv("KERAS_VIDREP_MNIST", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    return tmp_path


def test_offline_test_files_split_8000_2000(mnist_dir):
    train_x, train_y = load_mnist_digits("train", source=mnist_dir)
    test_x, test_y = load_mnist_digits("test", source=mnist_dir)
    assert train_x.shape == (8000, 28, 28) and test_x.shape == (2000, 28, 28)
    assert train_x.dtype == np.uint8 and train_y.shape == (8000,)
    assert set(np.unique(test_y)) == set(range(10))
    # By index, read here from the IDX bytes: train is digits 0-7999, test
    # 8000-9999, so no digit is on both sides.
    with gzip.open(Path(mnist_dir) / "t10k-images-idx3-ubyte.gz") as file:
        raw = np.frombuffer(file.read(), np.uint8, offset=16)
    raw = raw.reshape(10000, 28, 28)
    with gzip.open(Path(mnist_dir) / "t10k-labels-idx1-ubyte.gz") as file:
        labels = np.frombuffer(file.read(), np.uint8, offset=8)
    np.testing.assert_array_equal(train_x, raw[:8000])
    np.testing.assert_array_equal(test_x, raw[8000:])
    np.testing.assert_array_equal(np.concatenate([train_y, test_y]), labels)


def test_idx_folder_with_train_files_uses_standard_split(isolated):
    folder = isolated / "full"
    folder.mkdir()
    (tx, ty), (ex, ey) = fake_digits(30, 1), fake_digits(20, 2)
    write_idx(folder / "train-images-idx3-ubyte.gz", tx)
    write_idx(folder / "train-labels-idx1-ubyte.gz", ty)
    write_idx(folder / "t10k-images-idx3-ubyte.gz", ex)
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", ey)
    x, y = load_mnist_digits("train", source=folder)
    np.testing.assert_array_equal(x, tx)
    np.testing.assert_array_equal(y, ty)
    x, _ = load_mnist_digits("test", source=folder)
    np.testing.assert_array_equal(x, ex)


def test_search_order_source_env_cache(isolated, monkeypatch):
    def npz(path, value):
        path.parent.mkdir(parents=True, exist_ok=True)
        images = np.full((3, DIGIT, DIGIT), value, np.uint8)
        np.savez(path, x_train=images, y_train=np.zeros(3), x_test=images,
                 y_test=np.zeros(3))
        return path

    cache = npz(isolated / "keras_home" / "datasets" / "mnist.npz", 1)
    env = npz(isolated / "env" / "mnist.npz", 2)
    source = npz(isolated / "source.npz", 3)
    assert load_mnist_digits(download=False)[0][0, 0, 0] == 1
    monkeypatch.setenv("KERAS_VIDREP_MNIST", str(env.parent))  # a folder
    assert load_mnist_digits(download=False)[0][0, 0, 0] == 2
    assert load_mnist_digits(source=source, download=False)[0][0, 0, 0] == 3
    del cache


def test_not_found_names_every_place(isolated):
    with pytest.raises(MNISTNotFoundError) as error:
        load_mnist_digits("test", download=False)
    message = str(error.value)
    for place in ("source argument", "KERAS_VIDREP_MNIST", "Keras cache",
                  "keras.datasets.mnist", "source=PATH"):
        assert place in message


def test_explicit_location_without_mnist_is_an_error(isolated, monkeypatch):
    with pytest.raises(MNISTNotFoundError, match="nowhere.*holds no MNIST"):
        load_mnist_digits(source=isolated / "nowhere")
    monkeypatch.setenv("KERAS_VIDREP_MNIST", str(isolated))
    with pytest.raises(MNISTNotFoundError, match="environment variable"):
        load_mnist_digits()
    with pytest.raises(ValueError, match="split='validation'"):
        load_mnist_digits("validation")


def test_truncated_idx_file(isolated):
    folder = isolated / "bad"
    folder.mkdir()
    x, y = fake_digits(4)
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", y)
    with gzip.open(folder / "t10k-images-idx3-ubyte.gz", "wb") as f:
        f.write((2051).to_bytes(4, "big") + (4).to_bytes(4, "big")
                + (28).to_bytes(4, "big") * 2 + x.tobytes()[:100])
    with pytest.raises(ValueError, match="truncated"):
        load_mnist_digits("test", source=folder)


@pytest.mark.parametrize("damage, message", [
    ("not gzip", r"t10k-images-idx3-ubyte.gz is damaged: cannot decompress"),
    ("cut gzip", r"t10k-images-idx3-ubyte.gz is damaged: cannot decompress"),
    ("few labels", r"expected images \(N, 28, 28\) and N labels. Received: "
                   r"images of shape \(4, 28, 28\), labels of shape \(2,\)"),
])
def test_damaged_idx_files_name_the_file_and_the_fault(isolated, damage,
                                                       message):
    folder = isolated / "bad"
    folder.mkdir()
    x, y = fake_digits(4)
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", y[:2] if damage ==
              "few labels" else y)
    images = folder / "t10k-images-idx3-ubyte.gz"
    write_idx(images, x)
    if damage == "not gzip":
        images.write_bytes(b"plain bytes, not gzip")
    elif damage == "cut gzip":
        images.write_bytes(images.read_bytes()[:60])
    with pytest.raises(ValueError, match=message):
        load_mnist_digits("test", source=folder)


@pytest.mark.parametrize("images, message", [
    # Scaled by 1/255 again, these would be all-black clips (MSE 0).
    (np.full((3, DIGIT, DIGIT), 0.5, np.float32),
     r"expected uint8 images \(0-255\), as MNIST stores them. Received: "
     r"images of dtype float32 \(values from 0.5 to 0.5\)"),
    (np.zeros((3, 32, 32), np.uint8),
     r"expected images \(N, 28, 28\) and N labels. Received: images of "
     r"shape \(3, 32, 32\)"),
])
def test_an_npz_of_other_digits_is_refused(isolated, images, message):
    path = isolated / "mnist.npz"
    np.savez(path, x_train=images, y_train=np.zeros(3), x_test=images,
             y_test=np.zeros(3))
    with pytest.raises(ValueError, match=message):
        load_mnist_digits("test", source=path)


def test_garbage_npz_names_the_file(isolated):
    path = isolated / "mnist.npz"
    path.write_bytes(b"garbage")
    with pytest.raises(ValueError, match="mnist.npz is not a readable mnist.npz"):
        load_mnist_digits("test", source=path)


# -- physics -------------------------------------------------------------------

def test_reflect_mirrors_at_both_walls():
    got = reflect(tf.constant([-1.0, 0.0, 3.0, 10.0, 11.0, 25.0, -13.0]), 10.0)
    np.testing.assert_allclose(got.numpy(), [1, 0, 3, 10, 9, 5, 7])


def test_trajectories_constant_speed_and_reflection():
    extent, speed = (36.0, 36.0), 3.6
    rng = np.random.default_rng(3)
    start = rng.random((64, 2, 2), dtype=np.float32) * 36
    angle = rng.random((64, 2), dtype=np.float32) * 2 * np.pi
    exact = np.asarray(trajectories(start, angle, 20, extent, speed))
    assert exact.min() >= 0 and exact.max() <= 36
    step = np.diff(exact, axis=1)  # (b, t-1, d, 2)
    # Each velocity component keeps its magnitude (the median over time:
    # bounces are rare) except in a step that hits a wall; a step with no
    # bounce has exactly the prescribed speed.
    magnitude = np.median(np.abs(step), axis=1, keepdims=True)
    bounced = np.abs(np.abs(step) - magnitude) > 1e-3
    no_bounce = ~bounced.any(axis=-1)
    assert no_bounce.mean() > 0.5 and bounced.any()
    np.testing.assert_allclose(np.linalg.norm(step, axis=-1)[no_bounce], speed,
                               atol=1e-3)
    # Between bounces the velocity is constant.
    same_velocity = np.abs(step[:, 1:] - step[:, :-1]).max(axis=-1) < 1e-3
    both_free = no_bounce[:, 1:] & no_bounce[:, :-1]
    assert same_velocity[both_free].all()
    # Reflection: a component that bounced once between two free steps moves
    # the other way afterwards, at the same magnitude.
    isolated = bounced[:, 1:-1] & ~bounced[:, :-2] & ~bounced[:, 2:]
    before, after = step[:, :-2][isolated], step[:, 2:][isolated]
    assert isolated.sum() > 10
    np.testing.assert_allclose(after, -before, atol=1e-3)
    # At a bounce the position lies within one step of a wall.
    near_wall = np.minimum(exact, 36 - exact)[:, 1:][bounced] <= speed + 1e-3
    assert near_wall.all()


def original_trajectory(start, angle, num_frames, step_length=0.1, canvas=36):
    """The original generator's loop (GetRandomTrajectory), transcribed
    scalar by scalar in float32: step, then clamp-and-flip at each wall."""
    rows = np.zeros((num_frames,) + angle.shape, np.int32)
    cols = np.zeros_like(rows)
    for index in np.ndindex(angle.shape):
        y, x = np.float32(start[index][0]), np.float32(start[index][1])
        v_y = np.float32(step_length) * np.sin(angle[index], dtype=np.float32)
        v_x = np.float32(step_length) * np.cos(angle[index], dtype=np.float32)
        for t in range(num_frames):
            y, x = y + v_y, x + v_x
            if x <= 0:
                x, v_x = np.float32(0), -v_x
            if x >= 1:
                x, v_x = np.float32(1), -v_x
            if y <= 0:
                y, v_y = np.float32(0), -v_y
            if y >= 1:
                y, v_y = np.float32(1), -v_y
            rows[t][index] = int(np.float32(canvas) * y)
            cols[t][index] = int(np.float32(canvas) * x)
    return np.stack([rows, cols], -1).swapaxes(0, 1)  # (batch, t, digits, 2)


def test_clamp_rule_hand_worked():
    # One digit moving straight down from row 0.97 (col 0.51), step 0.1:
    # frame 0 steps to 1.07, is clamped to the wall (pixel 36) and turns;
    # then it moves away at full speed: 0.9, 0.8, 0.7 (pixels 32, 28, 25).
    # Under mirror reflection the same digit would be at 0.93 on frame 0.
    start = np.array([[[0.97, 0.51]]], np.float32)
    down = np.array([[np.pi / 2]], np.float32)
    got = np.asarray(clamp_positions(start, down, 4, (36, 36), 0.1))
    np.testing.assert_array_equal(got[0, :, 0, 0], [36, 32, 28, 25])
    np.testing.assert_array_equal(got[0, :, 0, 1], [18] * 4)  # int(36 * 0.51)
    # Up and to the left, into the top-left corner: both components clamp
    # at 0 on the same frame and both flip.
    start = np.array([[[0.05, 0.02]]], np.float32)
    up_left = np.array([[np.pi + np.pi / 4]], np.float32)  # sin, cos < 0
    got = np.asarray(clamp_positions(start, up_left, 3, (36, 36), 0.1))
    step = 0.1 * np.sqrt(0.5)
    want_rows = [0, int(36 * step), int(36 * 2 * step)]
    np.testing.assert_array_equal(got[0, :, 0, 0], want_rows)
    np.testing.assert_array_equal(got[0, :, 0, 1], want_rows)


def test_clamp_rule_matches_the_original_loop():
    rng = np.random.default_rng(7)
    start = rng.random((64, 2, 2), dtype=np.float32)
    angle = rng.random((64, 2), dtype=np.float32) * np.float32(2 * np.pi)
    got = np.asarray(clamp_positions(start, angle, 20, (36, 36), 0.1))
    want = original_trajectory(start, angle, 20)
    # sin/cos may differ by one ulp between libraries, which can move a
    # coordinate that lies on a pixel boundary by one pixel: allow that only.
    differ = got != want
    assert np.abs(got - want).max() <= 1 and differ.mean() < 1e-3
    assert (want == 0).any() and (want == 36).any()  # walls were hit


def test_mirror_rule_keeps_the_first_frame_at_the_start():
    start = np.array([[[0.5, 0.25]]], np.float32)
    right = np.array([[0.0]], np.float32)
    got = np.asarray(mirror_positions(start, right, 8, (36, 36), 0.1))
    # 9.0 + 3.6 t folded at 36: 9, 12.6, 16.2, ..., 34.2, then 36 - 1.8.
    np.testing.assert_array_equal(got[0, :, 0, 1],
                                  [9, 13, 16, 20, 23, 27, 31, 34])
    np.testing.assert_array_equal(got[0, :, 0, 0], [18] * 8)


def paste_reference(images, positions):
    frames = np.zeros((positions.shape[0], FRAME, FRAME), np.float32)
    for t, frame_positions in enumerate(positions):
        for image, (row, col) in zip(images, frame_positions):
            window = frames[t, row:row + DIGIT, col:col + DIGIT]
            np.maximum(window, image / 255.0, out=window)
    return frames


@pytest.mark.parametrize("bounce", ["clamp", "mirror"])
@pytest.mark.parametrize("assembly", ["tf.data", "PyDataset"])
def test_frames_are_digits_pasted_at_positions_combined_by_max(assembly,
                                                                bounce):
    images, labels = fake_digits(50)
    if assembly == "tf.data":
        element = next(iter(bouncing_digits((images, labels), batch_size=4,
                                            seed=0, bounce=bounce,
                                            with_info=True)))
    else:
        element = BouncingDigitBatches((images, labels), batch_size=4, seed=0,
                                       bounce=bounce, num_batches=1,
                                       with_info=True)[0]
    frames = np.asarray(element["frames"])
    positions = np.asarray(element["positions"])
    picked_labels = np.asarray(element["labels"])
    assert frames.shape == (4, 20, FRAME, FRAME, 1) and frames.dtype == np.float32
    assert positions.shape == (4, 20, 2, 2) and picked_labels.shape == (4, 2)
    assert positions.min() >= 0 and positions.max() <= FRAME - DIGIT
    for b in range(4):
        # Identify the digits by their labels is ambiguous; find them by
        # matching the first frame against every candidate pair instead.
        candidates = [i for i in range(50) if labels[i] in picked_labels[b]]
        found = False
        for i in candidates:
            for j in candidates:
                if (labels[i], labels[j]) != tuple(picked_labels[b]):
                    continue
                want = paste_reference(images[[i, j]], positions[b])
                if np.allclose(frames[b, ..., 0], want, atol=1e-6):
                    found = True
        assert found, f"sequence {b} is not its digits pasted at its positions"


@pytest.mark.parametrize("bounce", ["clamp", "mirror"])
def test_speed_in_pixels_matches_step_length(bounce):
    images, labels = fake_digits(10)
    element = next(iter(bouncing_digits(images, batch_size=32, seed=5,
                                        step_length=0.1, bounce=bounce,
                                        with_info=True)))
    positions = element["positions"].numpy().astype(float)
    steps = np.linalg.norm(np.diff(positions, axis=1), axis=-1)
    # Whole pixels move each coordinate by less than one pixel.
    assert np.median(steps) == pytest.approx(3.6, abs=0.75)
    assert np.all(element["labels"].numpy() == -1)  # no labels given


def test_deterministic_per_seed_and_values_in_range():
    images, _ = fake_digits(20)

    def first_two(seed):
        it = iter(bouncing_digits(images, batch_size=3, seed=seed))
        return np.concatenate([next(it).numpy(), next(it).numpy()])

    a, b, c = first_two(11), first_two(11), first_two(12)
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 0
    assert not np.array_equal(a[:3], a[3:])  # batches differ from each other
    assert a.min() >= 0.0 and a.max() <= 1.0


def test_other_sizes():
    images = np.full((5, 8, 8), 255, np.uint8)
    frames = next(iter(bouncing_digits(images, batch_size=2, seed=0,
                                       num_frames=7, frame_size=20,
                                       num_digits=3))).numpy()
    assert frames.shape == (2, 7, 20, 20, 1)
    # Three solid 8x8 squares, overlapping by max: between 64 and 192 pixels.
    lit = (frames > 0).sum(axis=(2, 3, 4))
    assert lit.min() >= 64 and lit.max() <= 192


@pytest.mark.parametrize("kwargs, message", [
    ({"batch_size": 0}, "batch_size=0"),
    ({"frame_size": 28}, "frame_size=28"),
    ({"num_frames": -1}, "num_frames=-1"),
    ({"step_length": 0}, "step_length=0"),
    ({"seed": None}, "seed=None"),
    ({"bounce": "elastic"}, "bounce='elastic'"),
])
def test_bad_arguments(kwargs, message):
    images, _ = fake_digits(3)
    arguments = {"batch_size": 2, "seed": 0, **kwargs}
    with pytest.raises(ValueError, match=message):
        bouncing_digits(images, **arguments)


def test_bad_digits():
    with pytest.raises(ValueError, match=r"Received: digits of shape \(3, 784\)"):
        bouncing_digits(np.zeros((3, 784)), batch_size=1, seed=0)


def test_eval_set_is_finite_deterministic_and_batch_size_independent():
    digits = fake_digits(40)
    a = np.concatenate([x.numpy() for x in bouncing_digits_eval(
        130, seed=3, batch_size=32, digits=digits)])
    b = np.concatenate([x.numpy() for x in bouncing_digits_eval(
        130, seed=3, batch_size=50, digits=digits)])
    assert a.shape == (130, 20, 64, 64, 1)
    np.testing.assert_array_equal(a, b)


def test_eval_set_uses_the_test_digits(mnist_dir):
    test_x, test_y = load_mnist_digits("test", source=mnist_dir)
    element = next(iter(bouncing_digits_eval(
        4, seed=0, batch_size=4, source=mnist_dir, with_info=True)))
    assert element["frames"].shape == (4, 20, 64, 64, 1)
    # The digits of each sequence come from the test digits.
    frame = element["frames"].numpy()[0, 0, ..., 0]
    (row, col) = element["positions"].numpy()[0, 0, 0]
    patch = np.round(frame[row:row + 28, col:col + 28] * 255).astype(np.uint8)
    covered = (patch >= test_x).all(axis=(1, 2))  # max of two >= each digit
    assert covered.any()


# -- fixed Moving MNIST --------------------------------------------------------

def test_moving_mnist_file_is_returned_batch_major(tmp_path):
    raw = np.random.default_rng(0).integers(0, 256, (20, 3, 64, 64),
                                            dtype=np.uint8)
    np.save(tmp_path / "mnist_test_seq.npy", raw)
    data = moving_mnist_test(tmp_path)  # a folder holding the file
    assert data.shape == (3, 20, 64, 64, 1) and data.dtype == np.float32
    np.testing.assert_allclose(data[1, 5, ..., 0], raw[5, 1] / 255.0)
    first = moving_mnist_test(tmp_path / "mnist_test_seq.npy", num_sequences=2)
    np.testing.assert_array_equal(first, data[:2])


def test_moving_mnist_bad_layout_and_absent(tmp_path, monkeypatch):
    np.save(tmp_path / "wrong.npy", np.zeros((3, 20, 32, 32), np.uint8))
    with pytest.raises(ValueError, match=r"Received: dtype=uint8, shape=\(3, 20, 32, 32\)"):
        moving_mnist_test(tmp_path / "wrong.npy")
    with pytest.raises(MovingMNISTNotFoundError, match="No Moving MNIST"):
        moving_mnist_test(tmp_path / "absent.npy")
    monkeypatch.delenv("KERAS_VIDREP_MOVING_MNIST", raising=False)
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))
    with pytest.raises(MovingMNISTNotFoundError, match="TFDS dataset"):
        moving_mnist_test()


@pytest.mark.parametrize("assembly", ["tf.data", "PyDataset"])
def test_default_bounce_is_the_original_clamp_rule(assembly):
    images, _ = fake_digits(20)
    make = {"tf.data": lambda **kw: next(iter(bouncing_digits(
                images, batch_size=8, seed=3, with_info=True, **kw))),
            "PyDataset": lambda **kw: BouncingDigitBatches(
                images, batch_size=8, seed=3, num_batches=1, with_info=True,
                **kw)[0]}[assembly]
    default, clamp, mirror = make(), make(bounce="clamp"), make(bounce="mirror")
    np.testing.assert_array_equal(np.asarray(default["positions"]),
                                  np.asarray(clamp["positions"]))
    assert np.abs(np.asarray(default["positions"])
                  - np.asarray(mirror["positions"])).max() > 0


def test_stream_can_start_at_a_later_batch():
    images, _ = fake_digits(20)
    full = iter(bouncing_digits(images, batch_size=2, seed=4))
    next(full), next(full)
    later = iter(bouncing_digits(images, batch_size=2, seed=4, first_batch=2))
    np.testing.assert_array_equal(next(later).numpy(), next(full).numpy())


def test_pydataset_is_deterministic_and_indexable():
    images, _ = fake_digits(20)
    data = BouncingDigitBatches(images, batch_size=3, seed=7, num_batches=5,
                                transform=lambda clip: (clip, clip[:, ::-1]))
    assert len(data) == 5
    x, y = data[2]
    assert x.shape == (3, 20, 64, 64, 1) and x.dtype == np.float32
    np.testing.assert_array_equal(y, x[:, ::-1])
    np.testing.assert_array_equal(x, data[2][0])
    later = BouncingDigitBatches(images, batch_size=3, seed=7, num_batches=1,
                                 first_batch=2)
    np.testing.assert_array_equal(later[0], x)
    assert np.abs(data[1][0] - x).max() > 0
    with pytest.raises(ValueError, match="num_batches=0"):
        BouncingDigitBatches(images, batch_size=3, seed=7, num_batches=0)


@pytest.mark.backend_agnostic
def test_the_evaluation_set_is_the_same_on_every_backend(mnist_dir):
    """Under TensorFlow a tf.data pipeline, elsewhere numpy batches drawn
    from the same stateless numbers: the same sequences (golden values
    from the TensorFlow pipeline), so a figure does not depend on the
    backend it was measured under."""
    from keras_vidrep.data import bouncing_digits_eval

    batches = list(bouncing_digits_eval(3, seed=7, batch_size=2,
                                        with_info=True, source=mnist_dir))
    assert [np.asarray(b["frames"]).shape[0] for b in batches] == [2, 1]
    positions = np.concatenate([np.asarray(b["positions"]) for b in batches])
    labels = np.concatenate([np.asarray(b["labels"]) for b in batches])
    frames = np.concatenate([np.asarray(b["frames"]) for b in batches])
    assert positions[:, [0, 19]].tolist() == [
        [[[36, 15], [0, 2]], [[3, 0], [8, 20]]],
        [[[26, 6], [11, 24]], [[16, 14], [24, 9]]],
        [[[35, 0], [27, 28]], [[24, 7], [5, 34]]]]
    assert labels.tolist() == [[0, 3], [4, 4], [9, 4]]
    assert float(frames.sum()) == pytest.approx(13591.46875, rel=1e-6)
