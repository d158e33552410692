"""Where a result comes from: the command, the code, the machine.

``describe_run()`` is what ``train`` records in ``run.json`` (and what the
experiment records carry): the command line, keras_vidrep's version and git
commit when it runs from a checkout, the versions of Keras and of the
installed backends, the Keras backend, and the machine in words.
"""

import importlib.metadata
import os
import platform
import shlex
import subprocess
import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[2]


def machine_description():
    """Processor, cores and accelerator of this machine, in words."""
    processor = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                processor = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import keras

    devices = []
    if keras.backend.backend() == "jax":
        import jax

        devices = [d.device_kind for d in jax.devices() if d.platform != "cpu"]
    elif keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        devices = [d.name for d in tf.config.list_logical_devices("GPU")]
    accelerator = ", ".join(devices) if devices else "no GPU"
    return f"{processor}, {os.cpu_count()} cores, {accelerator}"


def git_commit():
    """The commit of the checkout keras_vidrep runs from (with ``+changes``
    when the working tree differs from it), or None outside a checkout."""
    if not (_ROOT / ".git").exists():
        return None
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=_ROOT,
                                capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--",
                                "keras_vidrep"], cwd=_ROOT,
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    if commit.returncode:
        return None
    return commit.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")


def _version(package):
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def describe_run():
    """A dict of the command, code versions, backend and machine."""
    import keras

    from keras_vidrep._version import __version__

    command = sys.argv[1:]
    program = ("keras-vidrep" if Path(sys.argv[0]).name in
               ("keras-vidrep", "__main__.py") else Path(sys.argv[0]).name)
    versions = {"keras_vidrep": __version__,
                "keras": keras.__version__}
    for package in ("tensorflow", "jax", "torch"):
        if _version(package):
            versions[package] = _version(package)
    return {"command": shlex.join([program, *command]),
            "git_commit": git_commit(), "versions": versions,
            "backend": keras.backend.backend(),
            "machine": machine_description()}
