// Kubernetes timestamps: metav1.Time ("2026-12-01T00:00:00Z", seconds) and metav1.MicroTime (Lease fields,
// "2026-12-01T00:00:00.000000Z"), always UTC.
#ifndef TESSERA_KUBE_TIME_FORMAT_H_
#define TESSERA_KUBE_TIME_FORMAT_H_

#include <chrono>
#include <string>

namespace tessera::kube {

std::string FormatRfc3339(std::chrono::system_clock::time_point t);
std::string FormatMicroTime(std::chrono::system_clock::time_point t);
// Either form (fractional seconds optional); false when `text` is neither.
bool ParseRfc3339(const std::string& text, std::chrono::system_clock::time_point* out);

}  // namespace tessera::kube

#endif  // TESSERA_KUBE_TIME_FORMAT_H_
