#include "scoring/numa_affinity_score.h"

#include "scoring/numa_affinity.h"

namespace tessera::scoring {

double NumaAffinityScore::Score(const NodeCycle& c) const {
  const PodRequest& pod = *c.pod;
  if (!c.numa_bound || c.placement.numa_mask == 0 ||
      (pod.affinity.preferred.empty() && pod.anti_affinity.preferred.empty())) {
    return 0;
  }
  double total = 0;
  for (size_t i = 0; i < c.node->numas.size() && i < 64; ++i) {
    if ((c.placement.numa_mask >> i & 1) == 0) continue;
    for (const NumaAffinityTerm& t : pod.affinity.preferred) {
      if (CountTermMatches(*c.cluster, *c.node, i, t, pod.namespace_name) > 0) total += t.weight;
    }
    for (const NumaAffinityTerm& t : pod.anti_affinity.preferred) {
      if (CountTermMatches(*c.cluster, *c.node, i, t, pod.namespace_name) > 0) total -= t.weight;
    }
  }
  return total;
}

}  // namespace tessera::scoring
