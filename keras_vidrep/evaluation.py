"""Metrics of a model on held-out sequences, next to trivial baselines.

Every number is computed on the same sequences: the model's outputs (at
inference, so conditional decoders are autoregressive) and three baselines
that need no training:

- ``copy_last_frame``: every output frame is the last input frame;
- ``all_zeros``: every output frame is black;
- ``mean_input_frame``: every output frame is the mean of the input frames.
"""

import numpy as np
from keras import ops

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
    bar = keras.utils.Progbar(None, unit_name="batch") if progress else None
    n_in, n_out = model.input_frames, model.future_frames
    for batch_index, clip in enumerate(clips):
        clip = np.asarray(clip)[:, :n_in + n_out]
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
        raise ValueError("No sequences to evaluate: the clips were empty.")
    results = {"sequences": count}
    for (target, predictor, metric), total in sums.items():
        curve = total / count
        results.setdefault(target, {}).setdefault(predictor, {})[metric] = {
            "mean": float(curve.mean()), "per_timestep": curve.tolist()}
    return results


def format_results(results):
    """A plain-text table of the means."""
    lines = [f"{results['sequences']} sequences"]
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
