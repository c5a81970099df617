// CNR <-> JSON. Decoding validates types and names the offending field; unknown fields are ignored. Encoding
// emits only fields the CRD schema allows (tests/cnr_schema_test.cc walks the schema to prove it).
#ifndef TESSERA_CRD_CNR_CODEC_H_
#define TESSERA_CRD_CNR_CODEC_H_

#include <rapidjson/document.h>

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "crd/cnr.h"

namespace tessera::crd {

// Deepest zone nesting accepted (Socket > Numa > GPU is 3; NIC > VF adds one). Deeper input is rejected.
inline constexpr int kMaxZoneDepth = 8;

std::string EncodeCnr(const Cnr& cnr);
void EncodeCnr(const Cnr& cnr, rapidjson::Document* doc);

Result<Cnr> DecodeCnr(std::string_view json);
Result<Cnr> DecodeCnr(const rapidjson::Value& value);

// The JSON body to PUT when `desired` replaces an existing object whose JSON is `existing_json`: fields the
// reporter owns come from `desired` (properties it publishes, topology zones, topologyPolicy, its reclaimed
// resources, the AgentReady condition); everything else of the existing object is kept, including allocations
// other components wrote into zones that still exist, foreign properties and conditions, taints and
// nodeMetricStatus. The result carries the existing resourceVersion, so a concurrent writer causes a 409.
// Kubernetes object parts other codecs share (the NodeResourceTopology codec): metadata (name required) and
// {name, value} attribute lists.
Status DecodeObjectMeta(const rapidjson::Value& object, ObjectMeta* meta);
Status DecodeAttributeList(const rapidjson::Value& obj, const char* key, const std::string& path,
                           std::vector<Attribute>* out);
rapidjson::Value EncodeObjectMeta(const ObjectMeta& meta, rapidjson::Document::AllocatorType& a);
rapidjson::Value EncodeAttributeList(const std::vector<Attribute>& attributes,
                                     rapidjson::Document::AllocatorType& a);

Result<std::string> MergeForUpdate(std::string_view existing_json, const Cnr& desired);

}  // namespace tessera::crd

#endif  // TESSERA_CRD_CNR_CODEC_H_
