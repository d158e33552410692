"""The ``keras-vidrep`` console script, before anything is imported.

TensorFlow prints start-up lines on standard error from C++ as it loads
(oneDNN, CUDA drivers, CPU features, "All log messages before
absl::InitializeLog()"), some before any setting of ours could apply, and
on a machine without a GPU an error line about cuInit. Unless the user set
``TF_CPP_MIN_LOG_LEVEL`` (then every line is theirs to see), this entry
point passes standard error through a filter that drops exactly those
lines, and sets ``TF_CPP_MIN_LOG_LEVEL=1`` for the rest of TensorFlow's
informational C++ logs. Python warnings and our own messages pass.

It also keeps ``keras-vidrep --help`` and ``keras-vidrep list`` fast:
``import keras`` alone takes seconds, and the package's ``__init__``
imports it (to register our layers with Keras' serialization). This entry
point puts the package in ``sys.modules`` without running its ``__init__``,
parses the command line (``keras_vidrep.cli`` builds only the options of the
command it names), and runs the ``__init__`` before any command but the
standard-library ones (``keras_vidrep.cli.STDLIB_COMMANDS``).
``python -m keras_vidrep`` imports the whole package first, as any import.
"""

import importlib.util
import os
import re
import sys
import threading

# TensorFlow's C++ start-up chatter, line by line.
NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called"
    r"|[IW]\d{4} [\d:. ]+\d+ \w+\.cc:\d+\]"
    r"|E\d{4} [\d:. ]+\d+ cuda_\w+\.cc:\d+\] failed call to cuInit"
    # Logged at error level when an integer op falls back to Eigen, even on
    # CPUs that have AVX-512: nothing is wrong and nothing can be done.
    r"|E\d{4} [\d:. ]+\d+ util\.cc:\d+\] oneDNN supports DT_\w+ only on "
    r"platforms with AVX-512"
    r"|To enable the following instructions: .*rebuild TensorFlow)")

UNFILTERED_STDERR_ENV = "KERAS_VIDREP_UNFILTERED_STDERR_FD"


def _filter_stderr():
    """Replaces file descriptor 2 with a pipe read by a thread that forwards
    every line but ``NOISE``; returns a function that undoes it."""
    original = os.dup(2)
    # Processes that must still be heard after this one is killed (the
    # multi-worker watchdog, whose message would die with this thread)
    # write to the unfiltered standard error.
    os.environ[UNFILTERED_STDERR_ENV] = str(original)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)

    def forward():
        with os.fdopen(read_end, "rb") as pipe:
            for line in pipe:
                if not NOISE.match(line.decode(errors="replace")):
                    os.write(original, line)

    thread = threading.Thread(target=forward, daemon=True)
    thread.start()

    def restore():
        os.environ.pop(UNFILTERED_STDERR_ENV, None)
        sys.stderr.flush()
        os.dup2(original, 2)  # closes the pipe's last write end
        thread.join(timeout=5)

    return restore


def _import_package_without_init():
    """Puts ``keras_vidrep`` in ``sys.modules`` with its ``__init__`` not yet
    run (its submodules import as usual); returns the function that runs
    the ``__init__`` into that same module object."""
    if "keras_vidrep" in sys.modules:  # already imported whole
        return lambda: None
    spec = importlib.util.find_spec("keras_vidrep")
    package = importlib.util.module_from_spec(spec)
    sys.modules["keras_vidrep"] = package
    return lambda: spec.loader.exec_module(package)


def main(argv=None):
    restore = None
    if "TF_CPP_MIN_LOG_LEVEL" not in os.environ:
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "1"
        restore = _filter_stderr()
    try:
        run_package_init = _import_package_without_init()
        from keras_vidrep import cli

        args = cli.parse_args(argv)
        if args.command not in cli.STDLIB_COMMANDS:
            run_package_init()
        return cli.run(args)
    finally:
        if restore is not None:
            restore()


if __name__ == "__main__":
    sys.exit(main())
