// API-server mode against the loopback API server: informers fill the state, bind posts one Binding that
// carries the allocation annotation, API errors at each step leave no half allocation, and a restarted extender
// rebuilds the same ledger from the pods' annotations.
#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>
#include <rapidjson/document.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "crd/cnr_builder.h"
#include "crd/cnr_codec.h"
#include "extender/api_source.h"
#include "extender/http_server.h"
#include "extender/routes.h"
#include "reporter/reporter.h"
#include "state/allocation.h"
#include "tests/fake_api_server.h"
#include "tests/gpu_share_pod.h"
#include "tests/shared_cnr.h"
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
    server.Seed(std::string(kCnrsPath) + "/gpu-node",
                crd::EncodeCnr(testing::SharedCnr("gpu-node", "topo.dp-esb01.xml")));  // one V100
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

// What the API server was asked to change since its requests were last cleared: "METHOD target", in order.
std::vector<std::string> Writes(const ApiWorld& w) {
  std::vector<std::string> seen;
  for (const FakeRequest& r : w.server.Requests()) {
    if (r.method != "GET") seen.push_back(r.method + " " + r.target);
  }
  return seen;
}

bool Bound(const Answer& a) {
  return a.body == R"({"Error":""})";
}

// One API call: the Binding carries the allocation annotation, which the API server copies onto the pod in the
// same update that sets its nodeName (a pod is never annotated without being bound, nor bound without it).
TEST(ExtenderApi, BindPostsOneBindingThatCarriesTheAllocation) {
  TESSERA_REQUIRE_SHARED("topologies/topo.dp-esb01.xml");
  ApiWorld w;
  w.AddPendingPod("a", 60);
  Extender x(w);
  ASSERT_TRUE(x.service.ready());
  Answer f = x.service.Filter(FilterBody("a", 60));
  ASSERT_NE(f.body.find(R"("NodeNames":["gpu-node"])"), std::string::npos) << f.body;
  w.server.ClearRequests();
  ASSERT_TRUE(Bound(x.service.Bind(BindBody("a"))));
  const std::vector<std::string> seen = Writes(w);
  ASSERT_EQ(seen, (std::vector<std::string>{"POST /api/v1/namespaces/ml/pods/a/binding"}));
  const std::string binding = w.server.Requests().back().body;
  rapidjson::Document doc;
  doc.Parse(binding.c_str());
  ASSERT_FALSE(doc.HasParseError()) << binding;
  EXPECT_STREQ(doc["kind"].GetString(), "Binding");
  EXPECT_STREQ(doc["target"]["name"].GetString(), "gpu-node");
  EXPECT_STREQ(doc["metadata"]["uid"].GetString(), "uid-a");
  ASSERT_TRUE(doc["metadata"]["annotations"].HasMember("tessera.io/allocation")) << binding;
  std::optional<std::string> pod = w.server.Object("/api/v1/namespaces/ml/pods/a");
  ASSERT_TRUE(pod.has_value());
  EXPECT_NE(pod->find(R"("nodeName":"gpu-node")"), std::string::npos);
  EXPECT_NE(pod->find("tessera.io/allocation"), std::string::npos);
  EXPECT_NE(pod->find(R"(\"milli\":600)"), std::string::npos) << *pod;
  // 40 % are left on the card: a 50 % pod no longer fits anywhere.
  w.AddPendingPod("b", 50);
  EXPECT_EQ(x.service.Filter(FilterBody("b", 50)).body.find(R"("NodeNames":["gpu-node"])"), std::string::npos);
}

// A pod placed at node level (no NUMA node, card or NIC: a shared_cores pod) holds what its spec says, which the
// ledger derives from the pod alone: its bind writes no annotation and makes one API call, the Binding.
TEST(ExtenderApi, ANodeLevelPlacementIsBoundWithoutAnAnnotation) {
  TESSERA_REQUIRE_SHARED("topologies/topo.dp-esb01.xml");
  ApiWorld w;
  const std::string web = R"({"metadata": {"name": "web", "namespace": "ml", "uid": "uid-web"}, "spec":
      {"containers": [{"name": "c", "resources": {"requests": {"cpu": "1", "memory": "1Gi"}}}]}})";
  w.server.Seed("/api/v1/namespaces/ml/pods/web", web);
  Extender x(w);
  ASSERT_TRUE(x.service.ready());
  const Answer f = x.service.Filter(R"({"Pod": )" + web + R"(, "NodeNames": ["gpu-node"]})");
  ASSERT_NE(f.body.find(R"("NodeNames":["gpu-node"])"), std::string::npos) << f.body;
  w.server.ClearRequests();
  ASSERT_TRUE(Bound(x.service.Bind(BindBody("web"))));
  const std::vector<std::string> seen = Writes(w);
  EXPECT_EQ(seen, (std::vector<std::string>{"POST /api/v1/namespaces/ml/pods/web/binding"}));
  std::optional<std::string> pod = w.server.Object("/api/v1/namespaces/ml/pods/web");
  ASSERT_TRUE(pod.has_value());
  EXPECT_NE(pod->find(R"("nodeName":"gpu-node")"), std::string::npos);
  EXPECT_EQ(pod->find("tessera.io/allocation"), std::string::npos) << *pod;
  x.service.UpdateGauges();
  const std::string metrics = prometheus::TextSerializer().Serialize(x.registry->Collect());
  EXPECT_NE(metrics.find(R"(tessera_extender_ledger_pods{source="node_level"} 1)"), std::string::npos) << metrics;
}

TEST(ExtenderApi, AFailedBindingLeavesNoHalfAllocation) {
  TESSERA_REQUIRE_SHARED("topologies/topo.dp-esb01.xml");
  ApiWorld w;
  w.AddPendingPod("a", 60);
  w.AddPendingPod("b", 60);
  Extender x(w);
  ASSERT_TRUE(x.service.ready());
  ASSERT_NE(x.service.Filter(FilterBody("a", 60)).body.find("gpu-node\"]"), std::string::npos);
  // The Binding fails: nothing written, the reservation undone.
  w.server.SetInterceptor([](const FakeRequest& r) -> std::optional<FakeReply> {
    if (r.method == "POST") return FakeReply{500, "{}"};
    return std::nullopt;
  });
  w.server.ClearRequests();
  Answer a = x.service.Bind(BindBody("a"));
  EXPECT_NE(a.body.find("binding: HTTP 500"), std::string::npos) << a.body;
  EXPECT_EQ(Writes(w), (std::vector<std::string>{"POST /api/v1/namespaces/ml/pods/a/binding"}))
      << "no annotation to take back";
  std::optional<std::string> pod = w.server.Object("/api/v1/namespaces/ml/pods/a");
  EXPECT_EQ(pod->find("tessera.io/allocation"), std::string::npos);
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

// kube-scheduler gives an extender 5 s per call. A bind waiting on a stalled API server must not hold what other
// pods' filters need: the decision lock (the bind reserves under it and calls the API outside it) or the HTTP
// threads (binds run on their own pool; here the server has one HTTP thread). The stalled bind fails at its own
// deadline, says why, and returns its reservation; beyond the pool's queue, binds are refused at once.
TEST(ExtenderApi, ABindStalledOnTheApiServerHoldsUpNoOtherPodsFilter) {
  TESSERA_REQUIRE_SHARED("topologies/topo.dp-esb01.xml");
  ApiWorld w;
  auto released = std::make_shared<std::atomic<bool>>(false);
  w.server.SetInterceptor([released](const FakeRequest& r) -> std::optional<FakeReply> {
    if (r.method != "POST" || released->load()) return std::nullopt;
    FakeReply stall;
    stall.delay = std::chrono::milliseconds(3000);  // past the bind client's 1 s deadline
    return stall;
  });
  auto warnings = std::make_shared<std::vector<std::string>>();
  auto warnings_mu = std::make_shared<std::mutex>();
  ExtenderOptions options;
  options.log_warning = [warnings, warnings_mu](const std::string& m) {
    std::lock_guard<std::mutex> lock(*warnings_mu);
    warnings->push_back(m);
  };
  ExtenderService service(options);
  service.Replace(ExtenderService::Kind::kNode, {*w.server.Object("/api/v1/nodes/gpu-node")});
  service.Replace(ExtenderService::Kind::kCnr, {*w.server.Object(std::string(kCnrsPath) + "/gpu-node")});
  service.Replace(ExtenderService::Kind::kPod, {});
  kube::ClusterConfig bind_config = w.Config();
  bind_config.timeout = std::chrono::milliseconds(1000);
  kube::KubeClient bind_api(bind_config);
  service.AttachApi(&bind_api);
  HttpServerOptions ho;
  ho.address = "127.0.0.1";
  ho.port = 0;
  ho.threads = 1;
  ho.blocking = ExtenderBlockingRequests("");
  ho.blocking_threads = 1;
  ho.blocking_queue = 1;
  HttpServer http(ho, MakeExtenderHandler(&service, "", std::make_shared<prometheus::Registry>()));
  ASSERT_TRUE(http.Start().ok());
  kube::ClusterConfig to_extender;
  to_extender.server = "http://127.0.0.1:" + std::to_string(http.port());
  kube::KubeClient scheduler(to_extender);
  ASSERT_NE(scheduler.Post("/filter", FilterBody("a", 60))->body.find("gpu-node\"]"), std::string::npos);

  std::atomic<bool> bind_done{false};
  Result<kube::HttpResponse> bind = Status::Unavailable("not sent");
  std::thread binder([&] {
    bind = scheduler.Post("/bind", BindBody("a"));
    bind_done = true;
  });
  for (int i = 0; i < 400; ++i) {  // until the Binding has reached the API server
    bool posted = false;
    for (const FakeRequest& r : w.server.Requests()) posted = posted || r.method == "POST";
    if (posted) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  // Meanwhile: another pod's filters are answered (a's 60 % is held: 40 % left), and a second bind finds the
  // bind pool's queue full.
  kube::KubeClient other(to_extender);
  for (int i = 0; i < 20; ++i) {
    Result<kube::HttpResponse> f = other.Post("/filter", FilterBody("b", 30));
    ASSERT_TRUE(f.ok());
    EXPECT_NE(f->body.find(R"("NodeNames":["gpu-node"])"), std::string::npos) << f->body;
  }
  EXPECT_EQ(other.Post("/filter", FilterBody("c", 50))->body.find(R"("NodeNames":["gpu-node"])"),
            std::string::npos)
      << "the in-flight bind's reservation counts";
  Result<kube::HttpResponse> second = other.Post("/bind", BindBody("b"));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->status, 503) << second->body;
  EXPECT_FALSE(bind_done.load()) << "all of this happened while the bind was still waiting on the API server";
  binder.join();
  released->store(true);
  ASSERT_TRUE(bind.ok());
  EXPECT_NE(bind->body.find("binding: "), std::string::npos) << bind->body;
  {
    std::lock_guard<std::mutex> lock(*warnings_mu);
    ASSERT_EQ(warnings->size(), 1u);
    EXPECT_NE(warnings->front().find("bind ml/a (uid-a) to gpu-node"), std::string::npos) << warnings->front();
  }
  EXPECT_EQ(service.placed_pods(), 0u) << "the reservation was returned";
  EXPECT_NE(other.Post("/filter", FilterBody("c", 50))->body.find(R"("NodeNames":["gpu-node"])"),
            std::string::npos);
  http.Stop();
}

}  // namespace
}  // namespace tessera::extender
