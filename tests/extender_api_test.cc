// API-server mode against the loopback API server: informers fill the state, bind writes one annotation patch
// and then the Binding, API errors at each step leave no half allocation, and a restarted extender rebuilds the
// same ledger from the pods' annotations.
#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <thread>

#include "crd/cnr_builder.h"
#include "crd/cnr_codec.h"
#include "state/allocation.h"
#include "extender/api_source.h"
#include "reporter/reporter.h"
#include "tests/fake_api_server.h"
#include "tests/gpu_share_pod.h"
#include "tests/shared_data.h"
#include "topology/hwloc_discovery.h"

namespace tessera::extender {
namespace {

using testing::FakeApiServer;
using testing::FakeReply;
using testing::FakeRequest;
using testing::GpuSharePodJson;

std::string FilterBody(const std::string& name, int pct) {
  return R"({"Pod": )" + GpuSharePodJson(name, pct) + R"(, "NodeNames": ["gpu-node"], "Nodes": null})";
}

std::string BindBody(const std::string& name) {
  return R"({"PodName": ")" + name + R"(", "PodNamespace": "ml", "PodUID": "uid-)" + name +
         R"(", "Node": "gpu-node"})";
}

struct ApiWorld {
  FakeApiServer server;
  ApiWorld() {
    server.Seed("/api/v1/nodes/gpu-node", R"({"metadata": {"name": "gpu-node"}})");
    topology::DiscoveryOptions d;
    d.xml_path = testing::SharedPath("topologies/topo.dp-esb01.xml");  // one V100
    auto t = topology::DiscoverTopology(d);
    crd::CnrBuildOptions o;
    o.node_name = "gpu-node";
    o.heartbeat_time = reporter::FormatRfc3339(std::chrono::system_clock::now());
    server.Seed(std::string(kCnrsPath) + "/gpu-node", crd::EncodeCnr(*crd::BuildCnr(t->topology, o)));
  }
  void AddPendingPod(const std::string& name, int pct) {
    server.Seed("/api/v1/namespaces/ml/pods/" + name, GpuSharePodJson(name, pct));
  }
  kube::ClusterConfig Config() const {
    kube::ClusterConfig c;
    c.server = server.url();
    return c;
  }
};

struct Extender {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  ExtenderService service{ExtenderOptions{}};
  kube::KubeClient api;
  ApiSource source;
  explicit Extender(const ApiWorld& w, std::chrono::seconds resync = std::chrono::seconds(0))
      : api(w.Config()), source(w.Config(), &service, [resync] {
          kube::ListWatchOptions o;
          o.watch_timeout_seconds = 1;
          o.resync_period = resync;
          return o;
        }()) {
    service.AttachMetrics(registry);
    service.AttachApi(&api);
    source.Start();
    for (int i = 0; i < 200 && !service.ready(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
};

bool Bound(const Answer& a) {
  return a.body == R"({"Error":""})";
}

TEST(ExtenderApi, BindPatchesOneAnnotationThenPostsTheBinding) {
  TESSERA_REQUIRE_SHARED("topologies/topo.dp-esb01.xml");
  ApiWorld w;
  w.AddPendingPod("a", 60);
  Extender x(w);
  ASSERT_TRUE(x.service.ready());
  Answer f = x.service.Filter(FilterBody("a", 60));
  ASSERT_NE(f.body.find(R"("NodeNames":["gpu-node"])"), std::string::npos) << f.body;
  w.server.ClearRequests();
  ASSERT_TRUE(Bound(x.service.Bind(BindBody("a"))));
  std::vector<std::string> seen;
  for (const FakeRequest& r : w.server.Requests()) {
    if (r.method != "GET") seen.push_back(r.method + " " + r.target);
  }
  ASSERT_EQ(seen, (std::vector<std::string>{"PATCH /api/v1/namespaces/ml/pods/a",
                                            "POST /api/v1/namespaces/ml/pods/a/binding"}));
  std::optional<std::string> pod = w.server.Object("/api/v1/namespaces/ml/pods/a");
  ASSERT_TRUE(pod.has_value());
  EXPECT_NE(pod->find(R"("nodeName":"gpu-node")"), std::string::npos);
  EXPECT_NE(pod->find("tessera.io/allocation"), std::string::npos);
  EXPECT_NE(pod->find(R"(\"milli\":600)"), std::string::npos) << *pod;
  // 40 % are left on the card: a 50 % pod no longer fits anywhere.
  w.AddPendingPod("b", 50);
  EXPECT_EQ(x.service.Filter(FilterBody("b", 50)).body.find(R"("NodeNames":["gpu-node"])"), std::string::npos);
}

TEST(ExtenderApi, FailuresAtEachStepLeaveNoHalfAllocation) {
  TESSERA_REQUIRE_SHARED("topologies/topo.dp-esb01.xml");
  ApiWorld w;
  w.AddPendingPod("a", 60);
  w.AddPendingPod("b", 60);
  Extender x(w);
  ASSERT_TRUE(x.service.ready());
  ASSERT_NE(x.service.Filter(FilterBody("a", 60)).body.find("gpu-node\"]"), std::string::npos);
  // The annotation patch fails: nothing reserved, nothing written.
  w.server.SetInterceptor([](const FakeRequest& r) -> std::optional<FakeReply> {
    if (r.method == "PATCH") return FakeReply{500, "{}"};
    return std::nullopt;
  });
  Answer a = x.service.Bind(BindBody("a"));
  EXPECT_NE(a.body.find("annotation patch: HTTP 500"), std::string::npos) << a.body;
  // The Binding fails: the annotation is taken back, the reservation undone.
  w.server.SetInterceptor([](const FakeRequest& r) -> std::optional<FakeReply> {
    if (r.method == "POST") return FakeReply{500, "{}"};
    return std::nullopt;
  });
  a = x.service.Bind(BindBody("a"));
  EXPECT_NE(a.body.find("binding: HTTP 500"), std::string::npos) << a.body;
  std::optional<std::string> pod = w.server.Object("/api/v1/namespaces/ml/pods/a");
  EXPECT_EQ(pod->find("tessera.io/allocation"), std::string::npos)
      << "annotation removed after the failed binding";
  EXPECT_EQ(pod->find("nodeName"), std::string::npos);
  // Nothing is held: b can take the 60 % share and bind.
  w.server.SetInterceptor(nullptr);
  ASSERT_NE(x.service.Filter(FilterBody("b", 60)).body.find("gpu-node\"]"), std::string::npos);
  EXPECT_TRUE(Bound(x.service.Bind(BindBody("b"))));
}

TEST(ExtenderApi, RestartRebuildsTheLedgerFromAnnotations) {
  TESSERA_REQUIRE_SHARED("topologies/topo.dp-esb01.xml");
  ApiWorld w;
  w.AddPendingPod("a", 70);
  {
    Extender first(w);
    ASSERT_TRUE(first.service.ready());
    ASSERT_NE(first.service.Filter(FilterBody("a", 70)).body.find("gpu-node\"]"), std::string::npos);
    ASSERT_TRUE(Bound(first.service.Bind(BindBody("a"))));
  }  // the extender goes away (a restart)
  w.AddPendingPod("b", 40);
  Extender second(w);
  ASSERT_TRUE(second.service.ready());
  // a's 70 % comes back from its annotation: 40 % more would pass 100 %, 30 % fits.
  EXPECT_EQ(second.service.Filter(FilterBody("b", 40)).body.find("gpu-node\"]"), std::string::npos);
  w.AddPendingPod("c", 30);
  EXPECT_NE(second.service.Filter(FilterBody("c", 30)).body.find("gpu-node\"]"), std::string::npos);
  // A deleted pod releases its share (watch event).
  w.server.EmitEvent("/api/v1/namespaces/ml/pods/a", "DELETED", *w.server.Object("/api/v1/namespaces/ml/pods/a"));
  bool freed = false;
  for (int i = 0; i < 100 && !freed; ++i) {
    freed = second.service.Filter(FilterBody("b", 40)).body.find("gpu-node\"]") != std::string::npos;
    if (!freed) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(freed);
}

TEST(ExtenderApi, PeriodicResyncCorrectsDriftAndCountsIt) {
  TESSERA_REQUIRE_SHARED("topologies/topo.dp-esb01.xml");
  ApiWorld w;
  w.AddPendingPod("a", 70);
  Extender x(w, std::chrono::seconds(1));
  ASSERT_TRUE(x.service.ready());
  ASSERT_NE(x.service.Filter(FilterBody("a", 70)).body.find("gpu-node\"]"), std::string::npos);
  ASSERT_TRUE(Bound(x.service.Bind(BindBody("a"))));
  // Lost events: a (70 %) was deleted, and another scheduler bound d (20 %) to the node; no watch says so.
  w.server.ChangeWithoutEvent("/api/v1/namespaces/ml/pods/a", "");
  std::string d = GpuSharePodJson("d", 20);
  d.insert(d.find(R"("spec": {)") + 9, R"("nodeName": "gpu-node", )");
  w.server.ChangeWithoutEvent("/api/v1/namespaces/ml/pods/d", d);
  // Until the resync the stale ledger holds a's 70 %; after it only d's 20 %: 80 % fits, 81 % does not.
  w.AddPendingPod("b", 80);
  bool corrected = false;
  for (int i = 0; i < 250 && !corrected; ++i) {  // at most 5 s
    corrected = x.service.Filter(FilterBody("b", 80)).body.find("gpu-node\"]") != std::string::npos;
    if (!corrected) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(corrected) << "the resync released a's share";
  w.AddPendingPod("c", 81);
  EXPECT_EQ(x.service.Filter(FilterBody("c", 81)).body.find("gpu-node\"]"), std::string::npos)
      << "d's 20 % is held";
  const std::string m = prometheus::TextSerializer().Serialize(x.registry->Collect());
  EXPECT_NE(m.find(R"(tessera_extender_resync_corrections_total{change="removed",kind="pod"} 1)"),
            std::string::npos)
      << m;
  // d arrived by the lost event; b (created after the lost events, with its event) may have been seen either way.
  EXPECT_NE(m.find(R"(tessera_extender_resync_corrections_total{change="added",kind="pod"} 1)"),
            std::string::npos);
}

}  // namespace
}  // namespace tessera::extender
