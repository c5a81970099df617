// Score "GpuPolicy": the configured GPU policy's raw score (gpu_policy.h) for the placement GpuFit chose,
// rescaled to 0..100 over the feasible nodes. Applies to every pod on clusters with GPUs: a CPU-only pod that
// eats the CPU next to idle cards strands them, which FGD counts as fragmentation.
#ifndef TESSERA_SCORING_GPU_POLICY_SCORE_H_
#define TESSERA_SCORING_GPU_POLICY_SCORE_H_

#include "scoring/framework.h"
#include "scoring/gpu_policy.h"

namespace tessera::scoring {

class GpuPolicyScore : public ScorePlugin {
 public:
  GpuPolicyScore(const GpuPolicy* policy, GpuContext* context) : policy_(policy), context_(context) {}
  std::string_view Name() const override { return "GpuPolicy"; }
  bool UsesSharedState() const override { return !policy_->DependsOnlyOnNodeAndPod(); }
  // The policies cache fragmentation per node and per state in the GpuContext, and draw from its random stream.
  bool ThreadSafe() const override { return false; }
  double Score(const NodeCycle& c) const override {
    GpuScoreInput in{c.cluster, c.node_index, c.node, c.pod, c.placement.gpu_mask, context_};
    return policy_->Score(in);
  }
  Normalization NormalizeAcrossNodes() const override { return policy_->ScoreNormalization(); }
  int64_t Weight(const SchedulerConfig& config) const override { return config.weight_gpu; }
  bool AppliesTo(const PodRequest& pod, const ClusterState& cluster) const override {
    return pod.gpu.any() || cluster.gpu_count() > 0;
  }

 private:
  const GpuPolicy* policy_;
  GpuContext* context_;
};

}  // namespace tessera::scoring

#endif  // TESSERA_SCORING_GPU_POLICY_SCORE_H_
