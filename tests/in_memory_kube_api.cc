#include "tests/in_memory_kube_api.h"

#include <cstdlib>
#include <mutex>
#include <vector>

namespace tessera::testing {

Result<kube::HttpResponse> InMemoryKubeApi::Call(const std::string& method, const std::string& path,
                                                 const std::string& body, const std::string& content_type) {
  const FakeReply reply = api_.Handle(FakeRequest{method, path, body, content_type, ""});
  if (reply.drop_connection) return Status::Unavailable(method + " " + path + ": connection closed by the server");
  return kube::HttpResponse{reply.status, reply.body};
}

Result<kube::HttpResponse> InMemoryKubeApi::Get(const std::string& path) {
  return Call("GET", path, "", "");
}
Result<kube::HttpResponse> InMemoryKubeApi::Post(const std::string& path, const std::string& json) {
  return Call("POST", path, json, "application/json");
}
Result<kube::HttpResponse> InMemoryKubeApi::Put(const std::string& path, const std::string& json) {
  return Call("PUT", path, json, "application/json");
}
Result<kube::HttpResponse> InMemoryKubeApi::MergePatch(const std::string& path, const std::string& json) {
  return Call("PATCH", path, json, "application/merge-patch+json");
}

Result<int> InMemoryKubeApi::StreamLines(const std::string& path,
                                         const std::function<bool(std::string_view)>& on_line,
                                         std::string* error_body) {
  const FakeRequest request{"GET", path, "", "", ""};
  std::vector<std::string> lines;
  {
    std::lock_guard<std::mutex> lock(api_.mu_);
    api_.requests_.push_back(request);
    if (api_.interceptor_) {
      if (std::optional<FakeReply> r = api_.interceptor_(request)) {
        if (r->drop_connection) return Status::Unavailable("watch " + path + ": connection closed by the server");
        if (error_body != nullptr) *error_body = r->body;
        if (r->status != 200) return r->status;
        lines.push_back(r->body);
      }
    }
    if (lines.empty()) {
      const size_t q = path.find('?');
      const std::string collection = path.substr(0, q);
      long long from = 0;
      if (const size_t at = path.find("resourceVersion=", q == std::string::npos ? path.size() : q);
          at != std::string::npos) {
        from = std::atoll(path.c_str() + at + 16);
      }
      if (from != 0 && from <= api_.expired_before_) {
        lines.emplace_back(FakeApiServer::kExpiredLine);
      } else {
        lines = api_.WatchLinesLocked(collection, &from);
      }
    }
  }
  for (const std::string& line : lines) {
    if (!on_line(line)) break;
  }
  return 200;
}

}  // namespace tessera::testing
