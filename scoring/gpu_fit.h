// Filter "GpuFit": the pod's cards and RDMA NICs. Cards qualify by model (tessera.io/gpu-model), free compute
// and memory (a whole-card pod only takes untouched cards; shares never push a card past 100 % or its memory),
// and NUMA: a pinned pod's devices sit in its NUMA node(s), and under the kubelet's single-numa-node policy all of
// a pod's devices share one NUMA node (the device manager's hints). Several devices are chosen under one PCIe
// switch when the node has such a set, else one NUMA node, else one socket (tessera.io/device-affinity: a
// required level fails the node when unmet; the default, preferred:pcie-switch, only scores). A one-card share
// takes the card the GPU policy chooses.
#ifndef TESSERA_SCORING_GPU_FIT_H_
#define TESSERA_SCORING_GPU_FIT_H_

#include "scoring/framework.h"
#include "scoring/gpu_policy.h"

namespace tessera::scoring {

class GpuFit : public FilterPlugin {
 public:
  GpuFit(const GpuPolicy* policy, GpuContext* context) : policy_(policy), context_(context) {}
  std::string_view Name() const override { return "GpuFit"; }
  bool Filter(NodeCycle& cycle, std::string* reason) const override;
  bool AppliesTo(const PodRequest& pod) const override { return pod.gpu.any(); }
  // A card choice drawn at random is not a function of the node and the pod.
  bool UsesSharedState() const override { return !policy_->DependsOnlyOnNodeAndPod(); }
  // The policies cache fragmentation per node and per state in the GpuContext, and draw from its random stream.
  bool ThreadSafe() const override { return false; }

 private:
  const GpuPolicy* policy_;
  GpuContext* context_;
};

}  // namespace tessera::scoring

#endif  // TESSERA_SCORING_GPU_FIT_H_
