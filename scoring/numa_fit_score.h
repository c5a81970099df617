// Score "NumaFit": fragmentation at NUMA level. Whole idle NUMA nodes are what numa_exclusive pods (and big
// single-NUMA pods) need, so a pinned pod scores 100 where it lands on a NUMA node already in use and 0 where
// it would break an idle one; an exclusive pod scores by how little of its NUMA nodes it leaves unused. Pods
// that are not pinned score 100 everywhere (no NUMA preference).
#ifndef TESSERA_SCORING_NUMA_FIT_SCORE_H_
#define TESSERA_SCORING_NUMA_FIT_SCORE_H_

#include "scoring/framework.h"

namespace tessera::scoring {

class NumaFitScore : public ScorePlugin {
 public:
  std::string_view Name() const override { return "NumaFit"; }
  double Score(const NodeCycle& cycle) const override;
  int64_t Weight(const SchedulerConfig& config) const override { return config.weight_numa_fit; }
};

}  // namespace tessera::scoring

#endif  // TESSERA_SCORING_NUMA_FIT_SCORE_H_
