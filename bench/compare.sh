#!/usr/bin/env bash
# The book's ch05/train_neuralnet.py job, whole process, three ways: `mitbadak train` (its defaults), and the NumPy and
# PyTorch scripts of the reference directory, run in turn (A B C A B C ...) so that a drifting
# machine affects all alike. Prints each one's median wall time, peak memory and test accuracy,
# and the ratios to NumPy. Measure on a quiet machine: a build running beside it distorts
# the figures several times over.
#
#   bench/compare.sh [ROUNDS]          (default 5)
#
# PYTHON names an interpreter with numpy and torch (default: python3); BENCH_DIR the directory
# of numpy_twolayer.py and torch_twolayer.py (default: ../shared/bench). Set up as that
# directory's README says: python3 -m venv ENV && ENV/bin/pip install numpy torch.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${1:-5}
python=${PYTHON:-python3}
bench_dir=${BENCH_DIR:-../shared/bench}
command -v /usr/bin/time >/dev/null || { echo "needs GNU time (/usr/bin/time): apt install time" >&2; exit 1; }
[ -f "$bench_dir/numpy_twolayer.py" ] || { echo "no $bench_dir/numpy_twolayer.py: set BENCH_DIR" >&2; exit 1; }
"$python" -c "import numpy, torch" 2>/dev/null || { echo "$python lacks numpy or torch: set PYTHON (see the header)" >&2; exit 1; }

cargo build --release --quiet
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# one run: appends "wall_seconds peak_kilobytes test_accuracy" to $work/NAME
run() {
    local name=$1
    shift
    /usr/bin/time -f "%e %M" -o "$work/time" "$@" >"$work/out" 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
    local accuracy
    accuracy=$(grep -oE '(test accuracy |"test_acc": )[0-9.]+' "$work/out" | grep -oE '[0-9.]+$' | tail -1)
    echo "$(cat "$work/time") $accuracy" >>"$work/$name"
}

for round in $(seq "$rounds"); do
    echo "round $round of $rounds" >&2
    run mitbadak target/release/mitbadak train --out "$work/run" --overwrite
    run numpy "$python" "$bench_dir/numpy_twolayer.py"
    run pytorch "$python" "$bench_dir/torch_twolayer.py"
done

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, $(grep -oE 'avx512f|avx2' /proc/cpuinfo | sort -u | tr '\n' ' ')"
echo "the book's ch05/train_neuralnet.py job (TwoLayerNet 784-50-10, SGD lr 0.1, batch 100, 10000 iterations, accuracy on all 70000 images every epoch), whole process, median of $rounds runs:"
"$python" - "$work" <<'PY'
import statistics, sys
work = sys.argv[1]
rows = {}
for name in ("mitbadak", "numpy", "pytorch"):
    runs = [line.split() for line in open(f"{work}/{name}")]
    rows[name] = (statistics.median(float(r[0]) for r in runs),
                  max(int(r[1]) for r in runs) / 1024,
                  runs[-1][2] if len(runs[-1]) > 2 else "?")
base = rows["numpy"][0]
print(f"| job | wall s (median) | peak memory MB | test accuracy | wall time / NumPy's |")
print(f"| --- | --- | --- | --- | --- |")
for name, label in (("mitbadak", "mitbadak train"), ("numpy", "NumPy"), ("pytorch", "PyTorch CPU")):
    wall, peak, accuracy = rows[name]
    print(f"| {label} | {wall:.2f} | {peak:.0f} | {accuracy} | {wall / base:.3f} |")
PY
