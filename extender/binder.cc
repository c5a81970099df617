#include "extender/binder.h"

#include <thread>

#include "state/allocation.h"

namespace tessera::extender {

std::string WriteBinding(kube::KubeClient* api, const BindingArgs& bind, const std::string& allocation,
                         std::chrono::milliseconds pause) {
  const std::string pod_path = "/api/v1/namespaces/" + bind.pod_namespace + "/pods/" + bind.pod_name;
  const std::string annotation = "{\"metadata\":{\"annotations\":{\"" + std::string(state::kAllocationAnnotation);
  if (!allocation.empty()) {
    Result<kube::HttpResponse> pr = api->MergePatch(pod_path, annotation + "\":\"" + Escape(allocation) + "\"}}}");
    if (!pr.ok()) return "annotation patch: " + pr.status().message();
    if (pr->status != 200)
      return "annotation patch: HTTP " + std::to_string(pr->status) + " " + pr->body.substr(0, 200);
  }
  if (pause.count() > 0) std::this_thread::sleep_for(pause);
  const std::string binding =
      "{\"apiVersion\":\"v1\",\"kind\":\"Binding\",\"metadata\":{\"name\":\"" + Escape(bind.pod_name) +
      "\",\"namespace\":\"" + Escape(bind.pod_namespace) + "\",\"uid\":\"" + Escape(bind.pod_uid) +
      "\"},\"target\":{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"name\":\"" + Escape(bind.node) + "\"}}";
  Result<kube::HttpResponse> br = api->Post(pod_path + "/binding", binding);
  if (br.ok() && (br->status == 200 || br->status == 201)) return "";
  if (!allocation.empty()) (void)api->MergePatch(pod_path, annotation + "\":null}}}");
  return br.ok() ? "binding: HTTP " + std::to_string(br->status) + " " + br->body.substr(0, 200)
                 : "binding: " + br.status().message();
}

}  // namespace tessera::extender
