// tessera-reporter --publish cnr,nrt against the loopback API server: the node's NodeResourceTopology is created,
// left alone when unchanged, updated when the kubelet's policies change, and an NRT another producer owns is not
// touched without --take-over. What it publishes decodes to the same NUMA model as the CNR.
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include "crd/cnr_codec.h"
#include "crd/nrt_codec.h"
#include "kube/kube_client.h"
#include "reporter/reporter.h"
#include "tests/fake_api_server.h"
#include "tests/shared_data.h"

namespace tessera::reporter {
namespace {

using testing::FakeApiServer;
using testing::FakeRequest;

const std::string kNrtPath = std::string(crd::kNrtCollectionPath) + "/node-1";
const std::string kCnrPath = std::string(kCnrCollectionPath) + "/node-1";

struct NrtPublishTest : ::testing::Test {
  FakeApiServer server;
  std::unique_ptr<kube::KubeClient> client;
  ReporterConfig config;
  void SetUp() override {
    kube::ClusterConfig c;
    c.server = server.url();
    c.timeout = std::chrono::milliseconds(2000);
    client = std::make_unique<kube::KubeClient>(c);
    server.Seed("/api/v1/nodes/node-1", R"({"kind":"Node","metadata":{"name":"node-1","uid":"n-uid"}})");
    config.build.node_name = "node-1";
    config.build.topology_policy = "single-numa-node/pod";
    config.build.cpu_manager_policy = "static";
    config.discovery.xml_path = testing::SharedPath("topologies/corona.xml");
    config.publish.sleep = [](std::chrono::milliseconds) {};
    config.publish_nrt = true;
  }
  crd::Nrt Stored() {
    std::optional<std::string> json = server.Object(kNrtPath);
    EXPECT_TRUE(json.has_value());
    Result<crd::Nrt> nrt = crd::DecodeNrt(json.value_or("{}"));
    EXPECT_TRUE(nrt.ok()) << nrt.status().ToString();
    return nrt.ok() ? *nrt : crd::Nrt{};
  }
  int Writes(const std::string& path) {
    int n = 0;
    for (const FakeRequest& r : server.Requests()) n += r.method != "GET" && r.target.rfind(path, 0) == 0;
    return n;
  }
};

TEST_F(NrtPublishTest, CreatesUpdatesAndMatchesTheCnr) {
  TESSERA_REQUIRE_SHARED("topologies/corona.xml");
  {
    Reporter reporter(config, client.get(), std::make_shared<prometheus::Registry>());
    ASSERT_TRUE(reporter.RunOnce().ok());
    const crd::Nrt nrt = Stored();
    EXPECT_EQ(*nrt.FindAttribute("topologyManagerPolicy"), "single-numa-node");
    EXPECT_EQ(*nrt.FindAttribute("topologyManagerScope"), "pod");
    EXPECT_EQ(*nrt.FindAttribute("cpuManagerPolicy"), "static");
    ASSERT_EQ(nrt.zones.size(), 2u);  // corona: 2 NUMA nodes
    EXPECT_EQ(nrt.zones[0].name, "node-0");
    EXPECT_EQ(nrt.zones[0].parent, "socket-0");
    EXPECT_EQ(nrt.metadata.labels.at("app.kubernetes.io/managed-by"), "tessera-reporter");
    EXPECT_EQ(nrt.metadata.owner_references.at(0).uid, "n-uid");
    // The same NUMA model as the CNR published beside it.
    Result<crd::Cnr> cnr = crd::DecodeCnr(*server.Object(kCnrPath));
    ASSERT_TRUE(cnr.ok());
    const scoring::NodeState a = crd::NodeStateFromCnr(*cnr)->node;
    const scoring::NodeState b = crd::NodeStateFromNrt(nrt)->node;
    ASSERT_EQ(a.numas.size(), b.numas.size());
    for (size_t i = 0; i < a.numas.size(); ++i) {
      EXPECT_EQ(a.numas[i].cpu_allocatable_milli, b.numas[i].cpu_allocatable_milli);
      EXPECT_EQ(a.numas[i].memory_allocatable, b.numas[i].memory_allocatable);
      EXPECT_EQ(a.numas[i].socket_id, b.numas[i].socket_id);
    }
    EXPECT_EQ(a.topology_policy, b.topology_policy);
    EXPECT_EQ(a.topology_scope, b.topology_scope);
    EXPECT_EQ(a.cpu_manager_static, b.cpu_manager_static);

    // Nothing changed: no NRT write (the CNR gets its heartbeat).
    const int before = Writes(kNrtPath) + Writes(crd::kNrtCollectionPath);
    ASSERT_TRUE(reporter.RunOnce().ok());
    EXPECT_EQ(Writes(kNrtPath) + Writes(crd::kNrtCollectionPath), before);
  }
  // The kubelet's policy changed: the NRT is rewritten with the stored resourceVersion.
  config.build.topology_policy = "restricted/container";
  Reporter reporter(config, client.get(), std::make_shared<prometheus::Registry>());
  server.ClearRequests();
  ASSERT_TRUE(reporter.RunOnce().ok());
  EXPECT_EQ(*Stored().FindAttribute("topologyManagerPolicy"), "restricted");
  bool put = false;
  for (const FakeRequest& r : server.Requests()) put |= r.method == "PUT" && r.target == kNrtPath;
  EXPECT_TRUE(put);
}

TEST_F(NrtPublishTest, ForeignNrtIsLeftAloneUnlessTakeOver) {
  TESSERA_REQUIRE_SHARED("topologies/corona.xml");
  const std::string nfd = R"({"apiVersion":"topology.node.k8s.io/v1alpha2","kind":"NodeResourceTopology",
    "metadata":{"name":"node-1"},"topologyPolicies":[],"zones":[{"name":"node-0","type":"Node",
    "resources":[{"name":"cpu","capacity":"96","allocatable":"96","available":"90"}]}]})";
  server.Seed(kNrtPath, nfd);
  config.publish_cnr = false;  // --publish nrt
  {
    Reporter reporter(config, client.get(), std::make_shared<prometheus::Registry>());
    Result<PublishOutcome> r = reporter.RunOnce();
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(*r, PublishOutcome::kForeignSkipped);
    EXPECT_EQ(Stored().zones.size(), 1u);
    EXPECT_FALSE(server.Object(kCnrPath).has_value()) << "--publish nrt writes no CNR";
  }
  config.publish.take_over = true;
  Reporter reporter(config, client.get(), std::make_shared<prometheus::Registry>());
  Result<PublishOutcome> r = reporter.RunOnce();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, PublishOutcome::kUpdated);
  EXPECT_EQ(Stored().zones.size(), 2u);
}

}  // namespace
}  // namespace tessera::reporter
