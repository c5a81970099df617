#include "topology/hwloc_discovery.h"

#include <hwloc.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <set>

namespace tessera::topology {
namespace {

struct TopologyDeleter {
  void operator()(hwloc_topology* t) const { hwloc_topology_destroy(t); }
};
using TopologyPtr = std::unique_ptr<hwloc_topology, TopologyDeleter>;

constexpr uint16_t kVendorNvidia = 0x10de;
constexpr uint16_t kVendorAmd = 0x1002;
constexpr uint16_t kVendorMellanox = 0x15b3;

bool IsGpu(const hwloc_obj_attr_u::hwloc_pcidev_attr_s& pci) {
  if (pci.vendor_id != kVendorNvidia && pci.vendor_id != kVendorAmd) return false;
  // VGA, 3D controller, display controller, processing accelerator (MI300A). NVSwitch (0x0680) is a bridge.
  switch (pci.class_id) {
    case 0x0300:
    case 0x0302:
    case 0x0380:
    case 0x1200: return true;
    default: return false;
  }
}

const char* Info(hwloc_obj_t obj, const char* name) {
  const char* v = hwloc_obj_get_info_by_name(obj, name);
  return v != nullptr ? v : "";
}

std::vector<hwloc_obj_t> OsDevices(hwloc_obj_t pcidev) {
  std::vector<hwloc_obj_t> out;
  for (hwloc_obj_t c = pcidev->io_first_child; c != nullptr; c = c->next_sibling) {
    if (c->type == HWLOC_OBJ_OS_DEVICE) out.push_back(c);
  }
  return out;
}

std::string HostBridgeId(hwloc_obj_t bridge) {
  const auto& down = bridge->attr->bridge.downstream.pci;
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%04x:[%02x-%02x]", static_cast<unsigned>(down.domain), down.secondary_bus,
                down.subordinate_bus);
  return buf;
}

DeviceLocation LocateDevice(hwloc_topology_t topo, hwloc_obj_t pcidev, const NodeTopology& model) {
  DeviceLocation loc;
  const auto& pci = pcidev->attr->pcidev;
  loc.pci_bus_id = FormatPciBusId(pci.domain, pci.bus, pci.dev, pci.func);

  // Bridges from the device up to the host bridge; reversed below into host-to-device order.
  std::vector<std::string> path;
  for (hwloc_obj_t p = pcidev->parent; p != nullptr && p->type == HWLOC_OBJ_BRIDGE; p = p->parent) {
    const auto& br = p->attr->bridge;
    if (br.upstream_type == HWLOC_OBJ_BRIDGE_HOST) {
      loc.host_bridge = HostBridgeId(p);
      break;
    }
    const auto& up = br.upstream.pci;
    path.push_back(FormatPciBusId(up.domain, up.bus, up.dev, up.func));
  }
  std::reverse(path.begin(), path.end());
  loc.pcie_path = path;
  // A root port has a single link, so two devices below the same topmost PCI-PCI bridge necessarily meet in a
  // switch (or the port itself): that bridge names their switch domain.
  if (!path.empty()) loc.pcie_switch = path.front();

  hwloc_obj_t cpu_side = hwloc_get_non_io_ancestor_obj(topo, pcidev);
  if (cpu_side != nullptr && cpu_side->nodeset != nullptr) {
    unsigned id = 0;
    hwloc_bitmap_foreach_begin(id, cpu_side->nodeset) {
      if (model.FindNuma(static_cast<int>(id)) != nullptr) loc.numa_ids.push_back(static_cast<int>(id));
    }
    hwloc_bitmap_foreach_end();
  }
  int socket = -1;
  for (int numa : loc.numa_ids) {
    int s = model.FindNuma(numa)->socket_id;
    if (socket == -1) {
      socket = s;
    } else if (socket != s) {
      socket = -1;
      break;
    }
  }
  loc.socket_id = socket;
  return loc;
}

// Memory in MiB from the GPU's OS devices (CUDA, ROCm SMI, OpenCL report KiB), 0 when absent.
uint64_t GpuMemoryFromOsDevices(const std::vector<hwloc_obj_t>& osdevs) {
  for (hwloc_obj_t os : osdevs) {
    for (const char* key : {"CUDAGlobalMemorySize", "RSMIVRAMSize", "OpenCLGlobalMemorySize"}) {
      const char* v = hwloc_obj_get_info_by_name(os, key);
      if (v == nullptr) continue;
      char* end = nullptr;
      unsigned long long kib = std::strtoull(v, &end, 10);
      if (end != v && *end == '\0' && kib > 0) return kib / 1024;
    }
  }
  return 0;
}

// Process-wide so a reporter that rediscovers every interval warns once per model, not once per loop.
bool FirstWarningFor(const std::string& key) {
  static std::mutex mu;
  static std::set<std::string> seen;
  std::lock_guard<std::mutex> lock(mu);
  return seen.insert(key).second;
}

uint64_t ReadLinkSpeed(const std::string& sysfs_root, const std::string& ifname) {
  std::ifstream in(sysfs_root + "/" + ifname + "/speed");
  long long mbps = 0;
  if (in >> mbps && mbps > 0) return static_cast<uint64_t>(mbps);
  return 0;
}

void DiscoverCpuAndMemory(hwloc_topology_t topo, NodeTopology* model) {
  const int numa_count = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE);
  std::vector<hwloc_obj_t> numa_objs;
  for (int i = 0; i < numa_count; ++i) numa_objs.push_back(hwloc_get_obj_by_type(topo, HWLOC_OBJ_NUMANODE, i));
  std::sort(numa_objs.begin(), numa_objs.end(),
            [](hwloc_obj_t a, hwloc_obj_t b) { return a->os_index < b->os_index; });

  std::map<int, std::set<int>> socket_numas;
  std::vector<int> orphan_numas;  // memory-only nodes with no Package above them (e.g. GPU memory on POWER9)
  for (hwloc_obj_t obj : numa_objs) {
    NumaNode n;
    n.id = static_cast<int>(obj->os_index);
    n.memory_bytes = obj->attr->numanode.local_memory;
    hwloc_obj_t pkg = hwloc_get_ancestor_obj_by_type(topo, HWLOC_OBJ_PACKAGE, obj);
    // Some dumps (POWER9) attach NUMA nodes to a Group beside the Package, not inside it: then the package is
    // the one whose CPUs the node holds.
    for (hwloc_obj_t p = nullptr; pkg == nullptr && obj->cpuset != nullptr && !hwloc_bitmap_iszero(obj->cpuset) &&
                                  (p = hwloc_get_next_obj_by_type(topo, HWLOC_OBJ_PACKAGE, p)) != nullptr;) {
      if (hwloc_bitmap_intersects(p->cpuset, obj->cpuset)) pkg = p;
    }
    n.socket_id = pkg != nullptr ? static_cast<int>(pkg->os_index) : -1;
    if (pkg == nullptr) orphan_numas.push_back(n.id);
    model->numa_nodes.push_back(n);
  }

  // A CPU belongs to the lowest-numbered NUMA node whose cpuset holds it: HBM nodes in flat mode share cpusets
  // with their DDR node, and counting their CPUs twice would double the node's capacity.
  auto owner_of = [&](unsigned pu_os_index) -> NumaNode* {
    for (size_t i = 0; i < numa_objs.size(); ++i) {
      if (numa_objs[i]->cpuset != nullptr && hwloc_bitmap_isset(numa_objs[i]->cpuset, pu_os_index)) {
        return &model->numa_nodes[i];
      }
    }
    return nullptr;
  };
  const int pu_count = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU);
  for (int i = 0; i < pu_count; ++i) {
    hwloc_obj_t pu = hwloc_get_obj_by_type(topo, HWLOC_OBJ_PU, i);
    if (NumaNode* n = owner_of(pu->os_index)) n->cpu_ids.push_back(static_cast<int>(pu->os_index));
  }
  const int core_count = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
  if (core_count > 0) {
    for (int i = 0; i < core_count; ++i) {
      hwloc_obj_t core = hwloc_get_obj_by_type(topo, HWLOC_OBJ_CORE, i);
      int first_pu = hwloc_bitmap_first(core->cpuset);
      if (first_pu < 0) continue;
      if (NumaNode* n = owner_of(static_cast<unsigned>(first_pu))) ++n->core_count;
    }
  } else {
    for (NumaNode& n : model->numa_nodes) n.core_count = static_cast<int>(n.cpu_ids.size());
  }
  for (NumaNode& n : model->numa_nodes) std::sort(n.cpu_ids.begin(), n.cpu_ids.end());

  // NUMA distances (hwloc keeps them in its own object order; remap to ours).
  unsigned nr = 1;
  hwloc_distances_s* dist = nullptr;
  if (hwloc_distances_get_by_type(topo, HWLOC_OBJ_NUMANODE, &nr, &dist, 0, 0) == 0 && nr >= 1 && dist != nullptr) {
    const size_t n = model->numa_nodes.size();
    if (dist->nbobjs == n) {
      std::vector<size_t> pos(n);
      for (unsigned i = 0; i < dist->nbobjs; ++i) {
        for (size_t j = 0; j < n; ++j) {
          if (model->numa_nodes[j].id == static_cast<int>(dist->objs[i]->os_index)) pos[i] = j;
        }
      }
      model->numa_distances.assign(n * n, 0);
      for (unsigned i = 0; i < dist->nbobjs; ++i) {
        for (unsigned j = 0; j < dist->nbobjs; ++j) {
          model->numa_distances[pos[i] * n + pos[j]] = static_cast<uint32_t>(dist->values[i * dist->nbobjs + j]);
        }
      }
    }
    hwloc_distances_release(topo, dist);
  }

  // Orphan memory nodes join the socket of their nearest node that has one (by SLIT distance); without
  // distances, the lowest socket. The CNR nests every Numa zone under a Socket zone, so each needs one.
  int fallback_socket = -1;
  for (const NumaNode& n : model->numa_nodes) {
    if (n.socket_id >= 0 && (fallback_socket < 0 || n.socket_id < fallback_socket)) fallback_socket = n.socket_id;
  }
  if (fallback_socket < 0) fallback_socket = 0;  // no Package objects at all: one implicit socket
  for (int orphan : orphan_numas) {
    int best_socket = fallback_socket;
    uint32_t best = UINT32_MAX;
    for (const NumaNode& n : model->numa_nodes) {
      if (n.socket_id < 0) continue;
      uint32_t d = model->NumaDistance(orphan, n.id);
      if (d != 0 && d < best) {
        best = d;
        best_socket = n.socket_id;
      }
    }
    for (NumaNode& n : model->numa_nodes) {
      if (n.id == orphan) n.socket_id = best_socket;
    }
  }
  for (const NumaNode& n : model->numa_nodes) socket_numas[n.socket_id].insert(n.id);
  for (auto& [id, numas] : socket_numas) model->sockets.push_back(Socket{id, {numas.begin(), numas.end()}});
}

void DiscoverDevices(hwloc_topology_t topo, const DiscoveryOptions& options, DiscoveryResult* result) {
  NodeTopology* model = &result->topology;
  const bool live = options.xml_path.empty() && options.xml_buffer.empty();
  for (hwloc_obj_t dev = hwloc_get_next_pcidev(topo, nullptr); dev != nullptr;
       dev = hwloc_get_next_pcidev(topo, dev)) {
    const auto& pci = dev->attr->pcidev;
    std::vector<hwloc_obj_t> osdevs = OsDevices(dev);
    if (IsGpu(pci)) {
      Gpu gpu;
      gpu.location = LocateDevice(topo, dev, *model);
      gpu.vendor_id = pci.vendor_id;
      gpu.device_id = pci.device_id;
      gpu.vendor = pci.vendor_id == kVendorNvidia ? "NVIDIA" : "AMD";
      for (hwloc_obj_t os : osdevs) {
        if (gpu.product.empty()) gpu.product = Info(os, "GPUModel");
      }
      if (gpu.product.empty()) gpu.product = Info(dev, "PCIDevice");
      if (gpu.product.empty()) gpu.product = PciIdKey(pci.vendor_id, pci.device_id);
      gpu.model = options.gpu_models.ModelFor(pci.vendor_id, pci.device_id, gpu.product);
      gpu.memory_mib = GpuMemoryFromOsDevices(osdevs);
      if (gpu.memory_mib == 0) {
        gpu.memory_mib = options.gpu_models.MemoryFor(gpu.model);
        std::string warning =
            gpu.memory_mib != 0
                ? "GPU memory of model " + gpu.model + " is not in the topology; using " +
                      std::to_string(gpu.memory_mib) + " MiB from the model table (override: --gpu-memory-mib)"
                : "GPU memory of model " + gpu.model +
                      " is unknown; publishing 0 MiB of nvidia.com/gpumem (set --gpu-memory-mib " + gpu.model +
                      "=MiB or add it to --gpu-aliases)";
        if (std::find(result->warnings.begin(), result->warnings.end(), warning) == result->warnings.end()) {
          result->warnings.push_back(warning);
        }
        if (FirstWarningFor(gpu.model)) spdlog::warn("{}", warning);
      }
      model->gpus.push_back(std::move(gpu));
      continue;
    }

    bool openfabrics = false, slingshot = false;
    std::string rdma_name, net_name;
    std::vector<std::string> names;
    for (hwloc_obj_t os : osdevs) {
      std::string name = os->name != nullptr ? os->name : "";
      if (os->attr->osdev.type == HWLOC_OBJ_OSDEV_OPENFABRICS) {
        openfabrics = true;
        if (rdma_name.empty()) rdma_name = name;
        names.push_back(name);
      } else if (os->attr->osdev.type == HWLOC_OBJ_OSDEV_NETWORK) {
        if (os->subtype != nullptr && std::string(os->subtype) == "Slingshot") slingshot = true;
        if (net_name.empty()) net_name = name;
        names.push_back(name);
      }
    }
    const bool mellanox_net = pci.vendor_id == kVendorMellanox && (pci.class_id >> 8) == 0x02;
    if (!openfabrics && !mellanox_net && !slingshot) continue;
    Nic nic;
    nic.location = LocateDevice(topo, dev, *model);
    nic.vendor_id = pci.vendor_id;
    nic.device_id = pci.device_id;
    nic.rdma = openfabrics || mellanox_net;
    nic.name = !rdma_name.empty() ? rdma_name : !net_name.empty() ? net_name : nic.location.pci_bus_id;
    std::sort(names.begin(), names.end());
    nic.os_devices = names;
    if (live && !net_name.empty()) nic.link_speed_mbps = ReadLinkSpeed(options.sysfs_net_root, net_name);
    model->nics.push_back(std::move(nic));
  }
  auto by_bus = [](const auto& a, const auto& b) { return a.location.pci_bus_id < b.location.pci_bus_id; };
  std::sort(model->gpus.begin(), model->gpus.end(), by_bus);
  std::sort(model->nics.begin(), model->nics.end(), by_bus);
  for (size_t i = 0; i < model->gpus.size(); ++i) model->gpus[i].index = static_cast<int>(i);
}

}  // namespace

Result<DiscoveryResult> DiscoverTopology(const DiscoveryOptions& options) {
  hwloc_topology_t raw = nullptr;
  if (hwloc_topology_init(&raw) != 0) return Status::Internal("hwloc_topology_init failed");
  TopologyPtr topo(raw);
  hwloc_topology_set_flags(raw, HWLOC_TOPOLOGY_FLAG_INCLUDE_DISALLOWED);
  hwloc_topology_set_io_types_filter(raw, HWLOC_TYPE_FILTER_KEEP_ALL);
  if (!options.xml_path.empty()) {
    std::ifstream probe(options.xml_path);
    if (!probe) return Status::InvalidArgument("cannot read topology XML " + options.xml_path);
    if (hwloc_topology_set_xml(raw, options.xml_path.c_str()) != 0) {
      return Status::InvalidArgument("hwloc cannot use XML " + options.xml_path);
    }
  } else if (!options.xml_buffer.empty()) {
    if (options.xml_buffer.size() > (64u << 20)) return Status::InvalidArgument("topology XML larger than 64 MiB");
    if (hwloc_topology_set_xmlbuffer(raw, options.xml_buffer.data(),
                                     static_cast<int>(options.xml_buffer.size())) != 0) {
      return Status::InvalidArgument("hwloc rejected the XML buffer");
    }
  }
  if (hwloc_topology_load(raw) != 0) {
    std::string what =
        options.xml_path.empty() ? (options.xml_buffer.empty() ? "this machine" : "XML buffer") : options.xml_path;
    return Status::InvalidArgument("hwloc could not load the topology of " + what + " (corrupt or not hwloc XML)");
  }
  DiscoveryResult result;
  DiscoverCpuAndMemory(raw, &result.topology);
  if (result.topology.numa_nodes.empty()) return Status::InvalidArgument("topology has no NUMA node");
  DiscoverDevices(raw, options, &result);
  return result;
}

}  // namespace tessera::topology
