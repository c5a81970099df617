// Create-or-update of one node's CNR against the API server, as the API server expects it:
//   GET; on 404 POST the object (the server drops `status` on create), then PUT the `status` subresource;
//   otherwise PUT the object and then its status with the stored resourceVersion, or, when only the heartbeat
//   moved, a merge-patch of status.conditions carrying the resourceVersion. A 409 means someone wrote in between:
//   re-read and retry with capped exponential backoff. The object is fully built before the first write, so a
//   failure never publishes half of it; at worst a created object lacks status until the next round, which the
//   extender treats as stale (no AgentReady heartbeat).
#ifndef TESSERA_REPORTER_CNR_PUBLISHER_H_
#define TESSERA_REPORTER_CNR_PUBLISHER_H_

#include <chrono>
#include <functional>
#include <string>

#include "base/status.h"
#include "crd/cnr.h"
#include "kube/kube_api.h"

namespace tessera::reporter {

inline constexpr char kCnrCollectionPath[] = "/apis/node.katalyst.kubewharf.io/v1alpha1/customnoderesources";

enum class PublishOutcome {
  kCreated,         // the CNR did not exist
  kUpdated,         // content changed: object and status rewritten
  kHeartbeat,       // content unchanged: only AgentReady.lastHeartbeatTime refreshed
  kUnchanged,       // nothing to write
  kForeignSkipped,  // the CNR belongs to another agent and --take-over is off
};
const char* PublishOutcomeName(PublishOutcome outcome);

struct PublishOptions {
  bool take_over = false;  // overwrite a CNR another agent wrote (it becomes ours)
  int max_attempts = 6;    // GET+write rounds before giving up on repeated 409s
  std::chrono::milliseconds backoff_initial{100};
  std::chrono::milliseconds backoff_max{3200};
  std::function<void(std::chrono::milliseconds)> sleep;  // injectable for tests; default std::this_thread
};

class CnrPublisher {
 public:
  CnrPublisher(kube::KubeApi* client, PublishOptions options);

  // The Node's metadata.uid (for the CNR's ownerReference). NotFound when the Node does not exist.
  Result<std::string> NodeUid(const std::string& node_name);

  Result<PublishOutcome> Publish(const crd::Cnr& desired);

 private:
  Result<PublishOutcome> TryOnce(const crd::Cnr& desired);

  kube::KubeApi* client_;
  PublishOptions options_;
};

// Runs `attempt` until it succeeds or fails with anything but a conflict (409), backing off (capped
// exponentially) between conflicts, at most options.max_attempts times.
Result<PublishOutcome> RetryOnConflict(const PublishOptions& options,
                                       const std::function<Result<PublishOutcome>()>& attempt);

// Status from a non-2xx reply: 409 -> Conflict, 404 -> NotFound, 5xx/429 -> Unavailable, other 4xx ->
// InvalidArgument (our request is wrong; retrying unchanged will not help). The message carries the code and the
// start of the body.
Status StatusFromHttp(const std::string& what, const kube::HttpResponse& response);

}  // namespace tessera::reporter

#endif  // TESSERA_REPORTER_CNR_PUBLISHER_H_
