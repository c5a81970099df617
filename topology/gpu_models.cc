#include "topology/gpu_models.h"

#include <cstdio>
#include <sstream>
#include <string_view>

#include "base/file_text.h"

namespace tessera::topology {
namespace {

std::string Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return std::string(s.substr(b, e - b + 1));
}

// Parses a positive MiB count no larger than 16 TiB (no card comes close; larger means a typo).
bool ParseMemoryMib(const std::string& s, uint64_t* out) {
  if (s.empty() || s.size() > 10) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v == 0 || v > (16ull << 20)) return false;
  *out = v;
  return true;
}

}  // namespace

std::string PciIdKey(uint16_t vendor_id, uint16_t device_id) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%04x:%04x", vendor_id, device_id);
  return buf;
}

GpuModelTable GpuModelTable::BuiltIn() {
  GpuModelTable t;
  struct Entry {
    const char* key;
    const char* model;
    uint64_t memory_mib;
  };
  // Memory is the marketed size; dumps with CUDA/RSMI info override it with the exact figure.
  static constexpr Entry kEntries[] = {
      {"10de:1db6", "V100-32GB", 32768},  // V100 PCIe 32GB
      {"10de:1db5", "V100-32GB", 32768},  // V100 SXM2 32GB
      {"10de:1db8", "V100-32GB", 32768},  // V100 SXM3 32GB (DGX-2)
      {"10de:1db1", "V100", 16384},       // V100 SXM2 16GB
      {"10de:1db4", "V100", 16384},       // V100 PCIe 16GB
      {"10de:20b0", "A100", 40960},       // A100 SXM4 40GB
      {"10de:20f1", "A100", 40960},       // A100 PCIe 40GB
      {"10de:20b2", "A100-80GB", 81920},  // A100 SXM4 80GB
      {"10de:20b5", "A100-80GB", 81920},  // A100 PCIe 80GB
      {"10de:2330", "H100", 81920},       // H100 SXM5 80GB
      {"10de:2331", "H100", 81920},       // H100 PCIe
      {"10de:1eb8", "T4", 15360},
      {"10de:15f8", "P100", 16384},
      {"10de:1b38", "P40", 24576},
      {"10de:2236", "A10", 23028},
      {"10de:2237", "A10G", 23028},
      {"1002:66a1", "MI50", 32768},
      {"1002:738c", "MI100", 32768},
      {"1002:740c", "MI250X", 65536},
      {"1002:74a0", "MI300A", 131072},  // APU: the HBM is shared with the CPUs; 128 GiB per socket
      {"Tesla V100-SXM3-32GB-H", "V100-32GB", 0},
      {"Tesla V100-SXM2-32GB", "V100-32GB", 0},
      {"Tesla V100-PCIE-32GB", "V100-32GB", 0},
      {"Tesla V100-SXM2-16GB", "V100", 0},
      {"Tesla V100-PCIE-16GB", "V100", 0},
      {"NVIDIA A100-SXM4-40GB", "A100", 0},
      {"NVIDIA A100-PCIE-40GB", "A100", 0},
      {"NVIDIA A100-SXM4-80GB", "A100-80GB", 0},
      {"NVIDIA A100 80GB PCIe", "A100-80GB", 0},
      {"NVIDIA H100 80GB HBM3", "H100", 0},
      {"Tesla T4", "T4", 0},
      {"Tesla P100-PCIE-16GB", "P100", 0},
      {"deon Instinct MI50 32GB", "MI50", 0},  // rsmi's truncated marketing name, as seen in real dumps
      {"Instinct MI50 32GB", "MI50", 0},
  };
  for (const Entry& e : kEntries) t.AddAlias(e.key, e.model, e.memory_mib);
  return t;
}

void GpuModelTable::AddAlias(const std::string& key, const std::string& model, uint64_t memory_mib) {
  aliases_[key] = model;
  if (memory_mib != 0) memory_mib_[model] = memory_mib;
}

void GpuModelTable::SetModelMemory(const std::string& model, uint64_t memory_mib) {
  memory_mib_[model] = memory_mib;
}

Status GpuModelTable::LoadAliasText(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  int line_no = 0;
  GpuModelTable staged = *this;  // all or nothing: a bad line leaves the table unchanged
  while (std::getline(in, line)) {
    ++line_no;
    if (size_t hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    std::string trimmed = Trim(line);
    if (trimmed.empty()) continue;
    size_t eq = trimmed.find('=');
    std::string where = "line " + std::to_string(line_no);
    if (eq == std::string::npos) return Status::InvalidArgument(where + ": expected `key = model [memory_mib]`");
    std::string key = Trim(std::string_view(trimmed).substr(0, eq));
    std::istringstream rhs(trimmed.substr(eq + 1));
    std::string model, memory, extra;
    rhs >> model >> memory >> extra;
    if (key.empty() || model.empty()) return Status::InvalidArgument(where + ": empty key or model");
    if (!extra.empty()) return Status::InvalidArgument(where + ": unexpected text after memory: " + extra);
    uint64_t mib = 0;
    if (!memory.empty() && !ParseMemoryMib(memory, &mib)) {
      return Status::InvalidArgument(where + ": memory_mib must be a positive integer, got " + memory);
    }
    staged.AddAlias(key, model, mib);
  }
  *this = std::move(staged);
  return Status::Ok();
}

Status GpuModelTable::LoadAliasFile(const std::string& path) {
  Result<std::string> text = ReadFileText(path);
  if (!text.ok()) return Status::IoError("cannot read GPU alias file " + path);
  return LoadAliasText(*text).WithContext(path);
}

Status GpuModelTable::LoadMemoryOverrides(const std::string& flag_value) {
  std::map<std::string, uint64_t> staged;
  std::istringstream in(flag_value);
  std::string item;
  while (std::getline(in, item, ',')) {
    item = Trim(item);
    if (item.empty()) continue;
    size_t eq = item.find('=');
    uint64_t mib = 0;
    if (eq == std::string::npos || eq == 0 || !ParseMemoryMib(Trim(item.substr(eq + 1)), &mib)) {
      return Status::InvalidArgument("GPU memory override `" + item + "`: expected MODEL=MiB with MiB > 0");
    }
    staged[Trim(item.substr(0, eq))] = mib;
  }
  for (auto& [model, mib] : staged) memory_mib_[model] = mib;
  return Status::Ok();
}

std::string GpuModelTable::ModelFor(uint16_t vendor_id, uint16_t device_id, const std::string& product) const {
  if (auto it = aliases_.find(product); it != aliases_.end()) return it->second;
  if (auto it = aliases_.find(PciIdKey(vendor_id, device_id)); it != aliases_.end()) return it->second;
  return product;
}

uint64_t GpuModelTable::MemoryFor(const std::string& model) const {
  auto it = memory_mib_.find(model);
  return it == memory_mib_.end() ? 0 : it->second;
}

}  // namespace tessera::topology
