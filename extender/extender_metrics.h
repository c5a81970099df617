// What the extender exports on /metrics besides the HTTP layer's request counters: rejections by rule, binds by
// outcome, relist corrections, the ledger by source, unusable topology objects, the verdict memo, the learned GPU
// target workload, and how full the ledger holds the cluster. Cardinality is bounded by the cluster's shape, not
// its size: per-node series exist only for nodes whose topology is unusable (an operator acts on each), and, with
// `per_node_utilisation`, the ledger's utilisation of every node (3 series a node: off by default; the cluster's
// totals always).
#ifndef TESSERA_EXTENDER_EXTENDER_METRICS_H_
#define TESSERA_EXTENDER_EXTENDER_METRICS_H_

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "scoring/verdict_memo.h"
#include "state/cluster_store.h"

namespace tessera::extender {

// The gauges' values, copied out of the state under the decision lock by ExtenderService (every copy is O(1) but
// for the list of unusable nodes, copied only when it changed) and read by /metrics under a lock of their own.
struct GaugeValues {
  scoring::ClusterTotals totals;
  uint64_t full_rebuilds = 0, node_rebuilds = 0;
  uint64_t memo_hits = 0, memo_misses = 0;
  size_t target_shapes = 0;
  uint64_t target_updates = 0;
  std::map<std::string, int> ledger_pods;  // by kLedgerSources entry
  std::shared_ptr<const std::vector<state::UnusableNode>> unusable;
};

class ExtenderMetrics {
 public:
  ExtenderMetrics(prometheus::Registry& registry, bool per_node_utilisation);

  void CountRejections(const std::map<std::string_view, int>& by_rule);
  void CountBind(const char* outcome);
  // A bind of a pod prioritize held a placement for: "taken" (kube-scheduler chose the held node) or "elsewhere".
  void CountHeldBind(const char* outcome);
  void CountCorrections(state::Kind kind, const state::Corrections& corrections);
  // Sets the gauges from values copied out of the state.
  void Update(const GaugeValues& values);
  bool per_node_utilisation() const { return per_node_utilisation_; }
  // The opt-in per-node series: a walk over every node, so the caller holds the decision lock.
  void UpdatePerNode(const state::ClusterStore& store);

 private:
  bool per_node_utilisation_;
  prometheus::Family<prometheus::Counter>& rejections_;
  prometheus::Family<prometheus::Counter>& binds_;
  prometheus::Family<prometheus::Counter>& held_binds_;
  prometheus::Family<prometheus::Counter>& corrections_;
  prometheus::Family<prometheus::Gauge>& ledger_pods_;
  prometheus::Family<prometheus::Gauge>& unusable_;
  std::vector<prometheus::Gauge*> unusable_series_;  // removed and re-added by every Update
  prometheus::Family<prometheus::Gauge>& utilisation_;
  prometheus::Family<prometheus::Gauge>& cluster_utilisation_;
  prometheus::Gauge& rebuilds_;
  prometheus::Gauge& node_rebuilds_;
  prometheus::Family<prometheus::Gauge>& memo_;
  prometheus::Gauge& memo_hits_;
  prometheus::Gauge& memo_misses_;
  prometheus::Gauge& target_shapes_;
  prometheus::Gauge& target_updates_;
};

}  // namespace tessera::extender

#endif  // TESSERA_EXTENDER_EXTENDER_METRICS_H_
