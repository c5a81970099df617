#include "scoring/gpu_fit.h"

#include <algorithm>
#include <bit>

namespace tessera::scoring {
namespace {

const char* LevelName(int level) {
  static const char* kNames[] = {"PCIe switch", "NUMA node", "socket", "node"};
  return kNames[std::clamp(level, 0, 3)];
}

int RequiredLevel(const GpuRequest& g) {
  if (!g.affinity_required) return 3;
  switch (g.affinity_level) {
    case DeviceAffinityLevel::kPcieSwitch: return 0;
    case DeviceAffinityLevel::kNuma: return 1;
    case DeviceAffinityLevel::kSocket: return 2;
  }
  return 3;
}

template <typename Device>
int GroupKey(const Device& d, int level) {
  switch (level) {
    case 0: return d.switch_id;  // -1: on no switch, belongs to no group
    case 1: return d.numa_index;
    case 2: return d.socket_id;
    default: return 0;
  }
}

}  // namespace

bool GpuFit::Filter(NodeCycle& c, std::string* reason) const {
  const PodRequest& pod = *c.pod;
  const GpuRequest& g = pod.gpu;
  if (!g.any()) return true;
  const NodeState& node = *c.node;
  const bool pinned = c.placement.numa_mask != 0 && (c.placement.cpu_pinned || c.placement.memory_pinned);
  const size_t numa_count = node.numas.size();
  const bool single_numa = node.topology_policy == TopologyPolicy::kSingleNumaNode && numa_count >= 2 &&
                           numa_count <= static_cast<size_t>(kMaxTopologyManagerNumaNodes);
  auto numa_ok = [&](int numa_index) {
    if (!pinned) return true;
    return numa_index >= 0 && (c.placement.numa_mask >> numa_index & 1);
  };

  // Reused across calls: this runs for every node of every cycle.
  thread_local std::vector<int> cards, nics;
  cards.clear();
  nics.clear();
  int model_ok = 0;
  for (size_t i = 0; i < node.gpus.size() && i < 64; ++i) {
    const GpuState& card = node.gpus[i];
    if (!g.models.empty() && std::find(g.models.begin(), g.models.end(), card.model) == g.models.end()) continue;
    ++model_ok;
    if (card.free_milli < g.milli_per_gpu || card.free_memory_mib < g.memory_mib_per_gpu) continue;
    if (g.whole_cards() && !card.Untouched()) continue;
    if (!numa_ok(card.numa_index)) continue;
    cards.push_back(static_cast<int>(i));
  }
  for (size_t i = 0; i < node.nics.size() && i < 64; ++i) {
    if (node.nics[i].rdma && numa_ok(node.nics[i].numa_index)) nics.push_back(static_cast<int>(i));
  }
  if (static_cast<int>(cards.size()) < g.count) {
    if (model_ok == 0 && g.count > 0) {
      if (reason != nullptr)
        *reason = node.gpus.empty() ? "node has no GPUs"
                                    : "no GPU of an accepted model (" + node.gpus.front().model + " here)";
    } else {
      if (reason != nullptr)
        *reason = std::to_string(cards.size()) + " card(s) with " + std::to_string(g.milli_per_gpu / 10) +
                  " % compute and " + std::to_string(g.memory_mib_per_gpu) + " MiB free" +
                  (g.whole_cards() ? " (untouched)" : "") + (pinned ? " in the pod's NUMA node(s)" : "") +
                  ", pod needs " + std::to_string(g.count);
    }
    return false;
  }
  if (static_cast<int>(nics.size()) < g.rdma_nics) {
    if (reason != nullptr)
      *reason = std::to_string(nics.size()) + " RDMA NIC(s) usable, pod needs " + std::to_string(g.rdma_nics);
    return false;
  }

  GpuScoreInput in{c.cluster, c.node_index, &node, &pod, 0, context_};
  // One share of one card, nothing to align with: the policy picks the card (unless the kubelet's
  // single-numa-node policy must also fit a pinned CPU set, already enforced through numa_ok).
  if (g.count == 1 && g.rdma_nics == 0) {
    c.placement.gpu_mask = uint64_t{1} << policy_->ChooseCard(in, cards);
    c.device_level = -1;
    return true;
  }

  const int required = RequiredLevel(g);
  // Under single-numa-node every device of the pod must share one NUMA node: levels above NUMA are not allowed.
  const int max_level = single_numa ? std::min(required, 1) : required;
  for (int level = 0; level <= max_level; ++level) {
    std::vector<int> keys;
    for (int i : (g.count > 0 ? cards : nics)) {
      const int k = g.count > 0 ? GroupKey(node.gpus[static_cast<size_t>(i)], level)
                                : GroupKey(node.nics[static_cast<size_t>(i)], level);
      if (k >= 0 || level == 3) keys.push_back(k);
    }
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    for (int key : keys) {
      std::vector<int> group_cards, group_nics;
      for (int i : cards) {
        if (level == 3 || GroupKey(node.gpus[static_cast<size_t>(i)], level) == key) group_cards.push_back(i);
      }
      for (int i : nics) {
        if (level == 3 || GroupKey(node.nics[static_cast<size_t>(i)], level) == key) group_nics.push_back(i);
      }
      if (static_cast<int>(group_cards.size()) < g.count || static_cast<int>(group_nics.size()) < g.rdma_nics)
        continue;
      // Shares take the fullest cards that fit (keeps untouched cards whole); whole cards go in index order.
      std::stable_sort(group_cards.begin(), group_cards.end(), [&](int a, int b) {
        return node.gpus[static_cast<size_t>(a)].free_milli < node.gpus[static_cast<size_t>(b)].free_milli;
      });
      std::stable_sort(group_nics.begin(), group_nics.end(), [&](int a, int b) {
        return node.nics[static_cast<size_t>(a)].users < node.nics[static_cast<size_t>(b)].users;
      });
      uint64_t gm = 0, nm = 0;
      for (int k = 0; k < g.count; ++k) gm |= uint64_t{1} << group_cards[static_cast<size_t>(k)];
      for (int k = 0; k < g.rdma_nics; ++k) nm |= uint64_t{1} << group_nics[static_cast<size_t>(k)];
      c.placement.gpu_mask = gm;
      c.placement.nic_mask = nm;
      c.device_level = level;
      return true;
    }
  }
  if (reason != nullptr)
    *reason =
        std::string("no ") + LevelName(max_level) + " holds " + std::to_string(g.count) + " free card(s)" +
        (g.rdma_nics > 0 ? " and " + std::to_string(g.rdma_nics) + " RDMA NIC(s)" : "") + " together" +
        (single_numa && required > 1 ? " (the kubelet's single-numa-node policy aligns devices to one NUMA node)"
                                     : "");
  return false;
}

}  // namespace tessera::scoring
