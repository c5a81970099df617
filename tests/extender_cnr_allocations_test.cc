// Pods Tessera did not place: the node agent's CNR `allocations` (contract section 3.2) say where they sit, and
// the extender charges them there; a pod Tessera placed is charged once even when the agent lists it too, and
// moved when the agent put it elsewhere; reports for deleted pods or earlier pods of the same name are dropped;
// foreign GPU pods nobody reported are still counted against the node's cards.
#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>
#include <rapidjson/document.h>

#include <atomic>
#include <future>
#include <map>
#include <thread>

#include "crd/cnr_builder.h"
#include "crd/cnr_codec.h"
#include "extender/extender_service.h"
#include "reporter/reporter.h"
#include "scoring/framework.h"
#include "state/allocation.h"
#include "tests/shared_cnr.h"
#include "tests/shared_data.h"
#include "topology/hwloc_discovery.h"

namespace tessera::extender {
namespace {

// corona.xml: 2 NUMA nodes of 48 logical CPUs (24 cores), 8 GPUs. dp-esb01: 1 NUMA node, 1 V100.
crd::Cnr CnrOf(const std::string& node, const std::string& topology_file) {
  return testing::SharedCnr(node, topology_file, "single-numa-node");
}

// Lists `consumer` on every zone of `type` named `zone_name` (Numa zones by id, GPU zones by PCI bus id).
void Report(crd::Cnr* cnr, const std::string& type, const std::string& zone_name, const std::string& consumer,
            const crd::ResourceList& requests) {
  std::function<void(std::vector<crd::TopologyZone>&)> walk = [&](std::vector<crd::TopologyZone>& zones) {
    for (crd::TopologyZone& z : zones) {
      if (z.type == type && z.name == zone_name) z.allocations.push_back({consumer, requests});
      walk(z.children);
    }
  };
  walk(cnr->status.zones);
}

std::string FirstGpuBusId(const crd::Cnr& cnr) {
  std::function<std::string(const std::vector<crd::TopologyZone>&)> walk =
      [&](const std::vector<crd::TopologyZone>& zones) {
        for (const crd::TopologyZone& z : zones) {
          if (z.type == crd::kZoneGpu) return z.name;
          if (std::string s = walk(z.children); !s.empty()) return s;
        }
        return std::string();
      };
  return walk(cnr.status.zones);
}

std::string NodeJson(const std::string& name) {
  return R"({"metadata": {"name": ")" + name + R"("}})";
}

// A dedicated_cores numa_binding pod asking `cpus` whole CPUs; bound to `node` when not empty.
std::string NumaPodJson(const std::string& name, int cpus, const std::string& node = "",
                        const std::string& annotation = "") {
  std::string annotations = R"("katalyst.kubewharf.io/qos_level": "dedicated_cores",
      "katalyst.kubewharf.io/memory_enhancement": "{\"numa_binding\":\"true\"}")";
  if (!annotation.empty()) {
    annotations += R"(, "tessera.io/allocation": )" + std::string("\"");
    for (char c : annotation) annotations += c == '"' ? std::string("\\\"") : std::string(1, c);
    annotations += "\"";
  }
  return R"({"metadata": {"name": ")" + name + R"(", "namespace": "db", "uid": "uid-)" + name +
         R"(", "annotations": {)" + annotations + R"(}}, "spec": {)" +
         (node.empty() ? "" : R"("nodeName": ")" + node + "\", ") +
         R"("containers": [{"name": "c", "resources": {"requests": {"cpu": ")" + std::to_string(cpus) +
         R"(", "memory": "1Gi"}, "limits": {"cpu": ")" + std::to_string(cpus) + R"(", "memory": "1Gi"}}}]}})";
}

std::string GpuPodJson(const std::string& name, int pct, const std::string& node = "") {
  return R"({"metadata": {"name": ")" + name + R"(", "namespace": "ml", "uid": "uid-)" + name +
         R"("}, "spec": {)" + (node.empty() ? "" : R"("nodeName": ")" + node + "\", ") +
         R"("containers": [{"name": "c", "resources": {"requests": {"cpu": "1", "memory": "1Gi",
         "nvidia.com/gpucores": ")" +
         std::to_string(pct) + R"("}}}]}})";
}

struct World {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  ExtenderService service;
  World(const crd::Cnr& cnr, const std::vector<std::string>& pods, ExtenderOptions options = {})
      : service(std::move(options)) {
    service.AttachMetrics(registry);
    service.Replace(ExtenderService::Kind::kNode, {NodeJson(cnr.metadata.name)});
    service.Replace(ExtenderService::Kind::kCnr, {crd::EncodeCnr(cnr)});
    service.Replace(ExtenderService::Kind::kPod, pods);
  }
  // Filters and binds `pod` on `node`; the allocation Tessera recorded, or "" when it did not fit.
  std::string Place(const std::string& pod_json, const std::string& uid, const std::string& node) {
    const Answer f = service.Filter(R"({"Pod": )" + pod_json + R"(, "NodeNames": [")" + node + R"("]})");
    if (f.body.find("\"NodeNames\":[\"" + node + "\"]") == std::string::npos) return "";
    rapidjson::Document pod;
    pod.Parse(pod_json.c_str());
    const Answer b = service.Bind(R"({"PodName": ")" + std::string(pod["metadata"]["name"].GetString()) +
                                  R"(", "PodNamespace": ")" + pod["metadata"]["namespace"].GetString() +
                                  R"(", "PodUID": ")" + uid + R"(", "Node": ")" + node + R"("})");
    EXPECT_EQ(b.body, R"({"Error":""})");
    return service.AllocationOf(uid);
  }
  std::string Metrics() {
    service.UpdateGauges();
    return prometheus::TextSerializer().Serialize(registry->Collect());
  }
};

std::vector<int64_t> NumaIds(const std::string& allocation) {
  rapidjson::Document d;
  d.Parse(allocation.c_str());
  std::vector<int64_t> ids;
  if (d.IsObject() && d.HasMember("numa")) {
    for (const auto& n : d["numa"].GetArray()) ids.push_back(n["id"].GetInt64());
  }
  return ids;
}

// Tessera's own annotation for a 40-CPU NUMA-bound pod "a" placed on an empty `cnr` node.
std::string AnnotationOfA(const crd::Cnr& cnr) {
  World first(cnr, {});
  return first.Place(NumaPodJson("a", 40), "uid-a", "n1");
}

const crd::ResourceList kFortyCpus = {{"cpu", crd::Quantity::FromUnits(40)},
                                      {"memory", crd::Quantity::FromUnits(1 << 30)}};

TEST(CnrAllocations, ForeignPodIsChargedWhereTheAgentReportsIt) {
  TESSERA_REQUIRE_SHARED("topologies/corona.xml");
  crd::Cnr cnr = CnrOf("n1", "corona.xml");
  // A NUMA-bound pod another scheduler placed: the agent pinned it to NUMA 0.
  Report(&cnr, crd::kZoneNuma, "0", "db/foreign/uid-foreign", kFortyCpus);
  World w(cnr, {NumaPodJson("foreign", 40, "n1")});
  // Without the report the lowest index (NUMA 0) would win; it holds 40 of 48 CPUs, so 40 more go to NUMA 1.
  EXPECT_EQ(NumaIds(w.Place(NumaPodJson("mine", 40), "uid-mine", "n1")), (std::vector<int64_t>{1}));
  EXPECT_EQ(w.Place(NumaPodJson("third", 40), "uid-third", "n1"), "") << "both NUMA nodes are full";
  EXPECT_NE(w.Metrics().find(R"(tessera_extender_ledger_pods{source="cnr"} 1)"), std::string::npos);
}

TEST(CnrAllocations, APodTesseraPlacedAndTheAgentListsIsChargedOnce) {
  TESSERA_REQUIRE_SHARED("topologies/corona.xml");
  crd::Cnr cnr = CnrOf("n1", "corona.xml");
  const std::string allocation = AnnotationOfA(cnr);
  ASSERT_EQ(NumaIds(allocation), (std::vector<int64_t>{0}));
  Report(&cnr, crd::kZoneNuma, "0", "db/a/uid-a", kFortyCpus);
  World w(cnr, {NumaPodJson("a", 40, "n1", allocation)});
  // Counted twice, NUMA 0 would be over-committed; counted once, it has 8 CPUs left and 8 more fit there.
  EXPECT_EQ(NumaIds(w.Place(NumaPodJson("small", 8), "uid-small", "n1")), (std::vector<int64_t>{0}));
  EXPECT_NE(w.Metrics().find(R"(tessera_extender_ledger_pods{source="annotation"} 2)"), std::string::npos);
}

TEST(CnrAllocations, TheAgentsReportCorrectsTesserasPrediction) {
  TESSERA_REQUIRE_SHARED("topologies/corona.xml");
  crd::Cnr cnr = CnrOf("n1", "corona.xml");
  const std::string allocation = AnnotationOfA(cnr);
  ASSERT_EQ(NumaIds(allocation), (std::vector<int64_t>{0}));
  // The agent put it on NUMA 1 instead: NUMA 0 is free again and takes the next 40 CPUs.
  Report(&cnr, crd::kZoneNuma, "1", "db/a/uid-a", kFortyCpus);
  World w(cnr, {NumaPodJson("a", 40, "n1", allocation)});
  EXPECT_EQ(NumaIds(w.Place(NumaPodJson("b", 40), "uid-b", "n1")), (std::vector<int64_t>{0}));
  EXPECT_NE(w.Metrics().find(R"(tessera_extender_ledger_pods{source="annotation_corrected_by_cnr"} 1)"),
            std::string::npos);
}

TEST(CnrAllocations, ReportsForDeletedOrEarlierPodsAreDropped) {
  TESSERA_REQUIRE_SHARED("topologies/corona.xml");
  crd::Cnr cnr = CnrOf("n1", "corona.xml");
  Report(&cnr, crd::kZoneNuma, "0", "db/gone/uid-gone", kFortyCpus);        // no such pod any more
  Report(&cnr, crd::kZoneNuma, "1", "db/foreign/uid-earlier", kFortyCpus);  // a previous pod of that name
  Report(&cnr, crd::kZoneNuma, "1", "not-a-consumer-string", kFortyCpus);   // malformed: ignored
  World w(cnr, {NumaPodJson("foreign", 8, "n1")});
  // Neither report holds a NUMA node: both 40-CPU pods fit (the 8-CPU foreign pod floats at node level, in the
  // 16 CPUs left to the shared pool).
  EXPECT_EQ(NumaIds(w.Place(NumaPodJson("x", 40), "uid-x", "n1")), (std::vector<int64_t>{0}));
  EXPECT_EQ(NumaIds(w.Place(NumaPodJson("y", 40), "uid-y", "n1")), (std::vector<int64_t>{1}));
}

TEST(CnrAllocations, ForeignGpuPodsHoldTheirCards) {
  TESSERA_REQUIRE_SHARED("topologies/topo.dp-esb01.xml");
  crd::Cnr cnr = CnrOf("g1", "topo.dp-esb01.xml");
  const std::string bus = FirstGpuBusId(cnr);
  ASSERT_FALSE(bus.empty());
  Report(&cnr, crd::kZoneGpu, bus, "ml/reported/uid-reported",
         {{"nvidia.com/gpucores", crd::Quantity::FromUnits(30)}});
  // One foreign pod the agent reports (30 %), one nobody reports (40 %): 70 % of the only card is taken.
  World w(cnr, {GpuPodJson("reported", 30, "g1"), GpuPodJson("unreported", 40, "g1")});
  EXPECT_EQ(w.Place(GpuPodJson("big", 40), "uid-big", "g1"), "");
  EXPECT_NE(w.Place(GpuPodJson("fits", 30), "uid-fits", "g1"), "");
  const std::string m = w.Metrics();
  EXPECT_NE(m.find(R"(tessera_extender_ledger_pods{source="cnr"} 1)"), std::string::npos) << m;
  EXPECT_NE(m.find(R"(tessera_extender_ledger_pods{source="guessed"} 1)"), std::string::npos);
}

// Most of the event stream is heartbeats and status updates: they must not cost a rebuild of 5,000 nodes, and
// the heartbeat must still count (a stale CNR turns fresh again without a rebuild being forced by content).
TEST(StateEvents, HeartbeatsAndStatusUpdatesDoNotRebuild) {
  TESSERA_REQUIRE_SHARED("topologies/corona.xml");
  crd::Cnr cnr = CnrOf("n1", "corona.xml");
  std::string running = NumaPodJson("running", 4, "n1");
  running.insert(running.size() - 1, R"(, "status": {"phase": "Pending"})");
  World w(cnr, {running});
  ASSERT_NE(w.Place(NumaPodJson("a", 4), "uid-a", "n1"), "");
  const uint64_t rebuilds = w.service.rebuilds();
  const uint64_t node_rebuilds = w.service.node_rebuilds();
  // A heartbeat (new time, new resourceVersion) and a status-only pod update.
  crd::Cnr beat = cnr;
  beat.metadata.resource_version = "999";
  for (crd::Condition& c : beat.status.conditions)
    c.last_heartbeat_time = reporter::FormatRfc3339(std::chrono::system_clock::now() + std::chrono::seconds(5));
  w.service.Apply(ExtenderService::Kind::kCnr, false, crd::EncodeCnr(beat));
  running.replace(running.find(R"("phase": "Pending")"), 18,
                  R"("phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "True"}])");
  w.service.Apply(ExtenderService::Kind::kPod, false, running);
  w.service.Apply(ExtenderService::Kind::kNode, false, NodeJson("n1"));
  ASSERT_NE(w.Place(NumaPodJson("b", 4), "uid-b", "n1"), "");
  EXPECT_EQ(w.service.rebuilds(), rebuilds);
  EXPECT_EQ(w.service.node_rebuilds(), node_rebuilds);
  // A change that matters (the agent reports an allocation; a pod finishes) re-derives its node, and only it.
  Report(&beat, crd::kZoneNuma, "1", "db/running/uid-running", kFortyCpus);
  w.service.Apply(ExtenderService::Kind::kCnr, false, crd::EncodeCnr(beat));
  ASSERT_NE(w.Place(NumaPodJson("c", 4), "uid-c", "n1"), "");
  EXPECT_EQ(w.service.node_rebuilds(), node_rebuilds + 1);
  running.replace(running.find("Pending"), 7, "Succeeded");
  w.service.Apply(ExtenderService::Kind::kPod, false, running);
  ASSERT_NE(w.Place(NumaPodJson("d", 4), "uid-d", "n1"), "");
  EXPECT_EQ(w.service.node_rebuilds(), node_rebuilds + 2);
  EXPECT_EQ(w.service.rebuilds(), rebuilds) << "no whole rebuild: no node was deleted";
}

// Every bind comes back as a watch event (spec.nodeName and the allocation annotation set): it confirms what
// the bind charged, so it must not re-derive the node, and the charge must stay.
TEST(StateEvents, TheWatchEventOfItsOwnBindReDerivesNothing) {
  TESSERA_REQUIRE_SHARED("topologies/corona.xml");
  World w(CnrOf("n1", "corona.xml"), {});
  w.service.Apply(ExtenderService::Kind::kPod, false, NumaPodJson("a", 40));  // created, pending
  const std::string allocation = w.Place(NumaPodJson("a", 40), "uid-a", "n1");
  ASSERT_NE(allocation, "");
  const uint64_t node_rebuilds = w.service.node_rebuilds();
  w.service.Apply(ExtenderService::Kind::kPod, false, NumaPodJson("a", 40, "n1", allocation));
  const std::string b = w.Place(NumaPodJson("b", 40), "uid-b", "n1");
  EXPECT_EQ(w.service.node_rebuilds(), node_rebuilds);
  ASSERT_NE(b, "");
  EXPECT_NE(NumaIds(b), NumaIds(allocation)) << "a's NUMA node is still charged";
  EXPECT_EQ(w.Place(NumaPodJson("c", 40), "uid-c", "n1"), "") << "both NUMA nodes are full";
  // Another allocation on the event than the one bound (someone rewrote it) is a change: the node is re-derived.
  w.service.Apply(ExtenderService::Kind::kPod, false, NumaPodJson("b", 40, "n1", allocation));
  (void)w.service.Filter(R"({"Pod": )" + NumaPodJson("d", 1) + R"(, "NodeNames": ["n1"]})");
  EXPECT_EQ(w.service.node_rebuilds(), node_rebuilds + 1);
}

TEST(StateEvents, AHeartbeatAloneMakesAStaleCnrFreshAgain) {
  TESSERA_REQUIRE_SHARED("topologies/corona.xml");
  crd::Cnr cnr = CnrOf("n1", "corona.xml");  // its heartbeat: now
  auto clock = std::make_shared<ManualClock>();
  clock->Advance(std::chrono::seconds(120));
  ExtenderOptions o;
  o.cnr_stale_after = std::chrono::seconds(60);
  o.clock = clock;
  World w(cnr, {}, o);
  const Answer stale = w.service.Filter(R"({"Pod": )" + NumaPodJson("a", 4) + R"(, "NodeNames": ["n1"]})");
  EXPECT_NE(stale.body.find("is stale"), std::string::npos) << stale.body;
  crd::Cnr beat = cnr;
  for (crd::Condition& c : beat.status.conditions)
    c.last_heartbeat_time = reporter::FormatRfc3339(clock->Now() - std::chrono::seconds(10));
  w.service.Apply(ExtenderService::Kind::kCnr, false, crd::EncodeCnr(beat));
  clock->Advance(std::chrono::seconds(1));  // staleness is re-checked once a second
  EXPECT_NE(w.Place(NumaPodJson("a", 4), "uid-a", "n1"), "") << "fresh again after the heartbeat";
}

// Nodes the verdict memo looked at (hits and misses): how many node evaluations the service ran.
double NodesEvaluated(World* w) {
  const std::string m = w->Metrics();
  double total = 0;
  for (const char* result : {"hit", "miss"}) {
    const std::string key = std::string(R"(tessera_extender_verdict_memo_nodes{result=")") + result + "\"} ";
    const size_t at = m.find(key);
    if (at != std::string::npos) total += std::stod(m.substr(at + key.size()));
  }
  return total;
}

// Replicas of one workload: a filter call with the same pod shape, node list and state answers what the last one
// did without evaluating again; a bind in between changes the state and the next call evaluates (through the
// verdict memo: only the node that changed is computed).
TEST(StateEvents, SameShapeSameStateReusesTheAnswerABindInvalidatesIt) {
  TESSERA_REQUIRE_SHARED("topologies/32em64t-2n8c2t-pci-noio.xml");
  World w(CnrOf("n1", "32em64t-2n8c2t-pci-noio.xml"), {});
  auto evaluated = [&w] { return NodesEvaluated(&w); };
  auto filter = [&w](const std::string& name) {
    return w.service.Filter(R"({"Pod": )" + NumaPodJson(name, 4) + R"(, "NodeNames": ["n1"]})").body;
  };
  const std::string first = filter("x");
  const double after_first = evaluated();
  EXPECT_EQ(after_first, 1);
  EXPECT_EQ(filter("y"), first) << "same shape, same state: same answer";
  EXPECT_EQ(evaluated(), after_first) << "and nothing evaluated";
  ASSERT_NE(w.Place(NumaPodJson("x", 4), "uid-x", "n1"), "");  // x is bound: the state changed
  (void)filter("z");
  EXPECT_GT(evaluated(), after_first) << "a bind invalidates the reused answer";
}

// kube-scheduler calls prioritize with the nodes that passed filter: when that is the filter call's whole list,
// the answer is written once and reused for the next replica's identical cycle; a bind in between changes the
// state, and the next prioritize evaluates again.
TEST(StateEvents, PrioritizeAfterFilterReusesItsAnswerUntilTheStateChanges) {
  TESSERA_REQUIRE_SHARED("topologies/32em64t-2n8c2t-pci-noio.xml");
  World w(CnrOf("n1", "32em64t-2n8c2t-pci-noio.xml"), {});
  auto evaluated = [&w] { return NodesEvaluated(&w); };
  auto call = [&w](bool filter, const std::string& name) {
    const std::string body = R"({"Pod": )" + NumaPodJson(name, 4) + R"(, "NodeNames": ["n1"]})";
    return (filter ? w.service.Filter(body) : w.service.Prioritize(body)).body;
  };
  (void)call(true, "x");
  const double after_filter = evaluated();
  const std::string first = call(false, "x");
  EXPECT_EQ(first, "[]") << "one node: none scores above the lowest";
  EXPECT_EQ(evaluated(), after_filter) << "prioritize reuses its filter's evaluation";
  // x's prioritize holds its placement on n1 until its bind: the next pod is evaluated against that state.
  (void)call(true, "y");
  const double after_y = evaluated();
  EXPECT_GT(after_y, after_filter) << "the hold changed the state";
  (void)call(false, "y");
  EXPECT_EQ(evaluated(), after_y) << "same shape, same state: y's prioritize reuses y's filter";
  ASSERT_NE(w.Place(NumaPodJson("x", 4), "uid-x", "n1"), "");
  (void)call(false, "z");
  EXPECT_GT(evaluated(), after_y) << "a bind invalidates the reused scores";
}

// kube-scheduler filters and scores one pod on one snapshot: a bind or an event that lands between a pod's
// filter and its prioritize does not make the prioritize evaluate again (the hold is placed on the state as it
// is then, and refuses a node that no longer fits); another pod's prioritize after the change does evaluate.
TEST(StateEvents, APodsPrioritizeTakesItsFilterScoresThoughTheStateMovedBetween) {
  TESSERA_REQUIRE_SHARED("topologies/32em64t-2n8c2t-pci-noio.xml");
  World w(CnrOf("n1", "32em64t-2n8c2t-pci-noio.xml"), {});  // 2 NUMA nodes of 16 CPUs
  auto body = [](const std::string& name, int cpus) {
    return R"({"Pod": )" + NumaPodJson(name, cpus) + R"(, "NodeNames": ["n1"]})";
  };
  (void)w.service.Filter(body("x", 12));
  const double after_filter = NodesEvaluated(&w);
  // Meanwhile two pods are bound on n1 (events from the API server): both NUMA nodes are full.
  w.service.Apply(ExtenderService::Kind::kPod, false,
                  NumaPodJson("other-0", 12, "n1", R"({"node": "n1", "numa": [{"id": 0, "cpu_milli": 12000}]})"));
  w.service.Apply(ExtenderService::Kind::kPod, false,
                  NumaPodJson("other-1", 12, "n1", R"({"node": "n1", "numa": [{"id": 1, "cpu_milli": 12000}]})"));
  (void)w.service.Prioritize(body("x", 12));
  EXPECT_EQ(NodesEvaluated(&w), after_filter) << "x's own cycle: its filter's scores";
  EXPECT_EQ(w.Metrics().find(R"(tessera_extender_ledger_pods{source="held"} 1)"), std::string::npos)
      << "nothing held: the node no longer fits";
  const Answer bind = w.service.Bind(R"({"PodName": "x", "PodNamespace": "db", "PodUID": "uid-x", "Node": "n1"})");
  EXPECT_NE(bind.body.find("no longer fits"), std::string::npos) << bind.body;
  // Another replica (same shape) after the change: evaluated on the state as it is.
  (void)w.service.Prioritize(body("y", 12));
  EXPECT_GT(NodesEvaluated(&w), after_filter);
}

// kube-scheduler binds asynchronously: it filters the next pods before the bind of the last one arrives. The
// placement prioritize expects is held meanwhile, so a pod filtered in between never gets the same NUMA node
// (without the hold its filter passes and its bind fails with "no longer fits"). The bind takes the held
// placement over; a filter of the same pod again (a retry) does not count its own hold against it.
TEST(StateEvents, PrioritizeHoldsThePlacementUntilTheBindArrives) {
  TESSERA_REQUIRE_SHARED("topologies/32em64t-2n8c2t-pci-noio.xml");
  World w(CnrOf("n1", "32em64t-2n8c2t-pci-noio.xml"), {});  // 2 NUMA nodes of 16 CPUs
  auto body = [](const std::string& name) {
    return R"({"Pod": )" + NumaPodJson(name, 12) + R"(, "NodeNames": ["n1"]})";
  };
  auto feasible = [&](const std::string& name) {
    return w.service.Filter(body(name)).body.find(R"("NodeNames":["n1"])") != std::string::npos;
  };
  auto bind = [&](const std::string& name) {
    return w.service
        .Bind(R"({"PodName": ")" + name + R"(", "PodNamespace": "db", "PodUID": "uid-)" + name +
              R"(", "Node": "n1"})")
        .body;
  };
  ASSERT_TRUE(feasible("a"));
  (void)w.service.Prioritize(body("a"));  // a holds one NUMA node
  ASSERT_TRUE(feasible("b"));
  (void)w.service.Prioritize(body("b"));  // b the other
  EXPECT_FALSE(feasible("c")) << "both NUMA nodes are held for binds to come";
  // An unrelated pod bound on n1 re-derives the node: the holds are charged again after it.
  w.service.Apply(ExtenderService::Kind::kPod, false,
                  R"({"metadata": {"name": "web", "namespace": "db", "uid": "uid-web"}, "spec": {"nodeName": "n1",
                      "containers": [{"name": "c", "resources": {"requests": {"cpu": "1"}}}]}})");
  EXPECT_FALSE(feasible("c")) << "the holds survive the node's re-derivation";
  EXPECT_NE(w.Metrics().find(R"(tessera_extender_ledger_pods{source="held"} 2)"), std::string::npos);
  EXPECT_TRUE(feasible("a")) << "a's retried filter does not count a's own hold";
  (void)w.service.Prioritize(body("a"));
  EXPECT_EQ(bind("a"), R"({"Error":""})");
  EXPECT_EQ(bind("b"), R"({"Error":""})");
  const std::vector<int64_t> a = NumaIds(w.service.AllocationOf("uid-a"));
  const std::vector<int64_t> b = NumaIds(w.service.AllocationOf("uid-b"));
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_NE(a[0], b[0]);
  const std::string metrics = w.Metrics();
  EXPECT_NE(metrics.find(R"(tessera_extender_ledger_pods{source="held"} 0)"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find(R"(tessera_extender_held_binds_total{outcome="taken"} 2)"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find(R"(tessera_extender_ledger_pods{source="annotation"} 2)"), std::string::npos);
  EXPECT_FALSE(feasible("c"));
}

// Among equally good nodes kube-scheduler picks at random: prioritize scores the node it held alone at the top,
// so kube-scheduler's sum (the extender's weight x 10 per point) picks the reserved node. A pod that needs no
// topology holds nothing and its equal scores stay equal.
TEST(StateEvents, TheHeldNodeIsTheOnlyOneWithTheTopScore) {
  TESSERA_REQUIRE_SHARED("topologies/32em64t-2n8c2t-pci-noio.xml");
  ExtenderService service{ExtenderOptions{}};
  std::vector<std::string> nodes, cnrs;
  for (const char* n : {"n1", "n2", "n3", "n4"}) {
    nodes.push_back(NodeJson(n));
    cnrs.push_back(crd::EncodeCnr(CnrOf(n, "32em64t-2n8c2t-pci-noio.xml")));
  }
  service.Replace(ExtenderService::Kind::kNode, nodes);
  service.Replace(ExtenderService::Kind::kCnr, cnrs);
  service.Replace(ExtenderService::Kind::kPod, {});
  auto scores = [&](const std::string& pod) {
    const std::string args = R"({"Pod": )" + pod + R"(, "NodeNames": ["n1", "n2", "n3", "n4"]})";
    EXPECT_NE(service.Filter(args).body.find(R"("NodeNames":["n1","n2","n3","n4"])"), std::string::npos);
    const std::string answer = service.Prioritize(args).body;
    rapidjson::Document d;
    d.Parse(answer.c_str());
    // A host the answer leaves out scores 0 (kube-scheduler adds nothing for it).
    std::map<std::string, int64_t> out = {{"n1", 0}, {"n2", 0}, {"n3", 0}, {"n4", 0}};
    if (d.HasParseError() || !d.IsArray()) {
      ADD_FAILURE() << answer;
      return out;
    }
    for (const auto& h : d.GetArray()) out[h["Host"].GetString()] = h["Score"].GetInt64();
    return out;
  };
  auto top = [](const std::map<std::string, int64_t>& s) {
    std::vector<std::string> best;
    int64_t max = -1;
    for (const auto& [n, v] : s) max = std::max(max, v);
    for (const auto& [n, v] : s)
      if (v == max) best.push_back(n);
    return best;
  };
  const std::map<std::string, int64_t> plain =
      scores(R"({"metadata": {"name": "web", "namespace": "db", "uid": "uid-web"}, "spec": {"containers":
                 [{"name": "c", "resources": {"requests": {"cpu": "1"}}}]}})");
  EXPECT_EQ(top(plain).size(), 4u) << "nothing held, equal nodes score equal";
  const std::map<std::string, int64_t> a = scores(NumaPodJson("a", 12));
  ASSERT_EQ(a.size(), 4u);
  const std::vector<std::string> a_top = top(a);
  ASSERT_EQ(a_top.size(), 1u) << "one node at the top: the one held";
  for (const auto& [n, v] : a) {
    if (n != a_top[0]) {
      EXPECT_LT(v, a.at(a_top[0]));
    }
  }
  const std::map<std::string, int64_t> b = scores(NumaPodJson("b", 12));
  ASSERT_EQ(top(b).size(), 1u);
  // kube-scheduler binds a where its sum is highest: the held node, whose placement the bind takes over.
  EXPECT_EQ(
      service.Bind(R"({"PodName": "a", "PodNamespace": "db", "PodUID": "uid-a", "Node": ")" + a_top[0] + R"("})")
          .body,
      R"({"Error":""})");
  EXPECT_FALSE(service.AllocationOf("uid-a").empty());
}

// A hold whose bind never comes (kube-scheduler dropped the pod after prioritize, or the pod was deleted) gives
// its placement back: after hold_ttl, or at once on the pod's delete event.
TEST(StateEvents, HoldsWithoutABindAreReturned) {
  TESSERA_REQUIRE_SHARED("topologies/32em64t-2n8c2t-pci-noio.xml");
  auto clock = std::make_shared<ManualClock>();
  ExtenderOptions options;
  options.clock = clock;
  options.hold_ttl = std::chrono::seconds(10);
  World w(CnrOf("n1", "32em64t-2n8c2t-pci-noio.xml"), {}, options);
  auto body = [](const std::string& name) {
    return R"({"Pod": )" + NumaPodJson(name, 12) + R"(, "NodeNames": ["n1"]})";
  };
  auto feasible = [&](const std::string& name) {
    return w.service.Filter(body(name)).body.find(R"("NodeNames":["n1"])") != std::string::npos;
  };
  for (const char* name : {"a", "b"}) {
    ASSERT_TRUE(feasible(name));
    (void)w.service.Prioritize(body(name));
  }
  ASSERT_FALSE(feasible("c"));
  clock->Advance(std::chrono::seconds(5));
  EXPECT_FALSE(feasible("c")) << "within hold_ttl";
  w.service.Apply(ExtenderService::Kind::kPod, true, NumaPodJson("a", 12));  // a deleted
  EXPECT_TRUE(feasible("c")) << "a's delete returned its hold";
  (void)w.service.Prioritize(body("c"));
  ASSERT_FALSE(feasible("d"));
  clock->Advance(std::chrono::seconds(11));
  EXPECT_TRUE(feasible("d")) << "b's and c's holds expired";
}

// Answers copy node names as JSON strings written once per node list: runs of feasible nodes, names that need
// escaping, unknown nodes between known ones, and a list that changes between calls all come out as valid JSON
// naming the right nodes.
TEST(StateEvents, AnswersNameTheRightNodesWhateverTheListHolds) {
  TESSERA_REQUIRE_SHARED("topologies/32em64t-2n8c2t-pci-noio.xml");
  World w(CnrOf("n1", "32em64t-2n8c2t-pci-noio.xml"), {});
  auto filter = [&w](const std::string& pod, const std::string& names) {
    const Answer a = w.service.Filter(R"({"Pod": )" + pod + R"(, "NodeNames": )" + names + "}");
    EXPECT_EQ(a.status, 200);
    auto d = std::make_unique<rapidjson::Document>();
    d->Parse(a.body.c_str());
    EXPECT_FALSE(d->HasParseError()) << a.body;
    return d;
  };
  auto passed = [](const rapidjson::Document& d) {
    std::vector<std::string> out;
    for (const auto& v : d["NodeNames"].GetArray()) out.emplace_back(v.GetString());
    return out;
  };
  const std::string list = R"(["ghost-a", "n1", "n1", "we\"ird\\name", "n1", "ghost-b"])";
  auto d = filter(NumaPodJson("a", 4), list);
  EXPECT_EQ(passed(*d), (std::vector<std::string>{"n1", "n1", "n1"}));
  const auto& unresolvable = (*d)["FailedAndUnresolvableNodes"];
  EXPECT_EQ(unresolvable.MemberCount(), 3u);
  EXPECT_TRUE(unresolvable.HasMember("ghost-a") && unresolvable.HasMember("ghost-b"));
  EXPECT_TRUE(unresolvable.HasMember("we\"ird\\name"));
  // The same list again (the answer reused), then a shorter one and a pod that fits nowhere.
  EXPECT_EQ(passed(*filter(NumaPodJson("b", 4), list)), (std::vector<std::string>{"n1", "n1", "n1"}));
  EXPECT_EQ(passed(*filter(NumaPodJson("c", 4), R"(["n1", "ghost-a"])")), (std::vector<std::string>{"n1"}));
  d = filter(NumaPodJson("huge", 400), R"(["n1", "ghost-a"])");
  EXPECT_TRUE(passed(*d).empty());
  EXPECT_TRUE((*d)["FailedNodes"].HasMember("n1"));
  EXPECT_TRUE((*d)["FailedAndUnresolvableNodes"].HasMember("ghost-a"));
}

// kube-scheduler sends windows of one cyclic order of its nodes; the resolution guesses each next node from the
// last list. Whatever the order (windows, reversed, a node added, unknown names), answers name the right nodes.
TEST(StateEvents, AnswersNameTheRightNodesWhateverOrderTheListsComeIn) {
  TESSERA_REQUIRE_SHARED("topologies/32em64t-2n8c2t-pci-noio.xml");
  ExtenderService service{ExtenderOptions{}};
  std::vector<std::string> nodes, cnrs;
  for (const char* n : {"n0", "n1", "n2", "n3", "n4", "n5"}) {
    nodes.push_back(NodeJson(n));
    cnrs.push_back(crd::EncodeCnr(CnrOf(n, "32em64t-2n8c2t-pci-noio.xml")));
  }
  service.Replace(ExtenderService::Kind::kNode, nodes);
  service.Replace(ExtenderService::Kind::kCnr, cnrs);
  service.Replace(ExtenderService::Kind::kPod, {NumaPodJson("big", 32, "n2")});  // n2: both NUMA nodes full
  auto passed = [&](const std::vector<std::string>& list) {
    std::string names;
    for (const std::string& n : list) names += (names.empty() ? "\"" : ",\"") + n + "\"";
    rapidjson::Document d;
    d.Parse(
        service.Filter(R"({"Pod": )" + NumaPodJson("p", 4) + R"(, "NodeNames": [)" + names + "]}").body.c_str());
    std::vector<std::string> out;
    if (d.HasParseError() || !d["NodeNames"].IsArray()) {
      ADD_FAILURE() << "unreadable answer";
      return out;
    }
    for (const auto& v : d["NodeNames"].GetArray()) out.emplace_back(v.GetString());
    return out;
  };
  using L = std::vector<std::string>;
  EXPECT_EQ(passed({"n0", "n1", "n2", "n3"}), (L{"n0", "n1", "n3"}));
  EXPECT_EQ(passed({"n4", "n5", "n0", "n1"}), (L{"n4", "n5", "n0", "n1"}));
  EXPECT_EQ(passed({"n2", "n3", "n4", "n5", "n0"}), (L{"n3", "n4", "n5", "n0"}));
  EXPECT_EQ(passed({"n5", "n4", "n3", "n2", "n1", "n0"}), (L{"n5", "n4", "n3", "n1", "n0"}));
  EXPECT_EQ(passed({"n1", "ghost", "n2", "n1", "n3"}), (L{"n1", "n1", "n3"}));
  service.Apply(ExtenderService::Kind::kNode, false, NodeJson("n6"));
  service.Apply(ExtenderService::Kind::kCnr, false, crd::EncodeCnr(CnrOf("n6", "32em64t-2n8c2t-pci-noio.xml")));
  EXPECT_EQ(passed({"n5", "n6", "n0", "n1", "n2"}), (L{"n5", "n6", "n0", "n1"}));
  EXPECT_EQ(passed({"n0", "n1", "n2", "n3", "n4", "n5", "n6"}), (L{"n0", "n1", "n3", "n4", "n5", "n6"}));
  // The same list again while a node's topology comes and goes: the resolution is reused (same names, same
  // records), and what it keeps of each record (has a topology or not) follows the store.
  const L all{"n0", "n1", "n3", "n6", "n7"};
  service.Apply(ExtenderService::Kind::kNode, false, NodeJson("n7"));
  EXPECT_EQ(passed(all), (L{"n0", "n1", "n3", "n6"})) << "n7 has no CNR yet";
  const std::string cnr7 = crd::EncodeCnr(CnrOf("n7", "32em64t-2n8c2t-pci-noio.xml"));
  service.Apply(ExtenderService::Kind::kCnr, false, cnr7);
  EXPECT_EQ(passed(all), all) << "n7's CNR arrived";
  service.Apply(ExtenderService::Kind::kCnr, true, cnr7);
  EXPECT_EQ(passed(all), (L{"n0", "n1", "n3", "n6"})) << "n7's CNR was deleted";
}

// A /metrics scrape never waits for the decision lock: while an evaluation holds it (a runner that waits on a
// gate, under the lock), the scrape returns at once with the values the last decision published.
TEST(StateEvents, MetricsScrapeDoesNotWaitForTheDecisionLock) {
  TESSERA_REQUIRE_SHARED("topologies/32em64t-2n8c2t-pci-noio.xml");
  struct GateRunner : tessera::scoring::ParallelRunner {
    std::promise<void> entered;
    std::shared_future<void> open;
    std::atomic<bool> first{true};
    size_t parallelism() const override { return 2; }
    void Run(size_t tasks, const std::function<void(size_t)>& task) override {
      if (first.exchange(false)) {
        entered.set_value();
        open.wait();
      }
      for (size_t i = 0; i < tasks; ++i) task(i);
    }
  } runner;
  std::promise<void> gate;
  runner.open = gate.get_future().share();
  ExtenderOptions options;
  options.scheduler.parallel = &runner;
  options.scheduler.parallel_min_nodes = 1;
  World w(CnrOf("n1", "32em64t-2n8c2t-pci-noio.xml"), {}, options);
  // Two distinct nodes: the scheduler splits only lists that name no node twice.
  w.service.Replace(ExtenderService::Kind::kNode, {NodeJson("n1"), NodeJson("n2")});
  w.service.Replace(ExtenderService::Kind::kCnr, {crd::EncodeCnr(CnrOf("n1", "32em64t-2n8c2t-pci-noio.xml")),
                                                  crd::EncodeCnr(CnrOf("n2", "32em64t-2n8c2t-pci-noio.xml"))});
  const std::string before = w.Metrics();
  ASSERT_NE(before.find(R"(tessera_extender_cluster_utilisation{resource="numa_cpu"} 0)"), std::string::npos)
      << before;
  auto filter = std::async(std::launch::async, [&] {
    return w.service.Filter(R"({"Pod": )" + NumaPodJson("a", 4) + R"(, "NodeNames": ["n1", "n2"]})");
  });
  ASSERT_EQ(runner.entered.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready)
      << "the evaluation never reached the runner";
  auto scrape = std::async(std::launch::async, [&] { return w.Metrics(); });
  const bool answered = scrape.wait_for(std::chrono::seconds(5)) == std::future_status::ready;
  gate.set_value();  // whatever happened, let the evaluation finish
  EXPECT_TRUE(answered) << "the scrape waited for the decision lock";
  const std::string during = scrape.get();
  EXPECT_NE(during.find("tessera_extender_cluster_utilisation"), std::string::npos);
  EXPECT_NE(filter.get().body.find(R"("NodeNames":["n1","n2"])"), std::string::npos);
}

}  // namespace
}  // namespace tessera::extender
