// GPU sharing, multi-GPU pods, GPU-RDMA PCIe-switch affinity and the GPU policies, through Scheduler::Schedule.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <random>

#include "scoring/device_guess.h"
#include "scoring/gpu_fragmentation.h"
#include "scoring/gpu_policy.h"
#include "scoring/scheduler.h"
#include "tests/scoring_test_util.h"
#include "tests/shared_data.h"
#include "topology/hwloc_discovery.h"

namespace tessera::scoring {
namespace {

using testutil::kGi;

// A 2-socket node, NUMA 0 and 1; four cards: 0,1 under switch 0 (NUMA 0), 2 under switch 1 (NUMA 0), 3 on NUMA 1
// with no switch; NICs: mlx5_0 under switch 0, mlx5_1 on NUMA 1.
NodeState GpuNode(const std::string& name, NodePolicies p = {}) {
  NodeState n = testutil::Node(name, {{16, 64, 0}, {16, 64, 1}}, p);
  auto card = [](int numa, int socket, int sw) {
    GpuState g;
    g.memory_mib = 40960;
    g.free_memory_mib = 40960;
    g.numa_index = numa;
    g.socket_id = socket;
    g.switch_id = sw;
    g.model = "A100";
    return g;
  };
  n.gpus = {card(0, 0, 0), card(0, 0, 0), card(0, 0, 1), card(1, 1, -1)};
  NicState a{"mlx5_0", true, 0, 0, 0, 0}, b{"mlx5_1", true, 1, 1, -1, 0};
  n.nics = {a, b};
  return n;
}

PodRequest GpuPod(const std::string& name, int count, int64_t milli, int64_t mem_mib = 0, int rdma = 0) {
  PodRequest p = testutil::Shared(name, 2000, 4);
  p.gpu.count = count;
  p.gpu.milli_per_gpu = milli;
  p.gpu.memory_mib_per_gpu = mem_mib;
  p.gpu.rdma_nics = rdma;
  return p;
}

struct GpuHarness {
  ClusterState cluster;
  Scheduler scheduler;
  explicit GpuHarness(const std::string& policy = "tessera")
      : scheduler([&] {
          SchedulerConfig c;
          c.gpu_policy = policy;
          return c;
        }()) {}
  const NodeVerdict* Place(const PodRequest& pod) {
    SchedulingResult r = scheduler.Schedule(cluster, pod);
    last_reason = r.verdicts.empty() ? "" : r.verdicts[0].reason;
    if (r.Best() == nullptr) return nullptr;
    EXPECT_TRUE(cluster.Reserve(pod, r.Best()->placement).ok());
    placed = *r.Best();
    return &placed;
  }
  NodeVerdict placed;
  std::string last_reason;
};

TEST(GpuShare, SharesPackOntoACardAndNeverExceedIt) {
  GpuHarness h;
  h.cluster.AddNode(GpuNode("n"));
  ASSERT_NE(h.Place(GpuPod("a", 1, 300, 10000)), nullptr);
  const uint64_t first = h.placed.placement.gpu_mask;
  ASSERT_NE(h.Place(GpuPod("b", 1, 500, 10000)), nullptr);
  EXPECT_EQ(h.placed.placement.gpu_mask, first) << "the second share joins the partly used card";
  ASSERT_NE(h.Place(GpuPod("c", 1, 300, 10000)), nullptr);
  EXPECT_NE(h.placed.placement.gpu_mask, first) << "300 more would pass 100 %";
  const int card = std::countr_zero(first);
  EXPECT_EQ(h.cluster.node(0).gpus[static_cast<size_t>(card)].free_milli, 200);
  // Memory bounds too: 20,960 MiB left on that card.
  ASSERT_NE(h.Place(GpuPod("d", 1, 100, 30000)), nullptr);
  EXPECT_NE(h.placed.placement.gpu_mask, first);
}

TEST(GpuShare, WholeCardsOnlyTakeUntouchedCardsAndAreNotShared) {
  GpuHarness h;
  h.cluster.AddNode(GpuNode("n"));
  ASSERT_NE(h.Place(GpuPod("s1", 1, 100)), nullptr);
  ASSERT_NE(h.Place(GpuPod("whole", 3, 1000)), nullptr);
  EXPECT_EQ(std::popcount(h.placed.placement.gpu_mask), 3);
  // One card is shared, three are whole-owned: nothing else fits a whole card, and shares go to the shared one.
  EXPECT_EQ(h.Place(GpuPod("w2", 1, 1000)), nullptr);
  EXPECT_NE(h.last_reason.find("untouched"), std::string::npos) << h.last_reason;
  ASSERT_NE(h.Place(GpuPod("s2", 1, 500)), nullptr);
  for (const GpuState& g : h.cluster.node(0).gpus)
    EXPECT_TRUE(g.free_milli == 0 || g.free_milli == 400) << g.free_milli;
}

TEST(GpuTopology, GpusAndRdmaNicUnderOneSwitchWhenPossible) {
  GpuHarness h;
  h.cluster.AddNode(GpuNode("n"));
  ASSERT_NE(h.Place(GpuPod("rdma", 2, 1000, 0, 1)), nullptr);
  EXPECT_EQ(h.placed.placement.gpu_mask, 0b0011u) << "cards 0 and 1 share switch 0 with mlx5_0";
  EXPECT_EQ(h.placed.placement.nic_mask, 0b01u);
  EXPECT_EQ(h.placed.device_level, 0);
  // Switch 0 is full now; a second pair with a NIC can only meet at NUMA level (cards 2 and... none: card 3 is on
  // NUMA 1 alone) -> socket/node level under the preferred default.
  ASSERT_NE(h.Place(GpuPod("pair", 2, 1000, 0, 1)), nullptr);
  EXPECT_GT(h.placed.device_level, 0);
}

TEST(GpuTopology, RequiredLevelsFailTheNode) {
  GpuHarness h;
  h.cluster.AddNode(GpuNode("n"));
  PodRequest p = GpuPod("p", 2, 1000, 0, 1);
  p.gpu.affinity_required = true;
  p.gpu.affinity_level = DeviceAffinityLevel::kPcieSwitch;
  ASSERT_NE(h.Place(p), nullptr);
  PodRequest q = GpuPod("q", 2, 1000);
  q.gpu.affinity_required = true;
  q.gpu.affinity_level = DeviceAffinityLevel::kNuma;
  EXPECT_EQ(h.Place(q), nullptr) << "cards 2 and 3 are on different NUMA nodes";
  EXPECT_NE(h.last_reason.find("no NUMA node holds 2 free card(s)"), std::string::npos) << h.last_reason;
  q.gpu.affinity_level = DeviceAffinityLevel::kSocket;
  EXPECT_EQ(h.Place(q), nullptr);
  q.gpu.affinity_required = false;
  EXPECT_NE(h.Place(q), nullptr);
  EXPECT_EQ(h.placed.device_level, 3);
}

TEST(GpuTopology, NumaBoundPodsGetDevicesInTheirNumaNode) {
  GpuHarness h;
  h.cluster.AddNode(GpuNode("n", {TopologyPolicy::kSingleNumaNode, TopologyScope::kContainer, false, false}));
  // Fill NUMA 0's CPUs so the dedicated pod lands on NUMA 1, whose only card is 3.
  ASSERT_NE(h.Place(testutil::Dedicated("filler", 15, 4)), nullptr);
  PodRequest p = testutil::Dedicated("trainer", 8, 16);
  p.gpu.count = 1;
  p.gpu.milli_per_gpu = 1000;
  p.gpu.rdma_nics = 1;
  ASSERT_NE(h.Place(p), nullptr) << h.last_reason;
  EXPECT_EQ(h.placed.placement.numa_mask, 0b10u);
  EXPECT_EQ(h.placed.placement.gpu_mask, 0b1000u);
  EXPECT_EQ(h.placed.placement.nic_mask, 0b10u);
  PodRequest q = p;
  q.name = "trainer2";
  q.uid = "uid-trainer2";
  q.cpu_milli = 2000;
  q.containers[0].cpu_milli = 2000;
  EXPECT_EQ(h.Place(q), nullptr) << "NUMA 1 has CPUs but no free card; NUMA 0 has cards but 1 CPU";
  // Under single-numa-node even an unpinned shared pod's cards must share a NUMA node.
  GpuHarness s;
  s.cluster.AddNode(GpuNode("n", {TopologyPolicy::kSingleNumaNode, TopologyScope::kContainer, false, false}));
  EXPECT_EQ(s.Place(GpuPod("four", 4, 1000)), nullptr);
  EXPECT_NE(s.Place(GpuPod("three", 3, 1000)), nullptr);
  EXPECT_EQ(s.placed.placement.gpu_mask, 0b0111u);
}

TEST(GpuModels, SelectorAndBadInput) {
  GpuHarness h;
  h.cluster.AddNode(GpuNode("n"));
  PodRequest p = GpuPod("m", 1, 500);
  p.gpu.models = {"V100", "T4"};
  EXPECT_EQ(h.Place(p), nullptr);
  EXPECT_NE(h.last_reason.find("accepted model"), std::string::npos) << h.last_reason;
  p.gpu.models = {"T4", "A100"};
  EXPECT_NE(h.Place(p), nullptr);
  const std::pair<PodRequest, const char*> bad[] = {
      {GpuPod("zero-cards", 0, 300), "0 cards"},
      {GpuPod("over", 1, 1500), "more than 100 %"},
      {GpuPod("mem-only", 1, 0, 100), "without GPU compute"},
      {GpuPod("neg", -1, 100), "negative"},
  };
  const size_t before = h.cluster.pod_count();
  for (const auto& [pod, expected] : bad) {
    SchedulingResult r = h.scheduler.Schedule(h.cluster, pod);
    EXPECT_EQ(r.best, -1);
    EXPECT_NE(r.pod_error.find(expected), std::string::npos) << r.pod_error;
  }
  EXPECT_EQ(h.cluster.pod_count(), before);
  // More memory than any card: fails on every node with a reason, not invalid input.
  EXPECT_EQ(h.Place(GpuPod("huge-mem", 1, 100, 50000)), nullptr);
  EXPECT_NE(h.last_reason.find("MiB free"), std::string::npos);
}

TEST(Fragmentation, MeasureFollowsTheDefinition) {
  NodeState n = GpuNode("n");
  n.gpus[0].free_milli = 300;
  n.gpus[1].free_milli = 1000;
  n.gpus[2].free_milli = 0;
  n.gpus[3].free_milli = 600;
  GpuView v = MakeGpuView(n);
  EXPECT_EQ(ShapeFragmentation(v, {1000, 500, 1, {}, 1}), 300) << "only the 300-milli card is too small";
  EXPECT_EQ(ShapeFragmentation(v, {1000, 0, 0, {}, 1}), 1900) << "CPU-only: every free milli is stranded";
  EXPECT_EQ(ShapeFragmentation(v, {1000, 1000, 2, {}, 1}), 1900) << "one whole card free, two needed";
  EXPECT_EQ(ShapeFragmentation(v, {999999, 100, 1, {}, 1}), 1900) << "not enough CPU";
  EXPECT_EQ(ShapeFragmentation(v, {1000, 100, 1, {"T4"}, 1}), 1900) << "model not accepted";
  TargetWorkload w{{{1000, 500, 1, {}, 0.5}, {1000, 0, 0, {}, 0.5}}};
  EXPECT_DOUBLE_EQ(NodeFragmentation(v, w), 0.5 * 300 + 0.5 * 1900);
  std::vector<PodRequest> pods(10, GpuPod("x", 1, 500));
  pods.push_back(GpuPod("y", 1, 250));
  TargetWorkload from = TargetWorkload::FromPods(pods, 0.9);
  ASSERT_EQ(from.shapes.size(), 1u) << "the most popular shapes up to 90 % coverage";
  EXPECT_EQ(from.shapes[0].gpu_milli, 500);
  EXPECT_DOUBLE_EQ(from.shapes[0].weight, 1.0);
}

TEST(GpuPolicies, FgdPicksTheCardThatStrandsLeastAndPoliciesDiffer) {
  // Against whole-card tasks, a 0.5 share belongs on the card already half used (leaving 0), not on an idle one.
  for (const std::string& name : {std::string("fgd"), std::string("tessera")}) {
    GpuContext ctx;
    ctx.workload = TargetWorkload{{{1000, 1000, 1, {}, 1.0}}};  // whole-card tasks: a half-used card is stranded
    SchedulerConfig c;
    c.gpu_policy = name;
    c.gpu_context = &ctx;
    Scheduler s(c);
    ASSERT_TRUE(s.status().ok());
    ClusterState cluster;
    cluster.AddNode(GpuNode("n"));
    ASSERT_TRUE(cluster.Reserve(GpuPod("seed", 1, 500), Placement{0, 0, false, false, false, 0b0100, 0}).ok());
    SchedulingResult r = s.Schedule(cluster, GpuPod("half", 1, 500));
    ASSERT_NE(r.Best(), nullptr);
    EXPECT_EQ(r.Best()->placement.gpu_mask, 0b0100u) << name;
  }
  EXPECT_FALSE(MakeGpuPolicy("magic").ok());
  Scheduler fallback([] {
    SchedulerConfig c;
    c.gpu_policy = "magic";
    return c;
  }());
  EXPECT_FALSE(fallback.status().ok());
  EXPECT_NE(fallback.status().message().find("tessera"), std::string::npos);
}

// The paper's baselines as its simulator scores them, through the scheduler: three nodes, one idle, one holding a
// share (class "share"), one holding a whole-card pod (class "1 card").
TEST(GpuPolicies, PaperBaselinesTiersAndFixedOrderTies) {
  auto cluster_with_history = [] {
    ClusterState cluster;
    cluster.AddNode(GpuNode("idle"));
    cluster.AddNode(GpuNode("shared"));
    cluster.AddNode(GpuNode("whole"));
    EXPECT_TRUE(cluster.Reserve(GpuPod("s", 1, 300), Placement{1, 0, false, false, false, 0b0001, 0}).ok());
    EXPECT_TRUE(cluster.Reserve(GpuPod("w", 1, 1000), Placement{2, 0, false, false, false, 0b0001, 0}).ok());
    return cluster;
  };
  struct Case {
    const char* policy;
    PodRequest pod;
    const char* node;
  };
  const Case cases[] = {
      // packing: a share goes onto the card already in use; a whole card onto a used node before an idle one.
      {"packing", GpuPod("p1", 1, 500), "shared"},
      {"packing", GpuPod("p2", 1, 1000), "shared"},
      // clustering: each class joins its own kind.
      {"clustering", GpuPod("c1", 1, 500), "shared"},
      {"clustering", GpuPod("c2", 1, 1000), "whole"},
      {"clustering", GpuPod("c3", 2, 1000), "idle"},
  };
  for (const Case& c : cases) {
    ClusterState cluster = cluster_with_history();
    SchedulerConfig config;
    config.gpu_policy = c.policy;
    Scheduler s(config);
    ASSERT_TRUE(s.status().ok()) << c.policy;
    SchedulingResult r = s.Schedule(cluster, c.pod);
    ASSERT_NE(r.Best(), nullptr) << c.policy;
    EXPECT_EQ(cluster.node(r.Best()->node).name, c.node) << c.policy << " " << c.pod.name;
  }
  // Equal scores: the node with the lowest tie rank wins, whatever its position in the list.
  for (const std::vector<uint32_t>& rank : {std::vector<uint32_t>{2, 0, 1}, std::vector<uint32_t>{0, 2, 1}}) {
    ClusterState cluster;
    for (const char* n : {"a", "b", "c"}) cluster.AddNode(GpuNode(n));
    SchedulerConfig config;
    config.gpu_policy = "dotprod";  // integer scores: identical idle nodes tie
    config.tie_rank = &rank;
    Scheduler s(config);
    SchedulingResult r = s.Schedule(cluster, GpuPod("t", 1, 1000));
    ASSERT_NE(r.Best(), nullptr);
    const auto first = static_cast<uint32_t>(std::min_element(rank.begin(), rank.end()) - rank.begin());
    EXPECT_EQ(r.Best()->node, first);
  }
}

// A target workload learned from pods, and replaced: SetWorkload forgets the fragmentation computed against the
// old one (cached per node version), so the same node state is judged against the new shapes at once.
TEST(GpuPolicies, TargetWorkloadLearnedFromPodsAndReplaced) {
  std::vector<PodRequest> pods;
  for (int i = 0; i < 6; ++i) pods.push_back(GpuPod("w" + std::to_string(i), 1, 1000));
  for (int i = 0; i < 3; ++i) pods.push_back(GpuPod("s" + std::to_string(i), 1, 500));
  pods.push_back(GpuPod("rare", 2, 1000));
  const TargetWorkload w = TargetWorkload::FromPods(pods, 0.9);
  ASSERT_EQ(w.shapes.size(), 2u) << "the two shapes covering 90 % of the pods; the rare one is cut";
  EXPECT_EQ(w.shapes[0].gpu_milli, 1000);
  EXPECT_NEAR(w.shapes[0].weight, 6.0 / 9.0, 1e-9);
  EXPECT_TRUE(w.CloseTo(TargetWorkload::FromPods(pods, 0.9), 0.0));
  EXPECT_FALSE(w.CloseTo(TargetWorkload::FromPods(pods, 1.0), 0.5)) << "a shape more";

  ClusterState cluster;
  cluster.AddNode(GpuNode("n"));
  ASSERT_TRUE(cluster.Reserve(GpuPod("half", 1, 500), Placement{0, 0, false, false, false, 0b0001, 0}).ok());
  GpuContext ctx;
  ctx.SetWorkload(TargetWorkload{{{1000, 500, 1, {}, 1.0}}});  // half shares: the half card is usable
  EXPECT_EQ(ctx.NodeFragmentationCached(cluster, 0), 0.0);
  ctx.SetWorkload(TargetWorkload{{{1000, 1000, 1, {}, 1.0}}});  // whole cards: the half card is stranded
  EXPECT_EQ(ctx.NodeFragmentationCached(cluster, 0), 500.0) << "same node version, new workload";
}

// What a device plugin hands a pod nobody placed: first cards that fit (whole cards only untouched ones, shares
// by compute and memory), first RDMA NICs; incomplete when the node has too few.
TEST(DeviceGuess, FirstFitCardsAndNics) {
  NodeState n = GpuNode("n");
  n.gpus[0].free_milli = 400;  // 60 % taken
  n.gpus[1].free_memory_mib = 1024;
  n.nics[0].rdma = false;
  DeviceGuess share = FirstFitDevices(n, GpuPod("s", 1, 500, 2048));
  EXPECT_EQ(share.gpu_mask, 0b0100u) << "card 0 lacks compute, card 1 memory";
  EXPECT_TRUE(share.complete);
  DeviceGuess whole = FirstFitDevices(n, GpuPod("w", 2, 1000, 0, 1));
  EXPECT_EQ(whole.gpu_mask, 0b1100u) << "only untouched cards";
  EXPECT_EQ(whole.nic_mask, 0b10u) << "the first RDMA NIC";
  EXPECT_TRUE(whole.complete);
  EXPECT_FALSE(FirstFitDevices(n, GpuPod("x", 3, 1000)).complete);
}

// Seeded property test over the shared GPU topologies: shares never pass a card's compute or memory, whole cards
// are never shared, and whenever a free same-switch set exists for a GPU+RDMA pod it is the one chosen.
TEST(GpuProperty, NoCardOverCommittedWholeCardsAloneSameSwitchWhenFree) {
  std::vector<topology::NodeTopology> topologies;
  for (const char* f : {"nvidiaDGX2.xml", "topo.jrc0386.xml", "corona.xml", "sierra.xml", "tuo.SPX.xml"}) {
    if (!testing::SharedAvailable(std::string("topologies/") + f)) continue;
    topology::DiscoveryOptions o;
    o.xml_path = testing::SharedPath(std::string("topologies/") + f);
    auto r = topology::DiscoverTopology(o);
    if (r.ok()) topologies.push_back(r->topology);
  }
  if (topologies.empty()) GTEST_SKIP() << "../shared/topologies absent";
  for (uint64_t seed : {7u, 8u}) {
    std::mt19937_64 rng(seed);
    ClusterState cluster;
    for (int i = 0; i < 20; ++i) {
      cluster.AddNode(NodeStateFromTopology("n" + std::to_string(i),
                                            topologies[static_cast<size_t>(i) % topologies.size()], {}));
    }
    for (const std::string& policy : GpuPolicyNames()) {
      ClusterState c = cluster;
      SchedulerConfig config;
      config.gpu_policy = policy;
      Scheduler s(config);
      std::map<std::pair<uint32_t, int>, int> whole_owner;  // (node, card) -> whole-card pods on it
      for (int i = 0; i < 600; ++i) {
        PodRequest p = GpuPod(policy + std::to_string(i), 1, 10 * (1 + static_cast<int64_t>(rng() % 100)),
                              static_cast<int64_t>(rng() % 8000));
        const int kind = static_cast<int>(rng() % 4);
        if (kind == 0) {
          p.gpu.count = 1 + static_cast<int>(rng() % 4);
          p.gpu.milli_per_gpu = 1000;
          p.gpu.memory_mib_per_gpu = 0;
        } else if (kind == 1) {
          p.gpu.rdma_nics = 1;
          p.gpu.count = 1 + static_cast<int>(rng() % 2);
          p.gpu.milli_per_gpu = 1000;
        }
        SchedulingResult r = s.Schedule(c, p);
        const NodeVerdict* best = r.Best();
        if (best == nullptr) continue;
        // Same switch whenever some switch on that node holds enough free cards and an RDMA NIC.
        if (p.gpu.rdma_nics > 0 && p.gpu.count > 0) {
          const NodeState& n = c.node(best->node);
          bool switch_set_free = false;
          for (const NicState& nic : n.nics) {
            if (!nic.rdma || nic.switch_id < 0) continue;
            int free = 0;
            for (const GpuState& g : n.gpus) free += g.switch_id == nic.switch_id && g.Untouched();
            switch_set_free = switch_set_free || free >= p.gpu.count;
          }
          if (switch_set_free) {
            EXPECT_EQ(best->device_level, 0) << policy << " pod " << i;
          }
        }
        ASSERT_TRUE(c.Reserve(p, best->placement).ok()) << policy << " pod " << i;
        if (p.gpu.whole_cards()) {
          for (int k = 0; k < 64; ++k) {
            if (best->placement.gpu_mask >> k & 1) whole_owner[{best->node, k}]++;
          }
        }
      }
      for (uint32_t n = 0; n < c.node_count(); ++n) {
        for (size_t k = 0; k < c.node(n).gpus.size(); ++k) {
          const GpuState& g = c.node(n).gpus[k];
          ASSERT_GE(g.free_milli, 0);
          ASSERT_GE(g.free_memory_mib, 0);
          if (whole_owner.count({n, static_cast<int>(k)})) {
            const int owners = whole_owner[{n, static_cast<int>(k)}];
            ASSERT_EQ(owners, 1) << "a whole card has one owner";
            ASSERT_EQ(g.free_milli, 0) << "and nobody else on it";
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace tessera::scoring
