#include "extender/binder.h"

#include "state/allocation.h"

namespace tessera::extender {

std::string WriteBinding(kube::KubeApi* api, const BindingArgs& bind, const std::string& allocation) {
  const std::string pod_path = "/api/v1/namespaces/" + bind.pod_namespace + "/pods/" + bind.pod_name;
  std::string binding = "{\"apiVersion\":\"v1\",\"kind\":\"Binding\",\"metadata\":{\"name\":\"" +
                        Escape(bind.pod_name) + "\",\"namespace\":\"" + Escape(bind.pod_namespace) +
                        "\",\"uid\":\"" + Escape(bind.pod_uid) + "\"";
  if (!allocation.empty()) {
    binding +=
        ",\"annotations\":{\"" + std::string(state::kAllocationAnnotation) + "\":\"" + Escape(allocation) + "\"}";
  }
  binding += "},\"target\":{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"name\":\"" + Escape(bind.node) + "\"}}";
  Result<kube::HttpResponse> br = api->Post(pod_path + "/binding", binding);
  if (!br.ok()) return "binding: " + br.status().message();
  if (br->status == 200 || br->status == 201) return "";
  return "binding: HTTP " + std::to_string(br->status) + " " + br->body.substr(0, 200);
}

}  // namespace tessera::extender
