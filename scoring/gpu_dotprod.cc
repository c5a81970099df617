// dotprod (Tetris-style, the FGD paper's baseline, as its simulator scores it): the dot product of the node's free
// (CPU, GPU) vector with the pod's request vector, both divided by the largest node's, averaged over the two
// dimensions; the integer 100 * (1 - that) is the score, used as is: the smaller the product, the better (the pod
// goes where the free room matches it least). Tightest card.
#include <cmath>

#include "scoring/gpu_policy.h"

namespace tessera::scoring {
namespace {

class DotProdPolicy : public GpuPolicy {
 public:
  std::string_view Name() const override { return "dotprod"; }
  double Score(const GpuScoreInput& in) const override {
    const double cpu_norm = static_cast<double>(in.ctx->max_node_cpu_milli);
    const double gpu_norm = static_cast<double>(in.ctx->max_node_gpu_milli);
    GpuView v = MakeGpuView(*in.node);
    int64_t free_gpu = 0;
    for (int i = 0; i < v.count; ++i) free_gpu += v.free_milli[i];
    const double req_gpu = static_cast<double>(in.pod->gpu.count * in.pod->gpu.milli_per_gpu);
    const double dot =
        (static_cast<double>(v.free_cpu_milli) / cpu_norm) * (static_cast<double>(in.pod->cpu_milli) / cpu_norm) +
        (static_cast<double>(free_gpu) / gpu_norm) * (req_gpu / gpu_norm);
    return std::trunc(100.0 * (1.0 - dot / 2.0));
  }
  Normalization ScoreNormalization() const override { return Normalization::kNone; }
};

}  // namespace

std::unique_ptr<GpuPolicy> NewDotProdPolicy() {
  return std::make_unique<DotProdPolicy>();
}

}  // namespace tessera::scoring
