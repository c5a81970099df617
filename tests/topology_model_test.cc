#include <gtest/gtest.h>

#include "topology/node_topology.h"

namespace tessera::topology {
namespace {

DeviceLocation Loc(std::string bus, std::vector<int> numas, int socket, std::string sw) {
  DeviceLocation l;
  l.pci_bus_id = std::move(bus);
  l.numa_ids = std::move(numas);
  l.socket_id = socket;
  l.pcie_switch = std::move(sw);
  return l;
}

TEST(Locality, OrdersSwitchNumaSocketCross) {
  DeviceLocation gpu = Loc("0000:17:00.0", {0}, 0, "0000:15:00.0");
  EXPECT_EQ(ClosestCommonLevel(gpu, Loc("0000:18:00.0", {0}, 0, "0000:15:00.0")), Locality::kSamePcieSwitch);
  EXPECT_EQ(ClosestCommonLevel(gpu, Loc("0000:30:00.0", {0}, 0, "0000:2e:00.0")), Locality::kSameNuma);
  EXPECT_EQ(ClosestCommonLevel(gpu, Loc("0000:40:00.0", {1}, 0, "0000:3e:00.0")), Locality::kSameSocket);
  EXPECT_EQ(ClosestCommonLevel(gpu, Loc("0000:80:00.0", {2}, 1, "0000:7e:00.0")), Locality::kCrossSocket);
  // Two devices straight on host bridges share no switch even though both switch ids are empty.
  EXPECT_EQ(ClosestCommonLevel(Loc("a", {0}, 0, ""), Loc("b", {0}, 0, "")), Locality::kSameNuma);
  // Unknown sockets never count as the same socket.
  EXPECT_EQ(ClosestCommonLevel(Loc("a", {}, -1, ""), Loc("b", {}, -1, "")), Locality::kCrossSocket);
  EXPECT_STREQ(LocalityName(Locality::kSamePcieSwitch), "pcie-switch");
}

TEST(NodeTopologyQueries, TotalsDistancesAndDevices) {
  NodeTopology t;
  t.sockets = {{0, {0}}, {1, {1}}};
  t.numa_nodes = {{0, 0, {0, 1, 2, 3}, 2, 1ull << 30}, {1, 1, {4, 5, 6, 7}, 2, 2ull << 30}};
  t.numa_distances = {10, 21, 21, 10};
  Gpu g;
  g.location = Loc("0000:17:00.0", {0}, 0, "sw0");
  t.gpus.push_back(g);
  Nic n;
  n.location = Loc("0000:18:00.0", {0}, 0, "sw0");
  t.nics.push_back(n);
  n.location = Loc("0000:90:00.0", {1}, 1, "sw1");
  t.nics.push_back(n);

  EXPECT_EQ(t.TotalCores(), 4);
  EXPECT_EQ(t.TotalCpus(), 8);
  EXPECT_EQ(t.TotalMemoryBytes(), 3ull << 30);
  EXPECT_EQ(t.NumaDistance(0, 1), 21u);
  EXPECT_EQ(t.NumaDistance(1, 1), 10u);
  EXPECT_EQ(t.NumaDistance(0, 9), 0u);
  EXPECT_EQ(t.FindNuma(1)->memory_bytes, 2ull << 30);
  EXPECT_EQ(t.FindNuma(5), nullptr);
  EXPECT_EQ(t.GpusOnNuma(0), std::vector<int>{0});
  EXPECT_TRUE(t.GpusOnNuma(1).empty());
  EXPECT_EQ(t.NicsOnNuma(1), std::vector<int>{1});
  EXPECT_EQ(t.GpuNicSameSwitchPairs(), (std::vector<std::pair<int, int>>{{0, 0}}));
  EXPECT_EQ(FormatPciBusId(0x35, 0x3, 0, 1), "0035:03:00.1");
}

}  // namespace
}  // namespace tessera::topology
