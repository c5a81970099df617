#!/usr/bin/env bash
# Every benchmark in bench/, with the settings the READMEs quote, then the READMEs' tables rewritten from what they
# printed (scripts/bench_tables.py): bench/README.md's "Latest run" section, one table per benchmark, and the root
# README's headline rows. Each benchmark prints median, p99 and its ratio to a baseline run beside it or to the
# issue's target. Takes about 30 minutes on 2 cores (the paper's table about 4, the two scale runs about 15).
#
#   scripts/bench.sh            # run everything, rewrite the tables
#   BENCH_QUICK=1 scripts/bench.sh   # shorter runs, no sweep (a smoke run; tables say so by their figures)
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DTESSERA_WERROR=ON -DTESSERA_BUILD_BENCH=ON >/dev/null
cmake --build build -j"$(nproc)"
results=build/bench
rm -rf "$results"
mkdir -p "$results"
quick=${BENCH_QUICK:-0}

# run NAME COMMAND...: runs it, shows its output, keeps it (and the command) for the tables.
run() {
  local name=$1
  shift
  echo "== $name: $*"
  echo "$*" > "$results/$name.cmd"
  "$@" | tee "$results/$name.txt"
}

t=../shared/topologies
if [ -f "$t/topo.jrc0386.xml" ]; then
  run reporter build/bin/tessera-bench-reporter --xml "$t/topo.jrc0386.xml"
else
  echo "skip reporter bench: $t/topo.jrc0386.xml absent"
fi
run scheduler build/bin/tessera-bench-scheduler --benchmark_min_time=0.5
run gpu build/bin/tessera-bench-gpu --benchmark_min_time=0.2
for policy in tessera fgd bestfit; do run "sim-$policy" build/bin/tessera-sim --quiet --jobs 1 --policy "$policy"; done
# The extender on 5,000 nodes described by CNRs and by the same machines' NodeResourceTopologies: same filter
# path, same cost.
seconds=3
[ "$quick" = 1 ] && seconds=1
for mode in names cold; do
  for source in cnr nrt; do
    run "extender-$mode-$source" build/bin/tessera-bench-extender --nodes 5000 --mode "$mode" --verb filter --conc 1 \
      --seconds "$seconds" --source "$source"
  done
done
# Production scale: 5,000 nodes x 8 NUMA, 100,000 bound pods, every event production pays.
run churn build/bin/tessera-bench-churn --nodes 5000 --pods-per-node 20 --seconds $((seconds + 2)) \
  --pod-events-per-second 200
# The synthetic topology workload table.
if [ -f "$t/sierra.xml" ]; then
  run synthetic build/bin/tessera-sim --quiet --topology-xml "$t/topo.jrc0386.xml,$t/corona.xml,$t/tuo.SPX.xml,$t/sierra.xml" \
    --nodes-per-topology 10 --workload mix --synthetic-pods 1200 --repeat 3 --policy tessera,fgd,topology-blind
fi
# Scale on the real control plane (bench/scale): plain kube-scheduler, then kube-scheduler + Tessera, on 1,000 and
# 5,000 Nodes with their CNRs; needs ../shared and Go (the harness says so and skips otherwise).
if [ "$quick" != 1 ]; then
  for nodes in 1000 5000; do
    run "scale-$nodes" bench/scale/run.sh --nodes "$nodes" --pods 2000 --rate 50 --seconds 60 --out "$results/scale-$nodes"
  done
fi
# The paper's table, ours beside the authors': every policy, every trace.
if [ "$quick" != 1 ] && [ -f ../shared/reference/fgd-expected/median_unallocated_gpu_pct.csv ]; then
  scripts/sweep.sh ../shared/traces/openb "$results/sweep.txt" >/dev/null
  cat "$results/sweep.txt"
fi
python3 scripts/bench_tables.py "$results"
echo "bench.sh: tables rewritten in bench/README.md and README.md from $results"
