// Seeded property test: random clusters built from the shared hwloc topologies (synthetic ones when ../shared is
// absent) and random pod streams mixing every QoS class, NUMA binding and exclusivity, and TensorFlow-style
// anti-affinity groups. After every placement: no NUMA node or pool is over-committed, every NUMA-bound placement
// passes the Topology Manager check, no required anti-affinity term is violated, and the node counters equal a
// recomputation from the ledger. Pods are also removed at random, which must restore the counters exactly.
#include <gtest/gtest.h>

#include <random>

#include "scoring/numa_placement.h"
#include "scoring/scheduler.h"
#include "scoring/topology_admission.h"
#include "scoring/topology_manager.h"
#include "tests/scoring_test_util.h"
#include "tests/shared_data.h"
#include "topology/hwloc_discovery.h"

namespace tessera::scoring {
namespace {

using testutil::kGi;

std::vector<topology::NodeTopology> Topologies() {
  std::vector<topology::NodeTopology> out;
  for (const char* f : {"topo.jrc0386.xml", "corona.xml", "tuo.SPX.xml", "32em64t-2n8c2t-pci-noio.xml",
                        "topo.dp-intelmax01-flat.xml", "sierra.xml"}) {
    if (!testing::SharedAvailable(std::string("topologies/") + f)) continue;
    topology::DiscoveryOptions o;
    o.xml_path = testing::SharedPath(std::string("topologies/") + f);
    auto r = topology::DiscoverTopology(o);
    if (!r.ok()) {
      ADD_FAILURE() << f << " is present but does not load: " << r.status().message();
      continue;
    }
    out.push_back(r->topology);
  }
  if (out.empty()) {  // synthetic fallback: 2 sockets x 2 NUMA nodes x 16 CPUs
    topology::NodeTopology t;
    t.sockets = {{0, {0, 1}}, {1, {2, 3}}};
    for (int i = 0; i < 4; ++i) {
      topology::NumaNode n{i, i / 2, {}, 8, uint64_t{64} << 30};
      for (int c = 0; c < 16; ++c) n.cpu_ids.push_back(i * 16 + c);
      t.numa_nodes.push_back(n);
    }
    out.push_back(t);
  }
  return out;
}

PodRequest RandomPod(std::mt19937_64& rng, int i, ResourcePolicy policy) {
  PodRequest p;
  p.name = "p" + std::to_string(i);
  p.uid = "uid-" + std::to_string(i);
  p.namespace_name = rng() % 4 == 0 ? "other" : "ml";
  const int kind = static_cast<int>(rng() % 10);
  const int64_t cores = 1 + static_cast<int64_t>(rng() % 12);
  p.cpu_milli = cores * 1000;
  p.memory_bytes = (1 + static_cast<int64_t>(rng() % 32)) * kGi;
  p.guaranteed = true;
  if (kind < 4) {
    p.qos = QosLevel::kDedicatedCores;
    p.numa_binding = true;
    p.numa_exclusive = kind == 0 && rng() % 3 == 0;
    const bool ps = rng() % 3 == 0;
    p.labels = {{"app", "tf"}, {"role", ps ? "ps" : "worker"}};
    if (!ps && !p.numa_exclusive) {
      NumaAffinityTerm t;
      t.selector.match_labels["role"] = "ps";
      t.zone = rng() % 4 == 0 ? NumaAffinityTerm::Zone::kSocket : NumaAffinityTerm::Zone::kNuma;
      p.anti_affinity.required.push_back(t);
    }
    if (ps && rng() % 2 == 0) {
      NumaAffinityTerm t;
      t.selector.match_labels["role"] = "worker";
      p.anti_affinity.required.push_back(t);
    }
  } else if (kind < 7) {
    p.qos = QosLevel::kSharedCores;
    p.cpu_milli = 100 + static_cast<int64_t>(rng() % 4000);
    p.guaranteed = policy == ResourcePolicy::kNative && rng() % 2 == 0;
    if (p.guaranteed) p.cpu_milli = cores * 1000;  // native: Guaranteed whole-CPU pods are NUMA-bound
  } else if (kind < 9) {
    p.qos = QosLevel::kReclaimedCores;
    p.cpu_milli = 0;
    p.memory_bytes = 0;
    p.guaranteed = false;
    p.reclaimed_milli_cpu = 500 + static_cast<int64_t>(rng() % 4000);
    p.reclaimed_memory_bytes = (1 + static_cast<int64_t>(rng() % 8)) * kGi;
    p.numa_binding = policy == ResourcePolicy::kDynamic && rng() % 2 == 0;
  } else {
    p.qos = QosLevel::kSystemCores;
    p.cpu_milli = 100 + static_cast<int64_t>(rng() % 1000);
    p.guaranteed = false;
  }
  p.containers.push_back({"main", p.cpu_milli, p.memory_bytes, p.guaranteed});
  return p;
}

void CheckInvariants(const ClusterState& cluster, const std::vector<std::string>& live, ResourcePolicy policy) {
  std::vector<NodeState> expected;
  for (const NodeState& n : cluster.nodes()) {
    // Capacities with zeroed usage, to recompute usage from the ledger.
    NodeState e = n;
    e.pinned_cpu_milli = e.pinned_memory = e.shared_cpu_used_milli = e.shared_memory_used = 0;
    e.reclaimed_cpu_used_milli = e.reclaimed_memory_used = 0;
    for (NumaState& s : e.numas) s.pinned_cpu_milli = s.pinned_memory = s.exclusive_holders = 0;
    for (NumaDetail& d : e.numa_detail) d.reclaimed_cpu_used_milli = d.reclaimed_memory_used = 0;
    expected.push_back(e);
  }
  for (const std::string& uid : live) {
    const LedgerEntry* le = cluster.FindPod(uid);
    ASSERT_NE(le, nullptr);
    NodeState& e = expected[le->placement.node];
    int64_t pinned_cpu = 0, pinned_mem = 0;
    for (const NumaShare& s : le->shares) {
      if (le->pod.qos == QosLevel::kReclaimedCores) {
        e.numa_detail[static_cast<size_t>(s.numa_index)].reclaimed_cpu_used_milli += s.cpu_milli;
        e.numa_detail[static_cast<size_t>(s.numa_index)].reclaimed_memory_used += s.memory_bytes;
        continue;
      }
      if (le->placement.cpu_pinned) {
        e.numas[static_cast<size_t>(s.numa_index)].pinned_cpu_milli += s.cpu_milli;
        pinned_cpu += s.cpu_milli;
      }
      if (le->placement.memory_pinned) {
        e.numas[static_cast<size_t>(s.numa_index)].pinned_memory += s.memory_bytes;
        pinned_mem += s.memory_bytes;
      }
      if (le->placement.exclusive) ++e.numas[static_cast<size_t>(s.numa_index)].exclusive_holders;
    }
    e.pinned_cpu_milli += pinned_cpu;
    e.pinned_memory += pinned_mem;
    if (le->pod.qos == QosLevel::kReclaimedCores) {
      if (le->shares.empty()) {
        e.reclaimed_cpu_used_milli += le->pod.reclaimed_milli_cpu;
        e.reclaimed_memory_used += le->pod.reclaimed_memory_bytes;
      }
    } else if (!le->placement.exclusive) {
      e.shared_cpu_used_milli += le->pod.cpu_milli - pinned_cpu;
      e.shared_memory_used += le->pod.memory_bytes - pinned_mem;
    }
    // A NUMA-bound non-exclusive dynamic placement is one NUMA node wide.
    if (policy == ResourcePolicy::kDynamic && le->placement.cpu_pinned && !le->placement.exclusive &&
        le->pod.qos == QosLevel::kDedicatedCores) {
      EXPECT_EQ(le->shares.size(), 1u) << uid;
    }
  }
  for (size_t i = 0; i < expected.size(); ++i) {
    const NodeState& n = cluster.node(static_cast<uint32_t>(i));
    const NodeState& e = expected[i];
    ASSERT_EQ(n.pinned_cpu_milli, e.pinned_cpu_milli) << n.name;
    ASSERT_EQ(n.shared_cpu_used_milli, e.shared_cpu_used_milli) << n.name;
    ASSERT_EQ(n.shared_memory_used, e.shared_memory_used) << n.name;
    ASSERT_EQ(n.reclaimed_cpu_used_milli, e.reclaimed_cpu_used_milli) << n.name;
    ASSERT_LE(n.shared_cpu_used_milli, n.SharedPoolCpuMilli()) << n.name;
    ASSERT_LE(n.shared_memory_used, n.SharedPoolMemory()) << n.name;
    ASSERT_LE(n.reclaimed_cpu_used_milli, n.reclaimed_cpu_allocatable_milli) << n.name;
    for (size_t k = 0; k < n.numas.size(); ++k) {
      ASSERT_EQ(n.numas[k].pinned_cpu_milli, e.numas[k].pinned_cpu_milli) << n.name << " numa " << k;
      ASSERT_EQ(n.numas[k].pinned_memory, e.numas[k].pinned_memory);
      ASSERT_EQ(n.numas[k].exclusive_holders, e.numas[k].exclusive_holders);
      ASSERT_LE(n.numas[k].pinned_cpu_milli, n.numas[k].cpu_allocatable_milli) << n.name << " numa " << k;
      ASSERT_LE(n.numas[k].pinned_memory, n.numas[k].memory_allocatable);
      ASSERT_LE(n.numas[k].exclusive_holders, 1);
      ASSERT_LE(n.numa_detail[k].reclaimed_cpu_used_milli, n.numa_detail[k].reclaimed_cpu_allocatable_milli);
    }
  }
}

// Brute force over every pair of pinned pods sharing a NUMA node (or socket for socket terms).
int AntiAffinityViolations(const ClusterState& cluster, const std::vector<std::string>& live) {
  int violations = 0;
  for (const std::string& a_uid : live) {
    const LedgerEntry* a = cluster.FindPod(a_uid);
    if (a->placement.numa_mask == 0 || a->pod.anti_affinity.required.empty()) continue;
    const NodeState& node = cluster.node(a->placement.node);
    for (const std::string& b_uid : live) {
      const LedgerEntry* b = cluster.FindPod(b_uid);
      if (b == a || b->placement.node != a->placement.node || b->placement.numa_mask == 0) continue;
      for (const NumaAffinityTerm& t : a->pod.anti_affinity.required) {
        bool together = false;
        for (size_t i = 0; i < node.numas.size(); ++i) {
          for (size_t j = 0; j < node.numas.size(); ++j) {
            if (!(a->placement.numa_mask >> i & 1) || !(b->placement.numa_mask >> j & 1)) continue;
            together = together || (t.zone == NumaAffinityTerm::Zone::kNuma
                                        ? i == j
                                        : node.numas[i].socket_id == node.numas[j].socket_id);
          }
        }
        const bool ns = t.namespaces.empty() ? b->pod.namespace_name == a->pod.namespace_name : false;
        if (together && ns && t.selector.Matches(b->pod.labels)) ++violations;
      }
    }
  }
  return violations;
}

class ScoringProperty : public ::testing::TestWithParam<std::tuple<ResourcePolicy, uint64_t>> {};

TEST_P(ScoringProperty, NoOverCommitAdmissionOrAntiAffinityViolations) {
  const auto [policy, seed] = GetParam();
  std::mt19937_64 rng(seed);
  const std::vector<topology::NodeTopology> topologies = Topologies();
  ClusterState cluster;
  const TopologyPolicy policies[] = {TopologyPolicy::kSingleNumaNode, TopologyPolicy::kRestricted,
                                     TopologyPolicy::kBestEffort, TopologyPolicy::kNone, TopologyPolicy::kNumeric};
  for (int n = 0; n < 24; ++n) {
    const topology::NodeTopology& t = topologies[static_cast<size_t>(n) % topologies.size()];
    NodePolicies p{policies[rng() % 5], rng() % 3 == 0 ? TopologyScope::kPod : TopologyScope::kContainer,
                   rng() % 4 != 0, rng() % 2 == 0};
    std::vector<NumaCapacity> caps;
    for (const topology::NumaNode& numa : t.numa_nodes) {
      const int64_t cpu = static_cast<int64_t>(numa.cpu_ids.size()) * 1000;
      caps.push_back({numa.id, numa.socket_id, cpu, static_cast<int64_t>(numa.memory_bytes), cpu / 4,
                      static_cast<int64_t>(numa.memory_bytes / 4)});
    }
    cluster.AddNode(MakeNodeState("n" + std::to_string(n), caps, p));
  }
  SchedulerConfig config;
  config.resource_policy = policy;
  config.strategy = static_cast<AllocationStrategy>(rng() % 3);
  Scheduler scheduler(config);
  std::vector<std::string> live;
  int placed = 0, failed = 0;
  for (int i = 0; i < 1500; ++i) {
    if (!live.empty() && rng() % 5 == 0) {
      size_t k = rng() % live.size();
      ASSERT_TRUE(cluster.Unreserve(live[k]).ok());
      live.erase(live.begin() + static_cast<long>(k));
    }
    PodRequest pod = RandomPod(rng, i, policy);
    SchedulingResult r = scheduler.Schedule(cluster, pod);
    const NodeVerdict* best = r.Best();
    if (best == nullptr) {
      ++failed;
      continue;
    }
    // The placement passes the kubelet's admission on the state it was chosen against.
    const NodeState& node = cluster.node(best->node);
    const bool pinned_by_us = policy == ResourcePolicy::kDynamic && IsNumaBound(pod, policy);
    AdmissionResult adm = CheckTopologyAdmission(node, pod, policy, pinned_by_us ? best->placement.numa_mask : 0);
    ASSERT_TRUE(adm.admit) << adm.reason;
    Status s = cluster.Reserve(pod, best->placement);
    ASSERT_TRUE(s.ok()) << "pod " << i << " (" << QosLevelName(pod.qos) << (pod.numa_binding ? " binding" : "")
                        << (pod.numa_exclusive ? " exclusive" : "") << ", cpu " << pod.cpu_milli << ", mem "
                        << pod.memory_bytes << ", mask " << best->placement.numa_mask << "): " << s.ToString();
    live.push_back(pod.uid);
    ++placed;
    if (i % 50 == 0) CheckInvariants(cluster, live, policy);
  }
  CheckInvariants(cluster, live, policy);
  EXPECT_EQ(AntiAffinityViolations(cluster, live), 0);
  EXPECT_GT(placed, 500) << "the stream should mostly fit";
  EXPECT_GT(failed, 0) << "and eventually fill the cluster";
  for (const std::string& uid : live) ASSERT_TRUE(cluster.Unreserve(uid).ok());
  for (const NodeState& n : cluster.nodes()) {
    EXPECT_EQ(n.pinned_cpu_milli, 0);
    EXPECT_EQ(n.shared_cpu_used_milli, 0);
    EXPECT_EQ(n.reclaimed_cpu_used_milli, 0);
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, ScoringProperty,
                         ::testing::Combine(::testing::Values(ResourcePolicy::kDynamic, ResourcePolicy::kNative),
                                            ::testing::Values(1u, 2u, 3u)));

// The admission filter decides "one NUMA node offered, room for every request" without the full Topology Manager
// check; whatever the node, usage, pod, policy and scope, its verdict equals the full check's.
TEST(TopologyManagerAdmission, ItsShortcutAgreesWithTheFullCheck) {
  std::mt19937_64 rng(7);
  const std::vector<topology::NodeTopology> topologies = Topologies();
  const TopologyPolicy policies[] = {TopologyPolicy::kNone, TopologyPolicy::kBestEffort,
                                     TopologyPolicy::kRestricted, TopologyPolicy::kSingleNumaNode,
                                     TopologyPolicy::kNumeric};
  SchedulerConfig config;
  config.resource_policy = ResourcePolicy::kDynamic;
  ClusterState cluster;
  const TopologyManagerAdmission filter;
  int admitted = 0, refused = 0;
  for (int round = 0; round < 3000; ++round) {
    NodePolicies np;
    np.topology_policy = policies[rng() % 5];
    np.topology_scope = rng() % 2 == 0 ? TopologyScope::kPod : TopologyScope::kContainer;
    NodeState node = NodeStateFromTopology("n", topologies[rng() % topologies.size()], np);
    for (NumaState& numa : node.numas) {  // some used, some over-committed, some held whole
      numa.pinned_cpu_milli =
          static_cast<int64_t>(rng() % 2 == 0 ? 0 : rng() % (numa.cpu_allocatable_milli + 4000));
      numa.pinned_memory = static_cast<int64_t>(rng() % 2 == 0 ? 0 : rng() % (numa.memory_allocatable + 8 * kGi));
      numa.exclusive_holders = rng() % 10 == 0 ? 1 : 0;
    }
    PodRequest pod;
    pod.name = "p";
    pod.qos = rng() % 4 == 0 ? QosLevel::kSharedCores : QosLevel::kDedicatedCores;
    pod.numa_binding = true;
    pod.numa_exclusive = rng() % 5 == 0;
    pod.guaranteed = true;
    const int containers = static_cast<int>(rng() % 4);
    for (int k = 0; k < containers; ++k) {
      ContainerRequest c;
      c.name = "c" + std::to_string(k);
      c.cpu_milli = static_cast<int64_t>(rng() % 3) * 1000 * static_cast<int64_t>(1 + rng() % 8);
      c.memory_bytes = static_cast<int64_t>(rng() % 3) * kGi * static_cast<int64_t>(1 + rng() % 16);
      pod.cpu_milli += c.cpu_milli;
      pod.memory_bytes += c.memory_bytes;
      pod.containers.push_back(c);
    }
    if (containers == 0) {
      pod.cpu_milli = 1000 * static_cast<int64_t>(1 + rng() % 24);
      pod.memory_bytes = kGi * static_cast<int64_t>(1 + rng() % 96);
    }
    NodeCycle c;
    c.cluster = &cluster;
    c.node = &node;
    c.pod = &pod;
    c.config = &config;
    c.numa_bound = IsNumaBound(pod, config.resource_policy);
    c.usable_numas = AllNumas(node.numas.size());
    c.placement = PinnedPlacement(node, 0, pod, config.resource_policy, 0);
    c.placement.numa_mask = uint64_t{1} << (rng() % node.numas.size());
    std::string reason;
    const bool ours = filter.Filter(c, &reason);
    const AdmissionResult full =
        CheckTopologyAdmission(node, pod, config.resource_policy, c.numa_bound ? c.placement.numa_mask : 0);
    ASSERT_EQ(ours, full.admit) << "round " << round << ": " << full.reason;
    if (!ours) {
      EXPECT_EQ(reason, full.reason);
    }
    (ours ? admitted : refused) += 1;
  }
  EXPECT_GT(admitted, 300);
  EXPECT_GT(refused, 300);
}

}  // namespace
}  // namespace tessera::scoring
