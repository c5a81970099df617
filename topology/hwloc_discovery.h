// Builds a NodeTopology with hwloc, from the live machine or from an XML dump (lstopo --of xml).
#ifndef TESSERA_TOPOLOGY_HWLOC_DISCOVERY_H_
#define TESSERA_TOPOLOGY_HWLOC_DISCOVERY_H_

#include <string>
#include <vector>

#include "base/status.h"
#include "topology/gpu_models.h"
#include "topology/node_topology.h"

namespace tessera::topology {

struct DiscoveryOptions {
  // Empty: discover the machine we run on. Otherwise an hwloc XML file.
  std::string xml_path;
  // hwloc XML held in memory (tests, fuzzing); used when non-empty and xml_path is empty.
  std::string xml_buffer;
  GpuModelTable gpu_models = GpuModelTable::BuiltIn();
  // Live mode only: where to read NIC link speeds (<root>/<ifname>/speed, Mb/s). Tests point it elsewhere.
  std::string sysfs_net_root = "/sys/class/net";
};

struct DiscoveryResult {
  NodeTopology topology;
  // Things an operator should know but that do not stop discovery (e.g. GPU memory taken from the model table).
  std::vector<std::string> warnings;
};

// Loads the whole machine, not only our cgroup's CPUs (HWLOC_TOPOLOGY_FLAG_INCLUDE_DISALLOWED: inside a pod hwloc
// would otherwise see just the pod's cpuset) and keeps every PCI bridge, PCI device and OS device (the library's
// default I/O filter drops them). Returns InvalidArgument for unreadable or corrupt XML.
Result<DiscoveryResult> DiscoverTopology(const DiscoveryOptions& options);

}  // namespace tessera::topology

#endif  // TESSERA_TOPOLOGY_HWLOC_DISCOVERY_H_
