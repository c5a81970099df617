// The API calls of a bind, made outside the decision lock: Tessera's allocation annotation (one merge patch), then
// the Binding. A failed Binding takes the annotation back, so nothing is left half allocated.
#ifndef TESSERA_EXTENDER_BINDER_H_
#define TESSERA_EXTENDER_BINDER_H_

#include <chrono>
#include <string>

#include "extender/wire.h"
#include "kube/kube_client.h"

namespace tessera::extender {

// "" when both calls succeeded; otherwise which failed, with the API's answer. `pause`: a crash-test failpoint
// between the two calls.
std::string WriteBinding(kube::KubeClient* api, const BindingArgs& bind, const std::string& allocation,
                         std::chrono::milliseconds pause = std::chrono::milliseconds(0));

}  // namespace tessera::extender

#endif  // TESSERA_EXTENDER_BINDER_H_
