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
};

}  // namespace tessera::kube

#endif  // TESSERA_KUBE_API_CALL_H_
