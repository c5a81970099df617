#include "topology/node_topology.h"

#include <algorithm>
#include <cstdio>

namespace tessera::topology {

const char* LocalityName(Locality locality) {
  switch (locality) {
    case Locality::kSamePcieSwitch: return "pcie-switch";
    case Locality::kSameNuma: return "numa";
    case Locality::kSameSocket: return "socket";
    case Locality::kCrossSocket: return "cross-socket";
  }
  return "unknown";
}

const NumaNode* NodeTopology::FindNuma(int numa_id) const {
  auto it = std::lower_bound(numa_nodes.begin(), numa_nodes.end(), numa_id,
                             [](const NumaNode& n, int id) { return n.id < id; });
  return it != numa_nodes.end() && it->id == numa_id ? &*it : nullptr;
}

const Socket* NodeTopology::FindSocket(int socket_id) const {
  for (const Socket& s : sockets) {
    if (s.id == socket_id) return &s;
  }
  return nullptr;
}

int NodeTopology::TotalCores() const {
  int total = 0;
  for (const NumaNode& n : numa_nodes) total += n.core_count;
  return total;
}

int NodeTopology::TotalCpus() const {
  size_t total = 0;
  for (const NumaNode& n : numa_nodes) total += n.cpu_ids.size();
  return static_cast<int>(total);
}

uint64_t NodeTopology::TotalMemoryBytes() const {
  uint64_t total = 0;
  for (const NumaNode& n : numa_nodes) total += n.memory_bytes;
  return total;
}

uint32_t NodeTopology::NumaDistance(int from_numa, int to_numa) const {
  const size_t n = numa_nodes.size();
  if (numa_distances.size() != n * n) return 0;
  size_t from = n, to = n;
  for (size_t i = 0; i < n; ++i) {
    if (numa_nodes[i].id == from_numa) from = i;
    if (numa_nodes[i].id == to_numa) to = i;
  }
  if (from == n || to == n) return 0;
  return numa_distances[from * n + to];
}

namespace {
bool HasNuma(const DeviceLocation& loc, int numa_id) {
  return std::find(loc.numa_ids.begin(), loc.numa_ids.end(), numa_id) != loc.numa_ids.end();
}
}  // namespace

std::vector<int> NodeTopology::GpusOnNuma(int numa_id) const {
  std::vector<int> out;
  for (size_t i = 0; i < gpus.size(); ++i) {
    if (HasNuma(gpus[i].location, numa_id)) out.push_back(static_cast<int>(i));
  }
  return out;
}

std::vector<int> NodeTopology::NicsOnNuma(int numa_id) const {
  std::vector<int> out;
  for (size_t i = 0; i < nics.size(); ++i) {
    if (HasNuma(nics[i].location, numa_id)) out.push_back(static_cast<int>(i));
  }
  return out;
}

std::vector<std::pair<int, int>> NodeTopology::GpuNicSameSwitchPairs() const {
  std::vector<std::pair<int, int>> out;
  for (size_t g = 0; g < gpus.size(); ++g) {
    for (size_t n = 0; n < nics.size(); ++n) {
      if (ClosestCommonLevel(gpus[g].location, nics[n].location) == Locality::kSamePcieSwitch) {
        out.emplace_back(static_cast<int>(g), static_cast<int>(n));
      }
    }
  }
  return out;
}

Locality ClosestCommonLevel(const DeviceLocation& a, const DeviceLocation& b) {
  if (!a.pcie_switch.empty() && a.pcie_switch == b.pcie_switch) return Locality::kSamePcieSwitch;
  for (int numa : a.numa_ids) {
    if (HasNuma(b, numa)) return Locality::kSameNuma;
  }
  if (a.socket_id >= 0 && a.socket_id == b.socket_id) return Locality::kSameSocket;
  return Locality::kCrossSocket;
}

std::string FormatPciBusId(unsigned domain, unsigned bus, unsigned device, unsigned function) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%04x:%02x:%02x.%01x", domain & 0xffffu, bus & 0xffu, device & 0xffu,
                function & 0xfu);
  return buf;
}

}  // namespace tessera::topology
