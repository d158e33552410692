"""The peephole LSTM recurrence with a hand-written backward pass.

Automatic differentiation of a recurrent loop adds the recurrent-kernel
gradient ``h_{t-1}^T dz_t`` into an accumulator at every step: one small
product with a batch-sized dimension per step, plus a read and a write of an
accumulator the size of the kernel. For a 1024-unit layer that is 20 passes
over 16 MB per training step. The backward pass here runs the recurrence only
for what must be sequential (``dz_t``, ``dh_{t-1}``, ``dc_{t-1}``), keeps every
``dz_t``, and computes the kernel and peephole gradients after the loop in one
large product over all timesteps at once.

It implements the standard gates only (tanh cell activation, sigmoid gates);
``FastPeepholeRNN`` uses it when training without masking or recurrent dropout
and falls back on automatic differentiation otherwise. Tests check it against
that fallback.
"""

import keras
from keras import ops

from keras_vidrep.layers._keras_internals import rnn as backend_rnn
from keras_vidrep.layers._lstm_equations import GATE_COUNT
from keras_vidrep.layers._lstm_equations import peephole_lstm_update


def supports_fused_gradient(cell):
    """Whether ``cell`` has the backward pass and the activations it assumes."""
    return (cell.fused_backward
            and cell.activation is keras.activations.tanh
            and cell.recurrent_activation is keras.activations.sigmoid)


def _upstream(args, upstream):
    # The gradient of the one (packed) output: JAX passes it by keyword,
    # TensorFlow and PyTorch positionally.
    return upstream if upstream is not None else args[0]


def _shifted_one_step(first, sequence):
    """``[first, sequence[:, 0], ..., sequence[:, -2]]`` along axis 1."""
    return ops.concatenate(
        [ops.expand_dims(first, 1), sequence[:, :-1]], axis=1)


def fused_recurrence(cell, projected, h0, c0):
    """All outputs and the last cell state of a peephole LSTM.

    The arithmetic is that of the cell's ``recurrent_step``, so that
    training and inference compute the same function in every precision:
    ``W x_t + R h_{t-1}`` in the compute dtype, then the bias and the gate
    arithmetic in float32, the states kept in the compute dtype. The
    backward pass runs in float32 too, and returns each gradient in its
    input's dtype.

    Args:
        cell: a ``PeepholeCellBase`` (provides ``_recurrent_product``,
            ``_recurrent_adjoint`` and ``_recurrent_kernel_gradient``).
        projected: ``W x_t`` for every step, without the bias, shape
            (batch, time, ..., 4 * size), gate order [i, f, c, o].
        h0, c0: initial state.

    Returns:
        ``(outputs, c_last)``: outputs of every step (batch, time, ..., size)
        and the last cell state.
    """
    dtype = projected.dtype
    kernel = ops.cast(cell.recurrent_kernel, dtype)
    bias = (ops.cast(cell.bias, "float32") if cell.use_bias else
            ops.zeros((projected.shape[-1],), "float32"))
    peepholes = ()
    if cell.use_peepholes:
        peepholes = tuple(ops.cast(p, "float32") for p in cell.peepholes)
    packed = _make_recurrence(cell, bool(peepholes))(
        projected, ops.cast(h0, dtype), ops.cast(c0, dtype), kernel, bias,
        *peepholes)
    return packed[:, :-1], packed[:, -1]


def _make_recurrence(cell, use_peepholes):
    product = cell._recurrent_product
    f32 = lambda x: ops.cast(x, "float32")  # noqa: E731

    def forward_step(z_t, states, kernel, bias, peepholes):
        h_prev, c_prev = states
        z = f32(z_t + product(h_prev, kernel)) + bias
        h, c, gates = peephole_lstm_update(
            z, f32(c_prev), peepholes or None, ops.tanh, ops.sigmoid)
        h, c = ops.cast(h, z_t.dtype), ops.cast(c, z_t.dtype)
        return (h, c, ops.concatenate(gates, axis=-1)), [h, c]

    @ops.custom_gradient
    def recurrence(projected, h0, c0, kernel, bias, *peepholes):
        _, (outputs, cells, gates), (_, c_last) = backend_rnn(
            lambda z_t, states: forward_step(z_t, states, kernel, bias,
                                             peepholes),
            projected, [h0, c0], return_all_outputs=True)

        def grad(*args, upstream=None):
            d_packed = f32(_upstream(args, upstream))
            d_outputs, d_c_last = d_packed[:, :-1], d_packed[:, -1]
            adjoint = f32(cell._recurrent_adjoint(kernel))
            cells_prev = _shifted_one_step(c0, cells)

            def backward_step(inputs_t, states):
                # The chain rule through peephole_lstm_update, with
                # sigmoid' = s (1 - s) and tanh' = 1 - t^2 from the kept gates.
                d_h_out, c, c_prev, gates_t = inputs_t
                c, c_prev = f32(c), f32(c_prev)
                d_h_next, d_c_next = states
                i, f, g, o = ops.split(gates_t, GATE_COUNT, axis=-1)
                d_h = d_h_out + d_h_next
                tanh_c = ops.tanh(c)
                d_z_o = d_h * tanh_c * o * (1.0 - o)
                d_c = d_c_next + d_h * o * (1.0 - tanh_c * tanh_c)
                if use_peepholes:
                    d_c = d_c + d_z_o * peepholes[2]
                d_z_i = d_c * g * i * (1.0 - i)
                d_z_f = d_c * c_prev * f * (1.0 - f)
                d_z_c = d_c * i * (1.0 - g * g)
                d_c_prev = d_c * f
                if use_peepholes:
                    d_c_prev = (d_c_prev + d_z_i * peepholes[0]
                                + d_z_f * peepholes[1])
                d_z = ops.concatenate([d_z_i, d_z_f, d_z_c, d_z_o], axis=-1)
                d_h_prev = product(d_z, adjoint)
                return d_z, [d_h_prev, d_c_prev]

            reverse = lambda x: ops.flip(x, axis=1)  # noqa: E731
            _, d_z, (d_h0, d_c0) = backend_rnn(
                backward_step,
                tuple(reverse(x) for x in (d_outputs, cells, cells_prev, gates)),
                [ops.zeros_like(f32(h0)), d_c_last], return_all_outputs=True,
                input_length=projected.shape[1])
            d_z = reverse(d_z)
            outputs_prev = _shifted_one_step(h0, outputs)
            d_kernel = cell._recurrent_kernel_gradient(
                f32(outputs_prev), d_z)
            axes = tuple(range(d_z.ndim - 1))
            d_peepholes = ()
            if use_peepholes:
                d_z_i, d_z_f, _, d_z_o = ops.split(d_z, GATE_COUNT, axis=-1)
                d_peepholes = (ops.sum(d_z_i * f32(cells_prev), axis=axes),
                               ops.sum(d_z_f * f32(cells_prev), axis=axes),
                               ops.sum(d_z_o * f32(cells), axis=axes))
            return (ops.cast(d_z, projected.dtype), ops.cast(d_h0, h0.dtype),
                    ops.cast(d_c0, c0.dtype), ops.cast(d_kernel, kernel.dtype),
                    ops.sum(d_z, axis=axes), *d_peepholes)

        # One output, the last cell state appended as one more step: Keras'
        # custom_gradient on PyTorch passes a single upstream gradient.
        return ops.concatenate([outputs, ops.expand_dims(c_last, 1)], 1), grad

    return recurrence
