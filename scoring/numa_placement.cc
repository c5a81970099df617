#include "scoring/numa_placement.h"

#include <algorithm>
#include <bit>
#include <vector>

#include "scoring/numa_affinity.h"
#include "scoring/topology_manager.h"

namespace tessera::scoring {

std::string NumaIdList(const NodeState& node, uint64_t mask) {
  std::string out;
  for (size_t i = 0; i < node.numas.size() && i < 64; ++i) {
    if (mask >> i & 1) out += (out.empty() ? "" : ",") + std::to_string(node.numas[i].id);
  }
  return out;
}

namespace {

bool PlaceReclaimed(NodeCycle& c, std::string* reason) {
  const NodeState& node = *c.node;
  const PodRequest& pod = *c.pod;
  int best = -1;
  int64_t best_left = 0;
  for (size_t i = 0; i < node.numas.size() && i < 64; ++i) {
    if ((c.usable_numas >> i & 1) == 0) continue;
    const NumaDetail& n = node.numa_detail[i];
    const int64_t cpu_left =
        n.reclaimed_cpu_allocatable_milli - n.reclaimed_cpu_used_milli - pod.reclaimed_milli_cpu;
    const int64_t mem_left = n.reclaimed_memory_allocatable - n.reclaimed_memory_used - pod.reclaimed_memory_bytes;
    if (cpu_left < 0 || mem_left < 0) continue;
    if (best < 0 || cpu_left < best_left) {
      best = static_cast<int>(i);
      best_left = cpu_left;
    }
  }
  if (best < 0) {
    if (reason != nullptr)
      *reason = "no NUMA node has the reclaimed CPU and memory this NUMA-bound reclaimed_cores pod asks";
    return false;
  }
  c.placement.numa_mask = uint64_t{1} << best;
  return true;
}

bool PlaceExclusive(NodeCycle& c, std::string* reason) {
  const NodeState& node = *c.node;
  const PodRequest& pod = *c.pod;
  std::vector<size_t> idle;
  for (size_t i = 0; i < node.numas.size() && i < 64; ++i) {
    if ((c.usable_numas >> i & 1) && node.numas[i].Idle() && node.numas[i].cpu_allocatable_milli > 0)
      idle.push_back(i);
  }
  // Largest first so the fewest nodes are taken; index breaks ties.
  std::stable_sort(idle.begin(), idle.end(), [&](size_t a, size_t b) {
    return node.numas[a].cpu_allocatable_milli > node.numas[b].cpu_allocatable_milli;
  });
  auto fits = [&](const std::vector<size_t>& set, size_t k, uint64_t* mask) {
    int64_t cpu = 0, mem = 0;
    uint64_t m = 0;
    for (size_t j = 0; j < k; ++j) {
      cpu += node.numas[set[j]].cpu_allocatable_milli;
      mem += node.numas[set[j]].memory_allocatable;
      m |= uint64_t{1} << set[j];
    }
    if (cpu < pod.cpu_milli || mem < pod.memory_bytes) return false;
    // Whole NUMA nodes leave the shared pool; what shared pods already use must still fit.
    if (node.SharedPoolCpuMilli() - cpu < node.shared_cpu_used_milli ||
        node.SharedPoolMemory() - mem < node.shared_memory_used) {
      return false;
    }
    *mask = m;
    return true;
  };
  for (size_t k = 1; k <= idle.size(); ++k) {
    // One socket first (lowest socket id wins), then across sockets.
    std::vector<int> sockets;
    for (size_t i : idle) sockets.push_back(node.numas[i].socket_id);
    std::sort(sockets.begin(), sockets.end());
    sockets.erase(std::unique(sockets.begin(), sockets.end()), sockets.end());
    for (int s : sockets) {
      std::vector<size_t> in_socket;
      for (size_t i : idle) {
        if (node.numas[i].socket_id == s) in_socket.push_back(i);
      }
      uint64_t mask = 0;
      if (in_socket.size() >= k && fits(in_socket, k, &mask)) {
        c.placement.numa_mask = mask;
        return true;
      }
    }
    uint64_t mask = 0;
    if (fits(idle, k, &mask)) {
      c.placement.numa_mask = mask;
      return true;
    }
  }
  if (reason != nullptr)
    *reason = "numa_exclusive: " + std::to_string(idle.size()) +
              " idle NUMA node(s) usable, together too small for " + std::to_string(pod.cpu_milli / 1000) +
              " CPUs and the memory asked (or they would starve the shared pool)";
  return false;
}

// Sum of matched preferred-term weights (anti-affinity subtracts) for the pod on NUMA index i.
int64_t Preference(const NodeCycle& c, size_t i) {
  const PodRequest& pod = *c.pod;
  int64_t total = 0;
  for (const NumaAffinityTerm& t : pod.affinity.preferred) {
    if (CountTermMatches(*c.cluster, *c.node, i, t, pod.namespace_name) > 0) total += t.weight;
  }
  for (const NumaAffinityTerm& t : pod.anti_affinity.preferred) {
    if (CountTermMatches(*c.cluster, *c.node, i, t, pod.namespace_name) > 0) total -= t.weight;
  }
  return total;
}

bool PlaceBinding(NodeCycle& c, std::string* reason) {
  const NodeState& node = *c.node;
  const PodRequest& pod = *c.pod;
  const bool has_preferences = !pod.affinity.preferred.empty() || !pod.anti_affinity.preferred.empty();
  int best = -1;
  bool best_idle = true;
  int64_t best_left = 0;
  int64_t best_pref = 0;
  for (size_t i = 0; i < node.numas.size() && i < 64; ++i) {
    if ((c.usable_numas >> i & 1) == 0) continue;
    const NumaState& n = node.numas[i];
    const int64_t cpu_left = n.FreeCpuMilli() - pod.cpu_milli;
    if (cpu_left < 0 || n.FreeMemory() < pod.memory_bytes) continue;
    const bool idle = n.Idle();
    const int64_t pref = has_preferences ? Preference(c, i) : 0;
    // Preferred affinity first, then a NUMA node already in use, then the tightest fit, then the lowest index.
    const bool better =
        best < 0 || pref > best_pref ||
        (pref == best_pref && ((best_idle && !idle) || (best_idle == idle && cpu_left < best_left)));
    if (better) {
      best = static_cast<int>(i);
      best_idle = idle;
      best_left = cpu_left;
      best_pref = pref;
    }
  }
  if (best < 0) {
    if (reason != nullptr)
      *reason = "no " + std::string(c.usable_numas == AllNumas(node.numas.size()) ? "" : "allowed ") +
                "NUMA node has " + std::to_string(pod.cpu_milli / 1000) +
                " free CPUs and the memory asked for numa_binding";
    return false;
  }
  c.placement.numa_mask = uint64_t{1} << best;
  return true;
}

}  // namespace

Placement PinnedPlacement(const NodeState& node, uint32_t node_index, const PodRequest& pod, ResourcePolicy policy,
                          uint64_t numa_mask) {
  Placement p;
  p.node = node_index;
  p.numa_mask = numa_mask;
  if (policy == ResourcePolicy::kDynamic) {
    // The QRM agent pins both for NUMA-bound dedicated pods; reclaimed pods draw on the reclaimed pools instead.
    const bool pinned = IsNumaBound(pod, policy) && pod.qos != QosLevel::kReclaimedCores;
    p.cpu_pinned = p.memory_pinned = pinned;
    p.exclusive = pinned && pod.numa_exclusive;
    return p;
  }
  // Native: the kubelet pins CPUs (static CPU manager, Guaranteed whole-CPU pods) and memory (Static memory
  // manager, Guaranteed pods); it chooses where.
  p.cpu_pinned = node.cpu_manager_static && IsNumaBound(pod, policy);
  p.memory_pinned = node.memory_manager_static && pod.guaranteed;
  return p;
}

bool NumaPlacement::Filter(NodeCycle& c, std::string* reason) const {
  const NodeState& node = *c.node;
  const PodRequest& pod = *c.pod;
  const ResourcePolicy policy = c.config->resource_policy;
  c.placement = Placement{};
  c.placement.node = c.node_index;
  if (node.numas.empty()) {
    if (!c.numa_bound) return true;
    if (reason != nullptr) *reason = "the node reports no NUMA nodes";
    return false;
  }
  if (policy == ResourcePolicy::kDynamic) {
    if (!c.numa_bound) return true;
    if (pod.qos == QosLevel::kReclaimedCores) return PlaceReclaimed(c, reason);
    c.placement = PinnedPlacement(node, c.node_index, pod, policy, 0);
    return pod.numa_exclusive ? PlaceExclusive(c, reason) : PlaceBinding(c, reason);
  }
  c.placement = PinnedPlacement(node, c.node_index, pod, policy, 0);
  if (!c.placement.cpu_pinned && !c.placement.memory_pinned) return true;
  uint64_t mask = PredictKubeletNumaMask(node, pod, policy);
  if (mask == 0) {
    if (reason != nullptr) *reason = "no set of NUMA nodes has the free CPUs and memory the kubelet would pin";
    return false;
  }
  if ((mask & ~c.usable_numas) != 0) {
    if (reason != nullptr)
      *reason = "the kubelet would place it on NUMA " + NumaIdList(node, mask) +
                ", which its NUMA affinity rules forbid";
    return false;
  }
  c.placement.numa_mask = mask;
  return true;
}

}  // namespace tessera::scoring
