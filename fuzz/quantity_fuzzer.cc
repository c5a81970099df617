// libFuzzer target: quantity parsing and the kubelet-style list flags. A parsed quantity must format to text that
// parses back to the same value.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "crd/cnr_builder.h"
#include "crd/quantity.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  auto q = tessera::crd::Quantity::Parse(input);
  if (q.ok()) {
    auto back = tessera::crd::Quantity::Parse(q->ToString());
    if (!back.ok() || !(*back == *q)) std::abort();
  }
  (void)tessera::crd::ParseCpuList(input);
  (void)tessera::crd::NormalizeTopologyPolicy(input);
  return 0;
}
