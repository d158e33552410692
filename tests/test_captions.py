"""Video to text: the caption grammar, tokens, captioned batches, and the
S2VT model's training call, greedy and beam-search decoding."""

import json
import math

import keras
import numpy as np
import pytest

from keras_vidrep.captions import CaptionBatches
from keras_vidrep.captions import caption
from keras_vidrep.captions import clip_captions
from keras_vidrep.captions import decode
from keras_vidrep.captions import digit_path
from keras_vidrep.captions import id_to_word
from keras_vidrep.captions import make_tokenizer
from keras_vidrep.captions import max_words
from keras_vidrep.captions import parse_caption
from keras_vidrep.captions import vocabulary
from keras_vidrep.captions import with_markers
from keras_vidrep._validation import InputError
from keras_vidrep.data.bouncing_digits import make_batch
from keras_vidrep.models.captioner import S2VTCaptioner

agnostic = pytest.mark.backend_agnostic


def _hand_made_clip():
    """A 3 flying down-right with no bounce; a 7 that moves down, hits the
    bottom wall on its second step (clamp-and-flip), then flies up."""
    images = np.zeros((2, 28, 28), np.uint8)
    info = make_batch(images, np.array([3, 7]), np.array([[0, 1]], np.int32),
                      np.array([[[0.1, 0.1], [0.85, 0.5]]], np.float32),
                      np.array([[math.pi / 4, math.pi / 2]], np.float32),
                      num_frames=10, frame_size=64, step_length=0.1,
                      with_info=True)
    return {k: keras.ops.convert_to_numpy(v) for k, v in info.items()}


@agnostic
def test_captions_of_a_hand_checked_clip():
    info = _hand_made_clip()
    captions, references = clip_captions(info["labels"], info["positions"],
                                         seed=0)
    expected = {"the three moves down and to the right and the seven moves "
                "down then up",
                "a seven is moving down then up while a three is moving down "
                "and to the right",
                "the three goes down and to the right , the seven goes down "
                "then up"}
    assert expected <= set(references[0]) and len(set(references[0])) == 6
    assert captions[0] in references[0]
    assert parse_caption(captions[0])[0] in ((3, 7), (7, 3))


@agnostic
def test_grammar_words_and_special_cases():
    assert caption((8, 1), ("up", "left"), 1) == (
        "an eight is moving up while a one is moving left")
    assert caption((5, 5), (digit_path(0, 4), digit_path(6, 6)), 0) == (
        "one five moves right then left and the other five moves down")
    assert parse_caption(caption((5, 5), ("up", "down"), 2)) == (
        (5, 5), ("up", "down"))
    assert parse_caption("the three moves up and") is None
    assert parse_caption("the cat moves up and the dog moves down") is None
    words = vocabulary()
    assert len(words) == len(set(words)) and {"an", ",", "then"} <= set(words)
    assert max_words() == 31


@agnostic
def test_captions_are_deterministic_per_seed_and_clip():
    labels = np.array([[1, 2], [3, 4], [5, 6], [7, 8]])
    positions = np.cumsum(np.ones((4, 10, 2, 2), np.int64) * 3, axis=1)
    first, _ = clip_captions(labels, positions, seed=3)
    again, _ = clip_captions(labels[2:], positions[2:], seed=3, first_index=2)
    assert first[2:] == again  # a clip's caption does not depend on its batch
    others = [clip_captions(labels, positions, seed=s)[0] for s in range(8)]
    assert len({tuple(c) for c in others}) > 1  # the template is drawn


def test_tokens_round_trip():
    tokenizer = make_tokenizer()
    words = id_to_word(tokenizer)
    assert list(words[:4]) == ["", "[UNK]", "<start>", "<end>"]
    texts = ["the three moves up and the seven moves down",
             "an eight is moving left then right while a one is moving up"]
    ids = keras.ops.convert_to_numpy(tokenizer(with_markers(texts)))
    assert ids.shape == (2, max_words() + 2) and (ids != 1).all()  # no OOV
    assert decode(ids, words) == texts


def test_caption_batches_feed_teacher_forcing(mnist_dir):
    from keras_vidrep.data import load_mnist_digits

    batches = CaptionBatches(load_mnist_digits("test", source=mnist_dir),
                             batch_size=3, num_batches=2, seed=0)
    inputs, targets = batches[1]
    assert inputs["frames"].shape == (3, 10, 64, 64, 1)
    assert inputs["words"].shape == targets.shape == (3, max_words() + 1)
    np.testing.assert_array_equal(inputs["words"][:, 1:], targets[:, :-1])
    assert (inputs["words"][:, 0] == 2).all()  # <start>
    words = id_to_word(batches.tokenizer)
    _, captions, references = batches.captioned(1)
    assert decode(targets, words) == captions
    assert all(c in r for c, r in zip(captions, references))


class _FixedLogits(S2VTCaptioner):
    """Logits that depend only on the previous word: a fixed table."""

    table = None

    def _read_clip(self, frames):
        batch = keras.ops.shape(frames)[0]
        zeros = keras.ops.zeros((batch, 1))
        return [zeros, zeros], [zeros, zeros], 1

    def _next_logits(self, previous, reader, writer, feature_size):
        return keras.ops.take(self.table, previous, axis=0), reader, writer


def _fixed(table):
    model = _FixedLogits(vocabulary_size=len(table), max_length=5)
    model.table = keras.ops.convert_to_tensor(np.log(np.asarray(table)))
    return model


# Words 0 pad, 1 unused, 2 <start>, 3 <end>, 4 "a", 5 "b".
_TABLE = np.full((6, 6), 1e-6)
_TABLE[2, 4], _TABLE[2, 5] = 0.5, 0.4     # start: a (0.5) or b (0.4)
_TABLE[4, 4], _TABLE[4, 5], _TABLE[4, 3] = 0.36, 0.34, 0.3  # after a: unsure
_TABLE[5, 3] = 0.99                       # after b: end, surely
_TABLE[3, 3] = 1.0


@agnostic
def test_greedy_decoding_follows_the_fixed_logits():
    frames = np.zeros((2, 3, 8, 8, 1), "float32")
    ids = keras.ops.convert_to_numpy(_fixed(_TABLE).generate(frames))
    # start -> a -> a -> a ... never ends.
    assert ids.tolist() == [[4, 4, 4, 4, 4]] * 2
    table = _TABLE.copy()
    table[4, 3] = 0.5  # now a ends: a, <end>, then padding
    ids = keras.ops.convert_to_numpy(_fixed(table).generate(frames))
    assert ids.tolist() == [[4, 3, 0, 0, 0]] * 2


@agnostic
def test_beam_search_finds_what_greedy_misses_and_beam_one_is_greedy():
    frames = np.zeros((1, 3, 8, 8, 1), "float32")
    model = _fixed(_TABLE)
    # "b <end>" (0.4 x 0.99) beats every continuation of "a" (at most 0.5 x
    # 0.36 x ...): beam search finds it, greedy cannot.
    beam = keras.ops.convert_to_numpy(model.generate(frames, beam_size=2))
    assert beam.tolist() == [[5, 3, 0, 0, 0]]
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(model._beam_search(frames, 5, 1)),
        keras.ops.convert_to_numpy(model.generate(frames)))


@agnostic
@pytest.mark.parametrize("stream", ["appearance", "motion", "fused"])
def test_s2vt_trains_and_beam_one_equals_greedy(stream):
    keras.utils.set_random_seed(0)
    model = S2VTCaptioner(vocabulary_size=12, max_length=6, units=8,
                          embedding_size=4, features=4, stream=stream,
                          reverse_frames=stream == "motion")
    rng = np.random.default_rng(0)
    frames = rng.random((4, 3, 16, 16, 1)).astype("float32")
    words = rng.integers(2, 12, (4, 6))
    assert model({"frames": frames, "words": words}).shape == (4, 6, 12)
    model.compile(keras.optimizers.Adam(1e-2),
                  keras.losses.SparseCategoricalCrossentropy(
                      from_logits=True, ignore_class=0))
    history = model.fit({"frames": frames, "words": words}, words, epochs=20,
                        verbose=0)
    # It learns: the four captions' words become likelier (a tenth of the
    # loss at least), which a model whose gradients do not reach its
    # weights cannot do.
    loss = history.history["loss"]
    assert np.isfinite(loss).all() and loss[-1] < 0.9 * loss[0], loss
    greedy = keras.ops.convert_to_numpy(model.generate(frames))
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(model._beam_search(frames, 6, 1)), greedy)
    assert keras.ops.convert_to_numpy(
        model.generate(frames, beam_size=3)).shape == (4, 6)
    clone = S2VTCaptioner.from_config(model.get_config())
    assert clone.get_config() == model.get_config()


def test_captioner_refuses_bad_arguments():
    with pytest.raises(ValueError, match="stream='optical'"):
        S2VTCaptioner(10, 5, stream="optical")
    with pytest.raises(ValueError, match="Received: max_length=0"):
        S2VTCaptioner(10, 0)
    model = S2VTCaptioner(10, 5, units=4, embedding_size=2, features=2)
    with pytest.raises(ValueError, match="Received: frames of shape"):
        model.generate(np.zeros((2, 8, 8, 1), "float32"))


def test_a_captioner_captions_through_the_calls_of_every_zoo_model(tmp_path):
    """predict(frames) gives the greedy ids, calling it on bare frames says
    what to call, and keras_vidrep.export writes its caption signature."""
    import tensorflow as tf

    import keras_vidrep

    words = id_to_word(make_tokenizer())
    keras.utils.set_random_seed(0)
    model = S2VTCaptioner(vocabulary_size=len(words), max_length=8, units=4,
                          embedding_size=2, features=2)
    frames = np.random.default_rng(0).random((3, 10, 64, 64, 1), "float32")
    np.testing.assert_array_equal(
        model.predict(frames, batch_size=2),
        keras.ops.convert_to_numpy(model.generate(frames)))
    assert model.predict(frames[:0]).shape == (0, 8)
    with pytest.raises(ValueError, match="use model.generate\\(frames\\) or "
                                         "model.predict\\(frames\\). Received: "
                                         "inputs=a tensor of shape"):
        model(frames)
    folder = keras_vidrep.export(model, tmp_path / "captioner")
    assert "caption" in tf.saved_model.load(str(folder)).signatures


def test_caption_scores_fixed_values():
    from keras_vidrep.captions import caption_scores

    truth = caption((3, 7), ("up", "down then up"), 0)
    references = [[truth, caption((7, 3), ("down then up", "up"), 1)]] * 3
    generated = [
        caption((7, 3), ("down then up", "up"), 1),   # a reference: exact
        caption((3, 7), ("up", "down"), 2),           # a path wrong
        "the three moves",                            # unparseable
    ]
    scores = caption_scores(generated, references)
    assert scores["exact_match"] == pytest.approx(1 / 3)
    assert scores["well_formed"] == pytest.approx(2 / 3)
    assert scores["digit_accuracy"] == pytest.approx(4 / 6)
    assert scores["path_accuracy"] == pytest.approx(3 / 6)
    assert 0 < scores["bleu4"] < 100
    perfect = caption_scores([truth] * 3, references)
    assert perfect["bleu4"] == pytest.approx(100.0)
    with pytest.raises(ValueError, match="Received: 2 captions for 3 clips"):
        caption_scores(generated[:2], references)
    assert scores["content"] == pytest.approx((4 / 6 + 3 / 6) / 2)


def test_meteor_and_cider_d_read_every_clips_references(monkeypatch):
    """Golden values of pycocoevalcap 1.2's METEOR 1.5 and CIDEr-D on three
    clips of different references: a reference (exact), a path wrong, an
    unparseable caption. CIDEr-D's document frequencies come from the
    references of all clips, so a clip's own references must be its own."""
    from keras_vidrep.captions import caption_scores
    from keras_vidrep.captions import metrics

    def references_of(digits, paths):
        return [caption(digits, paths, 0),
                caption(digits[::-1], paths[::-1], 1)]

    references = [references_of((3, 7), ("up", "down then up")),
                  references_of((1, 2), ("left", "right then left")),
                  references_of((4, 5), ("down", "up"))]
    generated = [references[0][1], caption((1, 2), ("left", "down"), 2),
                 "the four moves"]
    scores = caption_scores(generated, references)
    assert scores["meteor"] == pytest.approx(0.415007, abs=1e-5)
    assert scores["cider_d"] == pytest.approx(3.228998, abs=1e-5)
    perfect = caption_scores([refs[0] for refs in references], references)
    assert perfect["meteor"] == pytest.approx(1.0)
    assert perfect["cider_d"] == pytest.approx(6.470430, abs=1e-5)
    # Shuffled references: each caption is now judged against another
    # clip's, and both scores fall.
    shuffled = caption_scores(generated, references[1:] + references[:1])
    assert shuffled["meteor"] < scores["meteor"]
    assert shuffled["cider_d"] < scores["cider_d"]
    monkeypatch.setattr(metrics.shutil, "which", lambda name: None)
    assert caption_scores(generated, references)["meteor"] is None


def test_content_free_captions_keep_only_what_their_kind_says():
    from keras_vidrep.captions.baselines import FIXED_CAPTION
    from keras_vidrep.captions.baselines import content_free_captions
    from keras_vidrep.captions.baselines import content_free_scores

    rng = np.random.default_rng(0)
    references = []
    for _ in range(200):
        digits = tuple(int(d) for d in rng.integers(10, size=2))
        paths = tuple(digit_path(*map(int, rng.integers(8, size=2)))
                      for _ in range(2))
        references.append([caption(digits, paths)])
    truths = [parse_caption(refs[0]) for refs in references]
    for kind, digits_kept, paths_kept in (("right_digits", True, False),
                                          ("right_paths", False, True),
                                          ("random", False, False)):
        parsed = [parse_caption(text) for text in
                  content_free_captions(references, kind, seed=1)]
        assert all(parsed)
        same_digits = np.mean([p[0] == t[0] for p, t in zip(parsed, truths)])
        same_paths = np.mean([p[1] == t[1] for p, t in zip(parsed, truths)])
        assert (same_digits == 1) == digits_kept, kind
        assert (same_paths == 1) == paths_kept, kind
    assert content_free_captions(references[:2], "fixed") == [FIXED_CAPTION] * 2
    assert content_free_captions(references, "random", seed=3) == (
        content_free_captions(references, "random", seed=3))
    scores = content_free_scores(references)
    assert scores["right_digits"]["digit_accuracy"] == 1.0
    assert scores["random"]["content"] < 0.2
    with pytest.raises(InputError, match="Valid kinds: fixed, random"):
        content_free_captions(references, "nothing")


CAPTION_SCRIPT = """
import json, sys
sys.modules["keras_vidrep"] = None  # importing our package now fails
import numpy as np
import tensorflow as tf
loaded = tf.saved_model.load(sys.argv[1])
frames = tf.constant(np.load(sys.argv[2]))
out = loaded.signatures["caption"](frames=frames)["caption"].numpy()
print(json.dumps({"captions": [c.decode() for c in out],
                  "dtype": str(loaded.signatures["caption"]
                               .structured_outputs["caption"].dtype)}))
"""


@pytest.mark.parametrize("beam_size", [1, 3])
def test_caption_saved_model_writes_the_python_path_strings(tmp_path,
                                                            beam_size):
    import json
    import subprocess
    import sys

    from keras_vidrep.serving.saved_model import export_captioner

    tokenizer = make_tokenizer()
    words = id_to_word(tokenizer)
    keras.utils.set_random_seed(2)
    model = S2VTCaptioner(vocabulary_size=len(words), max_length=8, units=8,
                          embedding_size=4, features=4)
    frames = np.random.default_rng(3).random((3, 4, 32, 32, 1)).astype(
        "float32")
    # A bias towards words, so that the untrained model writes some.
    model({"frames": frames, "words": np.zeros((3, 8), "int32")})
    bias = np.zeros(len(words), "float32")
    bias[4:] = np.linspace(0.5, 1.5, len(words) - 4)
    bias[3] = 1.2  # <end> competes
    model.logits.bias.assign(bias)
    expected = decode(keras.ops.convert_to_numpy(
        model.generate(frames, beam_size=beam_size)), words)
    assert any(expected)
    folder = export_captioner(model, tmp_path / "captioner", words,
                              num_frames=4, frame_size=32,
                              beam_size=beam_size)
    np.save(tmp_path / "frames.npy", frames)
    result = subprocess.run([sys.executable, "-c", CAPTION_SCRIPT,
                             str(folder), str(tmp_path / "frames.npy")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["dtype"] == "<dtype: 'string'>"
    assert report["captions"] == expected
    with pytest.raises(FileExistsError, match="exists already"):
        export_captioner(model, tmp_path / "captioner", words, num_frames=4,
                         frame_size=32)


def test_graph_captions_of_ids_equal_the_python_decoding():
    import tensorflow as tf

    from keras_vidrep.serving.saved_model import captions_of_ids

    words = id_to_word(make_tokenizer())
    ids = np.array([[2, 4, 7, 3, 9, 0], [9, 1, 0, 5, 3, 3], [3, 4, 4, 4, 4, 4],
                    [0, 0, 0, 0, 0, 0]])
    graph = [c.decode() for c in captions_of_ids(ids, tf.constant(words))
             .numpy()]
    assert graph == decode(ids, words)
    assert graph[2] == graph[3] == "" and "[UNK]" in graph[1]


def test_train_captioner_and_caption_commands(tmp_path, mnist_dir):
    import json

    from tests.helpers import run_cli

    out = tmp_path / "captioner"
    trained = run_cli(mnist_dir, "train-captioner", "--steps", "3",
                      "--batch-size", "4", "--units", "8", "--stream",
                      "motion", "--reverse-frames", "--out", str(out))
    assert trained.returncode == 0, trained.stderr[-3000:]
    run = json.loads((out / "run.json").read_text())
    assert run["steps"] == 3 and run["architecture"]["stream"] == "motion"
    assert run["architecture"]["reverse_frames"] is True
    assert run["model"] == "captioner" and run["parts"][0]["steps_reached"] == 3
    shown = run_cli(mnist_dir, "caption", str(out), "--clips", "2",
                    "--beam-size", "2", "--out", str(tmp_path / "s.png"),
                    "--evaluate", "10")
    assert shown.returncode == 0, shown.stderr[-3000:]
    assert shown.stdout.count("truth: ") == 2
    scores = json.loads(shown.stdout[shown.stdout.index("{"):])
    assert scores["clips"] == 10 and scores["beam_size"] == 2
    from PIL import Image

    assert Image.open(tmp_path / "s.png").size[1] == 2 * (64 + 30)
    missing = run_cli(mnist_dir, "caption", str(tmp_path / "absent"))
    assert missing.returncode == 2 and "No model at" in missing.stderr
    video = run_cli(mnist_dir, "caption", "predictor_conv")
    assert video.returncode == 2 and "takes a captioner" in video.stderr


def test_pretrained_frame_reader_initialises_the_appearance_stream(tmp_path,
                                                                    mnist_dir):
    from keras_vidrep.captions.training import build_captioner
    from keras_vidrep.captions.training import load_frame_reader
    from keras_vidrep.captions.training import pretrain_frame_reader
    from keras_vidrep.models.captioner import FrameReader

    path = pretrain_frame_reader(tmp_path, steps=2, batch_size=4,
                                 features=8, source=mnist_dir, verbose=0)
    frames = keras.Input((1, 64, 64, 1))
    reference = FrameReader(8, name="appearance_reader")
    keras.Model(frames, reference(frames)).load_weights(path)

    model = build_captioner(units=8, embedding_size=4, features=8)
    model({"frames": np.zeros((1, 3, 64, 64, 1), "float32"),
           "words": np.zeros((1, model.max_length), "int32")})
    (appearance,) = [r for r in model.readers if r.name == "appearance_reader"]
    assert not np.array_equal(appearance.get_weights()[0],
                              reference.get_weights()[0])
    load_frame_reader(model, path)
    for mine, theirs in zip(appearance.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(mine, theirs)
    motion_only = build_captioner(units=8, stream="motion", features=8)
    with pytest.raises(ValueError, match="no appearance reader"):
        load_frame_reader(motion_only, path)


@pytest.mark.slow
def test_captions_experiment_smoke_records_reports_and_resumes(tmp_path,
                                                               mnist_dir):
    import json

    from tests.helpers import run_cli

    common = ["experiment", "captions", "--budget", "smoke", "--out",
              str(tmp_path / "experiments"), "--workdir", str(tmp_path / "runs")]
    result = run_cli(mnist_dir, *common)
    assert result.returncode == 0, result.stderr[-3000:]
    folder = tmp_path / "experiments" / "captions" / "smoke"
    for key in ("fused", "fused_reversed", "appearance", "motion",
                "fused_pretrained"):
        record = json.loads(
            (folder / "records" / f"{key}-seed0" / "record.json").read_text())
        assert set(record["scores"]) == {"1", "5"}
        assert record["scores"]["1"]["clips"] == 10
        assert (folder / "records" / f"{key}-seed0" / "strip.png").is_file()
    assert record["pretrained_reader"] is True
    report = (folder / "report.md").read_text()
    assert "Does reading the frames reversed help?" in report
    assert "| fused streams, frames reversed |" in report
    again = run_cli(mnist_dir, *common)
    assert again.returncode == 0 and "word_accuracy" not in again.stdout


@pytest.mark.slow
def test_sigterm_stops_train_captioner_which_exits_and_records_it(tmp_path,
                                                                 mnist_dir):
    """SIGTERM during train-captioner: exit status 143 within seconds (its
    PyDataset pipeline once kept the process waiting forever at exit), the
    stop recorded in run.json with the checkpoint's step."""
    import os
    import signal
    import subprocess
    import time

    from tests.helpers import REPO
    from tests.helpers import cli_command
    from tests.helpers import environment

    out = tmp_path / "run"
    process = subprocess.Popen(
        cli_command("train-captioner", "--steps", "5000", "--batch-size", "2",
                    "--units", "8", "--checkpoint-every", "5", "--out",
                    str(out)),
        cwd=REPO, env=environment(mnist_dir), stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True)
    try:
        pointer = out / "backup" / "checkpoint.json"
        deadline = time.time() + 240
        while not pointer.is_file() and process.poll() is None:
            assert time.time() < deadline, "no checkpoint"
            time.sleep(0.2)
        os.kill(process.pid, signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 143, err[-3000:]
    reached = json.loads(pointer.read_text())["epoch"] * 5
    assert f"stopped by SIGTERM; its checkpoint holds step {reached}" in err
    (part,) = json.loads((out / "run.json").read_text())["parts"]
    assert (part["steps_reached"], part["stopped_by"]) == (reached, "SIGTERM")


def test_train_captioner_resumes_where_it_stopped(tmp_path, mnist_dir):
    """Two steps, then the same call asked for four, give the weights of four
    steps in one go: the weights, optimizer and stream of clips go on from
    the checkpoint. Other arguments or fewer steps are refused."""
    from keras_vidrep.captions.training import train_captioner

    args = dict(batch_size=2, source=mnist_dir, verbose=0, units=8,
                features=8, checkpoint_every=1)
    straight = train_captioner(tmp_path / "straight", steps=4, **args)
    train_captioner(tmp_path / "resumed", steps=2, **args)
    resumed = train_captioner(tmp_path / "resumed", steps=4, **args)
    for a, b in zip(straight.get_weights(), resumed.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)
    run = json.loads((tmp_path / "resumed" / "run.json").read_text())
    assert [(p["steps_from"], p["steps_reached"]) for p in run["parts"]] == [
        (0, 2), (2, 4)]
    history = (tmp_path / "resumed" / "history.csv").read_text().splitlines()
    assert len(history) == 5  # the header and one row per step (epoch)
    with pytest.raises(InputError, match="other arguments"):
        train_captioner(tmp_path / "resumed", steps=4,
                        **{**args, "units": 16})
    with pytest.raises(InputError, match="cannot be shortened to 2"):
        train_captioner(tmp_path / "resumed", steps=2, **args)


def test_train_captioner_killed_after_its_last_checkpoint_finishes(tmp_path,
                                                                   mnist_dir):
    """A kill between the last checkpoint and model.keras: the rerun has no
    step left to train and must still end, with the model written."""
    from keras_vidrep.captions.training import train_captioner

    args = dict(batch_size=2, source=mnist_dir, verbose=0, units=8,
                features=8, checkpoint_every=1)
    trained = train_captioner(tmp_path / "run", steps=2, **args)
    (tmp_path / "run" / "model.keras").unlink()
    again = train_captioner(tmp_path / "run", steps=2, **args)
    assert (tmp_path / "run" / "model.keras").is_file()
    for a, b in zip(trained.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)
