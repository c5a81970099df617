// What the components need of the Kubernetes API: requests on raw paths with JSON bodies, and watch streams read
// line by line. KubeClient (kube/kube_client.h) speaks it to a real API server over HTTP(S); tests may hand a
// component an in-memory one instead (tests/in_memory_kube_api.h), which records every call and needs no socket
// and no sleep. Callers decode the bodies with crd/.
#ifndef TESSERA_KUBE_KUBE_API_H_
#define TESSERA_KUBE_KUBE_API_H_

#include <functional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace tessera::kube {

struct HttpResponse {
  int status = 0;
  std::string body;
};

class KubeApi {
 public:
  virtual ~KubeApi() = default;

  // `path` is absolute ("/api/v1/nodes/n1"). Any HTTP status is a successful exchange; inspect `status`.
  // Transport failures (refused, reset, timeout, TLS) come back as Status::Unavailable.
  virtual Result<HttpResponse> Get(const std::string& path) = 0;
  virtual Result<HttpResponse> Post(const std::string& path, const std::string& json) = 0;
  virtual Result<HttpResponse> Put(const std::string& path, const std::string& json) = 0;
  // RFC 7386 JSON merge patch (application/merge-patch+json).
  virtual Result<HttpResponse> MergePatch(const std::string& path, const std::string& json) = 0;

  // A long-running GET (a watch): calls `on_line` with each newline-terminated line of the body as it arrives,
  // until the server ends the response or `on_line` returns false. Returns the HTTP status; a non-200 answer's
  // body is returned in `error_body`.
  virtual Result<int> StreamLines(const std::string& path, const std::function<bool(std::string_view)>& on_line,
                                  std::string* error_body = nullptr) = 0;
};

}  // namespace tessera::kube

#endif  // TESSERA_KUBE_KUBE_API_H_
