// Filter "QoSPoolFit": the node-level pools each QoS class draws from.
//   shared_cores / system_cores / unpinned dedicated_cores: the shared pool = allocatable - pinned, which must
//     still hold what shared pods use plus this pod;
//   reclaimed_cores: the reclaimed resources the CNR reports (per NUMA node when NUMA-bound: NumaPlacement);
//   pinned pods: their NUMA nodes come out of the shared pool, which must not shrink below what shared pods
//     already use.
#ifndef TESSERA_SCORING_QOS_POOL_FIT_H_
#define TESSERA_SCORING_QOS_POOL_FIT_H_

#include "scoring/framework.h"

namespace tessera::scoring {

class QosPoolFit : public FilterPlugin {
 public:
  std::string_view Name() const override { return "QoSPoolFit"; }
  bool Filter(NodeCycle& cycle, std::string* reason) const override;
};

}  // namespace tessera::scoring

#endif  // TESSERA_SCORING_QOS_POOL_FIT_H_
