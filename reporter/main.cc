// tessera-reporter: publishes this node's topology as a Katalyst-compatible CustomNodeResource.
//
//   tessera-reporter --topology-xml topo.xml --node-name n1 --dry-run     # print the CNR and exit
//   tessera-reporter --kubeconfig ~/.kube/config --interval 30            # publish every 30 s
//
// Exit codes: 0 success (or SIGTERM), 1 runtime failure (metrics port busy), 2 bad input (flags, XML, kubeconfig).
#include <gflags/gflags.h>
#include <prometheus/exposer.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "crd/cnr_builder.h"
#include "crd/cnr_codec.h"
#include "crd/nrt_codec.h"
#include "kube/kube_client.h"
#include "kube/time_format.h"
#include "reporter/flags.h"
#include "reporter/reporter.h"

DEFINE_string(topology_xml, "", "hwloc XML dump to report instead of discovering this machine");
DEFINE_string(node_name, "", "Node (and CNR) name; default $NODE_NAME, else the hostname");
DEFINE_bool(dry_run, false,
            "Print the CNR JSON (with --publish nrt alone, the NodeResourceTopology) to stdout and exit without "
            "contacting the API server");
DEFINE_string(topology_policy, "none",
              "kubelet Topology Manager policy and scope: a CNR value (SingleNUMANodeContainerLevel, "
              "RestrictedPodLevel, ...) or <none|best-effort|restricted|single-numa-node>[/<container|pod>]");
DEFINE_string(cpu_manager_policy, "none", "kubelet --cpu-manager-policy (none|static)");
DEFINE_string(memory_manager_policy, "None", "kubelet --memory-manager-policy (None|Static)");
DEFINE_string(reserved_cpus, "",
              "kubelet --reserved-cpus, e.g. 0-1,64-65: removed from their NUMA node's allocatable");
DEFINE_string(reserved_memory, "", "kubelet --reserved-memory, e.g. '0:memory=1Gi;1:memory=1Gi'");
DEFINE_double(reclaim_ratio, 0.0,
              "Share of each NUMA node's allocatable CPU and memory published as reclaimed resources "
              "(static stand-in for a usage-based estimator), 0..1");
DEFINE_string(kubeconfig, "", "kubeconfig file; default: in-cluster service account");
DEFINE_string(interval, "30s", "Time between publish rounds (heartbeat period): 30s, 1m, or plain seconds");
DEFINE_bool(take_over, false, "Overwrite a CNR written by another agent (e.g. Katalyst's)");
DEFINE_string(metrics_address, "0.0.0.0:9464", "Prometheus /metrics listen address; empty disables");
DEFINE_string(gpu_aliases, "", "File of extra GPU aliases: lines 'key = model [memory_mib]'");
DEFINE_string(gpu_memory_mib, "", "GPU memory per model when the topology lacks it, e.g. 'A100=40960,T4=15360'");
DEFINE_int32(api_timeout_ms, 10000, "Deadline of each API server request");
DEFINE_string(publish, "cnr",
              "What to publish, comma-separated: cnr (CustomNodeResource), nrt (NodeResourceTopology "
              "topology.node.k8s.io/v1alpha2, for NodeResourceTopologyMatch or tessera-extender "
              "--topology-source nrt)");
DEFINE_string(kubelet_config, "",
              "Read the kubelet's policies (topology manager policy and scope, CPU and memory manager policies, "
              "reservedSystemCPUs, reservedMemory) every round from: configz (the kubelet's /configz through the "
              "API server's node proxy; RBAC nodes/proxy get) or a KubeletConfiguration file (path or file:// "
              "URI). Policy flags given explicitly override it. Empty: the flags alone");

namespace {

std::atomic<bool> g_stop{false};
void OnSignal(int) {
  g_stop.store(true);
}

// Usage on stderr (gflags' own helpers print to stdout, which --dry-run reserves for JSON).
void PrintUsage() {
  std::cerr << gflags::ProgramUsage() << "\n\nflags:\n";
  std::vector<gflags::CommandLineFlagInfo> flags;
  gflags::GetAllFlags(&flags);
  for (const auto& f : flags) {
    if (f.filename.find("reporter/main") != std::string::npos) std::cerr << gflags::DescribeOneFlag(f);
  }
}

// gflags exits on an unknown flag without the usage text; check first so the user sees what is accepted.
bool AllFlagsKnown(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") break;
    if (arg.size() < 2 || arg[0] != '-') continue;
    std::string name = arg.substr(arg[1] == '-' ? 2 : 1);
    name = name.substr(0, name.find('='));
    gflags::CommandLineFlagInfo info;
    if (gflags::GetCommandLineFlagInfo(name.c_str(), &info)) continue;
    if (name.rfind("no", 0) == 0 && gflags::GetCommandLineFlagInfo(name.substr(2).c_str(), &info) &&
        info.type == "bool") {
      continue;
    }
    if (name == "help" || name == "helpfull" || name == "version") continue;
    std::cerr << "tessera-reporter: unknown flag " << arg << "\n\n";
    PrintUsage();
    return false;
  }
  return true;
}

std::string DefaultNodeName() {
  if (const char* env = std::getenv("NODE_NAME"); env != nullptr && *env != '\0') return env;
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) == 0) return host;
  return "";
}

int BadInput(const tessera::Status& s) {
  std::cerr << "tessera-reporter: " << s.message() << "\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  // Logs go to stderr: with --dry-run, stdout carries nothing but the CNR JSON.
  spdlog::set_default_logger(spdlog::stderr_color_mt("tessera-reporter"));
  gflags::SetUsageMessage(
      "publishes this node's CPU/NUMA/GPU/NIC topology as a CustomNodeResource\n"
      "usage: tessera-reporter [--topology-xml FILE] [--node-name NAME] [--dry-run] ...");
  if (!AllFlagsKnown(argc, argv)) return 2;
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  if (argc > 1) {
    std::cerr << "tessera-reporter: unexpected argument " << argv[1] << "\n";
    PrintUsage();
    return 2;
  }

  using namespace tessera;  // NOLINT(google-build-using-namespace): main only
  reporter::ReporterConfig config;
  config.discovery.xml_path = FLAGS_topology_xml;
  if (!FLAGS_gpu_aliases.empty()) {
    if (Status s = config.discovery.gpu_models.LoadAliasFile(FLAGS_gpu_aliases); !s.ok()) return BadInput(s);
  }
  if (Status s = config.discovery.gpu_models.LoadMemoryOverrides(FLAGS_gpu_memory_mib); !s.ok())
    return BadInput(s);
  config.build.node_name = FLAGS_node_name.empty() ? DefaultNodeName() : FLAGS_node_name;
  config.build.topology_policy = FLAGS_topology_policy;
  config.build.cpu_manager_policy = FLAGS_cpu_manager_policy;
  config.build.memory_manager_policy = FLAGS_memory_manager_policy;
  config.build.reclaim_ratio = FLAGS_reclaim_ratio;
  Result<std::vector<int>> cpus = crd::ParseCpuList(FLAGS_reserved_cpus);
  if (!cpus.ok()) return BadInput(cpus.status().WithContext("--reserved-cpus"));
  config.build.reserved_cpus = *cpus;
  Result<std::map<int, int64_t>> memory = reporter::ParseReservedMemory(FLAGS_reserved_memory);
  if (!memory.ok()) return BadInput(memory.status());
  config.build.reserved_memory = *memory;
  Result<std::chrono::milliseconds> interval = kube::ParseDuration(FLAGS_interval);
  if (!interval.ok()) return BadInput(interval.status().WithContext("--interval"));
  if (*interval < std::chrono::seconds(1) || *interval > std::chrono::hours(24))
    return BadInput(Status::InvalidArgument("--interval must be between 1s and 24h"));
  config.interval = *interval;
  config.publish.take_over = FLAGS_take_over;
  {
    config.publish_cnr = config.publish_nrt = false;
    std::stringstream list(FLAGS_publish);
    std::string item;
    while (std::getline(list, item, ',')) {
      if (item == "cnr") {
        config.publish_cnr = true;
      } else if (item == "nrt") {
        config.publish_nrt = true;
      } else {
        return BadInput(Status::InvalidArgument("--publish: \"" + item + "\" is not cnr or nrt"));
      }
    }
    if (!config.publish_cnr && !config.publish_nrt)
      return BadInput(Status::InvalidArgument("--publish names nothing to publish"));
  }
  auto is_set = [](const char* flag) {
    gflags::CommandLineFlagInfo info;
    return gflags::GetCommandLineFlagInfo(flag, &info) && !info.is_default;
  };
  config.explicit_flags = {is_set("topology_policy"), is_set("cpu_manager_policy"),
                           is_set("memory_manager_policy"), is_set("reserved_cpus"), is_set("reserved_memory")};

  // A file source is checked now: a kubelet config that does not parse is bad input, not a round to retry.
  if (!FLAGS_kubelet_config.empty() && FLAGS_kubelet_config != "configz") {
    Result<reporter::KubeletConfigSource> source =
        reporter::KubeletConfigSource::Make(FLAGS_kubelet_config, config.build.node_name, nullptr);
    if (!source.ok()) return BadInput(source.status());
    Result<reporter::KubeletPolicies> read = source->Read();
    if (!read.ok()) return BadInput(read.status().WithContext("--kubelet-config"));
    config.kubelet_config = *source;
  } else if (FLAGS_kubelet_config == "configz" && FLAGS_dry_run) {
    return BadInput(Status::InvalidArgument("--kubelet-config=configz needs the API server (not --dry-run)"));
  }

  auto registry = std::make_shared<prometheus::Registry>();
  if (FLAGS_dry_run) {
    reporter::Reporter reporter(config, nullptr, registry);
    Result<crd::Cnr> cnr = reporter.BuildDesired(std::chrono::system_clock::now());
    if (!cnr.ok()) return BadInput(cnr.status());
    rapidjson::Document doc;
    if (config.publish_cnr) {
      crd::EncodeCnr(*cnr, &doc);
    } else {  // --publish nrt: the NodeResourceTopology instead
      doc.Parse(crd::EncodeNrt(crd::NrtFromCnr(*cnr)).c_str());
    }
    rapidjson::StringBuffer buf;
    rapidjson::PrettyWriter<rapidjson::StringBuffer> writer(buf);
    writer.SetIndent(' ', 2);
    doc.Accept(writer);
    std::cout << buf.GetString() << std::endl;
    return 0;
  }

  // Fail fast on input that can never work: the topology and the options must build a CNR.
  {
    reporter::Reporter probe(config, nullptr, std::make_shared<prometheus::Registry>());
    if (Result<crd::Cnr> cnr = probe.BuildDesired(std::chrono::system_clock::now()); !cnr.ok()) {
      return BadInput(cnr.status());
    }
  }
  Result<kube::ClusterConfig> cluster =
      FLAGS_kubeconfig.empty() ? kube::InClusterConfig() : kube::KubeconfigConfig(FLAGS_kubeconfig);
  if (!cluster.ok()) return BadInput(cluster.status());
  cluster->timeout = std::chrono::milliseconds(FLAGS_api_timeout_ms);
  kube::KubeClient client(*cluster);
  if (FLAGS_kubelet_config == "configz") {
    Result<reporter::KubeletConfigSource> source =
        reporter::KubeletConfigSource::Make("configz", config.build.node_name, &client);
    if (!source.ok()) return BadInput(source.status());
    config.kubelet_config = *source;
  }

  std::unique_ptr<prometheus::Exposer> exposer;
  if (!FLAGS_metrics_address.empty()) {
    try {
      exposer = std::make_unique<prometheus::Exposer>(FLAGS_metrics_address);
      exposer->RegisterCollectable(registry);
    } catch (const std::exception& e) {
      spdlog::error("cannot serve metrics on {}: {}", FLAGS_metrics_address, e.what());
      return 1;
    }
  }
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);

  spdlog::info("reporting node {} to {} every {}", config.build.node_name, cluster->server, FLAGS_interval);
  if (!config.kubelet_config && !config.explicit_flags.topology_policy &&
      !config.explicit_flags.cpu_manager_policy) {
    // Not silent: a kubelet running single-numa-node with the static CPU manager would contradict what we publish.
    spdlog::warn(
        "neither --kubelet-config nor --topology-policy/--cpu-manager-policy given: publishing the kubelet's "
        "defaults (topology policy none, CPU manager none); use --kubelet-config configz to publish what the "
        "kubelet really runs");
  }
  reporter::Reporter reporter(config, &client, registry);
  reporter.Run(g_stop);
  spdlog::info("stopping on signal");
  return 0;
}
