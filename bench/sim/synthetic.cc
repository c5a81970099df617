#include "bench/sim/synthetic.h"

#include <random>

namespace tessera::sim {

using scoring::PodRequest;
using scoring::QosLevel;

bool IsWorkloadKind(const std::string& kind) {
  return kind == "mix" || kind == "numa" || kind == "gpu" || kind == "rdma";
}

namespace {

constexpr int64_t kGi = int64_t{1} << 30;

PodRequest Base(const std::string& name, QosLevel qos, int64_t cpu_milli, int64_t mem_gib) {
  PodRequest p;
  p.name = name;
  p.namespace_name = "sim";
  p.qos = qos;
  p.cpu_milli = cpu_milli;
  p.memory_bytes = mem_gib * kGi;
  p.guaranteed = qos == QosLevel::kDedicatedCores;
  p.containers.push_back({"main", cpu_milli, p.memory_bytes, p.guaranteed});
  return p;
}

}  // namespace

Workload SyntheticWorkload(const std::vector<topology::NodeTopology>& topologies, int nodes_per_topology,
                           const std::string& kind, int pods, uint64_t seed) {
  Workload w;
  w.trace_mode = false;
  scoring::NodePolicies policies{scoring::TopologyPolicy::kSingleNumaNode, scoring::TopologyScope::kContainer,
                                 true, true};
  int n = 0;
  for (const topology::NodeTopology& t : topologies) {
    for (int i = 0; i < nodes_per_topology; ++i) {
      std::vector<scoring::NumaCapacity> caps;
      for (const topology::NumaNode& numa : t.numa_nodes) {
        const int64_t cpu = static_cast<int64_t>(numa.cpu_ids.size()) * 1000;
        caps.push_back({numa.id, numa.socket_id, cpu, static_cast<int64_t>(numa.memory_bytes), cpu * 3 / 10,
                        static_cast<int64_t>(numa.memory_bytes) * 3 / 10});
      }
      scoring::NodeState node = scoring::MakeNodeState("node-" + std::to_string(n++), caps, policies);
      scoring::AddDevicesFromTopology(t, &node);
      w.nodes.push_back(std::move(node));
    }
  }
  w.pods = SyntheticPods(kind, pods, seed);
  return w;
}

std::vector<scoring::PodRequest> SyntheticPods(const std::string& kind, int pods, uint64_t seed) {
  std::vector<scoring::PodRequest> out;
  std::mt19937_64 rng(seed);
  auto pick = [&](int lo, int hi) { return lo + static_cast<int>(rng() % static_cast<uint64_t>(hi - lo + 1)); };
  const bool numa = kind == "mix" || kind == "numa";
  const bool gpu = kind == "mix" || kind == "gpu";
  const bool rdma = kind == "mix" || kind == "rdma";
  for (int i = 0; i < pods; ++i) {
    const std::string name = "syn-" + std::to_string(i);
    PodRequest p;
    int choice = pick(0, 99);
    if (!numa) choice = 60 + choice * 40 / 100;  // GPU kinds only
    if (!gpu && !rdma && choice >= 60) choice = choice % 60;
    if (choice < 20) {  // dedicated NUMA-bound
      p = Base(name, QosLevel::kDedicatedCores, 1000 * pick(2, 12), pick(4, 48));
      p.numa_binding = true;
    } else if (choice < 25) {  // NUMA-exclusive
      p = Base(name, QosLevel::kDedicatedCores, 1000 * pick(8, 24), pick(16, 96));
      p.numa_binding = true;
      p.numa_exclusive = true;
    } else if (choice < 35) {  // TensorFlow: parameter servers and workers kept apart per NUMA node
      const bool ps = pick(0, 3) == 0;
      p = Base(name, QosLevel::kDedicatedCores, 1000 * pick(2, 8), pick(4, 32));
      p.numa_binding = true;
      p.labels = {{"app", "tf"}, {"role", ps ? "ps" : "worker"}};
      if (!ps) {
        scoring::NumaAffinityTerm t;
        t.selector.match_labels["role"] = "ps";
        p.anti_affinity.required.push_back(t);
      }
    } else if (choice < 50) {  // shared
      p = Base(name, QosLevel::kSharedCores, 100 * pick(5, 40), pick(1, 16));
    } else if (choice < 60) {  // reclaimed
      p = Base(name, QosLevel::kReclaimedCores, 0, 0);
      p.reclaimed_milli_cpu = 100 * pick(5, 40);
      p.reclaimed_memory_bytes = pick(1, 8) * kGi;
    } else if (choice < 80 || !rdma) {  // GPU shares and multi-GPU
      p = Base(name, QosLevel::kSharedCores, 1000 * pick(1, 8), pick(2, 32));
      if (gpu && pick(0, 4) == 0) {
        p.gpu.count = pick(0, 1) == 0 ? 2 : 4;
        p.gpu.milli_per_gpu = 1000;
      } else {
        p.gpu.count = 1;
        p.gpu.milli_per_gpu = 10 * pick(5, 100);
      }
    } else {  // GPU + RDMA (GPUDirect)
      p = Base(name, QosLevel::kSharedCores, 1000 * pick(2, 8), pick(8, 64));
      p.gpu.count = pick(1, 2);
      p.gpu.milli_per_gpu = 1000;
      p.gpu.rdma_nics = 1;
    }
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace tessera::sim
