// A small Kubernetes API client over cpprestsdk: one blocking request at a time with a deadline, bearer-token or
// client-certificate authentication, and a custom CA. It speaks raw paths and JSON bodies; callers decode with
// crd/. Transport failures (refused, reset, timeout, TLS) come back as Status::Unavailable, never as exceptions.
#ifndef TESSERA_KUBE_KUBE_CLIENT_H_
#define TESSERA_KUBE_KUBE_CLIENT_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"
#include "kube/kube_api.h"

namespace tessera::kube {

struct ClusterConfig {
  std::string server;  // "https://10.0.0.1:6443" or "http://127.0.0.1:8080"
  std::string ca_pem;  // PEM bundle; empty: system trust store
  std::string bearer_token;
  std::string client_cert_pem;  // with client_key_pem: mutual TLS
  std::string client_key_pem;
  bool insecure_skip_tls_verify = false;
  std::chrono::milliseconds timeout{10000};
};

// In-cluster: KUBERNETES_SERVICE_HOST/PORT, the service-account token and CA under `sa_dir`
// (/var/run/secrets/kubernetes.io/serviceaccount). NotFound when not running in a pod.
Result<ClusterConfig> InClusterConfig(const std::string& sa_dir = "/var/run/secrets/kubernetes.io/serviceaccount");
// The current context of a kubeconfig file: server, CA (file or -data), token (or token file), client cert/key
// (file or -data). Relative file paths resolve against the kubeconfig's directory, as kubectl does.
Result<ClusterConfig> KubeconfigConfig(const std::string& path);

// cpprestsdk makes every API request and watch read on one process-wide thread pool, of 40 threads unless told
// otherwise: on a small node those threads hand each response and watch chunk between them, and the context
// switches cost more than the work. Call once in main, before any KubeClient exists; Conflict after,
// InvalidArgument for 0.
Status SetApiClientThreads(size_t threads);

// The Kubernetes API over cpprestsdk.
class KubeClient final : public KubeApi {
 public:
  explicit KubeClient(ClusterConfig config);
  ~KubeClient() override;
  KubeClient(const KubeClient&) = delete;
  KubeClient& operator=(const KubeClient&) = delete;

  Result<HttpResponse> Get(const std::string& path) override;
  Result<HttpResponse> Post(const std::string& path, const std::string& json) override;
  Result<HttpResponse> Put(const std::string& path, const std::string& json) override;
  Result<HttpResponse> MergePatch(const std::string& path, const std::string& json) override;
  Result<int> StreamLines(const std::string& path, const std::function<bool(std::string_view)>& on_line,
                          std::string* error_body = nullptr) override;

  const ClusterConfig& config() const { return config_; }

 private:
  Result<HttpResponse> Send(const std::string& method, const std::string& path, const std::string* body,
                            const char* content_type);
  ClusterConfig config_;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Responses larger than this are treated as garbage (Unavailable) rather than buffered.
inline constexpr size_t kMaxResponseBytes = 64u << 20;

}  // namespace tessera::kube

#endif  // TESSERA_KUBE_KUBE_CLIENT_H_
