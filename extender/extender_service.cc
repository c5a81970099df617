#include "extender/extender_service.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <map>
#include <thread>

#include "crd/pod_codec.h"
#include "extender/binder.h"
#include "extender/parallel_runner.h"
#include "state/allocation.h"

namespace tessera::extender {

namespace {

state::StoreOptions StoreOptionsOf(const ExtenderOptions& o) {
  state::StoreOptions s;
  s.resource_policy = o.scheduler.resource_policy;
  s.cnr_stale_after = o.cnr_stale_after;
  s.cnr_read = o.cnr_read;
  s.topology_source = o.topology_source;
  s.clock = o.clock;
  s.forget_unbound_after = o.forget_unbound_after;
  s.hold_ttl = o.hold_ttl;
  return s;
}

}  // namespace

ExtenderService::ExtenderService(ExtenderOptions options)
    : options_(std::move(options)), store_(StoreOptionsOf(options_)) {
  scoring::SchedulerConfig config = options_.scheduler;
  if (options_.evaluation_threads > 0) {
    evaluation_pool_ = std::make_unique<ThreadPoolRunner>(options_.evaluation_threads);
    config.parallel = evaluation_pool_.get();
  }
  scheduler_ = std::make_unique<scoring::Scheduler>(config);
}

bool ExtenderService::ready() const {
  std::function<bool()> probe;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (ready_) return true;
    probe = ready_probe_;
  }
  return probe && probe();
}

void ExtenderService::SetReadyProbe(std::function<bool()> probe) {
  std::lock_guard<std::mutex> lock(mu_);
  ready_probe_ = std::move(probe);
}

void ExtenderService::AttachMetrics(std::shared_ptr<prometheus::Registry> registry) {
  std::lock_guard<std::mutex> lock(mu_);
  metrics_ = std::make_unique<ExtenderMetrics>(*registry, options_.per_node_utilisation_metrics);
  registry_ = std::move(registry);  // the families live as long as the registry
}

void ExtenderService::CountBind(const char* outcome) {
  std::lock_guard<std::mutex> lock(mu_);
  if (metrics_ != nullptr) metrics_->CountBind(outcome);
}

void ExtenderService::UpdateGauges() {
  ExtenderMetrics* metrics = nullptr;
  {
    std::unique_lock<std::mutex> decision(mu_, std::try_to_lock);
    if (decision.owns_lock()) {
      // Idle: bring the state up to date (what the next decision would do anyway) and publish it.
      RefreshLocked();
      if (metrics_ != nullptr && metrics_->per_node_utilisation()) {
        std::lock_guard<std::mutex> scrape(scrape_mu_);
        metrics_->UpdatePerNode(store_);
      }
    }
    metrics = metrics_.get();  // set once by AttachMetrics, before the server starts
  }
  if (metrics == nullptr) return;
  GaugeValues values;
  {
    std::lock_guard<std::mutex> lock(gauges_mu_);
    values = gauges_;
  }
  std::lock_guard<std::mutex> scrape(scrape_mu_);
  metrics->Update(values);
}

void ExtenderService::PublishGaugesLocked() {
  if (metrics_ == nullptr) return;
  GaugeValues v;
  v.totals = store_.cluster().totals();
  v.full_rebuilds = store_.full_rebuilds();
  v.node_rebuilds = store_.node_rebuilds();
  v.memo_hits = memo_.hits();
  v.memo_misses = memo_.misses();
  v.target_shapes = scheduler_->gpu_context()->workload.shapes.size();
  v.target_updates = target_workload_updates_;
  v.ledger_pods = store_.ledger_sources();
  std::lock_guard<std::mutex> lock(gauges_mu_);
  if (published_unusable_version_ != store_.unusable_version() || gauges_.unusable == nullptr) {
    auto list = std::make_shared<std::vector<state::UnusableNode>>();
    for (const auto& [name, u] : store_.unusable_nodes()) list->push_back(u);
    gauges_.unusable = std::move(list);
    published_unusable_version_ = store_.unusable_version();
  }
  v.unusable = gauges_.unusable;
  gauges_ = std::move(v);
}

void ExtenderService::AttachApi(kube::KubeApi* client) {
  std::lock_guard<std::mutex> lock(mu_);
  api_ = client;
}

void ExtenderService::Replace(Kind kind, const std::vector<std::string>& items) {
  std::lock_guard<std::mutex> lock(mu_);
  const state::Corrections c = store_.Replace(kind, items);
  if (metrics_ != nullptr && !c.first_list) metrics_->CountCorrections(kind, c);
}

void ExtenderService::Apply(Kind kind, bool deleted, const std::string& object) {
  std::lock_guard<std::mutex> lock(mu_);
  store_.Apply(kind, deleted, object);
}

void ExtenderService::RefreshLocked() {
  store_.Refresh();
  if (store_.full_rebuilds() != memo_full_rebuilds_) {
    memo_.Clear();  // node indexes and versions restart with a whole rebuild
    memo_full_rebuilds_ = store_.full_rebuilds();
  }
  if (store_.holding_version() != learned_holding_version_) LearnTargetWorkloadLocked();
  PublishGaugesLocked();  // O(1): the totals are kept as the state changes
}

void ExtenderService::LearnTargetWorkloadLocked() {
  // FGD's target workload, as the paper builds it from its trace: the shapes of the pods the cluster runs (CPU,
  // per-card GPU share, cards, models), most popular first until 95 % of them. Without it the fragmentation
  // measure is empty and the GPU policies fall back to their tie-breaks. Replaced only when it moved (a shape
  // came or went, or a weight by more than 0.02), since it invalidates every memoised score; every replica
  // computes the same from the same objects. The store keeps the counts by shape, so this costs the number of
  // shapes, not of pods.
  learned_holding_version_ = store_.holding_version();
  if (store_.cluster().gpu_count() == 0) return;  // no GPU policy scores anything on a cluster without cards
  scoring::TargetWorkload learned = scoring::TargetWorkload::FromShapeCounts(store_.holding_shapes(), 0.95);
  scoring::GpuContext* ctx = scheduler_->gpu_context();
  if (learned.CloseTo(ctx->workload, 0.02)) return;
  ctx->SetWorkload(std::move(learned));
  memo_.Clear();
  ++target_workload_updates_;
}

scoring::ClusterState ExtenderService::ClusterWithTopology() {
  std::lock_guard<std::mutex> lock(mu_);
  RefreshLocked();
  return store_.ClusterWithTopology();
}

uint64_t ExtenderService::rebuilds() const {
  std::lock_guard<std::mutex> lock(mu_);
  return store_.full_rebuilds();
}

uint64_t ExtenderService::node_rebuilds() const {
  std::lock_guard<std::mutex> lock(mu_);
  return store_.node_rebuilds();
}

uint64_t ExtenderService::parallel_evaluations() const {
  return evaluation_pool_ == nullptr ? 0 : evaluation_pool_->runs();
}

size_t ExtenderService::known_pods() const {
  std::lock_guard<std::mutex> lock(mu_);
  return store_.known_pods();
}

size_t ExtenderService::placed_pods() const {
  std::lock_guard<std::mutex> lock(mu_);
  return store_.placed_pods();
}

std::string ExtenderService::AllocationOf(const std::string& pod_uid) const {
  std::lock_guard<std::mutex> lock(mu_);
  const PodRecord* pod = store_.FindPod(pod_uid);
  return pod == nullptr ? "" : pod->allocation;
}

bool ExtenderService::NeedsTopology(const scoring::PodRequest& pod) const {
  // Reclaimed resources too: only a CNR says what a node can lend (contract section 3.5: no CNR, allocatable 0).
  return scoring::IsNumaBound(pod, options_.scheduler.resource_policy) || pod.gpu.any() || pod.asks_reclaimed();
}

Status ExtenderService::LoadSnapshot(const std::string& path,
                                     std::optional<std::chrono::system_clock::time_point> now) {
  std::lock_guard<std::mutex> lock(mu_);
  if (Status s = store_.LoadSnapshot(path, now); !s.ok()) return s;
  RefreshLocked();
  ready_ = true;
  return Status::Ok();
}

ExtenderService::Resolution& ExtenderService::ResolveLocked(const std::vector<std::string_view>& names) {
  auto matches = [&](const Resolution& r) {
    if (r.membership != store_.membership_version() || r.size() != names.size()) return false;
    for (size_t i = 0; i < names.size(); ++i) {
      if (r.name(i) != names[i]) return false;
    }
    return true;
  };
  if (matches(resolution_)) return resolution_;
  // kube-scheduler alternates two lists: filter gets every node, prioritize the ones filter kept.
  std::swap(resolution_, previous_resolution_);
  if (matches(resolution_)) return resolution_;
  Resolution& r = resolution_;
  r.joined.clear();
  r.ends.clear();
  for (std::string_view name : names) {
    r.joined.append(name);
    r.ends.push_back(r.joined.size());
  }
  r.epoch = ++resolution_epochs_;
  r.membership = store_.membership_version();
  r.views_version = ~uint64_t{0};
  r.records.resize(names.size());
  // Where the list is the other one minus some nodes, in order (prioritize after filter), its records are
  // reused: a string comparison per name instead of a hash lookup.
  const Resolution& other = previous_resolution_;
  const bool other_valid = other.membership == store_.membership_version();
  // Otherwise kube-scheduler's lists are windows of one cyclic order of its nodes (each search starts where the
  // last one stopped): the node that followed a node last time is tried first, a name comparison instead of a
  // hash lookup (which misses the cache three times on a busy machine).
  if (successors_membership_ != store_.membership_version()) {
    successors_.assign(store_.cluster().nodes().size(), nullptr);
    successors_membership_ = store_.membership_version();
  }
  size_t j = 0;
  const NodeRecord* before = nullptr;  // the record resolved just before, in this list
  for (size_t i = 0; i < names.size(); ++i) {
    while (other_valid && j < other.size() && other.name(j) != names[i]) ++j;
    if (other_valid && j < other.size()) {
      r.records[i] = other.records[j++];
      before = nullptr;  // a sub-list skips nodes: not a successor to learn
      continue;
    }
    const NodeRecord** next =
        before != nullptr && before->index < successors_.size() ? &successors_[before->index] : nullptr;
    const NodeRecord* guess = next != nullptr ? *next : nullptr;
    const NodeRecord* rec = guess != nullptr && guess->name == names[i] ? guess : store_.FindNode(names[i]);
    if (next != nullptr) *next = rec;
    r.records[i] = rec;
    before = rec;
  }
  r.quoted = std::make_shared<const QuotedNames>(QuotedNames::Of(names));
  return r;
}

const std::vector<ExtenderService::Resolution::RecordView>& ExtenderService::ViewsLocked(Resolution& resolution) {
  if (resolution.views_version == store_.record_flags_version()) return resolution.views;
  resolution.views.resize(resolution.records.size());
  for (size_t i = 0; i < resolution.records.size(); ++i) {
    const NodeRecord* rec = resolution.records[i];
    Resolution::RecordView& v = resolution.views[i];
    v = Resolution::RecordView{};
    if (rec == nullptr) continue;
    v.known = true;
    v.index = rec->index;
    v.has_topology = rec->has_topology;
    v.from_nrt = rec->from_nrt;
  }
  resolution.views_version = store_.record_flags_version();
  return resolution.views;
}

void ExtenderService::RememberEvaluationLocked(std::string pod_shape,
                                               std::shared_ptr<const Evaluation> evaluation) {
  last_filter_.pod_shape = std::move(pod_shape);
  last_filter_.pod_uid.clear();
  last_filter_.state_version = store_.version();
  last_filter_.resolved_epoch = resolution_.epoch;
  last_filter_.evaluation = std::move(evaluation);
  last_filter_.answer = nullptr;
  last_filter_.prioritize_answer = nullptr;
}

bool ExtenderService::CachedScoresLocked(const std::string& pod_shape, const std::string& pod_uid,
                                         const std::vector<std::string_view>& names, std::vector<int64_t>* scores,
                                         bool* whole_list) const {
  *whole_list = false;
  // The evaluation's list is one of the two resolutions kept (its epoch says which).
  const Resolution* evaluated = resolution_.epoch == last_filter_.resolved_epoch            ? &resolution_
                                : previous_resolution_.epoch == last_filter_.resolved_epoch ? &previous_resolution_
                                                                                            : nullptr;
  // The same state, or the same pod's scheduling cycle: kube-scheduler itself filters and scores a pod on one
  // snapshot of its cache, and a bind or an event that landed between this pod's filter and prioritize is seen
  // by the hold (placed on the state as it is now) and by the bind, which both refuse a node it filled.
  const bool same_cycle = !pod_uid.empty() && last_filter_.pod_uid == pod_uid;
  if (last_filter_.evaluation == nullptr || evaluated == nullptr || last_filter_.pod_shape != pod_shape ||
      (last_filter_.state_version != store_.version() && !same_cycle)) {
    return false;
  }
  // The prioritize list is the filter list minus the nodes that failed, in the same order.
  const Resolution& listed = *evaluated;
  scores->assign(names.size(), 0);
  size_t j = 0;
  for (size_t i = 0; i < names.size(); ++i, ++j) {
    while (j < listed.size() && listed.name(j) != names[i]) ++j;
    if (j == listed.size()) return false;
    (*scores)[i] = last_filter_.evaluation->score[j];
  }
  *whole_list = names.size() == listed.size();
  return true;
}

ExtenderService::Evaluation ExtenderService::EvaluateLocked(const scoring::PodRequest& pod,
                                                            const std::vector<std::string_view>& names,
                                                            std::string_view shape) {
  Evaluation e;
  Resolution& resolution = ResolveLocked(names);
  const std::vector<const NodeRecord*>& records = resolution.records;
  const std::vector<Resolution::RecordView>& views = ViewsLocked(resolution);
  const size_t n = names.size();
  e.feasible.assign(n, false);
  e.unresolvable.assign(n, false);
  e.reason.assign(n, "");
  e.rule.assign(n, kNodeStateRule);
  e.score.assign(n, 0);
  std::vector<uint32_t> candidates;
  std::vector<size_t> slot;
  const bool needs_topology = NeedsTopology(pod);
  candidates.reserve(n);
  slot.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const Resolution::RecordView& view = views[i];
    if (!view.known) {
      e.unresolvable[i] = true;
      e.reason[i] = "Tessera: node " + std::string(names[i]) + " is unknown to the extender (no Node object seen)";
    } else if (!view.has_topology) {
      if (needs_topology) {
        e.unresolvable[i] = true;
        e.reason[i] =
            "Tessera: the pod needs NUMA, device or reclaimed resources, but " + records[i]->topology_reason;
      } else {
        e.feasible[i] = true;  // kube-scheduler's own fit checks cover pods that need no topology
      }
    } else if (view.from_nrt && (pod.gpu.any() || pod.asks_reclaimed())) {
      e.unresolvable[i] = true;
      e.reason[i] =
          "Tessera: the pod needs GPUs, RDMA NICs or reclaimed resources, but node " + std::string(names[i]) +
          " is described only by a NodeResourceTopology, which does not say which cards, PCIe switches, NICs "
          "or reclaimable resources it has";
    } else {
      candidates.push_back(view.index);
      slot.push_back(i);
    }
  }
  scheduler_->ScheduleInto(store_.cluster(), pod, candidates, &scratch_, &memo_, shape);
  const scoring::SchedulingResult& r = scratch_;
  e.pod_error = r.pod_error;
  for (size_t k = 0; k < candidates.size(); ++k) {
    const scoring::NodeVerdict& v = r.verdicts[k];
    const size_t i = slot[k];
    e.feasible[i] = v.feasible();
    if (!v.feasible()) {
      e.rule[i] = v.failed_plugin;
      e.reason[i] = "Tessera " + std::string(v.failed_plugin) + ": " + v.reason;
      // Removing pods cannot fix an invalid pod, nor a node the state does not hold.
      e.unresolvable[i] = v.code != scoring::VerdictCode::kUnschedulable;
    } else {
      e.score[i] = std::clamp<int64_t>(static_cast<int64_t>(v.exact_score / 10.0 + 0.5), 0, 10);  // >= 0: rounds
    }
  }
  if (!e.pod_error.empty()) {
    for (size_t i = 0; i < n; ++i) {
      e.feasible[i] = false;
      e.unresolvable[i] = true;
      e.reason[i] = "Tessera: invalid pod: " + e.pod_error;
      e.rule[i] = kNodeStateRule;
    }
  }
  return e;
}

Answer ExtenderService::Filter(std::string_view body) {
  std::string text(body);  // parsed in place; outlives doc
  rapidjson::Document doc;
  ExtenderArgs args;
  if (Status s = ParseExtenderArgs(&text, &doc, &args); !s.ok()) return BadRequest(s);
  Result<scoring::PodRequest> pod = crd::DecodePodRequest(*args.pod);
  std::string shape = crd::PodShape(*args.pod);
  std::shared_ptr<const Evaluation> evaluation;
  std::shared_ptr<const std::string> reused_answer;
  std::shared_ptr<const QuotedNames> quoted;  // args.names as JSON strings
  ExtenderMetrics* metrics = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    metrics = metrics_.get();
    RefreshLocked();
    const Resolution& resolution = ResolveLocked(args.names);
    quoted = resolution.quoted;
    if (!pod.ok()) {
      // The pod itself is unreadable: every node fails with the reason, nothing else happens.
      auto invalid = std::make_shared<Evaluation>();
      invalid->feasible.assign(args.names.size(), false);
      invalid->unresolvable.assign(args.names.size(), true);
      invalid->reason.assign(args.names.size(), "Tessera: invalid pod: " + pod.status().message());
      invalid->rule.assign(args.names.size(), kNodeStateRule);
      evaluation = std::move(invalid);
    } else {
      store_.NoteFilteredPod(*pod);     // for the bind that follows
      (void)store_.TakeHold(pod->uid);  // a retried pod: its own earlier hold must not count against it
      if (last_filter_.evaluation != nullptr && last_filter_.resolved_epoch == resolution.epoch &&
          last_filter_.state_version == store_.version() && last_filter_.pod_shape == shape) {
        // Same shape, same node list, nothing changed since: the same answer (reasons never name the pod).
        evaluation = last_filter_.evaluation;
        if (args.node_cache) reused_answer = last_filter_.answer;
      } else {
        evaluation = std::make_shared<const Evaluation>(EvaluateLocked(*pod, args.names, shape));
        RememberEvaluationLocked(std::move(shape), evaluation);
      }
      last_filter_.pod_uid = pod->uid;  // its prioritize, next in this cycle, takes these scores
    }
  }
  // Counted and written outside the lock: another verb can decide meanwhile.
  const Evaluation& e = *evaluation;
  if (metrics != nullptr) {
    // Counted per rule first: one labelled-counter lookup per rule, not per rejected node.
    std::map<std::string_view, int> by_rule;
    for (size_t i = 0; i < args.names.size(); ++i) {
      if (!e.feasible[i]) ++by_rule[e.rule[i]];
    }
    metrics->CountRejections(by_rule);
  }
  if (reused_answer != nullptr) return Answer{200, *reused_answer};
  std::string out = WriteFilterAnswer(args, *quoted, e.feasible, e.unresolvable, e.reason);
  if (pod.ok() && args.node_cache) {
    std::lock_guard<std::mutex> lock(mu_);
    if (last_filter_.evaluation == evaluation) last_filter_.answer = std::make_shared<const std::string>(out);
  }
  return Answer{200, std::move(out)};
}

Answer ExtenderService::Prioritize(std::string_view body) {
  std::string text(body);  // parsed in place; outlives doc
  rapidjson::Document doc;
  ExtenderArgs args;
  if (Status s = ParseExtenderArgs(&text, &doc, &args); !s.ok()) return BadRequest(s);
  Result<scoring::PodRequest> pod = crd::DecodePodRequest(*args.pod);
  std::vector<int64_t> scores(args.names.size(), 0);
  std::shared_ptr<const Evaluation> kept;  // set when the answer may be kept for the next identical call
  std::shared_ptr<const QuotedNames> quoted;
  {
    std::lock_guard<std::mutex> lock(mu_);
    RefreshLocked();
    bool whole_list = false;
    if (!pod.ok()) {
      // Every node scores 0: filter has already failed them all with the reason.
    } else if (const std::string shape = crd::PodShape(*args.pod);
               !CachedScoresLocked(shape, pod->uid, args.names, &scores, &whole_list)) {
      // Not after a filter call for this pod (or the state changed since): evaluate, and keep it for the next
      // replica's identical call.
      kept = std::make_shared<const Evaluation>(EvaluateLocked(*pod, args.names, shape));
      scores = kept->score;
      RememberEvaluationLocked(shape, kept);
    } else if (whole_list) {
      kept = last_filter_.evaluation;
    }
    if (pod.ok() && HoldBestLocked(*pod, args.names, &scores)) {
      whole_list = false;  // scores tell this pod's held node apart: not an answer for the next replica
      kept = nullptr;
    }
    if (whole_list && last_filter_.prioritize_answer != nullptr)
      return Answer{200, *last_filter_.prioritize_answer};
    quoted = ResolveLocked(args.names).quoted;
  }
  std::string out = WritePrioritizeAnswer(*quoted, scores);
  if (kept != nullptr) {
    std::lock_guard<std::mutex> lock(mu_);
    if (last_filter_.evaluation == kept) last_filter_.prioritize_answer = std::make_shared<const std::string>(out);
  }
  return Answer{200, std::move(out)};
}

std::string ExtenderService::AllocationAnnotation(const scoring::PodRequest& pod,
                                                  const scoring::Placement& placement) const {
  // A placement at node level (no NUMA node, card or NIC) is what the ledger derives from the pod's spec alone
  // (state/ledger_placement.h): nothing to record, and the Binding carries no annotation.
  if (placement.numa_mask == 0 && placement.gpu_mask == 0 && placement.nic_mask == 0 && !placement.exclusive &&
      !placement.cpu_pinned && !placement.memory_pinned) {
    return "";
  }
  return state::EncodeAllocation(store_.cluster().node(placement.node), pod, placement);
}

bool ExtenderService::HoldBestLocked(const scoring::PodRequest& pod, const std::vector<std::string_view>& names,
                                     std::vector<int64_t>* scores) {
  // Only what kube-scheduler cannot see itself races: NUMA nodes, cards, NICs, reclaimed resources.
  if (pod.uid.empty() || !NeedsTopology(pod)) return false;
  store_.NoteFilteredPod(pod);
  const PodRecord* rec = store_.FindPod(pod.uid);
  if (rec == nullptr || !rec->node.empty()) return false;
  (void)store_.TakeHold(pod.uid);
  // The best-scored node, the first of equals.
  std::vector<int64_t>& s = *scores;
  size_t best = names.size();
  for (size_t i = 0; i < names.size(); ++i) {
    if (best == names.size() || s[i] > s[best]) best = i;
  }
  if (best == names.size()) return false;
  const std::string node_name(names[best]);
  const NodeRecord* node = store_.FindNode(node_name);
  if (node == nullptr || !node->has_topology) return false;
  scoring::SchedulingResult r = scheduler_->Schedule(store_.cluster(), rec->request, {node->index});
  if (r.Best() == nullptr) return false;
  const scoring::Placement placement = r.Best()->placement;
  if (!store_.Hold(pod.uid, node_name, placement, AllocationAnnotation(rec->request, placement)).ok())
    return false;
  // kube-scheduler breaks ties among its top totals at random, and can see neither NUMA nodes nor cards: with
  // many equally good nodes (empty cards score alike) it would mostly pick another one than the held node, whose
  // bind must then place afresh and may find the node taken by another pod's hold. Scoring the held node alone at
  // the top (its equals one lower) gives it the extender's weight x 10 points ahead of them in kube-scheduler's
  // sum: kube-scheduler then picks the node Tessera reserved, unless its own plugins disagree by more.
  if (s[best] == 0) {
    s[best] = 1;
  } else {
    for (size_t i = 0; i < s.size(); ++i) {
      if (i != best && s[i] >= s[best]) s[i] = s[best] - 1;
    }
  }
  return true;
}

Answer ExtenderService::Bind(std::string_view body) {
  Result<BindingArgs> args = ParseBindingArgs(body);
  if (!args.ok()) return BadRequest(args.status());
  const BindingArgs& bind = *args;
  const std::string& uid = bind.pod_uid;
  const std::string& node_name = bind.node;
  auto error = [this](const std::string& msg) {
    CountBind("error");
    return VerbError(msg);
  };
  std::string allocation;
  kube::KubeApi* api = nullptr;
  std::string refusal;
  {
    // Decide and reserve under the lock; the API calls happen outside it.
    std::lock_guard<std::mutex> lock(mu_);
    RefreshLocked();
    const PodRecord* pod = store_.FindPod(uid);
    const NodeRecord* node = store_.FindNode(node_name);
    const std::optional<state::HeldPlacement> held = store_.TakeHold(uid);
    if (held.has_value() && metrics_ != nullptr)
      metrics_->CountHeldBind(held->node == node_name ? "taken" : "elsewhere");
    if (pod == nullptr) {
      refusal =
          "Tessera: pod " + bind.pod_namespace + "/" + bind.pod_name + " (" + uid + ") was never filtered here";
    } else if (node == nullptr) {
      refusal = "Tessera: node " + node_name + " is unknown";
    } else if (!pod->node.empty()) {
      // A retried bind is idempotent: same node, nothing more to do (once the first one has finished).
      if (pod->node == node_name && !pod->binding) {
        if (metrics_ != nullptr) metrics_->CountBind("repeated");
        return VerbOk();
      }
      refusal = pod->node == node_name ? "Tessera: a bind of pod " + uid + " to " + node_name + " is in flight"
                                       : "Tessera: pod " + uid + " is already bound to " + pod->node;
    } else if (node->has_topology && held.has_value() && held->node == node_name) {
      // kube-scheduler chose the node prioritize expected: the held placement becomes the reservation (it fits:
      // it was charged until a moment ago, under this same lock).
      if (Status st = store_.BeginBind(uid, node_name, &held->placement, held->allocation); !st.ok())
        refusal = "Tessera: " + st.message();
      allocation = held->allocation;
    } else if (node->has_topology) {
      const scoring::PodRequest& request = pod->request;
      scoring::SchedulingResult r = scheduler_->Schedule(store_.cluster(), request, {node->index});
      if (r.Best() == nullptr) {
        const std::string why = !r.pod_error.empty()
                                    ? r.pod_error
                                    : std::string(r.verdicts[0].failed_plugin) + ": " + r.verdicts[0].reason;
        refusal = "Tessera: " + node_name + " no longer fits: " + why;
      } else {
        const scoring::Placement placement = r.Best()->placement;
        allocation = AllocationAnnotation(request, placement);
        if (Status st = store_.BeginBind(uid, node_name, &placement, allocation); !st.ok())
          refusal = "Tessera: " + st.message();
      }
    } else if (NeedsTopology(pod->request)) {
      refusal = "Tessera: " + node_name + ": " + node->topology_reason;
    } else if (Status st = store_.BeginBind(uid, node_name, nullptr, ""); !st.ok()) {
      refusal = "Tessera: " + st.message();
    }
    api = api_;
  }
  if (!refusal.empty()) return error(refusal);
  std::string failure;
  if (options_.failpoint_bind_pause.count() > 0) {
    if (options_.log_warning)
      options_.log_warning("failpoint: bind of " + bind.pod_namespace + "/" + bind.pod_name + " to " + node_name +
                           " paused before the Binding");
    std::this_thread::sleep_for(options_.failpoint_bind_pause);
  }
  if (api != nullptr) failure = WriteBinding(api, bind, allocation);
  {
    std::lock_guard<std::mutex> lock(mu_);
    store_.EndBind(uid, failure.empty());  // a failure returns the reservation
    if (failure.empty() && metrics_ != nullptr) metrics_->CountBind("bound");
  }
  if (failure.empty()) return VerbOk();
  failure = "Tessera: bind " + bind.pod_namespace + "/" + bind.pod_name + " (" + uid + ") to " + node_name + ": " +
            failure;
  if (options_.log_warning) options_.log_warning(failure);
  return error(failure);
}

Answer ExtenderService::Preempt(std::string_view body) {
  rapidjson::Document doc;
  PreemptionArgs args;
  if (Status s = ParsePreemptionArgs(body, &doc, &args); !s.ok()) return BadRequest(s);
  Result<scoring::PodRequest> pod = crd::DecodePodRequest(*args.pod);
  std::vector<std::string> kept;
  std::lock_guard<std::mutex> lock(mu_);
  RefreshLocked();
  for (const auto& [node_name, uids] : args.victims) {
    if (uids.empty() || !pod.ok()) continue;  // every answered node must keep a victim
    const NodeRecord* node = store_.FindNode(node_name);
    if (node == nullptr) continue;
    bool fits = true;
    if (node->has_topology) {
      // The store's own state, changed and restored exactly before the lock is released.
      scoring::ClusterState& cluster = store_.mutable_cluster();
      // Remove the victims Tessera placed, see whether the pod now fits under its rules, and put them back.
      std::vector<scoring::LedgerEntry> removed;
      for (const std::string& uid : uids) {
        const scoring::LedgerEntry* e = cluster.FindPod(uid);
        if (e != nullptr && e->placement.node == node->index) {
          removed.push_back(*e);
          (void)cluster.Unreserve(uid);
        }
      }
      fits = scheduler_->Schedule(cluster, *pod, {node->index}).Best() != nullptr;
      for (const scoring::LedgerEntry& e : removed) (void)cluster.Reserve(e.pod, e.placement);
    } else if (NeedsTopology(*pod)) {
      fits = false;
    }
    if (fits) kept.push_back(node_name);
  }
  return Answer{200, WritePreemptionAnswer(args, kept)};
}

}  // namespace tessera::extender
