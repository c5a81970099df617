// The calls each component really makes, observed on the loopback API server, against the lists the chart's RBAC
// is generated and tested from (extender/api_calls.h, reporter/api_calls.h): a call the code makes but the list
// lacks would be forbidden in a cluster; a listed call the code never makes is a grant nobody needs.
#include "extender/api_calls.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <set>
#include <thread>

#include "crd/cnr_builder.h"
#include "crd/cnr_codec.h"
#include "crd/nrt.h"
#include "crd/nrt_codec.h"
#include "extender/api_source.h"
#include "kube/api_call.h"
#include "kube/leader_election.h"
#include "reporter/api_calls.h"
#include "reporter/reporter.h"
#include "tests/fake_api_server.h"
#include "tests/gpu_share_pod.h"
#include "tests/rbac_calls.h"
#include "tests/shared_cnr.h"
#include "tests/shared_data.h"

namespace tessera {
namespace {

using testing::FakeApiServer;

using testing::CallName;

std::set<std::string> Observed(const FakeApiServer& server) {
  return testing::CallsOf(server.Requests());
}

std::set<std::string> Listed(const std::vector<kube::ApiCall>& a, const std::vector<kube::ApiCall>& b = {}) {
  return testing::GrantedCalls(a, b);
}

TEST(ApiCalls, RequestsMapToTheCallsRbacAuthorizes) {
  EXPECT_EQ(CallName(kube::ApiCallOf("GET", "/api/v1/pods?watch=1&resourceVersion=5")), "watch core/pods");
  EXPECT_EQ(CallName(kube::ApiCallOf("GET", "/api/v1/pods?limit=500")), "list core/pods");
  EXPECT_EQ(CallName(kube::ApiCallOf("POST", "/api/v1/namespaces/ml/pods/a/binding")), "create core/pods/binding");
  EXPECT_EQ(CallName(kube::ApiCallOf("GET", "/api/v1/nodes/n1/proxy/configz")), "get core/nodes/proxy");
  EXPECT_EQ(CallName(kube::ApiCallOf("PATCH",
                                     "/apis/node.katalyst.kubewharf.io/v1alpha1/customnoderesources/n1/status")),
            "patch node.katalyst.kubewharf.io/customnoderesources/status");
  EXPECT_EQ(CallName(kube::ApiCallOf("PUT", "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/x")),
            "update coordination.k8s.io/leases");
  EXPECT_TRUE(kube::ApiCallOf("PUT", "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/x").namespaced);
  EXPECT_FALSE(kube::ApiCallOf("GET", "/api/v1/nodes").namespaced);
  EXPECT_TRUE(kube::ApiCallOf("GET", "/healthz").verb.empty());
}

TEST(ApiCalls, TheExtenderMakesExactlyTheListedCalls) {
  TESSERA_REQUIRE_SHARED("topologies/topo.dp-esb01.xml");
  FakeApiServer server;
  server.Seed("/api/v1/nodes/gpu-node", R"({"metadata": {"name": "gpu-node"}})");
  const crd::Cnr cnr = testing::SharedCnr("gpu-node", "topo.dp-esb01.xml");
  server.Seed(std::string(extender::kCnrsPath) + "/gpu-node", crd::EncodeCnr(cnr));
  server.Seed(std::string(crd::kNrtCollectionPath) + "/gpu-node", crd::EncodeNrt(crd::NrtFromCnr(cnr)));
  server.Seed("/api/v1/namespaces/ml/pods/a", testing::GpuSharePodJson("a", 30));
  kube::ClusterConfig config;
  config.server = server.url();
  extender::ExtenderService service{extender::ExtenderOptions{}};
  kube::KubeClient api(config);
  service.AttachApi(&api);
  kube::ListWatchOptions lw;
  lw.watch_timeout_seconds = 1;
  extender::ApiSource source(config, &service, lw, /*nrt=*/true);  // --topology-source auto, the chart's default
  source.Start();
  for (int i = 0; i < 250 && !service.ready(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_TRUE(service.ready());
  ASSERT_NE(service.Filter(R"({"Pod": )" + testing::GpuSharePodJson("a", 30) + R"(, "NodeNames": ["gpu-node"]})")
                .body.find(R"("NodeNames":["gpu-node"])"),
            std::string::npos);
  ASSERT_EQ(service.Bind(R"({"PodName":"a","PodNamespace":"ml","PodUID":"uid-a","Node":"gpu-node"})").body,
            R"({"Error":""})");
  kube::LeaderElectionOptions le;
  le.identity = "http://127.0.0.1:1";
  kube::LeaderElector elector(&api, le);
  const auto now = std::chrono::system_clock::now();
  ASSERT_TRUE(elector.TryAcquireOrRenew(now).ok());                            // get (absent), create
  ASSERT_TRUE(elector.TryAcquireOrRenew(now + std::chrono::seconds(5)).ok());  // get, update
  // Every informer has listed and watched at least once.
  for (int i = 0; i < 250; ++i) {
    const std::set<std::string> seen = Observed(server);
    if (seen.count("watch core/nodes") && seen.count("watch core/pods") &&
        seen.count("watch node.katalyst.kubewharf.io/customnoderesources") &&
        seen.count("watch topology.node.k8s.io/noderesourcetopologies"))
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  source.Stop();
  EXPECT_EQ(Observed(server), Listed(extender::ApiCalls(), extender::NrtApiCalls()));
}

TEST(ApiCalls, TheReporterMakesOnlyListedCalls) {
  TESSERA_REQUIRE_SHARED("topologies/topo.jrc0386.xml");
  FakeApiServer server;
  server.Seed("/api/v1/nodes/node-1", R"({"kind":"Node","metadata":{"name":"node-1","uid":"n-uid"}})");
  server.SetInterceptor([](const testing::FakeRequest& r) -> std::optional<testing::FakeReply> {
    if (r.target != "/api/v1/nodes/node-1/proxy/configz") return std::nullopt;
    return testing::FakeReply{200, R"({"kubeletconfig":{"topologyManagerPolicy":"single-numa-node"}})"};
  });
  kube::ClusterConfig c;
  c.server = server.url();
  kube::KubeClient client(c);
  reporter::ReporterConfig config;
  config.build.node_name = "node-1";
  config.discovery.xml_path = testing::SharedPath("topologies/topo.jrc0386.xml");
  config.publish.sleep = [](std::chrono::milliseconds) {};
  config.kubelet_config = *reporter::KubeletConfigSource::Make("configz", "node-1", &client);
  config.publish_nrt = true;  // --publish cnr,nrt
  reporter::Reporter reporter(config, &client, std::make_shared<prometheus::Registry>());
  ASSERT_TRUE(reporter.RunOnce().ok());  // creates
  ASSERT_TRUE(reporter.RunOnce().ok());  // the same second: nothing to change
  const std::set<std::string> seen = Observed(server);
  const std::set<std::string> listed = Listed(reporter::ApiCalls(), reporter::NrtApiCalls());
  for (const std::string& call : seen) EXPECT_TRUE(listed.count(call)) << call << " is made but not listed";
  for (const char* call :
       {"get core/nodes", "get core/nodes/proxy", "create node.katalyst.kubewharf.io/customnoderesources",
        "create topology.node.k8s.io/noderesourcetopologies"}) {
    EXPECT_TRUE(seen.count(call)) << call << " is listed but was not made";
  }
}

}  // namespace
}  // namespace tessera
