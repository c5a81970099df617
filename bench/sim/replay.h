// Replaying and diffing another simulator's run: the submission order it used, the node it chose for each pod,
// and our decisions written back pod by pod (tessera-sim --pod-order, --follow, --decisions-out).
#ifndef TESSERA_BENCH_SIM_REPLAY_H_
#define TESSERA_BENCH_SIM_REPLAY_H_

#include <string>
#include <vector>

#include "base/status.h"
#include "bench/sim/simulator.h"
#include "bench/sim/trace.h"

namespace tessera::sim {

// The pods to submit, in order, as indexes into `pods`. `path` is a CSV whose header names a `trace_pod`, `pod`
// or `name` column (the first present is used; the FGD reference run has all three shapes), or a plain list of
// names, one per line. A name may repeat (tuned copies); an unknown name is an error naming the line.
Result<std::vector<size_t>> LoadPodOrder(const std::string& path, const std::vector<TracePod>& pods);

// The node each submitted pod went to, as indexes into `nodes` (-1 where the row's `node` cell is empty: the
// followed run failed that pod). `path` is a CSV with a `node` column, one row per submitted pod; it must have
// `expected_rows` rows.
Result<std::vector<int>> LoadFollowedNodes(const std::string& path, const std::vector<TraceNode>& nodes,
                                           size_t expected_rows);

// One CSV line per decision: `index,pod,node,cards,followed_in_top,top_nodes` (node empty when the pod failed;
// cards the card indexes joined by `|`; followed_in_top `yes`/`no`, empty without --follow).
Status WriteDecisions(const std::string& path, const std::vector<Decision>& decisions,
                      const std::vector<TraceNode>& nodes);

}  // namespace tessera::sim

#endif  // TESSERA_BENCH_SIM_REPLAY_H_
