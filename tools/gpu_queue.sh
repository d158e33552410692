#!/usr/bin/env bash
# Trains the head of the zoo's queue (tools/gpu_queue.txt) on a lent GPU
# machine for one device command, and brings its checkpoint back.
#
#   Here, once:   bash tools/gpu_queue.sh prepare
#                 (wheels the machine lacks into .whl/, the MNIST files into
#                 .digits/, both git-ignored; prints what to carry)
#   There:        run(command="bash tools/gpu_queue.sh run",
#                     carry=[".whl", ".digits", "runs/NAME"], timeout_s=600)
#   Here, after:  bash tools/gpu_queue.sh fetch FILES_AT
#                 (puts the returned run.json, history.csv and latest
#                 checkpoint into runs/NAME; the next `run` resumes there)
#
# The machine allows 600 s a command: training gets TRAIN_SECONDS (480),
# then SIGTERM, which keeps the last checkpoint (an interval's steps after
# it are lost: keep --checkpoint-every at a few minutes of training). Each
# returned file must be under 16 MiB: one weights file of the zoo's models
# is 4-14 MiB.
set -euo pipefail
cd "$(dirname "$0")/.."
QUEUE=${QUEUE:-tools/gpu_queue.txt}
TRAIN_SECONDS=${TRAIN_SECONDS:-480}

head_line() { grep -v '^#' "$QUEUE" | grep -v '^[[:space:]]*$' | head -1; }
out_of() { sed -n 's/.*--out \([^ ]*\).*/\1/p' <<< "$1"; }

case "${1:-}" in
prepare)
    for folder in .whl .digits; do
        grep -qx "/$folder/" .git/info/exclude 2>/dev/null \
            || echo "/$folder/" >> .git/info/exclude
    done
    # The machine's Python is 3.12 with JAX (CUDA), numpy, h5py, rich and
    # ml-dtypes; Keras and two of its needs are carried.
    python3 -m pip download -q --no-deps --only-binary=:all: \
        --python-version 3.12 --implementation cp \
        --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        -d .whl keras==3.15.1 namex optree
    mkdir -p .digits
    cp ../shared/data/mnist/* .digits/
    echo "carry: .whl .digits $(out_of "$(head_line)")"
    ;;
run)
    if [ -d .whl ]; then  # (a machine that has Keras needs none)
        python3 -m pip install -q --no-index --no-deps --no-compile \
            --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
    fi
    export PYTHONPATH="/tmp/site:$PWD" KERAS_BACKEND=jax \
        KERAS_VIDREP_MNIST="${KERAS_VIDREP_MNIST:-$PWD/.digits}" \
        PYTHONUNBUFFERED=1
    line=$(head_line)
    out=$(out_of "$line")
    echo "queue head: $line"
    # shellcheck disable=SC2086 - the queue line is the command's words
    timeout -s TERM "$TRAIN_SECONDS" python3 -m keras_vidrep ${line#keras-vidrep } \
        || echo "stopped after ${TRAIN_SECONDS} s (exit $?)"
    name=$(basename "$out")
    mkdir -p "$OUT/$name/backup"
    cp "$out/run.json" "$out/history.csv" "$OUT/$name/"
    cp "$out/backup/checkpoint.json" "$OUT/$name/backup/"
    latest=$(python3 -c "import json, sys; print(json.load(open(sys.argv[1]))['weights'])" \
        "$out/backup/checkpoint.json")
    cp "$out/backup/$latest" "$OUT/$name/backup/"
    ls -l "$OUT/$name" "$OUT/$name/backup"
    ;;
fetch)
    from=${2:?"fetch FILES_AT: the folder the run's files came back to"}
    out=$(out_of "$(head_line)")
    mkdir -p "$out/backup"
    cp "$from/$(basename "$out")"/{run.json,history.csv} "$out/"
    cp "$from/$(basename "$out")"/backup/* "$out/backup/"
    echo "runs resume from $out: $(cat "$out/backup/checkpoint.json")"
    ;;
*)
    sed -n '2,19p' "$0"
    exit 2
    ;;
esac
