"""Minutes of training against held-out future MSE: the demo's recipe.

    python benchmarks/time_to_quality.py --digits ../shared/data/mnist \
        [--steps 500] [--every 50] [--batch-size 8] [--learning-rate 2e-3] \
        [--schedule constant|cosine] [--optimizer rmsprop] \
        [--loss cross_entropy] [--hidden-sizes 64 64] [--precision auto] \
        [--sequences 200]

Trains ``composite_conv`` as ``keras-vidrep demo`` does (the zoo preset,
or other ``--hidden-sizes``,
``compile_model`` with the learning rate, the real data pipeline from the
train digits, seed 0) and every ``--every`` steps stops the clock to
evaluate the future MSE per frame on ``--sequences`` held-out sequences of
the test digits (the same sequences each time, autoregressive inference).
Prints training minutes (evaluations excluded) against that MSE, beside the
best trivial baseline of the same sequences.
"""

import argparse
import os
import platform
import time

import keras


class HeldOutCurve(keras.callbacks.Callback):
    """Training seconds (evaluations excluded) and held-out future MSE per
    frame at the end of every epoch."""

    def __init__(self, clips):
        super().__init__()
        self.clips = clips
        self.trained = 0.0
        self.points = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        from keras_vidrep.evaluation.baselines import evaluate_model

        self.trained += time.perf_counter() - self._start
        future = evaluate_model(self.model, self.clips, progress=False)["future"]
        self.points.append((self.trained, future["model"]["frame_mse"]["mean"]))
        self.baseline = min(values["frame_mse"]["mean"]
                            for name, values in future.items() if name != "model")


def main():
    from keras_vidrep.data import bouncing_digits_eval
    from keras_vidrep.data import load_mnist_digits
    from keras_vidrep.models import build_model
    from keras_vidrep.models import compile_model
    from keras_vidrep.presets import preset_table
    from keras_vidrep.training.precision import precision_scope
    from keras_vidrep.training.trainer import training_data

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digits", default=os.environ.get("KERAS_VIDREP_MNIST"),
                        help="MNIST folder (default $KERAS_VIDREP_MNIST)")
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--every", type=int, default=50,
                        help="training steps between evaluations")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--schedule", choices=["constant", "cosine"],
                        default="constant",
                        help="learning rate: constant, or cosine decay to 0 "
                             "over --steps")
    parser.add_argument("--optimizer", default="rmsprop")
    parser.add_argument("--loss", default="cross_entropy")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--hidden-sizes", type=int, nargs="+",
                        help="ConvLSTM filters per layer (default: the zoo "
                             "preset's, 64 64)")
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--sequences", type=int, default=200,
                        help="held-out sequences evaluated each time")
    args = parser.parse_args()

    keras.utils.set_random_seed(args.seed)
    with precision_scope(args.precision) as policy:
        config = preset_table()["composite_conv"]["config"]
        if args.hidden_sizes:
            config = {**config, "hidden_sizes": args.hidden_sizes}
        model = build_model("composite_conv", **config)
    learning_rate = args.learning_rate
    if args.schedule == "cosine":
        learning_rate = keras.optimizers.schedules.CosineDecay(
            learning_rate, decay_steps=args.steps)
    compile_model(model, learning_rate=learning_rate, optimizer=args.optimizer,
                  loss=args.loss)
    data = training_data(model, load_mnist_digits("train", source=args.digits),
                         batch_size=args.batch_size, seed=args.seed,
                         num_batches=args.steps)
    clips = bouncing_digits_eval(args.sequences, batch_size=50,
                                 source=args.digits,
                                 num_frames=model.clip_frames,
                                 frame_size=model.frame_size)
    curve = HeldOutCurve(clips)
    model.fit(data, epochs=args.steps // args.every, steps_per_epoch=args.every,
              verbose=0, callbacks=[curve], shuffle=False)
    print(f"backend {keras.backend.backend()}, keras {keras.__version__}, "
          f"{platform.machine()}, {os.cpu_count()} cores, composite_conv, "
          f"{model.count_params():,} parameters, {policy}, batch {args.batch_size}, {args.optimizer}, "
          f"{args.loss}, {args.schedule} learning rate {args.learning_rate}, "
          f"seed {args.seed}, {args.sequences} held-out sequences "
          f"(best trivial baseline {curve.baseline:.1f})")
    print("| steps | training minutes | future MSE/frame |")
    print("|---|---|---|")
    for index, (seconds, mse) in enumerate(curve.points, 1):
        print(f"| {index * args.every} | {seconds / 60:.2f} | {mse:.1f} |")


if __name__ == "__main__":
    main()
