#include "crd/cnr_codec.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <set>

#include "crd/json_fields.h"

namespace tessera::crd {

const std::string* TopologyZone::FindAttribute(const std::string& attr_name) const {
  for (const Attribute& a : attributes) {
    if (a.name == attr_name) return &a.value;
  }
  return nullptr;
}

const Property* Cnr::FindProperty(const std::string& name) const {
  for (const Property& p : properties) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

const Condition* Cnr::FindCondition(const std::string& type) const {
  for (const Condition& c : status.conditions) {
    if (c.type == type) return &c;
  }
  return nullptr;
}

namespace {

using rapidjson::Value;
using Alloc = rapidjson::Document::AllocatorType;

// ---------------------------------------------------------------------------------------------- encoding

Value Str(const std::string& s, Alloc& a) {
  return Value(s.c_str(), static_cast<rapidjson::SizeType>(s.size()), a);
}

void AddString(Value* obj, const char* key, const std::string& s, Alloc& a) {
  obj->AddMember(Value(key, a), Str(s, a), a);
}

Value EncodeResourceList(const ResourceList& list, Alloc& a) {
  Value obj(rapidjson::kObjectType);
  for (const auto& [name, q] : list) obj.AddMember(Str(name, a), Str(q.ToString(), a), a);
  return obj;
}

Value EncodeAttributes(const std::vector<Attribute>& attrs, Alloc& a) {
  Value arr(rapidjson::kArrayType);
  for (const Attribute& at : attrs) {
    Value o(rapidjson::kObjectType);
    AddString(&o, "name", at.name, a);
    AddString(&o, "value", at.value, a);
    arr.PushBack(o, a);
  }
  return arr;
}

Value EncodeZoneResources(const ZoneResources& r, Alloc& a) {
  Value obj(rapidjson::kObjectType);
  if (!r.allocatable.empty()) obj.AddMember("allocatable", EncodeResourceList(r.allocatable, a), a);
  if (!r.capacity.empty()) obj.AddMember("capacity", EncodeResourceList(r.capacity, a), a);
  return obj;
}

Value EncodeZone(const TopologyZone& z, Alloc& a) {
  Value obj(rapidjson::kObjectType);
  AddString(&obj, "type", z.type, a);
  AddString(&obj, "name", z.name, a);
  if (!z.resources.capacity.empty() || !z.resources.allocatable.empty()) {
    obj.AddMember("resources", EncodeZoneResources(z.resources, a), a);
  }
  if (!z.attributes.empty()) obj.AddMember("attributes", EncodeAttributes(z.attributes, a), a);
  if (!z.allocations.empty()) {
    Value arr(rapidjson::kArrayType);
    for (const Allocation& al : z.allocations) {
      Value o(rapidjson::kObjectType);
      AddString(&o, "consumer", al.consumer, a);
      o.AddMember("requests", EncodeResourceList(al.requests, a), a);
      arr.PushBack(o, a);
    }
    obj.AddMember("allocations", arr, a);
  }
  if (!z.siblings.empty()) {
    Value arr(rapidjson::kArrayType);
    for (const Sibling& s : z.siblings) {
      Value o(rapidjson::kObjectType);
      AddString(&o, "type", s.type, a);
      AddString(&o, "name", s.name, a);
      if (!s.attributes.empty()) o.AddMember("attributes", EncodeAttributes(s.attributes, a), a);
      arr.PushBack(o, a);
    }
    obj.AddMember("siblings", arr, a);
  }
  if (!z.children.empty()) {
    Value arr(rapidjson::kArrayType);
    for (const TopologyZone& c : z.children) arr.PushBack(EncodeZone(c, a), a);
    obj.AddMember("children", arr, a);
  }
  return obj;
}

Value EncodeMetadata(const ObjectMeta& m, Alloc& a) {
  Value obj(rapidjson::kObjectType);
  AddString(&obj, "name", m.name, a);
  if (!m.uid.empty()) AddString(&obj, "uid", m.uid, a);
  if (!m.resource_version.empty()) AddString(&obj, "resourceVersion", m.resource_version, a);
  auto add_map = [&](const char* key, const std::map<std::string, std::string>& map) {
    if (map.empty()) return;
    Value o(rapidjson::kObjectType);
    for (const auto& [k, v] : map) o.AddMember(Str(k, a), Str(v, a), a);
    obj.AddMember(Value(key, a), o, a);
  };
  add_map("labels", m.labels);
  add_map("annotations", m.annotations);
  if (!m.owner_references.empty()) {
    Value arr(rapidjson::kArrayType);
    for (const OwnerReference& r : m.owner_references) {
      Value o(rapidjson::kObjectType);
      AddString(&o, "apiVersion", r.api_version, a);
      AddString(&o, "kind", r.kind, a);
      AddString(&o, "name", r.name, a);
      AddString(&o, "uid", r.uid, a);
      if (r.controller) o.AddMember("controller", true, a);
      arr.PushBack(o, a);
    }
    obj.AddMember("ownerReferences", arr, a);
  }
  return obj;
}

Value EncodeProperty(const Property& p, Alloc& a) {
  Value o(rapidjson::kObjectType);
  AddString(&o, "propertyName", p.name, a);
  if (!p.values.empty()) {
    Value vals(rapidjson::kArrayType);
    for (const std::string& v : p.values) vals.PushBack(Str(v, a), a);
    o.AddMember("propertyValues", vals, a);
  }
  if (p.quantity) o.AddMember("propertyQuantity", Str(p.quantity->ToString(), a), a);
  return o;
}

Value EncodeCondition(const Condition& c, Alloc& a) {
  Value o(rapidjson::kObjectType);
  AddString(&o, "type", c.type, a);
  AddString(&o, "status", c.status, a);
  if (!c.last_heartbeat_time.empty()) AddString(&o, "lastHeartbeatTime", c.last_heartbeat_time, a);
  if (!c.reason.empty()) AddString(&o, "reason", c.reason, a);
  if (!c.message.empty()) AddString(&o, "message", c.message, a);
  return o;
}

// ---------------------------------------------------------------------------------------------- decoding

Status DecodeAttributes(const Value& obj, const char* key, const std::string& path, std::vector<Attribute>* out) {
  const Value* arr = Member(obj, key);
  if (arr == nullptr) return Status::Ok();
  std::string p = JoinPath(path, key);
  if (Status s = ExpectArray(*arr, p); !s.ok()) return s;
  for (rapidjson::SizeType i = 0; i < arr->Size(); ++i) {
    std::string ip = IndexPath(p, i);
    const Value& item = (*arr)[i];
    if (Status s = ExpectObject(item, ip); !s.ok()) return s;
    Attribute at;
    if (Status s = ReadString(item, "name", ip, &at.name, true); !s.ok()) return s;
    if (Status s = ReadString(item, "value", ip, &at.value); !s.ok()) return s;
    out->push_back(std::move(at));
  }
  return Status::Ok();
}

Status DecodeZone(const Value& v, const std::string& path, int depth, TopologyZone* z) {
  if (depth > kMaxZoneDepth) {
    return Status::InvalidArgument(path + ": topology zones nested deeper than " + std::to_string(kMaxZoneDepth));
  }
  if (Status s = ExpectObject(v, path); !s.ok()) return s;
  if (Status s = ReadString(v, "type", path, &z->type, true); !s.ok()) return s;
  if (Status s = ReadString(v, "name", path, &z->name, true); !s.ok()) return s;
  if (const Value* r = Member(v, "resources")) {
    std::string rp = JoinPath(path, "resources");
    if (Status s = ExpectObject(*r, rp); !s.ok()) return s;
    if (Status s = ReadResourceList(*r, "capacity", rp, &z->resources.capacity); !s.ok()) return s;
    if (Status s = ReadResourceList(*r, "allocatable", rp, &z->resources.allocatable); !s.ok()) return s;
  }
  if (Status s = DecodeAttributes(v, "attributes", path, &z->attributes); !s.ok()) return s;
  if (const Value* arr = Member(v, "allocations")) {
    std::string ap = JoinPath(path, "allocations");
    if (Status s = ExpectArray(*arr, ap); !s.ok()) return s;
    for (rapidjson::SizeType i = 0; i < arr->Size(); ++i) {
      std::string ip = IndexPath(ap, i);
      if (Status s = ExpectObject((*arr)[i], ip); !s.ok()) return s;
      Allocation al;
      if (Status s = ReadString((*arr)[i], "consumer", ip, &al.consumer, true); !s.ok()) return s;
      if (Status s = ReadResourceList((*arr)[i], "requests", ip, &al.requests); !s.ok()) return s;
      z->allocations.push_back(std::move(al));
    }
  }
  if (const Value* arr = Member(v, "siblings")) {
    std::string sp = JoinPath(path, "siblings");
    if (Status s = ExpectArray(*arr, sp); !s.ok()) return s;
    for (rapidjson::SizeType i = 0; i < arr->Size(); ++i) {
      std::string ip = IndexPath(sp, i);
      if (Status s = ExpectObject((*arr)[i], ip); !s.ok()) return s;
      Sibling sib;
      if (Status s = ReadString((*arr)[i], "type", ip, &sib.type, true); !s.ok()) return s;
      if (Status s = ReadString((*arr)[i], "name", ip, &sib.name, true); !s.ok()) return s;
      if (Status s = DecodeAttributes((*arr)[i], "attributes", ip, &sib.attributes); !s.ok()) return s;
      z->siblings.push_back(std::move(sib));
    }
  }
  if (const Value* arr = Member(v, "children")) {
    std::string cp = JoinPath(path, "children");
    if (Status s = ExpectArray(*arr, cp); !s.ok()) return s;
    for (rapidjson::SizeType i = 0; i < arr->Size(); ++i) {
      TopologyZone child;
      if (Status s = DecodeZone((*arr)[i], IndexPath(cp, i), depth + 1, &child); !s.ok()) return s;
      z->children.push_back(std::move(child));
    }
  }
  return Status::Ok();
}

Status DecodeMetadata(const Value& v, ObjectMeta* m) {
  const Value* meta = Member(v, "metadata");
  if (meta == nullptr) return Status::InvalidArgument("metadata: required");
  const std::string p = "metadata";
  if (Status s = ExpectObject(*meta, p); !s.ok()) return s;
  if (Status s = ReadString(*meta, "name", p, &m->name, true); !s.ok()) return s;
  if (m->name.empty()) return Status::InvalidArgument("metadata.name: must not be empty");
  if (Status s = ReadString(*meta, "uid", p, &m->uid); !s.ok()) return s;
  if (Status s = ReadString(*meta, "resourceVersion", p, &m->resource_version); !s.ok()) return s;
  if (Status s = ReadStringMap(*meta, "labels", p, &m->labels); !s.ok()) return s;
  if (Status s = ReadStringMap(*meta, "annotations", p, &m->annotations); !s.ok()) return s;
  if (const Value* refs = Member(*meta, "ownerReferences")) {
    std::string rp = JoinPath(p, "ownerReferences");
    if (Status s = ExpectArray(*refs, rp); !s.ok()) return s;
    for (rapidjson::SizeType i = 0; i < refs->Size(); ++i) {
      std::string ip = IndexPath(rp, i);
      if (Status s = ExpectObject((*refs)[i], ip); !s.ok()) return s;
      OwnerReference r;
      if (Status s = ReadString((*refs)[i], "apiVersion", ip, &r.api_version); !s.ok()) return s;
      if (Status s = ReadString((*refs)[i], "kind", ip, &r.kind); !s.ok()) return s;
      if (Status s = ReadString((*refs)[i], "name", ip, &r.name); !s.ok()) return s;
      if (Status s = ReadString((*refs)[i], "uid", ip, &r.uid); !s.ok()) return s;
      if (Status s = ReadBool((*refs)[i], "controller", ip, &r.controller); !s.ok()) return s;
      m->owner_references.push_back(std::move(r));
    }
  }
  return Status::Ok();
}

Status DecodeSpec(const Value& v, Cnr* cnr) {
  const Value* spec = Member(v, "spec");
  if (spec == nullptr) return Status::Ok();
  if (Status s = ExpectObject(*spec, "spec"); !s.ok()) return s;
  if (const Value* props = Member(*spec, "nodeResourceProperties")) {
    const std::string pp = "spec.nodeResourceProperties";
    if (Status s = ExpectArray(*props, pp); !s.ok()) return s;
    for (rapidjson::SizeType i = 0; i < props->Size(); ++i) {
      std::string ip = IndexPath(pp, i);
      const Value& item = (*props)[i];
      if (Status s = ExpectObject(item, ip); !s.ok()) return s;
      Property p;
      if (Status s = ReadString(item, "propertyName", ip, &p.name, true); !s.ok()) return s;
      if (const Value* vals = Member(item, "propertyValues")) {
        std::string vp = JoinPath(ip, "propertyValues");
        if (Status s = ExpectArray(*vals, vp); !s.ok()) return s;
        for (rapidjson::SizeType j = 0; j < vals->Size(); ++j) {
          if (!(*vals)[j].IsString()) {
            return Status::InvalidArgument(IndexPath(vp, j) + ": expected string, got " +
                                           JsonTypeName((*vals)[j]));
          }
          p.values.emplace_back((*vals)[j].GetString(), (*vals)[j].GetStringLength());
        }
      }
      if (const Value* q = Member(item, "propertyQuantity")) {
        Quantity quantity;
        if (Status s = ReadQuantityValue(*q, JoinPath(ip, "propertyQuantity"), &quantity); !s.ok()) return s;
        p.quantity = quantity;
      }
      cnr->properties.push_back(std::move(p));
    }
  }
  if (const Value* taints = Member(*spec, "taints")) {
    const std::string tp = "spec.taints";
    if (Status s = ExpectArray(*taints, tp); !s.ok()) return s;
    for (rapidjson::SizeType i = 0; i < taints->Size(); ++i) {
      std::string ip = IndexPath(tp, i);
      const Value& item = (*taints)[i];
      if (Status s = ExpectObject(item, ip); !s.ok()) return s;
      Taint t;
      if (Status s = ReadString(item, "key", ip, &t.key, true); !s.ok()) return s;
      if (Status s = ReadString(item, "value", ip, &t.value); !s.ok()) return s;
      if (Status s = ReadString(item, "effect", ip, &t.effect, true); !s.ok()) return s;
      if (Status s = ReadString(item, "qosLevel", ip, &t.qos_level, true); !s.ok()) return s;
      cnr->taints.push_back(std::move(t));
    }
  }
  return Status::Ok();
}

Status DecodeStatus(const Value& v, CnrStatus* st) {
  const Value* status = Member(v, "status");
  if (status == nullptr) return Status::Ok();
  const std::string p = "status";
  if (Status s = ExpectObject(*status, p); !s.ok()) return s;
  if (Status s = ReadString(*status, "topologyPolicy", p, &st->topology_policy); !s.ok()) return s;
  if (const Value* r = Member(*status, "resources")) {
    if (Status s = ExpectObject(*r, "status.resources"); !s.ok()) return s;
    if (Status s = ReadResourceList(*r, "allocatable", "status.resources", &st->resources.allocatable); !s.ok()) {
      return s;
    }
    if (Status s = ReadResourceList(*r, "capacity", "status.resources", &st->resources.capacity); !s.ok())
      return s;
  }
  if (const Value* zones = Member(*status, "topologyZone")) {
    const std::string zp = "status.topologyZone";
    if (Status s = ExpectArray(*zones, zp); !s.ok()) return s;
    for (rapidjson::SizeType i = 0; i < zones->Size(); ++i) {
      TopologyZone z;
      if (Status s = DecodeZone((*zones)[i], IndexPath(zp, i), 1, &z); !s.ok()) return s;
      st->zones.push_back(std::move(z));
    }
  }
  if (const Value* conds = Member(*status, "conditions")) {
    const std::string cp = "status.conditions";
    if (Status s = ExpectArray(*conds, cp); !s.ok()) return s;
    for (rapidjson::SizeType i = 0; i < conds->Size(); ++i) {
      std::string ip = IndexPath(cp, i);
      const Value& item = (*conds)[i];
      if (Status s = ExpectObject(item, ip); !s.ok()) return s;
      Condition c;
      if (Status s = ReadString(item, "type", ip, &c.type, true); !s.ok()) return s;
      if (Status s = ReadString(item, "status", ip, &c.status, true); !s.ok()) return s;
      if (Status s = ReadString(item, "lastHeartbeatTime", ip, &c.last_heartbeat_time); !s.ok()) return s;
      if (Status s = ReadString(item, "reason", ip, &c.reason); !s.ok()) return s;
      if (Status s = ReadString(item, "message", ip, &c.message); !s.ok()) return s;
      st->conditions.push_back(std::move(c));
    }
  }
  return Status::Ok();
}

// Allocations already in `existing` zones are carried to the zone with the same type and name at the same place
// in `desired`: the reporter never drops what the extender or Katalyst agents charged.
void CarryAllocations(const std::vector<TopologyZone>& existing, std::vector<TopologyZone>* desired) {
  for (TopologyZone& d : *desired) {
    for (const TopologyZone& e : existing) {
      if (e.type != d.type || e.name != d.name) continue;
      std::set<std::string> have;
      for (const Allocation& a : d.allocations) have.insert(a.consumer);
      for (const Allocation& a : e.allocations) {
        if (have.insert(a.consumer).second) d.allocations.push_back(a);
      }
      CarryAllocations(e.children, &d.children);
    }
  }
}

}  // namespace

Status DecodeObjectMeta(const rapidjson::Value& object, ObjectMeta* meta) {
  return DecodeMetadata(object, meta);
}
Status DecodeAttributeList(const rapidjson::Value& obj, const char* key, const std::string& path,
                           std::vector<Attribute>* out) {
  return DecodeAttributes(obj, key, path, out);
}
rapidjson::Value EncodeObjectMeta(const ObjectMeta& meta, rapidjson::Document::AllocatorType& a) {
  return EncodeMetadata(meta, a);
}
rapidjson::Value EncodeAttributeList(const std::vector<Attribute>& attributes,
                                     rapidjson::Document::AllocatorType& a) {
  return EncodeAttributes(attributes, a);
}

void EncodeCnr(const Cnr& cnr, rapidjson::Document* doc) {
  doc->SetObject();
  Alloc& a = doc->GetAllocator();
  doc->AddMember("apiVersion", Value(kCnrApiVersion, a), a);
  doc->AddMember("kind", Value(kCnrKind, a), a);
  doc->AddMember("metadata", EncodeMetadata(cnr.metadata, a), a);

  Value spec(rapidjson::kObjectType);
  if (!cnr.properties.empty()) {
    Value props(rapidjson::kArrayType);
    for (const Property& p : cnr.properties) props.PushBack(EncodeProperty(p, a), a);
    spec.AddMember("nodeResourceProperties", props, a);
  }
  if (!cnr.taints.empty()) {
    Value taints(rapidjson::kArrayType);
    for (const Taint& t : cnr.taints) {
      Value o(rapidjson::kObjectType);
      AddString(&o, "key", t.key, a);
      if (!t.value.empty()) AddString(&o, "value", t.value, a);
      AddString(&o, "effect", t.effect, a);
      AddString(&o, "qosLevel", t.qos_level, a);
      taints.PushBack(o, a);
    }
    spec.AddMember("taints", taints, a);
  }
  doc->AddMember("spec", spec, a);

  Value status(rapidjson::kObjectType);
  if (!cnr.status.topology_policy.empty()) AddString(&status, "topologyPolicy", cnr.status.topology_policy, a);
  status.AddMember("resources", EncodeZoneResources(cnr.status.resources, a), a);
  Value zones(rapidjson::kArrayType);
  for (const TopologyZone& z : cnr.status.zones) zones.PushBack(EncodeZone(z, a), a);
  status.AddMember("topologyZone", zones, a);
  if (!cnr.status.conditions.empty()) {
    Value conds(rapidjson::kArrayType);
    for (const Condition& c : cnr.status.conditions) conds.PushBack(EncodeCondition(c, a), a);
    status.AddMember("conditions", conds, a);
  }
  doc->AddMember("status", status, a);
}

std::string EncodeCnr(const Cnr& cnr) {
  rapidjson::Document doc;
  EncodeCnr(cnr, &doc);
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buf);
  doc.Accept(writer);
  return std::string(buf.GetString(), buf.GetSize());
}

Result<Cnr> DecodeCnr(const rapidjson::Value& value) {
  if (Status s = ExpectObject(value, ""); !s.ok()) return s;
  std::string kind;
  if (Status s = ReadString(value, "kind", "", &kind); !s.ok()) return s;
  if (!kind.empty() && kind != kCnrKind) {
    return Status::InvalidArgument("kind: expected " + std::string(kCnrKind) + ", got " + kind);
  }
  Cnr cnr;
  if (Status s = DecodeMetadata(value, &cnr.metadata); !s.ok()) return s;
  if (Status s = DecodeSpec(value, &cnr); !s.ok()) return s;
  if (Status s = DecodeStatus(value, &cnr.status); !s.ok()) return s;
  return cnr;
}

Result<Cnr> DecodeCnr(std::string_view json) {
  rapidjson::Document doc;
  if (Status s = ParseJson(json, &doc); !s.ok()) return s;
  return DecodeCnr(static_cast<const rapidjson::Value&>(doc));
}

Result<std::string> MergeForUpdate(std::string_view existing_json, const Cnr& desired) {
  rapidjson::Document existing;
  if (Status s = ParseJson(existing_json, &existing); !s.ok()) return s.WithContext("existing CNR");
  Result<Cnr> existing_cnr = DecodeCnr(static_cast<const rapidjson::Value&>(existing));
  if (!existing_cnr.ok()) return existing_cnr.status().WithContext("existing CNR");

  Cnr merged = desired;
  // Identity and concurrency come from the stored object.
  merged.metadata.resource_version = existing_cnr->metadata.resource_version;
  merged.metadata.uid = existing_cnr->metadata.uid;
  for (const auto& [k, v] : existing_cnr->metadata.labels) merged.metadata.labels.emplace(k, v);
  for (const auto& [k, v] : existing_cnr->metadata.annotations) merged.metadata.annotations.emplace(k, v);
  if (merged.metadata.owner_references.empty())
    merged.metadata.owner_references = existing_cnr->metadata.owner_references;
  // Properties and conditions the reporter does not publish are someone else's.
  std::set<std::string> ours;
  for (const Property& p : desired.properties) ours.insert(p.name);
  for (const Property& p : existing_cnr->properties) {
    if (ours.count(p.name) == 0) merged.properties.push_back(p);
  }
  std::set<std::string> our_conditions;
  for (const Condition& c : desired.status.conditions) our_conditions.insert(c.type);
  for (const Condition& c : existing_cnr->status.conditions) {
    if (our_conditions.count(c.type) == 0) merged.status.conditions.push_back(c);
  }
  if (merged.taints.empty()) merged.taints = existing_cnr->taints;
  for (const auto& [k, v] : existing_cnr->status.resources.allocatable)
    merged.status.resources.allocatable.emplace(k, v);
  for (const auto& [k, v] : existing_cnr->status.resources.capacity)
    merged.status.resources.capacity.emplace(k, v);
  CarryAllocations(existing_cnr->status.zones, &merged.status.zones);

  rapidjson::Document out;
  EncodeCnr(merged, &out);
  // Top-level, spec and status fields Tessera does not model (nodeMetricStatus, resourcePackages, ...) survive.
  Alloc& a = out.GetAllocator();
  for (const char* section : {"spec", "status"}) {
    const Value* src = Member(existing, section);
    if (src == nullptr || !src->IsObject()) continue;
    Value& dst = out[section];
    for (auto it = src->MemberBegin(); it != src->MemberEnd(); ++it) {
      if (!dst.HasMember(it->name)) dst.AddMember(Value(it->name, a), Value(it->value, a), a);
    }
    if (std::string(section) == "status") {
      const Value* res = Member(*src, "resources");
      if (res != nullptr && res->IsObject()) {
        Value& dres = dst["resources"];
        for (auto it = res->MemberBegin(); it != res->MemberEnd(); ++it) {
          if (!dres.HasMember(it->name)) dres.AddMember(Value(it->name, a), Value(it->value, a), a);
        }
      }
    }
  }
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buf);
  out.Accept(writer);
  return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace tessera::crd
