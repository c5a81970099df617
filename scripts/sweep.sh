#!/usr/bin/env bash
# The FGD paper's table, ours beside the authors': every policy (tessera and the paper's six baselines) on every
# openb trace in a folder, seeds 42..51, 130 % tuning, each trace's median unallocated GPU % at 90/95/100/110/130 %
# arrived printed next to the reference's (../shared/reference/fgd-expected/median_unallocated_gpu_pct.csv).
#
#   scripts/sweep.sh [TRACE_DIR] [OUT_FILE]     # defaults: ../shared/traces/openb, out/sweep.md
#
# Verdicts: fgd within 0.3 points of the paper's FGD, the other baselines within 0.5 of theirs; tessera "ok" when
# at 100 % it is at most 0.9x the paper's FGD and at no point more than 0.1 above it. The wall time is printed last.
set -euo pipefail
cd "$(dirname "$0")/.."
traces=${1:-../shared/traces/openb}
out=${2:-out/sweep.md}
reference=../shared/reference/fgd-expected/median_unallocated_gpu_pct.csv
[ -f "$reference" ] || { echo "sweep: $reference is absent (../shared beside the project root)"; exit 2; }
nodes="$traces/openb_node_list_gpu_node.csv"
[ -f "$nodes" ] || { echo "sweep: $nodes is absent"; exit 2; }
cmake -S . -B build -G Ninja -DTESSERA_WERROR=ON >/dev/null
cmake --build build -j"$(nproc)" --target tessera-sim >/dev/null
mkdir -p "$(dirname "$out")"
start=$(date +%s)
{
  echo "# Sweep $(date -u +%Y-%m-%d) on $(nproc) cores: policies x traces in $traces x seeds 42..51"
  first=1
  for pods in "$traces"/openb_pod_list_*.csv; do
    table=$(build/bin/tessera-sim --quiet --nodes "$nodes" --pods "$pods" --seed 42 --repeat 10 \
      --policy tessera,fgd,bestfit,dotprod,packing,clustering,random --reference "$reference" | sed -n '/^| trace/,$p')
    if [ "$first" -eq 1 ]; then echo; echo "$table"; first=0; else echo "$table" | tail -n +3; fi
  done
  echo
  echo "wall time: $(( $(date +%s) - start )) s"
} | tee "$out"
