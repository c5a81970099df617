#include "crd/cnr_builder.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

namespace tessera::crd {

using topology::NodeTopology;

const std::vector<std::string>& TopologyPolicies() {
  static const std::vector<std::string> kPolicies = {
      "None",
      "SingleNUMANodeContainerLevel",
      "SingleNUMANodePodLevel",
      "RestrictedContainerLevel",
      "RestrictedPodLevel",
      "BestEffortContainerLevel",
      "BestEffortPodLevel",
      "NumericContainerLevel",
      "NumericPodLevel",
  };
  return kPolicies;
}

Result<std::string> NormalizeTopologyPolicy(const std::string& value) {
  if (value == "none" || value == "None" || value.empty()) return std::string("None");
  for (const std::string& p : TopologyPolicies()) {
    if (p == value) return p;
  }
  // kubelet form: "<policy>[/<scope>]"; scope defaults to container, as in the kubelet.
  std::string policy = value, scope = "container";
  if (size_t slash = value.find('/'); slash != std::string::npos) {
    policy = value.substr(0, slash);
    scope = value.substr(slash + 1);
  }
  static const std::map<std::string, std::string> kPolicy = {{"single-numa-node", "SingleNUMANode"},
                                                             {"restricted", "Restricted"},
                                                             {"best-effort", "BestEffort"},
                                                             {"numeric", "Numeric"}};
  auto it = kPolicy.find(policy);
  if (it == kPolicy.end() || (scope != "container" && scope != "pod")) {
    return Status::InvalidArgument("topology policy \"" + value +
                                   "\": expected a CNR value (e.g. SingleNUMANodeContainerLevel) or "
                                   "<none|best-effort|restricted|single-numa-node|numeric>/<container|pod>");
  }
  return it->second + (scope == "pod" ? "PodLevel" : "ContainerLevel");
}

std::string FormatCpuList(const std::vector<int>& cpus) {
  std::vector<int> sorted = cpus;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  std::string out;
  for (size_t i = 0; i < sorted.size();) {
    size_t j = i;
    while (j + 1 < sorted.size() && sorted[j + 1] == sorted[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(sorted[i]);
    if (j > i) out += "-" + std::to_string(sorted[j]);
    i = j + 1;
  }
  return out;
}

Result<std::vector<int>> ParseCpuList(const std::string& text) {
  std::vector<int> out;
  std::stringstream in(text);
  std::string item;
  auto parse_int = [](const std::string& s, int* v) {
    if (s.empty() || s.size() > 5) return false;
    int x = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return false;
      x = x * 10 + (c - '0');
    }
    if (x > 65535) return false;
    *v = x;
    return true;
  };
  while (std::getline(in, item, ',')) {
    if (item.empty()) continue;
    size_t dash = item.find('-');
    int lo = 0, hi = 0;
    if (dash == std::string::npos) {
      if (!parse_int(item, &lo)) return Status::InvalidArgument("cpu list \"" + text + "\": bad id " + item);
      hi = lo;
    } else if (!parse_int(item.substr(0, dash), &lo) || !parse_int(item.substr(dash + 1), &hi) || hi < lo) {
      return Status::InvalidArgument("cpu list \"" + text + "\": bad range " + item);
    }
    for (int c = lo; c <= hi; ++c) out.push_back(c);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

namespace {

std::string JoinInts(const std::vector<int>& ids) {
  std::string out;
  for (int id : ids) out += (out.empty() ? "" : ",") + std::to_string(id);
  return out;
}

TopologyZone GpuZone(const topology::Gpu& gpu) {
  TopologyZone z;
  z.type = kZoneGpu;
  z.name = gpu.location.pci_bus_id;
  ResourceList r = {{kResourceGpu, Quantity::FromUnits(1)},
                    {kResourceGpuCores, Quantity::FromUnits(100)},
                    {kResourceGpuMemory, Quantity::FromUnits(static_cast<int64_t>(gpu.memory_mib))}};
  z.resources.capacity = r;
  z.resources.allocatable = r;
  // Attribute order is the GPU priority order published in gpu_topology_attribute_key.
  if (!gpu.location.pcie_switch.empty()) z.attributes.push_back({kAttrPcieSwitch, gpu.location.pcie_switch});
  z.attributes.push_back({kAttrNuma, JoinInts(gpu.location.numa_ids)});
  if (gpu.location.socket_id >= 0) z.attributes.push_back({kAttrSocket, std::to_string(gpu.location.socket_id)});
  z.attributes.push_back({kAttrModel, gpu.model});
  z.attributes.push_back({kAttrGpuIndex, std::to_string(gpu.index)});
  return z;
}

TopologyZone NicZone(const topology::Nic& nic) {
  TopologyZone z;
  z.type = kZoneNic;
  z.name = nic.name;
  if (nic.link_speed_mbps > 0) {
    ResourceList r = {{kResourceNetBandwidth, Quantity::FromUnits(static_cast<int64_t>(nic.link_speed_mbps))}};
    z.resources.capacity = r;
    z.resources.allocatable = r;
  }
  if (!nic.location.pcie_switch.empty()) z.attributes.push_back({kAttrPcieSwitch, nic.location.pcie_switch});
  z.attributes.push_back({kAttrNuma, JoinInts(nic.location.numa_ids)});
  z.attributes.push_back({kAttrRdma, nic.rdma ? "true" : "false"});
  z.attributes.push_back({kAttrPciBusId, nic.location.pci_bus_id});
  return z;
}

}  // namespace

Result<Cnr> BuildCnr(const NodeTopology& t, const CnrBuildOptions& o) {
  if (o.node_name.empty()) return Status::InvalidArgument("node name is empty");
  if (!(o.reclaim_ratio >= 0.0 && o.reclaim_ratio <= 1.0)) {
    return Status::InvalidArgument("reclaim ratio must be within [0, 1], got " + std::to_string(o.reclaim_ratio));
  }
  Result<std::string> policy = NormalizeTopologyPolicy(o.topology_policy);
  if (!policy.ok()) return policy.status();
  if (o.cpu_manager_policy != "none" && o.cpu_manager_policy != "static") {
    return Status::InvalidArgument("cpu manager policy must be none or static, got \"" + o.cpu_manager_policy +
                                   "\"");
  }
  if (o.memory_manager_policy != "None" && o.memory_manager_policy != "Static") {
    return Status::InvalidArgument("memory manager policy must be None or Static, got \"" +
                                   o.memory_manager_policy + "\"");
  }

  // Reserved CPUs must exist; each comes off the NUMA node that owns it.
  std::map<int, int> reserved_cpus_per_numa;
  for (int cpu : o.reserved_cpus) {
    const topology::NumaNode* owner = nullptr;
    for (const topology::NumaNode& n : t.numa_nodes) {
      if (std::binary_search(n.cpu_ids.begin(), n.cpu_ids.end(), cpu)) owner = &n;
    }
    if (owner == nullptr)
      return Status::InvalidArgument("reserved CPU " + std::to_string(cpu) + " does not exist");
    ++reserved_cpus_per_numa[owner->id];
  }
  for (const auto& [numa, bytes] : o.reserved_memory) {
    const topology::NumaNode* n = t.FindNuma(numa);
    if (n == nullptr)
      return Status::InvalidArgument("reserved memory on NUMA " + std::to_string(numa) + ": no such node");
    if (bytes < 0 || static_cast<uint64_t>(bytes) > n->memory_bytes) {
      return Status::InvalidArgument("reserved memory on NUMA " + std::to_string(numa) + " exceeds its " +
                                     std::to_string(n->memory_bytes) + " bytes");
    }
  }

  Cnr cnr;
  cnr.metadata.name = o.node_name;
  cnr.metadata.labels[kManagedByLabel] = kManagedByReporter;
  if (!o.node_uid.empty()) {
    cnr.metadata.owner_references.push_back({"v1", "Node", o.node_name, o.node_uid, false});
  }
  cnr.properties.push_back({kPropNuma, {}, Quantity::FromUnits(static_cast<int64_t>(t.numa_nodes.size()))});
  cnr.properties.push_back({kPropCpu, {}, Quantity::FromUnits(t.TotalCpus())});
  cnr.properties.push_back({kPropMemory, {}, Quantity::FromBytes(static_cast<int64_t>(t.TotalMemoryBytes()))});
  cnr.properties.push_back({kPropGpuTopologyKey, {kAttrPcieSwitch, kAttrNuma, kAttrSocket}, std::nullopt});
  cnr.properties.push_back({kPropCpuManagerPolicy, {o.cpu_manager_policy}, std::nullopt});
  cnr.properties.push_back({kPropMemoryManagerPolicy, {o.memory_manager_policy}, std::nullopt});
  cnr.status.topology_policy = *policy;

  int64_t node_reclaimed_milli = 0, node_reclaimed_bytes = 0;
  for (const topology::Socket& socket : t.sockets) {
    TopologyZone sz;
    sz.type = kZoneSocket;
    sz.name = std::to_string(socket.id);
    for (int numa_id : socket.numa_ids) {
      const topology::NumaNode* n = t.FindNuma(numa_id);
      TopologyZone nz;
      nz.type = kZoneNuma;
      nz.name = std::to_string(numa_id);
      const int64_t cpus = static_cast<int64_t>(n->cpu_ids.size());
      const int64_t alloc_cpus = cpus - reserved_cpus_per_numa[numa_id];
      auto rm = o.reserved_memory.find(numa_id);
      const int64_t memory = static_cast<int64_t>(n->memory_bytes);
      const int64_t alloc_memory = memory - (rm == o.reserved_memory.end() ? 0 : rm->second);
      const int64_t reclaimed_milli = static_cast<int64_t>(std::floor(o.reclaim_ratio * alloc_cpus * 1000));
      const int64_t reclaimed_bytes =
          static_cast<int64_t>(std::floor(o.reclaim_ratio * static_cast<double>(alloc_memory)));
      node_reclaimed_milli += reclaimed_milli;
      node_reclaimed_bytes += reclaimed_bytes;
      nz.resources.capacity = {{kResourceCpu, Quantity::FromUnits(cpus)},
                               {kResourceMemory, Quantity::FromBytes(memory)}};
      nz.resources.allocatable = {{kResourceCpu, Quantity::FromUnits(alloc_cpus)},
                                  {kResourceMemory, Quantity::FromBytes(alloc_memory)}};
      // Per-NUMA reclaimed resources (Katalyst #217): what reclaimed_cores pods may use on this node.
      nz.resources.capacity[kResourceReclaimedMilliCpu] = Quantity::FromUnits(reclaimed_milli);
      nz.resources.allocatable[kResourceReclaimedMilliCpu] = Quantity::FromUnits(reclaimed_milli);
      nz.resources.capacity[kResourceReclaimedMemory] = Quantity::FromBytes(reclaimed_bytes);
      nz.resources.allocatable[kResourceReclaimedMemory] = Quantity::FromBytes(reclaimed_bytes);
      std::vector<int> gpus = t.GpusOnNuma(numa_id);
      if (!gpus.empty()) {
        nz.resources.capacity[kResourceGpu] = Quantity::FromUnits(static_cast<int64_t>(gpus.size()));
        nz.resources.allocatable[kResourceGpu] = Quantity::FromUnits(static_cast<int64_t>(gpus.size()));
      }
      nz.attributes.push_back({kAttrCpuList, FormatCpuList(n->cpu_ids)});
      for (const topology::NumaNode& other : t.numa_nodes) {
        if (other.id == numa_id) continue;
        Sibling sib{kZoneNuma, std::to_string(other.id), {}};
        if (uint32_t d = t.NumaDistance(numa_id, other.id); d != 0)
          sib.attributes.push_back({kAttrDistance, std::to_string(d)});
        nz.siblings.push_back(std::move(sib));
      }
      for (int g : gpus) nz.children.push_back(GpuZone(t.gpus[g]));
      sz.children.push_back(std::move(nz));
    }
    // NICs hang off their socket (Katalyst's network plugin reports at socket level). A NIC local to no single
    // socket goes under the socket of its first NUMA node; one with no NUMA information under the first socket.
    for (const topology::Nic& nic : t.nics) {
      int home = nic.location.socket_id;
      if (home < 0 && !nic.location.numa_ids.empty()) home = t.FindNuma(nic.location.numa_ids.front())->socket_id;
      if (home < 0) home = t.sockets.front().id;
      if (home == socket.id) sz.children.push_back(NicZone(nic));
    }
    cnr.status.zones.push_back(std::move(sz));
  }
  // GPUs with no NUMA information at all still need a zone: attach them to the lowest NUMA node.
  for (const topology::Gpu& gpu : t.gpus) {
    if (!gpu.location.numa_ids.empty() || cnr.status.zones.empty() || cnr.status.zones[0].children.empty())
      continue;
    cnr.status.zones[0].children[0].children.push_back(GpuZone(gpu));
  }
  cnr.status.resources.capacity = {{kResourceReclaimedMilliCpu, Quantity::FromUnits(node_reclaimed_milli)},
                                   {kResourceReclaimedMemory, Quantity::FromBytes(node_reclaimed_bytes)}};
  cnr.status.resources.allocatable = cnr.status.resources.capacity;
  if (!o.heartbeat_time.empty() && o.not_ready_reason.empty()) {
    cnr.status.conditions.push_back(
        {kConditionAgentReady, "True", o.heartbeat_time, "ReporterHeartbeat", "tessera-reporter is publishing"});
  } else if (!o.heartbeat_time.empty()) {
    cnr.status.conditions.push_back(
        {kConditionAgentReady, "False", o.heartbeat_time, o.not_ready_reason, o.not_ready_message});
  }
  return cnr;
}

namespace {

Result<int> ParseZoneId(const TopologyZone& z, const std::string& where) {
  if (z.name.empty() || z.name.size() > 6 || !std::all_of(z.name.begin(), z.name.end(), ::isdigit)) {
    return Status::InvalidArgument(where + ": " + z.type + " zone name \"" + z.name + "\" is not a decimal id");
  }
  return std::stoi(z.name);
}

Result<std::vector<int>> ParseIdList(const std::string* text, const std::string& where) {
  std::vector<int> out;
  if (text == nullptr || text->empty()) return out;
  Result<std::vector<int>> ids = ParseCpuList(*text);
  if (!ids.ok()) return ids.status().WithContext(where);
  return *ids;
}

int64_t UnitsOf(const ResourceList& r, const char* name) {
  auto it = r.find(name);
  return it == r.end() ? 0 : it->second.milli() / 1000;
}

topology::DeviceLocation LocationFromZone(const TopologyZone& z, const std::vector<int>& numa_ids, int socket) {
  topology::DeviceLocation loc;
  loc.numa_ids = numa_ids;
  loc.socket_id = socket;
  if (const std::string* sw = z.FindAttribute(kAttrPcieSwitch)) loc.pcie_switch = *sw;
  return loc;
}

}  // namespace

Result<NodeTopology> TopologyFromCnr(const Cnr& cnr) {
  NodeTopology t;
  std::map<std::string, size_t> gpu_by_bus;
  for (size_t si = 0; si < cnr.status.zones.size(); ++si) {
    const TopologyZone& sz = cnr.status.zones[si];
    std::string where = "status.topologyZone[" + std::to_string(si) + "]";
    if (sz.type != kZoneSocket) continue;  // other top-level zone types carry nothing the model needs
    Result<int> socket_id = ParseZoneId(sz, where);
    if (!socket_id.ok()) return socket_id.status();
    topology::Socket socket{*socket_id, {}};
    for (size_t ci = 0; ci < sz.children.size(); ++ci) {
      const TopologyZone& z = sz.children[ci];
      std::string cwhere = where + ".children[" + std::to_string(ci) + "]";
      if (z.type == kZoneNuma) {
        Result<int> numa_id = ParseZoneId(z, cwhere);
        if (!numa_id.ok()) return numa_id.status();
        topology::NumaNode n;
        n.id = *numa_id;
        n.socket_id = socket.id;
        Result<std::vector<int>> cpus = ParseIdList(z.FindAttribute(kAttrCpuList), cwhere + " cpulist");
        if (!cpus.ok()) return cpus.status();
        n.cpu_ids = *cpus;
        n.core_count = static_cast<int>(UnitsOf(z.resources.capacity, kResourceCpu));
        auto mem = z.resources.capacity.find(kResourceMemory);
        n.memory_bytes = mem == z.resources.capacity.end() ? 0 : static_cast<uint64_t>(mem->second.milli() / 1000);
        socket.numa_ids.push_back(n.id);
        t.numa_nodes.push_back(n);
        for (const TopologyZone& g : z.children) {
          if (g.type != kZoneGpu) continue;
          auto [it, inserted] = gpu_by_bus.emplace(g.name, t.gpus.size());
          if (!inserted) continue;  // a GPU local to several NUMA nodes is listed under each
          topology::Gpu gpu;
          Result<std::vector<int>> numas =
              ParseIdList(g.FindAttribute(kAttrNuma), cwhere + " GPU " + g.name + " numa");
          if (!numas.ok()) return numas.status();
          gpu.location = LocationFromZone(g, numas->empty() ? std::vector<int>{n.id} : *numas, socket.id);
          if (const std::string* s = g.FindAttribute(kAttrSocket)) gpu.location.socket_id = std::atoi(s->c_str());
          gpu.location.pci_bus_id = g.name;
          if (const std::string* m = g.FindAttribute(kAttrModel)) gpu.model = *m;
          gpu.memory_mib = static_cast<uint64_t>(UnitsOf(g.resources.capacity, kResourceGpuMemory));
          t.gpus.push_back(std::move(gpu));
        }
      } else if (z.type == kZoneNic) {
        topology::Nic nic;
        nic.name = z.name;
        Result<std::vector<int>> numas = ParseIdList(z.FindAttribute(kAttrNuma), cwhere + " numa");
        if (!numas.ok()) return numas.status();
        nic.location = LocationFromZone(z, *numas, socket.id);
        if (const std::string* bus = z.FindAttribute(kAttrPciBusId)) nic.location.pci_bus_id = *bus;
        const std::string* rdma = z.FindAttribute(kAttrRdma);
        nic.rdma = rdma != nullptr && *rdma == "true";
        nic.link_speed_mbps = static_cast<uint64_t>(UnitsOf(z.resources.capacity, kResourceNetBandwidth));
        t.nics.push_back(std::move(nic));
      }
    }
    t.sockets.push_back(std::move(socket));
  }
  std::sort(t.numa_nodes.begin(), t.numa_nodes.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  for (size_t i = 1; i < t.numa_nodes.size(); ++i) {
    if (t.numa_nodes[i].id == t.numa_nodes[i - 1].id) {
      return Status::InvalidArgument("NUMA zone " + std::to_string(t.numa_nodes[i].id) + " appears twice");
    }
  }
  std::sort(t.sockets.begin(), t.sockets.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  auto by_bus = [](const auto& a, const auto& b) { return a.location.pci_bus_id < b.location.pci_bus_id; };
  std::sort(t.gpus.begin(), t.gpus.end(), by_bus);
  std::sort(t.nics.begin(), t.nics.end(), by_bus);
  for (size_t i = 0; i < t.gpus.size(); ++i) t.gpus[i].index = static_cast<int>(i);
  // Distances from the Numa zones' siblings.
  const size_t n = t.numa_nodes.size();
  bool any_distance = false;
  std::vector<uint32_t> dist(n * n, 0);
  for (const TopologyZone& sz : cnr.status.zones) {
    for (const TopologyZone& z : sz.children) {
      if (z.type != kZoneNuma) continue;
      int from = std::atoi(z.name.c_str());
      for (const Sibling& s : z.siblings) {
        for (const Attribute& a : s.attributes) {
          if (a.name != kAttrDistance) continue;
          int to = std::atoi(s.name.c_str());
          for (size_t i = 0; i < n; ++i) {
            for (size_t j = 0; j < n; ++j) {
              if (t.numa_nodes[i].id == from && t.numa_nodes[j].id == to) {
                dist[i * n + j] = static_cast<uint32_t>(std::strtoul(a.value.c_str(), nullptr, 10));
                any_distance = true;
              }
            }
          }
        }
      }
    }
  }
  if (any_distance) {
    for (size_t i = 0; i < n; ++i) dist[i * n + i] = 10;  // ACPI SLIT local distance
    t.numa_distances = std::move(dist);
  }
  return t;
}

}  // namespace tessera::crd
