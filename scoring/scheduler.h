// Runs the plugins: validates the pod once, filters every node (first failing filter names the rule and the
// reason), scores the feasible ones, and picks the best. Deterministic: the highest total score wins and ties
// go to the node listed first (cluster order, or the order of the candidate list the caller passes).
#ifndef TESSERA_SCORING_SCHEDULER_H_
#define TESSERA_SCORING_SCHEDULER_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "scoring/cluster_state.h"
#include "scoring/framework.h"
#include "scoring/gpu_policy.h"

namespace tessera::scoring {

class VerdictMemo;

// Why a node cannot take the pod, as kube-scheduler's framework codes it: callers decide on the code, never on
// a plugin's name or a reason's text.
enum class VerdictCode {
  kFeasible,
  kUnschedulable,  // a filter failed: the node's current state; removing pods (preemption) may help
  kUnresolvable,   // the pod itself is invalid: nothing about the node can help
  kError,          // the node could not be evaluated (not in the cluster state)
};

struct NodeVerdict {
  uint32_t node = 0;
  VerdictCode code = VerdictCode::kUnschedulable;
  bool feasible() const { return code == VerdictCode::kFeasible; }
  std::string_view failed_plugin;  // the rule that decided (a filter's name, "PodValidation", "NodeLookup"); ""
                                   // when feasible
  std::string reason;
  int64_t score = 0;       // weighted total, 0..100 with three decimals: 0..100000
  double exact_score = 0;  // the same before rounding; the best node is chosen on this
  Placement placement;
  int device_level = -1;
};

struct SchedulingResult {
  std::string pod_error;               // the pod itself is invalid: every node fails with this reason
  std::vector<NodeVerdict> verdicts;   // one per evaluated node, in evaluation order
  int64_t best = -1;                   // index into verdicts, -1 when nothing fits
  std::vector<NumaShare> best_shares;  // the chosen node's exact per-NUMA charges

  const NodeVerdict* Best() const { return best < 0 ? nullptr : &verdicts[static_cast<size_t>(best)]; }
};

class Scheduler {
 public:
  // config.gpu_policy must name a known policy (MakeGpuPolicy); otherwise the scheduler uses "tessera" and
  // status() says why.
  explicit Scheduler(SchedulerConfig config);
  const Status& status() const { return status_; }
  // The GPU policies' shared state (the configured one, or the scheduler's own): where the target workload lives.
  GpuContext* gpu_context() const { return config_.gpu_context; }

  SchedulingResult Schedule(const ClusterState& cluster, const PodRequest& pod) const;
  // Only the given nodes (the extender's candidate list), in that order.
  SchedulingResult Schedule(const ClusterState& cluster, const PodRequest& pod,
                            const std::vector<uint32_t>& nodes) const;
  // All nodes, into `result` (its buffers are reused: loops that schedule many pods avoid reallocating).
  void ScheduleInto(const ClusterState& cluster, const PodRequest& pod, SchedulingResult* result) const;
  // The given nodes, into `result` (buffers reused, as above). With a memo and a non-empty `shape` (see
  // VerdictMemo), nodes unchanged since the memo last saw this shape reuse their verdicts.
  void ScheduleInto(const ClusterState& cluster, const PodRequest& pod, const std::vector<uint32_t>& nodes,
                    SchedulingResult* result, VerdictMemo* memo = nullptr, std::string_view shape = {}) const;

  // Filter + placement for one node (no scoring).
  NodeVerdict Evaluate(const ClusterState& cluster, const PodRequest& pod, uint32_t node) const;

  const SchedulerConfig& config() const { return config_; }

 private:
  bool RunFilters(NodeCycle& cycle, NodeVerdict* verdict, const std::vector<const FilterPlugin*>& filters) const;
  void ScheduleImpl(const ClusterState& cluster, const PodRequest& pod, const std::vector<uint32_t>& nodes,
                    SchedulingResult* result, VerdictMemo* memo = nullptr, std::string_view shape = {}) const;

  SchedulerConfig config_;
  Status status_;
  std::unique_ptr<GpuContext> owned_context_;
  std::unique_ptr<GpuPolicy> gpu_policy_;
  std::vector<std::unique_ptr<FilterPlugin>> filters_;
  std::vector<std::unique_ptr<ScorePlugin>> scores_;
};

}  // namespace tessera::scoring

#endif  // TESSERA_SCORING_SCHEDULER_H_
