// clustering (GpuClustering, the FGD paper's baseline, as its simulator scores it): GPU pods gather by request
// class (a share of a card, or k whole cards). A node whose GPU pods are all of the pod's class scores 75..100,
// one holding that class among others 50..75, a node without GPU pods 25..50, a node holding only other classes
// 0..25; within a tier, the fewer free milli-GPU left (of 8 cards' worth), the higher. Pods without GPUs score 0.
// Integer scores, used as they are; cards: the tightest fit.
#include "scoring/gpu_policy.h"

namespace tessera::scoring {
namespace {

class ClusteringPolicy : public GpuPolicy {
 public:
  std::string_view Name() const override { return "clustering"; }
  Normalization ScoreNormalization() const override { return Normalization::kNone; }
  double Score(const GpuScoreInput& in) const override {
    const int cls = in.pod->gpu.request_class();
    if (cls < 0) return 0;
    const NodeState& node = *in.node;
    int classes_here = 0;
    for (int32_t n : node.gpu_pods_by_class) classes_here += n > 0;
    int64_t free = 0;
    for (const GpuState& g : node.gpus) free += g.free_milli;
    // The reference's spec size (8 cards) and its integer arithmetic.
    const int64_t fill = 25 * (kMaxSpecGpuMilli - free) / kMaxSpecGpuMilli;
    int64_t tier = 0;
    if (node.gpu_pods_by_class[static_cast<size_t>(cls)] > 0) {
      tier = classes_here == 1 ? 75 : 50;
    } else if (classes_here == 0) {
      tier = 25;
    }
    return static_cast<double>(fill + tier);
  }

 private:
  static constexpr int64_t kMaxSpecGpuMilli = 8000;
};

}  // namespace

std::unique_ptr<GpuPolicy> NewClusteringPolicy() {
  return std::make_unique<ClusteringPolicy>();
}

}  // namespace tessera::scoring
