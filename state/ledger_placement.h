// Where the ledger charges a bound pod on its node: Tessera's own allocation annotation, corrected by what the
// node's agent reports in the CNR (contract section 3.2, matched by namespace/name and UID); for a pod bound by
// someone else, the agent's report, else node level, with its cards and NICs guessed as a device plugin's first
// fit would take them (so the node's totals stay right even where the card is a guess).
#ifndef TESSERA_STATE_LEDGER_PLACEMENT_H_
#define TESSERA_STATE_LEDGER_PLACEMENT_H_

#include <cstdint>
#include <string>

#include "scoring/cluster_state.h"
#include "state/topology_entry.h"

namespace tessera::state {

// `source` is set to one of kLedgerSources: annotation, annotation_corrected_by_cnr, cnr, guessed, node_level.
scoring::Placement LedgerPlacement(const scoring::PodRequest& pod, const std::string& allocation,
                                   const scoring::NodeState& state, uint32_t node_index, const TopologyEntry* cnr,
                                   scoring::ResourcePolicy policy, const char** source);

}  // namespace tessera::state

#endif  // TESSERA_STATE_LEDGER_PLACEMENT_H_
