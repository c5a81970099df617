// Kubernetes timestamps: metav1.Time ("2026-12-01T00:00:00Z", seconds) and metav1.MicroTime (Lease fields,
// "2026-12-01T00:00:00.000000Z"), always UTC.
#ifndef TESSERA_KUBE_TIME_FORMAT_H_
#define TESSERA_KUBE_TIME_FORMAT_H_

#include <chrono>
#include <string>
#include <string_view>

#include "base/status.h"

namespace tessera::kube {

std::string FormatRfc3339(std::chrono::system_clock::time_point t);
std::string FormatMicroTime(std::chrono::system_clock::time_point t);
// Either form (fractional seconds optional); false when `text` is neither.
bool ParseRfc3339(const std::string& text, std::chrono::system_clock::time_point* out);

// A duration as Kubernetes configuration writes it (Go's time.ParseDuration: "30s", "1m30s", "1.5h", "250ms";
// units ns, us, ms, s, m, h) or a plain number of seconds ("30"), as older flags took it. InvalidArgument for
// anything else, negative values, or more than 100 days.
Result<std::chrono::milliseconds> ParseDuration(std::string_view text);

}  // namespace tessera::kube

#endif  // TESSERA_KUBE_TIME_FORMAT_H_
