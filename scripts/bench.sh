#!/usr/bin/env bash
# Every benchmark in bench/, printing median, p99 and the ratio to each issue's target (see bench/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DTESSERA_WERROR=ON >/dev/null
cmake --build build -j"$(nproc)"
topology=../shared/topologies/topo.jrc0386.xml
if [ -f "$topology" ]; then build/bin/tessera-bench-reporter --xml "$topology"; else echo "skip reporter bench: $topology absent"; fi
build/bin/tessera-bench-scheduler --benchmark_min_time=0.5
build/bin/tessera-bench-gpu --benchmark_min_time=0.2
for policy in tessera fgd bestfit; do build/bin/tessera-sim --quiet --jobs 1 --policy "$policy"; done
# The extender on 5,000 nodes described by CNRs and by the same machines' NodeResourceTopologies (bench/README.md,
# "Topology source"): same filter path, same cost.
for mode in names cold; do
  for source in cnr nrt; do
    build/bin/tessera-bench-extender --nodes 5000 --mode "$mode" --verb filter --conc 1 --seconds 3 --source "$source"
  done
done
# The paper's table, ours beside the authors' (bench/README.md, "The paper's table"): every policy, every trace.
if [ -f ../shared/reference/fgd-expected/median_unallocated_gpu_pct.csv ]; then scripts/sweep.sh; else echo "skip sweep: ../shared absent"; fi
# The synthetic topology workload table (bench/README.md, "Synthetic topology workload").
t=../shared/topologies
if [ -f "$t/sierra.xml" ]; then
  build/bin/tessera-sim --quiet --topology-xml "$t/topo.jrc0386.xml,$t/corona.xml,$t/tuo.SPX.xml,$t/sierra.xml" \
    --nodes-per-topology 10 --workload mix --synthetic-pods 1200 --repeat 3 --policy tessera,fgd,topology-blind
fi
