// libFuzzer target: the CNR JSON decoder, the merge used for updates, and the CNR -> model conversion must
// return an error (never crash, hang or leak) on any input, and a decoded CNR must re-encode and decode again.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "crd/cnr_builder.h"
#include "crd/cnr_codec.h"
#include "crd/cnr_node_state.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  tessera::Result<tessera::crd::Cnr> cnr = tessera::crd::DecodeCnr(input);
  if (!cnr.ok()) return 0;
  std::string again = tessera::crd::EncodeCnr(*cnr);
  if (!tessera::crd::DecodeCnr(again).ok()) std::abort();  // our own output must always decode
  (void)tessera::crd::TopologyFromCnr(*cnr);
  (void)tessera::crd::NodeStateFromCnr(*cnr);
  (void)tessera::crd::MergeForUpdate(input, *cnr);
  return 0;
}
