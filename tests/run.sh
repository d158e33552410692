#!/usr/bin/env bash
# The test command (README): the whole suite under TensorFlow, then the
# backend-agnostic tests (layers, models, losses, training through the
# PyDataset pipeline) again under JAX and under PyTorch.
set -euo pipefail
cd "$(dirname "$0")/.."
export KERAS_VIDREP_MNIST="${KERAS_VIDREP_MNIST:-$(cd .. && pwd)/shared/data/mnist}"
python -m pytest -q "$@"
# The other backends' passes select the backend-agnostic tests: a marker
# expression of the caller's (-m EXPR) narrows that selection instead of
# replacing it (pytest keeps only the last -m).
marker="backend_agnostic"
rest=()
while [ $# -gt 0 ]; do
    case "$1" in
        -m) marker="backend_agnostic and ($2)"; shift 2 ;;
        -m*) marker="backend_agnostic and (${1#-m})"; shift ;;
        *) rest+=("$1"); shift ;;
    esac
done
KERAS_BACKEND=jax python -m pytest -q -m "$marker" ${rest[@]+"${rest[@]}"}
if python -c "import torch" 2>/dev/null; then
    KERAS_BACKEND=torch python -m pytest -q -m "$marker" ${rest[@]+"${rest[@]}"}
elif [ -n "${CI:-}" ]; then
    echo "PyTorch is not installed: CI must run the PyTorch pass" >&2
    exit 1
else
    echo "PyTorch is not installed: the PyTorch pass did not run" \
         "(pip install torch==2.13.0, the CPU build)" >&2
fi
