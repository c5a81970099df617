#include "state/allocation.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "crd/json_fields.h"

namespace tessera::state {

std::string EncodeAllocation(const scoring::NodeState& node, const scoring::PodRequest& pod,
                             const scoring::Placement& placement) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("node");
  w.String(node.name.c_str());
  w.Key("numa");
  w.StartArray();
  const bool reclaimed = pod.qos == scoring::QosLevel::kReclaimedCores;
  for (const scoring::NumaShare& s :
       scoring::SplitAcrossNumas(node, placement, reclaimed ? pod.reclaimed_milli_cpu : pod.cpu_milli,
                                 reclaimed ? pod.reclaimed_memory_bytes : pod.memory_bytes)) {
    w.StartObject();
    w.Key("id");
    w.Int(node.numas[static_cast<size_t>(s.numa_index)].id);
    w.Key("cpu_milli");
    w.Int64(s.cpu_milli);
    w.Key("memory_bytes");
    w.Int64(s.memory_bytes);
    w.EndObject();
  }
  w.EndArray();
  w.Key("exclusive");
  w.Bool(placement.exclusive);
  w.Key("cpu_pinned");
  w.Bool(placement.cpu_pinned);
  w.Key("memory_pinned");
  w.Bool(placement.memory_pinned);
  w.Key("gpus");
  w.StartArray();
  for (size_t i = 0; i < node.gpus.size() && i < 64; ++i) {
    if ((placement.gpu_mask >> i & 1) == 0) continue;
    w.StartObject();
    w.Key("index");
    w.Int(static_cast<int>(i));
    w.Key("pci_bus_id");
    w.String(node.gpus[i].pci_bus_id.c_str());
    w.Key("milli");
    w.Int64(pod.gpu.milli_per_gpu);
    w.Key("memory_mib");
    w.Int64(pod.gpu.memory_mib_per_gpu);
    w.EndObject();
  }
  w.EndArray();
  w.Key("nics");
  w.StartArray();
  for (size_t i = 0; i < node.nics.size() && i < 64; ++i) {
    if ((placement.nic_mask >> i & 1) == 0) continue;
    w.StartObject();
    w.Key("index");
    w.Int(static_cast<int>(i));
    w.Key("name");
    w.String(node.nics[i].name.c_str());
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

Result<scoring::Placement> DecodeAllocation(std::string_view json, const scoring::NodeState& node,
                                            uint32_t node_index) {
  const std::string where = std::string("annotation ") + kAllocationAnnotation;
  rapidjson::Document doc;
  if (Status s = crd::ParseJson(json, &doc); !s.ok()) return s.WithContext(where);
  if (!doc.IsObject()) return Status::InvalidArgument(where + ": expected an object");
  std::string name;
  if (Status s = crd::ReadString(doc, "node", where, &name, true); !s.ok()) return s;
  if (name != node.name)
    return Status::InvalidArgument(where + ": recorded for node " + name + ", pod is on " + node.name);
  scoring::Placement p;
  p.node = node_index;
  if (Status s = crd::ReadBool(doc, "exclusive", where, &p.exclusive); !s.ok()) return s;
  if (Status s = crd::ReadBool(doc, "cpu_pinned", where, &p.cpu_pinned); !s.ok()) return s;
  if (Status s = crd::ReadBool(doc, "memory_pinned", where, &p.memory_pinned); !s.ok()) return s;
  auto indexes = [&](const char* key, const char* id_key, size_t limit, uint64_t* mask,
                     bool by_numa_id) -> Status {
    const rapidjson::Value* arr = crd::Member(doc, key);
    if (arr == nullptr) return Status::Ok();
    if (!arr->IsArray()) return Status::InvalidArgument(where + "." + key + ": expected array");
    for (rapidjson::SizeType i = 0; i < arr->Size(); ++i) {
      int64_t id = -1;
      if (Status s = crd::ReadInt64((*arr)[i], id_key, where + "." + key, &id); !s.ok()) return s;
      int64_t index = by_numa_id ? node.NumaIndex(static_cast<int>(id)) : id;
      if (index < 0 || static_cast<size_t>(index) >= limit || index >= 64) {
        return Status::InvalidArgument(where + "." + key + ": " + std::to_string(id) + " does not exist on " +
                                       node.name);
      }
      *mask |= uint64_t{1} << index;
    }
    return Status::Ok();
  };
  if (Status s = indexes("numa", "id", node.numas.size(), &p.numa_mask, true); !s.ok()) return s;
  if (Status s = indexes("gpus", "index", node.gpus.size(), &p.gpu_mask, false); !s.ok()) return s;
  if (Status s = indexes("nics", "index", node.nics.size(), &p.nic_mask, false); !s.ok()) return s;
  return p;
}

}  // namespace tessera::state
