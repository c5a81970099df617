// The calls a component made, as RBAC names them ("create core/pods/binding"), for tests that hold them against
// the lists the chart grants (extender/api_calls.h, reporter/api_calls.h). Verb, group and resource: whether a
// Role or a ClusterRole grants a call is the chart test's business.
#ifndef TESSERA_TESTS_RBAC_CALLS_H_
#define TESSERA_TESTS_RBAC_CALLS_H_

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "kube/api_call.h"
#include "tests/fake_api_server.h"

namespace tessera::testing {

inline std::string CallName(const kube::ApiCall& c) {
  return c.verb + " " + (c.api_group.empty() ? "core" : c.api_group) + "/" + c.resource;
}

// The calls `requests` were; a request that is no API call fails the test.
inline std::set<std::string> CallsOf(const std::vector<FakeRequest>& requests) {
  std::set<std::string> out;
  for (const FakeRequest& r : requests) {
    const kube::ApiCall c = kube::ApiCallOf(r.method, r.target);
    EXPECT_FALSE(c.verb.empty()) << r.method << " " << r.target << " is not an API call";
    out.insert(CallName(c));
  }
  return out;
}

// The calls the lists grant.
inline std::set<std::string> GrantedCalls(std::vector<kube::ApiCall> a, const std::vector<kube::ApiCall>& b = {}) {
  a.insert(a.end(), b.begin(), b.end());
  std::set<std::string> out;
  for (const kube::ApiCall& c : a) out.insert(CallName(c));
  return out;
}

}  // namespace tessera::testing

#endif  // TESSERA_TESTS_RBAC_CALLS_H_
