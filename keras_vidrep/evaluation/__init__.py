"""Evaluation: autoregressive scores with the trivial baselines beside them
(``baselines``) and pictures of predictions (``visualize``).

The names of ``baselines`` (``evaluate_model``, ...) are looked up there on
first use.
"""

from keras_vidrep._moved import lazy_names

__getattr__, __dir__ = lazy_names(__name__, "baselines",
                                  ("baselines", "visualize"))
