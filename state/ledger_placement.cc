#include "state/ledger_placement.h"

#include <bit>

#include "scoring/device_guess.h"
#include "scoring/numa_placement.h"
#include "state/allocation.h"

namespace tessera::state {

namespace {

// A pod bound by someone else holds cards and NICs nobody told us about: charge the first that can hold it (a
// device plugin's usual choice), so the node's totals stay right even where the card is a guess.
void GuessDevices(const scoring::NodeState& node, const scoring::PodRequest& pod, scoring::Placement* placement,
                  const char** source) {
  if (!pod.gpu.any()) return;
  const scoring::DeviceGuess guess = scoring::FirstFitDevices(node, pod);
  placement->gpu_mask |= guess.gpu_mask;
  placement->nic_mask |= guess.nic_mask;
  *source = "guessed";
}

}  // namespace

scoring::Placement LedgerPlacement(const scoring::PodRequest& pod, const std::string& allocation,
                                   const scoring::NodeState& state, uint32_t node_index, const TopologyEntry* cnr,
                                   scoring::ResourcePolicy policy, const char** source) {
  scoring::Placement placement;
  placement.node = node_index;
  *source = "node_level";
  bool annotated = false;
  if (!allocation.empty()) {
    if (Result<scoring::Placement> decoded = DecodeAllocation(allocation, state, node_index); decoded.ok()) {
      placement = *decoded;
      annotated = true;
      *source = "annotation";
    }
  }
  // The node agent's report (contract section 3.2) says where the pod really is. It is matched by namespace/name
  // as Katalyst does; a report carrying another UID belongs to an earlier pod of that name and is ignored.
  const crd::ReportedPlacement* reported = nullptr;
  if (cnr != nullptr) {
    auto it = cnr->reported.find(pod.Key());
    if (it != cnr->reported.end() && (it->second.uid.empty() || it->second.uid == pod.uid)) reported = &it->second;
  }
  if (reported == nullptr) {
    if (!annotated) GuessDevices(state, pod, &placement, source);
    return placement;
  }
  bool corrected = false;
  // Only NUMA-bound pods are charged per NUMA node; others float in the shared pool whatever a report says.
  if (reported->numa_mask != 0 && scoring::IsNumaBound(pod, policy) &&
      reported->numa_mask != placement.numa_mask) {
    const scoring::Placement pinned =
        scoring::PinnedPlacement(state, node_index, pod, policy, reported->numa_mask);
    placement.numa_mask = reported->numa_mask;
    placement.cpu_pinned = pinned.cpu_pinned;
    placement.memory_pinned = pinned.memory_pinned;
    placement.exclusive = pinned.exclusive;
    corrected = true;
  }
  if (pod.gpu.count > 0 && std::popcount(reported->gpu_mask) == pod.gpu.count &&
      reported->gpu_mask != placement.gpu_mask) {
    placement.gpu_mask = reported->gpu_mask;
    corrected = true;
  }
  if (pod.gpu.rdma_nics > 0 && std::popcount(reported->nic_mask) == pod.gpu.rdma_nics &&
      reported->nic_mask != placement.nic_mask) {
    placement.nic_mask = reported->nic_mask;
    corrected = true;
  }
  if (corrected) *source = annotated ? "annotation_corrected_by_cnr" : "cnr";
  if (!annotated && !corrected) GuessDevices(state, pod, &placement, source);
  return placement;
}

}  // namespace tessera::state
