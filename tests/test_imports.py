"""The import contracts of ``.importlinter`` hold (function-level imports
count): each floor of the house imports only the floors below it, and the
old module paths still work."""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO


def test_the_import_contracts_hold():
    linter = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(linter), "--no-cache"], cwd=REPO,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "0 broken" in result.stdout


def test_the_moved_modules_answer_to_their_old_paths():
    """Code written against the old layout keeps working: an old path is the
    very module at the new one (a patch through either is seen by both),
    and a package that took an old module's name answers its names."""
    import importlib

    from keras_vidrep import _moved
    from keras_vidrep.evaluation import baselines
    from keras_vidrep.serving import requests
    from keras_vidrep.training import trainer
    from keras_vidrep.zoo import loading

    for old, new in _moved.MOVED.items():
        assert importlib.import_module(old) is importlib.import_module(new)
    from keras_vidrep.checkpoints import RunLock
    from keras_vidrep.training.checkpoints import RunLock as moved

    assert RunLock is moved
    import keras_vidrep.evaluation
    import keras_vidrep.serving
    import keras_vidrep.training
    import keras_vidrep.zoo

    assert keras_vidrep.training.train is trainer.train
    assert keras_vidrep.zoo.load is loading.load
    assert keras_vidrep.zoo.PRESETS == loading.PRESETS  # read on each use
    assert keras_vidrep.serving.rest_request is requests.rest_request
    assert keras_vidrep.evaluation.evaluate_model is baselines.evaluate_model
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        keras_vidrep.zoo.nothing  # noqa: B018 - the lookup is the test


def test_the_package_root_holds_only_the_entry_and_its_helpers():
    """The rooms hold the modules (issue #28: 26 modules at the root
    before): a new module at the root is a decision, taken here.
    ``presets`` is there, below the models, so that each model class loads
    its own presets (``from_preset``), as keras-hub's do."""
    root = REPO / "keras_vidrep"
    modules = sorted(p.name for p in root.glob("*.py"))
    assert modules == ["__init__.py", "__main__.py", "_choices.py",
                       "_entry.py", "_hashing.py", "_logging.py", "_moved.py",
                       "_switch.py", "_validation.py", "_version.py",
                       "cli.py", "presets.py"]
    rooms = sorted(p.name for p in root.iterdir()
                   if (p / "__init__.py").is_file())
    assert rooms == ["captions", "data", "evaluation", "experiments",
                     "layers", "models", "serving", "tasks", "training",
                     "zoo"]
