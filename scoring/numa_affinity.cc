#include "scoring/numa_affinity.h"

#include <algorithm>

namespace tessera::scoring {

bool TermMatchesPod(const NumaAffinityTerm& term, const std::string& owner_namespace, const PodRequest& pod) {
  const bool ns_ok = term.namespaces.empty() ? pod.namespace_name == owner_namespace
                                             : std::find(term.namespaces.begin(), term.namespaces.end(),
                                                         pod.namespace_name) != term.namespaces.end();
  return ns_ok && term.selector.Matches(pod.labels);
}

namespace {

template <typename F>
void ForEachPodInZone(const ClusterState& cluster, const NodeState& node, size_t numa_index,
                      NumaAffinityTerm::Zone zone, F&& f) {
  const int socket = node.numas[numa_index].socket_id;
  for (size_t i = 0; i < node.numas.size(); ++i) {
    const bool in_zone =
        zone == NumaAffinityTerm::Zone::kNuma ? i == numa_index : node.numas[i].socket_id == socket;
    if (!in_zone) continue;
    for (uint32_t slot : node.numa_detail[i].pinned_pods) f(cluster.entry(slot).pod);
  }
}

// True when some pinned pod anywhere in the cluster matches `term`.
bool AnyPodMatches(const ClusterState& cluster, const NumaAffinityTerm& term, const std::string& owner_namespace) {
  for (const NodeState& node : cluster.nodes()) {
    for (const NumaDetail& numa : node.numa_detail) {
      for (uint32_t slot : numa.pinned_pods) {
        if (TermMatchesPod(term, owner_namespace, cluster.entry(slot).pod)) return true;
      }
    }
  }
  return false;
}

}  // namespace

int CountTermMatches(const ClusterState& cluster, const NodeState& node, size_t numa_index,
                     const NumaAffinityTerm& term, const std::string& pod_namespace) {
  int count = 0;
  ForEachPodInZone(cluster, node, numa_index, term.zone, [&](const PodRequest& other) {
    if (TermMatchesPod(term, pod_namespace, other)) ++count;
  });
  return count;
}

bool NumaAffinityFilter::Filter(NodeCycle& cycle, std::string* reason) const {
  const NodeState& node = *cycle.node;
  const PodRequest& pod = *cycle.pod;
  cycle.usable_numas = AllNumas(node.numas.size());
  if (!cycle.numa_bound) return true;
  const bool has_terms = !pod.affinity.required.empty() || !pod.anti_affinity.required.empty();
  if (!has_terms && node.pods_with_required_anti_affinity == 0) return true;  // fast path

  // Required affinity terms no pod matches yet, which the pod satisfies itself: not constraining.
  std::vector<bool> self_satisfied(pod.affinity.required.size(), false);
  for (size_t t = 0; t < pod.affinity.required.size(); ++t) {
    const NumaAffinityTerm& term = pod.affinity.required[t];
    self_satisfied[t] =
        TermMatchesPod(term, pod.namespace_name, pod) && !AnyPodMatches(*cycle.cluster, term, pod.namespace_name);
  }
  uint64_t usable = 0;
  std::string first_block;
  for (size_t i = 0; i < node.numas.size() && i < 64; ++i) {
    std::string block;
    for (size_t t = 0; t < pod.affinity.required.size() && block.empty(); ++t) {
      if (!self_satisfied[t] &&
          CountTermMatches(*cycle.cluster, node, i, pod.affinity.required[t], pod.namespace_name) == 0) {
        block = "no pod matching required affinity term " + std::to_string(t);
      }
    }
    for (size_t t = 0; t < pod.anti_affinity.required.size() && block.empty(); ++t) {
      if (CountTermMatches(*cycle.cluster, node, i, pod.anti_affinity.required[t], pod.namespace_name) > 0) {
        block = "a pod matching required anti-affinity term " + std::to_string(t) + " is there";
      }
    }
    if (block.empty() && node.pods_with_required_anti_affinity > 0) {
      // Symmetry: pods already here that must not share their zone with pods like this one.
      for (size_t j = 0; j < node.numas.size() && block.empty(); ++j) {
        for (uint32_t slot : node.numa_detail[j].pinned_pods) {
          const PodRequest& other = cycle.cluster->entry(slot).pod;
          for (const NumaAffinityTerm& term : other.anti_affinity.required) {
            const bool same_zone = term.zone == NumaAffinityTerm::Zone::kNuma
                                       ? j == i
                                       : node.numas[j].socket_id == node.numas[i].socket_id;
            if (same_zone && TermMatchesPod(term, other.namespace_name, pod)) {
              block = "pod " + other.Key() + " there has required anti-affinity against this pod";
              break;
            }
          }
          if (!block.empty()) break;
        }
      }
    }
    if (block.empty()) {
      usable |= uint64_t{1} << i;
    } else if (first_block.empty()) {
      first_block = "NUMA " + std::to_string(node.numas[i].id) + ": " + block;
    }
  }
  cycle.usable_numas = usable;
  if (usable == 0) {
    if (reason != nullptr) *reason = "no NUMA node satisfies the pod's NUMA affinity rules (" + first_block + ")";
    return false;
  }
  return true;
}

}  // namespace tessera::scoring
