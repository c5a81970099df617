// JSON as the API server sends it: LIST bodies, watch lines, objects.
#ifndef TESSERA_KUBE_API_JSON_H_
#define TESSERA_KUBE_API_JSON_H_

#include <rapidjson/document.h>

#include <string_view>

#include "base/status.h"

namespace tessera::kube {

// crd::ParseJson without its size cap: a LIST of a large cluster's pods runs to hundreds of megabytes.
// InvalidArgument, with the offset, when it is not JSON or holds a number beyond the range of a double.
Status ParseApiJson(std::string_view text, rapidjson::Document* doc);

}  // namespace tessera::kube

#endif  // TESSERA_KUBE_API_JSON_H_
