"""The ``keras-vidrep`` console script, before anything is imported.

The package's ``__init__`` imports Keras (to register our layers with its
serialization), which takes seconds. This script puts the package in
``sys.modules`` without running its ``__init__`` and hands the command line
to ``keras_vidrep._entry``, which runs the ``__init__`` only for the
commands that need Keras, after their arguments are checked.
"""

import importlib.util
import sys


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
    run_package_init = _import_package_without_init()
    from keras_vidrep._entry import main as run

    return run(argv, import_package=run_package_init)


if __name__ == "__main__":
    sys.exit(main())
