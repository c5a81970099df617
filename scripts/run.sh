#!/usr/bin/env bash
# The main job. Installs dependencies, builds, then runs what Tessera can do today on the shipped data:
#   1. the node reporter on the largest shared server topology (dry run: the CNR it would publish),
#   2. the reporter and scheduler benchmarks (latency and memory against the issues' targets).
# The offline simulator on the openb trace (issue #9) takes this slot when it lands.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DTESSERA_WERROR=ON >/dev/null
cmake --build build -j"$(nproc)"
mkdir -p out
topology=../shared/topologies/topo.jrc0386.xml
if [ ! -f "$topology" ]; then
  echo "run.sh: $topology not found (../shared must sit beside the project root)" >&2
  exit 2
fi
build/bin/tessera-reporter --topology-xml "$topology" --node-name jrc0386 --dry-run \
  --topology-policy single-numa-node --reclaim-ratio 0.3 > out/jrc0386.cnr.json
echo "wrote out/jrc0386.cnr.json ($(wc -c < out/jrc0386.cnr.json) bytes)"
build/bin/tessera-bench-reporter --xml "$topology"
build/bin/tessera-bench-scheduler --benchmark_min_time=0.5
