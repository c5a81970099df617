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
#include "extender/allocation.h"
#include "extender/snapshot.h"
#include "kube/time_format.h"
#include "scoring/device_guess.h"
#include "scoring/numa_placement.h"

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

// The pod as the request carries it, minus what tells one replica of a workload from another and never enters a
// decision (metadata name, uid, resourceVersion, creationTimestamp, managedFields; status): pods with the same
// shape get the same verdicts on the same node state (VerdictMemo), and a prioritize call recognises the filter
// call of its cycle.
std::string PodShape(const Value& pod) {
  static constexpr std::string_view kIdentity[] = {"name", "uid", "resourceVersion", "creationTimestamp",
                                                   "managedFields"};
  rapidjson::StringBuffer b;
  rapidjson::Writer<rapidjson::StringBuffer> w(b);
  w.StartObject();
  for (auto it = pod.MemberBegin(); it != pod.MemberEnd(); ++it) {
    const std::string_view key(it->name.GetString(), it->name.GetStringLength());
    if (key == "status") continue;
    w.Key(it->name.GetString(), it->name.GetStringLength());
    if (key != "metadata" || !it->value.IsObject()) {
      it->value.Accept(w);
      continue;
    }
    w.StartObject();
    for (auto m = it->value.MemberBegin(); m != it->value.MemberEnd(); ++m) {
      const std::string_view field(m->name.GetString(), m->name.GetStringLength());
      if (std::find(std::begin(kIdentity), std::end(kIdentity), field) != std::end(kIdentity)) continue;
      w.Key(m->name.GetString(), m->name.GetStringLength());
      m->value.Accept(w);
    }
    w.EndObject();
  }
  w.EndObject();
  return std::string(b.GetString(), b.GetSize());
}

// Whether the kubelet pins `pod`'s CPUs on `node` (static CPU manager, Guaranteed whole CPUs): NRT producers
// count such pods in each NUMA node's available amount.
bool PinnedByKubelet(const scoring::NodeState& node, const scoring::PodRequest& pod) {
  return node.cpu_manager_static && scoring::IsNumaBound(pod, scoring::ResourcePolicy::kNative);
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

ExtenderService::ExtenderService(ExtenderOptions options) : options_(std::move(options)) {
  scheduler_ = std::make_unique<scoring::Scheduler>(options_.scheduler);
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
  RebuildIfNeededLocked();
  rebuilds_gauge_->Set(static_cast<double>(nodes_generation_));
  memo_hits_->Set(static_cast<double>(memo_.hits()));
  memo_misses_->Set(static_cast<double>(memo_.misses()));
  target_shapes_->Set(static_cast<double>(scheduler_->gpu_context()->workload.shapes.size()));
  target_updates_->Set(static_cast<double>(target_workload_updates_));
  for (prometheus::Gauge* g : unusable_series_) unusable_->Remove(g);
  unusable_series_.clear();
  for (const auto& [name, rec] : nodes_) {
    if (*rec.unusable == '\0') continue;
    prometheus::Gauge& g =
        unusable_->Add({{"node", name}, {"source", rec.from_nrt ? "nrt" : "cnr"}, {"reason", rec.unusable}});
    g.Set(1);
    unusable_series_.push_back(&g);
  }
  for (const auto& [name, rec] : nodes_) {
    if (!rec.has_topology) continue;
    const scoring::NodeState& n = cluster_.node(rec.index);
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

namespace {

std::string NameOf(const rapidjson::Value& obj) {
  std::string name;
  if (const Value* meta = crd::Member(obj, "metadata")) (void)crd::ReadString(*meta, "name", "metadata", &name);
  return name;
}

}  // namespace

void ExtenderService::Replace(Kind kind, const std::vector<std::string>& items) {
  std::lock_guard<std::mutex> lock(mu_);
  // What the cache held, by object, as far as decisions depend on it: a relist that finds it different corrects
  // drift (an event lost between etcd and us, or one that arrived after the watch ended).
  std::map<std::string, std::string> before, after;
  auto fingerprint = [&](std::map<std::string, std::string>* out) {
    out->clear();
    if (kind == Kind::kNode) {
      for (const std::string& name : node_names_) (*out)[name] = "";
    } else if (kind == Kind::kCnr || kind == Kind::kNrt) {
      for (const auto& [name, e] : kind == Kind::kCnr ? cnrs_ : nrts_) (*out)[name] = e.resource_version;
    } else {
      for (const auto& [uid, rec] : pods_) {
        if (rec.from_api) (*out)[uid] = rec.node + '\n' + rec.allocation + (rec.terminal ? "\nterminal" : "");
      }
    }
  };
  fingerprint(&before);
  if (kind == Kind::kNode) node_names_.clear();
  if (kind == Kind::kCnr) cnrs_.clear();
  if (kind == Kind::kNrt) nrts_.clear();
  if (kind == Kind::kPod) {
    // Pods only seen in filter calls (pending, not yet listed) survive; listed ones are replaced.
    for (auto it = pods_.begin(); it != pods_.end();) it = it->second.from_api ? pods_.erase(it) : std::next(it);
  }
  for (const std::string& item : items) ApplyLocked(kind, false, item);
  dirty_ = true;
  const int k = static_cast<int>(kind);
  if (!listed_[k]) {  // the first list fills an empty cache: nothing to correct
    listed_[k] = true;
    return;
  }
  fingerprint(&after);
  int added = 0, removed = 0, changed = 0;
  for (const auto& [key, value] : before) {
    auto it = after.find(key);
    if (it == after.end())
      ++removed;
    else if (it->second != value)
      ++changed;
  }
  for (const auto& [key, value] : after) added += before.count(key) == 0 ? 1 : 0;
  if (corrections_ != nullptr) {
    static const char* const kKinds[] = {"node", "pod", "cnr", "nrt"};
    const char* name = kKinds[k];
    corrections_->Add({{"kind", name}, {"change", "added"}}).Increment(added);
    corrections_->Add({{"kind", name}, {"change", "removed"}}).Increment(removed);
    corrections_->Add({{"kind", name}, {"change", "changed"}}).Increment(changed);
  }
}

void ExtenderService::Apply(Kind kind, bool deleted, const std::string& object) {
  std::lock_guard<std::mutex> lock(mu_);
  ApplyLocked(kind, deleted, object);
}

void ExtenderService::ApplyLocked(Kind kind, bool deleted, const std::string& object) {
  rapidjson::Document doc;
  if (!crd::ParseJson(object, &doc).ok() || !doc.IsObject()) return;
  // Only changes that can alter a decision mark the state dirty: the next decision then rebuilds it whole. Status
  // updates of Nodes and Pods and CNR heartbeats, most of the event stream, do not.
  if (kind == Kind::kNode) {
    const std::string name = NameOf(doc);
    if (name.empty()) return;
    const bool changed = deleted ? node_names_.erase(name) > 0 : node_names_.insert(name).second;
    if (changed) dirty_ = true;
    return;
  }
  if (kind == Kind::kNrt) {
    const std::string name = NameOf(doc);
    if (name.empty()) return;
    if (deleted) {
      if (nrts_.erase(name) > 0) dirty_ = true;
      return;
    }
    TopologyEntry e = DecodeNrtEntry(doc, name, options_.cnr_read);
    if (auto old = nrts_.find(name); old != nrts_.end() && old->second.content == e.content) {
      old->second.resource_version = e.resource_version;
      return;
    }
    dirty_ = true;
    nrts_[name] = std::move(e);
    return;
  }
  if (kind == Kind::kCnr) {
    const std::string name = NameOf(doc);
    if (name.empty()) return;
    if (deleted) {
      if (cnrs_.erase(name) > 0) dirty_ = true;
      return;
    }
    if (auto old = cnrs_.find(name); old != cnrs_.end() && old->second.content == TopologyContent(doc)) {
      // A heartbeat: the time moves on, nothing else. Staleness is re-checked once a second without events.
      RefreshHeartbeat(doc, &old->second);
      return;
    }
    dirty_ = true;
    TopologyEntry e = DecodeCnrEntry(doc, name, options_.cnr_read);
    cnrs_[name] = std::move(e);
    return;
  }
  Result<scoring::PodRequest> req = crd::DecodePodRequest(static_cast<const Value&>(doc));
  if (!req.ok() || req->uid.empty()) return;
  if (deleted) {
    if (pods_.erase(req->uid) > 0) dirty_ = true;  // whatever it held is released at the next rebuild
    return;
  }
  std::string phase_now;
  if (const Value* status = crd::Member(doc, "status"))
    (void)crd::ReadString(*status, "phase", "status", &phase_now);
  std::string content = PodShape(doc) + '\n' + phase_now;
  if (auto old = pods_.find(req->uid);
      old != pods_.end() && old->second.from_api && old->second.content == content)
    return;
  dirty_ = true;
  PodRecord rec;
  rec.content = std::move(content);
  rec.request = *req;
  rec.from_api = true;
  if (const Value* spec = crd::Member(doc, "spec")) (void)crd::ReadString(*spec, "nodeName", "spec", &rec.node);
  std::string phase;
  if (const Value* status = crd::Member(doc, "status")) (void)crd::ReadString(*status, "phase", "status", &phase);
  rec.terminal = phase == "Succeeded" || phase == "Failed";
  std::map<std::string, std::string> annotations;
  if (const Value* meta = crd::Member(doc, "metadata"))
    (void)crd::ReadStringMap(*meta, "annotations", "metadata", &annotations);
  if (auto a = annotations.find(kAllocationAnnotation); a != annotations.end()) rec.allocation = a->second;
  auto existing = pods_.find(rec.request.uid);
  // A bind this process made may be newer than the event (annotation written, Binding not yet seen).
  if (existing != pods_.end() && rec.node.empty() && !existing->second.node.empty()) {
    rec.node = existing->second.node;
    if (rec.allocation.empty()) rec.allocation = existing->second.allocation;
  }
  pods_[rec.request.uid] = std::move(rec);
}

void ExtenderService::ForgetUnboundFilteredPodsLocked() {
  const auto now = options_.monotonic_now();
  if (now - last_forget_ < std::chrono::seconds(1)) return;  // a sweep at most once a second
  last_forget_ = now;
  for (auto it = filtered_only_.begin(); it != filtered_only_.end();) {
    auto pod = pods_.find(it->first);
    if (pod == pods_.end() || pod->second.from_api || !pod->second.node.empty()) {
      it = filtered_only_.erase(it);  // gone, or now known from the API server or bound: kept by those rules
    } else if (now - it->second > options_.forget_unbound_after) {
      pods_.erase(pod);  // never bound: nothing in the ledger to release
      it = filtered_only_.erase(it);
    } else {
      ++it;
    }
  }
}

void ExtenderService::RebuildIfNeededLocked() {
  // Heartbeats age without events: once a second, see whether any node's CNR turned stale (or fresh again).
  const auto now = std::chrono::steady_clock::now();
  ForgetUnboundFilteredPodsLocked();
  if (!dirty_ && now - last_rebuild_ >= std::chrono::seconds(1)) {
    const auto wall = options_.now();
    for (const auto& [name, rec] : nodes_) {
      if (rec.from_nrt) continue;  // NRTs carry no heartbeat to age
      auto cnr = cnrs_.find(name);
      const bool fresh =
          cnr != cnrs_.end() &&
          ChooseTopology(TopologySource::kCnr, &cnr->second, nullptr, wall, options_.cnr_stale_after).entry !=
              nullptr;
      if (fresh != rec.has_topology) {
        dirty_ = true;
        break;
      }
    }
    last_rebuild_ = now;
  }
  if (!dirty_) return;
  cluster_ = scoring::ClusterState();
  nodes_.clear();
  memo_.Clear();
  ++nodes_generation_;
  ++state_version_;
  for (const std::string& name : node_names_) {
    auto cnr = cnrs_.find(name);
    auto nrt = nrts_.find(name);
    (void)AddNodeLocked(name, cnr == cnrs_.end() ? nullptr : &cnr->second,
                        nrt == nrts_.end() ? nullptr : &nrt->second);
  }
  // The ledger: one entry per bound pod, never two (see LedgerPlacementLocked).
  std::map<std::string, int> by_source;
  // Pods whose devices are known go first, so that a guess for a foreign pod never takes a card a known pod holds.
  std::vector<const PodRecord*> bound;
  for (const auto& [uid, rec] : pods_) {
    if (!rec.node.empty() && !rec.terminal) bound.push_back(&rec);
  }
  auto known = [this](const PodRecord* r) {
    if (!r->allocation.empty() || !r->request.gpu.any()) return true;
    auto cnr = cnrs_.find(r->node);
    return cnr != cnrs_.end() && cnr->second.reported.count(r->request.Key()) != 0;
  };
  // By UID after that, so that every replica rebuilds the same ledger from the same objects.
  std::sort(bound.begin(), bound.end(), [&](const PodRecord* a, const PodRecord* b) {
    const bool ka = known(a), kb = known(b);
    return ka != kb ? ka : a->request.uid < b->request.uid;
  });
  for (const PodRecord* rp : bound) {
    const PodRecord& rec = *rp;
    auto node = nodes_.find(rec.node);
    if (node == nodes_.end() || !node->second.has_topology) continue;
    if (node->second.from_nrt && rec.allocation.empty() &&
        PinnedByKubelet(cluster_.node(node->second.index), rec.request)) {
      ++by_source["nrt"];  // the NRT's producer counts what the kubelet pinned for it (ChargeNrtHeldLocked)
      continue;
    }
    auto cnr = cnrs_.find(rec.node);
    const char* source = "node_level";
    scoring::Placement placement =
        LedgerPlacementLocked(rec, node->second, cnr == cnrs_.end() ? nullptr : &cnr->second, &source);
    if (Status st = cluster_.Reserve(rec.request, placement); !st.ok()) {
      // The report or annotation contradicts the rest of the ledger (e.g. an agent's stale view): keep the pod
      // at node level rather than lose it, and say so.
      scoring::Placement fallback;
      fallback.node = node->second.index;
      if (rec.request.gpu.any() || !cluster_.Reserve(rec.request, fallback).ok()) {
        source = "unaccounted";
      } else {
        source = "node_level";
      }
    }
    ++by_source[source];
  }
  for (const auto& [name, rec] : nodes_) {
    if (!rec.from_nrt || !rec.has_topology) continue;
    auto nrt = nrts_.find(name);
    if (nrt != nrts_.end()) ChargeNrtHeldLocked(name, rec, nrt->second);
  }
  LearnTargetWorkloadLocked(bound);
  if (ledger_pods_ != nullptr) {
    for (const char* s :
         {"annotation", "annotation_corrected_by_cnr", "cnr", "guessed", "node_level", "nrt", "unaccounted"}) {
      ledger_pods_->Add({{"source", s}}).Set(by_source[s]);
    }
  }
  dirty_ = false;
  last_rebuild_ = now;
}

void ExtenderService::LearnTargetWorkloadLocked(const std::vector<const PodRecord*>& bound) {
  // FGD's target workload, as the paper builds it from its trace: the shapes of the pods the cluster runs (CPU,
  // per-card GPU share, cards, models), most popular first until 95 % of them. Without it the fragmentation
  // measure is empty and the GPU policies fall back to their tie-breaks. Replaced only when it moved (a shape
  // came or went, or a weight by more than 0.02), since it invalidates every memoised score; every replica
  // computes the same from the same objects.
  if (cluster_.gpu_count() == 0) return;  // no GPU policy scores anything on a cluster without cards
  std::vector<const scoring::PodRequest*> pods;
  pods.reserve(bound.size());
  for (const PodRecord* r : bound) pods.push_back(&r->request);
  scoring::TargetWorkload learned = scoring::TargetWorkload::FromPods(pods, 0.95);
  scoring::GpuContext* ctx = scheduler_->gpu_context();
  if (learned.CloseTo(ctx->workload, 0.02)) return;
  ctx->SetWorkload(std::move(learned));
  memo_.Clear();
  ++target_workload_updates_;
}

namespace {

// A pod bound by someone else holds cards and NICs nobody told us about: charge the first that can hold it (a
// device plugin's usual choice), so the node's totals stay right even where the card is a guess.
void GuessDevices(const scoring::NodeState& node, const scoring::PodRequest& pod, scoring::Placement* placement,
                  const char** source) {
  if (!pod.gpu.any()) return;
  const scoring::DeviceGuess guess = scoring::FirstFitDevices(node, pod);
  placement->gpu_mask |= guess.gpu_mask;
  placement->nic_mask |= guess.nic_mask;
  *source = "guessed";
}

}  // namespace

scoring::Placement ExtenderService::LedgerPlacementLocked(const PodRecord& rec, const NodeRecord& node,
                                                          const TopologyEntry* cnr, const char** source) const {
  const scoring::NodeState& state = cluster_.node(node.index);
  const scoring::PodRequest& pod = rec.request;
  scoring::Placement placement;
  placement.node = node.index;
  *source = "node_level";
  bool annotated = false;
  if (!rec.allocation.empty()) {
    if (Result<scoring::Placement> decoded = DecodeAllocation(rec.allocation, state, node.index); decoded.ok()) {
      placement = *decoded;
      annotated = true;
      *source = "annotation";
    }
  }
  // The node agent's report (contract section 3.2) says where the pod really is. It is matched by namespace/name
  // as Katalyst does; a report carrying another UID belongs to an earlier pod of that name and is ignored.
  const crd::ReportedPlacement* reported = nullptr;
  if (cnr != nullptr) {
    auto it = cnr->reported.find(pod.Key());
    if (it != cnr->reported.end() && (it->second.uid.empty() || it->second.uid == pod.uid)) reported = &it->second;
  }
  if (reported == nullptr) {
    if (!annotated) GuessDevices(state, pod, &placement, source);
    return placement;
  }
  const scoring::ResourcePolicy policy = options_.scheduler.resource_policy;
  bool corrected = false;
  // Only NUMA-bound pods are charged per NUMA node; others float in the shared pool whatever a report says.
  if (reported->numa_mask != 0 && scoring::IsNumaBound(pod, policy) &&
      reported->numa_mask != placement.numa_mask) {
    const scoring::Placement pinned =
        scoring::PinnedPlacement(state, node.index, pod, policy, reported->numa_mask);
    placement.numa_mask = reported->numa_mask;
    placement.cpu_pinned = pinned.cpu_pinned;
    placement.memory_pinned = pinned.memory_pinned;
    placement.exclusive = pinned.exclusive;
    corrected = true;
  }
  if (pod.gpu.count > 0 && std::popcount(reported->gpu_mask) == pod.gpu.count &&
      reported->gpu_mask != placement.gpu_mask) {
    placement.gpu_mask = reported->gpu_mask;
    corrected = true;
  }
  if (pod.gpu.rdma_nics > 0 && std::popcount(reported->nic_mask) == pod.gpu.rdma_nics &&
      reported->nic_mask != placement.nic_mask) {
    placement.nic_mask = reported->nic_mask;
    corrected = true;
  }
  if (corrected) *source = annotated ? "annotation_corrected_by_cnr" : "cnr";
  if (!annotated && !corrected) GuessDevices(state, pod, &placement, source);
  return placement;
}

scoring::ClusterState ExtenderService::ClusterWithTopology() {
  std::lock_guard<std::mutex> lock(mu_);
  RebuildIfNeededLocked();
  scoring::ClusterState out;
  std::vector<std::string> names;
  for (const auto& [name, rec] : nodes_) {
    if (rec.has_topology) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  std::unordered_map<uint32_t, uint32_t> index;  // old -> new
  for (const std::string& name : names) {
    scoring::NodeState n = cluster_.node(nodes_[name].index);
    // Usage is re-applied below through Reserve, from the ledger.
    n.pinned_cpu_milli = n.pinned_memory = n.shared_cpu_used_milli = n.shared_memory_used = 0;
    n.reclaimed_cpu_used_milli = n.reclaimed_memory_used = 0;
    n.pods_with_required_anti_affinity = 0;
    for (scoring::NumaState& s : n.numas) s.pinned_cpu_milli = s.pinned_memory = s.exclusive_holders = 0;
    for (scoring::NumaDetail& d : n.numa_detail) {
      d.reclaimed_cpu_used_milli = d.reclaimed_memory_used = 0;
      d.pinned_pods.clear();
    }
    for (scoring::GpuState& g : n.gpus) {
      g.free_milli = 1000;
      g.free_memory_mib = g.memory_mib;
    }
    for (scoring::NicState& c : n.nics) c.users = 0;
    index[nodes_[name].index] = out.AddNode(std::move(n));
  }
  for (const auto& [uid, rec] : pods_) {
    const scoring::LedgerEntry* e = cluster_.FindPod(uid);
    if (e == nullptr || index.count(e->placement.node) == 0) continue;
    scoring::Placement p = e->placement;
    p.node = index[e->placement.node];
    (void)out.Reserve(e->pod, p);
  }
  return out;
}

uint64_t ExtenderService::rebuilds() const {
  std::lock_guard<std::mutex> lock(mu_);
  return nodes_generation_;
}

size_t ExtenderService::known_pods() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pods_.size();
}

size_t ExtenderService::placed_pods() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cluster_.pod_count();
}

std::string ExtenderService::AllocationOf(const std::string& pod_uid) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = pods_.find(pod_uid);
  return it == pods_.end() ? "" : it->second.allocation;
}

bool ExtenderService::NeedsTopology(const scoring::PodRequest& pod) const {
  // Reclaimed resources too: only a CNR says what a node can lend (contract section 3.5: no CNR, allocatable 0).
  return scoring::IsNumaBound(pod, options_.scheduler.resource_policy) || pod.gpu.any() || pod.asks_reclaimed();
}

Status ExtenderService::AddNodeLocked(const std::string& name, const TopologyEntry* cnr,
                                      const TopologyEntry* nrt) {
  const TopologyChoice choice =
      ChooseTopology(options_.topology_source, cnr, nrt, options_.now(), options_.cnr_stale_after);
  NodeRecord rec;
  rec.from_nrt = choice.from_nrt;
  rec.topology_reason = choice.reason;
  rec.unusable = choice.unusable;
  rec.has_topology = choice.entry != nullptr;
  scoring::NodeState state;
  state.name = name;
  if (choice.entry != nullptr) state = choice.entry->state;
  rec.index = cluster_.AddNode(std::move(state));
  nodes_[name] = rec;
  return Status::Ok();
}

void ExtenderService::ChargeNrtHeldLocked(const std::string& node_name, const NodeRecord& node,
                                          const TopologyEntry& nrt) {
  // The NRT's producer counts what the kubelet holds exclusively on each NUMA node (allocatable - available),
  // Tessera's own pods included once admitted. What it counts beyond what Tessera's ledger pins there (pods
  // Tessera did not place, or admitted on another NUMA node than the ledger says) is charged as one synthetic
  // pinned holder per NUMA node. Pods Tessera placed but the kubelet has not admitted yet stay charged by the
  // ledger, so a lagging NRT never frees what is promised.
  for (const crd::NrtHeld& h : nrt.held) {
    const scoring::NodeState& state = cluster_.node(node.index);
    const int index = state.NumaIndex(h.numa_id);
    if (index < 0) continue;
    const scoring::NumaState& numa = state.numas[static_cast<size_t>(index)];
    scoring::PodRequest held;
    held.namespace_name = "nrt-held";
    held.name = node_name + "-numa-" + std::to_string(h.numa_id);
    held.uid = "nrt-held/" + node_name + "/" + std::to_string(h.numa_id);
    held.cpu_milli = std::max<int64_t>(0, h.cpu_milli - numa.pinned_cpu_milli);
    held.memory_bytes = std::max<int64_t>(0, h.memory_bytes - numa.pinned_memory);
    if (held.cpu_milli == 0 && held.memory_bytes == 0) continue;
    scoring::Placement p;
    p.node = node.index;
    p.numa_mask = uint64_t{1} << index;
    p.cpu_pinned = held.cpu_milli > 0;
    p.memory_pinned = held.memory_bytes > 0;
    (void)cluster_.Reserve(held, p);  // refused only where the ledger already holds more than the NRT says
  }
}

Status ExtenderService::LoadSnapshot(const std::string& path,
                                     std::optional<std::chrono::system_clock::time_point> now) {
  Result<SnapshotObjects> objects = ReadSnapshot(path);
  if (!objects.ok()) return objects.status();
  if (const auto at = now ? now : objects->newest; at.has_value()) {
    std::lock_guard<std::mutex> lock(mu_);
    options_.now = [t = *at] { return t; };
  }
  Replace(Kind::kNode, objects->nodes);
  Replace(Kind::kCnr, objects->cnrs);
  Replace(Kind::kNrt, objects->nrts);
  Replace(Kind::kPod, objects->pods);
  std::lock_guard<std::mutex> lock(mu_);
  RebuildIfNeededLocked();
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

const std::vector<const ExtenderService::NodeRecord*>& ExtenderService::ResolveLocked(
    const std::vector<std::string_view>& names) {
  if (resolved_generation_ == nodes_generation_ &&
      std::equal(resolved_names_.begin(), resolved_names_.end(), names.begin(), names.end())) {
    return resolved_;
  }
  resolved_names_.assign(names.begin(), names.end());
  ++resolved_epoch_;
  resolved_generation_ = nodes_generation_;
  resolved_.resize(names.size());
  auto quoted = std::make_shared<QuotedNames>();
  quoted->text.reserve(names.size() * 16);
  quoted->end.reserve(names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    auto it = nodes_.find(std::string(names[i]));
    resolved_[i] = it == nodes_.end() ? nullptr : &it->second;
    if (i > 0) quoted->text += ',';
    AppendJsonString(&quoted->text, names[i]);
    quoted->end.push_back(quoted->text.size());
  }
  resolved_quoted_ = std::move(quoted);
  return resolved_;
}

void ExtenderService::RememberEvaluationLocked(std::string pod_shape,
                                               std::shared_ptr<const Evaluation> evaluation) {
  last_filter_.pod_shape = std::move(pod_shape);
  last_filter_.state_version = state_version_;
  last_filter_.resolved_epoch = resolved_epoch_;
  last_filter_.evaluation = std::move(evaluation);
  last_filter_.answer = nullptr;
  last_filter_.prioritize_answer = nullptr;
}

bool ExtenderService::CachedScoresLocked(const std::string& pod_shape, const std::vector<std::string_view>& names,
                                         std::vector<int64_t>* scores, bool* whole_list) const {
  *whole_list = false;
  if (last_filter_.evaluation == nullptr || last_filter_.state_version != state_version_ ||
      last_filter_.resolved_epoch != resolved_epoch_ || resolved_generation_ != nodes_generation_ ||
      last_filter_.pod_shape != pod_shape) {
    return false;
  }
  // The prioritize list is the filter list minus the nodes that failed, in the same order.
  scores->assign(names.size(), 0);
  size_t j = 0;
  for (size_t i = 0; i < names.size(); ++i, ++j) {
    while (j < resolved_names_.size() && resolved_names_[j] != names[i]) ++j;
    if (j == resolved_names_.size()) return false;
    (*scores)[i] = last_filter_.evaluation->score[j];
  }
  *whole_list = names.size() == resolved_names_.size();
  return true;
}

ExtenderService::Evaluation ExtenderService::EvaluateLocked(const scoring::PodRequest& pod,
                                                            const std::vector<std::string_view>& names,
                                                            std::string_view shape) {
  Evaluation e;
  const std::vector<const NodeRecord*>& records = ResolveLocked(names);
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
  scheduler_->ScheduleInto(cluster_, pod, candidates, &scratch_, &memo_, shape);
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
  std::string shape = PodShape(*args.pod);
  std::shared_ptr<const Evaluation> evaluation;
  std::shared_ptr<const std::string> reused_answer;
  std::shared_ptr<const QuotedNames> quoted;  // args.names as JSON strings
  {
    std::lock_guard<std::mutex> lock(mu_);
    RebuildIfNeededLocked();
    const uint64_t epoch_before = resolved_epoch_;
    (void)ResolveLocked(args.names);
    quoted = resolved_quoted_;
    if (!pod.ok()) {
      // The pod itself is unreadable: every node fails with the reason, nothing else happens.
      auto invalid = std::make_shared<Evaluation>();
      invalid->feasible.assign(args.names.size(), false);
      invalid->unresolvable.assign(args.names.size(), true);
      invalid->reason.assign(args.names.size(), "Tessera: invalid pod: " + pod.status().message());
      evaluation = std::move(invalid);
    } else {
      if (!pod->uid.empty()) {
        auto [it, added] = pods_.try_emplace(pod->uid);
        if (added) it->second.request = *pod;  // for the bind that follows
        if (!it->second.from_api && it->second.node.empty()) filtered_only_[pod->uid] = options_.monotonic_now();
      }
      if (last_filter_.evaluation != nullptr && epoch_before == resolved_epoch_ &&
          last_filter_.resolved_epoch == resolved_epoch_ && last_filter_.state_version == state_version_ &&
          last_filter_.pod_shape == shape) {
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
    const std::string shape = PodShape(*args.pod);
    std::lock_guard<std::mutex> lock(mu_);
    RebuildIfNeededLocked();
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
    CountBind("error");
    return Answer{200, "{\"Error\":\"" + Escape(msg) + "\"}"};
  };
  std::lock_guard<std::mutex> lock(mu_);
  RebuildIfNeededLocked();
  auto pod = pods_.find(uid);
  if (pod == pods_.end())
    return error("Tessera: pod " + ns + "/" + name + " (" + uid + ") was never filtered here");
  auto node = nodes_.find(node_name);
  if (node == nodes_.end()) return error("Tessera: node " + node_name + " is unknown");
  if (!pod->second.node.empty()) {
    // A retried bind is idempotent: same node, nothing more to do.
    if (pod->second.node == node_name) {
      CountBind("repeated");
      return Answer{200, "{\"Error\":\"\"}"};
    }
    return error("Tessera: pod " + uid + " is already bound to " + pod->second.node);
  }
  const scoring::PodRequest request = pod->second.request;
  scoring::Placement placement;
  placement.node = node->second.index;
  std::string allocation;
  if (node->second.has_topology) {
    scoring::SchedulingResult r = scheduler_->Schedule(cluster_, request, {node->second.index});
    if (r.Best() == nullptr) {
      const std::string why = !r.pod_error.empty()
                                  ? r.pod_error
                                  : std::string(r.verdicts[0].failed_plugin) + ": " + r.verdicts[0].reason;
      return error("Tessera: " + node_name + " no longer fits: " + why);
    }
    placement = r.Best()->placement;
    if (Status st = cluster_.Reserve(request, placement); !st.ok()) return error("Tessera: " + st.message());
    ++state_version_;
    allocation = EncodeAllocation(cluster_.node(placement.node), request, placement);
  } else if (NeedsTopology(request)) {
    return error("Tessera: " + node_name + ": " + node->second.topology_reason);
  }
  if (api_ != nullptr) {
    // One patch writes the whole allocation; then the Binding. Any failure undoes the reservation (and the
    // annotation), so nothing is left half allocated.
    const std::string pod_path = "/api/v1/namespaces/" + ns + "/pods/" + name;
    auto undo = [&](const std::string& why) {
      if (node->second.has_topology) (void)cluster_.Unreserve(uid);
      ++state_version_;
      return error("Tessera: bind " + ns + "/" + name + " to " + node_name + ": " + why);
    };
    if (!allocation.empty()) {
      const std::string patch = "{\"metadata\":{\"annotations\":{\"" + std::string(kAllocationAnnotation) +
                                "\":\"" + Escape(allocation) + "\"}}}";
      Result<kube::HttpResponse> pr = api_->MergePatch(pod_path, patch);
      if (!pr.ok()) return undo(pr.status().message());
      if (pr->status != 200)
        return undo("annotation patch: HTTP " + std::to_string(pr->status) + " " + pr->body.substr(0, 200));
    }
    if (options_.failpoint_bind_pause.count() > 0) std::this_thread::sleep_for(options_.failpoint_bind_pause);
    const std::string binding = "{\"apiVersion\":\"v1\",\"kind\":\"Binding\",\"metadata\":{\"name\":\"" +
                                Escape(name) + "\",\"namespace\":\"" + Escape(ns) + "\",\"uid\":\"" + Escape(uid) +
                                "\"},\"target\":{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"name\":\"" +
                                Escape(node_name) + "\"}}";
    Result<kube::HttpResponse> br = api_->Post(pod_path + "/binding", binding);
    if (!br.ok() || (br->status != 200 && br->status != 201)) {
      if (!allocation.empty()) {
        (void)api_->MergePatch(
            pod_path, "{\"metadata\":{\"annotations\":{\"" + std::string(kAllocationAnnotation) + "\":null}}}");
      }
      return undo(br.ok() ? "binding: HTTP " + std::to_string(br->status) + " " + br->body.substr(0, 200)
                          : br.status().message());
    }
  }
  pod->second.node = node_name;
  pod->second.allocation = allocation;
  if (ledger_pods_ != nullptr && node->second.has_topology)
    ledger_pods_->Add({{"source", "annotation"}}).Increment();
  CountBind("bound");
  return Answer{200, "{\"Error\":\"\"}"};
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
  RebuildIfNeededLocked();
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("NodeNameToMetaVictims");
  w.StartObject();
  for (const auto& [node_name, uids] : victims) {
    if (uids.empty() || !pod.ok()) continue;  // every answered node must keep a victim
    auto node = nodes_.find(node_name);
    if (node == nodes_.end()) continue;
    bool fits = true;
    if (node->second.has_topology) {
      // Remove the victims Tessera placed, see whether the pod now fits under its rules, and put them back.
      std::vector<scoring::LedgerEntry> removed;
      for (const std::string& uid : uids) {
        const scoring::LedgerEntry* e = cluster_.FindPod(uid);
        if (e != nullptr && e->placement.node == node->second.index) {
          removed.push_back(*e);
          (void)cluster_.Unreserve(uid);
        }
      }
      fits = scheduler_->Schedule(cluster_, *pod, {node->second.index}).Best() != nullptr;
      for (const scoring::LedgerEntry& e : removed) (void)cluster_.Reserve(e.pod, e.placement);
      ++state_version_;
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
