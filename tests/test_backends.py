"""Every backend the README names: training end to end, TensorFlow only at
its edges."""

import json
import subprocess
import sys

import numpy as np
import pytest

import keras

from keras_vidrep.data import BouncingDigitBatches
from keras_vidrep.evaluation import evaluate_model
from keras_vidrep.training import train

from tests.helpers import REPO

pytestmark = pytest.mark.backend_agnostic


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


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_layers_and_models_import_no_tensorflow(backend):
    script = ("import sys, keras_vidrep.layers, keras_vidrep.models; "
              "print(sorted(m for m in sys.modules if m.startswith('tensorflow')))")
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO,
                            capture_output=True, text=True, timeout=300,
                            env={**__import__("os").environ,
                                 "KERAS_BACKEND": backend})
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"
