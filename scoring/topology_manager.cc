#include "scoring/topology_manager.h"

#include <algorithm>
#include <array>
#include <bit>
#include <vector>

namespace tessera::scoring {

const char* TopologyPolicyName(TopologyPolicy policy) {
  switch (policy) {
    case TopologyPolicy::kNone: return "none";
    case TopologyPolicy::kBestEffort: return "best-effort";
    case TopologyPolicy::kRestricted: return "restricted";
    case TopologyPolicy::kSingleNumaNode: return "single-numa-node";
    case TopologyPolicy::kNumeric: return "numeric";
  }
  return "unknown";
}

HintProviders ActiveHintProviders(const NodeState& node, const PodRequest& pod, ResourcePolicy policy) {
  HintProviders h;
  if (policy == ResourcePolicy::kDynamic) {
    const bool bound = IsNumaBound(pod, policy) && pod.qos == QosLevel::kDedicatedCores;
    h.cpu = bound;
    h.memory = bound;
  } else {
    h.cpu = node.cpu_manager_static && IsNumaBound(pod, policy);
    h.memory = node.memory_manager_static && pod.guaranteed;
  }
  return h;
}

namespace {

// All non-empty masks over n NUMA nodes, narrowest first, then lowest value (the kubelet's tie-break).
const std::vector<uint64_t>& MasksByWidth(size_t n) {
  static const std::array<std::vector<uint64_t>, kMaxTopologyManagerNumaNodes + 1> kTables = [] {
    std::array<std::vector<uint64_t>, kMaxTopologyManagerNumaNodes + 1> t;
    for (size_t k = 1; k <= kMaxTopologyManagerNumaNodes; ++k) {
      for (uint64_t m = 1; m < (uint64_t{1} << k); ++m) t[k].push_back(m);
      std::stable_sort(t[k].begin(), t[k].end(),
                       [](uint64_t a, uint64_t b) { return std::popcount(a) < std::popcount(b); });
    }
    return t;
  }();
  return kTables[n];
}

// Fewest NUMA nodes whose allocatable covers `amount` (largest first), as the kubelet computes a preferred width.
int MinimalWidth(const NodeState& node, bool cpu, int64_t amount) {
  if (amount <= 0) return 1;
  const size_t n = node.numas.size();
  for (size_t i = 0; i < n; ++i) {  // the common case, without sorting
    if ((cpu ? node.numas[i].cpu_allocatable_milli : node.numas[i].memory_allocatable) >= amount) return 1;
  }
  std::array<int64_t, kMaxTopologyManagerNumaNodes> alloc{};
  for (size_t i = 0; i < n; ++i)
    alloc[i] = cpu ? node.numas[i].cpu_allocatable_milli : node.numas[i].memory_allocatable;
  std::sort(alloc.begin(), alloc.begin() + static_cast<long>(n), std::greater<>());
  int64_t sum = 0;
  for (size_t i = 0; i < n; ++i) {
    sum += alloc[i];
    if (sum >= amount) return static_cast<int>(i) + 1;
  }
  return static_cast<int>(n) + 1;  // cannot be served at all
}

bool SpansSockets(const NodeState& node, uint64_t mask) {
  int socket = -1;
  for (size_t i = 0; i < node.numas.size(); ++i) {
    if ((mask >> i & 1) == 0) continue;
    if (socket == -1)
      socket = node.numas[i].socket_id;
    else if (socket != node.numas[i].socket_id)
      return true;
  }
  return false;
}

struct Demand {
  int64_t cpu = 0;
  int64_t memory = 0;
};

// One request (a container, or the whole pod) against per-NUMA free amounts; on admission subtracts what the
// kubelet would allocate from `free_cpu` / `free_mem` (fill in index order over the merged mask).
AdmissionResult AdmitOne(const NodeState& node, TopologyPolicy policy, const HintProviders& p, const Demand& d,
                         uint64_t pinned_mask, std::array<int64_t, kMaxTopologyManagerNumaNodes>& free_cpu,
                         std::array<int64_t, kMaxTopologyManagerNumaNodes>& free_mem, const PodRequest& pod,
                         const ContainerRequest* container) {
  AdmissionResult r;
  const bool cpu_active = p.cpu && d.cpu > 0;
  const bool mem_active = p.memory && d.memory > 0;
  if (!cpu_active && !mem_active) return r;  // no provider has an opinion
  const size_t n = node.numas.size();
  auto serves = [&](uint64_t m) {
    if (policy == TopologyPolicy::kNumeric && std::popcount(m) <= node.numas_per_socket && SpansSockets(node, m))
      return false;
    int64_t c = 0, mem = 0;
    for (size_t i = 0; i < n; ++i) {
      if (m >> i & 1) {
        c += free_cpu[i];
        mem += free_mem[i];
      }
    }
    return (!cpu_active || c >= d.cpu) && (!mem_active || mem >= d.memory);
  };
  uint64_t best = 0;
  if (pinned_mask != 0) {
    // Only the mask offered can be chosen: test it alone rather than walk all 2^n - 1 masks to find it.
    if (pinned_mask < (uint64_t{1} << n) && serves(pinned_mask)) best = pinned_mask;
  } else {
    for (uint64_t m : MasksByWidth(n)) {
      if (serves(m)) {
        best = m;
        break;
      }
    }
  }
  const int width = best == 0 ? 0 : std::popcount(best);
  const bool preferred = best != 0 && (!cpu_active || width == MinimalWidth(node, true, d.cpu)) &&
                         (!mem_active || width == MinimalWidth(node, false, d.memory));
  auto reject = [&](const std::string& why) {
    r.admit = false;
    const std::string who =
        container == nullptr ? "pod " + pod.Key() : "container " + container->name + " of " + pod.Key();
    r.reason = std::string("kubelet Topology Manager (") + TopologyPolicyName(policy) + ") would reject " + who +
               ": " + why;
    return r;
  };
  switch (policy) {
    case TopologyPolicy::kNone:
    case TopologyPolicy::kBestEffort: break;
    case TopologyPolicy::kRestricted:
    case TopologyPolicy::kNumeric:
      if (!preferred)
        return reject(best == 0 ? "no NUMA set has room"
                                : "its resources fit only a wider NUMA set than their minimum");
      break;
    case TopologyPolicy::kSingleNumaNode:
      if (!preferred || width != 1) return reject("its CPU and memory do not fit one NUMA node");
      break;
  }
  r.affinity = best;
  // Allocate in index order within the merged mask, as the CPU and memory managers fill NUMA nodes.
  int64_t cpu_left = cpu_active ? d.cpu : 0, mem_left = mem_active ? d.memory : 0;
  for (size_t i = 0; i < n && best != 0; ++i) {
    if ((best >> i & 1) == 0) continue;
    int64_t tc = std::min(cpu_left, std::max<int64_t>(0, free_cpu[i]));
    int64_t tm = std::min(mem_left, std::max<int64_t>(0, free_mem[i]));
    free_cpu[i] -= tc;
    free_mem[i] -= tm;
    cpu_left -= tc;
    mem_left -= tm;
  }
  return r;
}

AdmissionResult Check(const NodeState& node, TopologyPolicy tm_policy, const PodRequest& pod,
                      ResourcePolicy policy, uint64_t pinned_mask) {
  AdmissionResult result;
  const size_t n = node.numas.size();
  if (tm_policy == TopologyPolicy::kNone || n == 0 || n > kMaxTopologyManagerNumaNodes) return result;
  const HintProviders providers = ActiveHintProviders(node, pod, policy);
  if (!providers.any()) return result;

  std::array<int64_t, kMaxTopologyManagerNumaNodes> free_cpu{}, free_mem{};
  for (size_t i = 0; i < n; ++i) {
    free_cpu[i] = node.numas[i].FreeCpuMilli();
    free_mem[i] = node.numas[i].FreeMemory();
  }
  // An exclusive pod owns whole NUMA nodes: the QRM agent hints their full CPU and memory, as one unit.
  if (policy == ResourcePolicy::kDynamic && pod.numa_exclusive && pinned_mask != 0) {
    Demand whole;
    for (size_t i = 0; i < n; ++i) {
      if (pinned_mask >> i & 1) {
        whole.cpu += node.numas[i].cpu_allocatable_milli;
        whole.memory += node.numas[i].memory_allocatable;
      }
    }
    return AdmitOne(node, tm_policy, providers, whole, pinned_mask, free_cpu, free_mem, pod, nullptr);
  }
  if (node.topology_scope == TopologyScope::kPod || pod.containers.empty()) {
    return AdmitOne(node, tm_policy, providers, {pod.cpu_milli, pod.memory_bytes}, pinned_mask, free_cpu, free_mem,
                    pod, nullptr);
  }
  for (const ContainerRequest& c : pod.containers) {
    // A container's own hints: in native mode only Guaranteed containers with whole CPUs get exclusive CPUs.
    HintProviders p = providers;
    if (policy == ResourcePolicy::kNative) p.cpu = p.cpu && c.cpu_milli % 1000 == 0 && c.cpu_milli > 0;
    AdmissionResult r =
        AdmitOne(node, tm_policy, p, {c.cpu_milli, c.memory_bytes}, pinned_mask, free_cpu, free_mem, pod, &c);
    if (!r.admit) return r;
    result.affinity |= r.affinity;
  }
  return result;
}

}  // namespace

AdmissionResult CheckTopologyAdmission(const NodeState& node, const PodRequest& pod, ResourcePolicy policy,
                                       uint64_t pinned_mask) {
  return Check(node, node.topology_policy, pod, policy, pinned_mask);
}

uint64_t PredictKubeletNumaMask(const NodeState& node, const PodRequest& pod, ResourcePolicy policy) {
  if (node.numas.size() <= static_cast<size_t>(kMaxTopologyManagerNumaNodes)) {
    return Check(node, TopologyPolicy::kBestEffort, pod, policy, 0).affinity;
  }
  // Too many NUMA nodes for mask enumeration (no Topology Manager there): fill NUMA nodes in index order.
  int64_t cpu = pod.cpu_milli, mem = pod.memory_bytes;
  uint64_t mask = 0;
  for (size_t i = 0; i < node.numas.size() && i < 64 && (cpu > 0 || mem > 0); ++i) {
    if (node.numas[i].FreeCpuMilli() <= 0 && node.numas[i].FreeMemory() <= 0) continue;
    mask |= uint64_t{1} << i;
    cpu -= node.numas[i].FreeCpuMilli();
    mem -= node.numas[i].FreeMemory();
  }
  return cpu > 0 || mem > 0 ? 0 : mask;
}

}  // namespace tessera::scoring
