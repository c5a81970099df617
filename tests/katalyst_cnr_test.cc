// Tessera against CNRs written the way a Katalyst agent writes them (no Tessera properties, Katalyst's conditions
// and `allocations`): the kubelet's managers are inferred from status.topologyPolicy (or assumed by the
// operator), and the filter rules of the contract (sections 3.3 to 3.6) hold on such nodes in both
// --resource-policy modes, driven through the extender's filter verb.
#include "tests/katalyst_cnr.h"

#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include "crd/cnr_codec.h"
#include "crd/cnr_node_state.h"
#include "extender/extender_service.h"

namespace tessera {
namespace {

using testing::KatalystCnr;
using testing::KatalystCnrJson;
using testing::KatalystNuma;

TEST(InferManagerPolicies, AligningTopologyPoliciesImplyTheStaticManagers) {
  using scoring::TopologyPolicy;
  for (TopologyPolicy p :
       {TopologyPolicy::kSingleNumaNode, TopologyPolicy::kRestricted, TopologyPolicy::kNumeric}) {
    EXPECT_TRUE(crd::InferManagerPolicies(p).cpu_manager_static);
    EXPECT_TRUE(crd::InferManagerPolicies(p).memory_manager_static);
  }
  for (TopologyPolicy p : {TopologyPolicy::kNone, TopologyPolicy::kBestEffort}) {
    EXPECT_FALSE(crd::InferManagerPolicies(p).cpu_manager_static);
    EXPECT_FALSE(crd::InferManagerPolicies(p).memory_manager_static);
  }
}

Result<crd::CnrNodeState> Read(const KatalystCnr& c, const crd::CnrReadOptions& o = {}) {
  Result<crd::Cnr> cnr = crd::DecodeCnr(KatalystCnrJson(c));
  EXPECT_TRUE(cnr.ok()) << cnr.status().ToString();
  return crd::NodeStateFromCnr(*cnr, o);
}

TEST(ForeignCnr, ManagersAreInferredThenAssumedThenPublished) {
  KatalystCnr c;
  Result<crd::CnrNodeState> inferred = Read(c);
  ASSERT_TRUE(inferred.ok()) << inferred.status().ToString();
  EXPECT_TRUE(inferred->node.cpu_manager_static);
  EXPECT_TRUE(inferred->node.memory_manager_static);
  EXPECT_EQ(inferred->cpu_manager_source, crd::PolicySource::kInferred);
  ASSERT_EQ(inferred->node.numas.size(), 4u);
  EXPECT_EQ(inferred->node.numas[3].socket_id, 1);
  EXPECT_EQ(inferred->node.numas[0].cpu_allocatable_milli, 16000);

  c.topology_policy = "BestEffortPodLevel";
  EXPECT_FALSE(Read(c)->node.cpu_manager_static);
  c.topology_policy = "";  // absent: the CRD's default None
  EXPECT_FALSE(Read(c)->node.memory_manager_static);

  c.topology_policy = "NumericContainerLevel";
  crd::CnrReadOptions none;
  none.assume_cpu_manager_policy = "none";
  none.assume_memory_manager_policy = "None";
  Result<crd::CnrNodeState> assumed = Read(c, none);
  EXPECT_FALSE(assumed->node.cpu_manager_static);
  EXPECT_FALSE(assumed->node.memory_manager_static);
  EXPECT_EQ(assumed->memory_manager_source, crd::PolicySource::kAssumed);

  // What the node itself publishes beats any assumption.
  c.extra_properties = R"(,{"propertyName":"cpu_manager_policy","propertyValues":["static"]})";
  Result<crd::CnrNodeState> published = Read(c, none);
  EXPECT_TRUE(published->node.cpu_manager_static);
  EXPECT_EQ(published->cpu_manager_source, crd::PolicySource::kPublished);
  EXPECT_FALSE(published->node.memory_manager_static);
}

crd::CnrReadOptions Assume(const char* cpu, const char* memory) {
  crd::CnrReadOptions o;
  o.assume_cpu_manager_policy = cpu;
  o.assume_memory_manager_policy = memory;
  return o;
}

TEST(ForeignCnr, AssumptionsAreValidated) {
  EXPECT_TRUE(crd::ValidateCnrReadOptions(Assume("static", "Static")).ok());
  EXPECT_TRUE(crd::ValidateCnrReadOptions(Assume("", "")).ok());
  EXPECT_FALSE(crd::ValidateCnrReadOptions(Assume("Static", "")).ok());  // the CPU manager spells it lowercase
  EXPECT_FALSE(crd::ValidateCnrReadOptions(Assume("", "static")).ok());
}

TEST(ForeignCnr, AllocatableAboveCapacityMakesTheCnrUnusable) {
  std::string json = KatalystCnrJson(KatalystCnr{});
  // Numa zone 0: capacity 16 CPUs, allocatable 17.
  const std::string res = R"("allocatable":{"cpu":"16")";
  json.replace(json.find(res), res.size(), R"("allocatable":{"cpu":"17")");
  Result<crd::Cnr> cnr = crd::DecodeCnr(json);
  ASSERT_TRUE(cnr.ok());
  Result<crd::CnrNodeState> state = crd::NodeStateFromCnr(*cnr);
  ASSERT_FALSE(state.ok());
  EXPECT_NE(state.status().message().find("exceeds its capacity"), std::string::npos) << state.status().message();
}

// A CNR that contradicts itself, or whose agent says it is not ready, makes only its own node's topology unusable:
// the filter answer and /metrics say why, and the other node keeps deciding.
TEST(ForeignCnr, UnusableTopologyIsExplainedAndContained) {
  extender::ExtenderService service(extender::ExtenderOptions{});
  auto registry = std::make_shared<prometheus::Registry>();
  service.AttachMetrics(registry);
  KatalystCnr good, bad, not_ready;
  good.name = "good";
  bad.name = "bad";
  not_ready.name = "not-ready";
  std::string bad_json = KatalystCnrJson(bad);
  const std::string res = R"("allocatable":{"cpu":"16")";
  bad_json.replace(bad_json.find(res), res.size(), R"("allocatable":{"cpu":"99")");
  std::string not_ready_json = KatalystCnrJson(not_ready);
  const std::string ready = R"("status":"True","lastHeartbeatTime")";
  not_ready_json.replace(not_ready_json.find(ready), ready.size(), R"("status":"False","lastHeartbeatTime")");
  const std::string reason = R"("reason":"")";
  not_ready_json.replace(not_ready_json.find(reason), reason.size(), R"("reason":"KubeletConfigInvalid")");
  service.Replace(extender::ExtenderService::Kind::kNode,
                  {R"({"metadata":{"name":"good"}})", R"({"metadata":{"name":"bad"}})",
                   R"({"metadata":{"name":"not-ready"}})"});
  service.Replace(extender::ExtenderService::Kind::kCnr, {KatalystCnrJson(good), bad_json, not_ready_json});
  service.Replace(extender::ExtenderService::Kind::kPod, {});
  const std::string pod =
      R"({"metadata":{"name":"p","namespace":"ml","uid":"u1","annotations":{"katalyst.kubewharf.io/qos_level":
      "dedicated_cores","katalyst.kubewharf.io/memory_enhancement":"{\"numa_binding\":\"true\"}"}},
      "spec":{"containers":[{"name":"c","resources":{"requests":{"cpu":"4","memory":"1Gi"}}}]}})";
  const extender::Answer a = service.Filter(R"({"Pod":)" + pod + R"(,"NodeNames":["good","bad","not-ready"]})");
  EXPECT_NE(a.body.find(R"("NodeNames":["good"])"), std::string::npos) << a.body;
  EXPECT_NE(a.body.find("exceeds its capacity"), std::string::npos) << a.body;
  EXPECT_NE(a.body.find("not ready (KubeletConfigInvalid)"), std::string::npos) << a.body;
  service.UpdateGauges();
  const std::string metrics = prometheus::TextSerializer().Serialize(registry->Collect());
  EXPECT_NE(metrics.find(R"(tessera_extender_node_topology_unusable{node="bad",reason="invalid",source="cnr"} 1)"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find(R"(node="not-ready",reason="agent_not_ready",source="cnr"} 1)"), std::string::npos);
  EXPECT_EQ(metrics.find(R"(tessera_extender_node_topology_unusable{node="good")"), std::string::npos);
}

// --- The contract's filter rules on Katalyst-shaped CNRs, through the extender -----------------------------

std::string Quote(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '"' ? std::string("\\\"") : std::string(1, c);
  return out;
}

struct PodSpec {
  std::string name = "p";
  std::string qos;                 // "" = no annotation
  std::string memory_enhancement;  // JSON object text
  std::string anti_affinity;       // katalyst.kubewharf.io/microtopology_antiaffinity JSON
  std::string affinity;
  std::string labels;  // JSON object text
  std::vector<std::pair<std::string, std::string>> containers = {{"4", "4Gi"}};
  bool guaranteed = true;
  std::string node;  // bound to
  std::string reclaimed_millicpu;
};

std::string PodJson(const PodSpec& p) {
  std::string annotations;
  auto add = [&](const char* key, const std::string& value) {
    if (value.empty()) return;
    annotations += std::string(annotations.empty() ? "" : ",") + "\"" + key + "\":\"" + Quote(value) + "\"";
  };
  add("katalyst.kubewharf.io/qos_level", p.qos);
  add("katalyst.kubewharf.io/memory_enhancement", p.memory_enhancement);
  add("katalyst.kubewharf.io/microtopology_antiaffinity", p.anti_affinity);
  add("katalyst.kubewharf.io/microtopology_affinity", p.affinity);
  std::string containers;
  int i = 0;
  for (const auto& [cpu, memory] : p.containers) {
    std::string requests = R"({"cpu":")" + cpu + R"(","memory":")" + memory + "\"";
    if (!p.reclaimed_millicpu.empty()) {
      requests = R"({"resource.katalyst.kubewharf.io/reclaimed_millicpu":")" + p.reclaimed_millicpu +
                 R"(","resource.katalyst.kubewharf.io/reclaimed_memory":"1Gi")";
    }
    requests += "}";
    containers += std::string(containers.empty() ? "" : ",") + R"({"name":"c)" + std::to_string(i++) +
                  R"(","resources":{"requests":)" + requests + (p.guaranteed ? R"(,"limits":)" + requests : "") +
                  "}}";
  }
  return R"({"metadata":{"name":")" + p.name + R"(","namespace":"ml","uid":"uid-)" + p.name + R"(","labels":)" +
         (p.labels.empty() ? "{}" : p.labels) + R"(,"annotations":{)" + annotations + R"(}},"spec":{)" +
         (p.node.empty() ? "" : R"("nodeName":")" + p.node + R"(",)") + R"("containers":[)" + containers +
         R"(]},"status":{"phase":")" + (p.node.empty() ? "Pending" : "Running") + R"("}})";
}

constexpr char kBinding[] = R"({"numa_binding":"true"})";
constexpr char kExclusive[] = R"({"numa_binding":"true","numa_exclusive":"true"})";

PodSpec Dedicated(const std::string& cpus, const char* enhancement = kBinding) {
  PodSpec p;
  p.qos = "dedicated_cores";
  p.memory_enhancement = enhancement;
  p.containers = {{cpus, "4Gi"}};
  return p;
}

PodSpec Guaranteed(std::vector<std::string> cpus) {
  PodSpec p;
  p.containers.clear();
  for (const std::string& c : cpus) p.containers.push_back({c, "4Gi"});
  return p;
}

struct Case {
  const char* name = "";
  scoring::ResourcePolicy mode = scoring::ResourcePolicy::kDynamic;
  KatalystCnr cnr;
  PodSpec pod;
  bool feasible = false;
  const char* reason = "";  // part of the failure reason
  std::vector<PodSpec> bound;
  crd::CnrReadOptions read;
  bool no_cnr = false;
};

Case C(const char* name, scoring::ResourcePolicy mode, KatalystCnr cnr, PodSpec pod, bool feasible,
       const char* reason = "", std::vector<PodSpec> bound = {}) {
  Case c;
  c.name = name;
  c.mode = mode;
  c.cnr = std::move(cnr);
  c.pod = std::move(pod);
  c.feasible = feasible;
  c.reason = reason;
  c.bound = std::move(bound);
  return c;
}

KatalystCnr WithPolicy(const std::string& policy) {
  KatalystCnr c;
  c.topology_policy = policy;
  return c;
}

// Every NUMA zone lists a 2-CPU dedicated pod of its own, except those in `idle`.
KatalystCnr Occupied(const std::string& policy, std::vector<int> idle, std::vector<PodSpec>* bound,
                     const std::string& cpus = "2") {
  KatalystCnr c = WithPolicy(policy);
  for (KatalystNuma& n : c.numas) {
    if (std::find(idle.begin(), idle.end(), n.id) != idle.end()) continue;
    PodSpec p = Dedicated(cpus);
    p.name = "holder-" + std::to_string(n.id);
    p.node = c.name;
    p.labels = R"({"app":"holder"})";
    n.allocations.push_back({"ml/" + p.name + "/uid-" + p.name, cpus, "4Gi"});
    bound->push_back(p);
  }
  return c;
}

std::vector<Case> Cases() {
  using scoring::ResourcePolicy;
  const ResourcePolicy dyn = ResourcePolicy::kDynamic, native = ResourcePolicy::kNative;
  std::vector<Case> cases;
  // 3.3 single NUMA, dynamic: dedicated + numa_binding pods must fit one NUMA node.
  cases.push_back(C("snn_dynamic_fits", dyn, WithPolicy("SingleNUMANodeContainerLevel"), Dedicated("8"), true));
  cases.push_back(
      C("snn_dynamic_too_wide", dyn, WithPolicy("SingleNUMANodeContainerLevel"), Dedicated("24"), false, "NUMA"));
  cases.push_back(C("snn_pod_level_dynamic_too_wide", dyn, WithPolicy("SingleNUMANodePodLevel"), Dedicated("17"),
                    false, "NUMA"));
  // A plain shared_cores pod floats over the shared pool whatever the policy.
  {
    PodSpec shared;
    shared.containers = {{"40", "8Gi"}};
    shared.guaranteed = false;
    cases.push_back(
        C("shared_pod_not_numa_checked", dyn, WithPolicy("SingleNUMANodeContainerLevel"), shared, true));
  }
  // Exclusive: a NUMA node must be idle (no allocation of a known dedicated pod).
  {
    std::vector<PodSpec> bound;
    KatalystCnr c = Occupied("SingleNUMANodeContainerLevel", {3}, &bound);
    cases.push_back(C("exclusive_takes_the_idle_numa", dyn, c, Dedicated("8", kExclusive), true, "", bound));
    std::vector<PodSpec> all;
    KatalystCnr full = Occupied("SingleNUMANodeContainerLevel", {}, &all);
    cases.push_back(C("exclusive_no_idle_numa", dyn, full, Dedicated("8", kExclusive), false, "", all));
    // Allocations of pods the extender does not know (deleted, foreign) are dropped, as Katalyst does.
    cases.push_back(C("unknown_consumers_dropped", dyn, full, Dedicated("8", kExclusive), true));
  }
  // Numeric: exclusive pods may take several idle NUMA nodes of one socket.
  cases.push_back(C("numeric_exclusive_two_numas", dyn, WithPolicy("NumericContainerLevel"),
                    Dedicated("24", kExclusive), true));
  cases.push_back(C("numeric_exclusive_beyond_node", dyn, WithPolicy("NumericContainerLevel"),
                    Dedicated("65", kExclusive), false));
  // 3.6 NUMA anti-affinity (Tessera's selector semantics): the only NUMA node with room holds the partner.
  {
    std::vector<PodSpec> bound;
    KatalystCnr c = Occupied("SingleNUMANodeContainerLevel", {}, &bound, "12");
    bound[0].labels = R"({"app":"ps"})";
    PodSpec worker = Dedicated("8");
    worker.anti_affinity = R"({"required":[{"matchLabels":{"app":"ps"},"zone":"numa"}]})";
    // NUMA 0 holds the ps (12 of 16 CPUs): with 4 CPUs left elsewhere too, shrink the ps to leave room on 0 only.
    c.numas[0].allocations[0].cpu = "2";
    bound[0].containers = {{"2", "4Gi"}};
    cases.push_back(C("anti_affinity_only_room_is_beside_ps", dyn, c, worker, false, "", bound));
    PodSpec plain = Dedicated("8");
    cases.push_back(C("without_anti_affinity_it_fits", dyn, c, plain, true, "", bound));
    PodSpec exclusive_affinity = Dedicated("8", kExclusive);
    exclusive_affinity.affinity = R"({"required":[{"matchLabels":{"app":"ps"}}]})";
    cases.push_back(C("exclusive_with_affinity_is_an_error", dyn, WithPolicy("SingleNUMANodeContainerLevel"),
                      exclusive_affinity, false, "exclusive"));
  }
  // 3.5 reclaimed resources: only what the CNR publishes, at node level.
  {
    PodSpec reclaimed;
    reclaimed.qos = "reclaimed_cores";
    reclaimed.reclaimed_millicpu = "4000";
    reclaimed.guaranteed = false;
    KatalystCnr rich = WithPolicy("SingleNUMANodeContainerLevel");
    rich.reclaimed_millicpu = "20k";
    rich.reclaimed_memory = "60Gi";
    cases.push_back(C("reclaimed_fits_published_pool", dyn, rich, reclaimed, true));
    cases.push_back(C("reclaimed_needs_a_published_pool", dyn, WithPolicy("SingleNUMANodeContainerLevel"),
                      reclaimed, false, "reclaimed"));
    Case no_cnr = C("reclaimed_without_cnr_is_unresolvable", dyn, rich, reclaimed, false,
                    R"("FailedAndUnresolvableNodes":{"katalyst-node":)");
    no_cnr.no_cnr = true;
    cases.push_back(no_cnr);
  }
  // Native mode: Guaranteed whole-CPU pods are pinned by the kubelet's static CPU manager, inferred from the
  // policy.
  cases.push_back(C("native_snn_inferred_static_rejects_wide_pod", native,
                    WithPolicy("SingleNUMANodeContainerLevel"), Guaranteed({"24"}), false, "NUMA"));
  {
    Case assumed = C("native_snn_assumed_none_admits_it", native, WithPolicy("SingleNUMANodeContainerLevel"),
                     Guaranteed({"24"}), true);
    assumed.read.assume_cpu_manager_policy = "none";
    assumed.read.assume_memory_manager_policy = "None";
    cases.push_back(assumed);
  }
  cases.push_back(C("native_fractional_cpu_not_pinned", native, WithPolicy("SingleNUMANodeContainerLevel"),
                    Guaranteed({"350m"}), true));
  cases.push_back(C("native_best_effort_never_rejects", native, WithPolicy("BestEffortContainerLevel"),
                    Guaranteed({"24"}), true));
  cases.push_back(C("native_snn_container_scope_per_container", native, WithPolicy("SingleNUMANodeContainerLevel"),
                    Guaranteed({"10", "10"}), true));
  cases.push_back(C("native_snn_pod_scope_whole_pod", native, WithPolicy("SingleNUMANodePodLevel"),
                    Guaranteed({"10", "10"}), false, "NUMA"));
  // Restricted: the CPU hint of the minimal width (2 NUMA nodes) is preferred, but the Static memory manager
  // prefers one NUMA node for 4Gi, so the merged hint is not preferred and the kubelet rejects the pod; with
  // the memory manager off (assumed None) the two-node CPU hint alone is admitted.
  cases.push_back(C("native_restricted_static_memory_rejects_wide_cpu", native,
                    WithPolicy("RestrictedContainerLevel"), Guaranteed({"24"}), false, "restricted"));
  {
    Case cpu_only = C("native_restricted_minimal_cpu_mask", native, WithPolicy("RestrictedContainerLevel"),
                      Guaranteed({"24"}), true);
    cpu_only.read.assume_memory_manager_policy = "None";
    cases.push_back(cpu_only);
  }
  return cases;
}

class KatalystRules : public ::testing::TestWithParam<Case> {};

TEST_P(KatalystRules, FilterAnswer) {
  const Case& c = GetParam();
  extender::ExtenderOptions options;
  options.scheduler.resource_policy = c.mode;
  options.cnr_read = c.read;
  extender::ExtenderService service(options);
  service.Replace(extender::ExtenderService::Kind::kNode, {R"({"metadata":{"name":")" + c.cnr.name + R"("}})"});
  service.Replace(extender::ExtenderService::Kind::kCnr,
                  c.no_cnr ? std::vector<std::string>{} : std::vector<std::string>{KatalystCnrJson(c.cnr)});
  std::vector<std::string> pods;
  for (const PodSpec& p : c.bound) pods.push_back(PodJson(p));
  service.Replace(extender::ExtenderService::Kind::kPod, pods);
  const extender::Answer a =
      service.Filter(R"({"Pod":)" + PodJson(c.pod) + R"(,"NodeNames":[")" + c.cnr.name + R"("]})");
  ASSERT_EQ(a.status, 200) << a.body;
  const bool feasible = a.body.find(R"("NodeNames":[")" + c.cnr.name + "\"]") != std::string::npos;
  EXPECT_EQ(feasible, c.feasible) << a.body;
  if (!c.feasible) {
    EXPECT_NE(a.body.find(c.reason), std::string::npos) << a.body;
  }
}

INSTANTIATE_TEST_SUITE_P(Contract, KatalystRules, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<Case>& p) { return std::string(p.param.name); });

}  // namespace
}  // namespace tessera
