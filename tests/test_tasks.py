"""Recognition from learned encoders: labels, metrics, classifiers,
protocols, the ``probe`` command and the ``representations`` experiment."""

import json
import math

import keras
import numpy as np
import pytest

from keras_vidrep.data.bouncing_digits import make_batch
from keras_vidrep.experiments.representations import _compare
from keras_vidrep.models import build_model
from keras_vidrep.tasks import DIRECTIONS
from keras_vidrep.tasks import PROTOCOLS
from keras_vidrep.tasks import TASKS
from keras_vidrep.tasks import ProbeData
from keras_vidrep.tasks import build_classifier
from keras_vidrep.tasks import direction_sectors
from keras_vidrep.tasks import initial_encoder
from keras_vidrep.tasks import labelled_clips
from keras_vidrep.tasks import mean_average_precision
from keras_vidrep.tasks import run_probes
from keras_vidrep.tasks import top_k_recall
from keras_vidrep.tasks.probe import fit

from tests.helpers import run_cli

agnostic = pytest.mark.backend_agnostic


@agnostic
def test_direction_sectors_of_hand_made_positions():
    # (batch 1, 3 frames, 2 digits, (row, col)). Digit 0 moves right; digit
    # 1 moves up-left, then stays on its pixel: its previous step counts.
    positions = np.array([[[[0, 0], [10, 10]],
                           [[0, 4], [6, 6]],
                           [[0, 8], [6, 6]]]])
    assert direction_sectors(positions).tolist() == [[0, 3]]
    steps = {(0, 3): "right", (-3, 3): "up-right", (-3, 0): "up",
             (-3, -3): "up-left", (0, -3): "left", (3, -3): "down-left",
             (3, 0): "down", (3, 3): "down-right", (-1, 3): "right",
             (-2, 3): "up-right"}
    for step, name in steps.items():
        track = np.array([[[[20, 20]], [[20 + step[0], 20 + step[1]]]]])
        assert DIRECTIONS[direction_sectors(track)[0, 0]] == name, step


@agnostic
def test_labels_of_hand_checked_clips():
    """Clips made from chosen draws: a 3 flying down-right with no bounce,
    and a 7 that hits the bottom wall on its first step and flies up."""
    images = np.zeros((3, 28, 28), np.uint8)
    images[:, 10:18, 10:18] = 255
    labels = np.array([3, 7, 3])
    start = np.array([[[0.1, 0.1], [0.95, 0.5]]], np.float32)
    angle = np.array([[math.pi / 4, math.pi / 2]], np.float32)
    info = make_batch(images, labels, np.array([[0, 1]], np.int32), start,
                      angle, num_frames=10, frame_size=64, step_length=0.1,
                      with_info=True)
    info = {k: keras.ops.convert_to_numpy(v) for k, v in info.items()}
    motion = TASKS["motion"].label(info, 10)
    digits = TASKS["digits"].label(info, 10)
    assert [DIRECTIONS[k] for k in np.flatnonzero(motion[0])] == [
        "up", "down-right"]
    assert np.flatnonzero(digits[0]).tolist() == [3, 7]
    # Two 3s: one positive.
    same = make_batch(images, labels, np.array([[0, 2]], np.int32), start,
                      angle, num_frames=10, frame_size=64, step_length=0.1,
                      with_info=True)
    same = {k: keras.ops.convert_to_numpy(v) for k, v in same.items()}
    assert np.flatnonzero(TASKS["digits"].label(same, 10)[0]).tolist() == [3]


@agnostic
def test_labelled_clips_are_deterministic_and_nested(mnist_dir):
    frames, targets = labelled_clips(150, split="test", seed=5,
                                     source=mnist_dir)
    small, small_targets = labelled_clips(30, split="test", seed=5,
                                          source=mnist_dir)
    assert frames.shape == (150, 10, 64, 64, 1) and frames.dtype == np.float32
    np.testing.assert_array_equal(frames[:30], small)
    for name, task in TASKS.items():
        assert targets[name].shape == (150, len(task.classes))
        np.testing.assert_array_equal(targets[name][:30], small_targets[name])
        assert set(targets[name].sum(1).tolist()) <= {1.0, 2.0}
    other, _ = labelled_clips(30, split="test", seed=6, source=mnist_dir)
    assert not np.array_equal(other, small)


@agnostic
def test_metrics_fixed_values():
    scores = np.array([[0.9, 0.1, 0.8, 0.0], [0.2, 0.7, 0.1, 0.6]])
    targets = np.array([[0, 0, 1, 0], [1, 1, 0, 0]])
    # Clip 1 (k=1): its top class 0 is wrong; clip 2 (k=2): {1, 3}, one right.
    assert top_k_recall(scores, targets) == pytest.approx(0.25)
    # AP: class 0 found second (1/2), classes 1 and 2 first; 3 has none.
    assert mean_average_precision(scores, targets) == pytest.approx(2.5 / 3)
    with pytest.raises(ValueError, match="Received: scores of shape"):
        top_k_recall(scores, targets[:, :3])


@pytest.fixture(scope="module")
def small_data(mnist_dir):
    return ProbeData.draw(12, seed=0, eval_sequences=16, source=mnist_dir)


def _small_model():
    keras.utils.set_random_seed(1)
    return build_model("composite_fc", hidden_sizes=[8])


@agnostic
def test_a_probe_learns_what_its_labels_say(small_data):
    """Labels that name digits 0 and 1 in every clip: a trained head names
    them in (nearly) every held-out clip (1.0 under TensorFlow and JAX,
    0.91 under PyTorch), where a head that did not learn from its labels,
    or was scored against other targets, is near chance (0.2; 0.16
    measured with a learning rate of 1e-9)."""
    from keras_vidrep.tasks.labels import multi_hot

    def both(count):
        return {"digits": multi_hot(np.tile([[0, 1]], (count, 1)), 10)}

    data = ProbeData(small_data.frames, both(12), small_data.eval_frames,
                     both(16))
    (result,) = run_probes(_small_model(), data, tasks=("digits",),
                           label_counts=(12,), steps=100, batch_size=4,
                           learning_rate=1e-2)
    assert result["accuracy"] >= 0.8


@agnostic
def test_frozen_probe_leaves_the_encoder_untouched(small_data):
    model = _small_model()
    before = [np.array(w) for w in model.get_weights()]
    results = run_probes(model, small_data, protocol="frozen",
                         heads=("linear", "mlp"), label_counts=(6, 12),
                         steps=3, batch_size=4)
    assert len(results) == 2 * 2 * 2
    for result in results:
        assert 0.0 <= result["accuracy"] <= 1.0
    # Fine-tuning trains a copy: the source model is untouched too.
    run_probes(model, small_data, protocol="fine_tuned", tasks=("digits",),
               label_counts=(12,), steps=2, batch_size=4)
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, np.array(new))


@agnostic
def test_frozen_classifier_trains_only_its_head(small_data):
    model = _small_model()
    classifier = build_classifier(model, 10, trainable_encoder=False)
    encoder, head = classifier.get_layer("encoder"), classifier.get_layer("head")
    encoder_before = [np.array(w) for w in encoder.get_weights()]
    head_before = [np.array(w) for w in head.get_weights()]
    assert classifier.output.shape == (None, 10)
    fit(classifier, small_data.frames, small_data.targets["digits"], steps=3,
        batch_size=4, learning_rate=0.01)
    for old, new in zip(encoder_before, encoder.get_weights()):
        np.testing.assert_array_equal(old, np.array(new))
    assert any(not np.array_equal(old, np.array(new))
               for old, new in zip(head_before, head.get_weights()))


@agnostic
def test_initial_encoder_per_protocol():
    model = _small_model()
    encoder = model.encoder()
    assert initial_encoder(encoder, "frozen", 0) is encoder
    tuned = initial_encoder(encoder, "fine_tuned", 0)
    for old, new in zip(encoder.get_weights(), tuned.get_weights()):
        np.testing.assert_array_equal(np.array(old), np.array(new))
    tuned.weights[0].assign(tuned.weights[0] + 1.0)  # its own variables
    assert not np.array_equal(np.array(tuned.weights[0]),
                              np.array(encoder.weights[0]))
    scratch = initial_encoder(encoder, "scratch", 3)
    again = initial_encoder(encoder, PROTOCOLS["random"], 3)
    kernel = [np.array(w) for w in scratch.get_weights()][0]
    assert not np.array_equal(kernel, np.array(encoder.get_weights()[0]))
    np.testing.assert_array_equal(kernel, np.array(again.get_weights()[0]))


def test_fine_tuned_encoder_starts_from_the_zoo_weights():
    from keras_vidrep import load

    zoo = load("composite_fc", compile=False).encoder()
    tuned = initial_encoder(load("composite_fc", compile=False).encoder(),
                            "fine_tuned", 0)
    assert len(tuned.weights) == len(zoo.weights) > 0
    for old, new in zip(zoo.get_weights(), tuned.get_weights()):
        np.testing.assert_array_equal(old, new)


def test_bad_arguments_say_what_was_received(small_data):
    model = _small_model()
    for kwargs, message in (
            ({"protocol": "linear"}, "protocol='linear'"),
            ({"heads": ("svm",)}, "head='svm'"),
            ({"tasks": ("colour",)}, "Unknown task 'colour'"),
            ({"label_counts": (0,)}, "label_counts\\[0\\]"),
            ({"label_counts": (13,)}, "the data has 12")):
        with pytest.raises(ValueError, match=message):
            run_probes(model, small_data, **kwargs)
    with pytest.raises(ValueError, match="Expected an encoder"):
        build_classifier(42, 10)
    with pytest.raises(ValueError, match="Received: positions of shape"):
        direction_sectors(np.zeros((2, 1, 2, 2)))


def test_compare_needs_every_seed_to_call_a_difference():
    assert _compare([0.5, 0.6], [0.3, 0.4]) == "+0.200 (higher: every seed)"
    assert _compare([0.3, 0.4], [0.5, 0.6]) == "-0.200 (lower: every seed)"
    assert _compare([0.3, 0.7], [0.4, 0.5]) == (
        "+0.050 (undecided at this budget: the seeds overlap)")
    assert _compare([0.3], [0.9]) == "-0.600 (undecided at this budget: one seed)"
    assert _compare([], [0.4]) is None


def test_class_prior_ranks_by_the_labelled_frequencies():
    import numpy as np

    from keras_vidrep.tasks import class_prior

    class Data:
        # Class 2 is the most frequent among the labelled clips.
        targets = {"t": np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1]], "float32")}
        eval_targets = {"t": np.array([[0, 0, 1], [1, 0, 0]], "float32")}

    # k = 1 for both clips: the prior's top class (2) is right once.
    assert class_prior("t", Data) == pytest.approx(0.5)
    # From the first labelled clip alone, still class 2.
    assert class_prior("t", Data, labels=1) == pytest.approx(0.5)


def test_raw_pixels_are_a_probe_encoder():
    import numpy as np

    from keras_vidrep.tasks.probe import PIXELS
    from keras_vidrep.tasks.probe import resolve_encoder

    encoder, shape = resolve_encoder(PIXELS)
    frames = np.random.default_rng(0).random((2, *shape), "float32")
    np.testing.assert_array_equal(encoder.predict(frames, verbose=0),
                                  frames.reshape(2, -1))


def test_probe_command_prints_each_protocol_next_to_chance(mnist_dir):
    result = run_cli(mnist_dir, "probe", "composite_fc", "--task", "digits",
                     "--labels", "6", "--eval-sequences", "20", "--steps", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert "digits: 6 labelled clips" in lines[0]
    # Progress while it works: each protocol announced, then its bars.
    assert [l for l in lines if l.startswith("[")][:3] == [
        "[1/3] frozen", "[2/3] scratch", "[3/3] random"]
    for name in ("frozen", "scratch", "random", "chance", "class prior"):
        (line,) = [l for l in lines if l.startswith(name + " ")]
        assert 0.0 <= float(line[12:].split()[0]) <= 1.0
    bad = run_cli(mnist_dir, "probe", "no_such_model")
    assert bad.returncode == 2 and "no_such_model" in bad.stderr


def test_representations_smoke_records_reports_and_resumes(tmp_path,
                                                          mnist_dir):
    common = ["experiment", "representations", "--budget", "smoke", "--out",
              str(tmp_path)]
    result = run_cli(mnist_dir, *common)
    assert result.returncode == 0, result.stderr[-3000:]
    folder = tmp_path / "representations" / "smoke"
    rows = {"frozen-composite_fc": ("frozen", {"linear", "mlp"}),
            "random-fc": ("random", {"linear", "mlp"}),
            "fine_tuned-composite_fc": ("fine_tuned", {"linear"}),
            "scratch-fc": ("scratch", {"linear"})}
    for key, (protocol, heads) in rows.items():
        record = json.loads(
            (folder / "records" / f"{key}-seed0" / "record.json").read_text())
        assert record["protocol"] == protocol and record["eval_sequences"] == 20
        assert {r["head"] for r in record["results"]} == heads
        assert {r["task"] for r in record["results"]} == set(TASKS)
    report = (folder / "report.md").read_text()
    assert (folder / "accuracy_vs_labels.png").is_file()
    assert "| composite_fc |" in report and "## Verdict" in report
    assert "best composite_fc" in report
    again = run_cli(mnist_dir, *common)
    assert again.returncode == 0 and "1/2" not in again.stdout
    assert (folder / "report.md").read_text() == report


def test_many_models_hides_only_the_retracing_warning(caplog):
    import logging

    from keras_vidrep._logging import many_models

    logger = logging.getLogger("tensorflow")
    with caplog.at_level(logging.WARNING, logger="tensorflow"):
        with many_models():
            logger.warning("5 out of the last 5 calls to <function f> "
                           "triggered tf.function retracing. Tracing is ...")
            logger.warning("something else")
        logger.warning("6 out of the last 6 calls to <function f> "
                       "triggered tf.function retracing.")
    assert [r.getMessage()[:14] for r in caplog.records] == [
        "something else", "6 out of the l"]
