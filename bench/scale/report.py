#!/usr/bin/env python3
"""The scale harness's measurements and its verdict (bench/scale/run.sh drives it). Subcommands:

  probe   OUT NAME=PID...     CPU seconds (user+system) and peak RSS of each process, from /proc, as JSON
  scrape  URL OUT             the extender's /metrics text, saved
  check   PODS.json CNRS.json every Tessera placement against the CNRs: each allocation on the node the pod is
                              bound to, no NUMA node's pinned CPUs, no card's compute or memory over-committed,
                              GPU+RDMA pairs under one PCIe switch
  table   DIR NODES           the side-by-side table from DIR's phase files; exits non-zero on a failed check"""
import glob
import json
import os
import re
import sys
import urllib.request

VERBS = ("filter", "prioritize", "bind")


def cmd_probe(out, pairs):
    tick = os.sysconf("SC_CLK_TCK")
    result = {}
    for pair in pairs:
        name, pid = pair.split("=")
        with open("/proc/%s/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        with open("/proc/%s/status" % pid) as f:
            status = dict(line.split(":", 1) for line in f if ":" in line)
        result[name] = {"cpu_s": (int(fields[11]) + int(fields[12])) / tick,
                        "hwm_mib": int(status["VmHWM"].split()[0]) / 1024,
                        "rss_mib": int(status["VmRSS"].split()[0]) / 1024}
    with open(out, "w") as f:
        json.dump(result, f)


def cmd_scrape(url, out):
    with urllib.request.urlopen(url, timeout=30) as r, open(out, "wb") as f:
        f.write(r.read())


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)$')


def parse_metrics(path):
    samples = {}
    with open(path) as f:
        for line in f:
            m = SAMPLE.match(line.strip())
            if m:
                labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
                samples[(m.group(1), tuple(sorted(labels.items())))] = float(m.group(3))
    return samples


def histogram_quantiles(before, after, verb, qs=(0.5, 0.99)):
    """Quantiles of the requests between two scrapes, interpolated inside the cumulative buckets as Prometheus'
    histogram_quantile does."""
    buckets = []
    for (name, labels), value in after.items():
        d = dict(labels)
        if name == "tessera_extender_request_seconds_bucket" and d.get("verb") == verb:
            le = float("inf") if d["le"] == "+Inf" else float(d["le"])
            buckets.append((le, value - before.get((name, labels), 0.0)))
    buckets.sort()
    if not buckets or buckets[-1][1] <= 0:
        return [None for _ in qs], 0
    total = buckets[-1][1]
    out = []
    for q in qs:
        rank, lower, below = q * total, 0.0, 0.0
        for le, count in buckets:
            if count >= rank:
                if le == float("inf"):
                    out.append(lower * 1000)
                else:
                    inside = count - below
                    out.append((lower + (le - lower) * ((rank - below) / inside if inside else 1)) * 1000)
                break
            lower, below = le, count
    return out, int(total)


def gauge(samples, name, label=None):
    """The sum of a metric's samples, or of those carrying `label` (a (key, value) pair)."""
    return sum(v for (n, ls), v in samples.items() if n == name and (label is None or label in ls))


def zones(zs):
    for z in zs:
        yield z
        yield from zones(z.get("children", []))


def cmd_check(pods_path, cnrs_path):
    pods = json.load(open(pods_path))["items"]
    numa_cpu, card_mem, card_switch, nic_switch = {}, {}, {}, {}
    for c in json.load(open(cnrs_path))["items"]:
        name = c["metadata"]["name"]
        for z in zones(c.get("status", {}).get("topologyZone", [])):
            attrs = {a["name"]: a["value"] for a in z.get("attributes", [])}
            if z["type"] == "Numa":
                numa_cpu[(name, int(z["name"]))] = int(z["resources"]["allocatable"]["cpu"]) * 1000
            elif z["type"] == "GPU":
                card_mem[(name, int(attrs["index"]))] = int(z["resources"]["allocatable"]["nvidia.com/gpumem"])
                card_switch[(name, int(attrs["index"]))] = attrs.get("pcie_switch")
            elif z["type"] == "NIC":
                nic_switch[(name, z["name"])] = attrs.get("pcie_switch")
    used_cpu, used_milli, used_mem, errors, checked = {}, {}, {}, [], 0
    for p in pods:
        name, node = p["metadata"]["name"], p["spec"].get("nodeName")
        kind = p["metadata"]["labels"].get("kind")
        raw = p["metadata"].get("annotations", {}).get("tessera.io/allocation")
        if not node:
            errors.append("%s: not bound" % name)
            continue
        if not raw:
            if kind != "plain":
                errors.append("%s (%s): bound to %s without an allocation" % (name, kind, node))
            continue
        a = json.loads(raw)
        checked += 1
        if a["node"] != node:
            errors.append("%s: allocation for %s but bound to %s" % (name, a["node"], node))
        if a.get("cpu_pinned"):
            for s in a["numa"]:
                used_cpu[(node, s["id"])] = used_cpu.get((node, s["id"]), 0) + s["cpu_milli"]
        for g in a["gpus"]:
            key = (node, g["index"])
            used_milli[key] = used_milli.get(key, 0) + g["milli"]
            used_mem[key] = used_mem.get(key, 0) + g.get("memory_mib", 0)
        if kind == "dedicated" and len(a["numa"]) != 1:
            errors.append("%s: NUMA-bound pod not on exactly one NUMA node: %s" % (name, a["numa"]))
        if kind in ("card", "gpu-rdma") and (len(a["gpus"]) != 1 or a["gpus"][0]["milli"] != 1000):
            errors.append("%s: did not get one whole card: %s" % (name, a["gpus"]))
        if kind == "gpu-rdma":
            switches = {card_switch.get((node, g["index"])) for g in a["gpus"]} | \
                       {nic_switch.get((node, x["name"])) for x in a.get("nics", [])}
            if len(a.get("nics", [])) != 1 or len(switches) != 1 or None in switches:
                errors.append("%s: card and NIC not under one PCIe switch: %s" % (name, a))
    for key, used in used_cpu.items():
        if key not in numa_cpu or used > numa_cpu[key]:
            errors.append("NUMA node %s over-committed: %d of %s millicpu" % (key, used, numa_cpu.get(key)))
    for key, used in used_milli.items():
        if key not in card_mem or used > 1000:
            errors.append("card %s over-committed: %d milli" % (key, used))
        elif used_mem.get(key, 0) > card_mem[key]:
            errors.append("card %s memory over-committed: %d of %d MiB" % (key, used_mem[key], card_mem[key]))
    return errors, checked, len(pods)


def ms(v):
    return "-" if v is None else ("%.1f" % v)


def ratio(a, b):
    return "-" if not a or not b else "%.2f" % (a / b)


def cmd_table(directory, nodes):
    def load(name):
        path = os.path.join(directory, name)
        return json.load(open(path)) if os.path.exists(path) else None

    rows = {s: {m: load("%s-%s.json" % (s, m)) for m in ("batch", "paced")} for s in ("plain", "tessera")}
    cpu = {s: (load("%s-cpu-before.json" % s), load("%s-cpu-after.json" % s)) for s in ("plain", "tessera")}
    summary = {"nodes": nodes, "schedulers": {}}
    print("scale run: %d nodes; the same pods through a plain kube-scheduler and kube-scheduler + tessera-extender"
          % nodes)
    print("  %-28s %9s %9s %9s %9s %9s %9s" % ("", "batch", "batch", "batch", "paced", "paced", "paced"))
    print("  %-28s %9s %9s %9s %9s %9s %9s" % ("scheduler", "pods", "pods/s", "p99 ms", "pods/s", "p50 ms",
                                               "p99 ms"))
    for s, label in (("plain", "plain kube-scheduler"), ("tessera", "kube-scheduler + Tessera")):
        b, p = rows[s]["batch"] or {}, rows[s]["paced"] or {}
        print("  %-28s %9s %9s %9s %9s %9s %9s" % (label, b.get("pods", "-"), b.get("pods_per_s", "-"),
                                                   ms(b.get("p99_ms")), p.get("pods_per_s", "-"),
                                                   ms(p.get("p50_ms")), ms(p.get("p99_ms"))))
        summary["schedulers"][s] = {"batch": b, "paced": p}
        before, after = cpu[s]
        if before and after:
            pods = b.get("bound", 0) + p.get("bound", 0)
            for proc in after:
                if proc in before and pods:
                    summary["schedulers"][s]["%s_cpu_ms_per_pod" % proc] = \
                        round((after[proc]["cpu_s"] - before[proc]["cpu_s"]) * 1000 / pods, 2)
            if "extender" in after:
                summary["schedulers"][s]["extender_peak_rss_mib"] = round(after["extender"]["hwm_mib"], 1)
    t, pl = summary["schedulers"]["tessera"], summary["schedulers"]["plain"]
    print("  ratio Tessera / plain: batch pods/s %s, paced p99 %s (targets at 1,000 nodes: >= 0.8, <= 2)" % (
        ratio(t["batch"].get("pods_per_s"), pl["batch"].get("pods_per_s")),
        ratio(t["paced"].get("p99_ms"), pl["paced"].get("p99_ms"))))
    print("  CPU per bound pod (ms): kube-scheduler plain %s, with Tessera %s; tessera-extender %s" % (
        pl.get("scheduler_cpu_ms_per_pod", "-"), t.get("scheduler_cpu_ms_per_pod", "-"),
        t.get("extender_cpu_ms_per_pod", "-")))
    before, after = (os.path.join(directory, "metrics-%s.txt" % x) for x in ("before", "after"))
    if os.path.exists(before) and os.path.exists(after):
        mb, ma = parse_metrics(before), parse_metrics(after)
        verbs = {}
        for verb in VERBS:
            (p50, p99), n = histogram_quantiles(mb, ma, verb)
            verbs[verb] = {"count": n, "p50_ms": p50, "p99_ms": p99}
        bound = t["batch"].get("bound", 0) + t["paced"].get("bound", 0)
        def delta(name, label=None):  # what the run added to a counter or gauge
            return gauge(ma, name, label) - gauge(mb, name, label)
        rebuilds = delta("tessera_extender_state_rebuilds")
        node_rebuilds = delta("tessera_extender_node_rebuilds")
        t["extender_verbs"] = verbs
        t["binds"] = {o: int(delta("tessera_extender_binds_total", ("outcome", o)))
                      for o in ("bound", "error", "repeated")}
        t["held_binds"] = {o: int(delta("tessera_extender_held_binds_total", ("outcome", o)))
                           for o in ("taken", "elsewhere")}
        print("  extender binds: %d bound, %d refused or failed (kube-scheduler retries those), %d repeated; of the "
              "pods prioritize held a placement for, %d bound on the held node, %d elsewhere" % (
                  t["binds"]["bound"], t["binds"]["error"], t["binds"]["repeated"], t["held_binds"]["taken"],
                  t["held_binds"]["elsewhere"]))
        t["full_rebuilds_per_pod"] = round(rebuilds / bound, 3) if bound else None
        t["node_rebuilds_per_pod"] = round(node_rebuilds / bound, 3) if bound else None
        print("  extender (its own histograms): " + ", ".join(
            "%s %d calls p50 %s / p99 %s ms" % (v, d["count"], ms(d["p50_ms"]), ms(d["p99_ms"]))
            for v, d in verbs.items()))
        print("  extender state: %s full rebuilds and %s single-node re-derivations per bound pod; peak RSS %s MiB"
              % (t["full_rebuilds_per_pod"], t["node_rebuilds_per_pod"], t.get("extender_peak_rss_mib", "-")))
    check = None
    for path in sorted(glob.glob(os.path.join(directory, "check-*.json"))):
        part = json.load(open(path))
        check = check or {"checked": 0, "errors": []}
        check["checked"] += part["checked"]
        check["errors"] += part["errors"]
    if check is not None:
        summary["check"] = check
        print("  placements: %d Tessera allocations checked against the CNRs: %s" % (
            check["checked"], "no NUMA node or card over-committed" if not check["errors"] else
            "%d ERRORS" % len(check["errors"])))
    with open(os.path.join(directory, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    return 0 if check is not None and not check["errors"] else 1


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    cmd = argv[1]
    if cmd == "probe":
        cmd_probe(argv[2], argv[3:])
    elif cmd == "scrape":
        cmd_scrape(argv[2], argv[3])
    elif cmd == "check":
        errors, checked, total = cmd_check(argv[2], argv[3])
        json.dump({"errors": errors, "checked": checked, "pods": total}, open(argv[4], "w"))
        for e in errors[:20]:
            print("check: " + e, file=sys.stderr)
        sys.exit(1 if errors else 0)
    elif cmd == "table":
        sys.exit(cmd_table(argv[2], int(argv[3])))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
