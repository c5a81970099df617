// The Helm chart, checked on its rendered manifests (scripts/test.sh renders them with helm into build/chart/
// when helm is available; otherwise these tests skip): one CRD source of truth, the scheduler's extender config
// matching the extender's routes and Service, RBAC granting exactly the API calls the code makes, and example
// pods that decode with crd/.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <set>
#include <tuple>

#include "crd/pod_codec.h"
#include "extender/api_calls.h"
#include "kube/time_format.h"
#include "reporter/api_calls.h"
#include "tests/shared_data.h"

namespace tessera {
namespace {

namespace fs = std::filesystem;
const std::string kChart = std::string(TESSERA_SOURCE_DIR) + "/charts/tessera";

std::vector<YAML::Node> Rendered(const std::string& name) {
  const std::string path = std::string(TESSERA_BIN_DIR) + "/../chart/" + name;
  if (!fs::exists(path)) return {};
  return YAML::LoadAllFromFile(path);
}

#define REQUIRE_RENDERED(docs) \
  if (docs.empty()) GTEST_SKIP() << "build/chart/*.yaml not rendered (helm unavailable); skipping"

const YAML::Node* FindKind(const std::vector<YAML::Node>& docs, const std::string& kind, const std::string& name) {
  for (const YAML::Node& d : docs) {
    if (d && d["kind"] && d["kind"].as<std::string>() == kind && d["metadata"]["name"].as<std::string>() == name)
      return &d;
  }
  return nullptr;
}

TEST(Chart, CrdIsTheSameFileAsCrdFolder) {
  EXPECT_EQ(testing::ReadFile(kChart + "/crds/customnoderesource.crd.yaml"),
            testing::ReadFile(std::string(TESSERA_SOURCE_DIR) + "/crd/customnoderesource.crd.yaml"))
      << "charts/tessera/crds/ must be a copy of crd/customnoderesource.crd.yaml";
}

void CheckSchedulerConfig(const std::vector<YAML::Node>& docs, bool tls) {
  const YAML::Node* cm = FindKind(docs, "ConfigMap", "tessera-scheduler-config");
  ASSERT_NE(cm, nullptr);
  YAML::Node config = YAML::Load((*cm)["data"]["config.yaml"].as<std::string>());
  EXPECT_EQ(config["apiVersion"].as<std::string>(), "kubescheduler.config.k8s.io/v1");
  EXPECT_EQ(config["percentageOfNodesToScore"].as<int>(), 100);
  EXPECT_TRUE(config["leaderElection"]["leaderElect"].as<bool>());
  EXPECT_NE(config["leaderElection"]["resourceName"].as<std::string>(), "kube-scheduler");
  ASSERT_EQ(config["extenders"].size(), 1u);
  YAML::Node ext = config["extenders"][0];
  // The verbs are the extender's routes; the URL is its Service.
  EXPECT_EQ(ext["filterVerb"].as<std::string>(), "filter");
  EXPECT_EQ(ext["prioritizeVerb"].as<std::string>(), "prioritize");
  EXPECT_EQ(ext["bindVerb"].as<std::string>(), "bind");
  EXPECT_EQ(ext["preemptVerb"].as<std::string>(), "preempt");
  EXPECT_TRUE(ext["nodeCacheCapable"].as<bool>());
  EXPECT_FALSE(ext["ignorable"].as<bool>());
  EXPECT_FALSE(ext["managedResources"]) << "a managedResources list would hide CPU-only NUMA pods";
  EXPECT_GT(ext["weight"].as<int>(), 0);
  const YAML::Node* svc = FindKind(docs, "Service", "tessera-extender");
  ASSERT_NE(svc, nullptr);
  const std::string port = (*svc)["spec"]["ports"][0]["port"].as<std::string>();
  const std::string ns = (*svc)["metadata"]["namespace"].as<std::string>();
  EXPECT_EQ(ext["urlPrefix"].as<std::string>(),
            std::string(tls ? "https" : "http") + "://tessera-extender." + ns + ".svc:" + port);
  EXPECT_EQ(ext["enableHTTPS"].as<bool>(), tls);
  EXPECT_EQ(static_cast<bool>(ext["tlsConfig"]), tls);
  const YAML::Node* dep = FindKind(docs, "Deployment", "tessera-extender");
  ASSERT_NE(dep, nullptr);
  std::string args;
  for (const auto& a : (*dep)["spec"]["template"]["spec"]["containers"][0]["args"])
    args += a.as<std::string>() + " ";
  EXPECT_NE(args.find("--port=" + port), std::string::npos) << args;
  EXPECT_EQ(args.find("--tls-cert") != std::string::npos, tls) << args;
  // A bind must fail at its own deadline before kube-scheduler stops waiting for the answer.
  const size_t bt = args.find("--bind-timeout=");
  ASSERT_NE(bt, std::string::npos) << args;
  const std::string bind_timeout = args.substr(bt + 15, args.find(' ', bt) - bt - 15);
  Result<std::chrono::milliseconds> bind_ms = kube::ParseDuration(bind_timeout);
  Result<std::chrono::milliseconds> http_ms = kube::ParseDuration(ext["httpTimeout"].as<std::string>());
  ASSERT_TRUE(bind_ms.ok() && http_ms.ok()) << bind_timeout;
  EXPECT_LT(*bind_ms, *http_ms) << "--bind-timeout must stay below the scheduler's httpTimeout";
  auto profile_args = config["profiles"][0]["pluginConfig"][0]["args"]["ignoredResources"];
  std::set<std::string> ignored;
  for (const auto& r : profile_args) ignored.insert(r.as<std::string>());
  for (const std::string& name : crd::AccountedResourceNames()) {
    EXPECT_TRUE(ignored.count(name)) << name
                                     << " is accounted by Tessera but not in NodeResourcesFit.ignoredResources";
  }
}

TEST(Chart, SchedulerConfigMatchesTheExtender) {
  auto docs = Rendered("default.yaml");
  REQUIRE_RENDERED(docs);
  CheckSchedulerConfig(docs, false);
  auto tls = Rendered("tls.yaml");
  REQUIRE_RENDERED(tls);
  CheckSchedulerConfig(tls, true);
}

using Grant = std::tuple<std::string, std::string, std::string>;  // group, resource, verb

// What a ServiceAccount's (Cluster)Roles grant; fails on wildcards.
std::set<Grant> Grants(const std::vector<YAML::Node>& docs, const std::string& sa, bool* wildcard) {
  std::set<std::pair<std::string, std::string>> roles;  // (kind, name)
  for (const YAML::Node& d : docs) {
    if (!d || !d["kind"]) continue;
    const std::string kind = d["kind"].as<std::string>();
    if (kind != "ClusterRoleBinding" && kind != "RoleBinding") continue;
    for (const auto& s : d["subjects"]) {
      if (s["name"].as<std::string>() == sa)
        roles.emplace(d["roleRef"]["kind"].as<std::string>(), d["roleRef"]["name"].as<std::string>());
    }
  }
  std::set<Grant> out;
  for (const auto& [kind, name] : roles) {
    const YAML::Node* role = FindKind(docs, kind, name);
    if (role == nullptr) continue;  // a built-in role (system:...), not ours
    for (const auto& rule : (*role)["rules"]) {
      for (const auto& g : rule["apiGroups"]) {
        for (const auto& r : rule["resources"]) {
          for (const auto& v : rule["verbs"]) {
            if (g.as<std::string>() == "*" || r.as<std::string>() == "*" || v.as<std::string>() == "*")
              *wildcard = true;
            out.emplace(g.as<std::string>(), r.as<std::string>(), v.as<std::string>());
          }
        }
      }
    }
  }
  return out;
}

void CheckRbac(const std::vector<YAML::Node>& docs, const std::string& sa,
               const std::vector<kube::ApiCall>& calls) {
  bool wildcard = false;
  std::set<Grant> granted = Grants(docs, sa, &wildcard);
  EXPECT_FALSE(wildcard) << sa;
  std::set<Grant> needed;
  for (const kube::ApiCall& c : calls) needed.emplace(c.api_group, c.resource, c.verb);
  for (const Grant& g : needed) {
    EXPECT_TRUE(granted.count(g)) << sa << " may not " << std::get<2>(g) << " " << std::get<1>(g) << " ("
                                  << std::get<0>(g) << ")";
  }
  for (const Grant& g : granted) {
    EXPECT_TRUE(needed.count(g)) << sa << " is granted " << std::get<2>(g) << " " << std::get<1>(g)
                                 << " it never uses";
  }
}

std::vector<kube::ApiCall> Plus(std::vector<kube::ApiCall> a, const std::vector<kube::ApiCall>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// Defaults: the extender reads NRTs too (topologySource auto), the reporter publishes only CNRs. nrt.yaml
// (reporter.publish=cnr,nrt and extender.topologySource=cnr) turns both around: each grant follows its setting.
TEST(Chart, RbacGrantsExactlyTheCallsTheCodeMakes) {
  auto docs = Rendered("default.yaml");
  REQUIRE_RENDERED(docs);
  CheckRbac(docs, "tessera-extender", Plus(extender::ApiCalls(), extender::NrtApiCalls()));
  CheckRbac(docs, "tessera-reporter", reporter::ApiCalls());
  auto nrt = Rendered("nrt.yaml");
  REQUIRE_RENDERED(nrt);
  CheckRbac(nrt, "tessera-extender", extender::ApiCalls());
  CheckRbac(nrt, "tessera-reporter", Plus(reporter::ApiCalls(), reporter::NrtApiCalls()));
}

// YAML (as kubectl would read it) to JSON text, scalars as strings: what crd/ decodes from the API server.
void ToJson(const YAML::Node& n, std::string* out) {
  if (n.IsMap()) {
    *out += "{";
    bool first = true;
    for (const auto& kv : n) {
      *out += (first ? "\"" : ",\"") + kv.first.as<std::string>() + "\":";
      ToJson(kv.second, out);
      first = false;
    }
    *out += "}";
  } else if (n.IsSequence()) {
    *out += "[";
    for (size_t i = 0; i < n.size(); ++i) {
      if (i) *out += ",";
      ToJson(n[i], out);
    }
    *out += "]";
  } else if (n.IsScalar()) {
    std::string s = n.as<std::string>(), esc;
    for (char c : s) esc += c == '"' ? std::string("\\\"") : c == '\\' ? std::string("\\\\") : std::string(1, c);
    *out += "\"" + esc + "\"";
  } else {
    *out += "null";
  }
}

TEST(Chart, ExamplePodsDecodeAndAreValid) {
  int pods = 0;
  for (const auto& entry : fs::directory_iterator(kChart + "/examples")) {
    for (const YAML::Node& doc : YAML::LoadAllFromFile(entry.path().string())) {
      if (!doc || doc["kind"].as<std::string>() != "Pod") continue;
      std::string json;
      ToJson(doc, &json);
      Result<scoring::PodRequest> pod = crd::DecodePodRequest(json);
      ASSERT_TRUE(pod.ok()) << entry.path() << ": " << pod.status().ToString();
      EXPECT_EQ(scoring::ValidatePodRequest(*pod, scoring::ResourcePolicy::kDynamic), "") << entry.path();
      EXPECT_EQ(doc["spec"]["schedulerName"].as<std::string>(), "tessera-scheduler");
      ++pods;
    }
  }
  EXPECT_EQ(pods, 5);
}

}  // namespace
}  // namespace tessera
