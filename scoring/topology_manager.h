// The kubelet Topology Manager's admission decision, predicted over the model, so the scheduler never sends a pod
// where the kubelet would fail it with TopologyAffinityError.
//
// Hint providers, as in the kubelet:
//   - CPU: the static CPU manager, for Guaranteed pods with whole CPUs (native); Katalyst's QRM CPU plugin for
//     NUMA-bound pods (dynamic).
//   - memory: the Static memory manager, for Guaranteed pods (native); the QRM memory plugin for NUMA-bound pods
//     (dynamic).
//   - devices: GPUs and NICs (scheduling core part 2).
// Each active provider offers every NUMA mask whose free amount covers its request; a mask is *preferred* when
// it is as narrow as the request's allocatable footprint allows. The merged hint is the narrowest mask every
// provider can serve, lowest NUMA ids first; it is preferred when it is preferred for every provider.
//   none, best-effort: always admit.   restricted: admit iff the merged hint is preferred.
//   single-numa-node: admit iff it is preferred and one NUMA node wide.
//   Numeric (Katalyst): restricted, plus masks no wider than a socket's NUMA count must stay inside one socket.
// Nodes with more than 8 NUMA nodes run without a Topology Manager (the kubelet refuses to), so admit.
// Scope container checks each app container in order against what the earlier ones took; scope pod checks the
// pod's effective request.
#ifndef TESSERA_SCORING_TOPOLOGY_MANAGER_H_
#define TESSERA_SCORING_TOPOLOGY_MANAGER_H_

#include <cstdint>
#include <string>

#include "scoring/cluster_state.h"
#include "scoring/pod_request.h"

namespace tessera::scoring {

struct HintProviders {
  bool cpu = false;
  bool memory = false;
  bool any() const { return cpu || memory; }
};

// Which providers give NUMA hints for `pod` on `node`.
HintProviders ActiveHintProviders(const NodeState& node, const PodRequest& pod, ResourcePolicy policy);

struct AdmissionResult {
  bool admit = true;
  std::string reason;     // why not, when !admit
  uint64_t affinity = 0;  // the kubelet's merged hint (NUMA indexes); 0 when it has no preference
};

// `pinned_mask` != 0: the node agent is told to use exactly these NUMA nodes (Katalyst's numa_ids), so only that
// mask is offered.
AdmissionResult CheckTopologyAdmission(const NodeState& node, const PodRequest& pod, ResourcePolicy policy,
                                       uint64_t pinned_mask = 0);

// Where the kubelet would put the pod's pinned CPU/memory whatever the policy (best-effort merge, also used when
// the node runs no Topology Manager): the narrowest mask with room, lowest NUMA indexes first; 0 when none has.
uint64_t PredictKubeletNumaMask(const NodeState& node, const PodRequest& pod, ResourcePolicy policy);

const char* TopologyPolicyName(TopologyPolicy policy);

}  // namespace tessera::scoring

#endif  // TESSERA_SCORING_TOPOLOGY_MANAGER_H_
