// Typed field access on RapidJSON values for the decoders in crd/. Every error names the JSON path of the
// offending field ("status.topologyZone[2].name: expected string, got number"). Absent optional fields and
// JSON null read as "not set"; unknown fields are ignored, as Kubernetes clients do.
#ifndef TESSERA_CRD_JSON_FIELDS_H_
#define TESSERA_CRD_JSON_FIELDS_H_

#include <rapidjson/document.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "base/status.h"
#include "crd/quantity.h"

namespace tessera::crd {

// Bodies above this size are refused before parsing: no legitimate CNR or extender request comes close.
inline constexpr size_t kMaxJsonBytes = 32u << 20;

const char* JsonTypeName(const rapidjson::Value& v);

// Parses `text` iteratively (no recursion, so deeply nested input cannot exhaust the stack). InvalidArgument,
// with the offset, when it is not JSON, exceeds `max_bytes`, or holds a number beyond the range of a double.
// The API server's replies pass a larger `max_bytes`: a LIST of a large cluster's pods runs to hundreds of MB.
Status ParseJson(std::string_view text, rapidjson::Document* doc, size_t max_bytes = kMaxJsonBytes);
// The same, decoding strings in place inside `text` (no copy of each string): `doc` refers into `text`, which
// must outlive it. For large request bodies on the extender's hot path.
Status ParseJsonInsitu(std::string* text, rapidjson::Document* doc);

std::string JoinPath(const std::string& path, const char* key);
std::string IndexPath(const std::string& path, size_t index);

// The member `key` of object `obj`, or nullptr when absent or null.
const rapidjson::Value* Member(const rapidjson::Value& obj, const char* key);

Status ExpectObject(const rapidjson::Value& v, const std::string& path);
Status ExpectArray(const rapidjson::Value& v, const std::string& path);

// Optional fields leave *out untouched when absent; required ones fail with "<path>: required".
Status ReadString(const rapidjson::Value& obj, const char* key, const std::string& path, std::string* out,
                  bool required = false);
Status ReadBool(const rapidjson::Value& obj, const char* key, const std::string& path, bool* out);
Status ReadInt64(const rapidjson::Value& obj, const char* key, const std::string& path, int64_t* out);
Status ReadStringMap(const rapidjson::Value& obj, const char* key, const std::string& path,
                     std::map<std::string, std::string>* out);
// A quantity as Kubernetes accepts it: a string ("500m") or a JSON integer.
Status ReadQuantityValue(const rapidjson::Value& v, const std::string& path, Quantity* out);
Status ReadResourceList(const rapidjson::Value& obj, const char* key, const std::string& path, ResourceList* out);

}  // namespace tessera::crd

#endif  // TESSERA_CRD_JSON_FIELDS_H_
