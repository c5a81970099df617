#!/usr/bin/env bash
# End-to-end on a real control plane (kube-apiserver + kube-scheduler v1.20.2 from ../shared/tools/control-plane,
# etcd, all on 127.0.0.1; Node objects without kubelets): reporter -> CNR -> extender -> kube-scheduler -> Binding.
#
#   tests/e2e/run.sh            (after the build: needs build/bin/tessera-{reporter,extender})
#
# Builds the control plane once into $TESSERA_K8S_CACHE (default ~/.cache/tessera-k8s, outside the clone).
# Skips with a message, exit 0, when ../shared or Go is absent. Everything it starts is stopped on exit.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
CP="$ROOT/../shared/tools/control-plane"
TOPO="$ROOT/../shared/topologies"
if [ ! -d "$CP" ] || [ ! -d "$TOPO" ]; then echo "e2e: ../shared absent: skipped"; exit 0; fi
if ! command -v go >/dev/null 2>&1; then echo "e2e: Go absent (apt-get install golang-go): skipped"; exit 0; fi
export LAB="${TESSERA_K8S_CACHE:-$HOME/.cache/tessera-k8s}"
export EXTENDER_PORT="${EXTENDER_PORT:-18888}"
BIN="$ROOT/build/bin"
[ -x "$LAB/bin/kube-apiserver" ] && [ -x "$LAB/bin/kube-scheduler" ] || (cd "$CP" && ./build.sh)
. "$CP/env.sh"
. "$ROOT/tests/e2e/tessera_profile.sh"
WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  (cd "$CP" && ./stop.sh >/dev/null 2>&1) || true
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() {
  echo "e2e FAIL: $*" >&2
  for f in "$WORK"/*.log "$RUN"/kube-scheduler.log; do [ -f "$f" ] && { echo "--- $f"; tail -n 30 "$f"; }; done >&2
  rm -rf "${TMPDIR:-/tmp}/tessera-e2e-failed" && cp -r "$WORK" "${TMPDIR:-/tmp}/tessera-e2e-failed" && echo "logs kept in ${TMPDIR:-/tmp}/tessera-e2e-failed" >&2
  exit 1
}
wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
  local secs="$1" what="$2"; shift 2
  for _ in $(seq 1 $((secs * 5))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  fail "timed out waiting for $what"
}

(cd "$CP" && ./stop.sh >/dev/null 2>&1 || true; rm -rf "$ETCD_DATA"; ./setup-pki.sh >/dev/null && ./start-etcd.sh >/dev/null && ./start-apiserver.sh >/dev/null)
kubectl apply -f "$ROOT/crd/customnoderesource.crd.yaml" >/dev/null
kubectl apply -f "$ROOT/crd/noderesourcetopology.crd.yaml" >/dev/null
wait_for 30 "the CNR CRD" kubectl get customnoderesources
wait_for 30 "the NRT CRD" kubectl get noderesourcetopologies

# Nodes named after real servers, one reporter each (the node's CPUs and memory from its topology).
declare -A XML=([jrc0386]=topo.jrc0386.xml [corona]=corona.xml [esb01]=topo.dp-esb01.xml)
for node in "${!XML[@]}"; do
  cpus=$("$BIN/tessera-reporter" --topology-xml "$TOPO/${XML[$node]}" --node-name "$node" --dry-run 2>/dev/null |
         python3 -c 'import json,sys; d=json.load(sys.stdin); print([p for p in d["spec"]["nodeResourceProperties"] if p["propertyName"]=="cpu"][0]["propertyQuantity"])')
  (cd "$CP" && ./node.sh "$node" "$cpus" 512Gi 200 >/dev/null)
  "$BIN/tessera-reporter" --kubeconfig "$KUBECONFIG" --topology-xml "$TOPO/${XML[$node]}" --node-name "$node" \
    --topology-policy single-numa-node --interval 5 --metrics-address= > "$WORK/reporter-$node.log" 2>&1 &
  PIDS+=($!)
done
cnrs_ready() {
  kubectl get customnoderesources -o json | python3 -c '
import json,sys
items=json.load(sys.stdin)["items"]
ok=[i for i in items if any(c["type"]=="AgentReady" and c["status"]=="True" for c in i.get("status",{}).get("conditions",[]))
    and i["metadata"].get("ownerReferences",[{}])[0].get("kind")=="Node"]
sys.exit(0 if len(ok)==3 else 1)'
}
wait_for 60 "three CNRs with heartbeats and Node owners" cnrs_ready
echo "e2e: 3 CNRs published by the reporters"

start_extender() {
  "$BIN/tessera-extender" --kubeconfig "$KUBECONFIG" --address 127.0.0.1 --port "$EXTENDER_PORT" --url-prefix /scheduler \
    --watch-timeout 5 >> "$WORK/extender.log" 2>&1 &
  EXTENDER_PID=$!
  PIDS+=($EXTENDER_PID)
  wait_for 30 "the extender to be ready" curl -sf "http://127.0.0.1:$EXTENDER_PORT/readyz"
}
start_extender

cat > "$WORK/scheduler.yaml" <<YAML
apiVersion: kubescheduler.config.k8s.io/v1beta1
kind: KubeSchedulerConfiguration
clientConnection: {kubeconfig: "$KUBECONFIG"}
leaderElection: {leaderElect: false}
healthzBindAddress: "127.0.0.1:10251"
metricsBindAddress: "127.0.0.1:10251"
percentageOfNodesToScore: 100
$(tessera_profile tessera-scheduler "http://127.0.0.1:$EXTENDER_PORT/scheduler")
YAML
(cd "$CP" && ./start-scheduler.sh "$WORK/scheduler.yaml" >/dev/null)

pod() {  # pod NAME CPU MEM EXTRA_RESOURCES ANNOTATIONS_JSON [ROLE [E2E_LABEL [NODE_SELECTOR]]]
  kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata: {name: $1, namespace: default, labels: {e2e: "${7:-yes}", role: "${6:-none}"}, annotations: $5}
spec:
  schedulerName: tessera-scheduler
  nodeSelector: ${8:-{\}}
  containers:
    - name: c
      image: lab.invalid/none:0
      resources:
        requests: {cpu: "$2", memory: "$3"$4}
        limits: {cpu: "$2", memory: "$3"$4}
YAML
}
DED='{"katalyst.kubewharf.io/qos_level": "dedicated_cores", "katalyst.kubewharf.io/memory_enhancement": "{\"numa_binding\":\"true\"}"}'
bound() { [ -n "$(kubectl get pod "$1" -o jsonpath='{.spec.nodeName}')" ]; }
all_bound() { for p in "$@"; do bound "$p" || return 1; done; }
# kube-scheduler v1.20 parks a pod whose extender call failed (extender down, no leader) in its unschedulable
# queue, and retries it on the next cluster event or after 60 s. A node label change is such an event; the
# kubelets' status updates do this in a real cluster.
nudge() { kubectl label node esb01 tessera.io/e2e-nudge="$(date +%s%N)" --overwrite >/dev/null; }
# A 40-CPU NUMA-bound pod fits only corona's 48-CPU NUMA nodes (jrc0386's hold 32); it goes first.
pod numa-big 40 8Gi "" "$DED"
wait_for 60 "numa-big to be bound" bound numa-big
# NUMA-bound pods: 30 CPUs each fit one NUMA node of jrc0386 or corona, never across two.
for i in 1 2 3 4 5 6; do pod "numa-$i" 30 8Gi "" "$DED"; done
# GPU shares, a multi-GPU pod, GPU+RDMA pods (jrc0386: each A100 shares a PCIe switch with one ConnectX-6).
# share-1 and share-2 ask for the V100 (esb01's only card), so the fault test below knows where they are whatever
# node the GPU policy would prefer; share-3 may go anywhere.
for i in 1 2; do
  pod "share-$i" 2 4Gi ', nvidia.com/gpucores: "40", nvidia.com/gpumem: "8192"' '{"tessera.io/gpu-model": "V100-32GB"}'
done
pod share-3 2 4Gi ', nvidia.com/gpucores: "40", nvidia.com/gpumem: "8192"' '{}'
pod multi-gpu 4 8Gi ', nvidia.com/gpu: "2"' '{}'
pod gpu-rdma 4 8Gi ', nvidia.com/gpu: "1", tessera.io/rdma: "1"' '{"tessera.io/device-affinity": "required:pcie-switch"}'
# Impossible: 80 CPUs in one NUMA node: FailedScheduling must carry the extender's per-node reasons.
pod too-big 80 8Gi "" "$DED"

scheduled() {
  kubectl get pods -l e2e=yes -o json | python3 -c '
import json,sys
pods=json.load(sys.stdin)["items"]
sys.exit(0 if sum(1 for p in pods if p["spec"].get("nodeName")) == len(pods) - 1 else 1)'
}
wait_for 90 "every feasible pod to be bound" scheduled
kubectl get pods -l e2e=yes -o custom-columns=NAME:.metadata.name,NODE:.spec.nodeName --no-headers
echo "e2e: pods bound through kube-scheduler + tessera-extender"

check_allocations() {
kubectl get pods -l 'e2e in (yes,nrt)' -o json > "$WORK/pods.json"
kubectl get customnoderesources -o json > "$WORK/cnrs.json"
kubectl get noderesourcetopologies -o json > "$WORK/nrts.json"
python3 - "$WORK/pods.json" "$WORK/cnrs.json" "$WORK/nrts.json" <<'PY' || fail "allocation checks"
import json, sys
pods = json.load(open(sys.argv[1]))["items"]
cnrs = {c["metadata"]["name"]: c for c in json.load(open(sys.argv[2]))["items"]}
nrts = json.load(open(sys.argv[3]))["items"]
def zones(z):
    for x in z:
        yield x
        yield from zones(x.get("children", []))
numa_cpus, card_milli, card_switch, nic_switch = {}, {}, {}, {}
for name, c in cnrs.items():
    for z in zones(c["status"]["topologyZone"]):
        attrs = {a["name"]: a["value"] for a in z.get("attributes", [])}
        if z["type"] == "Numa":
            numa_cpus[(name, int(z["name"]))] = int(z["resources"]["allocatable"]["cpu"])
        if z["type"] == "GPU":
            card_switch[(name, int(attrs["index"]))] = attrs.get("pcie_switch")
        if z["type"] == "NIC":
            nic_switch[(name, z["name"])] = attrs.get("pcie_switch")
for t in nrts:  # nodes reported only through an NRT (nrt-only)
    for z in t["zones"]:
        if z["type"] == "Node":
            cpu = [r for r in z["resources"] if r["name"] == "cpu"][0]
            numa_cpus.setdefault((t["metadata"]["name"], int(z["name"][5:])), int(cpu["allocatable"]))
used_cpu, used_milli, errors = {}, {}, []
by = {p["metadata"]["name"]: p for p in pods}
for p in pods:
    n = p["metadata"]["name"]
    node = p["spec"].get("nodeName")
    if n == "too-big":
        if node: errors.append("too-big was bound")
        continue
    a = p["metadata"].get("annotations", {}).get("tessera.io/allocation")
    if not node or not a: errors.append(f"{n}: node={node} allocation={bool(a)}"); continue
    a = json.loads(a)
    if a["node"] != node: errors.append(f"{n}: allocation for {a['node']} but bound to {node}")
    for s in a["numa"]:
        if a.get("cpu_pinned"): used_cpu[(node, s["id"])] = used_cpu.get((node, s["id"]), 0) + s["cpu_milli"]
    for g in a["gpus"]:
        used_milli[(node, g["index"])] = used_milli.get((node, g["index"]), 0) + g["milli"]
    if n.startswith("numa-") and len(a["numa"]) != 1: errors.append(f"{n}: not on exactly one NUMA node")
    if n == "numa-big" and node != "corona": errors.append(f"numa-big on {node}, only corona has 40-CPU NUMA nodes")
    if n == "multi-gpu" and len(a["gpus"]) != 2: errors.append("multi-gpu did not get 2 cards")
    if n == "gpu-rdma":
        sw = {card_switch[(node, g["index"])] for g in a["gpus"]} | {nic_switch[(node, x["name"])] for x in a["nics"]}
        if len(a["nics"]) != 1 or len(sw) != 1 or None in sw: errors.append(f"gpu-rdma not under one PCIe switch: {a}")
for k, v in used_cpu.items():
    if v > numa_cpus[k] * 1000: errors.append(f"NUMA {k} over-committed: {v}m")
for k, v in used_milli.items():
    if v > 1000: errors.append(f"card {k} over-committed: {v} milli")
if errors:
    print("\n".join(errors)); sys.exit(1)
print(f"e2e: {len(pods) - 1} allocations consistent: no NUMA node or card over-committed, RDMA pair under one switch")
PY
}
check_allocations

kubectl get events --field-selector involvedObject.name=too-big -o json | python3 -c '
import json,sys
ev=[e for e in json.load(sys.stdin)["items"] if e["reason"]=="FailedScheduling"]
msg=" ".join(e["message"] for e in ev)
print(msg[:300])
sys.exit(0 if "Tessera" in msg or "NUMA" in msg else 1)' || fail "FailedScheduling event without the extender's reasons"

# A dump of the cluster, taken as an SRE would, replays to the filter answers the live extender gives: the same
# nodes, CNRs and ledger, heartbeats judged at the dump's moment.
kubectl get nodes,pods,customnoderesources -A -o json > "$WORK/dump.json"
SNAPSHOT_PORT=$((EXTENDER_PORT + 5))
"$BIN/tessera-extender" --snapshot "$WORK/dump.json" --address 127.0.0.1 --port "$SNAPSHOT_PORT" \
  --url-prefix /scheduler > "$WORK/snapshot-extender.log" 2>&1 &
SNAPSHOT_PID=$!
PIDS+=($SNAPSHOT_PID)
wait_for 30 "the snapshot extender" curl -sf "http://127.0.0.1:$SNAPSHOT_PORT/readyz"
python3 - "$EXTENDER_PORT" "$SNAPSHOT_PORT" <<'PY' || fail "snapshot replay differs from the live extender"
import json, sys, urllib.request
live, snap = sys.argv[1], sys.argv[2]
ded = {"katalyst.kubewharf.io/qos_level": "dedicated_cores",
       "katalyst.kubewharf.io/memory_enhancement": "{\"numa_binding\":\"true\"}"}
def pod(name, cpu, extra=None, annotations=None):
    req = {"cpu": cpu, "memory": "4Gi", **(extra or {})}
    return {"metadata": {"name": name, "namespace": "default", "uid": "replay-" + name, "annotations": annotations or {}},
            "spec": {"containers": [{"name": "c", "resources": {"requests": req, "limits": req}}]}}
probes = [pod("numa-30", "30", annotations=ded), pod("numa-2", "2", annotations=ded), pod("numa-40", "40", annotations=ded),
          pod("share-50", "2", {"nvidia.com/gpucores": "50"}), pod("two-cards", "4", {"nvidia.com/gpu": "2"}),
          pod("rdma", "4", {"nvidia.com/gpu": "1", "tessera.io/rdma": "1"}), pod("plain", "1")]
names = ["corona", "esb01", "jrc0386"]
def post(port, verb, body):
    r = urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/scheduler/{verb}",
        data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}), timeout=10)
    return json.loads(r.read())
bad = 0
for p in probes:
    body = {"Pod": p, "NodeNames": names}
    a, b = post(live, "filter", body), post(snap, "filter", body)
    if a != b:
        bad += 1
        print("differs for", p["metadata"]["name"], "\n live:", a, "\n snapshot:", b)
    pa, pb = post(live, "prioritize", body), post(snap, "prioritize", body)
    if pa != pb:
        bad += 1
        print("prioritize differs for", p["metadata"]["name"], pa, pb)
feasible = sum(1 for p in probes if post(live, "filter", {"Pod": p, "NodeNames": names})["NodeNames"])
print(f"e2e: snapshot replay: {len(probes)} probe pods, filter and prioritize answers identical to the live extender ({feasible} feasible somewhere)")
sys.exit(1 if bad or feasible in (0, len(probes)) else 0)
PY
kill "$SNAPSHOT_PID" 2>/dev/null; wait "$SNAPSHOT_PID" 2>/dev/null || true

# A node reported only through a NodeResourceTopology (tessera-reporter --publish nrt, as NFD's topology-updater
# would): NUMA-bound pods are placed on it from the NRT; a GPU pod fails it with the reason.
NRT_CPUS=$("$BIN/tessera-reporter" --topology-xml "$TOPO/32em64t-2n8c2t-pci-noio.xml" --node-name nrt-only --dry-run 2>/dev/null |
           python3 -c 'import json,sys; d=json.load(sys.stdin); print([p for p in d["spec"]["nodeResourceProperties"] if p["propertyName"]=="cpu"][0]["propertyQuantity"])')
(cd "$CP" && ./node.sh nrt-only "$NRT_CPUS" 64Gi 200 >/dev/null)
kubectl label node nrt-only tessera.io/e2e-pool=nrt >/dev/null
"$BIN/tessera-reporter" --kubeconfig "$KUBECONFIG" --topology-xml "$TOPO/32em64t-2n8c2t-pci-noio.xml" --node-name nrt-only \
  --publish nrt --topology-policy single-numa-node --cpu-manager-policy static --interval 5 --metrics-address= \
  > "$WORK/reporter-nrt-only.log" 2>&1 &
PIDS+=($!)
wait_for 30 "the NodeResourceTopology of nrt-only" kubectl get noderesourcetopologies nrt-only
kubectl get customnoderesources nrt-only >/dev/null 2>&1 && fail "nrt-only has a CNR; it must be reported through its NRT alone"
nrt_pod() {  # nrt_pod NAME CPU EXTRA_RESOURCES ANNOTATIONS_JSON: a pod for the nrt-only node
  pod "$1" "$2" 1Gi "$3" "$4" none nrt "{tessera.io/e2e-pool: nrt}"
}
# 32em64t: 2 NUMA nodes of 16 logical CPUs. Two 12-CPU NUMA-bound pods take one NUMA node each; a 6-CPU one
# then fits the node (8 CPUs left) but no NUMA node (4 left on each): Tessera refuses it, from the NRT alone.
nrt_pod nrt-numa-1 12 "" "$DED"
nrt_pod nrt-numa-2 12 "" "$DED"
wait_for 60 "NUMA-bound pods on the NRT-only node" all_bound nrt-numa-1 nrt-numa-2
nrt_pod nrt-numa-3 6 "" "$DED"
nrt_pod nrt-gpu 2 ', nvidia.com/gpucores: "30"' '{}'
failed_with() {  # failed_with POD TEXT: a FailedScheduling event of POD carries TEXT
  kubectl get events --field-selector involvedObject.name="$1" -o json | python3 -c '
import json,sys
msg=" ".join(e["message"] for e in json.load(sys.stdin)["items"] if e["reason"]=="FailedScheduling")
sys.exit(0 if sys.argv[1] in msg else 1)' "$2"
}
wait_for 60 "nrt-numa-3 to fail on NUMA fit" failed_with nrt-numa-3 "Tessera NumaPlacement"
bound nrt-numa-3 && fail "nrt-numa-3 was bound although no NUMA node of nrt-only has 6 CPUs left"
# kube-scheduler v1.20's event does not carry the reasons of FailedAndUnresolvableNodes: ask the extender.
wait_for 60 "nrt-gpu to be refused" failed_with nrt-gpu "nodes are available"
bound nrt-gpu && fail "nrt-gpu was bound on a node whose GPUs nobody described"
kubectl get pod nrt-gpu -o json | python3 -c '
import json, sys, urllib.request
pod = json.load(sys.stdin)
body = json.dumps({"Pod": pod, "NodeNames": ["nrt-only"]}).encode()
r = json.loads(urllib.request.urlopen(urllib.request.Request("http://127.0.0.1:" + sys.argv[1] + "/scheduler/filter",
    data=body, headers={"Content-Type": "application/json"}), timeout=10).read())
reason = r["FailedAndUnresolvableNodes"].get("nrt-only", "")
print("e2e: nrt-gpu on nrt-only:", reason[:120])
sys.exit(0 if "described only by a NodeResourceTopology" in reason else 1)' "$EXTENDER_PORT" ||
  fail "the extender does not refuse a GPU pod on the NRT-only node with the NRT reason"
kubectl get pods -l e2e=nrt -o json | python3 -c '
import json,sys
pods={p["metadata"]["name"]: p for p in json.load(sys.stdin)["items"]}
ids=[]
for n in ("nrt-numa-1", "nrt-numa-2"):
    a=json.loads(pods[n]["metadata"]["annotations"]["tessera.io/allocation"])
    assert pods[n]["spec"]["nodeName"]=="nrt-only" and len(a["numa"])==1, (n, a)
    ids.append(a["numa"][0]["id"])
assert sorted(ids)==[0,1], ids
print("e2e: NRT-only node: two 12-CPU NUMA-bound pods on NUMA nodes", sorted(ids), "; a 6-CPU one and a GPU pod refused with reasons")
' || fail "NRT-only node placements"
kubectl delete pod nrt-numa-3 nrt-gpu --grace-period=0 --force >/dev/null 2>&1

# Faults on the real API server.
# 1. Deleted pods give their shares back: a 90 % V100 share waits until the two 40 % shares on esb01 are deleted.
pod share-big 2 4Gi ', nvidia.com/gpucores: "90"' '{"tessera.io/gpu-model": "V100-32GB"}'
sleep 3
bound share-big && fail "share-big was bound while the V100 held 80 %"
# No kubelet runs: force the deletion (a real node would confirm the graceful one).
kubectl delete pod share-1 share-2 --grace-period=0 --force >/dev/null 2>&1
wait_for 60 "share-big to take the freed V100 share" bound share-big
echo "e2e: deleted pods released their GPU shares"
# 2. kill -9 the extender, restart it: the ledger comes back from the annotations, nothing is handed out twice.
kill -9 "$EXTENDER_PID"
for i in 7 8; do pod "numa-$i" 30 8Gi "" "$DED"; done
start_extender
nudge
wait_for 60 "pods submitted while the extender was down" all_bound numa-7 numa-8
check_allocations
echo "e2e: extender killed and restarted: ledger rebuilt, no double allocation"
# 3. The API server goes away for a few seconds: the extender reconnects and relists.
(cd "$CP" && ./stop.sh kube-apiserver >/dev/null 2>&1 || true)
sleep 4
(cd "$CP" && ./start-apiserver.sh >/dev/null)
pod numa-after-outage 30 8Gi "" "$DED"
nudge  # a scheduling attempt that failed while the API server restarted parks the pod for 60 s in v1.20
wait_for 90 "a pod after the API server outage" bound numa-after-outage
check_allocations
echo "e2e: API server restarted: extender relisted and kept deciding"
# 4. kill -9 exactly inside a bind: the placement is reserved, the Binding (which carries the allocation annotation)
#    not yet posted (a failpoint holds the extender there and logs it). The restarted extender finds the pod neither
#    bound nor annotated, and the pod ends up bound once, consistent with every other allocation. (2 CPUs:
#    jrc0386's NUMA nodes hold 2 free CPUs each by now.)
kill "$EXTENDER_PID"; wait "$EXTENDER_PID" 2>/dev/null || true
TESSERA_FAILPOINT_BIND_PAUSE_MS=120000 start_extender
pod numa-midbind 2 1Gi "" "$DED"
midbind() { grep -q "failpoint: bind of default/numa-midbind to .* paused before the Binding" "$WORK/extender.log"; }
wait_for 60 "the bind of numa-midbind paused before its Binding" midbind
bound numa-midbind && fail "numa-midbind was bound before its Binding was posted"
[ -z "$(kubectl get pod numa-midbind -o jsonpath='{.metadata.annotations.tessera\.io/allocation}')" ] ||
  fail "numa-midbind carries an allocation before its Binding was posted"
kill -9 "$EXTENDER_PID"; wait "$EXTENDER_PID" 2>/dev/null || true
start_extender
nudge
wait_for 90 "numa-midbind bound after the restart" bound numa-midbind
[ -n "$(kubectl get pod numa-midbind -o jsonpath='{.metadata.annotations.tessera\.io/allocation}')" ] ||
  fail "numa-midbind was bound without its allocation annotation"
check_allocations
echo "e2e: extender killed inside a bind (placement reserved, no Binding yet): restarted, bound once with its allocation, nothing over-committed"
# 5. Two replicas with leader election on a Lease: only the leader decides (the standby, which kube-scheduler
#    calls, forwards); kill -9 the leader, the standby takes over within the lease duration and nothing is lost.
kill "$EXTENDER_PID"; wait "$EXTENDER_PID" 2>/dev/null || true
LEADER_PORT=$((EXTENDER_PORT + 1))
replica() {  # replica PORT LOG
  "$BIN/tessera-extender" --kubeconfig "$KUBECONFIG" --address 127.0.0.1 --port "$1" --url-prefix /scheduler \
    --watch-timeout 5 --leader-elect --leader-elect-namespace default --leader-elect-name tessera-e2e \
    --advertise-url "http://127.0.0.1:$1" >> "$WORK/$2.log" 2>&1 &
  PIDS+=($!)
  REPLICA_PID=$!
}
holder() { kubectl -n default get lease tessera-e2e -o jsonpath='{.spec.holderIdentity}'; }
holder_is() { [ "$(holder)" = "$1" ]; }
metric() {  # metric PORT PATTERN: the value of the first sample matching PATTERN, 0 when absent
  curl -sf "http://127.0.0.1:$1/metrics" | awk -v p="$2" '!found && index($0, p) == 1 { v = $2; found = 1 } END { print found ? v : 0 }'
}
replica "$LEADER_PORT" replica-a
LEADER_PID=$REPLICA_PID
wait_for 30 "replica A to lead" holder_is "http://127.0.0.1:$LEADER_PORT"
replica "$EXTENDER_PORT" replica-b
STANDBY_PID=$REPLICA_PID
wait_for 30 "replica B to be ready" curl -sf "http://127.0.0.1:$EXTENDER_PORT/readyz"
for i in 1 2; do pod "ha-$i" 2 1Gi "" "$DED"; done
wait_for 60 "ha-1 and ha-2 bound through the standby and the leader" all_bound ha-1 ha-2
a_binds=$(metric "$LEADER_PORT" 'tessera_extender_binds_total{outcome="bound"}')
b_binds=$(metric "$EXTENDER_PORT" 'tessera_extender_binds_total{outcome="bound"}')
b_forwarded=$(metric "$EXTENDER_PORT" 'tessera_extender_requests_total{code="200",verb="bind"}')
[ "${a_binds%.*}" -ge 2 ] && [ "${b_binds%.*}" -eq 0 ] && [ "${b_forwarded%.*}" -ge 2 ] ||
  fail "only the leader may decide: leader binds $a_binds, standby binds $b_binds, standby forwarded $b_forwarded"
echo "e2e: two replicas: the leader bound $a_binds pods, the standby forwarded $b_forwarded binds and decided none"
kill -9 "$LEADER_PID"; wait "$LEADER_PID" 2>/dev/null || true
for i in 3 4; do pod "ha-$i" 2 1Gi "" "$DED"; done
wait_for 60 "replica B to take the Lease" holder_is "http://127.0.0.1:$EXTENDER_PORT"
nudge
wait_for 90 "ha-3 and ha-4 bound after the failover" all_bound ha-3 ha-4
b_binds=$(metric "$EXTENDER_PORT" 'tessera_extender_binds_total{outcome="bound"}')
[ "${b_binds%.*}" -ge 2 ] || fail "the new leader bound $b_binds pods"
check_allocations
echo "e2e: leader killed: the standby took the Lease, bound ha-3 and ha-4, nothing lost or over-committed"
EXTENDER_PID=$STANDBY_PID

# Figures: creation-to-binding latency over a few hundred pods on 51 nodes, through kube-scheduler + Tessera and,
# in the same run, through a plain kube-scheduler (no extender) on the same nodes.
for i in $(seq 1 47); do
  (cd "$CP" && ./node.sh "bulk-$i" 128 512Gi 200 >/dev/null)
  "$BIN/tessera-reporter" --kubeconfig "$KUBECONFIG" --topology-xml "$TOPO/topo.jrc0386.xml" --node-name "bulk-$i" \
    --interval 30 --metrics-address= > "$WORK/reporter-bulk-$i.log" 2>&1 &
  PIDS+=($!)
done
all_cnrs() { [ "$(kubectl get customnoderesources --no-headers | wc -l)" -ge 50 ]; }
wait_for 90 "50 CNRs" all_cnrs
sleep 2  # the extender's informer sees the last CNRs
cat > "$WORK/plain.yaml" <<YAML
apiVersion: kubescheduler.config.k8s.io/v1beta1
kind: KubeSchedulerConfiguration
clientConnection: {kubeconfig: "$KUBECONFIG"}
leaderElection: {leaderElect: false}
healthzBindAddress: "127.0.0.1:10261"
metricsBindAddress: "127.0.0.1:10261"
percentageOfNodesToScore: 100
profiles: [{schedulerName: plain-scheduler}]
YAML
"$LAB/bin/kube-scheduler" --config="$WORK/plain.yaml" --bind-address=127.0.0.1 --secure-port=10269 \
  --authentication-kubeconfig="$KUBECONFIG" --authorization-kubeconfig="$KUBECONFIG" > "$WORK/plain-scheduler.log" 2>&1 &
PIDS+=($!)
wait_for 30 "the plain scheduler" curl -sf http://127.0.0.1:10261/healthz
TEMPLATE='{"apiVersion":"v1","kind":"Pod","metadata":{"name":"NAME","labels":{"latency":"PREFIX"},"annotations":{"katalyst.kubewharf.io/qos_level":"dedicated_cores","katalyst.kubewharf.io/memory_enhancement":"{\"numa_binding\":\"true\"}"}},"spec":{"schedulerName":"SCHEDULER","containers":[{"name":"c","image":"lab.invalid/none:0","resources":{"requests":{"cpu":"2","memory":"1Gi"},"limits":{"cpu":"2","memory":"1Gi"}}}]}}'
T=$(python3 "$ROOT/tests/e2e/latency.py" tessera-scheduler t 300 "$TEMPLATE") || fail "latency run through Tessera"
P=$(python3 "$ROOT/tests/e2e/latency.py" plain-scheduler p 300 "$TEMPLATE") || fail "latency run through the plain scheduler"
python3 - "$T" "$P" <<'PY'
import sys
t, p = sys.argv[1].split(), sys.argv[2].split()
print("e2e latency, pod creation -> binding, 300 NUMA-bound pods on 51 nodes (50 with CNRs, 1 with an NRT) (ms):")
print("  %-28s bound %s/%s  median %7s  p99 %7s" % ("kube-scheduler + Tessera", t[1], t[2], t[3], t[4]))
print("  %-28s bound %s/%s  median %7s  p99 %7s" % ("plain kube-scheduler", p[1], p[2], p[3], p[4]))
print("  ratio Tessera/plain: median %.2f, p99 %.2f" % (float(t[3]) / float(p[3]), float(t[4]) / float(p[4])))
PY
echo "e2e: PASS"
