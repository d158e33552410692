"""Fully-connected LSTM with peephole connections."""

import keras
from keras import ops

from keras_vidrep._validation import InputError
from keras_vidrep.layers._peephole_core import GATE_COUNT
from keras_vidrep.layers._peephole_core import FastPeepholeRNN
from keras_vidrep.layers._peephole_core import PeepholeCellBase
from keras_vidrep.layers._peephole_core import _positive_int


@keras.saving.register_keras_serializable(package="keras_vidrep")
class PeepholeLSTMCell(PeepholeCellBase):
    """Cell class for the LSTM layer with peephole connections.

    The gates see the cell state through diagonal ("peephole") weights, as in
    Gers, Schraudolph and Schmidhuber (2002) and the "vanilla LSTM" of Greff et
    al. (2017), the variant used by Srivastava et al. (2015) and Shi et al.
    (2015)::

        i = sigmoid(W_i x + R_i h_prev + p_i * c_prev + b_i)
        f = sigmoid(W_f x + R_f h_prev + p_f * c_prev + b_f)
        c = f * c_prev + i * tanh(W_c x + R_c h_prev + b_c)
        o = sigmoid(W_o x + R_o h_prev + p_o * c + b_o)
        h = o * tanh(c)

    The output gate peeps at the **new** cell state ``c``. One of the source
    texts this project follows writes ``c_prev`` in the output gate; that is a
    typo, the cited papers all use ``c``.

    With ``use_peepholes=False`` the cell computes exactly what
    ``keras.layers.LSTMCell`` computes with the same ``kernel``,
    ``recurrent_kernel`` and ``bias`` (same gate order [i, f, c, o]).

    Args:
        units: Positive integer, dimensionality of the output space.
        activation: Activation of the cell input and output. Default: tanh.
        recurrent_activation: Activation of the gates. Default: sigmoid.
        use_peepholes: Boolean (default ``True``): add the peephole terms.
        use_bias: Boolean (default ``True``), whether the gates have a bias.
        unit_forget_bias: Boolean (default ``True``). If ``True``, add 1 to the
            bias of the forget gate at initialization (Jozefowicz et al. 2015).
        kernel_initializer, recurrent_initializer, bias_initializer,
        peephole_initializer: Initializers of ``kernel`` (input_dim, 4*units),
            ``recurrent_kernel`` (units, 4*units), ``bias`` (4*units,) and the
            three peephole vectors (units,). Defaults: ``"glorot_uniform"``,
            ``"orthogonal"``, ``"zeros"``, ``"glorot_uniform"``.
        kernel_regularizer, recurrent_regularizer, bias_regularizer,
        peephole_regularizer: Regularizers of the same weights.
        kernel_constraint, recurrent_constraint, bias_constraint,
        peephole_constraint: Constraints of the same weights.
        dropout: Float in [0, 1), fraction of the inputs dropped (one mask per
            sequence, as in ``keras.layers.LSTMCell``).
        recurrent_dropout: Float in [0, 1), fraction of the recurrent state
            dropped (one mask per sequence).
        seed: Random seed for dropout.

    Call arguments:
        inputs: A 2D tensor, with shape ``(batch, features)``.
        states: A list ``[h, c]`` of two 2D tensors with shape
            ``(batch, units)``.
        training: Python boolean, whether dropout is active.

    Input shape:
        ``(batch, features)``. ``features`` may be 0: the cell then runs on
        its state alone (no ``kernel``), as the unconditioned decoders of
        Srivastava et al. do.

    Output shape:
        ``(h, [h, c])`` with ``h`` and ``c`` of shape ``(batch, units)``.

    Example:

    >>> cell = PeepholeLSTMCell(8)
    >>> layer = keras.layers.RNN(cell, return_sequences=True)
    >>> layer(np.zeros((2, 5, 3), "float32")).shape
    (2, 5, 8)

    References:
        - Gers, Schraudolph, Schmidhuber. Learning precise timing with LSTM
          recurrent networks. JMLR 3, 2002.
        - Greff et al. LSTM: A search space odyssey. IEEE TNNLS, 2017.
        - Srivastava, Mansimov, Salakhutdinov. Unsupervised learning of video
          representations using LSTMs. ICML 2015.
    """

    cell_arguments = PeepholeCellBase.cell_arguments + ("units",)

    def __init__(self, units, **kwargs):
        units = _positive_int(units, "units", type(self).__name__)
        super().__init__(units, **kwargs)
        self.units = units
        self.state_size = [units, units]
        self.output_size = units

    def _build_kernels(self, input_shape):
        if len(input_shape) != 2 or input_shape[-1] is None:
            raise InputError(
                f"{type(self).__name__} expects inputs of shape "
                "(batch, features) with a known number of features. "
                f"Received: input_shape={input_shape}"
            )
        if self.has_inputs:
            self.kernel = self._add_gate_weight(
                "kernel", (input_shape[-1], GATE_COUNT * self.units), "kernel")
        self.recurrent_kernel = self._add_gate_weight(
            "recurrent_kernel", (self.units, GATE_COUNT * self.units),
            "recurrent")

    def _apply_kernel(self, x, over_time):
        # A matmul on the last axis covers one step and all steps alike.
        return ops.matmul(x, self.kernel)

    def _recurrent_product(self, h, kernel):
        return ops.matmul(h, kernel)

    # Training steps measured against automatic differentiation of the loop:
    # 1.6x faster on TensorFlow and 1.2x on JAX on the 2-core CPU, the same
    # on an H100, where the loop is latency-bound (benchmarks/README.md).
    fused_backward = True

    def _recurrent_adjoint(self, kernel):
        return ops.transpose(kernel)

    def _recurrent_kernel_gradient(self, h_prev, d_z):
        # One (units x batch*time) by (batch*time x 4 units) product.
        h_prev = ops.reshape(h_prev, (-1, self.units))
        d_z = ops.reshape(d_z, (-1, GATE_COUNT * self.units))
        return ops.matmul(ops.transpose(h_prev), d_z)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@keras.saving.register_keras_serializable(package="keras_vidrep")
class PeepholeLSTM(FastPeepholeRNN):
    """Long Short-Term Memory layer with peephole connections.

    A ``keras.layers.RNN`` over ``PeepholeLSTMCell`` with a fast path: the input
    projection ``W x`` of all timesteps is one matrix product over
    (batch x time) computed before the recurrence, so each step only adds the
    recurrent term. In training (tanh/sigmoid activations, no mask, recurrent
    dropout or unrolling) the recurrence has a hand-written backward pass that
    computes the recurrent-kernel gradient as one product over all timesteps
    after the loop: about half the training-step time of ``keras.layers.LSTM``
    on a CPU (``benchmarks/README.md``). Results and gradients equal those of
    ``keras.layers.RNN(PeepholeLSTMCell)``.

    Args:
        units: Positive integer, dimensionality of the output space.
        return_sequences: Boolean (default ``False``): return the full sequence
            of outputs, or only the last one.
        return_state: Boolean (default ``False``): also return the last states
            ``h`` and ``c``.
        go_backwards: Boolean (default ``False``): process the input sequence
            backwards (and return the outputs in processing order, as
            ``keras.layers.LSTM`` does).
        stateful: Boolean (default ``False``): carry the last state of each
            batch into the next.
        unroll: Boolean (default ``False``): unroll the loop (short sequences).
        **kwargs: every argument of ``PeepholeLSTMCell`` (``activation``,
            ``use_peepholes``, initializers, dropout, ...) and of
            ``keras.layers.Layer`` (``name``, ``dtype``, ...).

    Call arguments:
        sequences: A 3D tensor ``(batch, timesteps, features)``.
        initial_state: Optional list ``[h, c]`` of tensors ``(batch, units)``.
        mask: Optional boolean tensor ``(batch, timesteps)``.
        training: Python boolean, whether dropout is active.

    Input shape:
        ``(batch, timesteps, features)``.

    Output shape:
        ``(batch, timesteps, units)`` if ``return_sequences``, else
        ``(batch, units)``; with ``return_state``, followed by ``h`` and ``c``
        of shape ``(batch, units)``.

    Example:

    >>> layer = PeepholeLSTM(16, return_sequences=True)
    >>> layer(np.zeros((4, 10, 8), "float32")).shape
    (4, 10, 16)

    References: see ``PeepholeLSTMCell``.
    """

    cell_class = PeepholeLSTMCell
    input_ndim = 3
    _cell_name = "peephole_lstm_cell"

    def __init__(self, units, **kwargs):
        super().__init__(units=units, **kwargs)

    @property
    def units(self):
        return self.cell.units
