// CNR -> scoring::NodeState: the node's kubelet policies (status.topologyPolicy, cpu_manager_policy and
// memory_manager_policy properties) and each Numa zone's allocatable CPU, memory and reclaimed resources, with
// its socket from the enclosing Socket zone. As Katalyst's scheduler does, a Numa zone whose name is not an
// integer in [0, 64) is skipped (reported in `warnings`) rather than failing the node.
#ifndef TESSERA_CRD_CNR_NODE_STATE_H_
#define TESSERA_CRD_CNR_NODE_STATE_H_

#include <string>
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

}  // namespace tessera::crd

#endif  // TESSERA_CRD_CNR_NODE_STATE_H_
