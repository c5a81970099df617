// Discovery against every real hwloc dump in ../shared/topologies, checked against the facts table in its README.
#include <gtest/gtest.h>
#include <hwloc.h>
#include <unistd.h>

#include <cmath>
#include <map>
#include <set>

#include "tests/shared_data.h"
#include "topology/hwloc_discovery.h"

namespace tessera::topology {
namespace {

struct Facts {
  const char* file;
  int packages, numa_nodes, cores, pus;
  double memory_gib;
  int gpus, nics;
  std::set<std::pair<std::string, std::string>> same_switch_pairs;  // GPU bus id, NIC bus id
  std::map<int, std::vector<std::string>> devices_per_numa;         // every GPU then NIC bus id, ascending
};

const std::vector<Facts>& AllFacts() {
  static const std::vector<Facts> facts = {
      {"topo.dp-esb01.xml", 1, 1, 8, 16, 45.7, 1, 1, {}, {{0, {"0000:65:00.0", "0000:b3:00.0"}}}},
      {"32em64t-2n8c2t-pci-noio.xml", 2, 2, 16, 32, 64.0, 0, 0, {}, {}},
      {"nvidiaDGX2.xml",
       2,
       2,
       4,
       4,
       1510.6,
       16,
       0,
       {},
       {{0,
         {"0000:34:00.0", "0000:36:00.0", "0000:39:00.0", "0000:3b:00.0", "0000:57:00.0", "0000:59:00.0",
          "0000:5c:00.0", "0000:5e:00.0"}},
        {1,
         {"0000:b7:00.0", "0000:b9:00.0", "0000:bc:00.0", "0000:be:00.0", "0000:e0:00.0", "0000:e2:00.0",
          "0000:e5:00.0", "0000:e7:00.0"}}}},
      {"topo.jrc0386.xml",
       2,
       8,
       128,
       256,
       503.4,
       4,
       4,
       {{"0000:44:00.0", "0000:43:00.0"},
        {"0000:03:00.0", "0000:04:00.0"},
        {"0000:c4:00.0", "0000:c3:00.0"},
        {"0000:84:00.0", "0000:83:00.0"}},
       {{1, {"0000:44:00.0", "0000:43:00.0"}},
        {3, {"0000:03:00.0", "0000:04:00.0"}},
        {5, {"0000:c4:00.0", "0000:c3:00.0"}},
        {7, {"0000:84:00.0", "0000:83:00.0"}}}},
      {"topo.dp-intelmax01-flat.xml",
       2,
       16,
       64,
       128,
       1135.4,
       0,
       1,
       {},
       {{2, {"0000:27:00.0"}}, {10, {"0000:27:00.0"}}}},
      {"tuo.SPX.xml",
       4,
       4,
       96,
       192,
       502.0,
       4,
       4,
       {},
       {{0, {"0000:02:00.0", "0000:01:00.0"}},
        {1, {"0001:02:00.0", "0001:01:00.0"}},
        {2, {"0002:02:00.0", "0002:01:00.0"}},
        {3, {"0003:02:00.0", "0003:01:00.0"}}}},
      {"sierra.xml",
       2,
       6,
       44,
       176,
       318.5,
       4,
       4,
       {},
       {{0, {"0004:04:00.0", "0004:05:00.0", "0003:01:00.0", "0003:01:00.1"}},
        {8, {"0035:03:00.0", "0035:04:00.0", "0033:01:00.0", "0033:01:00.1"}}}},
      {"corona.xml",
       2,
       2,
       48,
       96,
       251.4,
       8,
       1,
       {},
       {{0, {"0000:03:00.0", "0000:27:00.0", "0000:43:00.0", "0000:63:00.0"}},
        {1, {"0000:83:00.0", "0000:a3:00.0", "0000:c3:00.0", "0000:e3:00.0", "0000:c4:00.0"}}}},
  };
  return facts;
}

class DiscoveryFactsTest : public ::testing::TestWithParam<Facts> {};

TEST_P(DiscoveryFactsTest, MatchesFactsTable) {
  const Facts& f = GetParam();
  const std::string rel = std::string("topologies/") + f.file;
  TESSERA_REQUIRE_SHARED(rel);
  DiscoveryOptions options;
  options.xml_path = testing::SharedPath(rel);
  Result<DiscoveryResult> r = DiscoverTopology(options);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const NodeTopology& t = r->topology;

  EXPECT_EQ(static_cast<int>(t.sockets.size()), f.packages);
  EXPECT_EQ(static_cast<int>(t.numa_nodes.size()), f.numa_nodes);
  EXPECT_EQ(t.TotalCores(), f.cores);
  EXPECT_EQ(t.TotalCpus(), f.pus);
  EXPECT_NEAR(static_cast<double>(t.TotalMemoryBytes()) / (1ull << 30), f.memory_gib, 0.05);
  EXPECT_EQ(static_cast<int>(t.gpus.size()), f.gpus);
  EXPECT_EQ(static_cast<int>(t.nics.size()), f.nics);

  std::set<std::pair<std::string, std::string>> pairs;
  for (auto [g, n] : t.GpuNicSameSwitchPairs()) {
    pairs.emplace(t.gpus[g].location.pci_bus_id, t.nics[n].location.pci_bus_id);
  }
  EXPECT_EQ(pairs, f.same_switch_pairs);

  std::map<int, std::vector<std::string>> per_numa;
  for (const NumaNode& n : t.numa_nodes) {
    for (int g : t.GpusOnNuma(n.id)) per_numa[n.id].push_back(t.gpus[g].location.pci_bus_id);
    for (int i : t.NicsOnNuma(n.id)) per_numa[n.id].push_back(t.nics[i].location.pci_bus_id);
  }
  EXPECT_EQ(per_numa, f.devices_per_numa);

  // Every NUMA node belongs to exactly one socket, and socket lists agree with the nodes.
  for (const NumaNode& n : t.numa_nodes) {
    const Socket* s = t.FindSocket(n.socket_id);
    ASSERT_NE(s, nullptr) << "NUMA " << n.id;
    EXPECT_NE(std::find(s->numa_ids.begin(), s->numa_ids.end(), n.id), s->numa_ids.end());
  }
  // GPU indexes follow bus id order.
  for (size_t i = 0; i < t.gpus.size(); ++i) {
    EXPECT_EQ(t.gpus[i].index, static_cast<int>(i));
    if (i > 0) {
      EXPECT_LT(t.gpus[i - 1].location.pci_bus_id, t.gpus[i].location.pci_bus_id);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(SharedTopologies, DiscoveryFactsTest, ::testing::ValuesIn(AllFacts()),
                         [](const ::testing::TestParamInfo<Facts>& param_info) {
                           std::string name = param_info.param.file;
                           for (char& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

NodeTopology Load(const std::string& file) {
  DiscoveryOptions options;
  options.xml_path = testing::SharedPath("topologies/" + file);
  Result<DiscoveryResult> r = DiscoverTopology(options);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? r->topology : NodeTopology{};
}

TEST(DiscoveryDetails, PerNumaMemoryAndCpuLessNodes) {
  TESSERA_REQUIRE_SHARED("topologies/sierra.xml");
  NodeTopology t = Load("sierra.xml");
  std::map<int, uint64_t> mib;
  for (const NumaNode& n : t.numa_nodes) mib[n.id] = n.memory_bytes >> 20;
  EXPECT_EQ(mib, (std::map<int, uint64_t>{
                     {0, 130779}, {8, 130812}, {252, 16128}, {253, 16128}, {254, 16128}, {255, 16128}}));
  for (int id : {252, 253, 254, 255}) {
    EXPECT_TRUE(t.FindNuma(id)->cpu_ids.empty());
    EXPECT_GE(t.FindNuma(id)->socket_id, 0) << "CPU-less node " << id << " must still sit under a socket";
  }
  EXPECT_EQ(t.FindNuma(0)->cpu_ids.size(), 88u);
  // cuda osdevs carry the exact memory size: 16515072 KiB.
  ASSERT_EQ(t.gpus.size(), 4u);
  EXPECT_EQ(t.gpus[0].memory_mib, 16128u);
  EXPECT_EQ(t.gpus[0].model, "V100");
  EXPECT_EQ(t.gpus[0].product, "Tesla V100-SXM2-16GB");
  // Dual-port ConnectX-5: each function is its own NIC row, named after its RDMA device.
  EXPECT_EQ(t.nics[0].name, "mlx5_0");
  EXPECT_TRUE(t.nics[0].rdma);
}

TEST(DiscoveryDetails, HbmNodesShareCpusetsButCpusCountOnce) {
  TESSERA_REQUIRE_SHARED("topologies/topo.dp-intelmax01-flat.xml");
  NodeTopology t = Load("topo.dp-intelmax01-flat.xml");
  for (int id = 8; id < 16; ++id) {
    EXPECT_TRUE(t.FindNuma(id)->cpu_ids.empty()) << id;
    EXPECT_EQ(t.FindNuma(id)->memory_bytes >> 20, 16384u);
  }
  EXPECT_EQ(t.FindNuma(0)->memory_bytes >> 20, 128491u);
  EXPECT_EQ(t.nics[0].location.numa_ids, (std::vector<int>{2, 10}));
  EXPECT_EQ(t.nics[0].location.socket_id, t.FindNuma(2)->socket_id);
}

TEST(DiscoveryDetails, GpuModelsAndMemoryFromTableWhenDumpLacksIt) {
  TESSERA_REQUIRE_SHARED("topologies/topo.jrc0386.xml");
  DiscoveryOptions options;
  options.xml_path = testing::SharedPath("topologies/topo.jrc0386.xml");
  Result<DiscoveryResult> r = DiscoverTopology(options);
  ASSERT_TRUE(r.ok());
  for (const Gpu& g : r->topology.gpus) {
    EXPECT_EQ(g.model, "A100");  // PCI id 10de:20b0, no GPU osdev in this dump
    EXPECT_EQ(g.memory_mib, 40960u);
  }
  ASSERT_EQ(r->warnings.size(), 1u) << "one warning per model, not per card";
  EXPECT_NE(r->warnings[0].find("A100"), std::string::npos);

  // An operator override wins over the built-in table.
  ASSERT_TRUE(options.gpu_models.LoadMemoryOverrides("A100=40000").ok());
  r = DiscoverTopology(options);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->topology.gpus[0].memory_mib, 40000u);
}

TEST(DiscoveryDetails, UnknownGpuModelWarnsAndReportsZeroMemory) {
  TESSERA_REQUIRE_SHARED("topologies/topo.jrc0386.xml");
  DiscoveryOptions options;
  options.xml_path = testing::SharedPath("topologies/topo.jrc0386.xml");
  options.gpu_models = GpuModelTable();  // empty table: no alias, no memory
  Result<DiscoveryResult> r = DiscoverTopology(options);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->topology.gpus[0].memory_mib, 0u);
  ASSERT_EQ(r->warnings.size(), 1u);
  EXPECT_NE(r->warnings[0].find("unknown"), std::string::npos);
}

TEST(DiscoveryDetails, Dgx2GpusGroupByPcieSwitchAndSkipNvSwitch) {
  TESSERA_REQUIRE_SHARED("topologies/nvidiaDGX2.xml");
  NodeTopology t = Load("nvidiaDGX2.xml");
  ASSERT_EQ(t.gpus.size(), 16u);
  // The facts table lists GPU-GPU same-switch pairs: groups of 4 consecutive GPUs.
  for (size_t a = 0; a < 16; ++a) {
    for (size_t b = a + 1; b < 16; ++b) {
      bool same_group = a / 4 == b / 4;
      EXPECT_EQ(ClosestCommonLevel(t.gpus[a].location, t.gpus[b].location) == Locality::kSamePcieSwitch,
                same_group)
          << a << " " << b;
    }
  }
  EXPECT_EQ(ClosestCommonLevel(t.gpus[0].location, t.gpus[4].location), Locality::kSameNuma);
  EXPECT_EQ(ClosestCommonLevel(t.gpus[0].location, t.gpus[8].location), Locality::kCrossSocket);
  EXPECT_EQ(t.gpus[0].model, "V100-32GB");  // GPUModel info "Tesla V100-SXM3-32GB-H"
  EXPECT_EQ(t.gpus[0].location.host_bridge, "0000:[2b-3b]");
  EXPECT_EQ(t.gpus[0].location.pcie_path.size(), 5u);
}

TEST(DiscoveryDetails, AmdGpusUseRsmiMemoryAndSlingshotNicsCount) {
  TESSERA_REQUIRE_SHARED("topologies/corona.xml");
  NodeTopology corona = Load("corona.xml");
  ASSERT_EQ(corona.gpus.size(), 8u);
  EXPECT_EQ(corona.gpus[0].model, "MI50");
  EXPECT_EQ(corona.gpus[0].memory_mib, 33538048u / 1024);
  TESSERA_REQUIRE_SHARED("topologies/tuo.SPX.xml");
  NodeTopology tuo = Load("tuo.SPX.xml");
  ASSERT_EQ(tuo.nics.size(), 4u);
  EXPECT_EQ(tuo.nics[0].name, "hsi0");
  EXPECT_FALSE(tuo.nics[0].rdma);
  EXPECT_EQ(tuo.gpus[0].model, "MI300A");
}

TEST(DiscoveryErrors, CorruptAndMissingXmlAreInvalidArgument) {
  DiscoveryOptions options;
  options.xml_path = "/nonexistent/topology.xml";
  Result<DiscoveryResult> r = DiscoverTopology(options);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsInvalidArgument());
  EXPECT_NE(r.status().message().find("/nonexistent/topology.xml"), std::string::npos);

  options.xml_path.clear();
  options.xml_buffer = "<?xml version=\"1.0\"?><topology><object type=\"Machine\"";  // truncated
  r = DiscoverTopology(options);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsInvalidArgument());
  options.xml_buffer = "this is not xml at all";
  EXPECT_FALSE(DiscoverTopology(options).ok());
}

TEST(DiscoveryLive, WholeMachineIsVisible) {
  // The live machine (the CI box) has at least one NUMA node and all of its CPUs, including any outside our
  // cgroup's cpuset (INCLUDE_DISALLOWED).
  DiscoveryOptions options;
  Result<DiscoveryResult> r = DiscoverTopology(options);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_GE(r->topology.numa_nodes.size(), 1u);
  EXPECT_GE(r->topology.TotalCpus(), 1);
  EXPECT_GT(r->topology.TotalMemoryBytes(), 0u);
  EXPECT_EQ(r->topology.TotalCpus(), static_cast<int>(sysconf(_SC_NPROCESSORS_CONF)));
}

}  // namespace
}  // namespace tessera::topology

namespace tessera::topology {
namespace {

// Inside a pod, hwloc marks CPUs outside the cgroup's cpuset as disallowed and, by default, drops them. The XML's
// allowed_cpuset reproduces that situation on cue: only CPUs 0-1 and NUMA node 0 are "ours" here.
TEST(DiscoveryDetails, SeesWholeMachineEvenWhenOnlySomeCpusAreAllowed) {
  TESSERA_REQUIRE_SHARED("topologies/32em64t-2n8c2t-pci-noio.xml");
  std::string xml = testing::ReadFile(testing::SharedPath("topologies/32em64t-2n8c2t-pci-noio.xml"));
  const std::string all_cpus = "allowed_cpuset=\"0xffffffff\"", all_nodes = "allowed_nodeset=\"0x00000003\"";
  ASSERT_NE(xml.find(all_cpus), std::string::npos);
  xml.replace(xml.find(all_cpus), all_cpus.size(), "allowed_cpuset=\"0x00000003\"");
  xml.replace(xml.find(all_nodes), all_nodes.size(), "allowed_nodeset=\"0x00000001\"");

  DiscoveryOptions options;
  options.xml_buffer = xml;
  Result<DiscoveryResult> r = DiscoverTopology(options);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->topology.TotalCpus(), 32);
  EXPECT_EQ(r->topology.numa_nodes.size(), 2u);

  // Control: plain hwloc without INCLUDE_DISALLOWED sees only the allowed part, so the check above can fail.
  hwloc_topology_t topo;
  hwloc_topology_init(&topo);
  hwloc_topology_set_xmlbuffer(topo, xml.data(), static_cast<int>(xml.size()));
  ASSERT_EQ(hwloc_topology_load(topo), 0);
  EXPECT_EQ(hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU), 2);
  hwloc_topology_destroy(topo);
}

// The library's default I/O filter drops PCI devices; discovery must keep them (and test with them kept).
TEST(DiscoveryDetails, KeepsIoDevicesTheDefaultFilterDrops) {
  TESSERA_REQUIRE_SHARED("topologies/topo.jrc0386.xml");
  const std::string path = testing::SharedPath("topologies/topo.jrc0386.xml");
  hwloc_topology_t topo;
  hwloc_topology_init(&topo);
  hwloc_topology_set_xml(topo, path.c_str());
  ASSERT_EQ(hwloc_topology_load(topo), 0);
  EXPECT_EQ(hwloc_get_next_pcidev(topo, nullptr), nullptr) << "default filter: no PCI devices";
  hwloc_topology_destroy(topo);
  DiscoveryOptions options;
  options.xml_path = path;
  EXPECT_EQ(DiscoverTopology(options)->topology.gpus.size(), 4u);
}

}  // namespace
}  // namespace tessera::topology
