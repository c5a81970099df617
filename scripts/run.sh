#!/usr/bin/env bash
# The main job: install dependencies, build, and run the offline simulator on the shipped openb trace
# (bench/data, Alibaba cluster-trace-gpu-v2023 as the FGD paper used it): every GPU policy side by side over the
# paper's ten seeds (42..51), printing the summary table and writing curves.png, the curve CSVs and summary.json
# to out/sim/. About a minute on two cores.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DTESSERA_WERROR=ON >/dev/null
cmake --build build -j"$(nproc)"
build/bin/tessera-sim --repeat 10 --seed 42 --out out/sim "$@"
