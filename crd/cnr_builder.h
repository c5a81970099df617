// The two directions between the topology model and a CNR: BuildCnr turns a discovered NodeTopology plus the
// node's kubelet settings into the object the reporter publishes; TopologyFromCnr recovers the model from a
// published CNR (what the scheduler sees). TopologyFromCnr(BuildCnr(t)) reproduces t's sockets, NUMA nodes
// (CPUs, memory), GPUs and NICs with their NUMA and PCIe-switch placement.
#ifndef TESSERA_CRD_CNR_BUILDER_H_
#define TESSERA_CRD_CNR_BUILDER_H_

#include <map>
#include <string>
#include <vector>

#include "base/status.h"
#include "crd/cnr.h"
#include "topology/node_topology.h"

namespace tessera::crd {

// The values status.topologyPolicy accepts (Katalyst's enum).
const std::vector<std::string>& TopologyPolicies();
// "SingleNUMANodeContainerLevel" from the kubelet's policy ("single-numa-node") and scope ("container"); also
// accepts the CNR spelling itself, or "none". InvalidArgument for anything else.
Result<std::string> NormalizeTopologyPolicy(const std::string& value);

struct CnrBuildOptions {
  std::string node_name;
  std::string node_uid;  // empty: no ownerReference (dry runs; the publisher fills it from the Node)
  std::string topology_policy = "None";
  std::string cpu_manager_policy = "none";     // kubelet --cpu-manager-policy: none | static
  std::string memory_manager_policy = "None";  // kubelet --memory-manager-policy: None | Static
  std::vector<int> reserved_cpus;              // kubelet --reserved-cpus: off their NUMA node's allocatable
  std::map<int, int64_t> reserved_memory;      // NUMA id -> bytes (kubelet --reserved-memory)
  // Share of each NUMA node's allocatable CPU and memory offered to reclaimed_cores pods. A static stand-in
  // for Katalyst's usage-based estimator: reclaimed = ratio * allocatable, per NUMA node and summed per node.
  double reclaim_ratio = 0.0;
  std::string heartbeat_time;  // RFC 3339; empty omits the AgentReady condition
  // Set when the agent cannot vouch for what it publishes (e.g. the kubelet's configuration does not parse):
  // AgentReady is then "False" with this reason and message, and schedulers leave the node's topology alone.
  std::string not_ready_reason;
  std::string not_ready_message;
};

Result<Cnr> BuildCnr(const topology::NodeTopology& topology, const CnrBuildOptions& options);

// Fails when the zone tree is not the shape BuildCnr produces (e.g. a Numa zone outside a Socket, a non-integer
// NUMA name, a cpulist that does not parse), naming the zone.
Result<topology::NodeTopology> TopologyFromCnr(const Cnr& cnr);

// "0-3,8,10-11" <-> {0,1,2,3,8,10,11}. Parsing rejects ids above 65535 and reversed ranges.
std::string FormatCpuList(const std::vector<int>& cpus);
Result<std::vector<int>> ParseCpuList(const std::string& text);

}  // namespace tessera::crd

#endif  // TESSERA_CRD_CNR_BUILDER_H_
