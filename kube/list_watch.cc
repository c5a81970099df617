#include "kube/list_watch.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "kube/api_json.h"

namespace tessera::kube {
namespace {

std::string Serialize(const rapidjson::Value& v) {
  rapidjson::StringBuffer b;
  rapidjson::Writer<rapidjson::StringBuffer> w(b);
  v.Accept(w);
  return std::string(b.GetString(), b.GetSize());
}

std::string ResourceVersion(const rapidjson::Value& obj) {
  if (!obj.IsObject() || !obj.HasMember("metadata") || !obj["metadata"].IsObject()) return "";
  const auto& m = obj["metadata"];
  return m.HasMember("resourceVersion") && m["resourceVersion"].IsString() ? m["resourceVersion"].GetString() : "";
}

}  // namespace

Result<ListPage> DecodeList(std::string_view body) {
  rapidjson::Document doc;
  if (Status s = ParseApiJson(body, &doc); !s.ok()) return s;
  if (!doc.IsObject() || !doc.HasMember("items") || !doc["items"].IsArray()) {
    return Status::InvalidArgument("not a Kubernetes List (an object with an items array)");
  }
  ListPage page;
  page.items.reserve(doc["items"].Size());
  for (const auto& item : doc["items"].GetArray()) page.items.push_back(Serialize(item));
  page.resource_version = ResourceVersion(doc);
  return page;
}

Result<WatchLine> DecodeWatchLine(std::string_view line) {
  rapidjson::Document ev;
  if (!ParseApiJson(line, &ev).ok() || !ev.IsObject() || !ev.HasMember("type") || !ev["type"].IsString() ||
      !ev.HasMember("object")) {
    return Status::InvalidArgument("garbled watch event (not an object with a type and an object)");
  }
  const std::string_view type(ev["type"].GetString(), ev["type"].GetStringLength());
  const rapidjson::Value& obj = ev["object"];
  WatchLine out;
  if (type == "ERROR") {
    if (obj.IsObject() && obj.HasMember("code") && obj["code"].IsInt() && obj["code"].GetInt() == 410) {
      out.kind = WatchLine::Kind::kGone;
      return out;
    }
    return Status::InvalidArgument("watch ERROR event other than 410 Gone");
  }
  out.resource_version = ResourceVersion(obj);
  if (type == "BOOKMARK") {
    out.kind = WatchLine::Kind::kBookmark;
    return out;
  }
  out.type = type == "ADDED"     ? WatchEventType::kAdded
             : type == "DELETED" ? WatchEventType::kDeleted
                                 : WatchEventType::kModified;
  out.object = Serialize(obj);
  return out;
}

ListWatch::ListWatch(ClusterConfig config, std::string collection_path, ListWatchHandlers handlers,
                     ListWatchOptions options)
    : config_(std::move(config)),
      path_(std::move(collection_path)),
      handlers_(std::move(handlers)),
      options_(options) {
  config_.timeout = std::chrono::seconds(options_.watch_timeout_seconds + 30);
}

ListWatch::~ListWatch() {
  Stop();
}

void ListWatch::Start() {
  thread_ = std::thread([this] { Run(); });
}

void ListWatch::Stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

void ListWatch::Sleep(std::chrono::milliseconds d) {
  const auto until = std::chrono::steady_clock::now() + d;
  while (!stop_.load() && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
}

void ListWatch::Run() {
  KubeClient client(config_);
  std::chrono::milliseconds backoff = options_.backoff_initial;
  auto fail = [&] {
    restarts_.fetch_add(1);
    Sleep(backoff);
    backoff = std::min(backoff * 2, options_.backoff_max);
  };
  while (!stop_.load()) {
    Result<HttpResponse> listed = client.Get(path_);
    if (options_.absent_is_empty && listed.ok() && listed->status == 404) {
      handlers_.on_replace({});
      synced_.store(true);
      Sleep(options_.absent_recheck);
      continue;
    }
    Result<ListPage> page = listed.ok() && listed->status == 200
                                ? DecodeList(listed->body)
                                : Result<ListPage>(Status::Unavailable("LIST failed"));
    if (!page.ok()) {
      fail();
      continue;
    }
    std::string rv = page->resource_version;
    handlers_.on_replace(page->items);
    const auto listed_at = std::chrono::steady_clock::now();
    synced_.store(true);
    backoff = options_.backoff_initial;
    while (!stop_.load()) {
      bool gone = false, garbled = false;
      const std::string watch_path = path_ + "?watch=1&allowWatchBookmarks=true&resourceVersion=" + rv +
                                     "&timeoutSeconds=" + std::to_string(options_.watch_timeout_seconds);
      Result<int> streamed = client.StreamLines(watch_path, [&](std::string_view line) {
        Result<WatchLine> ev = DecodeWatchLine(line);
        if (!ev.ok()) {
          garbled = true;
          return false;
        }
        if (ev->kind == WatchLine::Kind::kGone) {
          gone = true;
          return false;
        }
        if (!ev->resource_version.empty()) rv = ev->resource_version;
        if (ev->kind == WatchLine::Kind::kEvent) handlers_.on_event(ev->type, ev->object);
        return !stop_.load();
      });
      if (gone) {  // history compacted: relist at once
        restarts_.fetch_add(1);
        break;
      }
      if (!streamed.ok() || *streamed != 200 || garbled) {
        fail();
        break;
      }
      // The server ended the watch normally: resume from the last version seen, unless a resync is due.
      if (options_.resync_period.count() > 0 &&
          std::chrono::steady_clock::now() - listed_at >= options_.resync_period) {
        resyncs_.fetch_add(1);
        break;
      }
    }
  }
}

}  // namespace tessera::kube
