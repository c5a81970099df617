// libFuzzer target: the pod decoder (spec + Katalyst annotations) and the scheduler's validation must return an
// error or a request, never crash; a decoded request is then validated and scheduled on a small node.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "crd/pod_codec.h"
#include "scoring/scheduler.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto pod = tessera::crd::DecodePodRequest(input);
  if (!pod.ok()) return 0;
  static const tessera::scoring::ClusterState cluster = [] {
    tessera::scoring::ClusterState c;
    c.AddNode(tessera::scoring::MakeNodeState("n",
                                              {{0, 0, 8000, int64_t{32} << 30, 2000, int64_t{8} << 30},
                                               {1, 1, 8000, int64_t{32} << 30, 2000, int64_t{8} << 30}},
                                              {tessera::scoring::TopologyPolicy::kSingleNumaNode,
                                               tessera::scoring::TopologyScope::kContainer, true, true}));
    return c;
  }();
  tessera::scoring::Scheduler scheduler{tessera::scoring::SchedulerConfig{}};
  (void)scheduler.Schedule(cluster, *pod);
  return 0;
}
