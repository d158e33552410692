"""Machinery shared by the fully-connected and the convolutional peephole LSTM.

Both compute the same gate equations; they differ only in how the input and the
previous output are projected onto the four gates (a matrix product or a
convolution). The shared part lives here once: the gate update, the weights
that do not depend on the projection (bias, peepholes), dropout, the
configuration, and the fast sequence layer that projects the inputs of every
timestep in one operation before the recurrence.
"""

import keras
from keras import ops

from keras_vidrep._validation import InputError
from keras_vidrep.layers._fused_recurrence import fused_recurrence
from keras_vidrep.layers._fused_recurrence import supports_fused_gradient
from keras_vidrep.layers._keras_internals import DropoutRNNCell
from keras_vidrep.layers._keras_internals import rnn as backend_rnn
from keras_vidrep._validation import check_positive_ints
from keras_vidrep.layers._lstm_equations import GATE_COUNT
from keras_vidrep.layers._lstm_equations import peephole_lstm_update


def _positive_int(value, name, cls_name):
    check_positive_ints(cls_name, **{name: value})
    return value


def _rate(value, name, cls_name):
    if not 0.0 <= float(value) < 1.0:
        raise InputError(
            f"`{name}` of {cls_name} must be in [0, 1). Received: {name}={value!r}"
        )
    return float(value)


class PeepholeCellBase(keras.layers.Layer, DropoutRNNCell):
    """Base of the peephole LSTM cells; subclasses define the projections.

    A subclass sets ``self.size`` (units or filters) and implements
    ``_build_kernels(input_shape)``, ``_apply_kernel(x, over_time)``, the
    recurrent projection ``_recurrent_product(h, kernel)`` and its own
    ``get_config`` entries. A subclass that sets ``fused_backward = True``
    also implements, for the hand-written backward pass,
    ``_recurrent_adjoint(kernel)`` (the kernel whose product maps ``dz`` to
    ``dh``) and ``_recurrent_kernel_gradient(h_prev, d_z)`` (over every step
    at once).
    """

    fused_backward = False

    _weight_kinds = ("kernel", "recurrent", "bias", "peephole")
    # The constructor arguments a sequence layer passes on to its cell
    # (subclasses add their own, e.g. ``units``); kept in step with
    # ``__init__`` by a test.
    cell_arguments = (
        "activation", "recurrent_activation", "use_peepholes", "use_bias",
        "unit_forget_bias", "dropout", "recurrent_dropout", "seed",
        *(f"{kind}_{part}" for kind in _weight_kinds
          for part in ("initializer", "regularizer", "constraint")))

    def __init__(
        self,
        size,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_peepholes=True,
        use_bias=True,
        unit_forget_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        peephole_initializer="glorot_uniform",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        peephole_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        peephole_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        cls_name = type(self).__name__
        self.size = size
        self.activation = keras.activations.get(activation)
        self.recurrent_activation = keras.activations.get(recurrent_activation)
        self.use_peepholes = bool(use_peepholes)
        self.use_bias = bool(use_bias)
        self.unit_forget_bias = bool(unit_forget_bias)
        initializers = (kernel_initializer, recurrent_initializer,
                        bias_initializer, peephole_initializer)
        regularizers = (kernel_regularizer, recurrent_regularizer,
                        bias_regularizer, peephole_regularizer)
        constraints = (kernel_constraint, recurrent_constraint,
                       bias_constraint, peephole_constraint)
        for kind, init, reg, con in zip(self._weight_kinds, initializers,
                                        regularizers, constraints):
            setattr(self, f"{kind}_initializer", keras.initializers.get(init))
            setattr(self, f"{kind}_regularizer", keras.regularizers.get(reg))
            setattr(self, f"{kind}_constraint", keras.constraints.get(con))
        self.dropout = _rate(dropout, "dropout", cls_name)
        self.recurrent_dropout = _rate(recurrent_dropout, "recurrent_dropout",
                                       cls_name)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed=seed)

    # -- weights ------------------------------------------------------------
    def _add_gate_weight(self, name, shape, kind, initializer=None):
        return self.add_weight(
            name=name,
            shape=shape,
            initializer=initializer or getattr(self, f"{kind}_initializer"),
            regularizer=getattr(self, f"{kind}_regularizer"),
            constraint=getattr(self, f"{kind}_constraint"),
        )

    def _build_bias_and_peepholes(self):
        size = self.size
        if self.use_bias:
            initializer = self.bias_initializer
            if self.unit_forget_bias:
                base = self.bias_initializer

                def initializer(_, *args, **kwargs):
                    # Forget gate starts at 1 (Jozefowicz et al. 2015).
                    return ops.concatenate([
                        base((size,), *args, **kwargs),
                        keras.initializers.get("ones")((size,), *args, **kwargs),
                        base((2 * size,), *args, **kwargs),
                    ])

            self.bias = self._add_gate_weight("bias", (GATE_COUNT * size,),
                                              "bias", initializer)
        else:
            self.bias = None
        if self.use_peepholes:
            self.input_gate_peephole_weights = self._add_gate_weight(
                "input_gate_peephole_weights", (size,), "peephole")
            self.forget_gate_peephole_weights = self._add_gate_weight(
                "forget_gate_peephole_weights", (size,), "peephole")
            self.output_gate_peephole_weights = self._add_gate_weight(
                "output_gate_peephole_weights", (size,), "peephole")

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        # Inputs with zero features are allowed: the cell then runs on its
        # state alone and has no kernel (the unconditioned decoders of
        # Srivastava et al. 2015).
        self.has_inputs = input_shape[-1] != 0
        self._build_kernels(input_shape)
        if not self.has_inputs:
            self.kernel = None
        self._build_bias_and_peepholes()

    # -- computation --------------------------------------------------------
    @property
    def peepholes(self):
        if not self.use_peepholes:
            return None
        return (self.input_gate_peephole_weights,
                self.forget_gate_peephole_weights,
                self.output_gate_peephole_weights)

    def input_projection(self, inputs, training=False, over_time=False):
        """``W x`` for one step, or for every step at once if ``over_time``.

        With ``over_time=True`` the inputs carry a time axis at position 1 and
        the projection of all timesteps is one matmul / convolution. The bias
        is not added here but in ``recurrent_step``, in float32 (see there).
        """
        if training and self.dropout > 0:
            mask = self.get_dropout_mask(inputs[:, 0] if over_time else inputs)
            inputs = inputs * (ops.expand_dims(mask, 1) if over_time else mask)
        if self.has_inputs:
            return self._apply_kernel(inputs, over_time)
        return ops.zeros((*ops.shape(inputs)[:-1], GATE_COUNT * self.size),
                         dtype=self.compute_dtype)

    def recurrent_step(self, projected_inputs, states, training=False):
        """Completes one step from the already projected inputs ``W x``."""
        h_prev, c_prev = states[0], states[1]
        if training and self.recurrent_dropout > 0:
            h_prev = h_prev * self.get_recurrent_dropout_mask(h_prev)
        z = projected_inputs + self._recurrent_product(h_prev,
                                                       self.recurrent_kernel)
        # The bias and the gate arithmetic run in float32 whatever the compute
        # dtype: on the 2-core CPU, TensorFlow's float32 elementwise kernels
        # and reductions beat its bfloat16 ones. A bfloat16 ConvLSTM training
        # step measured 335 ms with bfloat16 gates, 302 ms with float32 ones,
        # and 308 -> 296 ms in a later run with the bias added here in float32
        # rather than to the bfloat16 projection of every step (whose bias
        # gradient, one bfloat16 sum over batch x time, cost more than 20
        # float32 ones; benchmarks/README.md). The states stay in the compute
        # dtype.
        z = ops.cast(z, "float32")
        if self.use_bias:
            z = z + ops.cast(self.bias, "float32")
        peepholes = self.peepholes
        if peepholes is not None:
            peepholes = tuple(ops.cast(p, "float32") for p in peepholes)
        h, c, _ = peephole_lstm_update(
            z, ops.cast(c_prev, "float32"), peepholes,
            self.activation, self.recurrent_activation)
        h = ops.cast(h, self.compute_dtype)
        return h, [h, ops.cast(c, self.compute_dtype)]

    def call(self, inputs, states, training=False):
        projected = self.input_projection(inputs, training=training)
        return self.recurrent_step(projected, states, training=training)

    def get_config(self):
        config = {
            "activation": keras.activations.serialize(self.activation),
            "recurrent_activation": keras.activations.serialize(
                self.recurrent_activation),
            "use_peepholes": self.use_peepholes,
            "use_bias": self.use_bias,
            "unit_forget_bias": self.unit_forget_bias,
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
        }
        for kind in self._weight_kinds:
            config[f"{kind}_initializer"] = keras.initializers.serialize(
                getattr(self, f"{kind}_initializer"))
            config[f"{kind}_regularizer"] = keras.regularizers.serialize(
                getattr(self, f"{kind}_regularizer"))
            config[f"{kind}_constraint"] = keras.constraints.serialize(
                getattr(self, f"{kind}_constraint"))
        return {**super().get_config(), **config}


_LAYER_ONLY_KEYS = ("name", "trainable", "dtype")


class FastPeepholeRNN(keras.layers.RNN):
    """Sequence layer over a peephole cell with a fast path.

    Subclasses set ``cell_class`` and ``input_ndim``. The constructor takes the
    cell's arguments and the ``keras.layers.RNN`` arguments side by side (as
    ``keras.layers.LSTM`` does), builds the cell, and ``get_config`` returns
    them flat. ``inner_loop`` projects the inputs of all timesteps at once, then
    runs only the recurrent part of the cell step by step. In training, with
    the standard activations and no mask, recurrent dropout or unrolling, the
    recurrence has a hand-written backward pass (``_fused_recurrence``) that
    computes the recurrent-kernel gradient in one product after the loop.
    """

    cell_class = None
    input_ndim = None
    _cell_name = None

    def __init__(self, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False,
                 zero_output_for_mask=False, **kwargs):
        cell_kwargs = {k: kwargs.pop(k) for k in list(kwargs)
                       if k in self.cell_class.cell_arguments}
        cell = self.cell_class(
            **cell_kwargs, name=self._cell_name,
            dtype=kwargs.get("dtype"), trainable=kwargs.get("trainable", True))
        super().__init__(
            cell, return_sequences=return_sequences, return_state=return_state,
            go_backwards=go_backwards, stateful=stateful, unroll=unroll,
            zero_output_for_mask=zero_output_for_mask, **kwargs)
        self.input_spec = keras.layers.InputSpec(ndim=self.input_ndim)

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        cell = self.cell
        projected = cell.input_projection(sequences, training=training,
                                          over_time=True)
        if self._use_fused_gradient(mask, training):
            if self.go_backwards:
                projected = ops.flip(projected, axis=1)
            outputs, c_last = fused_recurrence(cell, projected,
                                               *initial_state)
            last_output = outputs[:, -1]
            return last_output, outputs, [last_output, c_last]

        def step(projected_step, states):
            return cell.recurrent_step(projected_step, states, training=training)

        return backend_rnn(
            step,
            projected,
            list(initial_state),
            go_backwards=self.go_backwards,
            mask=mask,
            unroll=self.unroll,
            input_length=sequences.shape[1],
            zero_output_for_mask=self.zero_output_for_mask,
            return_all_outputs=self.return_sequences,
        )

    def _use_fused_gradient(self, mask, training):
        return (training and mask is None and not self.unroll
                and not self.cell.recurrent_dropout
                and supports_fused_gradient(self.cell))

    def call(self, sequences, initial_state=None, mask=None, training=False):
        return super().call(sequences, initial_state=initial_state, mask=mask,
                            training=training)

    def get_config(self):
        config = super().get_config()
        del config["cell"]
        cell_config = {k: v for k, v in self.cell.get_config().items()
                       if k not in _LAYER_ONLY_KEYS}
        return {**config, **cell_config}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
