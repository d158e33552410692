"""Convolutional LSTM with peephole connections (Shi et al., 2015)."""

import keras
from keras import ops

from keras_vidrep._validation import InputError
from keras_vidrep.layers._peephole_core import GATE_COUNT
from keras_vidrep.layers._peephole_core import FastPeepholeRNN
from keras_vidrep.layers._peephole_core import PeepholeCellBase
from keras_vidrep.layers._peephole_core import _positive_int


def _flat_shape(shape):
    """``(batch, (h, w, c))`` -> ``(batch, h, w, c)``.

    ``keras.layers.StackedRNNCells`` builds each cell after the first with
    ``(batch, previous_cell.output_size)``; for a ConvLSTM cell that size is the
    tuple ``(h, w, filters)``.
    """
    flat = []
    for dim in shape:
        flat.extend(dim if isinstance(dim, (list, tuple)) else [dim])
    return tuple(flat)


def _normalize_kernel_size(kernel_size, cls_name):
    size = (kernel_size,) * 2 if isinstance(kernel_size, int) else kernel_size
    try:
        size = tuple(size)
    except TypeError:
        size = ()
    if (len(size) != 2
            or not all(isinstance(k, int) and not isinstance(k, bool) for k in size)
            or not all(k > 0 and k % 2 == 1 for k in size)):
        raise InputError(
            f"`kernel_size` of {cls_name} must be a positive odd integer or a "
            "tuple of two of them (with 'same' padding an even kernel shifts "
            "the state by half a pixel at every step). "
            f"Received: kernel_size={kernel_size!r}"
        )
    return size


@keras.saving.register_keras_serializable(package="keras_vidrep")
class ConvLSTMCell(PeepholeCellBase):
    """Cell class for the convolutional LSTM with peepholes (Shi et al., 2015).

    Input-to-state and state-to-state transitions are 2-D convolutions
    (channels_last, stride 1, "same" padding, so the state has the spatial size
    of the input); the peepholes are Hadamard products with the cell state::

        i = sigmoid(W_i * x + R_i * h_prev + p_i o c_prev + b_i)
        f = sigmoid(W_f * x + R_f * h_prev + p_f o c_prev + b_f)
        c = f o c_prev + i o tanh(W_c * x + R_c * h_prev + b_c)
        o = sigmoid(W_o * x + R_o * h_prev + p_o o c + b_o)
        h = o o tanh(c)

    (``*`` convolution, ``o`` Hadamard product.) As in ``PeepholeLSTMCell``
    the output gate peeps at the new cell state ``c``.

    Peephole weights are one value per channel, shape ``(filters,)``,
    broadcast over the frame. Shi et al. use full ``H x W x filters`` weights;
    per-channel weights keep the layer independent of the frame size (the same
    weights run on any frame size) at a cost of a few parameters.

    Args:
        filters: Positive integer, number of channels of the state.
        kernel_size: Positive odd integer or tuple of two: the size of both
            convolution kernels.
        **kwargs: the arguments of ``PeepholeLSTMCell`` other than ``units``
            (activations, ``use_peepholes``, initializers, regularizers,
            constraints, ``dropout``, ``recurrent_dropout``, ``seed``).

    Weights: ``kernel`` (kh, kw, in_channels, 4*filters), ``recurrent_kernel``
    (kh, kw, filters, 4*filters), ``bias`` (4*filters,), and
    ``input_gate_peephole_weights``, ``forget_gate_peephole_weights``,
    ``output_gate_peephole_weights``, each (filters,). Gate order [i, f, c, o].

    Call arguments:
        inputs: A 4D tensor ``(batch, height, width, channels)``.
        states: A list ``[h, c]`` of 4D tensors ``(batch, height, width,
            filters)``.
        training: Python boolean, whether dropout is active.

    Input shape:
        ``(batch, height, width, channels)``, height and width known.
        ``channels`` may be 0: the cell then runs on its state alone (no
        ``kernel``).

    Output shape:
        ``(h, [h, c])``, each ``(batch, height, width, filters)``.

    Example:

    >>> cell = ConvLSTMCell(8, 3)
    >>> layer = keras.layers.RNN(cell, return_sequences=True)
    >>> layer(np.zeros((2, 5, 16, 16, 1), "float32")).shape
    (2, 5, 16, 16, 8)

    Inside ``keras.layers.RNN`` the cell works on concrete tensors; for
    functional models use the ``ConvLSTM`` layer, which also knows its output
    shape symbolically.

    References:
        - Shi et al. Convolutional LSTM network: a machine learning approach
          for precipitation nowcasting. NeurIPS 2015.
    """

    cell_arguments = PeepholeCellBase.cell_arguments + ("filters", "kernel_size")

    def __init__(self, filters, kernel_size, **kwargs):
        cls_name = type(self).__name__
        filters = _positive_int(filters, "filters", cls_name)
        super().__init__(filters, **kwargs)
        self.filters = filters
        self.kernel_size = _normalize_kernel_size(kernel_size, cls_name)
        # Like keras' ConvLSTMCell: the state shape depends on the input's
        # spatial size, known at build time (see get_initial_state).
        self.state_size = -1
        self.spatial_shape = None

    @property
    def output_size(self):
        if self.spatial_shape is None:
            return None
        return (*self.spatial_shape, self.filters)

    def build(self, input_shape):
        super().build(_flat_shape(input_shape))

    def _build_kernels(self, input_shape):
        if len(input_shape) != 4 or None in input_shape[1:]:
            raise InputError(
                f"{type(self).__name__} expects inputs of shape "
                "(batch, height, width, channels) with known height, width "
                f"and channels. Received: input_shape={input_shape}"
            )
        self.spatial_shape = tuple(input_shape[1:3])
        kh, kw = self.kernel_size
        if self.has_inputs:
            self.kernel = self._add_gate_weight(
                "kernel", (kh, kw, input_shape[-1], GATE_COUNT * self.filters),
                "kernel")
        self.recurrent_kernel = self._add_gate_weight(
            "recurrent_kernel", (kh, kw, self.filters, GATE_COUNT * self.filters),
            "recurrent")

    def _conv(self, x, kernel):
        z = ops.conv(x, kernel, strides=1, padding="same",
                     data_format="channels_last")
        # TensorFlow's conv2d returns an empty batch with the *input's*
        # channels (TF 2.21); reshaping restores the output's, for free.
        return ops.reshape(z, (ops.shape(x)[0], *x.shape[1:3], kernel.shape[-1]))

    def _apply_kernel(self, x, over_time):
        if not over_time:
            return self._conv(x, self.kernel)
        # All timesteps in one convolution over a (batch * time) batch.
        shape = ops.shape(x)
        height, width, channels = x.shape[2:]
        frames = ops.reshape(x, (-1, height, width, channels))
        z = self._conv(frames, self.kernel)
        return ops.reshape(
            z, (shape[0], shape[1], height, width, GATE_COUNT * self.filters))

    def _recurrent_product(self, h, kernel):
        return self._conv(h, kernel)

    # The hand-written backward pass computes the recurrent-kernel gradient
    # over all steps at once. For convolutions that gains nothing where it was
    # measured (TensorFlow on a CPU: one filter gradient over batch * time
    # costs what the per-step ones cost, and patch-wise products are slower),
    # so ConvLSTM keeps automatic differentiation (benchmarks/README.md).
    fused_backward = False

    def get_initial_state(self, batch_size=None):
        if self.spatial_shape is None:
            raise InputError(
                f"{type(self).__name__} must be built (it needs the frame size) "
                "before it can make an initial state."
            )
        shape = (batch_size, *self.spatial_shape, self.filters)
        return [ops.zeros(shape, dtype=self.compute_dtype),
                ops.zeros(shape, dtype=self.compute_dtype)]

    def compute_output_shape(self, inputs_shape, states_shape=None):
        shape = (*_flat_shape(inputs_shape)[:3], self.filters)
        return shape, [shape, shape]

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": self.kernel_size}


@keras.saving.register_keras_serializable(package="keras_vidrep")
class ConvLSTM(FastPeepholeRNN):
    """2-D convolutional LSTM layer with peepholes (Shi et al., 2015).

    A ``keras.layers.RNN`` over ``ConvLSTMCell`` with a fast path: the input
    convolution of all timesteps is one convolution over (batch x time) frames,
    computed before the recurrence. Results equal those of
    ``keras.layers.RNN(ConvLSTMCell)``.

    Args:
        filters: Positive integer, number of output channels.
        kernel_size: Positive odd integer or tuple of two.
        return_sequences, return_state, go_backwards, stateful, unroll: as in
            ``keras.layers.RNN`` / ``PeepholeLSTM``.
        **kwargs: every argument of ``ConvLSTMCell`` and of
            ``keras.layers.Layer``.

    Call arguments:
        sequences: A 5D tensor ``(batch, timesteps, height, width, channels)``.
        initial_state: Optional list ``[h, c]`` of tensors
            ``(batch, height, width, filters)``.
        mask: Optional boolean tensor ``(batch, timesteps)``.
        training: Python boolean, whether dropout is active.

    Input shape:
        ``(batch, timesteps, height, width, channels)``; height, width and
        channels must be known.

    Output shape:
        ``(batch, timesteps, height, width, filters)`` if ``return_sequences``,
        else ``(batch, height, width, filters)``; with ``return_state``,
        followed by ``h`` and ``c`` of shape ``(batch, height, width, filters)``.

    Example:

    >>> layer = ConvLSTM(16, 3, return_sequences=True)
    >>> layer(np.zeros((2, 10, 16, 16, 4), "float32")).shape
    (2, 10, 16, 16, 16)

    References: see ``ConvLSTMCell``.
    """

    cell_class = ConvLSTMCell
    input_ndim = 5
    _cell_name = "conv_lstm_cell"

    def __init__(self, filters, kernel_size, **kwargs):
        super().__init__(filters=filters, kernel_size=kernel_size, **kwargs)

    @property
    def filters(self):
        return self.cell.filters

    @property
    def kernel_size(self):
        return self.cell.kernel_size

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        batch, steps = sequences_shape[:2]
        state_shape, _ = self.cell.compute_output_shape(
            (batch, *sequences_shape[2:]))
        output_shape = ((batch, steps, *state_shape[1:])
                        if self.return_sequences else state_shape)
        if self.return_state:
            return output_shape, state_shape, state_shape
        return output_shape
