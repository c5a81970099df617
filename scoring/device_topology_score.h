// Score "DeviceTopology": how close a pod's several devices (cards, RDMA NICs) are: 100 under one PCIe switch,
// 67 in one NUMA node, 33 in one socket, 0 across sockets. Pods with fewer than two devices score 100.
#ifndef TESSERA_SCORING_DEVICE_TOPOLOGY_SCORE_H_
#define TESSERA_SCORING_DEVICE_TOPOLOGY_SCORE_H_

#include "scoring/framework.h"

namespace tessera::scoring {

class DeviceTopologyScore : public ScorePlugin {
 public:
  std::string_view Name() const override { return "DeviceTopology"; }
  double Score(const NodeCycle& cycle) const override {
    if (cycle.device_level < 0) return 100;
    return 100.0 - 100.0 * cycle.device_level / 3.0;
  }
  int64_t Weight(const SchedulerConfig& config) const override { return config.weight_device; }
  bool AppliesTo(const PodRequest& pod, const ClusterState&) const override {
    return pod.gpu.count + pod.gpu.rdma_nics >= 2;
  }
};

}  // namespace tessera::scoring

#endif  // TESSERA_SCORING_DEVICE_TOPOLOGY_SCORE_H_
