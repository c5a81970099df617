// tessera (the default GPU policy). It starts from FGD (gpu_fgd.cc): the fragmentation gradient, i.e. how much
// the node's fragmentation against the target workload grows when the pod lands there, scored as the paper's
// plugin does (an integer 0..100, sigmoid of the change). What the FGD authors' own runs showed (bench/README.md,
// "What the reference does"): nodes whose gradients are close tie, and how a tie is broken decides as much as
// the gradient. The paper's simulator breaks ties by a fixed order (it packs tied pods onto the same nodes); any
// order biased towards big nodes strands far more GPUs, one biased towards nodes already in use strands fewer.
// So tessera makes the tie explicit and part of its own score, instead of relying on how the scheduler that calls
// it picks among equals:
//   1. The gradient at half FGD's resolution (two score points per step): differences below ~80 milli-GPU of
//      fragmentation do not decide.
//   2. Among equals, a node already in use (any GPU share or CPU taken) before an idle one: idle nodes stay whole
//      for the multi-card and whole-card pods that need them.
//   3. Then a stable order by node name (FNV-1a), so equals go to the same nodes every cycle, as the paper's
//      order does, and every replica of the scheduler agrees.
// Measured over the nine published openb traces, seeds 42..51 (bench/README.md): it never turns pods away while
// FGD still places them (within 0.1 point of it from 90 to 130 % arrived) on seven of them, and strands fewer
// GPUs than FGD at 100 % arrived on six; it is not yet the 10 % ahead of FGD we aim for (see bench/README.md).
// A one-card share takes the card with the best FGD score, first on ties.
#include <cmath>
#include <cstdint>

#include "scoring/gpu_policy.h"

namespace tessera::scoring {
namespace {

// 0..1, stable across processes and builds (std::hash is not).
double StableOrder(const std::string& name) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : name) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return static_cast<double>(h % 1000003) / 1000003.0;
}

bool InUse(const NodeState& node) {
  if (node.shared_cpu_used_milli > 0 || node.pinned_cpu_milli > 0) return true;
  for (const GpuState& g : node.gpus) {
    if (g.free_milli < 1000) return true;
  }
  return false;
}

class TesseraPolicy : public GpuPolicy {
 public:
  std::string_view Name() const override { return "tessera"; }
  double Score(const GpuScoreInput& in) const override {
    const double before = in.ctx->NodeFragmentationCached(*in.cluster, in.node_index);
    double after = 0;
    if (!in.ctx->RecallChoice(in.node_index, in.gpu_mask, &after))
      after = in.ctx->FragmentationOf(ViewAfter(in), in.node_index);
    const double gradient = std::floor(FgdPluginScore(before, after) / kResolution);
    return gradient + 0.5 * (InUse(*in.node) ? 1.0 : 0.0) + 0.4 * StableOrder(in.node->name);
  }
  int ChooseCard(const GpuScoreInput& in, const std::vector<int>& candidates) const override {
    return FgdCard(in, candidates);
  }

 private:
  static constexpr double kResolution = 2.0;  // FGD score points per step
};

}  // namespace

std::unique_ptr<GpuPolicy> NewTesseraPolicy() {
  return std::make_unique<TesseraPolicy>();
}

}  // namespace tessera::scoring
