#include "crd/json_fields.h"

#include <rapidjson/error/en.h>

namespace tessera::crd {

const char* JsonTypeName(const rapidjson::Value& v) {
  switch (v.GetType()) {
    case rapidjson::kNullType: return "null";
    case rapidjson::kFalseType:
    case rapidjson::kTrueType: return "boolean";
    case rapidjson::kObjectType: return "object";
    case rapidjson::kArrayType: return "array";
    case rapidjson::kStringType: return "string";
    case rapidjson::kNumberType: return "number";
  }
  return "unknown";
}

Status ParseJson(std::string_view text, rapidjson::Document* doc) {
  if (text.size() > kMaxJsonBytes) {
    return Status::InvalidArgument("JSON body of " + std::to_string(text.size()) + " bytes exceeds the " +
                                   std::to_string(kMaxJsonBytes) + "-byte limit");
  }
  doc->Parse<rapidjson::kParseIterativeFlag>(text.data(), text.size());
  if (doc->HasParseError()) {
    return Status::InvalidArgument(std::string("malformed JSON at offset ") +
                                   std::to_string(doc->GetErrorOffset()) + ": " +
                                   rapidjson::GetParseError_En(doc->GetParseError()));
  }
  return Status::Ok();
}

Status ParseJsonInsitu(std::string* text, rapidjson::Document* doc) {
  // Beyond the size limit, or with a NUL inside (in-place parsing would stop there): the checked path.
  if (text->size() > kMaxJsonBytes || text->find('\0') != std::string::npos) return ParseJson(*text, doc);
  doc->ParseInsitu<rapidjson::kParseIterativeFlag>(text->data());
  if (doc->HasParseError()) {
    return Status::InvalidArgument(std::string("malformed JSON at offset ") +
                                   std::to_string(doc->GetErrorOffset()) + ": " +
                                   rapidjson::GetParseError_En(doc->GetParseError()));
  }
  return Status::Ok();
}

std::string JoinPath(const std::string& path, const char* key) {
  return path.empty() ? key : path + "." + key;
}
std::string IndexPath(const std::string& path, size_t index) {
  return path + "[" + std::to_string(index) + "]";
}

const rapidjson::Value* Member(const rapidjson::Value& obj, const char* key) {
  if (!obj.IsObject()) return nullptr;
  auto it = obj.FindMember(key);
  if (it == obj.MemberEnd() || it->value.IsNull()) return nullptr;
  return &it->value;
}

namespace {
Status TypeError(const std::string& path, const char* expected, const rapidjson::Value& got) {
  return Status::InvalidArgument(path + ": expected " + expected + ", got " + JsonTypeName(got));
}
}  // namespace

Status ExpectObject(const rapidjson::Value& v, const std::string& path) {
  return v.IsObject() ? Status::Ok() : TypeError(path.empty() ? "(root)" : path, "object", v);
}

Status ExpectArray(const rapidjson::Value& v, const std::string& path) {
  return v.IsArray() ? Status::Ok() : TypeError(path, "array", v);
}

Status ReadString(const rapidjson::Value& obj, const char* key, const std::string& path, std::string* out,
                  bool required) {
  const rapidjson::Value* v = Member(obj, key);
  if (v == nullptr) return required ? Status::InvalidArgument(JoinPath(path, key) + ": required") : Status::Ok();
  if (!v->IsString()) return TypeError(JoinPath(path, key), "string", *v);
  out->assign(v->GetString(), v->GetStringLength());
  return Status::Ok();
}

Status ReadBool(const rapidjson::Value& obj, const char* key, const std::string& path, bool* out) {
  const rapidjson::Value* v = Member(obj, key);
  if (v == nullptr) return Status::Ok();
  if (!v->IsBool()) return TypeError(JoinPath(path, key), "boolean", *v);
  *out = v->GetBool();
  return Status::Ok();
}

Status ReadInt64(const rapidjson::Value& obj, const char* key, const std::string& path, int64_t* out) {
  const rapidjson::Value* v = Member(obj, key);
  if (v == nullptr) return Status::Ok();
  if (!v->IsInt64()) return TypeError(JoinPath(path, key), "integer", *v);
  *out = v->GetInt64();
  return Status::Ok();
}

Status ReadStringMap(const rapidjson::Value& obj, const char* key, const std::string& path,
                     std::map<std::string, std::string>* out) {
  const rapidjson::Value* v = Member(obj, key);
  if (v == nullptr) return Status::Ok();
  std::string p = JoinPath(path, key);
  if (!v->IsObject()) return TypeError(p, "object", *v);
  for (auto it = v->MemberBegin(); it != v->MemberEnd(); ++it) {
    std::string k(it->name.GetString(), it->name.GetStringLength());
    if (!it->value.IsString()) return TypeError(p + "[\"" + k + "\"]", "string", it->value);
    (*out)[k] = std::string(it->value.GetString(), it->value.GetStringLength());
  }
  return Status::Ok();
}

Status ReadQuantityValue(const rapidjson::Value& v, const std::string& path, Quantity* out) {
  if (v.IsString()) {
    Result<Quantity> q = Quantity::Parse(std::string_view(v.GetString(), v.GetStringLength()));
    if (!q.ok()) return q.status().WithContext(path);
    *out = *q;
    return Status::Ok();
  }
  if (v.IsInt64()) {
    int64_t units = v.GetInt64();
    if (units > INT64_MAX / 1000 || units < INT64_MIN / 1000) {
      return Status::InvalidArgument(path + ": quantity out of range");
    }
    *out = Quantity::FromUnits(units);
    return Status::Ok();
  }
  return TypeError(path, "quantity (string or integer)", v);
}

Status ReadResourceList(const rapidjson::Value& obj, const char* key, const std::string& path, ResourceList* out) {
  const rapidjson::Value* v = Member(obj, key);
  if (v == nullptr) return Status::Ok();
  std::string p = JoinPath(path, key);
  if (!v->IsObject()) return TypeError(p, "object", *v);
  for (auto it = v->MemberBegin(); it != v->MemberEnd(); ++it) {
    std::string name(it->name.GetString(), it->name.GetStringLength());
    Quantity q;
    if (Status s = ReadQuantityValue(it->value, p + "[\"" + name + "\"]", &q); !s.ok()) return s;
    (*out)[name] = q;
  }
  return Status::Ok();
}

}  // namespace tessera::crd
