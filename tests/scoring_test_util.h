// Builders for scheduling-core tests: nodes from a list of NUMA sizes, pods from a few fields.
#ifndef TESSERA_TESTS_SCORING_TEST_UTIL_H_
#define TESSERA_TESTS_SCORING_TEST_UTIL_H_

#include <string>
#include <vector>

#include "scoring/cluster_state.h"
#include "scoring/pod_request.h"

namespace tessera::scoring::testutil {

constexpr int64_t kGi = int64_t{1} << 30;

struct NumaSpec {
  int cores;
  int64_t memory_gib;
  int socket;
};

inline NodeState Node(const std::string& name, const std::vector<NumaSpec>& numas, NodePolicies policies = {},
                      double reclaim_ratio = 0.0) {
  std::vector<NumaCapacity> caps;
  int id = 0;
  for (const NumaSpec& s : numas) {
    caps.push_back({id++, s.socket, s.cores * int64_t{1000}, s.memory_gib * kGi,
                    static_cast<int64_t>(s.cores * 1000 * reclaim_ratio),
                    static_cast<int64_t>(static_cast<double>(s.memory_gib * kGi) * reclaim_ratio)});
  }
  return MakeNodeState(name, caps, policies);
}

// Two sockets, `numas_per_socket` NUMA nodes each, `cores` cores and `gib` GiB per NUMA node.
inline NodeState TwoSocketNode(const std::string& name, int numas_per_socket, int cores, int64_t gib,
                               NodePolicies policies = {}) {
  std::vector<NumaSpec> specs;
  for (int s = 0; s < 2; ++s) {
    for (int i = 0; i < numas_per_socket; ++i) specs.push_back({cores, gib, s});
  }
  return Node(name, specs, policies);
}

inline PodRequest Pod(const std::string& name, QosLevel qos, int64_t cpu_milli, int64_t memory_gib,
                      bool binding = false, bool exclusive = false) {
  PodRequest p;
  p.name = name;
  p.uid = "uid-" + name;
  p.qos = qos;
  p.cpu_milli = cpu_milli;
  p.memory_bytes = memory_gib * kGi;
  p.numa_binding = binding;
  p.numa_exclusive = exclusive;
  p.guaranteed = true;
  p.containers.push_back({"main", cpu_milli, memory_gib * kGi, true});
  return p;
}

inline PodRequest Dedicated(const std::string& name, int cores, int64_t gib, bool exclusive = false) {
  return Pod(name, QosLevel::kDedicatedCores, cores * int64_t{1000}, gib, true, exclusive);
}

inline PodRequest Shared(const std::string& name, int64_t cpu_milli, int64_t gib) {
  PodRequest p = Pod(name, QosLevel::kSharedCores, cpu_milli, gib);
  p.guaranteed = false;
  p.containers[0].guaranteed = false;
  return p;
}

inline NumaAffinityTerm Term(const std::string& key, const std::string& value,
                             NumaAffinityTerm::Zone zone = NumaAffinityTerm::Zone::kNuma, int weight = 0) {
  NumaAffinityTerm t;
  t.selector.match_labels[key] = value;
  t.zone = zone;
  t.weight = weight;
  return t;
}

}  // namespace tessera::scoring::testutil

#endif  // TESSERA_TESTS_SCORING_TEST_UTIL_H_
