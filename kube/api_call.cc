#include "kube/api_call.h"

#include <vector>

namespace tessera::kube {

ApiCall ApiCallOf(const std::string& method, const std::string& target) {
  const size_t q = target.find('?');
  const std::string path = target.substr(0, q);
  const std::string query = q == std::string::npos ? "" : target.substr(q + 1);
  std::vector<std::string> parts;
  for (size_t at = 1; at <= path.size();) {
    const size_t slash = path.find('/', at);
    const size_t end = slash == std::string::npos ? path.size() : slash;
    if (end > at) parts.push_back(path.substr(at, end - at));
    at = end + 1;
  }
  ApiCall call;
  size_t i = 0;
  if (i < parts.size() && parts[i] == "api") {
    i += 2;  // api, v1
  } else if (i < parts.size() && parts[i] == "apis" && parts.size() > 2) {
    call.api_group = parts[1];
    i += 3;  // apis, group, version
  } else {
    return call;  // not an API path: verb stays empty
  }
  if (i + 2 < parts.size() && parts[i] == "namespaces") {
    call.namespaced = true;
    i += 2;
  }
  if (i >= parts.size()) return call;
  call.resource = parts[i];
  const bool named = i + 1 < parts.size();
  if (i + 2 < parts.size()) call.resource += "/" + parts[i + 2];  // a subresource (proxy: the rest is its path)
  const bool watch = query.find("watch=1") != std::string::npos || query.find("watch=true") != std::string::npos;
  if (method == "GET") {
    call.verb = named ? "get" : watch ? "watch" : "list";
  } else if (method == "POST") {
    call.verb = "create";
  } else if (method == "PUT") {
    call.verb = "update";
  } else if (method == "PATCH") {
    call.verb = "patch";
  } else if (method == "DELETE") {
    call.verb = named ? "delete" : "deletecollection";
  }
  return call;
}

}  // namespace tessera::kube
