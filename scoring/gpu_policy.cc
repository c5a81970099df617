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
