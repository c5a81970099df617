// NodeResourceTopology <-> JSON, NRT -> the scheduler's node model, and the NRT tessera-reporter publishes beside
// (or instead of) its CNR. Decoding validates types and names the offending field; unknown fields are ignored.
#ifndef TESSERA_CRD_NRT_CODEC_H_
#define TESSERA_CRD_NRT_CODEC_H_

#include <rapidjson/document.h>

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "crd/cnr_node_state.h"
#include "crd/nrt.h"

namespace tessera::crd {

std::string EncodeNrt(const Nrt& nrt);
Result<Nrt> DecodeNrt(std::string_view json);
Result<Nrt> DecodeNrt(const rapidjson::Value& value);

// "node-3" -> 3, as the API's numanode helper reads zone names (lowercase "node-", a decimal id); -1 otherwise.
int NumaIdFromZoneName(const std::string& name);

// NRT -> node model: each zone of type Node named node-<id> becomes a NUMA node with its allocatable cpu and
// memory; the socket is the zone's parent "socket-<id>" when given, else each NUMA node counts as its own socket
// (the object does not say). The policy comes from the topologyManagerPolicy / topologyManagerScope attributes,
// else the deprecated topologyPolicies; the CPU and memory managers from Tessera's own attributes, else
// `options`, else inferred from the policy as for CNRs. The node has no GPUs, NICs or reclaimed resources.
// InvalidArgument for a policy nobody knows, allocatable above capacity or available above allocatable.
Result<CnrNodeState> NodeStateFromNrt(const Nrt& nrt, const CnrReadOptions& options = {});

// What the NRT's producer says pods hold exclusively on each NUMA node (allocatable - available), as NUMA id ->
// (milli-CPU, bytes). Nodes that report nothing held are absent.
struct NrtHeld {
  int numa_id = 0;
  int64_t cpu_milli = 0;
  int64_t memory_bytes = 0;
};
std::vector<NrtHeld> HeldByNrt(const Nrt& nrt);

// The NRT of the same node as `cnr` (tessera-reporter's): its Numa zones' capacity and allocatable (available =
// allocatable: Tessera's ledger, not the reporter, knows what its pods hold), costs from the SLIT distances,
// the policy attributes. The same hwloc topology therefore gives the same CPU/memory/NUMA decisions through
// either object.
Nrt NrtFromCnr(const Cnr& cnr);

}  // namespace tessera::crd

#endif  // TESSERA_CRD_NRT_CODEC_H_
