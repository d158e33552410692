"""The learning rate at which a loaded zoo model fine-tunes without getting
worse: the README's Zoo snippet, at several rates.

    python benchmarks/fine_tune_rate.py --digits ../shared/data/mnist \
        [--model composite_conv] [--rates 1e-3 3e-4 1e-4 3e-5] \
        [--steps 100] [--batch-size 16] [--sequences 200]

For each rate: ``keras_vidrep.load(MODEL)`` compiled with
``compile_model(..., learning_rate=RATE)`` (a fresh RMSProp, as a user's
``load`` gives), ``--steps`` steps of ``--batch-size`` clips of the train
digits (seed 1, as in the README), then the future MSE per frame on
``--sequences`` **validation** clips (train digits, a seed no training
stream uses) and on the same number of held-out clips of the test digits.
The rate is chosen on the validation clips only; the test figures are
printed for the record.
"""

import argparse
import platform
import time

import numpy as np

# Clips of the train digits that no training stream of this script draws:
# the training stream is seed 1, and a stream's batches depend only on
# (seed, batch index).
VALIDATION_SEED = 987654


def future_mse(model, clips):
    from keras_vidrep.evaluation.baselines import evaluate_model

    return evaluate_model(model, clips, progress=False)["future"]["model"][
        "frame_mse"]["mean"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digits", default=None)
    parser.add_argument("--model", default="composite_conv")
    parser.add_argument("--rates", type=float, nargs="+",
                        default=[1e-3, 3e-4, 1e-4, 3e-5])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--sequences", type=int, default=200)
    args = parser.parse_args()

    import keras_vidrep
    from keras_vidrep.data import bouncing_digits
    from keras_vidrep.data import bouncing_digits_eval
    from keras_vidrep.data import load_mnist_digits
    from keras_vidrep.models import compile_model

    train_digits = load_mnist_digits("train", source=args.digits)
    validation = [np.asarray(batch) for batch in bouncing_digits_eval(
        args.sequences, seed=VALIDATION_SEED, digits=train_digits,
        batch_size=50)]
    test = [np.asarray(batch) for batch in bouncing_digits_eval(
        args.sequences, batch_size=50, source=args.digits)]
    pretrained = keras_vidrep.load(args.model, compile=False)
    print(f"{args.model}, {args.steps} steps of {args.batch_size}; future "
          f"MSE/frame on {args.sequences} clips; {platform.processor() or platform.machine()}")
    print(f"before fine-tuning: validation {future_mse(pretrained, validation):.2f}, "
          f"test {future_mse(pretrained, test):.2f}")
    results = {}
    for rate in args.rates:
        model = keras_vidrep.load(args.model, compile=False)
        compile_model(model, learning_rate=rate)
        clips = bouncing_digits(train_digits, batch_size=args.batch_size,
                                seed=1)
        started = time.perf_counter()
        model.fit(model.training_pairs(clips), steps_per_epoch=args.steps,
                  epochs=1, verbose=0)
        seconds = time.perf_counter() - started
        results[rate] = (future_mse(model, validation),
                         future_mse(model, test))
        print(f"learning rate {rate:g}: validation {results[rate][0]:.2f}, "
              f"test {results[rate][1]:.2f} ({seconds:.0f} s of training)",
              flush=True)
    best = min(results, key=lambda rate: results[rate][0])
    print(f"chosen on validation: {best:g}")


if __name__ == "__main__":
    main()
