"""Quieting one known, harmless TensorFlow warning."""

import contextlib
import logging


class _NotRetracing(logging.Filter):
    def filter(self, record):
        return "triggered tf.function retracing" not in record.getMessage()


@contextlib.contextmanager
def many_models():
    """Within it, TensorFlow's "N out of the last N calls ... triggered
    tf.function retracing" warning is not shown.

    Code that builds and evaluates many models in one process (a probe per
    protocol and head, an experiment per row) makes one ``predict``
    function per model from the same Python function; TensorFlow counts
    them as retracings of one function and warns, though each model is
    traced once and nothing can be reused between them.
    """
    logger = logging.getLogger("tensorflow")
    quiet = _NotRetracing()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)
