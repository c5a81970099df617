// libFuzzer target: the NodeResourceTopology decoder and the NRT -> model conversion must return an error (never
// crash, hang or leak) on any input, and a decoded NRT must re-encode and decode again.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "crd/nrt_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  tessera::Result<tessera::crd::Nrt> nrt = tessera::crd::DecodeNrt(input);
  if (!nrt.ok()) return 0;
  if (!tessera::crd::DecodeNrt(tessera::crd::EncodeNrt(*nrt)).ok()) std::abort();  // our own output decodes
  (void)tessera::crd::NodeStateFromNrt(*nrt);
  (void)tessera::crd::HeldByNrt(*nrt);
  return 0;
}
