#!/usr/bin/env python3
"""Writes what scripts/bench.sh measured into the READMEs, so no figure there is typed by hand.

  scripts/bench_tables.py RESULTS_DIR

RESULTS_DIR holds each benchmark's output as bench.sh saved it (<name>.txt). bench/README.md gets, between its
`<!-- bench.sh:begin -->` and `<!-- bench.sh:end -->` markers, one table per benchmark (each benchmark's own
printed table, verbatim) with the date and machine; README.md gets its headline rows, between
`<!-- headline:begin -->` and `<!-- headline:end -->`, taken from the same outputs.
"""
import datetime
import os
import platform
import json
import re
import sys

ROW = re.compile(r"^(?P<name>.+?)\s+(?P<median>[0-9.]+)\s+(?P<p99>[0-9.]+)\s+(?P<target>[0-9.]+)\s+"
                 r"(?P<ratio>[0-9.]+)\s+(?P<verdict>within target|OVER TARGET)\s*$")


def read(results, name):
    path = os.path.join(results, name + ".txt")
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return f.read()


def rows(text):
    """PrintRow lines (bench/bench_stats.h): name -> (median, p99, target, verdict)."""
    out = {}
    for line in (text or "").splitlines():
        m = ROW.match(line.strip())
        if m:
            out[m.group("name").strip()] = (float(m.group("median")), float(m.group("p99")),
                                            float(m.group("target")), m.group("verdict"))
    return out


def machine():
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({cpu}), {platform.system()} {platform.release()}"


def replace_between(path, begin, end, body):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    i, j = text.find(begin), text.find(end)
    if i < 0 or j < i:
        sys.exit(f"bench_tables: {path} lacks the markers {begin} ... {end}")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text[: i + len(begin)] + "\n" + body.rstrip() + "\n" + text[j:])


def sim_row(text, policy):
    for line in (text or "").splitlines():
        parts = line.split()
        if parts and parts[0] == policy and len(parts) >= 12:
            return float(parts[-2]), float(parts[-1])  # wall_s, peakMB
    return None


def extender_row(text, mode):
    for line in (text or "").splitlines():
        parts = line.replace("|", " ").split()
        if len(parts) >= 12 and parts[1] == mode and parts[3] == "1":
            return [float(x) for x in parts[4:10]]  # ours rps p50 p99, floor rps p50 p99
    return None


def churn_rows(text):
    out = {}
    for line in (text or "").splitlines():
        m = re.match(r"^(churn|cold|stalled)\s+(.+?)\s+p50\s+([0-9.]+)\s+p99\s+([0-9.]+) ms \| floor p50\s+([0-9.]+)"
                     r"\s+p99\s+([0-9.]+)", line)
        if m:
            out[(m.group(1), m.group(2).strip())] = tuple(float(m.group(k)) for k in (3, 4, 5, 6))
    cycles = re.search(r"churn: ([0-9]+) cycles/s \(floor ([0-9]+)", text or "")
    rss = re.search(r"peak RSS of the whole process[^:]*: ([0-9]+) MiB", text or "")
    rebuilds = re.search(r"([0-9.]+) node re-derivations per cycle and ([0-9]+) whole rebuilds", text or "")
    return out, cycles, rss, rebuilds


def headline(results):
    lines = ["| bench | what | result | target |", "|---|---|---|---|"]
    fgd, tessera = sim_row(read(results, "sim-fgd"), "fgd"), sim_row(read(results, "sim-tessera"), "tessera")
    sweep = re.search(r"wall time: ([0-9]+) s", read(results, "sweep") or "")
    if fgd and tessera:
        lines.append(f"| `tessera-sim` | one openb run (1,213 nodes), fgd / tessera, one core | {fgd[0]:.2f} s / "
                     f"{tessera[0]:.2f} s, {max(fgd[1], tessera[1]):.0f} MB"
                     + (f"; the paper's whole table (`scripts/sweep.sh`): {sweep.group(1)} s" if sweep else "")
                     + " | ≤ 1 s, ≤ 200 MB |")
    gpu = rows(read(results, "gpu"))
    t, f = gpu.get("schedule 1 GPU share: tessera"), gpu.get("schedule 1 GPU share: fgd")
    if t and f:
        lines.append(f"| `tessera-bench-gpu` | one GPU share on openb at 50 % load, tessera / fgd | median "
                     f"{t[0]:.2f} / {f[0]:.2f} ms, p99 {t[1]:.2f} / {f[1]:.2f} ms | ≤ 1 ms |")
    names, cold = extender_row(read(results, "extender-names-cnr"), "names"), \
        extender_row(read(results, "extender-cold-cnr"), "cold")
    if names and cold:
        lines.append(f"| `tessera-bench-extender` | 5,000 nodes, node-names mode, one client: filter of a known "
                     f"shape; of a new shape (cold) | {names[0]:,.0f} req/s, p99 {names[2]:.2f} ms (floor "
                     f"{names[3]:,.0f}, {names[5]:.2f} ms); cold {cold[0]:,.0f} req/s, p99 {cold[2]:.2f} ms (floor "
                     f"{cold[3]:,.0f}, {cold[5]:.2f} ms) | ≥ 1,000 req/s, p99 ≤ 2 ms |")
    churn, cycles, rss, rebuilds = churn_rows(read(results, "churn"))
    if cycles and ("churn", "filter") in churn:
        f = churn[("churn", "filter")]
        p = churn.get(("churn", "prioritize"), (0, 0, 0, 0))
        s = churn.get(("stalled", "filter, one bind hung"), (0, 0, 0, 0))
        c = churn.get(("cold", "filter"), (0, 0, 0, 0))
        lines.append(f"| `tessera-bench-churn` | 5,000 nodes × 8 NUMA, 100,000 bound pods, filter + prioritize + "
                     f"bind + its event, 200 unrelated pod events/s | {cycles.group(1)} cycles/s (floor "
                     f"{cycles.group(2)}); p99 filter {f[1]:.2f} / prioritize {p[1]:.2f} ms (floor {f[3]:.2f} / "
                     f"{p[3]:.2f}); cold filter p99 {c[1]:.2f} ms; filter p99 while a bind hangs {s[1]:.2f} ms"
                     + (f"; {rebuilds.group(1)} node re-derivations per cycle, {rebuilds.group(2)} whole rebuilds"
                        if rebuilds else "")
                     + (f"; peak RSS {rss.group(1)} MiB" if rss else "")
                     + " | ≥ 800 cycles/s, p99 ≤ 2 ms (cold 2 ms, hung bind 5 ms), ≤ 1 GB |")
    for nodes, target in (("1000", "≥ 0.8× plain pods/s; paced p99 ≤ 2× plain"), ("5000", "≥ 0.7× plain pods/s; RSS ≤ 1 GB")):
        summary = os.path.join(results, f"scale-{nodes}", "summary.json")
        if not os.path.exists(summary):
            continue
        s = json.load(open(summary))
        p, t = s["schedulers"]["plain"], s["schedulers"]["tessera"]
        lines.append(
            f"| `bench/scale/run.sh` | real kube-apiserver + kube-scheduler v1.20.2, {int(nodes):,} Nodes with CNRs, "
            f"2,000-pod batch then 50 pods/s for 60 s; plain / + Tessera | batch {p['batch']['pods_per_s']:.1f} / "
            f"{t['batch']['pods_per_s']:.1f} pods/s ({t['batch']['pods_per_s'] / p['batch']['pods_per_s']:.2f}×); "
            f"paced p99 {p['paced']['p99_ms']:.0f} / {t['paced']['p99_ms']:.0f} ms "
            f"({t['paced']['p99_ms'] / p['paced']['p99_ms']:.1f}×); extender peak RSS "
            f"{t.get('extender_peak_rss_mib', 0):.0f} MiB, {t.get('full_rebuilds_per_pod', 0)} full rebuilds per pod "
            f"| {target} |")
    rep = rows(read(results, "reporter")).get("discover+encode")
    rep_rss = re.search(r"memory\s+([0-9.]+) MiB peak RSS", read(results, "reporter") or "")
    if rep:
        lines.append(f"| `tessera-bench-reporter` | hwloc discovery + CNR build + encode on `topo.jrc0386.xml` | "
                     f"median {rep[0]:.1f} ms, p99 {rep[1]:.1f} ms"
                     + (f"; peak RSS {float(rep_rss.group(1)):.1f} MiB" if rep_rss else "") + " | ≤ 50 ms, ≤ 20 MB |")
    sched = rows(read(results, "scheduler")).get("filter+score 1 pod (dedicated, binding)")
    if sched:
        lines.append(f"| `tessera-bench-scheduler` | filter + score one NUMA-bound pod on 5,000 nodes × 8 NUMA "
                     f"nodes, ~50 % allocated | median {sched[0]:.2f} ms, p99 {sched[1]:.2f} ms | ≤ 1 ms |")
    return "\n".join(lines)


SECTIONS = [
    ("reporter", "tessera-bench-reporter"),
    ("scheduler", "tessera-bench-scheduler"),
    ("gpu", "tessera-bench-gpu"),
    ("sim-tessera", "tessera-sim --policy tessera (one openb run)"),
    ("sim-fgd", "tessera-sim --policy fgd"),
    ("sim-bestfit", "tessera-sim --policy bestfit"),
    ("extender-names-cnr", "tessera-bench-extender, names mode, CNR nodes"),
    ("extender-names-nrt", "tessera-bench-extender, names mode, NRT nodes"),
    ("extender-cold-cnr", "tessera-bench-extender, cold, CNR nodes"),
    ("extender-cold-nrt", "tessera-bench-extender, cold, NRT nodes"),
    ("churn", "tessera-bench-churn (production scale)"),
    ("synthetic", "tessera-sim, synthetic topology workload"),
    ("scale-1000", "bench/scale/run.sh, 1,000 Nodes (real control plane)"),
    ("scale-5000", "bench/scale/run.sh, 5,000 Nodes (real control plane)"),
]


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    results = sys.argv[1]
    day = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    body = [f"Latest run: {day}, {machine()}. Every table below is the benchmark's own output, as "
            "`scripts/bench.sh` ran it (the command is above each); the root README's headline rows are read from "
            "them."]
    for name, title in SECTIONS:
        text = read(results, name)
        if text is None:
            continue
        command = read(results, name + ".cmd")
        body.append(f"\n#### {title}\n")
        if command:
            body.append(f"`{command.strip()}`\n")
        body.append("```\n" + text.strip("\n") + "\n```")
    sweep = read(results, "sweep")
    if sweep:
        body.append("\n#### The paper's table (`scripts/sweep.sh`)\n")
        body.append("\n".join(line[2:] if line.startswith("# ") else line for line in sweep.strip("\n").splitlines()))
    replace_between("bench/README.md", "<!-- bench.sh:begin -->", "<!-- bench.sh:end -->", "\n".join(body))
    replace_between("README.md", "<!-- headline:begin -->", "<!-- headline:end -->",
                    f"Run of {day}, {machine()}:\n\n" + headline(results))


if __name__ == "__main__":
    main()
