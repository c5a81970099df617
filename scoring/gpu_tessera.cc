// tessera (the default GPU policy): FGD's fragmentation gradient, with two refinements measured on the openb
// trace (bench/README.md): among nodes whose fragmentation grows equally, the one left with the least residual
// GPU and CPU wins (FGD breaks these ties by node order, which scatters small shares over idle nodes), and a
// one-card share takes, among the cards that leave the node least fragmented, the fullest one.
#include "scoring/gpu_policy.h"

namespace tessera::scoring {
namespace {

class TesseraPolicy : public GpuPolicy {
 public:
  std::string_view Name() const override { return "tessera"; }
  double Score(const GpuScoreInput& in) const override {
    if (in.node->gpus.empty()) return 0;
    const double before = in.ctx->NodeFragmentationCached(*in.cluster, in.node_index);
    const GpuView after_view = ViewAfter(in);
    double after = 0;
    if (!in.ctx->RecallChoice(in.node_index, in.gpu_mask, &after)) after = in.ctx->FragmentationOf(after_view, in.node_index);
    const double delta = after - before;
    int64_t free_gpu = 0;
    for (int i = 0; i < after_view.count; ++i) free_gpu += after_view.free_milli[i];
    const double residual = 0.5 * static_cast<double>(after_view.free_cpu_milli) / static_cast<double>(in.ctx->max_node_cpu_milli) +
                            0.5 * static_cast<double>(free_gpu) / static_cast<double>(in.ctx->max_node_gpu_milli);
    return -delta - kTieBreak * residual;
  }
  int ChooseCard(const GpuScoreInput& in, const std::vector<int>& candidates) const override {
    int best = candidates.front();
    double best_frag = 0;
    for (int c : candidates) {
      GpuScoreInput trial = in;
      trial.gpu_mask = uint64_t{1} << c;
      const double f = in.ctx->FragmentationOf(ViewAfter(trial), in.node_index);
      const bool tighter = in.node->gpus[static_cast<size_t>(c)].free_milli < in.node->gpus[static_cast<size_t>(best)].free_milli;
      if (c == candidates.front() || f < best_frag - 1e-9 || (f < best_frag + 1e-9 && tighter)) {
        best = c;
        best_frag = f;
      }
    }
    in.ctx->RememberChoice(in.node_index, uint64_t{1} << best, best_frag);
    return best;
  }

 private:
  // Small against any real fragmentation difference (milli-GPU), large enough to order equal ones.
  static constexpr double kTieBreak = 1.0;
};

}  // namespace

std::unique_ptr<GpuPolicy> NewTesseraPolicy() { return std::make_unique<TesseraPolicy>(); }

}  // namespace tessera::scoring
