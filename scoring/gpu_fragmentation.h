// GPU fragmentation against a target workload, as defined by the FGD paper (Weng et al., USENIX ATC 2023;
// restated in shared/reference/fgd.md §3). For a node and a task shape m, the fragmented milli-GPU F_n(m) is all
// of the node's free GPU milli when m cannot run there (CPU-only shape, no accepted GPU model, too few cards with
// room, not enough CPU), else the free milli on the cards individually too small for m's per-card share. The
// node's fragmentation is the expectation over the workload: F_n = sum_m p_m F_n(m).
#ifndef TESSERA_SCORING_GPU_FRAGMENTATION_H_
#define TESSERA_SCORING_GPU_FRAGMENTATION_H_

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "scoring/cluster_state.h"
#include "scoring/pod_request.h"

namespace tessera::scoring {

struct TaskShape {
  int64_t cpu_milli = 0;
  int64_t gpu_milli = 0;  // per card
  int gpu_count = 0;
  std::vector<std::string> models;  // accepted models; empty: any
  double weight = 0;                // popularity, sums to 1 over the workload
};

// What TargetWorkload counts pods by: cpu, per-card GPU milli, card count, models.
using ShapeKey = std::tuple<int64_t, int64_t, int, std::vector<std::string>>;
ShapeKey ShapeKeyOf(const PodRequest& pod);

struct TargetWorkload {
  std::vector<TaskShape> shapes;
  // The most popular shapes of `pods` (by cpu, per-card GPU milli, card count, models) until they cover
  // `coverage` of the pods (the paper: 95 %), weights renormalised to 1.
  static TargetWorkload FromPods(const std::vector<PodRequest>& pods, double coverage = 0.95);
  static TargetWorkload FromPods(const std::vector<const PodRequest*>& pods, double coverage = 0.95);
  // The same from pod counts by shape (kept up to date by whoever watches the pods come and go).
  static TargetWorkload FromShapeCounts(const std::map<ShapeKey, int64_t>& counts, double coverage = 0.95);
  // Same shapes, and no weight further than `tolerance` from the other's.
  bool CloseTo(const TargetWorkload& other, double tolerance) const;
};

// A node's GPU picture for the measure: free CPU and per-card free milli and models.
// Only the first `count` entries are meaningful (and initialised): the view is built for every node of every
// scheduling cycle, so it is not zero-filled.
struct GpuView {
  int64_t free_cpu_milli = 0;
  int count = 0;
  int64_t free_milli[64];
  const std::string* models[64];
};

GpuView MakeGpuView(const NodeState& node);
// Fragmented milli-GPU of `view` for one shape, and the expectation over the workload.
double ShapeFragmentation(const GpuView& view, const TaskShape& shape);
double NodeFragmentation(const GpuView& view, const TargetWorkload& workload);

}  // namespace tessera::scoring

#endif  // TESSERA_SCORING_GPU_FRAGMENTATION_H_
