// tessera-reporter driven through its command line: dry runs on every shared topology, exit codes on bad input,
// publishing to the loopback API server through a kubeconfig, /metrics, and a clean exit on SIGTERM.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "crd/cnr_builder.h"
#include "crd/cnr_codec.h"
#include "crd/nrt_codec.h"
#include "kube/kube_client.h"
#include "tests/fake_api_server.h"
#include "tests/shared_data.h"
#include "tests/subprocess.h"

namespace tessera {
namespace {

using testing::BinPath;
using testing::RunProgram;

const std::string kReporter = BinPath("tessera-reporter");

struct DryRunFacts {
  const char* file;
  int numa_zones, gpu_zones, nic_zones;
};

class ReporterDryRun : public ::testing::TestWithParam<DryRunFacts> {};

int CountZones(const std::vector<crd::TopologyZone>& zones, const std::string& type) {
  int n = 0;
  for (const auto& z : zones) n += (z.type == type) + CountZones(z.children, type);
  return n;
}

TEST_P(ReporterDryRun, PrintsCnrMatchingFactsTable) {
  const DryRunFacts& f = GetParam();
  const std::string rel = std::string("topologies/") + f.file;
  TESSERA_REQUIRE_SHARED(rel);
  testing::ProcessResult r =
      RunProgram(kReporter, {"--topology-xml", testing::SharedPath(rel), "--node-name", "n1", "--dry-run"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Result<crd::Cnr> cnr = crd::DecodeCnr(r.out);
  ASSERT_TRUE(cnr.ok()) << "stdout must be exactly the CNR JSON: " << cnr.status().ToString();
  EXPECT_EQ(cnr->metadata.name, "n1");
  EXPECT_EQ(CountZones(cnr->status.zones, "Numa"), f.numa_zones);
  // A GPU local to several NUMA nodes would appear under each; none of these dumps has one.
  EXPECT_EQ(CountZones(cnr->status.zones, "GPU"), f.gpu_zones);
  EXPECT_EQ(CountZones(cnr->status.zones, "NIC"), f.nic_zones);
  EXPECT_EQ(cnr->FindProperty("numa")->quantity->milli(), f.numa_zones * 1000);
}

INSTANTIATE_TEST_SUITE_P(Shared, ReporterDryRun,
                         ::testing::Values(DryRunFacts{"topo.dp-esb01.xml", 1, 1, 1},
                                           DryRunFacts{"32em64t-2n8c2t-pci-noio.xml", 2, 0, 0},
                                           DryRunFacts{"nvidiaDGX2.xml", 2, 16, 0},
                                           DryRunFacts{"topo.jrc0386.xml", 8, 4, 4},
                                           DryRunFacts{"topo.dp-intelmax01-flat.xml", 16, 0, 1},
                                           DryRunFacts{"tuo.SPX.xml", 4, 4, 4}, DryRunFacts{"sierra.xml", 6, 4, 4},
                                           DryRunFacts{"corona.xml", 2, 8, 1}));

TEST(ReporterCli, BadInputExitsTwoWithAClearMessage) {
  std::string dir = ::testing::TempDir();
  std::string bad_xml = dir + "/corrupt.xml";
  std::ofstream(bad_xml) << "<?xml version=\"1.0\"?><topology><object type=\"Machine\"";

  testing::ProcessResult r = RunProgram(kReporter, {"--topology-xml", bad_xml, "--dry-run"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("corrupt.xml"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << "nothing partial on stdout";

  r = RunProgram(kReporter, {"--topology-xml", dir + "/missing.xml", "--dry-run"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("cannot read"), std::string::npos) << r.err;

  r = RunProgram(kReporter, {"--no-such-flag"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("unknown flag --no-such-flag"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("-topology_xml"), std::string::npos) << "usage lists the flags";

  for (std::vector<std::string> args : {std::vector<std::string>{"--dry-run", "--reclaim-ratio", "2"},
                                        {"--dry-run", "--topology-policy", "strict"},
                                        {"--dry-run", "--reserved-cpus", "5-1"},
                                        {"--dry-run", "--reserved-memory", "0:memory=lots"},
                                        {"--dry-run", "--gpu-memory-mib", "A100"},
                                        {"--dry-run", "--reserved-cpus", "100000"},
                                        {"--interval", "0"},
                                        {"--interval", "30x"},
                                        {"--dry-run", "--publish", "crd"},
                                        {"--dry-run", "--publish", ","},
                                        {"--dry-run", "--kubelet-config", "configz"},
                                        {"--dry-run", "--kubelet-config", "http://kubelet/configz"},
                                        {"--dry-run", "--kubelet-config", dir + "/no-such-kubelet.yaml"}}) {
    r = RunProgram(kReporter, args);
    EXPECT_EQ(r.exit_code, 2) << args[1] << " " << args[2] << ": " << r.err;
    EXPECT_FALSE(r.err.empty());
  }

  // No kubeconfig and not in a cluster: a clear message, exit 2.
  r = RunProgram(kReporter, {"--metrics-address="});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("not running in a cluster"), std::string::npos) << r.err;
}

TEST(ReporterCli, DryRunAppliesKubeletSettings) {
  TESSERA_REQUIRE_SHARED("topologies/corona.xml");
  testing::ProcessResult r =
      RunProgram(kReporter, {"--topology-xml", testing::SharedPath("topologies/corona.xml"), "--node-name", "c1",
                             "--dry-run", "--topology-policy", "restricted/pod", "--cpu-manager-policy", "static",
                             "--reserved-cpus", "0-3", "--reserved-memory",
                             "0:memory=4Gi;1:memory=4Gi,hugepages-1Gi=2Gi", "--reclaim-ratio", "0.5"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  crd::Cnr cnr = *crd::DecodeCnr(r.out);
  EXPECT_EQ(cnr.status.topology_policy, "RestrictedPodLevel");
  EXPECT_EQ(cnr.FindProperty("cpu_manager_policy")->values.at(0), "static");
  const crd::TopologyZone& numa0 = cnr.status.zones.at(0).children.at(0);
  EXPECT_EQ(numa0.resources.allocatable.at("cpu").milli(), numa0.resources.capacity.at("cpu").milli() - 4000);
  EXPECT_EQ(numa0.resources.allocatable.at("memory").milli() / 1000,
            numa0.resources.capacity.at("memory").milli() / 1000 - (int64_t{4} << 30));
  EXPECT_EQ(numa0.resources.allocatable.at("resource.katalyst.kubewharf.io/reclaimed_millicpu").milli(),
            numa0.resources.allocatable.at("cpu").milli() / 2 * 1000);
}

TEST(ReporterCli, DryRunReadsTheKubeletConfigFileAndFlagsOverrideIt) {
  TESSERA_REQUIRE_SHARED("topologies/corona.xml");
  const std::string config = ::testing::TempDir() + "/kubelet-config.yaml";
  std::ofstream(config) << "kind: KubeletConfiguration\ntopologyManagerPolicy: single-numa-node\n"
                        << "topologyManagerScope: pod\ncpuManagerPolicy: static\nmemoryManagerPolicy: Static\n"
                        << "reservedSystemCPUs: 0-1\n";
  const std::string xml = testing::SharedPath("topologies/corona.xml");
  testing::ProcessResult r = RunProgram(kReporter, {"--topology-xml", xml, "--node-name", "c1", "--dry-run",
                                                    "--kubelet-config", "file://" + config});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  crd::Cnr cnr = *crd::DecodeCnr(r.out);
  EXPECT_EQ(cnr.status.topology_policy, "SingleNUMANodePodLevel");
  EXPECT_EQ(cnr.FindProperty("cpu_manager_policy")->values.at(0), "static");
  EXPECT_EQ(cnr.FindProperty("memory_manager_policy")->values.at(0), "Static");
  const crd::TopologyZone& numa0 = cnr.status.zones.at(0).children.at(0);
  EXPECT_EQ(numa0.resources.allocatable.at("cpu").milli(), numa0.resources.capacity.at("cpu").milli() - 2000);

  r = RunProgram(kReporter, {"--topology-xml", xml, "--node-name", "c1", "--dry-run", "--kubelet-config", config,
                             "--cpu-manager-policy", "none"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(crd::DecodeCnr(r.out)->FindProperty("cpu_manager_policy")->values.at(0), "none");

  r = RunProgram(kReporter, {"--topology-xml", xml, "--node-name", "c1", "--dry-run", "--kubelet-config", config,
                             "--publish", "nrt"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Result<crd::Nrt> nrt = crd::DecodeNrt(r.out);
  ASSERT_TRUE(nrt.ok()) << r.out;
  EXPECT_EQ(*nrt->FindAttribute("topologyManagerScope"), "pod");
  EXPECT_EQ(nrt->zones.size(), 2u);

  std::ofstream(config) << "topologyManagerPolicy: strict\n";
  r = RunProgram(kReporter, {"--topology-xml", xml, "--dry-run", "--kubelet-config", config});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("topologyManagerPolicy \"strict\""), std::string::npos) << r.err;
}

std::string WriteKubeconfig(const std::string& server, const std::string& token) {
  std::string path = ::testing::TempDir() + "/kubeconfig-" + std::to_string(getpid());
  std::ofstream(path) << "apiVersion: v1\nkind: Config\ncurrent-context: test\n"
                      << "clusters:\n- name: c\n  cluster:\n    server: " << server << "\n"
                      << "contexts:\n- name: test\n  context:\n    cluster: c\n    user: u\n"
                      << "users:\n- name: u\n  user:\n    token: " << token << "\n";
  return path;
}

TEST(ReporterCli, PublishesThroughKubeconfigServesMetricsAndStopsOnSigterm) {
  testing::FakeApiServer server;
  server.Seed("/api/v1/nodes/cli-node", R"({"kind": "Node", "metadata": {"name": "cli-node", "uid": "u-cli"}})");
  std::string kubeconfig = WriteKubeconfig(server.url(), "cli-token");
  int metrics_port = 0;
  {
    testing::FakeApiServer probe;  // borrow a free port for /metrics
    metrics_port = probe.port();
  }
  const std::string cnr_path = "/apis/node.katalyst.kubewharf.io/v1alpha1/customnoderesources/cli-node";
  testing::Subprocess reporter(
      kReporter, {"--kubeconfig", kubeconfig, "--node-name", "cli-node", "--interval", "1s", "--metrics-address",
                  "127.0.0.1:" + std::to_string(metrics_port)});
  ASSERT_TRUE(reporter.started());
  // Bounded wait for the first publish and one heartbeat.
  bool heartbeat_seen = false;
  for (int i = 0; i < 100 && !heartbeat_seen; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    for (const auto& req : server.Requests()) heartbeat_seen = heartbeat_seen || req.method == "PATCH";
  }
  EXPECT_TRUE(heartbeat_seen) << "a second round should refresh the heartbeat";
  std::optional<std::string> stored = server.Object(cnr_path);
  ASSERT_TRUE(stored.has_value());
  Result<crd::Cnr> cnr = crd::DecodeCnr(*stored);
  ASSERT_TRUE(cnr.ok());
  EXPECT_EQ(cnr->metadata.owner_references.at(0).uid, "u-cli");
  EXPECT_FALSE(cnr->status.zones.empty());
  EXPECT_EQ(server.Requests().front().authorization, "Bearer cli-token");

  kube::ClusterConfig mc;
  mc.server = "http://127.0.0.1:" + std::to_string(metrics_port);
  mc.timeout = std::chrono::milliseconds(2000);
  kube::KubeClient metrics_client(mc);
  Result<kube::HttpResponse> metrics = metrics_client.Get("/metrics");
  ASSERT_TRUE(metrics.ok()) << metrics.status().ToString();
  EXPECT_NE(metrics->body.find("tessera_reporter_publishes_total{outcome=\"created\"} 1"), std::string::npos)
      << metrics->body.substr(0, 500);
  EXPECT_NE(metrics->body.find("tessera_reporter_last_success_timestamp_seconds"), std::string::npos);

  reporter.Signal(SIGTERM);
  testing::ProcessResult r = reporter.Wait(std::chrono::seconds(5));
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(Kubeconfig, ReadsDataFieldsAndRelativeFiles) {
  std::string dir = ::testing::TempDir() + "/kc-" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/ca.pem") << "CA-PEM";
  std::ofstream(dir + "/token") << "file-token\n";
  std::ofstream(dir + "/config") << "current-context: b\ncontexts:\n- name: a\n  context: {cluster: x, user: x}\n"
                                 << "- name: b\n  context: {cluster: cb, user: ub}\nclusters:\n"
                                 << "- name: cb\n  cluster:\n    server: https://10.0.0.1:6443\n"
                                 << "    certificate-authority: ca.pem\nusers:\n- name: ub\n  user:\n"
                                 << "    tokenFile: token\n    client-certificate-data: Q0VSVA==\n"
                                 << "    client-key-data: S0VZ\n";
  Result<kube::ClusterConfig> c = kube::KubeconfigConfig(dir + "/config");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->server, "https://10.0.0.1:6443");
  EXPECT_EQ(c->ca_pem, "CA-PEM");
  EXPECT_EQ(c->bearer_token, "file-token\n");
  EXPECT_EQ(c->client_cert_pem, "CERT");
  EXPECT_EQ(c->client_key_pem, "KEY");

  std::ofstream(dir + "/broken") << "current-context: nope\ncontexts: []\n";
  EXPECT_FALSE(kube::KubeconfigConfig(dir + "/broken").ok());
  std::ofstream(dir + "/garbage") << "{{{{ not yaml";
  EXPECT_FALSE(kube::KubeconfigConfig(dir + "/garbage").ok());
  EXPECT_FALSE(kube::KubeconfigConfig(dir + "/absent").ok());
}

}  // namespace
}  // namespace tessera
