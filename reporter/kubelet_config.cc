#include "reporter/kubelet_config.h"

#include <yaml-cpp/yaml.h>

#include "base/file_text.h"
#include "crd/quantity.h"

namespace tessera::reporter {
namespace {

constexpr size_t kMaxConfigBytes = 1u << 20;  // a KubeletConfiguration is a few KiB

// A string field that must be one of `allowed` (the kubelet's own spellings).
Status ReadEnum(const YAML::Node& config, const char* field, std::initializer_list<const char*> allowed,
                std::optional<std::string>* out) {
  const YAML::Node v = config[field];
  if (!v || v.IsNull()) return Status::Ok();
  if (!v.IsScalar()) return Status::InvalidArgument(std::string(field) + " is not a string");
  const std::string text = v.as<std::string>();
  for (const char* a : allowed) {
    if (text == a) {
      *out = text;
      return Status::Ok();
    }
  }
  std::string list;
  for (const char* a : allowed) list += (list.empty() ? "" : "|") + std::string(a);
  return Status::InvalidArgument(std::string(field) + " \"" + text + "\" is not " + list);
}

Result<KubeletPolicies> ParseDocument(const YAML::Node& root) {
  if (!root.IsMap()) return Status::InvalidArgument("not a KubeletConfiguration object");
  // /configz wraps the configuration: {"kubeletconfig": {...}}.
  const YAML::Node config = root["kubeletconfig"] && root["kubeletconfig"].IsMap() ? root["kubeletconfig"] : root;
  KubeletPolicies out;
  if (Status s = ReadEnum(config, "topologyManagerPolicy",
                          {"none", "best-effort", "restricted", "single-numa-node"}, &out.topology_manager_policy);
      !s.ok())
    return s;
  if (Status s = ReadEnum(config, "topologyManagerScope", {"container", "pod"}, &out.topology_manager_scope);
      !s.ok())
    return s;
  if (Status s = ReadEnum(config, "cpuManagerPolicy", {"none", "static"}, &out.cpu_manager_policy); !s.ok())
    return s;
  if (Status s = ReadEnum(config, "memoryManagerPolicy", {"None", "Static"}, &out.memory_manager_policy); !s.ok())
    return s;
  if (const YAML::Node cpus = config["reservedSystemCPUs"]; cpus && !cpus.IsNull()) {
    if (!cpus.IsScalar()) return Status::InvalidArgument("reservedSystemCPUs is not a string");
    Result<std::vector<int>> list = crd::ParseCpuList(cpus.as<std::string>());
    if (!list.ok()) return list.status().WithContext("reservedSystemCPUs");
    out.reserved_system_cpus = *list;
  }
  if (const YAML::Node memory = config["reservedMemory"]; memory && !memory.IsNull()) {
    if (!memory.IsSequence()) return Status::InvalidArgument("reservedMemory is not a list");
    std::map<int, int64_t> per_numa;
    for (const YAML::Node& entry : memory) {
      if (!entry.IsMap() || !entry["numaNode"] || !entry["numaNode"].IsScalar())
        return Status::InvalidArgument("reservedMemory entry without numaNode");
      const int numa = entry["numaNode"].as<int>();
      if (numa < 0 || numa >= 64) return Status::InvalidArgument("reservedMemory numaNode out of range");
      const YAML::Node limits = entry["limits"];
      if (!limits || !limits.IsMap()) return Status::InvalidArgument("reservedMemory entry without limits");
      // Other resources (hugepages-1Gi) are reserved by the kubelet too, but are not what Tessera accounts.
      if (const YAML::Node m = limits["memory"]; m && m.IsScalar()) {
        Result<crd::Quantity> q = crd::Quantity::Parse(m.as<std::string>());
        if (!q.ok()) return q.status().WithContext("reservedMemory numaNode " + std::to_string(numa));
        if (q->milli() < 0) return Status::InvalidArgument("reservedMemory: negative quantity");
        per_numa[numa] += q->milli() / 1000;
      }
    }
    out.reserved_memory = per_numa;
  }
  return out;
}

}  // namespace

Result<KubeletPolicies> ParseKubeletConfig(const std::string& text) {
  if (text.size() > kMaxConfigBytes) return Status::InvalidArgument("kubelet configuration larger than 1 MiB");
  try {
    return ParseDocument(YAML::Load(text));
  } catch (const std::exception& e) {  // yaml-cpp reports syntax, type and nesting errors by exception
    return Status::InvalidArgument(std::string("kubelet configuration does not parse: ") + e.what());
  }
}

Status ApplyKubeletPolicies(const KubeletPolicies& kubelet, const ExplicitFlags& explicit_flags,
                            crd::CnrBuildOptions* build) {
  if (!explicit_flags.topology_policy &&
      (kubelet.topology_manager_policy.has_value() || kubelet.topology_manager_scope.has_value())) {
    const std::string policy = kubelet.topology_manager_policy.value_or("none");
    const std::string scope = kubelet.topology_manager_scope.value_or("container");
    Result<std::string> value = crd::NormalizeTopologyPolicy(policy == "none" ? "none" : policy + "/" + scope);
    if (!value.ok()) return value.status().WithContext("kubelet topologyManagerPolicy");
    build->topology_policy = *value;
  }
  if (!explicit_flags.cpu_manager_policy && kubelet.cpu_manager_policy)
    build->cpu_manager_policy = *kubelet.cpu_manager_policy;
  if (!explicit_flags.memory_manager_policy && kubelet.memory_manager_policy)
    build->memory_manager_policy = *kubelet.memory_manager_policy;
  if (!explicit_flags.reserved_cpus && kubelet.reserved_system_cpus)
    build->reserved_cpus = *kubelet.reserved_system_cpus;
  if (!explicit_flags.reserved_memory && kubelet.reserved_memory)
    build->reserved_memory = *kubelet.reserved_memory;
  return Status::Ok();
}

Result<KubeletConfigSource> KubeletConfigSource::Make(const std::string& uri, const std::string& node_name,
                                                      kube::KubeApi* client) {
  KubeletConfigSource s;
  s.node_name_ = node_name;
  s.client_ = client;
  if (uri == "configz") {
    s.description_ = "the kubelet's /configz (node proxy of " + node_name + ")";
    return s;
  }
  std::string path = uri;
  if (path.rfind("file://", 0) == 0) path = path.substr(7);
  if (path.empty() || path.find("://") != std::string::npos) {
    return Status::InvalidArgument("--kubelet-config \"" + uri +
                                   "\": expected configz, a file path or a file:// URI");
  }
  s.path_ = path;
  s.description_ = "kubelet config file " + path;
  return s;
}

Result<KubeletPolicies> KubeletConfigSource::Read() const {
  if (!path_.empty()) {
    Result<std::string> text = ReadFileText(path_, kMaxConfigBytes);
    if (!text.ok()) return text.status();
    Result<KubeletPolicies> p = ParseKubeletConfig(*text);
    return p.ok() ? p : Result<KubeletPolicies>(p.status().WithContext(path_));
  }
  if (client_ == nullptr) return Status::Unavailable("no API server to reach the kubelet's /configz through");
  Result<kube::HttpResponse> r = client_->Get("/api/v1/nodes/" + node_name_ + "/proxy/configz");
  if (!r.ok()) return r.status();
  if (r->status != 200) {
    return Status::Unavailable("GET /api/v1/nodes/" + node_name_ + "/proxy/configz: HTTP " +
                               std::to_string(r->status) + " " + r->body.substr(0, 200));
  }
  Result<KubeletPolicies> p = ParseKubeletConfig(r->body);
  return p.ok() ? p : Result<KubeletPolicies>(p.status().WithContext("/configz"));
}

}  // namespace tessera::reporter
