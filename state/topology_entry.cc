#include "state/topology_entry.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "crd/cnr_builder.h"
#include "crd/cnr_codec.h"
#include "crd/json_fields.h"
#include "kube/time_format.h"

namespace tessera::state {

using rapidjson::Value;

std::string TopologyContent(const Value& object) {
  rapidjson::StringBuffer b;
  rapidjson::Writer<rapidjson::StringBuffer> w(b);
  w.StartObject();
  for (auto it = object.MemberBegin(); it != object.MemberEnd(); ++it) {
    const std::string_view key(it->name.GetString(), it->name.GetStringLength());
    if (key == "metadata") continue;
    w.Key(it->name.GetString(), it->name.GetStringLength());
    if (key != "status" || !it->value.IsObject()) {
      it->value.Accept(w);
      continue;
    }
    w.StartObject();
    for (auto m = it->value.MemberBegin(); m != it->value.MemberEnd(); ++m) {
      w.Key(m->name.GetString(), m->name.GetStringLength());
      if (std::string_view(m->name.GetString(), m->name.GetStringLength()) != "conditions" ||
          !m->value.IsArray()) {
        m->value.Accept(w);
        continue;
      }
      w.StartArray();
      for (const Value& c : m->value.GetArray()) {
        for (const char* field : {"type", "status", "reason", "message"}) {
          const Value* v = crd::Member(c, field);
          if (v != nullptr && v->IsString()) w.String(v->GetString(), v->GetStringLength());
        }
      }
      w.EndArray();
    }
    w.EndObject();
  }
  w.EndObject();
  return std::string(b.GetString(), b.GetSize());
}

namespace {

void SetHeartbeat(const crd::Cnr& cnr, TopologyEntry* e) {
  const crd::Condition* ready = cnr.FindCondition(crd::kConditionAgentReady);
  if (ready == nullptr) return;
  e->heartbeat_text = ready->last_heartbeat_time;
  e->has_heartbeat = ready->status == "True" && kube::ParseRfc3339(ready->last_heartbeat_time, &e->heartbeat);
  e->not_ready.clear();
  if (ready->status != "True")
    e->not_ready = ready->reason + (ready->message.empty() ? "" : ": " + ready->message);
}

// What every entry records before its object is decoded: its content and resourceVersion.
TopologyEntry NewEntry(const Value& doc) {
  TopologyEntry e;
  e.content = TopologyContent(doc);
  if (const Value* meta = crd::Member(doc, "metadata"))
    (void)crd::ReadString(*meta, "resourceVersion", "metadata", &e.resource_version);
  return e;
}

}  // namespace

TopologyEntry DecodeCnrEntry(const Value& doc, const std::string& name, const crd::CnrReadOptions& options) {
  TopologyEntry e = NewEntry(doc);
  Result<crd::Cnr> cnr = crd::DecodeCnr(doc);
  Result<crd::CnrNodeState> ns =
      cnr.ok() ? crd::NodeStateFromCnr(*cnr, options) : Result<crd::CnrNodeState>(cnr.status());
  Result<topology::NodeTopology> topo =
      cnr.ok() ? crd::TopologyFromCnr(*cnr) : Result<topology::NodeTopology>(cnr.status());
  if (!ns.ok() || !topo.ok()) {
    e.problem = "its CustomNodeResource is unusable: " + (!ns.ok() ? ns.status() : topo.status()).message();
    return e;
  }
  e.usable = true;
  e.state = std::move(ns->node);
  e.state.name = name;
  scoring::AddDevicesFromTopology(*topo, &e.state);
  SetHeartbeat(*cnr, &e);
  e.reported = crd::ReportedAllocationsFromCnr(*cnr, e.state);
  return e;
}

void RefreshHeartbeat(const Value& doc, TopologyEntry* e) {
  if (const Value* meta = crd::Member(doc, "metadata"))
    (void)crd::ReadString(*meta, "resourceVersion", "metadata", &e->resource_version);
  if (!e->usable) return;
  if (Result<crd::Cnr> cnr = crd::DecodeCnr(doc); cnr.ok()) SetHeartbeat(*cnr, e);
}

TopologyEntry DecodeNrtEntry(const Value& doc, const std::string& name, const crd::CnrReadOptions& options) {
  TopologyEntry e = NewEntry(doc);
  Result<crd::Nrt> nrt = crd::DecodeNrt(doc);
  Result<crd::CnrNodeState> ns =
      nrt.ok() ? crd::NodeStateFromNrt(*nrt, options) : Result<crd::CnrNodeState>(nrt.status());
  if (!ns.ok()) {
    e.problem = "its NodeResourceTopology is unusable: " + ns.status().message();
    return e;
  }
  e.usable = true;
  e.has_heartbeat = true;
  e.state = std::move(ns->node);
  e.state.name = name;
  e.held = crd::HeldByNrt(*nrt);
  return e;
}

TopologyChoice ChooseTopology(TopologySource source, const TopologyEntry* cnr, const TopologyEntry* nrt,
                              std::chrono::system_clock::time_point now, std::chrono::seconds stale_after) {
  TopologyChoice c;
  if (source == TopologySource::kNrt || (source == TopologySource::kAuto && cnr == nullptr)) {
    c.from_nrt = true;
    if (nrt == nullptr) {
      c.reason = source == TopologySource::kNrt
                     ? "node has no NodeResourceTopology: its NUMA topology is unknown"
                     : "node has no CustomNodeResource and no NodeResourceTopology: its NUMA and device "
                       "topology is unknown";
    } else if (!nrt->usable) {
      c.reason = nrt->problem;
      c.unusable = "invalid";
    } else {
      c.entry = nrt;
    }
    return c;
  }
  if (cnr == nullptr) {
    c.reason = "node has no CustomNodeResource: its NUMA and device topology is unknown";
  } else if (!cnr->usable) {
    c.reason = cnr->problem;
    c.unusable = "invalid";
  } else if (!cnr->not_ready.empty()) {
    c.reason = "its CustomNodeResource says the node agent is not ready (" + cnr->not_ready + ")";
    c.unusable = "agent_not_ready";
  } else if (!cnr->has_heartbeat) {
    c.reason = "its CustomNodeResource has no AgentReady heartbeat";
    c.unusable = "no_heartbeat";
  } else if (now - cnr->heartbeat > stale_after) {
    c.reason = "its CustomNodeResource is stale (last heartbeat " + cnr->heartbeat_text + ")";
    c.unusable = "stale";
  } else {
    c.entry = cnr;
  }
  return c;
}

}  // namespace tessera::state
