"""The package's version, read by ``pyproject.toml`` (setuptools' dynamic
version) and by the command line without importing Keras."""

__version__ = "0.1.0"
