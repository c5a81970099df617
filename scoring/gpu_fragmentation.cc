#include "scoring/gpu_fragmentation.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>

namespace tessera::scoring {

TargetWorkload TargetWorkload::FromPods(const std::vector<PodRequest>& pods, double coverage) {
  std::vector<const PodRequest*> view;
  view.reserve(pods.size());
  for (const PodRequest& p : pods) view.push_back(&p);
  return FromPods(view, coverage);
}

bool TargetWorkload::CloseTo(const TargetWorkload& other, double tolerance) const {
  if (shapes.size() != other.shapes.size()) return false;
  for (size_t i = 0; i < shapes.size(); ++i) {
    const TaskShape& a = shapes[i];
    const TaskShape& b = other.shapes[i];
    if (a.cpu_milli != b.cpu_milli || a.gpu_milli != b.gpu_milli || a.gpu_count != b.gpu_count ||
        a.models != b.models || std::abs(a.weight - b.weight) > tolerance) {
      return false;
    }
  }
  return true;
}

ShapeKey ShapeKeyOf(const PodRequest& p) {
  return ShapeKey{p.cpu_milli, p.gpu.milli_per_gpu, p.gpu.count, p.gpu.models};
}

TargetWorkload TargetWorkload::FromPods(const std::vector<const PodRequest*>& pods, double coverage) {
  std::map<ShapeKey, int64_t> counts;
  for (const PodRequest* p : pods) counts[ShapeKeyOf(*p)]++;
  return FromShapeCounts(counts, coverage);
}

TargetWorkload TargetWorkload::FromShapeCounts(const std::map<ShapeKey, int64_t>& counts, double coverage) {
  std::vector<std::pair<ShapeKey, int64_t>> sorted(counts.begin(), counts.end());
  // Most popular first; the key order breaks ties so the result does not depend on hash order.
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  TargetWorkload w;
  double total = 0;
  for (const auto& [key, n] : sorted) total += static_cast<double>(n);
  double covered = 0, kept = 0;
  for (const auto& [key, n] : sorted) {
    if (total > 0 && covered / total >= coverage) break;
    TaskShape s;
    std::tie(s.cpu_milli, s.gpu_milli, s.gpu_count, s.models) = key;
    s.weight = static_cast<double>(n);
    covered += static_cast<double>(n);
    kept += static_cast<double>(n);
    w.shapes.push_back(std::move(s));
  }
  for (TaskShape& s : w.shapes) s.weight /= kept;
  return w;
}

GpuView MakeGpuView(const NodeState& node) {
  GpuView v;
  v.free_cpu_milli = node.SharedPoolCpuMilli() - node.shared_cpu_used_milli;
  v.count = static_cast<int>(std::min<size_t>(node.gpus.size(), 64));
  for (int i = 0; i < v.count; ++i) {
    v.free_milli[i] = node.gpus[static_cast<size_t>(i)].free_milli;
    v.models[i] = &node.gpus[static_cast<size_t>(i)].model;
  }
  return v;  // NOLINT: the arrays are filled up to count
}

double ShapeFragmentation(const GpuView& v, const TaskShape& m) {
  int64_t total_free = 0;
  for (int i = 0; i < v.count; ++i) total_free += v.free_milli[i];
  if (total_free == 0) return 0;
  if (m.gpu_count == 0 || m.gpu_milli == 0) return static_cast<double>(total_free);  // CPU-only task
  int64_t too_small = 0;
  int usable = 0, accessible = 0;
  for (int i = 0; i < v.count; ++i) {
    if (!m.models.empty() && std::find(m.models.begin(), m.models.end(), *v.models[i]) == m.models.end()) {
      too_small += v.free_milli[i];  // this card can never serve m
      continue;
    }
    ++accessible;
    if (v.free_milli[i] >= m.gpu_milli) {
      ++usable;
    } else {
      too_small += v.free_milli[i];
    }
  }
  if (accessible == 0 || usable < m.gpu_count || v.free_cpu_milli < m.cpu_milli)
    return static_cast<double>(total_free);
  return static_cast<double>(too_small);
}

double NodeFragmentation(const GpuView& v, const TargetWorkload& w) {
  double f = 0;
  for (const TaskShape& m : w.shapes) f += m.weight * ShapeFragmentation(v, m);
  return f;
}

}  // namespace tessera::scoring
