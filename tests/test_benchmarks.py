"""The benchmarks' own arithmetic (their figures are measured by hand and
written in benchmarks/README.md)."""

import sys

from keras_vidrep.models import build_model

from tests.helpers import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
import end_to_end  # noqa: E402


def test_training_flops_count_every_gate_kernel_and_the_read_out():
    # fc, unconditioned: 16 pixels, 4 units, 2 frames in, 3 out.
    fc = build_model("predictor_fc", hidden_sizes=[4], frame_size=4,
                     input_frames=2, future_frames=3)
    encoder = 2 * 2 * (16 + 4) * 4 * 4           # frames x 2 x (in + u) x 4u
    decoder = 3 * 2 * (0 + 4) * 4 * 4            # no input but the state
    read_out = 3 * 2 * 4 * 16
    assert end_to_end.training_flops(fc, 2) == 3 * 2 * (
        encoder + decoder + read_out)
    # conv, conditional: 8x8 frames in 4x4 patches (2x2 cells of 16), 3x3.
    conv = build_model("predictor_conv_cond", hidden_sizes=[2], frame_size=8,
                       patch_size=4, kernel_size=3, input_frames=1,
                       future_frames=1)
    layer = 2 * 4 * 9 * (16 + 2) * 4 * 2         # cells x k*k x (in + u) x 4u
    read_out = 2 * 4 * 2 * 16
    assert end_to_end.training_flops(conv, 1) == 3 * (2 * layer + read_out)
    # A composite model counts both decoders.
    both = build_model("composite_fc", hidden_sizes=[4], frame_size=4,
                       input_frames=2, future_frames=3)
    reconstruction = 2 * 2 * 4 * 4 * 4 + 2 * 2 * 4 * 16
    assert end_to_end.training_flops(both, 1) == 3 * (
        encoder + decoder + 3 * 2 * 4 * 16 + reconstruction)
