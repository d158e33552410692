"""The command line's entry: TensorFlow's start-up chatter filtered out, the
arguments checked, then the package's Keras half imported only for the
commands that need it. Standard library only (it runs before Keras loads).

TensorFlow prints start-up lines on standard error from C++ as it loads
(oneDNN, CUDA drivers, CPU features, "All log messages before
absl::InitializeLog()"), some before any setting of ours could apply, and
on a machine without a GPU an error line about cuInit. Unless the user set
``TF_CPP_MIN_LOG_LEVEL`` (then every line is theirs to see), ``main``
passes standard error through a filter that drops exactly those lines, and
sets ``TF_CPP_MIN_LOG_LEVEL=1`` for the rest of TensorFlow's informational
C++ logs. Python warnings and our own messages pass.

Both ways in come here: the ``keras-vidrep`` console script
(``keras_vidrep_cli``) and ``python -m keras_vidrep`` (``__main__``). Each
defers the package's registration with Keras (``import keras`` alone takes
seconds) and passes the function that does it as ``import_package``, so
that ``--help``, ``list`` and a bad argument are answered at once.
"""

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


def main(argv=None, import_package=None):
    """Runs the command line; returns the exit status.

    Args:
        argv: the arguments (default ``sys.argv[1:]``).
        import_package: registers the package with Keras; called once the
            arguments are checked, before a command that needs Keras.
    """
    restore = None
    if "TF_CPP_MIN_LOG_LEVEL" not in os.environ:
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "1"
        restore = _filter_stderr()
    try:
        from keras_vidrep import cli

        return cli.run(cli.parse_args(argv), import_package=import_package)
    finally:
        if restore is not None:
            restore()
