#include "scoring/gpu_policy.h"

#include <algorithm>
#include <cmath>

namespace tessera::scoring {

std::unique_ptr<GpuPolicy> NewBinpackPolicy();
std::unique_ptr<GpuPolicy> NewSpreadPolicy();
std::unique_ptr<GpuPolicy> NewRandomPolicy();
std::unique_ptr<GpuPolicy> NewDotProdPolicy();
std::unique_ptr<GpuPolicy> NewBestFitPolicy();
std::unique_ptr<GpuPolicy> NewFgdPolicy();
std::unique_ptr<GpuPolicy> NewTesseraPolicy();
std::unique_ptr<GpuPolicy> NewPackingPolicy();
std::unique_ptr<GpuPolicy> NewClusteringPolicy();

const std::vector<std::string>& GpuPolicyNames() {
  static const std::vector<std::string> kNames = {"tessera",    "fgd",     "bestfit", "dotprod", "packing",
                                                  "clustering", "binpack", "spread",  "random"};
  return kNames;
}

Result<std::unique_ptr<GpuPolicy>> MakeGpuPolicy(const std::string& name) {
  if (name == "binpack") return NewBinpackPolicy();
  if (name == "spread") return NewSpreadPolicy();
  if (name == "random") return NewRandomPolicy();
  if (name == "dotprod") return NewDotProdPolicy();
  if (name == "bestfit") return NewBestFitPolicy();
  if (name == "fgd") return NewFgdPolicy();
  if (name == "tessera") return NewTesseraPolicy();
  if (name == "packing") return NewPackingPolicy();
  if (name == "clustering") return NewClusteringPolicy();
  std::string known;
  for (const std::string& n : GpuPolicyNames()) known += (known.empty() ? "" : ", ") + n;
  return Status::InvalidArgument("unknown GPU policy \"" + name + "\" (known: " + known + ")");
}

void GpuContext::Calibrate(const ClusterState& cluster) {
  max_node_cpu_milli = 1;
  max_node_gpu_milli = 1;
  for (const NodeState& n : cluster.nodes()) {
    max_node_cpu_milli = std::max(max_node_cpu_milli, n.cpu_allocatable_milli);
    max_node_gpu_milli = std::max<int64_t>(max_node_gpu_milli, static_cast<int64_t>(n.gpus.size()) * 1000);
  }
}

double GpuContext::NodeFragmentationCached(const ClusterState& cluster, uint32_t node) {
  if (frag_cache_.size() < cluster.node_count()) frag_cache_.resize(cluster.node_count(), {0, 0.0});
  const NodeState& n = cluster.node(node);
  auto& [version, value] = frag_cache_[node];
  if (version != n.version + 1) {
    value = FragmentationOf(MakeGpuView(n), node);
    version = n.version + 1;
  }
  return value;
}

void GpuContext::PrepareShapes() {
  if (prepared_shapes_ == workload.shapes.size()) return;
  shape_cpus_.clear();
  any_model_constraint_ = false;
  for (const TaskShape& s : workload.shapes) {
    shape_cpus_.push_back(s.cpu_milli);
    any_model_constraint_ = any_model_constraint_ || !s.models.empty();
  }
  std::sort(shape_cpus_.begin(), shape_cpus_.end());
  shape_cpus_.erase(std::unique(shape_cpus_.begin(), shape_cpus_.end()), shape_cpus_.end());
  prepared_shapes_ = workload.shapes.size();
  memo_.map.clear();
}

size_t GpuContext::KeyHash::operator()(const Key& k) const {
  uint64_t h = k.lo * 0x9e3779b97f4a7c15ull;
  h ^= (k.hi + 0x632be59bd9b4e019ull) * 0xbf58476d1ce4e5b9ull;
  return static_cast<size_t>(h ^ (h >> 31));
}

double GpuContext::FragmentationOf(const GpuView& view, uint32_t /*node*/) {
  PrepareShapes();
  return Lookup(memo_, workload, view);
}

double GpuContext::Lookup(Memo& memo, const TargetWorkload& w, const GpuView& view) {
  if (view.count > 8 || w.shapes.size() > 64) return NodeFragmentation(view, w);
  if (any_model_constraint_) return NodeFragmentation(view, w);  // card order and models would matter
  std::array<int64_t, 8> free{};
  for (int i = 0; i < view.count; ++i) {
    free[static_cast<size_t>(i)] = std::clamp<int64_t>(view.free_milli[i], 0, 1023);
    for (int j = i; j > 0 && free[static_cast<size_t>(j - 1)] > free[static_cast<size_t>(j)];
         --j) {  // insertion sort
      std::swap(free[static_cast<size_t>(j - 1)], free[static_cast<size_t>(j)]);
    }
  }
  const uint64_t cpu_class = static_cast<uint64_t>(
      std::upper_bound(shape_cpus_.begin(), shape_cpus_.end(), view.free_cpu_milli) - shape_cpus_.begin());
  Key key;
  for (size_t i = 0; i < 6; ++i) key.lo |= static_cast<uint64_t>(free[i]) << (10 * i);
  key.hi = static_cast<uint64_t>(free[6]) | static_cast<uint64_t>(free[7]) << 10 |
           static_cast<uint64_t>(view.count) << 20 | cpu_class << 24;
  auto it = memo.map.find(key);
  if (it != memo.map.end()) return it->second;
  const double f = NodeFragmentation(view, w);
  memo.map.emplace(key, f);
  return f;
}

GpuView ViewAfter(const GpuScoreInput& in) {
  GpuView v = MakeGpuView(*in.node);
  v.free_cpu_milli -= in.pod->cpu_milli;
  for (int i = 0; i < v.count; ++i) {
    if (in.gpu_mask >> i & 1) v.free_milli[i] -= in.pod->gpu.milli_per_gpu;
  }
  return v;
}

double FgdPluginScore(double before, double after) {
  return std::trunc(100.0 / (1.0 + std::exp(-(before - after) / 1000.0)));
}

int TightestCard(const NodeState& node, const std::vector<int>& candidates) {
  int best = candidates.front();
  for (int c : candidates) {
    if (node.gpus[static_cast<size_t>(c)].free_milli < node.gpus[static_cast<size_t>(best)].free_milli) best = c;
  }
  return best;
}

int FgdCard(const GpuScoreInput& in, const std::vector<int>& candidates) {
  const double before = in.ctx->NodeFragmentationCached(*in.cluster, in.node_index);
  int best = candidates.front();
  double best_frag = 0;
  double best_score = 0;
  int64_t seen_free[64];
  int seen = 0;
  for (int c : candidates) {
    // Cards with the same free compute leave the node equally fragmented: evaluate each value once.
    const int64_t free = in.node->gpus[static_cast<size_t>(c)].free_milli;
    bool dup = false;
    for (int k = 0; k < seen && !dup; ++k) dup = seen_free[k] == free;
    if (dup) continue;
    seen_free[seen++] = free;
    GpuScoreInput trial = in;
    trial.gpu_mask = uint64_t{1} << c;
    const double f = in.ctx->FragmentationOf(ViewAfter(trial), in.node_index);
    const double score = FgdPluginScore(before, f);
    if (c == candidates.front() || score > best_score) {
      best = c;
      best_frag = f;
      best_score = score;
    }
  }
  in.ctx->RememberChoice(in.node_index, uint64_t{1} << best, best_frag);
  return best;
}

int GpuPolicy::ChooseCard(const GpuScoreInput& in, const std::vector<int>& candidates) const {
  return TightestCard(*in.node, candidates);
}

}  // namespace tessera::scoring
