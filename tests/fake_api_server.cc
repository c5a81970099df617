#include "tests/fake_api_server.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <thread>

namespace tessera::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::string KubeStatusBody(int code, const std::string& reason, const std::string& message) {
  rapidjson::Document d(rapidjson::kObjectType);
  auto& a = d.GetAllocator();
  d.AddMember("kind", "Status", a);
  d.AddMember("apiVersion", "v1", a);
  d.AddMember("status", "Failure", a);
  d.AddMember("message", rapidjson::Value(message.c_str(), a), a);
  d.AddMember("reason", rapidjson::Value(reason.c_str(), a), a);
  d.AddMember("code", code, a);
  rapidjson::StringBuffer b;
  rapidjson::Writer<rapidjson::StringBuffer> w(b);
  d.Accept(w);
  return b.GetString();
}

namespace {

std::string Serialize(const rapidjson::Value& v) {
  rapidjson::StringBuffer b;
  rapidjson::Writer<rapidjson::StringBuffer> w(b);
  v.Accept(w);
  return b.GetString();
}

// RFC 7386: objects merge recursively, null deletes, anything else replaces.
void MergePatch(rapidjson::Value& target, const rapidjson::Value& patch, rapidjson::Document::AllocatorType& a) {
  if (!patch.IsObject()) {
    target.CopyFrom(patch, a);
    return;
  }
  if (!target.IsObject()) target.SetObject();
  for (auto it = patch.MemberBegin(); it != patch.MemberEnd(); ++it) {
    if (it->value.IsNull()) {
      target.RemoveMember(it->name);
    } else if (target.HasMember(it->name)) {
      MergePatch(target[it->name], it->value, a);
    } else {
      rapidjson::Value v;
      MergePatch(v, it->value, a);
      target.AddMember(rapidjson::Value(it->name, a), v, a);
    }
  }
}

std::string ResourceVersionOf(const rapidjson::Value& v) {
  if (!v.IsObject() || !v.HasMember("metadata") || !v["metadata"].IsObject()) return "";
  const auto& m = v["metadata"];
  return m.HasMember("resourceVersion") && m["resourceVersion"].IsString() ? m["resourceVersion"].GetString() : "";
}

void SetMeta(rapidjson::Document& d, const char* key, const std::string& value) {
  auto& a = d.GetAllocator();
  if (!d.HasMember("metadata") || !d["metadata"].IsObject()) {
    d.RemoveMember("metadata");
    d.AddMember("metadata", rapidjson::Value(rapidjson::kObjectType), a);
  }
  auto& m = d["metadata"];
  m.RemoveMember(key);
  m.AddMember(rapidjson::Value(key, a), rapidjson::Value(value.c_str(), a), a);
}

}  // namespace

class FakeApiServerSession : public std::enable_shared_from_this<FakeApiServerSession> {
 public:
  FakeApiServerSession(tcp::socket socket, FakeApiServer* server)
      : stream_(std::move(socket)), timer_(stream_.get_executor()), server_(server) {}

  void Start() { Read(); }

 private:
  void Read() {
    request_ = {};
    http::async_read(stream_, buffer_, request_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return;
      self->OnRequest();
    });
  }

  void OnRequest() {
    FakeRequest r;
    r.method = std::string(request_.method_string());
    r.target = std::string(request_.target());
    r.body = request_.body();
    r.content_type = std::string(request_[http::field::content_type]);
    r.authorization = std::string(request_[http::field::authorization]);
    if (server_->IsWatch(r)) {
      // A watch streams on its own thread with blocking writes; this session hands over its socket and ends.
      auto socket = std::make_unique<tcp::socket>(stream_.release_socket());
      server_->StartWatch(socket.release(), std::move(r));
      return;
    }
    reply_ = server_->Handle(r);
    if (reply_.delay.count() > 0) {
      timer_.expires_after(reply_.delay);
      timer_.async_wait([self = shared_from_this()](beast::error_code) { self->Write(); });
    } else {
      Write();
    }
  }

  void Write() {
    if (reply_.drop_connection) {
      beast::error_code ec;
      stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
      stream_.close();
      return;
    }
    response_ = {};
    response_.version(request_.version());
    response_.result(static_cast<http::status>(reply_.status));
    response_.set(http::field::content_type, "application/json");
    response_.keep_alive(request_.keep_alive());
    response_.body() = reply_.body;
    response_.prepare_payload();
    http::async_write(stream_, response_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec || !self->response_.keep_alive()) {
        beast::error_code ignored;
        self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
        return;
      }
      self->Read();
    });
  }

  beast::tcp_stream stream_;
  asio::steady_timer timer_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
  FakeReply reply_;
  FakeApiServer* server_;
};

struct FakeApiServer::Impl {
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::thread thread;
  int port = 0;

  void Accept(FakeApiServer* server) {
    acceptor.async_accept([this, server](beast::error_code ec, tcp::socket socket) {
      if (ec) return;  // acceptor closed
      std::make_shared<FakeApiServerSession>(std::move(socket), server)->Start();
      Accept(server);
    });
  }
};

FakeApiServer::FakeApiServer() : impl_(std::make_unique<Impl>()) {
  tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.set_option(asio::socket_base::reuse_address(true));
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen();
  impl_->port = impl_->acceptor.local_endpoint().port();
  impl_->Accept(this);
  impl_->thread = std::thread([this] { impl_->io.run(); });
}

FakeApiServer::FakeApiServer(InMemory) : impl_(std::make_unique<Impl>()) {}

FakeApiServer::~FakeApiServer() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : watch_threads_) t.join();
  if (!impl_->thread.joinable()) return;  // in memory: nothing listens
  asio::post(impl_->io, [this] {
    beast::error_code ec;
    impl_->acceptor.close(ec);
  });
  impl_->io.stop();
  impl_->thread.join();
}

std::string FakeApiServer::url() const {
  return "http://127.0.0.1:" + std::to_string(impl_->port);
}
int FakeApiServer::port() const {
  return impl_->port;
}

void FakeApiServer::SetInterceptor(Interceptor interceptor) {
  std::lock_guard<std::mutex> lock(mu_);
  interceptor_ = std::move(interceptor);
}

std::string FakeApiServer::Seed(const std::string& path, const std::string& json) {
  std::lock_guard<std::mutex> lock(mu_);
  rapidjson::Document d;
  d.Parse(json.c_str());
  if (!d.IsObject()) return "";
  if (!d.HasMember("metadata") || !d["metadata"].HasMember("uid"))
    SetMeta(d, "uid", "uid-" + std::to_string(next_uid_++));
  RecordEventLocked(path, "ADDED", Serialize(d));
  return std::to_string(next_resource_version_ - 1);
}

void FakeApiServer::ChangeWithoutEvent(const std::string& object_path, const std::string& object_json) {
  std::lock_guard<std::mutex> lock(mu_);
  const long long rv = next_resource_version_++;
  if (object_json.empty()) {
    objects_.erase(object_path);
    return;
  }
  rapidjson::Document d;
  d.Parse(object_json.c_str());
  if (d.HasParseError() || !d.IsObject()) return;
  if (!d.HasMember("metadata") || !d["metadata"].HasMember("uid"))
    SetMeta(d, "uid", "uid-" + std::to_string(next_uid_++));
  SetMeta(d, "resourceVersion", std::to_string(rv));
  objects_[object_path] = Serialize(d);
}

std::optional<std::string> FakeApiServer::Object(const std::string& path) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = objects_.find(path);
  if (it == objects_.end()) return std::nullopt;
  return it->second;
}

std::vector<FakeRequest> FakeApiServer::Requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

void FakeApiServer::ClearRequests() {
  std::lock_guard<std::mutex> lock(mu_);
  requests_.clear();
}

namespace {

std::string QueryParam(const std::string& target, const std::string& key) {
  size_t q = target.find('?');
  if (q == std::string::npos) return "";
  std::string query = target.substr(q + 1);
  size_t pos = 0;
  while (pos <= query.size()) {
    size_t amp = query.find('&', pos);
    std::string kv = query.substr(pos, amp == std::string::npos ? std::string::npos : amp - pos);
    if (kv.rfind(key + "=", 0) == 0) return kv.substr(key.size() + 1);
    if (amp == std::string::npos) break;
    pos = amp + 1;
  }
  return "";
}

// Whether the object at `object_path` belongs to the collection `collection` (pods of every namespace are listed
// at /api/v1/pods but live under /api/v1/namespaces/<ns>/pods/<name>).
bool InCollection(const std::string& object_path, const std::string& collection) {
  if (object_path.rfind(collection + "/", 0) == 0 &&
      object_path.find('/', collection.size() + 1) == std::string::npos) {
    return true;
  }
  if (collection == "/api/v1/pods") {
    const std::string prefix = "/api/v1/namespaces/";
    if (object_path.rfind(prefix, 0) != 0) return false;
    size_t ns_end = object_path.find('/', prefix.size());
    return ns_end != std::string::npos && object_path.compare(ns_end, 6, "/pods/") == 0 &&
           object_path.find('/', ns_end + 6) == std::string::npos;
  }
  return false;
}

}  // namespace

bool FakeApiServer::IsWatch(const FakeRequest& r) const {
  const std::string w = QueryParam(r.target, "watch");
  return r.method == "GET" && (w == "1" || w == "true");
}

void FakeApiServer::StartWatch(void* socket, FakeRequest request) {
  std::lock_guard<std::mutex> lock(mu_);
  requests_.push_back(request);
  watch_threads_.emplace_back([this, socket, request = std::move(request)] { ServeWatch(socket, request); });
}

void FakeApiServer::ServeWatch(void* raw_socket, FakeRequest request) {
  std::unique_ptr<tcp::socket> socket(static_cast<tcp::socket*>(raw_socket));
  auto [collection, from] = WatchStartOf(request.target);
  const long long timeout_s = std::max(1LL, std::atoll(QueryParam(request.target, "timeoutSeconds").c_str()));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(std::min(timeout_s, 60LL));
  beast::error_code ec;
  http::response<http::empty_body> res{http::status::ok, 11};
  res.set(http::field::content_type, "application/json");
  res.chunked(true);
  res.keep_alive(false);
  http::response_serializer<http::empty_body> sr{res};
  http::write_header(*socket, sr, ec);
  auto send = [&](const std::string& line) {
    const std::string data = line + "\n";
    asio::write(*socket, http::make_chunk(asio::buffer(data)), ec);
    return !ec;
  };
  std::unique_lock<std::mutex> lock(mu_);
  ++active_watches_;
  bool expired = false;
  while (!expired && !stopping_ && std::chrono::steady_clock::now() < deadline && !ec) {
    const std::vector<std::string> lines = WatchLinesLocked(collection, &from, &expired);
    if (!lines.empty()) {
      lock.unlock();
      for (const std::string& l : lines) send(l);
      lock.lock();
      continue;
    }
    cv_.wait_for(lock, std::chrono::milliseconds(50));
  }
  --active_watches_;
  lock.unlock();
  asio::write(*socket, http::make_chunk_last(), ec);
  socket->shutdown(tcp::socket::shutdown_both, ec);
  socket->close(ec);
}

FakeApiServer::WatchStart FakeApiServer::WatchStartOf(const std::string& target) {
  return {target.substr(0, target.find('?')), std::atoll(QueryParam(target, "resourceVersion").c_str())};
}

std::vector<std::string> FakeApiServer::WatchLinesLocked(const std::string& collection, long long* from,
                                                         bool* expired) const {
  if (*from != 0 && *from <= expired_before_) {
    *expired = true;
    return {
        R"({"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure","message":"too old resource version","reason":"Expired","code":410}})"};
  }
  std::vector<std::string> lines;
  for (const Event& e : events_) {
    if (e.rv <= *from) continue;
    const bool match =
        e.object_path.empty() ? e.collection == collection : InCollection(e.object_path, collection);
    if (match) lines.push_back(e.line);
    *from = std::max(*from, e.rv);
  }
  return lines;
}

int FakeApiServer::active_watches() const {
  std::lock_guard<std::mutex> lock(mu_);
  return active_watches_;
}

void FakeApiServer::RecordEventLocked(const std::string& object_path, const std::string& type,
                                      const std::string& object_json) {
  const long long rv = next_resource_version_++;
  rapidjson::Document d;
  d.Parse(object_json.c_str());
  if (d.HasParseError() || !d.IsObject()) return;
  SetMeta(d, "resourceVersion", std::to_string(rv));
  const std::string stored = Serialize(d);
  if (type == "DELETED") {
    objects_.erase(object_path);
  } else {
    objects_[object_path] = stored;
  }
  events_.push_back({rv, object_path, "", "{\"type\":\"" + type + "\",\"object\":" + stored + "}"});
  cv_.notify_all();
}

void FakeApiServer::EmitEvent(const std::string& object_path, const std::string& type,
                              const std::string& object_json) {
  std::lock_guard<std::mutex> lock(mu_);
  RecordEventLocked(object_path, type, object_json);
}

void FakeApiServer::EmitBookmark(const std::string& collection_path) {
  std::lock_guard<std::mutex> lock(mu_);
  const long long rv = next_resource_version_++;
  events_.push_back(
      {rv, "", collection_path,
       "{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"" + std::to_string(rv) + "\"}}}"});
  cv_.notify_all();
}

void FakeApiServer::ExpireHistory() {
  std::lock_guard<std::mutex> lock(mu_);
  expired_before_ = next_resource_version_ - 1;
}

FakeReply FakeApiServer::Handle(const FakeRequest& request) {
  std::lock_guard<std::mutex> lock(mu_);
  requests_.push_back(request);
  if (interceptor_) {
    if (std::optional<FakeReply> r = interceptor_(request)) return *r;
  }
  return HandleLocked(request);
}

FakeReply FakeApiServer::HandleLocked(const FakeRequest& req) {
  std::string path = req.target.substr(0, req.target.find('?'));
  const bool status_sub = path.size() > 7 && path.compare(path.size() - 7, 7, "/status") == 0;
  const std::string object_path = status_sub ? path.substr(0, path.size() - 7) : path;
  auto not_found = [&] { return FakeReply{404, KubeStatusBody(404, "NotFound", object_path + " not found")}; };
  auto bad_request = [&](const std::string& m) { return FakeReply{400, KubeStatusBody(400, "BadRequest", m)}; };

  if (req.method == "GET") {
    auto it = objects_.find(object_path);
    if (it != objects_.end()) return FakeReply{200, it->second};
    // A collection: list what is in it, with the current resourceVersion.
    std::string items;
    const std::string cnrs = "/customnoderesources";
    const bool any_known_collection =
        path == "/api/v1/pods" || path == "/api/v1/nodes" ||
        (path.size() > cnrs.size() && path.compare(path.size() - cnrs.size(), cnrs.size(), cnrs) == 0);
    for (const auto& [p, json] : objects_) {
      if (InCollection(p, path)) items += (items.empty() ? "" : ",") + json;
    }
    if (items.empty() && !any_known_collection) return not_found();
    return FakeReply{200, "{\"kind\":\"List\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"" +
                              std::to_string(next_resource_version_ - 1) + "\"},\"items\":[" + items + "]}"};
  }
  rapidjson::Document body;
  body.Parse(req.body.c_str());
  if (body.HasParseError() || !body.IsObject()) return bad_request("body is not a JSON object");
  auto& a = body.GetAllocator();

  if (req.method == "POST" && path.size() > 8 && path.compare(path.size() - 8, 8, "/binding") == 0) {
    const std::string pod_path = path.substr(0, path.size() - 8);
    auto pod = objects_.find(pod_path);
    if (pod == objects_.end()) return FakeReply{404, KubeStatusBody(404, "NotFound", pod_path + " not found")};
    rapidjson::Document p;
    p.Parse(pod->second.c_str());
    if (p.HasMember("spec") && p["spec"].HasMember("nodeName")) {
      return FakeReply{409, KubeStatusBody(409, "Conflict", "pod is already assigned to a node")};
    }
    if (!body.HasMember("target") || !body["target"].HasMember("name") || !body["target"]["name"].IsString()) {
      return bad_request("target.name required");
    }
    if (!p.HasMember("spec")) p.AddMember("spec", rapidjson::Value(rapidjson::kObjectType), p.GetAllocator());
    // As the API server does: the Binding's annotations are copied onto the pod in the same update.
    if (body.HasMember("metadata") && body["metadata"].IsObject() && body["metadata"].HasMember("annotations") &&
        body["metadata"]["annotations"].IsObject()) {
      const rapidjson::Value& annotations = body["metadata"]["annotations"];
      for (const auto& m : annotations.GetObject()) {
        if (!m.value.IsString()) return bad_request("annotations must be strings");
      }
      if (!p.HasMember("metadata"))
        p.AddMember("metadata", rapidjson::Value(rapidjson::kObjectType), p.GetAllocator());
      if (!p["metadata"].HasMember("annotations"))
        p["metadata"].AddMember("annotations", rapidjson::Value(rapidjson::kObjectType), p.GetAllocator());
      MergePatch(p["metadata"]["annotations"], annotations, p.GetAllocator());
    }
    p["spec"].AddMember("nodeName", rapidjson::Value(body["target"]["name"].GetString(), p.GetAllocator()),
                        p.GetAllocator());
    RecordEventLocked(pod_path, "MODIFIED", Serialize(p));
    return FakeReply{201, R"({"kind":"Status","apiVersion":"v1","status":"Success","code":201})"};
  }
  if (req.method == "POST") {
    if (!body.HasMember("metadata") || !body["metadata"].IsObject() || !body["metadata"].HasMember("name") ||
        !body["metadata"]["name"].IsString()) {
      return bad_request("metadata.name required");
    }
    std::string target = path + "/" + body["metadata"]["name"].GetString();
    if (objects_.count(target) != 0) {
      return FakeReply{409, KubeStatusBody(409, "AlreadyExists", target + " already exists")};
    }
    body.RemoveMember("status");  // the API server ignores status on create when a status subresource exists
    SetMeta(body, "uid", "uid-" + std::to_string(next_uid_++));
    RecordEventLocked(target, "ADDED", Serialize(body));
    return FakeReply{201, objects_[target]};
  }

  auto it = objects_.find(object_path);
  if (it == objects_.end()) return not_found();
  rapidjson::Document stored;
  stored.Parse(it->second.c_str());
  const std::string sent_rv = ResourceVersionOf(body);
  if (!sent_rv.empty() && sent_rv != ResourceVersionOf(stored)) {
    return FakeReply{409, KubeStatusBody(409, "Conflict",
                                         "the object has been modified; please apply your changes to the latest "
                                         "version and try again")};
  }
  rapidjson::Document next;
  if (req.method == "PUT" && !status_sub) {
    next.CopyFrom(body, next.GetAllocator());
    next.RemoveMember("status");
    if (stored.HasMember("status"))
      next.AddMember("status", rapidjson::Value(stored["status"], next.GetAllocator()), next.GetAllocator());
  } else if (req.method == "PUT" && status_sub) {
    next.CopyFrom(stored, next.GetAllocator());
    next.RemoveMember("status");
    if (body.HasMember("status"))
      next.AddMember("status", rapidjson::Value(body["status"], next.GetAllocator()), next.GetAllocator());
  } else if (req.method == "PATCH" && status_sub) {
    if (req.content_type != "application/merge-patch+json") {
      return FakeReply{415, KubeStatusBody(415, "UnsupportedMediaType", "want merge patch")};
    }
    next.CopyFrom(stored, next.GetAllocator());
    if (body.HasMember("status")) {
      if (!next.HasMember("status"))
        next.AddMember("status", rapidjson::Value(rapidjson::kObjectType), next.GetAllocator());
      MergePatch(next["status"], body["status"], next.GetAllocator());
    }
  } else if (req.method == "PATCH" && !status_sub) {
    if (req.content_type != "application/merge-patch+json") {
      return FakeReply{415, KubeStatusBody(415, "UnsupportedMediaType", "want merge patch")};
    }
    next.CopyFrom(stored, next.GetAllocator());
    MergePatch(next, body, next.GetAllocator());
  } else {
    return FakeReply{405, KubeStatusBody(405, "MethodNotAllowed", req.method + " " + path)};
  }
  (void)a;
  // Identity never changes on update.
  if (stored["metadata"].HasMember("uid")) SetMeta(next, "uid", stored["metadata"]["uid"].GetString());
  RecordEventLocked(object_path, "MODIFIED", Serialize(next));
  return FakeReply{200, objects_[object_path]};
}

}  // namespace tessera::testing
