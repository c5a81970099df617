// CNR -> scoring::NodeState: the node's kubelet policies (status.topologyPolicy, cpu_manager_policy and
// memory_manager_policy properties) and each Numa zone's allocatable CPU, memory and reclaimed resources, with
// its socket from the enclosing Socket zone. As Katalyst's scheduler does, a Numa zone whose name is not an
// integer in [0, 64) is skipped (reported in `warnings`) rather than failing the node.
//
// CNRs written by other agents (a Katalyst agent) carry status.topologyPolicy but not Tessera's
// cpu_manager_policy / memory_manager_policy properties. The kubelet's managers are then inferred from the policy
// (InferManagerPolicies), unless the operator says what the cluster runs (CnrReadOptions).
#ifndef TESSERA_CRD_CNR_NODE_STATE_H_
#define TESSERA_CRD_CNR_NODE_STATE_H_

#include <string>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "crd/cnr.h"
#include "scoring/cluster_state.h"

namespace tessera::crd {

// Where the kubelet's CPU and memory manager policies of a node came from.
enum class PolicySource {
  kPublished,  // the CNR's own nodeResourceProperties
  kAssumed,    // the operator's cluster-wide --assume-*-manager-policy
  kInferred,   // from status.topologyPolicy (InferManagerPolicies)
};
const char* PolicySourceName(PolicySource source);

struct CnrReadOptions {
  // "none" | "static" and "None" | "Static": what a CNR that does not say is taken to run. Empty: infer.
  std::string assume_cpu_manager_policy;
  std::string assume_memory_manager_policy;
};
// InvalidArgument for a value other than the kubelet's spellings above.
Status ValidateCnrReadOptions(const CnrReadOptions& options);

// What the kubelet must be running for its Topology Manager policy to mean anything: single-numa-node, restricted
// and Katalyst's numeric policy align CPUs and memory, which only the static CPU manager and the Static memory
// manager do, so an operator who set one of them runs both (assuming otherwise would send Guaranteed pods to
// nodes whose kubelet rejects them with TopologyAffinityError). best-effort and none never reject a pod, and
// are taken as the kubelet's defaults (none / None).
struct ManagerPolicies {
  bool cpu_manager_static = false;
  bool memory_manager_static = false;
};
ManagerPolicies InferManagerPolicies(scoring::TopologyPolicy policy);

// One manager policy of a node: `published` (the object's own value, nullptr when it has none; InvalidArgument,
// naming `what` and `field`, unless it is `off` or `on`), else the operator's `assumed` value, else `inferred`.
Status ResolveManagerPolicy(const std::string* published, const std::string& what, const char* field,
                            const char* off, const char* on, const std::string& assumed, bool inferred,
                            bool* is_static, PolicySource* source);

struct CnrNodeState {
  scoring::NodeState node;
  std::vector<std::string> warnings;
  PolicySource cpu_manager_source = PolicySource::kPublished;
  PolicySource memory_manager_source = PolicySource::kPublished;
};

// InvalidArgument for an unknown topologyPolicy or manager policy string, or a Numa zone (or the node's
// reclaimed resources) whose allocatable exceeds its capacity: a CNR that contradicts itself is not used.
Result<CnrNodeState> NodeStateFromCnr(const Cnr& cnr, const CnrReadOptions& options = {});

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
