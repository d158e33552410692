"""The twelve named model variants and the default training setup."""

import inspect
import itertools

import keras

from keras_vidrep._validation import InputError
from keras_vidrep._validation import check_one_of
from keras_vidrep._validation import look_up
from keras_vidrep.models.losses import LOSSES
from keras_vidrep.models.losses import default_metrics
from keras_vidrep.models.video_seq2seq import CELL_TYPES
from keras_vidrep.models.video_seq2seq import KINDS
from keras_vidrep.models.video_seq2seq import VideoSeq2Seq

_DESCRIPTIONS = {
    "autoencoder": "reconstructs the input frames in reverse order",
    "predictor": "predicts the future frames",
    "composite": "one encoder; reconstructs the input and predicts the future",
}
_CELL_WORDS = {"fc": "fully-connected peephole LSTM",
               "conv": "ConvLSTM on 4x4 patches"}

# name -> builder arguments: {kind}_{cell}, and {kind}_{cell}_cond.
VARIANTS = {
    f"{kind}_{cell}{'_cond' if conditional else ''}": {
        "kind": kind, "cell": cell, "conditional": conditional}
    for kind, cell, conditional in itertools.product(KINDS, CELL_TYPES,
                                                     (False, True))
}


def settable_arguments():
    """The ``VideoSeq2Seq`` arguments a variant's builder accepts as
    overrides (everything but what the name fixes)."""
    parameters = inspect.signature(VideoSeq2Seq.__init__).parameters
    fixed = {"self", "kind", "cell", "conditional"}
    return sorted(name for name, parameter in parameters.items()
                  if name not in fixed
                  and parameter.kind is not inspect.Parameter.VAR_KEYWORD)


def describe(name):
    """One line describing a variant."""
    args = VARIANTS[name]
    decoders = "conditional" if args["conditional"] else "unconditioned"
    return (f"{_CELL_WORDS[args['cell']]}, {decoders} decoders: "
            f"{_DESCRIPTIONS[args['kind']]}")


def build_model(name, /, **overrides):
    """Builds the named variant; keyword arguments override its defaults.

    Args:
        name: one of ``VARIANTS``, e.g. ``"composite_conv_cond"``.
        **overrides: any ``VideoSeq2Seq`` argument (``hidden_sizes``,
            ``input_frames``, ...).

    Raises:
        ValueError: unknown name (the message lists the valid ones).
    """
    look_up(VARIANTS, name, f"Unknown model {name!r}", "names")
    clashing = set(overrides) & set(VARIANTS[name])
    if clashing:
        raise InputError(
            f"{sorted(clashing)} is fixed by the name {name!r}; choose another "
            f"name instead. Received: {dict((k, overrides[k]) for k in clashing)}")
    unknown = sorted(set(overrides) - set(VARIANTS[name])
                     - set(settable_arguments()))
    if unknown:
        raise InputError(
            f"Unknown model argument(s) {unknown} for {name!r}. Valid "
            f"arguments: {', '.join(settable_arguments())}. Received: "
            f"{dict((k, overrides[k]) for k in unknown)}")
    return VideoSeq2Seq(**VARIANTS[name], name=name, **overrides)


def _metrics(choice):
    return default_metrics() if choice is True else [m() for m in choice]


def compile_model(model, loss="cross_entropy", optimizer="rmsprop",
                  learning_rate=1e-3, metrics=True, **compile_kwargs):
    """Compiles a model with a per-frame loss on each output.

    Args:
        model: a ``VideoSeq2Seq``.
        loss: ``"cross_entropy"`` (Bernoulli, summed over the pixels of a
            frame, the paper's measure) or ``"mse"`` (squared error summed
            over the pixels). A composite model minimises the sum of both
            decoders' losses.
        optimizer: a Keras optimizer name or instance.
        learning_rate: used when ``optimizer`` is a name.
        metrics: ``True``: every per-frame metric (MSE, MAE, cross-entropy,
            PSNR, SSIM) on each output; ``False``: none; or a list of metric
            classes, instantiated for each output.
        **compile_kwargs: passed to ``model.compile`` (``jit_compile``, ...).
    """
    check_one_of("loss", loss, LOSSES)
    if isinstance(optimizer, str):
        optimizer = keras.optimizers.get(
            {"class_name": optimizer, "config": {"learning_rate": learning_rate}})
    model.compile(
        optimizer=optimizer,
        loss={target: LOSSES[loss]() for target in model.targets},
        metrics=({target: _metrics(metrics) for target in model.targets}
                 if metrics else None),
        **compile_kwargs)
    return model
