// API-server mode: three informers (Nodes, Pods of every namespace, CNRs) feeding an ExtenderService, which is
// ready once all three have listed.
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
  ApiSource(kube::ClusterConfig config, ExtenderService* service, kube::ListWatchOptions options = {});
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
