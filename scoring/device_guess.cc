#include "scoring/device_guess.h"

namespace tessera::scoring {

DeviceGuess FirstFitDevices(const NodeState& node, const PodRequest& pod) {
  DeviceGuess out;
  int cards = 0, nics = 0;
  for (size_t i = 0; i < node.gpus.size() && i < 64 && cards < pod.gpu.count; ++i) {
    const GpuState& g = node.gpus[i];
    const bool fits = pod.gpu.whole_cards() ? g.Untouched()
                                            : g.free_milli >= pod.gpu.milli_per_gpu &&
                                                  g.free_memory_mib >= pod.gpu.memory_mib_per_gpu;
    if (!fits) continue;
    out.gpu_mask |= uint64_t{1} << i;
    ++cards;
  }
  for (size_t i = 0; i < node.nics.size() && i < 64 && nics < pod.gpu.rdma_nics; ++i) {
    if (!node.nics[i].rdma) continue;
    out.nic_mask |= uint64_t{1} << i;
    ++nics;
  }
  out.complete = cards == pod.gpu.count && nics == pod.gpu.rdma_nics;
  return out;
}

}  // namespace tessera::scoring
