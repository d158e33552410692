"""Encoder-decoder models: shapes, parameters, saving, training semantics."""

import numpy as np
import pytest
import tensorflow as tf

import keras
from keras import ops

from keras_vidrep.models import VARIANTS
from keras_vidrep.models import VideoSeq2Seq
from keras_vidrep.models import build_model
from keras_vidrep.models import compile_model
from keras_vidrep.models import decoder_targets

pytestmark = pytest.mark.backend_agnostic

FRAME, N_IN, N_OUT, PATCH, KERNEL = 16, 3, 2, 4, 3
SMALL = {"conv": (6, 4), "fc": (8,)}


def small(name, **overrides):
    cell = VARIANTS[name]["cell"]
    args = dict(hidden_sizes=SMALL[cell], frame_size=FRAME, input_frames=N_IN,
                future_frames=N_OUT, kernel_size=KERNEL, patch_size=PATCH)
    return build_model(name, **{**args, **overrides})


def clip(seed=0, frames=N_IN + N_OUT, batch=2):
    return np.random.default_rng(seed).random(
        (batch, frames, FRAME, FRAME, 1)).astype("float32")


def np_(x):
    return ops.convert_to_numpy(x)


def lstm_params(input_size, size, kernel_area):
    """Peephole LSTM layer: 4 gates x (kernel + recurrent kernel + bias) +
    3 peephole vectors."""
    return 4 * size * (kernel_area * (input_size + size) + 1) + 3 * size


def expected_params(name):
    args = VARIANTS[name]
    if args["cell"] == "conv":
        features, area = PATCH * PATCH, KERNEL * KERNEL
    else:
        features, area = FRAME * FRAME, 1
    sizes = SMALL[args["cell"]]

    def stack(first_input):
        total, previous = 0, first_input
        for size in sizes:
            total += lstm_params(previous, size, area)
            previous = size
        return total

    decoder = (stack(features if args["conditional"] else 0)
               + sum(sizes) * features + features)  # read-out
    decoders = 2 if args["kind"] == "composite" else 1
    return stack(features) + decoders * decoder


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_variant_shapes_params_and_round_trip(name, tmp_path):
    model = small(name)
    outputs = model(clip()[:, :N_IN])
    expected_keys = {"autoencoder": {"reconstruction"}, "predictor": {"future"},
                     "composite": {"reconstruction", "future"}}[VARIANTS[name]["kind"]]
    assert set(outputs) == expected_keys
    frames = {"reconstruction": N_IN, "future": N_OUT}
    for key, value in outputs.items():
        assert tuple(value.shape) == (2, frames[key], FRAME, FRAME, 1)
        assert np_(value).min() >= 0 and np_(value).max() <= 1
    assert model.count_params() == expected_params(name)

    path = tmp_path / f"{name}.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    assert isinstance(restored, VideoSeq2Seq)
    assert restored.get_config() == model.get_config()
    x = clip(1)[:, :N_IN]
    for key, value in model(x).items():
        np.testing.assert_array_equal(np_(restored(x)[key]), np_(value))


def test_defaults_are_the_papers_layout():
    model = build_model("composite_conv")
    config = model.get_config()
    assert config["input_frames"] == 10 and config["future_frames"] == 10
    assert config["frame_size"] == 64 and config["patch_size"] == 4
    # 64x64x1 frames become 16x16x16 patches.
    assert model.get_layer("clip_input").compute_output_shape(
        (None, 10, 64, 64, 1)) == (None, 10, 16, 16, 16)


@pytest.mark.parametrize("name", ["composite_conv_cond", "predictor_fc_cond"])
def test_inference_is_autoregressive(name):
    model = small(name)
    x = clip(0)
    altered = x.copy()
    altered[:, N_IN:] = clip(9)[:, N_IN:]
    # At inference the true future frames are ignored.
    first, second = model(x), model(altered)
    for key in first:
        np.testing.assert_array_equal(np_(first[key]), np_(second[key]))
        np.testing.assert_array_equal(np_(model(x[:, :N_IN])[key]),
                                      np_(first[key]))


def test_autoregressive_future_equals_teacher_forcing_on_own_predictions():
    model = small("predictor_conv_cond")
    x = clip(0)
    predicted = np_(model(x[:, :N_IN])["future"])
    own = x.copy()
    own[:, N_IN:] = predicted
    forced = np_(model(own, training=True)["future"])
    np.testing.assert_allclose(forced, predicted, atol=1e-5)
    # With other "truth", teacher forcing changes the result.
    other = np_(model(x, training=True)["future"])
    assert np.abs(other - predicted)[:, 1:].max() > 1e-4
    # The first frame reads zeros either way.
    np.testing.assert_allclose(other[:, 0], predicted[:, 0], atol=1e-6)


def test_teacher_forcing_switch():
    x, altered = clip(0), clip(0)
    altered[:, N_IN:] = 1.0 - altered[:, N_IN:]
    forced = small("predictor_fc_cond")
    a = np_(forced(x, training=True)["future"])
    b = np_(forced(altered, training=True)["future"])
    assert np.abs(a - b).max() > 1e-4  # training reads the true future
    free = small("predictor_fc_cond", teacher_forcing=False)
    free.set_weights(forced.get_weights())
    a = np_(free(x, training=True)["future"])
    b = np_(free(altered, training=True)["future"])
    np.testing.assert_array_equal(a, b)
    # Reconstruction is teacher-forced from the (reversed) input frames.
    auto = small("autoencoder_conv_cond")
    r_train = np_(auto(x, training=True)["reconstruction"])
    r_infer = np_(auto(x)["reconstruction"])
    np.testing.assert_allclose(r_train[:, 0], r_infer[:, 0], atol=1e-6)
    assert np.abs(r_train - r_infer).max() > 1e-4


def test_unconditioned_decoders_ignore_the_future_even_in_training():
    model = small("composite_conv")
    x, altered = clip(0), clip(0)
    altered[:, N_IN:] = 0.0
    for key, value in model(x, training=True).items():
        np.testing.assert_array_equal(np_(value),
                                      np_(model(altered, training=True)[key]))


def test_reconstruction_targets_are_reversed():
    x = clip(0)
    np.testing.assert_array_equal(
        decoder_targets(x, "reconstruction", N_IN, N_OUT), x[:, N_IN - 1::-1])
    np.testing.assert_array_equal(decoder_targets(x, "future", N_IN, N_OUT),
                                  x[:, N_IN:])
    model = small("composite_fc")
    longer = clip(0, frames=N_IN + N_OUT + 3)
    dataset = model.training_pairs(tf.data.Dataset.from_tensors(longer))
    inputs, targets = next(iter(dataset))
    np.testing.assert_array_equal(inputs.numpy(), longer[:, :N_IN + N_OUT])
    np.testing.assert_array_equal(targets["reconstruction"].numpy(),
                                  longer[:, :N_IN][:, ::-1])
    np.testing.assert_array_equal(targets["future"].numpy(),
                                  longer[:, N_IN:N_IN + N_OUT])
    info = tf.data.Dataset.from_tensors({"frames": longer, "labels": [[1, 2]]})
    inputs, _ = next(iter(model.training_pairs(info)))
    assert inputs.shape == (2, N_IN + N_OUT, FRAME, FRAME, 1)
    with pytest.raises(ValueError, match=r"clips of shape \(batch, >= 5"):
        model.training_pairs(tf.data.Dataset.from_tensors(longer[:, :4]))


def test_encoder_gives_the_representation():
    model = small("composite_conv")
    encoder = model.encoder()
    x = clip(0)[:, :N_IN]
    representation = np_(encoder(x))
    area = (FRAME // PATCH) ** 2
    assert representation.shape == (2, 2 * area * sum(SMALL["conv"]))
    _, h, c = keras.Model(model.input,
                          model.get_layer("encoder_lstm_1").output)(x)
    np.testing.assert_array_equal(representation[:, -area * 4:],
                                  np_(c).reshape(2, -1))
    assert encoder.count_params() == sum(
        w.numpy().size if hasattr(w, "numpy") else np.size(w)
        for w in model.get_layer("encoder_lstm_0").get_weights()
        + model.get_layer("encoder_lstm_1").get_weights())


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_overfits_one_batch(name):
    keras.utils.set_random_seed(0)
    model = compile_model(small(name), loss="cross_entropy", optimizer="adam",
                          learning_rate=1e-2, metrics=False)
    # Two fixed sequences of a bright square moving one patch per frame.
    x = np.zeros((2, N_IN + N_OUT, FRAME, FRAME, 1), "float32")
    for t in range(N_IN + N_OUT):
        x[0, t, 4:8, 2 * t:2 * t + 4] = 1.0
        x[1, t, 2 * t:2 * t + 4, 8:12] = 1.0
    data = tf.data.Dataset.from_tensors(x).repeat()
    pairs = model.training_pairs(data)
    start = model.evaluate(pairs, steps=1, verbose=0, return_dict=True)["loss"]
    model.fit(pairs, steps_per_epoch=40, epochs=1, verbose=0)
    end = model.evaluate(pairs, steps=1, verbose=0, return_dict=True)["loss"]
    assert end < 0.35 * start, (start, end)


def test_bad_input_shapes():
    model = small("composite_conv")
    with pytest.raises(ValueError, match=r"\(2, 2, 16, 16, 1\)"):
        model(clip(0, frames=2))  # fewer frames than the encoder needs
    with pytest.raises(ValueError, match=r"\(batch, >= 3, 16, 16, 1\).*\(2, 3, 8, 8, 1\)"):
        model(np.zeros((2, N_IN, 8, 8, 1), "float32"))
    with pytest.raises(ValueError, match=r"Received: frames of shape \(2, 3, 16, 16, 3\)"):
        model(np.zeros((2, N_IN, FRAME, FRAME, 3), "float32"))
    with pytest.raises(ValueError, match=r"ndim|rank|shape"):
        model(np.zeros((2, FRAME, FRAME, 1), "float32"))


def test_bad_configuration():
    with pytest.raises(ValueError, match="Valid names: autoencoder_conv, "):
        build_model("composite_lstm")
    with pytest.raises(ValueError, match=r"one of \['autoencoder', 'composite', 'predictor'\]. Received: kind='mixture'"):
        VideoSeq2Seq("mixture", "conv")
    with pytest.raises(ValueError, match=r"input_frames=0"):
        small("predictor_conv", input_frames=0)
    with pytest.raises(ValueError, match=r"patch_size=5"):
        small("predictor_conv", patch_size=5)
    with pytest.raises(ValueError, match=r"kind.*fixed by the name"):
        build_model("predictor_conv", kind="composite")


@pytest.mark.backend_agnostic
def test_fit_reads_a_stream_in_its_own_order_without_a_warning():
    """A generator or PyDataset is read as it comes: shuffle defaults to
    False for it (Keras warns that it ignores True), not for arrays."""
    import warnings

    model = build_model("composite_fc", hidden_sizes=[4], frame_size=16,
                        input_frames=2, future_frames=2)
    compile_model(model)
    clips = np.random.default_rng(0).random((4, 4, 16, 16, 1)).astype(
        "float32")

    class Stream(keras.utils.PyDataset):
        def __len__(self):
            return 2

        def __getitem__(self, index):
            return model.split_clip(clips)

    def generator():
        while True:
            yield model.split_clip(clips)

    for stream, kwargs in ((Stream(), {}),
                           (generator(), {"steps_per_epoch": 2})):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model.fit(stream, epochs=1, verbose=0, **kwargs)
        assert not [w for w in caught if "shuffle" in str(w.message)]
