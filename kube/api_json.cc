#include "kube/api_json.h"

#include <rapidjson/error/en.h>

#include <string>

namespace tessera::kube {

Status ParseApiJson(std::string_view text, rapidjson::Document* doc) {
  doc->Parse<rapidjson::kParseIterativeFlag>(text.data(), text.size());
  if (doc->HasParseError()) {
    return Status::InvalidArgument("malformed JSON at offset " + std::to_string(doc->GetErrorOffset()) + ": " +
                                   rapidjson::GetParseError_En(doc->GetParseError()));
  }
  return Status::Ok();
}

}  // namespace tessera::kube
