// What tessera-sim reports across runs: the per-run result a forked run sends back to the parent (a line
// format), the medians over seeds per policy, and the comparison with the FGD authors' published medians.
#ifndef TESSERA_BENCH_SIM_SUMMARY_H_
#define TESSERA_BENCH_SIM_SUMMARY_H_

#include <cstdio>
#include <functional>
#include <istream>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "bench/sim/simulator.h"

namespace tessera::sim {

// Child -> parent: one line per field, "P done total" for progress, "END" last.
void WriteResult(FILE* f, const RunResult& r);
bool ReadResult(std::istream& in, size_t curve_len, RunResult* r,
                const std::function<void(size_t, size_t)>& progress);

double Median(std::vector<double> v);

// One policy's runs (one per seed) and their medians.
struct PolicySummary {
  std::string policy;
  std::vector<RunResult> runs;
  // Median over seeds of a curve value at an arrived point; nullopt when any seed never reached it.
  std::optional<double> CurveMedian(size_t pct, double CurvePoint::*field) const;
  template <typename F>
  double MedianOf(F f) const {
    std::vector<double> v;
    for (const RunResult& r : runs) v.push_back(f(r));
    return v.empty() ? 0 : Median(v);
  }
  template <typename F>
  std::pair<double, double> RangeOf(F f) const {
    double lo = 1e300, hi = -1e300;
    for (const RunResult& r : runs) {
      lo = std::min(lo, f(r));
      hi = std::max(hi, f(r));
    }
    return {lo, hi};
  }
};

// `v` with `decimals` decimals, or "null".
std::string Num(std::optional<double> v, int decimals = 2);

// The FGD paper's unallocated-GPU % at 100 % arrived on the default openb trace (shared/reference/fgd.md §2.1).
std::optional<double> PaperAt100(const std::string& policy);

// One markdown row per policy: our median unallocated GPU % beside the reference's at 90/95/100/110/130 %
// arrived (`path`: the authors' median_unallocated_gpu_pct.csv, rows of workload `trace`), the largest gap, and
// whether it is within the tolerance (fgd 0.3, other baselines 0.5). tessera is compared with the reference FGD:
// at most 0.9x its value at 100 %, and no more than +0.1 at any point.
Status PrintReferenceTable(const std::string& path, const std::string& trace,
                           const std::vector<std::string>& policies,
                           std::map<std::string, PolicySummary>& summaries);

}  // namespace tessera::sim

#endif  // TESSERA_BENCH_SIM_SUMMARY_H_
