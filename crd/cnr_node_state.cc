#include "crd/cnr_node_state.h"

#include <algorithm>
#include <set>

namespace tessera::crd {
namespace {

int64_t MilliOf(const ResourceList& r, const char* name) {
  auto it = r.find(name);
  return it == r.end() ? 0 : it->second.milli();
}

bool ParseNumaName(const std::string& name, int* id) {
  if (name.empty() || name.size() > 2 || !std::all_of(name.begin(), name.end(), ::isdigit)) return false;
  *id = std::stoi(name);
  return *id < scoring::kMaxNumaNodesPerNode;
}

}  // namespace

Result<CnrNodeState> NodeStateFromCnr(const Cnr& cnr) {
  CnrNodeState out;
  Result<std::pair<scoring::TopologyPolicy, scoring::TopologyScope>> policy =
      scoring::ParseCnrTopologyPolicy(cnr.status.topology_policy);
  if (!policy.ok()) return policy.status().WithContext("CNR " + cnr.metadata.name + " status.topologyPolicy");
  scoring::NodePolicies p;
  p.topology_policy = policy->first;
  p.topology_scope = policy->second;
  if (const Property* cpu = cnr.FindProperty(kPropCpuManagerPolicy); cpu != nullptr && !cpu->values.empty()) {
    const std::string& v = cpu->values.front();
    if (v != "none" && v != "static") {
      return Status::InvalidArgument("CNR " + cnr.metadata.name + ": cpu_manager_policy \"" + v + "\" is not none|static");
    }
    p.cpu_manager_static = v == "static";
  }
  if (const Property* mem = cnr.FindProperty(kPropMemoryManagerPolicy); mem != nullptr && !mem->values.empty()) {
    const std::string& v = mem->values.front();
    if (v != "None" && v != "Static") {
      return Status::InvalidArgument("CNR " + cnr.metadata.name + ": memory_manager_policy \"" + v + "\" is not None|Static");
    }
    p.memory_manager_static = v == "Static";
  }
  std::vector<scoring::NumaCapacity> caps;
  std::set<int> seen;
  for (const TopologyZone& socket : cnr.status.zones) {
    if (socket.type != kZoneSocket) continue;
    int socket_id = 0;
    if (!ParseNumaName(socket.name, &socket_id)) {
      out.warnings.push_back("Socket zone \"" + socket.name + "\" is not a small integer; its NUMA zones are skipped");
      continue;
    }
    for (const TopologyZone& z : socket.children) {
      if (z.type != kZoneNuma) continue;
      int id = 0;
      if (!ParseNumaName(z.name, &id) || !seen.insert(id).second) {
        out.warnings.push_back("Numa zone \"" + z.name + "\" skipped (not an integer in [0, 64), or listed twice)");
        continue;
      }
      const ResourceList& a = z.resources.allocatable.empty() ? z.resources.capacity : z.resources.allocatable;
      caps.push_back({id, socket_id, MilliOf(a, kResourceCpu), MilliOf(a, kResourceMemory) / 1000,
                      MilliOf(a, kResourceReclaimedMilliCpu) / 1000, MilliOf(a, kResourceReclaimedMemory) / 1000});
    }
  }
  out.node = scoring::MakeNodeState(cnr.metadata.name, caps, p);
  // Node-level reclaimed resources are authoritative when reported (they shrink as shared pods grow).
  const ResourceList& node_alloc = cnr.status.resources.allocatable;
  if (node_alloc.count(kResourceReclaimedMilliCpu)) {
    out.node.reclaimed_cpu_allocatable_milli = MilliOf(node_alloc, kResourceReclaimedMilliCpu) / 1000;
  }
  if (node_alloc.count(kResourceReclaimedMemory)) {
    out.node.reclaimed_memory_allocatable = MilliOf(node_alloc, kResourceReclaimedMemory) / 1000;
  }
  return out;
}

}  // namespace tessera::crd
