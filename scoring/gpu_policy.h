// GPU placement policies, one per file, selectable by name (SchedulerConfig::gpu_policy): binpack, spread,
// random, dotprod, bestfit, fgd and tessera (the default). Each scores a feasible node for the pod given the
// cards already chosen for it (higher is better; the GpuPolicy score plugin rescales over the feasible nodes),
// and may choose which card a one-card share takes.
#ifndef TESSERA_SCORING_GPU_POLICY_H_
#define TESSERA_SCORING_GPU_POLICY_H_

#include <array>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "scoring/cluster_state.h"
#include "scoring/framework.h"
#include "scoring/gpu_fragmentation.h"

namespace tessera::scoring {

// State GPU policies share across scheduling cycles: the target workload (FGD), a seeded random stream, the
// cluster-wide normalisers, and node fragmentation cached by node version (so it is recomputed only for nodes
// that changed). Not thread-safe: one scheduling loop owns it.
class GpuContext {
 public:
  TargetWorkload workload;
  std::mt19937_64 rng{42};
  int64_t max_node_cpu_milli = 128000;  // normalisers (the reference simulator's constants by default)
  int64_t max_node_gpu_milli = 8000;

  // Replaces the target workload and forgets every fragmentation computed against the old one (a VerdictMemo
  // holding GPU policy scores must be cleared too).
  void SetWorkload(TargetWorkload w) {
    workload = std::move(w);
    frag_cache_.clear();
    memo_.map.clear();
    prepared_shapes_ = static_cast<size_t>(-1);
  }
  // Largest node CPU and GPU capacity in the cluster.
  void Calibrate(const ClusterState& cluster);
  double NodeFragmentationCached(const ClusterState& cluster, uint32_t node);
  // Fragmentation of a hypothetical node state. It depends on the state alone (the workload is fixed), and
  // nodes in the same state give the same answer, so results are memoised by state signature (free GPU milli
  // per card, sorted; where the free CPU sits among the workload's CPU sizes) for the whole run. Workloads with
  // GPU-model constraints are computed directly (card order and models would have to enter the key).
  double FragmentationOf(const GpuView& view, uint32_t node);
  // Forgets memoised hypothetical states (not the per-node cache): benchmarks use it to time cold lookups.
  void ClearMemo() { memo_.map.clear(); }
  // Starts a scheduling cycle. The scheduler calls it once per pod; it bounds the memo's size.
  void BeginCycle() {
    if (memo_.map.size() > kMaxMemo) memo_.map.clear();
    last_choice_node_ = UINT32_MAX;
  }
  // The fragmentation after the card a policy just chose on `node`, kept so scoring the same choice does not
  // recompute it.
  void RememberChoice(uint32_t node, uint64_t gpu_mask, double fragmentation) {
    last_choice_node_ = node;
    last_choice_mask_ = gpu_mask;
    last_choice_frag_ = fragmentation;
  }
  bool RecallChoice(uint32_t node, uint64_t gpu_mask, double* fragmentation) const {
    if (node != last_choice_node_ || gpu_mask != last_choice_mask_) return false;
    *fragmentation = last_choice_frag_;
    return true;
  }

 private:
  struct Memo;
  void PrepareShapes();
  double Lookup(Memo& memo, const TargetWorkload& w, const GpuView& view);

  std::vector<std::pair<uint64_t, double>> frag_cache_;  // per node: (version + 1, fragmentation)
  // Up to 8 cards' free milli (0..1000, 10 bits each), the card count and the CPU class, packed in 128 bits.
  struct Key {
    uint64_t lo = 0;
    uint64_t hi = 0;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const;
  };
  static constexpr size_t kMaxMemo = size_t{1} << 20;
  uint32_t last_choice_node_ = UINT32_MAX;
  uint64_t last_choice_mask_ = 0;
  double last_choice_frag_ = 0;
  struct Memo {
    std::unordered_map<Key, double, KeyHash> map;
  };
  Memo memo_;
  std::vector<int64_t> shape_cpus_;  // sorted distinct CPU sizes of the workload
  size_t prepared_shapes_ = static_cast<size_t>(-1);
  bool any_model_constraint_ = false;
};

struct GpuScoreInput {
  const ClusterState* cluster = nullptr;
  uint32_t node_index = 0;
  const NodeState* node = nullptr;
  const PodRequest* pod = nullptr;
  uint64_t gpu_mask = 0;  // cards chosen for the pod
  GpuContext* ctx = nullptr;
};

// The node's GPU view after the pod lands on `gpu_mask` (CPU from the shared pool, the per-card share off each
// card).
GpuView ViewAfter(const GpuScoreInput& in);

class GpuPolicy {
 public:
  virtual ~GpuPolicy() = default;
  virtual std::string_view Name() const = 0;
  virtual double Score(const GpuScoreInput& in) const = 0;
  // True when Score and ChooseCard are functions of the node's state and the pod alone (the context's memo and
  // workload only speed them up), so a VerdictMemo may reuse them; false for a policy that draws at random.
  virtual bool DependsOnlyOnNodeAndPod() const { return true; }
  // How raw scores become 0..100 (framework.h). Default: rescaled exactly. The paper's baselines return the
  // integer score their kube-scheduler plugin would, used as is (kNone) or min-max rescaled in integers.
  virtual Normalization ScoreNormalization() const { return Normalization::kMinMax; }
  // Which of `candidates` (card indexes, ascending) a one-card share takes. Default: the tightest fit (least
  // free compute left), lowest index on ties.
  virtual int ChooseCard(const GpuScoreInput& in, const std::vector<int>& candidates) const;
};

// InvalidArgument naming the known policies when `name` is unknown.
Result<std::unique_ptr<GpuPolicy>> MakeGpuPolicy(const std::string& name);
const std::vector<std::string>& GpuPolicyNames();

// The FGD paper's plugin score for a node whose fragmentation goes from `before` to `after` (milli-GPU): the
// integer int(100 * sigmoid((before - after) / 1000)), truncated as Go's int64() does.
double FgdPluginScore(double before, double after);

// Tightest-fit card choice, shared by several policies.
int TightestCard(const NodeState& node, const std::vector<int>& candidates);

// The card whose share gets the highest FGD plugin score (FgdPluginScore), first on ties, evaluating each distinct
// free-compute value once: the integer score, so cards a point apart in fragmentation but not in score tie. The
// fragmentation after the choice is remembered in the context so scoring it does not recompute it.
int FgdCard(const GpuScoreInput& in, const std::vector<int>& candidates);

}  // namespace tessera::scoring

#endif  // TESSERA_SCORING_GPU_POLICY_H_
