#include "scoring/cluster_state.h"

#include <algorithm>
#include <bit>
#include <map>

namespace tessera::scoring {

Result<std::pair<TopologyPolicy, TopologyScope>> ParseCnrTopologyPolicy(const std::string& value) {
  if (value.empty() || value == "None" || value == "none")
    return std::pair{TopologyPolicy::kNone, TopologyScope::kContainer};
  static const std::map<std::string, TopologyPolicy> kPrefix = {
      {"SingleNUMANode", TopologyPolicy::kSingleNumaNode},
      {"Restricted", TopologyPolicy::kRestricted},
      {"BestEffort", TopologyPolicy::kBestEffort},
      {"Numeric", TopologyPolicy::kNumeric}};
  for (const auto& [prefix, policy] : kPrefix) {
    if (value == prefix + "ContainerLevel") return std::pair{policy, TopologyScope::kContainer};
    if (value == prefix + "PodLevel") return std::pair{policy, TopologyScope::kPod};
  }
  return Status::InvalidArgument("unknown topologyPolicy \"" + value + "\"");
}

int NodeState::NumaIndex(int numa_id) const {
  for (size_t i = 0; i < numas.size(); ++i) {
    if (numas[i].id == numa_id) return static_cast<int>(i);
  }
  return -1;
}

NodeState MakeNodeState(const std::string& name, const std::vector<NumaCapacity>& caps, const NodePolicies& p) {
  NodeState n;
  n.name = name;
  n.topology_policy = p.topology_policy;
  n.topology_scope = p.topology_scope;
  n.cpu_manager_static = p.cpu_manager_static;
  n.memory_manager_static = p.memory_manager_static;
  std::vector<NumaCapacity> sorted = caps;
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  if (sorted.size() > static_cast<size_t>(kMaxNumaNodesPerNode)) sorted.resize(kMaxNumaNodesPerNode);
  std::map<int, int> per_socket;
  for (const NumaCapacity& c : sorted) {
    NumaState s;
    s.id = c.id;
    s.socket_id = c.socket_id;
    s.cpu_allocatable_milli = std::max<int64_t>(0, c.cpu_milli);
    s.memory_allocatable = std::max<int64_t>(0, c.memory_bytes);
    NumaDetail d;
    d.reclaimed_cpu_allocatable_milli = std::max<int64_t>(0, c.reclaimed_cpu_milli);
    d.reclaimed_memory_allocatable = std::max<int64_t>(0, c.reclaimed_memory_bytes);
    n.cpu_allocatable_milli += s.cpu_allocatable_milli;
    n.memory_allocatable += s.memory_allocatable;
    n.reclaimed_cpu_allocatable_milli += d.reclaimed_cpu_allocatable_milli;
    n.reclaimed_memory_allocatable += d.reclaimed_memory_allocatable;
    n.numa_detail.push_back(std::move(d));
    ++per_socket[c.socket_id];
    n.numas.push_back(std::move(s));
  }
  for (const auto& [socket, count] : per_socket) n.numas_per_socket = std::max(n.numas_per_socket, count);
  return n;
}

NodeState NodeStateFromTopology(const std::string& name, const topology::NodeTopology& t, const NodePolicies& p) {
  std::vector<NumaCapacity> caps;
  for (const topology::NumaNode& numa : t.numa_nodes) {
    caps.push_back({numa.id, numa.socket_id, static_cast<int64_t>(numa.cpu_ids.size()) * 1000,
                    static_cast<int64_t>(numa.memory_bytes), 0, 0});
  }
  NodeState node = MakeNodeState(name, caps, p);
  AddDevicesFromTopology(t, &node);
  return node;
}

void AddDevicesFromTopology(const topology::NodeTopology& t, NodeState* node) {
  std::map<std::string, int> switches;
  auto switch_id = [&](const std::string& s) {
    if (s.empty()) return -1;
    auto [it, inserted] = switches.emplace(s, static_cast<int>(switches.size()));
    return it->second;
  };
  auto numa_index = [&](const topology::DeviceLocation& loc) {
    return loc.numa_ids.empty() ? -1 : node->NumaIndex(loc.numa_ids.front());
  };
  for (const topology::Gpu& g : t.gpus) {
    GpuState s;
    s.memory_mib = static_cast<int64_t>(g.memory_mib);
    s.free_memory_mib = s.memory_mib;
    s.numa_index = numa_index(g.location);
    s.socket_id = g.location.socket_id;
    s.switch_id = switch_id(g.location.pcie_switch);
    s.model = g.model;
    s.pci_bus_id = g.location.pci_bus_id;
    node->gpus.push_back(std::move(s));
  }
  for (const topology::Nic& n : t.nics) {
    NicState s;
    s.name = n.name;
    s.rdma = n.rdma;
    s.numa_index = numa_index(n.location);
    s.socket_id = n.location.socket_id;
    s.switch_id = switch_id(n.location.pcie_switch);
    node->nics.push_back(std::move(s));
  }
}

std::vector<NumaShare> SplitAcrossNumas(const NodeState& node, const Placement& placement, int64_t cpu_milli,
                                        int64_t memory_bytes) {
  std::vector<NumaShare> out;
  int64_t cpu_left = cpu_milli, mem_left = memory_bytes;
  int last = -1;
  for (size_t i = 0; i < node.numas.size() && i < 64; ++i) {
    if ((placement.numa_mask >> i & 1) == 0) continue;
    const NumaState& n = node.numas[i];
    NumaShare s;
    s.numa_index = static_cast<int>(i);
    if (placement.exclusive) {
      s.cpu_milli = n.cpu_allocatable_milli;
      s.memory_bytes = n.memory_allocatable;
    } else {
      s.cpu_milli = std::min(cpu_left, std::max<int64_t>(0, n.FreeCpuMilli()));
      s.memory_bytes = std::min(mem_left, std::max<int64_t>(0, n.FreeMemory()));
      cpu_left -= s.cpu_milli;
      mem_left -= s.memory_bytes;
    }
    out.push_back(s);
    last = static_cast<int>(out.size()) - 1;
  }
  // Whatever did not fit lands on the last NUMA node (Reserve then refuses the over-commit).
  if (last >= 0 && !placement.exclusive) {
    out[last].cpu_milli += cpu_left;
    out[last].memory_bytes += mem_left;
  }
  return out;
}

void ClusterTotals::Add(const ClusterTotals& o, int sign) {
  cpu_allocatable_milli += sign * o.cpu_allocatable_milli;
  pinned_cpu_milli += sign * o.pinned_cpu_milli;
  gpu_units += sign * o.gpu_units;
  gpu_free_milli += sign * o.gpu_free_milli;
  gpu_memory_mib += sign * o.gpu_memory_mib;
  gpu_free_memory_mib += sign * o.gpu_free_memory_mib;
}

ClusterTotals NodeTotals(const NodeState& node) {
  ClusterTotals t;
  t.cpu_allocatable_milli = node.cpu_allocatable_milli;
  t.pinned_cpu_milli = node.pinned_cpu_milli;
  for (const GpuState& g : node.gpus) {
    t.gpu_units += 1000;
    t.gpu_free_milli += g.free_milli;
    t.gpu_memory_mib += g.memory_mib;
    t.gpu_free_memory_mib += g.free_memory_mib;
  }
  return t;
}

uint32_t ClusterState::AddNode(NodeState node) {
  uint32_t index = static_cast<uint32_t>(nodes_.size());
  node_by_name_[node.name] = index;
  gpu_count_ += node.gpus.size();
  totals_.Add(NodeTotals(node), +1);
  nodes_.push_back(std::move(node));
  return index;
}

Status ClusterState::ReplaceNode(uint32_t index, NodeState node) {
  if (index >= nodes_.size()) return Status::InvalidArgument("node index out of range");
  NodeState& old = nodes_[index];
  if (node.name != old.name) return Status::InvalidArgument("ReplaceNode: " + node.name + " is not " + old.name);
  node.version = old.version + 1;
  gpu_count_ = gpu_count_ - old.gpus.size() + node.gpus.size();
  totals_.Add(NodeTotals(old), -1);
  totals_.Add(NodeTotals(node), +1);
  old = std::move(node);
  return Status::Ok();
}

int64_t ClusterState::FindNode(const std::string& name) const {
  auto it = node_by_name_.find(name);
  return it == node_by_name_.end() ? -1 : it->second;
}

const LedgerEntry* ClusterState::FindPod(const std::string& pod_uid) const {
  auto it = by_uid_.find(pod_uid);
  return it == by_uid_.end() ? nullptr : &ledger_[it->second];
}

namespace {
bool IsReclaimed(const PodRequest& pod) {
  return pod.qos == QosLevel::kReclaimedCores;
}
}  // namespace

// Adds (sign = +1) or removes (-1) an entry's charges. Never fails on removal; on addition the caller checks
// capacities afterwards and undoes.
Status ClusterState::Apply(const LedgerEntry& e, int sign) {
  NodeState& node = nodes_[e.placement.node];
  const PodRequest& pod = e.pod;
  int64_t pinned_cpu = 0, pinned_mem = 0;
  for (const NumaShare& s : e.shares) {
    NumaState& n = node.numas[static_cast<size_t>(s.numa_index)];
    if (IsReclaimed(pod)) {
      NumaDetail& d = node.numa_detail[static_cast<size_t>(s.numa_index)];
      d.reclaimed_cpu_used_milli += sign * s.cpu_milli;
      d.reclaimed_memory_used += sign * s.memory_bytes;
      continue;
    }
    if (e.placement.cpu_pinned) {
      n.pinned_cpu_milli += sign * s.cpu_milli;
      pinned_cpu += s.cpu_milli;
    }
    if (e.placement.memory_pinned) {
      n.pinned_memory += sign * s.memory_bytes;
      pinned_mem += s.memory_bytes;
    }
    if (e.placement.exclusive) n.exclusive_holders += sign;
  }
  node.pinned_cpu_milli += sign * pinned_cpu;
  totals_.pinned_cpu_milli += sign * pinned_cpu;
  node.pinned_memory += sign * pinned_mem;
  if (IsReclaimed(pod)) {
    if (e.shares.empty()) {
      node.reclaimed_cpu_used_milli += sign * pod.reclaimed_milli_cpu;
      node.reclaimed_memory_used += sign * pod.reclaimed_memory_bytes;
    }
  } else {
    // The unpinned part of the request floats in the shared pool. An exclusive pod pins whole NUMA nodes and
    // needs nothing more.
    node.shared_cpu_used_milli +=
        sign * std::max<int64_t>(0, e.placement.exclusive ? 0 : pod.cpu_milli - pinned_cpu);
    node.shared_memory_used +=
        sign * std::max<int64_t>(0, e.placement.exclusive ? 0 : pod.memory_bytes - pinned_mem);
  }
  if (!pod.anti_affinity.required.empty() && e.placement.numa_mask != 0)
    node.pods_with_required_anti_affinity += sign;
  for (size_t i = 0; i < node.gpus.size() && i < 64; ++i) {
    if ((e.placement.gpu_mask >> i & 1) == 0) continue;
    node.gpus[i].free_milli -= sign * pod.gpu.milli_per_gpu;
    node.gpus[i].free_memory_mib -= sign * pod.gpu.memory_mib_per_gpu;
    totals_.gpu_free_milli -= sign * pod.gpu.milli_per_gpu;
    totals_.gpu_free_memory_mib -= sign * pod.gpu.memory_mib_per_gpu;
  }
  for (size_t i = 0; i < node.nics.size() && i < 64; ++i) {
    if (e.placement.nic_mask >> i & 1) node.nics[i].users += sign;
  }
  if (const int c = pod.gpu.request_class(); c >= 0) node.gpu_pods_by_class[static_cast<size_t>(c)] += sign;
  ++node.version;
  return Status::Ok();
}

Status ClusterState::Reserve(const PodRequest& pod, const Placement& placement) {
  if (pod.uid.empty()) return Status::InvalidArgument("pod " + pod.Key() + " has no UID");
  if (by_uid_.count(pod.uid) != 0) return Status::Conflict("pod " + pod.Key() + " is already placed");
  if (placement.node >= nodes_.size()) return Status::InvalidArgument("node index out of range");
  NodeState& node = nodes_[placement.node];
  if (node.numas.size() < 64 && (placement.numa_mask >> node.numas.size()) != 0) {
    return Status::InvalidArgument("NUMA mask names NUMA nodes node " + node.name + " does not have");
  }
  if ((node.gpus.size() < 64 && (placement.gpu_mask >> node.gpus.size()) != 0) ||
      (node.nics.size() < 64 && (placement.nic_mask >> node.nics.size()) != 0)) {
    return Status::InvalidArgument("GPU or NIC mask names devices node " + node.name + " does not have");
  }
  if (std::popcount(placement.gpu_mask) != pod.gpu.count ||
      std::popcount(placement.nic_mask) != pod.gpu.rdma_nics) {
    return Status::InvalidArgument("placement holds a different number of GPUs or NICs than pod " + pod.Key() +
                                   " asks");
  }
  // A whole-card pod takes only untouched cards.
  for (size_t i = 0; i < node.gpus.size() && i < 64; ++i) {
    if ((placement.gpu_mask >> i & 1) && pod.gpu.whole_cards() && !node.gpus[i].Untouched()) {
      return Status::InvalidArgument("GPU " + std::to_string(i) + " of " + node.name +
                                     " is in use; a whole-card pod needs an untouched card");
    }
  }
  LedgerEntry e;
  e.pod = pod;
  e.placement = placement;
  if (placement.numa_mask != 0) {
    const bool reclaimed = IsReclaimed(pod);
    e.shares = SplitAcrossNumas(node, placement, reclaimed ? pod.reclaimed_milli_cpu : pod.cpu_milli,
                                reclaimed ? pod.reclaimed_memory_bytes : pod.memory_bytes);
    if (reclaimed) {
      // SplitAcrossNumas measured free against the pinned pools; reclaimed pods use the reclaimed pools instead.
      for (NumaShare& s : e.shares) s = {s.numa_index, 0, 0};
      e.shares.front().cpu_milli = pod.reclaimed_milli_cpu;
      e.shares.front().memory_bytes = pod.reclaimed_memory_bytes;
    }
  }
  Apply(e, +1);
  // Refuse any over-commit: the filters should have prevented it, but a silent mis-allocation is worse.
  std::string violation;
  for (const NumaShare& s : e.shares) {
    const NumaState& n = node.numas[static_cast<size_t>(s.numa_index)];
    const NumaDetail& d = node.numa_detail[static_cast<size_t>(s.numa_index)];
    if (n.pinned_cpu_milli > n.cpu_allocatable_milli || n.pinned_memory > n.memory_allocatable ||
        d.reclaimed_cpu_used_milli > d.reclaimed_cpu_allocatable_milli ||
        d.reclaimed_memory_used > d.reclaimed_memory_allocatable || n.exclusive_holders > 1 ||
        (n.exclusive_holders == 1 && !placement.exclusive && !IsReclaimed(pod) &&
         (s.cpu_milli > 0 || s.memory_bytes > 0))) {
      violation = "NUMA node " + std::to_string(n.id) + " of " + node.name + " would be over-committed";
    }
    if (placement.exclusive && n.pinned_cpu_milli != n.cpu_allocatable_milli) {
      violation = "NUMA node " + std::to_string(n.id) + " of " + node.name + " is not idle for an exclusive pod";
    }
  }
  if (node.shared_cpu_used_milli > node.SharedPoolCpuMilli() ||
      node.shared_memory_used > node.SharedPoolMemory()) {
    violation = "the shared pool of " + node.name + " would be over-committed";
  }
  if (node.reclaimed_cpu_used_milli > node.reclaimed_cpu_allocatable_milli ||
      node.reclaimed_memory_used > node.reclaimed_memory_allocatable) {
    violation = "the reclaimed pool of " + node.name + " would be over-committed";
  }
  for (size_t i = 0; i < node.gpus.size() && i < 64; ++i) {
    if ((placement.gpu_mask >> i & 1) && (node.gpus[i].free_milli < 0 || node.gpus[i].free_memory_mib < 0)) {
      violation = "GPU " + std::to_string(i) + " of " + node.name + " would exceed 100 % or its memory";
    }
  }
  if (!violation.empty()) {
    Apply(e, -1);
    return Status::InvalidArgument(violation);
  }
  uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
    ledger_[slot] = std::move(e);
  } else {
    slot = static_cast<uint32_t>(ledger_.size());
    ledger_.push_back(std::move(e));
  }
  by_uid_[pod.uid] = slot;
  const LedgerEntry& stored = ledger_[slot];
  if (stored.placement.numa_mask != 0) {
    for (const NumaShare& s : stored.shares)
      node.numa_detail[static_cast<size_t>(s.numa_index)].pinned_pods.push_back(slot);
  }
  return Status::Ok();
}

Status ClusterState::Unreserve(const std::string& pod_uid) {
  auto it = by_uid_.find(pod_uid);
  if (it == by_uid_.end()) return Status::NotFound("pod UID " + pod_uid + " is not placed");
  const uint32_t slot = it->second;
  LedgerEntry& e = ledger_[slot];
  NodeState& node = nodes_[e.placement.node];
  for (const NumaShare& s : e.shares) {
    auto& pods = node.numa_detail[static_cast<size_t>(s.numa_index)].pinned_pods;
    pods.erase(std::remove(pods.begin(), pods.end(), slot), pods.end());
  }
  Apply(e, -1);
  by_uid_.erase(it);
  e = LedgerEntry{};
  free_slots_.push_back(slot);
  return Status::Ok();
}

Status ClusterState::CorrectPlacement(const std::string& pod_uid, uint64_t numa_mask) {
  const LedgerEntry* e = FindPod(pod_uid);
  if (e == nullptr) return Status::NotFound("pod UID " + pod_uid + " is not placed");
  if (e->placement.numa_mask == numa_mask) return Status::Ok();
  LedgerEntry old = *e;
  if (Status s = Unreserve(pod_uid); !s.ok()) return s;
  Placement moved = old.placement;
  moved.numa_mask = numa_mask;
  if (Status s = Reserve(old.pod, moved); !s.ok()) {
    (void)Reserve(old.pod, old.placement);  // keep the prediction rather than lose the pod
    return s.WithContext("correcting " + old.pod.Key());
  }
  return Status::Ok();
}

}  // namespace tessera::scoring
