#include "scoring/scheduler.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>

#include "scoring/allocation_score.h"
#include "scoring/device_topology_score.h"
#include "scoring/gpu_fit.h"
#include "scoring/gpu_policy_score.h"
#include "scoring/numa_affinity.h"
#include "scoring/numa_affinity_score.h"
#include "scoring/numa_fit_score.h"
#include "scoring/numa_placement.h"
#include "scoring/qos_pool_fit.h"
#include "scoring/topology_admission.h"
#include "scoring/verdict_memo.h"

namespace tessera::scoring {

Scheduler::Scheduler(SchedulerConfig config) : config_(std::move(config)) {
  Result<std::unique_ptr<GpuPolicy>> policy = MakeGpuPolicy(config_.gpu_policy);
  if (!policy.ok()) {
    status_ = policy.status();
    config_.gpu_policy = "tessera";
    policy = MakeGpuPolicy(config_.gpu_policy);
  }
  gpu_policy_ = std::move(*policy);
  if (config_.gpu_context == nullptr) {
    owned_context_ = std::make_unique<GpuContext>();
    config_.gpu_context = owned_context_.get();
  }
  // Order matters: affinity narrows the usable NUMA nodes, placement chooses among them, devices follow the
  // placement, admission checks the whole choice against the kubelet.
  filters_.push_back(std::make_unique<QosPoolFit>());
  filters_.push_back(std::make_unique<NumaAffinityFilter>());
  filters_.push_back(std::make_unique<NumaPlacement>());
  filters_.push_back(std::make_unique<GpuFit>(gpu_policy_.get(), config_.gpu_context));
  filters_.push_back(std::make_unique<TopologyManagerAdmission>());
  scores_.push_back(std::make_unique<AllocationScore>());
  scores_.push_back(std::make_unique<NumaFitScore>());
  scores_.push_back(std::make_unique<NumaAffinityScore>());
  scores_.push_back(std::make_unique<GpuPolicyScore>(gpu_policy_.get(), config_.gpu_context));
  scores_.push_back(std::make_unique<DeviceTopologyScore>());
}

bool Scheduler::RunFilters(NodeCycle& cycle, NodeVerdict* verdict,
                           const std::vector<const FilterPlugin*>& filters) const {
  for (const FilterPlugin* f : filters) {
    if (!f->Filter(cycle, config_.explain_failures ? &verdict->reason : nullptr)) {
      verdict->code = VerdictCode::kUnschedulable;
      verdict->failed_plugin = f->Name();
      return false;
    }
  }
  verdict->code = VerdictCode::kFeasible;
  verdict->placement = cycle.placement;
  verdict->device_level = cycle.device_level;
  return true;
}

namespace {

constexpr size_t kPrefetchDistance = 4;

void PrefetchBytes(const void* at, size_t bytes) {
  const char* p = static_cast<const char*>(at);
  for (size_t off = 0; off < bytes; off += 64) __builtin_prefetch(p + off);
}

NodeCycle MakeCycle(const ClusterState& cluster, const PodRequest& pod, uint32_t node,
                    const SchedulerConfig& config) {
  NodeCycle c;
  c.cluster = &cluster;
  c.node = &cluster.node(node);
  c.node_index = node;
  c.pod = &pod;
  c.config = &config;
  // In native mode the kubelet pins CPUs (static CPU manager, Guaranteed whole-CPU pods) and memory (Static memory
  // manager, Guaranteed pods); a pod with neither pinned floats, and NUMA rules cannot bind it there.
  c.numa_bound = config.resource_policy == ResourcePolicy::kDynamic
                     ? IsNumaBound(pod, config.resource_policy)
                     : (c.node->cpu_manager_static && IsNumaBound(pod, config.resource_policy)) ||
                           (c.node->memory_manager_static && pod.guaranteed);
  c.usable_numas = AllNumas(c.node->numas.size());
  c.placement.node = node;
  return c;
}

}  // namespace

NodeVerdict Scheduler::Evaluate(const ClusterState& cluster, const PodRequest& pod, uint32_t node) const {
  NodeVerdict v;
  v.node = node;
  NodeCycle c = MakeCycle(cluster, pod, node, config_);
  std::vector<const FilterPlugin*> filters;
  for (const auto& f : filters_) filters.push_back(f.get());
  RunFilters(c, &v, filters);
  return v;
}

SchedulingResult Scheduler::Schedule(const ClusterState& cluster, const PodRequest& pod) const {
  std::vector<uint32_t> all(cluster.node_count());
  for (uint32_t i = 0; i < all.size(); ++i) all[i] = i;
  return Schedule(cluster, pod, all);
}

void Scheduler::ScheduleInto(const ClusterState& cluster, const PodRequest& pod,
                             const std::vector<uint32_t>& nodes, SchedulingResult* result, VerdictMemo* memo,
                             std::string_view shape) const {
  ScheduleImpl(cluster, pod, nodes, result, memo, shape);
}

void Scheduler::ScheduleInto(const ClusterState& cluster, const PodRequest& pod, SchedulingResult* result) const {
  thread_local std::vector<uint32_t> all;
  all.resize(cluster.node_count());
  for (uint32_t i = 0; i < all.size(); ++i) all[i] = i;
  ScheduleImpl(cluster, pod, all, result);
}

SchedulingResult Scheduler::Schedule(const ClusterState& cluster, const PodRequest& pod,
                                     const std::vector<uint32_t>& nodes) const {
  SchedulingResult result;
  ScheduleImpl(cluster, pod, nodes, &result);
  return result;
}

void Scheduler::ScheduleImpl(const ClusterState& cluster, const PodRequest& pod,
                             const std::vector<uint32_t>& nodes, SchedulingResult* out, VerdictMemo* memo,
                             std::string_view shape) const {
  SchedulingResult& result = *out;
  result.pod_error.clear();
  result.best = -1;
  result.best_shares.clear();
  result.verdicts.resize(nodes.size());
  result.pod_error = ValidatePodRequest(pod, config_.resource_policy);
  if (!result.pod_error.empty()) {
    for (size_t i = 0; i < nodes.size(); ++i) {
      result.verdicts[i] = NodeVerdict{};
      result.verdicts[i].node = nodes[i];
      result.verdicts[i].code = VerdictCode::kUnresolvable;
      result.verdicts[i].failed_plugin = "PodValidation";
      result.verdicts[i].reason = result.pod_error;
    }
    return;
  }
  config_.gpu_context->BeginCycle();
  const size_t plugins = scores_.size();
  thread_local std::vector<double> raw;
  raw.assign(nodes.size() * plugins, 0);
  std::vector<double> lo(plugins, std::numeric_limits<double>::max()),
      hi(plugins, std::numeric_limits<double>::lowest());
  std::vector<bool> active(plugins);
  for (size_t p = 0; p < plugins; ++p)
    active[p] = scores_[p]->Weight(config_) > 0 && scores_[p]->AppliesTo(pod, cluster);
  thread_local std::vector<const FilterPlugin*> filters;
  filters.clear();
  for (const auto& f : filters_) {
    if (f->AppliesTo(pod)) filters.push_back(f.get());
  }
  // Whether every verdict is a function of the node and the pod alone: no affinity terms (the first pod of a group
  // satisfies its own term) and no plugin reading state shared across nodes.
  bool node_and_pod_only = pod.affinity.required.empty() && pod.affinity.preferred.empty() &&
                           pod.anti_affinity.required.empty() && pod.anti_affinity.preferred.empty();
  bool thread_safe = true;
  for (const FilterPlugin* f : filters) {
    node_and_pod_only = node_and_pod_only && !f->UsesSharedState();
    thread_safe = thread_safe && f->ThreadSafe();
  }
  for (size_t p = 0; p < plugins; ++p) {
    if (!active[p]) continue;
    node_and_pod_only = node_and_pod_only && !scores_[p]->UsesSharedState();
    thread_safe = thread_safe && scores_[p]->ThreadSafe();
  }
  const bool memo_usable = memo != nullptr && !shape.empty() && node_and_pod_only;
  // Cold (nothing memoised for this shape) and long: split across the runner, where the verdicts depend on node
  // and pod alone, every plugin involved is thread-safe (the GPU policies cache in their shared context, and score
  // CPU pods too on clusters with cards), and no node is listed twice (two tasks would write its memo entry).
  const bool cold = !memo_usable || memo->shape_ != shape;
  bool parallel = config_.parallel != nullptr && config_.parallel->parallelism() > 1 && cold &&
                  nodes.size() >= config_.parallel_min_nodes && node_and_pod_only && thread_safe;
  if (parallel) {
    thread_local std::vector<uint8_t> listed;
    listed.assign(cluster.node_count(), 0);
    for (uint32_t n : nodes) {
      if (n >= cluster.node_count() || listed[n]++ != 0) {
        parallel = false;
        break;
      }
    }
  }
  if (memo_usable) memo->Begin(shape, cluster.node_count(), plugins);
  // Phase 1, per node: the verdict and the raw score of each plugin (from the memo where it still holds), and
  // per plugin the range of raw scores over the range of nodes given.
  struct Range {
    std::vector<double> lo, hi;
    uint64_t hits = 0, misses = 0;
  };
  // The thread_local buffers are this thread's: tasks on other threads reach them through these.
  double* raw_data = raw.data();
  const std::vector<const FilterPlugin*>* node_filters = &filters;
  auto evaluate = [&, raw_data, node_filters](size_t first, size_t last, Range* range) {
    std::vector<double>& range_lo = range->lo;
    std::vector<double>& range_hi = range->hi;
    for (size_t i = first; i < last; ++i) {
      NodeVerdict& v = result.verdicts[i];
      VerdictMemo::Entry* entry = nullptr;
      if (memo_usable && nodes[i] < cluster.node_count()) {
        entry = &memo->entries_[nodes[i]];
        if (entry->generation == memo->generation_ && entry->node_version == cluster.node(nodes[i]).version) {
          ++range->hits;
          v.node = nodes[i];
          v.code = entry->verdict.code;
          v.failed_plugin = entry->verdict.failed_plugin;
          v.reason = entry->verdict.reason;
          v.score = 0;
          v.exact_score = 0;
          v.placement = entry->verdict.placement;
          v.placement.node = nodes[i];
          v.device_level = entry->verdict.device_level;
          if (v.feasible()) {
            const double* cached = memo->raw(nodes[i]);
            double* row = raw_data + i * plugins;
            for (size_t p = 0; p < plugins; ++p) {
              if (!active[p]) continue;
              row[p] = cached[p];
              range_lo[p] = std::min(range_lo[p], cached[p]);
              range_hi[p] = std::max(range_hi[p], cached[p]);
            }
          }
          continue;
        }
        ++range->misses;
      }
      v.node = nodes[i];
      v.code = VerdictCode::kUnschedulable;
      v.failed_plugin = {};
      v.reason.clear();
      v.score = 0;
      v.exact_score = 0;
      v.placement = Placement{};
      v.device_level = -1;
      if (nodes[i] >= cluster.node_count()) {
        v.code = VerdictCode::kError;
        v.failed_plugin = "NodeLookup";
        v.reason = "unknown node";
        continue;
      }
      // Filtering thousands of nodes is bound by memory latency: fetch a later node's record (its NUMA states are
      // inline) and its memo entry ahead of use.
      if (i + kPrefetchDistance < nodes.size() && nodes[i + kPrefetchDistance] < cluster.node_count()) {
        const uint32_t ahead = nodes[i + kPrefetchDistance];
        PrefetchBytes(&cluster.node(ahead), sizeof(NodeState));
        if (memo_usable) {
          PrefetchBytes(&memo->entries_[ahead], sizeof(VerdictMemo::Entry));
          PrefetchBytes(memo->raw(ahead), plugins * sizeof(double));
        }
      }
      NodeCycle c = MakeCycle(cluster, pod, nodes[i], config_);
      const bool feasible = RunFilters(c, &v, *node_filters);
      if (feasible) {
        for (size_t p = 0; p < plugins; ++p) {
          if (!active[p]) continue;
          double s = scores_[p]->Score(c);
          raw_data[i * plugins + p] = s;
          range_lo[p] = std::min(range_lo[p], s);
          range_hi[p] = std::max(range_hi[p], s);
        }
      }
      if (entry != nullptr) {
        entry->generation = memo->generation_;
        entry->node_version = cluster.node(nodes[i]).version;
        entry->verdict = v;
        std::copy(raw_data + i * plugins, raw_data + (i + 1) * plugins, memo->raw(nodes[i]));
      }
    }
  };
  {
    const size_t tasks = parallel ? std::min(config_.parallel->parallelism(), nodes.size()) : 1;
    std::vector<Range> ranges(tasks);
    for (Range& r : ranges) {
      r.lo = lo;
      r.hi = hi;
    }
    if (tasks == 1) {
      evaluate(0, nodes.size(), &ranges[0]);
    } else {
      // Chunks taken in turn rather than one fixed share per task: on a busy machine a task whose thread is
      // descheduled would hold the whole answer back; here the others take its remaining chunks.
      std::atomic<size_t> next{0};
      const size_t chunk = std::max<size_t>(64, nodes.size() / (tasks * 8));
      config_.parallel->Run(tasks, [&](size_t t) {
        for (size_t first; (first = next.fetch_add(chunk, std::memory_order_relaxed)) < nodes.size();)
          evaluate(first, std::min(first + chunk, nodes.size()), &ranges[t]);
      });
    }
    for (const Range& r : ranges) {
      for (size_t p = 0; p < plugins; ++p) {
        lo[p] = std::min(lo[p], r.lo[p]);
        hi[p] = std::max(hi[p], r.hi[p]);
      }
      if (memo_usable) {
        memo->hits_ += r.hits;
        memo->misses_ += r.misses;
      }
    }
  }
  // Per plugin once, not per node: weight (0 when inactive) and whether to normalise across nodes.
  int64_t weight_sum = 0;
  thread_local std::vector<double> weight;
  thread_local std::vector<Normalization> normalize;
  weight.assign(plugins, 0);
  normalize.assign(plugins, Normalization::kNone);
  for (size_t p = 0; p < plugins; ++p) {
    if (!active[p]) continue;
    weight[p] = static_cast<double>(scores_[p]->Weight(config_));
    normalize[p] = scores_[p]->NormalizeAcrossNodes();
    weight_sum += std::max<int64_t>(0, scores_[p]->Weight(config_));
  }
  for (size_t i = 0; i < nodes.size(); ++i) {
    NodeVerdict& v = result.verdicts[i];
    if (!v.feasible()) continue;
    double total = 0;
    for (size_t p = 0; p < plugins; ++p) {
      if (!active[p]) continue;
      double s = raw[i * plugins + p];
      if (normalize[p] == Normalization::kMinMax) {
        s = hi[p] > lo[p] ? (s - lo[p]) * 100.0 / (hi[p] - lo[p]) : 0.0;
      } else if (normalize[p] == Normalization::kIntMinMax) {
        const auto range = static_cast<int64_t>(hi[p] - lo[p]);
        s = range > 0 ? static_cast<double>((static_cast<int64_t>(s - lo[p]) * 100) / range) : 0.0;
      }
      total += weight[p] * std::clamp(s, 0.0, 100.0);
    }
    v.exact_score = weight_sum > 0 ? total / static_cast<double>(weight_sum) : 0.0;
    v.score = static_cast<int64_t>(std::llround(v.exact_score * 1000.0));
    if (result.best < 0) {
      result.best = static_cast<int64_t>(i);
      continue;
    }
    const NodeVerdict& best = result.verdicts[static_cast<size_t>(result.best)];
    const bool ranked_first = config_.tie_rank != nullptr && v.exact_score == best.exact_score &&
                              v.node < config_.tie_rank->size() && best.node < config_.tie_rank->size() &&
                              (*config_.tie_rank)[v.node] < (*config_.tie_rank)[best.node];
    if (v.exact_score > best.exact_score || ranked_first) result.best = static_cast<int64_t>(i);
  }
  if (const NodeVerdict* best = result.Best(); best != nullptr && best->placement.numa_mask != 0) {
    const bool reclaimed = pod.qos == QosLevel::kReclaimedCores;
    result.best_shares = SplitAcrossNumas(cluster.node(best->node), best->placement,
                                          reclaimed ? pod.reclaimed_milli_cpu : pod.cpu_milli,
                                          reclaimed ? pod.reclaimed_memory_bytes : pod.memory_bytes);
  }
}

}  // namespace tessera::scoring
