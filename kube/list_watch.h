// A Kubernetes informer for one collection: LIST, then WATCH from the list's resourceVersion (with bookmarks),
// handing every object to the caller as JSON text. When the watch ends it resumes from the last version seen;
// on 410 Gone (history compacted) or any error it relists; failures back off exponentially up to a cap. Runs on
// its own thread until Stop().
#ifndef TESSERA_KUBE_LIST_WATCH_H_
#define TESSERA_KUBE_LIST_WATCH_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "kube/kube_client.h"

namespace tessera::kube {

enum class WatchEventType { kAdded, kModified, kDeleted };

// A LIST response: its items as JSON text and the list's resourceVersion (where the watch starts).
struct ListPage {
  std::vector<std::string> items;
  std::string resource_version;
};
// InvalidArgument when `body` is not a Kubernetes List (an object with an `items` array).
Result<ListPage> DecodeList(std::string_view body);

// One line of a watch stream (one JSON event per line).
struct WatchLine {
  enum class Kind {
    kEvent,     // ADDED / MODIFIED / DELETED: `type`, `object`
    kBookmark,  // only moves the resourceVersion
    kGone,      // ERROR 410: the history was compacted; relist
  };
  Kind kind = Kind::kEvent;
  WatchEventType type = WatchEventType::kModified;
  std::string object;            // kEvent: the object as JSON text
  std::string resource_version;  // the object's; empty when it has none
};
// InvalidArgument for a garbled line or an ERROR event other than 410 (either way: back off, then relist).
Result<WatchLine> DecodeWatchLine(std::string_view line);

struct ListWatchHandlers {
  // The complete current contents (after every LIST): replaces whatever the caller had.
  std::function<void(const std::vector<std::string>& items)> on_replace;
  std::function<void(WatchEventType type, const std::string& object)> on_event;
};

struct ListWatchOptions {
  int watch_timeout_seconds = 10;  // the server ends each watch after this; it is then resumed
  std::chrono::milliseconds backoff_initial{200};
  std::chrono::milliseconds backoff_max{10000};
  // Relist this often even when the watch is healthy (0: never), so that an event lost anywhere between etcd and
  // us is corrected within one period. Checked whenever a watch request ends.
  std::chrono::seconds resync_period{0};
  // A LIST answered 404 means the resource type is not installed (a CRD nobody applied): hand over an empty list,
  // count as synced, and list again after `absent_recheck`.
  bool absent_is_empty = false;
  std::chrono::milliseconds absent_recheck{30000};
};

class ListWatch {
 public:
  // `config` is used for a dedicated client whose deadline covers a whole watch.
  ListWatch(ClusterConfig config, std::string collection_path, ListWatchHandlers handlers,
            ListWatchOptions options = {});
  ~ListWatch();
  void Start();
  void Stop();  // returns within about one watch timeout

  bool synced() const { return synced_.load(); }
  int restarts() const { return restarts_.load(); }  // relists after 410, errors or broken streams
  int resyncs() const { return resyncs_.load(); }    // periodic relists (resync_period)

 private:
  void Run();
  void Sleep(std::chrono::milliseconds d);

  ClusterConfig config_;
  std::string path_;
  ListWatchHandlers handlers_;
  ListWatchOptions options_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> synced_{false};
  std::atomic<int> restarts_{0};
  std::atomic<int> resyncs_{0};
  std::thread thread_;
};

}  // namespace tessera::kube

#endif  // TESSERA_KUBE_LIST_WATCH_H_
