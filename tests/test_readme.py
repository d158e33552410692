"""The README works as written: every ``python`` block, read from the file
(so the README cannot drift from what is tested), runs as a user would run
it, in a fresh interpreter, under each backend it claims.

The serving block talks to TensorFlow Serving on localhost:8500/8501. No
server can be installed here, so the test stands one in: a REST and a gRPC
endpoint of TensorFlow Serving's API that answer from the exported
SavedModel in ``saved_models/`` through TensorFlow alone (no code of ours
on the server side).
"""

import json
import os
import re
import subprocess
import sys
import threading

import pytest

from tests.helpers import REPO

BLOCK = re.compile(r"^```python\n(.*?)^```", re.M | re.S)


def block_with(words):
    (code,) = [code for code in BLOCK.findall(
        (REPO / "README.md").read_text()) if words in code]
    return code


# Blocks that the README offers for every backend run under each; the
# others under TensorFlow. The models block trains a conv model on 64x64
# clips: under JAX, XLA's CPU step of that model took minutes on the
# 2-core Intel Xeon of 2026-12-02 (2 s under TensorFlow), more than a test
# can take; test_backends.py trains and evaluates on every backend.
ANY_BACKEND = ("from keras_vidrep.layers import ConvLSTM",
               "BouncingDigitBatches(load_mnist_digits(\"train\"), batch_size=16,\n",
               "VideoSeq2Seq.from_preset(\"composite_conv\")")
TENSORFLOW = ("model = build_model(\"composite_conv_cond\")",
              "bouncing_digits(digits, batch_size=16, seed=0)",
              "ProbeData.draw(100",
              "clip_windows(train, model.clip_frames, stride=2)",
              "keras_vidrep.load(\"composite_conv\")       # pretrained")


def run_block(code, tmp_path, backend, mnist_dir):
    env = {**os.environ, "KERAS_BACKEND": backend,
           "KERAS_VIDREP_MNIST": str(mnist_dir), "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path,
                            env=env, capture_output=True, text=True,
                            timeout=1800)
    assert result.returncode == 0, (code, result.stderr[-3000:])
    return result


def test_every_python_block_is_tested_here():
    """A block added to the README must be given its place below."""
    tested = ANY_BACKEND + TENSORFLOW + ("serving.rest_request(frames)",)
    for code in BLOCK.findall((REPO / "README.md").read_text()):
        assert sum(words in code for words in tested) == 1, code


@pytest.mark.slow
@pytest.mark.parametrize("words", ANY_BACKEND)
@pytest.mark.parametrize("backend", ["tensorflow", "jax", "torch"])
def test_blocks_run_on_every_backend(words, backend, tmp_path, mnist_dir):
    if backend == "torch":
        from tests.test_backends import require

        require("torch")
    run_block(block_with(words), tmp_path, backend, mnist_dir)


@pytest.mark.slow
@pytest.mark.parametrize("words", TENSORFLOW)
def test_tensorflow_blocks_run(words, tmp_path, mnist_dir):
    run_block(block_with(words), tmp_path, "tensorflow", mnist_dir)
    if "tuned.keras" in block_with(words):
        assert (tmp_path / "tuned.keras").is_file()


def _stand_in_servers(saved_model):
    """TensorFlow Serving's REST (8501) and gRPC (8500) predict endpoints,
    answering from ``saved_model`` with TensorFlow alone."""
    import http.server
    from concurrent import futures

    import grpc
    import numpy as np
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2
    from tensorflow_serving.apis import prediction_service_pb2_grpc

    signatures = tf.saved_model.load(str(saved_model)).signatures

    class Rest(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            assert self.path == "/v1/models/composite_conv:predict", self.path
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            frames = np.asarray([row["frames"] for row in body["instances"]],
                                np.float32)
            outputs = signatures[body.get("signature_name", "serving_default")](
                frames=tf.constant(frames))
            rows = [{name: value[i].numpy().tolist()
                     for name, value in outputs.items()}
                    for i in range(len(frames))]
            answer = json.dumps({"predictions": rows}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    class Grpc(prediction_service_pb2_grpc.PredictionServiceServicer):
        def Predict(self, request, context):
            assert request.model_spec.name == "composite_conv"
            frames = tf.make_ndarray(request.inputs["frames"])
            outputs = signatures[request.model_spec.signature_name
                                 or "serving_default"](
                frames=tf.constant(frames))
            response = predict_pb2.PredictResponse()
            for name, value in outputs.items():
                response.outputs[name].CopyFrom(
                    tf.make_tensor_proto(value.numpy()))
            return response

    rest = http.server.ThreadingHTTPServer(("localhost", 8501), Rest)
    threading.Thread(target=rest.serve_forever, daemon=True).start()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
        Grpc(), server)
    server.add_insecure_port("localhost:8500")
    server.start()
    return rest, server


@pytest.mark.slow
def test_the_serving_block_queries_a_server(tmp_path, mnist_dir):
    (version,) = [path for path in (REPO / "saved_models" / "composite_conv")
                  .iterdir() if path.name.isdigit()]
    rest, server = _stand_in_servers(version)
    try:
        code = block_with("serving.rest_request(frames)")
        run_block(code + "\nprint(sorted(outputs), code.shape)\n", tmp_path,
                  "tensorflow", mnist_dir)
    finally:
        rest.shutdown()
        rest.server_close()
        server.stop(None)


def test_figures_quoted_in_the_readme_are_those_of_their_sources():
    """Figures the README quotes from a report, a benchmark table or a
    test are read back from there: a rerun that changes them fails here
    until the README says the new ones."""
    readme = " ".join((REPO / "README.md").read_text().split())
    report = (REPO / "experiments/representations/cpu/report.md").read_text()
    for task in ("digits", "motion"):
        chance = re.search(rf"^\| {task} \| ([0-9.]+) \|", report, re.M)[1]
        assert re.search(rf"\| `{task}` \(.*?\| {chance} \|", readme), task
    benchmarks = (REPO / "benchmarks/README.md").read_text()
    ratio = re.search(r"^\| PeepholeLSTM, peepholes \(vs LSTM\) \| [0-9]+ / "
                      r"[0-9]+ \(([0-9.]+)\)", benchmarks, re.M)[1]
    assert f"takes {ratio}x the time of `keras.layers.LSTM`" in readme
    demo = [float(value) for value in re.findall(
        r"^\| 49bfc48 / adc4815 .*?\| \*\*([0-9.]+)\*\*", benchmarks, re.M)]
    assert f"{min(demo):.1f}-{max(demo):.1f} over two seeds" in readme
    run = json.loads((REPO / "zoo/runs/captioner_fused/run.json").read_text())
    minutes = sum(part["wall_seconds"] for part in run["parts"]) / 60
    assert (f"2-core AMD EPYC CPU ({minutes:.0f} minutes of training, "
            "`zoo/runs/captioner_fused/run.json`)") in readme
    assert all("AMD EPYC" in part["machine"] for part in run["parts"])
    rows = [json.loads(path.read_text()) for path in
            (REPO / "experiments/captions/cpu/records").glob("*/record.json")]
    low, high = (f(row["training_seconds"] for row in rows) / 60
                 for f in (min, max))
    assert (f"{low:.0f}-{high:.0f} minutes of training a row on a 2-core "
            "AMD EPYC CPU") in readme
    bounds = re.search(r"difference\.max\(\) < ([0-9.]+) and "
                       r"difference\.mean\(\) < ([0-9.]+)",
                       (REPO / "tests/test_precision.py").read_text())
    assert (f"by less than {bounds[1]} at most and {bounds[2]} on average"
            in readme)


def test_the_test_command_combines_a_marker_with_each_backend_pass(tmp_path):
    """`bash tests/run.sh -m "not slow"` (the README's) narrows the JAX and
    PyTorch passes to their backend-agnostic tests that are not slow; it
    used to replace their selection (pytest keeps the last -m)."""
    calls = tmp_path / "calls"
    shim = tmp_path / "python"
    # A stand-in interpreter that records how each pass calls pytest.
    shim.write_text("#!/usr/bin/env bash\n"
                    f'[ "$1" = "-c" ] && exit 0\n'
                    f'echo "$KERAS_BACKEND|$*" >> {calls}\n')
    shim.chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}
    env.pop("KERAS_BACKEND", None)
    result = subprocess.run(["bash", str(REPO / "tests/run.sh"), "-m",
                             "not slow", "-k", "conv"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert calls.read_text().splitlines() == [
        "|-m pytest -q -m not slow -k conv",
        "jax|-m pytest -q -m backend_agnostic and (not slow) -k conv",
        "torch|-m pytest -q -m backend_agnostic and (not slow) -k conv"]


@pytest.mark.slow
def test_the_own_videos_commands_run_on_the_videos_of_their_block(tmp_path,
                                                                  mnist_dir):
    """The section's bash block, run as written in the folder where its
    python block wrote the videos."""
    run_block(block_with("clip_windows(train, model.clip_frames, stride=2)"),
              tmp_path, "tensorflow", mnist_dir)
    (commands,) = [code for code in re.findall(
        r"^```bash\n(.*?)^```", (REPO / "README.md").read_text(), re.M | re.S)
        if "--data my_videos" in code]
    env = {**os.environ, "KERAS_BACKEND": "tensorflow",
           "KERAS_VIDREP_MNIST": str(mnist_dir)}
    for line in commands.strip().splitlines():
        command = line.split("#")[0].replace(
            "keras-vidrep", f"{sys.executable} -m keras_vidrep", 1)
        result = subprocess.run(command, shell=True, cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=900)
        assert result.returncode == 0, (line, result.stderr[-3000:])
    assert (tmp_path / "prediction.gif").is_file()


# Every command of the README's bash blocks (the words between `&&`, a
# comment cut off) has one place here, so that a command added to the
# README must be given one (test_every_command_is_tested_here).
COMMANDS = re.compile(r"^```bash\n(.*?)^```", re.M | re.S)

# Run as written, in this order, in a scratch folder that holds a copy of
# the committed experiments/ (whose records make the cpu budgets' reruns
# resume to the end at once), saved_models/ (linked) and ../shared.
AS_WRITTEN = (
    "keras-vidrep experiment units --budget cpu",
    "keras-vidrep experiment representations --budget cpu",
    "keras-vidrep caption captioner_fused --clips 4 --beam-size 5 --out "
    "caption.png",
    'keras-vidrep models-config --base "$PWD/saved_models"',
)
# Run with the README's budget, too long for a test, cut: (the words, the
# words they become).
SHORTENED = {
    "KERAS_VIDREP_MNIST=../shared/data/mnist keras-vidrep demo":
        ("demo", "demo --steps 4 --eval-sequences 10"),
    "keras-vidrep probe composite_conv --task motion --labels 100":
        ("--labels 100", "--labels 100 --steps 5 --eval-sequences 50"),
    "keras-vidrep train-captioner --steps 3000 --batch-size 32 --stream "
    "fused --out runs/captioner": ("--steps 3000", "--steps 4"),
    "keras-vidrep caption runs/captioner --clips 4 --beam-size 5 --out "
    "caption.png --evaluate 1000": ("--evaluate 1000", "--evaluate 8"),
}
# Run elsewhere: .ci/run (the install and the test command, which it runs
# as the README writes them) or another test, named with the words it
# must hold.
RUN_BY = {
    "python3 -m venv .venv": (".ci/run", "python3 -m venv .venv"),
    ". .venv/bin/activate": (".ci/run", ". .venv/bin/activate"),
    # .ci/run installs the package with its test extras: `-e .` and more.
    "pip install -e .": (".ci/run", 'pip install -q -e ".[test]"'),
    'pip install -e ".[test]"': (".ci/run", 'pip install -q -e ".[test]"'),
    'python -m pip install -e ".[test]"': (
        ".ci/run", 'python -m pip install -q -e ".[test]"'),
    "bash tests/run.sh": (".ci/run", "\nbash tests/run.sh\n"),
    "keras-vidrep evaluate predictor_conv --data my_videos --stride 2": (
        "tests/test_readme.py", "def test_the_own_videos_commands_run_on"),
    "keras-vidrep predict predictor_conv my_videos/clip0.mp4 --out "
    "prediction.gif": (
        "tests/test_readme.py", "def test_the_own_videos_commands_run_on"),
    # Minutes of CPU: the test runs it with --out and --workdir in its own
    # folder and checks every row of the report.
    "keras-vidrep experiment variants --budget smoke": (
        "tests/test_experiments.py",
        '"experiment", "variants", "--budget", "smoke"'),
}
# Not run: no Docker and no TensorFlow Serving can be installed here. The
# serving block's test stands in for the server, answering from the same
# SavedModel; models-config (AS_WRITTEN) writes the file the server reads.
NOT_HERE = (
    'docker run -p 8500:8500 -p 8501:8501 -v "$PWD/saved_models:/models" '
    "tensorflow/serving --model_config_file=/models/models.config",
    "tensorflow_model_server --port=8500 --rest_api_port=8501 "
    '--model_config_file="$PWD/saved_models/models.config"',
)


def readme_commands():
    """The commands of the README's bash blocks, in order."""
    commands = []
    for block in COMMANDS.findall((REPO / "README.md").read_text()):
        for line in block.replace("\\\n", " ").splitlines():
            line = re.sub(r"\s+#.*$", "", line).strip()
            if line and not line.startswith("#"):
                commands += [" ".join(part.split())
                             for part in line.split("&&")]
    return commands


def test_every_command_is_tested_here():
    places = (AS_WRITTEN, SHORTENED, RUN_BY, NOT_HERE)
    commands = readme_commands()
    for command in commands:
        assert sum(command in place for place in places) == 1, command
    # And no place names a command the README no longer has.
    for place in places:
        for command in place:
            assert command in commands, command
    for command, (where, words) in RUN_BY.items():
        assert words in (REPO / where).read_text(), (command, where)


def _scratch_checkout(tmp_path, mnist_dir):
    """tmp/work with experiments/ copied and saved_models/ linked model by
    model; tmp/shared/data/mnist the digits."""
    import shutil

    work = tmp_path / "work"
    shutil.copytree(REPO / "experiments", work / "experiments")
    (work / "saved_models").mkdir()
    for model in (REPO / "saved_models").iterdir():
        if model.is_dir():
            (work / "saved_models" / model.name).symlink_to(model)
    (tmp_path / "shared" / "data").mkdir(parents=True)
    (tmp_path / "shared" / "data" / "mnist").symlink_to(mnist_dir)
    return work


@pytest.mark.slow
def test_the_commands_run_as_the_readme_writes_them(tmp_path, mnist_dir):
    """Every AS_WRITTEN and SHORTENED command, in the README's order, by the
    console script a user has on the PATH."""
    work = _scratch_checkout(tmp_path, mnist_dir)
    env = {**os.environ, "KERAS_BACKEND": "tensorflow",
           "KERAS_VIDREP_MNIST": str(mnist_dir),
           "KERAS_VIDREP_SAVED_MODELS": str(work / "saved_models"),
           "PATH": f"{os.path.dirname(sys.executable)}:{os.environ['PATH']}"}
    for command in readme_commands():
        if command in SHORTENED:
            words, shorter = SHORTENED[command]
            command = command.replace(words, shorter, 1)
        elif command not in AS_WRITTEN:
            continue
        result = subprocess.run(command, shell=True, cwd=work, env=env,
                                capture_output=True, text=True, timeout=900)
        assert result.returncode == 0, (command, result.stderr[-3000:])
    for name in ("units", "representations"):
        report = f"experiments/{name}/cpu/report.md"
        assert ((work / report).read_text()
                == (REPO / report).read_text()), report
    for figure in ("caption.png", "runs/demo/demo.png", "runs/demo/demo.gif",
                   "runs/captioner/model.keras"):
        assert (work / figure).is_file(), figure
    config = (work / "saved_models" / "models.config").read_text()
    assert f'base_path: "{work}/saved_models/composite_conv"' in config
