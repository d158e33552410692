"""Zoo presets wherever keras_vidrep is installed: the packaged table,
preset directories, the cache, the checkout and verified downloads."""

import functools
import http.server
import json
import shutil
import subprocess
import sys
import threading

import numpy as np
import pytest

import keras_vidrep
from keras_vidrep import presets
from keras_vidrep.zoo import loading as zoo
from keras_vidrep.zoo import records as zoo_records
from keras_vidrep.presets import PresetNotFoundError
from keras_vidrep._validation import InputError

from tests.helpers import REPO

NAME = "predictor_fc"  # the smallest preset: 2.8M parameters, 11 MB


def test_the_packaged_table_and_preset_files_are_what_the_code_writes():
    table = presets.preset_table()
    assert list(table) == zoo.list_models()
    for name in table:
        assert table[name] == json.loads(json.dumps(zoo_records.table_entry(name))), name
        folder = REPO / "saved_models" / name
        if not (folder / presets.WEIGHTS_FILE).is_file():  # not shipped yet
            assert table[name]["sha256"] is None, name
            continue
        for file_name, text in presets.preset_files(
                name, folder / presets.WEIGHTS_FILE).items():
            assert (folder / file_name).read_text() == text, (name, file_name)


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """An empty cache and no checkout, no URL: what a fresh install sees."""
    monkeypatch.setenv(presets.HOME_ENV, str(tmp_path / "cache"))
    monkeypatch.setenv(presets.SAVED_MODELS_ENV, str(tmp_path / "nowhere"))
    monkeypatch.delenv(presets.URL_ENV, raising=False)
    return tmp_path


@pytest.fixture
def server(tmp_path):
    """saved_models/ copied and served over HTTP on 127.0.0.1."""
    root = tmp_path / "served"
    shutil.copytree(REPO / "saved_models" / NAME, root / NAME,
                    ignore=shutil.ignore_patterns("[0-9]*"))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler,
                                directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def outputs(model):
    frames = np.random.default_rng(0).random((2, 10, 64, 64, 1)).astype("float32")
    return model.predict(frames, verbose=0)["future"]


def test_nothing_found_says_where_it_looked(isolated):
    with pytest.raises(PresetNotFoundError) as error:
        keras_vidrep.load(NAME)
    message = str(error.value)
    for words in ("cache", "checkout", "KERAS_VIDREP_WEIGHTS_URL not set",
                  "weights=None"):
        assert words in message


def test_a_preset_directory_loads_as_itself(isolated):
    folder = isolated / "my_preset"
    shutil.copytree(REPO / "saved_models" / NAME, folder,
                    ignore=shutil.ignore_patterns("[0-9]*"))
    reference = keras_vidrep.load(REPO / "saved_models" / NAME, compile=False)
    np.testing.assert_array_equal(outputs(keras_vidrep.load(folder)),
                                  outputs(reference))


def test_download_verify_cache_then_offline(isolated, server, monkeypatch):
    root, url = server
    monkeypatch.setenv(presets.URL_ENV, url)
    downloaded = keras_vidrep.load(NAME, compile=False)
    cached = isolated / "cache" / NAME / presets.WEIGHTS_FILE
    assert presets.sha256(cached) == presets.preset_table()[NAME]["sha256"]
    assert not list((isolated / "cache").glob(".download-*"))
    # The server gone, the cache serves.
    monkeypatch.setenv(presets.URL_ENV, "http://127.0.0.1:9/")
    np.testing.assert_array_equal(outputs(keras_vidrep.load(NAME, compile=False)),
                                  outputs(downloaded))


def test_a_tampered_download_is_refused_and_not_kept(isolated, server,
                                                     monkeypatch):
    root, url = server
    weights = root / NAME / presets.WEIGHTS_FILE
    data = bytearray(weights.read_bytes())
    data[-100] ^= 0xFF
    weights.write_bytes(bytes(data))
    monkeypatch.setenv(presets.URL_ENV, url)
    with pytest.raises(PresetNotFoundError, match="Could not fetch the weights"):
        keras_vidrep.load(NAME)
    assert not (isolated / "cache" / NAME / presets.WEIGHTS_FILE).exists()
    assert not list((isolated / "cache").glob(".download-*"))


INSTALLED = """
import keras_vidrep, numpy as np, sys
assert keras_vidrep.__file__.startswith(sys.argv[1]), keras_vidrep.__file__
model = keras_vidrep.load("predictor_fc")
frames = np.random.default_rng(0).random((2, 20, 64, 64, 1)).astype("float32")
print("sum", float(model.predict(frames[:, :10], verbose=0)["future"].sum()))
model.fit(*model.split_clip(frames), epochs=1, verbose=0)
print("recipe", keras_vidrep.zoo.loading.PRESETS["predictor_fc"]["recipe"])
"""


@pytest.mark.slow
def test_a_wheel_installed_elsewhere_downloads_then_uses_its_cache(
        tmp_path, server, mnist_dir):
    _, url = server
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "-w", str(tmp_path / "dist"), str(REPO)], check=True,
                   capture_output=True, timeout=600)
    (wheel,) = (tmp_path / "dist").glob("keras_vidrep-*.whl")
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                    "--target", str(target), str(wheel)], check=True,
                   capture_output=True, timeout=600)
    environment = {**__import__("os").environ, "PYTHONPATH": str(target),
                   presets.HOME_ENV: str(tmp_path / "cache"),
                   presets.URL_ENV: url}
    environment.pop(presets.SAVED_MODELS_ENV, None)
    run = functools.partial(
        subprocess.run, [sys.executable, "-c", INSTALLED, str(target)],
        cwd=tmp_path, capture_output=True, text=True, timeout=600)
    first = run(env=environment)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "keras-vidrep train predictor_fc" in first.stdout
    offline = run(env={**environment, presets.URL_ENV: "http://127.0.0.1:9/"})
    assert offline.returncode == 0, offline.stderr[-3000:]
    def prediction(result):
        return [line for line in result.stdout.splitlines()
                if line.startswith("sum ")]

    assert prediction(first) == prediction(offline) != []


def test_a_server_that_never_answers_ends_in_the_timeout(isolated,
                                                         monkeypatch):
    import socket
    import time

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # accepts the connection, never answers
    monkeypatch.setenv(presets.URL_ENV,
                       f"http://127.0.0.1:{silent.getsockname()[1]}")
    monkeypatch.setenv(presets.TIMEOUT_ENV, "1.5")
    started = time.monotonic()
    try:
        with pytest.raises(PresetNotFoundError, match="timeout"):
            keras_vidrep.load(NAME)
    finally:
        silent.close()
    assert time.monotonic() - started < 30
    assert not list((isolated / "cache").glob(".download-*"))
    monkeypatch.setenv(presets.TIMEOUT_ENV, "soon")
    with pytest.raises(InputError, match="Received: KERAS_VIDREP_DOWNLOAD_"):
        presets._download_timeout()


def test_two_processes_fill_one_empty_cache_at_once(isolated, server,
                                                    monkeypatch):
    _, url = server
    monkeypatch.setenv(presets.URL_ENV, url)
    cache = isolated / "cache"
    results = []
    threads = [threading.Thread(target=lambda: results.append(
        presets._download(NAME, url, cache))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [cache / NAME] * 3
    assert presets.sha256(cache / NAME / presets.WEIGHTS_FILE) == \
        presets.preset_table()[NAME]["sha256"]
    assert sorted(path.name for path in cache.iterdir()) == [NAME]


def test_a_cache_that_cannot_be_written_is_found_before_downloading(
        isolated, server, monkeypatch):
    root, url = server
    (isolated / "cache").write_text("a file where the cache folder should be")
    requests = []
    monkeypatch.setattr(presets, "_progress_bar",
                        lambda total: requests.append(total))
    monkeypatch.setenv(presets.URL_ENV, url)
    with pytest.raises(PresetNotFoundError, match="nothing was kept"):
        keras_vidrep.load(NAME)
    assert requests == []  # no byte was asked for
