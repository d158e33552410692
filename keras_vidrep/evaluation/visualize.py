"""Pictures of a model at work: a PNG strip and an animated GIF."""

import os
from pathlib import Path

import numpy as np

from keras_vidrep.models.video_seq2seq import decoder_targets

_GAP = 2  # pixels between tiles
_FUTURE_ROWS = ("ground truth future", "prediction")
_SHORT = {"ground truth future": "true future"}


def to_uint8(frames):
    """Grayscale uint8 frames (time, H, W) from float ones in [0, 1] (the
    first channel)."""
    return (np.clip(frames[..., 0], 0.0, 1.0) * 255).astype(np.uint8)


def panels(model, clip):
    """Rows to show for one clip: name -> frames (time, H, W), in time order.

    The reconstruction is shown flipped back into the input's order, so each
    reconstructed frame sits under the frame it rebuilds.
    """
    n_in, n_out = model.input_frames, model.future_frames
    clip = np.asarray(clip)[None, :n_in + n_out]
    outputs = model.predict_on_batch(clip[:, :n_in])
    rows = {"input": clip[0, :n_in],
            "ground truth future": decoder_targets(clip, "future", n_in, n_out)[0]}
    if "reconstruction" in outputs:
        rows["reconstruction"] = np.asarray(outputs["reconstruction"])[0, ::-1]
    if "future" in outputs:
        rows["prediction"] = np.asarray(outputs["future"])[0]
    return {name: to_uint8(frames) for name, frames in rows.items()}


def _label(image, text, origin):
    from PIL import ImageDraw

    ImageDraw.Draw(image).text(origin, text, fill=255)


def save_strip(rows, path):
    """One row per panel, one column per frame; labels on the left."""
    from PIL import Image

    height, width = next(iter(rows.values())).shape[1:]
    columns = max(len(frames) for frames in rows.values())
    label_width = 130
    canvas = Image.new("L", (label_width + columns * (width + _GAP),
                             len(rows) * (height + _GAP) + 14), 40)
    for r, (name, frames) in enumerate(rows.items()):
        top = 14 + r * (height + _GAP)
        _label(canvas, name, (4, top + height // 2 - 5))
        # Future rows are the frames after the input: t10, t11, ...
        first = columns if name in _FUTURE_ROWS else 0
        for c, frame in enumerate(frames):
            left = label_width + c * (width + _GAP)
            canvas.paste(Image.fromarray(frame), (left, top))
            if first:
                _label(canvas, f"t{first + c}", (left + 2, top + 1))
    for c in range(columns):
        _label(canvas, f"t{c}", (label_width + c * (width + _GAP) + 2, 1))
    canvas.save(path)


def save_gif(rows, path, milliseconds=200):
    """Input then future over time: observed frames on the left, ground truth
    and prediction of the future on the right (reconstruction meanwhile)."""
    from PIL import Image

    height, width = next(iter(rows.values())).shape[1:]
    names = list(rows)
    images = []
    length = max(len(frames) for frames in rows.values())
    # Tiles at twice the frame size, wide enough for their labels.
    scale, label_height = 2, 14
    tile = max(width * scale, 7 * max(len(_SHORT.get(n, n)) for n in names))
    for t in range(length):
        canvas = Image.new("L", (len(names) * (tile + _GAP),
                                 height * scale + 2 * label_height), 40)
        for i, name in enumerate(names):
            frames = rows[name]
            left = i * (tile + _GAP)
            if t < len(frames):
                frame = Image.fromarray(frames[t]).resize(
                    (width * scale, height * scale), Image.NEAREST)
                canvas.paste(frame, (left, label_height))
            _label(canvas, _SHORT.get(name, name), (left + 2, 1))
            step = t + (length if name in _FUTURE_ROWS else 0)
            _label(canvas, f"t{step}", (left + 2, label_height
                                        + height * scale + 1))
        images.append(canvas)
    images[0].save(path, save_all=True, append_images=images[1:],
                   duration=milliseconds, loop=0)


def visualize(model, clip, out):
    """Writes ``out`` (PNG strip) and the same name with ``.gif``; an
    ``out`` that is a folder (it exists as one, or ends with a slash) gets
    ``clip.png`` and ``clip.gif`` inside it.

    Returns the two paths.
    """
    folder = str(out).endswith(("/", os.sep))
    out = Path(out)
    if folder or out.is_dir():
        out = out / "clip.png"
    rows = panels(model, clip)
    png, gif = out.with_suffix(".png"), out.with_suffix(".gif")
    png.parent.mkdir(parents=True, exist_ok=True)
    save_strip(rows, png)
    save_gif(rows, gif)
    return png, gif
