"""Metrics of a model on held-out sequences, next to trivial baselines.

Every number is computed on the same sequences: the model's outputs (at
inference, so conditional decoders are autoregressive) and three baselines
that need no training:

- ``copy_last_frame``: every output frame is the last input frame;
- ``all_zeros``: every output frame is black;
- ``mean_input_frame``: every output frame is the mean of the input frames.

Every metric is a per-frame value averaged over sequences (and over frames
for ``"mean"``), except PSNR, which is the PSNR of that mean MSE:
``10 log10(1 / mse)`` with ``mse`` the mean squared error per pixel over all
sequences (at each timestep for ``"per_timestep"``; over all frames for
``"mean"``). The mean of per-frame PSNRs rewards a baseline that copies one
frame exactly (an infinite, capped, PSNR) however bad its other frames are;
the PSNR of the mean MSE ranks predictors as their MSE does.
"""

import numpy as np
from keras import ops

from keras_vidrep._validation import InputError
from keras_vidrep.models.losses import frame_absolute_error
from keras_vidrep.models.losses import frame_cross_entropy
from keras_vidrep.models.losses import frame_psnr
from keras_vidrep.models.losses import frame_squared_error
from keras_vidrep.models.losses import frame_ssim
from keras_vidrep.models.video_seq2seq import decoder_targets

METRIC_FUNCTIONS = {
    "frame_mse": frame_squared_error,
    "frame_mae": frame_absolute_error,
    "frame_cross_entropy": frame_cross_entropy,
    "psnr": frame_psnr,
    "ssim": frame_ssim,
}


def _repeat(frame, count):
    return np.repeat(frame[:, None], count, axis=1)


BASELINES = {
    "copy_last_frame": lambda inputs, count: _repeat(inputs[:, -1], count),
    "all_zeros": lambda inputs, count: np.zeros(
        (inputs.shape[0], count, *inputs.shape[2:]), inputs.dtype),
    "mean_input_frame": lambda inputs, count: _repeat(inputs.mean(axis=1), count),
}


def evaluate_model(model, clips, progress=True):
    """Per-frame metrics of ``model`` and the baselines on clips.

    Args:
        model: a ``VideoSeq2Seq``.
        clips: iterable of float arrays (batch, >= input + future frames,
            H, W, C), e.g. ``bouncing_digits_eval(...)`` or batches of
            ``moving_mnist_test()``.
        progress: show a Keras progress bar.

    Returns:
        ``{target: {predictor: {metric: {"mean": float,
        "per_timestep": [float, ...]}}}}`` where ``predictor`` is ``"model"``
        or a baseline name, and ``"sequences"``: the count.
    """
    import keras

    sums, count = {}, 0
    bar = (keras.utils.Progbar(_length(clips), unit_name="batch",
                               stateful_metrics=["sequences"])
           if progress else None)
    n_in, n_out = model.input_frames, model.future_frames
    for batch_index, clip in enumerate(clips):
        clip = model.check_frames(np.asarray(clip), min_frames=n_in + n_out)
        clip = clip[:, :n_in + n_out]
        inputs = clip[:, :n_in]
        outputs = model.predict_on_batch(inputs)  # compiled, inference mode
        for target in model.targets:
            truth = decoder_targets(clip, target, n_in, n_out)
            predictions = {"model": np.asarray(outputs[target])}
            for name, baseline in BASELINES.items():
                predictions[name] = baseline(inputs, truth.shape[1])
            for predictor, prediction in predictions.items():
                for metric, fn in METRIC_FUNCTIONS.items():
                    values = ops.convert_to_numpy(fn(truth, prediction))
                    key = (target, predictor, metric)
                    sums[key] = sums.get(key, 0.0) + values.sum(axis=0)
        count += clip.shape[0]
        if bar is not None:
            bar.update(batch_index + 1, [("sequences", count)])
    if count == 0:
        raise InputError("No sequences to evaluate: the clips were empty.")
    results = {"sequences": count}
    pixels = int(np.prod(clip.shape[2:]))
    for (target, predictor, metric), total in sums.items():
        curve = total / count
        mean = float(curve.mean())
        if metric == "psnr":  # of the mean MSE, see the module docstring
            mse = sums[target, predictor, "frame_mse"] / count / pixels
            curve = _psnr(mse)
            mean = float(_psnr(mse.mean()))
        results.setdefault(target, {}).setdefault(predictor, {})[metric] = {
            "mean": mean, "per_timestep": curve.tolist()}
    return results


def _psnr(mse_per_pixel):
    """dB for a peak of 1.0; a perfect prediction is capped at 100 dB."""
    return -10.0 * np.log10(np.maximum(mse_per_pixel, 1e-10))


def _length(clips):
    """Batches in ``clips`` when known (a sized iterable or a finite
    ``tf.data`` dataset), else None."""
    if hasattr(clips, "__len__"):
        return len(clips)
    cardinality = getattr(clips, "cardinality", None)
    if cardinality is not None:
        count = int(cardinality())
        return count if count >= 0 else None
    return None


LEGEND = ("Per frame, mean over frames and sequences. frame_mse / "
          "frame_mae: squared / absolute error summed over a frame's pixels "
          "(lower is better); frame_cross_entropy: Bernoulli cross-entropy "
          "summed over the pixels (lower is better); psnr: dB, of the mean "
          "MSE per pixel (higher is better); ssim: structural similarity, 1 "
          "is perfect. The model should beat every baseline (the zoo's "
          "figures: zoo/README.md).")


def format_results(results):
    """A plain-text table of the means, with a legend."""
    lines = [f"{results['sequences']} sequences. {LEGEND}"]
    for target, predictors in results.items():
        if target == "sequences":
            continue
        metrics = list(next(iter(predictors.values())))
        lines.append(f"\n{target}")
        lines.append(f"{'':18s}" + "".join(f"{m:>21s}" for m in metrics))
        for predictor, values in predictors.items():
            lines.append(f"{predictor:18s}" + "".join(
                f"{values[m]['mean']:21.4f}" for m in metrics))
    return "\n".join(lines)
