#include "crd/cnr_builder.h"

#include <gtest/gtest.h>

#include "crd/cnr_codec.h"
#include "tests/shared_data.h"
#include "topology/hwloc_discovery.h"

namespace tessera::crd {
namespace {

topology::NodeTopology LoadShared(const std::string& file) {
  topology::DiscoveryOptions o;
  o.xml_path = testing::SharedPath("topologies/" + file);
  Result<topology::DiscoveryResult> r = topology::DiscoverTopology(o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? r->topology : topology::NodeTopology{};
}

const TopologyZone* FindZone(const std::vector<TopologyZone>& zones, const std::string& type,
                             const std::string& name) {
  for (const TopologyZone& z : zones) {
    if (z.type == type && z.name == name) return &z;
    if (const TopologyZone* c = FindZone(z.children, type, name)) return c;
  }
  return nullptr;
}

TEST(TopologyPolicy, NormalizesKubeletAndCnrSpellings) {
  EXPECT_EQ(*NormalizeTopologyPolicy("none"), "None");
  EXPECT_EQ(*NormalizeTopologyPolicy("single-numa-node"), "SingleNUMANodeContainerLevel");
  EXPECT_EQ(*NormalizeTopologyPolicy("restricted/pod"), "RestrictedPodLevel");
  EXPECT_EQ(*NormalizeTopologyPolicy("NumericContainerLevel"), "NumericContainerLevel");
  EXPECT_FALSE(NormalizeTopologyPolicy("single-numa-node/socket").ok());
  EXPECT_FALSE(NormalizeTopologyPolicy("strict").ok());
}

TEST(CpuList, FormatsAndParses) {
  EXPECT_EQ(FormatCpuList({3, 0, 1, 2, 8, 10, 11}), "0-3,8,10-11");
  EXPECT_EQ(*ParseCpuList("0-3,8,10-11"), (std::vector<int>{0, 1, 2, 3, 8, 10, 11}));
  EXPECT_TRUE(ParseCpuList("")->empty());
  EXPECT_FALSE(ParseCpuList("3-1").ok());
  EXPECT_FALSE(ParseCpuList("a").ok());
  EXPECT_FALSE(ParseCpuList("0-99999999").ok());
}

TEST(BuildCnr, Jrc0386ZonesMatchFactsTable) {
  TESSERA_REQUIRE_SHARED("topologies/topo.jrc0386.xml");
  topology::NodeTopology t = LoadShared("topo.jrc0386.xml");
  CnrBuildOptions o;
  o.node_name = "jrc0386";
  o.node_uid = "uid-1";
  o.topology_policy = "single-numa-node/container";
  o.cpu_manager_policy = "static";
  o.memory_manager_policy = "Static";
  o.reserved_cpus = {0, 1};
  o.reserved_memory = {{0, int64_t{2} << 30}};
  o.reclaim_ratio = 0.5;
  o.heartbeat_time = "2026-11-30T12:00:00Z";
  Result<Cnr> cnr = BuildCnr(t, o);
  ASSERT_TRUE(cnr.ok()) << cnr.status().ToString();

  EXPECT_EQ(cnr->status.topology_policy, "SingleNUMANodeContainerLevel");
  EXPECT_EQ(cnr->FindProperty("cpu_manager_policy")->values, std::vector<std::string>{"static"});
  EXPECT_EQ(cnr->FindProperty("memory_manager_policy")->values, std::vector<std::string>{"Static"});
  EXPECT_EQ(cnr->FindProperty("numa")->quantity->milli(), 8000);
  EXPECT_EQ(cnr->metadata.owner_references.at(0).kind, "Node");
  EXPECT_EQ(cnr->metadata.labels.at("app.kubernetes.io/managed-by"), "tessera-reporter");
  ASSERT_EQ(cnr->status.zones.size(), 2u);

  // NUMA 0 holds CPUs 0 and 1: two fewer allocatable CPUs, 2 GiB less memory.
  const TopologyZone* numa0 = FindZone(cnr->status.zones, "Numa", "0");
  ASSERT_NE(numa0, nullptr);
  EXPECT_EQ(numa0->resources.capacity.at("cpu").milli(), 32000);
  EXPECT_EQ(numa0->resources.allocatable.at("cpu").milli(), 30000);
  const int64_t numa0_bytes = numa0->resources.capacity.at("memory").milli() / 1000;
  EXPECT_EQ(numa0_bytes >> 20, 64050) << "MiB per the facts table";
  EXPECT_EQ(numa0->resources.allocatable.at("memory").milli() / 1000, numa0_bytes - (int64_t{2} << 30));
  EXPECT_EQ(numa0->resources.allocatable.at("resource.katalyst.kubewharf.io/reclaimed_millicpu").milli(),
            15000 * 1000)
      << "reclaimed per NUMA = ratio x allocatable CPU, in millicpu";
  EXPECT_EQ(numa0->siblings.size(), 7u);

  // Each A100 sits under its NUMA zone and shares a pcie_switch value with exactly one NIC under the socket.
  const TopologyZone* gpu = FindZone(cnr->status.zones, "GPU", "0000:44:00.0");
  ASSERT_NE(gpu, nullptr);
  EXPECT_EQ(*gpu->FindAttribute("model"), "A100");
  EXPECT_EQ(*gpu->FindAttribute("numa"), "1");
  EXPECT_EQ(gpu->resources.capacity.at("nvidia.com/gpucores").milli(), 100000);
  EXPECT_EQ(gpu->resources.capacity.at("nvidia.com/gpumem").milli(), 40960000);
  EXPECT_NE(FindZone(FindZone(cnr->status.zones, "Numa", "1")->children, "GPU", "0000:44:00.0"), nullptr);
  int nics_sharing = 0;
  for (const TopologyZone& s : cnr->status.zones) {
    for (const TopologyZone& c : s.children) {
      if (c.type == "NIC" && *c.FindAttribute("pcie_switch") == *gpu->FindAttribute("pcie_switch")) {
        ++nics_sharing;
        EXPECT_EQ(*c.FindAttribute("rdma"), "true");
        EXPECT_EQ(*c.FindAttribute("pci_bus_id"), "0000:43:00.0");
      }
    }
  }
  EXPECT_EQ(nics_sharing, 1);

  // Node-level reclaimed = sum over NUMA nodes.
  int64_t sum = 0;
  for (const TopologyZone& s : cnr->status.zones) {
    for (const TopologyZone& n : s.children) {
      if (n.type == "Numa")
        sum += n.resources.allocatable.at("resource.katalyst.kubewharf.io/reclaimed_millicpu").milli();
    }
  }
  EXPECT_EQ(cnr->status.resources.allocatable.at("resource.katalyst.kubewharf.io/reclaimed_millicpu").milli(),
            sum);
}

TEST(BuildCnr, RejectsContradictoryOptions) {
  TESSERA_REQUIRE_SHARED("topologies/topo.dp-esb01.xml");
  topology::NodeTopology t = LoadShared("topo.dp-esb01.xml");
  CnrBuildOptions o;
  o.node_name = "n";
  EXPECT_TRUE(BuildCnr(t, o).ok());
  CnrBuildOptions bad = o;
  bad.reserved_cpus = {999};
  EXPECT_NE(BuildCnr(t, bad).status().message().find("reserved CPU 999"), std::string::npos);
  bad = o;
  bad.reserved_memory = {{0, int64_t{1} << 50}};
  EXPECT_FALSE(BuildCnr(t, bad).ok());
  bad = o;
  bad.reserved_memory = {{5, 1}};
  EXPECT_FALSE(BuildCnr(t, bad).ok());
  bad = o;
  bad.reclaim_ratio = 1.5;
  EXPECT_FALSE(BuildCnr(t, bad).ok());
  bad = o;
  bad.cpu_manager_policy = "Static";
  EXPECT_FALSE(BuildCnr(t, bad).ok());
  bad = o;
  bad.node_name = "";
  EXPECT_FALSE(BuildCnr(t, bad).ok());
}

class RoundTripTest : public ::testing::TestWithParam<const char*> {};

// model -> CNR -> JSON -> CNR -> model keeps what the scheduler needs.
TEST_P(RoundTripTest, TopologySurvivesCnr) {
  const std::string rel = std::string("topologies/") + GetParam();
  TESSERA_REQUIRE_SHARED(rel);
  topology::NodeTopology t = LoadShared(GetParam());
  CnrBuildOptions o;
  o.node_name = "node";
  Result<Cnr> cnr = BuildCnr(t, o);
  ASSERT_TRUE(cnr.ok()) << cnr.status().ToString();
  Result<Cnr> decoded = DecodeCnr(EncodeCnr(*cnr));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  Result<topology::NodeTopology> back = TopologyFromCnr(*decoded);
  ASSERT_TRUE(back.ok()) << back.status().ToString();

  ASSERT_EQ(back->numa_nodes.size(), t.numa_nodes.size());
  for (size_t i = 0; i < t.numa_nodes.size(); ++i) {
    EXPECT_EQ(back->numa_nodes[i].id, t.numa_nodes[i].id);
    EXPECT_EQ(back->numa_nodes[i].socket_id, t.numa_nodes[i].socket_id);
    EXPECT_EQ(back->numa_nodes[i].cpu_ids, t.numa_nodes[i].cpu_ids);
    EXPECT_EQ(back->numa_nodes[i].memory_bytes, t.numa_nodes[i].memory_bytes);
  }
  EXPECT_EQ(back->sockets.size(), t.sockets.size());
  ASSERT_EQ(back->gpus.size(), t.gpus.size());
  for (size_t i = 0; i < t.gpus.size(); ++i) {
    EXPECT_EQ(back->gpus[i].location.pci_bus_id, t.gpus[i].location.pci_bus_id);
    EXPECT_EQ(back->gpus[i].location.numa_ids, t.gpus[i].location.numa_ids);
    EXPECT_EQ(back->gpus[i].location.pcie_switch, t.gpus[i].location.pcie_switch);
    EXPECT_EQ(back->gpus[i].model, t.gpus[i].model);
    EXPECT_EQ(back->gpus[i].memory_mib, t.gpus[i].memory_mib);
  }
  ASSERT_EQ(back->nics.size(), t.nics.size());
  for (size_t i = 0; i < t.nics.size(); ++i) {
    EXPECT_EQ(back->nics[i].name, t.nics[i].name);
    EXPECT_EQ(back->nics[i].rdma, t.nics[i].rdma);
    EXPECT_EQ(back->nics[i].location.numa_ids, t.nics[i].location.numa_ids);
  }
  EXPECT_EQ(back->GpuNicSameSwitchPairs(), t.GpuNicSameSwitchPairs());
  if (!t.numa_distances.empty()) {
    EXPECT_EQ(back->numa_distances, t.numa_distances);
  }
}

INSTANTIATE_TEST_SUITE_P(Shared, RoundTripTest,
                         ::testing::Values("topo.dp-esb01.xml", "32em64t-2n8c2t-pci-noio.xml", "nvidiaDGX2.xml",
                                           "topo.jrc0386.xml", "topo.dp-intelmax01-flat.xml", "tuo.SPX.xml",
                                           "sierra.xml", "corona.xml"));

TEST(TopologyFromCnr, RejectsBadZoneNames) {
  Cnr cnr;
  cnr.metadata.name = "n";
  TopologyZone socket{"Socket", "zero", {}, {}, {}, {}, {}};
  cnr.status.zones.push_back(socket);
  Result<topology::NodeTopology> r = TopologyFromCnr(cnr);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("status.topologyZone[0]"), std::string::npos);
  cnr.status.zones[0].name = "0";
  TopologyZone numa{"Numa", "0", {}, {{"cpulist", "x-y"}}, {}, {}, {}};
  cnr.status.zones[0].children.push_back(numa);
  EXPECT_FALSE(TopologyFromCnr(cnr).ok());
}

}  // namespace
}  // namespace tessera::crd
