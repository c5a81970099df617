// The openb trace format (Alibaba cluster-trace-gpu-v2023, as the FGD paper used it): node and pod CSV lists.
// Parsing is strict: a missing column, a bad number or an empty list is an error naming the file and line.
#ifndef TESSERA_BENCH_SIM_TRACE_H_
#define TESSERA_BENCH_SIM_TRACE_H_

#include <map>
#include <string>
#include <vector>

#include "base/status.h"
#include "scoring/cluster_state.h"
#include "scoring/pod_request.h"

namespace tessera::sim {

struct TraceNode {
  std::string name;
  int64_t cpu_milli = 0;
  int64_t memory_mib = 0;
  int gpus = 0;
  std::string model;
};

struct TracePod {
  std::string name;
  int64_t cpu_milli = 0;
  int64_t memory_mib = 0;
  int num_gpu = 0;
  int64_t gpu_milli = 0;              // per card
  std::vector<std::string> gpu_spec;  // accepted models; empty: any
};

// A CSV file: the header's column positions and the rows with their line numbers. Every row has at least the
// header's cells; `required` columns must be in the header.
struct Csv {
  std::map<std::string, size_t> columns;
  std::vector<std::pair<int, std::vector<std::string>>> rows;  // (line number, cells)
};
Result<Csv> ReadCsv(const std::string& path, const std::vector<std::string>& required);

// Header `sn,cpu_milli,memory_mib,gpu,model` (extra columns ignored).
Result<std::vector<TraceNode>> LoadTraceNodes(const std::string& path);
// Header with at least `name,cpu_milli,memory_mib,num_gpu,gpu_milli`; `gpu_spec` (accepted models, `|`-separated,
// empty = any) is optional, as in the published multigpu traces; other columns are ignored.
Result<std::vector<TracePod>> LoadTracePods(const std::string& path);

// One NUMA node holding all CPU and memory, the GPUs with the trace's model and no PCIe information: the trace
// has no topology, and no Topology Manager runs on these nodes.
scoring::NodeState NodeFromTrace(const TraceNode& node);
scoring::PodRequest PodFromTrace(const TracePod& pod, const std::string& uid);

}  // namespace tessera::sim

#endif  // TESSERA_BENCH_SIM_TRACE_H_
