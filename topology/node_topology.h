// The inside of one node as plain values: sockets -> NUMA nodes -> PCIe tree -> devices (GPUs, NICs).
// Pure data plus queries; no I/O. Built by hwloc discovery (topology/hwloc_discovery.h) on the node, or decoded
// from a CustomNodeResource (crd/cnr_codec.h) by the scheduler. Safe for concurrent reads.
#ifndef TESSERA_TOPOLOGY_NODE_TOPOLOGY_H_
#define TESSERA_TOPOLOGY_NODE_TOPOLOGY_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace tessera::topology {

struct NumaNode {
  int id = 0;                 // the kernel's NUMA id (hwloc os_index)
  int socket_id = 0;          // the package (socket) it belongs to; CPU-less memory nodes take their parent's
  std::vector<int> cpu_ids;   // logical CPUs (hwloc PU os_index), ascending
  int core_count = 0;         // physical cores whose threads live in this NUMA node
  uint64_t memory_bytes = 0;  // local memory
};

struct Socket {
  int id = 0;
  std::vector<int> numa_ids;  // ascending
};

// Where a PCI device sits. A device's path runs from its PCIe host bridge (root complex) down through
// PCI-to-PCI bridges (root ports and switch ports) to the device.
struct DeviceLocation {
  std::string pci_bus_id;              // "dddd:bb:dd.f", lower-case hex
  std::vector<int> numa_ids;           // local NUMA nodes (a device may be local to several)
  int socket_id = -1;                  // -1 when the device is local to no single socket
  std::string host_bridge;             // "dddd:[bb-ee]", empty when unknown
  std::vector<std::string> pcie_path;  // bus ids of the PCI-to-PCI bridges from the host bridge down
  // The PCIe switch domain: the topmost PCI-to-PCI bridge under the host bridge. Two devices with the same
  // non-empty value meet below the root complex (nvidia-smi PIX/PXB), which is what GPUDirect RDMA needs.
  // Empty when the device hangs directly off the host bridge (then it shares a switch with nobody).
  std::string pcie_switch;
};

struct Gpu {
  int index = 0;  // position in PCI bus id order, as NVML enumerates
  DeviceLocation location;
  uint16_t vendor_id = 0;  // 0x10de NVIDIA, 0x1002 AMD
  uint16_t device_id = 0;
  std::string vendor;       // "NVIDIA", "AMD"
  std::string product;      // the best name hwloc knows: GPUModel info, else the PCI name, else "vvvv:dddd"
  std::string model;        // normalised model after the alias table, e.g. "A100"; product when no alias matched
  uint64_t memory_mib = 0;  // 0 when unknown
};

struct Nic {
  std::string name;  // RDMA device name (mlx5_0), else network interface (hsi0), else the bus id
  DeviceLocation location;
  uint16_t vendor_id = 0;
  uint16_t device_id = 0;
  bool rdma = false;                    // an RDMA verbs device (OpenFabrics) is present
  uint64_t link_speed_mbps = 0;         // 0 when unknown
  std::vector<std::string> os_devices;  // e.g. {"ib0", "mlx5_0"}
};

// How close two devices are, closest first.
enum class Locality { kSamePcieSwitch = 0, kSameNuma = 1, kSameSocket = 2, kCrossSocket = 3 };
const char* LocalityName(Locality locality);

struct NodeTopology {
  std::vector<Socket> sockets;       // ascending id
  std::vector<NumaNode> numa_nodes;  // ascending id
  std::vector<Gpu> gpus;             // ascending PCI bus id; gpus[i].index == i
  std::vector<Nic> nics;             // ascending PCI bus id
  // NUMA distances (ACPI SLIT), row-major in numa_nodes order; empty when unknown.
  std::vector<uint32_t> numa_distances;

  const NumaNode* FindNuma(int numa_id) const;
  const Socket* FindSocket(int socket_id) const;
  int TotalCores() const;
  int TotalCpus() const;
  uint64_t TotalMemoryBytes() const;
  // Distance between two NUMA nodes, 0 when unknown.
  uint32_t NumaDistance(int from_numa, int to_numa) const;

  // Indexes into gpus / nics of the devices local to numa_id.
  std::vector<int> GpusOnNuma(int numa_id) const;
  std::vector<int> NicsOnNuma(int numa_id) const;

  // (gpu index, nic index) pairs that share a PCIe switch domain.
  std::vector<std::pair<int, int>> GpuNicSameSwitchPairs() const;
};

// The closest level two devices share.
Locality ClosestCommonLevel(const DeviceLocation& a, const DeviceLocation& b);

// "0000:17:00.0" from PCI coordinates.
std::string FormatPciBusId(unsigned domain, unsigned bus, unsigned device, unsigned function);

}  // namespace tessera::topology

#endif  // TESSERA_TOPOLOGY_NODE_TOPOLOGY_H_
