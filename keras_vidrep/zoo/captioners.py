"""The zoo's captioners: what is particular to them.

``keras_vidrep.zoo.loading`` serves the captioners beside the twelve video models,
through the same preset table, preset directories, cache and download
(``keras_vidrep.load("captioner_fused")``); ``keras-vidrep promote RUN_DIR
captioner_fused`` turns a finished ``keras-vidrep train-captioner`` run into
the zoo's captioner. This module holds how a captioner preset is built,
compiled, evaluated, compared and exported, and the command that trained it.

A captioner's vocabulary is the caption grammar's, fixed
(``keras_vidrep.captions.make_tokenizer``): the weights and the builder
arguments below make the whole model.
"""

import numpy as np

# Compiled as train_captioner compiles it (the one definition is there).
from keras_vidrep.captions.training import compile_captioner  # noqa: F401

# name -> description and ``S2VTCaptioner`` arguments of each zoo captioner.
CAPTIONERS = {
    "captioner_fused": {
        "description": (
            "S2VT captioner: two stacked PeepholeLSTM(256) read the fused "
            "appearance and motion features of 10 frames, then emit the "
            "caption word by word"),
        "config": {"units": 256, "features": 128, "stream": "fused"},
        # The recipe until a run is promoted (the budget of the captions
        # experiment's cpu rows).
        "planned": {"steps": 2000, "batch_size": 32, "learning_rate": 1e-3,
                    "seed": 0},
    },
}

# Held-out clips of the test digits a zoo captioner is scored on, and the
# beam widths; the content score (the mean of digits right and paths right)
# of greedy decoding (beam 1) decides a promotion. Not BLEU-4: a caption in
# the grammar with random digits and paths scores about as high as the
# first zoo captioner did (`keras_vidrep.captions.baselines`).
EVALUATION_CLIPS = 1000
BEAMS = (1, 5)
HEADLINE = "content"


def build_captioner_preset(config):
    """A built ``S2VTCaptioner`` (fresh weights) from a preset's
    ``config``."""
    from keras_vidrep.captions.training import build_captioner

    model = build_captioner(**config)
    model({"frames": np.zeros((1, 10, 64, 64, 1), "float32"),
           "words": np.zeros((1, model.max_length), "int32")})
    return model


def evaluate_preset(model, *, clips=EVALUATION_CLIPS, digits=None):
    """The zoo's evaluation record of a captioner: ``caption_scores`` on
    ``clips`` held-out clips of the test digits (``digits``: their MNIST
    location, see ``load_mnist_digits``), per beam width."""
    from keras_vidrep.captions.training import generate_captions
    from keras_vidrep.captions.training import held_out_clips
    from keras_vidrep.captions.baselines import content_free_scores
    from keras_vidrep.captions.metrics import caption_scores

    frames, references = held_out_clips(clips, source=digits)
    scores, generated = {}, {}
    for beam in BEAMS:
        generated[beam] = generate_captions(model, frames, beam_size=beam)
        scores[str(beam)] = caption_scores(generated[beam], references)
    return {"clips": clips, "scores": scores,
            # The same scores of captions that saw nothing, same clips.
            "content_free": content_free_scores(references),
            "examples": [{"model": text, "truth": truth[0]} for text, truth
                         in zip(generated[1][:4], references[:4])]}


def headline(report):
    """(metric, value, higher is better) a captioner is judged on."""
    return HEADLINE, report["scores"]["1"][HEADLINE], True


def export_preset(model, folder, version):
    """The servable SavedModel (signature ``caption``, greedy decoding)."""
    from keras_vidrep.captions.tokens import id_to_word
    from keras_vidrep.captions.tokens import make_tokenizer
    from keras_vidrep.serving.saved_model import export_captioner

    return export_captioner(model, folder, id_to_word(make_tokenizer()),
                            version=version)


def train_command(run):
    """The ``keras-vidrep train-captioner`` command of a run record."""
    architecture = run["architecture"]
    command = (f"keras-vidrep train-captioner --steps {run['steps']} "
               f"--batch-size {run['batch_size']} --learning-rate "
               f"{run['learning_rate']} --stream {architecture['stream']} "
               f"--units {architecture['units']} --seed {run['seed']}")
    if architecture.get("reverse_frames"):
        command += " --reverse-frames"
    return command
