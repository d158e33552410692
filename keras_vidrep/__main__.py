"""``python -m keras_vidrep``: the ``keras-vidrep`` command line. The
package's ``__init__`` saw that it runs as a program and deferred its Keras
imports (``keras_vidrep._run_as_program``)."""

import sys

import keras_vidrep
from keras_vidrep._entry import main

sys.exit(main(import_package=keras_vidrep._register_with_keras))
