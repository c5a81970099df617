#include "state/snapshot.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <filesystem>

#include "base/file_text.h"
#include "crd/json_fields.h"
#include "kube/api_json.h"
#include "kube/time_format.h"

namespace tessera::state {
namespace {

using rapidjson::Value;

constexpr uint64_t kMaxSnapshotFileBytes = uint64_t{2} << 30;  // a dump of a large cluster's pods

std::string Serialize(const Value& v) {
  rapidjson::StringBuffer b;
  rapidjson::Writer<rapidjson::StringBuffer> w(b);
  v.Accept(w);
  return std::string(b.GetString(), b.GetSize());
}

// Keys whose values are Kubernetes timestamps: metadata.creationTimestamp, conditions' lastHeartbeatTime and
// lastTransitionTime, status.startTime, managedFields' time, containers' startedAt ...
bool IsTimeKey(std::string_view key) {
  auto ends = [&](std::string_view suffix) {
    return key.size() >= suffix.size() && key.substr(key.size() - suffix.size()) == suffix;
  };
  return key == "time" || ends("Time") || ends("Timestamp") || ends("At");
}

// The newest timestamp under `v`, walked with an explicit stack (the parser already bounds the depth).
void NewestTimestamp(const Value& root, std::optional<std::chrono::system_clock::time_point>* newest) {
  std::vector<const Value*> stack = {&root};
  while (!stack.empty()) {
    const Value* v = stack.back();
    stack.pop_back();
    if (v->IsArray()) {
      for (const Value& e : v->GetArray()) stack.push_back(&e);
    } else if (v->IsObject()) {
      for (auto m = v->MemberBegin(); m != v->MemberEnd(); ++m) {
        if (m->value.IsString() && IsTimeKey({m->name.GetString(), m->name.GetStringLength()})) {
          std::chrono::system_clock::time_point t;
          if (kube::ParseRfc3339(m->value.GetString(), &t) && (!newest->has_value() || t > **newest)) *newest = t;
        } else if (m->value.IsObject() || m->value.IsArray()) {
          stack.push_back(&m->value);
        }
      }
    }
  }
}

// The items of the List in `path`. `kind_of_file`: the kind every item is taken to be ("" for a mixed List,
// where each item says its kind).
Status ReadList(const std::string& path, const char* kind_of_file, SnapshotObjects* out) {
  Result<std::string> text = ReadFileText(path, kMaxSnapshotFileBytes);
  if (!text.ok()) return text.status();
  rapidjson::Document doc;
  if (Status s = kube::ParseApiJson(*text, &doc); !s.ok()) return s.WithContext(path);
  const Value* items = doc.IsObject() ? crd::Member(doc, "items") : nullptr;
  if (items == nullptr || !items->IsArray())
    return Status::InvalidArgument(path + ": not a Kubernetes List (no items)");
  size_t index = 0;
  for (const Value& item : items->GetArray()) {
    const std::string where = path + ": items[" + std::to_string(index++) + "]";
    if (!item.IsObject()) return Status::InvalidArgument(where + " is not an object");
    std::string kind = kind_of_file;
    if (kind.empty()) {
      const Value* k = crd::Member(item, "kind");
      if (k == nullptr || !k->IsString()) return Status::InvalidArgument(where + " has no kind");
      kind = k->GetString();
    }
    std::vector<std::string>* bucket = kind == "Node"                   ? &out->nodes
                                       : kind == "Pod"                  ? &out->pods
                                       : kind == "CustomNodeResource"   ? &out->cnrs
                                       : kind == "NodeResourceTopology" ? &out->nrts
                                                                        : nullptr;
    if (bucket == nullptr) continue;  // Events, Services ... in a wider dump: nothing a decision reads
    bucket->push_back(Serialize(item));
    NewestTimestamp(item, &out->newest);
  }
  return Status::Ok();
}

}  // namespace

Result<SnapshotObjects> ReadSnapshot(const std::string& path) {
  SnapshotObjects out;
  std::error_code ec;
  if (!std::filesystem::is_directory(path, ec)) {
    if (Status s = ReadList(path, "", &out); !s.ok()) return s;
    return out;
  }
  for (const auto& [file, kind] : {std::pair{"nodes.json", "Node"}, std::pair{"pods.json", "Pod"},
                                   std::pair{"cnrs.json", "CustomNodeResource"}}) {
    if (Status s = ReadList(path + "/" + file, kind, &out); !s.ok()) return s;
  }
  const std::string nrt = path + "/noderesourcetopologies.json";
  if (std::filesystem::exists(nrt, ec)) {
    if (Status s = ReadList(nrt, "NodeResourceTopology", &out); !s.ok()) return s;
  }
  return out;
}

}  // namespace tessera::state
