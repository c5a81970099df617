// API-server mode: informers (Nodes, Pods of every namespace, CNRs, and NodeResourceTopologies where those are a
// topology source) feeding an ExtenderService, which is ready once all have listed.
#ifndef TESSERA_EXTENDER_API_SOURCE_H_
#define TESSERA_EXTENDER_API_SOURCE_H_

#include <memory>
#include <vector>

#include "extender/extender_service.h"
#include "kube/list_watch.h"

namespace tessera::extender {

inline constexpr char kNodesPath[] = "/api/v1/nodes";
inline constexpr char kPodsPath[] = "/api/v1/pods";
inline constexpr char kCnrsPath[] = "/apis/node.katalyst.kubewharf.io/v1alpha1/customnoderesources";

class ApiSource {
 public:
  // `watch_nrts`: a fourth informer for NodeResourceTopologies (--topology-source nrt or auto).
  ApiSource(kube::ClusterConfig config, ExtenderService* service, kube::ListWatchOptions options = {},
            bool watch_nrts = false);
  ~ApiSource();
  void Start();
  void Stop();
  bool synced() const;
  int restarts() const;
  int resyncs() const;

 private:
  std::vector<std::unique_ptr<kube::ListWatch>> informers_;
};

}  // namespace tessera::extender

#endif  // TESSERA_EXTENDER_API_SOURCE_H_
