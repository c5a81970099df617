#include "tests/in_memory_kube_api.h"

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
                                         const std::function<bool(std::string_view)>& on_line, std::string*) {
  std::vector<std::string> lines;
  {
    std::lock_guard<std::mutex> lock(api_.mu_);
    api_.requests_.push_back(FakeRequest{"GET", path, "", "", ""});
    auto [collection, from] = FakeApiServer::WatchStartOf(path);
    bool expired = false;
    lines = api_.WatchLinesLocked(collection, &from, &expired);
  }
  for (const std::string& line : lines) {
    if (!on_line(line)) break;
  }
  return 200;
}

}  // namespace tessera::testing
