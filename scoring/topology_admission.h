// Filter "TopologyManagerAdmission": the placement chosen so far must pass the kubelet's Topology Manager
// admission (topology_manager.h) under the node's policy and scope, all four kubelet policies and Katalyst's
// Numeric included. Katalyst's own scheduler skips `restricted`; Tessera does not.
#ifndef TESSERA_SCORING_TOPOLOGY_ADMISSION_H_
#define TESSERA_SCORING_TOPOLOGY_ADMISSION_H_

#include "scoring/framework.h"

namespace tessera::scoring {

class TopologyManagerAdmission : public FilterPlugin {
 public:
  std::string_view Name() const override { return "TopologyManagerAdmission"; }
  bool Filter(NodeCycle& cycle, std::string* reason) const override;
};

}  // namespace tessera::scoring

#endif  // TESSERA_SCORING_TOPOLOGY_ADMISSION_H_
