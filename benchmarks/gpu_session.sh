#!/usr/bin/env bash
# The one prepared GPU check (run on a lent CUDA machine from the repo root; CI never runs it).
# It exercises the engines' CUDA path and records the GPU numbers quoted in the closing notes and in
# chapters/18_grokking.md. Preparation on the CPU machine (both folders are git-ignored and carried):
#   .whl/  torchsde and trampoline wheels (the GPU image lacks torchsde, the benchmarks' anchor)
#   .gpu/  myst_nb.py (a glue stand-in) and dln_cuda.py = chapters/16_deep_linear.md with
#          DEVICE = "cuda", converted with `jupytext --to py:percent`
# Each step is time-boxed so that one failure or slow step leaves the others' results.
set -uo pipefail
OUT=${OUT:-/tmp/gpu_out}; mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 TQDM_DISABLE=1 MPLBACKEND=Agg
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl
export PYTHONPATH="$PWD/src:/tmp/site"
python3 -c "import torch; print('torch', torch.__version__)" | tee -a "$OUT/gpu.txt"
step() { local s=$1; shift; local t0=$(date +%s); timeout "$s" "$@"; echo "rc=$? wall=$(( $(date +%s) - t0 ))s: $*"; }
{
# records of chapters/18_grokking.md: copy $OUT/18_grokking/*.json to chapters/data/18_grokking/
step 150 python3 -m sgdsde.experiments grokking --profile nanda --device cuda --out "$OUT/18_grokking/nanda.json"
step 45 env PYTHONPATH="$PWD/.gpu:$PYTHONPATH" python3 .gpu/dln_cuda.py
step 45 python3 -m pytest -q -p no:cacheprovider tests -k cuda --ignore=tests/test_bibliography.py --ignore=tests/test_claims_ledger.py --ignore=tests/test_figure_style.py --ignore=tests/test_book_structure.py
step 60 python3 benchmarks/run_all.py --device cuda --quick
step 40 python3 -m sgdsde.experiments grokking --profile nanda_frac50 --device cuda --out "$OUT/18_grokking/nanda_frac50.json"
step 50 python3 -m sgdsde.experiments grokking --profile nanda_minibatch --device cuda --out "$OUT/18_grokking/nanda_minibatch.json"
# the spread of the grokking epoch over initial weights (only the seed changes; the grokking page's
# "Differences from the published setting" asks for it)
for s in 1 2 3 4; do
  step 150 python3 -m sgdsde.experiments grokking --profile nanda --seed $s --device cuda --out "$OUT/grokking_nanda_seed$s.json"
done
} 2>&1 | tee "$OUT/log.txt"
