// The extender over loopback HTTP: the captured kube-scheduler requests accepted unchanged and answered in the
// shapes the real client accepted; decisions on nodes with CNRs, the allocation annotation, restart recovery,
// malformed and oversized input, and concurrent binds racing for the last GPU share.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <thread>

#include "crd/cnr_builder.h"
#include "crd/cnr_codec.h"
#include "extender/extender_service.h"
#include "extender/http_server.h"
#include "extender/routes.h"
#include "extender/wire.h"
#include "kube/kube_client.h"
#include "reporter/reporter.h"
#include "state/allocation.h"
#include "tests/gpu_share_pod.h"
#include "tests/shared_data.h"
#include "topology/hwloc_discovery.h"

namespace tessera::extender {
namespace {

namespace fs = std::filesystem;
const std::string kFixtures = "fixtures/kube-scheduler";

std::string Fixture(const std::string& name) {
  return testing::ReadFile(testing::SharedPath(kFixtures + "/" + name));
}

std::string WriteSnapshot(const std::string& tag, const std::string& nodes, const std::string& pods,
                          const std::string& cnrs) {
  std::string dir = ::testing::TempDir() + "/snap-" + tag + "-" + std::to_string(getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir + "/nodes.json") << nodes;
  std::ofstream(dir + "/pods.json") << pods;
  std::ofstream(dir + "/cnrs.json") << cnrs;
  return dir;
}

// A CNR for `node` from a shared topology with a fresh heartbeat.
std::string CnrFor(const std::string& node, const std::string& topology_file) {
  topology::DiscoveryOptions d;
  d.xml_path = testing::SharedPath("topologies/" + topology_file);
  auto t = topology::DiscoverTopology(d);
  crd::CnrBuildOptions o;
  o.node_name = node;
  o.topology_policy = "single-numa-node";
  o.heartbeat_time = reporter::FormatRfc3339(std::chrono::system_clock::now());
  return crd::EncodeCnr(*crd::BuildCnr(t->topology, o));
}

struct Server {
  explicit Server(const std::string& snapshot_dir, size_t max_body = 1 << 20, ExtenderOptions options = {})
      : service(std::move(options)) {
    EXPECT_TRUE(service.LoadSnapshot(snapshot_dir).ok());
    service.AttachMetrics(registry);
    HttpServerOptions o;
    o.address = "127.0.0.1";
    o.port = 0;
    o.max_body_bytes = max_body;
    o.io_timeout = std::chrono::milliseconds(2000);
    http = std::make_unique<HttpServer>(o, MakeExtenderHandler(&service, "/scheduler", registry));
    EXPECT_TRUE(http->Start().ok());
    kube::ClusterConfig c;
    c.server = "http://127.0.0.1:" + std::to_string(http->port());
    c.timeout = std::chrono::milliseconds(5000);
    client = std::make_unique<kube::KubeClient>(c);
  }
  kube::HttpResponse Post(const std::string& verb, const std::string& body) {
    auto r = client->Post("/scheduler/" + verb, body);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : kube::HttpResponse{};
  }
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  ExtenderService service;
  std::unique_ptr<HttpServer> http;
  std::unique_ptr<kube::KubeClient> client;
};

rapidjson::Document Json(const std::string& s) {
  rapidjson::Document d;
  d.Parse(s.c_str());
  EXPECT_FALSE(d.HasParseError()) << s.substr(0, 200);
  return d;
}

TEST(ExtenderFixtures, CapturedRequestsAnsweredInAcceptedShapes) {
  TESSERA_REQUIRE_SHARED(kFixtures + "/raw/filter-nodecache.json");
  // The fixture nodes have no CNR: the NUMA-bound fixture pod fails everywhere, unresolvably, with the reason.
  Server s(WriteSnapshot("fix", Fixture("inputs/nodes.json"), R"({"items": []})", R"({"items": []})"));
  kube::HttpResponse r = s.Post("filter", Fixture("raw/filter-nodecache.json"));
  ASSERT_EQ(r.status, 200) << r.body;
  auto d = Json(r.body);
  ASSERT_TRUE(d["NodeNames"].IsArray());
  EXPECT_EQ(d["NodeNames"].Size(), 0u);
  EXPECT_TRUE(d["Nodes"].IsNull());
  ASSERT_TRUE(d["FailedAndUnresolvableNodes"].IsObject());
  EXPECT_EQ(d["FailedAndUnresolvableNodes"].MemberCount(), 3u);
  EXPECT_NE(std::string(d["FailedAndUnresolvableNodes"]["node-1"].GetString()).find("no CustomNodeResource"),
            std::string::npos);
  EXPECT_STREQ(d["Error"].GetString(), "");

  r = s.Post("filter", Fixture("raw/filter-fullnodes.json"));
  ASSERT_EQ(r.status, 200);
  d = Json(r.body);
  EXPECT_TRUE(d["NodeNames"].IsNull());
  ASSERT_TRUE(d["Nodes"]["items"].IsArray());

  r = s.Post("prioritize", Fixture("raw/prioritize-nodecache.json"));
  ASSERT_EQ(r.status, 200);
  d = Json(r.body);
  ASSERT_TRUE(d.IsArray());
  // No node has a CNR: every node scores alike, and a host not listed gets 0 from kube-scheduler.
  EXPECT_EQ(d.Size(), 0u) << r.body;
  r = s.Post("prioritize", Fixture("raw/prioritize-fullnodes.json"));
  EXPECT_EQ(r.status, 200);

  r = s.Post("bind", Fixture("raw/bind.json"));
  ASSERT_EQ(r.status, 200);
  d = Json(r.body);
  EXPECT_NE(std::string(d["Error"].GetString()).find("CustomNodeResource"), std::string::npos) << r.body;

  for (const char* f : {"raw/preempt-nodecache.json", "raw/preempt-fullnodes.json"}) {
    r = s.Post("preempt", Fixture(f));
    ASSERT_EQ(r.status, 200) << f;
    d = Json(r.body);
    ASSERT_TRUE(d["NodeNameToMetaVictims"].IsObject());
    for (auto it = d["NodeNameToMetaVictims"].MemberBegin(); it != d["NodeNameToMetaVictims"].MemberEnd(); ++it) {
      EXPECT_GT(it->value["Pods"].Size(), 0u) << "every answered node keeps a victim";
    }
  }
}

// kube-scheduler adds an extender's score to the hosts it lists and 0 to the others, then takes the best total:
// the answer lists only the nodes above the lowest score, shifted down by it, which ranks every node as the
// whole list would (ties stay ties).
TEST(ExtenderWire, PrioritizeListsTheNodesAboveTheLowestScoreShiftedByIt) {
  const std::vector<std::string_view> names = {"a", "b", "c", "d"};
  const QuotedNames quoted = QuotedNames::Of(names);
  EXPECT_EQ(WritePrioritizeAnswer(quoted, {3, 5, 3, 10}), R"([{"Host":"b","Score":2},{"Host":"d","Score":7}])");
  EXPECT_EQ(WritePrioritizeAnswer(quoted, {0, 10, 10, 0}), R"([{"Host":"b","Score":10},{"Host":"c","Score":10}])");
  EXPECT_EQ(WritePrioritizeAnswer(quoted, {4, 4, 4, 4}), "[]");
  EXPECT_EQ(WritePrioritizeAnswer(QuotedNames::Of({}), {}), "[]");
}

TEST(ExtenderDecisions, FilterBindAnnotateAndRebuildAfterRestart) {
  TESSERA_REQUIRE_SHARED("topologies/topo.jrc0386.xml");
  TESSERA_REQUIRE_SHARED(kFixtures + "/raw/filter-nodecache.json");
  const std::string cnrs = "{\"items\": [" + CnrFor("node-1", "topo.jrc0386.xml") + "]}";
  const std::string nodes = Fixture("inputs/nodes.json");
  std::string dir = WriteSnapshot("dec", nodes, R"({"items": []})", cnrs);
  Server s(dir);
  kube::HttpResponse r = s.Post("filter", Fixture("raw/filter-nodecache.json"));
  auto d = Json(r.body);
  ASSERT_EQ(d["NodeNames"].Size(), 1u) << r.body;
  EXPECT_STREQ(d["NodeNames"][0].GetString(), "node-1");
  r = s.Post("prioritize", Fixture("raw/prioritize-nodecache.json"));
  d = Json(r.body);
  for (const auto& e : d.GetArray()) {
    // Only node-1 can take the pod: no other node scores above the lowest, so none other is listed.
    EXPECT_STREQ(e["Host"].GetString(), "node-1");
    EXPECT_GE(e["Score"].GetInt64(), 1);
    EXPECT_LE(e["Score"].GetInt64(), 10);
  }
  // Bind the fixture pod to node-1 (the fixture binds to node-1 too).
  r = s.Post("bind", Fixture("raw/bind.json"));
  d = Json(r.body);
  ASSERT_STREQ(d["Error"].GetString(), "") << r.body;
  // Retried bind: idempotent.
  r = s.Post("bind", Fixture("raw/bind.json"));
  EXPECT_STREQ(Json(r.body)["Error"].GetString(), "");
  const std::string metrics = s.client->Get("/metrics")->body;
  EXPECT_NE(metrics.find("tessera_extender_binds_total{outcome=\"bound\"} 1"), std::string::npos)
      << metrics.substr(0, 800);
  EXPECT_NE(metrics.find("tessera_extender_binds_total{outcome=\"repeated\"} 1"), std::string::npos);
  EXPECT_NE(metrics.find("tessera_extender_rejections_total{rule=\"NodeState\"} 2"), std::string::npos)
      << "node-2 and node-3 have no CNR";
  EXPECT_NE(metrics.find("tessera_extender_cluster_utilisation{resource=\"numa_cpu\"} 0.0156"), std::string::npos)
      << "4 of 256 CPUs pinned (node-1 is the only node with a CNR)";
  EXPECT_EQ(metrics.find("tessera_extender_ledger_utilisation{"), std::string::npos)
      << "per-node series only with per_node_utilisation_metrics (--node-utilisation-metrics)";
  const std::string uid = "2b6a8c1e-3f4d-4e5a-9b7c-0d1e2f3a4b5c";
  const std::string allocation = s.service.AllocationOf(uid);
  auto a = Json(allocation);
  EXPECT_STREQ(a["node"].GetString(), "node-1");
  ASSERT_EQ(a["numa"].Size(), 1u);
  EXPECT_EQ(a["numa"][0]["cpu_milli"].GetInt64(), 4000);
  EXPECT_TRUE(a["cpu_pinned"].GetBool());

  // Restart: the bound pod (with its annotation) in pods.json rebuilds the same ledger.
  rapidjson::Document pod = Json(Fixture("inputs/pod.json"));
  auto& alloc = pod.GetAllocator();
  pod["spec"].AddMember("nodeName", "node-1", alloc);
  pod["metadata"]["annotations"].AddMember(rapidjson::Value(state::kAllocationAnnotation, alloc),
                                           rapidjson::Value(allocation.c_str(), alloc), alloc);
  rapidjson::StringBuffer b;
  rapidjson::Writer<rapidjson::StringBuffer> w(b);
  pod.Accept(w);
  ExtenderOptions per_node;
  per_node.per_node_utilisation_metrics = true;
  Server restarted(WriteSnapshot("restart", nodes, std::string("{\"items\": [") + b.GetString() + "]}", cnrs),
                   1 << 20, per_node);
  EXPECT_EQ(restarted.service.placed_pods(), 1u);
  EXPECT_EQ(restarted.service.AllocationOf(uid), allocation);
  // The GPU policies' target workload is learned from the bound pods, the extender's own binds included: the one
  // shape, in the first process after its bind and in the restarted one from the pod list.
  EXPECT_NE(metrics.find("tessera_extender_gpu_target_shapes 1"), std::string::npos) << metrics.substr(0, 800);
  const std::string after = restarted.client->Get("/metrics")->body;
  EXPECT_NE(after.find("tessera_extender_gpu_target_shapes 1"), std::string::npos) << after.substr(0, 800);
  EXPECT_NE(after.find("tessera_extender_gpu_target_workload_updates 1"), std::string::npos);
  EXPECT_NE(after.find("tessera_extender_ledger_utilisation{node=\"node-1\",resource=\"numa_cpu\"} 0.0156"),
            std::string::npos)
      << "asked for: per-node series";
}

// A pod known only from filter calls (never bound, never seen from the API) is forgotten once it has not been
// filtered for --forget-unbound-after; a bound one is kept. Offline (snapshot mode) nothing else would ever remove
// them: 32,000 distinct pending pods once grew the extender by 22 MB for good.
TEST(ExtenderMemory, PodsKnownOnlyFromFiltersAreForgotten) {
  TESSERA_REQUIRE_SHARED("topologies/topo.jrc0386.xml");
  TESSERA_REQUIRE_SHARED(kFixtures + "/inputs/nodes.json");
  auto clock = std::make_shared<ManualClock>();
  ExtenderOptions o;
  o.clock = clock;
  o.forget_unbound_after = std::chrono::seconds(60);
  const std::string cnrs = "{\"items\": [" + CnrFor("node-1", "topo.jrc0386.xml") + "]}";
  Server s(WriteSnapshot("forget", Fixture("inputs/nodes.json"), R"({"items": []})", cnrs), 1 << 20, o);
  auto filter = [&](const std::string& name) {
    kube::HttpResponse r =
        s.Post("filter", R"({"Pod": )" + testing::GpuSharePodJson(name, 10) + R"(, "NodeNames": ["node-1"]})");
    EXPECT_EQ(r.status, 200) << r.body;
  };
  for (int i = 0; i < 40; ++i) filter("p" + std::to_string(i));
  EXPECT_EQ(s.service.known_pods(), 40u);
  kube::HttpResponse bound =
      s.Post("bind", R"({"PodName":"p1","PodNamespace":"ml","PodUID":"uid-p1","Node":"node-1"})");
  EXPECT_STREQ(Json(bound.body)["Error"].GetString(), "") << bound.body;
  clock->Advance(std::chrono::seconds(30));
  filter("p0");  // filtered again: its clock restarts
  clock->Advance(std::chrono::seconds(45));
  filter("late");
  EXPECT_EQ(s.service.known_pods(), 3u) << "p0 (filtered 45 s ago), p1 (bound) and late; the 38 others forgotten";
  EXPECT_EQ(s.service.placed_pods(), 1u) << "the ledger is untouched";
  clock->Advance(std::chrono::seconds(61));
  filter("later");
  EXPECT_EQ(s.service.known_pods(), 2u) << "p1 (bound) and later";
}

TEST(ExtenderHttp, MalformedOversizedAndUnknownRequests) {
  Server s(WriteSnapshot("http", R"({"items": [{"metadata": {"name": "n1"}}]})", R"({"items": []})",
                         R"({"items": []})"),
           4096);
  EXPECT_EQ(s.Post("filter", "{not json").status, 400);
  EXPECT_EQ(s.Post("filter", "[]").status, 400);
  EXPECT_EQ(s.Post("filter", R"({"Pod": 5, "NodeNames": ["n1"]})").status, 400);
  EXPECT_EQ(s.Post("filter", R"({"Pod": {"metadata": {"name": "p"}}, "NodeNames": "n1"})").status, 400);
  EXPECT_EQ(s.Post("bind", R"({"PodName": "p"})").status, 400);
  EXPECT_EQ(s.Post("preempt", R"({"Pod": {"metadata": {}}, "NodeNameToMetaVictims": 7})").status, 400);
  // A number RapidJSON reads as infinity inside an echoed node: refused, not answered with a truncated list.
  kube::HttpResponse infinite = s.Post(
      "filter",
      R"({"Pod": {"metadata": {"name": "p"}}, "Nodes": {"items": [{"metadata": {"name": "n1"}, "x": 10e308}]}})");
  EXPECT_EQ(infinite.status, 400);
  EXPECT_NE(infinite.body.find("number out of range"), std::string::npos) << infinite.body;
  EXPECT_EQ(s.Post("filter", std::string(8192, ' ')).status, 413);
  EXPECT_EQ(s.Post("teleport", "{}").status, 404);
  auto get = [&](const std::string& path) { return *s.client->Get(path); };
  EXPECT_EQ(get("/healthz").status, 200);
  EXPECT_EQ(get("/readyz").status, 200);
  EXPECT_EQ(get("/version").body, kVersion);
  EXPECT_EQ(get("/scheduler/filter").status, 405);
  const std::string metrics = get("/metrics").body;
  EXPECT_NE(metrics.find("tessera_extender_requests_total{code=\"400\",verb=\"filter\"} 5"), std::string::npos)
      << metrics.substr(0, 600);
  // An invalid pod (unknown QoS) fails every node with one reason and changes nothing.
  kube::HttpResponse r = s.Post("filter", R"({"Pod": {"metadata": {"name": "p", "uid": "u", "annotations":
      {"katalyst.kubewharf.io/qos_level": "gold"}}, "spec": {"containers": [{"name": "c"}]}}, "NodeNames": ["n1"], "Nodes": null})");
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("unknown QoS level"), std::string::npos) << r.body;
  EXPECT_EQ(s.service.placed_pods(), 0u);
}

TEST(ExtenderRace, ConcurrentBindsForTheLastShareOfACard) {
  TESSERA_REQUIRE_SHARED("topologies/topo.dp-esb01.xml");
  // One node with one V100: 16 pods each want 30 % of it; exactly three fit.
  const std::string cnrs = "{\"items\": [" + CnrFor("gpu-node", "topo.dp-esb01.xml") + "]}";
  Server s(WriteSnapshot("race", R"({"items": [{"metadata": {"name": "gpu-node"}}]})", R"({"items": []})", cnrs));
  auto pod = [](int i) {
    return R"({"Pod": {"metadata": {"name": "p)" + std::to_string(i) +
           R"(", "namespace": "default", "uid": "uid-)" + std::to_string(i) +
           R"("}, "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": "1",
           "memory": "1Gi", "nvidia.com/gpucores": "30"}}}]}}, "NodeNames": ["gpu-node"], "Nodes": null})";
  };
  for (int i = 0; i < 16; ++i) ASSERT_EQ(s.Post("filter", pod(i)).status, 200);
  std::atomic<int> won{0}, lost{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&, i] {
      kube::ClusterConfig c;
      c.server = "http://127.0.0.1:" + std::to_string(s.http->port());
      kube::KubeClient client(c);
      auto r = client.Post("/scheduler/bind", R"({"PodName": "p)" + std::to_string(i) +
                                                  R"(", "PodNamespace": "default",
          "PodUID": "uid-)" + std::to_string(i) + R"(", "Node": "gpu-node"})");
      if (r.ok() && r->body == R"({"Error":""})") {
        ++won;
      } else {
        ++lost;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(won.load(), 3);
  EXPECT_EQ(lost.load(), 13);
  EXPECT_EQ(s.service.placed_pods(), 3u);
}

}  // namespace
}  // namespace tessera::extender

namespace tessera::extender {
namespace {

TEST(ExtenderHttp, ServesHttpsWithAVerifiedCertificate) {
  if (std::system("command -v openssl >/dev/null 2>&1") != 0) GTEST_SKIP() << "openssl CLI absent";
  const std::string dir = ::testing::TempDir() + "/tls-" + std::to_string(getpid());
  fs::create_directories(dir);
  const std::string cmd =
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -addext "
      "subjectAltName=IP:127.0.0.1 -keyout " +
      dir + "/key.pem -out " + dir + "/cert.pem >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  ExtenderService service{ExtenderOptions{}};
  service.SetReadyProbe([] { return true; });
  HttpServerOptions o;
  o.address = "127.0.0.1";
  o.port = 0;
  o.tls_cert_file = dir + "/cert.pem";
  o.tls_key_file = dir + "/key.pem";
  HttpServer https(o, MakeExtenderHandler(&service, "", std::make_shared<prometheus::Registry>()));
  ASSERT_TRUE(https.Start().ok());
  kube::ClusterConfig c;
  c.server = "https://127.0.0.1:" + std::to_string(https.port());
  c.ca_pem = testing::ReadFile(dir + "/cert.pem");
  c.timeout = std::chrono::milliseconds(3000);
  kube::KubeClient client(c);
  Result<kube::HttpResponse> r = client.Get("/readyz");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  // Without the CA the client refuses the server; plain HTTP to the TLS port gets nowhere.
  kube::ClusterConfig untrusted = c;
  untrusted.ca_pem.clear();
  EXPECT_FALSE(kube::KubeClient(untrusted).Get("/readyz").ok());
  kube::ClusterConfig plain = c;
  plain.server = "http://127.0.0.1:" + std::to_string(https.port());
  Result<kube::HttpResponse> p = kube::KubeClient(plain).Get("/readyz");
  EXPECT_TRUE(!p.ok() || p->status != 200);
  // A missing key file is bad input, reported at start.
  HttpServerOptions bad = o;
  bad.tls_key_file = dir + "/absent.pem";
  HttpServer broken(bad, MakeExtenderHandler(&service, "", std::make_shared<prometheus::Registry>()));
  EXPECT_TRUE(broken.Start().IsInvalidArgument());
}

// A raw loopback TCP connection to `port`, with a receive timeout so that no read here can hang.
int ConnectRaw(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// True when the server closed `fd` (EOF or reset) before the 5 s receive timeout; `waited` says how long it took.
bool ClosedByServer(int fd, std::chrono::milliseconds* waited) {
  const auto t0 = std::chrono::steady_clock::now();
  char b[256];
  ssize_t n;
  do {
    n = ::recv(fd, b, sizeof b, 0);
  } while (n > 0);  // a reply first (e.g. 413) is fine: read on to the close
  *waited = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  return n == 0 || errno == ECONNRESET;
}

// Slow clients cannot hold the server: one that stops halfway through a request and one that trickles a byte at
// a time are both cut off after the read timeout, while other clients are served meanwhile; connections beyond the
// cap are closed at once. Nothing they sent changes state.
TEST(ExtenderHttp, SlowClientsAreCutOffAndTheConnectionCapHolds) {
  ExtenderService service{ExtenderOptions{}};
  service.SetReadyProbe([] { return true; });
  HttpServerOptions o;
  o.address = "127.0.0.1";
  o.port = 0;
  o.io_timeout = std::chrono::milliseconds(400);
  o.max_connections = 3;
  HttpServer http(o, MakeExtenderHandler(&service, "", std::make_shared<prometheus::Registry>()));
  ASSERT_TRUE(http.Start().ok());
  kube::ClusterConfig c;
  c.server = "http://127.0.0.1:" + std::to_string(http.port());
  c.timeout = std::chrono::milliseconds(3000);
  kube::KubeClient client(c);

  // Stops halfway through the body.
  const int stalled = ConnectRaw(http.port());
  ASSERT_GE(stalled, 0);
  const std::string head =
      "POST /filter HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: "
      "200\r\n\r\n{\"Pod\":";
  ASSERT_EQ(::send(stalled, head.data(), head.size(), MSG_NOSIGNAL), static_cast<ssize_t>(head.size()));
  // Another client is served while it stalls.
  Result<kube::HttpResponse> healthy = client.Get("/healthz");
  ASSERT_TRUE(healthy.ok()) << healthy.status().ToString();
  EXPECT_EQ(healthy->status, 200);
  std::chrono::milliseconds waited{0};
  EXPECT_TRUE(ClosedByServer(stalled, &waited)) << "the stalled request was not cut off within 5 s";
  EXPECT_LT(waited.count(), 2000);
  ::close(stalled);

  // Trickles a byte every 50 ms: the timeout covers the whole request, so it is cut off too.
  const int trickle = ConnectRaw(http.port());
  ASSERT_GE(trickle, 0);
  const auto t0 = std::chrono::steady_clock::now();
  bool cut = false;
  for (size_t i = 0; i < head.size() * 4 && !cut; ++i) {  // bounded: at most ~20 s of bytes, far past the timeout
    cut = ::send(trickle, &head[i % head.size()], 1, MSG_NOSIGNAL) != 1;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (!cut) cut = ClosedByServer(trickle, &waited);
  EXPECT_TRUE(cut) << "the trickling client was never cut off";
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  ::close(trickle);

  // The cap: three idle connections held open, a fourth is closed at once (well before the read timeout).
  std::vector<int> idle;
  for (int i = 0; i < 3; ++i) idle.push_back(ConnectRaw(http.port()));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // let the server accept them
  const int over = ConnectRaw(http.port());
  ASSERT_GE(over, 0);
  EXPECT_TRUE(ClosedByServer(over, &waited));
  EXPECT_LT(waited.count(), 300) << "over the cap, the connection is refused at once, not after the timeout";
  ::close(over);
  for (int fd : idle) ::close(fd);

  // Once they are gone, requests are served again; nothing the slow clients sent was decided on.
  Result<kube::HttpResponse> after = kube::KubeClient(c).Get("/healthz");
  for (int i = 0; i < 50 && !(after.ok() && after->status == 200); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    after = kube::KubeClient(c).Get("/healthz");
  }
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(after->status, 200);
  EXPECT_EQ(service.placed_pods(), 0u);
}

}  // namespace
}  // namespace tessera::extender
