// binpack: fill the fullest node first: the least free GPU compute left (then CPU), tightest card.
#include "scoring/gpu_policy.h"

namespace tessera::scoring {
namespace {

class BinpackPolicy : public GpuPolicy {
 public:
  std::string_view Name() const override { return "binpack"; }
  double Score(const GpuScoreInput& in) const override {
    GpuView v = ViewAfter(in);
    int64_t free = 0;
    for (int i = 0; i < v.count; ++i) free += v.free_milli[i];
    return -static_cast<double>(free) / static_cast<double>(in.ctx->max_node_gpu_milli) -
           1e-3 * static_cast<double>(v.free_cpu_milli) / static_cast<double>(in.ctx->max_node_cpu_milli);
  }
};

}  // namespace

std::unique_ptr<GpuPolicy> NewBinpackPolicy() {
  return std::make_unique<BinpackPolicy>();
}

}  // namespace tessera::scoring
