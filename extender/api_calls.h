// Every Kubernetes API call tessera-extender makes, as RBAC sees it. The chart's RBAC is tested against this list
// (tests/chart_test.cc): everything here must be allowed, nothing beyond it granted.
#ifndef TESSERA_EXTENDER_API_CALLS_H_
#define TESSERA_EXTENDER_API_CALLS_H_

#include <vector>

#include "kube/api_call.h"

namespace tessera::extender {

inline const std::vector<kube::ApiCall>& ApiCalls() {
  static const std::vector<kube::ApiCall> kCalls = {
      {"list", "", "nodes", false},
      {"watch", "", "nodes", false},  // informers (api_source.cc)
      {"list", "", "pods", false},
      {"watch", "", "pods", false},
      {"list", "node.katalyst.kubewharf.io", "customnoderesources", false},
      {"watch", "node.katalyst.kubewharf.io", "customnoderesources", false},
      {"create", "", "pods/binding", false},           // bind: the Binding, with the allocation annotation
      {"get", "coordination.k8s.io", "leases", true},  // leader election
      {"create", "coordination.k8s.io", "leases", true},
      {"update", "coordination.k8s.io", "leases", true},
  };
  return kCalls;
}

// With --topology-source nrt or auto: the NodeResourceTopology informer.
inline const std::vector<kube::ApiCall>& NrtApiCalls() {
  static const std::vector<kube::ApiCall> kCalls = {
      {"list", "topology.node.k8s.io", "noderesourcetopologies", false},
      {"watch", "topology.node.k8s.io", "noderesourcetopologies", false},
  };
  return kCalls;
}

}  // namespace tessera::extender

#endif  // TESSERA_EXTENDER_API_CALLS_H_
