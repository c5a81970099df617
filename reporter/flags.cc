#include "reporter/flags.h"

#include <sstream>

#include "crd/quantity.h"

namespace tessera::reporter {

Result<std::map<int, int64_t>> ParseReservedMemory(const std::string& text) {
  std::map<int, int64_t> out;
  std::stringstream entries(text);
  std::string entry;
  while (std::getline(entries, entry, ';')) {
    if (entry.empty()) continue;
    size_t colon = entry.find(':');
    auto bad = [&](const std::string& why) {
      return Status::InvalidArgument("--reserved-memory entry \"" + entry + "\": " + why +
                                     " (expected <numa>:memory=<quantity>[,...])");
    };
    if (colon == std::string::npos || colon == 0 || colon > 4) return bad("missing NUMA id");
    int numa = 0;
    for (size_t i = 0; i < colon; ++i) {
      if (entry[i] < '0' || entry[i] > '9') return bad("NUMA id is not a number");
      numa = numa * 10 + (entry[i] - '0');
    }
    std::stringstream resources(entry.substr(colon + 1));
    std::string res;
    bool any = false;
    while (std::getline(resources, res, ',')) {
      size_t eq = res.find('=');
      if (eq == std::string::npos) return bad("resource without '='");
      Result<crd::Quantity> q = crd::Quantity::Parse(res.substr(eq + 1));
      if (!q.ok()) return bad(q.status().message());
      if (q->milli() < 0) return bad("negative quantity");
      any = true;
      if (res.substr(0, eq) == "memory") out[numa] += q->milli() / 1000;
    }
    if (!any) return bad("no resources");
  }
  return out;
}

}  // namespace tessera::reporter
