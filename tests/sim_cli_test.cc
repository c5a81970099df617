// tessera-sim through its command line: a small trace end to end (table, CSVs, plot, summary.json with exactly the
// documented fields), the synthetic topology workload, and bad input (exit 2, nothing written).
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <cstdio>
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
    // Medians of two seeds are means, printed to whole pods: each of the three may round by half a pod.
    EXPECT_NEAR(p["pods_scheduled"].GetDouble() + p["pods_failed"].GetDouble(), p["pods_total"].GetDouble(), 1.0);
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

// The authors' simulator's own run, pod by pod: replaying its submission order and following its nodes, our fgd
// ranks the node it chose among its top-scored nodes for (nearly) every pod, so the two implementations agree
// decision by decision, not only in the medians.
TEST(SimCli, FgdAgreesWithTheReferenceRunPodByPod) {
  TESSERA_REQUIRE_SHARED("reference/fgd-reference-run/openb_default_fgd_seed42.csv");
  const std::string ref = testing::SharedPath("reference/fgd-reference-run/openb_default_fgd_seed42.csv");
  const std::string dir = TempDir("follow");
  const std::string decisions = dir + "/decisions.csv";
  testing::ProcessResult r =
      RunProgram(kSim, {"--nodes", testing::SharedPath("traces/openb/openb_node_list_gpu_node.csv"), "--pods",
                        testing::SharedPath("traces/openb/openb_pod_list_default.csv"), "--policy", "fgd",
                        "--pod-order", ref, "--follow", ref, "--decisions-out", decisions});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  // "its node among ours top-scored for A of B pods before its first failure (P %)"
  const size_t at = r.out.find("top-scored for ");
  ASSERT_NE(at, std::string::npos) << r.out;
  int agree = 0, early = 0;
  ASSERT_EQ(std::sscanf(r.out.c_str() + at, "top-scored for %d of %d", &agree, &early), 2) << r.out;
  EXPECT_EQ(early, 7885) << "the reference's first failure is pod #7885";
  EXPECT_GE(agree, early * 99 / 100) << r.out;
  // The decisions file: one line per submitted pod, in order, the followed node where the reference placed it.
  std::ifstream in(decisions);
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  EXPECT_EQ(line, "index,pod,node,cards,followed_in_top,top_nodes");
  std::ifstream reference(ref);
  std::string ref_line;
  std::getline(reference, ref_line);
  int rows = 0;
  while (std::getline(in, line) && std::getline(reference, ref_line)) {
    // reference: index,pod,trace_pod,node,...; ours: index,pod,node,...
    auto cell = [](const std::string& l, int k) {
      size_t b = 0;
      for (int i = 0; i < k; ++i) b = l.find(',', b) + 1;
      return l.substr(b, l.find(',', b) - b);
    };
    ASSERT_EQ(cell(line, 0), cell(ref_line, 0));
    ASSERT_EQ(cell(line, 1), cell(ref_line, 2)) << "the trace pod, tuned copies included";
    if (!cell(ref_line, 3).empty() && cell(line, 4) == "yes") {
      ASSERT_EQ(cell(line, 2), cell(ref_line, 3));
    }
    ++rows;
  }
  EXPECT_EQ(rows, 10866);
}

// The published multigpu traces have five columns (no gpu_spec): they load, and a replay order may name plain
// pods one per line, repeats included.
TEST(SimCli, FiveColumnTracesAndPlainPodOrders) {
  const std::string dir = TempDir("five");
  WriteSmallTrace(dir);
  {
    std::ifstream pods(dir + "/pods.csv");
    std::ofstream five(dir + "/five.csv"), order(dir + "/order.txt");
    std::string line;
    std::getline(pods, line);
    five << "name,cpu_milli,memory_mib,num_gpu,gpu_milli\n";
    int n = 0;
    while (std::getline(pods, line)) {
      size_t cut = 0;
      for (int i = 0; i < 5; ++i) cut = line.find(',', cut) + 1;
      five << line.substr(0, cut - 1) << "\n";
      if (n++ < 30) order << line.substr(0, line.find(',')) << "\n" << line.substr(0, line.find(',')) << "\n";
    }
  }
  const std::string decisions = dir + "/d.csv";
  testing::ProcessResult r =
      RunProgram(kSim, {"--nodes", dir + "/nodes.csv", "--pods", dir + "/five.csv", "--policy", "bestfit",
                        "--pod-order", dir + "/order.txt", "--decisions-out", decisions});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("replaying 60 pods"), std::string::npos) << r.out;
  std::string text = testing::ReadFile(decisions);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 61) << text.substr(0, 300);
  EXPECT_NE(text.find("\n0,openb-pod-0000,openb-node-"), std::string::npos) << text.substr(0, 300);
  EXPECT_NE(text.find("\n1,openb-pod-0000,openb-node-"), std::string::npos) << "a name may repeat";
}

TEST(SimCli, BadInputExitsTwoAndWritesNothing) {
  const std::string dir = TempDir("bad");
  WriteSmallTrace(dir);
  std::ofstream(dir + "/broken.csv")
      << "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec\np1,1000,10,1,abc,\n";
  std::ofstream(dir + "/nocol.csv") << "name,cpu_milli\np1,1000\n";
  std::ofstream(dir + "/empty.csv") << "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec\n";
  std::ofstream(dir + "/order.txt") << "openb-pod-0001\nghost\n";
  std::ofstream(dir + "/order.txt.ok") << "openb-pod-0001\nopenb-pod-0002\n";
  std::ofstream(dir + "/follow.csv") << "node\nopenb-node-0001\n\nopenb-node-0002\n,\n";
  std::ofstream(dir + "/follow2.csv") << "index,node\n0,openb-node-0001\n1,nowhere\n";
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
      {{"--follow", dir + "/follow.csv"}, "--follow needs --pod-order"},
      {{"--pod-order", dir + "/order.txt"}, "order.txt:2: pod \"ghost\" is not in the trace"},
      {{"--pod-order", dir + "/order.txt.ok", "--follow", dir + "/follow.csv"}, "follow.csv: 3 rows, but 2 pods"},
      {{"--pod-order", dir + "/order.txt.ok", "--follow", dir + "/follow2.csv"}, "node \"nowhere\" is not in"},
      {{"--decisions-out", dir + "/d.csv", "--policy", "fgd,bestfit"}, "exactly one policy"},
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
