// Components driven through kube::KubeApi with the API in memory (tests/in_memory_kube_api.h): no socket, no
// thread, no sleep; time is what the test passes. The calls each component makes are recorded and held against
// the RBAC lists the chart grants (extender/api_calls.h, reporter/api_calls.h).
#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <rapidjson/document.h>

#include <set>

#include "crd/cnr_codec.h"
#include "extender/api_calls.h"
#include "extender/extender_service.h"
#include "kube/leader_election.h"
#include "reporter/api_calls.h"
#include "reporter/reporter.h"
#include "tests/gpu_share_pod.h"
#include "tests/in_memory_kube_api.h"
#include "tests/rbac_calls.h"
#include "tests/shared_cnr.h"
#include "tests/shared_data.h"

namespace tessera {
namespace {

using testing::InMemoryKubeApi;

// The calls `api` recorded, each checked to be among `listed`.
std::set<std::string> CheckedCalls(InMemoryKubeApi& api, const std::vector<kube::ApiCall>& listed) {
  const std::set<std::string> allowed = testing::GrantedCalls(listed);
  const std::set<std::string> seen = testing::CallsOf(api.api().Requests());
  for (const std::string& call : seen) EXPECT_TRUE(allowed.count(call)) << call << " is made but not granted";
  return seen;
}

constexpr char kLease[] = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/tessera-extender";

kube::LeaderElectionOptions Candidate(const std::string& identity) {
  kube::LeaderElectionOptions o;
  o.identity = identity;
  o.lease_duration = std::chrono::seconds(15);
  return o;
}

// Leases over time, with no time passing: the holder renews, an expired lease is taken over once, and a take-over
// whose write loses the race (409: someone wrote the lease since it was read) does not lead.
TEST(InMemoryApi, LeaseTimelineAndALostTakeOverRace) {
  InMemoryKubeApi api;
  kube::LeaderElector a(&api, Candidate("http://a")), b(&api, Candidate("http://b"));
  const auto t0 = std::chrono::system_clock::time_point() + std::chrono::hours(24 * 365 * 50);
  ASSERT_TRUE(*a.TryAcquireOrRenew(t0));
  EXPECT_FALSE(*b.TryAcquireOrRenew(t0 + std::chrono::seconds(14)));
  ASSERT_TRUE(*a.TryAcquireOrRenew(t0 + std::chrono::seconds(14)));  // renewed: 15 s more from here
  EXPECT_FALSE(*b.TryAcquireOrRenew(t0 + std::chrono::seconds(28)));
  // b's take-over write races another replica's: the API answers 409, b does not lead.
  api.api().SetInterceptor([](const testing::FakeRequest& r) -> std::optional<testing::FakeReply> {
    if (r.method != "PUT") return std::nullopt;
    return testing::FakeReply{409, testing::KubeStatusBody(409, "Conflict", "the object has been modified")};
  });
  Result<bool> raced = b.TryAcquireOrRenew(t0 + std::chrono::seconds(30));
  EXPECT_FALSE(raced.ok() && *raced) << "a take-over the API refused";
  EXPECT_FALSE(b.is_leader());
  api.api().SetInterceptor(nullptr);
  ASSERT_TRUE(*b.TryAcquireOrRenew(t0 + std::chrono::seconds(31)));
  EXPECT_FALSE(*a.TryAcquireOrRenew(t0 + std::chrono::seconds(32))) << "the old holder sees it lost the lease";
  const std::optional<std::string> lease = api.api().Object(kLease);
  ASSERT_TRUE(lease.has_value());
  EXPECT_NE(lease->find(R"("holderIdentity":"http://b")"), std::string::npos) << *lease;
  const std::set<std::string> seen = CheckedCalls(api, extender::ApiCalls());
  EXPECT_EQ(seen, (std::set<std::string>{"get coordination.k8s.io/leases", "create coordination.k8s.io/leases",
                                         "update coordination.k8s.io/leases"}));
}

// The extender's bind through the in-memory API: one Binding carrying the allocation, the pod bound with it; a
// Binding the API refuses frees the placement at once (the next pod gets the card share back).
TEST(InMemoryApi, ABindIsOneBindingAndARefusedOneFreesItsPlacement) {
  TESSERA_REQUIRE_SHARED("topologies/topo.dp-esb01.xml");
  InMemoryKubeApi api;
  extender::ExtenderService service{extender::ExtenderOptions{}};
  service.AttachApi(&api);
  service.Replace(extender::ExtenderService::Kind::kNode, {R"({"metadata": {"name": "g1"}})"});
  service.Replace(extender::ExtenderService::Kind::kCnr,
                  {crd::EncodeCnr(testing::SharedCnr("g1", "topo.dp-esb01.xml"))});
  service.Replace(extender::ExtenderService::Kind::kPod, {});
  for (const char* name : {"a", "b"})
    api.api().Seed(std::string("/api/v1/namespaces/ml/pods/") + name, testing::GpuSharePodJson(name, 60));
  auto place = [&](const std::string& name) {
    const std::string pod = testing::GpuSharePodJson(name, 60);
    if (service.Filter(R"({"Pod": )" + pod + R"(, "NodeNames": ["g1"]})").body.find(R"("NodeNames":["g1"])") ==
        std::string::npos)
      return std::string("filtered out");
    return service
        .Bind(R"({"PodName":")" + name + R"(","PodNamespace":"ml","PodUID":"uid-)" + name + R"(","Node":"g1"})")
        .body;
  };
  api.api().SetInterceptor([](const testing::FakeRequest& r) -> std::optional<testing::FakeReply> {
    if (r.target.find("/pods/a/binding") == std::string::npos) return std::nullopt;
    return testing::FakeReply{500, testing::KubeStatusBody(500, "InternalError", "etcdserver: request timed out")};
  });
  const std::string refused = place("a");
  EXPECT_NE(refused.find("500"), std::string::npos) << refused;
  EXPECT_EQ(service.AllocationOf("uid-a"), "") << "nothing left reserved for a";
  api.api().SetInterceptor(nullptr);
  api.api().ClearRequests();
  ASSERT_EQ(place("b"), R"({"Error":""})") << "b gets the share a would have had";
  const std::vector<testing::FakeRequest> calls = api.api().Requests();
  ASSERT_EQ(calls.size(), 1u) << "one call per bind";
  EXPECT_EQ(calls[0].method, "POST");
  EXPECT_EQ(calls[0].target, "/api/v1/namespaces/ml/pods/b/binding");
  rapidjson::Document pod;
  pod.Parse(api.api().Object("/api/v1/namespaces/ml/pods/b")->c_str());
  ASSERT_TRUE(pod.IsObject());
  EXPECT_STREQ(pod["spec"]["nodeName"].GetString(), "g1");
  EXPECT_EQ(std::string(pod["metadata"]["annotations"]["tessera.io/allocation"].GetString()),
            service.AllocationOf("uid-b"));
  CheckedCalls(api, extender::ApiCalls());
}

// A watch in memory: the events after its resourceVersion for its collection, then the end of the stream; one
// that resumes from a version the history no longer holds gets the 410 Expired ERROR line, as informers relist on.
TEST(InMemoryApi, AWatchGetsTheEventsSinceItsVersionOrGone) {
  InMemoryKubeApi api;
  const std::string rv = api.api().Seed("/api/v1/nodes/n1", R"({"metadata": {"name": "n1"}})");
  api.api().Seed("/api/v1/nodes/n2", R"({"metadata": {"name": "n2"}})");
  api.api().Seed("/api/v1/namespaces/ml/pods/p", R"({"metadata": {"name": "p"}})");
  auto watch = [&](const std::string& from) {
    std::vector<std::string> lines;
    Result<int> status = api.StreamLines("/api/v1/nodes?watch=1&resourceVersion=" + from, [&](std::string_view l) {
      lines.emplace_back(l);
      return true;
    });
    EXPECT_TRUE(status.ok() && *status == 200);
    return lines;
  };
  const std::vector<std::string> since = watch(rv);
  ASSERT_EQ(since.size(), 1u) << "n2 only: n1 is the version resumed from, the pod another collection";
  EXPECT_NE(since[0].find(R"("name":"n2")"), std::string::npos) << since[0];
  api.api().ExpireHistory();
  const std::vector<std::string> gone = watch(rv);
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_NE(gone[0].find(R"("code":410)"), std::string::npos) << gone[0];
  EXPECT_EQ(testing::CallsOf(api.api().Requests()), (std::set<std::string>{"watch core/nodes"}));
}

// The reporter publishes its CNR (and NRT) through the in-memory API: created once, then left alone while nothing
// changed; every call it makes is granted, and the ones its job needs are made.
TEST(InMemoryApi, TheReporterPublishesWithGrantedCallsOnly) {
  TESSERA_REQUIRE_SHARED("topologies/topo.jrc0386.xml");
  InMemoryKubeApi api;
  api.api().Seed("/api/v1/nodes/node-1", R"({"kind":"Node","metadata":{"name":"node-1","uid":"n-uid"}})");
  reporter::ReporterConfig config;
  config.build.node_name = "node-1";
  config.discovery.xml_path = testing::SharedPath("topologies/topo.jrc0386.xml");
  config.publish.sleep = [](std::chrono::milliseconds) {};
  config.publish_nrt = true;
  reporter::Reporter reporter(config, &api, std::make_shared<prometheus::Registry>());
  ASSERT_TRUE(reporter.RunOnce().ok());
  const size_t after_create = api.api().Requests().size();
  ASSERT_TRUE(
      api.api().Object("/apis/node.katalyst.kubewharf.io/v1alpha1/customnoderesources/node-1").has_value());
  ASSERT_TRUE(reporter.RunOnce().ok());
  std::vector<kube::ApiCall> listed = reporter::ApiCalls();
  const std::vector<kube::ApiCall>& nrt = reporter::NrtApiCalls();
  listed.insert(listed.end(), nrt.begin(), nrt.end());
  const std::set<std::string> seen = CheckedCalls(api, listed);
  for (const char* call : {"get core/nodes", "create node.katalyst.kubewharf.io/customnoderesources",
                           "create topology.node.k8s.io/noderesourcetopologies"}) {
    EXPECT_TRUE(seen.count(call)) << call;
  }
  for (size_t i = after_create; i < api.api().Requests().size(); ++i) {
    EXPECT_EQ(api.api().Requests()[i].method, "GET") << "nothing changed: nothing written the second time";
  }
}

}  // namespace
}  // namespace tessera
