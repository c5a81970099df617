#include "crd/json_fields.h"

#include <rapidjson/encodedstream.h>
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <cmath>

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

namespace {

// Forwards RapidJSON's SAX events into a Document, refusing a number that parsed to infinity. RapidJSON reads an
// integer mantissa with a large exponent (`10e308`) as inf without error, and its Writer then refuses the value
// and leaves half a document: a filter answer echoing such a node, or an object passed on from a watch, would be
// cut short. Refusing it while parsing costs nothing extra and covers every caller.
class FiniteNumbers {
 public:
  explicit FiniteNumbers(rapidjson::Document* doc) : doc_(*doc) {}
  bool Null() { return doc_.Null(); }
  bool Bool(bool b) { return doc_.Bool(b); }
  bool Int(int i) { return doc_.Int(i); }
  bool Uint(unsigned u) { return doc_.Uint(u); }
  bool Int64(int64_t i) { return doc_.Int64(i); }
  bool Uint64(uint64_t u) { return doc_.Uint64(u); }
  bool Double(double d) {
    if (!std::isfinite(d)) {
      non_finite_ = true;
      return false;
    }
    return doc_.Double(d);
  }
  bool RawNumber(const char* str, rapidjson::SizeType len, bool copy) { return doc_.RawNumber(str, len, copy); }
  bool String(const char* str, rapidjson::SizeType len, bool copy) { return doc_.String(str, len, copy); }
  bool StartObject() { return doc_.StartObject(); }
  bool Key(const char* str, rapidjson::SizeType len, bool copy) { return doc_.Key(str, len, copy); }
  bool EndObject(rapidjson::SizeType members) { return doc_.EndObject(members); }
  bool StartArray() { return doc_.StartArray(); }
  bool EndArray(rapidjson::SizeType elements) { return doc_.EndArray(elements); }

  bool non_finite() const { return non_finite_; }

 private:
  rapidjson::Document& doc_;
  bool non_finite_ = false;
};

// Parses iteratively (no recursion) from `stream` into `doc` through FiniteNumbers.
template <unsigned kFlags, typename Stream>
Status ParseStream(Stream& stream, rapidjson::Document* doc) {
  rapidjson::Reader reader;
  FiniteNumbers filter(doc);
  rapidjson::ParseResult result;
  auto generate = [&](rapidjson::Document&) {
    result = reader.Parse<kFlags | rapidjson::kParseIterativeFlag>(stream, filter);
    return !result.IsError();
  };
  doc->Populate(generate);
  if (filter.non_finite()) {
    return Status::InvalidArgument("number out of range at offset " + std::to_string(result.Offset()) +
                                   ": it exceeds the largest double");
  }
  if (result.IsError()) {
    return Status::InvalidArgument(std::string("malformed JSON at offset ") + std::to_string(result.Offset()) +
                                   ": " + rapidjson::GetParseError_En(result.Code()));
  }
  return Status::Ok();
}

}  // namespace

Status ParseJson(std::string_view text, rapidjson::Document* doc, size_t max_bytes) {
  if (text.size() > max_bytes) {
    return Status::InvalidArgument("JSON body of " + std::to_string(text.size()) + " bytes exceeds the " +
                                   std::to_string(max_bytes) + "-byte limit");
  }
  rapidjson::MemoryStream memory(text.data(), text.size());
  rapidjson::EncodedInputStream<rapidjson::UTF8<>, rapidjson::MemoryStream> stream(memory);
  return ParseStream<rapidjson::kParseDefaultFlags>(stream, doc);
}

Status ParseJsonInsitu(std::string* text, rapidjson::Document* doc) {
  // Beyond the size limit, or with a NUL inside (in-place parsing would stop there): the checked path.
  if (text->size() > kMaxJsonBytes || text->find('\0') != std::string::npos) return ParseJson(*text, doc);
  rapidjson::InsituStringStream stream(text->data());
  return ParseStream<rapidjson::kParseInsituFlag>(stream, doc);
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
