// Leader election on a coordination.k8s.io/v1 Lease, as client-go does it: whoever holds an unexpired lease
// leads and renews it every renew period; a lease not renewed within its duration may be taken over (one PUT
// with the resourceVersion read, so two candidates cannot both win). The identity is what other replicas use to
// reach the leader (for the extender: its URL).
#ifndef TESSERA_KUBE_LEADER_ELECTION_H_
#define TESSERA_KUBE_LEADER_ELECTION_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "kube/kube_client.h"

namespace tessera::kube {

struct LeaderElectionOptions {
  std::string lease_namespace = "kube-system";
  std::string lease_name = "tessera-extender";
  std::string identity;
  std::chrono::seconds lease_duration{15};
  std::chrono::milliseconds renew_period{5000};
};

class LeaderElector {
 public:
  LeaderElector(KubeClient* client, LeaderElectionOptions options);
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
  KubeClient* client_;
  LeaderElectionOptions options_;
  std::atomic<bool> leader_{false};
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::string holder_;
  std::thread thread_;
};

}  // namespace tessera::kube

#endif  // TESSERA_KUBE_LEADER_ELECTION_H_
