// The cluster as Tessera decides on it: Nodes, their CNRs (or NodeResourceTopologies), pods, and the ledger of
// what every bound pod holds and where that placement came from. Fed by events (a LIST, a watch event, a
// snapshot) and by the extender's own binds; read by the verbs.
//
// Updates are incremental: an event marks only the node(s) it can change, and Refresh() re-derives each of those
// nodes alone (its capacity from its topology object, then every pod bound there, in one canonical order). A
// node's state therefore never depends on the order events arrived in, and equals what a whole rebuild gives.
// A whole rebuild happens only where node indexes must be reassigned (a Node deleted) and is counted.
//
// Not thread-safe: the extender calls it under its decision lock.
#ifndef TESSERA_STATE_CLUSTER_STORE_H_
#define TESSERA_STATE_CLUSTER_STORE_H_

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "crd/cnr_node_state.h"
#include "scoring/cluster_state.h"
#include "scoring/gpu_fragmentation.h"
#include "scoring/numa_placement.h"
#include "state/topology_entry.h"

namespace tessera::state {

enum class Kind { kNode, kPod, kCnr, kNrt };

struct StoreOptions {
  scoring::ResourcePolicy resource_policy = scoring::ResourcePolicy::kDynamic;
  // A CNR whose AgentReady heartbeat is older than this is stale: its node has no usable topology.
  std::chrono::seconds cnr_stale_after{300};
  // How CNRs (and NRTs) that do not publish the kubelet's manager policies are read (a Katalyst agent's).
  crd::CnrReadOptions cnr_read;
  TopologySource topology_source = TopologySource::kAuto;
  // Heartbeats are judged by its wall clock (a snapshot stops that at the moment of the dump), housekeeping by its
  // monotonic clock (never stopped); tests pass a ManualClock.
  std::shared_ptr<const Clock> clock = RealClock();
  // A pod known only from filter calls (never listed or watched, never bound) is forgotten this long after its
  // last filter: kube-scheduler filters again before any bind, and a pod deleted meanwhile would otherwise be
  // remembered forever.
  std::chrono::seconds forget_unbound_after{600};
  // How long a prioritize's hold (ClusterStore::Hold) waits for its bind. kube-scheduler binds within its
  // extender httpTimeout of choosing a node; a hold left past this (the pod failed a later phase) is dropped.
  std::chrono::seconds hold_ttl{10};
};

struct PodRecord {
  scoring::PodRequest request;
  std::string node;        // "" while pending
  std::string allocation;  // tessera.io/allocation
  bool terminal = false;   // Succeeded or Failed: holds nothing
  bool from_api = false;   // seen in a list or watch (not only in a filter call)
  bool binding = false;    // the extender's bind is in flight (node and allocation are its reservation)
  std::string content;     // the pod's shape and phase, as last seen from the API: equal content, no change
  // Where its ledger entry came from (annotation, cnr, guessed, ...); nullptr while it holds nothing.
  const char* ledger_source = nullptr;
  bool Holds() const { return !node.empty() && !terminal; }
};

struct NodeRecord {
  std::string_view name;  // the store's key: valid as long as the record
  uint32_t index = 0;
  bool has_topology = false;    // a fresh CNR (or an NRT) describes it
  bool from_nrt = false;        // the topology is an NRT's: no devices, no reclaimed resources
  std::string topology_reason;  // why not
  // Why a topology object the node has cannot be used, as a /metrics label: invalid, agent_not_ready,
  // no_heartbeat, stale; empty when usable or when the node has no topology object at all.
  const char* unusable = "";
};

// What a relist found different from the cache, by object: the drift it corrected.
struct Corrections {
  bool first_list = false;  // the first list fills an empty cache: nothing to correct
  int added = 0, removed = 0, changed = 0;
};

// The ledger's sources, in the order /metrics shows them.
inline constexpr const char* kLedgerSources[] = {
    "annotation", "annotation_corrected_by_cnr", "cnr", "guessed", "held", "node_level", "nrt", "unaccounted"};

// A node whose topology object cannot be used (a /metrics series each).
struct UnusableNode {
  std::string name;
  const char* reason;  // invalid, agent_not_ready, no_heartbeat, stale
  bool from_nrt;
};

// What a hold reserves: the placement a prioritize expects its bind to take, and that placement's annotation.
struct HeldPlacement {
  std::string node;
  scoring::Placement placement;
  std::string allocation;
  std::chrono::steady_clock::time_point expires;
};

class ClusterStore {
 public:
  explicit ClusterStore(StoreOptions options);
  // Node records name themselves by a view of their map key: a copy would point into the original.
  ClusterStore(const ClusterStore&) = delete;
  ClusterStore& operator=(const ClusterStore&) = delete;
  ClusterStore(ClusterStore&&) = default;
  ClusterStore& operator=(ClusterStore&&) = default;

  // A full LIST of one kind: objects absent from it are deleted, the others applied as events.
  Corrections Replace(Kind kind, const std::vector<std::string>& items);
  // One watch event (Kubernetes JSON). Objects that do not decode are ignored.
  void Apply(Kind kind, bool deleted, const std::string& object);
  // A cluster dump (state/snapshot.h); from then on `now` stands still at `at`, else at the dump's newest
  // timestamp (else the wall clock, for a dump without any).
  Status LoadSnapshot(const std::string& path, std::optional<std::chrono::system_clock::time_point> at);

  // Brings the model up to date before a decision: re-derives the nodes events touched; once a second, nodes
  // whose CNR heartbeat aged past (or back within) the limit, and forgets filter-only pods past their time.
  void Refresh();

  // A pod kube-scheduler asked about (filter): remembered for the bind that follows.
  void NoteFilteredPod(const scoring::PodRequest& pod);
  // The extender's bind: records the pod on `node` with `allocation` and charges `placement` (nullptr: the node
  // has no topology, nothing to charge). In flight until EndBind.
  Status BeginBind(const std::string& uid, const std::string& node, const scoring::Placement* placement,
                   std::string allocation);
  // `bound`: the API accepted it; otherwise the reservation is returned.
  void EndBind(const std::string& uid, bool bound);

  // kube-scheduler binds asynchronously: after prioritize it already filters the next pods while the bind of
  // this one is still to come, and it knows nothing of NUMA nodes or cards. A hold charges the placement the
  // pod is expected to take on `node` (its best-scored node) from prioritize until its bind, so the pods
  // filtered meanwhile see it. Replaces the pod's earlier hold. Re-derivations keep it after the node's bound
  // pods (dropped if it no longer fits); dropped when the pod is deleted, bound elsewhere, or after hold_ttl.
  Status Hold(const std::string& uid, const std::string& node, const scoring::Placement& placement,
              std::string allocation);
  // Drops the pod's hold and returns it (nullopt: none), for its bind to take over or place afresh.
  std::optional<HeldPlacement> TakeHold(const std::string& uid);
  size_t holds() const { return holds_.size(); }

  const PodRecord* FindPod(const std::string& uid) const;
  // Hashes the name where it lies: no string is made per lookup.
  const NodeRecord* FindNode(std::string_view name) const;
  // By name; the lookup takes a string_view as it is (C++20 heterogeneous lookup).
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using NodeMap = std::unordered_map<std::string, NodeRecord, NameHash, std::equal_to<>>;
  const NodeMap& nodes() const { return nodes_; }
  const scoring::ClusterState& cluster() const { return cluster_; }
  // For what-if evaluation (preemption) that restores what it changes before returning.
  scoring::ClusterState& mutable_cluster() { return cluster_; }
  // The state of the nodes that have a usable topology, renumbered by name, with the ledger re-applied (the
  // simulator's starting point).
  scoring::ClusterState ClusterWithTopology() const;
  // The pods that hold something, counted by shape: what the GPU policies' target workload is learned from.
  const std::map<scoring::ShapeKey, int64_t>& holding_shapes() const { return holding_shapes_; }

  // Bumped by every change to the ledger or to a node's state.
  uint64_t version() const { return version_; }
  // Bumped whenever NodeRecord pointers or the set of known node names may have changed.
  uint64_t membership_version() const { return membership_version_; }
  // Bumped whenever a NodeRecord's index, has_topology or from_nrt may have changed (membership included).
  uint64_t record_flags_version() const { return record_flags_version_; }
  // Bumped when the set of pods that hold something changed (what the GPU target workload is learned from).
  uint64_t holding_version() const { return holding_version_; }
  uint64_t full_rebuilds() const { return full_rebuilds_; }
  uint64_t node_rebuilds() const { return node_rebuilds_; }
  size_t known_pods() const { return pods_.size(); }
  size_t placed_pods() const { return cluster_.pod_count(); }
  int ledger_pods(const char* source) const;
  const std::map<std::string, int>& ledger_sources() const { return ledger_sources_; }
  // The nodes whose topology object is unusable, kept as nodes are re-derived; the version moves when it changes.
  const std::map<std::string, UnusableNode>& unusable_nodes() const { return unusable_; }
  uint64_t unusable_version() const { return unusable_version_; }
  const StoreOptions& options() const { return options_; }

 private:
  // Marks what an object change can alter.
  void TouchNode(const std::string& name);
  void TouchPodNodes(const PodRecord& before, const PodRecord& after);
  bool ApplyPod(bool deleted, const rapidjson::Value& doc);  // true when it changed something
  bool ApplyTopology(Kind kind, bool deleted, const rapidjson::Value& doc, const std::string& name);
  void IndexPod(const std::string& uid, const PodRecord& rec, int sign);

  void RebuildAll();
  // Re-derives one node: returns what its pods hold, re-reads its topology, charges them again.
  void RebuildNode(const std::string& name);
  void ReleaseNode(const std::string& name);
  void ChargeNode(const std::string& name, NodeRecord* rec);
  void CheckStaleness();
  // Which of the node's objects describes it now (its CNR, its NRT, or none, and why).
  TopologyChoice ChooseFor(const std::string& name) const;
  // Whether the object that should describe `name` now differs from the one `rec` was derived from (a CNR
  // turned stale, or fresh again).
  bool TopologyMoved(const std::string& name, const NodeRecord& rec) const;
  void ForgetUnboundFilteredPods();
  void DropExpiredHolds();
  // Re-charges the holds on a node just re-derived, after its pods; drops those that no longer fit.
  void ChargeHolds(const std::string& name, const NodeRecord& node);
  // What NRT producers count as held beyond Tessera's own ledger, charged after the ledger.
  void ChargeNrtHeld(const std::string& node_name, const NodeRecord& node, const TopologyEntry& nrt);

  StoreOptions options_;
  std::set<std::string> node_names_;
  // CNRs and NRTs decoded once, when they arrive; rebuilds and staleness checks reuse them.
  std::map<std::string, TopologyEntry> cnrs_;
  std::map<std::string, TopologyEntry> nrts_;  // NodeResourceTopologies (no heartbeat: fresh while they exist)
  std::unordered_map<std::string, PodRecord> pods_;  // by UID
  // UIDs of the pods that hold something, by node name (including nodes without a record yet).
  std::unordered_map<std::string, std::set<std::string>> holding_by_node_;
  std::map<scoring::ShapeKey, int64_t> holding_shapes_;
  // What ReleaseNode must return on each node: every pod counted there, in the order it was charged.
  struct Charge {
    std::string uid;     // a pod's, or a synthetic NRT holder's
    const char* source;  // kLedgerSources entry; nullptr for synthetic holders (not pods)
    bool charged;        // holds a ledger entry (false: counted only, e.g. unaccounted)
  };
  std::unordered_map<std::string, std::vector<Charge>> charged_by_node_;
  // Records one charge on a node's list, and counts it by source.
  void AddCharge(std::vector<Charge>* charged, Charge c);
  // Returns one charge: its ledger entry, and its count by source.
  void Release(const Charge& c);
  // Returns the pod's charge on `node` (a bind's or a hold's: a UID holds one ledger entry at most) and drops it.
  void ReleaseChargeOf(const std::string& node, const std::string& uid);
  // Pods known only from filter calls, with their last filter.
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> filtered_only_;
  // Holds by pod UID (ordered: re-derivations charge them in one order).
  std::map<std::string, HeldPlacement> holds_;

  scoring::ClusterState cluster_;
  NodeMap nodes_;
  std::unordered_set<std::string> dirty_nodes_;
  bool rebuild_all_ = true;
  std::map<std::string, int> ledger_sources_;
  std::map<std::string, UnusableNode> unusable_;
  uint64_t unusable_version_ = 0;
  bool listed_[4] = {false, false, false, false};

  std::chrono::steady_clock::time_point last_stale_check_{};
  std::chrono::steady_clock::time_point last_forget_{};
  std::chrono::steady_clock::time_point last_hold_sweep_{};
  uint64_t version_ = 0;
  uint64_t membership_version_ = 0;
  uint64_t record_flags_version_ = 0;
  uint64_t holding_version_ = 0;
  uint64_t full_rebuilds_ = 0;
  uint64_t node_rebuilds_ = 0;
};

}  // namespace tessera::state

#endif  // TESSERA_STATE_CLUSTER_STORE_H_
