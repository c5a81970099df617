// random: a uniformly random feasible node (the FGD paper's "random-fit" baseline), from the context's seeded
// stream so runs repeat; a random card with room, as the paper ran it (-gpusel random).
#include "scoring/gpu_policy.h"

namespace tessera::scoring {
namespace {

class RandomPolicy : public GpuPolicy {
 public:
  std::string_view Name() const override { return "random"; }
  bool DependsOnlyOnNodeAndPod() const override { return false; }
  double Score(const GpuScoreInput& in) const override {
    return std::uniform_real_distribution<double>(0.0, 1.0)(in.ctx->rng);
  }
  int ChooseCard(const GpuScoreInput& in, const std::vector<int>& candidates) const override {
    return candidates[std::uniform_int_distribution<size_t>(0, candidates.size() - 1)(in.ctx->rng)];
  }
};

}  // namespace

std::unique_ptr<GpuPolicy> NewRandomPolicy() {
  return std::make_unique<RandomPolicy>();
}

}  // namespace tessera::scoring
