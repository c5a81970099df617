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

const char* PolicySourceName(PolicySource source) {
  switch (source) {
    case PolicySource::kPublished: return "published";
    case PolicySource::kAssumed: return "assumed";
    case PolicySource::kInferred: return "inferred";
  }
  return "unknown";
}

Status ValidateCnrReadOptions(const CnrReadOptions& options) {
  const std::string& cpu = options.assume_cpu_manager_policy;
  const std::string& mem = options.assume_memory_manager_policy;
  if (!cpu.empty() && cpu != "none" && cpu != "static")
    return Status::InvalidArgument("--assume-cpu-manager-policy \"" + cpu + "\" is not none|static");
  if (!mem.empty() && mem != "None" && mem != "Static")
    return Status::InvalidArgument("--assume-memory-manager-policy \"" + mem + "\" is not None|Static");
  return Status::Ok();
}

ManagerPolicies InferManagerPolicies(scoring::TopologyPolicy policy) {
  const bool aligning = policy == scoring::TopologyPolicy::kSingleNumaNode ||
                        policy == scoring::TopologyPolicy::kRestricted ||
                        policy == scoring::TopologyPolicy::kNumeric;
  return {aligning, aligning};
}

Status ResolveManagerPolicy(const std::string* published, const std::string& what, const char* field,
                            const char* off, const char* on, const std::string& assumed, bool inferred,
                            bool* is_static, PolicySource* source) {
  if (published != nullptr) {
    if (*published != off && *published != on) {
      return Status::InvalidArgument(what + ": " + field + " \"" + *published + "\" is not " + off + "|" + on);
    }
    *is_static = *published == on;
    *source = PolicySource::kPublished;
  } else if (!assumed.empty()) {
    *is_static = assumed == on;
    *source = PolicySource::kAssumed;
  } else {
    *is_static = inferred;
    *source = PolicySource::kInferred;
  }
  return Status::Ok();
}

namespace {

// The first value of property `name`, or nullptr.
const std::string* PropertyValue(const Cnr& cnr, const char* name) {
  const Property* p = cnr.FindProperty(name);
  return p == nullptr || p->values.empty() ? nullptr : &p->values.front();
}

// Allocatable above capacity for a resource both list: the object contradicts itself.
Status CheckAllocatableWithinCapacity(const ZoneResources& r, const std::string& where) {
  for (const auto& [name, alloc] : r.allocatable) {
    auto cap = r.capacity.find(name);
    if (cap != r.capacity.end() && alloc.milli() > cap->second.milli()) {
      return Status::InvalidArgument(where + ": allocatable " + name + " " + alloc.ToString() +
                                     " exceeds its capacity " + cap->second.ToString());
    }
  }
  return Status::Ok();
}

}  // namespace

Result<CnrNodeState> NodeStateFromCnr(const Cnr& cnr, const CnrReadOptions& options) {
  CnrNodeState out;
  Result<std::pair<scoring::TopologyPolicy, scoring::TopologyScope>> policy =
      scoring::ParseCnrTopologyPolicy(cnr.status.topology_policy);
  if (!policy.ok()) return policy.status().WithContext("CNR " + cnr.metadata.name + " status.topologyPolicy");
  scoring::NodePolicies p;
  p.topology_policy = policy->first;
  p.topology_scope = policy->second;
  const ManagerPolicies inferred = InferManagerPolicies(p.topology_policy);
  const std::string what = "CNR " + cnr.metadata.name;
  if (Status s = ResolveManagerPolicy(PropertyValue(cnr, kPropCpuManagerPolicy), what, kPropCpuManagerPolicy,
                                      "none", "static", options.assume_cpu_manager_policy,
                                      inferred.cpu_manager_static, &p.cpu_manager_static, &out.cpu_manager_source);
      !s.ok())
    return s;
  if (Status s = ResolveManagerPolicy(PropertyValue(cnr, kPropMemoryManagerPolicy), what, kPropMemoryManagerPolicy,
                                      "None", "Static", options.assume_memory_manager_policy,
                                      inferred.memory_manager_static, &p.memory_manager_static,
                                      &out.memory_manager_source);
      !s.ok())
    return s;
  if (Status s = CheckAllocatableWithinCapacity(cnr.status.resources, "CNR " + cnr.metadata.name); !s.ok())
    return s;
  std::vector<scoring::NumaCapacity> caps;
  std::set<int> seen;
  for (const TopologyZone& socket : cnr.status.zones) {
    if (socket.type != kZoneSocket) continue;
    int socket_id = 0;
    if (!ParseNumaName(socket.name, &socket_id)) {
      out.warnings.push_back("Socket zone \"" + socket.name +
                             "\" is not a small integer; its NUMA zones are skipped");
      continue;
    }
    for (const TopologyZone& z : socket.children) {
      if (z.type != kZoneNuma) continue;
      int id = 0;
      if (!ParseNumaName(z.name, &id) || !seen.insert(id).second) {
        out.warnings.push_back("Numa zone \"" + z.name +
                               "\" skipped (not an integer in [0, 64), or listed twice)");
        continue;
      }
      if (Status s =
              CheckAllocatableWithinCapacity(z.resources, "CNR " + cnr.metadata.name + " Numa zone " + z.name);
          !s.ok())
        return s;
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

namespace {

// "<namespace>/<name>/<uid>" -> key "<namespace>/<name>" and uid; false for anything else.
bool SplitConsumer(const std::string& consumer, std::string* key, std::string* uid) {
  const size_t first = consumer.find('/');
  if (first == std::string::npos || first == 0) return false;
  const size_t second = consumer.find('/', first + 1);
  if (second == first + 1) return false;
  *key = consumer.substr(0, second);
  *uid = second == std::string::npos ? "" : consumer.substr(second + 1);
  return true;
}

void CollectAllocations(const TopologyZone& zone, const scoring::NodeState& node, ReportedAllocations* out) {
  uint64_t bit = 0;
  uint64_t ReportedPlacement::*mask = nullptr;
  if (int id = 0; zone.type == kZoneNuma && ParseNumaName(zone.name, &id)) {
    if (const int index = node.NumaIndex(id); index >= 0) {
      bit = uint64_t{1} << index;
      mask = &ReportedPlacement::numa_mask;
    }
  } else if (zone.type == kZoneGpu) {
    for (size_t i = 0; i < node.gpus.size() && i < 64; ++i) {
      if (node.gpus[i].pci_bus_id == zone.name) {
        bit = uint64_t{1} << i;
        mask = &ReportedPlacement::gpu_mask;
      }
    }
  } else if (zone.type == kZoneNic) {
    for (size_t i = 0; i < node.nics.size() && i < 64; ++i) {
      if (node.nics[i].name == zone.name) {
        bit = uint64_t{1} << i;
        mask = &ReportedPlacement::nic_mask;
      }
    }
  }
  if (mask != nullptr) {
    for (const Allocation& a : zone.allocations) {
      std::string key, uid;
      if (!SplitConsumer(a.consumer, &key, &uid)) continue;
      ReportedPlacement& p = (*out)[key];
      if (!uid.empty()) p.uid = uid;
      p.*mask |= bit;
    }
  }
  for (const TopologyZone& child : zone.children) CollectAllocations(child, node, out);
}

}  // namespace

ReportedAllocations ReportedAllocationsFromCnr(const Cnr& cnr, const scoring::NodeState& node) {
  ReportedAllocations out;
  for (const TopologyZone& zone : cnr.status.zones) CollectAllocations(zone, node, &out);
  return out;
}

}  // namespace tessera::crd
