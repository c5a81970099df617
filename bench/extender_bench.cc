// Load generator over loopback for the extender (issue #7): filter and prioritize at 1,000 and 5,000 nodes, in
// node-names mode and full-nodes mode, at concurrency 1, 2, 4 and 16, against tessera-extender's HTTP stack and,
// in the same run, against the floor of this stack: a minimal Beast + RapidJSON server that parses the request and
// answers a fixed reply. Prints requests/s, p50, p99 and our/floor ratios.
//
//   build/bin/tessera-bench-extender [--seconds S] [--nodes N] [--mode names|churn|cold|full] [--verb
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
#include "crd/cnr_builder.h"
#include "crd/cnr_codec.h"
#include "crd/nrt_codec.h"
#include "extender/extender_service.h"
#include "extender/http_server.h"
#include "extender/routes.h"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using tessera::extender::ExtenderService;

// Two sockets x 4 NUMA nodes x 16 CPUs / 64 GiB, single-numa-node kubelet: a typical NUMA-aware node.
std::string CnrJson(const std::string& name) {
  static const tessera::topology::NodeTopology t = [] {
    tessera::topology::NodeTopology topo;
    for (int s = 0; s < 2; ++s) topo.sockets.push_back({s, {s * 4, s * 4 + 1, s * 4 + 2, s * 4 + 3}});
    for (int i = 0; i < 8; ++i) {
      tessera::topology::NumaNode n{i, i / 4, {}, 8, uint64_t{64} << 30};
      for (int c = 0; c < 16; ++c) n.cpu_ids.push_back(i * 16 + c);
      topo.numa_nodes.push_back(n);
    }
    return topo;
  }();
  tessera::crd::CnrBuildOptions o;
  o.node_name = name;
  o.topology_policy = "single-numa-node";
  o.heartbeat_time = "2099-01-01T00:00:00Z";  // fresh for the whole run
  return tessera::crd::EncodeCnr(*tessera::crd::BuildCnr(t, o));
}

const char* kPod =
    R"({"metadata":{"name":"p","namespace":"default","uid":"u-1","annotations":{"katalyst.kubewharf.io/qos_level":"dedicated_cores","katalyst.kubewharf.io/memory_enhancement":"{\"numa_binding\":\"true\"}"}},"spec":{"containers":[{"name":"c","resources":{"requests":{"cpu":"4","memory":"8Gi"},"limits":{"cpu":"4","memory":"8Gi"}}}]}})";

std::string Body(int nodes, bool names_mode, const std::string& pod = kPod) {
  std::string b = std::string(R"({"Pod":)") + pod;
  if (names_mode) {
    b += R"(,"Nodes":null,"NodeNames":[)";
    for (int i = 0; i < nodes; ++i) b += (i ? ",\"" : "\"") + ("node-" + std::to_string(i)) + "\"";
    b += "]}";
  } else {
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

// `concurrency` keep-alive clients POST `bodies` to `target` in turn for `seconds`. With `churn`, each request
// carries a new pod (its own name and UID, the same shape) and is followed by its bind to the first node the
// filter answered (untimed, but inside the run's wall time): the steady state of a workload scaling out, where
// each cycle changes one node.
LoadResult Load(int port, const std::string& target, const std::vector<std::string>& bodies, int concurrency,
                double seconds, bool churn = false) {
  static std::atomic<int> next_pod{0};
  std::mutex mu;
  std::vector<double> samples;
  std::atomic<int> errors{0};
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  std::vector<std::thread> clients;
  const auto start = std::chrono::steady_clock::now();
  for (int c = 0; c < concurrency; ++c) {
    clients.emplace_back([&] {
      asio::io_context io;
      beast::tcp_stream stream(io);
      beast::error_code ec;
      stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)), ec);
      if (ec) {
        ++errors;
        return;
      }
      std::vector<double> mine;
      beast::flat_buffer buffer;
      size_t turn = 0;
      while (std::chrono::steady_clock::now() < until) {
        std::string body = bodies[turn++ % bodies.size()];
        std::string pod_name;
        if (churn) {
          pod_name = "churn-" + std::to_string(next_pod.fetch_add(1));
          body.replace(body.find(R"("name":"p")"), 10, R"("name":")" + pod_name + "\"");
          body.replace(body.find(R"("uid":"u-1")"), 11, R"("uid":")" + pod_name + "\"");
        }
        http::request<http::string_body> req{http::verb::post, target, 11};
        req.set(http::field::host, "127.0.0.1");
        req.set(http::field::content_type, "application/json");
        req.body() = body;
        req.prepare_payload();
        const auto t0 = std::chrono::steady_clock::now();
        http::write(stream, req, ec);
        http::response_parser<http::string_body> parser;
        parser.body_limit(64u << 20);
        if (!ec) http::read(stream, buffer, parser, ec);
        if (ec || parser.get().result_int() != 200) {
          ++errors;
          break;
        }
        mine.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
        if (churn) {
          const std::string& answer = parser.get().body();
          const size_t at = answer.find(R"("NodeNames":[")");
          const std::string node =
              at == std::string::npos ? "node-0" : answer.substr(at + 14, answer.find('"', at + 14) - at - 14);
          http::request<http::string_body> bind{http::verb::post, "/bind", 11};
          bind.set(http::field::host, "127.0.0.1");
          bind.set(http::field::content_type, "application/json");
          bind.body() = R"({"PodName":")" + pod_name + R"(","PodNamespace":"default","PodUID":")" + pod_name +
                        R"(","Node":")" + node + "\"}";
          bind.prepare_payload();
          http::write(stream, bind, ec);
          http::response_parser<http::string_body> bound;
          if (!ec) http::read(stream, buffer, bound, ec);
          if (ec || bound.get().result_int() != 200) {
            ++errors;
            break;
          }
        }
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
  // The floor: parse the request, answer a fixed body.
  tessera::extender::HttpServer floor(
      http_options, [](const std::string&, const std::string&, std::string_view body) {
        rapidjson::Document d;
        d.Parse(body.data(), body.size());
        return tessera::extender::HttpReply{
            d.HasParseError() ? 400 : 200,
            R"({"Nodes":null,"NodeNames":[],"FailedNodes":{},"FailedAndUnresolvableNodes":{},"Error":""})"};
      });
  if (!floor.Start().ok()) return 1;
  std::printf("topology source: %s\n", source.c_str());
  std::printf("%-6s %-6s %-10s %4s | %9s %8s %8s | %9s %8s %8s | %8s %8s\n", "nodes", "mode", "verb", "conc",
              "ours_rps", "p50_ms", "p99_ms", "floor_rps", "p50_ms", "p99_ms", "rps_x", "p99_x");
  for (int nodes : {1000, 5000}) {
    if (only_nodes != 0 && nodes != only_nodes) continue;
    tessera::extender::ExtenderOptions options;
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
    // "churn": one shape, but every request a new pod that is then bound (one node changes per cycle).
    for (const char* mode : {"names", "churn", "cold", "full"}) {
      if (!only_mode.empty() && only_mode != mode) continue;
      const bool names = std::strcmp(mode, "full") != 0;
      const bool churn = std::strcmp(mode, "churn") == 0;
      std::vector<std::string> bodies = {Body(nodes, names)};
      if (std::strcmp(mode, "cold") == 0) bodies.push_back(Body(nodes, names, other_pod));
      for (const char* verb : {"filter", "prioritize"}) {
        if (!only_verb.empty() && only_verb != verb) continue;
        if (churn && std::strcmp(verb, "filter") != 0) continue;  // churn is filter + bind
        for (int conc : {1, 2, 4, 16}) {
          if (only_conc != 0 && conc != only_conc) continue;
          LoadResult a = Load(ours.port(), std::string("/") + verb, bodies, conc, seconds, churn);
          LoadResult b = Load(floor.port(), std::string("/") + verb, bodies, conc, seconds, churn);
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
