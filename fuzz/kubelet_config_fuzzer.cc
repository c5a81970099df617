// libFuzzer target: the kubelet configuration reader (KubeletConfiguration YAML or /configz JSON) returns an
// error on anything it cannot use; applying what it accepts always builds a valid CNR policy.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "reporter/kubelet_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  tessera::Result<tessera::reporter::KubeletPolicies> policies = tessera::reporter::ParseKubeletConfig(input);
  if (!policies.ok()) return 0;
  tessera::crd::CnrBuildOptions build;
  if (!tessera::reporter::ApplyKubeletPolicies(*policies, {}, &build).ok()) std::abort();  // validated on read
  return 0;
}
