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
    if (!in.ctx->RecallChoice(in.node_index, in.gpu_mask, &after)) after = in.ctx->FragmentationOf(ViewAfter(in), in.node_index);
    return -(after - before);
  }
  int ChooseCard(const GpuScoreInput& in, const std::vector<int>& candidates) const override {
    int best = candidates.front();
    double best_frag = 0;
    int64_t seen_free[64];
    int seen = 0;
    for (int c : candidates) {
      // Cards with the same free compute give the same node fragmentation: evaluate each value once.
      const int64_t free = in.node->gpus[static_cast<size_t>(c)].free_milli;
      bool dup = false;
      for (int k = 0; k < seen && !dup; ++k) dup = seen_free[k] == free;
      if (dup) continue;
      seen_free[seen++] = free;
      GpuScoreInput trial = in;
      trial.gpu_mask = uint64_t{1} << c;
      const double f = in.ctx->FragmentationOf(ViewAfter(trial), in.node_index);
      if (c == candidates.front() || f < best_frag) {
        best = c;
        best_frag = f;
      }
    }
    in.ctx->RememberChoice(in.node_index, uint64_t{1} << best, best_frag);
    return best;
  }
};

}  // namespace

std::unique_ptr<GpuPolicy> NewFgdPolicy() { return std::make_unique<FgdPolicy>(); }

}  // namespace tessera::scoring
