// bestfit (the FGD paper's baseline, as its simulator scores it): the integer
// 100 * (1 - [0.5 (free CPU - request) / max CPU + 0.5 (free GPU - request) / max GPU]), i.e. the node left with
// the least weighted residual, then min-max rescaled in integers across the nodes; tightest card.
#include <cmath>

#include "scoring/gpu_policy.h"

namespace tessera::scoring {
namespace {

class BestFitPolicy : public GpuPolicy {
 public:
  std::string_view Name() const override { return "bestfit"; }
  double Score(const GpuScoreInput& in) const override {
    GpuView v = ViewAfter(in);
    int64_t free_gpu = 0;
    for (int i = 0; i < v.count; ++i) free_gpu += v.free_milli[i];
    const double residual =
        0.5 * static_cast<double>(v.free_cpu_milli) / static_cast<double>(in.ctx->max_node_cpu_milli) +
        0.5 * static_cast<double>(free_gpu) / static_cast<double>(in.ctx->max_node_gpu_milli);
    return std::trunc((1.0 - residual) * 100.0);
  }
  Normalization ScoreNormalization() const override { return Normalization::kIntMinMax; }
};

}  // namespace

std::unique_ptr<GpuPolicy> NewBestFitPolicy() {
  return std::make_unique<BestFitPolicy>();
}

}  // namespace tessera::scoring
