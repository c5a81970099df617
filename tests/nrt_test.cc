// NodeResourceTopology as a topology source: the codec on objects shaped like NFD's topology-updater's, the node
// model it gives, the golden equivalence with the CNR of the same hwloc topology (same filter and prioritize
// answers for CPU/memory/NUMA pods in both --resource-policy modes), what NRT cannot say (devices, reclaimed
// resources) failing with that reason, what its producer counts as held, and --topology-source auto.
#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include "crd/cnr_builder.h"
#include "crd/cnr_codec.h"
#include "crd/nrt_codec.h"
#include "extender/extender_service.h"
#include "kube/time_format.h"
#include "tests/shared_data.h"
#include "topology/hwloc_discovery.h"

namespace tessera {
namespace {

// As NFD's topology-updater publishes it (v1alpha2, attributes for the kubelet's policy and scope).
std::string NfdNrt(const std::string& name, const std::string& cpu0_available = "14",
                   const std::string& policy = "single-numa-node") {
  return R"({"apiVersion":"topology.node.k8s.io/v1alpha2","kind":"NodeResourceTopology",
    "metadata":{"name":")" +
         name + R"(","resourceVersion":"42","ownerReferences":[{"apiVersion":"v1","kind":"Namespace","name":"nfd",
      "uid":"x"}]},
    "topologyPolicies":["SingleNUMANodeContainerLevel"],
    "attributes":[{"name":"topologyManagerPolicy","value":")" +
         policy + R"("},{"name":"topologyManagerScope","value":"container"},
      {"name":"nodeTopologyPodsFingerprint","value":"pfp0v001abcdef"}],
    "zones":[
      {"name":"node-0","type":"Node","costs":[{"name":"node-0","value":10},{"name":"node-1","value":21}],
       "resources":[{"name":"cpu","capacity":"16","allocatable":"16","available":")" +
         cpu0_available + R"("},
                    {"name":"memory","capacity":"68719476736","allocatable":"67645734912","available":"67645734912"},
                    {"name":"example.com/dev","capacity":"2","allocatable":"2","available":"2"}]},
      {"name":"node-1","type":"Node","costs":[{"name":"node-0","value":21},{"name":"node-1","value":10}],
       "resources":[{"name":"cpu","capacity":16,"allocatable":16,"available":16},
                    {"name":"memory","capacity":"64Gi","allocatable":"64Gi","available":"64Gi"}]},
      {"name":"socket-0","type":"Socket"}]})";
}

TEST(NrtCodec, DecodesWhatNfdPublishes) {
  Result<crd::Nrt> nrt = crd::DecodeNrt(NfdNrt("n1"));
  ASSERT_TRUE(nrt.ok()) << nrt.status().ToString();
  ASSERT_EQ(nrt->zones.size(), 3u);
  EXPECT_EQ(nrt->zones[0].costs.at(1).value, 21);
  Result<crd::CnrNodeState> state = crd::NodeStateFromNrt(*nrt);
  ASSERT_TRUE(state.ok()) << state.status().ToString();
  const scoring::NodeState& n = state->node;
  EXPECT_EQ(n.topology_policy, scoring::TopologyPolicy::kSingleNumaNode);
  EXPECT_EQ(n.topology_scope, scoring::TopologyScope::kContainer);
  EXPECT_TRUE(n.cpu_manager_static);  // inferred, as for a Katalyst CNR
  ASSERT_EQ(n.numas.size(), 2u);
  EXPECT_EQ(n.numas[0].cpu_allocatable_milli, 16000);
  EXPECT_EQ(n.numas[1].memory_allocatable, int64_t{64} << 30);
  EXPECT_NE(n.numas[0].socket_id, n.numas[1].socket_id);  // no parent: each its own socket
  EXPECT_TRUE(n.gpus.empty());
  std::vector<crd::NrtHeld> held = crd::HeldByNrt(*nrt);
  ASSERT_EQ(held.size(), 1u);
  EXPECT_EQ(held[0].numa_id, 0);
  EXPECT_EQ(held[0].cpu_milli, 2000);

  // Round trip through our encoder.
  Result<crd::Nrt> again = crd::DecodeNrt(crd::EncodeNrt(*nrt));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->zones.size(), 3u);
  EXPECT_EQ(again->zones[1].resources[0].allocatable.milli(), 16000);
}

TEST(NrtCodec, ZoneNamesAsTheNumanodeHelperReadsThem) {
  EXPECT_EQ(crd::NumaIdFromZoneName("node-0"), 0);
  EXPECT_EQ(crd::NumaIdFromZoneName("node-7"), 7);
  for (const char* bad :
       {"Node-1", "NODE-2", "node_3", "node 4", "node-5-1", "node6", "--node-7", "node--1", "node-", "cell-1"}) {
    EXPECT_EQ(crd::NumaIdFromZoneName(bad), -1) << bad;
  }
}

TEST(NrtCodec, SelfContradictingObjectsAreRefused) {
  struct Bad {
    std::string json;
    const char* why;
  };
  std::string over = NfdNrt("n1", "17");  // available above allocatable
  std::string unknown = NfdNrt("n1", "14", "single-numa");
  std::string alloc = NfdNrt("n1");
  alloc.replace(alloc.find(R"("capacity":16,"allocatable":16)"), 30, R"("capacity":16,"allocatable":32)");
  for (const Bad& b : {Bad{over, "available"}, Bad{unknown, "topologyManagerPolicy"}, Bad{alloc, "allocatable"}}) {
    Result<crd::Nrt> nrt = crd::DecodeNrt(b.json);
    ASSERT_TRUE(nrt.ok()) << nrt.status().ToString();
    Result<crd::CnrNodeState> state = crd::NodeStateFromNrt(*nrt);
    ASSERT_FALSE(state.ok()) << b.why;
    EXPECT_NE(state.status().message().find(b.why), std::string::npos) << state.status().message();
  }
  for (const char* garbage :
       {R"({"metadata":{"name":"n"},"zones":{}})", R"({"metadata":{"name":"n"},"zones":[{"name":"node-0"}]})",
        R"({"metadata":{"name":"n"},"zones":[{"name":"node-0","type":"Node",
                                 "resources":[{"name":"cpu","capacity":"x","allocatable":"1","available":"1"}]}]})",
        R"({"metadata":{"name":"n"},"zones":[{"name":"node-0","type":"Node",
                                 "resources":[{"name":"cpu","capacity":"1"}]}]})",
        R"({"kind":"CustomNodeResource","metadata":{"name":"n"}})", R"([])"}) {
    EXPECT_FALSE(crd::DecodeNrt(garbage).ok()) << garbage;
  }
}

// --- Through the extender ----------------------------------------------------------------------------------

std::string NodeJson(const std::string& name) {
  return R"({"metadata":{"name":")" + name + R"("}})";
}

std::string Pod(const std::string& name, const std::string& cpu, const std::string& memory, bool dedicated,
                bool exclusive = false, const std::string& extra_requests = "", int containers = 1) {
  std::string annotations;
  if (dedicated) {
    annotations = std::string(R"("katalyst.kubewharf.io/qos_level":"dedicated_cores",)") +
                  R"("katalyst.kubewharf.io/memory_enhancement":"{\"numa_binding\":\"true\")" +
                  (exclusive ? R"(,\"numa_exclusive\":\"true\")" : "") + R"(}")";
  }
  std::string list;
  for (int i = 0; i < containers; ++i) {
    const std::string res = R"({"cpu":")" + cpu + R"(","memory":")" + memory + "\"" + extra_requests + "}";
    list += std::string(i ? "," : "") + R"({"name":"c)" + std::to_string(i) + R"(","resources":{"requests":)" +
            res + R"(,"limits":)" + res + "}}";
  }
  return R"({"metadata":{"name":")" + name + R"(","namespace":"t","uid":"uid-)" + name + R"(","annotations":{)" +
         annotations + R"(}},"spec":{"containers":[)" + list + "]}}";
}

struct Twins {
  extender::ExtenderService by_cnr;
  extender::ExtenderService by_nrt;
  std::vector<std::string> names;
  static extender::ExtenderOptions Options(scoring::ResourcePolicy mode,
                                           extender::ExtenderOptions::TopologySource source) {
    extender::ExtenderOptions o;
    o.scheduler.resource_policy = mode;
    o.topology_source = source;
    return o;
  }
  Twins(scoring::ResourcePolicy mode)
      : by_cnr(Options(mode, extender::ExtenderOptions::TopologySource::kCnr)),
        by_nrt(Options(mode, extender::ExtenderOptions::TopologySource::kNrt)) {}
};

// With its GPUs and NICs left out, a server published as a CNR and as an NRT is the same CPU/memory/NUMA
// machine: every filter and prioritize answer must match. With the devices in, filter answers still match; scores
// may not, because on a cluster with GPUs Tessera steers CPU-only pods away from idle cards (GpuPolicy score),
// and an NRT does not show the cards.
TEST(NrtGolden, SameTopologyAsCnrOrNrtGivesTheSameDecisions) {
  TESSERA_REQUIRE_SHARED("topologies/README.md");
  const std::vector<std::string> files = {"32em64t-2n8c2t-pci-noio.xml",
                                          "corona.xml",
                                          "nvidiaDGX2.xml",
                                          "sierra.xml",
                                          "topo.dp-esb01.xml",
                                          "topo.jrc0386.xml",
                                          "topo.dp-intelmax01-flat.xml",
                                          "tuo.SPX.xml"};
  const std::vector<std::string> policies = {"single-numa-node/container", "single-numa-node/pod",
                                             "restricted/container", "best-effort/container", "none"};
  for (const bool with_devices : {false, true}) {
    for (scoring::ResourcePolicy mode : {scoring::ResourcePolicy::kDynamic, scoring::ResourcePolicy::kNative}) {
      SCOPED_TRACE(std::string(with_devices ? "with devices, " : "CPU/memory only, ") +
                   (mode == scoring::ResourcePolicy::kDynamic ? "dynamic" : "native"));
      Twins t(mode);
      std::vector<std::string> nodes, cnrs, nrts;
      for (const std::string& file : files) {
        topology::DiscoveryOptions d;
        d.xml_path = testing::SharedPath("topologies/" + file);
        Result<topology::DiscoveryResult> topo = topology::DiscoverTopology(d);
        ASSERT_TRUE(topo.ok()) << file << ": " << topo.status().ToString();
        if (!with_devices) {
          topo->topology.gpus.clear();
          topo->topology.nics.clear();
        }
        for (size_t p = 0; p < policies.size(); ++p) {
          crd::CnrBuildOptions o;
          o.node_name = file.substr(0, file.size() - 4) + "-" + std::to_string(p);
          std::replace(o.node_name.begin(), o.node_name.end(), '.', '-');
          o.topology_policy = policies[p];
          o.cpu_manager_policy = "static";
          o.memory_manager_policy = p % 2 == 0 ? "Static" : "None";
          o.reserved_cpus = {0};
          o.heartbeat_time = kube::FormatRfc3339(std::chrono::system_clock::now());
          Result<crd::Cnr> cnr = crd::BuildCnr(topo->topology, o);
          ASSERT_TRUE(cnr.ok()) << cnr.status().ToString();
          nodes.push_back(NodeJson(o.node_name));
          cnrs.push_back(crd::EncodeCnr(*cnr));
          nrts.push_back(crd::EncodeNrt(crd::NrtFromCnr(*cnr)));
          t.names.push_back(o.node_name);
        }
      }
      for (extender::ExtenderService* s : {&t.by_cnr, &t.by_nrt}) {
        s->Replace(extender::ExtenderService::Kind::kNode, nodes);
        s->Replace(extender::ExtenderService::Kind::kCnr, cnrs);
        s->Replace(extender::ExtenderService::Kind::kNrt, nrts);
        s->Replace(extender::ExtenderService::Kind::kPod, {});
      }
      std::string list;
      for (const std::string& n : t.names) list += std::string(list.empty() ? "" : ",") + "\"" + n + "\"";
      const std::vector<std::string> pods = {Pod("small", "2", "4Gi", true),
                                             Pod("wide", "24", "16Gi", true),
                                             Pod("huge", "60", "64Gi", true),
                                             Pod("exclusive", "4", "8Gi", true, true),
                                             Pod("big-exclusive", "40", "8Gi", true, true),
                                             Pod("guaranteed", "8", "8Gi", false),
                                             Pod("guaranteed-wide", "30", "8Gi", false),
                                             Pod("fraction", "500m", "1Gi", false),
                                             Pod("two-containers", "10", "2Gi", false, false, "", 2),
                                             Pod("memory-heavy", "2", "300Gi", true)};
      int feasible_somewhere = 0, infeasible_somewhere = 0;
      for (const std::string& pod : pods) {
        const std::string filter = R"({"Pod":)" + pod + R"(,"NodeNames":[)" + list + "]}";
        const extender::Answer a = t.by_cnr.Filter(filter);
        const extender::Answer b = t.by_nrt.Filter(filter);
        ASSERT_EQ(a.status, 200) << a.body;
        EXPECT_EQ(a.body, b.body) << pod;
        feasible_somewhere += a.body.find(R"("NodeNames":[])") == std::string::npos;
        infeasible_somewhere += a.body.find(R"("FailedNodes":{})") == std::string::npos;
        if (!with_devices) {
          EXPECT_EQ(t.by_cnr.Prioritize(filter).body, t.by_nrt.Prioritize(filter).body) << pod;
        }
      }
      // The battery exercises both outcomes, so equal answers are not trivially equal.
      EXPECT_GT(feasible_somewhere, 4);
      EXPECT_GT(infeasible_somewhere, 4);
    }
  }
}

TEST(NrtExtender, DevicesAndReclaimedResourcesAreUnknownThere) {
  extender::ExtenderOptions o;
  o.topology_source = extender::ExtenderOptions::TopologySource::kNrt;
  extender::ExtenderService service(o);
  service.Replace(extender::ExtenderService::Kind::kNode, {NodeJson("n1")});
  service.Replace(extender::ExtenderService::Kind::kNrt, {NfdNrt("n1")});
  service.Replace(extender::ExtenderService::Kind::kPod, {});
  const std::string gpu = Pod("gpu", "2", "1Gi", false, false, R"(,"nvidia.com/gpucores":"30")");
  std::string a = service.Filter(R"({"Pod":)" + gpu + R"(,"NodeNames":["n1"]})").body;
  EXPECT_NE(a.find("FailedAndUnresolvableNodes\":{\"n1\""), std::string::npos) << a;
  EXPECT_NE(a.find("described only by a NodeResourceTopology"), std::string::npos) << a;
  const std::string numa = Pod("numa", "4", "1Gi", true);
  a = service.Filter(R"({"Pod":)" + numa + R"(,"NodeNames":["n1"]})").body;
  EXPECT_NE(a.find(R"("NodeNames":["n1"])"), std::string::npos) << a;
}

// NUMA 0 has 16 CPUs of which the NRT's producer says 2 are held by a pod Tessera does not know: a 15-CPU
// NUMA-bound pod then fits only NUMA 1; with both NUMA nodes so held, nowhere.
TEST(NrtExtender, WhatTheProducerCountsAsHeldIsCharged) {
  extender::ExtenderOptions o;
  o.topology_source = extender::ExtenderOptions::TopologySource::kNrt;
  extender::ExtenderService service(o);
  std::string nrt = NfdNrt("n1", "14");
  service.Replace(extender::ExtenderService::Kind::kNode, {NodeJson("n1")});
  service.Replace(extender::ExtenderService::Kind::kNrt, {nrt});
  service.Replace(extender::ExtenderService::Kind::kPod, {});
  const std::string pod = Pod("p15", "15", "1Gi", true);
  const std::string filter = R"({"Pod":)" + pod + R"(,"NodeNames":["n1"]})";
  EXPECT_NE(service.Filter(filter).body.find(R"("NodeNames":["n1"])"), std::string::npos);
  nrt.replace(nrt.find(R"("available":16})"), 15, R"("available":13})");
  service.Apply(extender::ExtenderService::Kind::kNrt, false, nrt);
  const std::string a = service.Filter(filter).body;
  EXPECT_NE(a.find(R"("NodeNames":[])"), std::string::npos) << a;
  // Released: the next NRT says NUMA 1 is free again.
  service.Apply(extender::ExtenderService::Kind::kNrt, false, NfdNrt("n1", "14"));
  EXPECT_NE(service.Filter(filter).body.find(R"("NodeNames":["n1"])"), std::string::npos);
}

TEST(NrtExtender, AutoPrefersTheCnrAndFallsBackToTheNrt) {
  TESSERA_REQUIRE_SHARED("topologies/corona.xml");
  extender::ExtenderOptions o;
  o.topology_source = extender::ExtenderOptions::TopologySource::kAuto;
  extender::ExtenderService service(o);
  auto registry = std::make_shared<prometheus::Registry>();
  service.AttachMetrics(registry);
  topology::DiscoveryOptions d;
  d.xml_path = testing::SharedPath("topologies/corona.xml");  // 2 NUMA nodes of 48 CPUs, 8 GPUs
  crd::CnrBuildOptions b;
  b.node_name = "with-cnr";
  b.heartbeat_time = kube::FormatRfc3339(std::chrono::system_clock::now());
  const crd::Cnr cnr = *crd::BuildCnr(topology::DiscoverTopology(d)->topology, b);
  std::string broken = NfdNrt("broken-nrt", "14", "static");
  service.Replace(extender::ExtenderService::Kind::kNode,
                  {NodeJson("with-cnr"), NodeJson("nrt-only"), NodeJson("broken-nrt"), NodeJson("nothing")});
  service.Replace(extender::ExtenderService::Kind::kCnr, {crd::EncodeCnr(cnr)});
  // The CNR node also has an NRT that says less: auto uses the CNR.
  service.Replace(extender::ExtenderService::Kind::kNrt, {NfdNrt("with-cnr"), NfdNrt("nrt-only"), broken});
  service.Replace(extender::ExtenderService::Kind::kPod, {});
  const std::string pod = Pod("p30", "30", "1Gi", true);
  const std::string a =
      service.Filter(R"({"Pod":)" + pod + R"(,"NodeNames":["with-cnr","nrt-only","broken-nrt","nothing"]})").body;
  EXPECT_NE(a.find(R"("NodeNames":["with-cnr"])"), std::string::npos) << a;
  EXPECT_NE(a.find(R"("nrt-only":"Tessera)"), std::string::npos) << a;  // 30 CPUs do not fit 16-CPU NUMA nodes
  EXPECT_NE(a.find("its NodeResourceTopology is unusable"), std::string::npos) << a;
  EXPECT_NE(a.find("no CustomNodeResource and no NodeResourceTopology"), std::string::npos) << a;
  service.UpdateGauges();
  const std::string metrics = prometheus::TextSerializer().Serialize(registry->Collect());
  EXPECT_NE(metrics.find(R"(node="broken-nrt",reason="invalid",source="nrt"} 1)"), std::string::npos) << metrics;
}

}  // namespace
}  // namespace tessera
