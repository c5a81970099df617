// The reporter's publish path against the loopback fake API server: real cpprestsdk HTTP over 127.0.0.1.
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include "crd/cnr_builder.h"
#include "crd/cnr_codec.h"
#include "kube/kube_client.h"
#include "reporter/cnr_publisher.h"
#include "reporter/reporter.h"
#include "tests/fake_api_server.h"

namespace tessera::reporter {
namespace {

using testing::FakeApiServer;
using testing::FakeReply;
using testing::FakeRequest;

constexpr char kNode[] = "node-1";
const std::string kCnrPath = std::string(kCnrCollectionPath) + "/node-1";

topology::NodeTopology SmallTopology() {
  topology::NodeTopology t;
  t.sockets = {{0, {0, 1}}};
  t.numa_nodes = {{0, 0, {0, 1, 2, 3}, 2, 8ull << 30}, {1, 0, {4, 5, 6, 7}, 2, 8ull << 30}};
  topology::Gpu g;
  g.location.pci_bus_id = "0000:17:00.0";
  g.location.numa_ids = {0};
  g.location.socket_id = 0;
  g.location.pcie_switch = "0000:15:00.0";
  g.model = "A100";
  g.memory_mib = 40960;
  t.gpus.push_back(g);
  return t;
}

crd::Cnr Desired(const std::string& heartbeat, const std::string& policy = "none") {
  crd::CnrBuildOptions o;
  o.node_name = kNode;
  o.node_uid = "node-uid";
  o.heartbeat_time = heartbeat;
  o.topology_policy = policy;
  return *crd::BuildCnr(SmallTopology(), o);
}

struct PublishTest : ::testing::Test {
  FakeApiServer server;
  std::vector<std::chrono::milliseconds> sleeps;
  std::unique_ptr<kube::KubeClient> client;
  std::unique_ptr<CnrPublisher> publisher;

  void SetUp() override {
    kube::ClusterConfig c;
    c.server = server.url();
    c.bearer_token = "secret-token";
    c.timeout = std::chrono::milliseconds(2000);
    client = std::make_unique<kube::KubeClient>(c);
    PublishOptions o;
    o.backoff_initial = std::chrono::milliseconds(10);
    o.backoff_max = std::chrono::milliseconds(40);
    o.sleep = [this](std::chrono::milliseconds d) { sleeps.push_back(d); };
    publisher = std::make_unique<CnrPublisher>(client.get(), o);
  }

  crd::Cnr Stored() {
    std::optional<std::string> json = server.Object(kCnrPath);
    EXPECT_TRUE(json.has_value());
    return json ? *crd::DecodeCnr(*json) : crd::Cnr{};
  }

  std::vector<std::string> Verbs() {
    std::vector<std::string> out;
    for (const FakeRequest& r : server.Requests()) {
      std::string suffix =
          r.target.size() > 7 && r.target.substr(r.target.size() - 7) == "/status" ? "/status" : "";
      out.push_back(r.method + suffix);
    }
    return out;
  }

  bool AnyWrite() {
    for (const std::string& v : Verbs()) {
      if (v.rfind("GET", 0) != 0) return true;
    }
    return false;
  }
};

TEST_F(PublishTest, FirstCreatePostsThenWritesStatus) {
  Result<PublishOutcome> r = publisher->Publish(Desired("2026-11-30T10:00:00Z"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, PublishOutcome::kCreated);
  EXPECT_EQ(Verbs(), (std::vector<std::string>{"GET", "POST", "PUT/status"}));
  crd::Cnr stored = Stored();
  ASSERT_EQ(stored.status.zones.size(), 1u) << "status must be written after the create dropped it";
  EXPECT_EQ(stored.FindCondition("AgentReady")->last_heartbeat_time, "2026-11-30T10:00:00Z");
  EXPECT_EQ(stored.metadata.owner_references.at(0).uid, "node-uid");
  EXPECT_EQ(server.Requests().at(0).authorization, "Bearer secret-token");
}

TEST_F(PublishTest, UnchangedContentOnlyRefreshesHeartbeat) {
  ASSERT_TRUE(publisher->Publish(Desired("2026-11-30T10:00:00Z")).ok());
  server.ClearRequests();
  Result<PublishOutcome> r = publisher->Publish(Desired("2026-11-30T10:00:30Z"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, PublishOutcome::kHeartbeat);
  EXPECT_EQ(Verbs(), (std::vector<std::string>{"GET", "PATCH/status"}));
  EXPECT_EQ(server.Requests()[1].content_type, "application/merge-patch+json");
  EXPECT_EQ(Stored().FindCondition("AgentReady")->last_heartbeat_time, "2026-11-30T10:00:30Z");
  EXPECT_EQ(Stored().status.zones.size(), 1u) << "a heartbeat patch must not touch the zones";

  server.ClearRequests();
  r = publisher->Publish(Desired("2026-11-30T10:00:30Z"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, PublishOutcome::kUnchanged);
  EXPECT_EQ(Verbs(), (std::vector<std::string>{"GET"}));
}

TEST_F(PublishTest, ChangedContentUpdatesAndKeepsOthersAllocations) {
  ASSERT_TRUE(publisher->Publish(Desired("2026-11-30T10:00:00Z")).ok());
  // The extender charges a pod to NUMA 0 and to the GPU.
  crd::Cnr stored = Stored();
  crd::TopologyZone& numa0 = stored.status.zones[0].children[0];
  numa0.allocations.push_back({"default/p1/u1", {{"cpu", crd::Quantity::FromUnits(2)}}});
  numa0.children[0].allocations.push_back(
      {"default/p1/u1", {{"nvidia.com/gpucores", crd::Quantity::FromUnits(30)}}});
  ASSERT_EQ(client->Put(kCnrPath + "/status", crd::EncodeCnr(stored))->status, 200);

  server.ClearRequests();
  Result<PublishOutcome> r = publisher->Publish(Desired("2026-11-30T10:01:00Z", "single-numa-node"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, PublishOutcome::kUpdated);
  EXPECT_EQ(Verbs(), (std::vector<std::string>{"GET", "PUT", "PUT/status"}));
  crd::Cnr after = Stored();
  EXPECT_EQ(after.status.topology_policy, "SingleNUMANodeContainerLevel");
  ASSERT_EQ(after.status.zones[0].children[0].allocations.size(), 1u);
  EXPECT_EQ(after.status.zones[0].children[0].allocations[0].consumer, "default/p1/u1");
  EXPECT_EQ(after.status.zones[0].children[0].children[0].allocations.size(), 1u);
}

TEST_F(PublishTest, ConflictRereadsAndRetriesWithCappedBackoff) {
  ASSERT_TRUE(publisher->Publish(Desired("2026-11-30T10:00:00Z")).ok());
  int conflicts_left = 2;
  server.SetInterceptor([&](const FakeRequest& req) -> std::optional<FakeReply> {
    if (req.method == "PUT" && conflicts_left > 0) {
      --conflicts_left;
      return FakeReply{409, testing::KubeStatusBody(409, "Conflict", "modified")};
    }
    return std::nullopt;
  });
  server.ClearRequests();
  Result<PublishOutcome> r = publisher->Publish(Desired("2026-11-30T10:01:00Z", "restricted"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, PublishOutcome::kUpdated);
  EXPECT_EQ(sleeps, (std::vector<std::chrono::milliseconds>{std::chrono::milliseconds(10),
                                                            std::chrono::milliseconds(20)}));
  EXPECT_EQ(Stored().status.topology_policy, "RestrictedContainerLevel");

  // Endless conflicts: give up with Conflict after max_attempts, backoff capped at 40 ms.
  sleeps.clear();
  server.SetInterceptor([](const FakeRequest& req) -> std::optional<FakeReply> {
    if (req.method == "PUT") return FakeReply{409, testing::KubeStatusBody(409, "Conflict", "modified")};
    return std::nullopt;
  });
  r = publisher->Publish(Desired("2026-11-30T10:02:00Z", "best-effort"));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsConflict()) << r.status().ToString();
  EXPECT_EQ(sleeps.size(), 5u);
  EXPECT_EQ(sleeps.back(), std::chrono::milliseconds(40));
  EXPECT_EQ(Stored().status.topology_policy, "RestrictedContainerLevel") << "state intact";
}

TEST_F(PublishTest, ServerErrorsAndGarbageAreTransientAndWriteNothing) {
  server.SetInterceptor([](const FakeRequest&) -> std::optional<FakeReply> {
    return FakeReply{500, testing::KubeStatusBody(500, "InternalError", "etcd timeout")};
  });
  Result<PublishOutcome> r = publisher->Publish(Desired("2026-11-30T10:00:00Z"));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsUnavailable()) << r.status().ToString();
  EXPECT_NE(r.status().message().find("500"), std::string::npos);
  EXPECT_FALSE(AnyWrite());

  server.SetInterceptor([](const FakeRequest&) -> std::optional<FakeReply> {
    return FakeReply{200, "<html>proxy"};
  });
  r = publisher->Publish(Desired("2026-11-30T10:00:00Z"));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsUnavailable());
  EXPECT_NE(r.status().message().find("garbled"), std::string::npos);
  EXPECT_FALSE(AnyWrite());
  EXPECT_FALSE(server.Object(kCnrPath).has_value());

  server.SetInterceptor([](const FakeRequest&) -> std::optional<FakeReply> {
    FakeReply reply;
    reply.drop_connection = true;
    return reply;
  });
  r = publisher->Publish(Desired("2026-11-30T10:00:00Z"));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsUnavailable());
}

TEST_F(PublishTest, RejectedWriteIsNotRetriedAsConflict) {
  server.SetInterceptor([](const FakeRequest& req) -> std::optional<FakeReply> {
    if (req.method == "POST")
      return FakeReply{422, testing::KubeStatusBody(422, "Invalid", "spec.taints invalid")};
    return std::nullopt;
  });
  Result<PublishOutcome> r = publisher->Publish(Desired("2026-11-30T10:00:00Z"));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsInvalidArgument());
  EXPECT_TRUE(sleeps.empty());
}

TEST_F(PublishTest, SlowServerTimesOut) {
  kube::ClusterConfig c;
  c.server = server.url();
  c.timeout = std::chrono::milliseconds(200);
  kube::KubeClient impatient(c);
  server.SetInterceptor([](const FakeRequest&) -> std::optional<FakeReply> {
    FakeReply reply{200, "{}"};
    reply.delay = std::chrono::milliseconds(1500);
    return reply;
  });
  CnrPublisher p(&impatient, PublishOptions{});
  auto start = std::chrono::steady_clock::now();
  Result<PublishOutcome> r = p.Publish(Desired("2026-11-30T10:00:00Z"));
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsUnavailable()) << r.status().ToString();
  EXPECT_LT(took, std::chrono::milliseconds(1400)) << "the client deadline, not the server, ends the request";
}

TEST(ReporterNetwork, ConnectionRefusedIsUnavailable) {
  int port = 0;
  {
    FakeApiServer s;  // grab a free port, then close it
    port = s.port();
  }
  kube::ClusterConfig c;
  c.server = "http://127.0.0.1:" + std::to_string(port);
  c.timeout = std::chrono::milliseconds(1000);
  kube::KubeClient client(c);
  CnrPublisher p(&client, PublishOptions{});
  Result<PublishOutcome> r = p.Publish(Desired("2026-11-30T10:00:00Z"));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsUnavailable());
  kube::KubeClient bad_url(
      kube::ClusterConfig{"::not a url::", "", "", "", "", false, std::chrono::milliseconds(100)});
  EXPECT_FALSE(bad_url.Get("/api").ok());
}

TEST_F(PublishTest, ForeignCnrIsLeftAloneUnlessTakeOver) {
  crd::Cnr foreign = Desired("2026-11-30T09:00:00Z");
  foreign.metadata.labels.clear();  // e.g. written by Katalyst's agent
  foreign.status.topology_policy = "NumericContainerLevel";
  server.Seed(kCnrPath, crd::EncodeCnr(foreign));
  Result<PublishOutcome> r = publisher->Publish(Desired("2026-11-30T10:00:00Z"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, PublishOutcome::kForeignSkipped);
  EXPECT_FALSE(AnyWrite());
  EXPECT_EQ(Stored().status.topology_policy, "NumericContainerLevel");

  PublishOptions o;
  o.take_over = true;
  CnrPublisher taker(client.get(), o);
  r = taker.Publish(Desired("2026-11-30T10:00:00Z"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, PublishOutcome::kUpdated);
  EXPECT_EQ(Stored().metadata.labels.at("app.kubernetes.io/managed-by"), "tessera-reporter");
  EXPECT_EQ(Stored().status.topology_policy, "None");
}

double MetricValue(prometheus::Registry& registry, const std::string& name, const std::string& label_value = "") {
  for (const auto& family : registry.Collect()) {
    if (family.name != name) continue;
    for (const auto& m : family.metric) {
      bool match = label_value.empty();
      for (const auto& l : m.label) match = match || l.value == label_value;
      if (match) return family.type == prometheus::MetricType::Counter ? m.counter.value : m.gauge.value;
    }
  }
  return -1;
}

TEST_F(PublishTest, ReporterRoundsCountInMetricsAndNeedTheNode) {
  ReporterConfig config;
  config.build.node_name = kNode;
  config.discovery.xml_path = "";  // live machine
  config.publish.sleep = [](std::chrono::milliseconds) {};
  auto registry = std::make_shared<prometheus::Registry>();
  Reporter reporter(config, client.get(), registry);

  // No Node object yet: nothing is published.
  Result<PublishOutcome> r = reporter.RunOnce();
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsNotFound());
  EXPECT_EQ(MetricValue(*registry, "tessera_reporter_publish_failures_total", "node"), 1);
  EXPECT_FALSE(server.Object(kCnrPath).has_value());

  server.Seed("/api/v1/nodes/node-1", R"({"kind": "Node", "metadata": {"name": "node-1", "uid": "n-uid-7"}})");
  r = reporter.RunOnce();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, PublishOutcome::kCreated);
  EXPECT_EQ(Stored().metadata.owner_references.at(0).uid, "n-uid-7");
  EXPECT_EQ(MetricValue(*registry, "tessera_reporter_publishes_total", "created"), 1);
  EXPECT_GT(MetricValue(*registry, "tessera_reporter_last_success_timestamp_seconds"), 1.7e9);

  server.SetInterceptor([](const FakeRequest&) -> std::optional<FakeReply> { return FakeReply{503, "{}"}; });
  EXPECT_FALSE(reporter.RunOnce().ok());
  EXPECT_EQ(MetricValue(*registry, "tessera_reporter_publish_failures_total", "publish"), 1);
}

}  // namespace
}  // namespace tessera::reporter
