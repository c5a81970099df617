// fgd: Fragmentation Gradient Descent (Weng et al., USENIX ATC 2023; shared/reference/fgd.md §4), as the paper's
// simulator runs it: a kube-scheduler score plugin whose score is the integer int(100 * sigmoid(-Δ / 1000)),
// Δ the growth of the node's fragmentation against the target workload (milli-GPU) when the pod lands on it.
// Scores are not rescaled across nodes. The integer score is coarse (one point is about 40 milli-GPU of Δ near
// zero, more further out), so many nodes tie; the paper's simulator gives a tie to the node first in a fixed
// order (SchedulerConfig::tie_rank), which packs tied pods onto the same nodes. That, not the exact Δ, is what
// its published figures measure. Inside the node a one-card share takes the card with the highest integer score,
// first on ties. Node fragmentation before the pod is cached per node version.
#include <cmath>

#include "scoring/gpu_policy.h"

namespace tessera::scoring {
namespace {

class FgdPolicy : public GpuPolicy {
 public:
  std::string_view Name() const override { return "fgd"; }
  double Score(const GpuScoreInput& in) const override {
    const double before = in.ctx->NodeFragmentationCached(*in.cluster, in.node_index);
    double after = 0;
    if (!in.ctx->RecallChoice(in.node_index, in.gpu_mask, &after))
      after = in.ctx->FragmentationOf(ViewAfter(in), in.node_index);
    return FgdPluginScore(before, after);
  }
  Normalization ScoreNormalization() const override { return Normalization::kNone; }
  int ChooseCard(const GpuScoreInput& in, const std::vector<int>& candidates) const override {
    return FgdCard(in, candidates);
  }
};

}  // namespace

std::unique_ptr<GpuPolicy> NewFgdPolicy() {
  return std::make_unique<FgdPolicy>();
}

}  // namespace tessera::scoring
