// The Kubernetes API in memory, for tests of components that take a kube::KubeApi: the loopback fake's objects
// and semantics (tests/fake_api_server.h: paths, verbs, status subresources, resourceVersion conflicts, Binding,
// watch events, the interceptor for faults) with no socket, no thread and no wait. Every call is recorded as the
// loopback server records requests, so a test can hold the calls a component made against its RBAC list.
#ifndef TESSERA_TESTS_IN_MEMORY_KUBE_API_H_
#define TESSERA_TESTS_IN_MEMORY_KUBE_API_H_

#include <string>

#include "kube/kube_api.h"
#include "tests/fake_api_server.h"

namespace tessera::testing {

class InMemoryKubeApi final : public kube::KubeApi {
 public:
  InMemoryKubeApi() : api_(FakeApiServer::InMemory{}) {}

  // Seed objects, read them back, read the recorded calls, set an interceptor (a reply with drop_connection is a
  // transport failure; a delay is not waited for: nothing here takes time).
  FakeApiServer& api() { return api_; }

  Result<kube::HttpResponse> Get(const std::string& path) override;
  Result<kube::HttpResponse> Post(const std::string& path, const std::string& json) override;
  Result<kube::HttpResponse> Put(const std::string& path, const std::string& json) override;
  Result<kube::HttpResponse> MergePatch(const std::string& path, const std::string& json) override;
  // The events after the path's resourceVersion for its collection, then the end of the stream (as the API server
  // ends a watch at its timeout): a caller that watches again gets what happened since. A resourceVersion the
  // history no longer holds gets the 410 Expired ERROR line. As on the loopback server, a watch is recorded but
  // not intercepted.
  Result<int> StreamLines(const std::string& path, const std::function<bool(std::string_view)>& on_line,
                          std::string* error_body = nullptr) override;

 private:
  Result<kube::HttpResponse> Call(const std::string& method, const std::string& path, const std::string& body,
                                  const std::string& content_type);
  FakeApiServer api_;
};

}  // namespace tessera::testing

#endif  // TESSERA_TESTS_IN_MEMORY_KUBE_API_H_
