// tessera (the default GPU policy). FGD (gpu_fgd.cc) takes the node whose fragmentation *grows* least; measured
// on the openb trace, two changes strand fewer GPUs (bench/README.md has the figures):
//   1. The node that is *left* least fragmented wins (fragmentation after placement, not its growth): the pod
//      goes where it completes a node's free slots, instead of onto idle nodes where it costs little now but
//      breaks a whole node up for later.
//   2. Fragmentation is weighed by GPU demand: each task shape of the target workload counts in proportion to the
//      milli-GPU it asks for, not just how often it occurs, so the rare 8-GPU jobs that need whole nodes are not
//      drowned out by frequent small shares and CPU-only pods.
// Ties go to the node left with the least residual CPU and GPU (best fit); a one-card share takes the card that
// leaves the node least fragmented, first on ties.
#include "scoring/gpu_policy.h"

namespace tessera::scoring {
namespace {

class TesseraPolicy : public GpuPolicy {
 public:
  std::string_view Name() const override { return "tessera"; }
  double Score(const GpuScoreInput& in) const override {
    if (in.node->gpus.empty()) return 0;
    const GpuView after_view = ViewAfter(in);
    double after = 0;
    if (!in.ctx->RecallChoice(in.node_index, in.gpu_mask, &after))
      after = in.ctx->DemandFragmentationOf(after_view, in.node_index);
    int64_t free_gpu = 0;
    for (int i = 0; i < after_view.count; ++i) free_gpu += after_view.free_milli[i];
    const double residual =
        0.5 * static_cast<double>(after_view.free_cpu_milli) / static_cast<double>(in.ctx->max_node_cpu_milli) +
        0.5 * static_cast<double>(free_gpu) / static_cast<double>(in.ctx->max_node_gpu_milli);
    return -after - kTieBreak * residual;
  }
  int ChooseCard(const GpuScoreInput& in, const std::vector<int>& candidates) const override {
    return LeastFragmentingCard(in, candidates, &GpuContext::DemandFragmentationOf);
  }

 private:
  // Fragmentation is in milli-GPU; the residual is a fraction of the largest node: this only orders equal ones.
  static constexpr double kTieBreak = 1.0;
};

}  // namespace

std::unique_ptr<GpuPolicy> NewTesseraPolicy() {
  return std::make_unique<TesseraPolicy>();
}

}  // namespace tessera::scoring
