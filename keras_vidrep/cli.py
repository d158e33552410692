"""The ``keras-vidrep`` command line (also ``python -m keras_vidrep``).

Sub-commands: ``list``, ``train``, ``evaluate``, ``visualize``, ``export``,
``card``, ``models-config``, ``presets``, ``promote``, ``experiment``,
``probe``,
``train-captioner``, ``caption``, ``demo``. A model is named by a zoo name (its pretrained weights in
``saved_models/``) or by the path of a ``.keras`` file.
Bad input ends with exit status 2 and one line on stderr; any other
exception is a bug of ours and keeps its traceback (exit status 1).
"""

import argparse
import gc
import json
import os
import sys
from pathlib import Path

from keras_vidrep import _choices
from keras_vidrep._validation import InputError
from keras_vidrep._validation import is_glob
from keras_vidrep._validation import is_tfds
from keras_vidrep._validation import is_positive_int
from keras_vidrep._validation import look_up
from keras_vidrep._version import __version__

EXIT_USAGE = 2


class CommandError(Exception):
    """A problem the user can fix; printed as one line."""


def _integer(text, accept, expected):
    """``int(text)`` if ``accept`` takes it, else an argparse error saying
    what was ``expected`` and what was received."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {expected}, received "
                                         f"{text!r}") from None
    if not accept(value):
        raise argparse.ArgumentTypeError(f"expected {expected}, received "
                                         f"{value}")
    return value


def _positive(text):
    return _integer(text, is_positive_int, "a positive integer")


# numpy's and Keras' seeds are unsigned 32-bit integers.
_MAX_SEED = 2**32 - 1


def _seed(text):
    return _integer(text, lambda value: 0 <= value <= _MAX_SEED,
                    f"an integer from 0 to {_MAX_SEED}")


def _model_setting(text):
    """``KEY=VALUE`` with a JSON value (``hidden_sizes=[32,32]``)."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(
            f"expected KEY=VALUE (e.g. hidden_sizes=[32,32]), received {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(
            f"the value of {key} is not valid JSON ({error.msg}); received "
            f"{value!r}, expected e.g. hidden_sizes=[32,32] or "
            'teacher_forcing={"schedule":"linear","decay_steps":3000}') from None


def load_trained(name_or_path, command, takes="video"):
    """The model a command works on: a zoo name (its pretrained weights),
    a ``.keras`` file or a run folder, through ``keras_vidrep.load`` (the
    one way to load). ``takes`` is what ``command`` works on: ``"video"``
    (a ``VideoSeq2Seq``), ``"captioner"`` (an ``S2VTCaptioner``) or
    ``"any"``; anything else is refused, naming the commands that take
    it."""
    from keras_vidrep.models import VideoSeq2Seq
    from keras_vidrep.models.captioner import S2VTCaptioner
    from keras_vidrep.zoo.loading import load

    try:
        model = load(name_or_path, compile=False)
    except (FileNotFoundError, OSError) as error:
        raise CommandError(str(error)) from error
    received = f"Received: model={str(name_or_path)!r}"
    if takes == "video" and not isinstance(model, VideoSeq2Seq):
        raise CommandError(
            f"`{command}` takes a video model (a VideoSeq2Seq: "
            "autoencoder, predictor or composite); this is a "
            f"{type(model).__name__}. For captioners use `keras-vidrep "
            "caption` (captions, a strip and --evaluate scores) and "
            f"`keras-vidrep export`. {received}")
    if takes == "captioner" and not isinstance(model, S2VTCaptioner):
        raise CommandError(
            f"`{command}` takes a captioner (an S2VTCaptioner); this is a "
            f"{type(model).__name__}. For video models use `keras-vidrep "
            f"evaluate`, `visualize` or `predict`. {received}")
    return model


def cmd_list(args):
    # From the packaged preset table: no Keras import (see keras_vidrep_cli).
    from keras_vidrep.presets import preset_table

    table = preset_table()
    width = max(map(len, table))
    for name, preset in table.items():
        print(f"{name:{width}s}  {preset['description']}")


def cmd_train(args):
    from keras_vidrep.models import VARIANTS
    from keras_vidrep.zoo.recipes import train

    look_up(VARIANTS, args.name, f"Unknown model {args.name!r}", "names",
            error=CommandError)
    if args.steps is None and args.epochs is None:
        args.steps = 1000
    out = args.out or str(Path("runs") / args.name)
    # A name means one architecture: the zoo's (train's default), unless
    # --set says otherwise.
    train(args.name, steps=args.steps, epochs=args.epochs,
          batch_size=args.batch_size, learning_rate=args.learning_rate,
          schedule=args.schedule, optimizer=args.optimizer, loss=args.loss,
          out=out,
          digits=args.digits, strategy=args.strategy,
          precision=args.precision,
          jit_compile=True if args.jit_compile else "auto",
          seed=args.seed, checkpoint_every=args.checkpoint_every,
          model_overrides=dict(args.set),
          initial_weights=args.initial_weights,
          peer_timeout=args.peer_timeout, videos=args.data,
          coordinator=args.coordinator, num_processes=args.num_processes,
          process_id=args.process_id,
          layout=args.layout)
    print(f"trained model, checkpoints, history.csv, logs/ and loss_curve.png "
          f"are in {out}")


def _evaluation_clips(args, model):
    from keras_vidrep.data import bouncing_digits_eval

    return bouncing_digits_eval(
        args.sequences, seed=args.seed, batch_size=args.batch_size,
        source=args.digits, num_frames=model.clip_frames,
        frame_size=model.frame_size, bounce=args.bounce)


def _own_clips(args, model):
    """Clips of the model's length from ``--data`` (read before anything
    else runs, so that bad input is refused at once)."""
    from keras_vidrep.data import clip_windows
    from keras_vidrep.data import read_videos

    videos = read_videos(args.data, layout=args.layout,
                         frame_size=model.frame_size, channels=model.channels)
    return clip_windows(videos, model.clip_frames, args.stride)


def _batches(clips, batch_size):
    return [clips[i:i + batch_size] for i in range(0, len(clips), batch_size)]


def cmd_evaluate(args):
    from keras_vidrep.data import moving_mnist_test
    from keras_vidrep.evaluation.baselines import evaluate_model
    from keras_vidrep.evaluation.baselines import format_results

    if args.data:
        model = load_trained(args.model, "evaluate")
        clips = _own_clips(args, model)
        report = {"model": args.model, "data": str(args.data),
                  "clips": len(clips), "own_videos": evaluate_model(
                      model, _batches(clips, args.batch_size),
                      progress=not args.json)}
        if args.json:
            print(json.dumps(report, indent=2))
        else:
            print(f"== {args.data} ({len(clips)} clips of "
                  f"{model.clip_frames} frames): "
                  f"{format_results(report['own_videos'])}")
        return

    if args.moving_mnist and not Path(args.moving_mnist).is_file():
        raise CommandError(f"No Moving MNIST file at {args.moving_mnist}.")
    # Read (memory-mapped) before the long bouncing-digits evaluation, so
    # that a file of another layout is refused at once.
    data = args.moving_mnist and moving_mnist_test(
        args.moving_mnist, num_sequences=args.sequences)
    model = load_trained(args.model, "evaluate")
    report = {"model": args.model, "bounce": args.bounce,
              "bouncing_digits_test": evaluate_model(
                  model, _evaluation_clips(args, model), progress=not args.json)}
    if args.moving_mnist:
        batches = (data[i:i + args.batch_size]
                   for i in range(0, len(data), args.batch_size))
        report["moving_mnist_test"] = evaluate_model(model, batches,
                                                     progress=not args.json)
    if args.json:
        print(json.dumps(report, indent=2))
        return
    for name in ("bouncing_digits_test", "moving_mnist_test"):
        if name in report:
            print(f"== {name}: {format_results(report[name])}\n")


def cmd_visualize(args):
    from keras_vidrep.evaluation.visualize import visualize

    model = load_trained(args.model, "visualize")
    args.sequences = 1
    clip = (_own_clips(args, model)[0] if args.data else
            next(iter(_evaluation_clips(args, model)))[0])
    png, gif = visualize(model, clip, args.out)
    print(f"wrote {png} and {gif}")


def cmd_predict(args):
    """Reads a video (file or array), predicts from its first input frames
    and writes the prediction beside the input (with the video's real
    continuation where it has one)."""
    import numpy as np

    from keras_vidrep.data import read_videos
    from keras_vidrep.evaluation.visualize import save_gif
    from keras_vidrep.evaluation.visualize import to_uint8

    model = load_trained(args.model, "predict")
    out = Path(args.out)
    if out.suffix.lower() not in (".gif", ".npy"):
        raise CommandError(f"--out must end in .gif or .npy. Received: "
                           f"--out {args.out}")
    videos = read_videos(args.input, layout=args.layout,
                         frame_size=model.frame_size, channels=model.channels)
    if len(videos) != 1:
        raise CommandError(f"{args.input} holds {len(videos)} videos; predict "
                           "takes one (a video file, or an array of one).")
    video = videos[0]
    if len(video) < model.input_frames:
        raise CommandError(
            f"{args.input} has {len(video)} frames; {args.model} reads "
            f"{model.input_frames}.")
    start = args.start
    if start + model.input_frames > len(video):
        raise CommandError(
            f"--start {start} leaves {len(video) - start} frames of "
            f"{args.input}, fewer than the {model.input_frames} the model "
            "reads.")
    inputs = video[start:start + model.input_frames]
    outputs = model.predict_on_batch(inputs[None])
    if "future" not in outputs:
        raise CommandError(f"{args.model} does not predict the future (it "
                           "reconstructs its input): use an autoencoder "
                           "through `evaluate` or `visualize`.")
    future = np.asarray(outputs["future"])[0]
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".npy":
        np.save(out, future)
        print(f"wrote {out}: predicted frames of shape {future.shape}")
        return
    rows = {"input": to_uint8(inputs)}
    truth = video[start + model.input_frames:
                  start + model.input_frames + model.future_frames]
    if len(truth):
        rows["ground truth future"] = to_uint8(truth)
    rows["prediction"] = to_uint8(future)
    save_gif(rows, out)
    print(f"wrote {out}: {model.input_frames} input frames, "
          f"{len(future)} predicted"
          + (f", {len(truth)} of the video's own continuation" if len(truth)
             else ""))


def cmd_export(args):
    from keras_vidrep import export
    from keras_vidrep.models import VideoSeq2Seq

    model = load_trained(args.model, "export", takes="any")
    written = export(model, args.base_path, version=args.version,
                     overwrite=args.overwrite, format=args.format)
    outputs = ", ".join(getattr(model, "targets", ()))
    print(f"wrote {written} " + (
        f"(input frames, outputs {outputs})" if args.format == "onnx" else
        "(signatures serving_default, encode)"
        if isinstance(model, VideoSeq2Seq) else
        "(signatures caption, serving_default: frames in, a caption string "
        "out)"))


def cmd_presets(args):
    from keras_vidrep.zoo.records import write_presets

    for path in write_presets():
        print(f"wrote {path}")


def cmd_card(args):
    from keras_vidrep.zoo.loading import list_models
    from keras_vidrep.zoo.records import write_card
    from keras_vidrep.zoo.records import write_index

    names = list_models() if args.name == "all" else [args.name]
    if args.evaluate:
        from keras_vidrep.zoo.promotion import reevaluate

        for name in names:
            print(f"{name}: evaluating again ...")
            print(f"{name}: wrote {reevaluate(name, digits=args.digits)}")
    for name in names:
        path = write_card(name)
        print(f"{name}: " + (f"wrote {path}" if path else
                             "no evaluation recorded yet, no card"))
    if args.name == "all":
        print(f"wrote {write_index()}")


def cmd_models_config(args):
    from keras_vidrep.zoo.records import write_models_config

    path, names = write_models_config(args.base)
    print(f"wrote {path}: {', '.join(names) or 'no exported model'}")


def cmd_demo(args):
    from keras_vidrep.evaluation.baselines import evaluate_model
    from keras_vidrep.evaluation.baselines import format_results
    from keras_vidrep.zoo.recipes import train
    from keras_vidrep.evaluation.visualize import visualize

    out = Path(args.out)
    print(f"Training composite_conv for {args.steps} steps of {args.batch_size} "
          f"sequences on bouncing digits, {args.schedule} learning rate from "
          f"{args.learning_rate} (the progress bar shows the time left) ...")
    model = train("composite_conv", steps=args.steps, batch_size=args.batch_size,
                  learning_rate=args.learning_rate, schedule=args.schedule,
                  out=str(out), digits=args.digits, seed=args.seed,
                  checkpoint_every=min(100, args.steps),
                  precision=args.precision)
    args.sequences, args.batch_size = args.eval_sequences, 50
    args.bounce = "clamp"  # the original physics, as everywhere by default
    print(f"Evaluating on {args.sequences} sequences of held-out test digits ...")
    results = evaluate_model(model, _evaluation_clips(args, model))
    (out / "evaluation.json").write_text(json.dumps(results, indent=2))
    print(format_results(results))
    print(_demo_verdict(results))
    clip = next(iter(_evaluation_clips(args, model)))[0]
    png, gif = visualize(model, clip, out / "demo")
    print(f"\nFigures: {png}, {gif}, {out / 'loss_curve.png'}\n"
          f"Evaluation: {out / 'evaluation.json'}; model: {out / 'model.keras'}")


def _demo_verdict(results):
    """What the demo's figures mean: its future MSE per frame against the
    best trivial baseline on the same sequences and against the zoo's fully
    trained composite_conv (from the packaged preset table)."""
    from keras_vidrep.presets import preset_table

    future = results["future"]
    ours = future["model"]["frame_mse"]["mean"]
    baseline, best = min((values["frame_mse"]["mean"], name)
                         for name, values in future.items() if name != "model")
    zoo = preset_table()["composite_conv"]
    trained = zoo["evaluation"]["future"]["frame_mse"]
    ssim = future["model"]["ssim"]["mean"]
    best_ssim, ssim_name = max((values["ssim"]["mean"], name)
                               for name, values in future.items()
                               if name != "model")
    change = 100 * (1 - ours / baseline)
    return (f"\nWhat this means: the future frames' MSE per frame is {ours:.1f} "
            f"against {baseline:.1f} for the best trivial baseline ({best}), "
            + (f"{change:.0f}% lower" if change > 0 else
               f"{-change:.0f}% higher: not better than a trivial guess")
            + f"; lower is better. In SSIM (the frames' structure, higher is "
            f"better) it scores {ssim:.3f} against {best_ssim:.3f} for the "
            f"best baseline ({ssim_name}): "
            + ("it draws more of the digits than a trivial guess does. "
               if ssim > best_ssim else
               "it does not beat it, since a blur lowers the MSE without "
               "drawing the digits. ")
            + f"A model this short on training predicts where the digits go "
            f"as blurs; the zoo's composite_conv (trained {zoo['trained']}) scores "
            f"{trained:.1f} on {zoo['evaluation']['sequences']:,} held-out "
            "sequences: see it with `keras-vidrep visualize composite_conv "
            "--out composite_conv.png`.")


def cmd_experiment(args):
    import importlib

    from keras_vidrep.experiments import STANDALONE_EXPERIMENTS
    from keras_vidrep.experiments import run_experiment
    from keras_vidrep.experiments import write_report

    if not args.report_only:  # refused now, not after training a row
        from keras_vidrep._validation import check_writable_folder

        check_writable_folder(args.out, "records_root (--out)")
        check_writable_folder(args.workdir, "workdir (--workdir)")
    if args.name in STANDALONE_EXPERIMENTS:
        module = importlib.import_module(STANDALONE_EXPERIMENTS[args.name])
        if args.report_only:
            path = module.write_report(args.budget, records_root=args.out)
        else:
            given = {"seeds": args.seeds, "rows": args.rows,
                     "records_root": args.out, "digits": args.digits,
                     "workdir": args.workdir}
            path = module.run(args.budget, **{
                option: given[option] for option in module.RUN_OPTIONS})
    elif args.report_only:
        path = write_report(args.name, args.budget, records_root=args.out)
    else:
        path = run_experiment(args.name, args.budget, seeds=args.seeds,
                              rows=args.rows, records_root=args.out,
                              workdir=args.workdir, digits=args.digits)
    print(f"wrote {path}")


def cmd_probe(args):
    from keras_vidrep.tasks import ProbeData
    from keras_vidrep.tasks import chance
    from keras_vidrep.tasks import class_prior
    from keras_vidrep.tasks import run_probes

    source = load_trained(args.model, "probe")  # a bad name fails before the data
    data = ProbeData.draw(args.labels, seed=args.seed,
                          eval_sequences=args.eval_sequences,
                          input_frames=source.input_frames, source=args.digits)
    print(f"{args.task}: {args.labels} labelled clips (train digits), "
          f"{args.eval_sequences} held-out clips (test digits), seed "
          f"{args.seed}, {args.head} head")
    from keras_vidrep._logging import many_models

    rows = []
    for index, protocol in enumerate(args.protocol, 1):
        # Progress: the encoding of the clips and the head's training.
        print(f"[{index}/{len(args.protocol)}] {protocol}", flush=True)
        with many_models():
            (result,) = run_probes(
                source, data, protocol=protocol, tasks=(args.task,),
                heads=(args.head,), label_counts=(args.labels,),
                seed=args.seed, steps=args.steps, batch_size=args.batch_size,
                verbose=1)
        rows.append((protocol, f"{result['accuracy']:>9.3f} "
                     f"{result['mean_average_precision']:>7.3f}"))
    print(f"{'protocol':<12} {'accuracy':>9} {'mAP':>7}  (accuracy: top-k "
          "recall)")
    for protocol, figures in rows:
        print(f"{protocol:<12} {figures}")
    print(f"{'chance':<12} {chance(args.task, data):>9.3f}")
    print(f"{'class prior':<12} {class_prior(args.task, data):>9.3f}  (the "
          "labelled clips' class frequencies, whatever the clip)")


def cmd_train_captioner(args):
    from keras_vidrep.captions.training import train_captioner

    train_captioner(args.out, steps=args.steps, batch_size=args.batch_size,
                    learning_rate=args.learning_rate, seed=args.seed,
                    source=args.digits, stream=args.stream,
                    reverse_frames=args.reverse_frames, units=args.units,
                    checkpoint_every=args.checkpoint_every)
    print(f"wrote {Path(args.out) / 'model.keras'}")


def cmd_caption(args):
    from keras_vidrep.captions.training import caption_strip
    from keras_vidrep.captions.training import evaluate_captioner
    from keras_vidrep.captions.training import generate_captions
    from keras_vidrep.captions.training import held_out_clips

    model = load_trained(args.model, "caption", takes="captioner")
    frames, references = held_out_clips(args.clips, source=args.digits)
    generated = generate_captions(model, frames, beam_size=args.beam_size)
    for text, refs in zip(generated, references):
        print(f"model: {text}\ntruth: {refs[0]}\n")
    print(f"wrote {caption_strip(frames, generated, references, args.out)}")
    if args.evaluate:
        scores = evaluate_captioner(model, clips=args.evaluate,
                                    beam_size=args.beam_size,
                                    source=args.digits)
        print(json.dumps(scores, indent=1))


def cmd_promote(args):
    from keras_vidrep.zoo.promotion import promote

    result = promote(args.run_dir, args.name, sequences=args.sequences,
                     seed=args.seed, digits=args.digits, force=args.force)
    old = "none" if result["old"] is None else f"{result['old']:.2f}"
    measure = (result["target"] if result["higher_is_better"]
               else f"{result['target']} MSE per frame")
    print(f"promoted {args.run_dir} to {args.name}: {measure} "
          f"{result['new']:.2f} (was {old}), SavedModel version "
          f"{result['version']}; saved_models/ holds "
          f"{result['saved_models_mib']} MiB"
          + ("" if result["within_budget"] else " (over the 200 MiB budget)"))


def _experiment_options(experiment):
    experiment.add_argument("name", choices=sorted(_choices.EXPERIMENTS))
    experiment.add_argument("--budget", default="smoke",
                            help="smoke (minutes, numbers mean nothing) or "
                            "cpu (default smoke)")
    experiment.add_argument("--seeds", type=_seed, nargs="+",
                            help="seeds to run (default: the budget's)")
    experiment.add_argument("--rows", nargs="+", help="row keys to run "
                            "(default: all)")
    experiment.add_argument("--out", default="experiments",
                            help="records and reports (default experiments)")
    experiment.add_argument("--workdir", default="runs/experiments",
                            help="training runs, with weights (default "
                            "runs/experiments; never commit it)")
    experiment.add_argument("--report-only", action="store_true",
                            help="regenerate the report from the records")


def _probe_options(probe):
    probe.add_argument("model", help="a model name, a .keras file or a run "
                       "folder")
    probe.add_argument("--task", choices=sorted(_choices.TASKS),
                       default="motion",
                       help="; ".join(f"{name}: {description}" for name,
                                      description in _choices.TASKS.items()))
    probe.add_argument("--labels", type=_positive, default=100,
                       help="labelled clips of the train digits")
    probe.add_argument("--protocol", nargs="+",
                       choices=list(_choices.PROTOCOLS),
                       default=["frozen", "scratch", "random"],
                       help="; ".join(f"{name}: {description}" for name,
                                      description in _choices.PROTOCOLS.items()))
    probe.add_argument("--head", choices=_choices.HEADS, default="linear",
                       help="classifier on the representation")
    probe.add_argument("--eval-sequences", type=_positive, default=2000,
                       help="held-out clips of the test digits")
    probe.add_argument("--seed", type=_seed, default=0,
                       help="labelled clips and initialisations")
    probe.add_argument("--steps", type=_positive,
                       help="training steps (default 500 for a frozen "
                       "encoder's head, 200 when the encoder trains)")
    probe.add_argument("--batch-size", type=_positive,
                       help="clips per step (default 32 frozen, 8 trained)")


def _captioner_options(captioner):
    captioner.add_argument("--steps", type=_positive, default=3000,
                           help="training steps (new clips each step)")
    captioner.add_argument("--batch-size", type=_positive, default=32,
                           help="clips per step")
    captioner.add_argument("--learning-rate", type=float, default=1e-3,
                           help="Adam learning rate")
    captioner.add_argument("--stream", default="fused",
                           choices=_choices.STREAMS,
                           help="frame features: the frames, their "
                           "differences, or both")
    captioner.add_argument("--reverse-frames", action="store_true",
                           help="read the frames last to first")
    captioner.add_argument("--units", type=_positive, default=256,
                           help="units of each of the two LSTM layers")
    captioner.add_argument("--seed", type=_seed, default=0,
                           help="clips, captions and initial weights")
    captioner.add_argument("--checkpoint-every", type=_positive, default=500,
                           help="steps between checkpoints; rerunning the "
                           "command resumes from the last one")
    captioner.add_argument("--out", default="runs/captioner",
                           help="output folder")


class _DefaultsHelp(argparse.HelpFormatter):
    """Adds '(default: X)' to an option's help where X says something."""

    def _get_help_string(self, action):
        text = action.help or ""
        says_nothing = (action.default is None or action.default is False
                        or action.default is argparse.SUPPRESS
                        or action.default == [])
        if not says_nothing and "default" not in text and action.option_strings:
            text += " (default: %(default)s)"
        return text


def _layout_option(parser):
    parser.add_argument("--layout", choices=_choices.LAYOUTS,
                        help="of an array in --data (default: detected)")


def _own_video_options(parser):
    """How ``--data`` is read (``keras_vidrep.data.videos``)."""
    _layout_option(parser)
    parser.add_argument("--stride", type=_positive,
                        help="frames between clips of --data (default: the "
                        "clip length, no overlap)")


def _add_command(commands, name, **kwargs):
    """A sub-command whose --help shows every option's default."""
    return commands.add_parser(name, formatter_class=_DefaultsHelp, **kwargs)


# Commands that run without Keras or TensorFlow: the console script does not
# even run the package's __init__ for them.
STDLIB_COMMANDS = ("list",)



def build_parser():
    """The argument parser. It imports nothing beyond the standard library
    (the choices come from ``keras_vidrep._choices``), so that ``--help``
    of any command is answered before Keras loads."""
    parser = argparse.ArgumentParser(
        prog="keras-vidrep",
        description="Unsupervised video representation learning with LSTMs.")
    parser.add_argument("--version", action="version",
                        version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--debug", action="store_true",
        help="show the full traceback of an error instead of one line "
        "(also KERAS_VIDREP_DEBUG=1)")
    commands = parser.add_subparsers(dest="command", required=True)

    _add_command(commands, "list", help="the model names").set_defaults(run=cmd_list)

    data = argparse.ArgumentParser(add_help=False)
    data.add_argument("--digits", help="MNIST folder or mnist.npz (default: "
                      "$KERAS_VIDREP_MNIST, then the Keras cache)")

    train_parser = _add_command(commands, "train", parents=[data],
                                       help="train a model on bouncing digits")
    train_parser.add_argument("name", help="a model name (keras-vidrep list)")
    train_parser.add_argument(
        "--data", help="train on your own videos instead of bouncing digits: "
        "a video file, a folder or glob of them, or an .npy/.npz array "
        "(read at the model's frame size; clips at random starts)")
    _layout_option(train_parser)
    length = train_parser.add_mutually_exclusive_group()
    length.add_argument("--steps", type=_positive,
                        help="training steps (default 1000)")
    length.add_argument("--epochs", type=_positive,
                        help="epochs of --checkpoint-every steps")
    train_parser.add_argument("--batch-size", type=_positive, default=16,
                              help="sequences per step, over all replicas")
    train_parser.add_argument("--learning-rate", type=float, default=1e-3,
                              help="positive, finite")
    train_parser.add_argument(
        "--schedule", choices=_choices.SCHEDULES, default="constant",
        help="learning rate against the step: constant, or cosine decay to 0 "
        "at the last step (resumes only with the same --steps)")
    train_parser.add_argument("--optimizer", choices=["rmsprop", "adam"],
                              default="rmsprop", help="the optimizer")
    train_parser.add_argument("--loss", choices=["cross_entropy", "mse"],
                              default="cross_entropy",
                              help="per-frame loss, summed over pixels")
    train_parser.add_argument("--out", help="output folder (default runs/NAME)")
    train_parser.add_argument(
        "--strategy", default="auto", choices=list(_choices.STRATEGIES),
        help="how the run spreads over devices: " + "; ".join(
            f"{name}: {text}" for name, text in _choices.STRATEGIES.items()))
    train_parser.add_argument("--peer-timeout", type=_positive, default=300,
                              help="multi-worker, or data-parallel over "
                              "several processes: seconds the workers have "
                              "to come together before a worker stops, "
                              "naming the missing ones")
    train_parser.add_argument(
        "--coordinator", metavar="HOST:PORT",
        help="data-parallel over several processes or hosts (JAX): process "
        "0's address (default $KERAS_DISTRIBUTION_JOB_ADDRESSES)")
    train_parser.add_argument(
        "--num-processes", type=_positive, metavar="N",
        help="data-parallel: how many processes run the same command "
        "(default $KERAS_DISTRIBUTION_NUM_PROCESSES, else 1)")
    train_parser.add_argument(
        "--process-id", type=int, metavar="I",
        help="data-parallel: this process's number, 0 to N-1 (default "
        "$KERAS_DISTRIBUTION_PROCESS_ID); process 0 coordinates and writes "
        "--out, process I writes --out/process-I")
    train_parser.add_argument(
        "--precision", default="float32",
        choices=["float32", "mixed_bfloat16", "mixed_float16", "auto"],
        help="float32 (default); mixed_bfloat16 / mixed_float16 compute in 16 "
        "bits with float32 weights; auto: bfloat16 on CPUs that compute it "
        "natively (AVX512-BF16, AMX), float16 on GPUs with tensor cores, "
        "else float32")
    train_parser.add_argument(
        "--jit-compile", action="store_true",
        help="force XLA (default: Keras' auto: XLA on GPUs and with JAX, "
        "none on a CPU-only TensorFlow, where it is much slower)")
    train_parser.add_argument("--seed", type=_seed, default=0,
                              help="seeds the weights and the data stream")
    train_parser.add_argument("--checkpoint-every", type=_positive, default=100,
                              help="steps between checkpoints (default 100)")
    train_parser.add_argument(
        "--set", type=_model_setting, action="append", default=[],
        metavar="KEY=VALUE", help="a model argument, JSON value, over the "
        "zoo preset's architecture (the default), e.g. --set "
        "hidden_sizes=[32,32] --set kernel_size=5 (repeatable)")
    train_parser.add_argument(
        "--initial-weights", metavar="NAME_OR_FILE",
        help="fine-tune: start from a zoo model's pretrained weights, a "
        ".weights.h5 or a .keras file of the same architecture")
    train_parser.set_defaults(run=cmd_train)

    sequences = argparse.ArgumentParser(add_help=False, parents=[data])
    sequences.add_argument("--seed", type=_seed, default=1234,
                           help="seed of the test sequences")
    sequences.add_argument("--batch-size", type=_positive, default=50,
                           help="sequences per evaluation batch")
    sequences.add_argument(
        "--bounce", choices=["clamp", "mirror"], default="clamp",
        help="how digits bounce off the walls: clamp (default, the original "
        "Moving MNIST generator's rule) or mirror (exact reflection)")

    evaluate = _add_command(
        commands, "evaluate", parents=[sequences],
        help="metrics on test-digit sequences, next to baselines")
    evaluate.add_argument("model", help="a model name or a .keras file")
    evaluate.add_argument("--sequences", type=_positive, default=1000,
                          help="held-out test sequences")
    evaluate.add_argument("--moving-mnist",
                          help="also evaluate on this mnist_test_seq.npy")
    evaluate.add_argument("--json", action="store_true",
                          help="print the full results as JSON")
    evaluate.add_argument(
        "--data", help="your own videos instead of the test digits: a video "
        "file, a folder or glob of them, or an .npy/.npz array (clips of the "
        "model's length, resized to its frames)")
    _own_video_options(evaluate)
    evaluate.set_defaults(run=cmd_evaluate)

    visual = _add_command(commands, "visualize", parents=[sequences],
                                 help="PNG strip and GIF of one test sequence")
    visual.add_argument("model", help="a model name or a .keras file")
    visual.add_argument("--out", required=True, help="file name (.png, .gif)")
    visual.add_argument("--data", help="draw the first clip of your own "
                        "videos (as evaluate --data) instead of test digits")
    _own_video_options(visual)
    visual.set_defaults(run=cmd_visualize)

    predict = _add_command(
        commands, "predict",
        help="predict the continuation of your own video (GIF or .npy)")
    predict.add_argument("model", help="a model name or a .keras file")
    predict.add_argument("input", help="a video file or an .npy/.npz array "
                         "of one video")
    predict.add_argument("--out", required=True,
                         help=".gif (input, the video's own continuation "
                         "where it has one, prediction) or .npy (the "
                         "predicted frames)")
    predict.add_argument("--start", type=int, default=0,
                         help="the first input frame")
    predict.add_argument("--layout", choices=["batch_major", "time_major"],
                         help="of an array input (default: detected)")
    predict.set_defaults(run=cmd_predict)

    export = _add_command(
        commands, "export", help="a SavedModel for TensorFlow Serving, or "
        "an ONNX graph")
    export.add_argument("model", help="a zoo name (a captioner too), a .keras "
                        "file or a run folder")
    export.add_argument("base_path", help="writes BASE_PATH/VERSION/")
    export.add_argument("--version", type=_positive, default=1,
                        help="version folder to write (default 1)")
    export.add_argument("--overwrite", action="store_true",
                        help="replace BASE_PATH/VERSION if it exists "
                        "(default: refuse)")
    export.add_argument("--format", choices=["saved_model", "onnx"],
                        default="saved_model",
                        help="onnx: BASE_PATH/VERSION/model.onnx, a video "
                        "model (pip install \"keras_vidrep[onnx]\")")
    export.set_defaults(run=cmd_export)

    card = _add_command(
        commands, "card", parents=[data],
        help="write zoo/cards/NAME.md from the recorded evaluation")
    card.add_argument("name", help="a zoo name, or 'all'")
    card.add_argument("--evaluate", action="store_true",
                      help="evaluate the zoo model again first, on the "
                      "promotion's held-out clips, and rewrite its record "
                      "(scores added since it was promoted)")
    card.set_defaults(run=cmd_card)

    config = _add_command(
        commands, "models-config", help="write saved_models/models.config for TF Serving")
    config.add_argument("--base", default="/models", help="where the server "
                        "sees saved_models/ (default /models, the Docker mount)")
    config.set_defaults(run=cmd_models_config)

    _add_command(
        commands, "presets",
        help="regenerate the preset table (keras_vidrep/zoo/presets.json) and "
        "each saved_models/NAME/config.json and metadata.json from the run "
        "records, weights and evaluations").set_defaults(run=cmd_presets)

    experiment = _add_command(
        commands, "experiment", parents=[data],
        help="run (or resume) an experiment of the lab report and write its "
        "report")
    _experiment_options(experiment)
    experiment.set_defaults(run=cmd_experiment)

    probe = _add_command(
        commands, "probe", parents=[data],
        help="recognition from a model's encoder with few labels, next to "
        "the same architecture from scratch and random")
    _probe_options(probe)
    probe.set_defaults(run=cmd_probe)

    promote = _add_command(
        commands, "promote", parents=[data],
        help="make a finished training run a zoo model, if it is better: "
        "weights, evaluation, card, index, SavedModel, presets")
    promote.add_argument("run_dir", help="the folder train wrote")
    promote.add_argument("name", help="the zoo name it replaces")
    promote.add_argument("--sequences", type=_positive, default=1000,
                         help="held-out sequences (clips, for a captioner) "
                         "both models are evaluated on")
    promote.add_argument("--seed", type=_seed, default=1234,
                         help="seed of the held-out sequences")
    promote.add_argument("--force", action="store_true",
                         help="promote even if it is not better")
    promote.set_defaults(run=cmd_promote)

    captioner = _add_command(
        commands, "train-captioner", parents=[data],
        help="train an S2VT captioner on captioned clips of the train digits")
    _captioner_options(captioner)
    captioner.set_defaults(run=cmd_train_captioner)

    caption = _add_command(
        commands, "caption", parents=[data],
        help="caption held-out clips of the test digits and draw them")
    caption.add_argument("model", help="a zoo captioner's name (e.g. "
                         "captioner_fused), a captioner's .keras file or the "
                         "folder train-captioner wrote")
    caption.add_argument("--clips", type=_positive, default=4,
                         help="clips to caption and draw")
    caption.add_argument("--beam-size", type=_positive, default=1,
                         help="1: greedy decoding; more: beam search")
    caption.add_argument("--out", default="caption.png",
                         help="the strip (PNG)")
    caption.add_argument("--evaluate", type=_positive, metavar="CLIPS",
                         help="also score this many held-out clips (BLEU-4, "
                         "exact match, digit and path accuracy)")
    caption.set_defaults(run=cmd_caption)

    demo = _add_command(commands, "demo", parents=[data],
                               help="train, evaluate and draw composite_conv")
    # The short recipe measured best (benchmarks/README.md, "The demo"):
    # 1,000 steps of 4 with a cosine decay from 3e-3, in bfloat16 (auto).
    demo.add_argument("--steps", type=_positive, default=1000,
                      help="training steps")
    demo.add_argument("--batch-size", type=_positive, default=4,
                      help="sequences per step")
    demo.add_argument("--learning-rate", type=float, default=3e-3,
                      help="RMSProp learning rate (the peak, with cosine)")
    demo.add_argument("--schedule", choices=_choices.SCHEDULES,
                      default="cosine",
                      help="learning rate against the step, as for train")
    demo.add_argument("--eval-sequences", type=_positive, default=200,
                      help="held-out test sequences to evaluate on")
    demo.add_argument("--seed", type=_seed, default=0, help="training seed")
    demo.add_argument("--precision", default="auto",
                      choices=["float32", "mixed_bfloat16", "mixed_float16",
                               "auto"],
                      help="as for train (default auto: bfloat16 on CPUs that "
                      "compute it natively)")
    demo.add_argument("--out", default="runs/demo", help="output folder")
    demo.set_defaults(run=cmd_demo)
    return parser


def parse_args(argv=None):
    """Parses the command line (``sys.argv[1:]`` by default)."""
    return build_parser().parse_args(argv)


def _check_paths(args):
    """Refuses, before Keras loads, a model argument that names nothing
    (an unknown name, a missing or damaged file), and a --digits or --data
    path where there is nothing (a --data glob is matched later)."""
    from keras_vidrep.presets import locate

    if getattr(args, "model", None) is not None:
        locate(args.model)
    digits = getattr(args, "digits", None)
    if digits is not None and not Path(digits).exists():
        raise CommandError(f"No MNIST at {digits}: --digits takes a folder "
                           "of MNIST IDX files or an mnist.npz.")
    data = getattr(args, "data", None)
    if data is not None and not is_glob(data) and not is_tfds(data) \
            and not Path(data).exists():
        raise CommandError(f"No file at {data}.")


def run(args, import_package=None):
    """Runs parsed arguments; returns the exit status.

    Args:
        args: from ``parse_args``.
        import_package: registers the package with Keras (the entry point
            defers it, ``keras_vidrep._entry``); called after the model
            arguments are checked, unless the command needs no Keras.
    """
    from keras_vidrep.training.stops import TrainingStopped

    try:
        _check_paths(args)
        if import_package is not None and args.command not in STDLIB_COMMANDS:
            import_package()
        args.run(args)
    except TrainingStopped as stop:  # SIGTERM or Ctrl-C, recorded
        print(f"keras-vidrep: {stop}", file=sys.stderr)
        # The stopped fit's frames (kept by reference cycles through its
        # traceback) hold its input pipeline: release them now, while the
        # interpreter can still run the pipeline's Python threads. Left to
        # the interpreter's exit, tf.data's iterator over a PyDataset
        # waits there forever for a thread that can no longer run.
        stop.__traceback__ = stop.__context__ = None
        gc.collect()
        return stop.exit_status
    # Bad input (ours: InputError; the file system's: OSError, which the
    # missing-MNIST errors are) is one line; anything else is a bug and
    # keeps its traceback.
    except (CommandError, InputError, OSError) as error:
        if args.debug or os.environ.get("KERAS_VIDREP_DEBUG") == "1":
            raise
        message = str(error).strip().splitlines()[0] if str(error) else repr(error)
        print(f"keras-vidrep: error: {message}", file=sys.stderr)
        return EXIT_USAGE
    return 0


def main(argv=None):
    return run(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
