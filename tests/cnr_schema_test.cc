// Walks the CRD's openAPIV3Schema over every CNR the encoder emits (one per shared topology) and fails on any
// field the schema does not allow, any missing required field, wrong type, enum or pattern violation. Runs against
// Tessera's CRD and, when ../shared is present, Katalyst's published CRD: the objects must fit both.
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <yaml-cpp/yaml.h>

#include <regex>

#include "crd/cnr_builder.h"
#include "crd/cnr_codec.h"
#include "crd/nrt_codec.h"
#include "tests/shared_data.h"
#include "topology/hwloc_discovery.h"

namespace tessera::crd {
namespace {

class SchemaValidator {
 public:
  explicit SchemaValidator(YAML::Node root) : root_(std::move(root)) {
    zone_schema_ = Get(Get(Get(Get(Get(root_, "properties"), "status"), "properties"), "topologyZone"), "items");
  }

  std::vector<std::string> Validate(const rapidjson::Value& v) {
    errors_.clear();
    Check(root_, v, "");
    return errors_;
  }

 private:
  void Error(const std::string& path, const std::string& what) {
    errors_.push_back((path.empty() ? "(root)" : path) + ": " + what);
  }

  static bool IsTrue(const YAML::Node& n) { return n.IsDefined() && n.IsScalar() && n.as<bool>(); }
  // Child lookup that never mutates or invalidates: a missing key yields an undefined node.
  static YAML::Node Get(const YAML::Node& n, const std::string& key) {
    if (!n.IsDefined() || !n.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
    for (const auto& kv : n) {
      if (kv.first.as<std::string>() == key) return kv.second;
    }
    return YAML::Node(YAML::NodeType::Undefined);
  }

  void Check(const YAML::Node schema, const rapidjson::Value& v, const std::string& path) {
    // `children` is preserve-unknown in the CRD only because structural schemas cannot recurse; Tessera holds its
    // children to the zone schema anyway.
    if (path.size() >= 9 && path.compare(path.size() - 9, 9, ".children") == 0) {
      if (!v.IsArray()) return Error(path, "children must be an array");
      for (rapidjson::SizeType i = 0; i < v.Size(); ++i)
        Check(zone_schema_, v[i], path + "[" + std::to_string(i) + "]");
      return;
    }
    if (IsTrue(Get(schema, "x-kubernetes-int-or-string"))) {
      if (!v.IsString() && !v.IsInt64()) return Error(path, "must be int-or-string");
      if (v.IsString() && Get(schema, "pattern"))
        CheckPattern(Get(schema, "pattern").as<std::string>(), v.GetString(), path);
      return;
    }
    std::string type = Get(schema, "type") ? Get(schema, "type").as<std::string>() : "";
    if (type.empty()) {
      if (!IsTrue(Get(schema, "x-kubernetes-preserve-unknown-fields"))) Error(path, "schema node without type");
      return;
    }
    if (type == "object") {
      if (!v.IsObject()) return Error(path, "expected object");
      YAML::Node props = Get(schema, "properties");
      for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
        std::string key = it->name.GetString();
        std::string child = path.empty() ? key : path + "." + key;
        if (props.IsDefined() && Get(props, key).IsDefined()) {
          Check(Get(props, key), it->value, child);
        } else if (Get(schema, "additionalProperties")) {
          Check(Get(schema, "additionalProperties"), it->value, path + "[\"" + key + "\"]");
        } else if (!IsTrue(Get(schema, "x-kubernetes-preserve-unknown-fields")) && path != "metadata") {
          Error(child, "field not allowed by the schema");
        }
      }
      if (Get(schema, "required")) {
        for (const auto& req : Get(schema, "required")) {
          if (!v.HasMember(req.as<std::string>().c_str()))
            Error(path, "missing required field " + req.as<std::string>());
        }
      }
    } else if (type == "array") {
      if (!v.IsArray()) return Error(path, "expected array");
      for (rapidjson::SizeType i = 0; i < v.Size(); ++i)
        Check(Get(schema, "items"), v[i], path + "[" + std::to_string(i) + "]");
    } else if (type == "string") {
      if (!v.IsString()) return Error(path, "expected string");
      std::string s = v.GetString();
      if (Get(schema, "enum")) {
        bool found = false;
        for (const auto& e : Get(schema, "enum")) found = found || e.as<std::string>() == s;
        if (!found) Error(path, "value \"" + s + "\" not in enum");
      }
      if (Get(schema, "pattern")) CheckPattern(Get(schema, "pattern").as<std::string>(), s, path);
      if (Get(schema, "format") && Get(schema, "format").as<std::string>() == "date-time") {
        static const std::regex kRfc3339(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$)");
        if (!std::regex_match(s, kRfc3339)) Error(path, "not an RFC 3339 date-time: " + s);
      }
    } else if (type == "integer") {
      if (!v.IsInt64()) Error(path, "expected integer");
    } else if (type == "boolean") {
      if (!v.IsBool()) Error(path, "expected boolean");
    } else if (type == "number") {
      if (!v.IsNumber()) Error(path, "expected number");
    }
  }

  void CheckPattern(const std::string& pattern, const std::string& s, const std::string& path) {
    if (!std::regex_search(s, std::regex(pattern))) Error(path, "\"" + s + "\" does not match " + pattern);
  }

  YAML::Node root_;
  YAML::Node zone_schema_;
  std::vector<std::string> errors_;
};

YAML::Node LoadSchema(const std::string& path) {
  YAML::Node crd = YAML::LoadFile(path);
  return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
}

std::vector<std::string> CnrsToCheck() {
  std::vector<std::string> out;
  for (const char* file :
       {"topo.dp-esb01.xml", "32em64t-2n8c2t-pci-noio.xml", "nvidiaDGX2.xml", "topo.jrc0386.xml",
        "topo.dp-intelmax01-flat.xml", "tuo.SPX.xml", "sierra.xml", "corona.xml"}) {
    if (!testing::SharedAvailable(std::string("topologies/") + file)) continue;
    topology::DiscoveryOptions d;
    d.xml_path = testing::SharedPath(std::string("topologies/") + file);
    auto t = topology::DiscoverTopology(d);
    if (!t.ok()) continue;
    CnrBuildOptions o;
    o.node_name = "node-1";
    o.node_uid = "0b7e9f52-0000-4000-8000-000000000001";
    o.topology_policy = "restricted/pod";
    o.reclaim_ratio = 0.25;
    o.heartbeat_time = "2026-11-30T12:00:00Z";
    auto cnr = BuildCnr(t->topology, o);
    if (cnr.ok()) out.push_back(EncodeCnr(*cnr));
  }
  // A hand-built object exercising every optional field the encoder can emit, so the check does not depend on
  // ../shared being present.
  Cnr full;
  full.metadata.name = "full";
  full.metadata.uid = "u";
  full.metadata.resource_version = "7";
  full.metadata.labels["a"] = "b";
  full.metadata.annotations["c"] = "d";
  full.metadata.owner_references.push_back({"v1", "Node", "full", "u", true});
  full.properties.push_back({"numa", {"x"}, Quantity::FromUnits(2)});
  full.taints.push_back({"k", "v", "NoSchedule", "reclaimed_cores"});
  full.status.topology_policy = "NumericPodLevel";
  full.status.resources.capacity["cpu"] = Quantity::FromMilli(1500);
  full.status.resources.allocatable["memory"] = Quantity::FromBytes(int64_t{1} << 30);
  TopologyZone nic{"NIC",
                   "mlx5_0",
                   {{{"x", Quantity::FromUnits(1)}}, {{"x", Quantity::FromUnits(1)}}},
                   {{"rdma", "true"}},
                   {{"ns/p/u", {{"x", Quantity::FromUnits(1)}}}},
                   {},
                   {{"Numa", "1", {{"distance", "21"}}}}};
  TopologyZone socket{"Socket", "0", {}, {}, {}, {nic}, {}};
  full.status.zones.push_back(socket);
  full.status.conditions.push_back({"AgentReady", "True", "2026-11-30T12:00:00Z", "r", "m"});
  out.push_back(EncodeCnr(full));
  return out;
}

void ExpectAllValid(const std::string& crd_path) {
  SchemaValidator validator(LoadSchema(crd_path));
  for (const std::string& json : CnrsToCheck()) {
    rapidjson::Document doc;
    doc.Parse(json.c_str());
    ASSERT_FALSE(doc.HasParseError());
    std::vector<std::string> errors = validator.Validate(doc);
    for (const std::string& e : errors) ADD_FAILURE() << crd_path << ": " << e;
  }
}

TEST(CnrSchema, EncoderOutputFitsTesserasCrd) {
  ExpectAllValid(std::string(TESSERA_SOURCE_DIR) + "/crd/customnoderesource.crd.yaml");
}

TEST(CnrSchema, EncoderOutputFitsKatalystsCrd) {
  TESSERA_REQUIRE_SHARED("reference/katalyst-cnr-crd.yaml");
  ExpectAllValid(testing::SharedPath("reference/katalyst-cnr-crd.yaml"));
}

TEST(CnrSchema, ValidatorCatchesDisallowedFields) {
  // The check itself must be able to fail: an unknown field, a bad enum and a bad quantity are all reported.
  SchemaValidator validator(LoadSchema(std::string(TESSERA_SOURCE_DIR) + "/crd/customnoderesource.crd.yaml"));
  rapidjson::Document doc;
  doc.Parse(R"({"apiVersion": "x", "kind": "CustomNodeResource", "metadata": {"name": "n"}, "bogus": 1,
    "spec": {"taints": [{"key": "k", "effect": "NoSchedule", "qosLevel": "gold"}]},
    "status": {"resources": {"capacity": {"cpu": "lots"}},
               "topologyZone": [{"type": "Socket", "name": "0", "children": [{"type": "Numa", "name": "0", "extra": 1}]}]}})");
  std::vector<std::string> errors = validator.Validate(doc);
  auto has = [&](const std::string& needle) {
    for (const std::string& e : errors) {
      if (e.find(needle) != std::string::npos) return true;
    }
    return false;
  };
  EXPECT_TRUE(has("bogus: field not allowed"));
  EXPECT_TRUE(has("not in enum"));
  EXPECT_TRUE(has("\"lots\" does not match"));
  EXPECT_TRUE(has("children[0].extra: field not allowed"));
}

// The NodeResourceTopology the reporter publishes (--publish nrt) fits the NRT CRD in crd/, for every shared
// topology; and the validator catches an NRT resource without `available`.
TEST(NrtSchema, EncoderOutputFitsTheNrtCrd) {
  TESSERA_REQUIRE_SHARED("topologies/README.md");
  SchemaValidator validator(LoadSchema(std::string(TESSERA_SOURCE_DIR) + "/crd/noderesourcetopology.crd.yaml"));
  int checked = 0;
  for (const char* file :
       {"32em64t-2n8c2t-pci-noio.xml", "corona.xml", "nvidiaDGX2.xml", "sierra.xml", "topo.dp-esb01.xml",
        "topo.dp-intelmax01-flat.xml", "topo.jrc0386.xml", "tuo.SPX.xml"}) {
    topology::DiscoveryOptions d;
    d.xml_path = testing::SharedPath(std::string("topologies/") + file);
    auto t = topology::DiscoverTopology(d);
    ASSERT_TRUE(t.ok()) << file << ": " << t.status().ToString();
    CnrBuildOptions o;
    o.node_name = "node-1";
    o.topology_policy = "single-numa-node/pod";
    o.cpu_manager_policy = "static";
    auto cnr = BuildCnr(t->topology, o);
    ASSERT_TRUE(cnr.ok()) << file;
    rapidjson::Document doc;
    doc.Parse(EncodeNrt(NrtFromCnr(*cnr)).c_str());
    ASSERT_FALSE(doc.HasParseError());
    for (const std::string& e : validator.Validate(doc)) ADD_FAILURE() << file << ": " << e;
    ++checked;
  }
  EXPECT_EQ(checked, 8);
  rapidjson::Document bad;
  bad.Parse(R"({"apiVersion":"topology.node.k8s.io/v1alpha2","kind":"NodeResourceTopology","metadata":{"name":"n"},
    "topologyPolicies":[],"zones":[{"name":"node-0","type":"Node","resources":[{"name":"cpu","capacity":"1",
    "allocatable":"1"}]}]})");
  bool caught = false;
  for (const std::string& e : validator.Validate(bad))
    caught |= e.find("missing required field available") != std::string::npos;
  EXPECT_TRUE(caught);
}

}  // namespace
}  // namespace tessera::crd
