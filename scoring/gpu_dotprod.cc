// dotprod (Tetris-style, the FGD paper's baseline): the dot product of the node's free (CPU, GPU) vector with the
// pod's request vector, both normalised by the cluster's largest node; the smaller, the better (pack the pod where
// the free room matches it least). Tightest card.
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
    return -dot;
  }
};

}  // namespace

std::unique_ptr<GpuPolicy> NewDotProdPolicy() {
  return std::make_unique<DotProdPolicy>();
}

}  // namespace tessera::scoring
