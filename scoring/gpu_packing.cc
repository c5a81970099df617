// packing (GpuPacking, the FGD paper's baseline, as its simulator scores it): three tiers. A GPU pod that fits on
// cards already in use scores 100 minus a tenth of the free percent left on those cards (at least 50); one that
// must open untouched cards on a node already in use scores 50 minus the cards opened (at least 33); a node with
// every card untouched scores 33 minus its card count (at least that count). Pods without GPUs score 0 everywhere.
// Integer scores, used as they are; cards: the tightest fit.
#include <algorithm>
#include <numeric>

#include "scoring/gpu_policy.h"

namespace tessera::scoring {
namespace {

class PackingPolicy : public GpuPolicy {
 public:
  std::string_view Name() const override { return "packing"; }
  Normalization ScoreNormalization() const override { return Normalization::kNone; }
  double Score(const GpuScoreInput& in) const override {
    const PodRequest& pod = *in.pod;
    if (pod.gpu.count == 0) return 0;
    const std::vector<GpuState>& gpus = in.node->gpus;
    const auto untouched = static_cast<int64_t>(
        std::count_if(gpus.begin(), gpus.end(), [](const GpuState& g) { return g.free_milli == 1000; }));
    if (untouched == static_cast<int64_t>(gpus.size()))
      return static_cast<double>(std::max<int64_t>(33 - untouched, untouched));
    // The cards the pod would use, least free first.
    std::vector<size_t> order(gpus.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return gpus[a].free_milli < gpus[b].free_milli; });
    int need = pod.gpu.count;
    int64_t opened = 0, free_percent = 0;
    for (size_t i : order) {
      if (need == 0) break;
      if (gpus[i].free_milli < pod.gpu.milli_per_gpu) continue;
      --need;
      opened += gpus[i].free_milli == 1000;
      free_percent += gpus[i].free_milli * 100 / 1000;
    }
    if (need > 0) return 0;
    if (opened > 0) return static_cast<double>(std::max<int64_t>(50 - opened, 33));
    return static_cast<double>(std::max<int64_t>(100 - free_percent / 10, 50));
  }
};

}  // namespace

std::unique_ptr<GpuPolicy> NewPackingPolicy() {
  return std::make_unique<PackingPolicy>();
}

}  // namespace tessera::scoring
