// The extender's decisions, independent of HTTP: the cluster state (nodes, their CNRs, the ledger of pods
// Tessera placed, rebuilt from their allocation annotations), and the four verbs kube-scheduler calls, each taking
// the request body as the client sends it and returning the status and body to answer.
//
// Every verb holds one lock: one ledger decides, and a bind is atomic against concurrent binds.
#ifndef TESSERA_EXTENDER_EXTENDER_SERVICE_H_
#define TESSERA_EXTENDER_EXTENDER_SERVICE_H_

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "crd/cnr_node_state.h"
#include "crd/nrt_codec.h"
#include "extender/topology_entry.h"
#include "kube/kube_client.h"
#include "scoring/scheduler.h"
#include "scoring/verdict_memo.h"

namespace tessera::extender {

struct Answer {
  int status = 200;
  std::string body;
};

struct ExtenderOptions {
  scoring::SchedulerConfig scheduler;
  // A CNR whose AgentReady heartbeat is older than this is stale: topology pods fail on its node.
  std::chrono::seconds cnr_stale_after{300};
  // How CNRs (and NRTs) that do not publish the kubelet's manager policies are read (a Katalyst agent's).
  crd::CnrReadOptions cnr_read;
  using TopologySource = extender::TopologySource;
  TopologySource topology_source = TopologySource::kAuto;
  std::function<std::chrono::system_clock::time_point()> now = [] { return std::chrono::system_clock::now(); };
  // Elapsed time for the extender's own housekeeping (not frozen by --snapshot, unlike `now`); tests inject it.
  std::function<std::chrono::steady_clock::time_point()> monotonic_now = [] {
    return std::chrono::steady_clock::now();
  };
  // A pod known only from filter calls (never seen in a LIST or watch, never bound) is forgotten this long after
  // its last filter: kube-scheduler filters again before any bind, and a pod deleted meanwhile would otherwise be
  // remembered forever (offline, or when its delete fell in a watch gap).
  std::chrono::seconds forget_unbound_after{600};
  // Failpoint for crash tests only (tessera-extender reads TESSERA_FAILPOINT_BIND_PAUSE_MS): wait this long
  // between writing the allocation annotation and posting the Binding, so a test can kill -9 the extender there.
  std::chrono::milliseconds failpoint_bind_pause{0};
};

class ExtenderService {
 public:
  explicit ExtenderService(ExtenderOptions options);

  // --snapshot PATH: a cluster dump (extender/snapshot.h: one List of mixed kinds, or a directory of nodes.json,
  // pods.json, cnrs.json). Pods already on nodes with a tessera.io/allocation annotation are charged exactly;
  // others as the node agent reports them, else at node level. From then on the service's clock stands still at
  // `now`, else at the dump's newest timestamp (else the wall clock, for a dump without any): CNR heartbeats are
  // judged at the moment the dump was taken.
  Status LoadSnapshot(const std::string& path,
                      std::optional<std::chrono::system_clock::time_point> now = std::nullopt);
  bool ready() const;

  // The informers' view (API-server mode). Replace* carry a full LIST, *Event one watch event; the cluster state
  // is rebuilt from them before the next decision. Every object is Kubernetes JSON.
  enum class Kind { kNode, kPod, kCnr, kNrt };
  void Replace(Kind kind, const std::vector<std::string>& items);
  void Apply(Kind kind, bool deleted, const std::string& object);
  // Readiness in API-server mode: true once every informer has listed.
  void SetReadyProbe(std::function<bool()> probe);
  // Binds through the API server: the allocation annotation (one merge patch), then the Binding.
  void AttachApi(kube::KubeClient* client);
  // Counters (rejections by rule, binds by outcome) and, refreshed by UpdateGauges(), per-node ledger
  // utilisation: pinned CPU over NUMA allocatable, GPU compute units and GPU memory held.
  void AttachMetrics(std::shared_ptr<prometheus::Registry> registry);
  void UpdateGauges();

  Answer Filter(std::string_view body);
  Answer Prioritize(std::string_view body);
  Answer Bind(std::string_view body);
  Answer Preempt(std::string_view body);

  // The annotations Tessera wrote on a pod it bound (snapshot mode keeps them in memory), "" if none.
  std::string AllocationOf(const std::string& pod_uid) const;
  // The current state (nodes, their CNR capacity, the ledger), e.g. as the simulator's starting point. Nodes
  // without a usable CNR are absent.
  scoring::ClusterState ClusterWithTopology();
  // Pods the service keeps a record of (bound, pending from the API, or known from a filter call).
  size_t known_pods() const;
  size_t placed_pods() const;
  // Full rebuilds of the cluster state so far (each event that can change a decision costs one, lazily).
  uint64_t rebuilds() const;

 private:
  struct PodRecord {
    scoring::PodRequest request;
    std::string node;        // "" while pending
    std::string allocation;  // tessera.io/allocation
    bool terminal = false;   // Succeeded or Failed: holds nothing
    bool from_api = false;   // seen in a list or watch (not only in a filter call)
    std::string content;     // what decisions depend on, as last seen from the API (see ApplyLocked)
  };
  struct NodeRecord {
    uint32_t index = 0;
    bool has_topology = false;    // a fresh CNR (or an NRT) describes it
    bool from_nrt = false;        // the topology is an NRT's: no devices, no reclaimed resources
    std::string topology_reason;  // why not
    // Why a topology object the node has cannot be used, as a /metrics label: invalid, agent_not_ready,
    // no_heartbeat, stale; empty when usable or when the node has no topology object at all.
    const char* unusable = "";
  };

  bool NeedsTopology(const scoring::PodRequest& pod) const;
  // Evaluates `pod` on the named nodes; unknown nodes and nodes without topology are reported as such.
  // `"a","b","c"`: node names as JSON strings, comma-separated; `end[i]` is the offset just past name i.
  struct QuotedNames {
    std::string text;
    std::vector<size_t> end;
    size_t begin(size_t i) const { return i == 0 ? 0 : end[i - 1] + 1; }
  };
  struct Evaluation {
    std::string pod_error;
    std::vector<uint8_t> feasible;  // bytes, not vector<bool>: read per node on every answer
    std::vector<uint8_t> unresolvable;
    std::vector<std::string> reason;
    std::vector<int64_t> score;  // 0..10
  };
  // `shape`: the pod without what identifies one replica (see PodShape), for the verdict memo.
  Evaluation EvaluateLocked(const scoring::PodRequest& pod, const std::vector<std::string_view>& names,
                            std::string_view shape = {});
  // The records of `names`, reusing the previous resolution when the list is the same (kube-scheduler sends the
  // same node list cycle after cycle, and 5,000 hash lookups are a tenth of a filter call).
  const std::vector<const NodeRecord*>& ResolveLocked(const std::vector<std::string_view>& names);
  // Scores of the last filter call when `names` (in order, possibly fewer) and the pod and state are the same:
  // kube-scheduler calls prioritize right after filter in one scheduling cycle.
  // `whole_list`: `names` is exactly the filter call's list (no node failed there).
  bool CachedScoresLocked(const std::string& pod_shape, const std::vector<std::string_view>& names,
                          std::vector<int64_t>* scores, bool* whole_list) const;
  // Keeps `evaluation` (aligned with resolved_names_) as the last one, for the next identical call.
  void RememberEvaluationLocked(std::string pod_shape, std::shared_ptr<const Evaluation> evaluation);
  Status AddNodeLocked(const std::string& name, const TopologyEntry* cnr, const TopologyEntry* nrt);
  void RebuildIfNeededLocked();
  void ForgetUnboundFilteredPodsLocked();
  void LearnTargetWorkloadLocked(const std::vector<const PodRecord*>& bound);
  // Where a bound pod is charged: Tessera's annotation, corrected by what the node's agent reports in the CNR;
  // for pods bound by someone else, the agent's report, else node level.
  scoring::Placement LedgerPlacementLocked(const PodRecord& rec, const NodeRecord& node, const TopologyEntry* cnr,
                                           const char** source) const;
  void ApplyLocked(Kind kind, bool deleted, const std::string& object);

  ExtenderOptions options_;
  mutable std::mutex mu_;
  bool ready_ = false;
  std::function<bool()> ready_probe_;
  kube::KubeClient* api_ = nullptr;
  prometheus::Family<prometheus::Counter>* rejections_ = nullptr;
  prometheus::Family<prometheus::Counter>* binds_ = nullptr;
  prometheus::Family<prometheus::Gauge>* utilisation_ = nullptr;
  prometheus::Family<prometheus::Gauge>* ledger_pods_ = nullptr;
  prometheus::Family<prometheus::Counter>* corrections_ = nullptr;
  prometheus::Gauge* rebuilds_gauge_ = nullptr;
  prometheus::Family<prometheus::Gauge>* unusable_ = nullptr;
  std::vector<prometheus::Gauge*> unusable_series_;  // removed and re-added by every UpdateGauges
  prometheus::Gauge* memo_hits_ = nullptr;
  prometheus::Gauge* memo_misses_ = nullptr;
  prometheus::Gauge* target_shapes_ = nullptr;
  prometheus::Gauge* target_updates_ = nullptr;
  uint64_t target_workload_updates_ = 0;
  std::chrono::steady_clock::time_point last_forget_{};
  // Pods known only from filter calls, by UID, with their last filter: the sweep that forgets them walks these,
  // not every pod of the cluster.
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> filtered_only_;
  bool listed_[4] = {false, false, false, false};  // by Kind: a later Replace is a relist
  void CountBind(const char* outcome);
  bool dirty_ = true;
  std::chrono::steady_clock::time_point last_rebuild_{};
  std::set<std::string> node_names_;
  // CNRs and NRTs decoded once, when they arrive; rebuilds and staleness checks reuse them.
  std::map<std::string, TopologyEntry> cnrs_;
  std::map<std::string, TopologyEntry> nrts_;  // NodeResourceTopologies (no heartbeat: fresh while they exist)
  // What NRT producers count as held beyond Tessera's own ledger, charged after the ledger (see README).
  void ChargeNrtHeldLocked(const std::string& node_name, const NodeRecord& node, const TopologyEntry& nrt);
  scoring::ClusterState cluster_;
  std::unique_ptr<scoring::Scheduler> scheduler_;
  std::unordered_map<std::string, NodeRecord> nodes_;
  std::unordered_map<std::string, PodRecord> pods_;  // by UID: pods seen in the snapshot or in filter calls

  scoring::SchedulingResult scratch_;  // EvaluateLocked's buffers, reused call after call
  scoring::VerdictMemo memo_;          // per-node verdicts of the last pod shape; cleared by every rebuild
  uint64_t nodes_generation_ = 0;      // bumped by every rebuild of nodes_ (pointers into it die)
  uint64_t state_version_ = 0;         // bumped whenever the ledger or nodes_ may have changed
  std::vector<std::string> resolved_names_;
  std::vector<const NodeRecord*> resolved_;  // nullptr: unknown node
  // resolved_names_ as JSON strings, written once per list: answers copy runs of them instead of checking every
  // character of 5,000 names per call. Shared so that an answer written outside the lock keeps its own copy.
  std::shared_ptr<const QuotedNames> resolved_quoted_;
  uint64_t resolved_generation_ = ~uint64_t{0};
  uint64_t resolved_epoch_ = 0;  // bumped when resolved_names_ change
  // The last filter call: its prioritize call reuses the scores; the next filter call for the same shape, node
  // list and state (replicas of one workload while the previous bind is still in flight) reuses the answer.
  struct LastFilter {
    std::string pod_shape;  // the pod as the request gave it, minus what identifies one replica
    uint64_t state_version = ~uint64_t{0};
    uint64_t resolved_epoch = ~uint64_t{0};
    std::shared_ptr<const Evaluation> evaluation;          // aligned with resolved_names_
    std::shared_ptr<const std::string> answer;             // node-names mode, once written
    std::shared_ptr<const std::string> prioritize_answer;  // for the filter call's whole list, once written
  } last_filter_;
};

}  // namespace tessera::extender

#endif  // TESSERA_EXTENDER_EXTENDER_SERVICE_H_
