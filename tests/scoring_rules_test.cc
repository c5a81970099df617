// Table-driven tests of every scheduling rule, through the public entry point: Scheduler::Schedule on a
// ClusterState, then ClusterState::Reserve.
#include <gtest/gtest.h>

#include "scoring/scheduler.h"
#include "scoring/topology_manager.h"
#include "tests/scoring_test_util.h"

namespace tessera::scoring {
namespace {

using namespace testutil;  // NOLINT(google-build-using-namespace): test builders

struct Harness {
  ClusterState cluster;
  Scheduler scheduler{SchedulerConfig{}};

  explicit Harness(SchedulerConfig config = {}) : scheduler(config) {}

  SchedulingResult Run(const PodRequest& pod) { return scheduler.Schedule(cluster, pod); }

  // Schedules and reserves; returns the chosen node's name ("" when unschedulable).
  std::string Place(const PodRequest& pod) {
    SchedulingResult r = Run(pod);
    const NodeVerdict* best = r.Best();
    if (best == nullptr) return "";
    Status s = cluster.Reserve(pod, best->placement);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return cluster.node(best->node).name;
  }

  // NUMA ids where `uid` sits.
  std::vector<int> NumasOf(const std::string& uid) {
    std::vector<int> out;
    const LedgerEntry* e = cluster.FindPod(uid);
    if (e == nullptr) return out;
    const NodeState& n = cluster.node(e->placement.node);
    for (size_t i = 0; i < n.numas.size(); ++i) {
      if (e->placement.numa_mask >> i & 1) out.push_back(n.numas[i].id);
    }
    return out;
  }
};

std::string OnlyReason(const SchedulingResult& r) {
  EXPECT_EQ(r.best, -1);
  return r.verdicts.empty() ? "" : std::string(r.verdicts[0].failed_plugin) + ": " + r.verdicts[0].reason;
}

TEST(NumaBinding, FitsInsideOneNumaNodeNotAcrossTwo) {
  Harness h;
  h.cluster.AddNode(TwoSocketNode("n1", 1, 8, 32));
  EXPECT_EQ(h.Place(Dedicated("small", 6, 8)), "n1");
  EXPECT_EQ(h.NumasOf("uid-small").size(), 1u);
  // 10 CPUs exist on the node (16 total, 10 free) but no single NUMA node has 10.
  SchedulingResult r = h.Run(Dedicated("big", 10, 8));
  EXPECT_NE(OnlyReason(r).find("NumaPlacement: no NUMA node has 10 free CPUs"), std::string::npos)
      << OnlyReason(r);
  EXPECT_EQ(r.verdicts[0].code, VerdictCode::kUnschedulable) << "the node's state; preemption may help";
  EXPECT_EQ(h.Run(Dedicated("fits", 2, 1)).verdicts[0].code, VerdictCode::kFeasible);
  EXPECT_EQ(h.scheduler.Schedule(h.cluster, Dedicated("ghost", 2, 1), {7}).verdicts[0].code, VerdictCode::kError)
      << "a node index the state does not hold";
  // Memory counts too.
  r = h.Run(Dedicated("fat", 1, 33));
  EXPECT_EQ(r.best, -1);
}

TEST(NumaBinding, PrefersANumaNodeAlreadyInUseSoIdleOnesStayWhole) {
  Harness h;
  h.cluster.AddNode(TwoSocketNode("n1", 2, 8, 32));
  ASSERT_EQ(h.Place(Dedicated("a", 4, 4)), "n1");
  const std::vector<int> a = h.NumasOf("uid-a");
  ASSERT_EQ(h.Place(Dedicated("b", 2, 4)), "n1");
  EXPECT_EQ(h.NumasOf("uid-b"), a);
  // Does not fit beside a: takes another NUMA node.
  ASSERT_EQ(h.Place(Dedicated("c", 6, 4)), "n1");
  EXPECT_NE(h.NumasOf("uid-c"), a);
}

TEST(NumaExclusive, TakesFewestWholeNumaNodesInOneSocket) {
  Harness h;
  h.cluster.AddNode(TwoSocketNode("n1", 2, 8, 32));   // NUMA 0,1 socket 0; 2,3 socket 1
  ASSERT_EQ(h.Place(Dedicated("busy", 2, 2)), "n1");  // lands on NUMA 0
  ASSERT_EQ(h.NumasOf("uid-busy"), std::vector<int>{0});
  // 12 CPUs: two whole NUMA nodes; NUMA 0 is not idle, so socket 1 (2 and 3) is the one-socket choice.
  ASSERT_EQ(h.Place(Dedicated("excl", 12, 40, true)), "n1");
  EXPECT_EQ(h.NumasOf("uid-excl"), (std::vector<int>{2, 3}));
  // Nothing else may land on them, even a pod that fits their leftovers.
  SchedulingResult r = h.Run(Dedicated("tiny", 1, 1));
  ASSERT_NE(r.Best(), nullptr);
  const uint64_t mask = r.Best()->placement.numa_mask;
  EXPECT_TRUE(mask == 1 || mask == 2) << mask;
  // A second 12-CPU exclusive pod has only NUMA 1 idle left: unschedulable.
  EXPECT_NE(OnlyReason(h.Run(Dedicated("excl2", 12, 8, true))).find("numa_exclusive"), std::string::npos);
}

TEST(SharedPool, DedicatedPlacementNeverStarvesRunningSharedPods) {
  Harness h;
  h.cluster.AddNode(TwoSocketNode("n1", 1, 8, 32));
  ASSERT_EQ(h.Place(Shared("web", 12000, 8)), "n1");
  // 4 CPUs are left in the shared pool: pinning 6 would leave 10 for 12 CPUs of running shared pods.
  SchedulingResult r = h.Run(Dedicated("db", 6, 4));
  EXPECT_NE(OnlyReason(r).find("QoSPoolFit: pinning insufficient CPU"), std::string::npos) << OnlyReason(r);
  EXPECT_EQ(h.Place(Dedicated("db-small", 4, 4)), "n1");
  // And shared pods see the pool shrink.
  EXPECT_EQ(h.Run(Shared("web2", 500, 1)).best, -1);
}

TEST(SharedPool, SharedAndSystemPodsFitAtNodeLevel) {
  Harness h;
  h.cluster.AddNode(TwoSocketNode("n1", 1, 8, 32));
  ASSERT_EQ(h.Place(Dedicated("pinned", 4, 4)), "n1");
  EXPECT_EQ(h.Run(Shared("too-big", 12500, 1)).best, -1);
  PodRequest sys = Shared("sys", 12000, 1);
  sys.qos = QosLevel::kSystemCores;
  EXPECT_EQ(h.Place(sys), "n1");
  EXPECT_EQ(h.cluster.node(0).shared_cpu_used_milli, 12000);
}

TEST(Reclaimed, NodePoolAndPerNumaPoolWhenBound) {
  Harness h;
  h.cluster.AddNode(Node("n1", {{8, 32, 0}, {8, 32, 1}}, {}, 0.5));  // 4 reclaimed CPUs per NUMA node
  PodRequest batch = Pod("batch", QosLevel::kReclaimedCores, 0, 0);
  batch.reclaimed_milli_cpu = 6000;
  batch.reclaimed_memory_bytes = 4 * kGi;
  EXPECT_EQ(h.Place(batch), "n1");  // 6 of the node's 8 reclaimed CPUs
  PodRequest bound = batch;
  bound.name = "bound";
  bound.uid = "uid-bound";
  bound.numa_binding = true;
  bound.reclaimed_milli_cpu = 3000;
  // Node level has 2 left, so it fails before the per-NUMA check even looks... but NUMA-bound reclaimed pods
  // are judged per NUMA node: 4 each, none used per NUMA yet.
  EXPECT_EQ(h.Place(bound), "n1");
  EXPECT_EQ(h.NumasOf("uid-bound").size(), 1u);
  bound.name = "bound2";
  bound.uid = "uid-bound2";
  bound.reclaimed_milli_cpu = 5000;
  EXPECT_NE(OnlyReason(h.Run(bound)).find("reclaimed"), std::string::npos);
  PodRequest more = batch;
  more.uid = "uid-more";
  more.reclaimed_milli_cpu = 3000;
  EXPECT_NE(OnlyReason(h.Run(more)).find("insufficient reclaimed resources"), std::string::npos);
}

struct AdmissionCase {
  const char* name;
  TopologyPolicy policy;
  TopologyScope scope;
  std::vector<int> pinned_cpus_per_numa;  // already pinned, cores
  std::vector<int> container_cores;
  bool admit;
  uint64_t affinity;
};

TEST(TopologyManager, KubeletAdmissionTable) {
  const AdmissionCase cases[] = {
      {"single-numa fits", TopologyPolicy::kSingleNumaNode, TopologyScope::kContainer, {0, 0}, {6}, true, 0b01},
      {"single-numa too wide", TopologyPolicy::kSingleNumaNode, TopologyScope::kContainer, {0, 0}, {10}, false, 0},
      {"single-numa second numa",
       TopologyPolicy::kSingleNumaNode,
       TopologyScope::kContainer,
       {4, 0},
       {6},
       true,
       0b10},
      {"restricted minimal two", TopologyPolicy::kRestricted, TopologyScope::kContainer, {0, 0}, {10}, true, 0b11},
      {"restricted fragmented", TopologyPolicy::kRestricted, TopologyScope::kContainer, {4, 4}, {6}, false, 0},
      {"best-effort fragmented", TopologyPolicy::kBestEffort, TopologyScope::kContainer, {4, 4}, {6}, true, 0b11},
      {"none", TopologyPolicy::kNone, TopologyScope::kContainer, {4, 4}, {6}, true, 0},
      {"container scope splits",
       TopologyPolicy::kSingleNumaNode,
       TopologyScope::kContainer,
       {0, 0},
       {6, 6},
       true,
       0b11},
      {"pod scope cannot split", TopologyPolicy::kSingleNumaNode, TopologyScope::kPod, {0, 0}, {6, 6}, false, 0},
      {"pod scope fits", TopologyPolicy::kSingleNumaNode, TopologyScope::kPod, {0, 0}, {3, 3}, true, 0b01},
  };
  for (const AdmissionCase& c : cases) {
    NodePolicies p{c.policy, c.scope, true, false};
    NodeState node = Node("n", {{8, 64, 0}, {8, 64, 1}}, p);
    for (size_t i = 0; i < c.pinned_cpus_per_numa.size(); ++i) {
      node.numas[i].pinned_cpu_milli = c.pinned_cpus_per_numa[i] * 1000;
      node.pinned_cpu_milli += node.numas[i].pinned_cpu_milli;
    }
    PodRequest pod = Pod("p", QosLevel::kSharedCores, 0, 0);
    pod.containers.clear();
    for (size_t i = 0; i < c.container_cores.size(); ++i) {
      pod.containers.push_back({"c" + std::to_string(i), c.container_cores[i] * int64_t{1000}, kGi, true});
      pod.cpu_milli += c.container_cores[i] * int64_t{1000};
      pod.memory_bytes += kGi;
    }
    AdmissionResult r = CheckTopologyAdmission(node, pod, ResourcePolicy::kNative);
    EXPECT_EQ(r.admit, c.admit) << c.name << ": " << r.reason;
    if (r.admit) {
      EXPECT_EQ(r.affinity, c.affinity) << c.name;
    } else {
      EXPECT_NE(r.reason.find("would reject"), std::string::npos) << c.name;
    }
  }
}

TEST(TopologyManager, ProvidersFollowTheKubeletsManagers) {
  NodeState node = Node("n", {{8, 64, 0}, {8, 64, 1}},
                        {TopologyPolicy::kSingleNumaNode, TopologyScope::kContainer, false, false});
  PodRequest pod = Pod("p", QosLevel::kSharedCores, 10000, 1);
  // No static CPU manager, no Static memory manager: no hints, nothing to reject.
  EXPECT_TRUE(CheckTopologyAdmission(node, pod, ResourcePolicy::kNative).admit);
  node.cpu_manager_static = true;
  EXPECT_FALSE(CheckTopologyAdmission(node, pod, ResourcePolicy::kNative).admit);
  pod.guaranteed = false;  // Burstable: the static CPU manager ignores it
  pod.containers[0].guaranteed = false;
  EXPECT_TRUE(CheckTopologyAdmission(node, pod, ResourcePolicy::kNative).admit);
  // Guaranteed with fractional CPU: memory hints only under the Static memory manager.
  PodRequest frac = Pod("f", QosLevel::kSharedCores, 1500, 80);
  EXPECT_TRUE(CheckTopologyAdmission(node, frac, ResourcePolicy::kNative).admit);
  node.memory_manager_static = true;
  EXPECT_FALSE(CheckTopologyAdmission(node, frac, ResourcePolicy::kNative).admit);
}

TEST(TopologyManager, NoTopologyManagerBeyondEightNumaNodesAndNumericSocketRule) {
  std::vector<NumaSpec> sixteen(16, NumaSpec{4, 16, 0});
  for (int i = 8; i < 16; ++i) sixteen[static_cast<size_t>(i)].socket = 1;
  NodeState big = Node("big", sixteen, {TopologyPolicy::kSingleNumaNode, TopologyScope::kContainer, true, true});
  EXPECT_TRUE(
      CheckTopologyAdmission(big, Pod("p", QosLevel::kSharedCores, 12000, 1), ResourcePolicy::kNative).admit);

  // Numeric: a 2-NUMA mask may not span sockets when sockets hold 2 NUMA nodes each.
  NodeState n = TwoSocketNode("n", 2, 8, 32, {TopologyPolicy::kNumeric, TopologyScope::kContainer, true, false});
  n.numas[0].pinned_cpu_milli = 8000;  // NUMA 0 full: {1,2} would span sockets, {2,3} is the answer
  AdmissionResult r =
      CheckTopologyAdmission(n, Pod("p", QosLevel::kSharedCores, 12000, 1), ResourcePolicy::kNative);
  EXPECT_TRUE(r.admit) << r.reason;
  EXPECT_EQ(r.affinity, 0b1100u);
  NodeState restricted = n;
  restricted.topology_policy = TopologyPolicy::kRestricted;
  EXPECT_EQ(CheckTopologyAdmission(restricted, Pod("p", QosLevel::kSharedCores, 12000, 1), ResourcePolicy::kNative)
                .affinity,
            0b0110u);
}

TEST(TopologyManager, EveryDynamicPlacementPassesAdmission) {
  // dedicated numa_binding pods under single-numa-node: the scheduler's placement is one NUMA node, admitted.
  Harness h;
  h.cluster.AddNode(
      TwoSocketNode("n1", 2, 8, 32, {TopologyPolicy::kSingleNumaNode, TopologyScope::kContainer, false, false}));
  for (int i = 0; i < 4; ++i) EXPECT_EQ(h.Place(Dedicated("d" + std::to_string(i), 7, 8)), "n1");
  EXPECT_EQ(h.Run(Dedicated("d5", 2, 8)).best, -1);
  // An exclusive pod needing two NUMA nodes cannot pass single-numa-node.
  Harness h2;
  h2.cluster.AddNode(
      TwoSocketNode("n1", 2, 8, 32, {TopologyPolicy::kSingleNumaNode, TopologyScope::kContainer, false, false}));
  SchedulingResult r = h2.Run(Dedicated("x", 12, 8, true));
  EXPECT_NE(OnlyReason(r).find("TopologyManagerAdmission"), std::string::npos) << OnlyReason(r);
  h2.cluster = ClusterState();
  h2.cluster.AddNode(
      TwoSocketNode("n1", 2, 8, 32, {TopologyPolicy::kRestricted, TopologyScope::kContainer, false, false}));
  EXPECT_EQ(h2.Place(Dedicated("x", 12, 8, true)), "n1");
}

TEST(NativePolicy, KubeletChoosesLowestNumaAndAffinityMustAccept) {
  SchedulerConfig config;
  config.resource_policy = ResourcePolicy::kNative;
  Harness h(config);
  NodePolicies p{TopologyPolicy::kSingleNumaNode, TopologyScope::kContainer, true, true};
  h.cluster.AddNode(TwoSocketNode("n1", 1, 8, 32, p));
  PodRequest ps = Pod("ps", QosLevel::kSharedCores, 4000, 4);  // Guaranteed, whole CPUs: bound in native mode
  ps.labels["role"] = "ps";
  ASSERT_EQ(h.Place(ps), "n1");
  EXPECT_EQ(h.NumasOf("uid-ps"), std::vector<int>{0});
  PodRequest worker = Pod("worker", QosLevel::kSharedCores, 2000, 2);
  worker.anti_affinity.required.push_back(Term("role", "ps"));
  // The kubelet would take NUMA 0 (lowest with room), which the anti-affinity forbids: nobody can steer it.
  SchedulingResult r = h.Run(worker);
  EXPECT_NE(OnlyReason(r).find("the kubelet would place it on NUMA 0"), std::string::npos) << OnlyReason(r);
  // Burstable pods are not bound in native mode: they float, and their terms are not applied.
  PodRequest burst = Shared("burst", 2000, 2);
  burst.anti_affinity.required.push_back(Term("role", "ps"));
  EXPECT_EQ(h.Place(burst), "n1");
}

TEST(NumaAffinity, TensorFlowWorkersStayOffParameterServerNumaNodes) {
  Harness h;
  h.cluster.AddNode(TwoSocketNode("n1", 2, 16, 64));
  PodRequest ps = Dedicated("ps-0", 4, 8);
  ps.namespace_name = "ml";
  ps.labels = {{"app", "tf"}, {"role", "ps"}};
  ASSERT_EQ(h.Place(ps), "n1");
  const std::vector<int> ps_numa = h.NumasOf("uid-ps-0");
  for (int i = 0; i < 3; ++i) {
    PodRequest w = Dedicated("worker-" + std::to_string(i), 4, 8);
    w.namespace_name = "ml";
    w.labels = {{"app", "tf"}, {"role", "worker"}};
    w.anti_affinity.required.push_back(Term("role", "ps"));
    ASSERT_EQ(h.Place(w), "n1") << i;
    EXPECT_NE(h.NumasOf(w.uid), ps_numa) << "worker " << i << " must not share the PS NUMA node";
  }
  // Namespaces: the same labels in another namespace do not repel.
  PodRequest other = Dedicated("other", 4, 8);
  other.namespace_name = "web";
  other.anti_affinity.required.push_back(Term("role", "ps"));
  SchedulingResult r = h.Run(other);
  ASSERT_NE(r.Best(), nullptr);
}

TEST(NumaAffinity, AntiAffinityIsSymmetricAndSocketZoneCoversTheSocket) {
  Harness h;
  h.cluster.AddNode(TwoSocketNode("n1", 2, 16, 64));
  PodRequest ps = Dedicated("ps", 4, 8);
  ps.labels = {{"role", "ps"}};
  ps.anti_affinity.required.push_back(Term("role", "worker", NumaAffinityTerm::Zone::kSocket));
  ASSERT_EQ(h.Place(ps), "n1");
  const int ps_socket = h.NumasOf("uid-ps")[0] < 2 ? 0 : 1;
  PodRequest w = Dedicated("w", 4, 8);
  w.labels = {{"role", "worker"}};  // no terms of its own: repelled by the PS's term
  ASSERT_EQ(h.Place(w), "n1");
  const int w_socket = h.NumasOf("uid-w")[0] < 2 ? 0 : 1;
  EXPECT_NE(w_socket, ps_socket);
}

TEST(NumaAffinity, RequiredAffinityAndTheResourceIntersection) {
  Harness h;
  h.cluster.AddNode(TwoSocketNode("n1", 1, 8, 32));
  PodRequest partner = Dedicated("partner", 6, 4);
  partner.labels = {{"pair", "a"}};
  // First of its group: its own term matches nobody yet and matches itself, so it may land anywhere.
  partner.affinity.required.push_back(Term("pair", "a"));
  ASSERT_EQ(h.Place(partner), "n1");
  const std::vector<int> where = h.NumasOf("uid-partner");
  PodRequest buddy = Dedicated("buddy", 2, 4);
  buddy.labels = {{"pair", "a"}};
  buddy.affinity.required.push_back(Term("pair", "a"));
  ASSERT_EQ(h.Place(buddy), "n1");
  EXPECT_EQ(h.NumasOf("uid-buddy"), where);
  // Affinity allows only that NUMA node, which is now full: the node fails even though the other NUMA is empty.
  PodRequest third = Dedicated("third", 2, 4);
  third.affinity.required.push_back(Term("pair", "a"));
  SchedulingResult r = h.Run(third);
  EXPECT_NE(OnlyReason(r).find("NumaPlacement: no allowed NUMA node"), std::string::npos) << OnlyReason(r);
  // Someone who requires a group that does not exist and is not in it cannot be placed.
  PodRequest lonely = Dedicated("lonely", 1, 1);
  lonely.affinity.required.push_back(Term("pair", "zzz"));
  EXPECT_NE(OnlyReason(h.Run(lonely)).find("NumaAffinity"), std::string::npos);
}

TEST(NumaAffinity, PreferredTermsSteerBetweenNodes) {
  Harness h;
  h.cluster.AddNode(TwoSocketNode("a", 1, 16, 64));
  h.cluster.AddNode(TwoSocketNode("b", 1, 16, 64));
  PodRequest cache = Dedicated("cache", 2, 2);
  cache.labels = {{"app", "cache"}};
  // Put the cache on node b by hand.
  SchedulingResult r = h.scheduler.Schedule(h.cluster, cache, {1});
  ASSERT_TRUE(h.cluster.Reserve(cache, r.Best()->placement).ok());
  PodRequest app = Dedicated("app", 2, 2);
  app.affinity.preferred.push_back(Term("app", "cache", NumaAffinityTerm::Zone::kNuma, 50));
  EXPECT_EQ(h.Place(app), "b");
  EXPECT_EQ(h.NumasOf("uid-app"), h.NumasOf("uid-cache"));
  // Inside a node, too: a preferred anti-affinity steers away from the cache's socket rather than onto its NUMA
  // node.
  Harness one;
  one.cluster.AddNode(TwoSocketNode("n", 1, 16, 64));
  ASSERT_EQ(one.Place(cache), "n");
  PodRequest loner = Dedicated("loner", 2, 2);
  loner.anti_affinity.preferred.push_back(Term("app", "cache", NumaAffinityTerm::Zone::kSocket, 80));
  ASSERT_EQ(one.Place(loner), "n");
  EXPECT_NE(one.NumasOf("uid-loner"), one.NumasOf("uid-cache"));
}

TEST(BadInput, InvalidPodsFailEveryNodeWithOneReasonAndLeaveTheLedger) {
  Harness h;
  h.cluster.AddNode(TwoSocketNode("n1", 1, 8, 32));
  h.cluster.AddNode(TwoSocketNode("n2", 1, 8, 32));
  ASSERT_EQ(h.Place(Dedicated("ok", 2, 2)), "n1");
  const NodeState before = h.cluster.node(0);

  PodRequest fractional = Dedicated("frac", 1, 1);
  fractional.cpu_milli = 1500;
  PodRequest excl_no_bind = Dedicated("x", 2, 2, true);
  excl_no_bind.numa_binding = false;
  PodRequest negative = Shared("neg", -1, 1);
  PodRequest absurd = Shared("absurd", int64_t{1} << 60, 1);
  PodRequest excl_affinity = Dedicated("ea", 2, 2, true);
  excl_affinity.affinity.required.push_back(Term("a", "b"));
  PodRequest empty_selector = Dedicated("es", 2, 2);
  empty_selector.anti_affinity.required.push_back(NumaAffinityTerm{});
  PodRequest shared_binding = Shared("sb", 1000, 1);
  shared_binding.numa_binding = true;
  const std::pair<PodRequest, const char*> cases[] = {
      {fractional, "whole CPUs"},
      {excl_no_bind, "numa_exclusive requires numa_binding"},
      {negative, "negative"},
      {absurd, "absurdly large"},
      {excl_affinity, "numa_exclusive"},
      {empty_selector, "empty selector"},
      {shared_binding, "numa_binding applies to"},
  };
  for (const auto& [pod, expected] : cases) {
    SchedulingResult r = h.Run(pod);
    EXPECT_EQ(r.best, -1) << pod.name;
    ASSERT_EQ(r.verdicts.size(), 2u);
    for (const NodeVerdict& v : r.verdicts) {
      EXPECT_EQ(v.failed_plugin, "PodValidation");
      EXPECT_EQ(v.code, VerdictCode::kUnresolvable);
      EXPECT_NE(v.reason.find(expected), std::string::npos) << pod.name << ": " << v.reason;
      EXPECT_EQ(v.reason, r.verdicts[0].reason) << "one reason on every node";
    }
  }
  EXPECT_EQ(h.cluster.pod_count(), 1u);
  EXPECT_EQ(h.cluster.node(0).pinned_cpu_milli, before.pinned_cpu_milli);
}

TEST(Ledger, ReserveUnreserveRestoreExactlyAndRefuseOverCommit) {
  Harness h;
  h.cluster.AddNode(TwoSocketNode("n1", 2, 8, 32));
  const NodeState empty = h.cluster.node(0);
  std::vector<PodRequest> pods = {Dedicated("a", 3, 4), Dedicated("b", 12, 20, true), Shared("c", 2500, 3)};
  for (const PodRequest& p : pods) ASSERT_NE(h.Place(p), "") << p.name;
  EXPECT_EQ(h.cluster.node(0).numas[2].exclusive_holders + h.cluster.node(0).numas[3].exclusive_holders, 2);
  // Duplicate UID, bad mask, over-commit: refused, state intact.
  const NodeState mid = h.cluster.node(0);
  Placement p{0, 0b1, true, true, false};
  EXPECT_TRUE(h.cluster.Reserve(pods[0], p).IsConflict());
  PodRequest huge = Dedicated("huge", 8, 4);
  EXPECT_FALSE(h.cluster.Reserve(huge, p).ok());  // NUMA 0 has 5 CPUs left
  Placement bad_mask{0, uint64_t{1} << 9, true, true, false};
  EXPECT_FALSE(h.cluster.Reserve(Dedicated("m", 1, 1), bad_mask).ok());
  PodRequest on_exclusive = Dedicated("oe", 1, 1);
  EXPECT_FALSE(h.cluster.Reserve(on_exclusive, Placement{0, 0b100, true, true, false}).ok());
  EXPECT_EQ(h.cluster.node(0).pinned_cpu_milli, mid.pinned_cpu_milli);
  EXPECT_EQ(h.cluster.node(0).shared_cpu_used_milli, mid.shared_cpu_used_milli);
  for (const PodRequest& p2 : pods) ASSERT_TRUE(h.cluster.Unreserve(p2.uid).ok());
  EXPECT_TRUE(h.cluster.Unreserve("uid-a").IsNotFound());
  const NodeState& after = h.cluster.node(0);
  EXPECT_EQ(after.pinned_cpu_milli, empty.pinned_cpu_milli);
  EXPECT_EQ(after.pinned_memory, empty.pinned_memory);
  EXPECT_EQ(after.shared_cpu_used_milli, 0);
  for (size_t i = 0; i < after.numas.size(); ++i) {
    EXPECT_TRUE(after.numas[i].Idle());
    EXPECT_TRUE(after.numa_detail[i].pinned_pods.empty());
  }
}

TEST(Ledger, CorrectPlacementMovesThePredictionToWhatTheNodeReported) {
  Harness h;
  h.cluster.AddNode(TwoSocketNode("n1", 1, 8, 32));
  ASSERT_EQ(h.Place(Dedicated("a", 4, 4)), "n1");
  ASSERT_EQ(h.NumasOf("uid-a"), std::vector<int>{0});
  ASSERT_TRUE(h.cluster.CorrectPlacement("uid-a", 0b10).ok());
  EXPECT_EQ(h.NumasOf("uid-a"), std::vector<int>{1});
  EXPECT_EQ(h.cluster.node(0).numas[0].pinned_cpu_milli, 0);
  EXPECT_EQ(h.cluster.node(0).numas[1].pinned_cpu_milli, 4000);
  EXPECT_FALSE(h.cluster.CorrectPlacement("nobody", 1).ok());
}

TEST(Determinism, TiesGoToTheFirstNodeAndRepeatsAgree) {
  Harness h;
  for (const char* n : {"x", "y", "z"}) h.cluster.AddNode(TwoSocketNode(n, 2, 8, 32));
  SchedulingResult a = h.Run(Dedicated("p", 2, 2));
  SchedulingResult b = h.Run(Dedicated("p", 2, 2));
  ASSERT_NE(a.Best(), nullptr);
  EXPECT_EQ(a.Best()->node, 0u);
  EXPECT_EQ(a.Best()->score, b.Best()->score);
  EXPECT_EQ(a.Best()->placement.numa_mask, b.Best()->placement.numa_mask);
}

TEST(Scoring, StrategiesRankAsNamed) {
  SchedulerConfig most;
  Harness pack(most);
  SchedulerConfig least;
  least.strategy = AllocationStrategy::kLeastAllocated;
  Harness spread(least);
  for (Harness* h : {&pack, &spread}) {
    h->cluster.AddNode(TwoSocketNode("empty", 1, 16, 64));
    h->cluster.AddNode(TwoSocketNode("busy", 1, 16, 64));
    SchedulingResult r = h->scheduler.Schedule(h->cluster, Shared("seed", 8000, 16), {1});
    ASSERT_TRUE(h->cluster.Reserve(Shared("seed", 8000, 16), r.Best()->placement).ok());
  }
  EXPECT_EQ(pack.Place(Shared("p", 2000, 2)), "busy");
  EXPECT_EQ(spread.Place(Shared("p", 2000, 2)), "empty");
}

}  // namespace
}  // namespace tessera::scoring
