// The scheduler's picture of the cluster: per node, what each NUMA node can give (from the CNR) and what is held,
// plus the allocation ledger (pod UID -> node, NUMA nodes, CPU, memory). Pure data; Reserve/Unreserve keep the
// per-NUMA and per-node sums exact, so Unreserve after Reserve restores the state bit for bit.
#ifndef TESSERA_SCORING_CLUSTER_STATE_H_
#define TESSERA_SCORING_CLUSTER_STATE_H_

#include <array>
#include <boost/container/small_vector.hpp>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "scoring/pod_request.h"
#include "topology/node_topology.h"

namespace tessera::scoring {

// The kubelet Topology Manager policy, and Katalyst's numeric policy (see topology_manager.h).
enum class TopologyPolicy { kNone, kBestEffort, kRestricted, kSingleNumaNode, kNumeric };
enum class TopologyScope { kContainer, kPod };

// Parses the CNR's status.topologyPolicy strings ("SingleNUMANodeContainerLevel", "None", ...).
Result<std::pair<TopologyPolicy, TopologyScope>> ParseCnrTopologyPolicy(const std::string& value);

// The most NUMA nodes the kubelet's Topology Manager supports; with more it runs without one (policy none).
inline constexpr int kMaxTopologyManagerNumaNodes = 8;
// NUMA masks are 64-bit: Katalyst caps NUMA ids at 64 too.
inline constexpr int kMaxNumaNodesPerNode = 64;

// What every scheduling cycle reads for every NUMA node, kept small (48 bytes) and contiguous: filtering 5,000
// nodes is bound by memory traffic, not arithmetic. Rarely read details live in NumaDetail.
struct NumaState {
  int id = 0;
  int socket_id = 0;
  int64_t cpu_allocatable_milli = 0;
  int64_t memory_allocatable = 0;
  // Held by pods pinned to this NUMA node (dedicated NUMA-bound pods, or kubelet-pinned pods in native mode).
  int64_t pinned_cpu_milli = 0;
  int64_t pinned_memory = 0;
  int exclusive_holders = 0;  // > 0: owned whole by a numa_exclusive pod

  int64_t FreeCpuMilli() const { return exclusive_holders > 0 ? 0 : cpu_allocatable_milli - pinned_cpu_milli; }
  int64_t FreeMemory() const { return exclusive_holders > 0 ? 0 : memory_allocatable - pinned_memory; }
  bool Idle() const { return exclusive_holders == 0 && pinned_cpu_milli == 0 && pinned_memory == 0; }
};

// The per-NUMA data only some pods look at: reclaimed pools and the pinned pods (for NUMA-level affinity).
struct NumaDetail {
  int64_t reclaimed_cpu_allocatable_milli = 0;
  int64_t reclaimed_memory_allocatable = 0;
  int64_t reclaimed_cpu_used_milli = 0;  // NUMA-bound reclaimed pods
  int64_t reclaimed_memory_used = 0;
  std::vector<uint32_t> pinned_pods;  // ledger slots
};

struct GpuState {
  int64_t free_milli = 1000;
  int64_t memory_mib = 0;  // card memory; 0 = unknown (memory requests then cannot fit)
  int64_t free_memory_mib = 0;
  int numa_index = -1;  // index into NodeState::numas; -1 unknown
  int socket_id = -1;
  int switch_id = -1;  // PCIe switch domain within the node; -1: none
  std::string model;
  std::string pci_bus_id;
  bool Untouched() const { return free_milli == 1000 && free_memory_mib == memory_mib; }
};

struct NicState {
  std::string name;
  bool rdma = false;
  int numa_index = -1;
  int socket_id = -1;
  int switch_id = -1;
  int users = 0;  // pods using it (RDMA NICs are shared, as with the RDMA shared device plugin)
};

// A GPU pod's request class: 0 a share of one card, k (1..8) k whole cards, 9 anything else. Pods without GPUs
// have none (-1).
inline constexpr int kGpuRequestClasses = 10;

struct NodeState {
  std::string name;
  TopologyPolicy topology_policy = TopologyPolicy::kNone;
  TopologyScope topology_scope = TopologyScope::kContainer;
  bool cpu_manager_static = false;     // kubelet --cpu-manager-policy=static
  bool memory_manager_static = false;  // kubelet --memory-manager-policy=Static
  // Ascending id. Held inline up to 8 (every server we know of): a cold pass over thousands of nodes then reads
  // each node's NUMA states next to the node instead of chasing a pointer to a separate block per node, which
  // was the largest stall of that pass.
  boost::container::small_vector<NumaState, 8> numas;
  std::vector<NumaDetail> numa_detail;  // parallel to numas
  int numas_per_socket = 1;

  // Node level. The shared pool is everything not pinned: allocatable - pinned; shared, system and unpinned
  // dedicated pods draw from it.
  int64_t cpu_allocatable_milli = 0;
  int64_t memory_allocatable = 0;
  int64_t pinned_cpu_milli = 0;
  int64_t pinned_memory = 0;
  int64_t shared_cpu_used_milli = 0;
  int64_t shared_memory_used = 0;
  int64_t reclaimed_cpu_allocatable_milli = 0;
  int64_t reclaimed_memory_allocatable = 0;
  int64_t reclaimed_cpu_used_milli = 0;  // unpinned reclaimed pods
  int64_t reclaimed_memory_used = 0;
  int pods_with_required_anti_affinity = 0;  // fast path: no symmetric anti-affinity check when 0
  std::vector<GpuState> gpus;                // index order = the reporter's GPU index (PCI bus order)
  // GPU pods placed here by request class (GpuRequestClass): what GPU-clustering placement groups by.
  std::array<int32_t, kGpuRequestClasses> gpu_pods_by_class{};
  std::vector<NicState> nics;
  uint64_t version = 0;  // bumped by every Reserve/Unreserve on this node (caches key on it)

  int64_t FreeGpuMilli() const {
    int64_t f = 0;
    for (const GpuState& g : gpus) f += g.free_milli;
    return f;
  }

  int64_t SharedPoolCpuMilli() const { return cpu_allocatable_milli - pinned_cpu_milli; }
  int64_t SharedPoolMemory() const { return memory_allocatable - pinned_memory; }
  int NumaIndex(int numa_id) const;
};

// Allocatable per NUMA node (after the kubelet's reservations) as a CNR reports it.
struct NumaCapacity {
  int id = 0;
  int socket_id = 0;
  int64_t cpu_milli = 0;
  int64_t memory_bytes = 0;
  int64_t reclaimed_cpu_milli = 0;
  int64_t reclaimed_memory_bytes = 0;
};

struct NodePolicies {
  TopologyPolicy topology_policy = TopologyPolicy::kNone;
  TopologyScope topology_scope = TopologyScope::kContainer;
  bool cpu_manager_static = false;
  bool memory_manager_static = false;
};

NodeState MakeNodeState(const std::string& name, const std::vector<NumaCapacity>& numas, const NodePolicies& p);
// Capacity = the topology's CPUs and memory (no reservations), as the simulator builds synthetic clusters.
// GPUs and NICs (with NUMA, socket and PCIe-switch placement) are taken from the topology as well.
NodeState NodeStateFromTopology(const std::string& name, const topology::NodeTopology& t, const NodePolicies& p);
// Adds the topology's GPUs and NICs to `node` (whose NUMA nodes are already set).
void AddDevicesFromTopology(const topology::NodeTopology& t, NodeState* node);

// Where a pod sits on its node. NUMA bits are indexes into NodeState::numas (not NUMA ids).
struct Placement {
  uint32_t node = 0;
  uint64_t numa_mask = 0;  // NUMA nodes holding its pinned CPU/memory (0: floats in the shared pool)
  bool cpu_pinned = false;
  bool memory_pinned = false;
  bool exclusive = false;  // takes the whole of every NUMA node in the mask
  uint64_t gpu_mask = 0;   // cards (indexes into NodeState::gpus); each gets the pod's per-card share
  uint64_t nic_mask = 0;   // RDMA NICs (indexes into NodeState::nics)
};

// How a pinned request divides over the NUMA nodes of a mask: exclusive takes everything; otherwise the request
// fills the mask's nodes in index order, as the kubelet's CPU and memory managers do.
struct NumaShare {
  int numa_index = 0;
  int64_t cpu_milli = 0;
  int64_t memory_bytes = 0;
};
std::vector<NumaShare> SplitAcrossNumas(const NodeState& node, const Placement& placement, int64_t cpu_milli,
                                        int64_t memory_bytes);

struct LedgerEntry {
  PodRequest pod;
  Placement placement;
  std::vector<NumaShare> shares;  // what Reserve charged per NUMA node, returned exactly by Unreserve
};

// The cluster's capacity and what the ledger holds of it, summed over every node. Kept up to date by each
// AddNode, ReplaceNode, Reserve and Unreserve, so reading it costs nothing however large the cluster.
struct ClusterTotals {
  int64_t cpu_allocatable_milli = 0;
  int64_t pinned_cpu_milli = 0;
  int64_t gpu_units = 0;  // 1000 a card
  int64_t gpu_free_milli = 0;
  int64_t gpu_memory_mib = 0;
  int64_t gpu_free_memory_mib = 0;
  bool operator==(const ClusterTotals&) const = default;
  void Add(const ClusterTotals& other, int sign);
};
// One node's share of the totals.
ClusterTotals NodeTotals(const NodeState& node);

class ClusterState {
 public:
  uint32_t AddNode(NodeState node);
  // Puts `node` (the same name, new capacity or devices) in place of the node at `index`, which must hold no
  // ledger entry. Its version continues from the old one, so caches keyed on (index, version) never mistake the
  // new node for the old.
  Status ReplaceNode(uint32_t index, NodeState node);
  size_t node_count() const { return nodes_.size(); }
  size_t gpu_count() const { return gpu_count_; }
  const ClusterTotals& totals() const { return totals_; }
  const NodeState& node(uint32_t index) const { return nodes_[index]; }
  const std::vector<NodeState>& nodes() const { return nodes_; }
  // -1 when absent.
  int64_t FindNode(const std::string& name) const;

  // Charges `pod` at `placement`. Fails (state untouched) when the UID is already placed, the node index or mask
  // is out of range, or the placement would over-commit a NUMA node or the node's pools.
  Status Reserve(const PodRequest& pod, const Placement& placement);
  // Returns exactly what Reserve charged. NotFound when the UID is not placed.
  Status Unreserve(const std::string& pod_uid);
  // The node agent reported where it really put the pod (CNR allocations): move the pinned charge there.
  Status CorrectPlacement(const std::string& pod_uid, uint64_t numa_mask);

  const LedgerEntry* FindPod(const std::string& pod_uid) const;
  const LedgerEntry& entry(uint32_t slot) const { return ledger_[slot]; }
  size_t pod_count() const { return by_uid_.size(); }

 private:
  Status Apply(const LedgerEntry& e, int sign);

  std::vector<NodeState> nodes_;
  size_t gpu_count_ = 0;
  ClusterTotals totals_;
  std::unordered_map<std::string, uint32_t> node_by_name_;
  std::vector<LedgerEntry> ledger_;
  std::vector<uint32_t> free_slots_;
  std::unordered_map<std::string, uint32_t> by_uid_;
};

}  // namespace tessera::scoring

#endif  // TESSERA_SCORING_CLUSTER_STATE_H_
