"""Presets Keras can deserialize, ``from_preset`` per model class, and one
``PresetKind`` per class behind loading, promotion and the records
(issue #28)."""

import json
import shutil

import keras
import numpy as np
import pytest

import keras_vidrep
from keras_vidrep import presets
from keras_vidrep._validation import InputError
from keras_vidrep.models import VideoSeq2Seq
from keras_vidrep.models import build_model
from keras_vidrep.models.captioner import S2VTCaptioner
from keras_vidrep.zoo import kinds
from keras_vidrep.zoo import loading as zoo

from tests.helpers import REPO

NAME = "predictor_fc"  # the smallest video preset, 11 MB


def _future(model, seed=0):
    clips = np.random.default_rng(seed).random((2, 10, 64, 64, 1), "float32")
    return keras.ops.convert_to_numpy(model.predict(clips, verbose=0)["future"])


def test_a_preset_config_is_the_model_keras_serializes():
    for name in zoo.list_models():
        config = json.loads((REPO / "saved_models" / name
                             / "config.json").read_text())
        model = keras.saving.deserialize_keras_object(config)
        fresh = zoo.build_preset(name)
        assert type(model) is type(fresh), name
        assert model.get_config() == fresh.get_config(), name
        assert model.count_params() == fresh.count_params(), name
        assert config == presets.preset_table()[name]["keras_config"], name


@pytest.mark.backend_agnostic
def test_from_preset_gives_the_zoo_model_by_name_or_directory(tmp_path):
    loaded = keras_vidrep.load(NAME, compile=False)
    by_name = VideoSeq2Seq.from_preset(NAME)
    copy = tmp_path / "copy"
    shutil.copytree(REPO / "saved_models" / NAME, copy,
                    ignore=shutil.ignore_patterns("[0-9]*"))
    by_folder = VideoSeq2Seq.from_preset(str(copy))
    expected = _future(loaded)
    np.testing.assert_array_equal(_future(by_name), expected)
    np.testing.assert_array_equal(_future(by_folder), expected)
    assert by_name.compiled is False  # load compiles; from_preset does not
    fresh = VideoSeq2Seq.from_preset(NAME, load_weights=False)
    assert not np.array_equal(_future(fresh), expected)


def test_from_preset_checks_the_weights_sha256(tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(REPO / "saved_models" / NAME, copy,
                    ignore=shutil.ignore_patterns("[0-9]*"))
    with open(copy / presets.WEIGHTS_FILE, "r+b") as file:
        file.seek(-8, 2)
        file.write(b"damaged!")
    with pytest.raises(OSError, match="is not the one recorded"):
        VideoSeq2Seq.from_preset(str(copy))


@pytest.mark.backend_agnostic
def test_from_preset_refuses_another_class_a_model_file_and_bad_names(
        tmp_path):
    with pytest.raises(InputError, match="holds a S2VTCaptioner model, not "
                       "a VideoSeq2Seq one: load it with S2VTCaptioner"):
        VideoSeq2Seq.from_preset("captioner_fused", load_weights=False)
    with pytest.raises(InputError, match="holds a VideoSeq2Seq model"):
        S2VTCaptioner.from_preset(NAME, load_weights=False)
    with pytest.raises(InputError, match=r"Unknown model 'composite'\. "
                       "Valid names: autoencoder_conv, "):
        VideoSeq2Seq.from_preset("composite")
    path = tmp_path / "model.keras"
    build_model("predictor_fc", hidden_sizes=[4], frame_size=16,
                input_frames=2, future_frames=2).save(path)
    with pytest.raises(InputError, match="is a model file, not a preset"):
        VideoSeq2Seq.from_preset(str(path))


@pytest.mark.backend_agnostic
def test_a_captioner_comes_from_its_preset():
    captioner = S2VTCaptioner.from_preset("captioner_fused")
    loaded = keras_vidrep.load("captioner_fused", compile=False)
    assert [w.name for w in captioner.weights] == [
        w.name for w in loaded.weights]
    for mine, theirs in zip(captioner.weights, loaded.weights):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(mine),
                                      keras.ops.convert_to_numpy(theirs))


def test_a_preset_directory_of_builder_arguments_still_loads(tmp_path):
    # What the zoo wrote before it wrote serialized Keras models.
    old = tmp_path / "old"
    old.mkdir()
    shutil.copy(REPO / "saved_models" / NAME / presets.WEIGHTS_FILE, old)
    config = {"name": NAME, **presets.preset_table()[NAME]["config"]}
    (old / "config.json").write_text(json.dumps(config))
    np.testing.assert_array_equal(
        _future(keras_vidrep.load(str(old), compile=False)),
        _future(keras_vidrep.load(NAME, compile=False)))
    with pytest.raises(InputError, match="holds builder arguments.*read it "
                       "with keras_vidrep.load"):
        VideoSeq2Seq.from_preset(str(old))


def test_each_zoo_name_has_the_kind_of_its_class():
    for name in zoo.list_models():
        kind = kinds.kind_of(name)
        model = zoo.build_preset(name)
        assert isinstance(model, kind.model_class), name
        assert kinds.kind_for(model) is kind, name
    assert isinstance(kinds.kind_of("captioner_fused"),
                      kinds.CaptionerPresets)
    assert isinstance(kinds.kind_of(NAME), kinds.VideoPresets)
    with pytest.raises(TypeError, match="Dense is not a zoo model class. "
                       "Expected one of: VideoSeq2Seq, S2VTCaptioner"):
        kinds.kind_for(keras.layers.Dense(2))
    with pytest.raises(TypeError, match="takes a PresetKind instance"):
        kinds.register(kinds.VideoPresets)


def test_a_registered_kind_is_served_by_the_zoo(monkeypatch):
    """The zoo's names, builds and judgments come from the registered
    kinds, not from tests on names: a new kind is one ``register``."""

    class TinyPresets(kinds.VideoPresets):
        def names(self):
            return ["tiny_predictor"]

        def build(self, name, config=None):
            return build_model("predictor_fc", hidden_sizes=[2],
                               frame_size=16, input_frames=2,
                               future_frames=2)

        def headline(self, report):
            return "score", report["score"], True

    monkeypatch.setattr(kinds, "_KINDS", list(kinds._KINDS))
    tiny = kinds.register(TinyPresets())
    assert zoo.list_models()[-1] == "tiny_predictor"
    assert kinds.kind_of("tiny_predictor") is tiny
    from keras_vidrep.zoo import promotion

    assert promotion._headline("tiny_predictor", {"score": 0.5}) == (
        "score", 0.5, True)
    # A video model is still judged as one.
    report = {"bouncing_digits_test": {"future": {"model": {
        "frame_mse": {"mean": 3.0}}}}}
    assert promotion._headline(NAME, report) == ("future", 3.0, False)
