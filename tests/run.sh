#!/usr/bin/env bash
# The test command (README): the whole suite under TensorFlow, then the
# backend-agnostic tests (layers, models) a second time under JAX.
set -euo pipefail
cd "$(dirname "$0")/.."
export KERAS_VIDREP_MNIST="${KERAS_VIDREP_MNIST:-$(cd .. && pwd)/shared/data/mnist}"
python -m pytest -q "$@"
KERAS_BACKEND=jax python -m pytest -q -m backend_agnostic "$@"
