// The offline simulator: replays a pod list against a cluster through the same scoring/ code the extender runs,
// following the FGD paper's protocol (shared/reference/fgd.md §6): shuffle the pods with the seed, "tune" the list
// by drawing pods uniformly with replacement until the GPU demand reaches max_load % of capacity (or dropping
// random pods above it), submit one by one, nothing ever leaves, failures are recorded. Synthetic workloads are
// shuffled but not tuned: they are submitted at the size generated, and arrivals stop at max_load % only in the
// curves.
#ifndef TESSERA_BENCH_SIM_SIMULATOR_H_
#define TESSERA_BENCH_SIM_SIMULATOR_H_

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "scoring/cluster_state.h"
#include "scoring/framework.h"
#include "scoring/gpu_fragmentation.h"
#include "scoring/pod_request.h"

namespace tessera::sim {

struct Workload {
  std::vector<scoring::NodeState> nodes;
  std::vector<scoring::PodRequest> pods;  // the trace as given (before shuffling and tuning)
  bool trace_mode = true;  // openb: pure GPU-policy scoring, as the paper ran it; synthetic: all plugins
  // A starting state (--snapshot): the cluster with the pods already placed; `nodes` is then its nodes.
  std::optional<scoring::ClusterState> initial;
};

// One submitted pod's outcome (--decisions-out).
struct Decision {
  size_t index = 0;          // submission order
  std::string pod;           // trace pod name
  int node = -1;             // where it went; -1 failed
  uint64_t gpu_mask = 0;     // cards it took
  int followed_in_top = -1;  // with a followed run: 1 the followed node was among the top-scored, 0 not, -1 n/a
  int top_nodes = 0;         // how many feasible nodes shared the top score
};

struct RunConfig {
  std::string policy = "tessera";  // a GPU policy name, or "topology-blind"
  uint64_t seed = 42;
  // Replay: submit exactly these pods (indexes into Workload::pods, repeats allowed), no shuffle or tuning.
  const std::vector<size_t>* pod_order = nullptr;
  // Follow (needs pod_order, same length): the node index each pod must go to, -1 where the followed run failed
  // it. The policy still scores every node; the pod is placed where the followed run put it, so the cluster
  // states stay identical, and each decision records whether that node was among the policy's top-scored.
  const std::vector<int>* follow = nullptr;
  std::vector<Decision>* decisions = nullptr;  // when set, one entry per submitted pod
  double max_load_pct = 130;
  scoring::ResourcePolicy resource_policy = scoring::ResourcePolicy::kDynamic;
  scoring::AllocationStrategy strategy = scoring::AllocationStrategy::kMostAllocated;  // synthetic workloads
};

// One sample of the curves, at an integer arrived-demand percentage.
struct CurvePoint {
  double allocated_pct = 0;    // allocated milli-GPU / cluster milli-GPU
  double unallocated_pct = 0;  // 100 - allocated
  double frag_total_pct = 0;   // cluster fragmentation / cluster milli-GPU
  double frag_rate_pct = 0;    // cluster fragmentation / idle milli-GPU
};

struct RunResult {
  std::string policy;
  uint64_t seed = 0;
  int pods_total = 0;
  int pods_scheduled = 0;
  int pods_failed = 0;
  std::map<std::string, int> failure_reasons;    // by failing rule
  std::vector<std::optional<CurvePoint>> curve;  // index: arrived % (0..max_load)
  int topology_admission_failures = 0;
  int numa_antiaffinity_violations = 0;
  int gpu_rdma_pods = 0;
  int gpu_rdma_same_switch = 0;
  double wall_seconds = 0;
  double peak_rss_mb = 0;
  // With a followed run: pods the followed run placed before its first failure, and how many of them went to a
  // node among our top-scored; the same over every submitted pod (a failure agrees when we find no node either).
  int follow_early = 0;
  int follow_early_in_top = 0;
  int follow_all = 0;
  int follow_all_in_top = 0;
};

// The shuffled and tuned submission order (indexes into workload.pods).
std::vector<size_t> TunedOrder(const Workload& workload, uint64_t seed, double max_load_pct);

// Runs one policy on one seed. `progress(done, total)` is called now and then.
RunResult RunOnce(const Workload& workload, const RunConfig& config,
                  const std::function<void(size_t, size_t)>& progress = nullptr);

// Names accepted by --policy.
std::vector<std::string> SimPolicyNames();

}  // namespace tessera::sim

#endif  // TESSERA_BENCH_SIM_SIMULATOR_H_
