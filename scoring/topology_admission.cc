#include "scoring/topology_admission.h"

#include "scoring/topology_manager.h"

namespace tessera::scoring {

bool TopologyManagerAdmission::Filter(NodeCycle& c, std::string* reason) const {
  // In dynamic mode the QRM agent is told the NUMA nodes to use, so exactly that mask is offered.
  const bool pinned_by_us = c.config->resource_policy == ResourcePolicy::kDynamic && c.numa_bound;
  AdmissionResult r =
      CheckTopologyAdmission(*c.node, *c.pod, c.config->resource_policy, pinned_by_us ? c.placement.numa_mask : 0);
  if (!r.admit) {
    if (reason != nullptr) *reason = std::move(r.reason);
    return false;
  }
  return true;
}

}  // namespace tessera::scoring
