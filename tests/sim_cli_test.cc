// tessera-sim through its command line: a small trace end to end (table, CSVs, plot, summary.json with exactly the
// documented fields), the synthetic topology workload, and bad input (exit 2, nothing written).
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <filesystem>
#include <fstream>

#include "crd/cnr_builder.h"
#include "crd/cnr_codec.h"
#include "reporter/reporter.h"
#include "tests/shared_data.h"
#include "tests/subprocess.h"
#include "topology/hwloc_discovery.h"

namespace tessera {
namespace {

namespace fs = std::filesystem;
using testing::BinPath;
using testing::RunProgram;

const std::string kSim = BinPath("tessera-sim");

std::string TempDir(const std::string& name) {
  std::string d = ::testing::TempDir() + "/sim-" + name + "-" + std::to_string(getpid());
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// A 40-node slice of the shipped openb node list and the first 400 pods, so the test runs in seconds.
void WriteSmallTrace(const std::string& dir) {
  std::ifstream nodes(std::string(TESSERA_SOURCE_DIR) + "/bench/data/openb_node_list_gpu_node.csv");
  std::ifstream pods(std::string(TESSERA_SOURCE_DIR) + "/bench/data/openb_pod_list_default.csv");
  std::ofstream n(dir + "/nodes.csv"), p(dir + "/pods.csv");
  std::string line;
  for (int i = 0; i < 41 && std::getline(nodes, line); ++i) n << line << "\n";
  for (int i = 0; i < 401 && std::getline(pods, line); ++i) p << line << "\n";
}

TEST(SimCli, SmallTraceEndToEnd) {
  const std::string dir = TempDir("e2e");
  WriteSmallTrace(dir);
  const std::string out = dir + "/out";
  testing::ProcessResult r =
      RunProgram(kSim, {"--nodes", dir + "/nodes.csv", "--pods", dir + "/pods.csv", "--policy",
                        "tessera,fgd,random,topology-blind", "--repeat", "2", "--out", out});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("tessera"), std::string::npos);
  EXPECT_NE(r.out.find("unalloc@100"), std::string::npos);
  EXPECT_EQ(r.out.find("\r["), std::string::npos) << "no progress bar when stdout is not a terminal";
  for (const char* f : {"summary.json", "curves.png", "curve_tessera.csv", "curve_fgd.csv", "curve_random.csv"}) {
    EXPECT_TRUE(fs::exists(out + "/" + f)) << f;
  }
  EXPECT_GT(fs::file_size(out + "/curves.png"), 10000u) << "a real plot, not an empty file";
  rapidjson::Document doc;
  std::string json = testing::ReadFile(out + "/summary.json");
  doc.Parse(json.c_str());
  ASSERT_FALSE(doc.HasParseError()) << json;
  ASSERT_TRUE(doc.IsObject());
  ASSERT_EQ(doc.MemberCount(), 1u);
  const auto& policies = doc["policies"];
  ASSERT_EQ(policies.MemberCount(), 4u);
  const std::vector<std::string> fields = {"pods_total",
                                           "pods_scheduled",
                                           "pods_failed",
                                           "unallocated_gpu_pct",
                                           "frag_total_pct",
                                           "topology_admission_failures",
                                           "numa_antiaffinity_violations",
                                           "gpu_nic_same_switch_rate",
                                           "wall_seconds",
                                           "peak_rss_mb"};
  for (auto it = policies.MemberBegin(); it != policies.MemberEnd(); ++it) {
    const auto& p = it->value;
    EXPECT_EQ(p.MemberCount(), fields.size()) << it->name.GetString();
    for (const std::string& f : fields) EXPECT_TRUE(p.HasMember(f.c_str())) << f;
    EXPECT_EQ(p["pods_scheduled"].GetDouble() + p["pods_failed"].GetDouble(), p["pods_total"].GetDouble());
    for (const char* k : {"90", "95", "100", "110", "120", "130"})
      EXPECT_TRUE(p["unallocated_gpu_pct"].HasMember(k));
    for (const char* k : {"20", "40", "60", "80", "90", "100"}) EXPECT_TRUE(p["frag_total_pct"].HasMember(k));
    EXPECT_TRUE(p["gpu_nic_same_switch_rate"].IsNull()) << "the trace has no RDMA pods";
    EXPECT_GT(p["peak_rss_mb"].GetDouble(), 0);
  }
  // The trace is tuned to 130 % of capacity: the 100 % point is reached and some pods fail.
  EXPECT_TRUE(policies["tessera"]["unallocated_gpu_pct"]["100"].IsNumber());
  EXPECT_GT(policies["tessera"]["pods_failed"].GetDouble(), 0);
  std::string csv = testing::ReadFile(out + "/curve_fgd.csv");
  EXPECT_EQ(csv.rfind("arrived_pct,allocated_gpu_pct,unallocated_gpu_pct,frag_total_pct,frag_rate_pct\n0,", 0), 0u)
      << csv.substr(0, 120);
}

TEST(SimCli, SyntheticMixShowsWhatTopologyBlindSchedulingCosts) {
  TESSERA_REQUIRE_SHARED("topologies/topo.jrc0386.xml");
  const std::string out = TempDir("mix") + "/out";
  testing::ProcessResult r = RunProgram(
      kSim,
      {"--topology-xml",
       testing::SharedPath("topologies/topo.jrc0386.xml") + "," + testing::SharedPath("topologies/corona.xml"),
       "--nodes-per-topology", "10", "--workload", "mix", "--synthetic-pods", "600", "--policy",
       "tessera,topology-blind", "--max-load", "100", "--out", out});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  rapidjson::Document doc;
  std::string json = testing::ReadFile(out + "/summary.json");
  doc.Parse(json.c_str());
  ASSERT_FALSE(doc.HasParseError());
  const auto& t = doc["policies"]["tessera"];
  const auto& blind = doc["policies"]["topology-blind"];
  EXPECT_EQ(t["topology_admission_failures"].GetDouble(), 0);
  EXPECT_EQ(t["numa_antiaffinity_violations"].GetDouble(), 0);
  EXPECT_GE(blind["topology_admission_failures"].GetDouble() + blind["numa_antiaffinity_violations"].GetDouble(),
            5);
  ASSERT_TRUE(t["gpu_nic_same_switch_rate"].IsNumber());
  EXPECT_GT(t["gpu_nic_same_switch_rate"].GetDouble(), blind["gpu_nic_same_switch_rate"].GetDouble());
}

TEST(SimCli, StartsFromAnExtenderSnapshot) {
  TESSERA_REQUIRE_SHARED("topologies/topo.jrc0386.xml");
  const std::string dir = TempDir("snapshot");
  std::string cnrs = "{\"items\": [";
  std::string nodes = "{\"items\": [";
  for (int i = 0; i < 4; ++i) {
    topology::DiscoveryOptions d;
    d.xml_path = testing::SharedPath("topologies/topo.jrc0386.xml");
    auto t = topology::DiscoverTopology(d);
    crd::CnrBuildOptions o;
    o.node_name = "n" + std::to_string(i);
    o.topology_policy = "single-numa-node";
    // A dump from long ago: its heartbeats are judged at the dump's moment, not today's.
    o.heartbeat_time = "2026-01-05T10:00:0" + std::to_string(i) + "Z";
    cnrs += (i ? "," : "") + crd::EncodeCnr(*crd::BuildCnr(t->topology, o));
    nodes += std::string(i ? "," : "") + "{\"metadata\": {\"name\": \"n" + std::to_string(i) + "\"}}";
  }
  // One pod already holds 30 CPUs of NUMA 0 on n0, recorded by the extender's annotation.
  const std::string pod = R"({"metadata": {"name": "old", "namespace": "x", "uid": "old-1", "annotations": {
      "katalyst.kubewharf.io/qos_level": "dedicated_cores", "katalyst.kubewharf.io/memory_enhancement": "{\"numa_binding\":\"true\"}",
      "tessera.io/allocation": "{\"node\":\"n0\",\"numa\":[{\"id\":0,\"cpu_milli\":30000,\"memory_bytes\":1073741824}],\"cpu_pinned\":true,\"memory_pinned\":true}"}},
      "spec": {"nodeName": "n0", "containers": [{"name": "c", "resources": {"requests": {"cpu": "30", "memory": "1Gi"},
      "limits": {"cpu": "30", "memory": "1Gi"}}}]}})";
  std::ofstream(dir + "/nodes.json") << nodes << "]}";
  std::ofstream(dir + "/cnrs.json") << cnrs << "]}";
  std::ofstream(dir + "/pods.json") << "{\"items\": [" << pod << "]}";
  testing::ProcessResult r = RunProgram(kSim, {"--snapshot", dir, "--workload", "numa", "--synthetic-pods", "300",
                                               "--policy", "tessera,topology-blind", "--out", dir + "/out"});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("4 nodes, 1 pods placed"), std::string::npos) << r.out;
  rapidjson::Document doc;
  std::string json = testing::ReadFile(dir + "/out/summary.json");
  doc.Parse(json.c_str());
  ASSERT_FALSE(doc.HasParseError());
  EXPECT_EQ(doc["policies"]["tessera"]["topology_admission_failures"].GetDouble(), 0);
  EXPECT_EQ(doc["policies"]["tessera"]["numa_antiaffinity_violations"].GetDouble(), 0);
  EXPECT_GT(doc["policies"]["tessera"]["pods_scheduled"].GetDouble(), 0);

  r = RunProgram(kSim, {"--snapshot", dir + "/nowhere"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--snapshot"), std::string::npos);

  // An hour after the dump, every heartbeat is stale: nothing to start from, said clearly.
  r = RunProgram(kSim, {"--snapshot", dir, "--now", "2026-01-05T11:00:00Z", "--workload", "numa"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no node has a usable, fresh CustomNodeResource"), std::string::npos) << r.err;
  r = RunProgram(kSim, {"--snapshot", dir, "--now", "yesterday"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--now"), std::string::npos) << r.err;
}

TEST(SimCli, BadInputExitsTwoAndWritesNothing) {
  const std::string dir = TempDir("bad");
  WriteSmallTrace(dir);
  std::ofstream(dir + "/broken.csv")
      << "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec\np1,1000,10,1,abc,\n";
  std::ofstream(dir + "/nocol.csv") << "name,cpu_milli\np1,1000\n";
  std::ofstream(dir + "/empty.csv") << "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec\n";
  const std::string out = dir + "/out";
  struct Case {
    std::vector<std::string> args;
    const char* expected;
  };
  const Case cases[] = {
      {{"--pods", dir + "/broken.csv"}, "broken.csv:2: bad gpu_milli"},
      {{"--pods", dir + "/nocol.csv"}, "missing column \"memory_mib\""},
      {{"--pods", dir + "/empty.csv"}, "no rows"},
      {{"--pods", dir + "/absent.csv"}, "cannot read"},
      {{"--policy", "tessera,magic"}, "unknown policy \"magic\""},
      {{"--repeat", "0"}, "--repeat"},
      {{"--resource-policy", "weird"}, "--resource-policy"},
      {{"--topology-xml", dir + "/pods.csv"}, "--topology-xml"},
      {{"--topology-xml", dir + "/x.xml", "--workload", "chaos"}, "--workload"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {"--nodes", dir + "/nodes.csv", "--pods", dir + "/pods.csv", "--out", out};
    args.insert(args.end(), c.args.begin(), c.args.end());
    testing::ProcessResult r = RunProgram(kSim, args);
    EXPECT_EQ(r.exit_code, 2) << c.expected << ": " << r.err;
    EXPECT_NE(r.err.find(c.expected), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(out)) << "no partial output after: " << c.expected;
  }
}

}  // namespace
}  // namespace tessera
