// tessera-sim: replay a GPU-cluster trace (or a synthetic topology workload) through Tessera's scheduling core
// and its baselines, side by side, and report placement quality, admission failures, speed and memory.
//
//   tessera-sim                                   # openb default trace (bench/data), every policy, seed 42
//   tessera-sim --policy tessera,fgd --repeat 10 --out out/sim
//   tessera-sim --topology-xml a.xml --topology-xml b.xml --nodes-per-topology 50 --workload mix --synthetic-pods
//   20000
//
// Exit codes: 0 success, 1 a run failed, 2 bad input (flags, files, policy names); nothing is written on error.
#include <gflags/gflags.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "bench/sim/replay.h"
#include "bench/sim/simulator.h"
#include "bench/sim/summary.h"
#include "bench/sim/synthetic.h"
#include "bench/sim/trace.h"
#include "kube/time_format.h"
#include "scoring/framework.h"
#include "state/cluster_store.h"
#include "topology/hwloc_discovery.h"

DEFINE_string(nodes, "", "openb node list CSV (default: bench/data/openb_node_list_gpu_node.csv)");
DEFINE_string(pods, "", "openb pod list CSV (default: bench/data/openb_pod_list_default.csv)");
DEFINE_string(topology_xml, "",
              "hwloc XML topologies for a synthetic cluster, comma-separated (or repeat the flag)");
DEFINE_int32(nodes_per_topology, 20, "synthetic cluster: copies of each topology");
DEFINE_string(workload, "mix", "synthetic workload: mix|numa|gpu|rdma");
DEFINE_int32(synthetic_pods, 5000, "synthetic workload: pods generated before tuning");
DEFINE_string(snapshot, "",
              "cluster dump as the starting cluster, as tessera-extender --snapshot reads it: one List of Nodes, "
              "Pods and CNRs, or a directory of nodes.json, pods.json, cnrs.json");
DEFINE_string(
    now, "",
    "With --snapshot: the moment (RFC 3339) CNR heartbeats are judged at; default the dump's newest timestamp");
DEFINE_string(policy, "tessera,fgd,bestfit,dotprod,packing,clustering,random,binpack,spread",
              "policies to compare, comma-separated");
DEFINE_uint64(seed, 42, "first seed (the paper used 42..51)");
DEFINE_int32(repeat, 1, "seeds per policy; medians are reported");
DEFINE_double(max_load, 130, "stop arrivals at this % of cluster GPU capacity");
DEFINE_string(out, "", "write per-policy curve CSVs, curves.png and summary.json here");
DEFINE_bool(quiet, false, "no progress bar");
DEFINE_string(resource_policy, "dynamic", "node agent: dynamic (Katalyst QRM) or native (kubelet managers)");
DEFINE_int32(jobs, 0, "runs in parallel (default: CPU count)");
DEFINE_string(strategy, "MostAllocated", "synthetic workloads: LeastAllocated|MostAllocated|BalancedAllocation");
DEFINE_string(
    pod_order, "",
    "trace runs: submit exactly these pods in this order (a CSV with a trace_pod, pod or name column, or "
    "one name per line; names may repeat), instead of the seeded shuffle and tuning");
DEFINE_string(follow, "",
              "with --pod-order: a CSV with a node column, one row per submitted pod: place each pod where that "
              "run did (empty: it failed) while the policy still scores every node, and count how often that "
              "node was among the policy's top-scored");
DEFINE_string(
    reference, "",
    "trace runs: the FGD authors' median_unallocated_gpu_pct.csv; prints a markdown table of our medians "
    "beside theirs for this trace (fgd must be within 0.3 points, the other baselines within 0.5)");
DEFINE_string(decisions_out, "",
              "one policy, one seed: write index,pod,node,cards,followed_in_top,top_nodes per submitted pod here");

namespace {

using tessera::Result;
using tessera::Status;
namespace sim = tessera::sim;
using sim::Num;
using sim::PaperAt100;
using sim::PolicySummary;
using sim::PrintReferenceTable;
using sim::ReadResult;
using sim::WriteResult;

int BadInput(const std::string& msg) {
  std::cerr << "tessera-sim: " << msg << "\n";
  return 2;
}

std::vector<std::string> SplitList(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  gflags::SetUsageMessage("replays a trace through Tessera's scheduler and baselines (see bench/README.md)");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  if (argc > 1) return BadInput(std::string("unexpected argument ") + argv[1]);
  const std::string source_dir = TESSERA_SOURCE_DIR;

  const std::vector<std::string> policies = SplitList(FLAGS_policy);
  const std::vector<std::string> known = sim::SimPolicyNames();
  if (policies.empty()) return BadInput("--policy is empty");
  for (const std::string& p : policies) {
    if (std::find(known.begin(), known.end(), p) == known.end()) {
      std::string list;
      for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
      return BadInput("--policy: unknown policy \"" + p + "\" (known: " + list + ")");
    }
  }
  if (FLAGS_repeat < 1 || FLAGS_repeat > 1000) return BadInput("--repeat must be 1..1000");
  if (!(FLAGS_max_load > 0 && FLAGS_max_load <= 1000)) return BadInput("--max-load must be within (0, 1000]");
  tessera::scoring::ResourcePolicy resource_policy;
  if (FLAGS_resource_policy == "dynamic") {
    resource_policy = tessera::scoring::ResourcePolicy::kDynamic;
  } else if (FLAGS_resource_policy == "native") {
    resource_policy = tessera::scoring::ResourcePolicy::kNative;
  } else {
    return BadInput("--resource-policy must be dynamic or native");
  }

  auto strategy = tessera::scoring::ParseAllocationStrategy(FLAGS_strategy);
  if (!strategy.ok()) return BadInput("--strategy: " + strategy.status().message());

  const bool replay = !FLAGS_pod_order.empty() || !FLAGS_follow.empty() || !FLAGS_decisions_out.empty();
  if (!FLAGS_follow.empty() && FLAGS_pod_order.empty()) return BadInput("--follow needs --pod-order");
  if (replay && (!FLAGS_snapshot.empty() || !FLAGS_topology_xml.empty()))
    return BadInput("--pod-order, --follow and --decisions-out apply to trace runs (--nodes/--pods)");
  if (!FLAGS_decisions_out.empty() && (policies.size() != 1 || FLAGS_repeat != 1))
    return BadInput("--decisions-out needs exactly one policy and --repeat 1");

  sim::Workload workload;
  std::string what;
  std::vector<sim::TraceNode> trace_nodes;
  std::optional<std::vector<size_t>> pod_order;
  std::optional<std::vector<int>> followed;
  if (!FLAGS_snapshot.empty()) {
    // The extender's own store builds the starting state: same nodes, capacity and ledger it would decide on.
    tessera::state::ClusterStore store{tessera::state::StoreOptions{}};
    std::optional<std::chrono::system_clock::time_point> now;
    if (!FLAGS_now.empty()) {
      now.emplace();
      if (!tessera::kube::ParseRfc3339(FLAGS_now, &*now))
        return BadInput("--now: not an RFC 3339 time: " + FLAGS_now);
    }
    if (Status s = store.LoadSnapshot(FLAGS_snapshot, now); !s.ok()) return BadInput("--snapshot: " + s.message());
    workload.initial = store.ClusterWithTopology();
    if (workload.initial->node_count() == 0)
      return BadInput("--snapshot: no node has a usable, fresh CustomNodeResource");
    workload.nodes = workload.initial->nodes();
    workload.trace_mode = false;
    if (!FLAGS_pods.empty()) {
      auto pods = sim::LoadTracePods(FLAGS_pods);
      if (!pods.ok()) return BadInput(pods.status().message());
      for (size_t i = 0; i < pods->size(); ++i)
        workload.pods.push_back(sim::PodFromTrace((*pods)[i], std::to_string(i)));
    } else {
      if (!sim::IsWorkloadKind(FLAGS_workload)) return BadInput("--workload must be mix, numa, gpu or rdma");
      workload.pods = sim::SyntheticPods(FLAGS_workload, FLAGS_synthetic_pods, FLAGS_seed);
    }
    what = "snapshot " + FLAGS_snapshot + " (" + std::to_string(workload.nodes.size()) + " nodes, " +
           std::to_string(workload.initial->pod_count()) + " pods placed), " +
           std::to_string(workload.pods.size()) + " pods";
  } else if (!FLAGS_topology_xml.empty()) {
    if (!sim::IsWorkloadKind(FLAGS_workload)) return BadInput("--workload must be mix, numa, gpu or rdma");
    if (FLAGS_nodes_per_topology < 1 || FLAGS_synthetic_pods < 1) {
      return BadInput("--nodes-per-topology and --synthetic-pods must be positive");
    }
    std::vector<tessera::topology::NodeTopology> topologies;
    for (const std::string& path : SplitList(FLAGS_topology_xml)) {
      tessera::topology::DiscoveryOptions o;
      o.xml_path = path;
      auto t = tessera::topology::DiscoverTopology(o);
      if (!t.ok()) return BadInput("--topology-xml " + path + ": " + t.status().message());
      topologies.push_back(t->topology);
    }
    workload = sim::SyntheticWorkload(topologies, FLAGS_nodes_per_topology, FLAGS_workload, FLAGS_synthetic_pods,
                                      FLAGS_seed);
    what = std::to_string(workload.nodes.size()) + " nodes from " + std::to_string(topologies.size()) +
           " topologies, workload " + FLAGS_workload + " (" + std::to_string(workload.pods.size()) + " pods)";
  } else {
    const std::string nodes_path =
        FLAGS_nodes.empty() ? source_dir + "/bench/data/openb_node_list_gpu_node.csv" : FLAGS_nodes;
    const std::string pods_path =
        FLAGS_pods.empty() ? source_dir + "/bench/data/openb_pod_list_default.csv" : FLAGS_pods;
    auto nodes = sim::LoadTraceNodes(nodes_path);
    if (!nodes.ok()) return BadInput(nodes.status().message());
    auto pods = sim::LoadTracePods(pods_path);
    if (!pods.ok()) return BadInput(pods.status().message());
    int gpus = 0;
    for (const sim::TraceNode& n : *nodes) {
      workload.nodes.push_back(sim::NodeFromTrace(n));
      gpus += n.gpus;
    }
    for (size_t i = 0; i < pods->size(); ++i)
      workload.pods.push_back(sim::PodFromTrace((*pods)[i], std::to_string(i)));
    what = std::filesystem::path(pods_path).filename().string() + " on " + std::to_string(nodes->size()) +
           " nodes / " + std::to_string(gpus) + " GPUs (" + std::to_string(pods->size()) + " pods before tuning)";
    if (!FLAGS_pod_order.empty()) {
      auto order = sim::LoadPodOrder(FLAGS_pod_order, *pods);
      if (!order.ok()) return BadInput("--pod-order: " + order.status().message());
      pod_order = std::move(*order);
      what += ", replaying " + std::to_string(pod_order->size()) + " pods in the order of " + FLAGS_pod_order;
    }
    if (!FLAGS_follow.empty()) {
      auto f = sim::LoadFollowedNodes(FLAGS_follow, *nodes, pod_order->size());
      if (!f.ok()) return BadInput("--follow: " + f.status().message());
      followed = std::move(*f);
      what += ", following its nodes";
    }
    trace_nodes = std::move(*nodes);
  }

  // Runs: every (policy, seed), in forked children, --jobs at a time: each run gets its own process, so its wall
  // time and peak RSS are its own.
  struct Job {
    std::string policy;
    uint64_t seed;
  };
  std::vector<Job> jobs;
  for (const std::string& p : policies) {
    for (int k = 0; k < FLAGS_repeat; ++k) jobs.push_back({p, FLAGS_seed + static_cast<uint64_t>(k)});
  }
  const int parallel = FLAGS_jobs > 0 ? FLAGS_jobs : std::max(1, static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)));
  const size_t curve_len = static_cast<size_t>(FLAGS_max_load) + 1;
  const bool show_progress = !FLAGS_quiet && isatty(STDOUT_FILENO);
  std::cout << "tessera-sim: " << what << "; " << policies.size() << " polic"
            << (policies.size() == 1 ? "y" : "ies") << " x " << FLAGS_repeat << " seed(s) from " << FLAGS_seed
            << ", max load " << FLAGS_max_load << " %, " << parallel << " at a time\n";

  std::map<std::string, PolicySummary> summaries;
  std::vector<std::pair<size_t, size_t>> progress(jobs.size(), {0, 1});
  auto draw = [&] {
    if (!show_progress) return;
    double done = 0;
    for (const auto& [d, t] : progress) done += t > 0 ? static_cast<double>(d) / static_cast<double>(t) : 0;
    const double frac = done / static_cast<double>(jobs.size());
    const int width = 40;
    std::string bar(static_cast<size_t>(frac * width), '#');
    bar.resize(width, '.');
    std::printf("\r[%s] %5.1f %%", bar.c_str(), 100.0 * frac);
    std::fflush(stdout);
  };
  size_t next = 0;
  int failures = 0;
  struct Running {
    pid_t pid;
    size_t job;
    FILE* pipe;
  };
  std::vector<Running> running;
  while (next < jobs.size() || !running.empty()) {
    while (next < jobs.size() && static_cast<int>(running.size()) < parallel) {
      int fds[2];
      if (pipe(fds) != 0) return BadInput("pipe failed");
      std::fflush(stdout);
      pid_t pid = fork();
      if (pid == 0) {
        close(fds[0]);
        FILE* out = fdopen(fds[1], "w");
        sim::RunConfig rc;
        rc.policy = jobs[next].policy;
        rc.seed = jobs[next].seed;
        rc.max_load_pct = FLAGS_max_load;
        rc.resource_policy = resource_policy;
        rc.strategy = *strategy;
        rc.pod_order = pod_order ? &*pod_order : nullptr;
        rc.follow = followed ? &*followed : nullptr;
        std::vector<sim::Decision> decisions;
        if (!FLAGS_decisions_out.empty()) rc.decisions = &decisions;
        sim::RunResult r = sim::RunOnce(workload, rc, [&](size_t d, size_t t) {
          std::fprintf(out, "P %zu %zu\n", d, t);
          std::fflush(out);
        });
        if (!FLAGS_decisions_out.empty()) {
          if (Status st = sim::WriteDecisions(FLAGS_decisions_out, decisions, trace_nodes); !st.ok()) {
            std::fprintf(stderr, "tessera-sim: --decisions-out: %s\n", st.message().c_str());
            _exit(1);
          }
        }
        WriteResult(out, r);
        std::fclose(out);
        _exit(0);
      }
      close(fds[1]);
      running.push_back({pid, next, fdopen(fds[0], "r")});
      ++next;
    }
    // Read the oldest running job to completion (its progress lines arrive as it works).
    Running r = running.front();
    running.erase(running.begin());
    std::string text;
    char buf[4096];
    std::string pending;
    while (fgets(buf, sizeof(buf), r.pipe) != nullptr) {
      text += buf;
      if (buf[0] == 'P') {
        size_t d = 0, t = 0;
        if (std::sscanf(buf, "P %zu %zu", &d, &t) == 2) progress[r.job] = {d, t};
        draw();
      }
    }
    std::fclose(r.pipe);
    int status = 0;
    waitpid(r.pid, &status, 0);
    std::istringstream in(text);
    sim::RunResult result;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !ReadResult(in, curve_len, &result, nullptr)) {
      std::cerr << "\ntessera-sim: run " << jobs[r.job].policy << " seed " << jobs[r.job].seed << " failed\n";
      ++failures;
      continue;
    }
    progress[r.job] = {1, 1};
    draw();
    summaries[result.policy].policy = result.policy;
    summaries[result.policy].runs.push_back(std::move(result));
  }
  if (show_progress) std::printf("\n");
  if (failures > 0) return 1;

  // ---- terminal table
  using sim::CurvePoint;
  std::printf("\n%-15s %7s %7s %10s %10s %10s %9s %9s %8s %8s %8s %9s\n", "policy", "sched", "failed",
              "unalloc@100", "unalloc@130", "paper@100", "frag@100", "admitFail", "antiAff", "sameSw", "wall_s",
              "peakMB");
  for (const std::string& p : policies) {
    const PolicySummary& s = summaries[p];
    const double same_switch_pods =
        s.MedianOf([](const sim::RunResult& r) { return static_cast<double>(r.gpu_rdma_pods); });
    std::optional<double> same_rate;
    if (same_switch_pods > 0) {
      same_rate = s.MedianOf([](const sim::RunResult& r) {
        return r.gpu_rdma_pods > 0 ? static_cast<double>(r.gpu_rdma_same_switch) / r.gpu_rdma_pods : 0.0;
      });
    }
    std::printf(
        "%-15s %7.0f %7.0f %10s %10s %10s %9s %9.0f %8.0f %8s %8.2f %9.1f\n", p.c_str(),
        s.MedianOf([](const sim::RunResult& r) { return static_cast<double>(r.pods_scheduled); }),
        s.MedianOf([](const sim::RunResult& r) { return static_cast<double>(r.pods_failed); }),
        Num(s.CurveMedian(100, &CurvePoint::unallocated_pct)).c_str(),
        Num(s.CurveMedian(static_cast<size_t>(std::min(130.0, FLAGS_max_load)), &CurvePoint::unallocated_pct))
            .c_str(),
        Num(workload.trace_mode ? PaperAt100(p) : std::nullopt).c_str(),
        Num(s.CurveMedian(100, &CurvePoint::frag_total_pct)).c_str(),
        s.MedianOf([](const sim::RunResult& r) { return static_cast<double>(r.topology_admission_failures); }),
        s.MedianOf([](const sim::RunResult& r) { return static_cast<double>(r.numa_antiaffinity_violations); }),
        Num(same_rate, 3).c_str(), s.MedianOf([](const sim::RunResult& r) { return r.wall_seconds; }),
        s.MedianOf([](const sim::RunResult& r) { return r.peak_rss_mb; }));
    if (FLAGS_repeat > 1) {
      auto [lo, hi] = s.RangeOf([](const sim::RunResult& r) {
        return r.curve.size() > 100 && r.curve[100] ? r.curve[100]->unallocated_pct : std::nan("");
      });
      std::printf("%-15s   unalloc@100 spread over %d seeds: %.2f .. %.2f\n", "", FLAGS_repeat, lo, hi);
    }
  }
  if (followed) {
    for (const std::string& p : policies) {
      for (const sim::RunResult& r : summaries[p].runs) {
        auto pct = [](int a, int b) { return b > 0 ? 100.0 * a / b : 0.0; };
        std::printf(
            "%s seed %llu following %s: its node among ours top-scored for %d of %d pods before its first "
            "failure (%.2f %%), %d of %d overall (%.2f %%)\n",
            p.c_str(), static_cast<unsigned long long>(r.seed), FLAGS_follow.c_str(), r.follow_early_in_top,
            r.follow_early, pct(r.follow_early_in_top, r.follow_early), r.follow_all_in_top, r.follow_all,
            pct(r.follow_all_in_top, r.follow_all));
      }
    }
  }
  for (const std::string& p : policies) {
    std::map<std::string, int> reasons;
    for (const sim::RunResult& r : summaries[p].runs) {
      for (const auto& [k, v] : r.failure_reasons) reasons[k] += v;
    }
    if (reasons.empty()) continue;
    std::printf("%s failures by rule (all seeds):", p.c_str());
    for (const auto& [k, v] : reasons) std::printf(" %s=%d", k.c_str(), v);
    std::printf("\n");
  }

  if (!FLAGS_reference.empty()) {
    const std::string trace = std::filesystem::path(FLAGS_pods).stem().string();
    if (Status st = PrintReferenceTable(FLAGS_reference, trace, policies, summaries); !st.ok()) {
      std::cerr << "tessera-sim: --reference: " << st.message() << "\n";
      return 2;
    }
  }
  if (FLAGS_out.empty()) return 0;
  // ---- files: built in a staging directory and moved in at the end, so an error leaves nothing partial.
  namespace fs = std::filesystem;
  const fs::path out = FLAGS_out;
  const fs::path staging = out.string() + ".tmp-" + std::to_string(getpid());
  std::error_code ec;
  fs::create_directories(staging, ec);
  if (ec) return BadInput("--out " + out.string() + ": " + ec.message());
  auto fail_out = [&](const std::string& msg) {
    fs::remove_all(staging, ec);
    std::cerr << "tessera-sim: " << msg << "\n";
    return 1;
  };
  for (const std::string& p : policies) {
    std::ofstream csv(staging / ("curve_" + p + ".csv"));
    csv << "arrived_pct,allocated_gpu_pct,unallocated_gpu_pct,frag_total_pct,frag_rate_pct\n";
    for (size_t i = 0; i < curve_len; ++i) {
      const PolicySummary& s = summaries[p];
      csv << i << "," << Num(s.CurveMedian(i, &CurvePoint::allocated_pct), 4) << ","
          << Num(s.CurveMedian(i, &CurvePoint::unallocated_pct), 4) << ","
          << Num(s.CurveMedian(i, &CurvePoint::frag_total_pct), 4) << ","
          << Num(s.CurveMedian(i, &CurvePoint::frag_rate_pct), 4) << "\n";
    }
    if (!csv) return fail_out("cannot write curve CSV");
  }
  {
    std::ofstream js(staging / "summary.json");
    js << "{\"policies\": {";
    bool first = true;
    for (const std::string& p : policies) {
      const PolicySummary& s = summaries[p];
      js << (first ? "" : ",") << "\n  \"" << p << "\": {";
      first = false;
      js << "\"pods_total\": "
         << Num(s.MedianOf([](const sim::RunResult& r) { return static_cast<double>(r.pods_total); }), 0)
         << ", \"pods_scheduled\": "
         << Num(s.MedianOf([](const sim::RunResult& r) { return static_cast<double>(r.pods_scheduled); }), 0)
         << ", \"pods_failed\": "
         << Num(s.MedianOf([](const sim::RunResult& r) { return static_cast<double>(r.pods_failed); }), 0);
      js << ", \"unallocated_gpu_pct\": {";
      bool f2 = true;
      for (int pct : {90, 95, 100, 110, 120, 130}) {
        js << (f2 ? "" : ", ") << "\"" << pct << "\": "
           << (static_cast<size_t>(pct) < curve_len
                   ? Num(s.CurveMedian(static_cast<size_t>(pct), &CurvePoint::unallocated_pct), 4)
                   : "null");
        f2 = false;
      }
      js << "}, \"frag_total_pct\": {";
      f2 = true;
      for (int pct : {20, 40, 60, 80, 90, 100}) {
        js << (f2 ? "" : ", ") << "\"" << pct << "\": "
           << (static_cast<size_t>(pct) < curve_len
                   ? Num(s.CurveMedian(static_cast<size_t>(pct), &CurvePoint::frag_total_pct), 4)
                   : "null");
        f2 = false;
      }
      js << "}, \"topology_admission_failures\": "
         << Num(s.MedianOf(
                    [](const sim::RunResult& r) { return static_cast<double>(r.topology_admission_failures); }),
                0)
         << ", \"numa_antiaffinity_violations\": "
         << Num(s.MedianOf(
                    [](const sim::RunResult& r) { return static_cast<double>(r.numa_antiaffinity_violations); }),
                0)
         << ", \"gpu_nic_same_switch_rate\": ";
      const bool any_rdma =
          s.MedianOf([](const sim::RunResult& r) { return static_cast<double>(r.gpu_rdma_pods); }) > 0;
      js << (any_rdma ? Num(s.MedianOf([](const sim::RunResult& r) {
        return r.gpu_rdma_pods > 0 ? static_cast<double>(r.gpu_rdma_same_switch) / r.gpu_rdma_pods : 0.0;
      }),
                            4)
                      : "null");
      js << ", \"wall_seconds\": " << Num(s.MedianOf([](const sim::RunResult& r) { return r.wall_seconds; }), 3)
         << ", \"peak_rss_mb\": " << Num(s.MedianOf([](const sim::RunResult& r) { return r.peak_rss_mb; }), 1)
         << "}";
    }
    js << "\n}}\n";
    if (!js) return fail_out("cannot write summary.json");
  }
  {
    std::ofstream gp(staging / "curves.gp");
    gp << "set terminal pngcairo noenhanced size 1400,560 font 'sans,10'\nset output 'curves.png'\nset datafile "
          "separator ','\n"
          "set datafile missing 'null'\nset multiplot layout 1,2 title 'tessera-sim: "
       << what
       << "'\nset key top right\nset grid\n"
          "set xlabel 'arrived GPU demand (% of capacity)'\nset ylabel 'unallocated GPU (%)'\nset xrange [50:"
       << FLAGS_max_load << "]\nset yrange [0:*]\nplot ";
    for (size_t i = 0; i < policies.size(); ++i) {
      gp << (i ? ", " : "") << "'curve_" << policies[i] << ".csv' every ::1 using 1:3 with lines lw 2 title '"
         << policies[i] << "'";
    }
    gp << ", (x < 100 ? 100 - x : 0) with lines dt 2 lc 'gray' title 'ideal'\n"
          "set ylabel 'fragmented GPU (% of total)'\nset xrange [0:"
       << FLAGS_max_load << "]\nplot ";
    for (size_t i = 0; i < policies.size(); ++i) {
      gp << (i ? ", " : "") << "'curve_" << policies[i] << ".csv' every ::1 using 1:4 with lines lw 2 title '"
         << policies[i] << "'";
    }
    gp << "\nunset multiplot\n";
  }
  const std::string plot_cmd = "cd '" + staging.string() + "' && gnuplot curves.gp 2>plot.err";
  if (std::system(plot_cmd.c_str()) != 0)
    return fail_out("gnuplot failed drawing the curves (see gnuplot's message above)");
  fs::remove(staging / "plot.err", ec);
  fs::create_directories(out, ec);
  for (const auto& entry : fs::directory_iterator(staging)) {
    fs::rename(entry.path(), out / entry.path().filename(), ec);
    if (ec) return fail_out("cannot move results into " + out.string() + ": " + ec.message());
  }
  fs::remove_all(staging, ec);
  std::printf("wrote %s/{summary.json,curves.png,curve_<policy>.csv}\n", out.string().c_str());
  return 0;
}
