// The node reporter's loop: discover the node with hwloc, build its CNR, publish it, every interval. Discovery
// and publishing failures are logged and counted, and the loop carries on: the reporter never exits on a
// transient fault, and never publishes an object it could not fully build.
#ifndef TESSERA_REPORTER_REPORTER_H_
#define TESSERA_REPORTER_REPORTER_H_

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "crd/cnr_builder.h"
#include "reporter/cnr_publisher.h"
#include "reporter/kubelet_config.h"
#include "reporter/nrt_publisher.h"
#include "topology/hwloc_discovery.h"

namespace tessera::reporter {

struct ReporterConfig {
  topology::DiscoveryOptions discovery;
  crd::CnrBuildOptions build;  // node_uid and heartbeat_time are filled in each round
  PublishOptions publish;
  std::chrono::milliseconds interval{30000};
  // Where the kubelet's live policies come from (none: the flags in `build` alone), and which flags override them.
  std::optional<KubeletConfigSource> kubelet_config;
  ExplicitFlags explicit_flags;
  // What to publish: the CNR, and/or the same node as a NodeResourceTopology (crd::NrtFromCnr).
  bool publish_cnr = true;
  bool publish_nrt = false;
};

// RFC 3339 UTC with second precision, as Kubernetes writes metav1.Time.
std::string FormatRfc3339(std::chrono::system_clock::time_point t);

class Reporter {
 public:
  Reporter(ReporterConfig config, kube::KubeApi* client, std::shared_ptr<prometheus::Registry> registry);

  // One discover-build-publish round. The outcome is the CNR's (the NRT's with --publish nrt alone); with both,
  // a failure of either fails the round, and each is counted in its own metric.
  Result<PublishOutcome> RunOnce();
  // Rounds every interval until `stop` becomes true; returns promptly after it does.
  void Run(const std::atomic<bool>& stop);

  // Builds the CNR this node would publish now (node_uid as configured). With a kubelet config source it reads
  // the kubelet's policies first: a configuration that does not parse publishes AgentReady=False with reason
  // KubeletConfigInvalid (schedulers then leave the node's topology alone); one that cannot be read reuses the
  // last good one, or, before any, publishes AgentReady=False with reason KubeletConfigUnavailable.
  Result<crd::Cnr> BuildDesired(std::chrono::system_clock::time_point now);

 private:
  ReporterConfig config_;
  CnrPublisher publisher_;
  NrtPublisher nrt_publisher_;
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* publishes_;
  prometheus::Family<prometheus::Counter>* failures_;
  prometheus::Counter* foreign_skips_;
  prometheus::Gauge* last_success_;
  prometheus::Family<prometheus::Counter>* kubelet_reads_;
  prometheus::Family<prometheus::Counter>* nrt_publishes_;
  std::string node_uid_;                         // cached once the Node is found
  std::optional<KubeletPolicies> last_kubelet_;  // the last configuration read and parsed
};

}  // namespace tessera::reporter

#endif  // TESSERA_REPORTER_REPORTER_H_
