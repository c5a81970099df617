// Synthetic clusters and workloads over real hwloc topologies (--topology-xml ... --workload ...): N copies of
// each topology, with the kubelet running single-numa-node (container scope), static CPU and memory managers, and
// 30 % of each NUMA node offered as reclaimed resources; and a seeded mix of the pods Tessera exists for.
#ifndef TESSERA_BENCH_SIM_SYNTHETIC_H_
#define TESSERA_BENCH_SIM_SYNTHETIC_H_

#include <string>
#include <vector>

#include "bench/sim/simulator.h"
#include "topology/node_topology.h"

namespace tessera::sim {

// "mix" (all kinds), "numa" (dedicated NUMA-bound, exclusive, TensorFlow PS/worker anti-affinity, shared,
// reclaimed), "gpu" (GPU shares, multi-GPU), "rdma" (GPU + RDMA NIC pods).
bool IsWorkloadKind(const std::string& kind);

// Only the pods of a synthetic workload (for a cluster taken from elsewhere, e.g. an extender snapshot).
std::vector<scoring::PodRequest> SyntheticPods(const std::string& kind, int pods, uint64_t seed);

Workload SyntheticWorkload(const std::vector<topology::NodeTopology>& topologies, int nodes_per_topology,
                           const std::string& kind, int pods, uint64_t seed);

}  // namespace tessera::sim

#endif  // TESSERA_BENCH_SIM_SYNTHETIC_H_
