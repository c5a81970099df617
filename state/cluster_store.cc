#include "state/cluster_store.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include "crd/json_fields.h"
#include "crd/pod_codec.h"
#include "state/allocation.h"
#include "state/ledger_placement.h"
#include "state/snapshot.h"

namespace tessera::state {

using rapidjson::Value;

namespace {

std::string NameOf(const Value& obj) {
  std::string name;
  if (const Value* meta = crd::Member(obj, "metadata")) (void)crd::ReadString(*meta, "name", "metadata", &name);
  return name;
}

// Whether the kubelet pins `pod`'s CPUs on `node` (static CPU manager, Guaranteed whole CPUs): NRT producers
// count such pods in each NUMA node's available amount.
bool PinnedByKubelet(const scoring::NodeState& node, const scoring::PodRequest& pod) {
  return node.cpu_manager_static && scoring::IsNumaBound(pod, scoring::ResourcePolicy::kNative);
}

// The pod's content without its phase: what the ledger depends on besides node, allocation and terminal.
std::string_view ShapeOf(const std::string& content) {
  const size_t nl = content.rfind('\n');
  return nl == std::string::npos ? std::string_view(content) : std::string_view(content).substr(0, nl);
}

}  // namespace

ClusterStore::ClusterStore(StoreOptions options) : options_(std::move(options)) {}

void ClusterStore::TouchNode(const std::string& name) {
  if (!rebuild_all_) dirty_nodes_.insert(name);
}

void ClusterStore::IndexPod(const std::string& uid, const PodRecord& rec, int sign) {
  if (!rec.Holds()) return;
  auto& on_node = holding_by_node_[rec.node];
  const scoring::ShapeKey shape = scoring::ShapeKeyOf(rec.request);
  if (sign > 0) {
    if (on_node.insert(uid).second) ++holding_shapes_[shape];
  } else {
    if (on_node.erase(uid) > 0 && --holding_shapes_[shape] == 0) holding_shapes_.erase(shape);
    if (on_node.empty()) holding_by_node_.erase(rec.node);
  }
  ++holding_version_;
}

void ClusterStore::TouchPodNodes(const PodRecord& before, const PodRecord& after) {
  if (before.Holds()) TouchNode(before.node);
  if (after.Holds()) TouchNode(after.node);
}

Corrections ClusterStore::Replace(Kind kind, const std::vector<std::string>& items) {
  Corrections c;
  const int k = static_cast<int>(kind);
  c.first_list = !listed_[k];
  listed_[k] = true;
  std::unordered_set<std::string> seen;
  if (kind == Kind::kNode) {
    std::set<std::string> names;
    for (const std::string& item : items) {
      rapidjson::Document doc;
      if (!crd::ParseJson(item, &doc).ok() || !doc.IsObject()) continue;
      if (std::string name = NameOf(doc); !name.empty()) names.insert(std::move(name));
    }
    for (const std::string& name : names) {
      if (node_names_.count(name) == 0) {
        ++c.added;
        TouchNode(name);
      }
    }
    for (const std::string& name : node_names_) {
      if (names.count(name) == 0) {
        ++c.removed;
        rebuild_all_ = true;  // node indexes are reassigned
      }
    }
    node_names_ = std::move(names);
    return c;
  }
  if (kind == Kind::kCnr || kind == Kind::kNrt) {
    auto& objects = kind == Kind::kCnr ? cnrs_ : nrts_;
    for (const std::string& item : items) {
      rapidjson::Document doc;
      if (!crd::ParseJson(item, &doc).ok() || !doc.IsObject()) continue;
      const std::string name = NameOf(doc);
      if (name.empty()) continue;
      seen.insert(name);
      const bool existed = objects.count(name) != 0;
      if (ApplyTopology(kind, false, doc, name)) ++(existed ? c.changed : c.added);
    }
    for (auto it = objects.begin(); it != objects.end();) {
      if (seen.count(it->first) != 0) {
        ++it;
        continue;
      }
      ++c.removed;
      TouchNode(it->first);
      it = objects.erase(it);
    }
    return c;
  }
  for (const std::string& item : items) {
    rapidjson::Document doc;
    if (!crd::ParseJson(item, &doc).ok() || !doc.IsObject()) continue;
    std::string uid;
    if (const Value* meta = crd::Member(doc, "metadata")) (void)crd::ReadString(*meta, "uid", "metadata", &uid);
    if (uid.empty()) continue;
    seen.insert(uid);
    auto old = pods_.find(uid);
    const bool existed = old != pods_.end() && old->second.from_api;
    if (ApplyPod(false, doc)) ++(existed ? c.changed : c.added);
  }
  // Pods only seen in filter calls (pending, not yet listed) survive; listed ones absent now are gone.
  std::vector<std::string> gone;
  for (const auto& [uid, rec] : pods_) {
    if (rec.from_api && seen.count(uid) == 0) gone.push_back(uid);
  }
  for (const std::string& uid : gone) {
    auto it = pods_.find(uid);
    IndexPod(uid, it->second, -1);
    TouchPodNodes(it->second, PodRecord{});
    pods_.erase(it);
    ++c.removed;
  }
  if (c.first_list) c = Corrections{true, 0, 0, 0};
  return c;
}

void ClusterStore::Apply(Kind kind, bool deleted, const std::string& object) {
  rapidjson::Document doc;
  if (!crd::ParseJson(object, &doc).ok() || !doc.IsObject()) return;
  if (kind == Kind::kPod) {
    (void)ApplyPod(deleted, doc);
    return;
  }
  const std::string name = NameOf(doc);
  if (name.empty()) return;
  if (kind == Kind::kNode) {
    if (deleted) {
      if (node_names_.erase(name) > 0) rebuild_all_ = true;  // node indexes are reassigned
    } else if (node_names_.insert(name).second) {
      TouchNode(name);
    }
    return;
  }
  (void)ApplyTopology(kind, deleted, doc, name);
}

bool ClusterStore::ApplyTopology(Kind kind, bool deleted, const Value& doc, const std::string& name) {
  auto& objects = kind == Kind::kCnr ? cnrs_ : nrts_;
  if (deleted) {
    if (objects.erase(name) == 0) return false;
    TouchNode(name);
    return true;
  }
  auto old = objects.find(name);
  if (kind == Kind::kCnr) {
    if (old != objects.end() && old->second.content == TopologyContent(doc)) {
      // A heartbeat: the time moves on, nothing else. It may bring a stale CNR back.
      RefreshHeartbeat(doc, &old->second);
      if (auto rec = nodes_.find(name); rec != nodes_.end() && TopologyMoved(name, rec->second)) TouchNode(name);
      return false;
    }
    objects[name] = DecodeCnrEntry(doc, name, options_.cnr_read);
  } else {
    TopologyEntry e = DecodeNrtEntry(doc, name, options_.cnr_read);
    if (old != objects.end() && old->second.content == e.content) {
      old->second.resource_version = e.resource_version;
      return false;
    }
    objects[name] = std::move(e);
  }
  TouchNode(name);
  return true;
}

bool ClusterStore::ApplyPod(bool deleted, const Value& doc) {
  Result<scoring::PodRequest> req = crd::DecodePodRequest(doc);
  if (!req.ok() || req->uid.empty()) return false;
  auto existing = pods_.find(req->uid);
  if (deleted) {
    if (existing == pods_.end()) return false;
    (void)TakeHold(existing->first);
    IndexPod(existing->first, existing->second, -1);
    TouchPodNodes(existing->second, PodRecord{});
    filtered_only_.erase(existing->first);
    pods_.erase(existing);
    return true;
  }
  std::string phase;
  if (const Value* status = crd::Member(doc, "status")) (void)crd::ReadString(*status, "phase", "status", &phase);
  std::string content = crd::PodShape(doc) + '\n' + phase;
  if (existing != pods_.end() && existing->second.from_api && existing->second.content == content) return false;
  PodRecord rec;
  rec.content = std::move(content);
  rec.request = *std::move(req);
  rec.from_api = true;
  if (const Value* spec = crd::Member(doc, "spec")) (void)crd::ReadString(*spec, "nodeName", "spec", &rec.node);
  rec.terminal = phase == "Succeeded" || phase == "Failed";
  std::map<std::string, std::string> annotations;
  if (const Value* meta = crd::Member(doc, "metadata"))
    (void)crd::ReadStringMap(*meta, "annotations", "metadata", &annotations);
  if (auto a = annotations.find(kAllocationAnnotation); a != annotations.end()) rec.allocation = a->second;
  const std::string uid = rec.request.uid;
  if (!rec.node.empty()) (void)TakeHold(uid);  // bound (by this extender's bind, or by someone else)
  if (existing == pods_.end()) {
    IndexPod(uid, rec, +1);
    TouchPodNodes(PodRecord{}, rec);
    pods_.emplace(uid, std::move(rec));
    return true;
  }
  PodRecord& old = existing->second;
  // A bind this process made may be newer than the event (annotation written, Binding not yet seen).
  if (rec.node.empty() && !old.node.empty()) {
    rec.node = old.node;
    if (rec.allocation.empty()) rec.allocation = old.allocation;
  }
  rec.binding = old.binding;
  // Only what the ledger depends on touches a node: a status update (Pending to Running) does not.
  const bool same_charge = old.node == rec.node && old.allocation == rec.allocation &&
                           old.terminal == rec.terminal && old.from_api &&
                           ShapeOf(old.content) == ShapeOf(rec.content);
  if (!same_charge) {
    IndexPod(uid, old, -1);
    IndexPod(uid, rec, +1);
    TouchPodNodes(old, rec);
  }
  old = std::move(rec);
  return true;
}

void ClusterStore::NoteFilteredPod(const scoring::PodRequest& pod) {
  if (pod.uid.empty()) return;
  auto [it, added] = pods_.try_emplace(pod.uid);
  if (added) it->second.request = pod;  // for the bind that follows
  if (!it->second.from_api && it->second.node.empty()) filtered_only_[pod.uid] = options_.clock->Monotonic();
}

Status ClusterStore::BeginBind(const std::string& uid, const std::string& node,
                               const scoring::Placement* placement, std::string allocation) {
  auto pod = pods_.find(uid);
  if (pod == pods_.end()) return Status::NotFound("pod " + uid + " is unknown");
  if (!pod->second.node.empty())
    return Status::InvalidArgument("pod " + uid + " is already on " + pod->second.node);
  if (placement != nullptr) {
    if (Status st = cluster_.Reserve(pod->second.request, *placement); !st.ok()) return st;
    const char* source = allocation.empty() ? "node_level" : "annotation";  // as a re-derivation will count it
    AddCharge(&charged_by_node_[node], {uid, source, true});
  }
  pod->second.node = node;
  pod->second.allocation = std::move(allocation);
  pod->second.binding = true;
  IndexPod(uid, pod->second, +1);
  filtered_only_.erase(uid);
  ++version_;
  return Status::Ok();
}

void ClusterStore::EndBind(const std::string& uid, bool bound) {
  auto pod = pods_.find(uid);
  if (pod == pods_.end()) return;  // deleted meanwhile: its node was re-derived without it
  PodRecord& rec = pod->second;
  rec.binding = false;
  if (bound || rec.node.empty()) return;
  ReleaseChargeOf(rec.node, uid);
  IndexPod(uid, rec, -1);
  rec.node.clear();
  rec.allocation.clear();
  ++version_;
}

Status ClusterStore::Hold(const std::string& uid, const std::string& node, const scoring::Placement& placement,
                          std::string allocation) {
  (void)TakeHold(uid);
  auto pod = pods_.find(uid);
  if (pod == pods_.end()) return Status::NotFound("pod " + uid + " is unknown");
  if (!pod->second.node.empty())
    return Status::InvalidArgument("pod " + uid + " is already on " + pod->second.node);
  if (Status st = cluster_.Reserve(pod->second.request, placement); !st.ok()) return st;
  AddCharge(&charged_by_node_[node], {uid, "held", true});
  holds_[uid] =
      HeldPlacement{node, placement, std::move(allocation), options_.clock->Monotonic() + options_.hold_ttl};
  ++version_;
  return Status::Ok();
}

std::optional<HeldPlacement> ClusterStore::TakeHold(const std::string& uid) {
  auto hold = holds_.find(uid);
  if (hold == holds_.end()) return std::nullopt;
  HeldPlacement out = std::move(hold->second);
  holds_.erase(hold);
  ReleaseChargeOf(out.node, uid);
  ++version_;
  return out;
}

void ClusterStore::DropExpiredHolds() {
  const auto now = options_.clock->Monotonic();
  if (holds_.empty() || now - last_hold_sweep_ < std::chrono::seconds(1)) return;
  last_hold_sweep_ = now;
  std::vector<std::string> expired;
  for (const auto& [uid, hold] : holds_) {
    if (now >= hold.expires) expired.push_back(uid);
  }
  for (const std::string& uid : expired) (void)TakeHold(uid);
}

void ClusterStore::ChargeHolds(const std::string& name, const NodeRecord& node) {
  std::vector<Charge>& charged = charged_by_node_[name];
  for (auto it = holds_.begin(); it != holds_.end();) {
    HeldPlacement& hold = it->second;
    if (hold.node != name) {
      ++it;
      continue;
    }
    auto pod = pods_.find(it->first);
    hold.placement.node = node.index;  // a whole rebuild renumbers nodes
    if (node.has_topology && pod != pods_.end() && pod->second.node.empty() &&
        cluster_.Reserve(pod->second.request, hold.placement).ok()) {
      AddCharge(&charged, {it->first, "held", true});
      ++it;
    } else {
      it = holds_.erase(it);  // the node changed under it: the bind will place the pod afresh
    }
  }
}

const PodRecord* ClusterStore::FindPod(const std::string& uid) const {
  auto it = pods_.find(uid);
  return it == pods_.end() ? nullptr : &it->second;
}

const NodeRecord* ClusterStore::FindNode(std::string_view name) const {
  auto it = nodes_.find(name);
  return it == nodes_.end() ? nullptr : &it->second;
}

int ClusterStore::ledger_pods(const char* source) const {
  auto it = ledger_sources_.find(source);
  return it == ledger_sources_.end() ? 0 : it->second;
}

void ClusterStore::ForgetUnboundFilteredPods() {
  const auto now = options_.clock->Monotonic();
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

void ClusterStore::CheckStaleness() {
  // Heartbeats age without events: once a second, see which nodes' CNR turned stale (or fresh again).
  const auto now = options_.clock->Monotonic();
  if (now - last_stale_check_ < std::chrono::seconds(1)) return;
  last_stale_check_ = now;
  for (const auto& [name, rec] : nodes_) {
    if (TopologyMoved(name, rec)) TouchNode(name);
  }
}

TopologyChoice ClusterStore::ChooseFor(const std::string& name) const {
  auto cnr = cnrs_.find(name);
  auto nrt = nrts_.find(name);
  return ChooseTopology(options_.topology_source, cnr == cnrs_.end() ? nullptr : &cnr->second,
                        nrt == nrts_.end() ? nullptr : &nrt->second, options_.clock->Now(),
                        options_.cnr_stale_after);
}

bool ClusterStore::TopologyMoved(const std::string& name, const NodeRecord& rec) const {
  const TopologyChoice choice = ChooseFor(name);
  return (choice.entry != nullptr) != rec.has_topology || choice.from_nrt != rec.from_nrt ||
         std::strcmp(choice.unusable, rec.unusable) != 0;
}

void ClusterStore::Refresh() {
  ForgetUnboundFilteredPods();
  DropExpiredHolds();
  if (!rebuild_all_) CheckStaleness();
  if (rebuild_all_) {
    RebuildAll();
    return;
  }
  if (dirty_nodes_.empty()) return;
  // Sorted: the order nodes are re-derived in never shows in the result, but a fixed order keeps runs equal.
  std::vector<std::string> dirty(dirty_nodes_.begin(), dirty_nodes_.end());
  dirty_nodes_.clear();
  std::sort(dirty.begin(), dirty.end());
  for (const std::string& name : dirty) RebuildNode(name);
}

void ClusterStore::RebuildAll() {
  cluster_ = scoring::ClusterState();
  nodes_.clear();
  charged_by_node_.clear();
  ledger_sources_.clear();
  unusable_.clear();
  ++unusable_version_;
  for (const std::string& name : node_names_) RebuildNode(name);
  rebuild_all_ = false;
  dirty_nodes_.clear();
  ++full_rebuilds_;
  ++membership_version_;
  ++record_flags_version_;
  ++version_;
  last_stale_check_ = options_.clock->Monotonic();
}

void ClusterStore::ReleaseNode(const std::string& name) {
  auto charged = charged_by_node_.find(name);
  if (charged == charged_by_node_.end()) return;
  for (const Charge& c : charged->second) Release(c);
  charged_by_node_.erase(charged);
}

void ClusterStore::AddCharge(std::vector<Charge>* charged, Charge c) {
  if (c.source != nullptr) ++ledger_sources_[c.source];
  charged->push_back(c);
}

void ClusterStore::ReleaseChargeOf(const std::string& node, const std::string& uid) {
  auto charged = charged_by_node_.find(node);
  if (charged == charged_by_node_.end()) return;
  auto& list = charged->second;
  auto it = std::find_if(list.begin(), list.end(), [&](const Charge& c) { return c.uid == uid; });
  if (it != list.end()) {
    Release(*it);
    list.erase(it);
  }
}

void ClusterStore::Release(const Charge& c) {
  if (c.charged) (void)cluster_.Unreserve(c.uid);
  if (c.source != nullptr) --ledger_sources_[c.source];
}

void ClusterStore::RebuildNode(const std::string& name) {
  ReleaseNode(name);
  ++version_;
  auto rec_it = nodes_.find(name);
  if (node_names_.count(name) == 0) {
    // No Node object: its pods hold nothing here. (A deleted node forces a whole rebuild, so no record is left.)
    return;
  }
  const TopologyChoice choice = ChooseFor(name);
  scoring::NodeState state;
  state.name = name;
  if (choice.entry != nullptr) state = choice.entry->state;
  const bool created = rec_it == nodes_.end();
  if (created) {
    NodeRecord rec;
    rec.index = cluster_.AddNode(std::move(state));
    rec_it = nodes_.emplace(name, rec).first;
    rec_it->second.name = rec_it->first;
    ++membership_version_;
  } else {
    (void)cluster_.ReplaceNode(rec_it->second.index, std::move(state));
  }
  NodeRecord& rec = rec_it->second;
  if (created || rec.from_nrt != choice.from_nrt || rec.has_topology != (choice.entry != nullptr))
    ++record_flags_version_;
  rec.from_nrt = choice.from_nrt;
  rec.topology_reason = choice.reason;
  rec.unusable = choice.unusable;
  rec.has_topology = choice.entry != nullptr;
  if (*rec.unusable != '\0') {
    UnusableNode& u = unusable_[name];
    if (u.name != name || std::strcmp(u.reason, rec.unusable) != 0 || u.from_nrt != rec.from_nrt) {
      u = UnusableNode{name, rec.unusable, rec.from_nrt};
      ++unusable_version_;
    }
  } else if (unusable_.erase(name) != 0) {
    ++unusable_version_;
  }
  ++node_rebuilds_;
  ChargeNode(name, &rec);
  ChargeHolds(name, rec);
}

void ClusterStore::ChargeNode(const std::string& name, NodeRecord* node) {
  if (!node->has_topology) return;
  auto holding = holding_by_node_.find(name);
  auto cnr = cnrs_.find(name);
  const TopologyEntry* cnr_entry = cnr == cnrs_.end() ? nullptr : &cnr->second;
  std::vector<Charge>& charged = charged_by_node_[name];
  if (holding != holding_by_node_.end()) {
    // The ledger: one entry per bound pod, never two (see LedgerPlacement). Pods whose devices are known go
    // first, so that a guess for a foreign pod never takes a card a known pod holds; by UID after that, so that
    // every replica derives the same node from the same objects.
    std::vector<const PodRecord*> pods;
    pods.reserve(holding->second.size());
    for (const std::string& uid : holding->second) pods.push_back(&pods_.at(uid));
    auto known = [&](const PodRecord* r) {
      if (!r->allocation.empty() || !r->request.gpu.any()) return true;
      return cnr_entry != nullptr && cnr_entry->reported.count(r->request.Key()) != 0;
    };
    std::stable_sort(pods.begin(), pods.end(),
                     [&](const PodRecord* a, const PodRecord* b) { return known(a) && !known(b); });
    for (const PodRecord* rp : pods) {
      const PodRecord& rec = *rp;
      const std::string& uid = rec.request.uid;
      if (node->from_nrt && rec.allocation.empty() && PinnedByKubelet(cluster_.node(node->index), rec.request)) {
        // The NRT's producer counts what the kubelet pinned for it (ChargeNrtHeld).
        AddCharge(&charged, {uid, "nrt", false});
        continue;
      }
      const char* source = "node_level";
      const scoring::Placement placement =
          LedgerPlacement(rec.request, rec.allocation, cluster_.node(node->index), node->index, cnr_entry,
                          options_.resource_policy, &source);
      bool held = cluster_.Reserve(rec.request, placement).ok();
      if (!held) {
        // The report or annotation contradicts the rest of the ledger (e.g. an agent's stale view): keep the
        // pod at node level rather than lose it, and say so.
        scoring::Placement fallback;
        fallback.node = node->index;
        held = !rec.request.gpu.any() && cluster_.Reserve(rec.request, fallback).ok();
        source = held ? "node_level" : "unaccounted";
      }
      AddCharge(&charged, {uid, source, held});
    }
  }
  if (node->from_nrt) {
    if (auto nrt = nrts_.find(name); nrt != nrts_.end()) ChargeNrtHeld(name, *node, nrt->second);
  }
}

void ClusterStore::ChargeNrtHeld(const std::string& node_name, const NodeRecord& node, const TopologyEntry& nrt) {
  // The NRT's producer counts what the kubelet holds exclusively on each NUMA node (allocatable - available),
  // Tessera's own pods included once admitted. What it counts beyond what Tessera's ledger pins there (pods
  // Tessera did not place, or admitted on another NUMA node than the ledger says) is charged as one synthetic
  // pinned holder per NUMA node. Pods Tessera placed but the kubelet has not admitted yet stay charged by the
  // ledger, so a lagging NRT never frees what is promised.
  std::vector<Charge>& charged = charged_by_node_[node_name];
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
    // Refused only where the ledger already holds more than the NRT says.
    if (cluster_.Reserve(held, p).ok()) AddCharge(&charged, {held.uid, nullptr, true});
  }
}

scoring::ClusterState ClusterStore::ClusterWithTopology() const {
  scoring::ClusterState out;
  std::vector<std::string> names;
  for (const auto& [name, rec] : nodes_) {
    if (rec.has_topology) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  std::unordered_map<uint32_t, uint32_t> index;  // old -> new
  for (const std::string& name : names) {
    const uint32_t old_index = nodes_.at(name).index;
    scoring::NodeState n = cluster_.node(old_index);
    // Usage is re-applied below through Reserve, from the ledger.
    n.pinned_cpu_milli = n.pinned_memory = n.shared_cpu_used_milli = n.shared_memory_used = 0;
    n.reclaimed_cpu_used_milli = n.reclaimed_memory_used = 0;
    n.pods_with_required_anti_affinity = 0;
    n.gpu_pods_by_class = {};
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
    index[old_index] = out.AddNode(std::move(n));
  }
  // Every entry of the ledger, NRT producers' synthetic holders included: what is held is held.
  for (const std::string& name : names) {
    auto charged = charged_by_node_.find(name);
    if (charged == charged_by_node_.end()) continue;
    for (const Charge& c : charged->second) {
      const scoring::LedgerEntry* e = c.charged ? cluster_.FindPod(c.uid) : nullptr;
      if (e == nullptr) continue;
      scoring::Placement p = e->placement;
      p.node = index.at(e->placement.node);
      (void)out.Reserve(e->pod, p);
    }
  }
  return out;
}

Status ClusterStore::LoadSnapshot(const std::string& path,
                                  std::optional<std::chrono::system_clock::time_point> at) {
  Result<SnapshotObjects> objects = ReadSnapshot(path);
  if (!objects.ok()) return objects.status();
  if (const auto t = at ? at : objects->newest; t.has_value())
    options_.clock = std::make_shared<StoppedWallClock>(*t, options_.clock);
  (void)Replace(Kind::kNode, objects->nodes);
  (void)Replace(Kind::kCnr, objects->cnrs);
  (void)Replace(Kind::kNrt, objects->nrts);
  (void)Replace(Kind::kPod, objects->pods);
  Refresh();
  return Status::Ok();
}

}  // namespace tessera::state
