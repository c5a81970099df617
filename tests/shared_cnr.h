// A machine from ../shared/topologies and the CNR tessera-reporter would publish for it: the starting point of
// most extender and store tests. A dump that will not load fails the test (after TESSERA_REQUIRE_SHARED has
// skipped it where ../shared is absent).
#ifndef TESSERA_TESTS_SHARED_CNR_H_
#define TESSERA_TESTS_SHARED_CNR_H_

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "crd/cnr_builder.h"
#include "kube/time_format.h"
#include "tests/shared_data.h"
#include "topology/hwloc_discovery.h"

namespace tessera::testing {

inline topology::NodeTopology SharedTopology(const std::string& file) {
  topology::DiscoveryOptions d;
  d.xml_path = SharedPath("topologies/" + file);
  auto t = topology::DiscoverTopology(d);
  if (!t.ok()) {
    ADD_FAILURE() << file << ": " << t.status().message();
    return {};
  }
  return t->topology;
}

// `policy`: the kubelet's --topology-manager-policy ("" keeps the builder's default, none); heartbeat now.
inline crd::Cnr SharedCnr(const std::string& node, const std::string& file, const std::string& policy = "") {
  crd::CnrBuildOptions o;
  o.node_name = node;
  if (!policy.empty()) o.topology_policy = policy;
  o.heartbeat_time = kube::FormatRfc3339(std::chrono::system_clock::now());
  return *crd::BuildCnr(SharedTopology(file), o);
}

}  // namespace tessera::testing

#endif  // TESSERA_TESTS_SHARED_CNR_H_
