"""Precision: the auto choice, bfloat16 against float32, float32 frames."""

from pathlib import Path

import numpy as np
import pytest

import keras
from keras import ops

from keras_vidrep.layers import ConvLSTM
from keras_vidrep.layers import PeepholeLSTM
from keras_vidrep.models import build_model
from keras_vidrep.training.precision import cpu_computes_bfloat16
from keras_vidrep.training.precision import precision_scope
from keras_vidrep.training.precision import resolve_precision

pytestmark = pytest.mark.backend_agnostic


@pytest.mark.parametrize("flags, gpu, expected", [
    ({"avx2", "avx512_bf16"}, None, "mixed_bfloat16"),
    ({"avx2", "amx_bf16"}, None, "mixed_bfloat16"),
    ({"avx2", "avx512f"}, None, "float32"),
    ({"avx512_bf16"}, True, "mixed_float16"),   # a GPU decides
    ({"avx512_bf16"}, False, "float32"),        # a GPU without tensor cores
])
def test_auto_precision(flags, gpu, expected):
    assert resolve_precision("auto", flags=flags, gpu=gpu) == expected
    assert resolve_precision("mixed_float16", flags=flags, gpu=gpu) == (
        "mixed_float16")


def test_unknown_precision_and_the_scope_restores_the_policy():
    with pytest.raises(ValueError, match=r"must be one of \['float32', "
                                         r"'mixed_bfloat16'.*precision='half'"):
        resolve_precision("half")
    with precision_scope("mixed_bfloat16") as policy:
        assert policy == "mixed_bfloat16"
        assert keras.mixed_precision.global_policy().name == "mixed_bfloat16"
    assert keras.mixed_precision.global_policy().name == "float32"


def test_this_machine_is_described(tmp_path, monkeypatch):
    """The flags are this machine's, read from /proc/cpuinfo."""
    from keras_vidrep.training import precision

    text = Path("/proc/cpuinfo").read_text() if Path(
        "/proc/cpuinfo").is_file() else ""
    expected = any(flag in line.split() for line in text.splitlines()
                   if line.startswith("flags")
                   for flag in ("avx512_bf16", "amx_bf16"))
    assert cpu_computes_bfloat16() is expected
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse2 amx_bf16 avx2\n")
    real_path = precision.Path
    monkeypatch.setattr(precision, "Path", lambda p: real_path(
        cpuinfo if p == "/proc/cpuinfo" else p))
    assert precision.cpu_flags() == {"fpu", "sse2", "amx_bf16", "avx2"}
    assert cpu_computes_bfloat16() is True


def _twice(make_layer, x):
    """The same layer and weights in float32 and in mixed_bfloat16."""
    keras.utils.set_random_seed(0)
    exact = make_layer("float32")
    reference = ops.convert_to_numpy(exact(x))
    half = make_layer("mixed_bfloat16")
    half.build(x.shape)
    half.set_weights(exact.get_weights())
    return reference, ops.convert_to_numpy(ops.cast(half(x), "float32"))


# Measured on the 2-core CPU (TF 2.21): over 20 steps the largest difference
# of the outputs (which lie in (-1, 1)) is 0.005-0.010 and the mean 0.0007-
# 0.0008, for these sizes and for the zoo's (PeepholeLSTM(1024), ConvLSTM(64)
# on 16x16x16); bfloat16 keeps 8 significant bits (spacing 2^-8 = 0.004).
@pytest.mark.parametrize("make_layer, shape", [
    (lambda dtype: PeepholeLSTM(64, return_sequences=True, dtype=dtype),
     (4, 20, 32)),
    (lambda dtype: ConvLSTM(8, 3, return_sequences=True, dtype=dtype),
     (2, 20, 8, 8, 4)),
])
def test_bfloat16_layers_stay_close_to_float32(make_layer, shape):
    x = np.random.default_rng(0).random(shape).astype("float32")
    reference, half = _twice(make_layer, x)
    difference = np.abs(reference - half)
    assert difference.max() < 0.03 and difference.mean() < 0.002
    assert difference.max() > 0  # it did compute in 16 bits


@pytest.mark.parametrize("teacher_forcing", [True, False, 0.5])
def test_models_give_float32_frames_under_bfloat16(teacher_forcing):
    x = np.random.default_rng(0).random((2, 6, 16, 16, 1)).astype("float32")
    args = dict(hidden_sizes=(4, 4), frame_size=16, input_frames=3,
                future_frames=3, teacher_forcing=teacher_forcing)
    keras.utils.set_random_seed(0)
    exact = build_model("composite_conv_cond", **args)
    with precision_scope("mixed_bfloat16"):
        half = build_model("composite_conv_cond", **args)
    half.set_weights(exact.get_weights())
    for training in (False, True):
        got = half(x, training=training)
        for target, frames in got.items():
            assert keras.backend.standardize_dtype(frames.dtype) == "float32", target
    inference = ops.convert_to_numpy(half(x[:, :3])["future"])
    reference = ops.convert_to_numpy(exact(x[:, :3])["future"])
    assert np.abs(inference - reference).max() < 0.05


@pytest.mark.backend_agnostic
def test_bfloat16_training_and_inference_compute_the_same_function():
    """PeepholeLSTM's fused training path does the gate arithmetic in
    float32 as the step of inference does: the same outputs, bit for bit
    (it used to compute the gates in bfloat16: 0.006 apart)."""
    x = np.random.default_rng(0).random((4, 20, 32)).astype("float32")
    keras.utils.set_random_seed(0)
    with precision_scope("mixed_bfloat16"):
        layer = PeepholeLSTM(64, return_sequences=True)
        training, inference = (
            ops.convert_to_numpy(ops.cast(layer(x, training=mode), "float32"))
            for mode in (True, False))
    np.testing.assert_array_equal(training, inference)
