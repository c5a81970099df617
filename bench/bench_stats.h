// Latency statistics and memory figures shared by Tessera's benchmarks: each bench prints median and p99 and the
// ratio against its baseline or published target, so results read the same everywhere.
#ifndef TESSERA_BENCH_BENCH_STATS_H_
#define TESSERA_BENCH_BENCH_STATS_H_

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

namespace tessera::bench {

struct LatencySummary {
  double median_ms = 0;
  double p99_ms = 0;
  double max_ms = 0;
  size_t samples = 0;
};

inline LatencySummary Summarize(std::vector<double> samples_ms) {
  LatencySummary s;
  if (samples_ms.empty()) return s;
  std::sort(samples_ms.begin(), samples_ms.end());
  auto at = [&](double q) {
    size_t i = static_cast<size_t>(q * static_cast<double>(samples_ms.size() - 1) + 0.5);
    return samples_ms[std::min(i, samples_ms.size() - 1)];
  };
  s.median_ms = at(0.5);
  s.p99_ms = at(0.99);
  s.max_ms = samples_ms.back();
  s.samples = samples_ms.size();
  return s;
}

// Peak resident set size of this process so far, in MiB.
inline double PeakRssMib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;  // Linux reports KiB
}

template <typename F>
std::vector<double> TimeRuns(int runs, F&& body) {
  std::vector<double> out;
  out.reserve(static_cast<size_t>(runs));
  for (int i = 0; i < runs; ++i) {
    auto start = std::chrono::steady_clock::now();
    body();
    out.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  return out;
}

// One table row: "<name>  median  p99  target  ratio(p99/target)  verdict".
inline void PrintRow(const std::string& name, const LatencySummary& s, double target_ms) {
  std::printf("%-40s %10.3f %10.3f %10.3f %8.3f  %s\n", name.c_str(), s.median_ms, s.p99_ms, target_ms,
              s.p99_ms / target_ms, s.p99_ms <= target_ms ? "within target" : "OVER TARGET");
}

inline void PrintHeader() {
  std::printf("%-40s %10s %10s %10s %8s\n", "benchmark", "median_ms", "p99_ms", "target_ms", "p99/tgt");
}

}  // namespace tessera::bench

#endif  // TESSERA_BENCH_BENCH_STATS_H_
