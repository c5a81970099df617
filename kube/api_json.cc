#include "kube/api_json.h"

#include <limits>

#include "crd/json_fields.h"

namespace tessera::kube {

Status ParseApiJson(std::string_view text, rapidjson::Document* doc) {
  return crd::ParseJson(text, doc, std::numeric_limits<size_t>::max());
}

}  // namespace tessera::kube
