"""The model zoo: loading by name (``loading``), the preset table and its
weights (``presets``), the captioners' presets (``captioners``), the
records, cards and index written from training runs (``records``) and
promotion of a finished run (``promotion``).

``keras_vidrep.zoo.load``, ``list_models`` and the other names of
``keras_vidrep.zoo.loading`` are looked up there on first use.
"""

from keras_vidrep._moved import lazy_names

__getattr__, __dir__ = lazy_names(
    __name__, "loading",
    ("loading", "presets", "captioners", "records", "promotion", "recipes"))
