// NodeResourceTopology (topology.node.k8s.io/v1alpha2), the object NFD's topology-updater, the
// resource-topology-exporter and koordlet publish and scheduler-plugins' NodeResourceTopologyMatch reads: per
// NUMA node (zones of type "Node" named "node-<id>") the capacity, allocatable and available amount of each
// resource, the distances to the other NUMA nodes (costs), and the kubelet's Topology Manager policy and scope
// as top-level attributes. It says nothing of GPU cards, PCIe switches or NICs.
#ifndef TESSERA_CRD_NRT_H_
#define TESSERA_CRD_NRT_H_

#include <string>
#include <vector>

#include "crd/cnr.h"

namespace tessera::crd {

inline constexpr char kNrtApiVersion[] = "topology.node.k8s.io/v1alpha2";
inline constexpr char kNrtKind[] = "NodeResourceTopology";
inline constexpr char kNrtCollectionPath[] = "/apis/topology.node.k8s.io/v1alpha2/noderesourcetopologies";
inline constexpr char kNrtZoneNode[] = "Node";
// Top-level attributes (the kubelet's spellings: single-numa-node, container).
inline constexpr char kNrtAttrPolicy[] = "topologyManagerPolicy";
inline constexpr char kNrtAttrScope[] = "topologyManagerScope";
// Tessera's own top-level attributes, published by tessera-reporter (others' NRTs lack them: then inferred).
inline constexpr char kNrtAttrCpuManagerPolicy[] = "cpuManagerPolicy";
inline constexpr char kNrtAttrMemoryManagerPolicy[] = "memoryManagerPolicy";

struct NrtResource {
  std::string name;
  Quantity capacity;
  Quantity allocatable;
  Quantity available;  // allocatable minus what pods hold exclusively (pinned CPUs, memory-manager memory)
};

struct NrtCost {
  std::string name;  // the other zone
  int64_t value = 0;
};

struct NrtZone {
  std::string name;    // "node-<id>" for NUMA nodes
  std::string type;    // "Node" for NUMA nodes
  std::string parent;  // tessera-reporter writes "socket-<id>"; empty elsewhere
  std::vector<NrtCost> costs;
  std::vector<Attribute> attributes;
  std::vector<NrtResource> resources;
};

struct Nrt {
  ObjectMeta metadata;
  std::vector<std::string> topology_policies;  // deprecated in v1alpha2: CNR-style values
  std::vector<NrtZone> zones;
  std::vector<Attribute> attributes;

  const std::string* FindAttribute(const std::string& name) const;
};

}  // namespace tessera::crd

#endif  // TESSERA_CRD_NRT_H_
