// The verdict memo never changes a decision: a seeded run schedules and reserves pods of a few shapes (a
// Deployment's replicas) with and without the memo, and every verdict, score and choice is the same; reserving
// on a node invalidates that node only; pods with affinity terms bypass it.
#include "scoring/verdict_memo.h"

#include <gtest/gtest.h>

#include <random>

#include "scoring/gpu_policy.h"
#include "scoring/scheduler.h"
#include "tests/scoring_test_util.h"

namespace tessera::scoring {
namespace {

using testutil::Dedicated;
using testutil::Shared;
using testutil::TwoSocketNode;

ClusterState Cluster(int nodes) {
  ClusterState c;
  NodePolicies p;
  p.topology_policy = TopologyPolicy::kSingleNumaNode;
  for (int i = 0; i < nodes; ++i) c.AddNode(TwoSocketNode("n" + std::to_string(i), 2, 8 + 4 * (i % 3), 64, p));
  return c;
}

void ExpectSame(const SchedulingResult& a, const SchedulingResult& b, const std::string& what) {
  ASSERT_EQ(a.verdicts.size(), b.verdicts.size()) << what;
  EXPECT_EQ(a.best, b.best) << what;
  for (size_t i = 0; i < a.verdicts.size(); ++i) {
    const NodeVerdict& x = a.verdicts[i];
    const NodeVerdict& y = b.verdicts[i];
    EXPECT_EQ(x.feasible(), y.feasible()) << what << " node " << i;
    EXPECT_EQ(x.failed_plugin, y.failed_plugin) << what << " node " << i;
    EXPECT_EQ(x.reason, y.reason) << what << " node " << i;
    EXPECT_EQ(x.score, y.score) << what << " node " << i;
    EXPECT_EQ(x.placement.numa_mask, y.placement.numa_mask) << what << " node " << i;
  }
}

TEST(VerdictMemo, SameDecisionsAsWithoutItAcrossASeededRun) {
  ClusterState cluster = Cluster(40);
  Scheduler scheduler(SchedulerConfig{});
  VerdictMemo memo;
  std::vector<uint32_t> all(cluster.node_count());
  for (uint32_t i = 0; i < all.size(); ++i) all[i] = i;
  std::mt19937 rng(7);
  SchedulingResult with, without;
  int shape = 0;
  for (int k = 0; k < 300; ++k) {
    // Three shapes, as three Deployments' replicas: runs of one shape (average 8), then another.
    if (rng() % 8 == 0) shape = static_cast<int>(rng() % 3);
    PodRequest pod = shape == 0   ? Dedicated("d" + std::to_string(k), 4, 8)
                     : shape == 1 ? Dedicated("e" + std::to_string(k), 6, 16)
                                  : Shared("s" + std::to_string(k), 2000, 4);
    const std::string key = "shape-" + std::to_string(shape);
    scheduler.ScheduleInto(cluster, pod, all, &with, &memo, key);
    scheduler.ScheduleInto(cluster, pod, all, &without);
    ExpectSame(with, without, "pod " + std::to_string(k));
    if (const NodeVerdict* best = with.Best()) {
      ASSERT_TRUE(cluster.Reserve(pod, best->placement).ok());
    }
    if (k % 7 == 3 && cluster.pod_count() > 0) {  // now and then a pod leaves
      const std::string uid = cluster.entry(0).pod.uid;
      if (!uid.empty()) (void)cluster.Unreserve(uid);
    }
  }
  EXPECT_GT(memo.hits(), memo.misses()) << "runs of one shape reuse most nodes";
}

// GPU policies are functions of the node and the pod, so the memo serves them too; the same decisions (cards
// included) for each policy, and none for one that draws at random (it bypasses the memo).
TEST(VerdictMemo, GpuPoliciesSameDecisionsAndRandomBypasses) {
  for (const std::string policy : {"fgd", "tessera", "bestfit", "dotprod", "packing", "clustering", "random"}) {
    ClusterState cluster;
    for (int i = 0; i < 12; ++i) {
      NodeState n = TwoSocketNode("g" + std::to_string(i), 2, 16, 64, {});
      n.gpus.resize(static_cast<size_t>(2 + 2 * (i % 3)));
      for (GpuState& g : n.gpus) g.model = i % 2 ? "T4" : "V100";
      cluster.AddNode(n);
    }
    GpuContext ctx;
    ctx.workload = TargetWorkload{{{2000, 500, 1, {}, 0.5}, {4000, 1000, 2, {}, 0.5}}};
    SchedulerConfig config;
    config.gpu_policy = policy;
    config.gpu_context = &ctx;
    Scheduler scheduler(config);
    VerdictMemo memo;
    std::vector<uint32_t> all(cluster.node_count());
    for (uint32_t i = 0; i < all.size(); ++i) all[i] = i;
    std::mt19937 rng(11);
    SchedulingResult with, without;
    for (int k = 0; k < 120; ++k) {
      const int shape = static_cast<int>(rng() % 3);
      PodRequest pod = Shared("p" + std::to_string(k), 1000 + 1000 * shape, 2);
      pod.gpu.count = shape == 2 ? 2 : 1;
      pod.gpu.milli_per_gpu = shape == 0 ? 300 : shape == 1 ? 500 : 1000;
      const std::string key = "gpu-" + std::to_string(shape);
      scheduler.ScheduleInto(cluster, pod, all, &with, &memo, key);
      if (policy != "random") {
        scheduler.ScheduleInto(cluster, pod, all, &without);
        ExpectSame(with, without, policy + " pod " + std::to_string(k));
        for (size_t i = 0; i < with.verdicts.size(); ++i) {
          EXPECT_EQ(with.verdicts[i].placement.gpu_mask, without.verdicts[i].placement.gpu_mask) << policy;
        }
      }
      if (const NodeVerdict* best = with.Best()) {
        ASSERT_TRUE(cluster.Reserve(pod, best->placement).ok());
      }
    }
    if (policy == "random") {
      EXPECT_EQ(memo.hits(), 0u) << "a random choice is never reused";
    } else {
      EXPECT_GT(memo.hits(), 0u) << policy;
    }
  }
}

TEST(VerdictMemo, AffinityTermsBypassIt) {
  ClusterState cluster = Cluster(4);
  Scheduler scheduler(SchedulerConfig{});
  VerdictMemo memo;
  PodRequest pod = Dedicated("a", 4, 8);
  pod.labels["app"] = "ps";
  pod.anti_affinity.required.push_back(testutil::Term("app", "worker"));
  SchedulingResult r;
  scheduler.ScheduleInto(cluster, pod, {0, 1, 2, 3}, &r, &memo, "ps");
  scheduler.ScheduleInto(cluster, pod, {0, 1, 2, 3}, &r, &memo, "ps");
  EXPECT_EQ(memo.hits() + memo.misses(), 0u);
}

}  // namespace
}  // namespace tessera::scoring
