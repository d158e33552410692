"""Training, evaluating and drawing the S2VT captioner.

``train_captioner`` fits an ``S2VTCaptioner`` on captioned clips of the train
digits (teacher forcing, softmax cross-entropy over the next
word, padding ignored) and writes ``OUT/model.keras``, ``history.csv`` and
``run.json``; ``evaluate_captioner`` writes captions for held-out clips of the
test digits and scores them (``caption_scores``); ``caption_strip`` draws
clips with their generated and reference captions.
"""

from pathlib import Path

import numpy as np

from keras_vidrep._validation import InputError
from keras_vidrep._validation import check_positive_ints
from keras_vidrep.captions.data import CaptionBatches
from keras_vidrep.captions.metrics import caption_scores
from keras_vidrep.captions.tokens import decode
from keras_vidrep.captions.tokens import id_to_word
from keras_vidrep.captions.tokens import make_tokenizer

# The held-out clips (test digits) every captioner is scored on.
EVALUATION_SEED = 1234


def compile_captioner(model, learning_rate=1e-3):
    """Compiles ``model`` as ``train_captioner`` trains it (Adam, word
    cross-entropy ignoring padding, word accuracy), ready for ``fit``."""
    import keras

    model.compile(
        keras.optimizers.Adam(learning_rate),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True,
                                                   ignore_class=0),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="word_accuracy")])
    return model


def build_captioner(tokenizer=None, **kwargs):
    """An ``S2VTCaptioner`` sized for ``tokenizer`` (default
    ``make_tokenizer()``); ``kwargs`` go to the model (``stream``,
    ``reverse_frames``, ``units``, ...)."""
    from keras_vidrep.models.captioner import S2VTCaptioner

    tokenizer = tokenizer or make_tokenizer()
    length = tokenizer.get_config()["output_sequence_length"]
    return S2VTCaptioner(vocabulary_size=tokenizer.vocabulary_size(),
                         max_length=length - 1, **kwargs)


def pretrain_frame_reader(out, *, steps, batch_size=64, learning_rate=1e-3,
                          seed=0, features=128, digits=None, source=None,
                          verbose=2):
    """Trains a ``FrameReader`` to name the digits in single frames (a
    10-way multi-label task on frames of clips of the train digits): our
    analog of S2VT's ImageNet-trained CNN. Saves its weights in
    ``out/frame_reader.weights.h5`` and returns that path.
    """
    import keras

    from keras_vidrep.data import BouncingDigitBatches
    from keras_vidrep.data import load_mnist_digits
    from keras_vidrep.models.captioner import FrameReader
    from keras_vidrep.tasks.labels import TASKS

    check_positive_ints(steps=steps, batch_size=batch_size, features=features)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(seed)
    reader = FrameReader(features, name="appearance_reader")
    frames = keras.Input((1, 64, 64, 1))
    logits = keras.layers.Dense(10, name="digits")(
        keras.layers.Flatten()(reader(frames)))
    classifier = keras.Model(frames, logits)
    classifier.compile(keras.optimizers.Adam(learning_rate),
                       keras.losses.BinaryCrossentropy(from_logits=True))
    clips = BouncingDigitBatches(
        digits if digits is not None else load_mnist_digits(
            "train", source=source),
        batch_size=batch_size, num_batches=steps, num_frames=10, seed=seed,
        with_info=True)

    class _Frames(keras.utils.PyDataset):
        # One frame of each clip (a drawn time), and the clip's digits.
        def __len__(self):
            return len(clips)

        def __getitem__(self, index):
            info = clips[index]
            time = np.random.default_rng([seed, index]).integers(
                10, size=len(info["frames"]))
            chosen = info["frames"][np.arange(len(time)), time][:, None]
            return chosen, TASKS["digits"].label(info, 10)

    classifier.fit(_Frames(), epochs=1, verbose=verbose)
    path = out / "frame_reader.weights.h5"
    reader_model = keras.Model(frames, reader(frames))
    reader_model.save_weights(path)
    return path


def load_frame_reader(model, path):
    """Loads ``pretrain_frame_reader``'s weights into ``model``'s appearance
    reader (a model without one is refused)."""
    import keras

    readers = [r for r in model.readers if r.name == "appearance_reader"]
    if not readers:
        raise InputError(
            f"The captioner reads the {model.stream!r} stream, which has no "
            "appearance reader to initialise. Received: frame_reader="
            f"{str(path)!r}")
    frames = keras.Input((1, 64, 64, 1))
    keras.Model(frames, readers[0](frames)).load_weights(path)


def train_captioner(out, *, steps, batch_size=32, learning_rate=1e-3, seed=0,
                    num_frames=10, digits=None, source=None, verbose=2,
                    frame_reader=None, checkpoint_every=500, **model_args):
    """Trains a captioner on the train digits and saves it in ``out``.

    A checkpoint (weights, optimizer state) is written every
    ``checkpoint_every`` steps; calling again with the same arguments (a
    larger ``steps`` is allowed) resumes from the last one, on the same
    stream of clips, and adds a part to ``run.json``.

    Args:
        out: folder for ``model.keras``, ``history.csv``, ``run.json`` and
            ``backup/`` (the checkpoints).
        steps: training steps of ``batch_size`` clips (each step new clips).
        learning_rate: Adam's.
        seed: the clips, their captions and the initial weights.
        num_frames: frames per clip the captioner reads.
        digits, source: the train digits (``load_mnist_digits``).
        frame_reader: weights of a pretrained appearance reader
            (``pretrain_frame_reader``), trained further with the rest.
        checkpoint_every: steps between checkpoints.
        **model_args: ``S2VTCaptioner`` arguments.

    Returns:
        The trained model.

    Raises:
        InputError: ``out`` holds a run with other arguments, or one
            already trained past ``steps``.
    """
    import keras

    from keras_vidrep.data import load_mnist_digits
    from keras_vidrep.training.run_folder import RunFolder
    from keras_vidrep.training.run_folder import check_steps_fit_checkpoints

    check_positive_ints(steps=steps, batch_size=batch_size,
                        num_frames=num_frames, checkpoint_every=checkpoint_every)
    check_steps_fit_checkpoints(steps, checkpoint_every, error=InputError)
    keras.utils.set_random_seed(seed)
    tokenizer = make_tokenizer()
    model = build_captioner(tokenizer, **model_args)
    model({"frames": np.zeros((1, num_frames, 64, 64, 1), "float32"),
           "words": np.zeros((1, model.max_length), "int32")})  # builds it
    if frame_reader is not None:
        load_frame_reader(model, frame_reader)
    compile_captioner(model, learning_rate)
    steps_per_epoch = min(checkpoint_every, steps)
    run = {"model": CAPTIONER_RUN, "steps": steps,
           "batch_size": batch_size, "learning_rate": learning_rate,
           "seed": seed, "num_frames": num_frames,
           "checkpoint_every": steps_per_epoch,
           "architecture": architecture(model),
           "frame_reader": None if frame_reader is None else str(frame_reader)}
    folder = RunFolder(out, run, steps_per_epoch=steps_per_epoch,
                       fixed=[key for key in run if key != "steps"])
    with folder.opened(model):
        batches = CaptionBatches(
            digits if digits is not None else load_mnist_digits(
                "train", source=source),
            # At least one: a run killed after its last checkpoint resumes
            # to an end with nothing left to train.
            batch_size=batch_size,
            num_batches=max(steps - folder.first_batch, 1),
            first_batch=folder.first_batch, seed=seed, num_frames=num_frames,
            tokenizer=tokenizer)
        folder.fit(model, batches, epochs=steps // steps_per_epoch,
                   verbose=verbose)
    return model


# What ``run.json`` names as the model of a ``train_captioner`` run.
CAPTIONER_RUN = "captioner"


def architecture(model):
    """The ``S2VTCaptioner`` arguments that make ``model``'s architecture
    (its config without the Keras bookkeeping)."""
    return {key: value for key, value in model.get_config().items()
            if key not in ("name", "trainable", "dtype")}


def held_out_clips(count, *, num_frames=10, digits=None, source=None,
                   seed=EVALUATION_SEED):
    """``(frames, references)`` of ``count`` captioned clips of the test
    digits."""
    from keras_vidrep.data import load_mnist_digits

    check_positive_ints(count=count)
    block = min(count, 100)
    batches = CaptionBatches(
        digits if digits is not None else load_mnist_digits(
            "test", source=source),
        batch_size=block, num_batches=-(-count // block), seed=seed,
        num_frames=num_frames)
    frames, references = [], []
    for index in range(len(batches)):
        clip_frames, _, clip_references = batches.captioned(index)
        frames.append(clip_frames)
        references += clip_references
    return np.concatenate(frames)[:count], references[:count]


def generate_captions(model, frames, *, beam_size=1, batch_size=100):
    """Captions (strings) of ``frames`` (clips, T, H, W, C)."""
    import keras

    words = id_to_word(make_tokenizer())
    texts = []
    for start in range(0, len(frames), batch_size):
        ids = model.generate(frames[start:start + batch_size],
                             beam_size=beam_size)
        texts += decode(keras.ops.convert_to_numpy(ids), words)
    return texts


def evaluate_captioner(model, *, clips=1000, beam_size=1, num_frames=10,
                       digits=None, source=None):
    """``caption_scores`` of the captions of ``clips`` held-out clips."""
    frames, references = held_out_clips(clips, num_frames=num_frames,
                                        digits=digits, source=source)
    generated = generate_captions(model, frames, beam_size=beam_size)
    return {**caption_scores(generated, references), "beam_size": beam_size}


def load_captioner(path):
    """An ``S2VTCaptioner`` from a ``.keras`` file or a folder written by
    ``train_captioner`` (its ``model.keras``). ``keras_vidrep.load`` reads
    these too, and zoo names: it is the one way to load; this function
    stays for its import path and refuses any other model."""
    import keras

    from keras_vidrep.models.captioner import S2VTCaptioner

    where = Path(path)
    if where.is_dir() and (where / "model.keras").is_file():
        where = where / "model.keras"
    if not (where.is_file() and where.name.endswith(".keras")):
        raise InputError(
            f"{path} is not a .keras file or a folder holding model.keras: "
            "load zoo names and preset directories with keras_vidrep.load. "
            f"Received: path={str(path)!r}")
    model = keras.saving.load_model(where, compile=False, safe_mode=True)
    if not isinstance(model, S2VTCaptioner):
        raise OSError(f"{where} holds a {type(model).__name__}, not a "
                      "captioner (S2VTCaptioner).")
    return model


def caption_strip(frames, generated, references, path):
    """A PNG: each clip's frames in a row, under it the generated caption
    and its first reference."""
    from PIL import Image
    from PIL import ImageDraw

    frames = (np.clip(np.asarray(frames)[..., 0], 0, 1) * 255).astype(np.uint8)
    clips, steps, height, width = frames.shape
    gap, text = 2, 30
    canvas = Image.new("L", (steps * (width + gap), clips * (height + text)),
                       40)
    draw = ImageDraw.Draw(canvas)
    for c in range(clips):
        top = c * (height + text)
        for t in range(steps):
            canvas.paste(Image.fromarray(frames[c, t]), (t * (width + gap), top))
        draw.text((4, top + height + 2), f"model: {generated[c]}", fill=255)
        draw.text((4, top + height + 15), f"truth: {references[c][0]}",
                  fill=170)
    canvas.save(path)
    return Path(path)
