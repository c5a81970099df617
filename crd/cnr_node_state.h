// CNR -> scoring::NodeState: the node's kubelet policies (status.topologyPolicy, cpu_manager_policy and
// memory_manager_policy properties) and each Numa zone's allocatable CPU, memory and reclaimed resources, with
// its socket from the enclosing Socket zone. As Katalyst's scheduler does, a Numa zone whose name is not an
// integer in [0, 64) is skipped (reported in `warnings`) rather than failing the node.
#ifndef TESSERA_CRD_CNR_NODE_STATE_H_
#define TESSERA_CRD_CNR_NODE_STATE_H_

#include <string>
#include <unordered_map>
#include <vector>

#include "crd/cnr.h"
#include "scoring/cluster_state.h"
#include "topology/status.h"

namespace tessera::crd {

struct CnrNodeState {
  scoring::NodeState node;
  std::vector<std::string> warnings;
};

// InvalidArgument for an unknown topologyPolicy or manager policy string.
Result<CnrNodeState> NodeStateFromCnr(const Cnr& cnr);

// Where the node agent (a Katalyst agent's QRM plugins) says a pod really sits: the zones whose `allocations`
// list it as consumer "<namespace>/<name>/<uid>" (contract section 3.2). Bits index `node`'s numas, gpus (GPU
// zones matched by PCI bus id) and nics (NIC zones matched by name); zones `node` does not know are ignored.
struct ReportedPlacement {
  std::string uid;  // as the consumer string gives it; may be empty
  uint64_t numa_mask = 0;
  uint64_t gpu_mask = 0;
  uint64_t nic_mask = 0;
};
// Keyed by "<namespace>/<name>": Katalyst matches consumers by name and ignores the UID.
using ReportedAllocations = std::unordered_map<std::string, ReportedPlacement>;
ReportedAllocations ReportedAllocationsFromCnr(const Cnr& cnr, const scoring::NodeState& node);

}  // namespace tessera::crd

#endif  // TESSERA_CRD_CNR_NODE_STATE_H_
