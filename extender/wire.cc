#include "extender/wire.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cctype>

#include "crd/json_fields.h"

namespace tessera::extender {

using rapidjson::Value;

const Value* MemberCi(const Value& obj, const char* key) {
  if (!obj.IsObject()) return nullptr;
  const size_t n = std::char_traits<char>::length(key);
  for (auto it = obj.MemberBegin(); it != obj.MemberEnd(); ++it) {
    if (it->name.GetStringLength() != n) continue;
    bool eq = true;
    for (size_t i = 0; i < n && eq; ++i) eq = std::tolower(it->name.GetString()[i]) == std::tolower(key[i]);
    if (eq) return it->value.IsNull() ? nullptr : &it->value;
  }
  return nullptr;
}

std::string Escape(const std::string& s) {
  rapidjson::StringBuffer b;
  rapidjson::Writer<rapidjson::StringBuffer> w(b);
  w.String(s.c_str(), static_cast<rapidjson::SizeType>(s.size()));
  return std::string(b.GetString() + 1, b.GetSize() - 2);  // without the quotes
}

void AppendJsonString(std::string* out, std::string_view s) {
  const bool plain = std::all_of(s.begin(), s.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
  });
  if (plain) {
    *out += '"';
    out->append(s);
    *out += '"';
    return;
  }
  rapidjson::StringBuffer b;
  rapidjson::Writer<rapidjson::StringBuffer> w(b);
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  out->append(b.GetString(), b.GetSize());
}

Answer BadRequest(const Status& s) {
  return Answer{400, "{\"Error\":\"" + Escape(s.message()) + "\"}"};
}

Answer VerbError(const std::string& message) {
  return Answer{200, "{\"Error\":\"" + Escape(message) + "\"}"};
}

Answer VerbOk() {
  return Answer{200, "{\"Error\":\"\"}"};
}

QuotedNames QuotedNames::Of(const std::vector<std::string_view>& names) {
  QuotedNames q;
  q.text.reserve(names.size() * 16);
  q.end.reserve(names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) q.text += ',';
    AppendJsonString(&q.text, names[i]);
    q.end.push_back(q.text.size());
  }
  return q;
}

namespace {

Status ParseArgs(const rapidjson::Document& doc, ExtenderArgs* a) {
  if (!doc.IsObject()) return Status::InvalidArgument("request body must be a JSON object (ExtenderArgs)");
  a->pod = MemberCi(doc, "Pod");
  if (a->pod == nullptr || !a->pod->IsObject()) return Status::InvalidArgument("Pod: required object");
  if (const Value* names = MemberCi(doc, "NodeNames")) {
    if (!names->IsArray()) return Status::InvalidArgument("NodeNames: expected array of strings");
    a->names.reserve(names->Size());
    for (const Value& v : names->GetArray()) {
      if (!v.IsString()) return Status::InvalidArgument("NodeNames: expected array of strings");
      a->names.emplace_back(v.GetString(), v.GetStringLength());
    }
    return Status::Ok();
  }
  const Value* nodes = MemberCi(doc, "Nodes");
  if (nodes == nullptr) return Status::InvalidArgument("one of NodeNames or Nodes is required");
  const Value* items = crd::Member(*nodes, "items");
  if (items == nullptr || !items->IsArray()) return Status::InvalidArgument("Nodes.items: expected array");
  a->node_cache = false;
  a->node_items = items;
  for (const Value& n : items->GetArray()) {
    const Value* meta = crd::Member(n, "metadata");
    const Value* name = meta != nullptr ? crd::Member(*meta, "name") : nullptr;
    if (name == nullptr || !name->IsString() || name->GetStringLength() == 0) {
      return Status::InvalidArgument("Nodes.items[].metadata.name: required");
    }
    a->names.emplace_back(name->GetString(), name->GetStringLength());
  }
  return Status::Ok();
}

}  // namespace

Status ParseExtenderArgs(std::string* body, rapidjson::Document* doc, ExtenderArgs* args) {
  if (Status s = crd::ParseJsonInsitu(body, doc); !s.ok()) return s;
  return ParseArgs(*doc, args);
}

std::string WriteFilterAnswer(const ExtenderArgs& args, const QuotedNames& quoted,
                              const std::vector<uint8_t>& feasible, const std::vector<uint8_t>& unresolvable,
                              const std::vector<std::string>& reason) {
  const size_t n = args.names.size();
  std::string out;
  out.reserve(n * 16 + 128);
  auto append_names = [&](size_t first, size_t last) {  // names [first, last), comma-separated
    out.append(quoted.text, quoted.begin(first), quoted.end[last - 1] - quoted.begin(first));
  };
  if (args.node_cache) {
    out += "{\"Nodes\":null,\"NodeNames\":[";
    bool first = true;
    for (size_t i = 0; i < n;) {
      if (!feasible[i]) {
        ++i;
        continue;
      }
      size_t j = i + 1;  // a run of feasible nodes is one copy
      while (j < n && feasible[j]) ++j;
      if (!first) out += ',';
      first = false;
      append_names(i, j);
      i = j;
    }
    out += "]";
  } else {
    // Full-nodes mode: the client replaces its nodes with what we return, so echo the objects unchanged.
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.StartArray();
    for (size_t i = 0; i < n; ++i) {
      if (feasible[i]) (*args.node_items)[static_cast<rapidjson::SizeType>(i)].Accept(w);
    }
    w.EndArray();
    out += "{\"Nodes\":{\"metadata\":{},\"items\":";
    out.append(buf.GetString(), buf.GetSize());
    out += "},\"NodeNames\":null";
  }
  for (const bool unresolvable_now : {false, true}) {
    out += unresolvable_now ? ",\"FailedAndUnresolvableNodes\":{" : ",\"FailedNodes\":{";
    bool first = true;
    for (size_t i = 0; i < n; ++i) {
      if (feasible[i] || static_cast<bool>(unresolvable[i]) != unresolvable_now) continue;
      if (!first) out += ',';
      first = false;
      append_names(i, i + 1);
      out += ':';
      AppendJsonString(&out, reason[i]);
    }
    out += '}';
  }
  out += ",\"Error\":\"\"}";
  return out;
}

std::string WritePrioritizeAnswer(const QuotedNames& quoted, const std::vector<int64_t>& scores) {
  const int64_t lowest = scores.empty() ? 0 : *std::min_element(scores.begin(), scores.end());
  std::string out;
  out += '[';
  for (size_t i = 0; i < scores.size(); ++i) {
    if (scores[i] == lowest) continue;
    if (out.size() > 1) out += ',';
    out += "{\"Host\":";
    out.append(quoted.text, quoted.begin(i), quoted.end[i] - quoted.begin(i));
    out += ",\"Score\":";
    out += std::to_string(scores[i] - lowest);  // the core's 0..100 scaled to kube-scheduler's 0..10
    out += '}';
  }
  out += ']';
  return out;
}

Result<BindingArgs> ParseBindingArgs(std::string_view body) {
  rapidjson::Document doc;
  if (Status s = crd::ParseJson(body, &doc); !s.ok()) return s;
  if (!doc.IsObject()) return Status::InvalidArgument("request body must be a JSON object (ExtenderBindingArgs)");
  auto str = [&](const char* key) {
    const Value* v = MemberCi(doc, key);
    return v != nullptr && v->IsString() ? std::string(v->GetString(), v->GetStringLength()) : std::string();
  };
  BindingArgs a{str("PodName"), str("PodNamespace"), str("PodUID"), str("Node")};
  if (a.pod_uid.empty() || a.node.empty()) return Status::InvalidArgument("PodUID and Node are required");
  return a;
}

Status ParsePreemptionArgs(std::string_view body, rapidjson::Document* doc, PreemptionArgs* args) {
  if (Status s = crd::ParseJson(body, doc); !s.ok()) return s;
  if (!doc->IsObject())
    return Status::InvalidArgument("request body must be a JSON object (ExtenderPreemptionArgs)");
  args->pod = MemberCi(*doc, "Pod");
  if (args->pod == nullptr) return Status::InvalidArgument("Pod: required");
  // Victims per node, by UID (meta victims) or from full pods.
  auto collect = [&](const Value* map, bool meta) -> Status {
    if (map == nullptr) return Status::Ok();
    if (!map->IsObject()) return Status::InvalidArgument("victims: expected object");
    for (auto it = map->MemberBegin(); it != map->MemberEnd(); ++it) {
      const Value* pods = MemberCi(it->value, "Pods");
      auto& list = args->victims[it->name.GetString()];
      if (const Value* n = MemberCi(it->value, "NumPDBViolations"); n != nullptr && n->IsInt64())
        args->pdb_violations[it->name.GetString()] = n->GetInt64();
      if (pods == nullptr) continue;
      if (!pods->IsArray()) return Status::InvalidArgument("Pods: expected array");
      for (const Value& p : pods->GetArray()) {
        const Value* uid =
            meta ? MemberCi(p, "UID")
                 : (crd::Member(p, "metadata") ? crd::Member(*crd::Member(p, "metadata"), "uid") : nullptr);
        if (uid != nullptr && uid->IsString()) list.emplace_back(uid->GetString());
      }
    }
    return Status::Ok();
  };
  if (Status s = collect(MemberCi(*doc, "NodeNameToMetaVictims"), true); !s.ok()) return s;
  return collect(MemberCi(*doc, "NodeNameToVictims"), false);
}

std::string WritePreemptionAnswer(const PreemptionArgs& args, const std::vector<std::string>& kept_nodes) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("NodeNameToMetaVictims");
  w.StartObject();
  for (const std::string& node_name : kept_nodes) {
    w.Key(node_name.c_str());
    w.StartObject();
    w.Key("Pods");
    w.StartArray();
    for (const std::string& uid : args.victims.at(node_name)) {
      w.StartObject();
      w.Key("UID");
      w.String(uid.c_str());
      w.EndObject();
    }
    w.EndArray();
    w.Key("NumPDBViolations");
    auto pdb = args.pdb_violations.find(node_name);
    w.Int64(pdb == args.pdb_violations.end() ? 0 : pdb->second);
    w.EndObject();
  }
  w.EndObject();
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace tessera::extender
