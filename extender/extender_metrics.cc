#include "extender/extender_metrics.h"

namespace tessera::extender {

namespace {

prometheus::Gauge& SingleGauge(prometheus::Registry& registry, const char* name, const char* help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(registry).Add({});
}

double Ratio(int64_t used, int64_t total) {
  return total > 0 ? static_cast<double>(used) / static_cast<double>(total) : 0.0;
}

}  // namespace

ExtenderMetrics::ExtenderMetrics(prometheus::Registry& registry, bool per_node_utilisation)
    : per_node_utilisation_(per_node_utilisation),
      rejections_(prometheus::BuildCounter()
                      .Name("tessera_extender_rejections_total")
                      .Help("Nodes a filter call rejected, by the rule that failed")
                      .Register(registry)),
      binds_(prometheus::BuildCounter()
                 .Name("tessera_extender_binds_total")
                 .Help("Bind calls by outcome")
                 .Register(registry)),
      held_binds_(prometheus::BuildCounter()
                      .Name("tessera_extender_held_binds_total")
                      .Help("Binds of pods prioritize held a placement for: to the held node (taken) or to "
                            "another one kube-scheduler preferred (elsewhere: placed afresh)")
                      .Register(registry)),
      corrections_(prometheus::BuildCounter()
                       .Name("tessera_extender_resync_corrections_total")
                       .Help("Objects a relist (periodic resync, or after 410 Gone or a broken watch) found "
                             "different from the watch cache, by kind and change: the drift it corrected")
                       .Register(registry)),
      ledger_pods_(prometheus::BuildGauge()
                       .Name("tessera_extender_ledger_pods")
                       .Help("Bound pods in the ledger by where their placement came from: annotation, "
                             "annotation_corrected_by_cnr, cnr (the node agent's report), guessed (foreign device "
                             "pod), node_level, nrt, unaccounted (contradicts the ledger)")
                       .Register(registry)),
      unusable_(prometheus::BuildGauge()
                    .Name("tessera_extender_node_topology_unusable")
                    .Help("1 for each node whose topology object exists but cannot be used, by reason: invalid "
                          "(contradicts itself or does not decode), agent_not_ready, no_heartbeat, stale")
                    .Register(registry)),
      utilisation_(prometheus::BuildGauge()
                       .Name("tessera_extender_ledger_utilisation")
                       .Help("Per node (--node-utilisation-metrics): share of its NUMA CPU, GPU compute and GPU "
                             "memory held in the ledger (0..1)")
                       .Register(registry)),
      cluster_utilisation_(prometheus::BuildGauge()
                               .Name("tessera_extender_cluster_utilisation")
                               .Help("Share of the cluster's NUMA CPU, GPU compute and GPU memory held in the "
                                     "ledger (0..1), over the nodes with a usable topology")
                               .Register(registry)),
      rebuilds_(SingleGauge(registry, "tessera_extender_state_rebuilds",
                            "Whole rebuilds of the cluster state (only when node indexes are reassigned: a Node "
                            "deleted)")),
      node_rebuilds_(SingleGauge(registry, "tessera_extender_node_rebuilds",
                                 "Nodes re-derived one at a time (each event that can change a decision costs one "
                                 "for each node it touches)")),
      memo_(prometheus::BuildGauge()
                .Name("tessera_extender_verdict_memo_nodes")
                .Help("Node evaluations answered from the verdict memo (hit) or computed (miss)")
                .Register(registry)),
      memo_hits_(memo_.Add({{"result", "hit"}})),
      memo_misses_(memo_.Add({{"result", "miss"}})),
      target_shapes_(
          SingleGauge(registry, "tessera_extender_gpu_target_shapes",
                      "Pod shapes in the GPU policies' target workload, learned from the bound pods (the "
                      "most popular covering 95 % of them)")),
      target_updates_(SingleGauge(registry, "tessera_extender_gpu_target_workload_updates",
                                  "Times the learned target workload moved and was replaced")) {
  prometheus::BuildGauge()
      .Name("tessera_extender_build_info")
      .Help("Build of the running extender")
      .Register(registry)
      .Add({{"version", "0.1.0"}})
      .Set(1);
}

void ExtenderMetrics::CountRejections(const std::map<std::string_view, int>& by_rule) {
  for (const auto& [rule, count] : by_rule) rejections_.Add({{"rule", std::string(rule)}}).Increment(count);
}

void ExtenderMetrics::CountHeldBind(const char* outcome) {
  held_binds_.Add({{"outcome", outcome}}).Increment();
}

void ExtenderMetrics::CountBind(const char* outcome) {
  binds_.Add({{"outcome", outcome}}).Increment();
}

void ExtenderMetrics::CountCorrections(state::Kind kind, const state::Corrections& c) {
  static const char* const kKinds[] = {"node", "pod", "cnr", "nrt"};
  const char* name = kKinds[static_cast<int>(kind)];
  corrections_.Add({{"kind", name}, {"change", "added"}}).Increment(c.added);
  corrections_.Add({{"kind", name}, {"change", "removed"}}).Increment(c.removed);
  corrections_.Add({{"kind", name}, {"change", "changed"}}).Increment(c.changed);
}

void ExtenderMetrics::Update(const GaugeValues& v) {
  rebuilds_.Set(static_cast<double>(v.full_rebuilds));
  node_rebuilds_.Set(static_cast<double>(v.node_rebuilds));
  memo_hits_.Set(static_cast<double>(v.memo_hits));
  memo_misses_.Set(static_cast<double>(v.memo_misses));
  target_shapes_.Set(static_cast<double>(v.target_shapes));
  target_updates_.Set(static_cast<double>(v.target_updates));
  for (const char* s : state::kLedgerSources) {
    auto it = v.ledger_pods.find(s);
    ledger_pods_.Add({{"source", s}}).Set(it == v.ledger_pods.end() ? 0 : it->second);
  }
  for (prometheus::Gauge* g : unusable_series_) unusable_.Remove(g);
  unusable_series_.clear();
  if (v.unusable != nullptr) {
    for (const state::UnusableNode& u : *v.unusable) {
      prometheus::Gauge& g =
          unusable_.Add({{"node", u.name}, {"source", u.from_nrt ? "nrt" : "cnr"}, {"reason", u.reason}});
      g.Set(1);
      unusable_series_.push_back(&g);
    }
  }
  const scoring::ClusterTotals& t = v.totals;
  cluster_utilisation_.Add({{"resource", "numa_cpu"}}).Set(Ratio(t.pinned_cpu_milli, t.cpu_allocatable_milli));
  cluster_utilisation_.Add({{"resource", "gpu_units"}}).Set(Ratio(t.gpu_units - t.gpu_free_milli, t.gpu_units));
  cluster_utilisation_.Add({{"resource", "gpu_memory"}})
      .Set(Ratio(t.gpu_memory_mib - t.gpu_free_memory_mib, t.gpu_memory_mib));
}

void ExtenderMetrics::UpdatePerNode(const state::ClusterStore& store) {
  for (const auto& [name, rec] : store.nodes()) {
    if (!rec.has_topology) continue;
    const scoring::ClusterTotals t = scoring::NodeTotals(store.cluster().node(rec.index));
    utilisation_.Add({{"node", name}, {"resource", "numa_cpu"}})
        .Set(Ratio(t.pinned_cpu_milli, t.cpu_allocatable_milli));
    if (t.gpu_units > 0) {
      utilisation_.Add({{"node", name}, {"resource", "gpu_units"}})
          .Set(Ratio(t.gpu_units - t.gpu_free_milli, t.gpu_units));
      utilisation_.Add({{"node", name}, {"resource", "gpu_memory"}})
          .Set(Ratio(t.gpu_memory_mib - t.gpu_free_memory_mib, t.gpu_memory_mib));
    }
  }
}

}  // namespace tessera::extender
