// What a pod asks of a node, as the scheduling core sees it: decoded from the pod's spec and annotations in
// crd/pod_request_codec.h, built directly by the simulator and the tests. Plain values, no JSON.
#ifndef TESSERA_SCORING_POD_REQUEST_H_
#define TESSERA_SCORING_POD_REQUEST_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace tessera::scoring {

// Katalyst's QoS classes (annotation katalyst.kubewharf.io/qos_level; absent means shared_cores).
enum class QosLevel { kSharedCores, kDedicatedCores, kReclaimedCores, kSystemCores };
const char* QosLevelName(QosLevel qos);

// Which node agent places CPUs and memory, as Katalyst's resourcePluginPolicy:
//   kDynamic: a Katalyst-style QRM agent; NUMA rules bind dedicated_cores pods with numa_binding.
//   kNative:  the stock kubelet CPU/memory managers; NUMA rules bind Guaranteed pods with whole-core CPUs.
enum class ResourcePolicy { kDynamic, kNative };

// A Kubernetes label selector: matchLabels AND every matchExpressions requirement.
struct LabelRequirement {
  enum class Op { kIn, kNotIn, kExists, kDoesNotExist };
  std::string key;
  Op op = Op::kIn;
  std::vector<std::string> values;
};

struct LabelSelector {
  std::map<std::string, std::string> match_labels;
  std::vector<LabelRequirement> match_expressions;
  bool Matches(const std::map<std::string, std::string>& labels) const;
};

// One NUMA-level (anti-)affinity term: pods matching `selector` in `namespaces` (empty: the pod's own) on the same
// NUMA node (or socket).
struct NumaAffinityTerm {
  enum class Zone { kNuma, kSocket };
  LabelSelector selector;
  std::vector<std::string> namespaces;
  Zone zone = Zone::kNuma;
  int32_t weight = 0;  // preferred terms only, 1..100
};

struct NumaAffinity {
  std::vector<NumaAffinityTerm> required;
  std::vector<NumaAffinityTerm> preferred;
  bool empty() const { return required.empty() && preferred.empty(); }
};

// How close the pod's GPUs and RDMA NICs must be (annotation tessera.io/device-affinity).
enum class DeviceAffinityLevel { kPcieSwitch, kNuma, kSocket };

// GPU and RDMA NIC demand. Compute is counted in milli-GPU (1000 = one card): Katalyst's milligpu and the openb
// trace's gpu_milli are exact, and the HAMi API unit (nvidia.com/gpucores, 1 %) is 10.
struct GpuRequest {
  int count = 0;                    // cards (nvidia.com/gpu)
  int64_t milli_per_gpu = 0;        // 1..1000 per card; 1000 = the card is the pod's alone
  int64_t memory_mib_per_gpu = 0;   // nvidia.com/gpumem per card
  std::vector<std::string> models;  // accepted GPU models (tessera.io/gpu-model, "A|B"); empty: any
  int rdma_nics = 0;                // distinct RDMA NICs (tessera.io/rdma)
  DeviceAffinityLevel affinity_level = DeviceAffinityLevel::kPcieSwitch;
  bool affinity_required = false;  // "required:..." fails the node; "preferred:..." (default) scores
  bool any() const { return count > 0 || rdma_nics > 0; }
  bool whole_cards() const { return milli_per_gpu >= 1000; }
  // 0 a share of one card, k (1..8) k whole cards, 9 other card counts; -1 no cards. See NodeState.
  int request_class() const {
    if (count <= 0) return -1;
    if (!whole_cards()) return count == 1 ? 0 : 9;
    return count <= 8 ? count : 9;
  }
};

struct ContainerRequest {
  std::string name;
  int64_t cpu_milli = 0;
  int64_t memory_bytes = 0;
  bool guaranteed = false;  // requests == limits for cpu and memory
};

struct PodRequest {
  std::string namespace_name = "default";
  std::string name;
  std::string uid;
  std::map<std::string, std::string> labels;

  QosLevel qos = QosLevel::kSharedCores;
  bool numa_binding = false;    // memory_enhancement {"numa_binding": "true"}
  bool numa_exclusive = false;  // memory_enhancement {"numa_exclusive": "true"} (needs binding + dedicated)

  // Effective pod request, as Kubernetes computes it: max(sum of app containers, largest init container),
  // plus pod overhead.
  int64_t cpu_milli = 0;
  int64_t memory_bytes = 0;
  // reclaimed_cores pods ask for resource.katalyst.kubewharf.io/reclaimed_millicpu / reclaimed_memory instead.
  int64_t reclaimed_milli_cpu = 0;
  int64_t reclaimed_memory_bytes = 0;

  std::vector<ContainerRequest> containers;  // app containers, in order (container-scope admission)
  bool guaranteed = false;                   // Kubernetes Guaranteed QoS class

  NumaAffinity affinity;
  NumaAffinity anti_affinity;

  GpuRequest gpu;

  std::string Key() const { return namespace_name + "/" + name; }
  // Asks for the reclaimed resources a node agent lends (only a CNR says how much a node has).
  bool asks_reclaimed() const { return reclaimed_milli_cpu > 0 || reclaimed_memory_bytes > 0; }
};

// Whether NUMA rules bind this pod under `policy` (see ResourcePolicy).
bool IsNumaBound(const PodRequest& pod, ResourcePolicy policy);

// Checks the rules no node can change: returns "" when valid, else one clear reason (fractional CPU for a
// dedicated_cores pod, numa_exclusive without numa_binding, negative or absurd quantities, exclusive with
// required affinity, malformed terms).
std::string ValidatePodRequest(const PodRequest& pod, ResourcePolicy policy);

}  // namespace tessera::scoring

#endif  // TESSERA_SCORING_POD_REQUEST_H_
