// Filter "NumaPlacement": which NUMA node(s) a NUMA-bound pod gets on this node, within those the affinity rules
// allow. Who decides differs by node agent (SchedulerConfig::resource_policy):
//   dynamic (Katalyst QRM): the extender pins the choice (annotation katalyst.kubewharf.io/numa_ids, which the
//     QRM agent honours), so Tessera chooses: one NUMA node for numa_binding, preferring one already in use (idle
//     NUMA nodes stay whole for exclusive pods), after preferred affinity terms and before the tightest fit, then
//     the lowest index; for numa_exclusive
//     the fewest idle NUMA nodes that hold it, inside one socket when possible. reclaimed_cores pods with
//     numa_binding take one NUMA node's reclaimed resources (Katalyst #217).
//   native (kubelet CPU/memory managers): nobody can pin, the kubelet picks the narrowest preferred hint, lowest
//     NUMA id first; Tessera predicts that choice and fails the node when it would break an affinity rule.
// The chosen placement is what Reserve charges and what the extender reports.
#ifndef TESSERA_SCORING_NUMA_PLACEMENT_H_
#define TESSERA_SCORING_NUMA_PLACEMENT_H_

#include "scoring/framework.h"

namespace tessera::scoring {

class NumaPlacement : public FilterPlugin {
 public:
  std::string_view Name() const override { return "NumaPlacement"; }
  bool Filter(NodeCycle& cycle, std::string* reason) const override;
};

// What a pod on `numa_mask` of `node` pins there under `policy` (which of CPU and memory, exclusively or not): the
// same charge a placement NumaPlacement chose would make. For pods placed by someone else whose NUMA nodes the
// node agent reported.
Placement PinnedPlacement(const NodeState& node, uint32_t node_index, const PodRequest& pod, ResourcePolicy policy,
                          uint64_t numa_mask);

// NUMA ids in `mask` (indexes into node.numas), "0,2".
std::string NumaIdList(const NodeState& node, uint64_t mask);

}  // namespace tessera::scoring

#endif  // TESSERA_SCORING_NUMA_PLACEMENT_H_
