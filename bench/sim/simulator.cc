#include "bench/sim/simulator.h"

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <numeric>
#include <random>
#include <unordered_map>

#include "bench/bench_stats.h"
#include "scoring/device_guess.h"
#include "scoring/gpu_policy.h"
#include "scoring/numa_affinity.h"
#include "scoring/scheduler.h"
#include "scoring/topology_manager.h"
#include "scoring/verdict_memo.h"

namespace tessera::sim {

using scoring::ClusterState;
using scoring::NodeState;
using scoring::PodRequest;

std::vector<std::string> SimPolicyNames() {
  std::vector<std::string> names = scoring::GpuPolicyNames();
  names.push_back("topology-blind");
  return names;
}

namespace {

// The demand that "arrived %" measures: GPU milli on clusters with GPUs, else CPU milli.
struct DemandMeter {
  bool gpu = true;
  double capacity = 1;
  double Of(const PodRequest& p) const {
    return gpu ? static_cast<double>(p.gpu.count) * static_cast<double>(p.gpu.milli_per_gpu)
               : static_cast<double>(p.cpu_milli);
  }
};

DemandMeter MeterFor(const Workload& w) {
  DemandMeter m;
  double gpus = 0, cpu = 0;
  for (const NodeState& n : w.nodes) {
    gpus += static_cast<double>(n.gpus.size()) * 1000.0;
    cpu += static_cast<double>(n.cpu_allocatable_milli);
  }
  m.gpu = gpus > 0;
  m.capacity = m.gpu ? gpus : std::max(1.0, cpu);
  return m;
}

}  // namespace

std::vector<size_t> TunedOrder(const Workload& workload, uint64_t seed, double max_load_pct) {
  std::mt19937_64 rng(seed);
  std::vector<size_t> order(workload.pods.size());
  std::iota(order.begin(), order.end(), 0);
  // Sort by name first so the shuffle does not depend on the input order (the reference simulator does the same).
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return workload.pods[a].name < workload.pods[b].name; });
  std::shuffle(order.begin(), order.end(), rng);
  // Synthetic workloads are generated at the size asked for; the trace protocol's tuning applies to traces.
  if (!workload.trace_mode) return order;
  const DemandMeter meter = MeterFor(workload);
  const double target = meter.capacity * max_load_pct / 100.0;
  double demand = 0;
  for (size_t i : order) demand += meter.Of(workload.pods[i]);
  if (workload.pods.empty()) return order;
  std::uniform_int_distribution<size_t> pick(0, workload.pods.size() - 1);
  bool any_demand = false;
  for (const PodRequest& p : workload.pods) any_demand = any_demand || meter.Of(p) > 0;
  while (any_demand && demand < target) {
    size_t i = pick(rng);
    order.push_back(i);
    demand += meter.Of(workload.pods[i]);
  }
  while (any_demand && demand > target && !order.empty()) {
    std::uniform_int_distribution<size_t> victim(0, order.size() - 1);
    size_t k = victim(rng);
    const double d = meter.Of(workload.pods[order[k]]);
    if (demand - d < target) break;
    demand -= d;
    order.erase(order.begin() + static_cast<long>(k));
  }
  return order;
}

namespace {

// Curves sampled as the paper's analysis does (merge_alloc_discrete.py): after every pod the arrived demand is
// rounded (half to even) to an integer %, and the value at X % is the mean over the pods at X, or over those at
// X-1..X+1 where none rounds to X. The allocation is rounded to 0.01 % before averaging, as there.
class CurveSampler {
 public:
  explicit CurveSampler(int points) : buckets_(static_cast<size_t>(points) + 1) {}
  void Add(double arrived_pct, const CurvePoint& c) {
    const double x = std::nearbyint(arrived_pct);
    if (!(x >= 0) || x >= static_cast<double>(buckets_.size())) return;
    Bucket& b = buckets_[static_cast<size_t>(x)];
    b.allocated += std::nearbyint(c.allocated_pct * 100.0) / 100.0;
    b.frag_total += c.frag_total_pct;
    b.frag_rate += c.frag_rate_pct;
    ++b.n;
  }
  std::vector<std::optional<CurvePoint>> Curve() const {
    std::vector<std::optional<CurvePoint>> out(buckets_.size());
    for (size_t x = 0; x < buckets_.size(); ++x) {
      Bucket sum = buckets_[x];
      if (sum.n == 0) {
        for (size_t y = x > 0 ? x - 1 : 0; y <= x + 1 && y < buckets_.size(); ++y) sum += buckets_[y];
      }
      if (sum.n == 0) continue;
      CurvePoint c;
      c.allocated_pct = sum.allocated / sum.n;
      c.unallocated_pct = 100.0 - c.allocated_pct;
      c.frag_total_pct = sum.frag_total / sum.n;
      c.frag_rate_pct = sum.frag_rate / sum.n;
      out[x] = c;
    }
    return out;
  }

 private:
  struct Bucket {
    double allocated = 0, frag_total = 0, frag_rate = 0;
    int n = 0;
    Bucket& operator+=(const Bucket& o) {
      allocated += o.allocated;
      frag_total += o.frag_total;
      frag_rate += o.frag_rate;
      n += o.n;
      return *this;
    }
  };
  std::vector<Bucket> buckets_;
};

struct Tally {
  double total_gpu_milli = 0;
  double allocated_gpu_milli = 0;
  double cluster_frag = 0;
  std::vector<double> node_frag;
};

// What a topology-blind scheduler (kube-scheduler without Tessera) does: node-level fit, least allocated; on
// the node the agent picks the lowest NUMA node with room (nobody pins) and the first free cards. Returns the
// placement, or nullopt when nothing fits at node level.
std::optional<scoring::Placement> BlindPlacement(const ClusterState& cluster, const PodRequest& pod,
                                                 const scoring::Scheduler& blind, scoring::ResourcePolicy policy,
                                                 std::string* failure) {
  PodRequest flat = pod;
  flat.numa_binding = false;
  flat.numa_exclusive = false;
  flat.affinity = {};
  flat.anti_affinity = {};
  flat.gpu.affinity_required = false;
  if (flat.qos == scoring::QosLevel::kReclaimedCores) flat.numa_binding = false;
  scoring::SchedulingResult r = blind.Schedule(cluster, flat);
  if (r.Best() == nullptr) {
    *failure = r.verdicts.empty() ? "no nodes" : std::string(r.verdicts[0].failed_plugin);
    return std::nullopt;
  }
  scoring::Placement p = r.Best()->placement;
  const NodeState& node = cluster.node(r.Best()->node);
  const bool bound = scoring::IsNumaBound(pod, policy) &&
                     (policy == scoring::ResourcePolicy::kDynamic || node.cpu_manager_static);
  p.numa_mask = 0;
  p.cpu_pinned = p.memory_pinned = p.exclusive = false;
  if (bound && pod.qos != scoring::QosLevel::kReclaimedCores) {
    p.cpu_pinned = true;
    p.memory_pinned = policy == scoring::ResourcePolicy::kDynamic || node.memory_manager_static;
    // The agent's own choice: the kubelet's (or QRM's) lowest NUMA node with room.
    p.numa_mask = scoring::PredictKubeletNumaMask(node, pod, policy);
    if (pod.numa_exclusive) p.exclusive = true;
  }
  // Devices: what the device plugin hands out, blind to switches and NUMA.
  const scoring::DeviceGuess devices = scoring::FirstFitDevices(node, pod);
  p.gpu_mask = devices.gpu_mask;
  p.nic_mask = devices.nic_mask;
  return p;
}

// Points `r.best` at the followed node (`node`, -1: the followed run failed the pod, so it is not placed) and
// records whether that node was among the top-scored feasible nodes. A followed node that our filters reject
// leaves the pod unplaced: the states then differ, and the decision says so (followed_in_top 0).
void Follow(scoring::SchedulingResult& r, int node, Decision* decision) {
  const scoring::NodeVerdict* best = r.Best();
  const double top = best != nullptr ? best->exact_score : 0;
  decision->top_nodes = 0;
  for (const scoring::NodeVerdict& v : r.verdicts) decision->top_nodes += v.feasible() && v.exact_score == top;
  if (node < 0) {
    decision->followed_in_top = best == nullptr ? 1 : 0;
    r.best = -1;
    return;
  }
  decision->followed_in_top = 0;
  int64_t at = -1;
  for (size_t i = 0; i < r.verdicts.size(); ++i) {
    if (static_cast<int>(r.verdicts[i].node) == node && r.verdicts[i].feasible()) at = static_cast<int64_t>(i);
  }
  if (at >= 0) decision->followed_in_top = r.verdicts[static_cast<size_t>(at)].exact_score == top;
  r.best = at;
}

int AntiAffinityViolationsOn(const ClusterState& cluster, const PodRequest& pod,
                             const scoring::Placement& placement) {
  if (placement.numa_mask == 0) return 0;
  const NodeState& node = cluster.node(placement.node);
  int violations = 0;
  for (size_t i = 0; i < node.numas.size() && i < 64; ++i) {
    if ((placement.numa_mask >> i & 1) == 0) continue;
    for (const scoring::NumaAffinityTerm& t : pod.anti_affinity.required) {
      if (scoring::CountTermMatches(cluster, node, i, t, pod.namespace_name) > 0) ++violations;
    }
    // Symmetric: pods already there that repel this one.
    for (uint32_t slot : node.numa_detail[i].pinned_pods) {
      const PodRequest& other = cluster.entry(slot).pod;
      for (const scoring::NumaAffinityTerm& t : other.anti_affinity.required) {
        if (t.zone == scoring::NumaAffinityTerm::Zone::kNuma &&
            scoring::TermMatchesPod(t, other.namespace_name, pod))
          ++violations;
      }
    }
  }
  return violations;
}

}  // namespace

RunResult RunOnce(const Workload& workload, const RunConfig& config,
                  const std::function<void(size_t, size_t)>& progress) {
  const auto start = std::chrono::steady_clock::now();
  RunResult result;
  result.policy = config.policy;
  result.seed = config.seed;
  const bool blind = config.policy == "topology-blind";

  ClusterState cluster;
  if (workload.initial) {
    cluster = *workload.initial;
  } else {
    for (const NodeState& n : workload.nodes) cluster.AddNode(n);
  }
  scoring::GpuContext ctx;
  ctx.workload = scoring::TargetWorkload::FromPods(workload.pods, 0.95);
  ctx.rng.seed(config.seed);
  ctx.Calibrate(cluster);

  scoring::SchedulerConfig sc;
  sc.strategy = config.strategy;
  sc.explain_failures = false;  // the simulator counts failures by rule; it does not print per-node reasons
  sc.resource_policy = config.resource_policy;
  sc.gpu_policy = blind ? "spread" : config.policy;
  sc.gpu_context = &ctx;
  // Ties go to the node first in a fixed order, as in the paper's simulator (see SchedulerConfig::tie_rank).
  std::vector<uint32_t> tie_rank(cluster.node_count());
  std::iota(tie_rank.begin(), tie_rank.end(), 0u);
  std::shuffle(tie_rank.begin(), tie_rank.end(), std::mt19937_64(config.seed * 0x9e3779b97f4a7c15ull + 1));
  sc.tie_rank = &tie_rank;
  if (workload.trace_mode || blind) {
    // The paper's runs: the GPU policy alone ranks nodes. kube-scheduler's default (topology-blind) spreads.
    sc.weight_allocation = blind ? 1 : 0;
    sc.strategy = scoring::AllocationStrategy::kLeastAllocated;
    sc.weight_numa_fit = 0;
    sc.weight_affinity = 0;
    sc.weight_device = 0;
    sc.weight_gpu = 1;
  }
  scoring::Scheduler scheduler(sc);

  const DemandMeter meter = MeterFor(workload);
  const std::vector<size_t> order =
      config.pod_order != nullptr ? *config.pod_order : TunedOrder(workload, config.seed, config.max_load_pct);
  result.pods_total = static_cast<int>(order.size());
  const int points = static_cast<int>(config.max_load_pct);

  scoring::SchedulingResult reusable;
  std::vector<uint32_t> all_nodes(cluster.node_count());
  std::iota(all_nodes.begin(), all_nodes.end(), 0u);
  std::unordered_map<std::string, scoring::VerdictMemo> memos;
  Tally tally;
  tally.node_frag.assign(cluster.node_count(), 0);
  for (uint32_t i = 0; i < cluster.node_count(); ++i) {
    tally.total_gpu_milli += static_cast<double>(cluster.node(i).gpus.size()) * 1000.0;
    for (const scoring::GpuState& g : cluster.node(i).gpus)
      tally.allocated_gpu_milli += static_cast<double>(1000 - g.free_milli);
    tally.node_frag[i] = ctx.NodeFragmentationCached(cluster, i);
    tally.cluster_frag += tally.node_frag[i];
  }
  CurveSampler sampler(points);
  auto record = [&](double arrived_milli) {
    CurvePoint c;
    const double total = std::max(1.0, tally.total_gpu_milli);
    c.allocated_pct = 100.0 * tally.allocated_gpu_milli / total;
    c.unallocated_pct = 100.0 - c.allocated_pct;
    c.frag_total_pct = 100.0 * tally.cluster_frag / total;
    const double idle = tally.total_gpu_milli - tally.allocated_gpu_milli;
    c.frag_rate_pct = idle > 0 ? 100.0 * tally.cluster_frag / idle : 0;
    sampler.Add(arrived_milli * 100.0 / meter.capacity, c);
  };
  double arrived = 0;
  bool followed_failed = false;
  for (size_t k = 0; k < order.size(); ++k) {
    PodRequest pod = workload.pods[order[k]];
    Decision decision;
    decision.index = k;
    decision.pod = pod.name;
    pod.uid = "p" + std::to_string(k);
    pod.name = pod.name + "#" + std::to_string(k);
    std::optional<scoring::Placement> placement;
    std::string failure;
    if (blind) {
      placement = BlindPlacement(cluster, pod, scheduler, config.resource_policy, &failure);
      if (placement) {
        // The node agent judges the blind choice: the kubelet's Topology Manager, and the devices it got.
        const NodeState& node = cluster.node(placement->node);
        scoring::AdmissionResult adm = scoring::CheckTopologyAdmission(node, pod, config.resource_policy);
        const bool bound_without_room = placement->cpu_pinned && placement->numa_mask == 0;
        const bool numa_ok = !(pod.numa_binding && config.resource_policy == scoring::ResourcePolicy::kDynamic &&
                               std::popcount(placement->numa_mask) > 1 && !pod.numa_exclusive);
        if (!adm.admit || bound_without_room || !numa_ok || std::popcount(placement->gpu_mask) != pod.gpu.count ||
            std::popcount(placement->nic_mask) != pod.gpu.rdma_nics) {
          ++result.topology_admission_failures;
          failure = "TopologyAffinityError";
          placement.reset();
        }
      }
    } else {
      if (workload.trace_mode) {
        // Trace pods differ only in these: one verdict memo per shape, so a node unchanged since the shape was
        // last scheduled is not evaluated again (the GPU policies are functions of the node and the pod).
        std::string shape = std::to_string(pod.cpu_milli) + "," + std::to_string(pod.memory_bytes) + "," +
                            std::to_string(pod.gpu.count) + "," + std::to_string(pod.gpu.milli_per_gpu);
        for (const std::string& m : pod.gpu.models) shape += "," + m;
        scheduler.ScheduleInto(cluster, pod, all_nodes, &reusable, &memos[shape], shape);
      } else {
        scheduler.ScheduleInto(cluster, pod, &reusable);
      }
      scoring::SchedulingResult& r = reusable;
      if (config.follow != nullptr) Follow(r, (*config.follow)[k], &decision);
      if (const scoring::NodeVerdict* best = r.Best()) {
        placement = best->placement;
        if (pod.gpu.count > 0 && pod.gpu.rdma_nics > 0) {
          ++result.gpu_rdma_pods;
          result.gpu_rdma_same_switch += best->device_level == 0;
        }
        // Every Tessera placement must pass the kubelet's admission (counted if it ever did not).
        const bool pinned_by_us = config.resource_policy == scoring::ResourcePolicy::kDynamic &&
                                  scoring::IsNumaBound(pod, config.resource_policy);
        if (!scoring::CheckTopologyAdmission(cluster.node(best->node), pod, config.resource_policy,
                                             pinned_by_us ? best->placement.numa_mask : 0)
                 .admit) {
          ++result.topology_admission_failures;
        }
      } else {
        failure = r.pod_error.empty()
                      ? (r.verdicts.empty() ? "no nodes" : std::string(r.verdicts[0].failed_plugin))
                      : "invalid pod";
      }
    }
    if (placement) {
      decision.node = static_cast<int>(placement->node);
      decision.gpu_mask = placement->gpu_mask;
      if (blind && pod.gpu.count > 0 && pod.gpu.rdma_nics > 0) {
        ++result.gpu_rdma_pods;
        const NodeState& node = cluster.node(placement->node);
        int sw = -2;
        bool same = true;
        for (size_t i = 0; i < node.gpus.size(); ++i) {
          if ((placement->gpu_mask >> i & 1) == 0) continue;
          if (node.gpus[i].switch_id < 0 || (sw != -2 && sw != node.gpus[i].switch_id)) same = false;
          sw = node.gpus[i].switch_id;
        }
        for (size_t i = 0; i < node.nics.size(); ++i) {
          if (placement->nic_mask >> i & 1) same = same && node.nics[i].switch_id == sw;
        }
        result.gpu_rdma_same_switch += same;
      }
      result.numa_antiaffinity_violations += AntiAffinityViolationsOn(cluster, pod, *placement);
      if (cluster.Reserve(pod, *placement).ok()) {
        ++result.pods_scheduled;
        tally.allocated_gpu_milli +=
            static_cast<double>(pod.gpu.count) * static_cast<double>(pod.gpu.milli_per_gpu);
        const uint32_t n = placement->node;
        tally.cluster_frag -= tally.node_frag[n];
        tally.node_frag[n] = ctx.NodeFragmentationCached(cluster, n);
        tally.cluster_frag += tally.node_frag[n];
      } else {
        decision.node = -1;
        // Only a topology-blind choice can be refused here: the node agent would find the resources taken.
        ++result.pods_failed;
        ++result.topology_admission_failures;
        result.failure_reasons[blind ? "TopologyAffinityError" : "Reserve"]++;
      }
    } else {
      ++result.pods_failed;
      result.failure_reasons[failure]++;
    }
    if (config.follow != nullptr) {
      const bool in_top = decision.followed_in_top == 1;
      followed_failed = followed_failed || (*config.follow)[k] < 0;
      result.follow_all++;
      result.follow_all_in_top += in_top;
      if (!followed_failed) {
        result.follow_early++;
        result.follow_early_in_top += in_top;
      }
    }
    if (config.decisions != nullptr) config.decisions->push_back(std::move(decision));
    arrived += meter.Of(pod);
    record(arrived);
    if (progress && (k % 256 == 0 || k + 1 == order.size())) progress(k + 1, order.size());
  }
  result.curve = sampler.Curve();
  result.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.peak_rss_mb = bench::PeakRssMib() * 1.048576;  // MiB -> MB
  return result;
}

}  // namespace tessera::sim
