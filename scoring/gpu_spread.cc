// spread: the emptiest node first (most free GPU compute left, then CPU), the loosest card.
#include "scoring/gpu_policy.h"

namespace tessera::scoring {
namespace {

class SpreadPolicy : public GpuPolicy {
 public:
  std::string_view Name() const override { return "spread"; }
  double Score(const GpuScoreInput& in) const override {
    GpuView v = ViewAfter(in);
    int64_t free = 0;
    for (int i = 0; i < v.count; ++i) free += v.free_milli[i];
    return static_cast<double>(free) / static_cast<double>(in.ctx->max_node_gpu_milli) +
           1e-3 * static_cast<double>(v.free_cpu_milli) / static_cast<double>(in.ctx->max_node_cpu_milli);
  }
  int ChooseCard(const GpuScoreInput& in, const std::vector<int>& candidates) const override {
    int best = candidates.front();
    for (int c : candidates) {
      if (in.node->gpus[static_cast<size_t>(c)].free_milli > in.node->gpus[static_cast<size_t>(best)].free_milli)
        best = c;
    }
    return best;
  }
};

}  // namespace

std::unique_ptr<GpuPolicy> NewSpreadPolicy() {
  return std::make_unique<SpreadPolicy>();
}

}  // namespace tessera::scoring
