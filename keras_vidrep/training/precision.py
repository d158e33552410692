"""Which floating-point precision to train in, and the machine's say in it.

``--precision`` takes ``float32``, ``mixed_bfloat16``, ``mixed_float16`` or
``auto``. Mixed policies keep the weights (and the optimizer's state) in
float32 and compute in 16 bits. ``auto`` chooses:

- ``mixed_bfloat16`` on a CPU that computes bfloat16 natively (the
  ``avx512_bf16`` or ``amx_bf16`` flags of ``/proc/cpuinfo``; TensorFlow's
  oneDNN kernels use them), when no GPU is used;
- ``mixed_float16`` on a GPU with float16 tensor cores (compute capability
  7.0 or newer);
- ``float32`` elsewhere, where 16-bit arithmetic is emulated and slower.

What stays in float32 under a mixed policy, and why:

- the weights and the optimizer's state (Keras' mixed policies);
- the losses and metrics (Keras computes them in float32);
- the decoders' read-outs, so the predicted frames, and therefore what a
  conditional decoder feeds back to itself, are float32: the frames are
  what is compared with the ground truth, pixel by pixel.

The recurrent states ``h`` and ``c`` are stored in the compute precision,
as Keras' own LSTM layers do under mixed policies, but our cells compute
each step's bias, gates and cell update in float32 and round only the new
states (``PeepholeCellBase.recurrent_step``; on a CPU that is also faster).
The layer tests bound the difference from float32
(``tests/test_precision.py``).
"""

import contextlib
from pathlib import Path

import keras

from keras_vidrep._validation import check_one_of

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16", "auto")


def cpu_flags():
    """The CPU's feature flags (empty where ``/proc/cpuinfo`` is absent)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def cpu_computes_bfloat16(flags=None):
    """Whether the CPU has native bfloat16 arithmetic (AVX512-BF16 or AMX)."""
    flags = cpu_flags() if flags is None else flags
    return bool({"avx512_bf16", "amx_bf16"} & flags)


def gpu_computes_float16():
    """Whether a GPU with float16 tensor cores (compute capability >= 7.0)
    is visible to the current backend; None when no GPU is."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if not gpus:
            return None
        capability = tf.config.experimental.get_device_details(gpus[0]).get(
            "compute_capability", (0, 0))
        return tuple(capability) >= (7, 0)
    if backend == "jax":
        import jax

        gpus = [d for d in jax.devices() if d.platform == "gpu"]
        if not gpus:
            return None
        capability = getattr(gpus[0], "compute_capability", "0.0")
        return tuple(int(x) for x in str(capability).split(".")[:2]) >= (7, 0)
    if backend == "torch":
        import torch

        if not torch.cuda.is_available():
            return None
        return torch.cuda.get_device_capability() >= (7, 0)
    return None


_ASK = object()


def resolve_precision(precision, flags=None, gpu=_ASK):
    """The Keras dtype policy name for a ``--precision`` value.

    Args:
        precision: one of ``PRECISIONS``.
        flags: the CPU's flags; read from the machine when None.
        gpu: what ``gpu_computes_float16()`` says; asked when not given.
    """
    check_one_of("precision", precision, list(PRECISIONS))
    if precision != "auto":
        return precision
    gpu = gpu_computes_float16() if gpu is _ASK else gpu
    if gpu is not None:
        return "mixed_float16" if gpu else "float32"
    return "mixed_bfloat16" if cpu_computes_bfloat16(flags) else "float32"


@contextlib.contextmanager
def precision_scope(precision):
    """Sets Keras' global dtype policy for the models built inside, then
    restores the previous one. Yields the policy's name."""
    previous = keras.mixed_precision.global_policy()
    policy = resolve_precision(precision)
    keras.mixed_precision.set_global_policy(policy)
    try:
        yield policy
    finally:
        keras.mixed_precision.set_global_policy(previous)
