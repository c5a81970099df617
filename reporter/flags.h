// Parsing of the reporter's kubelet-style flag values, kept apart from main() so tests can drive it.
#ifndef TESSERA_REPORTER_FLAGS_H_
#define TESSERA_REPORTER_FLAGS_H_

#include <cstdint>
#include <map>
#include <string>

#include "base/status.h"

namespace tessera::reporter {

// The kubelet's --reserved-memory syntax: "0:memory=1Gi;1:memory=2Gi" (other resources such as hugepages-1Gi
// are accepted and ignored). Returns NUMA id -> bytes.
Result<std::map<int, int64_t>> ParseReservedMemory(const std::string& text);

}  // namespace tessera::reporter

#endif  // TESSERA_REPORTER_FLAGS_H_
