"""Every backend the README names: training end to end, TensorFlow only at
its edges."""

import json
import subprocess
import sys

import numpy as np
import pytest

import keras

from keras_vidrep.data import BouncingDigitBatches
from keras_vidrep.evaluation.baselines import evaluate_model
from keras_vidrep.training.trainer import train

from tests.helpers import REPO


def require(backend):
    """Skips, saying why, where the backend's package is not installed (the
    test extras do not bring PyTorch: its CPU build is a separate install);
    in CI, which must run every backend, fails instead."""
    import importlib.util
    import os

    if importlib.util.find_spec(backend) is not None:
        return
    message = (f"{backend} is not installed: pip install "
               + ("torch==2.13.0 (the CPU build)" if backend == "torch"
                  else backend))
    if os.environ.get("CI"):
        pytest.fail(f"CI must run every backend; {message}")
    pytest.skip(message)

@pytest.mark.backend_agnostic
def test_train_and_evaluate_on_this_backend(tmp_path, mnist_dir):
    """What `keras-vidrep train` and `evaluate` do, on the current backend:
    tf.data under TensorFlow, the PyDataset pipeline elsewhere."""
    out = tmp_path / "run"
    overrides = dict(hidden_sizes=[4], frame_size=32, input_frames=2,
                     future_frames=2,
                     teacher_forcing={"schedule": "linear", "decay_steps": 4})
    model = train("composite_conv_cond", steps=4, batch_size=2,
                  checkpoint_every=2, out=out, digits=mnist_dir,
                  model_overrides=overrides, verbose=0)
    record = json.loads((out / "run.json").read_text())
    assert record["parts"][0]["backend"] == keras.backend.backend()
    assert record["parts"][0]["steps_reached"] == 4
    clips = BouncingDigitBatches(
        (np.random.default_rng(0).integers(0, 256, (8, 28, 28), np.uint8),
         np.arange(8)), batch_size=3, num_batches=2, seed=5, num_frames=4,
        frame_size=32)
    results = evaluate_model(model, [clips[i] for i in range(len(clips))],
                             progress=False)
    assert results["sequences"] == 6
    assert np.isfinite(results["future"]["model"]["frame_mse"]["mean"])
    restored = keras.saving.load_model(out / "model.keras")
    decoder = restored.get_layer("future_decoder")
    assert int(keras.ops.convert_to_numpy(decoder.schedule_step)) == 4


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_layers_and_models_import_no_tensorflow(backend):
    require(backend)
    script = ("import sys, keras_vidrep.layers, keras_vidrep.models; "
              "print(sorted(m for m in sys.modules if m.startswith('tensorflow')))")
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO,
                            capture_output=True, text=True, timeout=300,
                            env={**__import__("os").environ,
                                 "KERAS_BACKEND": backend})
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"


AGREEMENT = """
import sys
import numpy as np
from keras import ops
from keras_vidrep.layers import ConvLSTM, PeepholeLSTM
from tests.test_layers import _gradients

folder = sys.argv[1]
results = {}
for name, make in (("fc", lambda: PeepholeLSTM(5, return_sequences=True,
                                              return_state=True)),
                   ("conv", lambda: ConvLSTM(3, 3, return_sequences=True,
                                             return_state=True))):
    data = np.load(f"{folder}/{name}.npz")
    layer = make()
    layer(data["x"])
    weights = np.load(f"{folder}/{name}_weights.npz")
    layer.set_weights([weights[f"w{i}"] for i in range(len(weights.files))])
    outputs = layer(data["x"], initial_state=[data["h0"], data["c0"]])
    results[f"{name}_outputs"] = ops.convert_to_numpy(outputs[0])
    grads = _gradients(layer, data["x"], [data["h0"], data["c0"]])
    for i, g in enumerate(grads):
        results[f"{name}_grad{i}"] = np.asarray(g)
np.savez(f"{folder}/{sys.argv[2]}.npz", **results)
"""


@pytest.mark.parametrize("other", ["jax", "torch"])
def test_other_backends_agree_with_tensorflow(tmp_path, other):
    """Forward values and gradients (fused backward included) of the same
    layers, weights, inputs and initial states, backend against backend."""
    if keras.backend.backend() != "tensorflow":
        pytest.fail("run this test in the TensorFlow pass (the reference)")
    require(other)
    rng = np.random.default_rng(0)
    shapes = {"fc": ((2, 4, 3), (2, 5)), "conv": ((2, 4, 6, 6, 2), (2, 6, 6, 3))}
    for name, (x_shape, state_shape) in shapes.items():
        np.savez(tmp_path / f"{name}.npz",
                 x=rng.normal(size=x_shape).astype("float32"),
                 h0=rng.normal(size=state_shape).astype("float32"),
                 c0=rng.normal(size=state_shape).astype("float32"))
    from keras_vidrep.layers import ConvLSTM, PeepholeLSTM

    for name, layer in (("fc", PeepholeLSTM(5, return_sequences=True,
                                            return_state=True)),
                        ("conv", ConvLSTM(3, 3, return_sequences=True,
                                          return_state=True))):
        layer(np.load(tmp_path / f"{name}.npz")["x"])
        np.savez(tmp_path / f"{name}_weights.npz", **{
            f"w{i}": rng.normal(scale=0.5, size=w.shape).astype("float32")
            for i, w in enumerate(layer.get_weights())})
    for backend in ("tensorflow", other):
        result = subprocess.run(
            [sys.executable, "-c", AGREEMENT, str(tmp_path), backend],
            cwd=REPO, capture_output=True, text=True, timeout=600,
            env={**__import__("os").environ, "KERAS_BACKEND": backend})
        assert result.returncode == 0, result.stderr[-3000:]
    want = np.load(tmp_path / "tensorflow.npz")
    got = np.load(tmp_path / f"{other}.npz")
    assert sorted(want) == sorted(got) and len(want) > 10
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=1e-4, atol=1e-5,
                                   err_msg=key)
