// libFuzzer target: the decoders of what the API server sends back. The first byte picks a LIST body, a watch
// line or a Lease; each must decode or return InvalidArgument, never crash, hang or leak; what decodes as JSON
// text must be JSON that parses again.
#include <rapidjson/document.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "kube/leader_election.h"
#include "kube/list_watch.h"

namespace {

void MustBeJson(const std::string& text) {
  rapidjson::Document d;
  d.Parse(text.data(), text.size());
  if (d.HasParseError()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 3 == 2) {
    tessera::Result<tessera::kube::LeaseRecord> lease = tessera::kube::DecodeLease(input);
    if (!lease.ok() && !lease.status().IsInvalidArgument()) std::abort();
  } else if (data[0] % 3 == 0) {
    tessera::Result<tessera::kube::ListPage> page = tessera::kube::DecodeList(input);
    if (page.ok()) {
      for (const std::string& item : page->items) MustBeJson(item);
    } else if (!page.status().IsInvalidArgument()) {
      std::abort();
    }
  } else {
    tessera::Result<tessera::kube::WatchLine> line = tessera::kube::DecodeWatchLine(input);
    if (line.ok()) {
      if (line->kind == tessera::kube::WatchLine::Kind::kEvent) MustBeJson(line->object);
    } else if (!line.status().IsInvalidArgument()) {
      std::abort();
    }
  }
  return 0;
}
