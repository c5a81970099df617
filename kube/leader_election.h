// Leader election on a coordination.k8s.io/v1 Lease, as client-go does it: whoever holds an unexpired lease
// leads and renews it every renew period; a lease not renewed within its duration may be taken over (one PUT
// with the resourceVersion read, so two candidates cannot both win). The identity is what other replicas use to
// reach the leader (for the extender: its URL).
#ifndef TESSERA_KUBE_LEADER_ELECTION_H_
#define TESSERA_KUBE_LEADER_ELECTION_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "base/clock.h"
#include "kube/kube_api.h"

namespace tessera::kube {

struct LeaderElectionOptions {
  std::string lease_namespace = "kube-system";
  std::string lease_name = "tessera-extender";
  std::string identity;
  std::chrono::seconds lease_duration{15};
  std::chrono::milliseconds renew_period{5000};
  // The time Start()'s rounds judge the lease by (TryAcquireOrRenew takes it as an argument).
  std::shared_ptr<const Clock> clock = RealClock();
};

// What a replica reads from the Lease. A missing field is empty (or -1 / 0); unknown fields are ignored.
struct LeaseRecord {
  std::string resource_version;
  std::string holder;  // spec.holderIdentity
  std::string acquire_time;
  std::string renew_time;
  int duration_seconds = -1;  // spec.leaseDurationSeconds; -1: absent
  int transitions = 0;
};
// InvalidArgument when `body` is not a JSON object with metadata.
Result<LeaseRecord> DecodeLease(std::string_view body);

class LeaderElector {
 public:
  LeaderElector(KubeApi* client, LeaderElectionOptions options);
  ~LeaderElector();

  // One round: acquire, renew or observe. Returns whether this replica leads afterwards.
  Result<bool> TryAcquireOrRenew(std::chrono::system_clock::time_point now);

  // Rounds every renew period on a thread; `on_promoted` runs (on that thread) each time this replica becomes
  // the leader, before is_leader() turns true.
  void Start(std::function<void()> on_promoted = nullptr);
  void Stop();

  bool is_leader() const { return leader_.load(); }
  std::string holder() const;  // the identity holding the lease, "" when unknown

 private:
  std::string LeasePath() const;
  KubeApi* client_;
  LeaderElectionOptions options_;
  std::atomic<bool> leader_{false};
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::string holder_;
  std::thread thread_;
};

}  // namespace tessera::kube

#endif  // TESSERA_KUBE_LEADER_ELECTION_H_
