#include "scoring/gpu_policy.h"

#include <algorithm>

namespace tessera::scoring {

std::unique_ptr<GpuPolicy> NewBinpackPolicy();
std::unique_ptr<GpuPolicy> NewSpreadPolicy();
std::unique_ptr<GpuPolicy> NewRandomPolicy();
std::unique_ptr<GpuPolicy> NewDotProdPolicy();
std::unique_ptr<GpuPolicy> NewBestFitPolicy();
std::unique_ptr<GpuPolicy> NewFgdPolicy();
std::unique_ptr<GpuPolicy> NewTesseraPolicy();

const std::vector<std::string>& GpuPolicyNames() {
  static const std::vector<std::string> kNames = {"tessera", "fgd", "bestfit", "dotprod", "binpack", "spread", "random"};
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
    value = NodeFragmentation(MakeGpuView(n), workload);
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
  model_masks_.clear();
  memo_.clear();
}

uint64_t GpuContext::ModelMask(const GpuView& view, uint32_t node) {
  if (!any_model_constraint_) return 0;
  if (model_masks_.size() <= node) model_masks_.resize(node + 1, {false, 0});
  auto& [done, mask] = model_masks_[node];
  if (!done) {
    // Models of a node's cards do not change: which shapes they serve is computed once per node.
    for (size_t s = 0; s < workload.shapes.size() && s < 64; ++s) {
      const TaskShape& shape = workload.shapes[s];
      bool served = shape.models.empty();
      for (int i = 0; i < view.count && !served; ++i) {
        served = std::find(shape.models.begin(), shape.models.end(), *view.models[i]) != shape.models.end();
      }
      if (served) mask |= uint64_t{1} << s;
    }
    done = true;
  }
  return mask;
}

size_t GpuContext::KeyHash::operator()(const Key& k) const {
  uint64_t h = k.count * 0x9e3779b97f4a7c15ull ^ k.cpu_class ^ (k.models * 0xbf58476d1ce4e5b9ull);
  for (int16_t f : k.free) h = (h ^ static_cast<uint64_t>(f + 1)) * 0x100000001b3ull;
  return static_cast<size_t>(h);
}

double GpuContext::FragmentationOf(const GpuView& view, uint32_t node) {
  PrepareShapes();
  if (view.count > 8 || workload.shapes.size() > 64) return NodeFragmentation(view, workload);
  Key key;
  key.count = static_cast<uint8_t>(view.count);
  for (int i = 0; i < view.count; ++i) key.free[static_cast<size_t>(i)] = static_cast<int16_t>(view.free_milli[i]);
  // Card order matters only when cards differ in model.
  if (!any_model_constraint_) std::sort(key.free.begin(), key.free.begin() + view.count);
  key.cpu_class = static_cast<uint8_t>(std::upper_bound(shape_cpus_.begin(), shape_cpus_.end(), view.free_cpu_milli) - shape_cpus_.begin());
  key.models = ModelMask(view, node);
  auto it = memo_.find(key);
  if (it != memo_.end()) return it->second;
  const double f = NodeFragmentation(view, workload);
  if (!any_model_constraint_) memo_.emplace(key, f);  // with per-card models the key would need card order too
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

int TightestCard(const NodeState& node, const std::vector<int>& candidates) {
  int best = candidates.front();
  for (int c : candidates) {
    if (node.gpus[static_cast<size_t>(c)].free_milli < node.gpus[static_cast<size_t>(best)].free_milli) best = c;
  }
  return best;
}

int GpuPolicy::ChooseCard(const GpuScoreInput& in, const std::vector<int>& candidates) const {
  return TightestCard(*in.node, candidates);
}

}  // namespace tessera::scoring
