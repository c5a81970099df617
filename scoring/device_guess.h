// The devices a node's device plugin would hand a pod nobody placed with Tessera: the first cards in index order
// that can hold it (a whole-card pod only untouched ones; a share where both its compute and its memory fit) and
// the first RDMA NICs. Written once, for the extender's ledger (pods bound by someone else) and the simulator's
// topology-blind baseline (kube-scheduler without Tessera).
#ifndef TESSERA_SCORING_DEVICE_GUESS_H_
#define TESSERA_SCORING_DEVICE_GUESS_H_

#include <cstdint>

#include "scoring/cluster_state.h"
#include "scoring/pod_request.h"

namespace tessera::scoring {

struct DeviceGuess {
  uint64_t gpu_mask = 0;
  uint64_t nic_mask = 0;
  bool complete = false;  // as many cards and NICs as the pod asks
};

DeviceGuess FirstFitDevices(const NodeState& node, const PodRequest& pod);

}  // namespace tessera::scoring

#endif  // TESSERA_SCORING_DEVICE_GUESS_H_
