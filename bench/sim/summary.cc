#include "bench/sim/summary.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "bench/sim/trace.h"

namespace tessera::sim {
namespace {

// The reference's name for each of our policies (its directory names), and the points it publishes.
const std::map<std::string, std::string>& ReferenceNames() {
  static const std::map<std::string, std::string> kNames = {
      {"random", "01-Random"},      {"dotprod", "02-DotProd"}, {"clustering", "03-GpuClustering"},
      {"packing", "04-GpuPacking"}, {"bestfit", "05-BestFit"}, {"fgd", "06-FGD"}};
  return kNames;
}

}  // namespace

void WriteResult(FILE* f, const RunResult& r) {
  std::fprintf(f, "R %s %llu %d %d %d %d %d %d %d %.6f %.3f\n", r.policy.c_str(),
               static_cast<unsigned long long>(r.seed), r.pods_total, r.pods_scheduled, r.pods_failed,
               r.topology_admission_failures, r.numa_antiaffinity_violations, r.gpu_rdma_pods,
               r.gpu_rdma_same_switch, r.wall_seconds, r.peak_rss_mb);
  std::fprintf(f, "W %d %d %d %d\n", r.follow_early, r.follow_early_in_top, r.follow_all, r.follow_all_in_top);
  for (const auto& [reason, n] : r.failure_reasons) std::fprintf(f, "F %d %s\n", n, reason.c_str());
  for (size_t i = 0; i < r.curve.size(); ++i) {
    if (r.curve[i]) {
      std::fprintf(f, "C %zu %.6f %.6f %.6f %.6f\n", i, r.curve[i]->allocated_pct, r.curve[i]->unallocated_pct,
                   r.curve[i]->frag_total_pct, r.curve[i]->frag_rate_pct);
    }
  }
  std::fprintf(f, "END\n");
  std::fflush(f);
}

bool ReadResult(std::istream& in, size_t curve_len, RunResult* r,
                const std::function<void(size_t, size_t)>& progress) {
  std::string line;
  r->curve.assign(curve_len, std::nullopt);
  bool got = false;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string tag;
    ls >> tag;
    if (tag == "P") {
      size_t done = 0, total = 0;
      ls >> done >> total;
      if (progress) progress(done, total);
    } else if (tag == "R") {
      unsigned long long seed = 0;
      ls >> r->policy >> seed >> r->pods_total >> r->pods_scheduled >> r->pods_failed >>
          r->topology_admission_failures >> r->numa_antiaffinity_violations >> r->gpu_rdma_pods >>
          r->gpu_rdma_same_switch >> r->wall_seconds >> r->peak_rss_mb;
      r->seed = seed;
      got = true;
    } else if (tag == "W") {
      ls >> r->follow_early >> r->follow_early_in_top >> r->follow_all >> r->follow_all_in_top;
    } else if (tag == "F") {
      int n = 0;
      std::string reason;
      ls >> n;
      std::getline(ls >> std::ws, reason);
      r->failure_reasons[reason] = n;
    } else if (tag == "C") {
      size_t i = 0;
      CurvePoint c;
      ls >> i >> c.allocated_pct >> c.unallocated_pct >> c.frag_total_pct >> c.frag_rate_pct;
      if (i < curve_len) r->curve[i] = c;
    } else if (tag == "END") {
      return got;
    }
  }
  return false;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

std::optional<double> PolicySummary::CurveMedian(size_t pct, double CurvePoint::*field) const {
  std::vector<double> v;
  for (const RunResult& r : runs) {
    if (pct >= r.curve.size() || !r.curve[pct]) return std::nullopt;
    v.push_back((*r.curve[pct]).*field);
  }
  if (v.empty()) return std::nullopt;
  return Median(v);
}

std::string Num(std::optional<double> v, int decimals) {
  if (!v) return "null";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, *v);
  return buf;
}

std::optional<double> PaperAt100(const std::string& policy) {
  static const std::map<std::string, double> kPaper = {{"fgd", 4.77},     {"bestfit", 7.09},    {"dotprod", 9.44},
                                                       {"packing", 8.19}, {"clustering", 8.42}, {"random", 13.75}};
  auto it = kPaper.find(policy);
  if (it == kPaper.end()) return std::nullopt;
  return it->second;
}

Status PrintReferenceTable(const std::string& path, const std::string& trace,
                           const std::vector<std::string>& policies,
                           std::map<std::string, PolicySummary>& summaries) {
  auto csv = ReadCsv(path, {"workload", "sc_policy", "u90", "u95", "u100", "u110", "u130"});
  if (!csv.ok()) return csv.status();
  const std::vector<std::pair<const char*, size_t>> points = {
      {"u90", 90}, {"u95", 95}, {"u100", 100}, {"u110", 110}, {"u130", 130}};
  std::map<std::string, std::vector<std::optional<double>>> ref;  // reference policy -> values at points
  for (const auto& [line, cells] : csv->rows) {
    if (cells[csv->columns.at("workload")] != trace) continue;
    std::vector<std::optional<double>>& v = ref[cells[csv->columns.at("sc_policy")]];
    for (const auto& [col, pct] : points) {
      const std::string& cell = cells[csv->columns.at(col)];
      char* end = nullptr;
      const double x = std::strtod(cell.c_str(), &end);
      v.push_back(cell.empty() || end != cell.c_str() + cell.size() ? std::nullopt : std::optional<double>(x));
    }
  }
  if (ref.empty()) return Status::InvalidArgument(path + " has no rows for workload " + trace);
  std::printf(
      "\n| trace | policy | 90 %% ours / ref | 95 %% | 100 %% | 110 %% | 130 %% | largest gap | verdict |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|\n");
  for (const std::string& p : policies) {
    const bool ours = p == "tessera";
    auto it = ReferenceNames().find(ours ? "fgd" : p);
    if (it == ReferenceNames().end() || !ref.count(it->second)) continue;
    const std::vector<std::optional<double>>& r = ref[it->second];
    std::string row = "| " + trace + " | " + (ours ? "tessera vs FGD" : p) + " |";
    double gap = 0;
    bool ok = true;
    for (size_t k = 0; k < points.size(); ++k) {
      std::optional<double> mine = summaries[p].CurveMedian(points[k].second, &CurvePoint::unallocated_pct);
      row += " " + Num(mine) + " / " + Num(r[k]) + " |";
      if (!mine || !r[k]) continue;
      const double d = *mine - *r[k];
      if (ours) {
        ok = ok && d <= 0.1 && (points[k].second != 100 || *mine <= 0.9 * *r[k]);
        gap = std::max(gap, d);
      } else {
        gap = std::max(gap, std::fabs(d));
      }
    }
    const double tolerance = p == "fgd" ? 0.3 : 0.5;
    if (!ours) ok = gap <= tolerance;
    char tail[96];
    std::snprintf(tail, sizeof(tail), " %+.2f | %s |", gap, ok ? "ok" : (ours ? "behind" : "off"));
    std::printf("%s%s\n", row.c_str(), tail);
  }
  return Status::Ok();
}

}  // namespace tessera::sim
