// One Kubernetes API call as RBAC authorizes it: verb, API group ("" = core), resource (with subresource), and
// whether it is namespaced (a Role may grant it) or cluster-wide (a ClusterRole must).
#ifndef TESSERA_KUBE_API_CALL_H_
#define TESSERA_KUBE_API_CALL_H_

#include <string>

namespace tessera::kube {

struct ApiCall {
  std::string verb;
  std::string api_group;
  std::string resource;
  bool namespaced = false;
  bool operator==(const ApiCall&) const = default;
};

// The call an HTTP request to the API server is, as RBAC sees it ("GET /api/v1/pods?watch=1" is watch pods,
// "POST /api/v1/namespaces/ml/pods/a/binding" create pods/binding). An empty verb: not an API path.
ApiCall ApiCallOf(const std::string& method, const std::string& target);

}  // namespace tessera::kube

#endif  // TESSERA_KUBE_API_CALL_H_
