#!/usr/bin/env bash
# Scale on a real control plane: kube-apiserver + kube-scheduler v1.20.2 (../shared/tools/control-plane) with N
# Node objects and their CNRs (made from the shared hwloc topologies, GPU servers among them), the same pods
# scheduled first by a plain kube-scheduler, then by kube-scheduler + tessera-extender, on the same API server.
#
#   bench/scale/run.sh [--nodes 1000] [--pods 2000] [--rate 50] [--seconds 60] [--heartbeat 60] [--out DIR]
#
# Per scheduler: a closed batch (all pods at once: throughput) and an open-loop paced stream (RATE pods/s for
# SECONDS: latency without a backlog); creation -> binding from a pod watch. Prints pods/s, p50/p99, the
# extender's per-verb quantiles from its own histograms, full rebuilds per bound pod, CPU per pod of the extender
# and of kube-scheduler, the extender's peak RSS, the Tessera / plain ratios, and checks every Tessera placement
# against the CNRs (fails on any over-commit). Its own ports and state directory, so it runs beside tests/e2e.
# Needs the build (build/bin/tessera-{reporter,extender}), ../shared and Go; skips with a message otherwise.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
HERE="$ROOT/bench/scale"
CP="$ROOT/../shared/tools/control-plane"
TOPO="$ROOT/../shared/topologies"
NODES=1000 PODS=2000 RATE=50 SECONDS_PACED=60 HEARTBEAT=60 OUT=""
while [ $# -gt 0 ]; do
  case "$1" in
    --nodes) NODES="$2"; shift 2 ;;
    --pods) PODS="$2"; shift 2 ;;
    --rate) RATE="$2"; shift 2 ;;
    --seconds) SECONDS_PACED="$2"; shift 2 ;;
    --heartbeat) HEARTBEAT="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    *) echo "usage: $0 [--nodes N] [--pods N] [--rate PODS_PER_S] [--seconds S] [--heartbeat S] [--out DIR]" >&2; exit 2 ;;
  esac
done
if [ ! -d "$CP" ] || [ ! -d "$TOPO" ]; then echo "scale: ../shared absent: skipped"; exit 0; fi
if ! command -v go >/dev/null 2>&1; then echo "scale: Go absent (apt-get install golang-go): skipped"; exit 0; fi
BIN="$ROOT/build/bin"
[ -x "$BIN/tessera-extender" ] && [ -x "$BIN/tessera-reporter" ] || { echo "scale: build first (scripts/test.sh)" >&2; exit 1; }
CACHE="${TESSERA_K8S_CACHE:-$HOME/.cache/tessera-k8s}"
[ -x "$CACHE/bin/kube-apiserver" ] && [ -x "$CACHE/bin/kube-scheduler" ] || (cd "$CP" && LAB="$CACHE" ./build.sh)

WORK="$(mktemp -d)"
OUT="${OUT:-$WORK/results}"
mkdir -p "$OUT" "$WORK/lab" "$WORK/templates"
ln -s "$CACHE/bin" "$WORK/lab/bin"
export LAB="$WORK/lab" APISERVER_PORT=17443 ETCD_CLIENT_PORT=17379 ETCD_PEER_PORT=17380
. "$CP/env.sh"
. "$ROOT/tests/e2e/tessera_profile.sh"
EXTENDER_PORT=17888 SCHED_HEALTH=17251 SCHED_SECURE=17259
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  (cd "$CP" && ./stop.sh kube-apiserver etcd >/dev/null 2>&1) || true
  rm -rf "$WORK/lab"
}
trap cleanup EXIT
fail() {
  echo "scale FAIL: $*" >&2
  for f in "$WORK"/*.log "$RUN"/kube-apiserver.log; do [ -f "$f" ] && { echo "--- $f"; tail -n 20 "$f"; }; done >&2
  exit 1
}
wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
  local secs="$1" what="$2"; shift 2
  for _ in $(seq 1 $((secs * 5))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  fail "timed out waiting for $what"
}
stamp() { echo "scale: $* ($(date +%T))"; }

(cd "$CP" && ./setup-pki.sh >/dev/null && ./start-etcd.sh >/dev/null && ./start-apiserver.sh >/dev/null) ||
  fail "control plane did not start"
kubectl apply -f "$ROOT/crd/customnoderesource.crd.yaml" >/dev/null
wait_for 30 "the CNR CRD" kubectl get customnoderesources

# One CNR per server kind, as the reporter publishes it; the harness stamps names and heartbeats.
declare -A XML=([cpu2n]=32em64t-2n8c2t-pci-noio.xml [cpumax]=topo.dp-intelmax01-flat.xml [jrc0386]=topo.jrc0386.xml
                [corona]=corona.xml [sierra]=sierra.xml [esb01]=topo.dp-esb01.xml)
for kind in "${!XML[@]}"; do
  "$BIN/tessera-reporter" --topology-xml "$TOPO/${XML[$kind]}" --node-name "$kind" --dry-run \
    --topology-policy single-numa-node --cpu-manager-policy static > "$WORK/templates/$kind.json" 2>/dev/null ||
    fail "reporter could not describe ${XML[$kind]}"
done
python3 "$HERE/scale.py" cluster "$NODES" "$WORK/templates" || fail "creating the cluster"
python3 "$HERE/scale.py" heartbeat "$HEARTBEAT" > "$WORK/heartbeat.log" 2>&1 &
PIDS+=($!)

scheduler_config() {  # scheduler_config FILE PROFILE [extender]
  cat > "$1" <<YAML
apiVersion: kubescheduler.config.k8s.io/v1beta1
kind: KubeSchedulerConfiguration
# Client limits raised for both runs alike so that the schedulers' work, not client throttling, sets the pace.
clientConnection: {kubeconfig: "$KUBECONFIG", qps: 1000, burst: 1000}
leaderElection: {leaderElect: false}
healthzBindAddress: "127.0.0.1:$SCHED_HEALTH"
metricsBindAddress: "127.0.0.1:$SCHED_HEALTH"
YAML
  if [ "${3:-}" = extender ]; then
    tessera_profile "$2" "http://127.0.0.1:$EXTENDER_PORT/scheduler" >> "$1"
  else
    printf 'profiles:\n  - schedulerName: %s\n' "$2" >> "$1"
  fi
}
start_scheduler() {  # start_scheduler CONFIG LOG
  "$LAB/bin/kube-scheduler" --config="$1" --bind-address=127.0.0.1 --secure-port="$SCHED_SECURE" \
    --authentication-kubeconfig="$KUBECONFIG" --authorization-kubeconfig="$KUBECONFIG" > "$WORK/$2.log" 2>&1 &
  SCHEDULER_PID=$!
  PIDS+=($SCHEDULER_PID)
  wait_for 60 "kube-scheduler" curl -sf "http://127.0.0.1:$SCHED_HEALTH/healthz"
}
phase() {  # phase NAME SCHEDULER_NAME: the batch, then the paced stream, each deleted after
  local name="$1" sched="$2"
  stamp "$name: batch of $PODS pods"
  python3 "$HERE/scale.py" load "$sched" "$name-batch" "$OUT/$name-batch.json" batch "$PODS" || fail "$name batch"
  [ "$name" = tessera ] && check_placements "$name-batch"
  python3 "$HERE/scale.py" delete "$name-batch" || fail "deleting the $name batch"
  stamp "$name: paced $RATE pods/s for $SECONDS_PACED s"
  python3 "$HERE/scale.py" load "$sched" "$name-paced" "$OUT/$name-paced.json" paced "$RATE" "$SECONDS_PACED" ||
    fail "$name paced"
  [ "$name" = tessera ] && check_placements "$name-paced"
  python3 "$HERE/scale.py" delete "$name-paced" || fail "deleting the $name paced pods"
}
check_placements() {  # check_placements RUN: the run's pods against the CNRs
  kubectl -n scale get pods -l "run=$1" -o json > "$WORK/pods.json"
  kubectl get customnoderesources -o json > "$WORK/cnrs.json"
  python3 "$ROOT/bench/scale/report.py" check "$WORK/pods.json" "$WORK/cnrs.json" "$OUT/check-$1.json" ||
    fail "Tessera placements of $1 over-commit the CNRs"
}
probe() { python3 "$HERE/report.py" probe "$@"; }

# 1. Plain kube-scheduler (no extender running).
scheduler_config "$WORK/plain.yaml" plain-scheduler
start_scheduler "$WORK/plain.yaml" plain-scheduler
probe "$OUT/plain-cpu-before.json" scheduler="$SCHEDULER_PID"
phase plain plain-scheduler
probe "$OUT/plain-cpu-after.json" scheduler="$SCHEDULER_PID"
kill "$SCHEDULER_PID"; wait "$SCHEDULER_PID" 2>/dev/null || true

# 2. kube-scheduler + tessera-extender on the same API server and nodes.
"$BIN/tessera-extender" --kubeconfig "$KUBECONFIG" --address 127.0.0.1 --port "$EXTENDER_PORT" \
  --url-prefix /scheduler > "$WORK/extender.log" 2>&1 &
EXTENDER_PID=$!
PIDS+=($EXTENDER_PID)
wait_for 120 "the extender to be ready" curl -sf "http://127.0.0.1:$EXTENDER_PORT/readyz"
scheduler_config "$WORK/tessera.yaml" tessera-scheduler extender
start_scheduler "$WORK/tessera.yaml" tessera-scheduler
probe "$OUT/tessera-cpu-before.json" scheduler="$SCHEDULER_PID" extender="$EXTENDER_PID"
python3 "$HERE/report.py" scrape "http://127.0.0.1:$EXTENDER_PORT/metrics" "$OUT/metrics-before.txt"
phase tessera tessera-scheduler
python3 "$HERE/report.py" scrape "http://127.0.0.1:$EXTENDER_PORT/metrics" "$OUT/metrics-after.txt"
probe "$OUT/tessera-cpu-after.json" scheduler="$SCHEDULER_PID" extender="$EXTENDER_PID"

python3 "$HERE/report.py" table "$OUT" "$NODES" || fail "a Tessera placement check failed"
echo "scale: results in $OUT"
