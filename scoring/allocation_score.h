// Score "ResourceAllocation": how full the resources the pod draws from would be, by strategy:
//   LeastAllocated (spread), MostAllocated (pack; the default, keeps whole nodes free for big pods),
//   BalancedAllocation (CPU and memory equally used).
// Pinned pods are scored on the NUMA node(s) they would take; others on the pool they draw from (the shared
// pool, or the reclaimed pool for reclaimed_cores). Katalyst scores the worst fitting NUMA node of the node;
// Tessera scores the NUMA node(s) the pod will actually use.
#ifndef TESSERA_SCORING_ALLOCATION_SCORE_H_
#define TESSERA_SCORING_ALLOCATION_SCORE_H_

#include "scoring/framework.h"

namespace tessera::scoring {

class AllocationScore : public ScorePlugin {
 public:
  std::string_view Name() const override { return "ResourceAllocation"; }
  double Score(const NodeCycle& cycle) const override;
  int64_t Weight(const SchedulerConfig& config) const override { return config.weight_allocation; }
};

// The strategy's 0..100 score for utilisation fractions (after placing the pod) of CPU and memory.
int64_t StrategyScore(AllocationStrategy strategy, double cpu_fraction, double memory_fraction);

}  // namespace tessera::scoring

#endif  // TESSERA_SCORING_ALLOCATION_SCORE_H_
