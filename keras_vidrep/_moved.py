"""Where the modules that moved live now, and the packages' lazy names.

The package's upper floors moved into rooms by purpose (``training/``,
``zoo/``, ``serving/``, ``evaluation/``; issue #28). Code written against
the old paths keeps working: ``import keras_vidrep.checkpoints`` gives the
very module ``keras_vidrep.training.checkpoints`` (one module object under
two names, so a patch through either name is seen by both), and the
packages that took an old module's name (``keras_vidrep.training``,
``keras_vidrep.zoo``, ``keras_vidrep.serving``, ``keras_vidrep.evaluation``)
answer that module's names on first use. Standard library only: the
command line imports it before Keras.
"""

import importlib
import importlib.abc
import importlib.machinery
import sys

# Old module -> the module it is now. Packages that kept an old name are
# not here: they answer that module's names (``lazy_names``).
MOVED = {
    "keras_vidrep.checkpoints": "keras_vidrep.training.checkpoints",
    "keras_vidrep.stops": "keras_vidrep.training.stops",
    "keras_vidrep.precision": "keras_vidrep.training.precision",
    "keras_vidrep.initial_weights": "keras_vidrep.training.initial_weights",
    "keras_vidrep.provenance": "keras_vidrep.training.provenance",
    "keras_vidrep.distributed": "keras_vidrep.training.multi_worker",
    "keras_vidrep.zoo.presets": "keras_vidrep.presets",
    "keras_vidrep.zoo_records": "keras_vidrep.zoo.records",
    "keras_vidrep.promotion": "keras_vidrep.zoo.promotion",
    "keras_vidrep.captions.presets": "keras_vidrep.zoo.captioners",
    "keras_vidrep.saved_model": "keras_vidrep.serving.saved_model",
    "keras_vidrep.visualize": "keras_vidrep.evaluation.visualize",
}


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds an old name and loads it as the module it is now."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        # The import system reads sys.modules[name] back after this call:
        # the old name then holds the real module, not the empty one.
        sys.modules[module.__name__] = importlib.import_module(
            MOVED[module.__name__])


def install():
    """Puts the alias finder on ``sys.meta_path`` (once)."""
    if not any(isinstance(finder, _Alias) for finder in sys.meta_path):
        sys.meta_path.insert(0, _Alias())


def lazy_names(package, default, submodules):
    """``__getattr__`` and ``__dir__`` for a package: its ``submodules``
    imported on first use, and any other public name looked up in the
    module ``default`` (the module whose name the package took)."""

    def __getattr__(name):
        if name in submodules:
            return importlib.import_module(f"{package}.{name}")
        if name.startswith("__"):
            raise AttributeError(
                f"module {package!r} has no attribute {name!r}")
        module = importlib.import_module(f"{package}.{default}")
        try:
            return getattr(module, name)
        except AttributeError:
            raise AttributeError(
                f"module {package!r} has no attribute {name!r}") from None

    def __dir__():
        module = importlib.import_module(f"{package}.{default}")
        return sorted({*submodules, *(n for n in dir(module)
                                      if not n.startswith("_"))})

    return __getattr__, __dir__
