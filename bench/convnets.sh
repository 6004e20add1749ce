#!/usr/bin/env bash
# Training and test throughput (images/s, Adam lr 0.001, batch 100) of the book's SimpleConvNet
# and DeepConvNet: mitbadak's `examples/convnet_throughput.rs` against PyTorch CPU's
# `torch_convnets.py` of the reference directory, run in turn (A B A B ...) so that a drifting
# machine affects both alike. Prints each one's median images/s and mitbadak's ratio to
# PyTorch. Measure on a quiet machine: a build running beside it distorts the figures.
#
#   bench/convnets.sh [ROUNDS] [SIMPLE_ITERS] [DEEP_ITERS]      (default 5 200 40)
#
# PYTHON names an interpreter with torch (default: python3); BENCH_DIR the directory of
# torch_convnets.py (default: ../shared/bench). Set up as that directory's README says.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${1:-5}
simple_iters=${2:-200}
deep_iters=${3:-40}
python=${PYTHON:-python3}
bench_dir=${BENCH_DIR:-../shared/bench}
[ -f "$bench_dir/torch_convnets.py" ] || { echo "no $bench_dir/torch_convnets.py: set BENCH_DIR" >&2; exit 1; }
"$python" -c "import torch" 2>/dev/null || { echo "$python lacks torch: set PYTHON (see the header)" >&2; exit 1; }

cargo build --release --quiet --example convnet_throughput
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for round in $(seq "$rounds"); do
    echo "round $round of $rounds" >&2
    for model in simple deep; do
        iters=$simple_iters
        [ "$model" = deep ] && iters=$deep_iters
        target/release/examples/convnet_throughput "$model" "$iters" >>"$work/results"
        "$python" "$bench_dir/torch_convnets.py" "$model" "$iters" 2>/dev/null | grep '^{' >>"$work/results"
    done
done

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, $(grep -oE 'avx512f|avx2' /proc/cpuinfo | sort -u | tr '\n' ' ')"
echo "images/s, median of $rounds alternating runs (training: $simple_iters and $deep_iters steps of batch 100; test: 10000 images):"
"$python" - "$work/results" <<'PY'
import json, statistics, sys
runs = [json.loads(line) for line in open(sys.argv[1])]
def median(impl, model, key):
    return statistics.median(r[key] for r in runs if r["impl"] == impl and r["model"] == model)
print("| network | mitbadak train | PyTorch train | ratio | mitbadak test | PyTorch test | ratio |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for model, label in (("simple", "SimpleConvNet"), ("deep", "DeepConvNet")):
    row = [label]
    for key in ("train_images_per_s", "test_images_per_s"):
        ours, theirs = median("mitbadak", model, key), median("torch-cpu", model, key)
        row += [f"{ours:.0f}", f"{theirs:.0f}", f"{ours / theirs:.2f}x"]
    print("| " + " | ".join(row) + " |")
PY
