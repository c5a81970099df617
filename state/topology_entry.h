// A node's topology object as the extender keeps it: a CNR or a NodeResourceTopology, decoded once when it
// arrives (rebuilds and staleness checks reuse it), and the choice of which one describes a node and, where
// none does, why.
#ifndef TESSERA_STATE_TOPOLOGY_ENTRY_H_
#define TESSERA_STATE_TOPOLOGY_ENTRY_H_

#include <rapidjson/document.h>

#include <chrono>
#include <string>
#include <vector>

#include "crd/cnr_node_state.h"
#include "crd/nrt_codec.h"
#include "scoring/cluster_state.h"

namespace tessera::state {

// Where a node's topology comes from: its CNR, its NodeResourceTopology, or (auto) the CNR where the node has
// one, else the NRT.
enum class TopologySource { kCnr, kNrt, kAuto };

struct TopologyEntry {
  bool usable = false;
  std::string problem;  // why not usable
  scoring::NodeState state;
  bool has_heartbeat = false;  // NRTs: always (their producers keep none; current while they exist)
  std::string not_ready;       // "reason: message" of an AgentReady condition whose status is not True
  std::string heartbeat_text;
  std::chrono::system_clock::time_point heartbeat;
  crd::ReportedAllocations reported;  // CNRs: where the node agent says pods sit
  std::vector<crd::NrtHeld> held;     // NRTs: what the producer counts as held exclusively, per NUMA node
  std::string resource_version;
  std::string content;  // see TopologyContent: equal content, no rebuild
};

// An object as far as decisions depend on it: everything but metadata and the conditions' timestamps. A CNR
// heartbeat changes only those, and must not cost a rebuild of the whole cluster state.
std::string TopologyContent(const rapidjson::Value& object);

TopologyEntry DecodeCnrEntry(const rapidjson::Value& cnr, const std::string& name,
                             const crd::CnrReadOptions& options);
TopologyEntry DecodeNrtEntry(const rapidjson::Value& nrt, const std::string& name,
                             const crd::CnrReadOptions& options);
// A new version of a CNR with the same content: only its heartbeat moved.
void RefreshHeartbeat(const rapidjson::Value& cnr, TopologyEntry* entry);

// Which object describes a node (`cnr`, `nrt`: the node's, or nullptr), judged at `now`.
struct TopologyChoice {
  const TopologyEntry* entry = nullptr;  // nullptr: the node's topology is unknown, for `reason`
  bool from_nrt = false;
  std::string reason;
  // For /metrics: invalid, agent_not_ready, no_heartbeat, stale; "" when usable or when the node has no object.
  const char* unusable = "";
};
TopologyChoice ChooseTopology(TopologySource source, const TopologyEntry* cnr, const TopologyEntry* nrt,
                              std::chrono::system_clock::time_point now, std::chrono::seconds stale_after);

}  // namespace tessera::state

#endif  // TESSERA_STATE_TOPOLOGY_ENTRY_H_
