// Load generator over loopback for the extender (issue #7): filter and prioritize at 1,000 and 5,000 nodes, in
// node-names mode and full-nodes mode, at concurrency 1, 2, 4 and 16, against tessera-extender's HTTP stack and,
// in the same run, against the floor of this stack: a minimal Beast + RapidJSON server that parses the request and
// answers a fixed reply. Prints requests/s, p50, p99 and our/floor ratios.
//
//   build/bin/tessera-bench-extender [--seconds S] [--nodes N] [--mode names|cold|full] [--verb
//   filter|prioritize]
//                                    [--conc C]      (the last four pick one row of the table, e.g. for perf)
//                                    [--source cnr|nrt]  nodes described by CNRs (default) or by the same
//                                    machines' NodeResourceTopologies (--topology-source nrt)
#include <rapidjson/document.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "bench/bench_stats.h"
#include "bench/extender_fixture.h"
#include "crd/cnr_builder.h"
#include "crd/cnr_codec.h"
#include "crd/nrt_codec.h"
#include "extender/extender_service.h"
#include "extender/http_server.h"
#include "extender/routes.h"

namespace {

using tessera::extender::ExtenderService;

using tessera::bench::CnrJson;

const std::string kPod = tessera::bench::NumaPodJson("p");

std::string Body(int nodes, bool names_mode, const std::string& pod = kPod) {
  if (names_mode) return tessera::bench::NamesBody(nodes, pod);
  std::string b = std::string(R"({"Pod":)") + pod;
  {
    b += R"(,"Nodes":{"metadata":{},"items":[)";
    for (int i = 0; i < nodes; ++i) {
      b +=
          (i ? "," : "") + std::string(R"({"metadata":{"name":"node-)") + std::to_string(i) +
          R"(","labels":{"kubernetes.io/hostname":"node-)" + std::to_string(i) +
          R"("}},"status":{"capacity":{"cpu":"128","memory":"512Gi"},"allocatable":{"cpu":"126","memory":"500Gi"}}})";
    }
    b += R"(]},"NodeNames":null})";
  }
  return b;
}

struct LoadResult {
  double rps = 0;
  tessera::bench::LatencySummary latency;
  int errors = 0;
};

// `concurrency` keep-alive clients POST `bodies` to `target` in turn for `seconds`.
LoadResult Load(int port, const std::string& target, const std::vector<std::string>& bodies, int concurrency,
                double seconds) {
  std::mutex mu;
  std::vector<double> samples;
  std::atomic<int> errors{0};
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  std::vector<std::thread> clients;
  const auto start = std::chrono::steady_clock::now();
  for (int c = 0; c < concurrency; ++c) {
    clients.emplace_back([&] {
      tessera::bench::LoopbackClient client(port);
      std::vector<double> mine;
      std::string answer;
      size_t turn = 0;
      while (std::chrono::steady_clock::now() < until) {
        const auto t0 = std::chrono::steady_clock::now();
        if (client.Post(target, bodies[turn++ % bodies.size()], &answer) != 200) {
          ++errors;
          break;
        }
        mine.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      }
      std::lock_guard<std::mutex> lock(mu);
      samples.insert(samples.end(), mine.begin(), mine.end());
    });
  }
  for (auto& t : clients) t.join();
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  LoadResult r;
  r.rps = static_cast<double>(samples.size()) / elapsed;
  r.latency = tessera::bench::Summarize(samples);
  r.errors = errors.load();
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 1.5;
  int only_nodes = 0, only_conc = 0;
  std::string only_mode, only_verb, source = "cnr";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--seconds") == 0) seconds = std::max(0.2, std::atof(argv[i + 1]));
    if (std::strcmp(argv[i], "--nodes") == 0) only_nodes = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--conc") == 0) only_conc = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--mode") == 0) only_mode = argv[i + 1];
    if (std::strcmp(argv[i], "--verb") == 0) only_verb = argv[i + 1];
    if (std::strcmp(argv[i], "--source") == 0) source = argv[i + 1];
  }
  if (source != "cnr" && source != "nrt") {
    std::fprintf(stderr, "--source must be cnr or nrt\n");
    return 2;
  }
  tessera::extender::HttpServerOptions http_options;
  http_options.address = "127.0.0.1";
  http_options.port = 0;
  http_options.threads = 2;
  http_options.max_body_bytes = 64u << 20;
  std::unique_ptr<tessera::extender::HttpServer> floor = tessera::bench::StartFloor(http_options);
  if (floor == nullptr) return 1;
  std::printf("topology source: %s\n", source.c_str());
  std::printf("%-6s %-6s %-10s %4s | %9s %8s %8s | %9s %8s %8s | %8s %8s\n", "nodes", "mode", "verb", "conc",
              "ours_rps", "p50_ms", "p99_ms", "floor_rps", "p50_ms", "p99_ms", "rps_x", "p99_x");
  for (int nodes : {1000, 5000}) {
    if (only_nodes != 0 && nodes != only_nodes) continue;
    tessera::extender::ExtenderOptions options;
    // As tessera-extender runs by default (--evaluation-threads -1): one extra thread per core beyond the first.
    options.evaluation_threads = std::max(1u, std::thread::hardware_concurrency()) - 1;
    options.topology_source =
        source == "nrt" ? tessera::state::TopologySource::kNrt : tessera::state::TopologySource::kCnr;
    ExtenderService service{options};
    std::vector<std::string> node_items, topology_items;
    for (int i = 0; i < nodes; ++i) {
      node_items.push_back(R"({"metadata":{"name":"node-)" + std::to_string(i) + R"("}})");
      const std::string cnr = CnrJson("node-" + std::to_string(i));
      topology_items.push_back(
          source == "nrt" ? tessera::crd::EncodeNrt(tessera::crd::NrtFromCnr(*tessera::crd::DecodeCnr(cnr)))
                          : cnr);
    }
    service.Replace(ExtenderService::Kind::kNode, node_items);
    service.Replace(source == "nrt" ? ExtenderService::Kind::kNrt : ExtenderService::Kind::kCnr, topology_items);
    service.Replace(ExtenderService::Kind::kPod, {});
    service.SetReadyProbe([] { return true; });
    auto registry = std::make_shared<prometheus::Registry>();
    tessera::extender::HttpServer ours(http_options,
                                       tessera::extender::MakeExtenderHandler(&service, "", registry));
    if (!ours.Start().ok()) return 1;
    // "names": one pod shape, as a Deployment's replicas (the verdict memo and the filter->prioritize reuse
    // apply); "cold": every request a new shape (two alternating CPU sizes), so neither does.
    std::string other_pod = kPod;
    other_pod.replace(other_pod.find(R"("cpu":"4")"), 9, R"("cpu":"5")");
    other_pod.replace(other_pod.find(R"("cpu":"4")"), 9, R"("cpu":"5")");
    // Scheduling cycles that bind, with the events production feeds back: tessera-bench-churn.
    for (const char* mode : {"names", "cold", "full"}) {
      if (!only_mode.empty() && only_mode != mode) continue;
      const bool names = std::strcmp(mode, "full") != 0;
      std::vector<std::string> bodies = {Body(nodes, names)};
      if (std::strcmp(mode, "cold") == 0) bodies.push_back(Body(nodes, names, other_pod));
      for (const char* verb : {"filter", "prioritize"}) {
        if (!only_verb.empty() && only_verb != verb) continue;
        for (int conc : {1, 2, 4, 16}) {
          if (only_conc != 0 && conc != only_conc) continue;
          LoadResult a = Load(ours.port(), std::string("/") + verb, bodies, conc, seconds);
          LoadResult b = Load(floor->port(), std::string("/") + verb, bodies, conc, seconds);
          std::printf("%-6d %-6s %-10s %4d | %9.0f %8.3f %8.3f | %9.0f %8.3f %8.3f | %8.2f %8.2f%s\n", nodes, mode,
                      verb, conc, a.rps, a.latency.median_ms, a.latency.p99_ms, b.rps, b.latency.median_ms,
                      b.latency.p99_ms, b.rps > 0 ? a.rps / b.rps : 0,
                      b.latency.p99_ms > 0 ? a.latency.p99_ms / b.latency.p99_ms : 0,
                      a.errors + b.errors > 0 ? "  (errors)" : "");
          std::fflush(stdout);
        }
      }
    }
  }
  std::printf("\ntarget (issue #7): 5,000 nodes, names mode: p99 <= 2 ms and >= 1,000 requests/s on 2 cores\n");
  return 0;
}
