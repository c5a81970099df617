#include "bench/sim/replay.h"

#include <fstream>
#include <unordered_map>

namespace tessera::sim {

Result<std::vector<size_t>> LoadPodOrder(const std::string& path, const std::vector<TracePod>& pods) {
  std::unordered_map<std::string, size_t> by_name;
  for (size_t i = 0; i < pods.size(); ++i) by_name.emplace(pods[i].name, i);
  std::ifstream in(path);
  if (!in) return Status::InvalidArgument(path + ": cannot read");
  std::string first;
  if (!std::getline(in, first)) return Status::InvalidArgument(path + ": empty file");
  std::vector<std::pair<int, std::string>> names;  // (line, name)
  if (first.find(',') != std::string::npos) {
    Result<Csv> csv = ReadCsv(path, {});
    if (!csv.ok()) return csv.status();
    size_t column = SIZE_MAX;
    for (const char* c : {"trace_pod", "pod", "name"}) {
      if (column == SIZE_MAX && csv->columns.count(c)) column = csv->columns.at(c);
    }
    if (column == SIZE_MAX) return Status::InvalidArgument(path + ":1: no trace_pod, pod or name column");
    for (const auto& [line, cells] : csv->rows) names.emplace_back(line, cells[column]);
  } else {
    int line = 1;
    std::string name = first;
    do {
      if (!name.empty() && name.back() == '\r') name.pop_back();
      if (!name.empty()) names.emplace_back(line, name);
      ++line;
    } while (std::getline(in, name));
  }
  if (names.empty()) return Status::InvalidArgument(path + ": no pods");
  std::vector<size_t> order;
  order.reserve(names.size());
  for (const auto& [line, name] : names) {
    auto it = by_name.find(name);
    if (it == by_name.end())
      return Status::InvalidArgument(path + ":" + std::to_string(line) + ": pod \"" + name +
                                     "\" is not in the trace");
    order.push_back(it->second);
  }
  return order;
}

Result<std::vector<int>> LoadFollowedNodes(const std::string& path, const std::vector<TraceNode>& nodes,
                                           size_t expected_rows) {
  std::unordered_map<std::string, int> by_name;
  for (size_t i = 0; i < nodes.size(); ++i) by_name.emplace(nodes[i].name, static_cast<int>(i));
  Result<Csv> csv = ReadCsv(path, {"node"});
  if (!csv.ok()) return csv.status();
  if (csv->rows.size() != expected_rows) {
    return Status::InvalidArgument(path + ": " + std::to_string(csv->rows.size()) + " rows, but " +
                                   std::to_string(expected_rows) + " pods are submitted");
  }
  const size_t column = csv->columns.at("node");
  std::vector<int> out;
  out.reserve(csv->rows.size());
  for (const auto& [line, cells] : csv->rows) {
    const std::string& name = cells[column];
    if (name.empty()) {
      out.push_back(-1);
      continue;
    }
    auto it = by_name.find(name);
    if (it == by_name.end())
      return Status::InvalidArgument(path + ":" + std::to_string(line) + ": node \"" + name +
                                     "\" is not in the node list");
    out.push_back(it->second);
  }
  return out;
}

Status WriteDecisions(const std::string& path, const std::vector<Decision>& decisions,
                      const std::vector<TraceNode>& nodes) {
  std::ofstream out(path);
  if (!out) return Status::InvalidArgument(path + ": cannot write");
  out << "index,pod,node,cards,followed_in_top,top_nodes\n";
  for (const Decision& d : decisions) {
    out << d.index << ',' << d.pod << ',';
    if (d.node >= 0 && static_cast<size_t>(d.node) < nodes.size()) out << nodes[static_cast<size_t>(d.node)].name;
    out << ',';
    bool first = true;
    for (int c = 0; c < 64; ++c) {
      if ((d.gpu_mask >> c & 1) == 0) continue;
      out << (first ? "" : "|") << c;
      first = false;
    }
    out << ',' << (d.followed_in_top < 0 ? "" : d.followed_in_top ? "yes" : "no") << ',' << d.top_nodes << '\n';
  }
  out.flush();
  if (!out) return Status::InvalidArgument(path + ": write failed");
  return Status::Ok();
}

}  // namespace tessera::sim
