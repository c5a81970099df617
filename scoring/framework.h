// The plugin shape, after the kube-scheduler framework: Filter plugins decide whether a node can take the pod
// (and say why not, in words a person can act on), Score plugins rank the feasible ones 0..100. Plugins run in
// a fixed order on a per-node NodeCycle that earlier filters narrow (usable NUMA nodes) and complete (the
// placement); the ledger (ClusterState::Reserve/Unreserve) is the Reserve step.
#ifndef TESSERA_SCORING_FRAMEWORK_H_
#define TESSERA_SCORING_FRAMEWORK_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "scoring/cluster_state.h"
#include "scoring/pod_request.h"

namespace tessera::scoring {

enum class AllocationStrategy { kLeastAllocated, kMostAllocated, kBalancedAllocation };
Result<AllocationStrategy> ParseAllocationStrategy(const std::string& name);
const char* AllocationStrategyName(AllocationStrategy s);

class GpuContext;

// Runs `tasks` independent tasks, possibly at the same time, and returns once all have finished. The scheduler
// splits the evaluation of a long node list into such tasks where every plugin involved is a function of the node
// and the pod alone; the caller (the extender) owns the threads, the core stays free of them.
class ParallelRunner {
 public:
  virtual ~ParallelRunner() = default;
  // How many tasks run at once at most (the caller's thread included).
  virtual size_t parallelism() const = 0;
  // Runs task(0) on the calling thread and offers task(1..tasks-1) to others. A task other than 0 may be skipped
  // when it has not started by the time task(0) returns, so the work must be claimable by any task (a shared
  // cursor), never assigned to a task by its number; every task that did start has finished on return.
  virtual void Run(size_t tasks, const std::function<void(size_t task)>& task) = 0;
};

struct SchedulerConfig {
  ResourcePolicy resource_policy = ResourcePolicy::kDynamic;
  AllocationStrategy strategy = AllocationStrategy::kMostAllocated;  // pack: keeps whole nodes free
  std::string gpu_policy = "tessera";                                // see gpu_policy.h; must name a known policy
  GpuContext* gpu_context = nullptr;  // shared state of the GPU policies; the scheduler owns one when null
  int64_t weight_allocation = 1;
  int64_t weight_numa_fit = 1;
  int64_t weight_affinity = 1;
  int64_t weight_gpu = 2;        // GPU placement quality matters most on GPU clusters
  int64_t weight_device = 1;     // closeness of a pod's several devices
  bool explain_failures = true;  // false: verdicts name the failing rule but carry no reason text (faster)
  // How the best node is chosen among equal top scores. Null: the first in list order (the extender only ranks;
  // kube-scheduler picks). Set: the node with the lowest tie_rank[node index]. The FGD paper's simulator runs a
  // kube-scheduler whose selectHost was changed "for reproducibility" to take the smallest node name among equal
  // scores: a fixed order, which piles tied pods onto the same nodes; the simulator reproduces it with a seeded
  // permutation of the nodes (their names there are unrelated to the node list's order).
  const std::vector<uint32_t>* tie_rank = nullptr;
  // Where set, cold evaluations (nothing memoised for the pod's shape) of at least `parallel_min_nodes` nodes are
  // split across it, with results identical to the serial path's.
  ParallelRunner* parallel = nullptr;
  size_t parallel_min_nodes = 1024;
};

// Per (pod, node) scratch shared by the plugins of one scheduling cycle.
struct NodeCycle {
  const ClusterState* cluster = nullptr;
  const NodeState* node = nullptr;
  uint32_t node_index = 0;
  const PodRequest* pod = nullptr;
  const SchedulerConfig* config = nullptr;
  bool numa_bound = false;    // NUMA rules bind this pod on this node (see NumaPlacement)
  uint64_t usable_numas = 0;  // NUMA indexes the affinity rules allow
  Placement placement;
  int device_level = -1;  // GpuFit: 0 one PCIe switch, 1 one NUMA node, 2 one socket, 3 across; -1 n/a
};

class FilterPlugin {
 public:
  virtual ~FilterPlugin() = default;
  virtual std::string_view Name() const = 0;
  // True when the node fits; otherwise false with `reason` set (when non-null: callers that only count failures
  // pass null, and building the text is skipped).
  virtual bool Filter(NodeCycle& cycle, std::string* reason) const = 0;
  // False when the filter can never fail this pod (e.g. GpuFit for a pod without devices): it is then skipped.
  virtual bool AppliesTo(const PodRequest& pod) const { return true; }
  // True when the verdict depends on state shared across nodes (not only the node and the pod): a VerdictMemo
  // must not reuse it.
  virtual bool UsesSharedState() const { return false; }
  // False when evaluating two nodes at once would race: the plugin writes state shared across nodes (a cache),
  // even where its answers depend on the node and the pod alone. The scheduler then evaluates serially.
  virtual bool ThreadSafe() const { return true; }
};

// How a score plugin's raw scores become 0..100 across the feasible nodes of one cycle.
enum class Normalization {
  kNone,      // already 0..100
  kMinMax,    // rescaled: min -> 0, max -> 100 (exact, in floating point)
  kIntMinMax  // the same in integers, truncating, as the FGD paper's plugins' NormalizeScore does (more ties)
};

class ScorePlugin {
 public:
  virtual ~ScorePlugin() = default;
  virtual std::string_view Name() const = 0;
  // 0..100 for a node that passed every filter (any range when normalized).
  virtual double Score(const NodeCycle& cycle) const = 0;
  virtual Normalization NormalizeAcrossNodes() const { return Normalization::kNone; }
  virtual int64_t Weight(const SchedulerConfig& config) const = 0;
  // False when the score would be the same on every node for this pod: it is then skipped (ranking unchanged).
  virtual bool AppliesTo(const PodRequest& pod, const ClusterState& cluster) const { return true; }
  // As FilterPlugin::UsesSharedState.
  virtual bool UsesSharedState() const { return false; }
  // As FilterPlugin::ThreadSafe.
  virtual bool ThreadSafe() const { return true; }
};

// Mask of the first n NUMA indexes.
inline uint64_t AllNumas(size_t n) {
  return n >= 64 ? ~uint64_t{0} : (uint64_t{1} << n) - 1;
}

}  // namespace tessera::scoring

#endif  // TESSERA_SCORING_FRAMEWORK_H_
