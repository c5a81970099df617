#include "crd/nrt_codec.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <set>

#include "crd/cnr_builder.h"
#include "crd/cnr_codec.h"
#include "crd/json_fields.h"
#include "scoring/topology_manager.h"

namespace tessera::crd {

const std::string* Nrt::FindAttribute(const std::string& name) const {
  for (const Attribute& a : attributes) {
    if (a.name == name) return &a.value;
  }
  return nullptr;
}

namespace {

using rapidjson::Value;
using Alloc = rapidjson::Document::AllocatorType;

constexpr size_t kMaxZones = 1024;

Value Str(const std::string& s, Alloc& a) {
  return Value(s.c_str(), static_cast<rapidjson::SizeType>(s.size()), a);
}

Status DecodeZone(const Value& v, const std::string& path, NrtZone* z) {
  if (Status s = ExpectObject(v, path); !s.ok()) return s;
  if (Status s = ReadString(v, "name", path, &z->name, true); !s.ok()) return s;
  if (Status s = ReadString(v, "type", path, &z->type, true); !s.ok()) return s;
  if (Status s = ReadString(v, "parent", path, &z->parent); !s.ok()) return s;
  if (Status s = DecodeAttributeList(v, "attributes", path, &z->attributes); !s.ok()) return s;
  if (const Value* costs = Member(v, "costs")) {
    const std::string p = JoinPath(path, "costs");
    if (Status s = ExpectArray(*costs, p); !s.ok()) return s;
    for (rapidjson::SizeType i = 0; i < costs->Size(); ++i) {
      const std::string ip = IndexPath(p, i);
      if (Status s = ExpectObject((*costs)[i], ip); !s.ok()) return s;
      NrtCost c;
      if (Status s = ReadString((*costs)[i], "name", ip, &c.name, true); !s.ok()) return s;
      if (Status s = ReadInt64((*costs)[i], "value", ip, &c.value); !s.ok()) return s;
      if (c.value < 0) return Status::InvalidArgument(ip + ".value: negative cost");
      z->costs.push_back(std::move(c));
    }
  }
  if (const Value* resources = Member(v, "resources")) {
    const std::string p = JoinPath(path, "resources");
    if (Status s = ExpectArray(*resources, p); !s.ok()) return s;
    for (rapidjson::SizeType i = 0; i < resources->Size(); ++i) {
      const std::string ip = IndexPath(p, i);
      const Value& r = (*resources)[i];
      if (Status s = ExpectObject(r, ip); !s.ok()) return s;
      NrtResource res;
      if (Status s = ReadString(r, "name", ip, &res.name, true); !s.ok()) return s;
      for (auto [key, q] : {std::pair{"capacity", &res.capacity}, std::pair{"allocatable", &res.allocatable},
                            std::pair{"available", &res.available}}) {
        const Value* field = Member(r, key);
        if (field == nullptr) return Status::InvalidArgument(JoinPath(ip, key) + ": required");
        if (Status s = ReadQuantityValue(*field, JoinPath(ip, key), q); !s.ok()) return s;
      }
      z->resources.push_back(std::move(res));
    }
  }
  return Status::Ok();
}

// The CNR-style policy value ("SingleNUMANodePodLevel") the NRT states; "" when it states none.
Result<std::string> PolicyOf(const Nrt& nrt) {
  const std::string* policy = nrt.FindAttribute(kNrtAttrPolicy);
  const std::string* scope = nrt.FindAttribute(kNrtAttrScope);
  if (policy != nullptr || scope != nullptr) {
    const std::string p = policy != nullptr ? *policy : "none";
    const std::string sc = scope != nullptr ? *scope : "container";
    if (sc != "container" && sc != "pod")
      return Status::InvalidArgument("attribute topologyManagerScope \"" + sc + "\" is not container|pod");
    if (p == "none") return std::string("None");
    if (p != "single-numa-node" && p != "restricted" && p != "best-effort" && p != "numeric")
      return Status::InvalidArgument("attribute topologyManagerPolicy \"" + p +
                                     "\" is not none|best-effort|restricted|single-numa-node|numeric");
    return NormalizeTopologyPolicy(p + "/" + sc);
  }
  if (nrt.topology_policies.empty()) return std::string();
  // Deprecated form: CNR-style values, where "Restricted" and "BestEffort" carry no scope (container).
  std::string value = nrt.topology_policies.front();
  if (value == "Restricted" || value == "BestEffort") value += "ContainerLevel";
  for (const std::string& known : TopologyPolicies()) {
    if (known == value) return value;
  }
  if (value == "None") return value;
  return Status::InvalidArgument("topologyPolicies \"" + nrt.topology_policies.front() +
                                 "\" is not a known policy");
}

const NrtResource* FindResource(const NrtZone& z, const char* name) {
  for (const NrtResource& r : z.resources) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

}  // namespace

int NumaIdFromZoneName(const std::string& name) {
  constexpr std::string_view kPrefix = "node-";
  if (name.size() <= kPrefix.size() || name.size() > kPrefix.size() + 5 || name.rfind(kPrefix, 0) != 0) return -1;
  int id = 0;
  for (size_t i = kPrefix.size(); i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9') return -1;
    id = id * 10 + (name[i] - '0');
  }
  return id;
}

std::string EncodeNrt(const Nrt& nrt) {
  rapidjson::Document doc;
  doc.SetObject();
  Alloc& a = doc.GetAllocator();
  doc.AddMember("apiVersion", Value(kNrtApiVersion, a), a);
  doc.AddMember("kind", Value(kNrtKind, a), a);
  doc.AddMember("metadata", EncodeObjectMeta(nrt.metadata, a), a);
  Value policies(rapidjson::kArrayType);
  for (const std::string& p : nrt.topology_policies) policies.PushBack(Str(p, a), a);
  doc.AddMember("topologyPolicies", policies, a);  // required by the v1alpha2 schema, even if empty
  Value zones(rapidjson::kArrayType);
  for (const NrtZone& z : nrt.zones) {
    Value zone(rapidjson::kObjectType);
    zone.AddMember("name", Str(z.name, a), a);
    zone.AddMember("type", Str(z.type, a), a);
    if (!z.parent.empty()) zone.AddMember("parent", Str(z.parent, a), a);
    if (!z.costs.empty()) {
      Value costs(rapidjson::kArrayType);
      for (const NrtCost& c : z.costs) {
        Value cost(rapidjson::kObjectType);
        cost.AddMember("name", Str(c.name, a), a);
        cost.AddMember("value", Value(static_cast<int64_t>(c.value)), a);
        costs.PushBack(cost, a);
      }
      zone.AddMember("costs", costs, a);
    }
    if (!z.attributes.empty()) zone.AddMember("attributes", EncodeAttributeList(z.attributes, a), a);
    Value resources(rapidjson::kArrayType);
    for (const NrtResource& r : z.resources) {
      Value res(rapidjson::kObjectType);
      res.AddMember("name", Str(r.name, a), a);
      res.AddMember("capacity", Str(r.capacity.ToString(), a), a);
      res.AddMember("allocatable", Str(r.allocatable.ToString(), a), a);
      res.AddMember("available", Str(r.available.ToString(), a), a);
      resources.PushBack(res, a);
    }
    zone.AddMember("resources", resources, a);
    zones.PushBack(zone, a);
  }
  doc.AddMember("zones", zones, a);
  if (!nrt.attributes.empty()) doc.AddMember("attributes", EncodeAttributeList(nrt.attributes, a), a);
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buf);
  doc.Accept(writer);
  return std::string(buf.GetString(), buf.GetSize());
}

Result<Nrt> DecodeNrt(const rapidjson::Value& value) {
  if (Status s = ExpectObject(value, ""); !s.ok()) return s;
  std::string kind;
  if (Status s = ReadString(value, "kind", "", &kind); !s.ok()) return s;
  if (!kind.empty() && kind != kNrtKind)
    return Status::InvalidArgument("kind: expected " + std::string(kNrtKind) + ", got " + kind);
  Nrt nrt;
  if (Status s = DecodeObjectMeta(value, &nrt.metadata); !s.ok()) return s;
  if (const Value* policies = Member(value, "topologyPolicies")) {
    if (Status s = ExpectArray(*policies, "topologyPolicies"); !s.ok()) return s;
    for (rapidjson::SizeType i = 0; i < policies->Size(); ++i) {
      if (!(*policies)[i].IsString())
        return Status::InvalidArgument(IndexPath("topologyPolicies", i) + ": expected string");
      nrt.topology_policies.emplace_back((*policies)[i].GetString());
    }
  }
  if (Status s = DecodeAttributeList(value, "attributes", "", &nrt.attributes); !s.ok()) return s;
  if (const Value* zones = Member(value, "zones")) {
    if (Status s = ExpectArray(*zones, "zones"); !s.ok()) return s;
    if (zones->Size() > kMaxZones) return Status::InvalidArgument("zones: more than 1024");
    for (rapidjson::SizeType i = 0; i < zones->Size(); ++i) {
      NrtZone z;
      if (Status s = DecodeZone((*zones)[i], IndexPath("zones", i), &z); !s.ok()) return s;
      nrt.zones.push_back(std::move(z));
    }
  }
  return nrt;
}

Result<Nrt> DecodeNrt(std::string_view json) {
  rapidjson::Document doc;
  if (Status s = ParseJson(json, &doc); !s.ok()) return s;
  return DecodeNrt(static_cast<const rapidjson::Value&>(doc));
}

Result<CnrNodeState> NodeStateFromNrt(const Nrt& nrt, const CnrReadOptions& options) {
  const std::string what = "NodeResourceTopology " + nrt.metadata.name;
  Result<std::string> policy_value = PolicyOf(nrt);
  if (!policy_value.ok()) return policy_value.status().WithContext(what);
  Result<std::pair<scoring::TopologyPolicy, scoring::TopologyScope>> policy =
      scoring::ParseCnrTopologyPolicy(*policy_value);
  if (!policy.ok()) return policy.status().WithContext(what);
  CnrNodeState out;
  scoring::NodePolicies p;
  p.topology_policy = policy->first;
  p.topology_scope = policy->second;
  const ManagerPolicies inferred = InferManagerPolicies(p.topology_policy);
  if (Status s =
          ResolveManagerPolicy(nrt.FindAttribute(kNrtAttrCpuManagerPolicy), what, "attribute cpuManagerPolicy",
                               "none", "static", options.assume_cpu_manager_policy, inferred.cpu_manager_static,
                               &p.cpu_manager_static, &out.cpu_manager_source);
      !s.ok())
    return s;
  if (Status s = ResolveManagerPolicy(nrt.FindAttribute(kNrtAttrMemoryManagerPolicy), what,
                                      "attribute memoryManagerPolicy", "None", "Static",
                                      options.assume_memory_manager_policy, inferred.memory_manager_static,
                                      &p.memory_manager_static, &out.memory_manager_source);
      !s.ok())
    return s;
  std::vector<scoring::NumaCapacity> caps;
  std::set<int> seen;
  for (const NrtZone& z : nrt.zones) {
    if (z.type != kNrtZoneNode) continue;  // sockets, dies, cores: nothing the NUMA model needs
    for (const NrtResource& r : z.resources) {
      if (r.allocatable.milli() > r.capacity.milli() || r.available.milli() > r.allocatable.milli() ||
          r.available.milli() < 0) {
        return Status::InvalidArgument(what + " zone " + z.name + ": resource " + r.name + " has capacity " +
                                       r.capacity.ToString() + ", allocatable " + r.allocatable.ToString() +
                                       ", available " + r.available.ToString() +
                                       " (needs 0 <= available <= allocatable <= capacity)");
      }
    }
    const int id = NumaIdFromZoneName(z.name);
    if (id < 0 || id >= scoring::kMaxNumaNodesPerNode || !seen.insert(id).second) {
      out.warnings.push_back("zone \"" + z.name +
                             "\" skipped (not node-<id> with id in [0, 64), or listed twice)");
      continue;
    }
    int socket = id;
    if (z.parent.rfind("socket-", 0) == 0 && z.parent.size() > 7 && z.parent.size() <= 9 &&
        std::all_of(z.parent.begin() + 7, z.parent.end(), ::isdigit))
      socket = std::stoi(z.parent.substr(7));
    const NrtResource* cpu = FindResource(z, kResourceCpu);
    const NrtResource* memory = FindResource(z, kResourceMemory);
    caps.push_back({id, socket, cpu != nullptr ? cpu->allocatable.milli() : 0,
                    memory != nullptr ? memory->allocatable.milli() / 1000 : 0, 0, 0});
  }
  out.node = scoring::MakeNodeState(nrt.metadata.name, caps, p);
  return out;
}

std::vector<NrtHeld> HeldByNrt(const Nrt& nrt) {
  std::vector<NrtHeld> out;
  for (const NrtZone& z : nrt.zones) {
    const int id = NumaIdFromZoneName(z.name);
    if (z.type != kNrtZoneNode || id < 0) continue;
    NrtHeld h;
    h.numa_id = id;
    if (const NrtResource* cpu = FindResource(z, kResourceCpu))
      h.cpu_milli = std::max<int64_t>(0, cpu->allocatable.milli() - cpu->available.milli());
    if (const NrtResource* mem = FindResource(z, kResourceMemory))
      h.memory_bytes = std::max<int64_t>(0, (mem->allocatable.milli() - mem->available.milli()) / 1000);
    if (h.cpu_milli > 0 || h.memory_bytes > 0) out.push_back(h);
  }
  return out;
}

Nrt NrtFromCnr(const Cnr& cnr) {
  Nrt nrt;
  nrt.metadata.name = cnr.metadata.name;
  nrt.metadata.labels = cnr.metadata.labels;
  nrt.metadata.owner_references = cnr.metadata.owner_references;
  Result<std::pair<scoring::TopologyPolicy, scoring::TopologyScope>> policy =
      scoring::ParseCnrTopologyPolicy(cnr.status.topology_policy);
  if (policy.ok()) {
    nrt.attributes.push_back({kNrtAttrPolicy, scoring::TopologyPolicyName(policy->first)});
    nrt.attributes.push_back(
        {kNrtAttrScope, policy->second == scoring::TopologyScope::kPod ? "pod" : "container"});
  }
  for (const char* prop : {kPropCpuManagerPolicy, kPropMemoryManagerPolicy}) {
    if (const Property* p = cnr.FindProperty(prop); p != nullptr && !p->values.empty()) {
      nrt.attributes.push_back(
          {prop == kPropCpuManagerPolicy ? kNrtAttrCpuManagerPolicy : kNrtAttrMemoryManagerPolicy, p->values[0]});
    }
  }
  for (const TopologyZone& socket : cnr.status.zones) {
    if (socket.type != kZoneSocket) continue;
    for (const TopologyZone& numa : socket.children) {
      if (numa.type != kZoneNuma) continue;
      NrtZone z;
      z.name = "node-" + numa.name;
      z.type = kNrtZoneNode;
      z.parent = "socket-" + socket.name;
      for (const Sibling& s : numa.siblings) {
        for (const Attribute& a : s.attributes) {
          if (a.name == kAttrDistance) z.costs.push_back({"node-" + s.name, std::atoll(a.value.c_str())});
        }
      }
      for (const char* name : {kResourceCpu, kResourceMemory}) {
        auto cap = numa.resources.capacity.find(name);
        auto alloc = numa.resources.allocatable.find(name);
        if (cap == numa.resources.capacity.end()) continue;
        const Quantity allocatable = alloc == numa.resources.allocatable.end() ? cap->second : alloc->second;
        z.resources.push_back({name, cap->second, allocatable, allocatable});
      }
      nrt.zones.push_back(std::move(z));
    }
  }
  return nrt;
}

}  // namespace tessera::crd
