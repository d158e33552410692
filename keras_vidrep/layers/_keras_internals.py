"""The two pieces of Keras that are not public API, imported in one place.

- ``DropoutRNNCell``: ``keras.layers.RNN`` only prepares and clears per-sequence
  dropout masks for cells that are instances of this mixin, so our cells must be.
- ``rnn``: the backend's recurrence driver (``tf.while_loop`` on TensorFlow,
  ``lax.scan`` on JAX), with masking, ``go_backwards`` and ``unroll``. Our fast
  sequence layers run it over pre-projected inputs instead of raw frames,
  keeping what ``keras.layers.RNN`` promises (masks, ``go_backwards``,
  ``unroll``, ``zero_output_for_mask``), which the public ``keras.ops.scan``
  does not offer. The decoders' loop, which needs none of these, uses
  ``keras.ops.scan``.

If a Keras release moves either, only this module changes.
"""

from keras.src.backend import rnn  # noqa: F401
from keras.src.layers.rnn.dropout_rnn_cell import DropoutRNNCell  # noqa: F401
