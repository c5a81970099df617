// The allocation Tessera records on a bound pod, as one JSON annotation `tessera.io/allocation`, so node agents
// can enforce it and a restarted extender can rebuild its ledger from the pods alone:
//   {"node": "n1", "numa": [{"id": 1, "cpu_milli": 4000, "memory_bytes": 8589934592}], "exclusive": false,
//    "cpu_pinned": true, "memory_pinned": true,
//    "gpus": [{"index": 0, "pci_bus_id": "0000:17:00.0", "milli": 300, "memory_mib": 10240}],
//    "nics": [{"index": 0, "name": "mlx5_0"}]}
#ifndef TESSERA_STATE_ALLOCATION_H_
#define TESSERA_STATE_ALLOCATION_H_

#include <string>
#include <string_view>

#include "base/status.h"
#include "crd/pod_codec.h"
#include "scoring/cluster_state.h"

namespace tessera::state {

using crd::kAllocationAnnotation;

std::string EncodeAllocation(const scoring::NodeState& node, const scoring::PodRequest& pod,
                             const scoring::Placement& placement);
// The placement recorded in `json` for `node` (NUMA ids and card/NIC indexes mapped back to masks). Fails on
// malformed JSON, another node's name, or indexes the node does not have.
Result<scoring::Placement> DecodeAllocation(std::string_view json, const scoring::NodeState& node,
                                            uint32_t node_index);

}  // namespace tessera::state

#endif  // TESSERA_STATE_ALLOCATION_H_
