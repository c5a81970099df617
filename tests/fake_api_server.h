// A loopback stand-in for kube-apiserver, for faults a real server cannot be made to show on cue. It speaks the
// real paths and verbs for objects with a status subresource (CNRs, Nodes): POST drops `status` and assigns uid
// and resourceVersion; PUT on the object keeps the stored status; PUT/PATCH (merge patch) on `/status` changes
// only status; a stale metadata.resourceVersion gets 409; unknown objects 404, all with Kubernetes Status bodies.
// An interceptor can answer any request first (500, garbage, a delay, a dropped connection).
#ifndef TESSERA_TESTS_FAKE_API_SERVER_H_
#define TESSERA_TESTS_FAKE_API_SERVER_H_

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace tessera::testing {

struct FakeRequest {
  std::string method;
  std::string target;
  std::string body;
  std::string content_type;
  std::string authorization;
};

struct FakeReply {
  int status = 200;
  std::string body;
  std::chrono::milliseconds delay{0};  // wait before answering (slow server)
  bool drop_connection = false;        // close the socket without a reply
};

class FakeApiServer {
 public:
  using Interceptor = std::function<std::optional<FakeReply>(const FakeRequest&)>;

  FakeApiServer();  // listens on 127.0.0.1, ephemeral port
  // The same API with no listener: reached only through InMemoryKubeApi (tests/in_memory_kube_api.h).
  struct InMemory {};
  explicit FakeApiServer(InMemory);
  ~FakeApiServer();
  FakeApiServer(const FakeApiServer&) = delete;
  FakeApiServer& operator=(const FakeApiServer&) = delete;

  std::string url() const;
  int port() const;

  void SetInterceptor(Interceptor interceptor);
  // Registers an object at `path` (e.g. "/api/v1/nodes/n1") as if created; returns its resourceVersion.
  std::string Seed(const std::string& path, const std::string& json);
  std::optional<std::string> Object(const std::string& path) const;
  std::vector<FakeRequest> Requests() const;
  void ClearRequests();

  // Watch support (GET <collection>?watch=1&resourceVersion=RV&timeoutSeconds=N answers a chunked stream of
  // {"type": ..., "object": ...} lines). Every write through the API also emits an event.
  // ADDED / MODIFIED store the object at `object_path`, DELETED removes it; all are streamed to watchers.
  void EmitEvent(const std::string& object_path, const std::string& type, const std::string& object_json);
  void EmitBookmark(const std::string& collection_path);
  // Changes an object as a write would, but with no watch event: an event lost on its way, which only a relist
  // can correct. Store with an empty json removes the object.
  void ChangeWithoutEvent(const std::string& object_path, const std::string& object_json);
  // Watches that resume from a resourceVersion at or before now get `410 Gone` (an ERROR event), as after etcd
  // compaction, and must relist.
  void ExpireHistory();
  int active_watches() const;

 private:
  friend class FakeApiServerSession;
  friend class InMemoryKubeApi;
  // Where a watch request `target` starts: its collection and the resourceVersion it resumes after.
  struct WatchStart {
    std::string collection;
    long long from = 0;
  };
  static WatchStart WatchStartOf(const std::string& target);
  // The lines a watch gets now: the 410 Expired ERROR line when `*from` is older than the history kept (`*expired`
  // set), else the events after `*from` for `collection` (`*from` moved past them). Under mu_.
  std::vector<std::string> WatchLinesLocked(const std::string& collection, long long* from, bool* expired) const;
  FakeReply Handle(const FakeRequest& request);
  FakeReply HandleLocked(const FakeRequest& request);
  void ServeWatch(void* socket, FakeRequest request);  // runs on its own thread; socket is a tcp::socket*
  void RecordEventLocked(const std::string& object_path, const std::string& type, const std::string& object_json);
  bool IsWatch(const FakeRequest& request) const;
  void StartWatch(void* socket, FakeRequest request);

  struct Event {
    long long rv;
    std::string object_path;  // "" for bookmarks
    std::string collection;   // bookmarks only
    std::string line;
  };
  std::vector<Event> events_;
  long long expired_before_ = 0;
  std::vector<std::thread> watch_threads_;
  std::condition_variable cv_;
  bool stopping_ = false;
  int active_watches_ = 0;

  struct Impl;
  std::unique_ptr<Impl> impl_;
  mutable std::mutex mu_;
  Interceptor interceptor_;
  std::map<std::string, std::string> objects_;  // object path -> JSON
  std::vector<FakeRequest> requests_;
  long long next_resource_version_ = 1000;
  long long next_uid_ = 1;
};

// Kubernetes-style Status body.
std::string KubeStatusBody(int code, const std::string& reason, const std::string& message);

}  // namespace tessera::testing

#endif  // TESSERA_TESTS_FAKE_API_SERVER_H_
