// The extender at production scale (issue #15), paying what production pays: 5,000 nodes x 8 NUMA nodes holding
// ~100,000 bound pods, kube-scheduler's cycle over loopback HTTP in node-names mode (filter, prioritize, then an
// asynchronous bind through a loopback API server that speaks the real paths), every bind fed back as the watch
// event the API server sends, every new pod's creation event, and a stream of unrelated pod events across the
// cluster (created bound, started, finished, deleted) at --pod-events-per-second. Each scenario runs in the same
// process against the floor of this stack (a Beast + RapidJSON server that parses each request and answers a
// fixed reply), and prints median, p99 and the ratio:
//   churn    scheduling cycles per second (a cycle ends when its pod is bound and its event applied), with
//            the filter / prioritize / bind latencies, and node / whole-state rebuilds per cycle
//   cold     filter of a pod shape never seen before (nothing memoised or reused)
//   stalled  filters of other pods while one bind hangs on an API server that does not answer for 10 s
//
//   build/bin/tessera-bench-churn [--nodes 5000] [--pods-per-node 20] [--seconds 5]
//                                 [--pod-events-per-second 200] [--markdown]
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_stats.h"
#include "bench/extender_fixture.h"
#include "extender/extender_service.h"
#include "extender/http_server.h"
#include "extender/routes.h"
#include "kube/kube_client.h"

namespace {

using tessera::bench::LatencySummary;
using tessera::bench::LoopbackClient;
using tessera::bench::Summarize;
using tessera::extender::ExtenderService;
using Clock = std::chrono::steady_clock;

double Ms(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

// A pod another scheduler (or a DaemonSet) placed on `node`: shared_cores, or every third one a NUMA-bound
// dedicated pod with Tessera's allocation on NUMA node `numa`.
std::string BoundPodJson(const std::string& uid, int node, int numa, const char* phase) {
  const std::string node_name = "node-" + std::to_string(node);
  if (numa < 0) {
    return R"({"metadata":{"name":")" + uid + R"(","namespace":"bg","uid":")" + uid +
           R"("},"spec":{"nodeName":")" + node_name +
           R"(","containers":[{"name":"c","resources":{"requests":{"cpu":"1","memory":"2Gi"}}}]},"status":{"phase":")" +
           phase + R"("}})";
  }
  const std::string allocation = R"({\"node\":\")" + node_name + R"(\",\"numa\":[{\"id\":)" +
                                 std::to_string(numa) +
                                 R"(,\"cpu_milli\":4000,\"memory_bytes\":8589934592}],\"exclusive\":false,)" +
                                 R"(\"cpu_pinned\":true,\"memory_pinned\":true})";
  return R"({"metadata":{"name":")" + uid + R"(","namespace":"bg","uid":")" + uid +
         R"(","annotations":{"katalyst.kubewharf.io/qos_level":"dedicated_cores","katalyst.kubewharf.io/memory_enhancement":"{\"numa_binding\":\"true\"}","tessera.io/allocation":")" +
         allocation + R"("}},"spec":{"nodeName":")" + node_name +
         R"(","containers":[{"name":"c","resources":{"requests":{"cpu":"4","memory":"8Gi"},"limits":{"cpu":"4","memory":"8Gi"}}}]},"status":{"phase":")" +
         phase + R"("}})";
}

// The pod as the API server sends it after the bind: nodeName and Tessera's allocation annotation.
std::string BoundEventJson(const std::string& pending, const std::string& node, const std::string& allocation) {
  std::string out = pending;
  std::string escaped;
  for (char c : allocation) escaped += c == '"' ? std::string("\\\"") : std::string(1, c);
  out.replace(out.find(R"("annotations":{)") + 15, 0, R"("tessera.io/allocation":")" + escaped + "\",");
  out.replace(out.find(R"("spec":{)") + 8, 0, R"("nodeName":")" + node + "\",");
  return out;
}

// The API server's side of a bind: the Binding (201), on the real path. While
// `stalled`, Bindings go unanswered for up to 10 s.
class ApiStandIn {
 public:
  ApiStandIn() {
    tessera::extender::HttpServerOptions o;
    o.address = "127.0.0.1";
    o.port = 0;
    o.threads = 4;
    server_ = std::make_unique<tessera::extender::HttpServer>(
        o, [this](const std::string& method, const std::string& target, std::string_view) {
          const bool pod_path =
              target.rfind("/api/v1/namespaces/", 0) == 0 && target.find("/pods/") != std::string::npos;
          if (method == "POST" && pod_path && target.size() > 8 &&
              target.substr(target.size() - 8) == "/binding") {
            for (int i = 0; i < 1000 && stalled.load(); ++i)
              std::this_thread::sleep_for(std::chrono::milliseconds(10));
            return tessera::extender::HttpReply{201, R"({"kind":"Status","status":"Success"})"};
          }
          return tessera::extender::HttpReply{404, R"({"kind":"Status","status":"Failure","code":404})"};
        });
    ok_ = server_->Start().ok();
  }
  bool ok() const { return ok_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }
  std::atomic<bool> stalled{false};

 private:
  std::unique_ptr<tessera::extender::HttpServer> server_;
  bool ok_ = false;
};

// Unrelated pods' lives at `per_second` events: created bound (Pending), started, finished, deleted.
class UnrelatedPodEvents {
 public:
  UnrelatedPodEvents(ExtenderService* service, int nodes, double per_second)
      : service_(service), nodes_(nodes), per_second_(per_second) {}
  void Run(Clock::time_point until) {
    if (per_second_ <= 0) return;
    std::mt19937 rng(7);
    const auto start = Clock::now();
    for (uint64_t k = 0;; ++k) {
      const auto at = start + std::chrono::duration_cast<Clock::duration>(
                                  std::chrono::duration<double>(static_cast<double>(k) / per_second_));
      if (at >= until) break;
      std::this_thread::sleep_until(at);
      if (live_.empty() || rng() % 4 == 0) {
        Life l{"ev-" + std::to_string(next_++), static_cast<int>(rng() % static_cast<uint32_t>(nodes_)),
               rng() % 3 == 0 ? static_cast<int>(rng() % 8) : -1, 0};
        service_->Apply(ExtenderService::Kind::kPod, false, BoundPodJson(l.uid, l.node, l.numa, "Pending"));
        live_.push_back(l);
      } else {
        const size_t i = rng() % live_.size();
        Life& l = live_[i];
        static const char* const kPhase[] = {"Pending", "Running", "Succeeded"};
        ++l.stage;
        const std::string json = BoundPodJson(l.uid, l.node, l.numa, kPhase[std::min(l.stage, 2)]);
        service_->Apply(ExtenderService::Kind::kPod, l.stage == 3, json);
        if (l.stage == 3) {
          live_[i] = live_.back();
          live_.pop_back();
        }
      }
      ++applied_;
    }
  }
  uint64_t applied() const { return applied_; }

 private:
  struct Life {
    std::string uid;
    int node;
    int numa;
    int stage;
  };
  ExtenderService* service_;
  int nodes_;
  double per_second_;
  std::vector<Life> live_;
  uint64_t next_ = 0;
  uint64_t applied_ = 0;
};

struct CycleResult {
  double cycles_per_second = 0;
  LatencySummary filter, prioritize, bind;
  uint64_t cycles = 0;
  uint64_t conflicts = 0;  // binds refused because the node filled up after the pod's filter
  int errors = 0;
};

// kube-scheduler's loop: each cycle a new pod (its creation event applied), filter, prioritize, the best-scored
// node, and the bind handed to a binder thread (kube-scheduler binds asynchronously); the binder posts the bind
// and applies its watch event. `service` null: the floor (no events to apply).
CycleResult RunCycles(int port, ExtenderService* service, int nodes, double seconds, const std::string& prefix) {
  CycleResult r;
  std::vector<double> filter_ms, prioritize_ms, bind_ms;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::pair<std::string, std::string>> to_bind;  // (pod JSON, node)
  bool done = false;
  std::atomic<uint64_t> bound{0};
  std::atomic<int> errors{0};
  std::atomic<uint64_t> conflicts{0};
  // kube-scheduler binds in a goroutine per pod: several binds can be in flight.
  auto binder = [&] {
    LoopbackClient client(port);
    std::string answer;
    std::vector<double> mine;
    while (true) {
      std::pair<std::string, std::string> job;
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return done || !to_bind.empty(); });
        if (to_bind.empty()) break;
        job = std::move(to_bind.front());
        to_bind.pop_front();
      }
      const size_t at = job.first.find(R"("uid":")") + 7;
      const std::string uid = job.first.substr(at, job.first.find('"', at) - at);
      const auto t0 = Clock::now();
      if (client.Post("/bind", tessera::bench::BindBody(uid, job.second), &answer) != 200) {
        ++errors;
        continue;
      }
      if (answer != R"({"Error":""})") {
        // The node filled up between this pod's filter and its bind (the pod kube-scheduler scheduled just before
        // took the room, its bind still in flight): kube-scheduler retries such a pod later.
        if (answer.find("no longer fits") == std::string::npos) {
          if (errors++ == 0) std::fprintf(stderr, "bind %s: %s\n", uid.c_str(), answer.c_str());
        } else {
          ++conflicts;
        }
        continue;
      }
      mine.push_back(Ms(Clock::now() - t0));
      if (service != nullptr) {
        service->Apply(ExtenderService::Kind::kPod, false,
                       BoundEventJson(job.first, job.second, service->AllocationOf(uid)));
      }
      ++bound;
    }
    std::lock_guard<std::mutex> lock(mu);
    bind_ms.insert(bind_ms.end(), mine.begin(), mine.end());
  };
  std::vector<std::thread> binders;
  for (int i = 0; i < 4; ++i) binders.emplace_back(binder);
  LoopbackClient client(port);
  std::string answer;
  std::mt19937 rng(11);
  const auto start = Clock::now();
  const auto until = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  for (uint64_t k = 0; Clock::now() < until; ++k) {
    const std::string pod = tessera::bench::NumaPodJson(prefix + std::to_string(k));
    if (service != nullptr) service->Apply(ExtenderService::Kind::kPod, false, pod);
    const std::string body = tessera::bench::NamesBody(nodes, pod);
    auto t0 = Clock::now();
    if (client.Post("/filter", body, &answer) != 200) {
      ++errors;
      break;
    }
    filter_ms.push_back(Ms(Clock::now() - t0));
    // Prioritize gets the nodes filter kept, as kube-scheduler sends them.
    const size_t list = answer.find(R"("NodeNames":[)");
    if (list == std::string::npos) {
      ++errors;
      continue;
    }
    const std::string kept = answer.substr(list + 13, answer.find(']', list) - list - 13);
    t0 = Clock::now();
    if (client.Post("/prioritize", R"({"Pod":)" + pod + R"(,"Nodes":null,"NodeNames":[)" + kept + "]}", &answer) !=
        200) {
      ++errors;
      break;
    }
    prioritize_ms.push_back(Ms(Clock::now() - t0));
    // The best-scored node, the first of them in the list (as our seeded tie-break would pick any). A node the
    // answer does not list scores 0, as kube-scheduler adds nothing for it.
    std::string best = kept.size() > 2 ? kept.substr(1, kept.find('"', 1) - 1) : "node-0";
    int best_score = 0;
    for (size_t at = answer.find(R"("Host":")"); at != std::string::npos;
         at = answer.find(R"("Host":")", at + 1)) {
      const size_t name_end = answer.find('"', at + 8);
      const int score = std::atoi(answer.c_str() + answer.find(R"("Score":)", name_end) + 8);
      if (score > best_score) {
        best_score = score;
        best = answer.substr(at + 8, name_end - at - 8);
      }
    }
    {
      std::lock_guard<std::mutex> lock(mu);
      to_bind.emplace_back(pod, best);
    }
    cv.notify_one();
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    done = true;
  }
  cv.notify_all();
  for (std::thread& t : binders) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  r.cycles = bound.load();
  r.cycles_per_second = static_cast<double>(r.cycles) / elapsed;
  r.filter = Summarize(filter_ms);
  r.prioritize = Summarize(prioritize_ms);
  r.bind = Summarize(bind_ms);
  r.errors = errors.load();
  r.conflicts = conflicts.load();
  return r;
}

// Filters of pods whose shape was never seen (CPU 1..16 x memory 1..64 GiB, each once).
LatencySummary RunColdFilters(int port, int nodes, double seconds, int* errors) {
  LoopbackClient client(port);
  std::string answer;
  std::vector<double> ms;
  const auto until =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  for (int k = 0; Clock::now() < until; ++k) {
    std::string pod = tessera::bench::NumaPodJson("cold-" + std::to_string(k), 1 + k % 16);
    const std::string mem = std::to_string(1 + (k / 16) % 64) + "Gi";
    for (size_t at = pod.find(R"("8Gi")"); at != std::string::npos; at = pod.find(R"("8Gi")", at + 1))
      pod.replace(at, 5, "\"" + mem + "\"");
    const std::string body = tessera::bench::NamesBody(nodes, pod);  // built before the clock starts, as above
    const auto t0 = Clock::now();
    if (client.Post("/filter", body, &answer) != 200) {
      ++*errors;
      break;
    }
    ms.push_back(Ms(Clock::now() - t0));
  }
  return Summarize(ms);
}

void Row(bool markdown, const char* scenario, const char* figure, const LatencySummary& ours,
         const LatencySummary& floor, double target_p99) {
  if (markdown) {
    std::printf("| %s | %s | %.3f | %.3f | %.3f | %.3f | %.2f | %.2f | %s |\n", scenario, figure, ours.median_ms,
                ours.p99_ms, floor.median_ms, floor.p99_ms, floor.p99_ms > 0 ? ours.p99_ms / floor.p99_ms : 0,
                ours.p99_ms / target_p99, ours.p99_ms <= target_p99 ? "met" : "NOT MET");
  } else {
    std::printf(
        "%-8s %-22s p50 %8.3f p99 %8.3f ms | floor p50 %8.3f p99 %8.3f | x floor %5.2f | target %.1f ms: %s\n",
        scenario, figure, ours.median_ms, ours.p99_ms, floor.median_ms, floor.p99_ms,
        floor.p99_ms > 0 ? ours.p99_ms / floor.p99_ms : 0, target_p99,
        ours.p99_ms <= target_p99 ? "met" : "NOT MET");
  }
}

}  // namespace

int main(int argc, char** argv) {
  int nodes = 5000, pods_per_node = 20;
  double seconds = 5, events_per_second = 200;
  bool markdown = false;
  std::string only;            // one scenario (for a profiler): churn, cold or stalled
  int api_client_threads = 2;  // as tessera-extender runs by default
  for (int i = 1; i < argc; ++i) {
    const bool has_value = i + 1 < argc;
    if (std::strcmp(argv[i], "--markdown") == 0) markdown = true;
    if (!has_value) continue;
    if (std::strcmp(argv[i], "--nodes") == 0)
      nodes = std::max(1, std::atoi(argv[++i]));
    else if (std::strcmp(argv[i], "--pods-per-node") == 0)
      pods_per_node = std::max(0, std::atoi(argv[++i]));
    else if (std::strcmp(argv[i], "--seconds") == 0)
      seconds = std::max(0.5, std::atof(argv[++i]));
    else if (std::strcmp(argv[i], "--api-client-threads") == 0)
      api_client_threads = std::max(1, std::atoi(argv[++i]));
    else if (std::strcmp(argv[i], "--only") == 0)
      only = argv[++i];
    else if (std::strcmp(argv[i], "--pod-events-per-second") == 0)
      events_per_second = std::atof(argv[++i]);
  }
  if (!tessera::kube::SetApiClientThreads(static_cast<size_t>(api_client_threads)).ok()) return 1;
  ApiStandIn api;
  if (!api.ok()) return 1;
  tessera::extender::ExtenderOptions options;
  // As tessera-extender runs by default (--evaluation-threads -1): one extra thread per core beyond the first.
  options.evaluation_threads = std::max(1u, std::thread::hardware_concurrency()) - 1;
  ExtenderService service{options};
  std::vector<std::string> node_items, cnr_items, pod_items;
  for (int i = 0; i < nodes; ++i) {
    node_items.push_back(tessera::bench::NodeJson(i));
    cnr_items.push_back(tessera::bench::CnrJson("node-" + std::to_string(i)));
    for (int j = 0; j < pods_per_node; ++j) {
      const std::string uid = "bg-" + std::to_string(i) + "-" + std::to_string(j);
      pod_items.push_back(BoundPodJson(uid, i, j % 3 == 0 ? (i + j) % 8 : -1, "Running"));
    }
  }
  const auto load_start = Clock::now();
  service.Replace(ExtenderService::Kind::kNode, node_items);
  service.Replace(ExtenderService::Kind::kCnr, cnr_items);
  service.Replace(ExtenderService::Kind::kPod, pod_items);
  (void)service.ClusterWithTopology();  // the first whole build, outside the timed runs
  const double load_s = std::chrono::duration<double>(Clock::now() - load_start).count();
  node_items.clear();
  cnr_items.clear();
  pod_items.clear();
  pod_items.shrink_to_fit();
  service.SetReadyProbe([] { return true; });
  tessera::kube::ClusterConfig api_config;
  api_config.server = api.url();
  api_config.timeout = std::chrono::milliseconds(4000);  // --bind-timeout 4s
  tessera::kube::KubeClient bind_client(api_config);
  service.AttachApi(&bind_client);

  tessera::extender::HttpServerOptions http;
  http.address = "127.0.0.1";
  http.port = 0;
  http.threads = 2;
  http.max_body_bytes = 64u << 20;
  auto registry = std::make_shared<prometheus::Registry>();
  http.blocking = tessera::extender::ExtenderBlockingRequests("");
  tessera::extender::HttpServer ours(http, tessera::extender::MakeExtenderHandler(&service, "", registry));
  if (!ours.Start().ok()) return 1;
  std::unique_ptr<tessera::extender::HttpServer> floor = tessera::bench::StartFloor(http);
  if (floor == nullptr) return 1;

  std::printf(
      "%d nodes x 8 NUMA, %zu pods held after load (%.1f s to list and build), %g unrelated pod events/s, %g s "
      "per scenario\n",
      nodes, service.placed_pods(), load_s, events_per_second, seconds);
  auto want = [&](const char* scenario) { return only.empty() || only == scenario; };
  CycleResult ours_churn, floor_churn;
  uint64_t node_rebuilds = 0, rebuilds = 0;
  UnrelatedPodEvents events(&service, nodes, events_per_second);
  if (want("churn")) {
    const uint64_t node_rebuilds_before = service.node_rebuilds(), rebuilds_before = service.rebuilds();
    const auto until =
        Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    std::thread event_thread([&] { events.Run(until); });
    ours_churn = RunCycles(ours.port(), &service, nodes, seconds, "churn-");
    event_thread.join();
    node_rebuilds = service.node_rebuilds() - node_rebuilds_before;
    rebuilds = service.rebuilds() - rebuilds_before;
  }
  if (want("churn") || want("stalled")) floor_churn = RunCycles(floor->port(), nullptr, nodes, seconds, "floor-");
  int cold_errors = 0;
  LatencySummary ours_cold, floor_cold, ours_stalled;
  if (want("cold")) {
    ours_cold = RunColdFilters(ours.port(), nodes, seconds, &cold_errors);
    floor_cold = RunColdFilters(floor->port(), nodes, seconds, &cold_errors);
  }
  if (want("stalled")) {
    // One bind hangs on the API server; other pods' cycles meanwhile.
    api.stalled = true;
    const std::string hung_pod = tessera::bench::NumaPodJson("hung-0");
    std::string ignored;
    LoopbackClient scheduler(ours.port());
    scheduler.Post("/filter", tessera::bench::NamesBody(nodes, hung_pod), &ignored);
    std::thread hung([&] {
      LoopbackClient c(ours.port());
      std::string answer;
      c.Post("/bind", tessera::bench::BindBody("hung-0", "node-1"), &answer);
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::vector<double> stalled_ms;
    LoopbackClient client(ours.port());
    const auto stall_until = Clock::now() + std::chrono::seconds(3);
    for (int k = 0; Clock::now() < stall_until; ++k) {
      const std::string body =
          tessera::bench::NamesBody(nodes, tessera::bench::NumaPodJson("other-" + std::to_string(k)));
      const auto t0 = Clock::now();
      if (client.Post("/filter", body, &ignored) != 200) break;
      stalled_ms.push_back(Ms(Clock::now() - t0));
      client.Post("/prioritize", body, &ignored);
    }
    api.stalled = false;
    hung.join();
    ours_stalled = Summarize(stalled_ms);
  }

  if (markdown) {
    std::printf(
        "\n| scenario | figure | ours p50 ms | ours p99 ms | floor p50 ms | floor p99 ms | p99 / floor | p99 / "
        "target | target |\n");
    std::printf("|---|---|---|---|---|---|---|---|---|\n");
  }
  Row(markdown, "churn", "filter", ours_churn.filter, floor_churn.filter, 2.0);
  Row(markdown, "churn", "prioritize", ours_churn.prioritize, floor_churn.prioritize, 2.0);
  Row(markdown, "churn", "bind (API round trips)", ours_churn.bind, floor_churn.bind, 5.0);
  Row(markdown, "cold", "filter", ours_cold, floor_cold, 2.0);
  Row(markdown, "stalled", "filter, one bind hung", ours_stalled, floor_churn.filter, 5.0);
  const double rss = tessera::bench::PeakRssMib();
  std::printf(
      "%s churn: %.0f cycles/s (floor %.0f, %.2fx; target >= 800: %s); %llu cycles, %.2f node re-derivations per "
      "cycle and %llu whole rebuilds; %llu binds refused (node filled meanwhile); %llu unrelated pod events "
      "applied; errors %d/%d/%d\n",
      markdown ? "\n" : "", ours_churn.cycles_per_second, floor_churn.cycles_per_second,
      floor_churn.cycles_per_second > 0 ? ours_churn.cycles_per_second / floor_churn.cycles_per_second : 0,
      ours_churn.cycles_per_second >= 800 ? "met" : "NOT MET", static_cast<unsigned long long>(ours_churn.cycles),
      ours_churn.cycles > 0 ? static_cast<double>(node_rebuilds) / static_cast<double>(ours_churn.cycles) : 0,
      static_cast<unsigned long long>(rebuilds), static_cast<unsigned long long>(ours_churn.conflicts),
      static_cast<unsigned long long>(events.applied()), ours_churn.errors, floor_churn.errors, cold_errors);
  std::printf("peak RSS of the whole process (extender state, clients, floor): %.0f MiB (target <= 1024: %s)\n",
              rss, rss <= 1024 ? "met" : "NOT MET");
  return 0;
}
