#include "crd/pod_codec.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "tests/shared_data.h"

namespace tessera::crd {
namespace {

using scoring::NumaAffinityTerm;
using scoring::QosLevel;

std::string PodJson(const std::string& annotations, const std::string& containers,
                    const std::string& extra_spec = "") {
  return R"({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "ml", "uid": "u1",
    "labels": {"role": "worker"}, "annotations": {)" +
         annotations + R"(}, "unknownField": 1},
    "spec": {"containers": [)" +
         containers + "]" + extra_spec + R"(}, "status": {"phase": "Pending"}})";
}

const char* kGuaranteed4 =
    R"({"name": "main", "resources": {"requests": {"cpu": "4", "memory": "8Gi"}, "limits": {"cpu": "4", "memory": "8Gi"}}})";

TEST(PodCodec, DecodesTheCapturedKubeSchedulerPodUnchanged) {
  TESSERA_REQUIRE_SHARED("fixtures/kube-scheduler/filter-nodecache.json");
  rapidjson::Document doc;
  std::string body = testing::ReadFile(testing::SharedPath("fixtures/kube-scheduler/filter-nodecache.json"));
  doc.Parse(body.c_str());
  ASSERT_TRUE(doc.HasMember("Pod"));
  Result<scoring::PodRequest> pod = DecodePodRequest(doc["Pod"]);
  ASSERT_TRUE(pod.ok()) << pod.status().ToString();
  EXPECT_EQ(pod->name, "dedicated-numa-pod");
  EXPECT_EQ(pod->qos, QosLevel::kDedicatedCores);
  EXPECT_TRUE(pod->numa_binding);
  EXPECT_FALSE(pod->numa_exclusive);
  EXPECT_EQ(pod->cpu_milli, 4000);
  EXPECT_EQ(pod->memory_bytes, int64_t{8} << 30);
  EXPECT_TRUE(pod->guaranteed);
}

TEST(PodCodec, SumsContainersMaxesInitContainersAddsOverhead) {
  const std::string containers =
      std::string(kGuaranteed4) +
      R"(, {"name": "side", "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}}})";
  Result<scoring::PodRequest> pod = DecodePodRequest(
      PodJson("", containers,
              R"(, "initContainers": [{"name": "init", "resources": {"requests": {"cpu": "6", "memory": "1Gi"}}}],
         "overhead": {"cpu": "250m", "memory": "128Mi"})"));
  ASSERT_TRUE(pod.ok()) << pod.status().ToString();
  EXPECT_EQ(pod->qos, QosLevel::kSharedCores) << "no qos_level annotation means shared_cores";
  EXPECT_EQ(pod->cpu_milli, 6000 + 250) << "max(4.5 app, 6 init) + overhead";
  EXPECT_EQ(pod->memory_bytes, (int64_t{9} << 30) + (int64_t{128} << 20));
  EXPECT_EQ(pod->containers.size(), 2u);
  EXPECT_FALSE(pod->guaranteed) << "the sidecar has no limits";
  EXPECT_TRUE(pod->containers[0].guaranteed);
  EXPECT_EQ(pod->namespace_name, "ml");
  EXPECT_EQ(pod->labels.at("role"), "worker");
}

TEST(PodCodec, LimitsDefaultRequestsAndReclaimedResources) {
  Result<scoring::PodRequest> pod = DecodePodRequest(
      PodJson(R"("katalyst.kubewharf.io/qos_level": "reclaimed_cores")",
              R"({"name": "b", "resources": {"limits": {"resource.katalyst.kubewharf.io/reclaimed_millicpu": "2k",
          "resource.katalyst.kubewharf.io/reclaimed_memory": "4Gi"}}})"));
  ASSERT_TRUE(pod.ok()) << pod.status().ToString();
  EXPECT_EQ(pod->qos, QosLevel::kReclaimedCores);
  EXPECT_EQ(pod->reclaimed_milli_cpu, 2000);
  EXPECT_EQ(pod->reclaimed_memory_bytes, int64_t{4} << 30);
}

TEST(PodCodec, NumaAffinityAnnotationsWithKubernetesSelectors) {
  const std::string ann = R"("katalyst.kubewharf.io/qos_level": "dedicated_cores",
    "katalyst.kubewharf.io/memory_enhancement": "{\"numa_binding\":\"true\",\"numa_exclusive\":\"false\",\"oom_priority\":\"150\"}",
    "katalyst.kubewharf.io/microtopology_antiaffinity": "{\"required\":[{\"MatchLabels\":{\"role\":\"ps\"},\"Zone\":\"socket\",\"namespaces\":[\"ml\",\"x\"]}],\"preferred\":[{\"matchExpressions\":[{\"key\":\"tier\",\"operator\":\"In\",\"values\":[\"db\"]}],\"weight\":30}]}",
    "katalyst.kubewharf.io/microtopology_affinity": "{\"preferred\":[{\"matchLabels\":{\"app\":\"cache\"}}]}")";
  Result<scoring::PodRequest> pod = DecodePodRequest(PodJson(ann, kGuaranteed4));
  ASSERT_TRUE(pod.ok()) << pod.status().ToString();
  EXPECT_TRUE(pod->numa_binding);
  EXPECT_FALSE(pod->numa_exclusive);
  ASSERT_EQ(pod->anti_affinity.required.size(), 1u);
  EXPECT_EQ(pod->anti_affinity.required[0].zone, NumaAffinityTerm::Zone::kSocket);
  EXPECT_EQ(pod->anti_affinity.required[0].namespaces, (std::vector<std::string>{"ml", "x"}));
  EXPECT_EQ(pod->anti_affinity.preferred[0].weight, 30);
  EXPECT_EQ(pod->anti_affinity.preferred[0].selector.match_expressions[0].values[0], "db");
  EXPECT_EQ(pod->affinity.preferred[0].weight, 1) << "weightless preferred terms count once";
  EXPECT_TRUE(pod->affinity.required.empty());
}

TEST(PodCodec, BadAnnotationsFailClosedNamingTheAnnotation) {
  const std::pair<std::string, const char*> cases[] = {
      {R"("katalyst.kubewharf.io/qos_level": "gold")", "unknown QoS level \"gold\""},
      {R"("katalyst.kubewharf.io/qos_level": "Dedicated_Cores")", "unknown QoS level"},
      {R"("katalyst.kubewharf.io/memory_enhancement": "{not json")", "memory_enhancement: malformed JSON"},
      {R"("katalyst.kubewharf.io/memory_enhancement": "{\"numa_binding\": true}")", "must be a string"},
      {R"("katalyst.kubewharf.io/memory_enhancement": "{\"numa_binding\": \"True\"}")",
       "must be \"true\" or \"false\""},
      {R"("katalyst.kubewharf.io/memory_enhancement": "[1]")", "expected a JSON object"},
      {R"("katalyst.kubewharf.io/microtopology_affinity": "{\"required\":[{\"zone\":\"numa\"}]}")",
       "selector needs matchLabels"},
      {R"("katalyst.kubewharf.io/microtopology_affinity": "{\"required\":[{\"matchLabels\":{\"a\":\"b\"},\"zone\":\"rack\"}]}")",
       ".zone: must be"},
      {R"("katalyst.kubewharf.io/microtopology_antiaffinity": "{\"required\":[{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Near\"}]}]}")",
       "unknown operator"},
      {R"("katalyst.kubewharf.io/microtopology_antiaffinity": "{\"required\": 5}")", "required: expected array"},
  };
  for (const auto& [ann, expected] : cases) {
    Result<scoring::PodRequest> pod = DecodePodRequest(PodJson(ann, kGuaranteed4));
    ASSERT_FALSE(pod.ok()) << ann;
    EXPECT_NE(pod.status().message().find(expected), std::string::npos) << pod.status().message();
  }
}

TEST(PodCodec, BadSpecsAreRejected) {
  EXPECT_FALSE(DecodePodRequest("{").ok());
  EXPECT_FALSE(DecodePodRequest(R"({"metadata": {"name": "p"}})").ok());
  EXPECT_FALSE(DecodePodRequest(R"({"metadata": {"name": "p"}, "spec": {"containers": []}})").ok());
  Result<scoring::PodRequest> r =
      DecodePodRequest(PodJson("", R"({"name": "m", "resources": {"requests": {"cpu": "-1"}}})"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("negative cpu"), std::string::npos) << r.status().message();
  r = DecodePodRequest(PodJson("", R"({"name": "m", "resources": {"requests": {"cpu": "lots"}}})"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("spec.containers[0].resources.requests[\"cpu\"]"), std::string::npos)
      << r.status().message();
  r = DecodePodRequest(PodJson("", R"({"name": "m", "resources": {"requests": {"cpu": 3}}})"));
  ASSERT_TRUE(r.ok()) << "integer quantities are valid JSON for Kubernetes";
  EXPECT_EQ(r->cpu_milli, 3000);
}

}  // namespace
}  // namespace tessera::crd

#include "crd/cnr_builder.h"
#include "crd/cnr_codec.h"
#include "crd/cnr_node_state.h"
#include "scoring/scheduler.h"
#include "topology/hwloc_discovery.h"

namespace tessera::crd {
namespace {

// The reporter's CNR, decoded, is what the scheduler schedules against: policies and allocatable carry over.
TEST(CnrNodeState, ReporterCnrDrivesTheScheduler) {
  TESSERA_REQUIRE_SHARED("topologies/topo.jrc0386.xml");
  topology::DiscoveryOptions d;
  d.xml_path = testing::SharedPath("topologies/topo.jrc0386.xml");
  auto t = topology::DiscoverTopology(d);
  ASSERT_TRUE(t.ok());
  CnrBuildOptions o;
  o.node_name = "jrc";
  o.topology_policy = "single-numa-node/pod";
  o.cpu_manager_policy = "static";
  o.memory_manager_policy = "Static";
  o.reserved_cpus = {0, 1};
  o.reclaim_ratio = 0.5;
  Result<Cnr> cnr = DecodeCnr(EncodeCnr(*BuildCnr(t->topology, o)));
  ASSERT_TRUE(cnr.ok());
  Result<CnrNodeState> state = NodeStateFromCnr(*cnr);
  ASSERT_TRUE(state.ok()) << state.status().ToString();
  const scoring::NodeState& n = state->node;
  EXPECT_EQ(n.topology_policy, scoring::TopologyPolicy::kSingleNumaNode);
  EXPECT_EQ(n.topology_scope, scoring::TopologyScope::kPod);
  EXPECT_TRUE(n.cpu_manager_static);
  EXPECT_TRUE(n.memory_manager_static);
  ASSERT_EQ(n.numas.size(), 8u);
  EXPECT_EQ(n.numas[0].cpu_allocatable_milli, 30000);  // 32 CPUs minus the two reserved
  EXPECT_EQ(n.numas[0].socket_id, 0);
  EXPECT_EQ(n.numas[7].socket_id, 1);
  EXPECT_EQ(n.numa_detail[1].reclaimed_cpu_allocatable_milli, 16000);
  EXPECT_TRUE(state->warnings.empty());

  scoring::ClusterState cluster;
  cluster.AddNode(n);
  scoring::Scheduler scheduler{scoring::SchedulerConfig{}};
  scoring::PodRequest pod;
  pod.name = "p";
  pod.uid = "u";
  pod.qos = scoring::QosLevel::kDedicatedCores;
  pod.numa_binding = true;
  pod.cpu_milli = 31000;
  pod.memory_bytes = int64_t{8} << 30;
  EXPECT_EQ(scheduler.Schedule(cluster, pod).Best()->placement.numa_mask, 0b10u) << "NUMA 0 has only 30 CPUs left";

  Cnr bad = *cnr;
  bad.status.topology_policy = "Strict";
  EXPECT_FALSE(NodeStateFromCnr(bad).ok());
  bad = *cnr;
  bad.status.zones[0].children[0].name = "abc";
  Result<CnrNodeState> skipped = NodeStateFromCnr(bad);
  ASSERT_TRUE(skipped.ok());
  EXPECT_EQ(skipped->node.numas.size(), 7u);
  EXPECT_EQ(skipped->warnings.size(), 1u);
}

}  // namespace
}  // namespace tessera::crd

namespace tessera::crd {
namespace {

std::string GpuPod(const std::string& resources, const std::string& annotations = "") {
  return R"({"metadata": {"name": "g", "uid": "u", "annotations": {)" + annotations +
         R"(}}, "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": "2", "memory": "4Gi", )" +
         resources + R"(}}}]}})";
}

TEST(PodCodecGpu, HamiKatalystAndRdmaRequests) {
  auto pod = DecodePodRequest(GpuPod(R"("nvidia.com/gpucores": "30", "nvidia.com/gpumem": "10240")"));
  ASSERT_TRUE(pod.ok()) << pod.status().ToString();
  EXPECT_EQ(pod->gpu.count, 1);
  EXPECT_EQ(pod->gpu.milli_per_gpu, 300);
  EXPECT_EQ(pod->gpu.memory_mib_per_gpu, 10240);
  pod = DecodePodRequest(
      GpuPod(R"("nvidia.com/gpu": "2", "tessera.io/rdma": "1")",
             R"("tessera.io/device-affinity": "required:numa", "tessera.io/gpu-model": "A100|V100-32GB")"));
  ASSERT_TRUE(pod.ok()) << pod.status().ToString();
  EXPECT_EQ(pod->gpu.count, 2);
  EXPECT_EQ(pod->gpu.milli_per_gpu, 1000);
  EXPECT_EQ(pod->gpu.rdma_nics, 1);
  EXPECT_TRUE(pod->gpu.affinity_required);
  EXPECT_EQ(pod->gpu.affinity_level, scoring::DeviceAffinityLevel::kNuma);
  EXPECT_EQ(pod->gpu.models, (std::vector<std::string>{"A100", "V100-32GB"}));
  pod = DecodePodRequest(GpuPod(R"("resource.katalyst.kubewharf.io/milligpu": "250")"));
  ASSERT_TRUE(pod.ok()) << pod.status().ToString();
  EXPECT_EQ(pod->gpu.milli_per_gpu, 250);
  pod = DecodePodRequest(GpuPod(R"("resource.katalyst.kubewharf.io/milligpu": "2000")"));
  ASSERT_TRUE(pod.ok());
  EXPECT_EQ(pod->gpu.count, 2);
  EXPECT_EQ(pod->gpu.milli_per_gpu, 1000);
}

TEST(PodCodecGpu, BadGpuRequestsAreRejected) {
  const std::pair<std::string, const char*> cases[] = {
      {R"("nvidia.com/gpucores": "0")", "whole percent 1..100"},
      {R"("nvidia.com/gpucores": "150")", "whole percent 1..100"},
      {R"("nvidia.com/gpucores": "2.5")", "whole percent"},
      {R"("nvidia.com/gpumem": "1024")", "without nvidia.com/gpucores"},
      {R"("resource.katalyst.kubewharf.io/milligpu": "255")", "not a whole percent"},
      {R"("resource.katalyst.kubewharf.io/milligpu": "1500")", "whole cards"},
      {R"("resource.katalyst.kubewharf.io/milligpu": "500", "nvidia.com/gpu": "1")", "not both"},
      {R"("nvidia.com/gpu": "0.5")", "positive whole number"},
      {R"("nvidia.com/gpu": "-1")", "negative"},
  };
  for (const auto& [res, expected] : cases) {
    auto pod = DecodePodRequest(GpuPod(res));
    ASSERT_FALSE(pod.ok()) << res;
    EXPECT_NE(pod.status().message().find(expected), std::string::npos) << pod.status().message();
  }
  auto pod =
      DecodePodRequest(GpuPod(R"("nvidia.com/gpu": "1")", R"("tessera.io/device-affinity": "required:rack")"));
  ASSERT_FALSE(pod.ok());
  EXPECT_NE(pod.status().message().find("unknown value"), std::string::npos);
}

// A pod's shape keys the verdict memo and tells the ledger whether a pod event changed anything it holds: the
// replica's identity and what a bind adds (nodeName, the allocation annotation) are not part of it; anything a
// decision reads is.
TEST(PodCodec, ThePodShapeLeavesOutIdentityAndWhatABindAdds) {
  auto shape = [](const std::string& json) {
    rapidjson::Document doc;
    doc.Parse(json.c_str());
    return PodShape(doc);
  };
  const std::string pending = PodJson(R"("team": "a")", kGuaranteed4);
  std::string bound = PodJson(R"("team": "a", "tessera.io/allocation": "{\"node\": \"n1\"}")", kGuaranteed4,
                              R"(, "nodeName": "n1")");
  bound.replace(bound.find(R"("uid": "u1")"), 11, R"("uid": "u2")");
  bound.replace(bound.find("Pending"), 7, "Running");
  EXPECT_EQ(shape(pending), shape(bound));
  EXPECT_EQ(shape(pending).find("n1"), std::string::npos);
  EXPECT_NE(shape(pending), shape(PodJson(R"("team": "b")", kGuaranteed4))) << "other annotations count";
  EXPECT_NE(shape(pending), shape(PodJson(R"("team": "a")", kGuaranteed4, R"(, "priority": 5)")));
}

}  // namespace
}  // namespace tessera::crd
