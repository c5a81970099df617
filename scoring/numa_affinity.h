// Filter "NumaAffinity": NUMA-level inter-pod affinity and anti-affinity (Katalyst issue #220, annotation keys and
// JSON shape of its proposal) with Kubernetes label-selector semantics:
//   - a term matches the NUMA-bound pods on a NUMA node (zone numa) or on any NUMA node of its socket (zone
//     socket) whose namespace is listed (default: the incoming pod's) and whose labels satisfy matchLabels AND
//     matchExpressions;
//   - every required affinity term must be matched; as in Kubernetes, a term no pod in the cluster matches is
//     satisfied by a pod that matches it itself (the first of a group may land anywhere);
//   - no required anti-affinity term may match, and (symmetry) no pod already there may have a required
//     anti-affinity term matching the incoming pod.
// The allowed NUMA nodes are then intersected with those where the pod fits (NumaPlacement): the node fails
// only when no NUMA node satisfies both. Pods that are not NUMA-bound float over the shared pool, so their
// terms cannot be honoured per NUMA node: they are ignored (documented in the README), and such pods do not
// count as members of any NUMA node's label set.
#ifndef TESSERA_SCORING_NUMA_AFFINITY_H_
#define TESSERA_SCORING_NUMA_AFFINITY_H_

#include "scoring/framework.h"

namespace tessera::scoring {

// Pods pinned on NUMA index `numa_index` of `node` (zone numa) or its socket (zone socket) matching `term`, for an
// incoming pod in namespace `pod_namespace`.
int CountTermMatches(const ClusterState& cluster, const NodeState& node, size_t numa_index,
                     const NumaAffinityTerm& term, const std::string& pod_namespace);

// Whether `pod` satisfies `term`'s selector and namespaces (term owned by a pod in `owner_namespace`).
bool TermMatchesPod(const NumaAffinityTerm& term, const std::string& owner_namespace, const PodRequest& pod);

class NumaAffinityFilter : public FilterPlugin {
 public:
  std::string_view Name() const override { return "NumaAffinity"; }
  bool Filter(NodeCycle& cycle, std::string* reason) const override;
};

}  // namespace tessera::scoring

#endif  // TESSERA_SCORING_NUMA_AFFINITY_H_
