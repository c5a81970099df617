#!/usr/bin/env python3
"""The scale harness's client (bench/scale/run.sh drives it). Subcommands:

  cluster   N TEMPLATE_DIR    create N Ready Nodes and their CNRs (CNR bodies from `tessera-reporter --dry-run`
                              of the shared topologies, one file per server kind; Node capacity from the same)
  heartbeat INTERVAL          keep every scale CNR's AgentReady heartbeat fresh, spread over INTERVAL seconds,
                              until killed: one process for the whole cluster instead of N reporters
  load      SCHEDULER RUN OUT batch COUNT | paced RATE SECONDS
                              submit pods for SCHEDULER and time creation -> binding from a pod watch
  delete    RUN               delete the run's pods and wait until they are gone

The workload mixes plain pods, NUMA-bound dedicated_cores pods, GPU shares, whole-card pods and GPU+RDMA pods
(MIX below); the servers mix CPU machines and GPU machines (SERVERS). Both are fixed, so the plain scheduler and
kube-scheduler + Tessera get the same pods on the same nodes."""
import concurrent.futures
import json
import os
import queue
import random
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kube  # noqa: E402

NAMESPACE = "scale"
CNR_PATH = "/apis/node.katalyst.kubewharf.io/v1alpha1/customnoderesources"
POD_PATH = "/api/v1/namespaces/%s/pods" % NAMESPACE
# Server kinds (template file stem, topology) and their share of every 20 nodes: 10 CPU servers, 10 with cards.
SERVERS = [("cpu2n", 6), ("cpumax", 4), ("jrc0386", 4), ("corona", 2), ("sierra", 2), ("esb01", 2)]
DED = {"katalyst.kubewharf.io/qos_level": "dedicated_cores",
       "katalyst.kubewharf.io/memory_enhancement": "{\"numa_binding\":\"true\"}"}
# Pod kinds, their requests and annotations, and their share of every 100 pods.
MIX = [
    ("plain", 60, {"cpu": "1", "memory": "1Gi"}, {}),
    ("dedicated", 25, {"cpu": "2", "memory": "2Gi"}, DED),
    ("share", 8, {"cpu": "1", "memory": "2Gi", "nvidia.com/gpucores": "25", "nvidia.com/gpumem": "4096"}, {}),
    ("card", 4, {"cpu": "4", "memory": "8Gi", "nvidia.com/gpu": "1"}, {}),
    ("gpu-rdma", 3, {"cpu": "4", "memory": "8Gi", "nvidia.com/gpu": "1", "tessera.io/rdma": "1"},
     {"tessera.io/device-affinity": "required:pcie-switch"}),
]
WORKERS = 8


def api():
    return kube.from_lab(os.environ["PKI"], os.environ["APISERVER_PORT"])


def now_rfc3339():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def zones(zs):
    for z in zs:
        yield z
        yield from zones(z.get("children", []))


def node_body(name, cnr):
    """A Ready Node whose capacity is what the CNR describes: CPUs, memory, and the cards and RDMA NICs as the
    device plugins would advertise them (so the plain scheduler can fit the same GPU pods)."""
    props = {p["propertyName"]: p.get("propertyQuantity") for p in cnr["spec"]["nodeResourceProperties"]}
    capacity = {"cpu": props["cpu"], "memory": props["memory"], "pods": "110"}
    for z in zones(cnr["status"]["topologyZone"]):
        if z["type"] == "GPU":
            for k, v in z["resources"]["allocatable"].items():
                capacity[k] = str(int(capacity.get(k, "0")) + int(v))
        if z["type"] == "NIC" and {"name": "rdma", "value": "true"} in z.get("attributes", []):
            capacity["tessera.io/rdma"] = str(int(capacity.get("tessera.io/rdma", "0")) + 1)
    now = now_rfc3339()
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                                                  "tessera.io/scale": "true"}},
            "status": {"capacity": capacity, "allocatable": capacity,
                       "conditions": [{"type": "Ready", "status": "True", "reason": "ScaleHarness",
                                       "message": "no kubelet", "lastHeartbeatTime": now,
                                       "lastTransitionTime": now}]}}


def parallel(fn, items, workers=WORKERS):
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        for _ in pool.map(fn, items):
            pass


def cmd_cluster(count, template_dir):
    templates = {}
    for kind, _ in SERVERS:
        with open(os.path.join(template_dir, kind + ".json")) as f:
            templates[kind] = json.load(f)
    cycle = [kind for kind, share in SERVERS for _ in range(share)]
    a = api()
    try:
        a.call("POST", "/api/v1/namespaces", {"metadata": {"name": NAMESPACE}})
    except kube.ApiError as e:
        if e.status != 409:
            raise

    def create(i):
        kind = cycle[i % len(cycle)]
        name = "scale-%s-%05d" % (kind, i)
        cnr = json.loads(json.dumps(templates[kind]))
        node = a.call("POST", "/api/v1/nodes", node_body(name, cnr))
        cnr["metadata"]["name"] = name
        cnr["metadata"]["ownerReferences"] = [{"apiVersion": "v1", "kind": "Node", "name": name,
                                               "uid": node["metadata"]["uid"]}]
        status = cnr.pop("status")
        status["conditions"][0]["lastHeartbeatTime"] = now_rfc3339()
        a.call("POST", CNR_PATH, cnr)
        a.call("PATCH", "%s/%s/status" % (CNR_PATH, name), {"status": status},
               content_type="application/merge-patch+json")

    t0 = time.time()
    parallel(create, range(count))
    kinds = {k: sum(1 for i in range(count) if cycle[i % len(cycle)] == k) for k, _ in SERVERS}
    print("scale: %d Nodes and CNRs created in %.1f s (%s)" % (count, time.time() - t0,
                                                               ", ".join("%s %d" % kv for kv in kinds.items())))


def cmd_heartbeat(interval):
    a = api()
    names = [c["metadata"]["name"] for c in a.call("GET", CNR_PATH + "?labelSelector=app.kubernetes.io/managed-by")["items"]]
    if not names:
        sys.exit("heartbeat: no CNRs")
    condition = {"type": "AgentReady", "status": "True", "reason": "ReporterHeartbeat",
                 "message": "tessera-reporter is publishing"}
    step = interval / len(names)
    while True:
        start = time.monotonic()
        for i, name in enumerate(names):
            delay = start + i * step - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            body = {"status": {"conditions": [dict(condition, lastHeartbeatTime=now_rfc3339())]}}
            try:
                a.call("PATCH", "%s/%s/status" % (CNR_PATH, name), body, content_type="application/merge-patch+json")
            except (kube.ApiError, OSError) as e:  # the API server may be busy; the next round catches up
                print("heartbeat: %s: %s" % (name, e), file=sys.stderr)
        time.sleep(max(0.0, start + interval - time.monotonic()))


def pod_kinds():
    kinds = [k for k in MIX for _ in range(k[1])]
    random.Random(7).shuffle(kinds)  # interleaved, the same order every run
    return kinds


def pod_body(scheduler, run, i, kinds):
    kind, _, requests, annotations = kinds[i % len(kinds)]
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "%s-%05d" % (run, i), "namespace": NAMESPACE,
                         "labels": {"run": run, "kind": kind}, "annotations": annotations},
            "spec": {"schedulerName": scheduler, "terminationGracePeriodSeconds": 0,
                     "containers": [{"name": "c", "image": "lab.invalid/none:0",
                                     "resources": {"requests": requests, "limits": requests}}]}}


def quantile(sorted_values, q):
    return sorted_values[min(len(sorted_values) - 1, int(round(q * (len(sorted_values) - 1))))]


class BindWatch:
    """Watches the run's pods and records, per pod, the moment its spec.nodeName first appears."""

    def __init__(self, a, run):
        self.bound, self.lock, self.stop = {}, threading.Lock(), threading.Event()
        rv = a.call("GET", POD_PATH + "?labelSelector=run%3D" + run + "&limit=1")["metadata"]["resourceVersion"]
        self.error = None

        def on_event(kind, obj):
            if kind in ("ADDED", "MODIFIED") and obj.get("spec", {}).get("nodeName"):
                with self.lock:
                    self.bound.setdefault(obj["metadata"]["name"], time.monotonic())

        def loop():
            try:
                a.watch("%s?labelSelector=run%%3D%s&resourceVersion=%s" % (POD_PATH, run, rv), on_event, self.stop)
            except Exception as e:  # noqa: BLE001 - reported by the caller
                self.error = e

        self.thread = threading.Thread(target=loop, daemon=True)
        self.thread.start()

    def count(self):
        with self.lock:
            return len(self.bound)

    def close(self):
        kube.stop_watch(self.stop)
        self.thread.join(5)


def cmd_load(scheduler, run, out, mode, args):
    a = api()
    kinds = pod_kinds()
    watch = BindWatch(a, run)
    created = {}
    lock = threading.Lock()
    work = queue.Queue()

    def creator():
        while True:
            i = work.get()
            if i is None:
                return
            body = pod_body(scheduler, run, i, kinds)
            a.call("POST", POD_PATH, body)
            with lock:
                created[body["metadata"]["name"]] = time.monotonic()

    threads = [threading.Thread(target=creator, daemon=True) for _ in range(WORKERS)]
    for t in threads:
        t.start()
    t0 = time.monotonic()
    if mode == "batch":
        count = int(args[0])
        for i in range(count):
            work.put(i)
    else:  # paced: an open loop, one pod every 1/RATE s whatever the scheduler does
        rate, seconds = float(args[0]), float(args[1])
        count = int(rate * seconds)
        for i in range(count):
            delay = t0 + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            work.put(i)
    for _ in threads:
        work.put(None)
    for t in threads:
        t.join()
    # Wait for every binding; give up after 100 s without progress. (kube-scheduler v1.20 parks a pod whose bind
    # failed in its unschedulable queue, which it flushes every 30 s of pods older than 60 s: up to 90 s.)
    last, last_change = -1, time.monotonic()
    while watch.count() < count and time.monotonic() - last_change < 100 and watch.error is None:
        n = watch.count()
        if n != last:
            last, last_change = n, time.monotonic()
        time.sleep(0.05)
    watch.close()
    if watch.error is not None:
        sys.exit("load: pod watch failed: %s" % watch.error)
    lat = sorted((watch.bound[n] - created[n]) * 1000 for n in created if n in watch.bound)
    end = max(watch.bound.values()) if watch.bound else time.monotonic()
    result = {"scheduler": scheduler, "mode": mode, "pods": count, "bound": len(lat),
              "seconds": round(end - t0, 3), "pods_per_s": round(len(lat) / (end - t0), 2),
              "p50_ms": round(statistics.median(lat), 1) if lat else None,
              "p99_ms": round(quantile(lat, 0.99), 1) if lat else None}
    if mode == "paced":
        result["rate"] = float(args[0])
    with open(out, "w") as f:
        json.dump(result, f)
    print("scale: %-18s %-5s %d/%d bound in %.1f s: %.1f pods/s, creation->binding p50 %s ms, p99 %s ms" % (
        scheduler, mode, len(lat), count, end - t0, result["pods_per_s"], result["p50_ms"], result["p99_ms"]))
    if len(lat) != count:
        sys.exit("load: %d of %d pods were never bound" % (count - len(lat), count))


def cmd_delete(run):
    a = api()
    a.call("DELETE", POD_PATH + "?labelSelector=run%3D" + run + "&gracePeriodSeconds=0")
    for _ in range(600):
        if not a.call("GET", POD_PATH + "?labelSelector=run%3D" + run + "&limit=1")["items"]:
            return
        time.sleep(0.2)
    sys.exit("delete: pods of run %s still listed after 120 s" % run)


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    cmd = argv[1]
    if cmd == "cluster":
        cmd_cluster(int(argv[2]), argv[3])
    elif cmd == "heartbeat":
        cmd_heartbeat(float(argv[2]))
    elif cmd == "load":
        cmd_load(argv[2], argv[3], argv[4], argv[5], argv[6:])
    elif cmd == "delete":
        cmd_delete(argv[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
