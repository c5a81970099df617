// The reporter publishes the kubelet's real policies: from a KubeletConfiguration file or the kubelet's /configz
// read through the API server's node proxy; explicit flags override them; a configuration that does not parse
// makes the CNR say AgentReady=False (KubeletConfigInvalid) instead of publishing policies nobody runs.
#include "reporter/kubelet_config.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <filesystem>
#include <fstream>

#include "crd/cnr_codec.h"
#include "kube/kube_client.h"
#include "kube/time_format.h"
#include "reporter/reporter.h"
#include "tests/fake_api_server.h"
#include "tests/shared_data.h"

namespace tessera::reporter {
namespace {

using testing::FakeApiServer;
using testing::FakeReply;
using testing::FakeRequest;

constexpr char kKubeletYaml[] = R"(apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: systemd          # unknown to Tessera: ignored
topologyManagerPolicy: single-numa-node
topologyManagerScope: pod
cpuManagerPolicy: static
memoryManagerPolicy: Static
reservedSystemCPUs: "0-1"
reservedMemory:
  - numaNode: 0
    limits:
      memory: 1Gi
      hugepages-1Gi: 2Gi
  - numaNode: 1
    limits:
      memory: 512Mi
)";

TEST(KubeletConfig, ParsesTheFileForm) {
  Result<KubeletPolicies> p = ParseKubeletConfig(kKubeletYaml);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->topology_manager_policy, "single-numa-node");
  EXPECT_EQ(p->topology_manager_scope, "pod");
  EXPECT_EQ(p->cpu_manager_policy, "static");
  EXPECT_EQ(p->memory_manager_policy, "Static");
  EXPECT_EQ(p->reserved_system_cpus, (std::vector<int>{0, 1}));
  ASSERT_TRUE(p->reserved_memory.has_value());
  EXPECT_EQ(p->reserved_memory->at(0), int64_t{1} << 30);
  EXPECT_EQ(p->reserved_memory->at(1), int64_t{512} << 20);
}

TEST(KubeletConfig, ParsesConfigzAndLeavesDefaultsAbsent) {
  Result<KubeletPolicies> p =
      ParseKubeletConfig(R"({"kubeletconfig":{"topologyManagerPolicy":"restricted","cpuManagerPolicy":"static",
      "evictionHard":{"memory.available":"100Mi"}}})");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->topology_manager_policy, "restricted");
  EXPECT_FALSE(p->topology_manager_scope.has_value());
  EXPECT_FALSE(p->memory_manager_policy.has_value());
  EXPECT_FALSE(p->reserved_memory.has_value());
}

TEST(KubeletConfig, RefusesWhatTheKubeletWouldNot) {
  for (const char* bad : {
           "topologyManagerPolicy: single-numa",  // not a policy
           "cpuManagerPolicy: Static",            // the CPU manager spells it lowercase
           "memoryManagerPolicy: static",         // the memory manager capitalises
           "topologyManagerScope: node",          //
           "reservedSystemCPUs: 3-1",             // reversed range
           "reservedMemory: {numaNode: 0}",       // not a list
           "reservedMemory: [{numaNode: 0, limits: {memory: lots}}]",
           "topologyManagerPolicy: [a, b]",  // wrong type
           "{{{{",                           // not YAML
           "[1, 2]",                         // not an object
       }) {
    EXPECT_FALSE(ParseKubeletConfig(bad).ok()) << bad;
  }
  EXPECT_FALSE(ParseKubeletConfig(std::string(2u << 20, ' ')).ok());
  EXPECT_FALSE(ParseKubeletConfig(std::string(100000, '[')).ok());  // nesting: an error, not a stack overflow
}

TEST(KubeletConfig, ExplicitFlagsOverrideTheKubelet) {
  KubeletPolicies k = *ParseKubeletConfig(kKubeletYaml);
  crd::CnrBuildOptions build;
  ASSERT_TRUE(ApplyKubeletPolicies(k, {}, &build).ok());
  EXPECT_EQ(build.topology_policy, "SingleNUMANodePodLevel");
  EXPECT_EQ(build.cpu_manager_policy, "static");
  EXPECT_EQ(build.reserved_cpus, (std::vector<int>{0, 1}));

  crd::CnrBuildOptions flags;
  flags.topology_policy = "BestEffortContainerLevel";
  flags.cpu_manager_policy = "none";
  ExplicitFlags explicit_flags;
  explicit_flags.topology_policy = true;
  explicit_flags.cpu_manager_policy = true;
  ASSERT_TRUE(ApplyKubeletPolicies(k, explicit_flags, &flags).ok());
  EXPECT_EQ(flags.topology_policy, "BestEffortContainerLevel");
  EXPECT_EQ(flags.cpu_manager_policy, "none");
  EXPECT_EQ(flags.memory_manager_policy, "Static");  // not given as a flag: the kubelet's

  KubeletPolicies none;
  none.topology_manager_scope = "pod";  // policy absent: the kubelet's default none
  crd::CnrBuildOptions b2;
  b2.topology_policy = "RestrictedContainerLevel";
  ASSERT_TRUE(ApplyKubeletPolicies(none, {}, &b2).ok());
  EXPECT_EQ(b2.topology_policy, "None");
}

TEST(KubeletConfig, SourceUris) {
  EXPECT_TRUE(KubeletConfigSource::Make("configz", "n1", nullptr).ok());
  EXPECT_TRUE(KubeletConfigSource::Make("/var/lib/kubelet/config.yaml", "n1", nullptr).ok());
  EXPECT_TRUE(KubeletConfigSource::Make("file:///var/lib/kubelet/config.yaml", "n1", nullptr).ok());
  EXPECT_FALSE(KubeletConfigSource::Make("http://kubelet:10250/configz", "n1", nullptr).ok());
  EXPECT_FALSE(KubeletConfigSource::Make("", "n1", nullptr).ok());
  Result<KubeletConfigSource> missing = KubeletConfigSource::Make("/nonexistent/kubelet.yaml", "n1", nullptr);
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->Read().status().code(), Status::Code::kIoError);
}

TEST(Duration, KubeletSyntaxAndPlainSeconds) {
  using std::chrono::milliseconds;
  EXPECT_EQ(*kube::ParseDuration("30"), milliseconds(30000));
  EXPECT_EQ(*kube::ParseDuration("30s"), milliseconds(30000));
  EXPECT_EQ(*kube::ParseDuration("1m"), milliseconds(60000));
  EXPECT_EQ(*kube::ParseDuration("1m30s"), milliseconds(90000));
  EXPECT_EQ(*kube::ParseDuration("1.5h"), milliseconds(5400000));
  EXPECT_EQ(*kube::ParseDuration("250ms"), milliseconds(250));
  EXPECT_EQ(*kube::ParseDuration("2h45m"), milliseconds(9900000));
  for (const char* bad : {"", "-5s", "s", "5min", "5 s", "1.2.3s", "30x", "9999999999999999", "3000h"}) {
    EXPECT_FALSE(kube::ParseDuration(bad).ok()) << bad;
  }
}

// The reporter reads /configz through the node proxy every round and publishes what the kubelet runs.
struct ConfigzTest : ::testing::Test {
  FakeApiServer server;
  std::unique_ptr<kube::KubeClient> client;
  std::string configz =
      R"({"kubeletconfig":{"topologyManagerPolicy":"single-numa-node","cpuManagerPolicy":"static",
      "memoryManagerPolicy":"Static"}})";
  int configz_status = 200;
  std::mutex mu;

  void SetUp() override {
    kube::ClusterConfig c;
    c.server = server.url();
    c.timeout = std::chrono::milliseconds(2000);
    client = std::make_unique<kube::KubeClient>(c);
    server.Seed("/api/v1/nodes/node-1", R"({"kind":"Node","metadata":{"name":"node-1","uid":"n-uid"}})");
    server.SetInterceptor([this](const FakeRequest& r) -> std::optional<FakeReply> {
      if (r.target != "/api/v1/nodes/node-1/proxy/configz") return std::nullopt;
      std::lock_guard<std::mutex> lock(mu);
      return FakeReply{configz_status, configz};
    });
  }

  crd::Cnr Published() {
    std::optional<std::string> json =
        server.Object("/apis/node.katalyst.kubewharf.io/v1alpha1/customnoderesources/node-1");
    EXPECT_TRUE(json.has_value());
    return json ? *crd::DecodeCnr(*json) : crd::Cnr{};
  }
  std::string Property(const crd::Cnr& cnr, const char* name) {
    const crd::Property* p = cnr.FindProperty(name);
    return p == nullptr || p->values.empty() ? "" : p->values.front();
  }
};

TEST_F(ConfigzTest, PublishesTheKubeletsPoliciesAndFlagsOverrideThem) {
  TESSERA_REQUIRE_SHARED("topologies/topo.jrc0386.xml");
  ReporterConfig config;
  config.build.node_name = "node-1";
  config.discovery.xml_path = testing::SharedPath("topologies/topo.jrc0386.xml");
  config.publish.sleep = [](std::chrono::milliseconds) {};
  config.kubelet_config = *KubeletConfigSource::Make("configz", "node-1", client.get());
  auto registry = std::make_shared<prometheus::Registry>();
  {
    Reporter reporter(config, client.get(), registry);
    ASSERT_TRUE(reporter.RunOnce().ok());
    crd::Cnr cnr = Published();
    EXPECT_EQ(cnr.status.topology_policy, "SingleNUMANodeContainerLevel");
    EXPECT_EQ(Property(cnr, "cpu_manager_policy"), "static");
    EXPECT_EQ(Property(cnr, "memory_manager_policy"), "Static");
    EXPECT_EQ(cnr.FindCondition("AgentReady")->status, "True");

    // The kubelet was reconfigured: the next round publishes it.
    {
      std::lock_guard<std::mutex> lock(mu);
      configz = R"({"kubeletconfig":{"topologyManagerPolicy":"restricted","topologyManagerScope":"pod"}})";
    }
    ASSERT_TRUE(reporter.RunOnce().ok());
    EXPECT_EQ(Published().status.topology_policy, "RestrictedPodLevel");
    EXPECT_EQ(Property(Published(), "cpu_manager_policy"), "none");  // absent: the kubelet's default

    // The kubelet cannot be reached: the last good configuration stays published, still ready.
    {
      std::lock_guard<std::mutex> lock(mu);
      configz_status = 503;
    }
    ASSERT_TRUE(reporter.RunOnce().ok());
    EXPECT_EQ(Published().status.topology_policy, "RestrictedPodLevel");
    const crd::Cnr still = Published();
    EXPECT_EQ(still.FindCondition("AgentReady")->status, "True");

    // A configuration that does not parse: the node says it is not ready, and why.
    {
      std::lock_guard<std::mutex> lock(mu);
      configz_status = 200;
      configz = R"({"kubeletconfig":{"topologyManagerPolicy":"single-numa"}})";
    }
    ASSERT_TRUE(reporter.RunOnce().ok());
    const crd::Cnr invalid = Published();
    const crd::Condition* ready = invalid.FindCondition("AgentReady");
    ASSERT_NE(ready, nullptr);
    EXPECT_EQ(ready->status, "False");
    EXPECT_EQ(ready->reason, "KubeletConfigInvalid");
    EXPECT_NE(ready->message.find("single-numa"), std::string::npos) << ready->message;
  }
  // An explicit flag wins over the kubelet.
  {
    std::lock_guard<std::mutex> lock(mu);
    configz = R"({"kubeletconfig":{"topologyManagerPolicy":"single-numa-node","cpuManagerPolicy":"static"}})";
  }
  config.build.topology_policy = "BestEffortContainerLevel";
  config.explicit_flags.topology_policy = true;
  Reporter reporter(config, client.get(), std::make_shared<prometheus::Registry>());
  ASSERT_TRUE(reporter.RunOnce().ok());
  EXPECT_EQ(Published().status.topology_policy, "BestEffortContainerLevel");
  EXPECT_EQ(Property(Published(), "cpu_manager_policy"), "static");
  bool proxied = false;
  for (const FakeRequest& r : server.Requests())
    proxied |= r.method == "GET" && r.target.find("/proxy/configz") != std::string::npos;
  EXPECT_TRUE(proxied);
}

TEST_F(ConfigzTest, NeverReadIsNotReady) {
  TESSERA_REQUIRE_SHARED("topologies/topo.jrc0386.xml");
  {
    std::lock_guard<std::mutex> lock(mu);
    configz_status = 403;  // RBAC without nodes/proxy
    configz = R"({"kind":"Status","code":403})";
  }
  ReporterConfig config;
  config.build.node_name = "node-1";
  config.discovery.xml_path = testing::SharedPath("topologies/topo.jrc0386.xml");
  config.publish.sleep = [](std::chrono::milliseconds) {};
  config.kubelet_config = *KubeletConfigSource::Make("configz", "node-1", client.get());
  Reporter reporter(config, client.get(), std::make_shared<prometheus::Registry>());
  ASSERT_TRUE(reporter.RunOnce().ok());
  const crd::Cnr cnr = Published();
  const crd::Condition* ready = cnr.FindCondition("AgentReady");
  ASSERT_NE(ready, nullptr);
  EXPECT_EQ(ready->status, "False");
  EXPECT_EQ(ready->reason, "KubeletConfigUnavailable");
  EXPECT_NE(ready->message.find("403"), std::string::npos);
}

}  // namespace
}  // namespace tessera::reporter
