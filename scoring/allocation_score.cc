#include "scoring/allocation_score.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace tessera::scoring {

Result<AllocationStrategy> ParseAllocationStrategy(const std::string& name) {
  if (name == "LeastAllocated") return AllocationStrategy::kLeastAllocated;
  if (name == "MostAllocated") return AllocationStrategy::kMostAllocated;
  if (name == "BalancedAllocation") return AllocationStrategy::kBalancedAllocation;
  return Status::InvalidArgument("unknown scoring strategy \"" + name +
                                 "\" (LeastAllocated, MostAllocated, BalancedAllocation)");
}

const char* AllocationStrategyName(AllocationStrategy s) {
  switch (s) {
    case AllocationStrategy::kLeastAllocated: return "LeastAllocated";
    case AllocationStrategy::kMostAllocated: return "MostAllocated";
    case AllocationStrategy::kBalancedAllocation: return "BalancedAllocation";
  }
  return "unknown";
}

int64_t StrategyScore(AllocationStrategy strategy, double cpu, double mem) {
  cpu = std::clamp(cpu, 0.0, 1.0);
  mem = std::clamp(mem, 0.0, 1.0);
  double s = 0;
  switch (strategy) {
    case AllocationStrategy::kLeastAllocated: s = (2.0 - cpu - mem) / 2.0; break;
    case AllocationStrategy::kMostAllocated: s = (cpu + mem) / 2.0; break;
    case AllocationStrategy::kBalancedAllocation: s = 1.0 - std::fabs(cpu - mem) / 2.0; break;
  }
  return static_cast<int64_t>(std::lround(s * 100.0));
}

namespace {
double Fraction(int64_t used, int64_t total) {
  return total <= 0 ? 1.0 : static_cast<double>(used) / static_cast<double>(total);
}
}  // namespace

double AllocationScore::Score(const NodeCycle& c) const {
  const NodeState& node = *c.node;
  const PodRequest& pod = *c.pod;
  const AllocationStrategy strategy = c.config->strategy;
  if (pod.qos == QosLevel::kReclaimedCores) {
    if (c.placement.numa_mask != 0) {
      const NumaDetail& n = node.numa_detail[static_cast<size_t>(std::countr_zero(c.placement.numa_mask))];
      return StrategyScore(
          strategy,
          Fraction(n.reclaimed_cpu_used_milli + pod.reclaimed_milli_cpu, n.reclaimed_cpu_allocatable_milli),
          Fraction(n.reclaimed_memory_used + pod.reclaimed_memory_bytes, n.reclaimed_memory_allocatable));
    }
    return StrategyScore(
        strategy,
        Fraction(node.reclaimed_cpu_used_milli + pod.reclaimed_milli_cpu, node.reclaimed_cpu_allocatable_milli),
        Fraction(node.reclaimed_memory_used + pod.reclaimed_memory_bytes, node.reclaimed_memory_allocatable));
  }
  if (c.placement.numa_mask != 0 && (c.placement.cpu_pinned || c.placement.memory_pinned)) {
    int64_t alloc_cpu = 0, alloc_mem = 0, used_cpu = 0, used_mem = 0;
    for (size_t i = 0; i < node.numas.size() && i < 64; ++i) {
      if ((c.placement.numa_mask >> i & 1) == 0) continue;
      alloc_cpu += node.numas[i].cpu_allocatable_milli;
      alloc_mem += node.numas[i].memory_allocatable;
      used_cpu += node.numas[i].pinned_cpu_milli;
      used_mem += node.numas[i].pinned_memory;
    }
    if (c.placement.exclusive) return StrategyScore(strategy, 1.0, 1.0);
    return StrategyScore(strategy, Fraction(used_cpu + pod.cpu_milli, alloc_cpu),
                         Fraction(used_mem + pod.memory_bytes, alloc_mem));
  }
  return StrategyScore(strategy, Fraction(node.shared_cpu_used_milli + pod.cpu_milli, node.SharedPoolCpuMilli()),
                       Fraction(node.shared_memory_used + pod.memory_bytes, node.SharedPoolMemory()));
}

}  // namespace tessera::scoring
