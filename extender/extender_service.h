// The extender's decisions, independent of HTTP: the four verbs kube-scheduler calls, each taking the request
// body as the client sends it and returning the status and body to answer, over the cluster state the store
// (state/cluster_store.h) keeps from the informers' events.
//
// One lock guards every decision: one ledger decides. A bind reserves under it, makes its API calls outside it
// (a slow API server never stalls other pods' filters), and returns the reservation under it if they fail.
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

#include "base/clock.h"
#include "base/status.h"
#include "crd/cnr_node_state.h"
#include "crd/nrt_codec.h"
#include "extender/extender_metrics.h"
#include "extender/parallel_runner.h"
#include "extender/wire.h"
#include "kube/kube_api.h"
#include "scoring/scheduler.h"
#include "scoring/verdict_memo.h"
#include "state/cluster_store.h"
#include "state/topology_entry.h"

namespace tessera::extender {

struct ExtenderOptions {
  scoring::SchedulerConfig scheduler;
  // A CNR whose AgentReady heartbeat is older than this is stale: topology pods fail on its node.
  std::chrono::seconds cnr_stale_after{300};
  // How CNRs (and NRTs) that do not publish the kubelet's manager policies are read (a Katalyst agent's).
  crd::CnrReadOptions cnr_read;
  using TopologySource = state::TopologySource;
  TopologySource topology_source = TopologySource::kAuto;
  // Heartbeat staleness reads its wall clock (--snapshot stops that at the dump), the extender's own
  // housekeeping its monotonic clock; tests pass a ManualClock.
  std::shared_ptr<const Clock> clock = RealClock();
  // A pod known only from filter calls (never seen in a LIST or watch, never bound) is forgotten this long after
  // its last filter: kube-scheduler filters again before any bind, and a pod deleted meanwhile would otherwise be
  // remembered forever (offline, or when its delete fell in a watch gap).
  std::chrono::seconds forget_unbound_after{600};
  // How long the placement prioritize holds for a pod waits for its bind (state::StoreOptions::hold_ttl).
  std::chrono::seconds hold_ttl{10};
  // Where a failed bind is reported (pod, node and the API's answer); tessera-extender logs it.
  std::function<void(const std::string&)> log_warning;
  // Per-node utilisation gauges on /metrics (3 series a node); the cluster's totals are always there.
  bool per_node_utilisation_metrics = false;
  // Extra threads a cold evaluation (a pod shape not seen before, on at least 1,024 nodes) is split across; 0
  // evaluates on the calling thread alone. The answers are the same either way.
  size_t evaluation_threads = 0;
  // Failpoint for crash tests only (tessera-extender reads TESSERA_FAILPOINT_BIND_PAUSE_MS): wait this long
  // between reserving the placement and posting the Binding, so a test can kill -9 the extender there.
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

  // The informers' view (API-server mode). Replace carries a full LIST, Apply one watch event; the store
  // re-derives the nodes they touch before the next decision. Every object is Kubernetes JSON.
  using Kind = state::Kind;
  void Replace(Kind kind, const std::vector<std::string>& items);
  void Apply(Kind kind, bool deleted, const std::string& object);
  // Readiness in API-server mode: true once every informer has listed.
  void SetReadyProbe(std::function<bool()> probe);
  // Binds through the API server: one Binding that carries the allocation annotation.
  void AttachApi(kube::KubeApi* client);
  // Counters (rejections by rule, binds by outcome) and, refreshed by UpdateGauges(), per-node ledger
  // utilisation: pinned CPU over NUMA allocatable, GPU compute units and GPU memory held.
  void AttachMetrics(std::shared_ptr<prometheus::Registry> registry);
  // Sets the gauges for a /metrics scrape without waiting for the decision lock: from the values the last
  // decision published (refreshed first when the lock happens to be free).
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
  // Whole rebuilds of the cluster state so far (only where node indexes are reassigned: a Node deleted), and
  // re-derivations of single nodes (each event that can change a decision costs one for its node, lazily).
  uint64_t rebuilds() const;
  uint64_t node_rebuilds() const;
  // Cold evaluations split across the evaluation threads so far.
  uint64_t parallel_evaluations() const;

 private:
  using NodeRecord = state::NodeRecord;
  using PodRecord = state::PodRecord;

  bool NeedsTopology(const scoring::PodRequest& pod) const;
  // What a node that failed outside the core's plugins (unknown, no topology, invalid pod) counts under.
  static constexpr std::string_view kNodeStateRule = "NodeState";
  // Evaluates `pod` on the named nodes; unknown nodes and nodes without topology are reported as such.
  struct Evaluation {
    std::string pod_error;
    std::vector<uint8_t> feasible;  // bytes, not vector<bool>: read per node on every answer
    std::vector<uint8_t> unresolvable;
    std::vector<std::string> reason;
    std::vector<std::string_view> rule;  // the rule a node failed (a plugin's name, or kNodeStateRule)
    std::vector<int64_t> score;          // 0..10
  };
  // `shape`: the pod without what identifies one replica (see PodShape), for the verdict memo.
  Evaluation EvaluateLocked(const scoring::PodRequest& pod, const std::vector<std::string_view>& names,
                            std::string_view shape = {});
  // A node list resolved to the store's records, and written once as JSON strings: answers copy runs of them
  // instead of checking every character of 5,000 names per call (shared, so that an answer written outside the
  // lock keeps its own copy).
  struct Resolution {
    // The names back to back, and where each ends: one buffer a scan reads in order (names of 16 characters or
    // more would each be a heap block of their own).
    std::string joined;
    std::vector<size_t> ends;
    size_t size() const { return ends.size(); }
    std::string_view name(size_t i) const {
      const size_t begin = i == 0 ? 0 : ends[i - 1];
      return std::string_view(joined).substr(begin, ends[i] - begin);
    }
    std::vector<const NodeRecord*> records;  // nullptr: unknown node
    // What an evaluation reads of each record, side by side: the records live one per allocation in the store's
    // hash map, and reading them per call cost a cache miss per node. Refreshed when the store's
    // record_flags_version() moves (views_version).
    struct RecordView {
      uint32_t index = 0;
      bool known = false;
      bool has_topology = false;
      bool from_nrt = false;
    };
    std::vector<RecordView> views;
    uint64_t views_version = ~uint64_t{0};
    std::shared_ptr<const QuotedNames> quoted;
    uint64_t membership = ~uint64_t{0};  // the store's membership_version() the records were taken at
    uint64_t epoch = 0;                  // unique per list resolved
  };
  // The resolution of `names`, reusing one of the last two (kube-scheduler sends the same lists cycle after
  // cycle, filter's and prioritize's, and 5,000 hash lookups are a tenth of a filter call). The reference stays
  // valid until the next call.
  Resolution& ResolveLocked(const std::vector<std::string_view>& names);
  // `resolution`'s views, brought up to date with the store.
  const std::vector<Resolution::RecordView>& ViewsLocked(Resolution& resolution);
  // Scores of the last filter call when `names` (in order, possibly fewer) and the pod shape are the same, and
  // either the state is too or it is that filter's own pod (kube-scheduler calls prioritize right after filter
  // in one scheduling cycle, both on one snapshot).
  // `whole_list`: `names` is exactly the filter call's list (no node failed there).
  bool CachedScoresLocked(const std::string& pod_shape, const std::string& pod_uid,
                          const std::vector<std::string_view>& names, std::vector<int64_t>* scores,
                          bool* whole_list) const;
  // Keeps `evaluation` (aligned with resolution_) as the last one, for the next identical call.
  void RememberEvaluationLocked(std::string pod_shape, std::shared_ptr<const Evaluation> evaluation);
  // Brings the store up to date, and what depends on it: the verdict memo (after a whole rebuild) and the GPU
  // policies' target workload (after the pods that hold something changed).
  void RefreshLocked();
  // The tessera.io/allocation a bind writes for `placement` ("" at node level: nothing to write).
  std::string AllocationAnnotation(const scoring::PodRequest& pod, const scoring::Placement& placement) const;
  // Holds (state::ClusterStore::Hold) the pod's placement on its best-scored node until its bind, and makes that
  // node the only one with the top score. Returns whether it held.
  bool HoldBestLocked(const scoring::PodRequest& pod, const std::vector<std::string_view>& names,
                      std::vector<int64_t>* scores);
  void LearnTargetWorkloadLocked();

  ExtenderOptions options_;
  mutable std::mutex mu_;
  bool ready_ = false;
  std::function<bool()> ready_probe_;
  kube::KubeApi* api_ = nullptr;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<ExtenderMetrics> metrics_;  // null until AttachMetrics
  // The gauges' values as of the last decision: written under mu_ (then gauges_mu_), read under gauges_mu_
  // alone. scrape_mu_ serialises scrapes setting the gauges.
  mutable std::mutex gauges_mu_;
  GaugeValues gauges_;
  uint64_t published_unusable_version_ = ~uint64_t{0};
  std::mutex scrape_mu_;
  void PublishGaugesLocked();
  uint64_t target_workload_updates_ = 0;
  uint64_t learned_holding_version_ = ~uint64_t{0};
  void CountBind(const char* outcome);
  state::ClusterStore store_;
  std::unique_ptr<ThreadPoolRunner> evaluation_pool_;  // before scheduler_: it runs on it
  std::unique_ptr<scoring::Scheduler> scheduler_;
  uint64_t memo_full_rebuilds_ = 0;  // the store's whole rebuilds the memo has seen (node versions restart there)
  scoring::SchedulingResult scratch_;  // EvaluateLocked's buffers, reused call after call
  scoring::VerdictMemo memo_;          // per-node verdicts of the last pod shape; cleared by every whole rebuild
  Resolution resolution_;              // the list of the last call
  Resolution previous_resolution_;     // the one before, when different
  uint64_t resolution_epochs_ = 0;
  // By node index: the node that followed it in the last list resolved (ResolveLocked's first guess).
  std::vector<const NodeRecord*> successors_;
  uint64_t successors_membership_ = ~uint64_t{0};
  // The last filter call: its prioritize call reuses the scores; the next filter call for the same shape, node
  // list and state (replicas of one workload while the previous bind is still in flight) reuses the answer.
  struct LastFilter {
    std::string pod_shape;  // the pod as the request gave it, minus what identifies one replica
    std::string pod_uid;    // the last filter call's pod (the evaluation may have been another replica's)
    uint64_t state_version = ~uint64_t{0};
    uint64_t resolved_epoch = ~uint64_t{0};                // the Resolution it was evaluated on
    std::shared_ptr<const Evaluation> evaluation;          // aligned with that Resolution's names
    std::shared_ptr<const std::string> answer;             // node-names mode, once written
    std::shared_ptr<const std::string> prioritize_answer;  // for the filter call's whole list, once written
  } last_filter_;
};

}  // namespace tessera::extender

#endif  // TESSERA_EXTENDER_EXTENDER_SERVICE_H_
