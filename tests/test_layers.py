"""Peephole LSTM and ConvLSTM: numerics against numpy, Keras, serialization."""

import numpy as np
import pytest

import keras
from keras import ops

from keras_vidrep.layers import ConvLSTM
from keras_vidrep.layers import ConvLSTMCell
from keras_vidrep.layers import PeepholeLSTM
from keras_vidrep.layers import PeepholeLSTMCell
from keras_vidrep.layers._peephole_core import PeepholeCellBase
from tests import reference

pytestmark = pytest.mark.backend_agnostic

BATCH, STEPS = 2, 4
FEATURES, UNITS = 3, 5
HEIGHT, WIDTH, CHANNELS, FILTERS = 5, 6, 2, 3


def np_(x):
    return ops.convert_to_numpy(x)


def fc_inputs(seed=0):
    return np.random.default_rng(seed).normal(
        size=(BATCH, STEPS, FEATURES)).astype("float32")


def conv_inputs(seed=0):
    return np.random.default_rng(seed).normal(
        size=(BATCH, STEPS, HEIGHT, WIDTH, CHANNELS)).astype("float32")


def randomize(cell, seed=1):
    """Gives every weight (bias and peepholes included) random non-zero values."""
    rng = np.random.default_rng(seed)
    for weight in cell.weights:
        weight.assign(rng.normal(scale=0.5, size=weight.shape).astype("float32"))


def reference_weights(cell):
    peep = None
    if cell.use_peepholes:
        peep = {"i": np_(cell.input_gate_peephole_weights),
                "f": np_(cell.forget_gate_peephole_weights),
                "o": np_(cell.output_gate_peephole_weights)}
    return (np_(cell.kernel).astype("float64"),
            np_(cell.recurrent_kernel).astype("float64"),
            np_(cell.bias).astype("float64"), peep)


def built_cell(cell, step_shape):
    cell.build(step_shape)
    randomize(cell)
    return cell


# -- equations against numpy --------------------------------------------------

@pytest.mark.parametrize("use_peepholes", [True, False])
def test_peephole_lstm_cell_matches_numpy(use_peepholes):
    cell = built_cell(PeepholeLSTMCell(UNITS, use_peepholes=use_peepholes),
                      (BATCH, FEATURES))
    x = fc_inputs()
    rng = np.random.default_rng(2)
    h0 = rng.normal(size=(BATCH, UNITS)).astype("float32")
    c0 = rng.normal(size=(BATCH, UNITS)).astype("float32")
    w, r, b, peep = reference_weights(cell)
    expected, expected_h, expected_c = reference.lstm_sequence(
        x.astype("float64"), h0, c0, w, r, b, peep, np.matmul)

    h, c = h0, c0
    for t in range(STEPS):
        out, (h, c) = cell(x[:, t], [h, c])
        np.testing.assert_allclose(np_(out), expected[:, t], atol=1e-5)
    np.testing.assert_allclose(np_(h), expected_h, atol=1e-5)
    np.testing.assert_allclose(np_(c), expected_c, atol=1e-5)


@pytest.mark.parametrize("use_peepholes", [True, False])
def test_conv_lstm_cell_matches_numpy(use_peepholes):
    cell = built_cell(ConvLSTMCell(FILTERS, (3, 5), use_peepholes=use_peepholes),
                      (BATCH, HEIGHT, WIDTH, CHANNELS))
    x = conv_inputs()
    rng = np.random.default_rng(3)
    state_shape = (BATCH, HEIGHT, WIDTH, FILTERS)
    h0 = rng.normal(size=state_shape).astype("float32")
    c0 = rng.normal(size=state_shape).astype("float32")
    w, r, b, peep = reference_weights(cell)
    expected, _, expected_c = reference.lstm_sequence(
        x.astype("float64"), h0, c0, w, r, b, peep, reference.conv2d_same)

    h, c = h0, c0
    for t in range(STEPS):
        out, (h, c) = cell(x[:, t], [h, c])
        np.testing.assert_allclose(np_(out), expected[:, t], atol=1e-4)
    np.testing.assert_allclose(np_(c), expected_c, atol=1e-4)


def test_output_gate_peeps_at_new_cell_state():
    """Only p_o non-zero: the result must use c_t, not c_{t-1}, in the o gate."""
    cell = built_cell(PeepholeLSTMCell(UNITS), (BATCH, FEATURES))
    cell.input_gate_peephole_weights.assign(np.zeros(UNITS, "float32"))
    cell.forget_gate_peephole_weights.assign(np.zeros(UNITS, "float32"))
    x = fc_inputs()[:, 0]
    h0 = np.zeros((BATCH, UNITS), "float32")
    c0 = np.full((BATCH, UNITS), 2.0, "float32")
    w, r, b, peep = reference_weights(cell)
    z = x @ w + h0 @ r + b
    zi, zf, zc, zo = np.split(z, 4, axis=-1)
    c_new = reference.sigmoid(zf) * c0 + reference.sigmoid(zi) * np.tanh(zc)
    with_new = reference.sigmoid(zo + peep["o"] * c_new) * np.tanh(c_new)
    with_prev = reference.sigmoid(zo + peep["o"] * c0) * np.tanh(c_new)
    out, _ = cell(x, [h0, c0])
    np.testing.assert_allclose(np_(out), with_new, atol=1e-5)
    assert np.abs(with_new - with_prev).max() > 1e-2


# -- equal to Keras' own cells without peepholes ----------------------------

def test_no_peepholes_equals_keras_lstm_cell():
    ours = built_cell(PeepholeLSTMCell(UNITS, use_peepholes=False),
                      (BATCH, FEATURES))
    theirs = keras.layers.LSTMCell(UNITS)
    theirs.build((BATCH, FEATURES))
    theirs.kernel.assign(ours.kernel)
    theirs.recurrent_kernel.assign(ours.recurrent_kernel)
    theirs.bias.assign(ours.bias)
    x = fc_inputs()
    ours_out = keras.layers.RNN(ours, return_sequences=True)(x)
    theirs_out = keras.layers.RNN(theirs, return_sequences=True)(x)
    np.testing.assert_allclose(np_(ours_out), np_(theirs_out), atol=1e-6)


def test_no_peepholes_equals_keras_conv_lstm_2d():
    ours = ConvLSTM(FILTERS, 3, use_peepholes=False, return_sequences=True)
    theirs = keras.layers.ConvLSTM2D(FILTERS, 3, padding="same",
                                     return_sequences=True)
    x = conv_inputs()
    ours(x)
    theirs(x)
    randomize(ours.cell)
    for name in ("kernel", "recurrent_kernel", "bias"):
        getattr(theirs.cell, name).assign(getattr(ours.cell, name))
    np.testing.assert_allclose(np_(ours(x)), np_(theirs(x)), atol=1e-5)


# -- the fast sequence layers equal the cell inside keras.layers.RNN ---------

def _fast_and_generic(layer_cls, args, inputs, **kwargs):
    fast = layer_cls(*args, return_sequences=True, return_state=True, **kwargs)
    fast(inputs)
    randomize(fast.cell)
    generic = keras.layers.RNN(fast.cell, return_sequences=True,
                               return_state=True,
                               go_backwards=kwargs.get("go_backwards", False))
    return fast, generic


@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("with_initial_state", [False, True])
@pytest.mark.parametrize("kind", ["fc", "conv"])
def test_fast_layer_equals_cell_in_rnn(kind, go_backwards, with_initial_state):
    if kind == "fc":
        layer_cls, args, x = PeepholeLSTM, (UNITS,), fc_inputs()
        state_shape = (BATCH, UNITS)
    else:
        layer_cls, args, x = ConvLSTM, (FILTERS, 3), conv_inputs()
        state_shape = (BATCH, HEIGHT, WIDTH, FILTERS)
    fast, generic = _fast_and_generic(layer_cls, args, x,
                                      go_backwards=go_backwards)
    initial_state = None
    if with_initial_state:
        rng = np.random.default_rng(5)
        initial_state = [rng.normal(size=state_shape).astype("float32")
                         for _ in range(2)]
    got = fast(x, initial_state=initial_state)
    want = generic(x, initial_state=initial_state)
    assert len(got) == 3
    for a, b in zip(got, want):
        np.testing.assert_allclose(np_(a), np_(b), atol=1e-5)
    # go_backwards really reverses: the last output differs from forwards.
    if go_backwards:
        forwards = keras.layers.RNN(fast.cell, return_sequences=True)(
            x, initial_state=initial_state)
        assert np.abs(np_(forwards)[:, -1] - np_(got[0])[:, -1]).max() > 1e-3


def test_fast_layer_equals_cell_with_dropout_in_training():
    x = fc_inputs()
    fast = PeepholeLSTM(UNITS, dropout=0.5, recurrent_dropout=0.3, seed=7,
                        return_sequences=True)
    fast(x)
    randomize(fast.cell)
    generic = keras.layers.RNN(
        PeepholeLSTMCell(UNITS, dropout=0.5, recurrent_dropout=0.3, seed=7),
        return_sequences=True)
    generic(x)
    for a, b in zip(generic.cell.weights, fast.cell.weights):
        a.assign(b)
    trained = np_(fast(x, training=True))
    np.testing.assert_allclose(trained, np_(generic(x, training=True)),
                               atol=1e-5)
    inference = np_(fast(x, training=False))
    assert np.abs(trained - inference).max() > 1e-3
    np.testing.assert_allclose(inference, np_(generic(x)), atol=1e-5)


def test_return_sequences_false_gives_last_output():
    x = conv_inputs()
    layer = ConvLSTM(FILTERS, 3, return_sequences=True)
    full = np_(layer(x))
    last = ConvLSTM.from_config({**layer.get_config(),
                                 "return_sequences": False})
    last(x)
    last.set_weights(layer.get_weights())
    np.testing.assert_allclose(np_(last(x)), full[:, -1], atol=1e-6)


# -- the hand-written backward pass equals automatic differentiation --------

def _gradients(layer, inputs, initial_state):
    """d(sum of every output times a fixed random probe) / d(weights, inputs,
    initial state), in training mode."""
    outputs = layer(inputs, initial_state=initial_state, training=True)
    rng = np.random.default_rng(3)
    probes = [rng.normal(size=o.shape).astype("float32") for o in outputs]
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        x = tf.constant(inputs)
        states = [tf.constant(s) for s in initial_state]
        with tf.GradientTape() as tape:
            tape.watch([x, *states])
            outputs = layer(x, initial_state=states, training=True)
            loss = sum(tf.reduce_sum(o * p) for o, p in zip(outputs, probes))
        grads = tape.gradient(loss, [*layer.trainable_variables, x, *states])
    elif backend == "jax":
        import jax

        non_trainable = [v.value for v in layer.non_trainable_variables]

        def loss(weights, x, states):
            outputs, _ = layer.stateless_call(weights, non_trainable, x,
                                              initial_state=states,
                                              training=True)
            return sum(ops.sum(o * p) for o, p in zip(outputs, probes))

        weights, x_grad, state_grads = jax.grad(loss, argnums=(0, 1, 2))(
            [v.value for v in layer.trainable_variables], inputs,
            list(initial_state))
        grads = [*weights, x_grad, *state_grads]
    elif backend == "torch":
        import torch

        x = torch.tensor(inputs, requires_grad=True)
        states = [torch.tensor(s, requires_grad=True) for s in initial_state]
        outputs = layer(x, initial_state=states, training=True)
        loss = sum(ops.sum(o * torch.tensor(p)) for o, p in zip(outputs, probes))
        variables = [v.value for v in layer.trainable_variables]
        grads = [g.detach() for g in
                 torch.autograd.grad(loss, [*variables, x, *states])]
    else:
        raise AssertionError(f"no gradient helper for the {backend} backend")
    return [np_(g) for g in grads]


@pytest.mark.parametrize("use_peepholes", [True, False])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_fused_backward_equals_automatic_differentiation(
        monkeypatch, use_peepholes, go_backwards):
    from keras_vidrep.layers import _peephole_core

    calls = []

    def spy(*args):
        calls.append(1)
        return fused(*args)

    fused = _peephole_core.fused_recurrence
    monkeypatch.setattr(_peephole_core, "fused_recurrence", spy)
    x = fc_inputs()
    rng = np.random.default_rng(5)
    initial_state = [rng.normal(size=(BATCH, UNITS)).astype("float32")
                     for _ in range(2)]
    layer = PeepholeLSTM(UNITS, use_peepholes=use_peepholes,
                         go_backwards=go_backwards, return_sequences=True,
                         return_state=True)
    layer(x)
    randomize(layer.cell)
    calls.clear()
    got = _gradients(layer, x, initial_state)
    assert calls, "the fused backward pass was not used"
    # Reference: automatic differentiation of the same cell's generic loop.
    generic = keras.layers.RNN(layer.cell, return_sequences=True,
                               return_state=True, go_backwards=go_backwards)
    calls.clear()
    want = _gradients(generic, x, initial_state)
    assert not calls
    # kernel, recurrent kernel, bias, [3 peepholes], inputs, h0, c0
    assert len(got) == len(want) == 6 + 3 * use_peepholes
    for a, b in zip(got, want):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_fused_backward_only_where_it_applies(monkeypatch):
    """Automatic differentiation with a mask, recurrent dropout, unrolling,
    other activations, for ConvLSTM (measured slower fused) and at inference."""
    from keras_vidrep.layers import _peephole_core

    calls = []
    fused = _peephole_core.fused_recurrence
    monkeypatch.setattr(_peephole_core, "fused_recurrence",
                        lambda *a: calls.append(1) or fused(*a))
    x = fc_inputs()
    PeepholeLSTM(UNITS)(x, training=True)
    assert len(calls) == 1
    calls.clear()
    PeepholeLSTM(UNITS)(x, training=False)
    PeepholeLSTM(UNITS, recurrent_dropout=0.5)(x, training=True)
    PeepholeLSTM(UNITS, unroll=True)(x, training=True)
    PeepholeLSTM(UNITS, activation="relu")(x, training=True)
    PeepholeLSTM(UNITS)(x, mask=np.ones(x.shape[:2], bool), training=True)
    ConvLSTM(FILTERS, 3)(conv_inputs(), training=True)
    assert not calls


# -- stacking -------------------------------------------------------------

@pytest.mark.parametrize("kind", ["fc", "conv"])
def test_cells_stack_in_stacked_rnn_cells(kind):
    if kind == "fc":
        cells = [PeepholeLSTMCell(4), PeepholeLSTMCell(UNITS)]
        x, layer_cls, args = fc_inputs(), PeepholeLSTM, [(4,), (UNITS,)]
    else:
        cells = [ConvLSTMCell(4, 3), ConvLSTMCell(FILTERS, 3)]
        x, layer_cls, args = conv_inputs(), ConvLSTM, [(4, 3), (FILTERS, 3)]
    stacked = keras.layers.RNN(keras.layers.StackedRNNCells(cells),
                               return_sequences=True)
    out = np_(stacked(x))
    first = layer_cls(*args[0], return_sequences=True)
    second = layer_cls(*args[1], return_sequences=True)
    second(first(x))
    first.set_weights(cells[0].get_weights())
    second.set_weights(cells[1].get_weights())
    np.testing.assert_allclose(out, np_(second(first(x))), atol=1e-5)


# -- weights, parameters, training -----------------------------------------

def test_weight_names_and_shapes():
    cell = ConvLSTMCell(FILTERS, 3)
    cell.build((None, HEIGHT, WIDTH, CHANNELS))
    shapes = {w.path.split("/")[-1]: tuple(w.shape) for w in cell.weights}
    assert shapes == {
        "kernel": (3, 3, CHANNELS, 4 * FILTERS),
        "recurrent_kernel": (3, 3, FILTERS, 4 * FILTERS),
        "bias": (4 * FILTERS,),
        "input_gate_peephole_weights": (FILTERS,),
        "forget_gate_peephole_weights": (FILTERS,),
        "output_gate_peephole_weights": (FILTERS,),
    }
    fc = PeepholeLSTMCell(UNITS, use_peepholes=False)
    fc.build((None, FEATURES))
    assert {w.path.split("/")[-1]: tuple(w.shape) for w in fc.weights} == {
        "kernel": (FEATURES, 4 * UNITS),
        "recurrent_kernel": (UNITS, 4 * UNITS),
        "bias": (4 * UNITS,),
    }


def test_count_params_and_forget_bias():
    layer = PeepholeLSTM(UNITS)
    layer(fc_inputs())
    # 4u(d + u + 1) + 3u peepholes
    assert layer.count_params() == 4 * UNITS * (FEATURES + UNITS + 1) + 3 * UNITS
    bias = np_(layer.cell.bias)
    np.testing.assert_array_equal(bias[UNITS:2 * UNITS], np.ones(UNITS))
    np.testing.assert_array_equal(bias[:UNITS], np.zeros(UNITS))
    conv = ConvLSTM(FILTERS, 3, use_peepholes=False)
    conv(conv_inputs())
    assert conv.count_params() == 4 * FILTERS * (9 * (CHANNELS + FILTERS) + 1)


@pytest.mark.parametrize("kind", ["fc", "conv"])
def test_one_fit_step_changes_every_weight(kind):
    if kind == "fc":
        x, layer = fc_inputs(), PeepholeLSTM(UNITS, return_sequences=True)
    else:
        x, layer = conv_inputs(), ConvLSTM(FILTERS, 3, return_sequences=True)
    model = keras.Sequential([keras.Input(x.shape[1:]), layer])
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")
    y = np.asarray(model.predict(x, verbose=0)) + 0.5
    before = [np.array(w) for w in model.get_weights()]
    model.fit(x, y, epochs=1, batch_size=BATCH, verbose=0)
    after = model.get_weights()
    assert len(before) == 6
    for name, a, b in zip([w.path for w in model.weights], before, after):
        assert np.abs(a - b).max() > 0, f"{name} did not change"


# -- serialization ------------------------------------------------------------

@pytest.mark.parametrize("kind", ["fc", "conv", "fc_cell_in_rnn"])
def test_keras_file_round_trip(tmp_path, kind):
    x = fc_inputs() if kind.startswith("fc") else conv_inputs()
    layer = {
        "fc": lambda: PeepholeLSTM(UNITS, return_sequences=True, dropout=0.1,
                                   peephole_initializer="ones"),
        "conv": lambda: ConvLSTM(FILTERS, (3, 5), return_sequences=True,
                                 use_peepholes=True),
        "fc_cell_in_rnn": lambda: keras.layers.RNN(PeepholeLSTMCell(UNITS)),
    }[kind]()
    inputs = keras.Input(x.shape[1:])
    model = keras.Model(inputs, layer(inputs))
    for cell_weight in model.weights:
        cell_weight.assign(np.random.default_rng(0).normal(
            scale=0.3, size=cell_weight.shape).astype("float32"))
    path = tmp_path / "model.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    np.testing.assert_array_equal(np_(restored(x)), np_(model(x)))


def test_stacked_conv_cells_serialize():
    # keras.layers.RNN over ConvLSTMCell runs eagerly only (RNN's own
    # compute_output_shape wants an integer output size), so this round trip
    # goes through the layer's config rather than a functional model.
    x = conv_inputs()
    layer = keras.layers.RNN(keras.layers.StackedRNNCells(
        [ConvLSTMCell(4, 3), ConvLSTMCell(FILTERS, 3)]), return_sequences=True)
    layer(x)
    randomize(layer.cell.cells[0])
    randomize(layer.cell.cells[1])
    clone = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(layer))
    clone(x)
    clone.set_weights(layer.get_weights())
    np.testing.assert_array_equal(np_(clone(x)), np_(layer(x)))


def test_get_config_round_trip():
    layer = ConvLSTM(FILTERS, 3, use_peepholes=False, return_state=True,
                     go_backwards=True, dropout=0.25, seed=3,
                     kernel_regularizer="l2")
    config = layer.get_config()
    clone = ConvLSTM.from_config(config)
    assert clone.get_config() == config
    assert clone.cell.dropout == 0.25 and clone.go_backwards
    assert clone.cell.kernel_size == (3, 3)


# -- bad input --------------------------------------------------------------

def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match=r"units=0"):
        PeepholeLSTMCell(0)
    with pytest.raises(ValueError, match=r"units=-3"):
        PeepholeLSTM(-3)
    with pytest.raises(ValueError, match=r"filters=0"):
        ConvLSTM(0, 3)
    for bad in (2, 0, -1, (3, 4), (3,), "3"):
        with pytest.raises(ValueError, match=r"kernel_size"):
            ConvLSTMCell(4, bad)
    with pytest.raises(ValueError, match=r"dropout=1.5"):
        PeepholeLSTMCell(4, dropout=1.5)


def test_wrong_rank_is_a_value_error():
    with pytest.raises(ValueError, match=r"expected ndim=5, found ndim=4"):
        ConvLSTM(4, 3)(np.zeros((2, 8, 8, 1), "float32"))
    with pytest.raises(ValueError, match=r"expected ndim=3, found ndim=2"):
        PeepholeLSTM(4)(np.zeros((2, 8), "float32"))
    with pytest.raises(ValueError, match=r"Received: input_shape=\(2, 8\)"):
        ConvLSTMCell(4, 3).build((2, 8))


def test_unknown_spatial_size_is_a_value_error():
    with pytest.raises(ValueError, match=r"known height, width.*None, None"):
        ConvLSTM(4, 3)(keras.Input((5, None, None, 1)))


@pytest.mark.parametrize("kind", ["fc", "conv"])
def test_zero_feature_inputs_run_on_state_alone(kind):
    """No input (an unconditioned decoder): no kernel, z = R h + b."""
    if kind == "fc":
        layer = PeepholeLSTM(UNITS, return_sequences=True)
        x = np.zeros((BATCH, STEPS, 0), "float32")
        state_shape, project = (BATCH, UNITS), np.matmul
    else:
        layer = ConvLSTM(FILTERS, 3, return_sequences=True)
        x = np.zeros((BATCH, STEPS, HEIGHT, WIDTH, 0), "float32")
        state_shape, project = (BATCH, HEIGHT, WIDTH, FILTERS), reference.conv2d_same
    rng = np.random.default_rng(4)
    h0, c0 = (rng.normal(size=state_shape).astype("float32") for _ in range(2))
    layer(x, initial_state=[h0, c0])
    assert layer.cell.kernel is None
    assert [w.path.split("/")[-1] for w in layer.weights][0] == "recurrent_kernel"
    randomize(layer.cell)
    r = np_(layer.cell.recurrent_kernel).astype("float64")
    b = np_(layer.cell.bias).astype("float64")
    peep = {g: np_(getattr(layer.cell, f"{n}_gate_peephole_weights"))
            for g, n in (("i", "input"), ("f", "forget"), ("o", "output"))}
    no_input = np.zeros(r.shape[:-2] + (0, r.shape[-1]))
    expected, _, _ = reference.lstm_sequence(
        np.zeros(x.shape), h0, c0, no_input, r, b, peep, project)
    np.testing.assert_allclose(np_(layer(x, initial_state=[h0, c0])), expected,
                               atol=1e-4)


@pytest.mark.parametrize("cell_class", [PeepholeLSTMCell, ConvLSTMCell])
def test_cell_arguments_list_every_constructor_argument(cell_class):
    """The sequence layers pass exactly these on to their cell: an argument
    added to a cell's ``__init__`` but not to ``cell_arguments`` would be
    handed to ``keras.layers.RNN`` instead and refused there."""
    import inspect

    names = set()
    for klass in cell_class.__mro__:
        if "__init__" in vars(klass) and issubclass(klass, PeepholeCellBase):
            names |= set(inspect.signature(klass.__init__).parameters)
    assert set(cell_class.cell_arguments) == names - {"self", "kwargs", "size"}
