#include "crd/pod_codec.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cctype>
#include <initializer_list>

#include "crd/cnr.h"
#include "crd/json_fields.h"

namespace tessera::crd {

const std::vector<std::string>& AccountedResourceNames() {
  static const std::vector<std::string> kNames = {
      kResourceGpu,  kResourceGpuCores,          kResourceGpuMemory,      kResourceMilliGpu,
      kResourceRdma, kResourceReclaimedMilliCpu, kResourceReclaimedMemory};
  return kNames;
}

using scoring::LabelRequirement;
using scoring::NumaAffinity;
using scoring::NumaAffinityTerm;
using scoring::PodRequest;
using scoring::QosLevel;

namespace {

// Go's encoding/json matches field names case-insensitively; Katalyst's proposal relies on it ("MatchLabels").
const rapidjson::Value* MemberCi(const rapidjson::Value& obj, const char* key) {
  if (!obj.IsObject()) return nullptr;
  for (auto it = obj.MemberBegin(); it != obj.MemberEnd(); ++it) {
    std::string_view name(it->name.GetString(), it->name.GetStringLength());
    if (name.size() == std::char_traits<char>::length(key) &&
        std::equal(name.begin(), name.end(), key,
                   [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
      return it->value.IsNull() ? nullptr : &it->value;
    }
  }
  return nullptr;
}

Status DecodeStringList(const rapidjson::Value& v, const std::string& path, std::vector<std::string>* out) {
  if (!v.IsArray()) return Status::InvalidArgument(path + ": expected array of strings");
  for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
    if (!v[i].IsString()) return Status::InvalidArgument(IndexPath(path, i) + ": expected string");
    out->emplace_back(v[i].GetString(), v[i].GetStringLength());
  }
  return Status::Ok();
}

Status DecodeTerm(const rapidjson::Value& v, const std::string& path, bool preferred, NumaAffinityTerm* t) {
  if (!v.IsObject()) return Status::InvalidArgument(path + ": expected object");
  const rapidjson::Value* labels = MemberCi(v, "matchLabels");
  const rapidjson::Value* exprs = MemberCi(v, "matchExpressions");
  if (labels == nullptr && exprs == nullptr)
    return Status::InvalidArgument(path + ": selector needs matchLabels or matchExpressions");
  if (labels != nullptr) {
    if (!labels->IsObject()) return Status::InvalidArgument(path + ".matchLabels: expected object");
    for (auto it = labels->MemberBegin(); it != labels->MemberEnd(); ++it) {
      if (!it->value.IsString()) {
        return Status::InvalidArgument(path + ".matchLabels[\"" + it->name.GetString() + "\"]: expected string");
      }
      t->selector.match_labels[it->name.GetString()] = it->value.GetString();
    }
  }
  if (exprs != nullptr) {
    if (!exprs->IsArray()) return Status::InvalidArgument(path + ".matchExpressions: expected array");
    for (rapidjson::SizeType i = 0; i < exprs->Size(); ++i) {
      const std::string ep = IndexPath(path + ".matchExpressions", i);
      const rapidjson::Value& e = (*exprs)[i];
      LabelRequirement r;
      std::string op;
      if (Status s = ExpectObject(e, ep); !s.ok()) return s;
      if (Status s = ReadString(e, "key", ep, &r.key, true); !s.ok()) return s;
      if (Status s = ReadString(e, "operator", ep, &op, true); !s.ok()) return s;
      if (op == "In")
        r.op = LabelRequirement::Op::kIn;
      else if (op == "NotIn")
        r.op = LabelRequirement::Op::kNotIn;
      else if (op == "Exists")
        r.op = LabelRequirement::Op::kExists;
      else if (op == "DoesNotExist")
        r.op = LabelRequirement::Op::kDoesNotExist;
      else
        return Status::InvalidArgument(ep + ".operator: unknown operator \"" + op + "\"");
      if (const rapidjson::Value* vals = Member(e, "values")) {
        if (Status s = DecodeStringList(*vals, ep + ".values", &r.values); !s.ok()) return s;
      }
      t->selector.match_expressions.push_back(std::move(r));
    }
  }
  if (const rapidjson::Value* ns = MemberCi(v, "namespaces")) {
    if (Status s = DecodeStringList(*ns, path + ".namespaces", &t->namespaces); !s.ok()) return s;
  }
  if (const rapidjson::Value* zone = MemberCi(v, "zone")) {
    std::string z = zone->IsString() ? zone->GetString() : "";
    if (z == "numa")
      t->zone = NumaAffinityTerm::Zone::kNuma;
    else if (z == "socket")
      t->zone = NumaAffinityTerm::Zone::kSocket;
    else
      return Status::InvalidArgument(path + ".zone: must be \"numa\" or \"socket\"");
  }
  if (const rapidjson::Value* w = MemberCi(v, "weight")) {
    if (!w->IsInt()) return Status::InvalidArgument(path + ".weight: expected integer");
    t->weight = w->GetInt();
  } else if (preferred) {
    t->weight = 1;  // Kubernetes requires a weight; Katalyst's proposal has none, so each term counts once
  }
  return Status::Ok();
}

Status DecodeTerms(const rapidjson::Value& obj, const char* key, const std::string& path, bool preferred,
                   std::vector<NumaAffinityTerm>* out) {
  const rapidjson::Value* arr = MemberCi(obj, key);
  if (arr == nullptr) return Status::Ok();
  const std::string p = path + "." + key;
  if (!arr->IsArray()) return Status::InvalidArgument(p + ": expected array");
  for (rapidjson::SizeType i = 0; i < arr->Size(); ++i) {
    NumaAffinityTerm t;
    if (Status s = DecodeTerm((*arr)[i], IndexPath(p, i), preferred, &t); !s.ok()) return s;
    out->push_back(std::move(t));
  }
  return Status::Ok();
}

struct Requests {
  int64_t cpu = 0, memory = 0, reclaimed_cpu = 0, reclaimed_memory = 0;
  bool guaranteed = true;
  ResourceList all;  // every request, for the device resources
};

int64_t Units(const ResourceList& r, const char* name) {
  auto it = r.find(name);
  return it == r.end() ? 0 : it->second.milli() / 1000;
}
int64_t Milli(const ResourceList& r, const char* name) {
  auto it = r.find(name);
  return it == r.end() ? 0 : it->second.milli();
}

Status DecodeContainer(const rapidjson::Value& c, const std::string& path, scoring::ContainerRequest* out,
                       Requests* req) {
  if (Status s = ExpectObject(c, path); !s.ok()) return s;
  if (Status s = ReadString(c, "name", path, &out->name); !s.ok()) return s;
  ResourceList requests, limits;
  if (const rapidjson::Value* res = Member(c, "resources")) {
    const std::string rp = path + ".resources";
    if (Status s = ExpectObject(*res, rp); !s.ok()) return s;
    if (Status s = ReadResourceList(*res, "requests", rp, &requests); !s.ok()) return s;
    if (Status s = ReadResourceList(*res, "limits", rp, &limits); !s.ok()) return s;
  }
  // Kubernetes defaults a missing request to its limit.
  for (const auto& [name, q] : limits) requests.emplace(name, q);
  for (const auto& [name, q] : requests) {
    if (q.milli() < 0) return Status::InvalidArgument(path + ".resources: negative " + name);
  }
  out->cpu_milli = Milli(requests, kResourceCpu);
  out->memory_bytes = Units(requests, kResourceMemory);
  out->guaranteed = limits.count(kResourceCpu) && limits.count(kResourceMemory) &&
                    Milli(limits, kResourceCpu) == out->cpu_milli &&
                    Units(limits, kResourceMemory) == out->memory_bytes && out->cpu_milli > 0;
  req->cpu = out->cpu_milli;
  req->memory = out->memory_bytes;
  req->reclaimed_cpu = Units(requests, kResourceReclaimedMilliCpu);  // the unit is already milli-CPU
  req->reclaimed_memory = Units(requests, kResourceReclaimedMemory);
  req->guaranteed = out->guaranteed;
  req->all = requests;
  return Status::Ok();
}

// GPU and RDMA requests of one container (HAMi names and units; Katalyst's milligpu; tessera.io/rdma).
Status DecodeDevices(const ResourceList& r, const std::string& path, scoring::GpuRequest* g) {
  auto has = [&](const char* name) { return r.count(name) != 0; };
  auto milli = [&](const char* name) { return r.at(name).milli(); };
  if (has(kResourceRdma)) {
    if (milli(kResourceRdma) % 1000 != 0)
      return Status::InvalidArgument(path + ": tessera.io/rdma must be a whole number");
    g->rdma_nics = static_cast<int>(std::min<int64_t>(milli(kResourceRdma) / 1000, 1 << 20));
  }
  const bool cards = has(kResourceGpu), cores = has(kResourceGpuCores), mem = has(kResourceGpuMemory),
             mgpu = has(kResourceMilliGpu);
  if (!cards && !cores && !mem && !mgpu) return Status::Ok();
  if (mgpu && (cards || cores)) {
    return Status::InvalidArgument(
        path + ": use either resource.katalyst.kubewharf.io/milligpu or nvidia.com/gpu(+gpucores), not both");
  }
  if (mgpu) {
    const int64_t m = milli(kResourceMilliGpu) / 1000;  // quantity units are milli-GPU
    if (m <= 0) return Status::InvalidArgument(path + ": milligpu must be positive");
    if (m % 10 != 0)
      return Status::InvalidArgument(path + ": milligpu " + std::to_string(m) +
                                     " is not a whole percent of a card");
    if (m > 1000 && m % 1000 != 0) {
      return Status::InvalidArgument(path + ": milligpu above one card must be whole cards (a multiple of 1000)");
    }
    g->count = m > 1000 ? static_cast<int>(std::min<int64_t>(m / 1000, 1 << 20)) : 1;
    g->milli_per_gpu = m > 1000 ? 1000 : m;
  } else {
    const int64_t count = cards ? milli(kResourceGpu) : 1000;  // gpucores/gpumem alone: one card
    if (count % 1000 != 0 || count <= 0)
      return Status::InvalidArgument(path + ": nvidia.com/gpu must be a positive whole number");
    g->count = static_cast<int>(std::min<int64_t>(count / 1000, 1 << 20));
    if (cores) {
      const int64_t pct = milli(kResourceGpuCores);
      if (pct % 1000 != 0 || pct <= 0 || pct > 100000) {
        return Status::InvalidArgument(path + ": nvidia.com/gpucores must be a whole percent 1..100 per card");
      }
      g->milli_per_gpu = pct / 100;  // 1 % = 10 milli-GPU
    } else if (mem) {
      return Status::InvalidArgument(
          path + ": nvidia.com/gpumem without nvidia.com/gpucores; state the compute share per card");
    } else {
      g->milli_per_gpu = 1000;  // nvidia.com/gpu alone: whole cards
    }
  }
  if (mem) {
    if (milli(kResourceGpuMemory) % 1000 != 0 || milli(kResourceGpuMemory) < 0) {
      return Status::InvalidArgument(path + ": nvidia.com/gpumem must be a whole number of MiB");
    }
    g->memory_mib_per_gpu = milli(kResourceGpuMemory) / 1000;
  }
  return Status::Ok();
}

Status DecodeMemoryEnhancement(const std::string& value, PodRequest* pod) {
  const std::string where = std::string("annotation ") + kAnnotationMemoryEnhancement;
  rapidjson::Document doc;
  if (Status s = ParseJson(value, &doc); !s.ok()) return s.WithContext(where);
  if (!doc.IsObject()) return Status::InvalidArgument(where + ": expected a JSON object of strings");
  for (auto it = doc.MemberBegin(); it != doc.MemberEnd(); ++it) {
    const std::string key = it->name.GetString();
    if (!it->value.IsString()) {
      return Status::InvalidArgument(where + ": \"" + key +
                                     "\" must be a string (Katalyst ignores the whole "
                                     "annotation otherwise), e.g. \"" +
                                     key + "\": \"true\"");
    }
    const std::string v = it->value.GetString();
    bool* flag = key == "numa_binding"     ? &pod->numa_binding
                 : key == "numa_exclusive" ? &pod->numa_exclusive
                                           : nullptr;
    if (flag == nullptr) continue;  // oom_priority, rss_overuse_threshold: agent-side, not scheduling inputs
    if (v != "true" && v != "false") {
      return Status::InvalidArgument(where + ": \"" + key + "\" must be \"true\" or \"false\", got \"" + v + "\"");
    }
    *flag = v == "true";
  }
  return Status::Ok();
}

}  // namespace

Result<NumaAffinity> DecodeNumaAffinity(std::string_view json, const std::string& annotation) {
  const std::string where = "annotation " + annotation;
  rapidjson::Document doc;
  if (Status s = ParseJson(json, &doc); !s.ok()) return s.WithContext(where);
  if (!doc.IsObject())
    return Status::InvalidArgument(where + ": expected {\"required\": [...], \"preferred\": [...]}");
  NumaAffinity a;
  if (Status s = DecodeTerms(doc, "required", where, false, &a.required); !s.ok()) return s;
  if (Status s = DecodeTerms(doc, "preferred", where, true, &a.preferred); !s.ok()) return s;
  return a;
}

Result<PodRequest> DecodePodRequest(const rapidjson::Value& v) {
  if (Status s = ExpectObject(v, "pod"); !s.ok()) return s;
  PodRequest pod;
  const rapidjson::Value* meta = Member(v, "metadata");
  if (meta == nullptr) return Status::InvalidArgument("metadata: required");
  if (Status s = ExpectObject(*meta, "metadata"); !s.ok()) return s;
  if (Status s = ReadString(*meta, "name", "metadata", &pod.name, true); !s.ok()) return s;
  if (Status s = ReadString(*meta, "namespace", "metadata", &pod.namespace_name); !s.ok()) return s;
  if (pod.namespace_name.empty()) pod.namespace_name = "default";
  if (Status s = ReadString(*meta, "uid", "metadata", &pod.uid); !s.ok()) return s;
  if (Status s = ReadStringMap(*meta, "labels", "metadata", &pod.labels); !s.ok()) return s;
  std::map<std::string, std::string> annotations;
  if (Status s = ReadStringMap(*meta, "annotations", "metadata", &annotations); !s.ok()) return s;

  if (auto it = annotations.find(kAnnotationQosLevel); it != annotations.end()) {
    static const std::map<std::string, QosLevel> kLevels = {{"shared_cores", QosLevel::kSharedCores},
                                                            {"dedicated_cores", QosLevel::kDedicatedCores},
                                                            {"reclaimed_cores", QosLevel::kReclaimedCores},
                                                            {"system_cores", QosLevel::kSystemCores}};
    auto level = kLevels.find(it->second);
    if (level == kLevels.end()) {
      return Status::InvalidArgument(std::string("annotation ") + kAnnotationQosLevel + ": unknown QoS level \"" +
                                     it->second.substr(0, 64) +
                                     "\" (shared_cores, dedicated_cores, reclaimed_cores, system_cores)");
    }
    pod.qos = level->second;
  }
  if (auto it = annotations.find(kAnnotationMemoryEnhancement); it != annotations.end()) {
    if (Status s = DecodeMemoryEnhancement(it->second, &pod); !s.ok()) return s;
  }
  for (auto [key, target] : {std::pair{kAnnotationNumaAffinity, &pod.affinity},
                             std::pair{kAnnotationNumaAntiAffinity, &pod.anti_affinity}}) {
    if (auto it = annotations.find(key); it != annotations.end()) {
      Result<NumaAffinity> a = DecodeNumaAffinity(it->second, key);
      if (!a.ok()) return a.status();
      *target = std::move(*a);
    }
  }

  const rapidjson::Value* spec = Member(v, "spec");
  if (spec == nullptr) return Status::InvalidArgument("spec: required");
  if (Status s = ExpectObject(*spec, "spec"); !s.ok()) return s;
  const rapidjson::Value* containers = Member(*spec, "containers");
  if (containers == nullptr || !containers->IsArray() || containers->Empty()) {
    return Status::InvalidArgument("spec.containers: a pod needs at least one container");
  }
  Requests sum;
  bool all_guaranteed = true;
  for (rapidjson::SizeType i = 0; i < containers->Size(); ++i) {
    scoring::ContainerRequest c;
    Requests r;
    if (Status s = DecodeContainer((*containers)[i], IndexPath("spec.containers", i), &c, &r); !s.ok()) return s;
    scoring::GpuRequest g;
    const std::string rp = IndexPath("spec.containers", i) + ".resources";
    if (Status s = DecodeDevices(r.all, rp, &g); !s.ok()) return s;
    if (g.count > 0) {
      // One share per pod: containers asking for cards must ask the same share per card.
      if (pod.gpu.count > 0 &&
          (pod.gpu.milli_per_gpu != g.milli_per_gpu || pod.gpu.memory_mib_per_gpu != g.memory_mib_per_gpu)) {
        return Status::InvalidArgument(
            rp + ": containers ask different GPU shares per card; Tessera schedules one share per pod");
      }
      pod.gpu.count += g.count;
      pod.gpu.milli_per_gpu = g.milli_per_gpu;
      pod.gpu.memory_mib_per_gpu = g.memory_mib_per_gpu;
    }
    pod.gpu.rdma_nics = std::max(pod.gpu.rdma_nics, g.rdma_nics);  // NICs are shared between a pod's containers
    sum.cpu += r.cpu;
    sum.memory += r.memory;
    sum.reclaimed_cpu += r.reclaimed_cpu;
    sum.reclaimed_memory += r.reclaimed_memory;
    all_guaranteed = all_guaranteed && r.guaranteed;
    pod.containers.push_back(std::move(c));
  }
  // Init containers run one at a time before the app containers: the pod needs the largest of them.
  if (const rapidjson::Value* inits = Member(*spec, "initContainers")) {
    if (!inits->IsArray()) return Status::InvalidArgument("spec.initContainers: expected array");
    for (rapidjson::SizeType i = 0; i < inits->Size(); ++i) {
      scoring::ContainerRequest c;
      Requests r;
      if (Status s = DecodeContainer((*inits)[i], IndexPath("spec.initContainers", i), &c, &r); !s.ok()) return s;
      sum.cpu = std::max(sum.cpu, r.cpu);
      sum.memory = std::max(sum.memory, r.memory);
      sum.reclaimed_cpu = std::max(sum.reclaimed_cpu, r.reclaimed_cpu);
      sum.reclaimed_memory = std::max(sum.reclaimed_memory, r.reclaimed_memory);
      all_guaranteed = all_guaranteed && r.guaranteed;
    }
  }
  ResourceList overhead;
  if (Status s = ReadResourceList(*spec, "overhead", "spec", &overhead); !s.ok()) return s;
  pod.cpu_milli = sum.cpu + Milli(overhead, kResourceCpu);
  pod.memory_bytes = sum.memory + Units(overhead, kResourceMemory);
  pod.reclaimed_milli_cpu = sum.reclaimed_cpu;
  pod.reclaimed_memory_bytes = sum.reclaimed_memory;
  pod.guaranteed = all_guaranteed;
  if (auto it = annotations.find(kAnnotationGpuModel); it != annotations.end()) {
    std::string models = it->second;
    size_t start = 0;
    while (start <= models.size()) {
      size_t bar = models.find('|', start);
      std::string m = models.substr(start, bar == std::string::npos ? std::string::npos : bar - start);
      if (m.empty())
        return Status::InvalidArgument(std::string("annotation ") + kAnnotationGpuModel + ": empty model in \"" +
                                       models + "\"");
      pod.gpu.models.push_back(m);
      if (bar == std::string::npos) break;
      start = bar + 1;
    }
  }
  if (auto it = annotations.find(kAnnotationDeviceAffinity); it != annotations.end()) {
    static const std::map<std::string, std::pair<scoring::DeviceAffinityLevel, bool>> kValues = {
        {"preferred:pcie-switch", {scoring::DeviceAffinityLevel::kPcieSwitch, false}},
        {"required:pcie-switch", {scoring::DeviceAffinityLevel::kPcieSwitch, true}},
        {"required:numa", {scoring::DeviceAffinityLevel::kNuma, true}},
        {"required:socket", {scoring::DeviceAffinityLevel::kSocket, true}}};
    auto level = kValues.find(it->second);
    if (level == kValues.end()) {
      return Status::InvalidArgument(
          std::string("annotation ") + kAnnotationDeviceAffinity + ": unknown value \"" +
          it->second.substr(0, 64) +
          "\" (preferred:pcie-switch, required:pcie-switch, required:numa, required:socket)");
    }
    pod.gpu.affinity_level = level->second.first;
    pod.gpu.affinity_required = level->second.second;
  }
  return pod;
}

Result<PodRequest> DecodePodRequest(std::string_view json) {
  rapidjson::Document doc;
  if (Status s = ParseJson(json, &doc); !s.ok()) return s;
  return DecodePodRequest(static_cast<const rapidjson::Value&>(doc));
}

namespace {

// `object` without the members named in `omit` (anything else than an object, whole).
void WriteWithout(rapidjson::Writer<rapidjson::StringBuffer>* w, const rapidjson::Value& object,
                  std::initializer_list<std::string_view> omit) {
  if (!object.IsObject()) {
    object.Accept(*w);
    return;
  }
  w->StartObject();
  for (auto m = object.MemberBegin(); m != object.MemberEnd(); ++m) {
    const std::string_view key(m->name.GetString(), m->name.GetStringLength());
    if (std::find(omit.begin(), omit.end(), key) != omit.end()) continue;
    w->Key(m->name.GetString(), m->name.GetStringLength());
    m->value.Accept(*w);
  }
  w->EndObject();
}

}  // namespace

std::string PodShape(const rapidjson::Value& pod) {
  static constexpr std::string_view kIdentity[] = {"name", "uid", "resourceVersion", "creationTimestamp",
                                                   "managedFields"};
  rapidjson::StringBuffer b;
  rapidjson::Writer<rapidjson::StringBuffer> w(b);
  w.StartObject();
  for (auto it = pod.MemberBegin(); it != pod.MemberEnd(); ++it) {
    const std::string_view key(it->name.GetString(), it->name.GetStringLength());
    if (key == "status") continue;
    w.Key(it->name.GetString(), it->name.GetStringLength());
    if (key == "spec") {
      WriteWithout(&w, it->value, {"nodeName"});
      continue;
    }
    if (key != "metadata" || !it->value.IsObject()) {
      it->value.Accept(w);
      continue;
    }
    w.StartObject();
    for (auto m = it->value.MemberBegin(); m != it->value.MemberEnd(); ++m) {
      const std::string_view field(m->name.GetString(), m->name.GetStringLength());
      if (std::find(std::begin(kIdentity), std::end(kIdentity), field) != std::end(kIdentity)) continue;
      w.Key(m->name.GetString(), m->name.GetStringLength());
      if (field == "annotations") {
        WriteWithout(&w, m->value, {kAllocationAnnotation});
      } else {
        m->value.Accept(w);
      }
    }
    w.EndObject();
  }
  w.EndObject();
  return std::string(b.GetString(), b.GetSize());
}

}  // namespace tessera::crd
