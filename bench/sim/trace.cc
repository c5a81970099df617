#include "bench/sim/trace.h"

#include <fstream>
#include <map>
#include <sstream>

namespace tessera::sim {
namespace {

std::vector<std::string> SplitCsv(const std::string& line) {
  std::vector<std::string> out;
  std::string cell;
  std::stringstream in(line);
  while (std::getline(in, cell, ',')) {
    if (!cell.empty() && cell.back() == '\r') cell.pop_back();
    out.push_back(cell);
  }
  if (!line.empty() && line.back() == ',') out.emplace_back();
  return out;
}

bool ParseInt(const std::string& s, int64_t max, int64_t* out) {
  if (s.empty() || s.size() > 18) return false;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  if (v > max) return false;
  *out = v;
  return true;
}

}  // namespace

Result<Csv> ReadCsv(const std::string& path, const std::vector<std::string>& required) {
  std::ifstream in(path);
  if (!in) return Status::InvalidArgument(path + ": cannot read");
  Csv csv;
  std::string line;
  if (!std::getline(in, line)) return Status::InvalidArgument(path + ": empty file");
  std::vector<std::string> header = SplitCsv(line);
  for (size_t i = 0; i < header.size(); ++i) csv.columns[header[i]] = i;
  for (const std::string& col : required) {
    if (!csv.columns.count(col)) return Status::InvalidArgument(path + ":1: missing column \"" + col + "\"");
  }
  int line_no = 1;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty() || line == "\r") continue;
    std::vector<std::string> cells = SplitCsv(line);
    if (cells.size() < header.size()) {
      return Status::InvalidArgument(path + ":" + std::to_string(line_no) + ": " + std::to_string(cells.size()) +
                                     " columns, header has " + std::to_string(header.size()));
    }
    csv.rows.emplace_back(line_no, std::move(cells));
  }
  if (csv.rows.empty()) return Status::InvalidArgument(path + ": no rows");
  return csv;
}

Result<std::vector<TraceNode>> LoadTraceNodes(const std::string& path) {
  Result<Csv> csv = ReadCsv(path, {"sn", "cpu_milli", "memory_mib", "gpu", "model"});
  if (!csv.ok()) return csv.status();
  std::vector<TraceNode> out;
  for (const auto& [line, cells] : csv->rows) {
    auto at = [&](const char* c) -> const std::string& { return cells[csv->columns.at(c)]; };
    auto bad = [&](const char* c) {
      return Status::InvalidArgument(path + ":" + std::to_string(line) + ": bad " + c + " \"" + at(c) + "\"");
    };
    TraceNode n;
    n.name = at("sn");
    int64_t gpus = 0;
    if (n.name.empty()) return bad("sn");
    if (!ParseInt(at("cpu_milli"), int64_t{1} << 40, &n.cpu_milli) || n.cpu_milli == 0) return bad("cpu_milli");
    if (!ParseInt(at("memory_mib"), int64_t{1} << 40, &n.memory_mib)) return bad("memory_mib");
    if (!ParseInt(at("gpu"), 64, &gpus)) return bad("gpu");
    n.gpus = static_cast<int>(gpus);
    n.model = at("model");
    out.push_back(std::move(n));
  }
  return out;
}

Result<std::vector<TracePod>> LoadTracePods(const std::string& path) {
  Result<Csv> csv = ReadCsv(path, {"name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli"});
  if (!csv.ok()) return csv.status();
  std::vector<TracePod> out;
  for (const auto& [line, cells] : csv->rows) {
    auto at = [&](const char* c) -> const std::string& { return cells[csv->columns.at(c)]; };
    auto bad = [&](const char* c) {
      return Status::InvalidArgument(path + ":" + std::to_string(line) + ": bad " + c + " \"" + at(c) + "\"");
    };
    TracePod p;
    p.name = at("name");
    int64_t num_gpu = 0;
    if (p.name.empty()) return bad("name");
    if (!ParseInt(at("cpu_milli"), int64_t{1} << 40, &p.cpu_milli)) return bad("cpu_milli");
    if (!ParseInt(at("memory_mib"), int64_t{1} << 40, &p.memory_mib)) return bad("memory_mib");
    if (!ParseInt(at("num_gpu"), 64, &num_gpu)) return bad("num_gpu");
    if (!ParseInt(at("gpu_milli"), 1000, &p.gpu_milli)) return bad("gpu_milli");
    p.num_gpu = static_cast<int>(num_gpu);
    if (p.num_gpu > 0 && p.gpu_milli == 0) return bad("gpu_milli");
    // Optional, as published: the multigpu variants have only the first five columns (absent = any model).
    const std::string spec = csv->columns.count("gpu_spec") ? at("gpu_spec") : std::string();
    std::stringstream models(spec);
    std::string m;
    while (std::getline(models, m, '|')) {
      if (!m.empty()) p.gpu_spec.push_back(m);
    }
    out.push_back(std::move(p));
  }
  return out;
}

scoring::NodeState NodeFromTrace(const TraceNode& node) {
  scoring::NodeState n =
      scoring::MakeNodeState(node.name, {{0, 0, node.cpu_milli, node.memory_mib << 20, 0, 0}}, {});
  for (int i = 0; i < node.gpus; ++i) {
    scoring::GpuState g;
    g.model = node.model;
    g.numa_index = 0;
    g.socket_id = 0;
    n.gpus.push_back(std::move(g));
  }
  return n;
}

scoring::PodRequest PodFromTrace(const TracePod& pod, const std::string& uid) {
  scoring::PodRequest p;
  p.name = pod.name;
  p.uid = uid;
  p.cpu_milli = pod.cpu_milli;
  p.memory_bytes = pod.memory_mib << 20;
  p.gpu.count = pod.num_gpu;
  p.gpu.milli_per_gpu = pod.num_gpu > 0 ? pod.gpu_milli : 0;
  p.gpu.models = pod.gpu_spec;
  p.containers.push_back({"main", p.cpu_milli, p.memory_bytes, false});
  return p;
}

}  // namespace tessera::sim
