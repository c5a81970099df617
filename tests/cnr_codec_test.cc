#include "crd/cnr_codec.h"

#include <gtest/gtest.h>

#include "crd/json_fields.h"
#include "tests/shared_data.h"

namespace tessera::crd {
namespace {

// The example object from reference/katalyst-contract.md §1.5 (copied here so the test runs without ../shared),
// with unknown fields sprinkled in, as newer Katalyst versions may add.
constexpr char kContractExample[] = R"({
 "apiVersion": "node.katalyst.kubewharf.io/v1alpha1", "kind": "CustomNodeResource",
 "metadata": {"name": "gpu-node-1", "resourceVersion": "42", "futureField": {"x": 1}},
 "spec": {"nodeResourceProperties": [{"propertyName": "numa", "propertyQuantity": "2"},
   {"propertyName": "gpu_topology_attribute_key", "propertyValues": ["pcie_switch", "numa"]}],
   "taints": [{"key": "gpu-only", "value": "true", "effect": "NoSchedule", "qosLevel": "reclaimed_cores"}]},
 "status": {"topologyPolicy": "SingleNUMANodeContainerLevel",
  "nodeMetricStatus": {"updateTime": "2026-11-30T00:00:00Z"},
  "resources": {"allocatable": {"resource.katalyst.kubewharf.io/reclaimed_millicpu": "20k",
                                "resource.katalyst.kubewharf.io/reclaimed_memory": "60Gi"}},
  "topologyZone": [{"type": "Socket", "name": "0", "children": [
    {"type": "Numa", "name": "0",
     "resources": {"capacity": {"cpu": "32", "memory": "256Gi", "nvidia.com/gpu": "2"},
                   "allocatable": {"cpu": 30, "memory": "248Gi", "nvidia.com/gpu": "2"}},
     "allocations": [{"consumer": "ml/ps-0/5f1c", "requests": {"cpu": "8", "memory": "32Gi"}}],
     "siblings": [{"type": "Numa", "name": "1", "attributes": [{"name": "distance", "value": "21"}]}],
     "children": [{"type": "GPU", "name": "0000:17:00.0", "unknown": true,
        "resources": {"capacity": {"nvidia.com/gpucores": "100", "nvidia.com/gpumem": "81920"}},
        "attributes": [{"name": "pcie_switch", "value": "0000:15:00.0"}, {"name": "numa", "value": "0"}],
        "allocations": [{"consumer": "ml/infer-a/9ab2", "requests": {"nvidia.com/gpucores": "30"}}]}]},
    {"type": "NIC", "name": "mlx5_0", "attributes": [{"name": "rdma", "value": "true"}]}]}],
  "conditions": [{"type": "AgentReady", "status": "True", "lastHeartbeatTime": "2026-11-30T10:00:00Z"}]}
})";

TEST(CnrCodec, DecodesContractExampleIgnoringUnknownFields) {
  Result<Cnr> cnr = DecodeCnr(kContractExample);
  ASSERT_TRUE(cnr.ok()) << cnr.status().ToString();
  EXPECT_EQ(cnr->metadata.name, "gpu-node-1");
  EXPECT_EQ(cnr->metadata.resource_version, "42");
  EXPECT_EQ(cnr->status.topology_policy, "SingleNUMANodeContainerLevel");
  EXPECT_EQ(cnr->FindProperty("numa")->quantity->milli(), 2000);
  EXPECT_EQ(cnr->taints.at(0).qos_level, "reclaimed_cores");
  const TopologyZone& numa = cnr->status.zones.at(0).children.at(0);
  EXPECT_EQ(numa.resources.allocatable.at("cpu").milli(), 30000) << "integer quantities are accepted";
  EXPECT_EQ(numa.resources.capacity.at("memory").milli(), (int64_t{256} << 30) * 1000);
  EXPECT_EQ(numa.allocations.at(0).consumer, "ml/ps-0/5f1c");
  EXPECT_EQ(numa.children.at(0).allocations.at(0).requests.at("nvidia.com/gpucores").milli(), 30000);
  EXPECT_EQ(*numa.children.at(0).FindAttribute("pcie_switch"), "0000:15:00.0");
  EXPECT_EQ(numa.siblings.at(0).attributes.at(0).value, "21");
  EXPECT_EQ(cnr->FindCondition("AgentReady")->last_heartbeat_time, "2026-11-30T10:00:00Z");
  EXPECT_EQ(cnr->status.resources.allocatable.at("resource.katalyst.kubewharf.io/reclaimed_millicpu").milli(),
            20000000);
}

TEST(CnrCodec, EncodeDecodeRoundTrip) {
  Cnr original = *DecodeCnr(kContractExample);
  std::string json = EncodeCnr(original);
  Result<Cnr> again = DecodeCnr(json);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(EncodeCnr(*again), json);
  EXPECT_NE(json.find("\"248Gi\""), std::string::npos);
  EXPECT_EQ(json.find("unknown"), std::string::npos);
}

struct BadCase {
  const char* json;
  const char* expected_in_error;
};

TEST(CnrCodec, RejectsMalformedInputNamingTheField) {
  const BadCase cases[] = {
      {"{", "malformed JSON"},
      {"[]", "expected object"},
      {R"({"metadata": {"name": "n"}} trailing)", "malformed JSON"},
      {R"({"kind": "Pod", "metadata": {"name": "n"}})", "kind: expected CustomNodeResource"},
      {R"({"spec": {}})", "metadata: required"},
      {R"({"metadata": {"name": 5}})", "metadata.name: expected string, got number"},
      {R"({"metadata": {"name": ""}})", "metadata.name: must not be empty"},
      {R"({"metadata": {"name": "n", "labels": {"a": 1}}})", "metadata.labels[\"a\"]: expected string"},
      {R"({"metadata": {"name": "n"}, "status": {"topologyZone": {}}})", "status.topologyZone: expected array"},
      {R"({"metadata": {"name": "n"}, "status": {"topologyZone": [{"type": "Socket"}]}})",
       "status.topologyZone[0].name: required"},
      {R"({"metadata": {"name": "n"}, "status": {"topologyZone": [{"type": "Socket", "name": "0", "children": [
         {"type": "Numa", "name": "0", "resources": {"capacity": {"cpu": "lots"}}}]}]}})",
       "status.topologyZone[0].children[0].resources.capacity[\"cpu\"]: invalid quantity \"lots\""},
      {R"({"metadata": {"name": "n"}, "status": {"topologyZone": [{"type": "Socket", "name": "0", "children": [
         {"type": "Numa", "name": "0", "allocations": [{"requests": {}}]}]}]}})",
       "status.topologyZone[0].children[0].allocations[0].consumer: required"},
      {R"({"metadata": {"name": "n"}, "spec": {"nodeResourceProperties": [{"propertyName": "x",
         "propertyValues": ["a", 3]}]}})",
       "spec.nodeResourceProperties[0].propertyValues[1]: expected string"},
      {R"({"metadata": {"name": "n"}, "spec": {"taints": [{"key": "k", "effect": "NoSchedule"}]}})",
       "spec.taints[0].qosLevel: required"},
      {R"({"metadata": {"name": "n"}, "status": {"resources": {"allocatable": {"cpu": true}}}})",
       "status.resources.allocatable[\"cpu\"]: expected quantity"},
      {R"({"metadata": {"name": "n"}, "status": {"resources": {"allocatable": {"cpu": 1e300}}}})",
       "expected quantity"},
  };
  for (const BadCase& c : cases) {
    Result<Cnr> r = DecodeCnr(c.json);
    ASSERT_FALSE(r.ok()) << c.json;
    EXPECT_TRUE(r.status().IsInvalidArgument());
    EXPECT_NE(r.status().message().find(c.expected_in_error), std::string::npos)
        << "error \"" << r.status().message() << "\" should contain \"" << c.expected_in_error << "\"";
  }
}

TEST(CnrCodec, DeepNestingAndHugeInputAreRefused) {
  std::string deep = R"({"metadata": {"name": "n"}, "status": {"topologyZone": [)";
  for (int i = 0; i < 20; ++i) deep += R"({"type": "X", "name": "x", "children": [)";
  for (int i = 0; i < 20; ++i) deep += "]}";
  deep += "]}}";
  Result<Cnr> r = DecodeCnr(deep);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("nested deeper"), std::string::npos);
  // 100k nested arrays: the iterative parser must not overflow the stack.
  std::string brackets(100000, '[');
  EXPECT_FALSE(DecodeCnr(brackets).ok());
  std::string huge(kMaxJsonBytes + 1, ' ');
  r = DecodeCnr(huge);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("limit"), std::string::npos);
}

TEST(CnrCodec, MergeKeepsForeignDataAndAllocations) {
  // The stored object has allocations written by the extender, a foreign property and condition,
  // nodeMetricStatus, and a zone that no longer exists.
  Cnr desired;
  desired.metadata.name = "gpu-node-1";
  desired.metadata.labels["app.kubernetes.io/managed-by"] = "tessera-reporter";
  desired.properties.push_back({"numa", {}, Quantity::FromUnits(2)});
  desired.status.topology_policy = "RestrictedPodLevel";
  TopologyZone socket{"Socket", "0", {}, {}, {}, {}, {}};
  TopologyZone numa{"Numa", "0", {}, {}, {}, {}, {}};
  numa.resources.capacity["cpu"] = Quantity::FromUnits(64);
  TopologyZone gpu{"GPU", "0000:17:00.0", {}, {}, {}, {}, {}};
  numa.children.push_back(gpu);
  socket.children.push_back(numa);
  desired.status.zones.push_back(socket);
  desired.status.conditions.push_back({"AgentReady", "True", "2026-11-30T11:00:00Z", "", ""});

  Result<std::string> merged = MergeForUpdate(kContractExample, desired);
  ASSERT_TRUE(merged.ok()) << merged.status().ToString();
  Result<Cnr> m = DecodeCnr(*merged);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->metadata.resource_version, "42");
  EXPECT_EQ(m->status.topology_policy, "RestrictedPodLevel");
  EXPECT_EQ(m->FindProperty("numa")->quantity->milli(), 2000);
  EXPECT_NE(m->FindProperty("gpu_topology_attribute_key"), nullptr) << "foreign property kept";
  EXPECT_EQ(m->taints.size(), 1u);
  EXPECT_EQ(m->FindCondition("AgentReady")->last_heartbeat_time, "2026-11-30T11:00:00Z");
  const TopologyZone& mnuma = m->status.zones.at(0).children.at(0);
  EXPECT_EQ(mnuma.resources.capacity.at("cpu").milli(), 64000) << "our zone content wins";
  ASSERT_EQ(mnuma.allocations.size(), 1u);
  EXPECT_EQ(mnuma.allocations[0].consumer, "ml/ps-0/5f1c");
  ASSERT_EQ(mnuma.children.at(0).allocations.size(), 1u);
  EXPECT_EQ(mnuma.children[0].allocations[0].consumer, "ml/infer-a/9ab2");
  EXPECT_EQ(m->status.zones[0].children.size(), 1u) << "the vanished NIC zone is gone";
  EXPECT_NE(merged->find("nodeMetricStatus"), std::string::npos);
  EXPECT_NE(merged->find("reclaimed_millicpu"), std::string::npos);

  EXPECT_FALSE(MergeForUpdate("not json", desired).ok());
}

}  // namespace
}  // namespace tessera::crd
