// The CustomNodeResource (node.katalyst.kubewharf.io/v1alpha1) as plain C++ values: the subset of the Katalyst
// object Tessera reads and writes. See reference/katalyst-contract.md for the meaning of each field and
// crd/customnoderesource.crd.yaml for the schema. Fields Tessera does not model are preserved by the reporter at
// the JSON level (crd/cnr_merge.h), never dropped.
#ifndef TESSERA_CRD_CNR_H_
#define TESSERA_CRD_CNR_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "crd/quantity.h"

namespace tessera::crd {

inline constexpr char kCnrApiVersion[] = "node.katalyst.kubewharf.io/v1alpha1";
inline constexpr char kCnrKind[] = "CustomNodeResource";

// Zone types, spelled as Katalyst spells them ("Numa", not "NUMA").
inline constexpr char kZoneSocket[] = "Socket";
inline constexpr char kZoneNuma[] = "Numa";
inline constexpr char kZoneGpu[] = "GPU";
inline constexpr char kZoneNic[] = "NIC";

// Resource names.
inline constexpr char kResourceCpu[] = "cpu";
inline constexpr char kResourceMemory[] = "memory";
inline constexpr char kResourceGpu[] = "nvidia.com/gpu";
inline constexpr char kResourceGpuCores[] = "nvidia.com/gpucores";  // percent of one card
inline constexpr char kResourceGpuMemory[] = "nvidia.com/gpumem";   // MiB
inline constexpr char kResourceReclaimedMilliCpu[] = "resource.katalyst.kubewharf.io/reclaimed_millicpu";
inline constexpr char kResourceReclaimedMemory[] = "resource.katalyst.kubewharf.io/reclaimed_memory";
inline constexpr char kResourceNetBandwidth[] = "resource.katalyst.kubewharf.io/net_bandwidth";  // Mb/s

// Zone attributes (Tessera conventions within the Katalyst schema).
inline constexpr char kAttrPcieSwitch[] = "pcie_switch";
inline constexpr char kAttrNuma[] = "numa";
inline constexpr char kAttrSocket[] = "socket";
inline constexpr char kAttrModel[] = "model";
inline constexpr char kAttrRdma[] = "rdma";
inline constexpr char kAttrCpuList[] = "cpulist";
inline constexpr char kAttrDistance[] = "distance";
inline constexpr char kAttrPciBusId[] = "pci_bus_id";
inline constexpr char kAttrGpuIndex[] = "index";

// spec.nodeResourceProperties names.
inline constexpr char kPropNuma[] = "numa";
inline constexpr char kPropCpu[] = "cpu";
inline constexpr char kPropMemory[] = "memory";
inline constexpr char kPropGpuTopologyKey[] = "gpu_topology_attribute_key";
inline constexpr char kPropCpuManagerPolicy[] = "cpu_manager_policy";
inline constexpr char kPropMemoryManagerPolicy[] = "memory_manager_policy";

inline constexpr char kConditionAgentReady[] = "AgentReady";
// The label marking CNRs this reporter owns; a CNR without it was written by someone else (e.g. Katalyst).
inline constexpr char kManagedByLabel[] = "app.kubernetes.io/managed-by";
inline constexpr char kManagedByReporter[] = "tessera-reporter";

struct OwnerReference {
  std::string api_version;
  std::string kind;
  std::string name;
  std::string uid;
  bool controller = false;
};

struct ObjectMeta {
  std::string name;
  std::string uid;
  std::string resource_version;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  std::vector<OwnerReference> owner_references;
};

struct Property {
  std::string name;
  std::vector<std::string> values;
  std::optional<Quantity> quantity;
};

struct Taint {
  std::string key;
  std::string value;
  std::string effect;
  std::string qos_level;
};

struct Attribute {
  std::string name;
  std::string value;
  friend bool operator==(const Attribute&, const Attribute&) = default;
};

struct Allocation {
  std::string consumer;  // "<namespace>/<name>/<uid>"
  ResourceList requests;
};

struct Sibling {
  std::string type;
  std::string name;
  std::vector<Attribute> attributes;
};

struct ZoneResources {
  ResourceList capacity;
  ResourceList allocatable;
};

struct TopologyZone {
  std::string type;
  std::string name;
  ZoneResources resources;
  std::vector<Attribute> attributes;
  std::vector<Allocation> allocations;
  std::vector<TopologyZone> children;
  std::vector<Sibling> siblings;

  // The value of attribute `name`, or nullptr.
  const std::string* FindAttribute(const std::string& attr_name) const;
};

struct Condition {
  std::string type;
  std::string status;
  std::string last_heartbeat_time;  // RFC 3339
  std::string reason;
  std::string message;
};

struct CnrStatus {
  std::string topology_policy;  // "" is encoded as absent (the CRD defaults it to "none")
  ZoneResources resources;
  std::vector<TopologyZone> zones;
  std::vector<Condition> conditions;
};

struct Cnr {
  ObjectMeta metadata;
  std::vector<Property> properties;
  std::vector<Taint> taints;
  CnrStatus status;

  const Property* FindProperty(const std::string& name) const;
  const Condition* FindCondition(const std::string& type) const;
};

}  // namespace tessera::crd

#endif  // TESSERA_CRD_CNR_H_
