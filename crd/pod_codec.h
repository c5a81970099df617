// Pod JSON (as the API server and kube-scheduler send it) -> scoring::PodRequest. Reads the QoS level and the
// Katalyst annotations, sums container requests as Kubernetes does, and fails closed: an annotation Tessera
// cannot read exactly (unknown QoS level, malformed JSON, a JSON bool where Katalyst expects the string "true")
// is an error naming the annotation, never a silent default.
#ifndef TESSERA_CRD_POD_CODEC_H_
#define TESSERA_CRD_POD_CODEC_H_

#include <rapidjson/document.h>

#include <string>
#include <string_view>

#include "base/status.h"
#include "scoring/pod_request.h"

namespace tessera::crd {

inline constexpr char kAnnotationQosLevel[] = "katalyst.kubewharf.io/qos_level";
inline constexpr char kAnnotationMemoryEnhancement[] = "katalyst.kubewharf.io/memory_enhancement";
inline constexpr char kAnnotationNumaAffinity[] = "katalyst.kubewharf.io/microtopology_affinity";
inline constexpr char kAnnotationNumaAntiAffinity[] = "katalyst.kubewharf.io/microtopology_antiaffinity";
inline constexpr char kAnnotationGpuModel[] = "tessera.io/gpu-model";
inline constexpr char kAnnotationDeviceAffinity[] = "tessera.io/device-affinity";
inline constexpr char kResourceMilliGpu[] = "resource.katalyst.kubewharf.io/milligpu";
inline constexpr char kResourceRdma[] = "tessera.io/rdma";

// Every extended resource name the pod decoder reads and Tessera accounts itself (per card, per NUMA node, per
// reclaimed pool). kube-scheduler's NodeResourcesFit must ignore them (the chart lists them in
// ignoredResources): Nodes do not advertise them, or advertise only a node-wide total.
const std::vector<std::string>& AccountedResourceNames();

Result<scoring::PodRequest> DecodePodRequest(const rapidjson::Value& pod);
Result<scoring::PodRequest> DecodePodRequest(std::string_view json);

// The value of one microtopology (anti-)affinity annotation: {"required": [...], "preferred": [...]}.
Result<scoring::NumaAffinity> DecodeNumaAffinity(std::string_view json, const std::string& annotation);

// The annotation a Tessera bind writes on the pod: the allocation (state/allocation.h encodes it).
inline constexpr char kAllocationAnnotation[] = "tessera.io/allocation";

// The pod as JSON, minus what tells one replica of a workload from another and never enters a decision (metadata
// name, uid, resourceVersion, creationTimestamp, managedFields; status) and minus what a bind adds
// (spec.nodeName, the allocation annotation), which the ledger compares on their own: pods with the same shape
// get the same verdicts on the same node state (the verdict memo), and a pod event whose shape, phase, node and
// allocation did not change changes nothing the ledger holds (the watch event of the extender's own bind among
// them).
std::string PodShape(const rapidjson::Value& pod);

}  // namespace tessera::crd

#endif  // TESSERA_CRD_POD_CODEC_H_
