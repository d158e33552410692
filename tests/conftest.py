import os
from pathlib import Path

import pytest

_SHARED_MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"


@pytest.fixture(scope="session")
def mnist_dir():
    """The offline MNIST folder: $KERAS_VIDREP_MNIST, else ../shared/data/mnist.

    Missing data fails the test in CI (CI=true) and skips it, with the
    reason printed, elsewhere.
    """
    location = os.environ.get("KERAS_VIDREP_MNIST") or str(_SHARED_MNIST)
    if not Path(location).exists():
        message = (f"MNIST digits not found at {location}; set "
                   "KERAS_VIDREP_MNIST to the folder of MNIST IDX files")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return location
