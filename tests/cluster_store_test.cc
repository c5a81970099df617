// The store (state/cluster_store.h) updates incrementally: an event re-derives only the node it touches, yet the
// result must be exactly what a store built from scratch over the same objects holds. The property test drives a
// seeded stream of events (pods bound with and without allocation annotations, over-commits, foreign GPU pods,
// agents' reports, pods finishing and deleted, Nodes and CNRs coming and going, relists) and compares, after
// every step, the incrementally kept state with a fresh one, node by node and source by source.
#include "state/cluster_store.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

#include "crd/cnr_codec.h"
#include "tests/shared_cnr.h"
#include "tests/shared_data.h"

namespace tessera::state {
namespace {

crd::Cnr CnrOf(const std::string& node, const std::string& topology_file) {
  return testing::SharedCnr(node, topology_file, "single-numa-node");
}

std::string NodeJson(const std::string& name) {
  return R"({"metadata": {"name": ")" + name + R"("}})";
}

// A pod bound to `node`: NUMA-bound dedicated (`cpus` whole CPUs) or a GPU share (`gpu_pct` > 0), optionally with
// Tessera's allocation annotation pinning it to NUMA `numa_id`, and in `phase`.
std::string PodJson(const std::string& uid, const std::string& node, int cpus, int gpu_pct, int numa_id,
                    const std::string& phase) {
  std::string annotations;
  if (gpu_pct == 0) {
    annotations = R"("katalyst.kubewharf.io/qos_level": "dedicated_cores",
        "katalyst.kubewharf.io/memory_enhancement": "{\"numa_binding\":\"true\"}")";
    if (numa_id >= 0) {
      annotations += R"(, "tessera.io/allocation": "{\"node\":\")" + node + R"(\",\"numa\":[{\"id\":)" +
                     std::to_string(numa_id) + R"(,\"cpu_milli\":)" + std::to_string(cpus * 1000) +
                     R"(,\"memory_bytes\":1073741824}],\"exclusive\":false,\"cpu_pinned\":true,)" +
                     R"(\"memory_pinned\":true}")";
    }
  }
  const std::string resources =
      gpu_pct > 0 ? R"("cpu": "1", "memory": "1Gi", "nvidia.com/gpucores": ")" + std::to_string(gpu_pct) + "\""
                  : R"("cpu": ")" + std::to_string(cpus) + R"(", "memory": "1Gi")";
  return R"({"metadata": {"name": "p-)" + uid + R"(", "namespace": "ns", "uid": ")" + uid +
         R"(", "annotations": {)" + annotations + R"(}}, "spec": {"nodeName": ")" + node +
         R"(", "containers": [{"name": "c", "resources": {"requests": {)" + resources + R"(}, "limits": {)" +
         resources + R"(}}}]}, "status": {"phase": ")" + phase + R"("}})";
}

std::vector<std::string> Values(const std::map<std::string, std::string>& m) {
  std::vector<std::string> out;
  for (const auto& [k, v] : m) out.push_back(v);
  return out;
}

// Everything a decision reads from a node, as text: equal text, equal decisions.
std::string Describe(const scoring::ClusterState& c) {
  std::string out;
  for (const scoring::NodeState& n : c.nodes()) {
    out += n.name + " pinned=" + std::to_string(n.pinned_cpu_milli) + "/" + std::to_string(n.pinned_memory) +
           " shared=" + std::to_string(n.shared_cpu_used_milli) + "/" + std::to_string(n.shared_memory_used) +
           " alloc=" + std::to_string(n.cpu_allocatable_milli);
    for (const scoring::NumaState& s : n.numas)
      out += " numa" + std::to_string(s.id) + "=" + std::to_string(s.pinned_cpu_milli) + "/" +
             std::to_string(s.pinned_memory) + "/" + std::to_string(s.exclusive_holders);
    for (const scoring::GpuState& g : n.gpus)
      out += " gpu=" + std::to_string(g.free_milli) + "/" + std::to_string(g.free_memory_mib);
    for (int32_t k : n.gpu_pods_by_class) out += " " + std::to_string(k);
    out += "\n";
  }
  return out + "pods=" + std::to_string(c.pod_count());
}

// The totals ClusterState keeps as it changes, and the same summed node by node, as text.
std::string Totals(const scoring::ClusterTotals& t) {
  return std::to_string(t.cpu_allocatable_milli) + " " + std::to_string(t.pinned_cpu_milli) + " " +
         std::to_string(t.gpu_units) + " " + std::to_string(t.gpu_free_milli) + " " +
         std::to_string(t.gpu_memory_mib) + " " + std::to_string(t.gpu_free_memory_mib);
}
std::string SummedTotals(const scoring::ClusterState& c) {
  scoring::ClusterTotals t;
  for (const scoring::NodeState& n : c.nodes()) {
    t.cpu_allocatable_milli += n.cpu_allocatable_milli;
    t.pinned_cpu_milli += n.pinned_cpu_milli;
    for (const scoring::GpuState& g : n.gpus) {
      t.gpu_units += 1000;
      t.gpu_free_milli += g.free_milli;
      t.gpu_memory_mib += g.memory_mib;
      t.gpu_free_memory_mib += g.free_memory_mib;
    }
  }
  return Totals(t);
}

std::string Sources(const ClusterStore& s) {
  std::string out;
  for (const char* src : kLedgerSources) out += std::string(src) + "=" + std::to_string(s.ledger_pods(src)) + " ";
  return out;
}

struct Objects {
  std::map<std::string, std::string> nodes, cnrs, pods;
  ClusterStore Fresh() const {
    ClusterStore fresh{StoreOptions{}};
    (void)fresh.Replace(Kind::kNode, Values(nodes));
    (void)fresh.Replace(Kind::kCnr, Values(cnrs));
    (void)fresh.Replace(Kind::kPod, Values(pods));
    fresh.Refresh();
    return fresh;
  }
};

TEST(ClusterStore, IncrementalUpdatesEqualAFreshStoreAfterEveryEvent) {
  TESSERA_REQUIRE_SHARED("topologies/corona.xml");
  TESSERA_REQUIRE_SHARED("topologies/topo.dp-esb01.xml");
  const crd::Cnr corona = CnrOf("template", "corona.xml");
  const crd::Cnr esb = CnrOf("template", "topo.dp-esb01.xml");
  auto cnr_json = [&](const std::string& node, int variant) {
    crd::Cnr c = variant % 2 == 0 ? corona : esb;
    c.metadata.name = node;
    c.metadata.resource_version = std::to_string(variant);
    return crd::EncodeCnr(c);
  };
  for (uint32_t seed : {1u, 2u, 3u}) {
    std::mt19937 rng(seed);
    auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint32_t>(n)); };
    Objects objects;
    ClusterStore store{StoreOptions{}};
    for (int i = 0; i < 6; ++i) {
      const std::string name = "n" + std::to_string(i);
      objects.nodes[name] = NodeJson(name);
      objects.cnrs[name] = cnr_json(name, i);
    }
    (void)store.Replace(Kind::kNode, Values(objects.nodes));
    (void)store.Replace(Kind::kCnr, Values(objects.cnrs));
    (void)store.Replace(Kind::kPod, {});
    store.Refresh();
    int next_uid = 0;
    for (int step = 0; step < 300; ++step) {
      const int what = pick(100);
      const std::string node = "n" + std::to_string(pick(7));  // n6 never has a Node until added below
      if (what < 45) {  // a pod arrives bound (sometimes too big, sometimes annotated onto a NUMA node)
        const std::string uid = "u" + std::to_string(next_uid++);
        const bool gpu = pick(3) == 0;
        objects.pods[uid] = PodJson(uid, node, 4 + pick(40), gpu ? 10 * (1 + pick(10)) : 0,
                                    pick(3) == 0 ? -1 : pick(2), "Running");
        store.Apply(Kind::kPod, false, objects.pods[uid]);
      } else if (what < 60 && !objects.pods.empty()) {  // one finishes or is deleted
        auto it = std::next(objects.pods.begin(), pick(static_cast<int>(objects.pods.size())));
        if (pick(2) == 0) {
          store.Apply(Kind::kPod, true, it->second);
          objects.pods.erase(it);
        } else {
          const size_t at = it->second.find("\"Running\"");
          if (at != std::string::npos) it->second.replace(at, 9, "\"Succeeded\"");
          store.Apply(Kind::kPod, false, it->second);
        }
      } else if (what < 70) {  // a CNR changes (another server behind the name) or goes
        if (pick(4) == 0) {
          if (auto it = objects.cnrs.find(node); it != objects.cnrs.end()) {
            store.Apply(Kind::kCnr, true, it->second);
            objects.cnrs.erase(it);
          }
        } else {
          objects.cnrs[node] = cnr_json(node, step);
          store.Apply(Kind::kCnr, false, objects.cnrs[node]);
        }
      } else if (what < 76) {  // a Node comes or goes
        if (objects.nodes.count(node) != 0 && pick(2) == 0) {
          store.Apply(Kind::kNode, true, objects.nodes[node]);
          objects.nodes.erase(node);
        } else {
          objects.nodes[node] = NodeJson(node);
          store.Apply(Kind::kNode, false, objects.nodes[node]);
        }
      } else if (what < 80) {  // a relist of pods, with no drift
        (void)store.Replace(Kind::kPod, Values(objects.pods));
      } else {
        continue;
      }
      store.Refresh();
      const ClusterStore fresh = objects.Fresh();
      ASSERT_EQ(Describe(store.ClusterWithTopology()), Describe(fresh.ClusterWithTopology()))
          << "seed " << seed << " step " << step;
      ASSERT_EQ(Sources(store), Sources(fresh)) << "seed " << seed << " step " << step;
      // The running totals /metrics reads: equal to the nodes' sum, and to a fresh store's.
      ASSERT_EQ(Totals(store.cluster().totals()), SummedTotals(store.cluster()))
          << "seed " << seed << " step " << step;
      ASSERT_EQ(Totals(store.cluster().totals()), Totals(fresh.cluster().totals())) << "seed " << seed;
    }
    EXPECT_GT(store.node_rebuilds(), 100u) << "the stream was mostly incremental";
    EXPECT_LT(store.full_rebuilds(), 40u);
  }
}

TEST(ClusterStore, APodEventReDerivesOnlyItsNodeAndANodeDeleteRebuildsEverything) {
  TESSERA_REQUIRE_SHARED("topologies/corona.xml");
  const crd::Cnr corona = CnrOf("template", "corona.xml");
  Objects objects;
  for (int i = 0; i < 50; ++i) {
    const std::string name = "n" + std::to_string(i);
    objects.nodes[name] = NodeJson(name);
    crd::Cnr c = corona;
    c.metadata.name = name;
    objects.cnrs[name] = crd::EncodeCnr(c);
  }
  ClusterStore store = objects.Fresh();
  ASSERT_EQ(store.full_rebuilds(), 1u);
  const uint64_t nodes_before = store.node_rebuilds();
  store.Apply(Kind::kPod, false, PodJson("a", "n7", 4, 0, 1, "Pending"));
  store.Refresh();
  EXPECT_EQ(store.node_rebuilds(), nodes_before + 1);
  EXPECT_EQ(store.placed_pods(), 1u);
  // Pending -> Running changes nothing the ledger holds: no node is re-derived.
  store.Apply(Kind::kPod, false, PodJson("a", "n7", 4, 0, 1, "Running"));
  store.Refresh();
  EXPECT_EQ(store.node_rebuilds(), nodes_before + 1);
  // A relist that finds nothing different corrects nothing and re-derives nothing.
  const Corrections c = store.Replace(Kind::kPod, {PodJson("a", "n7", 4, 0, 1, "Running")});
  EXPECT_EQ(c.added + c.removed + c.changed, 0);
  store.Refresh();
  EXPECT_EQ(store.node_rebuilds(), nodes_before + 1);
  EXPECT_EQ(store.full_rebuilds(), 1u);
  // A Node deleted: node indexes are reassigned, the one whole rebuild the store makes.
  store.Apply(Kind::kNode, true, NodeJson("n3"));
  store.Refresh();
  EXPECT_EQ(store.full_rebuilds(), 2u);
  EXPECT_EQ(store.FindNode("n3"), nullptr);
  EXPECT_EQ(store.placed_pods(), 1u);
}

TEST(ClusterStore, AFailedBindReturnsItsReservation) {
  TESSERA_REQUIRE_SHARED("topologies/corona.xml");
  crd::Cnr c = CnrOf("n1", "corona.xml");
  ClusterStore store{StoreOptions{}};
  (void)store.Replace(Kind::kNode, {NodeJson("n1")});
  (void)store.Replace(Kind::kCnr, {crd::EncodeCnr(c)});
  store.Refresh();
  const std::string before = Describe(store.ClusterWithTopology());
  scoring::PodRequest pod;
  pod.uid = "b";
  pod.name = "b";
  pod.namespace_name = "ns";
  pod.cpu_milli = 4000;
  store.NoteFilteredPod(pod);
  scoring::Placement p;
  p.node = store.FindNode("n1")->index;
  ASSERT_TRUE(store.BeginBind("b", "n1", &p, "").ok());
  EXPECT_EQ(store.placed_pods(), 1u);
  EXPECT_TRUE(store.FindPod("b")->binding);
  EXPECT_FALSE(store.BeginBind("b", "n1", &p, "").ok()) << "already in flight";
  store.EndBind("b", false);
  EXPECT_EQ(store.placed_pods(), 0u);
  EXPECT_EQ(store.FindPod("b")->node, "");
  EXPECT_EQ(Describe(store.ClusterWithTopology()), before);
  store.Refresh();
  EXPECT_EQ(Describe(store.ClusterWithTopology()), before) << "and the next refresh agrees";
}

TEST(ClusterStore, EventsThatDoNotDecodeLeaveTheStateAsItWas) {
  TESSERA_REQUIRE_SHARED("topologies/corona.xml");
  ClusterStore store{StoreOptions{}};
  (void)store.Replace(Kind::kNode, {NodeJson("n1")});
  (void)store.Replace(Kind::kCnr, {crd::EncodeCnr(CnrOf("n1", "corona.xml"))});
  (void)store.Replace(Kind::kPod, {PodJson("a", "n1", 4, 0, 1, "Running")});
  store.Refresh();
  const std::string before = Describe(store.ClusterWithTopology()) + Sources(store);
  const uint64_t version = store.version();
  for (Kind kind : {Kind::kNode, Kind::kPod, Kind::kCnr, Kind::kNrt}) {
    for (const char* bad :
         {"{not json", "[]", "7", R"({"metadata": 5})", R"({"metadata": {"name": 5}})", "10e308"}) {
      store.Apply(kind, false, bad);
      store.Apply(kind, true, bad);
    }
  }
  // A pod without a UID, one whose UID is not a string, one whose annotation cannot be read: none is recorded.
  store.Apply(Kind::kPod, false, R"({"metadata": {"name": "a2", "uid": 5}, "spec": {"nodeName": "n1"}})");
  store.Apply(Kind::kPod, false, R"({"metadata": {"name": "nouid"}, "spec": {"nodeName": "n1"}})");
  store.Apply(
      Kind::kPod, false,
      R"({"metadata": {"name": "b", "uid": "b", "annotations": {"katalyst.kubewharf.io/qos_level": "gold"}},)"
      R"( "spec": {"nodeName": "n1"}})");
  store.Refresh();
  EXPECT_EQ(Describe(store.ClusterWithTopology()) + Sources(store), before);
  EXPECT_EQ(store.version(), version) << "nothing was re-derived";
  EXPECT_EQ(store.known_pods(), 1u);
}

}  // namespace
}  // namespace tessera::state
