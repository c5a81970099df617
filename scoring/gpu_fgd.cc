// fgd: Fragmentation Gradient Descent (Weng et al., USENIX ATC 2023; shared/reference/fgd.md §4). The node whose
// fragmentation against the target workload grows least when the pod lands on it wins; inside the node a one-card
// share takes the card that leaves the node least fragmented (first on ties). Node fragmentation before the pod
// is cached per node version, so only nodes that changed are recomputed.
#include "scoring/gpu_policy.h"

namespace tessera::scoring {
namespace {

class FgdPolicy : public GpuPolicy {
 public:
  std::string_view Name() const override { return "fgd"; }
  double Score(const GpuScoreInput& in) const override {
    if (in.node->gpus.empty()) return 0;
    const double before = in.ctx->NodeFragmentationCached(*in.cluster, in.node_index);
    double after = 0;
    if (!in.ctx->RecallChoice(in.node_index, in.gpu_mask, &after))
      after = in.ctx->FragmentationOf(ViewAfter(in), in.node_index);
    return -(after - before);
  }
  int ChooseCard(const GpuScoreInput& in, const std::vector<int>& candidates) const override {
    return LeastFragmentingCard(in, candidates, &GpuContext::FragmentationOf);
  }
};

}  // namespace

std::unique_ptr<GpuPolicy> NewFgdPolicy() {
  return std::make_unique<FgdPolicy>();
}

}  // namespace tessera::scoring
