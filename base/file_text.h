// Reading a whole file as text, for every layer (kubeconfig and service-account files, GPU alias files,
// snapshots, kubelet configurations): one place for the open, the size bound and the error wording.
#ifndef TESSERA_BASE_FILE_TEXT_H_
#define TESSERA_BASE_FILE_TEXT_H_

#include <cstdint>
#include <string>

#include "base/status.h"

namespace tessera {

// IoError "cannot read <path>" when it cannot be opened; InvalidArgument when it is larger than `max_bytes`
// (checked before reading, so a huge file is never loaded).
Result<std::string> ReadFileText(const std::string& path, uint64_t max_bytes = uint64_t{1} << 30);

}  // namespace tessera

#endif  // TESSERA_BASE_FILE_TEXT_H_
