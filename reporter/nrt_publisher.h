// Create-or-update of one node's NodeResourceTopology (tessera-reporter --publish nrt), so that clusters running
// scheduler-plugins' NodeResourceTopologyMatch, or Tessera with --topology-source nrt, can use this reporter.
// NRTs have no status subresource: GET; on 404 POST; otherwise PUT the whole object with the stored
// resourceVersion when its content changed (a 409 re-reads and retries). An NRT another producer (NFD's
// topology-updater, the exporter) owns is left alone unless take_over is set, as for CNRs.
#ifndef TESSERA_REPORTER_NRT_PUBLISHER_H_
#define TESSERA_REPORTER_NRT_PUBLISHER_H_

#include "base/status.h"
#include "crd/nrt.h"
#include "kube/kube_api.h"
#include "reporter/cnr_publisher.h"

namespace tessera::reporter {

class NrtPublisher {
 public:
  NrtPublisher(kube::KubeApi* client, PublishOptions options) : client_(client), options_(std::move(options)) {}
  // kCreated, kUpdated, kUnchanged or kForeignSkipped.
  Result<PublishOutcome> Publish(const crd::Nrt& desired);

 private:
  Result<PublishOutcome> TryOnce(const crd::Nrt& desired);
  kube::KubeApi* client_;
  PublishOptions options_;
};

}  // namespace tessera::reporter

#endif  // TESSERA_REPORTER_NRT_PUBLISHER_H_
