"""Encoder-decoder LSTM models, their losses and metrics."""

from keras_vidrep.models.losses import PSNR
from keras_vidrep.models.losses import SSIM
from keras_vidrep.models.losses import FrameCrossEntropy
from keras_vidrep.models.losses import FrameCrossEntropyMetric
from keras_vidrep.models.losses import FrameMAE
from keras_vidrep.models.losses import FrameMSE
from keras_vidrep.models.losses import FrameSquaredError
from keras_vidrep.models.losses import per_timestep
from keras_vidrep.models.variants import VARIANTS
from keras_vidrep.models.variants import build_model
from keras_vidrep.models.variants import compile_model
from keras_vidrep.models.variants import describe
from keras_vidrep.models.video_seq2seq import VideoSeq2Seq
from keras_vidrep.models.video_seq2seq import decoder_targets

__all__ = [
    "PSNR", "SSIM", "FrameCrossEntropy", "FrameCrossEntropyMetric", "FrameMAE",
    "FrameMSE", "FrameSquaredError", "VARIANTS", "VideoSeq2Seq", "build_model",
    "compile_model", "decoder_targets", "describe", "per_timestep",
]
