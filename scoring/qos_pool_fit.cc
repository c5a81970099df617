#include "scoring/qos_pool_fit.h"

#include <algorithm>
#include <cstdio>

namespace tessera::scoring {
namespace {

std::string Cores(int64_t milli) {
  return milli % 1000 == 0 ? std::to_string(milli / 1000) : std::to_string(milli) + "m";
}
std::string Gib(int64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1fGiB", static_cast<double>(bytes) / (1 << 30));
  return buf;
}

}  // namespace

bool QosPoolFit::Filter(NodeCycle& cycle, std::string* reason) const {
  const NodeState& node = *cycle.node;
  const PodRequest& pod = *cycle.pod;
  if (pod.qos == QosLevel::kReclaimedCores) {
    if (cycle.numa_bound) return true;  // per-NUMA reclaimed fit: NumaPlacement
    const int64_t free_cpu = node.reclaimed_cpu_allocatable_milli - node.reclaimed_cpu_used_milli;
    const int64_t free_mem = node.reclaimed_memory_allocatable - node.reclaimed_memory_used;
    if (pod.reclaimed_milli_cpu > free_cpu || pod.reclaimed_memory_bytes > free_mem) {
      if (reason != nullptr)
        *reason = "insufficient reclaimed resources: pod asks " + Cores(pod.reclaimed_milli_cpu) + " CPU and " +
                  Gib(pod.reclaimed_memory_bytes) + ", node has " + Cores(std::max<int64_t>(0, free_cpu)) +
                  " and " + Gib(std::max<int64_t>(0, free_mem)) + " reclaimed";
      return false;
    }
    return true;
  }
  const int64_t pool_cpu = node.SharedPoolCpuMilli() - node.shared_cpu_used_milli;
  const int64_t pool_mem = node.SharedPoolMemory() - node.shared_memory_used;
  if (pod.cpu_milli > pool_cpu || pod.memory_bytes > pool_mem) {
    if (reason != nullptr)
      *reason = std::string(cycle.numa_bound ? "pinning " : "") + "insufficient " +
                (pod.cpu_milli > pool_cpu ? "CPU" : "memory") + ": pod asks " + Cores(pod.cpu_milli) +
                " CPU and " + Gib(pod.memory_bytes) + ", the shared pool has " +
                Cores(std::max<int64_t>(0, pool_cpu)) + " and " + Gib(std::max<int64_t>(0, pool_mem)) + " left";
    return false;
  }
  return true;
}

}  // namespace tessera::scoring
