// A cluster dump as the extender and the simulator replay it (--snapshot): the Nodes, Pods and CNRs (and, when
// present, NodeResourceTopologies) of `kubectl get ... -o json`, either as one List of mixed kinds
// (`kubectl get nodes,pods,customnoderesources -A -o json > dump.json`) or as a directory of one List per kind
// (nodes.json, pods.json, cnrs.json, and optionally noderesourcetopologies.json). A dump is a moment: its time is
// the newest timestamp it holds, against which CNR heartbeats are judged, not the wall clock of the replay.
#ifndef TESSERA_STATE_SNAPSHOT_H_
#define TESSERA_STATE_SNAPSHOT_H_

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace tessera::state {

struct SnapshotObjects {
  std::vector<std::string> nodes, pods, cnrs, nrts;  // each object as JSON
  // The newest RFC 3339 timestamp of any object (creation, heartbeats, conditions, managed fields); nullopt when
  // the dump holds none.
  std::optional<std::chrono::system_clock::time_point> newest;
};

// `path`: a file holding one List, or a directory of per-kind Lists. InvalidArgument (naming the file and item)
// for anything that is not a List, an item of the single List whose kind is not one of the four, or a missing
// required file; items of other kinds in a mixed List are skipped.
Result<SnapshotObjects> ReadSnapshot(const std::string& path);

}  // namespace tessera::state

#endif  // TESSERA_STATE_SNAPSHOT_H_
