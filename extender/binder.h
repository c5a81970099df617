// The API call of a bind, made outside the decision lock: one Binding that carries Tessera's allocation
// annotation. The API server copies a Binding's annotations onto the pod in the same update that sets its
// nodeName, so a pod is never bound without its allocation nor annotated without being bound.
#ifndef TESSERA_EXTENDER_BINDER_H_
#define TESSERA_EXTENDER_BINDER_H_

#include <string>

#include "extender/wire.h"
#include "kube/kube_api.h"

namespace tessera::extender {

// "" when the Binding was accepted; otherwise the API's answer. `allocation` empty: no annotation.
std::string WriteBinding(kube::KubeApi* api, const BindingArgs& bind, const std::string& allocation);

}  // namespace tessera::extender

#endif  // TESSERA_EXTENDER_BINDER_H_
