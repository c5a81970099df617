// CNRs as a Katalyst agent writes them (contract section 1): Socket -> Numa zones with cpu and memory, the node's
// reclaimed resources, AgentReady, `allocations` per Numa zone keyed "<namespace>/<name>/<uid>", and none of
// Tessera's own nodeResourceProperties (cpu_manager_policy, memory_manager_policy, cpulist attributes).
#ifndef TESSERA_TESTS_KATALYST_CNR_H_
#define TESSERA_TESTS_KATALYST_CNR_H_

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "kube/time_format.h"

namespace tessera::testing {

struct KatalystAllocation {
  std::string consumer;  // "<namespace>/<name>/<uid>"
  std::string cpu;
  std::string memory;
};

struct KatalystNuma {
  int id = 0;
  int socket = 0;
  std::string cpu = "16";
  std::string memory = "64Gi";
  std::vector<KatalystAllocation> allocations;
};

inline KatalystNuma Numa(int id, int socket) {
  KatalystNuma n;
  n.id = id;
  n.socket = socket;
  return n;
}

struct KatalystCnr {
  std::string name = "katalyst-node";
  std::string topology_policy = "SingleNUMANodeContainerLevel";  // "" leaves it out (the CRD's default None)
  // Two sockets of two NUMA nodes each.
  std::vector<KatalystNuma> numas = {Numa(0, 0), Numa(1, 0), Numa(2, 1), Numa(3, 1)};
  std::string reclaimed_millicpu;  // "" publishes no reclaimed resources
  std::string reclaimed_memory;
  std::string heartbeat = kube::FormatRfc3339(std::chrono::system_clock::now());
  std::string extra_properties;  // raw JSON objects appended to nodeResourceProperties, e.g. Tessera's own
};

inline std::string KatalystCnrJson(const KatalystCnr& c) {
  int sockets = 0;
  for (const KatalystNuma& n : c.numas) sockets = std::max(sockets, n.socket + 1);
  std::string zones;
  for (int s = 0; s < sockets; ++s) {
    std::string children;
    for (const KatalystNuma& n : c.numas) {
      if (n.socket != s) continue;
      std::string allocations;
      for (const KatalystAllocation& a : n.allocations) {
        allocations += std::string(allocations.empty() ? "" : ",") + R"({"consumer":")" + a.consumer +
                       R"(","requests":{"cpu":")" + a.cpu + R"(","memory":")" + a.memory + R"("}})";
      }
      std::string siblings;
      for (const KatalystNuma& o : c.numas) {
        if (o.id != n.id)
          siblings += std::string(siblings.empty() ? "" : ",") + R"({"type":"Numa","name":")" +
                      std::to_string(o.id) + R"("})";
      }
      const std::string res = R"({"cpu":")" + n.cpu + R"(","memory":")" + n.memory + R"("})";
      children += std::string(children.empty() ? "" : ",") + R"({"type":"Numa","name":")" + std::to_string(n.id) +
                  R"(","resources":{"capacity":)" + res + R"(,"allocatable":)" + res + R"(},"allocations":[)" +
                  allocations + R"(],"siblings":[)" + siblings + "]}";
    }
    zones += std::string(zones.empty() ? "" : ",") + R"({"type":"Socket","name":")" + std::to_string(s) +
             R"(","children":[)" + children + "]}";
  }
  std::string reclaimed;
  if (!c.reclaimed_millicpu.empty()) {
    const std::string r = R"({"resource.katalyst.kubewharf.io/reclaimed_millicpu":")" + c.reclaimed_millicpu +
                          R"(","resource.katalyst.kubewharf.io/reclaimed_memory":")" + c.reclaimed_memory +
                          R"("})";
    reclaimed = R"("resources":{"allocatable":)" + r + R"(,"capacity":)" + r + "},";
  }
  return R"({"apiVersion":"node.katalyst.kubewharf.io/v1alpha1","kind":"CustomNodeResource",
    "metadata":{"name":")" +
         c.name + R"(","resourceVersion":"7","generation":3,"uid":"cnr-uid-)" + c.name +
         R"("},
    "spec":{"nodeResourceProperties":[{"propertyName":"numa","propertyQuantity":")" +
         std::to_string(c.numas.size()) + R"("},{"propertyName":"is_vm","propertyValues":["false"]})" +
         c.extra_properties + R"(]},
    "status":{)" +
         (c.topology_policy.empty() ? "" : R"("topologyPolicy":")" + c.topology_policy + R"(",)") + reclaimed +
         R"("topologyZone":[)" + zones + R"(],
      "conditions":[{"type":"AgentReady","status":"True","lastHeartbeatTime":")" +
         c.heartbeat + R"(","reason":"","message":""}]}})";
}

}  // namespace tessera::testing

#endif  // TESSERA_TESTS_KATALYST_CNR_H_
