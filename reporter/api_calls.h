// Every Kubernetes API call tessera-reporter makes, as RBAC sees it (tested against the chart's RBAC).
#ifndef TESSERA_REPORTER_API_CALLS_H_
#define TESSERA_REPORTER_API_CALLS_H_

#include <vector>

#include "kube/api_call.h"

namespace tessera::reporter {

inline const std::vector<kube::ApiCall>& ApiCalls() {
  static const std::vector<kube::ApiCall> kCalls = {
      {"get", "", "nodes", false},        // the Node's uid, for the CNR's ownerReference
      {"get", "", "nodes/proxy", false},  // --kubelet-config=configz: the kubelet's live configuration
      {"get", "node.katalyst.kubewharf.io", "customnoderesources", false},
      {"create", "node.katalyst.kubewharf.io", "customnoderesources", false},
      {"update", "node.katalyst.kubewharf.io", "customnoderesources", false},
      {"update", "node.katalyst.kubewharf.io", "customnoderesources/status", false},
      {"patch", "node.katalyst.kubewharf.io", "customnoderesources/status", false},  // heartbeat
  };
  return kCalls;
}

// With --publish nrt: the node's NodeResourceTopology (no status subresource).
inline const std::vector<kube::ApiCall>& NrtApiCalls() {
  static const std::vector<kube::ApiCall> kCalls = {
      {"get", "topology.node.k8s.io", "noderesourcetopologies", false},
      {"create", "topology.node.k8s.io", "noderesourcetopologies", false},
      {"update", "topology.node.k8s.io", "noderesourcetopologies", false},
  };
  return kCalls;
}

}  // namespace tessera::reporter

#endif  // TESSERA_REPORTER_API_CALLS_H_
