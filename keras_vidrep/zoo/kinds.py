"""The kinds of zoo preset: what the zoo does with the models of each class.

Each model class the zoo serves registers one ``PresetKind``, as keras-hub
registers a preset loader per class: the zoo names of its kind and their
builder arguments, how one is built with fresh weights, compiled for
fine-tuning, evaluated, judged (its headline score) and exported. Loading,
promotion and the records ask ``kind_of(name)`` or ``kind_for(model)``;
none of them tests names or classes itself.

A new kind of zoo model is a subclass of ``PresetKind`` passed to
``register``.
"""

from keras_vidrep._validation import look_up
from keras_vidrep.models import VARIANTS
from keras_vidrep.models import build_model
from keras_vidrep.models import compile_model
from keras_vidrep.models.captioner import S2VTCaptioner
from keras_vidrep.models.video_seq2seq import VideoSeq2Seq
from keras_vidrep.zoo.captioners import CAPTIONERS

# The rate a loaded video model fine-tunes at: a fresh RMSProp at the
# training rate, 1e-3, makes composite_conv worse in 100 steps (future MSE
# on validation clips 55.2 -> 59.7), 1e-4 better (52.6); chosen on clips of
# the train digits by benchmarks/fine_tune_rate.py (its README entry).
FINE_TUNE_LEARNING_RATE = 1e-4

_CONV = {"hidden_sizes": [64, 64], "kernel_size": 3, "patch_size": 4}
# (cell, conditional) -> builder configuration. A conditional fc decoder reads
# the 4096-pixel previous frame, a 4096 x 4u kernel per decoder: 64 units
# there. Its decoders are trained free-running (teacher_forcing=False: they
# read their own previous prediction in training too, as at inference):
# teacher-forced, they did not beat the trivial baselines when run
# autoregressively (future MSE per frame 210.5 and 195.1 against 188.4 after
# 3,000 steps of 16), the gap between the two regimes being widest for a
# small fully-connected decoder.
_ZOO_SIZES = {("conv", False): _CONV, ("conv", True): _CONV,
              ("fc", False): {"hidden_sizes": [128]},
              ("fc", True): {"hidden_sizes": [64], "teacher_forcing": False}}

# The conditional conv future models too, since their second versions:
# started from composite_conv (the frame-input kernels at zeros, see
# keras_vidrep.training.initial_weights), free-running fine-tuning keeps what
# they start from, where teacher forcing had left them below the all-zeros
# baseline in SSIM when run autoregressively.
_FREE_RUNNING = ("predictor_conv_cond", "composite_conv_cond")


class PresetKind:
    """What the zoo does with the presets of one model class.

    Subclasses set ``model_class`` and implement every method.
    """

    model_class = None

    def names(self):
        """The zoo names of this kind, in the zoo's order."""
        raise NotImplementedError

    def builder_config(self, name):
        """The builder's arguments of the zoo model ``name`` (the preset
        table's ``config``)."""
        raise NotImplementedError

    def build(self, name, config=None):
        """``name``'s architecture, fresh weights, from ``config`` (default
        ``builder_config(name)``)."""
        raise NotImplementedError

    def compile(self, model):
        """``model`` compiled for fine-tuning; returns it."""
        raise NotImplementedError

    def trained_as(self, name):
        """The ``model`` a training run's ``run.json`` names when it trained
        the zoo model ``name``."""
        raise NotImplementedError

    def evaluate(self, model, *, sequences, seed, digits):
        """The zoo's evaluation record of ``model`` (without its name)."""
        raise NotImplementedError

    def headline(self, report):
        """(metric, value, higher is better) a model is judged on, from its
        evaluation record: promotion ships only a better one."""
        raise NotImplementedError

    def export(self, model, folder, version):
        """Writes the servable SavedModel ``folder/version``; returns its
        path."""
        raise NotImplementedError


class VideoPresets(PresetKind):
    """The twelve ``VideoSeq2Seq`` models of ``keras_vidrep.models.VARIANTS``:
    judged on the MSE per frame of their future if they predict one, else of
    their reconstruction, on held-out clips of the test digits."""

    model_class = VideoSeq2Seq

    def names(self):
        return list(VARIANTS)

    def builder_config(self, name):
        variant = VARIANTS[name]
        sizes = dict(_ZOO_SIZES[variant["cell"], variant["conditional"]])
        if name in _FREE_RUNNING:
            sizes["teacher_forcing"] = False
        return sizes

    def build(self, name, config=None):
        return build_model(name, **(self.builder_config(name)
                                    if config is None else config))

    def compile(self, model):
        return compile_model(model, learning_rate=FINE_TUNE_LEARNING_RATE)

    def trained_as(self, name):
        return name

    def evaluate(self, model, *, sequences, seed, digits):
        from keras_vidrep.data import bouncing_digits_eval
        from keras_vidrep.evaluation.baselines import evaluate_model

        clips = bouncing_digits_eval(sequences, seed=seed, batch_size=50,
                                     source=digits,
                                     num_frames=model.clip_frames,
                                     frame_size=model.frame_size)
        return {"bounce": "clamp", "bouncing_digits_test": evaluate_model(
            model, clips, progress=False)}

    def headline(self, report):
        results = report["bouncing_digits_test"]
        target = "future" if "future" in results else "reconstruction"
        return target, results[target]["model"]["frame_mse"]["mean"], False

    def export(self, model, folder, version):
        from keras_vidrep.serving.saved_model import export

        return export(model, folder, version=version)


class CaptionerPresets(PresetKind):
    """The ``S2VTCaptioner`` models of ``keras_vidrep.zoo.captioners``:
    judged on the content of their greedy captions (see there)."""

    model_class = S2VTCaptioner

    def names(self):
        return list(CAPTIONERS)

    def builder_config(self, name):
        return dict(CAPTIONERS[name]["config"])

    def build(self, name, config=None):
        from keras_vidrep.zoo.captioners import build_captioner_preset

        # Named after the preset, as the video models are: Keras would
        # number a default name, and the preset's config would change with
        # every model built before it.
        return build_captioner_preset({**(self.builder_config(name)
                                          if config is None else config),
                                       "name": name})

    def compile(self, model):
        from keras_vidrep.zoo.captioners import compile_captioner

        return compile_captioner(model)

    def trained_as(self, name):
        from keras_vidrep.captions.training import CAPTIONER_RUN

        return CAPTIONER_RUN

    def evaluate(self, model, *, sequences, seed, digits):
        # The held-out clips are the captions' own, whatever the seed.
        from keras_vidrep.zoo.captioners import evaluate_preset

        return evaluate_preset(model, clips=sequences, digits=digits)

    def headline(self, report):
        from keras_vidrep.zoo.captioners import headline

        return headline(report)

    def export(self, model, folder, version):
        from keras_vidrep.zoo.captioners import export_preset

        return export_preset(model, folder, version)


_KINDS = []


def register(kind):
    """Adds a ``PresetKind`` instance to the zoo; returns it."""
    if not isinstance(kind, PresetKind):
        raise TypeError("register takes a PresetKind instance. Received: "
                        f"kind={kind!r}")
    _KINDS.append(kind)
    return kind


register(VideoPresets())
register(CaptionerPresets())


def list_names():
    """Every zoo name, kind by kind in the order they registered."""
    return [name for kind in _KINDS for name in kind.names()]


def kind_of(name):
    """The ``PresetKind`` of the zoo name ``name``; an unknown name is
    refused with the valid ones."""
    by_name = {n: kind for kind in _KINDS for n in kind.names()}
    return look_up(by_name, name, f"Unknown model {name!r}", "names")


def kind_for(model):
    """The ``PresetKind`` of a model (an instance of a registered class)."""
    for kind in _KINDS:
        if isinstance(model, kind.model_class):
            return kind
    raise TypeError(
        f"{type(model).__name__} is not a zoo model class. Expected one of: "
        + ", ".join(kind.model_class.__name__ for kind in _KINDS)
        + f". Received: model={model!r:.200}")
