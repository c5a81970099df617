#include "scoring/topology_admission.h"

#include <bit>

#include "scoring/topology_manager.h"

namespace tessera::scoring {

namespace {

// Whether one NUMA node (the one offered) has free CPU and memory for every request the Topology Manager will
// align: the whole pod (pod scope) and each container in turn (container scope), which together never ask more
// than their sum.
bool OneNumaHoldsEveryRequest(const NumaState& numa, const PodRequest& pod) {
  int64_t containers_cpu = 0, containers_memory = 0;
  for (const ContainerRequest& c : pod.containers) {
    containers_cpu += c.cpu_milli;
    containers_memory += c.memory_bytes;
  }
  const int64_t free_cpu = numa.FreeCpuMilli(), free_memory = numa.FreeMemory();
  return pod.cpu_milli <= free_cpu && pod.memory_bytes <= free_memory && containers_cpu <= free_cpu &&
         containers_memory <= free_memory;
}

}  // namespace

bool TopologyManagerAdmission::Filter(NodeCycle& c, std::string* reason) const {
  // In dynamic mode the QRM agent is told the NUMA nodes to use, so exactly that mask is offered.
  const bool pinned_by_us = c.config->resource_policy == ResourcePolicy::kDynamic && c.numa_bound;
  const uint64_t offered = pinned_by_us ? c.placement.numa_mask : 0;
  // The common case decided without the full check (a fifth of a cold pass over 5,000 nodes): one NUMA node
  // offered that holds every request. Every policy then admits: the offered mask serves each request, it is one
  // NUMA node wide (so it spans no socket, and it is each request's narrowest width, since that node's allocatable
  // covers it). An exclusive pod's hint is the whole NUMA node, not its request: the full check.
  if (std::has_single_bit(offered) && !c.pod->numa_exclusive) {
    const auto index = static_cast<size_t>(std::countr_zero(offered));
    if (index < c.node->numas.size() && OneNumaHoldsEveryRequest(c.node->numas[index], *c.pod)) return true;
  }
  AdmissionResult r = CheckTopologyAdmission(*c.node, *c.pod, c.config->resource_policy, offered);
  if (!r.admit) {
    if (reason != nullptr) *reason = std::move(r.reason);
    return false;
  }
  return true;
}

}  // namespace tessera::scoring
