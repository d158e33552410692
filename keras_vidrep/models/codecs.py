"""How frames become the features a recurrent stack reads, and back.

``FlattenCodec`` (fully-connected models): a frame is one vector of
``H * W * C`` values. ``PatchCodec`` (convolutional models, Shi et al. 2015):
a frame is cut into ``p x p`` patches stacked on the channel axis,
``(H, W, C) -> (H / p, W / p, p * p * C)``. Both work on any leading axes
(batch, or batch and time).
"""

from keras import ops

from keras_vidrep._validation import InputError


class FlattenCodec:
    def __init__(self, frame_shape, patch_size=None):
        self.frame_shape = tuple(frame_shape)
        height, width, channels = self.frame_shape
        self.feature_shape = (height * width * channels,)

    def to_features(self, frames):
        leading = ops.shape(frames)[:-3]
        return ops.reshape(frames, (*leading, *self.feature_shape))

    def to_frames(self, features):
        leading = ops.shape(features)[:-1]
        return ops.reshape(features, (*leading, *self.frame_shape))


class PatchCodec:
    def __init__(self, frame_shape, patch_size):
        self.frame_shape = tuple(frame_shape)
        self.patch_size = patch_size
        height, width, channels = self.frame_shape
        if height % patch_size or width % patch_size:
            raise InputError(
                f"The frame size must be a multiple of patch_size. Received: "
                f"frame shape {self.frame_shape}, patch_size={patch_size}")
        self.feature_shape = (height // patch_size, width // patch_size,
                              patch_size * patch_size * channels)

    def to_features(self, frames):
        leading = ops.shape(frames)[:-3]
        height, width, channels = self.frame_shape
        p = self.patch_size
        x = ops.reshape(frames, (-1, height // p, p, width // p, p, channels))
        x = ops.transpose(x, (0, 1, 3, 2, 4, 5))
        return ops.reshape(x, (*leading, *self.feature_shape))

    def to_frames(self, features):
        leading = ops.shape(features)[:-3]
        height, width, channels = self.frame_shape
        p = self.patch_size
        x = ops.reshape(features, (-1, height // p, width // p, p, p, channels))
        x = ops.transpose(x, (0, 1, 3, 2, 4, 5))
        return ops.reshape(x, (*leading, *self.frame_shape))
