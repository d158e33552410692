"""The peephole LSTM state update, shared by the cells and the fused recurrence."""

from keras import ops

GATE_COUNT = 4  # gate order along the last axis: input, forget, cell, output


def peephole_lstm_update(z, c_prev, peepholes, activation, recurrent_activation):
    """One LSTM state update from the gate pre-activations.

    Args:
        z: pre-activations ``W x + R h + b`` of the four gates, concatenated on
            the last axis in the order [i, f, c, o].
        c_prev: previous cell state, same shape as each quarter of ``z``.
        peepholes: ``None``, or ``(p_i, p_f, p_o)`` broadcastable against
            ``c_prev`` (Hadamard products).
        activation: cell input and output activation (tanh in the papers).
        recurrent_activation: gate activation (sigmoid in the papers).

    Returns:
        ``(h, c, gates)``: the new output, the new cell state and the
        activated gates ``(i, f, g, o)`` (``g``: the cell input), which the
        hand-written backward pass keeps.
    """
    z_i, z_f, z_c, z_o = ops.split(z, GATE_COUNT, axis=-1)
    if peepholes is not None:
        p_i, p_f, p_o = peepholes
        z_i = z_i + p_i * c_prev
        z_f = z_f + p_f * c_prev
    i = recurrent_activation(z_i)
    f = recurrent_activation(z_f)
    g = activation(z_c)
    c = f * c_prev + i * g
    if peepholes is not None:
        # The output gate peeps at the *new* cell state (Gers et al. 2002).
        z_o = z_o + p_o * c
    o = recurrent_activation(z_o)
    h = o * activation(c)
    return h, c, (i, f, g, o)
