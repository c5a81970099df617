// The kubelet's own configuration, as the reporter publishes it: its Topology Manager policy and scope, CPU and
// memory manager policies and reservations. Read each round from the kubelet's live /configz (through the API
// server's node proxy: GET /api/v1/nodes/<node>/proxy/configz, RBAC nodes/proxy get) or from its config file
// (KubeletConfiguration YAML or JSON, as NFD's topology-updater reads it), so the operator does not keep the
// reporter's flags in sync with every kubelet by hand. Explicit flags still override what the kubelet says.
#ifndef TESSERA_REPORTER_KUBELET_CONFIG_H_
#define TESSERA_REPORTER_KUBELET_CONFIG_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "crd/cnr_builder.h"
#include "kube/kube_api.h"

namespace tessera::reporter {

// What a KubeletConfiguration says; a field the kubelet left out is absent (the kubelet's default applies).
struct KubeletPolicies {
  std::optional<std::string> topology_manager_policy;  // none | best-effort | restricted | single-numa-node
  std::optional<std::string> topology_manager_scope;   // container | pod
  std::optional<std::string> cpu_manager_policy;       // none | static
  std::optional<std::string> memory_manager_policy;    // None | Static
  std::optional<std::vector<int>> reserved_system_cpus;
  std::optional<std::map<int, int64_t>> reserved_memory;  // NUMA id -> bytes
};

// A KubeletConfiguration document (YAML or JSON), or /configz's reply ({"kubeletconfig": {...}}). Unknown fields
// are ignored; a value of the wrong type or a policy name the kubelet does not know is InvalidArgument.
Result<KubeletPolicies> ParseKubeletConfig(const std::string& text);

// Which of the reporter's policy flags the operator set explicitly: those win over the kubelet's values.
struct ExplicitFlags {
  bool topology_policy = false;
  bool cpu_manager_policy = false;
  bool memory_manager_policy = false;
  bool reserved_cpus = false;
  bool reserved_memory = false;
};

// `build` with the kubelet's values filled in where no explicit flag says otherwise. InvalidArgument when the
// kubelet's topology policy and scope make no CNR value.
Status ApplyKubeletPolicies(const KubeletPolicies& kubelet, const ExplicitFlags& explicit_flags,
                            crd::CnrBuildOptions* build);

// Where the kubelet's configuration is read from: "configz" (the node proxy; needs `client`), or a file path,
// optionally as a file:// URI.
class KubeletConfigSource {
 public:
  // InvalidArgument for a URI that is neither.
  static Result<KubeletConfigSource> Make(const std::string& uri, const std::string& node_name,
                                          kube::KubeApi* client);
  // Unavailable when the API server or kubelet cannot be reached (try again next round), InvalidArgument when
  // the reply or file does not parse, IoError when the file cannot be read.
  Result<KubeletPolicies> Read() const;
  const std::string& description() const { return description_; }

 private:
  std::string path_;  // file, or empty for configz
  std::string node_name_;
  kube::KubeApi* client_ = nullptr;
  std::string description_;
};

}  // namespace tessera::reporter

#endif  // TESSERA_REPORTER_KUBELET_CONFIG_H_
