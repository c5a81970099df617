// Discovery + CNR encode on the largest shared topology (topo.jrc0386.xml, 8 NUMA nodes, 256 CPUs, 4 GPUs,
// 4 NICs): the work of one reporter round minus the network. Target (issue #4): <= 50 ms and <= 20 MB RSS.
//
//   build/bin/tessera-bench-reporter [--xml FILE] [--runs N]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "bench/bench_stats.h"
#include "crd/cnr_builder.h"
#include "crd/cnr_codec.h"
#include "topology/hwloc_discovery.h"

int main(int argc, char** argv) {
  std::string xml = std::string(TESSERA_SOURCE_DIR) + "/../shared/topologies/topo.jrc0386.xml";
  int runs = 200;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--xml") == 0) xml = argv[i + 1];
    if (std::strcmp(argv[i], "--runs") == 0) runs = std::max(10, std::atoi(argv[i + 1]));
  }
  if (!std::filesystem::exists(xml)) {
    std::fprintf(stderr, "topology %s not found (../shared absent?); pass --xml FILE\n", xml.c_str());
    return 2;
  }
  const double rss_before = tessera::bench::PeakRssMib();
  tessera::topology::DiscoveryOptions options;
  options.xml_path = xml;
  size_t bytes = 0;
  int failures = 0;
  auto round = [&] {
    auto discovered = tessera::topology::DiscoverTopology(options);
    if (!discovered.ok()) {
      ++failures;
      return;
    }
    tessera::crd::CnrBuildOptions build;
    build.node_name = "bench-node";
    build.node_uid = "uid";
    build.heartbeat_time = "2026-11-30T00:00:00Z";
    build.reclaim_ratio = 0.3;
    auto cnr = tessera::crd::BuildCnr(discovered->topology, build);
    if (!cnr.ok()) {
      ++failures;
      return;
    }
    bytes = tessera::crd::EncodeCnr(*cnr).size();
  };
  round();  // warm-up (first hwloc load initialises its components)
  auto summary = tessera::bench::Summarize(tessera::bench::TimeRuns(runs, round));
  const double rss = tessera::bench::PeakRssMib();
  if (failures != 0) {
    std::fprintf(stderr, "%d rounds failed\n", failures);
    return 1;
  }
  std::printf("reporter round (discover + build + encode) on %s, %zu runs, CNR %zu bytes\n",
              std::filesystem::path(xml).filename().c_str(), summary.samples, bytes);
  tessera::bench::PrintHeader();
  tessera::bench::PrintRow("discover+encode", summary, 50.0);
  std::printf(
      "%-40s %10.1f MiB peak RSS (%.1f MiB before the first round); target 20 MB = %.1f MiB, ratio %.2f  %s\n",
      "memory", rss, rss_before, 20e6 / (1 << 20), rss / (20e6 / (1 << 20)),
      rss <= 20e6 / (1 << 20) ? "within target" : "OVER TARGET");
  return 0;
}
