#include "extender/extender_service.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <map>
#include <thread>

#include "crd/cnr_builder.h"
#include "crd/cnr_codec.h"
#include "crd/cnr_node_state.h"
#include "crd/json_fields.h"
#include "crd/pod_codec.h"
#include "extender/parallel_runner.h"
#include "kube/time_format.h"
#include "scoring/device_guess.h"
#include "scoring/numa_placement.h"
#include "state/allocation.h"

namespace tessera::extender {

using rapidjson::Value;

namespace {

// kube-scheduler decodes with Go's encoding/json, which matches keys case-insensitively; so do we.
const Value* MemberCi(const Value& obj, const char* key) {
  if (!obj.IsObject()) return nullptr;
  const size_t n = std::char_traits<char>::length(key);
  for (auto it = obj.MemberBegin(); it != obj.MemberEnd(); ++it) {
    if (it->name.GetStringLength() != n) continue;
    bool eq = true;
    for (size_t i = 0; i < n && eq; ++i) eq = std::tolower(it->name.GetString()[i]) == std::tolower(key[i]);
    if (eq) return it->value.IsNull() ? nullptr : &it->value;
  }
  return nullptr;
}

Answer BadRequest(const std::string& msg) {
  return Answer{400, "{\"Error\":\"" + msg + "\"}"};
}

std::string Escape(const std::string& s) {
  rapidjson::StringBuffer b;
  rapidjson::Writer<rapidjson::StringBuffer> w(b);
  w.String(s.c_str(), static_cast<rapidjson::SizeType>(s.size()));
  return std::string(b.GetString() + 1, b.GetSize() - 2);  // without the quotes
}

Answer BadRequestStatus(const Status& s) {
  return BadRequest(Escape(s.message()));
}

}  // namespace

namespace {

state::StoreOptions StoreOptionsOf(const ExtenderOptions& o) {
  state::StoreOptions s;
  s.resource_policy = o.scheduler.resource_policy;
  s.cnr_stale_after = o.cnr_stale_after;
  s.cnr_read = o.cnr_read;
  s.topology_source = o.topology_source;
  s.now = o.now;
  s.monotonic_now = o.monotonic_now;
  s.forget_unbound_after = o.forget_unbound_after;
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
  rejections_ = &prometheus::BuildCounter()
                     .Name("tessera_extender_rejections_total")
                     .Help("Nodes a filter call rejected, by the rule that failed")
                     .Register(*registry);
  binds_ = &prometheus::BuildCounter()
                .Name("tessera_extender_binds_total")
                .Help("Bind calls by outcome")
                .Register(*registry);
  utilisation_ = &prometheus::BuildGauge()
                      .Name("tessera_extender_ledger_utilisation")
                      .Help("Share of a node's NUMA CPU, GPU compute and GPU memory held in the ledger (0..1)")
                      .Register(*registry);
  corrections_ =
      &prometheus::BuildCounter()
           .Name("tessera_extender_resync_corrections_total")
           .Help(
               "Objects a relist (periodic resync, or after 410 Gone or a broken watch) found different "
               "from the watch cache, by kind and change: the drift it corrected")
           .Register(*registry);
  ledger_pods_ =
      &prometheus::BuildGauge()
           .Name("tessera_extender_ledger_pods")
           .Help(
               "Bound pods in the ledger by where their placement came from: annotation, "
               "annotation_corrected_by_cnr, cnr (the node agent's report), guessed (foreign device pod), "
               "node_level, unaccounted (contradicts the ledger)")
           .Register(*registry);
  unusable_ = &prometheus::BuildGauge()
                   .Name("tessera_extender_node_topology_unusable")
                   .Help(
                       "1 for each node whose topology object exists but cannot be used, by reason: invalid "
                       "(contradicts itself or does not decode), agent_not_ready, no_heartbeat, stale")
                   .Register(*registry);
  rebuilds_gauge_ =
      &prometheus::BuildGauge()
           .Name("tessera_extender_state_rebuilds")
           .Help("Full rebuilds of the cluster state (one per batch of events that can change a decision)")
           .Register(*registry)
           .Add({});
  auto& memo = prometheus::BuildGauge()
                   .Name("tessera_extender_verdict_memo_nodes")
                   .Help("Node evaluations answered from the verdict memo (hit) or computed (miss)")
                   .Register(*registry);
  memo_hits_ = &memo.Add({{"result", "hit"}});
  memo_misses_ = &memo.Add({{"result", "miss"}});
  target_shapes_ = &prometheus::BuildGauge()
                        .Name("tessera_extender_gpu_target_shapes")
                        .Help(
                            "Pod shapes in the GPU policies' target workload, learned from the bound pods (the "
                            "most popular covering 95 % of them)")
                        .Register(*registry)
                        .Add({});
  target_updates_ = &prometheus::BuildGauge()
                         .Name("tessera_extender_gpu_target_workload_updates")
                         .Help("Times the learned target workload moved and was replaced")
                         .Register(*registry)
                         .Add({});
  prometheus::BuildGauge()
      .Name("tessera_extender_build_info")
      .Help("Build of the running extender")
      .Register(*registry)
      .Add({{"version", "0.1.0"}})
      .Set(1);
}

void ExtenderService::CountBind(const char* outcome) {
  if (binds_ != nullptr) binds_->Add({{"outcome", outcome}}).Increment();
}

void ExtenderService::UpdateGauges() {
  std::lock_guard<std::mutex> lock(mu_);
  if (utilisation_ == nullptr) return;
  RefreshLocked();
  rebuilds_gauge_->Set(static_cast<double>(store_.full_rebuilds()));
  memo_hits_->Set(static_cast<double>(memo_.hits()));
  memo_misses_->Set(static_cast<double>(memo_.misses()));
  target_shapes_->Set(static_cast<double>(scheduler_->gpu_context()->workload.shapes.size()));
  target_updates_->Set(static_cast<double>(target_workload_updates_));
  for (prometheus::Gauge* g : unusable_series_) unusable_->Remove(g);
  unusable_series_.clear();
  for (const auto& [name, rec] : store_.nodes()) {
    if (*rec.unusable == '\0') continue;
    prometheus::Gauge& g =
        unusable_->Add({{"node", name}, {"source", rec.from_nrt ? "nrt" : "cnr"}, {"reason", rec.unusable}});
    g.Set(1);
    unusable_series_.push_back(&g);
  }
  for (const auto& [name, rec] : store_.nodes()) {
    if (!rec.has_topology) continue;
    const scoring::NodeState& n = store_.cluster().node(rec.index);
    int64_t gpu_units = 0, gpu_free = 0, mem = 0, mem_free = 0;
    for (const scoring::GpuState& g : n.gpus) {
      gpu_units += 1000;
      gpu_free += g.free_milli;
      mem += g.memory_mib;
      mem_free += g.free_memory_mib;
    }
    auto ratio = [](int64_t used, int64_t total) {
      return total > 0 ? static_cast<double>(used) / static_cast<double>(total) : 0.0;
    };
    utilisation_->Add({{"node", name}, {"resource", "numa_cpu"}})
        .Set(ratio(n.pinned_cpu_milli, n.cpu_allocatable_milli));
    if (gpu_units > 0) {
      utilisation_->Add({{"node", name}, {"resource", "gpu_units"}}).Set(ratio(gpu_units - gpu_free, gpu_units));
      utilisation_->Add({{"node", name}, {"resource", "gpu_memory"}}).Set(ratio(mem - mem_free, mem));
    }
  }
}

void ExtenderService::AttachApi(kube::KubeClient* client) {
  std::lock_guard<std::mutex> lock(mu_);
  api_ = client;
}

void ExtenderService::Replace(Kind kind, const std::vector<std::string>& items) {
  std::lock_guard<std::mutex> lock(mu_);
  const state::Corrections c = store_.Replace(kind, items);
  if (corrections_ == nullptr || c.first_list) return;
  static const char* const kKinds[] = {"node", "pod", "cnr", "nrt"};
  const char* name = kKinds[static_cast<int>(kind)];
  corrections_->Add({{"kind", name}, {"change", "added"}}).Increment(c.added);
  corrections_->Add({{"kind", name}, {"change", "removed"}}).Increment(c.removed);
  corrections_->Add({{"kind", name}, {"change", "changed"}}).Increment(c.changed);
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
  if (ledger_pods_ != nullptr) {
    for (const char* s : state::kLedgerSources) ledger_pods_->Add({{"source", s}}).Set(store_.ledger_pods(s));
  }
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

namespace {

// Appends `s` as a JSON string. Node names (DNS subdomains) and most reasons need no escaping and are copied as
// they are; anything else goes through rapidjson's writer.
void AppendJsonString(std::string* out, std::string_view s) {
  const bool plain = std::all_of(s.begin(), s.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
  });
  if (plain) {
    *out += '"';
    out->append(s);
    *out += '"';
    return;
  }
  rapidjson::StringBuffer b;
  rapidjson::Writer<rapidjson::StringBuffer> w(b);
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  out->append(b.GetString(), b.GetSize());
}

}  // namespace

const ExtenderService::Resolution& ExtenderService::ResolveLocked(const std::vector<std::string_view>& names) {
  auto matches = [&](const Resolution& r) {
    return r.membership == store_.membership_version() &&
           std::equal(r.names.begin(), r.names.end(), names.begin(), names.end());
  };
  if (matches(resolution_)) return resolution_;
  // kube-scheduler alternates two lists: filter gets every node, prioritize the ones filter kept.
  std::swap(resolution_, previous_resolution_);
  if (matches(resolution_)) return resolution_;
  Resolution& r = resolution_;
  r.names.assign(names.begin(), names.end());
  r.epoch = ++resolution_epochs_;
  r.membership = store_.membership_version();
  r.records.resize(names.size());
  auto quoted = std::make_shared<QuotedNames>();
  quoted->text.reserve(names.size() * 16);
  quoted->end.reserve(names.size());
  // Where the list is the other one minus some nodes, in order (prioritize after filter), its records are
  // reused: a string comparison per name instead of a hash lookup.
  const Resolution& other = previous_resolution_;
  const bool other_valid = other.membership == store_.membership_version();
  size_t j = 0;
  for (size_t i = 0; i < names.size(); ++i) {
    while (other_valid && j < other.names.size() && other.names[j] != names[i]) ++j;
    if (other_valid && j < other.names.size()) {
      r.records[i] = other.records[j++];
    } else {
      r.records[i] = store_.FindNode(std::string(names[i]));
    }
    if (i > 0) quoted->text += ',';
    AppendJsonString(&quoted->text, names[i]);
    quoted->end.push_back(quoted->text.size());
  }
  r.quoted = std::move(quoted);
  return r;
}

void ExtenderService::RememberEvaluationLocked(std::string pod_shape,
                                               std::shared_ptr<const Evaluation> evaluation) {
  last_filter_.pod_shape = std::move(pod_shape);
  last_filter_.state_version = store_.version();
  last_filter_.resolved_epoch = resolution_.epoch;
  last_filter_.evaluation = std::move(evaluation);
  last_filter_.answer = nullptr;
  last_filter_.prioritize_answer = nullptr;
}

bool ExtenderService::CachedScoresLocked(const std::string& pod_shape, const std::vector<std::string_view>& names,
                                         std::vector<int64_t>* scores, bool* whole_list) const {
  *whole_list = false;
  // The evaluation's list is one of the two resolutions kept (its epoch says which).
  const Resolution* evaluated = resolution_.epoch == last_filter_.resolved_epoch            ? &resolution_
                                : previous_resolution_.epoch == last_filter_.resolved_epoch ? &previous_resolution_
                                                                                            : nullptr;
  if (last_filter_.evaluation == nullptr || evaluated == nullptr ||
      last_filter_.state_version != store_.version() || last_filter_.pod_shape != pod_shape) {
    return false;
  }
  // The prioritize list is the filter list minus the nodes that failed, in the same order.
  const std::vector<std::string>& listed = evaluated->names;
  scores->assign(names.size(), 0);
  size_t j = 0;
  for (size_t i = 0; i < names.size(); ++i, ++j) {
    while (j < listed.size() && listed[j] != names[i]) ++j;
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
  const std::vector<const NodeRecord*>& records = ResolveLocked(names).records;
  const size_t n = names.size();
  e.feasible.assign(n, false);
  e.unresolvable.assign(n, false);
  e.reason.assign(n, "");
  e.score.assign(n, 0);
  std::vector<uint32_t> candidates;
  std::vector<size_t> slot;
  const bool needs_topology = NeedsTopology(pod);
  candidates.reserve(n);
  slot.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const NodeRecord* rec = records[i];
    if (rec == nullptr) {
      e.unresolvable[i] = true;
      e.reason[i] = "Tessera: node " + std::string(names[i]) + " is unknown to the extender (no Node object seen)";
    } else if (!rec->has_topology) {
      if (needs_topology) {
        e.unresolvable[i] = true;
        e.reason[i] = "Tessera: the pod needs NUMA, device or reclaimed resources, but " + rec->topology_reason;
      } else {
        e.feasible[i] = true;  // kube-scheduler's own fit checks cover pods that need no topology
      }
    } else if (rec->from_nrt && (pod.gpu.any() || pod.asks_reclaimed())) {
      e.unresolvable[i] = true;
      e.reason[i] =
          "Tessera: the pod needs GPUs, RDMA NICs or reclaimed resources, but node " + std::string(names[i]) +
          " is described only by a NodeResourceTopology, which does not say which cards, PCIe switches, NICs "
          "or reclaimable resources it has";
    } else {
      candidates.push_back(rec->index);
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
    }
  }
  return e;
}

namespace {

struct ExtenderArgs {
  const Value* pod = nullptr;
  std::vector<std::string_view> names;  // into the parsed request
  const Value* node_items = nullptr;    // full-nodes mode: the items to echo back
  bool node_cache = true;
};

Status ParseArgs(const rapidjson::Document& doc, ExtenderArgs* a) {
  if (!doc.IsObject()) return Status::InvalidArgument("request body must be a JSON object (ExtenderArgs)");
  a->pod = MemberCi(doc, "Pod");
  if (a->pod == nullptr || !a->pod->IsObject()) return Status::InvalidArgument("Pod: required object");
  if (const Value* names = MemberCi(doc, "NodeNames")) {
    if (!names->IsArray()) return Status::InvalidArgument("NodeNames: expected array of strings");
    for (const Value& v : names->GetArray()) {
      if (!v.IsString()) return Status::InvalidArgument("NodeNames: expected array of strings");
      a->names.emplace_back(v.GetString(), v.GetStringLength());
    }
    return Status::Ok();
  }
  const Value* nodes = MemberCi(doc, "Nodes");
  if (nodes == nullptr) return Status::InvalidArgument("one of NodeNames or Nodes is required");
  const Value* items = crd::Member(*nodes, "items");
  if (items == nullptr || !items->IsArray()) return Status::InvalidArgument("Nodes.items: expected array");
  a->node_cache = false;
  a->node_items = items;
  for (const Value& n : items->GetArray()) {
    const Value* meta = crd::Member(n, "metadata");
    const Value* name = meta != nullptr ? crd::Member(*meta, "name") : nullptr;
    if (name == nullptr || !name->IsString() || name->GetStringLength() == 0) {
      return Status::InvalidArgument("Nodes.items[].metadata.name: required");
    }
    a->names.emplace_back(name->GetString(), name->GetStringLength());
  }
  return Status::Ok();
}

// Parses ExtenderArgs (filter and prioritize share it); Status when the body is not one.
Status ParseRequest(std::string* body, rapidjson::Document* doc, ExtenderArgs* args) {
  if (Status s = crd::ParseJsonInsitu(body, doc); !s.ok()) return s;
  return ParseArgs(*doc, args);
}

}  // namespace

Answer ExtenderService::Filter(std::string_view body) {
  std::string text(body);  // parsed in place; outlives doc
  rapidjson::Document doc;
  ExtenderArgs args;
  if (Status s = ParseRequest(&text, &doc, &args); !s.ok()) return BadRequestStatus(s);
  Result<scoring::PodRequest> pod = crd::DecodePodRequest(*args.pod);
  std::string shape = crd::PodShape(*args.pod);
  std::shared_ptr<const Evaluation> evaluation;
  std::shared_ptr<const std::string> reused_answer;
  std::shared_ptr<const QuotedNames> quoted;  // args.names as JSON strings
  {
    std::lock_guard<std::mutex> lock(mu_);
    RefreshLocked();
    const Resolution& resolution = ResolveLocked(args.names);
    quoted = resolution.quoted;
    if (!pod.ok()) {
      // The pod itself is unreadable: every node fails with the reason, nothing else happens.
      auto invalid = std::make_shared<Evaluation>();
      invalid->feasible.assign(args.names.size(), false);
      invalid->unresolvable.assign(args.names.size(), true);
      invalid->reason.assign(args.names.size(), "Tessera: invalid pod: " + pod.status().message());
      evaluation = std::move(invalid);
    } else {
      store_.NoteFilteredPod(*pod);  // for the bind that follows
      if (last_filter_.evaluation != nullptr && last_filter_.resolved_epoch == resolution.epoch &&
          last_filter_.state_version == store_.version() && last_filter_.pod_shape == shape) {
        // Same shape, same node list, nothing changed since: the same answer (reasons never name the pod).
        evaluation = last_filter_.evaluation;
        if (args.node_cache) reused_answer = last_filter_.answer;
      } else {
        evaluation = std::make_shared<const Evaluation>(EvaluateLocked(*pod, args.names, shape));
        RememberEvaluationLocked(std::move(shape), evaluation);
      }
    }
  }
  const Evaluation& e = *evaluation;
  // The answer is written outside the lock: another verb can decide meanwhile.
  if (rejections_ != nullptr) {
    // Counted per rule first: one labelled-counter lookup per rule, not per rejected node.
    std::map<std::string_view, int> by_rule;
    for (size_t i = 0; i < args.names.size(); ++i) {
      if (e.feasible[i]) continue;
      // "Tessera QoSPoolFit: ..." -> QoSPoolFit; "Tessera: ..." (no topology, unknown node, invalid pod) ->
      // NodeState
      const std::string_view r = e.reason[i];
      const size_t colon = r.find(':');
      ++by_rule[r.rfind("Tessera ", 0) == 0 && colon != std::string::npos ? r.substr(8, colon - 8) : "NodeState"];
    }
    for (const auto& [rule, count] : by_rule) rejections_->Add({{"rule", std::string(rule)}}).Increment(count);
  }
  if (reused_answer != nullptr) return Answer{200, *reused_answer};
  // Written by hand: rapidjson's writer checks every character of 5,000 node names that need no escaping.
  const std::vector<std::string_view>& names = args.names;
  std::string out;
  out.reserve(names.size() * 16 + 128);
  auto append_names = [&](size_t first, size_t last) {  // names [first, last), comma-separated
    out.append(quoted->text, quoted->begin(first), quoted->end[last - 1] - quoted->begin(first));
  };
  if (args.node_cache) {
    out += "{\"Nodes\":null,\"NodeNames\":[";
    bool first = true;
    for (size_t i = 0; i < names.size();) {
      if (!e.feasible[i]) {
        ++i;
        continue;
      }
      size_t j = i + 1;  // a run of feasible nodes is one copy
      while (j < names.size() && e.feasible[j]) ++j;
      if (!first) out += ',';
      first = false;
      append_names(i, j);
      i = j;
    }
    out += "]";
  } else {
    // Full-nodes mode: the client replaces its nodes with what we return, so echo the objects unchanged.
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.StartArray();
    for (size_t i = 0; i < names.size(); ++i) {
      if (e.feasible[i]) (*args.node_items)[static_cast<rapidjson::SizeType>(i)].Accept(w);
    }
    w.EndArray();
    out += "{\"Nodes\":{\"metadata\":{},\"items\":";
    out.append(buf.GetString(), buf.GetSize());
    out += "},\"NodeNames\":null";
  }
  for (const bool unresolvable : {false, true}) {
    out += unresolvable ? ",\"FailedAndUnresolvableNodes\":{" : ",\"FailedNodes\":{";
    bool first = true;
    for (size_t i = 0; i < names.size(); ++i) {
      if (e.feasible[i] || e.unresolvable[i] != unresolvable) continue;
      if (!first) out += ',';
      first = false;
      append_names(i, i + 1);
      out += ':';
      AppendJsonString(&out, e.reason[i]);
    }
    out += '}';
  }
  out += ",\"Error\":\"\"}";
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
  if (Status s = ParseRequest(&text, &doc, &args); !s.ok()) return BadRequestStatus(s);
  Result<scoring::PodRequest> pod = crd::DecodePodRequest(*args.pod);
  std::vector<int64_t> scores(args.names.size(), 0);
  std::shared_ptr<const Evaluation> kept;  // set when the answer may be kept for the next identical call
  if (pod.ok()) {
    const std::string shape = crd::PodShape(*args.pod);
    std::lock_guard<std::mutex> lock(mu_);
    RefreshLocked();
    bool whole_list = false;
    if (!CachedScoresLocked(shape, args.names, &scores, &whole_list)) {
      // Not after a filter call for this pod (or the state changed since): evaluate, and keep it for the next
      // replica's identical call.
      kept = std::make_shared<const Evaluation>(EvaluateLocked(*pod, args.names, shape));
      scores = kept->score;
      RememberEvaluationLocked(shape, kept);
    } else if (whole_list) {
      if (last_filter_.prioritize_answer != nullptr) return Answer{200, *last_filter_.prioritize_answer};
      kept = last_filter_.evaluation;
    }
  }
  std::string out;
  out.reserve(args.names.size() * 36 + 2);
  out += '[';
  for (size_t i = 0; i < args.names.size(); ++i) {
    if (i > 0) out += ',';
    out += "{\"Host\":";
    AppendJsonString(&out, args.names[i]);
    out += ",\"Score\":";
    out += std::to_string(scores[i]);  // the core's 0..100 scaled to kube-scheduler's 0..10
    out += '}';
  }
  out += ']';
  if (kept != nullptr) {
    std::lock_guard<std::mutex> lock(mu_);
    if (last_filter_.evaluation == kept) last_filter_.prioritize_answer = std::make_shared<const std::string>(out);
  }
  return Answer{200, std::move(out)};
}

Answer ExtenderService::Bind(std::string_view body) {
  rapidjson::Document doc;
  if (Status s = crd::ParseJson(body, &doc); !s.ok()) return BadRequestStatus(s);
  if (!doc.IsObject()) return BadRequest("request body must be a JSON object (ExtenderBindingArgs)");
  auto str = [&](const char* key) {
    const Value* v = MemberCi(doc, key);
    return v != nullptr && v->IsString() ? std::string(v->GetString(), v->GetStringLength()) : std::string();
  };
  const std::string uid = str("PodUID"), node_name = str("Node"), name = str("PodName"), ns = str("PodNamespace");
  if (uid.empty() || node_name.empty()) return BadRequest("PodUID and Node are required");
  auto error = [this](const std::string& msg) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      CountBind("error");
    }
    return Answer{200, "{\"Error\":\"" + Escape(msg) + "\"}"};
  };
  std::string allocation;
  kube::KubeClient* api = nullptr;
  {
    // Decide and reserve under the lock; the API calls happen outside it.
    std::unique_lock<std::mutex> lock(mu_);
    RefreshLocked();
    const PodRecord* pod = store_.FindPod(uid);
    const NodeRecord* node = store_.FindNode(node_name);
    std::string refusal;
    if (pod == nullptr) {
      refusal = "Tessera: pod " + ns + "/" + name + " (" + uid + ") was never filtered here";
    } else if (node == nullptr) {
      refusal = "Tessera: node " + node_name + " is unknown";
    } else if (!pod->node.empty()) {
      // A retried bind is idempotent: same node, nothing more to do (once the first one has finished).
      if (pod->node == node_name && !pod->binding) {
        CountBind("repeated");
        return Answer{200, "{\"Error\":\"\"}"};
      }
      refusal = pod->node == node_name ? "Tessera: a bind of pod " + uid + " to " + node_name + " is in flight"
                                       : "Tessera: pod " + uid + " is already bound to " + pod->node;
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
        allocation = state::EncodeAllocation(store_.cluster().node(placement.node), request, placement);
        if (Status st = store_.BeginBind(uid, node_name, &placement, allocation); !st.ok())
          refusal = "Tessera: " + st.message();
      }
    } else if (NeedsTopology(pod->request)) {
      refusal = "Tessera: " + node_name + ": " + node->topology_reason;
    } else if (Status st = store_.BeginBind(uid, node_name, nullptr, ""); !st.ok()) {
      refusal = "Tessera: " + st.message();
    }
    if (!refusal.empty()) {
      lock.unlock();
      return error(refusal);
    }
    api = api_;
  }
  std::string failure;
  if (api != nullptr) failure = WriteBinding(api, ns, name, uid, node_name, allocation);
  {
    std::lock_guard<std::mutex> lock(mu_);
    store_.EndBind(uid, failure.empty());  // a failure returns the reservation
    if (failure.empty()) CountBind("bound");
  }
  if (!failure.empty()) {
    failure = "Tessera: bind " + ns + "/" + name + " (" + uid + ") to " + node_name + ": " + failure;
    if (options_.log_warning) options_.log_warning(failure);
    return error(failure);
  }
  return Answer{200, "{\"Error\":\"\"}"};
}

std::string ExtenderService::WriteBinding(kube::KubeClient* api, const std::string& ns, const std::string& name,
                                          const std::string& uid, const std::string& node_name,
                                          const std::string& allocation) const {
  // One patch writes the whole allocation; then the Binding. A failed Binding also takes the annotation back, so
  // nothing is left half allocated.
  const std::string pod_path = "/api/v1/namespaces/" + ns + "/pods/" + name;
  if (!allocation.empty()) {
    const std::string patch = "{\"metadata\":{\"annotations\":{\"" + std::string(state::kAllocationAnnotation) +
                              "\":\"" + Escape(allocation) + "\"}}}";
    Result<kube::HttpResponse> pr = api->MergePatch(pod_path, patch);
    if (!pr.ok()) return "annotation patch: " + pr.status().message();
    if (pr->status != 200)
      return "annotation patch: HTTP " + std::to_string(pr->status) + " " + pr->body.substr(0, 200);
  }
  if (options_.failpoint_bind_pause.count() > 0) std::this_thread::sleep_for(options_.failpoint_bind_pause);
  const std::string binding = "{\"apiVersion\":\"v1\",\"kind\":\"Binding\",\"metadata\":{\"name\":\"" +
                              Escape(name) + "\",\"namespace\":\"" + Escape(ns) + "\",\"uid\":\"" + Escape(uid) +
                              "\"},\"target\":{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"name\":\"" +
                              Escape(node_name) + "\"}}";
  Result<kube::HttpResponse> br = api->Post(pod_path + "/binding", binding);
  if (br.ok() && (br->status == 200 || br->status == 201)) return "";
  if (!allocation.empty()) {
    (void)api->MergePatch(
        pod_path, "{\"metadata\":{\"annotations\":{\"" + std::string(state::kAllocationAnnotation) + "\":null}}}");
  }
  return br.ok() ? "binding: HTTP " + std::to_string(br->status) + " " + br->body.substr(0, 200)
                 : "binding: " + br.status().message();
}

Answer ExtenderService::Preempt(std::string_view body) {
  rapidjson::Document doc;
  if (Status s = crd::ParseJson(body, &doc); !s.ok()) return BadRequestStatus(s);
  if (!doc.IsObject()) return BadRequest("request body must be a JSON object (ExtenderPreemptionArgs)");
  const Value* pod_json = MemberCi(doc, "Pod");
  if (pod_json == nullptr) return BadRequest("Pod: required");
  Result<scoring::PodRequest> pod = crd::DecodePodRequest(*pod_json);
  // Victims per node, by UID (meta victims) or from full pods.
  std::map<std::string, std::vector<std::string>> victims;
  std::map<std::string, int64_t> pdb;
  auto collect = [&](const Value* map, bool meta) -> Status {
    if (map == nullptr) return Status::Ok();
    if (!map->IsObject()) return Status::InvalidArgument("victims: expected object");
    for (auto it = map->MemberBegin(); it != map->MemberEnd(); ++it) {
      const Value* pods = MemberCi(it->value, "Pods");
      auto& list = victims[it->name.GetString()];
      if (const Value* n = MemberCi(it->value, "NumPDBViolations"); n != nullptr && n->IsInt64())
        pdb[it->name.GetString()] = n->GetInt64();
      if (pods == nullptr) continue;
      if (!pods->IsArray()) return Status::InvalidArgument("Pods: expected array");
      for (const Value& p : pods->GetArray()) {
        const Value* uid =
            meta ? MemberCi(p, "UID")
                 : (crd::Member(p, "metadata") ? crd::Member(*crd::Member(p, "metadata"), "uid") : nullptr);
        if (uid != nullptr && uid->IsString()) list.emplace_back(uid->GetString());
      }
    }
    return Status::Ok();
  };
  if (Status s = collect(MemberCi(doc, "NodeNameToMetaVictims"), true); !s.ok()) return BadRequestStatus(s);
  if (Status s = collect(MemberCi(doc, "NodeNameToVictims"), false); !s.ok()) return BadRequestStatus(s);
  std::lock_guard<std::mutex> lock(mu_);
  RefreshLocked();
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("NodeNameToMetaVictims");
  w.StartObject();
  for (const auto& [node_name, uids] : victims) {
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
    if (!fits) continue;
    w.Key(node_name.c_str());
    w.StartObject();
    w.Key("Pods");
    w.StartArray();
    for (const std::string& uid : uids) {
      w.StartObject();
      w.Key("UID");
      w.String(uid.c_str());
      w.EndObject();
    }
    w.EndArray();
    w.Key("NumPDBViolations");
    w.Int64(pdb[node_name]);
    w.EndObject();
  }
  w.EndObject();
  w.EndObject();
  return Answer{200, std::string(buf.GetString(), buf.GetSize())};
}

}  // namespace tessera::extender
