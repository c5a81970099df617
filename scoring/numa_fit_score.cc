#include "scoring/numa_fit_score.h"

namespace tessera::scoring {

double NumaFitScore::Score(const NodeCycle& c) const {
  if (c.placement.numa_mask == 0 || (!c.placement.cpu_pinned && !c.placement.memory_pinned)) return 100;
  const NodeState& node = *c.node;
  if (c.placement.exclusive) {
    int64_t alloc = 0;
    for (size_t i = 0; i < node.numas.size() && i < 64; ++i) {
      if (c.placement.numa_mask >> i & 1) alloc += node.numas[i].cpu_allocatable_milli;
    }
    return alloc <= 0 ? 0.0 : 100.0 * static_cast<double>(c.pod->cpu_milli) / static_cast<double>(alloc);
  }
  for (size_t i = 0; i < node.numas.size() && i < 64; ++i) {
    if ((c.placement.numa_mask >> i & 1) && node.numas[i].Idle()) return 0;
  }
  return 100;
}

}  // namespace tessera::scoring
