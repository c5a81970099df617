// tessera-extender: the kube-scheduler HTTP extender (filter, prioritize, bind, preempt).
//
//   tessera-extender --kubeconfig ~/.kube/config    # list+watch Nodes, Pods, CNRs; bind through the API server
//   tessera-extender --snapshot DIR --port 8888     # offline: state from nodes.json, pods.json, cnrs.json
//
// Exit codes: 0 on SIGTERM/SIGINT, 1 runtime failure (port busy), 2 bad input (flags, snapshot files).
#include <gflags/gflags.h>
#include <prometheus/registry.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "extender/api_source.h"
#include "extender/extender_service.h"
#include "extender/http_server.h"
#include "extender/routes.h"
#include "kube/leader_election.h"
#include "kube/list_watch.h"
#include "kube/time_format.h"
#include "scoring/allocation_score.h"
#include "scoring/gpu_policy.h"

DEFINE_string(snapshot, "",
              "A cluster dump instead of the API server: one List of Nodes, Pods and CNRs (kubectl get "
              "nodes,pods,customnoderesources -A -o json), or a directory of nodes.json, pods.json, cnrs.json "
              "(and noderesourcetopologies.json)");
DEFINE_string(now, "",
              "With --snapshot: the moment (RFC 3339) at which CNR heartbeats are judged; default the dump's "
              "newest timestamp");
DEFINE_string(kubeconfig, "", "kubeconfig for API-server mode; default: in-cluster service account");
DEFINE_int32(watch_timeout, 30, "Seconds each watch request lasts before it is resumed");
DEFINE_string(resync_period, "300",
              "Seconds between full relists of Nodes, Pods and CNRs that correct any drift (0: off)");
DEFINE_int32(api_timeout_ms, 10000,
             "Deadline of each API request other than a bind's (leader election, the relist on promotion)");
DEFINE_string(bind_timeout, "4s",
              "Deadline of a bind's API call (the Binding, which carries the allocation): below kube-scheduler's "
              "5 s extender httpTimeout, so a stalled API server fails the bind before the scheduler gives up");
DEFINE_int32(evaluation_threads, -1,
             "Extra threads a cold evaluation (a pod shape not seen before, on 1,024 nodes or more) is split "
             "across; -1: one fewer than the cores");
DEFINE_bool(node_utilisation_metrics, false,
            "Export the ledger's utilisation of every node (3 series a node) besides the cluster's totals");
DEFINE_int32(bind_workers, tessera::extender::HttpServerOptions{}.blocking_threads,
             "Threads that make binds' API calls (and a standby's forwarding), apart from the HTTP threads: "
             "kube-scheduler binds asynchronously, a batch of pods puts many binds in flight at once");
DEFINE_int32(api_client_threads, 2,
             "Threads of the Kubernetes API client (cpprestsdk's pool: every watch read and bind request); its "
             "default of 40 hands each response between threads for nothing on a small node");
DEFINE_int32(bind_queue, static_cast<int32_t>(tessera::extender::HttpServerOptions{}.blocking_queue),
             "Binds (and forwarded verbs) waiting or running beyond which a bind is answered 503 at once");
DEFINE_string(address, "0.0.0.0", "Listen address");
DEFINE_int32(port, 8888, "Listen port");
DEFINE_string(url_prefix, "", "Path prefix of the verbs (kube-scheduler's urlPrefix path), e.g. /tessera");
DEFINE_int32(threads, 2, "HTTP worker threads");
DEFINE_uint64(max_body_bytes, 16u << 20, "Largest request body accepted (413 beyond)");
DEFINE_string(cnr_stale_after, "300",
              "How old a CNR's AgentReady heartbeat may be before the CNR is stale (e.g. 5m, or seconds)");
DEFINE_string(forget_unbound_after, "10m",
              "Forget a pod known only from filter calls (never bound, never seen from the API server) this long "
              "after its last filter (e.g. 10m, or seconds)");
DEFINE_string(topology_source, "auto",
              "Where node topology comes from: cnr (CustomNodeResource), nrt (NodeResourceTopology, "
              "topology.node.k8s.io/v1alpha2, as NFD's topology-updater, the resource-topology-exporter or "
              "koordlet publish it) or auto (the CNR where a node has one, else its NRT)");
DEFINE_string(assume_cpu_manager_policy, "",
              "CPU manager policy (none|static) of nodes whose CNR does not publish it (a Katalyst agent's); "
              "default: inferred from the CNR's topologyPolicy (single-numa-node, restricted, numeric: static)");
DEFINE_string(assume_memory_manager_policy, "",
              "Memory manager policy (None|Static) of nodes whose CNR does not publish it; default: inferred "
              "like the CPU manager's");
DEFINE_string(resource_policy, "dynamic", "Node agent: dynamic (Katalyst QRM) or native (kubelet managers)");
DEFINE_string(gpu_policy, "tessera",
              "GPU placement policy: tessera, fgd, bestfit, dotprod, binpack, spread, random");
DEFINE_string(strategy, "MostAllocated", "CPU/memory scoring: LeastAllocated, MostAllocated, BalancedAllocation");
DEFINE_string(tls_cert, "", "PEM certificate chain: serve HTTPS (with --tls-key)");
DEFINE_string(tls_key, "", "PEM private key for --tls-cert");
DEFINE_bool(leader_elect, false, "Run several replicas: one leads (a Lease); standbys forward the verbs to it");
DEFINE_string(leader_elect_namespace, "", "Namespace of the Lease (default $POD_NAMESPACE, else kube-system)");
DEFINE_string(leader_elect_name, "tessera-extender", "Name of the Lease");
DEFINE_string(advertise_url, "", "How other replicas reach this one (default http://$POD_IP:<port>)");

namespace {
std::atomic<bool> g_stop{false};
void OnSignal(int) {
  g_stop.store(true);
}
int BadInput(const std::string& msg) {
  std::cerr << "tessera-extender: " << msg << "\n";
  return 2;
}
}  // namespace

int main(int argc, char** argv) {
  spdlog::set_default_logger(spdlog::stderr_color_mt("tessera-extender"));
  gflags::SetUsageMessage(
      "kube-scheduler HTTP extender: NUMA-, GPU- and PCIe-aware filter/prioritize/bind/preempt");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  using namespace tessera;  // NOLINT(google-build-using-namespace): main only
  if (FLAGS_api_client_threads < 1) return BadInput("--api-client-threads must be at least 1");
  if (Status s = kube::SetApiClientThreads(static_cast<size_t>(FLAGS_api_client_threads)); !s.ok())
    return BadInput(s.message());
  extender::ExtenderOptions options;
  if (FLAGS_resource_policy == "native") {
    options.scheduler.resource_policy = scoring::ResourcePolicy::kNative;
  } else if (FLAGS_resource_policy != "dynamic") {
    return BadInput("--resource-policy must be dynamic or native");
  }
  if (!scoring::MakeGpuPolicy(FLAGS_gpu_policy).ok())
    return BadInput(scoring::MakeGpuPolicy(FLAGS_gpu_policy).status().message());
  options.scheduler.gpu_policy = FLAGS_gpu_policy;
  auto strategy = scoring::ParseAllocationStrategy(FLAGS_strategy);
  if (!strategy.ok()) return BadInput(strategy.status().message());
  options.scheduler.strategy = *strategy;
  Result<std::chrono::milliseconds> stale_after = kube::ParseDuration(FLAGS_cnr_stale_after);
  if (!stale_after.ok()) return BadInput("--cnr-stale-after: " + stale_after.status().message());
  options.cnr_stale_after = std::chrono::duration_cast<std::chrono::seconds>(*stale_after);
  Result<std::chrono::milliseconds> forget_after = kube::ParseDuration(FLAGS_forget_unbound_after);
  if (!forget_after.ok() || forget_after->count() <= 0)
    return BadInput("--forget-unbound-after: " +
                    (forget_after.ok() ? std::string("must be positive") : forget_after.status().message()));
  options.forget_unbound_after = std::chrono::duration_cast<std::chrono::seconds>(*forget_after);
  Result<std::chrono::milliseconds> resync_period = kube::ParseDuration(FLAGS_resync_period);
  if (!resync_period.ok()) return BadInput("--resync-period: " + resync_period.status().message());
  Result<std::chrono::milliseconds> bind_timeout = kube::ParseDuration(FLAGS_bind_timeout);
  if (!bind_timeout.ok() || bind_timeout->count() <= 0)
    return BadInput("--bind-timeout: " +
                    (bind_timeout.ok() ? std::string("must be positive") : bind_timeout.status().message()));
  options.log_warning = [](const std::string& message) { spdlog::warn("{}", message); };
  options.per_node_utilisation_metrics = FLAGS_node_utilisation_metrics;
  options.evaluation_threads = FLAGS_evaluation_threads >= 0
                                   ? static_cast<size_t>(FLAGS_evaluation_threads)
                                   : static_cast<size_t>(std::max(1u, std::thread::hardware_concurrency()) - 1);
  if (FLAGS_topology_source == "nrt") {
    options.topology_source = extender::ExtenderOptions::TopologySource::kNrt;
  } else if (FLAGS_topology_source == "auto") {
    options.topology_source = extender::ExtenderOptions::TopologySource::kAuto;
  } else if (FLAGS_topology_source != "cnr") {
    return BadInput("--topology-source must be cnr, nrt or auto");
  }
  options.cnr_read.assume_cpu_manager_policy = FLAGS_assume_cpu_manager_policy;
  options.cnr_read.assume_memory_manager_policy = FLAGS_assume_memory_manager_policy;
  if (Status s = crd::ValidateCnrReadOptions(options.cnr_read); !s.ok()) return BadInput(s.message());
  // Crash tests only: pause inside each bind, between the reservation and the Binding (see ExtenderOptions).
  if (const char* pause = std::getenv("TESSERA_FAILPOINT_BIND_PAUSE_MS"); pause != nullptr && *pause != '\0') {
    options.failpoint_bind_pause = std::chrono::milliseconds(std::strtol(pause, nullptr, 10));
    spdlog::warn("failpoint: every bind pauses {} ms between the reservation and the Binding",
                 options.failpoint_bind_pause.count());
  }
  extender::ExtenderService service(options);
  if (!FLAGS_now.empty() && FLAGS_snapshot.empty()) return BadInput("--now needs --snapshot");
  std::unique_ptr<kube::KubeClient> api;
  std::unique_ptr<kube::KubeClient> bind_api;  // binds only: their own deadline (--bind-timeout)
  std::unique_ptr<extender::ApiSource> source;
  if (!FLAGS_snapshot.empty()) {
    std::optional<std::chrono::system_clock::time_point> now;
    if (!FLAGS_now.empty()) {
      now.emplace();
      if (!kube::ParseRfc3339(FLAGS_now, &*now)) return BadInput("--now: not an RFC 3339 time: " + FLAGS_now);
    }
    if (Status s = service.LoadSnapshot(FLAGS_snapshot, now); !s.ok())
      return BadInput("--snapshot: " + s.message());
  } else {
    Result<kube::ClusterConfig> cluster =
        FLAGS_kubeconfig.empty() ? kube::InClusterConfig() : kube::KubeconfigConfig(FLAGS_kubeconfig);
    if (!cluster.ok()) return BadInput(cluster.status().message() + " (or pass --snapshot DIR)");
    cluster->timeout = std::chrono::milliseconds(FLAGS_api_timeout_ms);
    api = std::make_unique<kube::KubeClient>(*cluster);
    kube::ClusterConfig bind_config = *cluster;
    bind_config.timeout = *bind_timeout;
    bind_api = std::make_unique<kube::KubeClient>(bind_config);
    service.AttachApi(bind_api.get());
    kube::ListWatchOptions lw;
    lw.watch_timeout_seconds = std::max(1, FLAGS_watch_timeout);
    lw.resync_period = std::chrono::duration_cast<std::chrono::seconds>(*resync_period);
    source = std::make_unique<extender::ApiSource>(*cluster, &service, lw, FLAGS_topology_source != "cnr");
    source->Start();
  }

  std::unique_ptr<kube::LeaderElector> elector;
  extender::LeaderRouting routing;
  if (FLAGS_leader_elect) {
    if (!api) return BadInput("--leader-elect needs the API server (not --snapshot)");
    kube::LeaderElectionOptions le;
    const char* ns = std::getenv("POD_NAMESPACE");
    le.lease_namespace =
        !FLAGS_leader_elect_namespace.empty() ? FLAGS_leader_elect_namespace : (ns ? ns : "kube-system");
    le.lease_name = FLAGS_leader_elect_name;
    const char* ip = std::getenv("POD_IP");
    le.identity = !FLAGS_advertise_url.empty()
                      ? FLAGS_advertise_url
                      : "http://" + std::string(ip ? ip : "127.0.0.1") + ":" + std::to_string(FLAGS_port);
    elector = std::make_unique<kube::LeaderElector>(api.get(), le);
    kube::KubeClient* client = api.get();
    // On promotion, relist pods first: the last binds of the previous leader may not have reached our watch yet.
    elector->Start([&service, client] {
      Result<kube::HttpResponse> pods = client->Get(extender::kPodsPath);
      if (!pods.ok() || pods->status != 200) return;
      if (Result<kube::ListPage> page = kube::DecodeList(pods->body); page.ok()) {
        service.Replace(extender::ExtenderService::Kind::kPod, page->items);
      }
    });
    kube::LeaderElector* e = elector.get();
    routing.is_leader = [e] { return e->is_leader(); };
    routing.leader_url = [e] { return e->holder(); };
  }
  auto registry = std::make_shared<prometheus::Registry>();
  service.AttachMetrics(registry);
  auto& restarts = prometheus::BuildGauge()
                       .Name("tessera_extender_watch_restarts")
                       .Help("Relists of the Node/Pod/CNR informers (after 410 Gone, errors or broken streams)")
                       .Register(*registry)
                       .Add({});
  auto& resyncs = prometheus::BuildGauge()
                      .Name("tessera_extender_resyncs")
                      .Help("Periodic full relists (--resync-period) of the Node/Pod/CNR informers")
                      .Register(*registry)
                      .Add({});
  extender::HttpServerOptions http;
  http.address = FLAGS_address;
  http.port = FLAGS_port;
  http.threads = FLAGS_threads;
  http.max_body_bytes = FLAGS_max_body_bytes;
  http.blocking = extender::ExtenderBlockingRequests(FLAGS_url_prefix, routing);
  http.blocking_threads = std::max(1, FLAGS_bind_workers);
  http.blocking_queue = static_cast<size_t>(std::max(1, FLAGS_bind_queue));
  if (FLAGS_tls_cert.empty() != FLAGS_tls_key.empty()) return BadInput("--tls-cert and --tls-key go together");
  http.tls_cert_file = FLAGS_tls_cert;
  http.tls_key_file = FLAGS_tls_key;
  extender::HttpServer server(http, extender::MakeExtenderHandler(&service, FLAGS_url_prefix, registry, routing));
  if (Status s = server.Start(); !s.ok()) {
    spdlog::error("{}", s.message());
    return s.IsInvalidArgument() ? 2 : 1;
  }
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  spdlog::info("serving on {}:{} ({})", FLAGS_address, server.port(),
               FLAGS_snapshot.empty() ? "API server" : "snapshot " + FLAGS_snapshot);
  while (!g_stop.load()) {
    if (source) {
      restarts.Set(source->restarts());
      resyncs.Set(source->resyncs());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  server.Stop();
  if (elector) elector->Stop();
  if (source) source->Stop();
  return 0;
}
