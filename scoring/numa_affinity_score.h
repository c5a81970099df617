// Score "NumaAffinityPreferred": preferred NUMA affinity terms add their weight when a matching pod shares the
// NUMA node (or socket) the pod would take; preferred anti-affinity terms subtract theirs. Normalized to 0..100
// over the feasible nodes, as kube-scheduler's InterPodAffinity does.
#ifndef TESSERA_SCORING_NUMA_AFFINITY_SCORE_H_
#define TESSERA_SCORING_NUMA_AFFINITY_SCORE_H_

#include "scoring/framework.h"

namespace tessera::scoring {

class NumaAffinityScore : public ScorePlugin {
 public:
  std::string_view Name() const override { return "NumaAffinityPreferred"; }
  double Score(const NodeCycle& cycle) const override;
  Normalization NormalizeAcrossNodes() const override { return Normalization::kMinMax; }
  int64_t Weight(const SchedulerConfig& config) const override { return config.weight_affinity; }
  bool AppliesTo(const PodRequest& pod, const ClusterState&) const override {
    return !pod.affinity.preferred.empty() || !pod.anti_affinity.preferred.empty();
  }
};

}  // namespace tessera::scoring

#endif  // TESSERA_SCORING_NUMA_AFFINITY_SCORE_H_
