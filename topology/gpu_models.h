// Maps what hwloc knows about a GPU (PCI ids, product name) to a short model name ("A100") and, where the dump
// carries no memory size, the card's memory. Built-in entries cover common data-centre cards; operators extend
// the table with an alias file or override memory per model from the command line.
#ifndef TESSERA_TOPOLOGY_GPU_MODELS_H_
#define TESSERA_TOPOLOGY_GPU_MODELS_H_

#include <cstdint>
#include <map>
#include <string>

#include "base/status.h"

namespace tessera::topology {

class GpuModelTable {
 public:
  // The table with Tessera's built-in aliases.
  static GpuModelTable BuiltIn();

  // Adds or replaces an alias. `key` is either a PCI id "vvvv:dddd" (lower-case hex) or a product name as hwloc
  // reports it ("NVIDIA A100-SXM4-40GB"); `memory_mib` 0 keeps any memory already known for `model`.
  void AddAlias(const std::string& key, const std::string& model, uint64_t memory_mib);
  void SetModelMemory(const std::string& model, uint64_t memory_mib);

  // Alias file: one entry per line, `key = model [memory_mib]`; '#' starts a comment. Errors name the line.
  Status LoadAliasText(const std::string& text);
  Status LoadAliasFile(const std::string& path);
  // "--gpu-memory-mib" flag value: "A100=40960,T4=15360".
  Status LoadMemoryOverrides(const std::string& flag_value);

  // The model for a GPU: product-name alias first (most specific), then PCI id, else the product itself.
  std::string ModelFor(uint16_t vendor_id, uint16_t device_id, const std::string& product) const;
  // Memory of `model` in MiB, 0 when unknown.
  uint64_t MemoryFor(const std::string& model) const;

 private:
  std::map<std::string, std::string> aliases_;  // key -> model
  std::map<std::string, uint64_t> memory_mib_;  // model -> MiB
};

// "10de:20b0"
std::string PciIdKey(uint16_t vendor_id, uint16_t device_id);

}  // namespace tessera::topology

#endif  // TESSERA_TOPOLOGY_GPU_MODELS_H_
