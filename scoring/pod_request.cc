#include "scoring/pod_request.h"

#include <algorithm>
#include <tuple>

namespace tessera::scoring {

const char* QosLevelName(QosLevel qos) {
  switch (qos) {
    case QosLevel::kSharedCores: return "shared_cores";
    case QosLevel::kDedicatedCores: return "dedicated_cores";
    case QosLevel::kReclaimedCores: return "reclaimed_cores";
    case QosLevel::kSystemCores: return "system_cores";
  }
  return "unknown";
}

bool LabelSelector::Matches(const std::map<std::string, std::string>& labels) const {
  for (const auto& [k, v] : match_labels) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  for (const LabelRequirement& r : match_expressions) {
    auto it = labels.find(r.key);
    const bool has = it != labels.end();
    const bool in = has && std::find(r.values.begin(), r.values.end(), it->second) != r.values.end();
    switch (r.op) {
      case LabelRequirement::Op::kIn:
        if (!in) return false;
        break;
      case LabelRequirement::Op::kNotIn:
        if (in) return false;  // Kubernetes: NotIn also matches pods without the key
        break;
      case LabelRequirement::Op::kExists:
        if (!has) return false;
        break;
      case LabelRequirement::Op::kDoesNotExist:
        if (has) return false;
        break;
    }
  }
  return true;
}

bool IsNumaBound(const PodRequest& pod, ResourcePolicy policy) {
  if (policy == ResourcePolicy::kDynamic) {
    return pod.numa_binding && (pod.qos == QosLevel::kDedicatedCores || pod.qos == QosLevel::kReclaimedCores);
  }
  return pod.guaranteed && pod.cpu_milli > 0 && pod.cpu_milli % 1000 == 0;
}

namespace {

// Nothing real asks for more than a million cores or an exbibyte; larger values are typos or attacks, and would
// overflow sums across thousands of nodes.
constexpr int64_t kMaxCpuMilli = int64_t{1000000} * 1000;
constexpr int64_t kMaxMemoryBytes = int64_t{1} << 60;

std::string CheckTerms(const std::vector<NumaAffinityTerm>& terms, const char* what, bool preferred) {
  for (const NumaAffinityTerm& t : terms) {
    if (t.selector.match_labels.empty() && t.selector.match_expressions.empty()) {
      return std::string(what) + " term has an empty selector (it would match every pod)";
    }
    for (const LabelRequirement& r : t.selector.match_expressions) {
      const bool needs_values = r.op == LabelRequirement::Op::kIn || r.op == LabelRequirement::Op::kNotIn;
      if (needs_values == r.values.empty()) {
        return std::string(what) + " matchExpressions on \"" + r.key + "\": In/NotIn need values, " +
               "Exists/DoesNotExist take none";
      }
    }
    if (preferred && (t.weight < 1 || t.weight > 100)) {
      return std::string(what) + " preferred term weight must be 1..100, got " + std::to_string(t.weight);
    }
  }
  return "";
}

}  // namespace

std::string ValidatePodRequest(const PodRequest& pod, ResourcePolicy policy) {
  if (pod.cpu_milli < 0 || pod.memory_bytes < 0 || pod.reclaimed_milli_cpu < 0 || pod.reclaimed_memory_bytes < 0) {
    return "negative resource request";
  }
  if (pod.cpu_milli > kMaxCpuMilli || pod.reclaimed_milli_cpu > kMaxCpuMilli)
    return "CPU request is absurdly large";
  if (pod.memory_bytes > kMaxMemoryBytes || pod.reclaimed_memory_bytes > kMaxMemoryBytes) {
    return "memory request is absurdly large";
  }
  for (const ContainerRequest& c : pod.containers) {
    if (c.cpu_milli < 0 || c.memory_bytes < 0) return "container " + c.name + " has a negative request";
  }
  if (pod.numa_exclusive && !pod.numa_binding) {
    return "numa_exclusive requires numa_binding (memory_enhancement "
           "{\"numa_binding\":\"true\",\"numa_exclusive\":\"true\"})";
  }
  if (pod.numa_exclusive && pod.qos != QosLevel::kDedicatedCores) {
    return std::string("numa_exclusive applies only to dedicated_cores pods, this pod is ") +
           QosLevelName(pod.qos);
  }
  if (pod.numa_binding && pod.qos != QosLevel::kDedicatedCores && pod.qos != QosLevel::kReclaimedCores) {
    return std::string("numa_binding applies to dedicated_cores and reclaimed_cores pods, this pod is ") +
           QosLevelName(pod.qos);
  }
  if (pod.qos == QosLevel::kDedicatedCores) {
    if (pod.cpu_milli % 1000 != 0) {
      return "dedicated_cores needs whole CPUs, got " + std::to_string(pod.cpu_milli) + "m";
    }
    for (const ContainerRequest& c : pod.containers) {
      if (c.cpu_milli % 1000 != 0) {
        return "dedicated_cores needs whole CPUs; container " + c.name + " asks " + std::to_string(c.cpu_milli) +
               "m";
      }
    }
    if (pod.numa_binding && pod.cpu_milli == 0) return "a NUMA-bound dedicated_cores pod must request CPU";
  }
  const GpuRequest& g = pod.gpu;
  if (g.count < 0 || g.milli_per_gpu < 0 || g.memory_mib_per_gpu < 0 || g.rdma_nics < 0) {
    return "negative GPU or RDMA request";
  }
  if (g.count == 0 && (g.milli_per_gpu > 0 || g.memory_mib_per_gpu > 0)) {
    return "GPU compute or memory requested with 0 cards";
  }
  if (g.count > 0 && g.milli_per_gpu == 0) {
    return "GPU memory without GPU compute: state the compute share per card (nvidia.com/gpucores)";
  }
  if (g.milli_per_gpu > 1000) return "more than 100 % of one card per card; ask for more cards instead";
  if (g.count > 64 || g.rdma_nics > 64) return "absurd GPU or NIC count";
  if (g.memory_mib_per_gpu > (int64_t{1} << 24)) return "GPU memory request is absurdly large";
  if (pod.numa_exclusive && !pod.affinity.required.empty()) {
    return "numa_exclusive pods own whole NUMA nodes and cannot also require NUMA affinity to other pods";
  }
  for (auto [terms, what, preferred] : {std::tuple{&pod.affinity.required, "affinity", false},
                                        std::tuple{&pod.affinity.preferred, "affinity", true},
                                        std::tuple{&pod.anti_affinity.required, "anti-affinity", false},
                                        std::tuple{&pod.anti_affinity.preferred, "anti-affinity", true}}) {
    if (std::string e = CheckTerms(*terms, what, preferred); !e.empty()) return e;
  }
  (void)policy;
  return "";
}

}  // namespace tessera::scoring
